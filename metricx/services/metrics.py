"""The one metric service pages and the copilot call: a SemanticQuery in, a DataFrame out.

It compiles the query (metricx.semantic.compiler) into one statement — every fact source of
the period and of the comparison period, and their missing-rate checks — runs it inside one
workspace, then turns the fetched sums into the asked metrics with the catalogue's formulas —
ratios of sums, x/0 is null — orders, limits and aligns the comparison period.

A period cut at a clock time (`TimeRange.until`, "today so far") is answered from the snapshot
and Shopify rows before the cut. Where the cut leaves out conversions a platform reports per
day only (Meta), the conversion metrics of that row are left empty (NaN) and named in
`MetricsResult.withheld`, never undercounted (see compiler.DAILY_CONVERSIONS).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Select, bindparam, select
from sqlalchemy.dialects import postgresql

from metricx import costs as cost_rules
from metricx.db import get_reader
from metricx.errors import InvalidInputError, NotFoundError
from metricx.models import CostSettings, Workspace
from metricx.semantic import attributed, catalogue, compiler
from metricx.semantic.catalogue import Difference, Ratio
from metricx.semantic.compiler import BUCKET, Scope
from metricx.semantic.query import SemanticQuery, TimeRange
from metricx.services.settings import COST_FIELDS, Costs
from metricx.totals import CONVERSIONS

#: Why a metric of a period cut at a clock time is empty (MetricsResult.withheld).
WITHHELD_NOTE = ("not available for part of a day: Meta reports purchases and leads per day, "
                 "not per hour, so those of a day cut at a clock time cannot be counted; "
                 "left empty rather than undercounted")


class MissingFxRateError(InvalidInputError):
    """Money in another currency on days without a rate: never silently converted at 1.0."""

    @classmethod
    def naming(cls, missing: Iterable[tuple[str, date]], target: str) -> MissingFxRateError:
        """The error for (currency, day) pairs without a rate into `target`, naming them."""
        pairs = sorted(set(missing))
        parts = []
        for currency in sorted({c for c, _ in pairs}):
            days = [d for c, d in pairs if c == currency]
            listed = ", ".join(d.isoformat() for d in days[:5])
            more = f" and {len(days) - 5} more" if len(days) > 5 else ""
            parts.append(f"{currency}→{target} on {listed}{more}")
        return cls("missing exchange rates: " + "; ".join(parts)
                   + " (add them under Settings → FX rates)")


@dataclass
class MetricsResult:
    query: SemanticQuery
    frame: pd.DataFrame
    compare_frame: pd.DataFrame | None
    currency: str
    timezone: str
    definitions: dict[str, str]
    #: metric id -> why some of its values are empty (conversions of a day cut at a clock
    #: time that a platform reports per day only); empty when nothing was withheld
    withheld: dict[str, str] = field(default_factory=dict)

    @cached_property
    def sql(self) -> list[str]:
        """The SQL of the ad and store facts, with its named placeholders, for debugging:
        compiled only when asked for (the result stays picklable for st.cache_data)."""
        shared, _ = _sources(self.query)
        if shared is None:
            return []
        return [str(shared.statement.compile(dialect=postgresql.dialect()))]

    @property
    def dimension_columns(self) -> list[str]:
        return [c for c in self.frame.columns if c not in self.query.metrics]

    def to_contract(self) -> dict[str, Any]:
        """The `metricx query --json` output contract of DESIGN.md."""

        def rows(frame: pd.DataFrame | None) -> list[list[Any]] | None:
            if frame is None:
                return None
            return [[_jsonable(v) for v in row] for row in frame.itertuples(index=False)]

        query = self.query
        return {
            "columns": list(self.frame.columns),
            "rows": rows(self.frame),
            "compare_rows": rows(self.compare_frame),
            "meta": {
                "time_range": query.time_range.model_dump(mode="json"),
                "compare_range": query.compare_range.model_dump(mode="json")
                if query.compare_range else None,
                "currency": self.currency,
                "timezone": self.timezone,
                "definitions": self.definitions,
                "attribution": query.attribution.model_dump(mode="json")
                if query.attribution and query.needs_attribution else None,
                "withheld": self.withheld,
            },
        }


def _jsonable(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (date, pd.Timestamp)):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


_SCOPE = (select(Workspace.timezone, Workspace.currency,
                 *(getattr(CostSettings, f) for f in COST_FIELDS))
          .outerjoin(CostSettings, CostSettings.workspace_id == Workspace.id)
          .where(Workspace.id == bindparam("ws")))


def _scope_and_costs(conn: Connection, workspace_id: int) -> tuple[Scope, Costs]:
    row = conn.execute(_SCOPE, {"ws": workspace_id}).first()
    if row is None:
        raise NotFoundError(f"no workspace {workspace_id}")
    values = [getattr(row, f) if getattr(row, f) is not None else Decimal(0)
              for f in COST_FIELDS]
    return Scope(workspace_id, row.timezone, row.currency), Costs(*values)


#: Columns by name, each a list or numpy array, all of one length: the sums of a period are
#: merged and evaluated on plain arrays (pandas costs milliseconds per column operation);
#: the result becomes a DataFrame once, in `_frame`.
Columns = dict[str, Any]
#: Fact sources built with the query's values, one statement per period: name -> (the base
#: sums it gives, its builder). Their sums per (dimensions, bucket) merge in `_period`.
VALUE_BOUND_SOURCES: dict[str, tuple[frozenset[str],
                                     Callable[[SemanticQuery, Scope, TimeRange], Select]]] = {
    "attribution": (frozenset(attributed.ATTRIBUTED_SUMS), attributed.attributed_statement),
}


def _sources(query: SemanticQuery) -> tuple[compiler.QueryStatement | None, list[str]]:
    """Every fact source the query needs: the shared statement of the ad and store facts of
    both periods (None when it needs neither), and the names of the value-bound sources.
    The one place a new fact source joins; `_period` merges them on the keys."""
    bases = set(query.base_metrics)
    ad_sums = tuple(s for s in compiler.AD_SUMS if s in bases)
    store = bool(bases & compiler.STORE_METRICS)
    cuts = tuple(span.until is not None
                 for span in (query.time_range, query.compare_range) if span is not None)
    shared = (compiler.query_statement(compiler.Shape.of(query), ad_sums, store, cuts)
              if ad_sums or store else None)
    value_bound = [name for name, (sums, _) in VALUE_BOUND_SOURCES.items() if bases & sums]
    return shared, value_bound


def _fetch(conn: Connection, query: SemanticQuery, scope: Scope,
           spans: list[TimeRange]) -> list[dict[str, Columns]]:
    """Run the ad and store facts of every period as one statement (one round trip), then
    any value-bound source. Returns, per period, {source: its columns}, after checking that
    every rate was there."""
    shared, value_bound = _sources(query)
    fetched: list[dict[str, Columns]] = [{} for _ in spans]
    if shared is not None:
        params = compiler.query_params(query, scope, spans)
        result = conn.execute(shared.statement, params)
        names = list(result.keys())
        rows = result.fetchall()
        unconverted = names.index(compiler.UNCONVERTED)
        if any(row[unconverted] for row in rows):
            raise MissingFxRateError.naming(conn.execute(shared.missing_rates, params).all(),
                                            scope.currency)
        grouped: dict[tuple[str, int], list] = {part: [] for part in shared.columns}
        part_at, period_at = names.index(compiler.PART), names.index(compiler.PERIOD)
        for row in rows:
            grouped[(row[part_at], row[period_at])].append(row)
        for (name, period), wanted in shared.columns.items():
            part_rows = grouped[(name, period)]
            fetched[period][name] = {column: [row[at] for row in part_rows]
                                     for column, at in ((c, names.index(c)) for c in wanted)}
    for name in value_bound:
        for period, span in enumerate(spans):
            result = conn.execute(VALUE_BOUND_SOURCES[name][1](query, scope, span))
            rows = result.fetchall()
            fetched[period][name] = {column: [row[i] for row in rows]
                                     for i, column in enumerate(result.keys())}
    return fetched


def _store_metrics(raw: Columns, costs: Costs) -> Columns:
    """Store metrics from raw store sums (one place for their definitions)."""
    raw = {c: np.asarray(raw[c], dtype=float) for c in compiler.STORE_SUMS} | {
        BUCKET: raw[BUCKET]}
    out = {c: raw[c] for c in (BUCKET, "orders", "refunds", "new_customers", "cogs")}
    out["net_sales"] = raw["gross"] - raw["discounts"] - raw["refunds"]
    out["store_revenue"] = cost_rules.store_revenue(raw)
    out["profit_before_ad_spend"] = cost_rules.profit_before_ad_spend(raw, costs)
    return out


def _evaluate(sums: Columns, metric_id: str) -> np.ndarray:
    """A metric over columns of base sums: the vectorised twin of catalogue.compute."""
    metric = catalogue.get_metric(metric_id)
    formula = metric.formula
    if formula is None:
        return np.asarray(sums[metric_id], dtype=float)
    if isinstance(formula, Difference):
        return _evaluate(sums, formula.minuend) - _evaluate(sums, formula.subtrahend)
    assert isinstance(formula, Ratio)
    numerator = _evaluate(sums, formula.numerator) * float(formula.scale)
    denominator = _evaluate(sums, formula.denominator)
    return np.divide(numerator, denominator, out=np.full(len(numerator), np.nan),
                     where=denominator != 0)


def _period(query: SemanticQuery, costs: Costs, span: TimeRange,
            sources: dict[str, Columns]) -> Columns:
    """Base sums for one period, per (dimensions, bucket): every source's rows merged on
    the keys (store facts, which have no dimensions, join ad facts on the time bucket)."""
    facts = dict(sources)
    if "store" in facts:
        facts["store"] = _store_metrics(facts["store"], costs)
    keys = [*_key_columns(query), BUCKET]
    positions: dict[tuple, int] = {}
    every = compiler.buckets(query.grain, span)
    if not query.dimensions:  # every bucket shows, empty ones as 0 (a total of nothing too)
        for bucket in every if every is not None else ["total"] if not query.grain else []:
            positions[(bucket,)] = len(positions)
    placed = {}
    for name, columns in facts.items():
        placed[name] = [positions.setdefault(key, len(positions))
                        for key in zip(*(columns[k] for k in keys), strict=True)]
    merged: Columns = {k: [None] * len(positions) for k in keys}
    for key, at in positions.items():
        for name, value in zip(keys, key, strict=True):
            merged[name][at] = value
    for base in sorted(query.base_metrics):
        merged[base] = np.zeros(len(positions))
        for name, columns in facts.items():
            if base in columns:
                merged[base][placed[name]] = np.nan_to_num(
                    np.asarray(columns[base], dtype=float))
    for name, columns in facts.items():
        if compiler.WITHHELD in columns:  # conversions the cut cannot place: unknown, not 0
            withheld = np.asarray(columns[compiler.WITHHELD], dtype=float) > 0
            rows = np.asarray(placed[name], dtype=np.int64)[withheld]
            for base in set(CONVERSIONS) & set(query.base_metrics):
                merged[base][rows] = np.nan
    return merged


def _withheld(query: SemanticQuery, fetched: list[dict[str, Columns]]) -> dict[str, str]:
    """The asked metrics left empty somewhere because conversions were withheld."""
    if not any(any(columns.get(compiler.WITHHELD) or ())
               for sources in fetched for columns in sources.values()):
        return {}
    return {m: WITHHELD_NOTE for m in query.metrics
            if set(catalogue.base_metrics_for([m])) & set(CONVERSIONS)}


def _key_columns(query: SemanticQuery) -> list[str]:
    columns = []
    for dimension in query.dimensions:
        columns.append(dimension)
        if dimension != "provider":
            columns.append(f"{dimension}_id")
    return columns


def _shape(query: SemanticQuery, sums: Columns) -> Columns:
    """Asked metrics from sums, with the dimension and time columns a reader needs (and the
    raw time bucket, for the comparison's alignment)."""
    out = {k: sums[k] for k in [*_key_columns(query), BUCKET]}
    if query.grain:
        out[query.grain] = [_bucket_label(v) for v in sums[BUCKET]]
    for metric_id in query.metrics:
        out[metric_id] = _evaluate(sums, metric_id)
    order_metric = query.order_by.metric if query.order_by else None
    if order_metric and order_metric not in out:
        out[order_metric] = _evaluate(sums, order_metric)
    return out


def _bucket_label(value: Any) -> str:
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d %H:%M")
    if hasattr(value, "strftime") and hasattr(value, "hour"):
        return value.strftime("%Y-%m-%d %H:%M")
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _sort_codes(values: list) -> np.ndarray:
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
    return np.lexsort(sort_keys)[:query.limit]


def _aligned(query: SemanticQuery, spans: list[TimeRange], main: Columns, order: np.ndarray,
             other: Columns) -> np.ndarray:
    """For each shown row of the main period, the row of the comparison period with the same
    dimension ids at the same place in its period (its first day, week, hour...); -1 for
    none. The rows compared are the main period's (a top N is chosen once)."""
    ids = [c for c in _key_columns(query) if c.endswith("_id") or c == "provider"]

    def keys(columns: Columns, span: TimeRange) -> list[tuple]:
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


def _frame(query: SemanticQuery, columns: Columns, rows: np.ndarray,
           keys_from: tuple[Columns, np.ndarray] | None = None) -> pd.DataFrame:
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


def run_query(workspace_id: int, query: SemanticQuery | dict | str) -> MetricsResult:
    """Run a SemanticQuery inside one workspace."""
    query = SemanticQuery.parse(query)
    spans = [query.time_range, *([query.compare_range] if query.compare_range else [])]
    with get_reader().connect() as conn:
        scope, costs = _scope_and_costs(conn, workspace_id)
        fetched = _fetch(conn, query, scope, spans)
    main = _shape(query, _period(query, costs, spans[0], fetched[0]))
    shown = _ranking(query, main)
    compare = None
    if query.compare_range:
        other = _shape(query, _period(query, costs, spans[1], fetched[1]))
        compare = _frame(query, other, _aligned(query, spans, main, shown, other),
                         keys_from=(main, shown))
    definitions = {m: catalogue.get_metric(m).definition for m in query.metrics}
    return MetricsResult(query, _frame(query, main, shown), compare, scope.currency,
                         scope.timezone, definitions, _withheld(query, fetched))
