"""The metric catalogue: every metric's id, label, unit, definition and formula, in one place.

Pages, the copilot and the engine all read metrics from here so a number means the same thing
everywhere. Base metrics are additive sums the engine fetches with SQL; derived metrics are
formulas (metricx.semantic.expression trees) over those sums, raw sums (`FACTS`), sums
restricted to the ads of video creatives (`impressions[creative_format=video]`, the
per-impression video rates') and cost settings (metricx.costs.COST_FIELDS, as `Param`s),
evaluated only by metricx.semantic.evaluate (ratio of sums, never an average of ratios; x/0
is empty).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from typing import Any, Literal

import numpy as np

from metricx.errors import InvalidInputError
from metricx.platforms import AD_PROVIDERS, listing
from metricx.semantic import evaluate
from metricx.semantic.evaluate import Params
from metricx.semantic.expression import Binary, Expression, Filtered, Param, Ref, columns, refs

Unit = Literal["currency", "count", "ratio", "percent"]
Source = Literal["ads", "store", "attribution", "finance", "email", "cohort", "products"]
Number = Decimal | int | float

#: Sources whose facts exist only at the store level: they cannot be split by ad dimensions.
#: Email facts are the email account's (Klaviyo's), which belong to no ad either.
STORE_LEVEL_SOURCES: frozenset[str] = frozenset({"store", "finance", "email"})

#: "Meta and Google": the ad platforms in a definition.
AD_NAMES = listing(AD_PROVIDERS, "and", short=True)


class UnknownMetricError(InvalidInputError, ValueError):
    """A metric id that is not in the catalogue; the message suggests close matches."""


@dataclass(frozen=True)
class Metric:
    """One catalogue entry. ``formula`` is None for base (additive) metrics, which are fact
    sums themselves; a derived metric's formula refers to other metrics, to raw fact sums
    (`FACTS`) and to cost settings (metricx.costs.COST_FIELDS).

    ``higher_is_better`` is None for metrics where neither direction is good in itself (spend),
    so a UI colours their change neutrally.
    """

    id: str
    label: str
    unit: Unit
    higher_is_better: bool | None
    definition: str
    source: Source
    formula: Expression | None = None

    @property
    def is_base(self) -> bool:
        return self.formula is None


#: Raw sums that are no metric of their own: store metrics are formulas over them, and the
#: email open rate over the deliveries of emails alone (texts have no opens).
FACTS: Mapping[str, Source] = {
    "gross": "store",
    "discounts": "store",
    "shipping": "store",
    "taxes": "store",
    "emails_delivered": "email",
    # seconds watched = the platform's average play time × plays (metricx.totals): averages
    # stay ratios of sums
    "video_seconds": "ads",
}

_orders = Ref("orders")
#: What customers were charged (gross − discounts + shipping + taxes): payment fees' base.
_CHARGED = Ref("gross") - Ref("discounts") + Ref("shipping") + Ref("taxes")
#: What fulfilling and charging for orders costs, in P&L order (the P&L shows each line).
ORDER_COSTS: Mapping[str, Expression] = {
    "shipping_costs": Param("shipping_cost_per_order") * _orders
    + Param("shipping_cost_pct") * Ref("store_revenue"),
    "handling": Param("handling_per_order") * _orders,
    "payment_fees": Param("payment_fee_pct") * _CHARGED + Param("payment_fee_fixed") * _orders,
}


#: The creative format whose ads' impressions a per-impression video rate counts: an image
#: ad's impressions can have no 3-second play, so counting them would read as a weak hook.
VIDEO_FORMAT = "video"
#: The restriction key of an ad sum counted over the ads of one creative format
#: (`impressions[creative_format=video]`); the compiler reads it from the ad's creative, on
#: the platforms whose video plays Metricx reads (metricx.platforms.VIDEO_FACTS).
CREATIVE_FORMAT_KEY = "creative_format"


def _of_video_ads(metric_id: str) -> Filtered:
    """A base ad sum counted over the ads whose creative is a video only."""
    return Filtered(metric_id, CREATIVE_FORMAT_KEY, VIDEO_FORMAT)


_OF_VIDEO_ADS = (
    "counted over ads whose creative is a video, so image, carousel and text ads (and ads "
    "whose creative is not known yet, or whose platform's video plays are not read: "
    "Google's and TikTok's) neither dilute nor add to it; empty where no video ad had "
    "impressions"
)
#: How the platforms report video figures, in a definition's words (docs/design.md).
VIDEO_REPORTED = (
    "platform-reported, Meta's video ads only so far; Meta reports them per day only, so a "
    "day cut at a clock time leaves them empty"
)

#: What every Klaviyo figure is: how it is counted and credited, in a definition's words
#: (help.klaviyo.com "Understanding Klaviyo message attribution", article 1260804504250).
KLAVIYO_REPORTED = "Klaviyo-reported, by send day in the Klaviyo account's time zone"
KLAVIYO_CREDIT = (
    "credited under Klaviyo's attribution window (its defaults: 5 days after an email open "
    "or click or an SMS click, 12 hours after an SMS delivery) to the send day of the message; "
    "it overlaps other channels, as an open counts as a touch"
)

_METRICS: tuple[Metric, ...] = (
    # --- ad platforms (platform-reported, per ad) ---
    Metric(
        "spend",
        "Ad spend",
        "currency",
        None,
        f"Ad spend = what {AD_NAMES} charged for your ads.",
        "ads",
    ),
    Metric(
        "impressions",
        "Impressions",
        "count",
        True,
        "Impressions = times your ads were shown (platform-reported).",
        "ads",
    ),
    Metric(
        "clicks",
        "Link clicks",
        "count",
        True,
        "Link clicks = clicks on your ads' links (Meta inline link clicks, Google clicks; "
        "platform-reported).",
        "ads",
    ),
    Metric(
        "conversions",
        "Purchases (platform-reported)",
        "count",
        True,
        f"Purchases the ad platforms report (platform-reported; {AD_NAMES} may each "
        "claim the same order).",
        "ads",
    ),
    Metric(
        "conversion_value",
        "Purchase value (platform-reported)",
        "currency",
        True,
        "Purchase value the ad platforms report (platform-reported; may double count "
        "across platforms).",
        "ads",
    ),
    Metric(
        "leads",
        "Leads",
        "count",
        True,
        "Leads = lead events the ad platforms report (platform-reported).",
        "ads",
    ),
    Metric(
        "cpc",
        "CPC",
        "currency",
        False,
        "CPC = spend ÷ link clicks.",
        "ads",
        Ref("spend") / Ref("clicks"),
    ),
    Metric(
        "cpm",
        "CPM",
        "currency",
        False,
        "CPM = spend ÷ impressions × 1,000 (cost per thousand impressions).",
        "ads",
        Ref("spend") * 1000 / Ref("impressions"),
    ),
    Metric(
        "ctr",
        "CTR",
        "percent",
        True,
        "CTR = link clicks ÷ impressions.",
        "ads",
        Ref("clicks") / Ref("impressions"),
    ),
    Metric(
        "cvr",
        "Conversion rate",
        "percent",
        True,
        "Conversion rate = platform-reported purchases ÷ link clicks.",
        "ads",
        Ref("conversions") / Ref("clicks"),
    ),
    Metric(
        "cpa",
        "CPA",
        "currency",
        False,
        "CPA = spend ÷ platform-reported purchases.",
        "ads",
        Ref("spend") / Ref("conversions"),
    ),
    Metric(
        "roas",
        "ROAS (platform-reported)",
        "ratio",
        True,
        "ROAS = platform-reported purchase value ÷ spend.",
        "ads",
        Ref("conversion_value") / Ref("spend"),
    ),
    Metric(
        "cpl",
        "CPL",
        "currency",
        False,
        "CPL = spend ÷ platform-reported leads.",
        "ads",
        Ref("spend") / Ref("leads"),
    ),
    # --- video (platform-reported plays of video ads; ratios of the period's sums) ---
    Metric(
        "video_plays",
        "Video plays",
        "count",
        True,
        "Video plays = times your video ads started to play, replays excluded (Meta's "
        f"'video plays'; {VIDEO_REPORTED}).",
        "ads",
    ),
    Metric(
        "video_3s_plays",
        "3-second video plays",
        "count",
        True,
        "3-second video plays = plays of your video ads that lasted at least 3 seconds (Meta's "
        f"3-second video plays; {VIDEO_REPORTED}).",
        "ads",
    ),
    Metric(
        "thruplays",
        "ThruPlays",
        "count",
        True,
        "ThruPlays = plays of your video ads to the end, or for at least 15 seconds of a longer "
        f"video (Meta's ThruPlay; {VIDEO_REPORTED}).",
        "ads",
    ),
    Metric(
        "video_p25",
        "Video plays to 25%",
        "count",
        True,
        f"Video plays to 25% = plays that reached a quarter of the video ({VIDEO_REPORTED}).",
        "ads",
    ),
    Metric(
        "video_p50",
        "Video plays to 50%",
        "count",
        True,
        f"Video plays to 50% = plays that reached half of the video ({VIDEO_REPORTED}).",
        "ads",
    ),
    Metric(
        "video_p75",
        "Video plays to 75%",
        "count",
        True,
        f"Video plays to 75% = plays that reached three quarters of the video ({VIDEO_REPORTED}).",
        "ads",
    ),
    Metric(
        "video_p100",
        "Video plays to 100%",
        "count",
        True,
        f"Video plays to 100% = plays that reached the end of the video ({VIDEO_REPORTED}).",
        "ads",
    ),
    Metric(
        "thumb_stop_rate",
        "Thumb-stop rate",
        "percent",
        True,
        f"Thumb-stop rate (hook rate) = 3-second video plays ÷ impressions, both {_OF_VIDEO_ADS}.",
        "ads",
        _of_video_ads("video_3s_plays") / _of_video_ads("impressions"),
    ),
    Metric(
        "hold_rate",
        "Hold rate",
        "percent",
        True,
        "Hold rate = ThruPlays ÷ 3-second video plays: of the plays the hook stopped, the "
        "share watched to the end or for 15 seconds (some tools divide ThruPlays by "
        "impressions instead: that is the ThruPlay rate); empty where no play was reported.",
        "ads",
        Ref("thruplays") / Ref("video_3s_plays"),
    ),
    Metric(
        "thruplay_rate",
        "ThruPlay rate",
        "percent",
        True,
        f"ThruPlay rate = ThruPlays ÷ impressions, both {_OF_VIDEO_ADS} (the hold rate "
        "divides by 3-second plays instead).",
        "ads",
        _of_video_ads("thruplays") / _of_video_ads("impressions"),
    ),
    Metric(
        "completion_rate",
        "Video completion rate",
        "percent",
        True,
        "Video completion rate = video plays to 100% ÷ 3-second video plays; empty where no "
        "play was reported.",
        "ads",
        Ref("video_p100") / Ref("video_3s_plays"),
    ),
    Metric(
        "avg_watch_seconds",
        "Average watch time (seconds)",
        "count",
        True,
        "Average watch time = seconds watched ÷ video plays started, in seconds, as Meta's "
        "'video average play time' (seconds watched are Meta's average × plays started, so "
        "the average over many ads and days is a ratio of sums); empty where no play was "
        "reported.",
        "ads",
        Ref("video_seconds") / Ref("video_plays"),
    ),
    Metric(
        "cost_per_thruplay",
        "Cost per ThruPlay",
        "currency",
        False,
        "Cost per ThruPlay = spend ÷ ThruPlays (every ad's spend, as Meta's own cost per "
        "ThruPlay); empty where no ThruPlay was reported.",
        "ads",
        Ref("spend") / Ref("thruplays"),
    ),
    # --- attribution (Shopify orders credited to ads by the chosen model) ---
    Metric(
        "attributed_orders",
        "Attributed orders",
        "count",
        True,
        "Attributed orders = Shopify orders credited to ads by the attribution model "
        "(credits can be fractional).",
        "attribution",
    ),
    Metric(
        "attributed_revenue",
        "Attributed revenue",
        "currency",
        True,
        "Attributed revenue = Σ each order's revenue × the credit the attribution model "
        "gives the ad.",
        "attribution",
    ),
    Metric(
        "nc_attributed_revenue",
        "New-customer attributed revenue",
        "currency",
        True,
        "New-customer attributed revenue = attributed revenue of customers' first orders.",
        "attribution",
    ),
    Metric(
        "attributed_roas",
        "Attributed ROAS",
        "ratio",
        True,
        "Attributed ROAS = attributed revenue ÷ spend.",
        "attribution",
        Ref("attributed_revenue") / Ref("spend"),
    ),
    Metric(
        "nc_roas",
        "New-customer ROAS",
        "ratio",
        True,
        "NC-ROAS = attributed revenue of new customers' first orders ÷ spend.",
        "attribution",
        Ref("nc_attributed_revenue") / Ref("spend"),
    ),
    # --- store (Shopify) ---
    Metric(
        "orders",
        "Orders",
        "count",
        True,
        "Orders = Shopify orders placed (cancelled and test orders excluded).",
        "store",
    ),
    Metric(
        "store_revenue",
        "Store revenue",
        "currency",
        True,
        "Store revenue = net sales + shipping charged less shipping refunded (taxes excluded).",
        "store",
        Ref("net_sales") + Ref("shipping"),
    ),
    Metric(
        "net_sales",
        "Net sales",
        "currency",
        True,
        "Net sales = gross sales − discounts − refunds, as Shopify's sales reports count "
        "them: an order is a sale on the day it is placed (cancelled ones too), and what "
        "goes back is taken off on the day it does.",
        "store",
        Ref("gross") - Ref("discounts") - Ref("refunds"),
    ),
    Metric(
        "refunds",
        "Refunds",
        "currency",
        False,
        "Refunds = sales returned, taxes and shipping excluded: refunded items on the "
        "refund's day, and a cancelled order's remaining sales on the day it is cancelled.",
        "store",
    ),
    Metric(
        "new_customers",
        "New customers",
        "count",
        True,
        "New customers = customers whose first order falls in the period.",
        "store",
    ),
    Metric("cogs", "COGS", "currency", False, "COGS = product unit cost × quantity sold.", "store"),
    Metric(
        "aov",
        "AOV",
        "currency",
        True,
        "AOV = store revenue ÷ orders.",
        "store",
        Ref("store_revenue") / Ref("orders"),
    ),
    # --- finance (store figures blended with ad spend and cost settings) ---
    Metric(
        "profit_before_ad_spend",
        "Profit before ad spend",
        "currency",
        True,
        "Profit before ad spend = net sales + shipping charged − COGS − shipping costs − "
        "handling − payment fees.",
        "finance",
        Ref("store_revenue")
        - Ref("cogs")
        - (ORDER_COSTS["shipping_costs"] + ORDER_COSTS["handling"] + ORDER_COSTS["payment_fees"]),
    ),
    Metric(
        "gross_profit",
        "Gross profit",
        "currency",
        True,
        "Gross profit = net sales − COGS.",
        "finance",
        Ref("net_sales") - Ref("cogs"),
    ),
    Metric(
        "mer",
        "MER",
        "ratio",
        True,
        "MER = store revenue ÷ ad spend (revenue per unit of spend; some tools show the inverse).",
        "finance",
        Ref("store_revenue") / Ref("spend"),
    ),
    Metric(
        "ncpa",
        "NCPA",
        "currency",
        False,
        "NCPA = ad spend ÷ new customers.",
        "finance",
        Ref("spend") / Ref("new_customers"),
    ),
    Metric(
        "poas",
        "POAS",
        "ratio",
        True,
        "POAS = profit before ad spend ÷ ad spend.",
        "finance",
        Ref("profit_before_ad_spend") / Ref("spend"),
    ),
    # --- email & SMS (Klaviyo-reported, per send day) ---
    Metric(
        "email_revenue",
        "Email & SMS revenue",
        "currency",
        True,
        "Email & SMS revenue = revenue of the orders Klaviyo attributes to your emails and "
        f"texts ({KLAVIYO_REPORTED}; {KLAVIYO_CREDIT}).",
        "email",
    ),
    Metric(
        "email_orders",
        "Email & SMS orders",
        "count",
        True,
        "Email & SMS orders = orders Klaviyo attributes to your emails and texts "
        f"({KLAVIYO_REPORTED}; {KLAVIYO_CREDIT}).",
        "email",
    ),
    Metric(
        "email_recipients",
        "Email & SMS recipients",
        "count",
        None,
        f"Email & SMS recipients = recipients of your emails and texts ({KLAVIYO_REPORTED}).",
        "email",
    ),
    Metric(
        "email_delivered",
        "Email & SMS delivered",
        "count",
        None,
        "Email & SMS delivered = emails and texts delivered, bounces and failures excluded "
        f"({KLAVIYO_REPORTED}).",
        "email",
    ),
    Metric(
        "email_opens",
        "Email opens",
        "count",
        True,
        f"Email opens = recipients who opened an email, each counted once ({KLAVIYO_REPORTED}; "
        "texts have no opens).",
        "email",
    ),
    Metric(
        "email_clicks",
        "Email & SMS clicks",
        "count",
        True,
        "Email & SMS clicks = recipients who clicked a link in an email or text, each counted "
        f"once ({KLAVIYO_REPORTED}).",
        "email",
    ),
    Metric(
        "email_open_rate",
        "Email open rate",
        "percent",
        True,
        "Email open rate = email opens ÷ emails delivered (texts left out: they have no "
        f"opens; {KLAVIYO_REPORTED}).",
        "email",
        Ref("email_opens") / Ref("emails_delivered"),
    ),
    Metric(
        "email_click_rate",
        "Email & SMS click rate",
        "percent",
        True,
        "Email & SMS click rate = email & SMS clicks ÷ email & SMS delivered "
        f"({KLAVIYO_REPORTED}).",
        "email",
        Ref("email_clicks") / Ref("email_delivered"),
    ),
    Metric(
        "email_revenue_per_recipient",
        "Email & SMS revenue per recipient",
        "currency",
        True,
        "Email & SMS revenue per recipient = email & SMS revenue ÷ email & SMS recipients "
        f"({KLAVIYO_REPORTED}; {KLAVIYO_CREDIT}).",
        "email",
        Ref("email_revenue") / Ref("email_recipients"),
    ),
)

#: Every metric by id, in display order.
METRICS: Mapping[str, Metric] = {m.id: m for m in _METRICS}
METRIC_IDS: tuple[str, ...] = tuple(METRICS)
BASE_METRIC_IDS: tuple[str, ...] = tuple(m.id for m in _METRICS if m.is_base)


#: Sums a formula may restrict to a platform or a custom dimension (`spend[provider=meta]`):
#: the ad platforms' own, which belong to an ad. Store and email sums belong to no ad.
RESTRICTABLE_SUMS: frozenset[str] = frozenset(
    m.id for m in _METRICS if m.is_base and m.source == "ads"
)
RESTRICTABLE_PROVIDERS: tuple[str, ...] = AD_PROVIDERS


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


def expand(
    expression: Expression,
    defined: Mapping[str, Expression] | None = None,
    sums: Collection[str] = (),
) -> Expression:
    """`expression` with every derived metric it names replaced by its formula, down to the
    fact sums the plan fetches (base metrics and `FACTS`). A caller may name formulas of its
    own (`defined`, e.g. the P&L's lines) and sums it brings itself (`sums`); any other
    unknown name raises UnknownMetricError."""
    if isinstance(expression, Binary):
        return Binary(
            expression.op,
            expand(expression.left, defined, sums),
            expand(expression.right, defined, sums),
        )
    if (
        not isinstance(expression, Ref)
        or isinstance(expression, Filtered)  # a restricted base sum (thumb-stop rate's)
        or expression.name in FACTS
        or expression.name in sums
    ):
        return expression
    if defined and expression.name in defined:
        return expand(defined[expression.name], defined, sums)
    return formula_of(expression.name)


@cache
def formula_of(metric_id: str) -> Expression:
    """A metric's formula over fact sums only (a base metric is its own sum): what the
    evaluator (metricx.semantic.evaluate) computes it from."""
    formula = get_metric(metric_id).formula
    return Ref(metric_id) if formula is None else expand(formula)


@cache
def vectorised_of(metric_id: str) -> Callable[[Any, Params | None], np.ndarray]:
    """A metric's formula compiled for columns of fact sums (evaluate.vectorised), once."""
    return vectorised_expression(formula_of(metric_id))


#: An expanded formula compiled for columns, once per distinct tree (custom metrics too).
vectorised_expression = cache(evaluate.vectorised)


def facts_for(metric_ids: Iterable[str]) -> tuple[str, ...]:
    """The fact sums the plan must fetch to compute ``metric_ids``: base metrics in catalogue
    order, then raw `FACTS`."""
    return _facts(tuple(metric_ids))


@cache  # asked several times per query, on the query's few metric lists
def _facts(metric_ids: tuple[str, ...]) -> tuple[str, ...]:
    return facts_in(*(formula_of(metric_id) for metric_id in metric_ids))


def facts_in(*expressions: Expression) -> tuple[str, ...]:
    """The sum columns expanded formulas read: base metrics in catalogue order, raw `FACTS`,
    then restricted sums (`spend[provider=meta]`) in order of appearance."""
    needed = dict.fromkeys(c for e in expressions for c in columns(e))
    return (
        *(f for f in (*BASE_METRIC_IDS, *FACTS) if f in needed),
        *(c for c in needed if c not in METRICS and c not in FACTS),
    )


@cache
def _inputs(metric_id: str) -> frozenset[str]:
    formula = get_metric(metric_id).formula
    if formula is None:
        return frozenset({metric_id})
    named = [name for name in refs(formula) if name in METRICS]
    return frozenset(named).union(*(_inputs(name) for name in named))


def base_metrics_for(metric_ids: Iterable[str]) -> tuple[str, ...]:
    """The catalogue metrics ``metric_ids`` are computed from, in catalogue order: the inputs
    of their formulas, and of those inputs' formulas (a base metric is its own input)."""
    needed = set().union(*(_inputs(metric_id) for metric_id in metric_ids))
    return tuple(m for m in METRIC_IDS if m in needed)


@cache
def sources_of(metric_id: str) -> frozenset[Source]:
    """Where a metric's underlying sums come from (a derived metric may blend sources)."""
    return sources_in(formula_of(metric_id))


def sources_in(expression: Expression) -> frozenset[Source]:
    """Where the sums of an expanded formula come from (a restricted sum is an ad sum)."""
    return frozenset(
        "ads"
        if isinstance(n, Filtered)
        else METRICS[n.name].source
        if n.name in METRICS
        else FACTS[n.name]
        for n in expression.nodes()
        if isinstance(n, Ref)
    )


def needs_attribution(metric_id: str) -> bool:
    """True when the value depends on an attribution model, window and accounting mode."""
    return "attribution" in sources_of(metric_id)


def is_store_level(metric_id: str) -> bool:
    """True when some input exists only per store, so it cannot be split by campaign/ad/etc."""
    return bool(sources_of(metric_id) & STORE_LEVEL_SOURCES)


def compute(
    metric_id: str, sums: Mapping[str, Number | None], costs: Params | None = None
) -> Decimal | None:
    """``metric_id`` from one row of fact sums (and cost settings where it needs them), exactly.

    A None sum (no data) or a zero denominator gives None, never 0 or infinity. A fact sum
    missing from ``sums`` is a caller bug and raises MissingBaseSumError.
    """
    return evaluate.decimal(formula_of(metric_id), sums, costs)


_CURRENCY_SYMBOLS: Mapping[str, str] = {
    "USD": "$",
    "EUR": "€",
    "GBP": "£",
    "JPY": "¥",
    "INR": "₹",
    "CAD": "CA$",
    "AUD": "A$",
    "NZD": "NZ$",
    "BRL": "R$",
    "MXN": "MX$",
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
    number = evaluate.to_decimal(value)
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
