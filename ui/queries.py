"""Metric queries from pages: built typed (`metrics_query`), cached per workspace for a
minute, errors shown as messages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import streamlit as st

from metricx.errors import MetricxError
from metricx.semantic.custom import Definitions
from metricx.semantic.engine import run_query
from metricx.semantic.query import Attribution, Direction, Grain, SemanticQuery, TimeRange
from metricx.semantic.result import MetricsResult

CACHE_SECONDS = 60


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def _run(workspace_id: int, query_json: str) -> MetricsResult:
    # The workspace id is part of the cache key: tenants never share an entry.
    return run_query(workspace_id, query_json)


def metrics_query(
    metrics: Sequence[str],
    period: TimeRange,
    *,
    compare: TimeRange | None = None,
    dimensions: Sequence[str] = (),
    grain: Grain | None = None,
    providers: Sequence[str] | None = None,
    name_contains: str | None = None,
    dimension_values: Mapping[str, Sequence[str]] | None = None,
    order_by: tuple[str, Direction] | None = None,
    limit: int | None = None,
    attribution: Attribution | None = None,
    custom: Definitions | None = None,
) -> SemanticQuery:
    """A page's query, validated (QueryValidationError says what cannot run). `custom`: the
    definitions the query names; only those it uses go with it, so its cache entry changes
    when they do."""
    names = [*metrics, *dimensions, *(dimension_values or {})]
    used = custom.used_by(names) if custom else None
    return SemanticQuery.parse(
        {
            "metrics": list(metrics),
            "time_range": period,
            "compare_range": compare,
            "dimensions": list(dimensions),
            "grain": grain,
            "filters": {
                "provider": list(providers) if providers else None,
                "name_contains": name_contains or None,
                "dimension_values": {k: list(v) for k, v in dimension_values.items()}
                if dimension_values
                else None,
            },
            "order_by": {"metric": order_by[0], "direction": order_by[1]} if order_by else None,
            "limit": limit,
            "attribution": attribution,
            "custom": used or None,
        }
    )


def cached_query(workspace_id: int, query: SemanticQuery) -> MetricsResult:
    return _run(workspace_id, query.to_json())


def query_or_stop(workspace_id: int, query: SemanticQuery) -> MetricsResult:
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
