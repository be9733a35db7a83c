"""A window of days that cannot be synced is refused before anything about the connection
changes: a typo in `metricx sync --start/--end` or the resync form never flags a healthy
connection."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sandbox_fixtures import NOW
from sqlalchemy import select

from metricx.connection_store import get_connection
from metricx.db import new_session
from metricx.jobs import enqueue_sync
from metricx.models import SyncRun
from metricx.queue import QUEUE_NAMES, get_queue
from metricx.semantic.dates import today_in
from metricx.sync.pipeline import sync_connection
from metricx.sync.window import EARLIEST_ZONE, WindowError, months_before

# (what is wrong, days before the account's today of start and end, or a fixed date, words)
BAD_WINDOWS = [
    ("end before start", 2, 5, "is after the end"),
    ("end in the future", 3, -2, "is in the future"),
    ("start beyond the platforms' 37 months", "38 months", 1, "37 months"),
    ("year 1", date(1, 1, 1), 1, "37 months"),
    ("year 9999", 1, date(9999, 12, 31), "is in the future"),
]


def day(today: date, spec: int | str | date) -> date:
    if isinstance(spec, date):
        return spec
    if isinstance(spec, str):
        return months_before(today, int(spec.split()[0]))
    return today - timedelta(days=spec)


def runs_of(connection_id: int) -> list[str]:
    with new_session() as session:
        return list(
            session.scalars(
                select(SyncRun.status)
                .where(SyncRun.connection_id == connection_id)
                .order_by(SyncRun.id)
            )
        )


@pytest.fixture
def healthy(fakes, connections):
    """The Meta connection after a successful sync (so its time zone is known)."""
    meta = connections["meta"]
    assert sync_connection(meta.workspace_id, meta.id, "intraday", now=NOW).status == "success"
    return get_connection(meta.workspace_id, meta.id)


@pytest.mark.parametrize("problem, start, end, words", BAD_WINDOWS, ids=[w[0] for w in BAD_WINDOWS])
def test_a_bad_window_is_refused_and_the_connection_stays_as_it_was(
    fakes, healthy, problem, start, end, words
):
    now = datetime.now(UTC)
    today = today_in(healthy.timezone, now)
    first, last = day(today, start), day(today, end)
    asked_before = len(fakes.requests)
    # When the window is synced here, or queued for a worker
    with pytest.raises(WindowError, match=words):
        sync_connection(healthy.workspace_id, healthy.id, "range", start=first, end=last, now=now)
    with pytest.raises(WindowError, match=words):
        enqueue_sync(healthy.workspace_id, healthy.id, "range", start=first, end=last, queue="high")
    # Then the connection is as healthy as before: no run, no error, nothing asked or queued
    after = get_connection(healthy.workspace_id, healthy.id)
    assert (after.status, after.last_error) == ("active", None)
    assert runs_of(healthy.id) == ["success"]
    assert len(fakes.requests) == asked_before
    assert [get_queue(name).count for name in QUEUE_NAMES] == [0, 0, 0]


def test_a_window_found_future_once_the_account_zone_is_read_fails_only_the_run(fakes, connections):
    # Given a connection never synced (its zone unknown), and a day that has begun at UTC+14
    # but not yet in the account's zone
    meta = connections["meta"]
    zone = fakes.merchant.account(meta.external_account_id).timezone
    tomorrow = today_in(EARLIEST_ZONE, NOW)
    assert today_in(zone, NOW) < tomorrow
    # When that day is synced
    outcome = sync_connection(
        meta.workspace_id, meta.id, "range", start=tomorrow, end=tomorrow, now=NOW
    )
    # Then the run fails saying why, and the connection stays active
    assert outcome.status == "failed" and "is in the future" in outcome.error
    assert runs_of(meta.id) == ["failed"]
    assert get_connection(meta.workspace_id, meta.id).status == "active"


def test_a_good_window_still_syncs(fakes, healthy):
    today = today_in(healthy.timezone, NOW)
    outcome = sync_connection(
        healthy.workspace_id,
        healthy.id,
        "range",
        start=today - timedelta(days=3),
        end=today - timedelta(days=1),
        now=NOW,
    )
    assert outcome.status == "success" and outcome.rows > 0
