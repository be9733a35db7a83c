"""Metric queries from pages: cached per workspace for a minute, errors shown as messages."""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

from metricx.errors import MetricxError
from metricx.semantic.engine import MetricsResult, run_query

CACHE_SECONDS = 60


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def _run(workspace_id: int, query_json: str) -> MetricsResult:
    # The workspace id is part of the cache key: tenants never share an entry.
    return run_query(workspace_id, query_json)


def cached_query(workspace_id: int, query: dict[str, Any]) -> MetricsResult:
    return _run(workspace_id, json.dumps(query, sort_keys=True, default=str))


def query_or_stop(workspace_id: int, query: dict[str, Any]) -> MetricsResult:
    """Run a query; on a problem a merchant can fix (a missing FX rate...), say it and stop."""
    try:
        return cached_query(workspace_id, query)
    except MetricxError as error:
        st.error(str(error))
        st.stop()
        raise  # st.stop() raises; this line is for type checkers


def forget_cached_queries() -> None:
    """Drop every cached metric query: a change of settings or definitions changes what they
    would answer, and no page should show the old answer for the rest of the minute."""
    _run.clear()
