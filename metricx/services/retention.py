"""Retention: what the Retention page reads, each through the metric engine's cohort queries
(`run_query`, metricx.semantic.cohorts), inside one workspace.

- `cohort_table`: one cohort metric by cohort (optionally split) and age — the heatmap —
  with which cells have fully elapsed and each row's customers;
- `ltv_curves`: cumulative LTV by age, one curve per cohort or per acquisition split. A split
  curve blends the monthly cohorts that have reached each age (Σ revenue ÷ Σ customers of
  those cohorts: a ratio of sums), so young cohorts never pull an age down;
- `cac_payback`: per cohort, its customers, CAC, LTV (gross profit) and LTV:CAC at the oldest
  age that has fully elapsed (at most `max_age`), and the age at which it paid back;
- `to_csv`: any of them as CSV, numbers unformatted, dates ISO.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

import numpy as np
import pandas as pd

from metricx.errors import InvalidInputError
from metricx.semantic import families
from metricx.semantic.cohorts import COMPLETE, SPLITS
from metricx.semantic.engine import run_query
from metricx.semantic.query import TimeRange
from metricx.semantic.result import MetricsResult

Grain = Literal["week", "month", "quarter"]
AgeUnit = Literal["day", "week", "month"]
CUSTOMERS = "cohort_customers"
#: What an LTV curve can be drawn by: each cohort, or an acquisition / first-order split.
CURVES_BY: tuple[str, ...] = ("cohort", *SPLITS)
#: Metrics per customer (a cohort fact ÷ its customers): blended over cohorts by Σ fact.
PER_CUSTOMER: frozenset[str] = frozenset(
    {"ltv", "ltv_gross_profit", "ltv_contribution", "orders_per_customer", "repeat_rate"}
)
PAYBACK_METRICS: tuple[str, ...] = (CUSTOMERS, "cac", "ltv_gross_profit", "ltv_cac", "payback_age")


@dataclass(frozen=True)
class CohortTable:
    """One metric by cohort (and split) and age. `frame`: one row per cell — `cohort` (its
    first day), the split column if any, `age`, the metric, `cohort_customers`, `complete`
    (an incomplete cell's values are empty, never a drop). `values` and `complete` are the
    same as matrices (rows: cohort or (cohort, split); columns: ages); `sizes` the customers
    of each row (empty while its first age is incomplete)."""

    metric: str
    split: str | None
    frame: pd.DataFrame
    currency: str

    @property
    def empty(self) -> bool:
        return self.frame.empty

    @property
    def rows(self) -> list[str]:
        return ["cohort", *([self.split] if self.split else [])]

    @property
    def values(self) -> pd.DataFrame:
        return self.frame.pivot(index=self.rows, columns="age", values=self.metric)

    @property
    def complete(self) -> pd.DataFrame:
        return self.frame.pivot(index=self.rows, columns="age", values=COMPLETE).astype(bool)

    @property
    def sizes(self) -> pd.Series:
        return self.frame.groupby(self.rows, sort=False)[CUSTOMERS].max()


@dataclass(frozen=True)
class LtvCurves:
    """Cumulative LTV per customer by age: `frame` has the curve's key column (`by`), `age`,
    `ltv`, `cohort_customers` (those the value is over) and `complete`."""

    by: str
    frame: pd.DataFrame
    currency: str


@dataclass(frozen=True)
class PaybackTable:
    """Per cohort (and split): `cohort_customers`, `cac`, `ltv_gross_profit`, `ltv_cac` read
    at `age` (the oldest fully elapsed, at most max_age; empty when none is) and
    `payback_age`."""

    split: str | None
    frame: pd.DataFrame
    currency: str


def _ask(
    workspace_id: int,
    span: TimeRange,
    metrics: list[str],
    dimensions: list[str],
    grain: str,
    age_unit: str,
    max_age: int,
) -> MetricsResult:
    return run_query(
        workspace_id,
        {
            "metrics": metrics,
            "time_range": span.model_dump(mode="json"),
            "dimensions": dimensions,
            "cohort": {"grain": grain, "age_unit": age_unit, "max_age": max_age},
        },
    )


def _split(split: str | None) -> list[str]:
    if split is None:
        return []
    if split not in SPLITS:
        raise InvalidInputError(f"cohorts split by {', '.join(SPLITS)}, not {split!r}")
    return [split]


def _dated(frame: pd.DataFrame) -> pd.DataFrame:
    """The cohort column as dates (the engine gives ISO text)."""
    if "cohort" in frame:
        frame = frame.assign(cohort=[date.fromisoformat(v) for v in frame["cohort"]])
    return frame


def cohort_table(
    workspace_id: int,
    span: TimeRange,
    grain: Grain,
    metric: str,
    age_unit: AgeUnit,
    max_age: int,
    split: str | None = None,
) -> CohortTable:
    """`metric` for the customers whose first order falls in `span`, by `grain` cohort
    (and `split`) and age 0..`max_age` in `age_unit`s."""
    if families.family_of(metric) != "cohort" or metric in families.OVER_AGES:
        raise InvalidInputError(
            f"{metric!r} is not a cohort metric a heatmap can show (for example "
            "repeat_rate, ltv, retention)"
        )
    metrics = list(dict.fromkeys([metric, CUSTOMERS]))
    result = _ask(
        workspace_id, span, metrics, ["cohort", *_split(split), "age"], grain, age_unit, max_age
    )
    return CohortTable(metric, split, _dated(result.frame), result.currency)


def ltv_curves(
    workspace_id: int,
    span: TimeRange,
    by: str,
    age_unit: AgeUnit,
    max_age: int,
    metric: str = "ltv",
    grain: Grain = "month",
) -> LtvCurves:
    """Cumulative `metric` per customer by age, one curve per `grain` cohort (`by` "cohort")
    or per value of an acquisition / first-order split, blending the cohorts that have fully
    reached each age."""
    if by not in CURVES_BY:
        raise InvalidInputError(f"LTV curves are drawn by {', '.join(CURVES_BY)}, not {by!r}")
    if metric not in PER_CUSTOMER:
        raise InvalidInputError(
            f"curves show a per-customer metric ({', '.join(sorted(PER_CUSTOMER))}), not {metric!r}"
        )
    dimensions = ["cohort", *([] if by == "cohort" else [by]), "age"]
    result = _ask(workspace_id, span, [metric, CUSTOMERS], dimensions, grain, age_unit, max_age)
    frame = _dated(result.frame)
    if by != "cohort":
        frame = _blended(frame, by, metric)
    return LtvCurves(by, frame[[by, "age", metric, CUSTOMERS, COMPLETE]], result.currency)


def _blended(frame: pd.DataFrame, by: str, metric: str) -> pd.DataFrame:
    """Per (split value, age): Σ (metric × customers) ÷ Σ customers over the cohorts whose
    cell is complete; complete when at least one is."""
    done = frame[frame[COMPLETE]]
    totals = (
        done.assign(_total=done[metric] * done[CUSTOMERS])
        .groupby([by, "age"], dropna=False)[["_total", CUSTOMERS]]
        .sum()
    )
    every = frame[[by, "age"]].drop_duplicates().set_index([by, "age"]).index
    totals = totals.reindex(every)
    customers = totals[CUSTOMERS].to_numpy(dtype=float)
    blended = np.divide(
        totals["_total"].to_numpy(dtype=float),
        customers,
        out=np.full(len(totals), np.nan),
        where=customers > 0,
    )
    out = totals.reset_index()[[by, "age"]]
    out[metric] = blended
    out[CUSTOMERS] = customers
    out[COMPLETE] = ~np.isnan(customers) & (customers > 0)
    return out.sort_values([by, "age"], na_position="last", kind="stable").reset_index(drop=True)


def cac_payback(
    workspace_id: int,
    span: TimeRange,
    grain: Grain,
    split: str | None = None,
    age_unit: AgeUnit = "month",
    max_age: int = 11,
) -> PaybackTable:
    """Per cohort (and split): customers, CAC, LTV gross profit and LTV:CAC at the oldest
    fully elapsed age (≤ `max_age`), and the payback age."""
    keys = ["cohort", *_split(split)]
    result = _ask(
        workspace_id, span, list(PAYBACK_METRICS), [*keys, "age"], grain, age_unit, max_age
    )
    cells = _dated(result.frame)
    latest = cells[cells[COMPLETE]].groupby(keys, sort=False, dropna=False).tail(1)
    rows = cells[keys].drop_duplicates()
    frame = rows.merge(latest, on=keys, how="left")
    columns = [*keys, "age", *PAYBACK_METRICS]
    return PaybackTable(split, frame[columns].reset_index(drop=True), result.currency)


def to_csv(table: CohortTable | LtvCurves | PaybackTable) -> str:
    """A table as CSV: one row per cell, numbers unformatted (money in the workspace
    currency, named in the header), dates ISO, empty cells empty."""
    frame: pd.DataFrame = table.frame.copy()
    money = {
        c: f"{c} ({table.currency})"
        for c in frame.columns
        if c in families.COHORT_METRICS and families.metric(c).unit == "currency"
    }
    frame = frame.rename(columns=money)
    if "cohort" in frame:
        frame["cohort"] = [v.isoformat() if isinstance(v, date) else v for v in frame["cohort"]]
    return str(frame.to_csv(index=False, na_rep=""))
