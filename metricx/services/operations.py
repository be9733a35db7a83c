"""What an operator checks: queues, workers, the schedule, failed jobs (and requeueing them),
recent sync runs and copilot failures.

Queues, workers and the schedule are shared by every workspace; failed jobs are not: a job
belongs to the workspace named by its first argument (syncs and attribution runs), and a
workspace's admin sees and requeues only those. The schedule's own jobs (no workspace) are
listed read-only; any other job, whose owner cannot be told, is not shown to a workspace.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from rq import Worker
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job
from rq.registry import FailedJobRegistry
from rq_scheduler import Scheduler
from sqlalchemy import select

from metricx.actor import Actor
from metricx.db import new_session, transaction
from metricx.errors import NotFoundError, PermissionDeniedError
from metricx.jobs import WORKSPACE_JOBS, job_name, sync_connection
from metricx.models import CopilotTurn, SyncRun
from metricx.queue import QUEUE_NAMES, get_queue, get_redis
from metricx.services import audit


@dataclass(frozen=True)
class QueueState:
    name: str
    waiting: int


@dataclass(frozen=True)
class FailedJob:
    id: str
    queue: str
    function: str | None  # None: rq could not read the job's function
    description: str | None
    ended_at: datetime | None
    error: str
    workspace_id: int | None  # None: a scheduled, system-wide job (read-only here)

    @property
    def requeueable(self) -> bool:
        return self.workspace_id is not None

    @property
    def is_sync(self) -> bool:
        return self.function == job_name(sync_connection)


def queues() -> list[QueueState]:
    """Jobs waiting per queue (the queues are shared by every workspace)."""
    return [QueueState(name, get_queue(name).count) for name in QUEUE_NAMES]


def workers() -> list[tuple[str, str, str | None]]:
    """(name, state, current job id) of every live worker."""
    return [
        (w.name, w.get_state(), w.get_current_job_id()) for w in Worker.all(connection=get_redis())
    ]


def schedule() -> list[tuple[str, str, datetime]]:
    """(job id, cron, next run in UTC) of the registered schedule."""
    scheduler = Scheduler(queue_name="default", connection=get_redis())
    return [
        (job.id, job.meta.get("cron_string", ""), when.replace(tzinfo=UTC))
        for job, when in scheduler.get_jobs(with_times=True)
    ]


def _last_line(text: str | None) -> str:
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    return lines[-1] if lines else "unknown error"


def _owner(job: Job) -> int | None:
    """The workspace a job works for; None when it names none."""
    if job.func_name in WORKSPACE_JOBS and job.args:
        return int(job.args[0])
    return None


def _is_scheduled(job: Job) -> bool:
    return bool(job.meta.get("metricx_schedule"))


def failed_jobs(workspace_id: int, limit: int = 20) -> list[FailedJob]:
    """The newest failed jobs of this workspace, and of the schedule (read-only)."""
    found = []
    for name in QUEUE_NAMES:
        registry = FailedJobRegistry(queue=get_queue(name))
        # Every id: another workspace's failures must not hide this one's behind a limit.
        for job in Job.fetch_many(registry.get_job_ids(), connection=get_redis()):
            if job is None:
                continue
            owner = _owner(job)
            if owner != workspace_id and not (owner is None and _is_scheduled(job)):
                continue
            result = job.latest_result()
            found.append(
                FailedJob(
                    job.id,
                    name,
                    job.func_name,
                    job.description or job.func_name,
                    job.ended_at,
                    _last_line(result.exc_string if result else None),
                    owner,
                )
            )
    return sorted(found, key=lambda j: j.ended_at or datetime.min, reverse=True)[:limit]


def requeue(actor: Actor, job_id: str) -> None:
    """Put one of this workspace's failed jobs back on its queue."""
    actor.require_admin("requeue jobs")
    missing = NotFoundError(f"no failed job {job_id!r} in this workspace")
    try:
        job = Job.fetch(job_id, connection=get_redis())
    except NoSuchJobError:
        raise missing from None
    owner = _owner(job)
    if owner is None and _is_scheduled(job):
        raise PermissionDeniedError(
            f"job {job_id!r} runs for every workspace: it is retried "
            "on its next scheduled run, not from a workspace"
        )
    if owner != actor.workspace_id:
        raise missing  # another workspace's job: not even its existence is told
    try:
        FailedJobRegistry(queue=get_queue(job.origin)).requeue(job)
    except InvalidJobOperation:
        raise NotFoundError(
            f"job {job_id!r} is not failed (any more): nothing to requeue"
        ) from None
    with transaction() as session:
        audit.record(session, actor, "job.requeue", job_id)


def recent_sync_runs(workspace_id: int, limit: int = 20) -> list[SyncRun]:
    with new_session() as session:
        return list(
            session.scalars(
                select(SyncRun)
                .where(SyncRun.workspace_id == workspace_id)
                .order_by(SyncRun.id.desc())
                .limit(limit)
            )
        )


def copilot_failures(workspace_id: int, limit: int = 20) -> list[CopilotTurn]:
    with new_session() as session:
        return list(
            session.scalars(
                select(CopilotTurn)
                .where(CopilotTurn.workspace_id == workspace_id, CopilotTurn.error.is_not(None))
                .order_by(CopilotTurn.id.desc())
                .limit(limit)
            )
        )
