"""Putting syncs on the queue: which connections, which kind, with what retry policy.

Job ids are deterministic (connection + kind + window), so a job enqueued twice while the
first is still waiting is refused instead of run twice; and even if two ran, the sync itself
is idempotent (S1) and serialised by the connection's lease and write lock (`sync.runs`).
A window of days is checked here too, so a bad one is refused before anything is queued.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from rq import Retry
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job, JobStatus
from rq.results import Result
from sqlalchemy import select

from metricx.db import new_session
from metricx.models import Connection
from metricx.queue import get_queue, get_redis
from metricx.services.connections import get_connection
from metricx.sync.window import refuse_bad_window

# Throttling and 5xx: RQ retries after 30 s, 2 min, then 10 min (workers run --with-scheduler).
RETRY = Retry(max=3, interval=[30, 120, 600])
SYNC_JOB = "workers.jobs.sync_connection"
JOB_TIMEOUT_S = 3600


@dataclass(frozen=True)
class Enqueued:
    connection_id: int
    job_id: str | None  # None when an identical job was already waiting


def active_connections(provider_in: tuple[str, ...] | None = None) -> list[tuple[int, int]]:
    """(workspace_id, connection_id) of every connection a schedule should sync."""
    with new_session() as session:
        query = select(Connection.workspace_id, Connection.id).where(
            Connection.status.in_(("active", "error")))
        if provider_in:
            query = query.where(Connection.provider.in_(provider_in))
        return [tuple(row) for row in session.execute(query.order_by(Connection.id))]


def workspaces_with_shops() -> list[int]:
    """Workspaces with a Shopify connection that is not paused (whose orders to attribute)."""
    with new_session() as session:
        return list(session.scalars(
            select(Connection.workspace_id).distinct()
            .where(Connection.provider == "shopify", Connection.status != "paused")
            .order_by(Connection.workspace_id)))


def job_id_for(connection_id: int, kind: str, start: date | None, end: date | None) -> str:
    window = f"-{start}-{end}" if start or end else ""
    return f"sync-{connection_id}-{kind}{window}"


def enqueue_sync(workspace_id: int, connection_id: int, kind: str, *,
                 start: date | None = None, end: date | None = None,
                 queue: str = "default") -> Enqueued:
    if start or end:
        refuse_bad_window(get_connection(workspace_id, connection_id), kind, start, end,
                          datetime.now(UTC))
    job_id = job_id_for(connection_id, kind, start, end)

    def enqueue() -> None:
        get_queue(queue).enqueue(
            SYNC_JOB, workspace_id, connection_id, kind, start, end, job_id=job_id,
            unique=True, retry=RETRY, job_timeout=JOB_TIMEOUT_S, result_ttl=86400,
            failure_ttl=7 * 86400, description=f"{kind} sync of connection {connection_id}")

    try:
        enqueue()
    except DuplicateJobError:
        previous = Job.fetch(job_id, connection=get_redis())
        if not previous.is_finished and not previous.is_failed and not previous.is_canceled \
                and not previous.is_stopped:
            return Enqueued(connection_id, None)  # the same sync is already waiting or running
        previous.delete()  # done long ago: its id is free for a new run
        enqueue()
    return Enqueued(connection_id, job_id)


def fail_abandoned_job(job_id: str, reason: str, *, started_before: datetime) -> bool:
    """Mark failed the RQ job of a sync whose worker died, as RQ does for an abandoned job, but
    at once: RQ notices only when the worker's heartbeat lapses, and its deterministic id
    refuses the connection's next sync meanwhile. A job of that id that started after
    `started_before` (the dead run's start) is a newer sync's and is left alone."""
    try:
        job = Job.fetch(job_id, connection=get_redis())
    except NoSuchJobError:
        return False
    if job.get_status() != JobStatus.STARTED or job.started_at is None \
            or job.started_at > started_before:
        return False
    with get_redis().pipeline() as pipeline:
        job.started_job_registry.remove_executions(job, pipeline=pipeline)
        job.set_status(JobStatus.FAILED, pipeline=pipeline)
        job.failed_job_registry.add(job, ttl=job.failure_ttl, exc_string=reason,
                                    pipeline=pipeline)
        Result.create_failure(job, job.failure_ttl, exc_string=reason, pipeline=pipeline)
        pipeline.execute()
    return True


def job_progress(job_id: str) -> dict:
    """What a UI shows for a job: status, progress meta, result or error."""
    job = Job.fetch(job_id, connection=get_redis())
    return {"status": job.get_status(refresh=True).value, **job.meta,
            "error": (job.latest_result().exc_string.strip().splitlines()[-1]
                      if job.is_failed and job.latest_result() else None)}
