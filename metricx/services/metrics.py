"""The one metric service pages and the copilot call: a SemanticQuery in, a DataFrame out.

It compiles the query (metricx.semantic.compiler), runs it inside one workspace, then turns
the fetched sums into the asked metrics with the catalogue's formulas — ratios of sums, x/0
is null — orders, limits and aligns the comparison period.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import pandas as pd
from sqlalchemy import Select, select
from sqlalchemy.dialects import postgresql

from metricx.db import get_engine
from metricx.errors import InvalidInputError, NotFoundError
from metricx.models import CostSettings, Workspace
from metricx.semantic import catalogue, compiler
from metricx.semantic.catalogue import Difference, Ratio
from metricx.semantic.compiler import BUCKET, Scope
from metricx.semantic.query import SemanticQuery, TimeRange
from metricx.services.settings import COST_FIELDS, Costs


class MissingFxRateError(InvalidInputError):
    """Money in another currency on days without a rate: never silently converted at 1.0."""


@dataclass
class MetricsResult:
    query: SemanticQuery
    frame: pd.DataFrame
    compare_frame: pd.DataFrame | None
    currency: str
    timezone: str
    definitions: dict[str, str]
    sql: list[str] = field(default_factory=list)

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


def _scope_and_costs(workspace_id: int) -> tuple[Scope, Costs]:
    with get_engine().connect() as conn:
        row = conn.execute(
            select(Workspace.timezone, Workspace.currency,
                   *(getattr(CostSettings, f) for f in COST_FIELDS))
            .outerjoin(CostSettings, CostSettings.workspace_id == Workspace.id)
            .where(Workspace.id == workspace_id)).first()
    if row is None:
        raise NotFoundError(f"no workspace {workspace_id}")
    values = [getattr(row, f) if getattr(row, f) is not None else Decimal(0)
              for f in COST_FIELDS]
    return Scope(workspace_id, row.timezone, row.currency), Costs(*values)


def _fetch(statement: Select, sql_log: list[str],
           numeric: tuple[str, ...] = ()) -> pd.DataFrame:
    """Run one statement; `numeric` columns (exact Decimal sums) become floats for pandas."""
    sql_log.append(str(statement.compile(dialect=postgresql.dialect())))
    with get_engine().connect() as conn:
        result = conn.execute(statement)
        frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    for column in numeric:
        frame[column] = frame[column].astype(float)
    return frame


def _check_rates(query: SemanticQuery, scope: Scope, span: TimeRange, sql_log: list[str]) -> None:
    missing = _fetch(compiler.missing_rates(query, scope, span), sql_log)
    if missing.empty:
        return
    parts = []
    for currency, days in missing.groupby("currency")["day"]:
        listed = ", ".join(d.isoformat() for d in list(days)[:5])
        more = f" and {len(days) - 5} more" if len(days) > 5 else ""
        parts.append(f"{currency}→{scope.currency} on {listed}{more}")
    raise MissingFxRateError("missing exchange rates: " + "; ".join(parts)
                             + " (add them under Settings → FX rates)")


def _store_metrics(raw: pd.DataFrame, costs: Costs) -> pd.DataFrame:
    """Store metrics from raw store sums (one place for their definitions)."""
    out = raw[[BUCKET]].copy()
    out["orders"] = raw["orders"]
    out["refunds"] = raw["refunds"]
    out["new_customers"] = raw["new_customers"]
    out["cogs"] = raw["cogs"]
    out["net_sales"] = raw["gross"] - raw["discounts"] - raw["refunds"]
    out["store_revenue"] = out["net_sales"] + raw["shipping"]
    charged = raw["gross"] - raw["discounts"] + raw["shipping"] + raw["taxes"]
    per_order = float(costs.shipping_cost_per_order + costs.handling_per_order)
    shipping_costs = per_order * raw["orders"] \
        + float(costs.shipping_cost_pct) * out["store_revenue"]
    payment_fees = float(costs.payment_fee_pct) * charged \
        + float(costs.payment_fee_fixed) * raw["orders"]
    out["profit_before_ad_spend"] = (out["store_revenue"] - raw["cogs"] - shipping_costs
                                     - payment_fees)
    return out


def _evaluate(frame: pd.DataFrame, metric_id: str) -> pd.Series:
    """A metric over a frame of base sums: the vectorised twin of catalogue.compute."""
    metric = catalogue.get_metric(metric_id)
    formula = metric.formula
    if formula is None:
        return frame[metric_id].astype(float)
    if isinstance(formula, Difference):
        return _evaluate(frame, formula.minuend) - _evaluate(frame, formula.subtrahend)
    assert isinstance(formula, Ratio)
    numerator = _evaluate(frame, formula.numerator)
    denominator = _evaluate(frame, formula.denominator)
    return (numerator * float(formula.scale) / denominator.where(denominator != 0)).astype(float)


def _period(query: SemanticQuery, scope: Scope, costs: Costs, span: TimeRange,
            sql_log: list[str]) -> pd.DataFrame:
    """Base sums for one period, per (dimensions, bucket)."""
    bases = set(query.base_metrics)
    unsupported = sorted(b for b in bases if catalogue.METRICS[b].source == "attribution")
    if unsupported:
        raise compiler.UnsupportedMetricError(
            f"{', '.join(unsupported)} need attribution, which is not computed yet")
    ad_sums = tuple(s for s in compiler.AD_SUMS if s in bases)
    frames = []
    if ad_sums:
        _check_rates(query, scope, span, sql_log)
        frames.append(_fetch(compiler.ad_statement(query, scope, span, ad_sums), sql_log,
                             ad_sums))
    if bases & compiler.STORE_METRICS:
        raw = _fetch(compiler.store_statement(query, scope, span), sql_log,
                     compiler.STORE_SUMS)
        frames.append(_store_metrics(raw, costs))
    keys = [c for c in frames[0].columns if c not in bases and c in (*_key_columns(query),)]
    merged = frames[0]
    for other in frames[1:]:  # store facts join ad facts on the time bucket only
        merged = merged.merge(other, on=BUCKET, how="outer")
    every = compiler.buckets(query.grain, span)
    if every is not None and not query.dimensions:
        full = pd.DataFrame({BUCKET: every})
        merged[BUCKET] = pd.to_datetime(merged[BUCKET]).dt.date if len(merged) else merged[BUCKET]
        merged = full.merge(merged, on=BUCKET, how="left")
    if not query.grain and not query.dimensions and merged.empty:  # a total of nothing is 0
        merged = pd.DataFrame({BUCKET: ["total"]})
    for base in bases:
        if base not in merged:
            merged[base] = 0.0
        merged[base] = merged[base].astype(float).fillna(0.0)
    return merged[[*keys, BUCKET, *sorted(bases)]] if keys else merged[[BUCKET, *sorted(bases)]]


def _key_columns(query: SemanticQuery) -> list[str]:
    columns = []
    for dimension in query.dimensions:
        columns.append(dimension)
        if dimension != "provider":
            columns.append(f"{dimension}_id")
    return columns


def _shape(query: SemanticQuery, sums: pd.DataFrame) -> pd.DataFrame:
    """Asked metrics from sums, with the dimension and time columns a reader needs."""
    out = sums[_key_columns(query)].copy()
    if query.grain:
        out[query.grain] = sums[BUCKET].map(_bucket_label)
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


def _order(query: SemanticQuery, frame: pd.DataFrame) -> pd.DataFrame:
    """Ranking with a stable tie-break (names, then ids), nulls last; then the limit."""
    keys = _key_columns(query) + ([query.grain] if query.grain else [])
    if query.order_by:
        column = query.order_by.metric
        frame = frame.sort_values([column, *keys], ascending=[query.order_by.direction == "asc",
                                                             *[True] * len(keys)],
                                  na_position="last", kind="mergesort")
    elif keys:
        frame = frame.sort_values(keys, kind="mergesort")
    if query.limit:
        frame = frame.head(query.limit)
    extra = [c for c in frame.columns if c not in (*keys, *query.metrics)]
    return frame.drop(columns=extra).reset_index(drop=True)


def _align(query: SemanticQuery, main: pd.DataFrame, other: pd.DataFrame) -> pd.DataFrame:
    """The comparison period in the main result's row order: the same entities (top N is
    chosen once, in the main period), matched on dimension keys; by position for time."""
    ids = [c for c in _key_columns(query) if c.endswith("_id") or c == "provider"]
    if ids:
        aligned = main[ids].merge(other, on=ids, how="left")
        return aligned[main.columns]
    return other[main.columns].reset_index(drop=True)


def run_query(workspace_id: int, query: SemanticQuery | dict | str) -> MetricsResult:
    """Run a SemanticQuery inside one workspace."""
    query = SemanticQuery.parse(query)
    scope, costs = _scope_and_costs(workspace_id)
    sql_log: list[str] = []
    main = _order(query, _shape(query, _period(query, scope, costs, query.time_range, sql_log)))
    compare = None
    if query.compare_range:
        other = _shape(query, _period(query, scope, costs, query.compare_range, sql_log))
        compare = _align(query, main, _order(query.model_copy(update={"limit": None}), other))
    definitions = {m: catalogue.get_metric(m).definition for m in query.metrics}
    return MetricsResult(query, main, compare, scope.currency, scope.timezone, definitions,
                         sql_log)
