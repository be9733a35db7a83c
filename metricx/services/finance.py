"""The P&L: per day, week (from Monday) or month, in the workspace's days and currency.

Store sums come from the metric engine (metricx.semantic.engine.daily_store_facts), counted
as the metrics count them (orders by processed day, refunds by refund day, cancellations by
cancel day: metricx.sync.rollup; FX-converted), ad spend per platform from `run_query`, and
custom expenses from the expenses table, converted by the engine at the rate of each day. Every
line is a formula (`LINE_FORMULAS`) over those sums, the catalogue's store metrics and order
costs and the cost settings, evaluated by the one evaluator (metricx.semantic.evaluate).
Sums are taken per day first — a monthly expense is prorated over the days of its month, a
share-of-revenue expense needs each day's revenue — then summed into periods, and the lines
computed from the period sums; margins are ratios of those (null when revenue is 0).
"""

from __future__ import annotations

import calendar
import math
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pandas as pd

from metricx.errors import InvalidInputError
from metricx.models import Expense
from metricx.platforms import AD_PROVIDERS, display_name, short_name
from metricx.semantic import catalogue, evaluate
from metricx.semantic.catalogue import ORDER_COSTS, Metric, Unit
from metricx.semantic.compiler import Scope
from metricx.semantic.engine import convert_daily, daily_store_facts, run_query
from metricx.semantic.evaluate import Params
from metricx.semantic.expression import Expression, Ref
from metricx.semantic.query import TimeRange
from metricx.services.expenses import list_expenses

GRAINS = ("day", "week", "month")
MAX_DAYS = 3 * 366  # a P&L longer than this is better read per year


def _line(
    line_id: str,
    label: str,
    definition: str,
    higher_is_better: bool | None = True,
    unit: Unit = "currency",
) -> Metric:
    return Metric(line_id, label, unit, higher_is_better, f"{label} = {definition}", "finance")


LINES: tuple[Metric, ...] = (
    _line(
        "gross_sales",
        "Gross sales",
        "price × quantity of the orders placed (test orders "
        "excluded; a cancelled order is a sale on its day and a refund on its cancel day), "
        "before discounts.",
    ),
    _line("discounts", "Discounts", "discounts given on those orders.", False),
    _line(
        "refunds",
        "Refunds",
        "sales returned (taxes and shipping excluded) on the day of "
        "the refund, and a cancelled order's remaining sales on the day it is cancelled.",
        False,
    ),
    _line("net_sales", "Net sales", "gross sales − discounts − refunds."),
    _line(
        "shipping_charged", "Shipping charged", "shipping customers paid, less shipping refunded."
    ),
    _line("taxes", "Taxes", "taxes collected less taxes refunded; shown, not revenue.", None),
    _line("store_revenue", "Revenue", "net sales + shipping charged (taxes excluded)."),
    _line("cogs", "COGS", "product unit cost × quantity sold.", False),
    _line("gross_profit", "Gross profit", "net sales − COGS."),
    _line(
        "shipping_costs",
        "Shipping costs",
        "shipping cost per order × orders + shipping cost share × revenue (cost settings).",
        False,
    ),
    _line("handling", "Handling", "handling cost per order × orders (cost settings).", False),
    _line(
        "payment_fees",
        "Payment fees",
        "payment fee share × amount charged (incl. shipping "
        "and taxes) + fixed fee × orders (cost settings).",
        False,
    ),
    _line(
        "profit_before_ad_spend",
        "Profit before ad spend",
        "net sales + shipping charged − COGS − shipping costs − handling − payment fees.",
    ),
    *(
        _line(
            f"ad_spend_{p}",
            f"Ad spend · {short_name(p)}",
            f"what {display_name(p)} charged for your ads.",
            None,
        )
        for p in AD_PROVIDERS
    ),
    _line(
        "ad_spend_expenses",
        "Ad spend · expenses",
        'custom expenses flagged "counts as ad spend".',
        None,
    ),
    _line(
        "ad_spend", "Ad spend", "ad spend on every platform + expenses counted as ad spend.", None
    ),
    _line("contribution_margin", "Contribution margin", "profit before ad spend − ad spend."),
    _line(
        "other_expenses",
        "Other expenses",
        "custom expenses not counted as ad spend: "
        "monthly ones prorated by day, one-offs on their date, shares of revenue.",
        False,
    ),
    _line("net_profit", "Net profit", "contribution margin − other expenses."),
    _line("gross_margin", "Gross margin", "gross profit ÷ revenue.", unit="percent"),
    _line(
        "profit_before_ad_spend_margin",
        "Margin before ad spend",
        "profit before ad spend ÷ revenue.",
        unit="percent",
    ),
    _line(
        "contribution_margin_rate",
        "Contribution margin %",
        "contribution margin ÷ revenue.",
        unit="percent",
    ),
    _line("net_margin", "Net margin", "net profit ÷ revenue.", unit="percent"),
)
LINE_IDS: tuple[str, ...] = tuple(line.id for line in LINES)
#: margin line -> the profit line it divides by revenue
MARGINS = {
    "gross_margin": "gross_profit",
    "profit_before_ad_spend_margin": "profit_before_ad_spend",
    "contribution_margin_rate": "contribution_margin",
    "net_margin": "net_profit",
}
#: revenue, then what it goes to, in the order the waterfall takes them off
WATERFALL_STEPS = (
    "store_revenue",
    "cogs",
    "shipping_costs",
    "handling",
    "payment_fees",
    "ad_spend",
    "other_expenses",
)
_EXPENSE_SUMS = ("ad_spend_expenses", "other_expenses")
_AD_SPEND_SUMS = tuple(f"ad_spend_{p}" for p in AD_PROVIDERS)
#: The P&L's own lines, as formulas over its sums and the catalogue's metrics.
_DEFINED: dict[str, Expression] = {
    **ORDER_COSTS,
    "ad_spend": sum((Ref(s) for s in _AD_SPEND_SUMS[1:]), Ref(_AD_SPEND_SUMS[0]))
    + Ref("ad_spend_expenses"),
    "contribution_margin": Ref("profit_before_ad_spend") - Ref("ad_spend"),
    "net_profit": Ref("contribution_margin") - Ref("other_expenses"),
    **{margin: Ref(profit) / Ref("store_revenue") for margin, profit in MARGINS.items()},
}
#: Every line by id over the period sums (catalogue.FACTS, store facts, ad spend, expenses).
LINE_FORMULAS: dict[str, Expression] = {
    line: catalogue.expand(
        Ref({"gross_sales": "gross", "shipping_charged": "shipping"}.get(line, line)),
        _DEFINED,
        (*_AD_SPEND_SUMS, *_EXPENSE_SUMS),
    )
    for line in LINE_IDS
}


def get_line(line_id: str) -> Metric:
    return LINES[LINE_IDS.index(line_id)]


@dataclass
class ProfitAndLoss:
    """One P&L: `frame` has a row per period (index: the period's first day) and a column per
    line (LINE_IDS); `total` is the whole range, margins recomputed from its sums."""

    time_range: TimeRange
    grain: str
    currency: str
    timezone: str
    frame: pd.DataFrame
    total: pd.Series

    @property
    def definitions(self) -> dict[str, str]:
        return {line.id: line.definition for line in LINES}

    @property
    def is_empty(self) -> bool:
        """No order, refund, ad spend or expense in the whole range."""
        money = [line.id for line in LINES if line.unit == "currency"]
        return bool((self.total[money].fillna(0) == 0).all())

    def table(self) -> pd.DataFrame:
        """Lines as rows (in P&L order), periods then "total" as columns; raw numbers."""
        table = self.frame.T.copy()
        table.columns = [period.isoformat() for period in self.frame.index]
        table["total"] = self.total
        table.index.name = "line"
        return table

    def waterfall(self) -> pd.DataFrame:
        """From revenue to net profit over the whole range: one row per step with its signed
        amount and where its bar starts and ends (revenue and net profit start at 0)."""
        rows, running = [], 0.0
        for line_id in WATERFALL_STEPS:
            amount = float(self.total[line_id]) * (1 if line_id == "store_revenue" else -1)
            rows.append(
                {
                    "line": line_id,
                    "step": get_line(line_id).label,
                    "amount": amount,
                    "start": running,
                    "end": running + amount,
                }
            )
            running += amount
        net = float(self.total["net_profit"])
        rows.append(
            {
                "line": "net_profit",
                "step": get_line("net_profit").label,
                "amount": net,
                "start": 0.0,
                "end": net,
            }
        )
        return pd.DataFrame(rows)

    def to_contract(self) -> dict[str, Any]:
        """What `metricx finance --json` prints."""
        return {
            "columns": [self.grain, *LINE_IDS],
            "rows": [
                [period.isoformat(), *(_number(v) for v in row)]
                for period, row in zip(
                    self.frame.index, self.frame.itertuples(index=False), strict=True
                )
            ],
            "total": {line: _number(self.total[line]) for line in LINE_IDS},
            "meta": {
                "time_range": self.time_range.model_dump(mode="json"),
                "grain": self.grain,
                "currency": self.currency,
                "timezone": self.timezone,
                "definitions": self.definitions,
            },
        }


def _number(value: Any) -> float | None:
    number = float(value)
    return None if math.isnan(number) else number


def _period_start(day: date, grain: str) -> date:
    if grain == "week":
        return day - timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    return day


def _ad_spend(workspace_id: int, span: TimeRange, days: pd.Index) -> pd.DataFrame:
    """Ad spend per day, one column per platform (ad_spend_meta, ad_spend_google, ...)."""
    result = run_query(
        workspace_id,
        {
            "metrics": ["spend"],
            "dimensions": ["provider"],
            "grain": "day",
            "time_range": span.model_dump(mode="json"),
        },
    )
    spend = result.frame.pivot_table(index="day", columns="provider", values="spend", aggfunc="sum")
    spend.index = [date.fromisoformat(d) for d in spend.index]
    spend = spend.reindex(index=days, columns=list(AD_PROVIDERS))
    spend.columns = list(_AD_SPEND_SUMS)
    return spend.astype(float).fillna(0.0)


def _expense_amounts(expense: Expense, days: pd.Index, revenue: pd.Series) -> pd.Series:
    """One expense per day: in its own currency for amounts, the workspace's for shares."""
    last = expense.end_date or date.max
    active = pd.Series([expense.start_date <= d <= last for d in days], index=days)
    if expense.kind == "monthly":
        amount = _given(expense.amount, expense, "amount")
        daily = [amount / calendar.monthrange(d.year, d.month)[1] for d in days]
        return pd.Series(daily, index=days).where(active, 0.0)
    if expense.kind == "one_off":
        amount = _given(expense.amount, expense, "amount")
        return pd.Series([amount if d == expense.start_date else 0.0 for d in days], index=days)
    return (_given(expense.percent, expense, "percent") * revenue).where(active, 0.0)


def _given(value: Decimal | None, expense: Expense, field: str) -> float:
    """An expense's amount or percent, which its kind requires (set by the expenses service)."""
    if value is None:
        raise ValueError(f"{expense.kind} expense {expense.id} has no {field}")
    return float(value)


def _expense_sums(
    workspace_id: int, scope: Scope, days: pd.Index, revenue: pd.Series
) -> pd.DataFrame:
    """Expenses per day in the workspace currency: those counted as ad spend, and the rest
    (a share of revenue is in the workspace currency already)."""
    sums = pd.DataFrame(0.0, index=days, columns=list(_EXPENSE_SUMS))
    expenses = list_expenses(workspace_id)
    amounts = convert_daily(
        scope,
        [
            (
                scope.currency if e.kind == "percent_of_revenue" else e.currency,
                _expense_amounts(e, days, revenue),
            )
            for e in expenses
        ],
    )
    for expense, converted in zip(expenses, amounts, strict=True):
        sums["ad_spend_expenses" if expense.counts_as_ad_spend else "other_expenses"] += converted
    return sums


def _lines(sums: pd.DataFrame, costs: Params) -> pd.DataFrame:
    """Every P&L line from summed raw store sums, ad spend and expenses (any periods)."""
    return pd.DataFrame(
        {line: evaluate.columns(formula, sums, costs) for line, formula in LINE_FORMULAS.items()},
        index=sums.index,
    )


def profit_and_loss(workspace_id: int, start: date, end: date, grain: str = "day") -> ProfitAndLoss:
    """The P&L of one workspace from `start` to `end` (inclusive, the workspace's days)."""
    if grain not in GRAINS:
        raise InvalidInputError(f"grain must be one of {', '.join(GRAINS)}, got {grain!r}")
    if end < start:
        raise InvalidInputError(f"the end {end} is before the start {start}")
    span = TimeRange(start=start, end=end)
    if span.days > MAX_DAYS:
        raise InvalidInputError(f"a P&L covers at most {MAX_DAYS} days; this range has {span.days}")
    days = pd.Index([start + timedelta(days=i) for i in range(span.days)])
    store = daily_store_facts(workspace_id, span)
    scope = store.scope
    revenue = pd.Series(
        evaluate.columns(catalogue.formula_of("store_revenue"), store.frame), index=days
    )
    daily = pd.concat(
        [
            store.frame,
            _ad_spend(workspace_id, span, days),
            _expense_sums(workspace_id, scope, days, revenue),
        ],
        axis=1,
    )
    periods = daily.groupby([_period_start(d, grain) for d in days]).sum()
    frame = _lines(periods, store.costs)
    frame.index.name = grain
    total = _lines(daily.sum().to_frame().T, store.costs).iloc[0]
    return ProfitAndLoss(span, grain, scope.currency, scope.timezone, frame, total)
