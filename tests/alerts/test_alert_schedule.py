"""When a rule runs, in its workspace's zone: a daily rule at its local hour on both sides
of a DST change (a skipped hour runs at the next that exists), an hourly one once per real
hour through a repeated one; and, for any instant and zone, the next run is in the future,
on the schedule's clock, with no run in between."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metricx.alerts.schedule import latest_run_at, next_run_after, window_key

NEW_YORK, BERLIN = "America/New_York", "Europe/Berlin"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def local(instant: datetime, tz: str) -> str:
    return instant.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M %Z")


@pytest.mark.parametrize(
    "tz, before, after",
    [
        # New York falls back on 2026-11-01 and springs forward on 2027-03-14
        (NEW_YORK, utc(2026, 10, 31, 13), "2026-11-01 08:00 EST"),
        (NEW_YORK, utc(2027, 3, 13, 14), "2027-03-14 08:00 EDT"),
        # Berlin falls back on 2026-10-25 and springs forward on 2027-03-28
        (BERLIN, utc(2026, 10, 24, 7), "2026-10-25 08:00 CET"),
        (BERLIN, utc(2027, 3, 27, 8), "2027-03-28 08:00 CEST"),
    ],
)
def test_a_daily_rule_runs_at_its_local_hour_on_both_sides_of_a_dst_change(tz, before, after):
    # Given a daily 08:00 rule that has just run, the day before the change
    assert local(latest_run_at("daily", 8, tz, before), tz)[11:16] == "08:00"
    # When its next run is set, it is 08:00 on the clocks of the day of the change
    following = next_run_after("daily", 8, tz, before)
    assert local(following, tz) == after
    # And the day after too
    assert local(next_run_after("daily", 8, tz, following), tz)[11:16] == "08:00"


def test_a_daily_rule_whose_hour_is_skipped_runs_at_the_next_hour_that_exists():
    # Given a daily 02:00 rule in New York; on 2027-03-14 the clocks jump from 02:00 to 03:00
    following = next_run_after("daily", 2, NEW_YORK, utc(2027, 3, 13, 12))
    # Then it runs at 03:00 that day, and at 02:00 again the day after
    assert local(following, NEW_YORK) == "2027-03-14 03:00 EDT"
    assert local(next_run_after("daily", 2, NEW_YORK, following), NEW_YORK) == (
        "2027-03-15 02:00 EDT"
    )


def test_a_daily_rule_in_a_repeated_hour_runs_once_at_its_first_pass():
    # Given a daily 01:00 rule in New York; on 2026-11-01 01:00 comes twice (EDT, then EST)
    following = next_run_after("daily", 1, NEW_YORK, utc(2026, 10, 31, 12))
    # Then it runs at the first 01:00 only; the next run is the day after
    assert local(following, NEW_YORK) == "2026-11-01 01:00 EDT"
    assert local(next_run_after("daily", 1, NEW_YORK, following), NEW_YORK) == (
        "2026-11-02 01:00 EST"
    )


def test_an_hourly_rule_runs_every_real_hour_through_a_repeated_hour_in_two_windows():
    # Given an hourly rule in New York at 00:30 EDT on the fall-back night
    runs, at = [], utc(2026, 11, 1, 4, 30)
    for _ in range(3):
        at = next_run_after("hourly", None, NEW_YORK, at)
        runs.append(at)
    # Then it runs one hour apart, twice at 01:00, each its own window
    assert [r - runs[0] for r in runs] == [timedelta(0), timedelta(hours=1), timedelta(hours=2)]
    assert [window_key(r, NEW_YORK) for r in runs] == [
        "2026-11-01T01:00-04:00",
        "2026-11-01T01:00-05:00",
        "2026-11-01T02:00-05:00",
    ]


def test_rules_after_the_sync_run_on_the_local_quarter_hour_even_in_a_half_hour_zone():
    # Given Kolkata (UTC+05:30) at 10:07 local
    at = datetime(2026, 12, 3, 10, 7, tzinfo=ZoneInfo("Asia/Kolkata"))
    # Then the next run is 10:15 local, and an hourly rule's 11:00 local (05:30 UTC)
    assert local(next_run_after("after_sync", None, "Asia/Kolkata", at), "Asia/Kolkata")[11:16] == (
        "10:15"
    )
    assert next_run_after("hourly", None, "Asia/Kolkata", at) == utc(2026, 12, 3, 5, 30)


ZONES = st.sampled_from(
    [
        "UTC",
        NEW_YORK,
        BERLIN,
        "Asia/Kolkata",
        "Asia/Kathmandu",
        "Australia/Lord_Howe",
        "Pacific/Chatham",
        "America/Havana",
        "America/Santiago",
    ]
)
INSTANTS = st.datetimes(
    min_value=datetime(2000, 1, 2), max_value=datetime(2099, 12, 30), timezones=st.just(UTC)
)


@given(
    instant=INSTANTS,
    tz=ZONES,
    plan=st.one_of(
        st.tuples(st.sampled_from(["after_sync", "hourly"]), st.none()),
        st.tuples(st.just("daily"), st.integers(0, 23)),
    ),
)
def test_the_next_run_is_in_the_future_on_the_schedule_with_no_run_in_between(instant, tz, plan):
    schedule, hour = plan
    # When the next run after any instant is set
    following = next_run_after(schedule, hour, tz, instant)
    # Then it is after the instant, and the last run before it is not
    assert following > instant
    assert latest_run_at(schedule, hour, tz, following) == following
    assert latest_run_at(schedule, hour, tz, following - timedelta(microseconds=1)) <= instant
    # And it is on the local clock: a quarter or whole hour, or the daily hour (or the first
    # instant after a switch that skipped it)
    shown = following.astimezone(ZoneInfo(tz))
    if schedule == "after_sync":
        assert shown.minute % 15 == 0
    elif schedule == "hourly":
        assert shown.minute == 0
    else:
        just_before = (following - timedelta(seconds=1)).astimezone(ZoneInfo(tz))
        switched = just_before.utcoffset() != shown.utcoffset()
        assert (shown.hour, shown.minute) == (hour, 0) or switched
