"""Bookkeeping around every sync: who may sync a connection, and its sync_runs row.

Three guards, each for what the others cannot see:
- a lease in Redis that the running sync renews from a heartbeat thread: one job per
  connection across all workers, and a worker killed mid-sync frees its connection once the
  lease lapses (SYNC_LEASE_SECONDS), not an hour later;
- a PostgreSQL advisory lock per connection, taken first in every transaction that writes the
  connection's facts (`connection_writes`): two syncs' writes never interleave, each is
  computed from the rows as the previous one left them, so S1 holds even when the lease is
  lost (Redis restarted, flushed or unreachable);
- the reaper: a `running` run whose lease is gone belongs to a sync that died; the run and
  its RQ job are marked failed, so the job's id is free for the next sync.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, cast
from uuid import uuid4

from redis.exceptions import LockError, LockNotOwnedError, RedisError
from redis.lock import Lock
from sqlalchemy import CursorResult, case, select, text, update
from sqlalchemy.orm import Session

from metricx.config import ConfigError, get_config
from metricx.db import transaction
from metricx.errors import MetricxError
from metricx.models import Connection, SyncRun
from metricx.queue import get_redis
from metricx.sync.scheduling import fail_abandoned_job

log = logging.getLogger(__name__)

#: A sync's progress sink: (done, total, stage), shown on Connections (metricx/jobs.py).
Progress = Callable[[int, int, str], None]
HEALED_BY_SUCCESS = ("error", "upgrade_needed", "misconfigured", "blocked")
WORKER_STOPPED = "the worker stopped while syncing (its lease lapsed); the next sync starts over"
# The advisory-lock key space of connections' writes (the two-key form: this, connection id).
WRITES_LOCK_SPACE = 0x4D58


class SyncBusyError(MetricxError):
    """Another job is syncing this connection; this one should retry later."""


def lease_key(connection_id: int) -> str:
    return f"metricx:sync:{connection_id}"


def run_holder(run_id: int) -> str:
    """What a sync's lease holds: its run, so the reaper can tell a live run from a dead one."""
    return f"sync-run:{run_id}"


def lease_seconds() -> int:
    seconds = get_config().sync_lease_seconds
    if seconds < 1:
        raise ConfigError(f"SYNC_LEASE_SECONDS must be at least 1, got {seconds}")
    return seconds


def _renew(lock: Lock, every_s: float, stop: threading.Event, connection_id: int) -> None:
    """The heartbeat: push the lease's expiry out again every third of its length."""
    while not stop.wait(every_s):
        try:
            lock.reacquire()
        except LockNotOwnedError:
            # Lapsed (Redis restarted, or this process stalled longer than the lease): another
            # sync may start; the write lock still keeps the two from interleaving.
            log.warning("connection %s: the sync's lease was lost", connection_id)
            return
        except RedisError as error:
            log.warning("connection %s: could not renew the sync's lease: %s", connection_id, error)


@contextmanager
def connection_lock(
    connection_id: int, wait_s: float = 5, *, holder: str | None = None
) -> Iterator[None]:
    """Hold the connection's lease (one sync or redaction at a time, across all workers) for
    the block, renewed while it runs; `holder` is what the lease says holds it."""
    ttl = lease_seconds()
    # thread_local=False: the heartbeat thread renews with the token this thread acquired.
    lock = get_redis().lock(
        lease_key(connection_id), timeout=ttl, blocking_timeout=wait_s, thread_local=False
    )
    if not lock.acquire(token=holder or uuid4().hex):
        raise SyncBusyError(f"connection {connection_id} is being synced by another job")
    stop = threading.Event()
    heartbeat = threading.Thread(
        target=_renew,
        args=(lock, ttl / 3, stop, connection_id),
        name=f"sync-lease-{connection_id}",
        daemon=True,
    )
    heartbeat.start()
    try:
        yield
    finally:
        stop.set()
        heartbeat.join()
        with suppress(LockError):  # lapsed meanwhile: nothing of ours left to release
            lock.release()


@contextmanager
def connection_writes(connection_id: int) -> Iterator[Session]:
    """A transaction that first waits for the connection's write lock and holds it until it
    commits or rolls back: the connection's writes are applied one transaction at a time."""
    with transaction() as session:
        session.execute(
            text("SELECT pg_advisory_xact_lock(:space, :connection)"),
            {"space": WRITES_LOCK_SPACE, "connection": connection_id},
        )
        yield session


def new_run_id() -> int:
    """The id the next run will have, drawn before its lease is taken so the lease can name it
    (a sync refused as busy leaves a gap in the ids, nothing else)."""
    with transaction() as session:
        return session.execute(
            text("SELECT nextval(pg_get_serial_sequence('sync_runs', 'id'))")
        ).scalar_one()


def reap_orphaned_runs() -> int:
    """Mark failed every `running` run whose lease is gone (its sync's process died: a worker
    killed, a machine lost), with its RQ job; returns how many. The connection itself is free
    once the lease has lapsed; its status is left as the last finished sync set it."""
    with transaction() as session:
        running = session.execute(
            select(SyncRun.id, SyncRun.connection_id, SyncRun.job_id, SyncRun.started_at).where(
                SyncRun.status == "running"
            )
        ).all()
    if not running:
        return 0
    holders = get_redis().mget([lease_key(run.connection_id) for run in running])
    orphans = [
        run
        for run, holder in zip(running, holders, strict=True)
        if holder is None
        or (holder.decode() if isinstance(holder, bytes) else holder) != run_holder(run.id)
    ]
    reaped = 0
    now = datetime.now(UTC)
    for run in orphans:
        with transaction() as session:
            # Only if still running: a run that finished since it was read keeps its outcome.
            # An UPDATE's result is a CursorResult (Session.execute is typed for any Result).
            marked = cast(
                CursorResult[Any],
                session.execute(
                    update(SyncRun)
                    .where(SyncRun.id == run.id, SyncRun.status == "running")
                    .values(status="failed", error=WORKER_STOPPED, finished_at=now)
                ),
            ).rowcount
            if marked:
                session.execute(
                    update(Connection)
                    .where(Connection.id == run.connection_id)
                    .values(last_error=WORKER_STOPPED)
                )
        if marked and run.job_id:
            fail_abandoned_job(run.job_id, WORKER_STOPPED, started_before=run.started_at)
        reaped += marked
    if reaped:
        log.warning("marked %d orphaned sync run(s) failed", reaped)
    return reaped


@dataclass
class RunRecorder:
    """Writes the sync_runs row as a run starts and ends (in transactions of their own, so
    the record survives whatever happens to the sync's own transactions)."""

    workspace_id: int
    connection_id: int
    kind: str
    window_start: date | None = None
    window_end: date | None = None
    job_id: str | None = None
    run_id: int | None = None
    rows_written: int = 0

    def start(self) -> None:
        with transaction() as session:
            run = SyncRun(
                id=self.run_id,
                workspace_id=self.workspace_id,
                connection_id=self.connection_id,
                kind=self.kind,
                window_start=self.window_start,
                window_end=self.window_end,
                status="running",
                job_id=self.job_id,
            )
            session.add(run)
            session.flush()
            self.run_id = run.id

    def finish(self, *, error: str | None = None, connection_status: str | None = None) -> None:
        now = datetime.now(UTC)
        with transaction() as session:
            session.execute(
                update(SyncRun)
                .where(SyncRun.id == self.run_id)
                .values(
                    status="failed" if error else "success",
                    rows_written=self.rows_written,
                    error=error,
                    window_start=self.window_start,
                    window_end=self.window_end,
                    finished_at=now,
                )
            )
            values: dict[str, object] = {"last_error": error}
            if error is None:
                values["last_synced_at"] = now
                # A success heals what the platform said; halted states are a person's call.
                values["status"] = case(
                    (Connection.status.in_(HEALED_BY_SUCCESS), "active"), else_=Connection.status
                )
            if connection_status:
                values["status"] = connection_status
            session.execute(
                update(Connection)
                .where(
                    Connection.id == self.connection_id,
                    Connection.workspace_id == self.workspace_id,
                )
                .values(**values)
            )
