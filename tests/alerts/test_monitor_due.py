"""The monitors' job: every workspace gets each kind once (also when two workers race), each
enabled monitor is checked in its own transaction, a window records its findings once, the
cool-down keeps a split value quiet, a failing check stops no other, and a workspace's
monitors see only its own connections."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from metricx.alerts import monitors
from metricx.alerts.monitor_due import ensure_monitors, evaluate_monitors
from metricx.db import new_session, transaction
from metricx.errors import MetricxError
from metricx.models import MONITOR_KINDS, AlertEvent, AlertMonitor, Connection

#: Friday Nov 20, 2026, 10:07 in New York (the 10:00 window).
NOW = datetime(2026, 11, 20, 15, 7, tzinfo=UTC)


def add_connection(workspace_id: int, provider: str, status: str, name: str) -> int:
    with transaction() as session:
        row = Connection(
            workspace_id=workspace_id,
            provider=provider,
            external_account_id=name,
            name=name,
            status=status,
            last_synced_at=NOW - timedelta(minutes=5),
            created_at=NOW - timedelta(days=10),
        )
        session.add(row)
        session.flush()
        return row.id


def monitors_of(workspace_id: int) -> dict[str, AlertMonitor]:
    with new_session() as session:
        return {
            m.kind: m
            for m in session.scalars(
                select(AlertMonitor).where(AlertMonitor.workspace_id == workspace_id)
            )
        }


def events(workspace_id: int) -> list[tuple[str, str, str | None]]:
    """(monitor kind, window, split value) of the workspace's monitor events, oldest first."""
    with new_session() as session:
        return [
            tuple(row)
            for row in session.execute(
                select(AlertMonitor.kind, AlertEvent.window_key, AlertEvent.split_value)
                .join(AlertMonitor, AlertMonitor.id == AlertEvent.monitor_id)
                .where(AlertEvent.workspace_id == workspace_id)
                .order_by(AlertEvent.id)
            )
        ]


def set_cooldown(workspace_id: int, kind: str, minutes: int) -> None:
    with transaction() as session:
        session.execute(
            update(AlertMonitor)
            .where(AlertMonitor.workspace_id == workspace_id, AlertMonitor.kind == kind)
            .values(cooldown_minutes=minutes)
        )


@pytest.fixture
def ready(workspace):
    """Acme with its monitors and a Meta connection needing re-authorisation."""
    with transaction() as session:
        ensure_monitors(session, workspace.id)
    return workspace.id, add_connection(workspace.id, "meta", "needs_reauth", "Acme EU")


def test_every_kind_is_created_once_enabled_with_defaults(workspace):
    # When the monitors are ensured twice
    for _ in range(2):
        with transaction() as session:
            ensure_monitors(session, workspace.id)
    # Then the workspace has one of each kind, enabled, default channels and cool-down
    found = monitors_of(workspace.id)
    assert sorted(found) == sorted(MONITOR_KINDS)
    assert {
        (m.enabled, m.cooldown_minutes, str(m.params), str(m.channels)) for m in found.values()
    } == {(True, 360, "{}", "[]")}


def test_workers_ensuring_at_once_create_each_kind_once(workspace):
    # Given eight workers that ensure the monitors at the same moment
    start = threading.Barrier(8)
    failures: list[BaseException] = []

    def worker() -> None:
        try:
            with transaction() as session:
                start.wait()
                ensure_monitors(session, workspace.id)
        except BaseException as problem:  # reported by the assertion below
            failures.append(problem)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then none failed and each kind exists once
    assert failures == []
    with new_session() as session:
        assert session.scalar(
            select(func.count()).where(AlertMonitor.workspace_id == workspace.id)
        ) == len(MONITOR_KINDS)


def test_a_window_evaluated_twice_records_its_finding_once(ready):
    workspace_id, broken = ready
    # When the job runs twice at 10:07 and once at 10:14 (the same 10:00 window)
    runs = [evaluate_monitors(workspace_id, NOW + timedelta(minutes=m)) for m in (0, 0, 7)]
    # Then the broken connection was recorded once, in the 10:00 window
    assert events(workspace_id) == [("connection_broken", "2026-11-20T10:00-05:00", str(broken))]
    assert [r["fired"] for r in runs] == [1, 0, 0]
    assert all(r["evaluated"] == len(MONITOR_KINDS) and r["failed"] == 0 for r in runs)
    # And every monitor has run
    assert {m.last_run_at for m in monitors_of(workspace_id).values()} == {
        NOW + timedelta(minutes=7)
    }


def test_the_cooldown_keeps_a_split_value_quiet_but_not_a_new_one(ready):
    workspace_id, broken = ready
    set_cooldown(workspace_id, "connection_broken", 60)
    evaluate_monitors(workspace_id, NOW)
    # When a second connection breaks 15 minutes later, and the job runs then and after an hour
    other = add_connection(workspace_id, "google", "error", "Acme Search")
    evaluate_monitors(workspace_id, NOW + timedelta(minutes=15))
    evaluate_monitors(workspace_id, NOW + timedelta(minutes=68))
    # Then the first is quiet for its hour and speaks again after it; the new one speaks at once
    assert events(workspace_id) == [
        ("connection_broken", "2026-11-20T10:00-05:00", str(broken)),
        ("connection_broken", "2026-11-20T10:15-05:00", str(other)),
        ("connection_broken", "2026-11-20T11:15-05:00", str(broken)),
    ]


def test_a_failing_check_is_counted_and_the_others_still_run(ready, monkeypatch):
    workspace_id, broken = ready

    def failing(workspace_id: int, params: object, now: datetime) -> list:
        raise MetricxError("no EUR->USD rate for 2026-11-20")

    monkeypatch.setitem(
        monitors.KINDS, "data_stale", replace(monitors.KINDS["data_stale"], check=failing)
    )
    # When the job runs
    counts = evaluate_monitors(workspace_id, NOW)
    # Then the failure is counted, the broken connection still recorded, and the failing
    # monitor's run noted (it is tried again next window)
    assert counts == {"evaluated": len(MONITOR_KINDS) - 1, "fired": 1, "failed": 1}
    assert events(workspace_id) == [("connection_broken", "2026-11-20T10:00-05:00", str(broken))]
    assert monitors_of(workspace_id)["data_stale"].last_run_at == NOW


def test_disabled_monitors_are_not_checked(ready):
    workspace_id, _ = ready
    with transaction() as session:
        session.execute(
            update(AlertMonitor)
            .where(
                AlertMonitor.workspace_id == workspace_id, AlertMonitor.kind == "connection_broken"
            )
            .values(enabled=False)
        )
    counts = evaluate_monitors(workspace_id, NOW)
    assert counts == {"evaluated": len(MONITOR_KINDS) - 1, "fired": 0, "failed": 0}
    assert events(workspace_id) == []
    assert monitors_of(workspace_id)["connection_broken"].last_run_at is None


def test_a_workspaces_monitors_never_see_another_workspaces_connections(ready, other_workspace):
    workspace_id, broken = ready
    # Given Globex with a broken connection of its own and its monitors
    theirs = add_connection(other_workspace.id, "meta", "needs_reauth", "Globex DE")
    with transaction() as session:
        ensure_monitors(session, other_workspace.id)
    # When each workspace's job runs
    evaluate_monitors(workspace_id, NOW)
    evaluate_monitors(other_workspace.id, NOW)
    # Then each recorded only its own connection, under its own monitor
    assert [split for _, _, split in events(workspace_id)] == [str(broken)]
    assert events(other_workspace.id) == [
        ("connection_broken", "2026-11-20T16:00+01:00", str(theirs))
    ]
    with new_session() as session:
        crossed = session.scalar(
            select(func.count())
            .select_from(AlertEvent)
            .join(AlertMonitor, AlertMonitor.id == AlertEvent.monitor_id)
            .where(AlertMonitor.workspace_id != AlertEvent.workspace_id)
        )
    assert crossed == 0
