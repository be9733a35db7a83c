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
    first = date(year, 7, 1)
    return first + timedelta(days=(1 - first.weekday()) % 7 + 7)


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
}
_RETAIL_WORDS = re.compile(
    r"\b(?:from )?(?:(?P<last_years>last year'?s |the previous year'?s )"
    r"|(?:last|this|on|over|during) )?"
    r"(?P<day>black friday cyber monday|black friday weekend"
    r"|bfcm weekend|cyber week|black friday|cyber monday|bfcm|christmas eve|xmas eve"
    r"|new year'?s eve|nye|christmas day|christmas|xmas"
    r"|thanksgiving|prime day)(?: (?P<year>(?:19|20)\d{2}))?(?! (?:campaigns?|ad ?sets?|ads?"
    r"|sale|promo))(?P<last_year> (?:of )?(?:last|the previous) year\b(?!'))?\b"
)
_SO_FAR = re.compile(rf"\b(?:in |for )?(?P<month>{_MONTH}) (?:so far|to date)\b")
_WEEK_OF = re.compile(
    rf"\b(?:the |for the |in the |during the )?week (?:of|starting|beginning"
    rf"|commencing) (?:(?:the|on) )?(?P<point>{_MONTH}\.? {_DAY}|{_DAY} (?:of )?"
    rf"{_MONTH}|\d{{4}}-\d{{1,2}}-\d{{1,2}})\b"
)
#: "9/21", "21/9", "9/21/2026": read only when one number cannot be a month ("11/03" is asked).
_SLASH_DATE = re.compile(
    r"(?<![\w/])(?P<a>\d{1,2})/(?P<b>\d{1,2})(?:/(?P<year>(?:20)?\d{2}))?(?![\w/])"
)
_START_OF = re.compile(
    r"\b(?:since|from) (?:the )?(?:start|beginning) of (?:the |this )?"
    r"(?P<unit>year|quarter|month|week)\b"
)
_AGO = re.compile(r"\b(?P<n>\d{1,2}|a|one|two|three|four|five|six) (?P<unit>week|month)s? ago\b")
_AGO_COUNTS = {"a": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
_MONTH_LAST_YEAR = re.compile(rf"\b(?P<month>{_MONTH}) (?:of )?last year\b")
_LAST_MONTH_NAMED = re.compile(rf"\blast (?P<month>{_MONTH})\b(?! \d| (?:of )?last year)")


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
    month = _month_number(match["month"])
    year = today.year if month <= today.month else today.year - 1
    return f"since {date(year, month, 1)}"


def _slash_date(match: re.Match[str]) -> str:
    a, b = int(match["a"]), int(match["b"])
    if 1 <= a <= 12 < b <= 31:
        month, day = a, b
    elif 1 <= b <= 12 < a <= 31:
        month, day = b, a
    else:
        return match[0]
    year = match["year"]
    year_text = f" {year if len(year) == 4 else '20' + year}" if year else ""
    return f"{MONTHS[month - 1]} {day}{year_text}"


def _start_of(match: re.Match[str], today: date) -> str:
    """ "since the start of the year" -> since this year's (quarter's, ...) first day."""
    first_day = {
        "year": date(today.year, 1, 1),
        "quarter": date(today.year, (today.month - 1) // 3 * 3 + 1, 1),
        "month": today.replace(day=1),
        "week": today - timedelta(days=today.weekday()),
    }[match["unit"]]
    return f"since {first_day}"


def _week_of(match: re.Match[str], today: date) -> str:
    try:
        day = resolve_phrase(match["point"].replace(".", ""), today).start
    except InvalidInputError:
        return match[0]
    monday = day - timedelta(days=day.weekday())
    return f"{monday} to {monday + timedelta(days=6)}"


def _ago(match: re.Match[str], today: date) -> str:
    """ "2 weeks ago" -> the Monday week two weeks before this one; "3 months ago" -> that
    calendar month (a named period is taken whole)."""
    count = _AGO_COUNTS.get(match["n"]) or int(match["n"])
    if match["unit"] == "week":
        monday = today - timedelta(days=today.weekday() + 7 * count)
        return f"{monday} to {monday + timedelta(days=6)}"
    index = today.year * 12 + today.month - 1 - count
    return f"{MONTHS[index % 12]} {index // 12}"


def _month_last_year(match: re.Match[str], today: date) -> str:
    return f"{MONTHS[_month_number(match['month']) - 1]} {today.year - 1}"


def _last_month_named(match: re.Match[str], today: date) -> str:
    """ "since last november" -> the latest November before this month, as a whole month."""
    month = _month_number(match["month"])
    year = today.year if month < today.month else today.year - 1
    return f"{MONTHS[month - 1]} {year}"


_THIS_VS_LAST_YEAR = re.compile(
    r"\b(?:this year )?(?:vs\.?|versus|compared? (?:to|with)|against|beat|outperform|outdo"
    r"|(?:do|did) better than) (?:the same \w+ )?"
    r"last year\b(?!')"
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
    text = _SLASH_DATE.sub(_slash_date, text)
    if _RETAIL_WORDS.search(text) and _THIS_VS_LAST_YEAR.search(text):
        text = _THIS_VS_LAST_YEAR.sub(" ", text)
        text = _RETAIL_WORDS.sub(lambda m: _last_years(m, today), text, count=1)
    text = _RETAIL_WORDS.sub(lambda m: _retail(m, today, notes), text)
    text = _SO_FAR.sub(lambda m: _so_far(m, today), text)
    text = _START_OF.sub(lambda m: _start_of(m, today), text)
    text = _WEEK_OF.sub(lambda m: _week_of(m, today), text)
    text = _MONTH_LAST_YEAR.sub(lambda m: _month_last_year(m, today), text)
    text = _LAST_MONTH_NAMED.sub(lambda m: _last_month_named(m, today), text)
    text = _AGO.sub(lambda m: _ago(m, today), text)
    return text, notes
