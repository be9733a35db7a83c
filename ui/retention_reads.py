"""Cached reads of the Retention page (metricx.services.retention): the heatmap's cells, the
LTV curves and the CAC payback table, each kept a minute with the workspace in its key."""

from __future__ import annotations

import streamlit as st

from metricx.semantic.query import TimeRange
from metricx.services import retention
from metricx.services.retention import AgeUnit, Grain
from ui.queries import CACHE_SECONDS


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def cohort_table(
    workspace_id: int,
    span: TimeRange,
    grain: Grain,
    metric: str,
    age_unit: AgeUnit,
    max_age: int,
    split: str | None,
) -> retention.CohortTable:
    return retention.cohort_table(workspace_id, span, grain, metric, age_unit, max_age, split)


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def ltv_curves(
    workspace_id: int, span: TimeRange, by: str, grain: Grain, age_unit: AgeUnit, max_age: int
) -> retention.LtvCurves:
    return retention.ltv_curves(workspace_id, span, by, age_unit, max_age, grain=grain)


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def cac_payback(
    workspace_id: int,
    span: TimeRange,
    grain: Grain,
    split: str | None,
    age_unit: AgeUnit,
    max_age: int,
) -> retention.PaybackTable:
    return retention.cac_payback(workspace_id, span, grain, split, age_unit, max_age)
