"""When digests are sent: daily at the local hour on both sides of a DST change (New York,
Berlin), weekly on their weekday; each run enqueues one delivery per channel for its window,
however often the job runs; a disabled digest stays quiet; another workspace's digests are
left alone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from metricx.db import new_session, transaction
from metricx.digests.due import (
    dedupe_key,
    ensure_default_digests,
    latest_run_at,
    next_run_after,
    run_due_digests,
)
from metricx.models import Delivery, Digest
from metricx.services.users import add_user

NEW_YORK, BERLIN = "America/New_York", "Europe/Berlin"


def deliveries(workspace_id: int) -> list[tuple[str, str, dict]]:
    with new_session() as session:
        return [
            (row.dedupe_key, row.target, row.payload)
            for row in session.scalars(
                select(Delivery).where(Delivery.workspace_id == workspace_id).order_by(Delivery.id)
            )
        ]


def digest(workspace_id: int, cadence: str) -> Digest:
    with new_session() as session:
        row = session.scalar(
            select(Digest).where(Digest.workspace_id == workspace_id, Digest.cadence == cadence)
        )
        assert row is not None
        return row


def set_digest(workspace_id: int, cadence: str, **values: object) -> None:
    with transaction() as session:
        row = session.scalar(
            select(Digest).where(Digest.workspace_id == workspace_id, Digest.cadence == cadence)
        )
        assert row is not None
        for name, value in values.items():
            setattr(row, name, value)


def local(instant: datetime, tz: str) -> datetime:
    return instant.astimezone(ZoneInfo(tz))


def defaults(workspace_id: int, now: datetime) -> None:
    with transaction() as session:
        ensure_default_digests(session, workspace_id, now)


@pytest.mark.parametrize(
    ("tz", "switch"),
    [
        (NEW_YORK, date(2026, 3, 8)),  # spring forward
        (NEW_YORK, date(2026, 11, 1)),  # fall back
        (BERLIN, date(2026, 3, 29)),
        (BERLIN, date(2026, 10, 25)),
    ],
)
def test_a_daily_digest_runs_at_eight_local_on_both_sides_of_a_dst_change(
    db, tz: str, switch: date
):
    from metricx.services.workspaces import create_workspace

    # Given a workspace in `tz` with its default digests, set up two days before a DST switch
    workspace = create_workspace("Zoned", tz, "USD")
    add_user(workspace.id, "ada@zoned.test", "correct horse", role="admin")
    start = datetime(switch.year, switch.month, switch.day, tzinfo=ZoneInfo(tz)) - timedelta(days=2)
    defaults(workspace.id, start)
    set_digest(workspace.id, "weekly", enabled=False)
    # When the job runs every quarter hour for four days
    runs = []
    moment = start.astimezone(UTC)
    while moment < start + timedelta(days=4):
        if run_due_digests(workspace.id, moment):
            runs.append(moment)
        moment += timedelta(minutes=15)
    # Then it sent once a day, each time at 08:00 local, whatever the offset that day
    assert [local(r, tz).strftime("%m-%d %H:%M") for r in runs] == [
        (start + timedelta(days=d)).strftime("%m-%d 08:00") for d in range(4)
    ]
    offsets = {local(r, tz).utcoffset() for r in runs}
    assert len(offsets) == 2
    # And each run covers the day before its own
    windows = [payload["start"] for _, _, payload in deliveries(workspace.id)]
    assert windows == [str((start + timedelta(days=d - 1)).date()) for d in range(4)]


def test_a_weekly_digest_runs_on_its_weekday_for_the_seven_days_before(admin):
    workspace_id = admin.workspace_id
    # Given a weekly digest on Wednesdays at 09:00 (New York), the daily one off
    monday = datetime(2026, 11, 16, 12, tzinfo=UTC)
    defaults(workspace_id, monday)
    set_digest(workspace_id, "daily", enabled=False)
    set_digest(
        workspace_id,
        "weekly",
        weekday=2,
        local_hour=9,
        next_run_at=next_run_after(9, 2, NEW_YORK, monday),
    )
    # When the job runs every hour for two weeks
    runs = []
    moment = monday
    while moment < monday + timedelta(days=14):
        if run_due_digests(workspace_id, moment):
            runs.append(local(moment, NEW_YORK))
        moment += timedelta(hours=1)
    # Then it ran on the two Wednesdays at 09:00, each for the Wednesday-to-Tuesday before
    assert [r.strftime("%a %m-%d %H:%M") for r in runs] == ["Wed 11-18 09:00", "Wed 11-25 09:00"]
    assert [(p["start"], p["end"], p["cadence"]) for _, _, p in deliveries(workspace_id)] == [
        ("2026-11-11", "2026-11-17", "weekly"),
        ("2026-11-18", "2026-11-24", "weekly"),
    ]


def test_a_run_repeated_sends_once_per_channel(admin):
    workspace_id = admin.workspace_id
    # Given a second admin, and the daily digest due at 08:00 on Nov 20 (New York)
    add_user(workspace_id, "grace@acme.test", "another horse", role="admin")
    defaults(workspace_id, datetime(2026, 11, 19, 14, tzinfo=UTC))
    set_digest(workspace_id, "weekly", enabled=False)
    due_at = digest(workspace_id, "daily").next_run_at
    assert due_at == datetime(2026, 11, 20, 13, tzinfo=UTC)
    # When the job runs at 08:00, then again while it is still due (a retry after a crash
    # before the schedule moved) and later
    first = run_due_digests(workspace_id, due_at)
    set_digest(workspace_id, "daily", next_run_at=due_at)
    second = run_due_digests(workspace_id, due_at + timedelta(minutes=15))
    third = run_due_digests(workspace_id, due_at + timedelta(hours=2))
    # Then one delivery per admin was enqueued, once, under the digest's dedupe key
    assert (first, second, third) == (2, 0, 0)
    daily_id = digest(workspace_id, "daily").id
    assert [(key, target) for key, target, _ in deliveries(workspace_id)] == [
        (dedupe_key(daily_id, date(2026, 11, 19), "email", email), email)
        for email in ("ada@acme.test", "grace@acme.test")
    ]
    # And its next run is tomorrow at 08:00
    assert digest(workspace_id, "daily").next_run_at == datetime(2026, 11, 21, 13, tzinfo=UTC)


def test_a_late_job_sends_the_latest_window_once_and_moves_on(admin):
    workspace_id = admin.workspace_id
    # Given the daily digest due Nov 20 at 08:00, and no job until Nov 23 at 10:00
    defaults(workspace_id, datetime(2026, 11, 19, 14, tzinfo=UTC))
    set_digest(workspace_id, "weekly", enabled=False)
    late = datetime(2026, 11, 23, 15, tzinfo=UTC)
    # When the job runs
    assert run_due_digests(workspace_id, late) == 1
    # Then it sent Nov 22 (yesterday of the latest 08:00), once, and is next due Nov 24
    assert [p["start"] for _, _, p in deliveries(workspace_id)] == ["2026-11-22"]
    assert digest(workspace_id, "daily").next_run_at == datetime(2026, 11, 24, 13, tzinfo=UTC)


def test_a_disabled_digest_is_not_sent(admin):
    workspace_id = admin.workspace_id
    # Given both digests turned off
    monday = datetime(2026, 11, 23, 12, tzinfo=UTC)
    defaults(workspace_id, monday - timedelta(days=1))
    set_digest(workspace_id, "daily", enabled=False)
    set_digest(workspace_id, "weekly", enabled=False)
    # When the job runs on a Monday after 08:00
    # Then nothing is enqueued
    assert run_due_digests(workspace_id, monday + timedelta(hours=2)) == 0
    assert deliveries(workspace_id) == []


def test_another_workspaces_digests_are_untouched(admin, other_workspace):
    # Given both workspaces with their default digests, due at the same instant
    add_user(other_workspace.id, "hans@globex.test", "kein pferd", role="admin")
    start = datetime(2026, 11, 19, 0, tzinfo=UTC)
    defaults(admin.workspace_id, start)
    defaults(other_workspace.id, start)
    theirs = digest(other_workspace.id, "daily").next_run_at
    # When the job runs for the first workspace, late enough for both
    assert run_due_digests(admin.workspace_id, datetime(2026, 11, 20, 20, tzinfo=UTC)) == 1
    # Then the other workspace's digest has not moved, nor been sent
    assert digest(other_workspace.id, "daily").next_run_at == theirs
    assert digest(other_workspace.id, "daily").last_run_at is None
    assert deliveries(other_workspace.id) == []


def test_default_digests_are_added_once_and_a_changed_one_is_kept(admin):
    workspace_id = admin.workspace_id
    # Given the defaults, then the daily one changed to 07:00
    now = datetime(2026, 11, 19, 14, tzinfo=UTC)
    defaults(workspace_id, now)
    set_digest(workspace_id, "daily", local_hour=7)
    # When the defaults are ensured again
    defaults(workspace_id, now)
    # Then there are still two, daily at 07:00 and weekly on Monday at 08:00, to the defaults
    with new_session() as session:
        rows = session.scalars(
            select(Digest).where(Digest.workspace_id == workspace_id).order_by(Digest.cadence)
        ).all()
        assert [(r.cadence, r.local_hour, r.weekday, r.channels, r.enabled) for r in rows] == [
            ("daily", 7, None, [], True),
            ("weekly", 8, 0, [], True),
        ]


ZONES = st.sampled_from([NEW_YORK, BERLIN, "Australia/Lord_Howe", "UTC", "Asia/Kolkata"])
INSTANTS = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)


@settings(max_examples=200, deadline=None)
@given(
    tz=ZONES,
    instant=INSTANTS,
    hour=st.integers(0, 23),
    weekday=st.one_of(st.none(), st.integers(0, 6)),
)
def test_slots_bracket_every_instant_on_the_right_day(tz, instant, hour, weekday):
    # Given any zone, instant, hour and (for weekly digests) weekday
    # When the run an instant belongs to and the next one are taken
    before = latest_run_at(hour, weekday, tz, instant)
    after = next_run_after(hour, weekday, tz, instant)
    # Then they bracket the instant, at most a day (or a week) apart, on the digest's weekday
    assert before <= instant < after
    assert after - before <= timedelta(days=1 if weekday is None else 7, hours=1)
    for slot in (before, after):
        day = slot.astimezone(ZoneInfo(tz))
        if weekday is not None:
            assert day.weekday() == weekday
        # And each is at the local hour, or at the switch when DST skips that hour
        assert (
            day.hour == hour
            or day.utcoffset() != (slot - timedelta(hours=2)).astimezone(ZoneInfo(tz)).utcoffset()
        )
    # And the next slot after the latest one is the next one
    assert next_run_after(hour, weekday, tz, before) == after
