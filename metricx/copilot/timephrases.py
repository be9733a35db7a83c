"""Finding the date phrases inside a question, and which of them is the comparison.

metricx.semantic.dates resolves a phrase ("last week", "Nov 1-7"); this module finds those
phrases inside free text ("CPC this week vs last week for top 3 ads"), tells the asked-about
period from the one to compare with, and turns comparison words ("week over week", "vs the
same period last year") into a rule that gives the compare range once the period is known.
Every pattern is anchored on literal words and bounded, so no input makes it backtrack badly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from metricx.semantic.dates import DatePhraseError, compare_range_for, resolve_phrase
from metricx.semantic.query import TimeRange

from .calendar import retail_year_back
from .lexicon import NUMBER_WORDS

PLACEHOLDER = "zzdate"
#: The period a question that names none is about.
DEFAULT_PERIOD = "last 7 days"

_NUM = r"(?:\d{1,3}|" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True)) + ")"
_UNIT = r"(?:day|week|month|quarter|year)"
_MONTH = (
    r"(?:january|february|march|april|june|july|august|september|october|november|december"
    r"|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)"
)
_MONTH_ANY = rf"(?:{_MONTH}|may)"  # "may" alone is a verb; it needs a day, a year or "in"
_DAY = r"\d{1,2}(?:st|nd|rd|th)?"
_YEAR = r"(?:19|20)\d{2}"
_ISO = r"\d{4}-\d{1,2}-\d{1,2}"
_POINT = (
    rf"(?:{_ISO}|{_MONTH_ANY}\.? (?:the )?{_DAY}(?:,? {_YEAR})?"
    rf"|{_DAY} (?:of )?{_MONTH_ANY}\.?(?:,? {_YEAR})?|{_MONTH_ANY}\.?,? {_YEAR}|{_MONTH}\.?)"
)
_RANGE_POINT = rf"(?:{_POINT}|{_YEAR})"
_RANGE_END = rf"(?:{_RANGE_POINT}|today|yesterday)"
_AFTER_PREPOSITION = "|".join(
    rf"(?<={word} )(?:{_YEAR}|may)" for word in ("in", "for", "during", "of", "since")
)
#: A count that is not of days: "the last 5 campaigns", "previous 30 orders"
_NOT_DAYS = (
    rf"(?! ?(?:{_UNIT}s?|d|hours?|%|percent"
    r"|campaigns?|ads?|ad sets?|adsets?|creatives?|orders?|customers?)\b)"
)
#: "vs prior 30", "the previous 30": a count without a unit is of days
_BARE_COUNT = rf"(?:the )?(?:previous|prior|preceding) \d{{1,3}}{_NOT_DAYS}"
#: "cpa last 14", "roas trailing 30": the last N days
_BARE_LAST = rf"(?:last|past|trailing) \d{{1,3}}{_NOT_DAYS}"
#: "roas 7d", "cpa over 30 days": a number of days alone is the last N days (not "top 5 days",
#: "3 days ago", "the 7 days before", a "7 day window")
_BARE_DAYS = (
    r"(?<!top )(?<!bottom )(?<!best )(?<!worst )(?<!first )(?<!next )(?<!the )\d{1,3} days?"
    r"(?! (?:ago|before|after|earlier|window|click|view|attribution|look ?back|lookback)\b)"
)
_DATE = "|".join(
    (
        rf"between {_RANGE_POINT} and {_RANGE_END}",
        rf"(?:from )?{_RANGE_POINT} ?(?:to|until|till|through|thru|-) ?{_RANGE_END}",
        rf"{_MONTH_ANY}\.? {_DAY} ?- ?{_DAY}(?!\d)",
        rf"{_DAY} ?- ?{_DAY} {_MONTH_ANY}",
        rf"(?:since|starting(?: from| on)?|from|as of) (?:{_RANGE_POINT}|may)",
        r"today|yesterday",
        rf"(?:this|current) {_UNIT}(?: to date| so far)?",
        rf"{_UNIT} to date|wtd|mtd|qtd|ytd",
        rf"(?:last|past|previous|prior) (?:{_NUM} )?{_UNIT}s?",
        rf"{_NUM} days? ago",
        _POINT,
        _AFTER_PREPOSITION,
        _BARE_LAST,
        _BARE_DAYS,
    )
)
_LAST_LIKE = re.compile(rf"(?:last|past|previous|prior) (?:{_NUM} )?{_UNIT}s?")
_NAMED_UNIT = re.compile(
    rf"(?:(?:this|current|last|past|previous|prior) (?P<a>{_UNIT})(?: to date| so far)?"
    rf"|(?P<b>{_UNIT}) to date)"
)
_MARKER = (
    r"(?:vs\.?|versus|compared (?:to|with|against)|comparing (?:it )?(?:to|with)"
    r"|compare (?:it )?(?:to|with|against)|against|relative to|than)"
)
#: "the same 7 days", "the same two weeks": a count before the period noun changes nothing
_SAME_COUNT = rf"(?:{_NUM} )?"
_PREV_YEAR = (
    rf"(?:the )?same {_SAME_COUNT}(?:period|time|days?|dates?|range|weeks?|month|day) "
    r"(?:last|a|the previous|previous|prior) year|(?:a|one) year (?:ago|earlier|before)"
    r"|that (?:period|week|month|day|quarter) (?:(?:a|one) year (?:ago|earlier|before)"
    r"|last year)"
    # "ytd vs last ytd": this year's to-date days, a year back
    r"|(?:last|previous|prior) (?:year'?s )?ytd|ytd last year|last year to date"
    r"|(?:last|previous|prior) year"
)
#: "the one before that", "the previous one": the period before the one just asked about
_ONE_BEFORE = (
    r"(?:the )?(?:one|period|time) (?:before|prior)|(?:the )?(?:previous|prior|preceding) one"
    r"|before (?:that|then)(?= ?[?.!]* ?$)"
)
_PREV_PERIOD = (
    r"(?:(?:the )?(?:previous|prior|preceding|last|earlier) (?:time )?period"
    rf"|{_ONE_BEFORE}|(?:the )?(?:{_NUM} )?{_UNIT}s? (?:before|prior)"
    rf"|(?:the )?weekend (?:before|prior)|{_BARE_COUNT})"
    r"(?: (?:to )?(?:that|that one|it|this|then))?"
)
#: "from the same week in 2025", "the same stretch last year": a year back without "vs"
_SAME_IN_YEAR = (
    rf"(?:the )?same {_SAME_COUNT}(?:period|time|days?|dates?|range|weeks?|month|day|quarter"
    r"|stretch) "
    rf"(?:(?:in|of) (?P<pyear>{_YEAR})|(?:last|a|the previous|previous|prior) year)"
)
_SAME_DAY = (
    rf"(?:the )?same {_SAME_COUNT}(?:days?|dates?|time|weekdays?) (?:last|previous|the previous|a)"
    r" week"
    r"|(?:the )?same (?:day|time) a week (?:ago|earlier|before)"
)
#: "how about last year's?": the period just asked about, last year (its own BFCM, week ...)
_OWN_YEAR = (
    r"(?:last|previous|the previous|prior) year'?s(?: one| numbers| figures| results)?"
    r"(?= ?[?.!]* ?$)"
)
#: "vs the same days last month": the same day numbers a month back
_SAME_DAYS_MONTH = (
    rf"(?:the )?same {_SAME_COUNT}(?:days?|dates?|period|time|stretch) (?:last|previous"
    r"|the previous|a) month|(?:the )?same (?:days?|dates?|period) a month (?:ago|earlier|before)"
)
#: "this week compared with last": the period of the same kind before
_BARE_PREVIOUS = r"(?:last|previous|prior)(?: one)?(?= ?[?.!]* ?$)"
_OVER_ABBREVIATIONS = {"dod": "day", "wow": "week", "mom": "month", "qoq": "quarter", "yoy": "year"}


def _master(markers: str) -> re.Pattern[str]:
    return re.compile(
        rf"(?<![\w-])(?:(?P<marker>{markers}) (?:(?:the|that of|that in|to|with) )?"
        rf"(?:(?P<py>{_PREV_YEAR})|(?P<pm>{_SAME_DAYS_MONTH})|(?P<pp>{_PREV_PERIOD})"
        rf"|(?P<sd>{_SAME_DAY})|(?P<cd>{_DATE})"
        rf"|(?P<pl>{_BARE_PREVIOUS}))"
        rf"|(?P<own>{_OWN_YEAR})|(?P<sy>{_SAME_IN_YEAR})|(?P<sd2>{_SAME_DAY})|(?P<before>{_PREV_PERIOD})"
        rf"|(?P<over>{_UNIT})[ -]over[ -](?P=over)|(?P<abbr>{'|'.join(_OVER_ABBREVIATIONS)})"
        rf"|(?P<date>{_DATE}))(?![\w])"
    )


_MASTER = _master(_MARKER)
#: After "compare", plain "with", "to" and "and" introduce the other period too.
_MASTER_COMPARING = _master(rf"(?:{_MARKER}|with|to|and)")

# --- calendar words dates.resolve_phrase does not know ---------------------------------------

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_NOT_A_NAME = r"(?! (?:campaigns?|ad ?sets?|ads?|sale|promo))"
#: "last sat", "since tues": a short weekday is read only after a word that makes it a day
_WEEKDAY = re.compile(
    rf"\b(?<!black )(?<!cyber )(?:(?:(?P<how>since|this|last|past|on) )?"
    rf"(?P<day>{'|'.join(_WEEKDAYS)})|(?P<short_how>since|this|last|past|on) "
    r"(?P<short>mon|tues?|wed|thurs?|thu|fri|sat|sun)\.?)\b"
    rf"{_NOT_A_NAME}"
)
_QUARTER = re.compile(
    r"\bq(?P<q>[1-4])(?: (?P<year>(?:19|20)\d{2})| (?:of )?(?P<last>last year))?\b"
)
_ALIASES = re.compile(r"\b(?:this morning|tonight|last night|(?:the )?day before yesterday)\b")
_UNREADABLE = re.compile(
    r"\b(?:(?:last|past|previous|next) \d+ hours?"
    r"|(?:last |this |the )?weekends?(?! (?:before|prior)\b)"
    rf"|(?:black friday|cyber monday|bfcm|christmas|xmas|thanksgiving|prime day"
    rf"|holiday season){_NOT_A_NAME}"
    r"|fiscal (?:year|quarter)|\d{1,2}/\d{1,2}(?:/\d{2,4})?)(?![\w/])"
)
_QUARTER_MONTHS = ("jan", "apr", "jul", "oct"), ("mar", "jun", "sep", "dec")


def _weekday(match: re.Match[str], today: date) -> str:
    """ "since monday" -> the latest Monday up to today; "this monday" -> this week's; "on / last
    monday" and a bare "monday" -> the latest one before today."""
    day = match["day"] or next(d for d in _WEEKDAYS if d.startswith(match["short"]))
    target = _WEEKDAYS.index(day)
    how = match["how"] or match["short_how"]
    if how == "since":
        return f"since {today - timedelta(days=(today.weekday() - target) % 7)}"
    if how == "this":
        return str(today - timedelta(days=today.weekday() - target))
    return str(today - timedelta(days=(today.weekday() - target - 1) % 7 + 1))


def _quarter(match: re.Match[str], today: date, so_far: bool) -> str:
    """ "q3" -> "jul 2026 to sep 2026", the latest Q3 that has begun (or the year given);
    "q4 ... so far" -> since its first day, when it is the current quarter."""
    index = int(match["q"]) - 1
    year = int(match["year"]) if match["year"] else today.year
    start = date(year, 3 * index + 1, 1)
    # "q3 last year": the Q3 of the calendar year before; a bare Q3 not begun yet: last year's
    if match["last"] or (not match["year"] and start > today):
        year -= 1
    elif so_far and (today.month - 1) // 3 == index and year == today.year:
        return f"since {start}"
    return f"{_QUARTER_MONTHS[0][index]} {year} to {_QUARTER_MONTHS[1][index]} {year}"


def rewrite_calendar_words(text: str, today: date) -> tuple[str, str | None]:
    """Weekdays, quarters and "last night" as phrases resolve_phrase reads, or a problem.

    The problem names dates that cannot be read reliably (holidays, weekends, hours,
    "11/03" which is 3 Nov or 11 Mar depending on the reader) so the copilot asks instead of
    guessing. ``text`` is lower case.
    """
    unreadable = _UNREADABLE.search(text)
    if unreadable:
        return text, unreadable[0]
    aliases = {
        "last night": "yesterday",
        "day before yesterday": "2 days ago",
        "the day before yesterday": "2 days ago",
    }
    text = _ALIASES.sub(lambda m: aliases.get(m[0], "today"), text)
    text = _WEEKDAY.sub(lambda m: _weekday(m, today), text)
    so_far = bool(re.search(r"\b(?:so far|to date)\b", text))
    return _QUARTER.sub(lambda m: _quarter(m, today, so_far), text), None


def _years_earlier(time_range: TimeRange, years: int) -> TimeRange:
    """The same dates ``years`` back (29 February becomes the 28th)."""

    def back(day: date) -> date:
        year = day.year - years
        return date(year, 2, 28) if (day.month, day.day) == (2, 29) else day.replace(year=year)

    return TimeRange(start=back(time_range.start), end=back(time_range.end))


def whole_unit(time_range: TimeRange) -> str | None:
    """ "quarter" when ``time_range`` is one whole calendar quarter (likewise year, month)."""
    start, end = time_range.start, time_range.end
    month_end = (end.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    if start.day != 1 or end != month_end:
        return None
    months = (end.year - start.year) * 12 + end.month - start.month + 1
    for unit, length, first_months in (
        ("year", 12, (1,)),
        ("quarter", 3, (1, 4, 7, 10)),
        ("month", 1, tuple(range(1, 13))),
    ):
        if months == length and start.month in first_months:
            return unit
    return None


def _preceding(time_range: TimeRange) -> TimeRange:
    """The whole year, quarter or month before one that ``time_range`` covers whole; else the
    same number of days just before."""
    unit = whole_unit(time_range)
    return compare_range_for(f"last {unit}" if unit else "previous period", time_range)


def _month_back(day: date) -> date:
    """The same day of the month before (the 31st becomes that month's last day)."""
    last_of_before = day.replace(day=1) - timedelta(days=1)
    return last_of_before.replace(day=min(day.day, last_of_before.day))


def _own_year_back(time_range: TimeRange) -> TimeRange:
    """ "last year's" of a period: a retail day's or season's own dates last year, a Monday
    week's Monday week 52 weeks earlier, otherwise the same dates a year back."""
    retail = retail_year_back(time_range)
    if retail is not None:
        return retail
    if time_range.days == 7 and time_range.start.weekday() == 0:
        return TimeRange(
            start=time_range.start - timedelta(days=364), end=time_range.end - timedelta(days=364)
        )
    return _years_earlier(time_range, 1)


@dataclass(frozen=True)
class Comparison:
    """How to find the compare range once the asked-about range is known.

    relative: a named period before the range (dates.compare_range_for: "previous period",
    "last week", "previous year"); phrase: dates given outright ("vs yesterday", "vs Oct 1-7");
    shift: the same days ``days`` earlier ("same day last week"); years: the same dates in the
    year ``text`` (one year back when empty), by ``days`` per year when set (Monday weeks);
    preceding: the period of the same kind just before ("the one before that": the whole month
    before a whole month, likewise quarters and years; the same number of days otherwise);
    own_year: "how about last year's" (see _own_year_back); month_back: the same days of the
    month before ("vs the same days last month").
    """

    kind: Literal["relative", "phrase", "shift", "years", "preceding", "own_year", "month_back"]
    text: str = ""
    days: int = 0

    def resolve(self, time_range: TimeRange, today: date) -> TimeRange:
        """The compare range for ``time_range``; DatePhraseError when it cannot be built."""
        if self.kind == "relative":
            return compare_range_for(self.text, time_range)
        if self.kind == "phrase":
            return resolve_phrase(self.text, today)
        if self.kind == "preceding":
            return _preceding(time_range)
        if self.kind == "own_year":
            return _own_year_back(time_range)
        if self.kind == "month_back":
            return TimeRange(start=_month_back(time_range.start), end=_month_back(time_range.end))
        if self.kind == "years":
            back = time_range.start.year - int(self.text) if self.text else 1
            if back < 1:
                raise DatePhraseError(f"{self.text} is not before {time_range.start.year}")
            if not self.days:
                return _years_earlier(time_range, back)
        step = timedelta(days=self.days * (back if self.kind == "years" else 1))
        return TimeRange(start=time_range.start - step, end=time_range.end - step)

    @property
    def named_unit(self) -> str | None:
        """ "week" for "vs last week": the period the question implicitly starts from."""
        match = re.fullmatch(rf"(?:last|previous|prior) (?P<unit>{_UNIT})", self.text)
        return match["unit"] if match and self.kind == "relative" else None


@dataclass(frozen=True)
class DateMentions:
    """The date phrases of one question, ready to resolve against a day."""

    main: str | None  # phrase for dates.resolve_phrase, e.g. "last 7 days"
    comparison: Comparison | None
    before: Comparison | None  # "and the week before?": the period before the previous one
    over_unit: str | None  # "week" for "week over week"
    text: str  # the question with every date phrase replaced by PLACEHOLDER


NO_DATES = DateMentions(main=None, comparison=None, before=None, over_unit=None, text="")


def named_unit(phrase: str) -> str | None:
    """ "month" for "last month" / "this month" / "mtd": a phrase naming one whole period."""
    abbreviations = {"wtd": "week", "mtd": "month", "qtd": "quarter", "ytd": "year"}
    if phrase in abbreviations:
        return abbreviations[phrase]
    match = _NAMED_UNIT.fullmatch(phrase)
    return (match["a"] or match["b"]) if match else None


def _compare_from_date(text: str) -> Comparison:
    if _LAST_LIKE.fullmatch(text):
        return Comparison("relative", text)
    return Comparison("phrase", _as_phrase(text))


def _years_back(text: str, year: str | None) -> Comparison:
    """ "the same week in 2025" / "the same month last year": that period a year (or the
    years to ``year``) back; a week keeps its weekdays (52 weeks per year)."""
    if "week" in text:
        return Comparison("years", text=year or "", days=364)
    return Comparison("years", text=year or "")


def _previous_period(text: str) -> Comparison:
    """ "the week before" -> previous week; "the 7 days before" -> previous 7 days; "the one
    before that" -> the period of the same kind just before (see Comparison.resolve)."""
    words = [
        w
        for w in text.split()
        if w not in ("the", "before", "prior", "to", "that", "it", "this", "then")
    ]
    if words == ["weekend"]:  # "vs the weekend before": the one a week earlier
        return Comparison("shift", days=7)
    if words in ([], ["time"], ["one"]) or (len(words) == 2 and words[-1] == "one"):
        return Comparison("preceding")
    if "period" in words or not words:
        return Comparison("relative", "previous period")
    if words[-1].isdigit():
        return Comparison("relative", f"previous {words[-1]} days")
    return Comparison("relative", "previous " + " ".join(words))


def _as_phrase(text: str) -> str:
    """What resolve_phrase understands: "starting from Nov 3" / "as of Nov 3" -> "since Nov 3";
    "last 14" / "trailing 30" / "14 days" -> "last 14 days"."""
    text = re.sub(r"^(?:(?:last|past|trailing) )?(\d{1,3})(?: days?)?$", r"last \1 days", text)
    return re.sub(r"^(?:starting(?: from| on)?|as of) ", "since ", text)


def find_dates(text: str) -> DateMentions:
    """Every date phrase in ``text`` (lower case, one space between words), classified.

    A phrase after "vs"/"compared to"/... is the comparison; otherwise the first phrase is the
    period asked about and a second one ("this week and last week") is the comparison.
    """
    mains: list[str] = []
    comparisons: list[Comparison] = []
    befores: list[Comparison] = []
    over: list[str] = []

    def take(match: re.Match[str]) -> str:
        if match["marker"]:
            if match["py"] and "week" in match["py"]:
                # the same Monday week a year back: 52 weeks earlier
                comparisons.append(Comparison("shift", days=364))
            elif match["py"]:
                comparisons.append(Comparison("relative", "previous year"))
            elif match["pm"]:
                comparisons.append(Comparison("month_back"))
            elif match["pp"]:
                comparisons.append(_previous_period(match["pp"]))
            elif match["sd"]:
                comparisons.append(Comparison("shift", days=7))
            elif match["pl"]:
                comparisons.append(Comparison("preceding"))
            else:
                comparisons.append(_compare_from_date(match["cd"]))
        elif match["own"]:
            comparisons.append(Comparison("own_year"))
        elif match["sy"]:
            comparisons.append(_years_back(match["sy"], match["pyear"]))
        elif match["sd2"]:
            comparisons.append(Comparison("shift", days=7))
        elif match["before"]:
            befores.append(_previous_period(match["before"]))
        elif match["over"] or match["abbr"]:
            over.append(match["over"] or _OVER_ABBREVIATIONS[match["abbr"]])
        else:
            mains.append(_as_phrase(match["date"]))
        return f" {PLACEHOLDER} "

    master = _MASTER_COMPARING if re.search(r"\bcompar", text) else _MASTER
    replaced = master.sub(take, text)
    if not comparisons and len(mains) > 1:
        comparisons.append(_compare_from_date(mains[1]))
    unit = named_unit(mains[0]) if mains else None
    if comparisons and comparisons[0].kind == "preceding" and unit:
        # "this week compared with last": last week, whole (a named period is taken whole)
        comparisons[0] = Comparison("relative", f"last {unit}")
    return DateMentions(
        main=mains[0] if mains else None,
        comparison=comparisons[0] if comparisons else None,
        before=befores[0] if befores else None,
        over_unit=over[0] if over else None,
        text=" ".join(replaced.split()),
    )
