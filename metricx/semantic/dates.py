"""Date phrases to inclusive date ranges, comparison periods, and UTC bounds.

One implementation of docs/design.md's conventions, shared by the copilot and the pages: weeks start
Monday; "this week" = Monday..today; "last week" = the previous Monday..Sunday; "last N days" =
the N whole days before today; named periods ("last month", "vs last week") are taken whole.
Dates are in the workspace time zone; utc_bounds turns them into a half-open UTC interval.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from metricx import validation
from metricx.errors import InvalidInputError
from metricx.semantic.query import TimeRange


class DatePhraseError(InvalidInputError, ValueError):
    """A date phrase, comparison kind or time zone that cannot be resolved."""


# --- calendar periods --------------------------------------------------------------------------


def _add_months(first_of_month: date, months: int) -> date:
    years, month0 = divmod(first_of_month.month - 1 + months, 12)
    return date(first_of_month.year + years, month0 + 1, 1)


@dataclass(frozen=True)
class _Period:
    """A calendar unit: where the one containing a day starts, and how to step n of them."""

    start_of: Callable[[date], date]
    shift: Callable[[date, int], date]


_PERIODS: dict[str, _Period] = {
    "day": _Period(lambda d: d, lambda d, n: d + timedelta(days=n)),
    "week": _Period(lambda d: d - timedelta(days=d.weekday()), lambda d, n: d + timedelta(weeks=n)),
    "month": _Period(lambda d: d.replace(day=1), _add_months),
    "quarter": _Period(
        lambda d: date(d.year, 3 * ((d.month - 1) // 3) + 1, 1),
        lambda d, n: _add_months(d, 3 * n),
    ),
    "year": _Period(lambda d: date(d.year, 1, 1), lambda d, n: date(d.year + n, 1, 1)),
}


def _range(start: date, end: date, until: time | None = None) -> TimeRange:
    if end < start:
        raise DatePhraseError(f"the range ends ({end}) before it starts ({start})")
    try:
        for day in (start, end):
            validation.calendar_day(day, "the date")
    except InvalidInputError as outside:
        raise DatePhraseError(str(outside)) from None
    return TimeRange(start=start, end=end, until=until)


def _whole_periods_before(unit: str, count: int, anchor: date) -> TimeRange:
    """The ``count`` whole periods just before the one containing ``anchor``."""
    period = _PERIODS[unit]
    current = period.start_of(anchor)
    try:
        return _range(period.shift(current, -count), current - timedelta(days=1))
    except (OverflowError, ValueError) as exc:
        raise DatePhraseError(f"{count} {unit}s before {anchor} is out of the calendar") from exc


def _to_date(unit: str, today: date) -> TimeRange:
    """The period containing ``today``, from its first day to today."""
    return _range(_PERIODS[unit].start_of(today), today)


# --- explicit dates ----------------------------------------------------------------------------

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
_MONTH = r"(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>\d{4})"
_TOKEN_PATTERNS = tuple(
    re.compile(p)
    for p in (
        rf"^{_YEAR}-(?P<month_num>\d{{1,2}})-{_DAY}$",  # 2026-11-03
        rf"^{_MONTH}(?: (?:the )?{_DAY})?(?: {_YEAR})?$",  # Nov 3 2026, November, Nov 2026
        rf"^{_DAY} (?:of )?{_MONTH}(?: {_YEAR})?$",  # 3 Nov, 3rd of November 2026
        rf"^{_DAY}$",  # 7 (only as the end of "Nov 1-7")
        rf"^{_YEAR}$",  # 2025
    )
)


@dataclass
class _Partial:
    """A date as written: any of year, month and day may be missing ("Nov 3", "2026", "7")."""

    year: int | None
    month: int | None
    day: int | None

    def span(self) -> tuple[date, date]:
        """First and last day this token covers (a day, a whole month or a whole year)."""
        assert self.year is not None
        if self.month is None:
            return date(self.year, 1, 1), date(self.year, 12, 31)
        if self.day is None:
            first = date(self.year, self.month, 1)
            return first, _add_months(first, 1) - timedelta(days=1)
        day = date(self.year, self.month, self.day)
        return day, day

    def with_year(self, year: int) -> _Partial | None:
        """This token in ``year``, or None when it is no date that year (Feb 29, Nov 31)."""
        candidate = _Partial(year, self.month, self.day)
        try:
            candidate.span()
        except ValueError:
            return None
        return candidate


def _parse_token(text: str, today: date) -> _Partial | None:
    if text in ("today", "yesterday"):
        day = today - timedelta(days=1 if text == "yesterday" else 0)
        return _Partial(day.year, day.month, day.day)
    for pattern in _TOKEN_PATTERNS:
        match = pattern.match(text)
        if match:
            parts = match.groupdict()
            month = (
                _MONTHS[parts["month"]] if parts.get("month") else _number(parts.get("month_num"))
            )
            if month is not None and not 1 <= month <= 12:
                raise DatePhraseError(f"{text!r} is not a date: there is no month {month}")
            return _Partial(_number(parts.get("year")), month, _number(parts.get("day")))
    return None


def _number(digits: str | None) -> int | None:
    """A matched group of digits as a number; None when the group did not take part."""
    return int(digits) if digits else None


def _latest_not_after(token: _Partial, today: date) -> _Partial:
    """A yearless token in the most recent year where it has begun by ``today``."""
    for year in range(today.year, today.year - 9, -1):
        candidate = token.with_year(year)
        if candidate is not None and candidate.span()[0] <= today:
            return candidate
    raise DatePhraseError(f"{_show(token)} is not a date")


def _in_year(token: _Partial, year: int) -> _Partial:
    candidate = token.with_year(year)
    if candidate is None:
        raise DatePhraseError(f"{_show(_Partial(year, token.month, token.day))} is not a date")
    return candidate


def _show(token: _Partial) -> str:
    month = next((n for n, v in _MONTHS.items() if v == token.month and len(n) == 3), "")
    return " ".join(str(p) for p in (month.title(), token.day, token.year) if p)


def _crosses_new_year(left: _Partial, right: _Partial) -> bool:
    """True for "Dec 28 - Jan 3": the end's month comes before the start's in the calendar."""
    return (left.month or 1) > (right.month or 12)


def _explicit_range(left: _Partial, right: _Partial, today: date) -> TimeRange:
    """Fill what one side leaves out from the other ("Nov 1-7", "1-7 Nov"), then infer years."""
    if right.month is None and right.day is not None:
        right = _Partial(right.year or left.year, left.month, right.day)
    if left.month is None and left.day is not None:
        left = _Partial(left.year or right.year, right.month, left.day)
    if any(side.month is None and side.day is not None for side in (left, right)):
        raise DatePhraseError("a range of bare day numbers needs a month")
    if left.year is None and right.year is not None:
        left = _in_year(left, right.year)
        if _crosses_new_year(left, right):
            left = _in_year(left, right.year - 1)  # "Dec 28 - Jan 3 2027"
    elif left.year is None:
        left = _latest_not_after(left, today)
    year = left.year or today.year  # always set by now; `or` only narrows the type
    if right.year is None:
        right = _in_year(right, year)
        if _crosses_new_year(left, right):
            right = _in_year(right, year + 1)  # "Dec 28 - Jan 3"
    start = _in_year(left, year).span()[0]
    end = _in_year(right, right.year or year).span()[1]
    return _range(start, end)


def _single(token: _Partial, today: date) -> TimeRange:
    if token.month is None and token.year is None:
        raise DatePhraseError("a bare day number needs a month")
    token = _in_year(token, token.year) if token.year else _latest_not_after(token, today)
    return _range(*token.span())


# --- phrases -----------------------------------------------------------------------------------

_NUMBER_WORDS = {
    word: n
    for n, word in enumerate(
        (
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
            "twenty",
        )
    )
} | {"thirty": 30, "sixty": 60, "ninety": 90, "a": 1}
_N = r"(?P<n>\d+|" + "|".join(_NUMBER_WORDS) + ")"
_UNIT = r"(?P<unit>day|week|month|quarter|year)s?"
_LAST = re.compile(rf"^(?:last|past|previous|prior)(?: {_N})? {_UNIT}$")
_THIS = (
    re.compile(rf"^(?:this|current) {_UNIT}(?: to date| so far)?$"),
    re.compile(rf"^{_UNIT} to date$"),
)
_AGO = re.compile(rf"^{_N} days? ago$")
_ABBREVIATIONS = {"wtd": "week", "mtd": "month", "qtd": "quarter", "ytd": "year"}
_FILLER = re.compile(r"^(?:(?:in|for|during|over|within|of|the)\s+)+")
_SINCE = re.compile(r"^(?:since|from|starting) (?P<a>.+)$")
_BETWEEN = re.compile(
    r"^(?:from |between )?(?P<a>.+?) ?(?: to | until | till | through | thru | and |–|—| - |\.\.) ?"
    r"(?P<b>.+)$"
)
_EXAMPLES = "'last 7 days', 'this week', 'last month', '2026-11-01 to 2026-11-07', 'since Nov 3'"


def _count(text: str | None) -> int:
    if text is None:
        return 1
    return int(text) if text.isdigit() else _NUMBER_WORDS[text]


def _last_periods(match: re.Match[str], anchor: date) -> TimeRange:
    """ "last N <unit>s" (unit defaults to days, N to 1) relative to ``anchor``."""
    count = _count(match["n"])
    if count < 1:
        raise DatePhraseError(f"{match[0]!r} covers nothing; use a count of at least 1")
    return _whole_periods_before(match.groupdict().get("unit") or "day", count, anchor)


def _clean(phrase: str) -> str:
    text = " ".join(phrase.lower().replace(",", " ").split()).strip(" .?!")
    return _FILLER.sub("", text)


def _relative(text: str, today: date) -> TimeRange | None:
    if text in _ABBREVIATIONS:
        return _to_date(_ABBREVIATIONS[text], today)
    for pattern in _THIS:
        match = pattern.match(text)
        if match:
            return _to_date(match["unit"], today)
    match = _LAST.match(text)
    if match:
        return _last_periods(match, today)
    match = _AGO.match(text)
    if match:
        day = _last_periods(match, today).start
        return _range(day, day)
    return None


def _explicit(text: str, today: date) -> TimeRange | None:
    token = _parse_token(text, today)
    if token is not None:
        return _single(token, today)
    match = _SINCE.match(text)
    if match and (start := _parse_token(match["a"], today)) is not None:
        if start.year is None:
            start = _latest_not_after(start, today)
        else:
            start = _in_year(start, start.year)
        begin = start.span()[0]
        if begin > today:
            raise DatePhraseError(f"{_show(start)} is after today ({today})")
        return _range(begin, today)
    match = _BETWEEN.match(text)
    candidates = [(match["a"], match["b"])] if match else []
    candidates += [(text[:i], text[i + 1 :]) for i, c in enumerate(text) if c == "-"]
    for a, b in candidates:
        left, right = _parse_token(a.strip(), today), _parse_token(b.strip(), today)
        if left is not None and right is not None:
            return _explicit_range(left, right, today)
    return None


def resolve_phrase(phrase: str, today: date) -> TimeRange:
    """The inclusive date range a phrase means on ``today`` (the workspace's local date).

    Understands today, yesterday, this/last week|month|quarter|year, last N days|weeks|months,
    N days ago, month/week/year to date (mtd, ytd), explicit dates ("2026-11-01 to 2026-11-07",
    "Nov 1 - Nov 7", "Nov 1-7", "November 2026", "since Nov 3"). Dates without a year are the
    most recent ones that have begun. Anything else raises DatePhraseError.
    """
    text = _clean(phrase)
    resolved = _relative(text, today) or _explicit(text, today)
    if resolved is None:
        raise DatePhraseError(f"cannot understand the date phrase {phrase!r}; try {_EXAMPLES}")
    return resolved


# --- comparison periods ------------------------------------------------------------------------

_PREVIOUS_PERIOD = {"previous period", "prior period", "preceding period", "period before"}
_PREVIOUS_YEAR = {"previous year", "prior year", "last year", "same period last year", "year ago"}
_KINDS = "previous_period, previous_week, previous_month, previous_quarter, previous_year"


def _year_earlier(day: date) -> date:
    if (day.month, day.day) == (2, 29):
        return date(day.year - 1, 2, 28)
    return day.replace(year=day.year - 1)


def compare_range_for(kind: str, time_range: TimeRange) -> TimeRange:
    """The range to compare ``time_range`` with.

    previous_period: the same number of days just before. previous_year: the same dates a
    year earlier (Feb 29 -> Feb 28). Both stop at the same clock time as time_range
    (``until``), so today so far compares with yesterday up to the same hour.
    previous_week / previous_month / previous_quarter (or "last week" ...): the whole named
    period before the one containing time_range.start (named periods are taken whole).
    """
    text = _clean(kind.replace("_", " "))
    text = re.sub(r"^(?:vs\.?|versus|compared (?:to|with)) (?:the )?", "", text)
    until = time_range.until
    if text in _PREVIOUS_PERIOD:
        end = time_range.start - timedelta(days=1)
        return _range(end - timedelta(days=time_range.days - 1), end, until)
    if text in _PREVIOUS_YEAR:
        return _range(_year_earlier(time_range.start), _year_earlier(time_range.end), until)
    match = _LAST.match(text)
    if match:
        return _last_periods(match, time_range.start)
    raise DatePhraseError(f"unknown comparison {kind!r}; use one of {_KINDS}")


# --- time zones --------------------------------------------------------------------------------


def _zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise DatePhraseError(
            f"unknown time zone {tz!r}: use an IANA name such as Europe/Berlin"
        ) from None


def today_in(tz: str, now: datetime | None = None) -> date:
    """The workspace's local date in IANA zone ``tz`` at instant ``now`` (default: now)."""
    moment = datetime.now(UTC) if now is None else now
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("now must be timezone-aware (e.g. datetime.now(UTC))")
    return moment.astimezone(_zone(tz)).date()


def _first_instant_at(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """The first instant (UTC) at which the local clock of ``day`` shows ``clock`` or later:
    in a repeated fall-back hour the first pass (fold 0); a time skipped by DST maps to the
    switch itself, the first instant that exists after it."""
    naive = datetime.combine(day, clock).replace(fold=0)
    before_switch = naive.replace(tzinfo=zone).astimezone(UTC)  # a skipped time reads late
    if before_switch.astimezone(zone).replace(tzinfo=None) == naive:
        return before_switch
    # Skipped: the switch lies between reading the time with the offset after it and with
    # the one before. Offsets change on whole seconds; bisect for the first second after.
    low = int(naive.replace(tzinfo=zone, fold=1).timestamp())
    high = int(before_switch.timestamp())
    offset_before = datetime.fromtimestamp(low, zone).utcoffset()
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).utcoffset() == offset_before:
            low = middle
        else:
            high = middle
    return datetime.fromtimestamp(high, UTC)


def utc_bounds(time_range: TimeRange, tz: str) -> tuple[datetime, datetime]:
    """[start, end) in UTC covering the range's local days in ``tz``, right across DST changes.

    Each bound is the first instant of a local day, so a spring-forward day spans 23 hours and
    a fall-back day 25. A midnight skipped by DST (some zones switch at 00:00) maps to the
    first instant that exists. With ``until``, the end is the first instant the last day's
    local clock shows that time (the same rules for repeated and skipped times).
    """
    zone = _zone(tz)
    start = _first_instant_at(time_range.start, time(0), zone)
    if time_range.until is not None:
        return start, _first_instant_at(time_range.end, time_range.until, zone)
    return start, _first_instant_at(time_range.end + timedelta(days=1), time(0), zone)
