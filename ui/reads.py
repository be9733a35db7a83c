"""Cached reads of the services pages show besides metric queries (ui/queries.py): campaign
trees and tables, attribution's reconciliation, today's pacing. Each is kept a minute, and
the workspace id is part of every cache key: tenants never share an entry."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from metricx.semantic.query import TimeRange
from metricx.services import attribution, campaigns, pacing
from ui.queries import CACHE_SECONDS


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def campaign_tree(workspace_id: int) -> pd.DataFrame:
    return campaigns.tree(workspace_id)


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def level_table(
    workspace_id: int,
    level: str,
    period: TimeRange,
    within: tuple[int, ...],
    search: str,
    sort_by: str,
    descending: bool,
) -> pd.DataFrame:
    return campaigns.level_table(workspace_id, level, period, within, search, sort_by, descending)


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def trend(workspace_id: int, entity_ids: tuple[int, ...], period: TimeRange) -> pd.DataFrame:
    return campaigns.trend(workspace_id, entity_ids, period)


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def reconciled(workspace_id: int, period: TimeRange) -> attribution.Reconciliation:
    return attribution.reconciliation(workspace_id, period)


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def todays_pacing(workspace_id: int) -> pacing.Pacing:
    return pacing.pacing(workspace_id)
