"""Cached reads of the Creatives page (metricx.services.creative_report and the previews of
metricx.services.creatives), each kept a minute with the workspace in its key: tenants never
share an entry."""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from metricx.semantic.query import TimeRange
from metricx.services import creative_report, creatives
from metricx.services.creative_report import CreativeFilter
from ui.queries import CACHE_SECONDS


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def known_creatives(workspace_id: int) -> pd.DataFrame:
    return creative_report.metadata(workspace_id)


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def campaign_choices(workspace_id: int) -> dict[int, str]:
    return creative_report.campaigns_with_creatives(workspace_id)


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def card_rows(
    workspace_id: int,
    period: TimeRange,
    today: date,
    chosen: CreativeFilter,
    sort_by: str,
    descending: bool,
) -> pd.DataFrame:
    return creative_report.cards(workspace_id, period, today, chosen, sort_by, descending)


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def previews(workspace_id: int, creative_ids: tuple[int, ...]) -> dict[int, str]:
    return creatives.creative_previews(workspace_id, creative_ids)


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def compared(
    workspace_id: int, creative_ids: tuple[int, ...], metric: str, period: TimeRange, grain: str
) -> pd.DataFrame:
    return creative_report.compared(workspace_id, creative_ids, metric, period, grain)


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def one_creative(
    workspace_id: int, creative_id: int, period: TimeRange, today: date
) -> creative_report.CreativeDetail:
    return creative_report.detail(workspace_id, creative_id, period, today)
