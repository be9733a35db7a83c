"""Cohort and product questions: customers' LTV, repeat rate, retention and CAC payback, and
profit per product (issue #15), read into the query families of metricx.semantic.families.

The rest of the offline parser reads ad and store questions through the lexicon (slots.py).
A question about customers by when they were acquired ("90-day LTV of September's
customers", "repeat rate by channel") or about products ("top 5 products by margin", "which
products lose money after ads") is recognised here first, by its own words, and built with
the conventions tests/copilot/blind/README.md states for batch 8:
- an age in days is read at that age ("90-day LTV": ages in days, at_age 90); months and a
  year are the issue's day ages (3 months = 90 days, 1 year = 365); no age: 90 days, day 0
  for counts and CAC (they do not grow with age), every month 0..11 for retention, curves
  and cohort tables, and month ages up to 11 for payback;
- no period: the latest 12 whole months whose customers have all reached the age read, so
  the number is complete; for a table by age, the last 12 whole months (or weeks);
- a product question splits by product, variant or SKU; "lose money after ads" lists
  contribution after ads lowest first, with the gross profit and allocated spend behind it.
Follow-ups on such a query ("and by channel?", "what about 180 days?", "by sku instead")
change it here too. Dates, rank words and names come from slots.read, as for any question;
every default applied is said in the Understanding's message.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from metricx.errors import InvalidInputError
from metricx.semantic import families
from metricx.semantic.dates import resolve_phrase
from metricx.semantic.query import QueryValidationError, SemanticQuery, TimeRange

from .lexicon import NUMBER_WORDS
from .slots import DEFAULT_TOP_N, Rank, Slots, direction_for, read
from .timephrases import DEFAULT_PERIOD
from .understanding import Clarify, Understanding

#: "N-month" and "1-year" ages in the issue's day ages (other counts of months: 30 days each).
MONTH_AGES = {1: 30, 2: 60, 3: 90, 6: 180, 12: 365}
DEFAULT_AGE_DAYS = 90
#: Ages 0..11 of a cohort table or curve: a year of months (or twelve weeks).
TABLE_MAX_AGE = 11
#: Cohorts (whole months, weeks or quarters) read when no period is named.
DEFAULT_COHORTS = {"week": 12, "month": 12, "quarter": 4}
#: "which products lose money after ads": what it lists.
LOSING_MONEY = ("product_gross_profit", "allocated_spend", "contribution_after_ads")

_NUMBER = r"\d{1,3}|" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True))
#: "90-day", "within 60 days", "at 180 days", "6 month", "1-year", "first year" (not "last 30
#: days": a period)
_AGE = re.compile(
    r"\b(?:(?:at|after|within|in|by|over|for|to)\s+)?(?:(?:the|their|its|a)\s+)?(?:first\s+)?"
    r"(?<!last )(?<!past )(?<!prior )(?<!previous )(?<!trailing )(?<!next )"
    rf"(?P<n>{_NUMBER})[- ]?(?P<unit>days?|d|months?|mo|years?|yr)\b"
    r"|\b(?:(?:in|within|over|for)\s+)?(?:the|their|its)?\s*first\s+(?P<first>year|month)\b"
)
#: "customers from January": acquired in it; "from January to March" stays a range
_ACQUIRED_FROM = re.compile(
    r"(?i)\b(customers?|buyers?|shoppers?|cohorts?) from "
    r"(?!(?:\S+ ){0,4}?(?:to|until|till|through|thru|-)\b)"
)
_FIRST_QUARTERS = re.compile(r"\b(?:the )?(first|second|third|fourth) quarter\b")
_QUARTER_NUMBERS = {"first": "q1", "second": "q2", "third": "q3", "fourth": "q4"}


def _patterns(*pairs: tuple[str, str]) -> tuple[tuple[str, re.Pattern[str]], ...]:
    return tuple((key, re.compile(pattern)) for key, pattern in pairs)


#: Cohort metrics by their words, the most specific first (a match is taken out of the text).
_COHORT_METRICS = _patterns(
    ("ltv_cac", r"\b(?:ltv|clv|cltv|lifetime value)\s*(?:to|:|/|-|vs|versus|over)?\s*cac\b"),
    (
        "payback_age",
        r"\bpay ?backs?\b|\bpays? (?:itself |themselves |its cac |their cac |for itself )?back\b"
        r"|\bpaid back\b",
    ),
    (
        "ltv_gross_profit",
        r"\b(?:gross )?profit (?:per|a|each|by) customer\b|\b(?:gross profit|gp) ltv\b"
        r"|\bltv (?:in )?gross profit\b",
    ),
    (
        "ltv_contribution",
        r"\bcontribution (?:per|a|each|by) customer\b|\bcontribution ltv\b"
        r"|\bltv (?:in )?contribution\b",
    ),
    (
        "orders_per_customer",
        r"\b(?:number of )?orders (?:per|a|each) customer\b|\b(?:order|purchase) frequency\b",
    ),
    ("ltv", r"\b(?:ltv|clv|cltv|lifetime value|customer value|revenue (?:per|a|each) customer)\b"),
    (
        "repeat_rate",
        r"\brepeat (?:purchase |order |customer |buyer )?rate\b|\b(?:came|come|comes|coming) back\b"
        r"|\b(?:ordered|bought|purchased|shopped|order|buy) (?:again|a second time)\b"
        r"|\brepeat (?:purchases?|customers?|buyers?|orders?)\b|\breturning customer rate\b"
        r"|\bsecond orders?\b",
    ),
    ("retention", r"\bretention\b|\bretained\b"),
)
#: Acquisition metrics: a cohort question only when split by how customers were acquired
#: ("CAC by platform"); alone they stay the store's ncpa and new_customers.
_ACQUISITION_METRICS = _patterns(
    ("cac", r"\bcac\b|\bcustomer acquisition costs?\b|\bcost per (?:new )?customer\b|\bncpa\b"),
    (
        "cohort_customers",
        r"\bnew customers\b(?! (?:roas|cpa|attributed|revenue|rev)\b)"
        r"|\bcustomers (?:we )?(?:acquired|got|won)\b|\bcohort sizes?\b",
    ),
)
#: How a cohort's customers were acquired, by the words that split by it.
_ACQUISITION_SPLITS = _patterns(
    (
        "first_product",
        r"\bfirst[- ]products?\b|\bfirst (?:purchased|bought|ordered) products?\b"
        r"|\bentry products?\b",
    ),
    ("first_order_discount", r"\bdiscount(?:s|ed)?\b|\bfull[- ]price\b|\bcoupons?\b"),
    ("acquisition_channel", r"\b(?:acquisition )?channels?\b"),
    (
        "acquisition_platform",
        r"\b(?:acquisition |ad )?platforms?\b"
        r"|\b(?:meta|facebook|fb|google) (?:vs|versus|or|and|compared (?:with|to)) "
        r"(?:meta|facebook|fb|google)\b",
    ),
    ("acquisition_campaign", r"\b(?:acquisition )?campaigns?\b"),
)
#: "google customers": a cohort query keeps no single platform, so it is split by platform
_PLATFORM_NAMED = re.compile(r"\b(?:meta|facebook|fb|instagram|insta|ig|google|gads|adwords)\b")
_COHORT_WORD = re.compile(r"\bcohorts?\b")
_BY_COHORT = re.compile(
    r"\b(?:by|per|each|every|across|split by|for (?:each|every)) (?:the )?"
    r"(?:(?:weekly|monthly|quarterly|acquisition) )?cohorts?\b|\bcohort by cohort\b"
)
_TABLE = re.compile(
    r"\bcohort (?:table|grid|heat ?map|matrix|chart|analysis|triangle|view)\b|\bheat ?map\b"
    r"|\btriangle\b"
)
_CURVE = re.compile(
    r"\bcurves?\b|\bby (?:month|week|day)s? since\b|\b(?:month|week) by (?:month|week)\b"
    r"|\bby age\b|\bover the (?:months|weeks) since\b|\beach (?:month|week) since\b"
)
_WEEKLY = re.compile(r"\bweekly cohorts?\b|\bcohorts? by week\b|\bby week of (?:first|acq)")
_QUARTERLY = re.compile(
    r"\bquarterly cohorts?\b|\bcohorts? by quarter\b|\bby quarter of (?:first|acq)"
)
#: "which channel ...": one row
_ONE_ROW = re.compile(
    r"\bwhich (?:acquisition )?(?:channel|platform|campaign|cohort|first product|product"
    r"|variant|sku)\b(?!s)|\bthe (?:best|worst|top)[- ]selling (?:product|variant|sku)\b(?!s)"
)

#: Product metrics by their words, the most specific first ("lose money after ads" is
#: LOSING_MONEY, under the key "losing_money").
_PRODUCT_METRICS = _patterns(
    (
        "losing_money",
        r"\b(?:lose|loses|losing|lost) money\b|\bmoney[- ]losing\b|\bunprofitable\b"
        r"|\bnegative contribution\b",
    ),
    (
        "contribution_after_ads",
        r"\bcontribution(?: after (?:ads|ad spend|marketing))?\b|\bprofit after (?:ads|ad spend)\b",
    ),
    (
        "new_customer_share",
        r"\bnew[- ]customers? (?:share|percentage)\b|\bshare of new customers\b",
    ),
    ("repurchase_rate", r"\brepurchase rate\b|\brepeat (?:purchase )?rate\b|\brepurchases?\b"),
    ("allocated_spend", r"\b(?:allocated )?(?:ad )?spend\b|\bad costs?\b"),
    ("product_poas", r"\bpoas\b"),
    ("product_roas", r"\broas\b"),
    ("gross_margin", r"\b(?:gross )?margins?\b"),
    ("product_gross_profit", r"\b(?:gross )?profits?\b"),
    ("product_gross_sales", r"\bgross (?:sales|revenue)\b"),
    ("refund_rate", r"\b(?:refund|return) rates?\b"),
    ("product_refunds", r"\brefunds?\b|\brefunded\b|\breturns\b"),
    ("product_discounts", r"\bdiscounts?\b"),
    ("product_cogs", r"\bcogs\b|\bcost of goods(?: sold)?\b|\bproduct costs?\b"),
    ("product_net_sales", r"\b(?:net )?sales\b|\brevenue\b"),
    (
        "units",
        r"\bunits?(?: sold)?\b|\bitems sold\b|\bquantity\b|\bsold the most\b",
    ),
    ("product_orders", r"\borders?\b"),
)
#: Product metrics the store as a whole has no figure for: without a product named, asked about
#: (so is spend said to be "allocated"; spend alone is the ad platforms').
_PER_PRODUCT_ONLY = frozenset(
    {
        "losing_money",
        "contribution_after_ads",
        "new_customer_share",
        "repurchase_rate",
        "gross_margin",
        "refund_rate",
        "units",
    }
)
_ALLOCATED = re.compile(r"\ballocated\b")
_LEVELS = (("sku", r"skus?"), ("variant", r"variants?"), ("product", r"products?"))
#: Splits no query has (device, location, ...): asked about rather than dropped.
_UNSUPPORTED_SPLIT = re.compile(
    r"\b(?:by|per|split by|broken down by|for each) (?P<what>devices?|zip(?: codes?)?|zipcodes?"
    r"|post ?codes?|postal codes?|countr(?:y|ies)|regions?|cit(?:y|ies)|states?|genders?"
    r"|age groups?|locations?|collections?|categor(?:y|ies)|vendors?|product types?|colou?rs?"
    r"|sizes?|landing pages?|utms?|sources?)\b"
)
_FOLLOW_UP_OPENER = re.compile(
    r"^(?:and|also|now|what about|how about|same|instead|only|just|then|ok|okay|but)\b"
)
_ADDING = re.compile(r"\b(?:too|as well|also|add)\b")


@dataclass(frozen=True)
class _Age:
    """An age a question reads metrics at, in days (the text it was said with taken out)."""

    days: int
    text: str


def _age(text: str) -> _Age | None:
    match = _AGE.search(text)
    if match is None:
        return None
    if match["first"]:
        days = 365 if match["first"] == "year" else 30
    else:
        raw = match["n"]
        n = int(raw) if raw.isdigit() else NUMBER_WORDS[raw]
        unit = match["unit"]
        if unit.startswith(("y", "yr")):
            days = 365 * n
        elif unit.startswith("mo"):
            days = MONTH_AGES.get(n, 30 * n)
        else:
            days = n
    return _Age(days=days, text=match[0])


def _found(patterns: Sequence[tuple[str, re.Pattern[str]]], text: str) -> tuple[list[str], str]:
    """The keys whose words the text holds, in order of appearance, and the text without
    those words (so "ltv to cac" is not read as "ltv" too)."""
    hits: list[tuple[int, str]] = []
    for key, pattern in patterns:
        match = pattern.search(text)
        if match is not None:
            hits.append((match.start(), key))
            text = pattern.sub(" ", text)
    return [key for _, key in sorted(hits)], text


def _levels(question: str) -> list[str]:
    """The product levels a question names in lower case (or "SKU"): "All Products" in a
    capitalised campaign name is a name, not a split."""
    found = []
    for level, word in _LEVELS:
        for match in re.finditer(rf"(?i)\b{word}\b", question):
            written = match[0]
            if written.islower() or written.upper() == written or match.start() == 0:
                found.append(level)
                break
    return found


# --- the entry point ----------------------------------------------------------------------------


def understand(question: str, previous: SemanticQuery | None, today: date) -> Understanding | None:
    """The Understanding of a cohort or product question (or a follow-up on one), or None
    when the question belongs to the ad and store parser."""
    text = _plain(question)
    if previous is not None and previous.family != "ads":
        follow_up = _follow_up(question, text, previous, today)
        if follow_up is not None:
            return follow_up
    cohort_metrics, rest = _found(_COHORT_METRICS, text)
    acquisition, _ = _found(_ACQUISITION_METRICS, rest)
    splits, _ = _found(_ACQUISITION_SPLITS, rest)
    cohort_words = bool(_COHORT_WORD.search(text))
    if cohort_metrics or cohort_words or (acquisition and splits):
        return _answer_or_clarify(lambda: _cohort(question, text, today))
    levels = _levels(question)
    product_metrics, _ = _found(_PRODUCT_METRICS, text)
    if levels or set(product_metrics) & _PER_PRODUCT_ONLY or _ALLOCATED.search(text):
        return _answer_or_clarify(lambda: _products(question, text, today))
    return None


def _answer_or_clarify(build: Callable[[], tuple[SemanticQuery, list[str]]]) -> Understanding:
    try:
        query, notes = build()
    except Clarify as asked:
        return Understanding(status="clarify", message=asked.message, choices=asked.choices)
    except QueryValidationError as problem:
        return Understanding(status="clarify", message=f"I can't answer that as asked: {problem}")
    return Understanding(status="answer", query=query, message=" ".join(notes))


def _plain(question: str) -> str:
    text = " ".join(question.lower().replace("’", "'").replace("–", "-").split())
    return _FIRST_QUARTERS.sub(lambda m: _QUARTER_NUMBERS[m[1]], text)


def _slots(question: str, age: _Age | None, today: date) -> Slots:
    """Dates, rank words and names of the question, its age taken out (not "last 90 days"),
    "customers from January" read as acquired in January (not since)."""
    text = question.replace(age.text, " ") if age is not None else question
    text = _FIRST_QUARTERS.sub(lambda m: _QUARTER_NUMBERS[m[1].lower()], text)
    return read(_ACQUIRED_FROM.sub(r"\1 in ", text), today)


def _check_expressible(text: str, slots: Slots) -> None:
    split = _UNSUPPORTED_SPLIT.search(text)
    if split is not None:
        raise Clarify(
            f"I can't split by \u201c{split['what']}\u201d. Customers split by cohort, age, "
            "acquisition channel, platform or campaign, first product or first-order discount; "
            "products by product, variant or SKU. Which one?",
            ("acquisition channel", "first product", "product", "sku"),
        )
    if slots.threshold:
        raise Clarify(
            f"I can't filter on a metric's value (\u201c{slots.threshold}\u201d) yet, but I can "
            "rank: lowest or highest first. Which do you want?",
            ("lowest first", "highest first"),
        )
    if slots.unreadable_date:
        raise Clarify(
            f"I can't read \u201c{slots.unreadable_date}\u201d as dates reliably; please give "
            'them like "September", "Q1 2026" or "2026-01-01 to 2026-03-31".'
        )


def _period(slots: Slots, today: date) -> TimeRange | None:
    """The period named (a comparison joined to it: two cohorts are compared side by side)."""
    dates = slots.dates
    if not dates.main:
        return None
    try:
        period = resolve_phrase(dates.main, today)
        if dates.comparison is None:
            return period
        other = dates.comparison.resolve(period, today)
    except InvalidInputError as exc:
        raise Clarify(f"I couldn't read the dates: {exc}.") from None
    return TimeRange(start=min(period.start, other.start), end=max(period.end, other.end))


def _checked_period(period: TimeRange, today: date) -> TimeRange:
    if period.start > today:
        raise Clarify(
            f"{period.start} is after today ({today}); I can only report what has happened. "
            "Which past period do you mean?",
            ("last month", "last quarter", "this year"),
        )
    return period


# --- cohorts ------------------------------------------------------------------------------------


def _acquisition_splits(text: str) -> tuple[list[str], list[str]]:
    """The acquisition splits a cohort question names, and the note when a platform named
    ("google customers") became a split by platform."""
    splits, _ = _found(_ACQUISITION_SPLITS, text)
    if "acquisition_platform" in splits or not _PLATFORM_NAMED.search(text):
        return splits, []
    note = (
        "A cohort question can't keep one platform's customers, so they are split by the "
        "platform that acquired them."
    )
    return [*splits, "acquisition_platform"], [note]


def _cohort(question: str, text: str, today: date) -> tuple[SemanticQuery, list[str]]:
    age = _age(text)
    slots = _slots(question, age, today)
    _check_expressible(text, slots)
    if slots.name:
        raise Clarify(
            "Cohort questions cover customers by when and how they were acquired (channel, "
            f"platform, campaign, first product); I can't narrow them to \u201c{slots.name}\u201d. "
            "Shall I split by one of these instead?",
            ("acquisition channel", "acquisition campaign", "first product"),
        )
    metrics, rest = _found(_COHORT_METRICS, text)
    if not metrics:
        metrics, rest = _found(_ACQUISITION_METRICS, rest)
    if not metrics:
        raise Clarify(
            "Which metric should I compare cohorts on?",
            ("ltv", "repeat_rate", "retention", "ltv_cac", "payback_age"),
        )
    splits, platform_note = _acquisition_splits(rest)
    grain = "week" if _WEEKLY.search(text) else "quarter" if _QUARTERLY.search(text) else "month"
    period = _period(slots, today)
    shape = _CohortShape.read(metrics, age, text, grain, named_period=period is not None)
    dimensions = [*shape.dimensions, *splits]
    if period is not None and slots.dates.comparison is not None and "cohort" not in dimensions:
        dimensions.insert(0, "cohort")  # "september's vs august's": the two cohorts side by side
    notes = [*shape.notes, *platform_note]
    if period is None:
        period = _default_cohorts(shape.cohort, today)
        notes.append(_default_cohorts_note(shape.cohort, period))
    query: dict[str, Any] = {
        "metrics": metrics,
        "time_range": _checked_period(period, today).model_dump(mode="json"),
        "dimensions": dimensions,
        "cohort": shape.cohort,
    }
    _rank_into(query, slots, text, metrics[0], ranked=bool(dimensions) and "age" not in dimensions)
    if "acquisition_channel" in dimensions and {"cac", "ltv_cac"} & set(metrics):
        notes.append(
            "CAC per acquisition channel is the blended CAC of the period (spend is known per "
            "platform and campaign, not per channel); ask by platform for each platform's own."
        )
    return SemanticQuery.parse(query), notes


@dataclass(frozen=True)
class _CohortShape:
    """The age part of a cohort query: how ages are counted and read, and the age/cohort
    splits that go with it."""

    cohort: dict[str, Any]
    dimensions: list[str]
    notes: list[str]

    @classmethod
    def read(
        cls, metrics: list[str], age: _Age | None, text: str, grain: str, named_period: bool
    ) -> _CohortShape:
        table = bool(_TABLE.search(text))
        by_cohort = table or bool(_BY_COHORT.search(text))
        curve = table or bool(_CURVE.search(text))
        said = re.search(r"\bby (day|week|month)s? since\b", text)
        unit = said[1] if said else "week" if grain == "week" else "month"
        if "payback_age" in metrics:
            # payback is looked for over the ages: months 0..11, per cohort unless one is named
            cohort = {"grain": grain, "age_unit": "month", "max_age": TABLE_MAX_AGE, "at_age": None}
            split = ["cohort"] if by_cohort or not named_period else []
            return cls(cohort, split, [])
        if age is not None and not curve:
            cohort = {"grain": grain, "age_unit": "day", "max_age": age.days, "at_age": age.days}
            return cls(cohort, ["cohort"] if by_cohort else [], [])
        if age is not None or curve or "retention" in metrics:
            ages = age.days if age is not None else TABLE_MAX_AGE
            cohort = {
                "grain": grain,
                "age_unit": "day" if age is not None else unit,
                "max_age": ages,
                "at_age": None,
            }
            split = ["cohort"] if by_cohort or not named_period else []
            return cls(cohort, [*split, "age"], [])
        if set(metrics) <= {"cohort_customers", "cac"}:
            cohort = {"grain": grain, "age_unit": "day", "max_age": 0, "at_age": 0}
            return cls(cohort, ["cohort"] if by_cohort else [], [])
        cohort = {
            "grain": grain,
            "age_unit": "day",
            "max_age": DEFAULT_AGE_DAYS,
            "at_age": DEFAULT_AGE_DAYS,
        }
        note = f"No age given, so this is read at {DEFAULT_AGE_DAYS} days after the first order."
        return cls(cohort, ["cohort"] if by_cohort else [], [note])


def _period_end(grain: str, day: date) -> date:
    """The last day of the week, month or quarter holding `day`."""
    if grain == "week":
        return day + timedelta(days=6 - day.weekday())
    last_month = day.month if grain == "month" else (day.month - 1) // 3 * 3 + 3
    following = date(day.year + last_month // 12, last_month % 12 + 1, 1)
    return following - timedelta(days=1)


def _periods_back(grain: str, end: date, count: int) -> date:
    """The first day of the `count` whole weeks, months or quarters ending on `end`."""
    if grain == "week":
        return end - timedelta(days=7 * count - 1)
    months = count * (3 if grain == "quarter" else 1)
    index = end.year * 12 + end.month - months  # the month before the first one
    return date(index // 12, index % 12 + 1, 1)


def _default_cohorts(cohort: dict[str, Any], today: date) -> TimeRange:
    """No period named: the latest whole cohorts whose customers have all reached the age read
    (a cell is complete once its last cohort day + the age, whole, has passed), or the latest
    whole ones for a table by age."""
    grain = cohort["grain"]
    at_age = cohort["at_age"]  # a fixed age is in days here (_CohortShape); tables read all
    latest = today - timedelta(days=1 if at_age is None else at_age + 1)
    end = _period_end(grain, latest)
    if end > latest:
        end = _period_end(grain, _periods_back(grain, end, 1) - timedelta(days=1))
    return TimeRange(start=_periods_back(grain, end, DEFAULT_COHORTS[grain]), end=end)


def _default_cohorts_note(cohort: dict[str, Any], period: TimeRange) -> str:
    span = f"{period.start} to {period.end}"
    if cohort["at_age"] is None:
        return f"No period given, so this covers customers acquired {span} (the latest whole ones)."
    return (
        f"No period given, so this covers customers acquired {span}: the latest whole ones "
        "whose customers have all reached that age, so every number is complete."
    )


def _rank_into(query: dict[str, Any], slots: Slots, text: str, metric: str, ranked: bool) -> None:
    """A rank word ("best", "top 5", "worst") ranks the rows by `metric` (one row for "which
    channel ..."); without rows to rank it says nothing."""
    rank = slots.rank
    limit = _limit(text, rank)
    if not ranked or (rank is None and limit is None):
        return
    sense = rank.sense if rank is not None else "top"
    query["order_by"] = {
        "metric": metric,
        "direction": direction_for(sense, families.metric(metric)),
    }
    if limit is not None:
        query["limit"] = limit
    elif rank is not None and (rank.singular or _ONE_ROW.search(text)):
        query["limit"] = 1


def _limit(text: str, rank: Rank | None) -> int | None:
    if rank is not None and rank.limit is not None:
        return rank.limit
    counted = re.search(
        rf"\b(?:top|best|worst|bottom|which|first|the) ({_NUMBER}) (?:products?|variants?|skus?"
        r"|channels?|platforms?|campaigns?|cohorts?)\b",
        text,
    )
    if counted is None:
        return None
    raw = counted[1]
    return int(raw) if raw.isdigit() else NUMBER_WORDS[raw]


# --- products -----------------------------------------------------------------------------------


def _products(question: str, text: str, today: date) -> tuple[SemanticQuery, list[str]]:
    slots = _slots(question, None, today)
    _check_expressible(text, slots)
    levels = _levels(question)
    named, _ = _found(_PRODUCT_METRICS, text)
    if not levels and not slots.name:
        raise Clarify(
            "That is counted per product; shall I split it by product?",
            (f"{question.rstrip('?!. ')} by product?",),
        )
    if not named:
        raise Clarify(
            "Which products, by which metric? For example:",
            ("units", "product_net_sales", "product_gross_profit", "gross_margin"),
        )
    notes: list[str] = []
    losing = "losing_money" in named
    metrics = list(LOSING_MONEY) if losing else list(dict.fromkeys(named))
    if losing:
        notes.append(
            "\u201cLose money after ads\u201d is read as contribution after ads (gross profit "
            "\u2212 the ad spend allocated to the product) below zero: every product is listed, "
            "lowest contribution first."
        )
    period = _product_period(slots, today, notes)
    query: dict[str, Any] = {
        "metrics": metrics,
        "time_range": period.model_dump(mode="json"),
        "dimensions": [levels[0] if levels else "product"],
        "filters": {"name_contains": slots.name},
        "grain": slots.grain if slots.grain in ("day", "week", "month") else None,
    }
    if slots.dates.main and slots.dates.comparison is not None:
        try:
            compare = slots.dates.comparison.resolve(period, today)
        except InvalidInputError as exc:
            raise Clarify(f"I couldn't work out the comparison period: {exc}.") from None
        query["compare_range"] = compare.model_dump(mode="json")
    if losing:
        query["order_by"] = {"metric": "contribution_after_ads", "direction": "asc"}
    else:
        _rank_into(query, slots, text, _ranked_metric(text, metrics), ranked=True)
        if "order_by" in query and "limit" not in query and slots.rank is not None:
            query["limit"] = DEFAULT_TOP_N if slots.rank.cut else None
    return SemanticQuery.parse(query), notes


def _ranked_metric(text: str, metrics: list[str]) -> str:
    """The metric after "by" ("top 5 products by margin"), else the first named."""
    after_by = re.search(r"\b(?:by|on|for|in terms of) (.+)$", text)
    if after_by is not None:
        ranked, _ = _found(_PRODUCT_METRICS, after_by[1])
        if ranked and ranked[0] in metrics:
            return ranked[0]
    return metrics[0]


def _product_period(slots: Slots, today: date, notes: list[str]) -> TimeRange:
    if slots.dates.main:
        try:
            return _checked_period(resolve_phrase(slots.dates.main, today), today)
        except InvalidInputError as exc:
            raise Clarify(f"I couldn't read the dates: {exc}.") from None
    period = resolve_phrase(DEFAULT_PERIOD, today)
    notes.append(
        f"No dates given, so this covers the {DEFAULT_PERIOD} ({period.start} to {period.end})."
    )
    return period


# --- follow-ups on a cohort or product query ------------------------------------------------------


def _follow_up(
    question: str, text: str, previous: SemanticQuery, today: date
) -> Understanding | None:
    """The previous cohort or product query changed by a follow-up ("and by channel?", "what
    about 180 days?", "by sku instead", "just the top 3"), or None when the question is not
    one (it names a metric of its own without a follow-up opener)."""
    own = _COHORT_METRICS if previous.family == "cohort" else _PRODUCT_METRICS
    metrics, rest = _found(own, text)
    other, _ = _found(_PRODUCT_METRICS if previous.family == "cohort" else _COHORT_METRICS, rest)
    if other or (metrics and not _FOLLOW_UP_OPENER.search(text)):
        return None
    age = _age(text) if previous.family == "cohort" else None
    slots = _slots(question, age, today)
    if slots.metrics and not metrics:
        return None  # an ad or store metric: a question of its own
    change = _Change(previous, metrics, age, slots, text, _levels(question))
    if not change.any():
        return None
    return _answer_or_clarify(lambda: change.applied(today))


@dataclass(frozen=True)
class _Change:
    """What a follow-up changes in the previous cohort or product query."""

    previous: SemanticQuery
    metrics: list[str]
    age: _Age | None
    slots: Slots
    text: str
    levels: list[str]

    def any(self) -> bool:
        """True when the follow-up changes something this family has: the age or the
        acquisition split of a cohort query, the level or the product named of a product
        query, or the metrics, period or ranking of either."""
        slots = self.slots
        if self.previous.family == "cohort":
            own = self.age is not None or bool(_acquisition_splits(self.text)[0])
        else:
            own = bool(self.levels or slots.name)
        return own or bool(
            self.metrics or slots.dates.main or slots.dates.before or slots.rank or slots.new_limit
        )

    def applied(self, today: date) -> tuple[SemanticQuery, list[str]]:
        _check_expressible(self.text, self.slots)
        previous = self.previous
        query = previous.model_dump(mode="json", exclude={"custom"})
        notes = ["Following up on your previous question."]
        if self.metrics:
            kept = query["metrics"] if _ADDING.search(self.text) else []
            query["metrics"] = list(dict.fromkeys([*kept, *self.metrics]))
            if query["order_by"] and query["order_by"]["metric"] not in query["metrics"]:
                query["order_by"]["metric"] = query["metrics"][0]
        period = _period(self.slots, today)
        before = self.slots.dates.before
        if period is None and before is not None:  # "and the month before?"
            try:
                period = before.resolve(previous.time_range, today)
            except InvalidInputError as exc:
                raise Clarify(f"I couldn't work out that period: {exc}.") from None
        if period is not None:
            query["time_range"] = _checked_period(period, today).model_dump(mode="json")
            query["compare_range"] = None
        if previous.family == "cohort":
            notes += self._cohort_into(query)
        else:
            self._products_into(query)
        self._rank_into(query)
        return SemanticQuery.parse(query), notes

    def _cohort_into(self, query: dict[str, Any]) -> list[str]:
        """The new age or acquisition split; the notes that explain it."""
        if self.age is not None:
            cohort = query["cohort"]
            cohort.update(age_unit="day", max_age=self.age.days, at_age=self.age.days)
            query["dimensions"] = [d for d in query["dimensions"] if d != "age"]
        splits, notes = _acquisition_splits(self.text)
        if splits:
            kept = [d for d in query["dimensions"] if d in ("cohort", "age")]
            query["dimensions"] = [*kept, *splits]
        return notes

    def _products_into(self, query: dict[str, Any]) -> None:
        if self.levels:
            query["dimensions"] = [self.levels[0]]
        if self.slots.name:
            query["filters"]["name_contains"] = self.slots.name

    def _rank_into(self, query: dict[str, Any]) -> None:
        rank, slots = self.slots.rank, self.slots
        limit = rank.limit if rank is not None and rank.limit is not None else slots.new_limit
        if rank is not None:
            metric = query["order_by"]["metric"] if query["order_by"] else query["metrics"][0]
            kept_direction = query["order_by"]["direction"] if query["order_by"] else None
            flips = rank.sense not in ("top",) or kept_direction is None
            direction = (
                direction_for(rank.sense, families.metric(metric)) if flips else kept_direction
            )
            query["order_by"] = {"metric": metric, "direction": direction}
        if limit is not None:
            query["limit"] = limit
