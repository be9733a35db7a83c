"""Retail days and calendar phrases, rewritten as dates metricx.semantic.dates can read.

Black Friday (the day after the fourth Thursday of November), Cyber Monday (three days
later), BFCM (Black Friday to Cyber Monday), Thanksgiving, Christmas (and its Eve), New Year's
Eve and Prime Day (taken as the second Tuesday and Wednesday of July) resolve to their latest
occurrence that has begun by the workspace's today, or to the previous calendar year's with
"last year" ("Black Friday last year", "from last year's Black Friday": that day, not since
it); "November so far" runs to today; "the week of Nov 11" is the Monday week containing that
day; "2 weeks ago" is that Monday week and "3 months ago" that calendar month; "October last
year" is October of the year before and "last November" the latest November before this
month. Each retail day used is stated (the notes), so the answer says which dates it took.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta

from metricx.errors import InvalidInputError
from metricx.semantic.dates import resolve_phrase
from metricx.semantic.query import TimeRange

MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_DAY = r"\d{1,2}(?:st|nd|rd|th)?"


def _thanksgiving(year: int) -> date:
    first = date(year, 11, 1)
    return first + timedelta(days=(3 - first.weekday()) % 7 + 21)


def _prime_day(year: int) -> date:
    return _nth_weekday(year, 7, 1, 2)


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The n-th ``weekday`` (Monday = 0) of a month; n = -1 for the last one."""
    if n < 0:
        after = date(year + month // 12, month % 12 + 1, 1)
        return after - timedelta(days=(after.weekday() - weekday - 1) % 7 + 1)
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def _easter(year: int) -> date:
    """Easter Sunday (Gregorian computus, the anonymous algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    weekday_shift = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 19 * weekday_shift) // 433
    month = (h + weekday_shift - 7 * m + 90) // 25
    return date(year, month, (h + weekday_shift - 7 * m + 33 * month + 19) % 32)


#: retail day -> (its first day in a year, its number of days, how the answer names it)
_RETAIL: dict[str, tuple[Callable[[int], date], int, str]] = {
    "thanksgiving": (_thanksgiving, 1, "Thanksgiving"),
    "black friday": (lambda y: _thanksgiving(y) + timedelta(days=1), 1, "Black Friday"),
    "cyber monday": (lambda y: _thanksgiving(y) + timedelta(days=4), 1, "Cyber Monday"),
    "bfcm": (
        lambda y: _thanksgiving(y) + timedelta(days=1),
        4,
        "BFCM (Black Friday to Cyber Monday)",
    ),
    "christmas": (lambda y: date(y, 12, 25), 1, "Christmas Day"),
    "christmas eve": (lambda y: date(y, 12, 24), 1, "Christmas Eve"),
    "new year's eve": (lambda y: date(y, 12, 31), 1, "New Year's Eve"),
    "prime day": (_prime_day, 2, "Prime Day (taken as the second Tuesday and Wednesday of July)"),
    "small business saturday": (
        lambda y: _thanksgiving(y) + timedelta(days=2),
        1,
        "Small Business Saturday",
    ),
    "new year's day": (lambda y: date(y, 1, 1), 1, "New Year's Day"),
    "valentine's day": (lambda y: date(y, 2, 14), 1, "Valentine's Day"),
    "presidents' day": (lambda y: _nth_weekday(y, 2, 0, 3), 1, "Presidents' Day"),
    "easter": (_easter, 1, "Easter Sunday"),
    "mother's day": (lambda y: _nth_weekday(y, 5, 6, 2), 1, "Mother's Day (US)"),
    "memorial day": (lambda y: _nth_weekday(y, 5, 0, -1), 1, "Memorial Day"),
    "father's day": (lambda y: _nth_weekday(y, 6, 6, 3), 1, "Father's Day (US)"),
    "independence day": (lambda y: date(y, 7, 4), 1, "Independence Day"),
    "labor day": (lambda y: _nth_weekday(y, 9, 0, 1), 1, "Labor Day"),
    "halloween": (lambda y: date(y, 10, 31), 1, "Halloween"),
    "boxing day": (lambda y: date(y, 12, 26), 1, "Boxing Day"),
}
_ALIASES = {
    "xmas": "christmas",
    "xmas eve": "christmas eve",
    "new years eve": "new year's eve",
    "nye": "new year's eve",
    "christmas day": "christmas",
    "black friday cyber monday": "bfcm",
    "cyber week": "bfcm",
    "black friday weekend": "bfcm",
    "bfcm weekend": "bfcm",
    "new years day": "new year's day",
    "valentines day": "valentine's day",
    "valentine day": "valentine's day",
    "valentines": "valentine's day",
    "mothers day": "mother's day",
    "fathers day": "father's day",
    "presidents day": "presidents' day",
    "president's day": "presidents' day",
    "easter sunday": "easter",
    "4th of july": "independence day",
    "fourth of july": "independence day",
    "labour day": "labor day",
}
_RETAIL_NAMES = "|".join(
    re.escape(name) for name in sorted([*_RETAIL, *_ALIASES], key=len, reverse=True)
)
_RETAIL_WORDS = re.compile(
    r"\b(?:from )?(?:(?P<last_years>last year'?s |the previous year'?s )"
    r"|(?:last|this|on|over|during) )?"
    rf"(?P<day>{_RETAIL_NAMES})(?P<weekend> (?:long )?weekend)?(?: (?P<year>(?:19|20)\d{{2}}))?"
    r"(?! (?:campaigns?|ad ?sets?|ads?"
    r"|sale|promo))(?P<last_year> (?:of )?(?:last|the previous) year\b(?!'))?\b"
)
#: "November so far", "so far in october", "nov to date", "2026 so far", "the year so far"
_SO_FAR = re.compile(
    rf"\b(?:(?:in |for )?(?:(?P<month>{_MONTH})|(?P<year>(?:19|20)\d{{2}}))"
    r"(?: so far|[ -]to[ -]date)"
    rf"|so far (?:in |for |this )?(?:(?P<month2>{_MONTH})|(?P<year2>(?:19|20)\d{{2}}))"
    r"|(?<!this )(?<!current )(?<!by )(?:(?:in|for) )?(?:the )?(?P<unit>year|quarter|month|week)"
    r" so far(?! (?:this|in|for|of)\b))\b"
)
_WEEK_OF = re.compile(
    rf"\b(?:the |for the |in the |during the )?week (?:of|starting|beginning"
    rf"|commencing) (?:(?:the|on) )?(?P<point>{_MONTH}\.? {_DAY}|{_DAY} (?:of )?"
    rf"{_MONTH}|\d{{4}}-\d{{1,2}}-\d{{1,2}})\b"
)
#: "the first week of september", "the 2nd week of aug 2025", "the last week of june"
_NTH_WEEK = re.compile(
    r"\b(?:the )?(?P<nth>first|1st|second|2nd|third|3rd|fourth|4th|last|final) week of "
    rf"(?P<month>{_MONTH})(?: (?P<year>(?:19|20)\d{{2}}))?\b"
)
_NTH = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4}
#: "the first 10 days of august", "the last 7 days of june 2025"
_DAYS_OF_MONTH = re.compile(
    r"\b(?:the )?(?P<which>first|last) (?P<n>\d{1,2}) days of "
    rf"(?:the month of )?(?P<month>{_MONTH})(?: (?P<year>(?:19|20)\d{{2}}))?\b"
)
#: "early august", "mid-july", "the end of june 2025"
_PART_OF_MONTH = re.compile(
    r"\b(?:in |during |for )?(?:the )?(?P<part>early|mid|middle of|late|end of|beginning of)"
    rf"[ -](?:the month of )?(?P<month>{_MONTH})(?: (?P<year>(?:19|20)\d{{2}}))?\b"
)
#: "h1", "h2 2025", "the first half of the year", "the second half of last year"
_HALF_YEAR = re.compile(
    r"\b(?:(?P<h>h[12])|(?:the )?(?P<nth>first|second|1st|2nd) half of (?:the year|(?P<last>last "
    r"year)|this year|(?P<year2>(?:19|20)\d{2})))(?: (?P<year>(?:19|20)\d{2}))?\b"
)
#: "9/21", "21/9", "9/21/2026", "6/10": see _slash_date for when they are read.
_SLASH_DATE = re.compile(
    r"(?<![\w/])(?P<a>\d{1,2})/(?P<b>\d{1,2})(?:/(?P<year>(?:20)?\d{2}))?(?![\w/])"
)
#: "since the start of the quarter / of august / of q3 / of 2025 / of last month"
_START_OF = re.compile(
    r"\b(?P<lead>since|from|starting(?: from)?) (?:the )?(?:very )?(?:start|beginning) of "
    rf"(?:(?:the |this |(?P<last>last |the previous |previous ))?(?P<unit>year|quarter|month|week)"
    rf"|(?P<month>{_MONTH})(?: (?P<month_year>(?:19|20)\d{{2}}))?|q(?P<q>[1-4])"
    r"|(?P<year>(?:19|20)\d{2}))\b"
    # "since q2": its first day (a quarter named alone is read whole later)
    r"|\b(?P<lead_q>since|from) q(?P<since_q>[1-4])\b(?! (?:(?:19|20)\d{2}|to|until|through)\b)"
    # "since the 1st", "since the first of the month": this month's first day
    r"|\b(?P<lead_first>since|from) the (?:1st|first)"
    rf"(?: of (?:(?:the|this) month|(?P<first_month>{_MONTH})))?\b(?! (?:of|day)\b)"
)
_AGO = re.compile(r"\b(?P<n>\d{1,2}|a|one|two|three|four|five|six) (?P<unit>week|month)s? ago\b")
_AGO_COUNTS = {"a": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
#: "december vs december last year", "this december vs last december", "q4 vs q4 last year":
#: the latest such month (quarter) against the one a year before, not both read as last year's
_SAME_NAMED_LAST_YEAR = re.compile(
    rf"\b(?:this )?(?P<period>{_MONTH}|q[1-4])\b(?! (?:of )?(?:(?:19|20)\d{{2}}|last year)\b)"
    r"(?P<between>(?: [\w'$%.,-]+){0,6}? (?:vs\.?|versus|compared (?:with|to)|against"
    r"|relative to))"
    rf" (?:(?:last|the previous|previous) (?P<last>{_MONTH}|q[1-4])\b"
    rf"|(?P<named>{_MONTH}|q[1-4]) (?:of )?last year\b)"
)
_MONTH_LAST_YEAR = re.compile(rf"\b(?P<month>{_MONTH}) (?:of )?last year\b")
_LAST_MONTH_NAMED = re.compile(rf"\blast (?P<month>{_MONTH})\b(?! \d| (?:of )?last year)")
#: "the weekend of oct 3": Saturday and Sunday of the Monday week containing that day
_WEEKEND_OF = re.compile(
    rf"\b(?:(?:over|during|on|for) )?(?:the )?weekend (?:of|around) (?:(?:the|on) )?"
    rf"(?P<point>{_MONTH}\.? {_DAY}|{_DAY} (?:of )?{_MONTH}|\d{{4}}-\d{{1,2}}-\d{{1,2}})\b"
)
#: "the first half of october", "the second half of last month"
_HALF_MONTH = re.compile(
    r"\b(?:the )?(?P<nth>first|1st|second|2nd|latter|last) half of (?:the month of )?"
    rf"(?:(?:the |this )?(?P<rel>this|last|previous|current)? ?month\b|(?P<month>{_MONTH})"
    r"(?: (?P<year>(?:19|20)\d{2}))?\b)"
)
#: "last weekend", "over the weekend", "this weekend", "the weekend before last"
_WEEKEND = re.compile(
    r"\b(?:(?:over|during|on|for|at) )?(?:this past |(?P<which>last|past|previous|this) |the )"
    r"weekend(?P<before_last> before last)?\b(?! (?:before|prior)\b)"
)
#: "the day before thanksgiving", "the week after black friday" (once the day is a date)
_NEXT_TO_DAY = re.compile(
    r"\b(?:on )?the (?P<unit>day|week) (?P<side>before|after) (?:on )?"
    r"(?P<start>\d{4}-\d{2}-\d{2})(?: to (?P<end>\d{4}-\d{2}-\d{2}))?\b"
)
#: "from the 3rd to the 9th", "between the 1st and the 7th": days of the latest month that
#: has them all by today (this month, else the month before)
_ORDINAL_RANGE = re.compile(
    r"\b(?:from|between) the (?P<a>\d{1,2})(?:st|nd|rd|th) (?:to|until|till|through|thru|and|-)"
    r" (?:the )?(?P<b>\d{1,2})(?:st|nd|rd|th)\b(?! of\b)"
)
#: "the week before last", "the month before last"
_BEFORE_LAST = re.compile(r"\b(?:the )?(?P<unit>week|month) before last\b")
#: "from the 3rd to the 9th of this month", "the 1st-7th of last month", "the 3rd of june"
_DAYS_IN_MONTH = re.compile(
    r"\b(?:(?:from|between) )?(?:the )?(?P<a>\d{1,2})(?:st|nd|rd|th)?"
    r"(?: ?(?:to|until|till|through|thru|-|and) ?(?:the )?(?P<b>\d{1,2})(?:st|nd|rd|th)?)? of "
    rf"(?:(?:the )?(?P<rel>this|last|previous|current) month|(?P<month>{_MONTH})"
    r"(?: (?P<year>(?:19|20)\d{2}))?)\b"
)


def _iso_range(start: date, days: int) -> str:
    end = start + timedelta(days=days - 1)
    return str(start) if days == 1 else f"{start} to {end}"


def _retail(match: re.Match[str], today: date, notes: list[str]) -> str:
    name = _ALIASES.get(match["day"], match["day"])
    first_day, days, label = _RETAIL[name]
    if match["year"]:
        start = first_day(int(match["year"]))
    elif match["last_year"] or match["last_years"]:  # "Black Friday last year": that one day
        start = first_day(today.year - 1)
    else:
        start = first_day(today.year)
        if start > today:  # not yet this year: the latest one that has begun
            start = first_day(today.year - 1)
    if match["weekend"]:
        # a Monday holiday's weekend is Saturday to Monday; Easter's is Good Friday to Monday
        if start.weekday() not in (0, 6):
            return match[0]  # "Christmas weekend": which days is unclear, so it is asked
        start, days = start - timedelta(days=2), 3 if start.weekday() == 0 else 4
        label = label.removesuffix(" Sunday") + " weekend"
    phrase = _iso_range(start, days)
    end = start + timedelta(days=days - 1)
    notes.append(
        f"{label} {start.year}: {start:%b} {start.day}"
        + (f" – {end:%b} {end.day}" if days > 1 else "")
        + f", {start.year}."
    )
    return phrase


def _month_number(word: str) -> int:
    return next(i for i, name in enumerate(MONTHS, start=1) if name.startswith(word[:3]))


def _so_far(match: re.Match[str], today: date) -> str:
    """ "November so far", "so far in october": from this month's first day to today (a month
    that is over is taken whole); "2026 so
    far" / "2025 to date": from that Jan 1 to today; "the year so far": this year to date."""
    if match["unit"]:
        return f"this {match['unit']}"
    year = match["year"] or match["year2"]
    if year:
        return f"since {year}-01-01"
    first = _latest_first_of_month(_month_number(match["month"] or match["month2"]), today)
    # a month already over ("so far in january", asked in February) is that whole month
    if first.month != today.month:
        return f"{MONTHS[first.month - 1]} {first.year}"
    return f"since {first}"


def _latest_first_of_month(month: int, today: date) -> date:
    """The first day of the latest ``month`` that has begun by ``today``."""
    return date(today.year if month <= today.month else today.year - 1, month, 1)


def _slash_order(text: str) -> bool | None:
    """True when the question writes its slash dates month first ("9/15"), False when day
    first ("15/9"), None when no date of it says (every number could be a month)."""
    for match in _SLASH_DATE.finditer(text):
        a, b = int(match["a"]), int(match["b"])
        if 1 <= a <= 12 < b <= 31:
            return True
        if 1 <= b <= 12 < a <= 31:
            return False
    return None


def _slash_date(
    match: re.Match[str], today: date, notes: list[str], month_first: bool | None
) -> str:
    """ "9/21" -> Sep 21: a number above 12 is the day, and the other dates of the question
    are read in the same order ("9/1 to 9/15": Sep 1). Otherwise "6/10" is June 10 or
    October 6: read only when exactly one of them has already come this year (asked on June
    30, October 6 is still to come, so it is June 10, and the answer says so), else asked."""
    a, b = int(match["a"]), int(match["b"])
    year_text = match["year"]
    year = (int(year_text) if len(year_text) == 4 else 2000 + int(year_text)) if year_text else None
    orders = ((a, b),) if month_first else ((b, a),) if month_first is False else ((a, b), (b, a))
    readings = [(m, d) for m, d in orders if 1 <= m <= 12 and _is_day(year, m, d)]
    if len(readings) == 2 and a != b:
        past = [(m, d) for m, d in readings if date(year or today.year, m, d) <= today]
        if len(past) != 1 or (year is not None and year != today.year):
            return match[0]
        month, day = past[0]
        other_month, other_day = next(r for r in readings if r != past[0])
        notes.append(
            f"\u201c{match[0]}\u201d read as {MONTHS[month - 1].capitalize()} {day} "
            f"({MONTHS[other_month - 1].capitalize()} {other_day} is still to come)."
        )
    elif readings:
        month, day = readings[0]
    else:
        return match[0]
    return f"{MONTHS[month - 1]} {day}" + (f" {year}" if year else "")


def _is_day(year: int | None, month: int, day: int) -> bool:
    try:
        date(year or 2024, month, day)  # a leap year, so "2/29" is a day without a year
    except ValueError:
        return False
    return True


def _start_of(match: re.Match[str], today: date) -> str:
    """ "since the start of the year" -> since this year's (quarter's, ...) first day; "of
    august" / "of q3" -> the latest one begun; "of 2025" -> Jan 1, 2025; "of last month" ->
    the first day of the month before; "since the 1st": this month's first day ("of august":
    that month's). "from the start
    of X to Y" keeps its end."""
    if match["lead_q"]:
        quarter_start = _latest_first_of_month(3 * int(match["since_q"]) - 2, today)
        return f"{match['lead_q']} {quarter_start}"
    if match["lead_first"]:
        month = _month_number(match["first_month"]) if match["first_month"] else today.month
        return f"{match['lead_first']} {_latest_first_of_month(month, today)}"
    if match["month"]:
        month = _month_number(match["month"])
        year = match["month_year"]
        first = date(int(year), month, 1) if year else _latest_first_of_month(month, today)
    elif match["q"]:
        first = _latest_first_of_month(3 * int(match["q"]) - 2, today)
    elif match["year"]:
        first = date(int(match["year"]), 1, 1)
    else:
        first = _first_day_of(match["unit"], today)
        if match["last"]:
            first = _first_day_of(match["unit"], first - timedelta(days=1))
    lead = "since" if match["lead"] == "since" else "from"
    return f"{lead} {first}"


def _first_day_of(unit: str, day: date) -> date:
    """The first day of the year, quarter, month or Monday week containing ``day``."""
    return {
        "year": date(day.year, 1, 1),
        "quarter": date(day.year, (day.month - 1) // 3 * 3 + 1, 1),
        "month": day.replace(day=1),
        "week": day - timedelta(days=day.weekday()),
    }[unit]


def _week_of(match: re.Match[str], today: date) -> str:
    try:
        day = resolve_phrase(match["point"].replace(".", ""), today).start
    except InvalidInputError:
        return match[0]
    monday = day - timedelta(days=day.weekday())
    return f"{monday} to {monday + timedelta(days=6)}"


def _nth_week(match: re.Match[str], today: date, notes: list[str]) -> str:
    """ "the second week of august" -> Aug 8-14: weeks of a month are counted in days from its
    1st (the first week is the 1st to the 7th); the last week is its last 7 days. Said in the
    answer."""
    month = _month_number(match["month"])
    year = match["year"]
    first = date(int(year), month, 1) if year else _latest_first_of_month(month, today)
    nth = _NTH.get(match["nth"])
    if nth is None:
        month_end = (first + timedelta(days=31)).replace(day=1) - timedelta(days=1)
        start = month_end - timedelta(days=6)
    else:
        start = first + timedelta(days=7 * (nth - 1))
    end = start + timedelta(days=6)
    notes.append(
        f"The {match['nth']} week of {MONTHS[month - 1].capitalize()} read as "
        f"{start:%b} {start.day} – {end:%b} {end.day}, {start.year}."
    )
    return f"{start} to {end}"


def _part_of_month(match: re.Match[str], today: date, notes: list[str]) -> str:
    """ "early august" = Aug 1-10, "mid august" = 11-20, "late august" = 21 to its end; said
    in the answer."""
    month = _month_number(match["month"])
    year = match["year"]
    first = date(int(year), month, 1) if year else _latest_first_of_month(month, today)
    month_end = (first + timedelta(days=31)).replace(day=1) - timedelta(days=1)
    part = match["part"].split()[0]
    start, end = {
        "early": (first, first.replace(day=10)),
        "beginning": (first, first.replace(day=10)),
        "mid": (first.replace(day=11), first.replace(day=20)),
        "middle": (first.replace(day=11), first.replace(day=20)),
    }.get(part, (first.replace(day=21), month_end))
    notes.append(
        f"{match['part'].capitalize()} {MONTHS[month - 1].capitalize()} read as "
        f"{start:%b} {start.day} – {end:%b} {end.day}, {start.year}."
    )
    return f"{start} to {end}"


def _days_of_month(match: re.Match[str], today: date) -> str:
    """ "the first 10 days of august" -> Aug 1-10; "the last 7 days of june" -> Jun 24-30."""
    month = _month_number(match["month"])
    year = match["year"]
    first = date(int(year), month, 1) if year else _latest_first_of_month(month, today)
    month_end = (first + timedelta(days=31)).replace(day=1) - timedelta(days=1)
    days = min(int(match["n"]), month_end.day)
    if match["which"] == "first":
        return f"{first} to {first + timedelta(days=days - 1)}"
    return f"{month_end - timedelta(days=days - 1)} to {month_end}"


def _half_year(match: re.Match[str], today: date, notes: list[str]) -> str:
    """ "h1", "the first half of the year", "h2 2025": January-June or July-December of the
    year named, else of the latest such half that has begun."""
    second = (match["h"] or match["nth"]) in ("h2", "second", "2nd")
    named = match["year"] or match["year2"]
    year = int(named) if named else today.year
    if match["last"] or (not named and second and today.month < 7):
        year -= 1
    start, end = (
        (date(year, 7, 1), date(year, 12, 31)) if second else (date(year, 1, 1), date(year, 6, 30))
    )
    notes.append(
        f"{'H2' if second else 'H1'} {year}: {start:%b} {start.day} – {end:%b} {end.day}, {year}."
    )
    return f"{start} to {end}"


def _ago(match: re.Match[str], today: date) -> str:
    """ "2 weeks ago" -> the Monday week two weeks before this one; "3 months ago" -> that
    calendar month (a named period is taken whole)."""
    count = _AGO_COUNTS.get(match["n"]) or int(match["n"])
    if match["unit"] == "week":
        monday = today - timedelta(days=today.weekday() + 7 * count)
        return f"{monday} to {monday + timedelta(days=6)}"
    index = today.year * 12 + today.month - 1 - count
    return f"{MONTHS[index % 12]} {index // 12}"


def _same_named_last_year(match: re.Match[str]) -> str:
    """ "december vs december last year" -> "december vs the same month last year" (the same
    for "this december vs last december", "q4 vs q4 last year"); other pairs stay."""
    period, other = match["period"], match["last"] or match["named"]

    def unit(word: str) -> str:
        return "quarter" if re.fullmatch(r"q[1-4]", word) else "month"

    def same(word: str) -> str:
        return word if unit(word) == "quarter" else str(_month_number(word))

    if unit(period) != unit(other) or same(period) != same(other):
        return match[0]
    return f"{period}{match['between']} the same {unit(period)} last year"


def _month_last_year(match: re.Match[str], today: date) -> str:
    return f"{MONTHS[_month_number(match['month']) - 1]} {today.year - 1}"


def _last_month_named(match: re.Match[str], today: date) -> str:
    """ "since last november" -> the latest November before this month, as a whole month."""
    month = _month_number(match["month"])
    year = today.year if month < today.month else today.year - 1
    return f"{MONTHS[month - 1]} {year}"


def _weekend(match: re.Match[str], today: date) -> str:
    """ "last weekend": Saturday and Sunday of last Monday week; "this weekend": this week's
    (to today); "(over) the weekend": this one when asked on a weekend day, else last week's;
    "the weekend before last": the one before last week's."""
    this = match["which"] == "this" or (match["which"] is None and today.weekday() >= 5)
    weeks_back = 2 if match["before_last"] else 0 if this else 1
    saturday = today - timedelta(days=today.weekday() + 7 * weeks_back) + timedelta(days=5)
    sunday = min(saturday + timedelta(days=1), max(today, saturday))
    return f"{saturday} to {sunday}"


def _weekend_of(match: re.Match[str], today: date) -> str:
    try:
        day = resolve_phrase(match["point"].replace(".", ""), today).start
    except InvalidInputError:
        return match[0]
    saturday = day - timedelta(days=day.weekday()) + timedelta(days=5)
    return f"{saturday} to {saturday + timedelta(days=1)}"


def _half_month(match: re.Match[str], today: date) -> str:
    """ "the first half of october": the 1st-15th; the second half: the 16th to its end."""
    if match["month"]:
        month = _month_number(match["month"])
        year = match["year"]
        first = date(int(year), month, 1) if year else _latest_first_of_month(month, today)
    elif match["rel"] in ("last", "previous"):
        first = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    else:
        first = today.replace(day=1)
    month_end = (first + timedelta(days=31)).replace(day=1) - timedelta(days=1)
    if match["nth"] in ("first", "1st"):
        return f"{first} to {first.replace(day=15)}"
    return f"{first.replace(day=16)} to {month_end}"


def _next_to_day(match: re.Match[str]) -> str:
    """ "the day before thanksgiving": the day before it; "the week after black friday": the
    7 days after it (after its last day, for a season like BFCM)."""
    start = date.fromisoformat(match["start"])
    end = date.fromisoformat(match["end"] or match["start"])
    days = 1 if match["unit"] == "day" else 7
    first = start - timedelta(days=days) if match["side"] == "before" else end + timedelta(days=1)
    return _iso_range(first, days)


def _before_last(match: re.Match[str], today: date) -> str:
    """ "the week before last": the Monday week two weeks back; "the month before last": the
    calendar month two months back (a named period is taken whole)."""
    if match["unit"] == "week":
        monday = today - timedelta(days=today.weekday() + 14)
        return f"{monday} to {monday + timedelta(days=6)}"
    index = today.year * 12 + today.month - 3
    return f"{MONTHS[index % 12]} {index // 12}"


def _ordinal_range(match: re.Match[str], today: date) -> str:
    first = today.replace(day=1)
    a, b = int(match["a"]), int(match["b"])
    if b > today.day:
        first = (first - timedelta(days=1)).replace(day=1)
    if not (_is_day(first.year, first.month, a) and _is_day(first.year, first.month, b)) or b < a:
        return match[0]
    return _iso_range(first.replace(day=a), b - a + 1)


def retail_year_back(time_range: TimeRange) -> TimeRange | None:
    """Last year's own retail day or season when ``time_range`` is one ("BFCM 2026" -> BFCM
    2025, Nov 28 - Dec 1), else None."""
    for first_day, days, _label in _RETAIL.values():
        start = first_day(time_range.start.year)
        if start == time_range.start and time_range.days == days:
            before = first_day(start.year - 1)
            return TimeRange(start=before, end=before + timedelta(days=days - 1))
    return None


def _days_in_month(match: re.Match[str], today: date) -> str:
    """ "from the 3rd to the 9th of this month" -> those days of this month (of last month, of
    the latest June, of June 2025); a day the month does not have is left as written, to be
    asked about."""
    if match["rel"] in ("this", "current"):
        first = today.replace(day=1)
    elif match["rel"]:
        first = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    elif match["year"]:
        first = date(int(match["year"]), _month_number(match["month"]), 1)
    else:
        first = _latest_first_of_month(_month_number(match["month"]), today)
    if not match["b"] and not re.search(r"\d(?:st|nd|rd|th)", match[0]):
        return match[0]  # "top 3 of june" counts rows; a single day is written "the 3rd"
    a, b = int(match["a"]), int(match["b"] or match["a"])
    if not (_is_day(first.year, first.month, a) and _is_day(first.year, first.month, b)) or b < a:
        return match[0]
    return _iso_range(first.replace(day=a), b - a + 1)


_THIS_VS_LAST_YEAR = re.compile(
    r"\b(?:this year )?(?:vs\.?|versus|compared? (?:to|with)|against|beat|outperform|outdo"
    r"|(?:do|did) better than) (?:the same \w+ )?"
    r"last year(?:'?s(?= ?[?.!]* ?$))?\b(?!')"
)


def _last_years(match: re.Match[str], today: date) -> str:
    """ "BFCM (this year) vs last year": last year's own BFCM, not the same dates a year back."""
    first_day, days, _label = _RETAIL[_ALIASES.get(match["day"], match["day"])]
    latest = first_day(today.year)
    year = today.year if latest <= today else today.year - 1
    return f"{match[0]} vs {_iso_range(first_day(year - 1), days)}"


def rewrite(text: str, today: date) -> tuple[str, list[str]]:
    """`text` (lower case) with retail days and calendar phrases as plain dates, and a note
    per retail day saying which dates it took."""
    notes: list[str] = []
    month_first = _slash_order(text)
    text = _SLASH_DATE.sub(lambda m: _slash_date(m, today, notes, month_first), text)
    if _RETAIL_WORDS.search(text) and _THIS_VS_LAST_YEAR.search(text):
        text = _THIS_VS_LAST_YEAR.sub(" ", text)
        text = _RETAIL_WORDS.sub(lambda m: _last_years(m, today), text, count=1)
    text = _RETAIL_WORDS.sub(lambda m: _retail(m, today, notes), text)
    text = _SO_FAR.sub(lambda m: _so_far(m, today), text)
    text = _START_OF.sub(lambda m: _start_of(m, today), text)
    text = _WEEK_OF.sub(lambda m: _week_of(m, today), text)
    text = _NTH_WEEK.sub(lambda m: _nth_week(m, today, notes), text)
    text = _DAYS_OF_MONTH.sub(lambda m: _days_of_month(m, today), text)
    text = _PART_OF_MONTH.sub(lambda m: _part_of_month(m, today, notes), text)
    text = _HALF_YEAR.sub(lambda m: _half_year(m, today, notes), text)
    text = _SAME_NAMED_LAST_YEAR.sub(_same_named_last_year, text)
    text = _MONTH_LAST_YEAR.sub(lambda m: _month_last_year(m, today), text)
    text = _LAST_MONTH_NAMED.sub(lambda m: _last_month_named(m, today), text)
    text = _AGO.sub(lambda m: _ago(m, today), text)
    text = _NEXT_TO_DAY.sub(_next_to_day, text)
    text = _WEEKEND_OF.sub(lambda m: _weekend_of(m, today), text)
    text = _HALF_MONTH.sub(lambda m: _half_month(m, today), text)
    text = _WEEKEND.sub(lambda m: _weekend(m, today), text)
    text = _BEFORE_LAST.sub(lambda m: _before_last(m, today), text)
    text = _DAYS_IN_MONTH.sub(lambda m: _days_in_month(m, today), text)
    text = _ORDINAL_RANGE.sub(lambda m: _ordinal_range(m, today), text)
    return text, notes
