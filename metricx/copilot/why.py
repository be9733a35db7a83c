""" "Why did X change?": a metric's change between two periods split into contributions.

The change of an additive metric (spend, purchases) is the sum of each platform's, campaign's
or ad's change. A ratio (ROAS, CPA, CTR, ...) = numerator ÷ denominator moves for two reasons:
the mix (the denominator's weight moved between segments of different ratios) and the rate
(a segment's own ratio moved). With w the segment's share of the denominator and r its ratio,

    Δratio = Σ (w₁ − w₀)·r₀  (mix)  +  Σ w₁·(r₁ − r₀)  (rate),

where a segment new in the later period takes the whole earlier ratio as its r₀, so the two
parts add up to the change exactly. Every number comes from the metric engine (run_query of
each period), never from SQL of its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from metricx.markdown import markdown_literal
from metricx.semantic import catalogue
from metricx.semantic.engine import run_query
from metricx.semantic.expression import Binary, Ref
from metricx.semantic.query import SemanticQuery
from metricx.semantic.result import MetricsResult

TOP_DRIVERS = 3
MAX_TABLE_ROWS = 15
#: Store metrics are not split by ads: a "why" about them is split into its inputs instead.
UNSPLIT_NOTE = (
    "{label} is a store figure, which cannot be split by platform, campaign or ad; "
    "here is what moved ad spend, its ad-side input, instead."
)
EMAIL_NOTE = (
    "{label} is Klaviyo's figure for the whole account by send day, which cannot be split by "
    "platform, campaign or ad; here is what moved ad spend instead."
)
CUSTOM_NOTE = (
    "{label} is a custom metric, whose change is not split into contributions; here is what "
    "moved ad spend instead."
)


@dataclass(frozen=True)
class Decomposition:
    """The change of `metric` split by `dimension`: one table row per segment."""

    metric: str
    dimension: str
    before: float | None
    after: float | None
    table: pd.DataFrame  # segment, before, after, change[, mix, rate]
    text: str


def denominator_of(metric_id: str) -> str | None:
    """The metric a ratio divides by (spend for ROAS, purchases for CPA), None if additive."""
    formula = catalogue.get_metric(metric_id).formula
    if (
        isinstance(formula, Binary)
        and formula.op == "/"
        and isinstance(formula.right, Ref)
        and formula.right.name in catalogue.METRICS
    ):
        return formula.right.name
    return None


def splittable_metric(query: SemanticQuery) -> tuple[str, str]:
    """The metric to decompose (the first asked that ads can be split by) and a note when it
    is not the one asked."""
    for metric in query.metrics:
        if metric in catalogue.METRICS and not catalogue.is_store_level(metric):
            return metric, ""
    first = query.metrics[0]
    if first not in catalogue.METRICS:
        note = CUSTOM_NOTE
    else:
        note = EMAIL_NOTE if catalogue.METRICS[first].source == "email" else UNSPLIT_NOTE
    return "spend", note.format(label=query.metric(first).label)


def _number(value: object) -> float | None:
    if value is None:
        return None
    number = float(value)  # type: ignore[arg-type]  # Decimal, numpy and float all convert
    return None if math.isnan(number) else number


def _period(
    workspace_id: int, query: SemanticQuery, metrics: list[str], dimension: str, second: bool
) -> MetricsResult:
    span = query.compare_range if second else query.time_range
    return run_query(
        workspace_id,
        query.model_copy(
            update={
                "metrics": metrics,
                "dimensions": [dimension],
                "grain": None,
                "time_range": span,
                "compare_range": None,
                "order_by": None,
                "limit": None,
            }
        ),
    )


def _segments(after: pd.DataFrame, before: pd.DataFrame, dimension: str) -> pd.DataFrame:
    """One row per segment of either period, keyed by id (names can repeat)."""
    key = dimension if dimension == "provider" else f"{dimension}_id"
    merged = after.merge(before, on=key, how="outer", suffixes=("_after", "_before"))
    name = (
        merged[f"{dimension}_after"].fillna(merged[f"{dimension}_before"])
        if dimension != "provider"
        else merged[key]
    )
    repeated = name.duplicated(keep=False)
    merged["segment"] = [
        f"{n} (#{i})" if twice else str(n)
        for n, i, twice in zip(name, merged[key], repeated, strict=True)
    ]
    return merged


def decompose(
    workspace_id: int,
    query: SemanticQuery,
    dimension: str = "campaign",
    whole: MetricsResult | None = None,
) -> Decomposition:
    """Split the change of the query's metric between its time_range and compare_range by
    `dimension`; `whole` (the unsplit result, if already fetched) gives the totals."""
    if query.compare_range is None:
        raise ValueError("a decomposition needs a compare_range")
    metric, note = splittable_metric(query)
    denominator = denominator_of(metric)
    metrics = [metric, *([denominator] if denominator else [])]
    later = _period(workspace_id, query, metrics, dimension, second=False)
    after, currency = later.frame, later.currency
    before = _period(workspace_id, query, metrics, dimension, second=True).frame
    rows = _segments(after, before, dimension)
    now = rows[f"{metric}_after"].astype(float)
    then = rows[f"{metric}_before"].astype(float)
    total_before: float | None
    total_after: float | None
    if denominator is None:
        table = pd.DataFrame(
            {"segment": rows["segment"], "before": then.fillna(0.0), "after": now.fillna(0.0)}
        )
        table["change"] = table["after"] - table["before"]
        total_before, total_after = float(table["before"].sum()), float(table["after"].sum())
    else:
        d_after = rows[f"{denominator}_after"].astype(float).fillna(0.0)
        d_before = rows[f"{denominator}_before"].astype(float).fillna(0.0)
        total_before, total_after = _ratio_totals(workspace_id, query, metric, whole)
        w_after = d_after / d_after.sum() if d_after.sum() else d_after * 0
        w_before = d_before / d_before.sum() if d_before.sum() else d_before * 0
        base = then.where(d_before > 0, total_before if total_before is not None else 0.0)
        table = pd.DataFrame({"segment": rows["segment"], "before": then, "after": now})
        table["mix"] = (w_after - w_before) * base.fillna(0.0)
        table["rate"] = (w_after * (now - base)).fillna(0.0)
        table["change"] = table["mix"] + table["rate"]
    table = table.reindex(table["change"].abs().sort_values(ascending=False).index)
    table = table.reset_index(drop=True)
    return Decomposition(
        metric,
        dimension,
        _number(total_before),
        _number(total_after),
        table,
        _words(
            metric, dimension, table, _number(total_before), _number(total_after), note, currency
        ),
    )


def _ratio_totals(
    workspace_id: int, query: SemanticQuery, metric: str, whole: MetricsResult | None
) -> tuple[float | None, float | None]:
    """The ratio over everything in each period, as the engine computes it (ratio of sums)."""
    if (
        whole is None
        or metric not in whole.query.metrics
        or whole.query.dimensions
        or whole.query.grain
        or whole.compare_frame is None
    ):
        whole = run_query(
            workspace_id,
            query.model_copy(
                update={
                    "metrics": [metric],
                    "dimensions": [],
                    "grain": None,
                    "order_by": None,
                    "limit": None,
                }
            ),
        )
    after = whole.frame[metric].iloc[0] if len(whole.frame) else None
    compare = whole.compare_frame
    before = compare[metric].iloc[0] if compare is not None and len(compare) else None
    return _number(before), _number(after)


def _fmt(metric: str, value: float | None, currency: str | None = None) -> str:
    if value is None:
        return "no data"
    return catalogue.format_value(metric, value, currency)


def _signed(metric: str, value: float, currency: str | None) -> str:
    sign = "+" if value > 0 else "−" if value < 0 else "±"
    return sign + catalogue.format_value(metric, abs(value), currency)


def _words(
    metric: str,
    dimension: str,
    table: pd.DataFrame,
    before: float | None,
    after: float | None,
    note: str,
    currency: str,
) -> str:
    label = catalogue.get_metric(metric).label
    level = {"provider": "platform", "adset": "ad set"}.get(dimension, dimension)
    lines = [note] if note else []
    if before is None or after is None:
        lines.append(
            f"{label} has no data in one of the two periods ({_fmt(metric, before)} → "
            f"{_fmt(metric, after)}), so there is no change to explain."
        )
        return "\n".join(lines)
    lines.append(
        f"{label} went from {_fmt(metric, before, currency)} to "
        f"{_fmt(metric, after, currency)} "
        f"({_signed(metric, after - before, currency)}). Biggest drivers by {level}:"
    )
    ratio = "mix" in table.columns
    for _, row in table.head(TOP_DRIVERS).iterrows():
        if not row["change"]:
            continue
        text = f"- {markdown_literal(row['segment'])}: {_signed(metric, row['change'], currency)}"
        if ratio:
            text += (
                f" (its own {label} {_fmt(metric, _number(row['before']), currency)} → "
                f"{_fmt(metric, _number(row['after']), currency)}: "
                f"{_signed(metric, row['rate'], currency)}; its share of the mix: "
                f"{_signed(metric, row['mix'], currency)})"
            )
        lines.append(text)
    if ratio:
        lines.append(
            f"Mix effect in total {_signed(metric, table['mix'].sum(), currency)}, "
            f"rate effect {_signed(metric, table['rate'].sum(), currency)}."
        )
    return "\n".join(lines)


def table_for_display(decomposition: Decomposition) -> pd.DataFrame:
    """The decomposition table with readable column names, biggest contribution first."""
    label = catalogue.get_metric(decomposition.metric).label
    level = {"provider": "platform", "adset": "ad set"}.get(
        decomposition.dimension, decomposition.dimension
    )
    names = {
        "segment": level,
        "before": f"{label} before",
        "after": f"{label} after",
        "change": "contribution",
        "mix": "mix effect",
        "rate": "rate effect",
    }
    return decomposition.table.head(MAX_TABLE_ROWS).rename(columns=names)
