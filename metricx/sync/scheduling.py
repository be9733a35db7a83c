"""What the schedule's jobs start from and what a sync job's state is: which connections and
shops to sync, the retry policy, an abandoned job failed at once, a job's progress for a page.
Queueing itself is metricx.jobs (the job registry).
"""

from __future__ import annotations

from datetime import datetime

from rq import Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.results import Result
from sqlalchemy import select

from metricx.db import new_session
from metricx.models import Connection
from metricx.queue import get_redis

# Throttling and 5xx: RQ retries after 30 s, 2 min, then 10 min (workers run --with-scheduler).
RETRY = Retry(max=3, interval=[30, 120, 600])
JOB_TIMEOUT_S = 3600


def active_connections(provider_in: tuple[str, ...] | None = None) -> list[tuple[int, int]]:
    """(workspace_id, connection_id) of every connection a schedule should sync."""
    with new_session() as session:
        query = select(Connection.workspace_id, Connection.id).where(
            Connection.status.in_(("active", "error"))
        )
        if provider_in:
            query = query.where(Connection.provider.in_(provider_in))
        return [
            (workspace_id, connection_id)
            for workspace_id, connection_id in session.execute(query.order_by(Connection.id))
        ]


def workspaces_with_shops() -> list[int]:
    """Workspaces with a Shopify connection that is not paused (whose orders to attribute)."""
    with new_session() as session:
        return list(
            session.scalars(
                select(Connection.workspace_id)
                .distinct()
                .where(Connection.provider == "shopify", Connection.status != "paused")
                .order_by(Connection.workspace_id)
            )
        )


def fail_abandoned_job(job_id: str, reason: str, *, started_before: datetime) -> bool:
    """Mark failed the RQ job of a sync whose worker died, as RQ does for an abandoned job, but
    at once: RQ notices only when the worker's heartbeat lapses, and its deterministic id
    refuses the connection's next sync meanwhile. A job of that id that started after
    `started_before` (the dead run's start) is a newer sync's and is left alone."""
    try:
        job = Job.fetch(job_id, connection=get_redis())
    except NoSuchJobError:
        return False
    if (
        job.get_status() != JobStatus.STARTED
        or job.started_at is None
        or job.started_at > started_before
    ):
        return False
    with get_redis().pipeline() as pipeline:
        job.started_job_registry.remove_executions(job, pipeline=pipeline)
        job.set_status(JobStatus.FAILED, pipeline=pipeline)
        job.failed_job_registry.add(job, ttl=job.failure_ttl, exc_string=reason, pipeline=pipeline)
        Result.create_failure(job, job.failure_ttl, exc_string=reason, pipeline=pipeline)
        pipeline.execute()
    return True


def job_progress(job_id: str) -> dict:
    """What a UI shows for a job: status, progress meta, result or error."""
    job = Job.fetch(job_id, connection=get_redis())
    result = job.latest_result() if job.is_failed else None
    error = result.exc_string if result is not None else None
    return {
        "status": job.get_status(refresh=True).value,
        **job.meta,
        "error": error.strip().splitlines()[-1] if error is not None else None,
    }
