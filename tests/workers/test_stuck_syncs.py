"""A worker killed in the middle of a sync (kill -9) no longer blocks its connection: the
sync's lease lapses within SYNC_LEASE_SECONDS, and the reaper (at a worker's start, and on the
schedule) marks the run it left `running` failed, with its RQ job, so the sync can run again."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

import psutil
import pytest
from rq import SimpleWorker
from rq.job import Job
from sandbox_fixtures import platform_day_totals, stored_day_totals
from sqlalchemy import select

from metricx.config import PROJECT_ROOT
from metricx.connection_store import get_connection
from metricx.db import new_session
from metricx.jobs import SCHEDULE, enqueue_sync
from metricx.models import SyncRun
from metricx.queue import get_queue
from metricx.sync.runs import (
    WORKER_STOPPED,
    RunRecorder,
    connection_lock,
    lease_key,
    new_run_id,
    run_holder,
)

LEASE_S = 2
FIRST, LAST = date(2026, 11, 10), date(2026, 11, 16)


class HeldInsights:
    """Meta answers no insights request until `release()`: a sync stuck mid-way."""

    def __init__(self, fakes, monkeypatch: pytest.MonkeyPatch) -> None:
        self.reached = threading.Event()
        self._go = threading.Event()
        dispatch = fakes.meta.dispatch

        def held(request):
            if "insights" in request.path:
                self.reached.set()
                self._go.wait(60)
            return dispatch(request)

        monkeypatch.setattr(fakes.meta, "dispatch", held)

    def release(self) -> None:
        self._go.set()


@pytest.fixture
def held_insights(fakes, monkeypatch):
    held = HeldInsights(fakes, monkeypatch)
    yield held
    held.release()


def worker_command(log: Path, *args: str) -> subprocess.Popen[bytes]:
    """`metricx worker` as an operator runs it (the test's settings are in the environment)."""
    with log.open("ab") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "metricx.cli", "worker", *args],
            cwd=PROJECT_ROOT,
            start_new_session=True,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def kill_9(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the worker and everything it started (its work horse, its scheduler)."""
    with_children = [psutil.Process(process.pid)]
    with_children += with_children[0].children(recursive=True)
    for proc in with_children:
        proc.kill()
    process.wait(timeout=10)


def runs_of(connection_id: int) -> list[SyncRun]:
    with new_session() as session:
        return list(
            session.scalars(
                select(SyncRun).where(SyncRun.connection_id == connection_id).order_by(SyncRun.id)
            )
        )


def test_a_worker_killed_mid_sync_frees_its_connection_within_the_lease(
    fakes, connections, redis_conn, setenv, held_insights, tmp_path
):
    # Given a short lease, and a resync queued for a worker (the real `metricx worker`)
    setenv(SYNC_LEASE_SECONDS=str(LEASE_S))
    meta = connections["meta"]
    queued = enqueue_sync(meta.workspace_id, meta.id, "range", start=FIRST, end=LAST, queue="high")
    log = tmp_path / "worker.log"
    worker = worker_command(log, "--burst")
    try:
        assert held_insights.reached.wait(120), log.read_text()
        [run] = runs_of(meta.id)
        assert run.status == "running" and redis_conn.exists(lease_key(meta.id))
        # When the worker is killed -9 while Meta is still answering
        kill_9(worker)
    finally:
        if worker.poll() is None:
            kill_9(worker)
    killed_at = time.monotonic()
    held_insights.release()
    # Then the connection is free again once the lease lapses, not an hour later
    while redis_conn.exists(lease_key(meta.id)):
        assert time.monotonic() - killed_at < LEASE_S + 5, "the lease outlived the worker"
        time.sleep(0.05)
    assert time.monotonic() - killed_at <= LEASE_S + 1
    # ...though RQ still counts the dead job as started, so the same resync is refused
    assert (
        enqueue_sync(
            meta.workspace_id, meta.id, "range", start=FIRST, end=LAST, queue="high"
        ).job_id
        is None
    )
    # When the next worker starts (it reaps before taking work)
    assert worker_command(log, "--burst").wait(timeout=120) == 0, log.read_text()
    # Then the orphaned run and its job are failed, saying why, and the connection is active
    [run] = runs_of(meta.id)
    assert (run.status, run.error) == ("failed", WORKER_STOPPED) and run.finished_at
    assert Job.fetch(queued.job_id, connection=redis_conn).is_failed
    after = get_connection(meta.workspace_id, meta.id)
    assert (after.status, after.last_error) == ("active", WORKER_STOPPED)
    # And the same resync is queued again and completes, every number exact
    again = enqueue_sync(meta.workspace_id, meta.id, "range", start=FIRST, end=LAST, queue="high")
    assert again.job_id == queued.job_id
    SimpleWorker([get_queue("high")], connection=redis_conn).work(burst=True)
    assert Job.fetch(again.job_id, connection=redis_conn).return_value()["status"] == "success"
    assert [r.status for r in runs_of(meta.id)] == ["failed", "success"]
    account = fakes.merchant.account(meta.external_account_id)
    days = [date(2026, 11, d) for d in range(FIRST.day, LAST.day + 1)]
    assert stored_day_totals(meta.id, account.timezone, days) == platform_day_totals(
        fakes.merchant, account.external_id, days, fakes.now
    )


def started_run(connection) -> RunRecorder:
    recorder = RunRecorder(connection.workspace_id, connection.id, "intraday", run_id=new_run_id())
    recorder.start()
    return recorder


def test_the_scheduled_reaper_fails_only_runs_whose_lease_is_gone(connections, redis_conn, setenv):
    setenv(SYNC_LEASE_SECONDS="60")
    meta, google, shop = connections["meta"], connections["google"], connections["shopify"]
    # Given a run whose sync is alive (its lease names it), one whose worker died (no lease),
    # and one whose worker died before another sync took the connection's lease
    alive, dead, superseded = started_run(meta), started_run(google), started_run(shop)
    newer = started_run(shop)
    with (
        connection_lock(meta.id, holder=run_holder(alive.run_id)),
        connection_lock(shop.id, holder=run_holder(newer.run_id)),
    ):
        # When the reaper runs as the schedule has it, on a worker
        [reaper] = [job for job in SCHEDULE if job.id == "metricx-reaper"]
        job = get_queue(reaper.queue).enqueue(reaper.func)
        SimpleWorker([get_queue(reaper.queue)], connection=redis_conn).work(burst=True)
        # Then only the runs without their lease are failed
        assert Job.fetch(job.id, connection=redis_conn).return_value() == 2
        with new_session() as session:
            statuses = dict(session.execute(select(SyncRun.id, SyncRun.status)).all())
    assert statuses == {
        alive.run_id: "running",
        dead.run_id: "failed",
        superseded.run_id: "failed",
        newer.run_id: "running",
    }
