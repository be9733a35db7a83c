"""The metric catalogue: every metric's id, label, unit, definition and formula, in one place.

Pages, the copilot and the SQL compiler all read metrics from here so a number means the same
thing everywhere. Base metrics are additive sums the compiler fetches with SQL; derived metrics
are formulas over those sums, evaluated only by :func:`compute` (ratio of sums, never an
average of ratios; x/0 is None).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from metricx.errors import InvalidInputError

Unit = Literal["currency", "count", "ratio", "percent"]
Source = Literal["ads", "store", "attribution", "finance"]
Number = Decimal | int | float

#: Sources whose facts exist only at the store level: they cannot be split by ad dimensions.
STORE_LEVEL_SOURCES: frozenset[str] = frozenset({"store", "finance"})


class UnknownMetricError(InvalidInputError, ValueError):
    """A metric id that is not in the catalogue; the message suggests close matches."""


class MissingBaseSumError(InvalidInputError, LookupError):
    """compute() was handed sums without a base metric the formula needs (a caller bug)."""


@dataclass(frozen=True)
class Ratio:
    """numerator ÷ denominator × scale, evaluated on period sums; a zero denominator gives None."""

    numerator: str
    denominator: str
    scale: Decimal = Decimal(1)

    @property
    def inputs(self) -> tuple[str, ...]:
        return (self.numerator, self.denominator)


@dataclass(frozen=True)
class Difference:
    """minuend − subtrahend on period sums (additive, but kept derived so it has one source)."""

    minuend: str
    subtrahend: str

    @property
    def inputs(self) -> tuple[str, ...]:
        return (self.minuend, self.subtrahend)


Formula = Ratio | Difference


@dataclass(frozen=True)
class Metric:
    """One catalogue entry. ``formula`` is None for base (additive) metrics.

    ``higher_is_better`` is None for metrics where neither direction is good in itself (spend),
    so a UI colours their change neutrally.
    """

    id: str
    label: str
    unit: Unit
    higher_is_better: bool | None
    definition: str
    source: Source
    formula: Formula | None = None

    @property
    def is_base(self) -> bool:
        return self.formula is None


def _ratio(num: str, den: str, scale: int = 1) -> Ratio:
    return Ratio(num, den, Decimal(scale))


_METRICS: tuple[Metric, ...] = (
    # --- ad platforms (platform-reported, per ad) ---
    Metric("spend", "Ad spend", "currency", None,
           "Ad spend = what Meta and Google charged for your ads.", "ads"),
    Metric("impressions", "Impressions", "count", True,
           "Impressions = times your ads were shown (platform-reported).", "ads"),
    Metric("clicks", "Link clicks", "count", True,
           "Link clicks = clicks on your ads' links (Meta inline link clicks, Google clicks; "
           "platform-reported).", "ads"),
    Metric("conversions", "Purchases (platform-reported)", "count", True,
           "Purchases the ad platforms report (platform-reported; Meta and Google may both "
           "claim the same order).", "ads"),
    Metric("conversion_value", "Purchase value (platform-reported)", "currency", True,
           "Purchase value the ad platforms report (platform-reported; may double count "
           "across platforms).", "ads"),
    Metric("leads", "Leads", "count", True,
           "Leads = lead events the ad platforms report (platform-reported).", "ads"),
    Metric("cpc", "CPC", "currency", False,
           "CPC = spend ÷ link clicks.", "ads", _ratio("spend", "clicks")),
    Metric("cpm", "CPM", "currency", False,
           "CPM = spend ÷ impressions × 1,000 (cost per thousand impressions).", "ads",
           _ratio("spend", "impressions", 1000)),
    Metric("ctr", "CTR", "percent", True,
           "CTR = link clicks ÷ impressions.", "ads", _ratio("clicks", "impressions")),
    Metric("cvr", "Conversion rate", "percent", True,
           "Conversion rate = platform-reported purchases ÷ link clicks.", "ads",
           _ratio("conversions", "clicks")),
    Metric("cpa", "CPA", "currency", False,
           "CPA = spend ÷ platform-reported purchases.", "ads", _ratio("spend", "conversions")),
    Metric("roas", "ROAS (platform-reported)", "ratio", True,
           "ROAS = platform-reported purchase value ÷ spend.", "ads",
           _ratio("conversion_value", "spend")),
    Metric("cpl", "CPL", "currency", False,
           "CPL = spend ÷ platform-reported leads.", "ads", _ratio("spend", "leads")),
    # --- attribution (Shopify orders credited to ads by the chosen model) ---
    Metric("attributed_orders", "Attributed orders", "count", True,
           "Attributed orders = Shopify orders credited to ads by the attribution model "
           "(credits can be fractional).", "attribution"),
    Metric("attributed_revenue", "Attributed revenue", "currency", True,
           "Attributed revenue = Σ each order's revenue × the credit the attribution model "
           "gives the ad.", "attribution"),
    Metric("nc_attributed_revenue", "New-customer attributed revenue", "currency", True,
           "New-customer attributed revenue = attributed revenue of customers' first orders.",
           "attribution"),
    Metric("attributed_roas", "Attributed ROAS", "ratio", True,
           "Attributed ROAS = attributed revenue ÷ spend.", "attribution",
           _ratio("attributed_revenue", "spend")),
    Metric("nc_roas", "New-customer ROAS", "ratio", True,
           "NC-ROAS = attributed revenue of new customers' first orders ÷ spend.", "attribution",
           _ratio("nc_attributed_revenue", "spend")),
    # --- store (Shopify) ---
    Metric("orders", "Orders", "count", True,
           "Orders = Shopify orders placed (cancelled and test orders excluded).", "store"),
    Metric("store_revenue", "Store revenue", "currency", True,
           "Store revenue = net sales + shipping charged less shipping refunded (taxes "
           "excluded).", "store"),
    Metric("net_sales", "Net sales", "currency", True,
           "Net sales = gross sales − discounts − refunds, as Shopify's sales reports count "
           "them: an order is a sale on the day it is placed (cancelled ones too), and what "
           "goes back is taken off on the day it does.", "store"),
    Metric("refunds", "Refunds", "currency", False,
           "Refunds = sales returned, taxes and shipping excluded: refunded items on the "
           "refund's day, and a cancelled order's remaining sales on the day it is cancelled.",
           "store"),
    Metric("new_customers", "New customers", "count", True,
           "New customers = customers whose first order falls in the period.", "store"),
    Metric("cogs", "COGS", "currency", False,
           "COGS = product unit cost × quantity sold.", "store"),
    Metric("aov", "AOV", "currency", True,
           "AOV = store revenue ÷ orders.", "store", _ratio("store_revenue", "orders")),
    # --- finance (store figures blended with ad spend and cost settings) ---
    Metric("profit_before_ad_spend", "Profit before ad spend", "currency", True,
           "Profit before ad spend = net sales + shipping charged − COGS − shipping costs − "
           "handling − payment fees.", "finance"),
    Metric("gross_profit", "Gross profit", "currency", True,
           "Gross profit = net sales − COGS.", "finance", Difference("net_sales", "cogs")),
    Metric("mer", "MER", "ratio", True,
           "MER = store revenue ÷ ad spend (revenue per unit of spend; some tools show the "
           "inverse).", "finance", _ratio("store_revenue", "spend")),
    Metric("ncpa", "NCPA", "currency", False,
           "NCPA = ad spend ÷ new customers.", "finance", _ratio("spend", "new_customers")),
    Metric("poas", "POAS", "ratio", True,
           "POAS = profit before ad spend ÷ ad spend.", "finance",
           _ratio("profit_before_ad_spend", "spend")),
)

#: Every metric by id, in display order.
METRICS: Mapping[str, Metric] = {m.id: m for m in _METRICS}
METRIC_IDS: tuple[str, ...] = tuple(METRICS)
BASE_METRIC_IDS: tuple[str, ...] = tuple(m.id for m in _METRICS if m.is_base)


def suggest_metrics(text: str, limit: int = 3) -> list[str]:
    """Metric ids close to ``text`` (by id or label, case-insensitive), best first."""
    key = text.strip().lower()
    names = {m.label.lower(): m.id for m in _METRICS} | {m.id: m.id for m in _METRICS}
    if key in names:
        return [names[key]]
    found: list[str] = []
    for name in difflib.get_close_matches(key, list(names), n=limit * 2, cutoff=0.6):
        if names[name] not in found:
            found.append(names[name])
    return found[:limit]


def get_metric(metric_id: str) -> Metric:
    """The catalogue entry for ``metric_id``; an UnknownMetricError names close matches."""
    try:
        return METRICS[metric_id]
    except (KeyError, TypeError):
        pass
    close = suggest_metrics(str(metric_id))
    hint = (
        "did you mean " + " or ".join(repr(c) for c in close) + "?"
        if close
        else "known metrics: " + ", ".join(METRIC_IDS)
    )
    raise UnknownMetricError(f"unknown metric {metric_id!r} ({hint})") from None


def _bases(metric_id: str) -> list[str]:
    metric = get_metric(metric_id)
    if metric.formula is None:
        return [metric.id]
    return [base for part in metric.formula.inputs for base in _bases(part)]


def base_metrics_for(metric_ids: Iterable[str]) -> tuple[str, ...]:
    """The additive sums the compiler must fetch to compute ``metric_ids``, in catalogue order."""
    needed = {base for metric_id in metric_ids for base in _bases(metric_id)}
    return tuple(m for m in BASE_METRIC_IDS if m in needed)


def sources_of(metric_id: str) -> frozenset[str]:
    """Where a metric's underlying sums come from (a derived metric may blend sources)."""
    return frozenset(METRICS[b].source for b in _bases(metric_id))


def needs_attribution(metric_id: str) -> bool:
    """True when the value depends on an attribution model, window and accounting mode."""
    return "attribution" in sources_of(metric_id)


def is_store_level(metric_id: str) -> bool:
    """True when some input exists only per store, so it cannot be split by campaign/ad/etc."""
    return bool(sources_of(metric_id) & STORE_LEVEL_SOURCES)


def _decimal(value: Number | None) -> Decimal | None:
    if value is None or isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise TypeError("a metric sum cannot be a bool")
    if isinstance(value, float):
        return Decimal(repr(float(value)))  # as written, not its binary expansion (numpy too)
    return Decimal(value)


def compute(metric_id: str, sums: Mapping[str, Number | None]) -> Decimal | None:
    """Evaluate ``metric_id`` from base sums: the one place the ratio arithmetic lives.

    A None sum (no data) or a zero denominator gives None, never 0 or infinity. A base sum
    missing from ``sums`` is a caller bug and raises MissingBaseSumError.
    """
    metric = get_metric(metric_id)
    formula = metric.formula
    if formula is None:
        if metric.id not in sums:
            raise MissingBaseSumError(
                f"cannot compute {metric_id!r}: the sums have no {metric.id!r}"
            )
        return _decimal(sums[metric.id])
    left, right = (compute(part, sums) for part in formula.inputs)
    if left is None or right is None:
        return None
    if isinstance(formula, Difference):
        return left - right
    if right == 0:
        return None
    return left * formula.scale / right


_CURRENCY_SYMBOLS: Mapping[str, str] = {
    "USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹", "CAD": "CA$", "AUD": "A$",
    "NZD": "NZ$", "BRL": "R$", "MXN": "MX$",
}
EMPTY_VALUE = "—"


def _grouped(value: Decimal, places: int, prefix: str = "", suffix: str = "") -> str:
    """Round half up, then "-" + prefix + digits with thousands separators + suffix."""
    rounded = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    sign = "-" if rounded < 0 else ""
    return f"{sign}{prefix}{abs(rounded):,.{places}f}{suffix}"


def format_value(metric: Metric | str, value: Number | None, currency: str | None = None) -> str:
    """A value as a merchant reads it: "$1,234.50", "1,234", "1.23%", "3.42x"; None is "—".

    Money needs the ISO currency code; common ones get their symbol, others the code
    ("SEK 1,234.50"). Percent metrics are stored as fractions (0.0123) and shown ×100.
    """
    metric = metric if isinstance(metric, Metric) else get_metric(metric)
    number = _decimal(value)
    if number is None:
        return EMPTY_VALUE
    if metric.unit == "currency":
        if not currency:
            raise ValueError(f"formatting {metric.id!r} needs a currency code")
        code = currency.strip().upper()
        return _grouped(number, 2, prefix=_CURRENCY_SYMBOLS.get(code, code + " "))
    if metric.unit == "percent":
        return _grouped(number * 100, 2, suffix="%")
    if metric.unit == "ratio":
        return _grouped(number, 2, suffix="x")
    whole = number == number.to_integral_value()
    return _grouped(number, 0 if whole else 2)  # attributed orders are fractional credits
