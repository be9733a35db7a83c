"""The metric engine's public entry: a SemanticQuery in, a MetricsResult (DataFrames) out.

`run_query` plans and fetches every fact source of the period and of the comparison period
in one round trip (metricx.semantic.fetch), merges their sums per (dimensions, time bucket),
evaluates the asked metrics with the catalogue's formulas (metricx.semantic.evaluate: ratios
of sums, x/0 is empty), then orders, limits and aligns the comparison period. The P&L and
pacing read their facts through `daily_store_facts` and `snapshot_buckets`: converted here, by
the same statements and rate checks.

A period cut at a clock time (`TimeRange.until`, "today so far") is answered from the snapshot
and Shopify rows before the cut. Where the cut leaves out figures a platform reports per
day only (Meta's conversions and video plays), the metrics built on them are left empty (NaN)
in that row and named in `MetricsResult.withheld`, never undercounted (see
compiler.DAILY_CONVERSIONS); so are the email metrics of the row holding the cut day (Klaviyo
reports whole send days only).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection

from metricx.db import get_reader
from metricx.semantic import catalogue, cohorts, compiler, products
from metricx.semantic.compiler import BUCKET, Scope
from metricx.semantic.evaluate import Params
from metricx.semantic.expression import sum_of
from metricx.semantic.fetch import (
    VALUE_BOUND_SOURCES,
    Columns,
    MissingFxRateError,
    Plan,
    fetch,
    fetch_statements,
    plan,
    scope_and_costs,
    workspace_definitions,
)
from metricx.semantic.query import SemanticQuery, TimeRange
from metricx.semantic.result import MetricsResult
from metricx.totals import PER_DAY

#: Why a metric of a period cut at a clock time is empty (MetricsResult.withheld).
WITHHELD_NOTE = (
    "not available for part of a day: Meta reports purchases, leads and video plays per day, "
    "not per hour, so those of a day cut at a clock time cannot be counted; "
    "left empty rather than undercounted"
)
#: Why an email metric of a period cut at a clock time is empty (MetricsResult.withheld).
EMAIL_CUT_NOTE = (
    "not available for part of a day: Klaviyo reports email and SMS per send day, "
    "not per hour, so a day cut at a clock time cannot be counted; "
    "left empty rather than undercounted"
)


def _period(query: SemanticQuery, span: TimeRange, facts: dict[str, Columns]) -> Columns:
    """Fact sums for one period, per (dimensions, bucket): every source's rows merged on
    the keys (store and email facts, which have no dimensions, join ad facts on the time
    bucket)."""
    keys = [*_key_columns(query), BUCKET]
    positions: dict[tuple[Any, ...], int] = {}
    every = compiler.buckets(query.grain, span)
    if not query.dimensions:  # every bucket shows, empty ones as 0 (a total of nothing too)
        for bucket in every if every is not None else ["total"] if not query.grain else []:
            positions[(bucket,)] = len(positions)
    placed = {}
    for name, columns in facts.items():
        placed[name] = [
            positions.setdefault(key, len(positions))
            for key in zip(*(columns[k] for k in keys), strict=True)
        ]
    merged: Columns = {k: [None] * len(positions) for k in keys}
    for key, at in positions.items():
        for name, value in zip(keys, key, strict=True):
            merged[name][at] = value
    needed = query.facts
    for fact in sorted(needed):
        column = np.zeros(len(positions))
        for name, columns in facts.items():
            if fact in columns:
                column[placed[name]] = np.asarray(columns[fact], dtype=float)
        column[np.isnan(column)] = 0.0  # a NULL sum is nothing (np.nan_to_num is slower)
        merged[fact] = column
    for name, columns in facts.items():
        if compiler.WITHHELD in columns:  # conversions the cut cannot place: unknown, not 0
            withheld = np.asarray(columns[compiler.WITHHELD], dtype=float) > 0
            rows = np.asarray(placed[name], dtype=np.int64)[withheld]
            for fact in needed:
                if sum_of(fact) in PER_DAY:
                    merged[fact][rows] = np.nan
    email = [f for f in needed if f in compiler.EMAIL_SUMS]
    if span.until is not None and email:  # a send day's figures cannot be cut at a clock time
        cut = every[-1] if every else "total"
        rows = np.array([at for key, at in positions.items() if key[-1] == cut], dtype=np.int64)
        for fact in email:
            merged[fact][rows] = np.nan
    return merged


def _withheld(
    query: SemanticQuery, spans: list[TimeRange], fetched: list[dict[str, Columns]]
) -> dict[str, str]:
    """The asked metrics left empty somewhere: because conversions were withheld, or
    because a period cut at a clock time holds email facts."""
    notes: dict[str, str] = {}
    if any(span.until is not None for span in spans):
        notes |= {
            m: EMAIL_CUT_NOTE
            for m in query.metrics
            if any(f in compiler.EMAIL_SUMS for f in query.facts_of(m))
        }
    if not any(
        any(columns.get(compiler.WITHHELD) or ())
        for sources in fetched
        for columns in sources.values()
    ):
        return notes
    return {
        m: WITHHELD_NOTE
        for m in query.metrics
        if any(sum_of(f) in PER_DAY for f in query.facts_of(m))
    } | notes


def _key_columns(query: SemanticQuery) -> list[str]:
    columns: list[str] = []
    for dimension in query.dimensions:
        columns.append(dimension)
        if compiler.has_id(dimension):
            columns.append(f"{dimension}_id")
    return columns


def _shape(query: SemanticQuery, sums: Columns, costs: Params) -> Columns:
    """Asked metrics from sums, with the dimension and time columns a reader needs (and the
    raw time bucket, for the comparison's alignment)."""
    out = {k: sums[k] for k in [*_key_columns(query), BUCKET]}
    if query.grain:
        out[query.grain] = [_bucket_label(v) for v in sums[BUCKET]]
    for metric_id in query.metrics:
        out[metric_id] = _vectorised(query, metric_id)(sums, costs)
    order_metric = query.order_by.metric if query.order_by else None
    if order_metric and order_metric not in out:
        out[order_metric] = _vectorised(query, order_metric)(sums, costs)
    return out


def _vectorised(query: SemanticQuery, metric_id: str) -> Callable[[Any, Params | None], np.ndarray]:
    if metric_id in catalogue.METRICS:
        return catalogue.vectorised_of(metric_id)
    return catalogue.vectorised_expression(query.formula(metric_id))


def _bucket_label(value: Any) -> str:
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d %H:%M")
    if hasattr(value, "strftime") and hasattr(value, "hour"):
        return str(value.strftime("%Y-%m-%d %H:%M"))
    return str(value.isoformat()) if hasattr(value, "isoformat") else str(value)


def _sort_codes(values: list[Any]) -> np.ndarray:
    """Each value's rank among the column's distinct values, nulls (None, NaN) last."""

    def missing(value: Any) -> bool:
        return value is None or value != value

    ranks = {v: i for i, v in enumerate(sorted({v for v in values if not missing(v)}))}
    return np.array([len(ranks) if missing(v) else ranks[v] for v in values], dtype=np.int64)


def _ranking(query: SemanticQuery, columns: Columns) -> np.ndarray:
    """The rows to show, in order: ranked with a stable tie-break (names, then ids), nulls
    last, then cut at the limit. One numpy lexsort over rank codes: pandas' multi-column
    sort costs milliseconds."""
    keys = _key_columns(query) + ([query.grain] if query.grain else [])
    rows = len(columns[BUCKET])
    sort_keys = [_sort_codes(list(columns[k])) for k in reversed(keys)]  # last = primary
    if query.order_by:
        values = np.asarray(columns[query.order_by.metric], dtype=float)
        sign = -1.0 if query.order_by.direction == "desc" else 1.0
        sort_keys += [np.where(np.isnan(values), 0.0, sign * values), np.isnan(values)]
    if not sort_keys or rows < 2:
        return np.arange(rows)
    return np.lexsort(sort_keys)[: query.limit]


def _aligned(
    query: SemanticQuery, spans: list[TimeRange], main: Columns, order: np.ndarray, other: Columns
) -> np.ndarray:
    """For each shown row of the main period, the row of the comparison period with the same
    dimension ids at the same place in its period (its first day, week, hour...); -1 for
    none. The rows compared are the main period's (a top N is chosen once)."""
    ids = [c for c in _key_columns(query) if c.endswith("_id") or not compiler.has_id(c)]

    def keys(columns: Columns, span: TimeRange) -> list[tuple[Any, ...]]:
        places = [_place(query.grain, span, bucket) for bucket in columns[BUCKET]]
        return list(zip(*(columns[c] for c in ids), places, strict=True))

    rows = {key: at for at, key in enumerate(keys(other, spans[1]))}
    wanted = keys(main, spans[0])
    return np.array([rows.get(wanted[at], -1) for at in order], dtype=np.int64)


def _place(grain: str | None, span: TimeRange, bucket: Any) -> int:
    """A time bucket's place in its period: 0 for the first day, week, month or hour."""
    if isinstance(bucket, datetime):  # a local hour
        return (bucket.date() - span.start).days * 24 + bucket.hour
    if not isinstance(bucket, date):  # the whole period
        return 0
    if grain == "week":
        return (bucket - (span.start - timedelta(days=span.start.weekday()))).days // 7
    if grain == "month":
        return (bucket.year - span.start.year) * 12 + bucket.month - span.start.month
    return (bucket - span.start).days


def _frame(
    query: SemanticQuery,
    columns: Columns,
    rows: np.ndarray,
    keys_from: tuple[Columns, np.ndarray] | None = None,
) -> pd.DataFrame:
    """The result's DataFrame, built once from the chosen rows. A row -1 (a compared entity
    with no row in its period) takes its dimension columns from `keys_from` (the main
    period's columns and shown rows) and is empty otherwise."""
    dimensions = _key_columns(query)
    names = [*dimensions, *([query.grain] if query.grain else []), *query.metrics]
    missing = rows < 0

    def take(name: str) -> Any:
        values = columns[name]
        if not missing.any():
            return values[rows] if isinstance(values, np.ndarray) else [values[at] for at in rows]
        if keys_from is not None and name in dimensions:
            main, shown = keys_from
            return [main[name][shown[i]] if at < 0 else values[at] for i, at in enumerate(rows)]
        if isinstance(values, np.ndarray):  # a metric
            taken = np.full(len(rows), np.nan)
            taken[~missing] = values[rows[~missing]]
            return taken
        return [None if at < 0 else values[at] for at in rows]

    return pd.DataFrame({name: take(name) for name in names})


def run_query(workspace_id: int, query: SemanticQuery | dict[str, Any] | str) -> MetricsResult:
    """Run a SemanticQuery inside one workspace; it may name the workspace's custom metrics
    and dimensions. Cohort and product queries are answered by their families' modules
    (metricx.semantic.cohorts, metricx.semantic.products) on the same connection."""
    with get_reader().connect() as conn:
        # The workspace's custom definitions are read only for a query naming some.
        query = SemanticQuery.parse(query, lambda: workspace_definitions(conn, workspace_id))
        scope, costs = scope_and_costs(conn, workspace_id)
        if query.family == "cohort":
            return cohorts.run(conn, workspace_id, query, scope, costs)
        if query.family == "products":
            return products.run(conn, workspace_id, query, scope, costs)
        return _run_ads(conn, query, scope, costs)


def _run_ads(conn: Connection, query: SemanticQuery, scope: Scope, costs: Params) -> MetricsResult:
    """An ad, store, email or attributed query: every fact source of both periods in one round
    trip, then the metrics evaluated over the merged sums."""
    spans = [query.time_range, *([query.compare_range] if query.compare_range else [])]
    fetched = fetch(
        conn,
        plan(query, scope, spans),
        scope,
        len(spans),
        lambda name, period: VALUE_BOUND_SOURCES[name][1](query, scope, spans[period]),
    )
    main = _shape(query, _period(query, spans[0], fetched[0]), costs)
    shown = _ranking(query, main)
    compare = None
    if query.compare_range:
        other = _shape(query, _period(query, spans[1], fetched[1]), costs)
        compare = _frame(
            query, other, _aligned(query, spans, main, shown, other), keys_from=(main, shown)
        )
    definitions = {m: query.metric(m).definition for m in query.metrics}
    return MetricsResult(
        query,
        _frame(query, main, shown),
        compare,
        scope.currency,
        scope.timezone,
        definitions,
        _withheld(query, spans, fetched),
    )


@dataclass(frozen=True)
class DailyFacts:
    """The store's fact sums (compiler.STORE_SUMS) per local day of a span, every day present
    (0 when none), in the workspace currency, with the workspace's cost settings: what the
    catalogue's store formulas are evaluated on."""

    frame: pd.DataFrame
    scope: Scope
    costs: dict[str, Decimal]


def daily_store_facts(workspace_id: int, span: TimeRange) -> DailyFacts:
    """The store's fact sums per day of `span`, counted and converted as `run_query` does."""
    shape = compiler.Shape((), "day", False, False, False)
    statement = compiler.query_statement(shape, (), True, (span.until is not None,))
    with get_reader().connect() as conn:
        scope, costs = scope_and_costs(conn, workspace_id)
        params = compiler.period_params(scope, span, 0)
        store = fetch(conn, Plan(statement, params), scope, 1)[0]["store"]
    days = [span.start + timedelta(days=i) for i in range(span.days)]
    frame = pd.DataFrame(
        {c: np.asarray(store[c], dtype=float) for c in compiler.STORE_SUMS},
        index=[pd.Timestamp(d).date() for d in store[BUCKET]],
    )
    return DailyFacts(frame.reindex(days).fillna(0.0), scope, costs)


def snapshot_buckets(scope: Scope, day: date) -> pd.DataFrame:
    """Spend (workspace currency, at the day's rate) and conversions per snapshot bucket of
    one local day as synced: `start` (local, naive), `granularity` ("15m", "1h"), `spend`,
    `conversions`."""
    statements = compiler.snapshot_statements(
        compiler.Binds.of(scope, TimeRange(start=day, end=day))
    )
    with get_reader().connect() as conn:
        rows = fetch_statements(conn, statements, scope)
    return pd.DataFrame(
        {
            "start": pd.to_datetime(pd.Series(rows["bucket_start"], dtype=object)),
            "granularity": pd.Series(rows["granularity"], dtype=object),
            "spend": pd.Series(rows["spend"], dtype=float).fillna(0.0),
            "conversions": pd.Series(rows["conversions"], dtype=float),
        }
    )


def convert_daily(scope: Scope, amounts: list[tuple[str, pd.Series]]) -> list[pd.Series]:
    """Amounts per local day (a Series indexed by date), each in its currency, converted into
    the workspace currency at each day's rate, as the facts are; a day with an amount but no
    rate raises MissingFxRateError naming every such (currency, day)."""
    foreign = {currency for currency, _ in amounts if currency != scope.currency}
    days = [day for _, series in amounts for day in series.index]
    rates: dict[tuple[str, date], float] = {}
    if foreign and days:
        with get_reader().connect() as conn:
            rates = {
                (c, d): float(r)
                for c, d, r in conn.execute(
                    compiler.rates_statement(scope, sorted(foreign), min(days), max(days))
                )
            }
    converted, missing = [], []
    for currency, series in amounts:
        if currency == scope.currency:
            converted.append(series)
            continue
        rate = pd.Series(
            [rates.get((currency, d), math.nan) for d in series.index], index=series.index
        )
        missing += [(currency, d) for d in series.index if series[d] != 0 and math.isnan(rate[d])]
        converted.append(series * rate.fillna(0.0))
    if missing:
        raise MissingFxRateError.naming(missing, scope.currency)
    return converted
