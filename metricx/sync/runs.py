"""Bookkeeping around every sync: one job per connection at a time, and a sync_runs row."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import case, update

from metricx.db import transaction
from metricx.errors import MetricxError
from metricx.models import Connection, SyncRun
from metricx.queue import get_redis

HEALED_BY_SUCCESS = ("error", "upgrade_needed", "misconfigured", "blocked")
LOCK_TIMEOUT_S = 3600


class SyncBusyError(MetricxError):
    """Another job is syncing this connection; this one should retry later."""


@contextmanager
def connection_lock(connection_id: int, wait_s: float = 5) -> Iterator[None]:
    """A Redis lock so a connection is synced by one job at a time, across all workers.
    It expires on its own (LOCK_TIMEOUT_S) if a worker dies holding it."""
    lock = get_redis().lock(f"metricx:sync:{connection_id}", timeout=LOCK_TIMEOUT_S,
                            blocking_timeout=wait_s)
    if not lock.acquire():
        raise SyncBusyError(f"connection {connection_id} is being synced by another job")
    try:
        yield
    finally:
        lock.release()


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
            run = SyncRun(workspace_id=self.workspace_id, connection_id=self.connection_id,
                          kind=self.kind, window_start=self.window_start,
                          window_end=self.window_end, status="running", job_id=self.job_id)
            session.add(run)
            session.flush()
            self.run_id = run.id

    def finish(self, *, error: str | None = None, connection_status: str | None = None) -> None:
        now = datetime.now(UTC)
        with transaction() as session:
            session.execute(update(SyncRun).where(SyncRun.id == self.run_id).values(
                status="failed" if error else "success", rows_written=self.rows_written,
                error=error, finished_at=now))
            values: dict[str, object] = {"last_error": error}
            if error is None:
                values["last_synced_at"] = now
                # A success heals what the platform said; halted states are a person's call.
                values["status"] = case((Connection.status.in_(HEALED_BY_SUCCESS), "active"),
                                        else_=Connection.status)
            if connection_status:
                values["status"] = connection_status
            session.execute(update(Connection).where(
                Connection.id == self.connection_id,
                Connection.workspace_id == self.workspace_id).values(**values))
