"""The P&L: per day, week (from Monday) or month, in the workspace's days and currency.

Store sums come from the semantic layer's compiler, counted as the metrics count them (orders
by processed day, refunds by refund day, cancellations by cancel day: metricx.sync.rollup;
FX-converted), so the P&L's revenue lines are the engine's numbers; ad spend per platform from
the metric service, order costs from the cost rules (metricx.costs), and custom expenses from
the expenses table, converted through fx_rates at the rate of each day. Everything is computed
per day first — a monthly expense is prorated over the days of its month, a share-of-revenue
expense needs each day's revenue — then summed into periods; margins are ratios of the summed
lines (null when revenue is 0).
"""

from __future__ import annotations

import calendar
import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import select

from metricx import costs as cost_rules
from metricx.db import get_reader, new_session
from metricx.errors import InvalidInputError
from metricx.models import AD_PROVIDERS, Expense, FxRate
from metricx.semantic import compiler
from metricx.semantic.catalogue import Metric
from metricx.semantic.query import SemanticQuery, TimeRange
from metricx.services.expenses import list_expenses
from metricx.services.metrics import MissingFxRateError, run_query
from metricx.services.settings import Costs
from metricx.services.settings import costs as workspace_costs
from metricx.services.workspaces import find_workspace

GRAINS = ("day", "week", "month")
MAX_DAYS = 3 * 366  # a P&L longer than this is better read per year


def _line(line_id: str, label: str, definition: str, higher_is_better: bool | None = True,
          unit: str = "currency") -> Metric:
    return Metric(line_id, label, unit, higher_is_better, f"{label} = {definition}", "finance")


LINES: tuple[Metric, ...] = (
    _line("gross_sales", "Gross sales", "price × quantity of the orders placed (test orders "
          "excluded; a cancelled order is a sale on its day and a refund on its cancel day), "
          "before discounts."),
    _line("discounts", "Discounts", "discounts given on those orders.", False),
    _line("refunds", "Refunds", "sales returned (taxes and shipping excluded) on the day of "
          "the refund, and a cancelled order's remaining sales on the day it is cancelled.",
          False),
    _line("net_sales", "Net sales", "gross sales − discounts − refunds."),
    _line("shipping_charged", "Shipping charged", "shipping customers paid, less shipping "
          "refunded."),
    _line("taxes", "Taxes", "taxes collected less taxes refunded; shown, not revenue.", None),
    _line("store_revenue", "Revenue", "net sales + shipping charged (taxes excluded)."),
    _line("cogs", "COGS", "product unit cost × quantity sold.", False),
    _line("gross_profit", "Gross profit", "net sales − COGS."),
    _line("shipping_costs", "Shipping costs", "shipping cost per order × orders + shipping "
          "cost share × revenue (cost settings).", False),
    _line("handling", "Handling", "handling cost per order × orders (cost settings).", False),
    _line("payment_fees", "Payment fees", "payment fee share × amount charged (incl. shipping "
          "and taxes) + fixed fee × orders (cost settings).", False),
    _line("profit_before_ad_spend", "Profit before ad spend", "net sales + shipping charged "
          "− COGS − shipping costs − handling − payment fees."),
    *(_line(f"ad_spend_{p}", f"Ad spend · {p.title()}", f"what {p.title()} charged for your "
            "ads.", None) for p in AD_PROVIDERS),
    _line("ad_spend_expenses", "Ad spend · expenses", "custom expenses flagged "
          "\"counts as ad spend\".", None),
    _line("ad_spend", "Ad spend", "ad spend on every platform + expenses counted as ad spend.",
          None),
    _line("contribution_margin", "Contribution margin", "profit before ad spend − ad spend."),
    _line("other_expenses", "Other expenses", "custom expenses not counted as ad spend: "
          "monthly ones prorated by day, one-offs on their date, shares of revenue.", False),
    _line("net_profit", "Net profit", "contribution margin − other expenses."),
    _line("gross_margin", "Gross margin", "gross profit ÷ revenue.", unit="percent"),
    _line("profit_before_ad_spend_margin", "Margin before ad spend",
          "profit before ad spend ÷ revenue.", unit="percent"),
    _line("contribution_margin_rate", "Contribution margin %", "contribution margin ÷ revenue.",
          unit="percent"),
    _line("net_margin", "Net margin", "net profit ÷ revenue.", unit="percent"),
)
LINE_IDS: tuple[str, ...] = tuple(line.id for line in LINES)
#: margin line -> the profit line it divides by revenue
MARGINS = {"gross_margin": "gross_profit", "profit_before_ad_spend_margin":
           "profit_before_ad_spend", "contribution_margin_rate": "contribution_margin",
           "net_margin": "net_profit"}
#: revenue, then what it goes to, in the order the waterfall takes them off
WATERFALL_STEPS = ("store_revenue", "cogs", "shipping_costs", "handling", "payment_fees",
                   "ad_spend", "other_expenses")
_EXPENSE_SUMS = ("ad_spend_expenses", "other_expenses")
_AD_SPEND_SUMS = tuple(f"ad_spend_{p}" for p in AD_PROVIDERS)


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
            rows.append({"line": line_id, "step": get_line(line_id).label, "amount": amount,
                         "start": running, "end": running + amount})
            running += amount
        net = float(self.total["net_profit"])
        rows.append({"line": "net_profit", "step": get_line("net_profit").label,
                     "amount": net, "start": 0.0, "end": net})
        return pd.DataFrame(rows)

    def to_contract(self) -> dict[str, Any]:
        """What `metricx finance --json` prints."""
        return {
            "columns": [self.grain, *LINE_IDS],
            "rows": [[period.isoformat(), *(_number(v) for v in row)]
                     for period, row in zip(self.frame.index,
                                            self.frame.itertuples(index=False), strict=True)],
            "total": {line: _number(self.total[line]) for line in LINE_IDS},
            "meta": {"time_range": self.time_range.model_dump(mode="json"),
                     "grain": self.grain, "currency": self.currency,
                     "timezone": self.timezone, "definitions": self.definitions},
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


def _store_sums(scope: compiler.Scope, span: TimeRange, days: pd.Index) -> pd.DataFrame:
    """Raw store sums per day (compiler.STORE_SUMS), every day present."""
    query = SemanticQuery.parse({"metrics": ["net_sales"], "grain": "day",
                                 "time_range": span.model_dump(mode="json")})
    with get_reader().connect() as conn:
        result = conn.execute(compiler.store_statement(query, scope, span))
        raw = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    raw = raw.set_index(compiler.BUCKET)[list(compiler.STORE_SUMS)]
    raw.index = [pd.Timestamp(d).date() for d in raw.index]
    return raw.reindex(days).astype(float).fillna(0.0)


def _ad_spend(workspace_id: int, span: TimeRange, days: pd.Index) -> pd.DataFrame:
    """Ad spend per day, one column per platform (ad_spend_meta, ad_spend_google)."""
    result = run_query(workspace_id, {"metrics": ["spend"], "dimensions": ["provider"],
                                      "grain": "day",
                                      "time_range": span.model_dump(mode="json")})
    spend = result.frame.pivot_table(index="day", columns="provider", values="spend",
                                     aggfunc="sum")
    spend.index = [date.fromisoformat(d) for d in spend.index]
    spend = spend.reindex(index=days, columns=list(AD_PROVIDERS))
    spend.columns = list(_AD_SPEND_SUMS)
    return spend.astype(float).fillna(0.0)


def _expense_amounts(expense: Expense, days: pd.Index, revenue: pd.Series) -> pd.Series:
    """One expense per day: in its own currency for amounts, the workspace's for shares."""
    last = expense.end_date or date.max
    active = pd.Series([expense.start_date <= d <= last for d in days], index=days)
    if expense.kind == "monthly":
        daily = [float(expense.amount) / calendar.monthrange(d.year, d.month)[1] for d in days]
        return pd.Series(daily, index=days).where(active, 0.0)
    if expense.kind == "one_off":
        return pd.Series([float(expense.amount) if d == expense.start_date else 0.0
                          for d in days], index=days)
    return (float(expense.percent) * revenue).where(active, 0.0)


def _rates(workspace_id: int, target: str, currencies: set[str],
           span: TimeRange) -> dict[tuple[str, date], float]:
    if not currencies:
        return {}
    with new_session() as session:
        rows = session.execute(select(FxRate.from_currency, FxRate.day, FxRate.rate).where(
            FxRate.workspace_id == workspace_id, FxRate.to_currency == target,
            FxRate.from_currency.in_(currencies), FxRate.day.between(span.start, span.end)))
        return {(currency, day): float(rate) for currency, day, rate in rows}


def _expense_sums(workspace_id: int, scope: compiler.Scope, span: TimeRange, days: pd.Index,
                  revenue: pd.Series) -> pd.DataFrame:
    """Expenses per day in the workspace currency: those counted as ad spend, and the rest."""
    sums = pd.DataFrame(0.0, index=days, columns=list(_EXPENSE_SUMS))
    expenses = list_expenses(workspace_id)
    foreign = {e.currency for e in expenses
               if e.kind != "percent_of_revenue" and e.currency != scope.currency}
    rates = _rates(workspace_id, scope.currency, foreign, span)
    missing: list[tuple[str, date]] = []
    for expense in expenses:
        amounts = _expense_amounts(expense, days, revenue)
        if expense.kind != "percent_of_revenue" and expense.currency != scope.currency:
            rate = pd.Series([rates.get((expense.currency, d), math.nan) for d in days],
                             index=days)
            missing += [(expense.currency, d) for d in days
                        if amounts[d] != 0 and math.isnan(rate[d])]
            amounts = amounts * rate.fillna(0.0)
        sums["ad_spend_expenses" if expense.counts_as_ad_spend else "other_expenses"] += amounts
    if missing:
        raise MissingFxRateError.naming(missing, scope.currency)
    return sums


def _lines(sums: pd.DataFrame, costs: Costs) -> pd.DataFrame:
    """Every P&L line from summed raw store sums, ad spend and expenses (any periods)."""
    out = pd.DataFrame(index=sums.index)
    out["gross_sales"] = sums["gross"]
    out["discounts"] = sums["discounts"]
    out["refunds"] = sums["refunds"]
    out["net_sales"] = sums["gross"] - sums["discounts"] - sums["refunds"]
    out["shipping_charged"] = sums["shipping"]
    out["taxes"] = sums["taxes"]
    out["store_revenue"] = cost_rules.store_revenue(sums)
    out["cogs"] = sums["cogs"]
    out["gross_profit"] = out["net_sales"] - out["cogs"]
    for line, amounts in cost_rules.order_costs(sums, costs).items():
        out[line] = amounts
    out["profit_before_ad_spend"] = cost_rules.profit_before_ad_spend(sums, costs)
    for column in (*_AD_SPEND_SUMS, "ad_spend_expenses"):
        out[column] = sums[column]
    out["ad_spend"] = sums[[*_AD_SPEND_SUMS, "ad_spend_expenses"]].sum(axis=1)
    out["contribution_margin"] = out["profit_before_ad_spend"] - out["ad_spend"]
    out["other_expenses"] = sums["other_expenses"]
    out["net_profit"] = out["contribution_margin"] - out["other_expenses"]
    revenue = out["store_revenue"].where(out["store_revenue"] != 0)
    for margin, profit in MARGINS.items():
        out[margin] = out[profit] / revenue
    return out[list(LINE_IDS)]


def profit_and_loss(workspace_id: int, start: date, end: date,
                    grain: str = "day") -> ProfitAndLoss:
    """The P&L of one workspace from `start` to `end` (inclusive, the workspace's days)."""
    if grain not in GRAINS:
        raise InvalidInputError(f"grain must be one of {', '.join(GRAINS)}, got {grain!r}")
    if end < start:
        raise InvalidInputError(f"the end {end} is before the start {start}")
    span = TimeRange(start=start, end=end)
    if span.days > MAX_DAYS:
        raise InvalidInputError(f"a P&L covers at most {MAX_DAYS} days; this range has "
                                f"{span.days}")
    workspace = find_workspace(workspace_id)
    scope = compiler.Scope.of(workspace)
    days = pd.Index([start + timedelta(days=i) for i in range(span.days)])
    store = _store_sums(scope, span, days)
    daily = pd.concat([store, _ad_spend(workspace.id, span, days),
                       _expense_sums(workspace.id, scope, span, days,
                                     cost_rules.store_revenue(store))], axis=1)
    costs = workspace_costs(workspace.id)
    periods = daily.groupby([_period_start(d, grain) for d in days]).sum()
    frame = _lines(periods, costs)
    frame.index.name = grain
    total = _lines(daily.sum().to_frame().T, costs).iloc[0]
    return ProfitAndLoss(span, grain, workspace.currency, workspace.timezone, frame, total)
