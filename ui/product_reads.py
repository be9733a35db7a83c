"""Cached reads of the Products page (metricx.services.products): the table, one product's
trend, its repurchases and the campaigns selling it, each kept a minute with the workspace
in its key."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from metricx.semantic.query import TimeRange
from metricx.services import products
from metricx.services.products import Level, TrendGrain
from ui.queries import CACHE_SECONDS


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def products_table(workspace_id: int, span: TimeRange, level: Level) -> products.ProductTable:
    return products.products_table(workspace_id, span, level)


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def product_detail(
    workspace_id: int, product_id: int, span: TimeRange, grain: TrendGrain
) -> products.ProductDetail:
    return products.product_detail(workspace_id, product_id, span, grain)


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def first_product_repurchase(
    workspace_id: int, product_id: int, span: TimeRange
) -> products.Repurchase:
    return products.first_product_repurchase(workspace_id, product_id, span)


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def campaigns_selling(workspace_id: int, product_id: int, span: TimeRange) -> pd.DataFrame:
    return products.campaigns_selling(workspace_id, product_id, span)
