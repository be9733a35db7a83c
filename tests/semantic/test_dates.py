"""Date phrases, comparison periods and UTC bounds, checked by hand and by property."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metricx.errors import InvalidInputError
from metricx.semantic.dates import (
    DatePhraseError,
    compare_range_for,
    resolve_phrase,
    today_in,
    utc_bounds,
)
from metricx.semantic.query import TimeRange

MONDAY = date(2026, 11, 23)
WEDNESDAY = date(2026, 11, 25)
SUNDAY = date(2026, 11, 29)
FIRST_OF_MONTH = date(2026, 12, 1)  # a Tuesday
NEW_YEAR = date(2027, 1, 1)  # a Friday
LEAP_DAY = date(2028, 2, 29)  # a Tuesday


def span(start: str, end: str | None = None) -> TimeRange:
    return TimeRange(start=date.fromisoformat(start), end=date.fromisoformat(end or start))


@pytest.mark.parametrize(
    ("today", "phrase", "expected"),
    [
        # a Monday: this week is just today, yesterday was Sunday
        (MONDAY, "this week", span("2026-11-23")),
        (MONDAY, "last week", span("2026-11-16", "2026-11-22")),
        (MONDAY, "yesterday", span("2026-11-22")),
        (MONDAY, "last 7 days", span("2026-11-16", "2026-11-22")),
        # a Sunday: this week is the whole week, last week the one before
        (SUNDAY, "this week", span("2026-11-23", "2026-11-29")),
        (SUNDAY, "last week", span("2026-11-16", "2026-11-22")),
        (SUNDAY, "last 2 weeks", span("2026-11-09", "2026-11-22")),
        (SUNDAY, "today", span("2026-11-29")),
        # the 1st of a month: month to date is one day, last month is whole
        (FIRST_OF_MONTH, "this month", span("2026-12-01")),
        (FIRST_OF_MONTH, "month to date", span("2026-12-01")),
        (FIRST_OF_MONTH, "last month", span("2026-11-01", "2026-11-30")),
        (FIRST_OF_MONTH, "last 3 months", span("2026-09-01", "2026-11-30")),
        (FIRST_OF_MONTH, "last 7 days", span("2026-11-24", "2026-11-30")),
        (FIRST_OF_MONTH, "this week", span("2026-11-30", "2026-12-01")),
        # Jan 1st: everything "last" is in the previous year
        (NEW_YEAR, "this year", span("2027-01-01")),
        (NEW_YEAR, "ytd", span("2027-01-01")),
        (NEW_YEAR, "last year", span("2026-01-01", "2026-12-31")),
        (NEW_YEAR, "last month", span("2026-12-01", "2026-12-31")),
        (NEW_YEAR, "yesterday", span("2026-12-31")),
        (NEW_YEAR, "this week", span("2026-12-28", "2027-01-01")),
        (NEW_YEAR, "last quarter", span("2026-10-01", "2026-12-31")),
        # Feb 29 of a leap year
        (LEAP_DAY, "this month", span("2028-02-01", "2028-02-29")),
        (LEAP_DAY, "last month", span("2028-01-01", "2028-01-31")),
        (LEAP_DAY, "yesterday", span("2028-02-28")),
        (LEAP_DAY, "last 30 days", span("2028-01-30", "2028-02-28")),
        (LEAP_DAY, "last 12 months", span("2027-02-01", "2028-01-31")),
        (LEAP_DAY, "Feb 29", span("2028-02-29")),
    ],
)
def test_relative_phrases_on_hand_checked_days(today, phrase, expected) -> None:
    assert resolve_phrase(phrase, today) == expected


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("2026-11-01 to 2026-11-07", span("2026-11-01", "2026-11-07")),
        ("from 2026-11-01 to 2026-11-07", span("2026-11-01", "2026-11-07")),
        ("2026-11-01 - 2026-11-07", span("2026-11-01", "2026-11-07")),
        ("Nov 1 - Nov 7", span("2026-11-01", "2026-11-07")),
        ("November 1st to November 7th, 2026", span("2026-11-01", "2026-11-07")),
        ("Nov 1-7", span("2026-11-01", "2026-11-07")),
        ("1-7 Nov", span("2026-11-01", "2026-11-07")),
        ("between Oct 1 and Oct 31", span("2026-10-01", "2026-10-31")),
        ("November 2026", span("2026-11-01", "2026-11-30")),
        ("Sept 2025", span("2025-09-01", "2025-09-30")),
        ("december", span("2025-12-01", "2025-12-31")),  # the latest December that has begun
        ("since Nov 3", span("2026-11-03", "2026-11-25")),
        ("since 2026-10-31", span("2026-10-31", "2026-11-25")),
        ("Dec 28 - Jan 3", span("2025-12-28", "2026-01-03")),
        ("2026-11-03", span("2026-11-03")),
        ("3rd of November", span("2026-11-03")),
        ("2025", span("2025-01-01", "2025-12-31")),
        ("3 days ago", span("2026-11-22")),
        ("over the past seven days", span("2026-11-18", "2026-11-24")),
        ("In the last 2 weeks?", span("2026-11-09", "2026-11-22")),
        ("MTD", span("2026-11-01", "2026-11-25")),
    ],
)
def test_explicit_and_spelled_out_phrases(phrase, expected) -> None:
    # given a Wednesday, 2026-11-25
    assert resolve_phrase(phrase, WEDNESDAY) == expected


@pytest.mark.parametrize(
    ("phrase", "words"),
    [
        ("the other day", "cannot understand the date phrase 'the other day'"),
        ("last 24 hours", "try 'last 7 days'"),
        ("Feb 30 2026", "Feb 30 2026 is not a date"),
        ("2026-13-01", "there is no month 13"),
        ("Nov 7 - Nov 1", "ends (2026-11-01) before it starts (2026-11-07)"),
        ("since Dec 1 2026", "after today"),
        ("last 0 days", "at least 1"),
    ],
)
def test_phrases_that_cannot_be_resolved_say_why(phrase, words) -> None:
    with pytest.raises(DatePhraseError) as caught:
        resolve_phrase(phrase, WEDNESDAY)
    assert words in str(caught.value)
    assert isinstance(caught.value, InvalidInputError)


@pytest.mark.parametrize(
    ("kind", "time_range", "expected"),
    [
        # docs/design.md's example: this week (Mon..Wed) vs last week, taken whole
        ("previous_week", span("2026-11-23", "2026-11-25"), span("2026-11-16", "2026-11-22")),
        ("vs last week", span("2026-11-23", "2026-11-25"), span("2026-11-16", "2026-11-22")),
        ("previous_period", span("2026-11-23", "2026-11-25"), span("2026-11-20", "2026-11-22")),
        ("previous_period", span("2026-03-01", "2026-03-31"), span("2026-01-29", "2026-02-28")),
        ("previous_month", span("2026-12-01", "2026-12-15"), span("2026-11-01", "2026-11-30")),
        ("last quarter", span("2026-11-01", "2026-11-25"), span("2026-07-01", "2026-09-30")),
        ("previous_year", span("2026-11-23", "2026-11-25"), span("2025-11-23", "2025-11-25")),
        ("previous_year", span("2028-02-01", "2028-02-29"), span("2027-02-01", "2027-02-28")),
        ("same period last year", span("2028-02-29"), span("2027-02-28")),
    ],
)
def test_comparison_periods(kind, time_range, expected) -> None:
    assert compare_range_for(kind, time_range) == expected


@pytest.mark.parametrize(
    ("resolve", "words"),
    [
        (lambda: resolve_phrase("since 1999", WEDNESDAY), "1999-01-01 is outside the dates"),
        (lambda: resolve_phrase("0001-01-01 to 2026-11-01", WEDNESDAY), "0001-01-01 is outside"),
        (lambda: resolve_phrase("yesterday", date(2000, 1, 1)), "1999-12-31 is outside"),
        (lambda: compare_range_for("previous_year", span("2000-03-01")), "1999-03-01 is outside"),
    ],
)
def test_a_phrase_reaching_outside_2000_to_2100_says_so(resolve, words) -> None:
    # (year 1 east of UTC, or 9999, once overflowed the day's UTC bounds)
    with pytest.raises(DatePhraseError) as caught:
        resolve()
    assert words in str(caught.value) and "2000-01-01 to 2100-12-31" in str(caught.value)


def test_unknown_comparison_lists_the_kinds() -> None:
    with pytest.raises(DatePhraseError, match="previous_period, previous_week"):
        compare_range_for("the good old days", span("2026-11-23"))


def hours(bounds: tuple[datetime, datetime]) -> float:
    return (bounds[1] - bounds[0]).total_seconds() / 3600


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(
    ("tz", "day", "start", "end", "length"),
    [
        # clocks spring forward: Berlin 2026-03-29 has 23 hours
        ("Europe/Berlin", "2026-03-29", utc(2026, 3, 28, 23), utc(2026, 3, 29, 22), 23),
        # clocks fall back: Berlin 2026-10-25 has 25 hours
        ("Europe/Berlin", "2026-10-25", utc(2026, 10, 24, 22), utc(2026, 10, 25, 23), 25),
        # New York falls back on 2026-11-01 (25 hours) and springs forward on 2026-03-08
        ("America/New_York", "2026-11-01", utc(2026, 11, 1, 4), utc(2026, 11, 2, 5), 25),
        ("America/New_York", "2026-03-08", utc(2026, 3, 8, 5), utc(2026, 3, 9, 4), 23),
        # Santiago skips midnight itself on 2026-09-06: the day starts at 01:00 local
        ("America/Santiago", "2026-09-06", utc(2026, 9, 6, 4), utc(2026, 9, 7, 3), 23),
        ("UTC", "2026-11-25", utc(2026, 11, 25), utc(2026, 11, 26), 24),
    ],
)
def test_utc_bounds_follow_local_midnights_across_dst(tz, day, start, end, length) -> None:
    bounds = utc_bounds(span(day), tz)
    assert bounds == (start, end)
    assert hours(bounds) == length
    assert bounds[0].tzinfo is UTC


def test_utc_bounds_of_a_range_spanning_a_dst_switch() -> None:
    # Saturday + the 23-hour Sunday in Berlin
    assert hours(utc_bounds(span("2026-03-28", "2026-03-29"), "Europe/Berlin")) == 47


def test_today_in_the_workspace_zone() -> None:
    noon_utc = utc(2026, 11, 25, 12)
    assert today_in("Pacific/Auckland", noon_utc) == date(2026, 11, 26)
    assert today_in("America/Los_Angeles", utc(2026, 11, 25, 5)) == date(2026, 11, 24)
    assert today_in("UTC", noon_utc) == date(2026, 11, 25)


def test_today_in_refuses_naive_times_and_unknown_zones() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        today_in("UTC", datetime(2026, 11, 25, 12))
    with pytest.raises(DatePhraseError, match="unknown time zone 'Mars/Olympus'"):
        today_in("Mars/Olympus", utc(2026, 11, 25))


# --- properties over random days -----------------------------------------------------------

# Far enough from 2000-01-01 and 2100-12-31, the first and last days a range may hold, for
# every period before and after them.
days = st.dates(min_value=date(2003, 1, 1), max_value=date(2097, 12, 31))


@settings(max_examples=200, deadline=None)
@given(today=days, n=st.integers(1, 400))
def test_last_n_days_are_the_n_whole_days_before_today(today, n) -> None:
    resolved = resolve_phrase(f"last {n} days", today)
    assert resolved.days == n
    assert resolved.end == today - timedelta(days=1)


@settings(max_examples=200, deadline=None)
@given(today=days)
def test_this_week_runs_from_monday_to_today_and_last_week_is_the_week_before(today) -> None:
    this_week = resolve_phrase("this week", today)
    assert this_week.start.weekday() == 0
    assert this_week.start <= today == this_week.end
    assert this_week.days <= 7
    last_week = resolve_phrase("last week", today)
    assert (last_week.start.weekday(), last_week.end.weekday()) == (0, 6)
    assert last_week.end + timedelta(days=1) == this_week.start


@settings(max_examples=200, deadline=None)
@given(today=days, n=st.integers(1, 30))
def test_last_n_months_are_whole_calendar_months(today, n) -> None:
    resolved = resolve_phrase(f"last {n} months", today)
    assert resolved.start.day == 1
    assert resolved.end + timedelta(days=1) == today.replace(day=1)
    months = (resolved.end.year - resolved.start.year) * 12 + resolved.end.month
    assert months - resolved.start.month + 1 == n


@settings(max_examples=200, deadline=None)
@given(start=days, length=st.integers(0, 800))
def test_previous_period_is_adjacent_and_of_equal_length(start, length) -> None:
    current = TimeRange(start=start, end=start + timedelta(days=length))
    previous = compare_range_for("previous_period", current)
    assert previous.days == current.days
    assert previous.end + timedelta(days=1) == current.start


@settings(max_examples=200, deadline=None)
@given(start=days, length=st.integers(0, 60))
def test_previous_year_keeps_the_calendar_dates(start, length) -> None:
    current = TimeRange(start=start, end=start + timedelta(days=length))
    earlier = compare_range_for("previous_year", current)
    for now, then in ((current.start, earlier.start), (current.end, earlier.end)):
        assert then.year == now.year - 1
        assert (then.month, then.day) == (
            (2, 28) if (now.month, now.day) == (2, 29) else (now.month, now.day)
        )


@settings(max_examples=100, deadline=None)
@given(
    day=days,
    tz=st.sampled_from(
        [
            "Europe/Berlin",
            "America/New_York",
            "America/Santiago",
            "Australia/Lord_Howe",
            "Asia/Kolkata",
        ]
    ),
)
def test_consecutive_days_tile_utc_time_without_gaps(day, tz) -> None:
    today_bounds = utc_bounds(span(day.isoformat()), tz)
    tomorrow = day + timedelta(days=1)
    assert today_bounds[1] == utc_bounds(span(tomorrow.isoformat()), tz)[0]
    assert 23 <= hours(today_bounds) <= 25
