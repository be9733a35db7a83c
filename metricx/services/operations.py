"""What an operator checks: queues, workers, the schedule, failed jobs (and requeueing them),
recent sync runs and copilot failures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from rq import Worker
from rq.job import Job
from rq.registry import FailedJobRegistry
from rq_scheduler import Scheduler
from sqlalchemy import select

from metricx.actor import Actor
from metricx.db import new_session, transaction
from metricx.models import CopilotTurn, SyncRun
from metricx.queue import QUEUE_NAMES, get_queue, get_redis
from metricx.services import audit


@dataclass(frozen=True)
class QueueState:
    name: str
    waiting: int
    failed: int


@dataclass(frozen=True)
class FailedJob:
    id: str
    queue: str
    description: str
    ended_at: datetime | None
    error: str


def queues() -> list[QueueState]:
    states = []
    for name in QUEUE_NAMES:
        queue = get_queue(name)
        states.append(QueueState(name, queue.count, FailedJobRegistry(queue=queue).count))
    return states


def workers() -> list[tuple[str, str, str | None]]:
    """(name, state, current job id) of every live worker."""
    return [(w.name, w.get_state(), w.get_current_job_id())
            for w in Worker.all(connection=get_redis())]


def schedule() -> list[tuple[str, str, datetime]]:
    """(job id, cron, next run in UTC) of the registered schedule."""
    scheduler = Scheduler(queue_name="default", connection=get_redis())
    return [(job.id, job.meta.get("cron_string", ""), when.replace(tzinfo=UTC))
            for job, when in scheduler.get_jobs(with_times=True)]


def _last_line(text: str | None) -> str:
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    return lines[-1] if lines else "unknown error"


def failed_jobs(limit: int = 20) -> list[FailedJob]:
    found = []
    for name in QUEUE_NAMES:
        registry = FailedJobRegistry(queue=get_queue(name))
        for job in Job.fetch_many(registry.get_job_ids(0, limit - 1), connection=get_redis()):
            if job is None:
                continue
            result = job.latest_result()
            found.append(FailedJob(job.id, name, job.description or job.func_name,
                                   job.ended_at, _last_line(result.exc_string if result
                                                            else None)))
    return sorted(found, key=lambda j: j.ended_at or datetime.min, reverse=True)[:limit]


def requeue(actor: Actor, job_id: str) -> None:
    actor.require_admin("requeue jobs")
    job = Job.fetch(job_id, connection=get_redis())
    FailedJobRegistry(queue=get_queue(job.origin)).requeue(job_id)
    with transaction() as session:
        audit.record(session, actor, "job.requeue", job_id)


def recent_sync_runs(workspace_id: int, limit: int = 20) -> list[SyncRun]:
    with new_session() as session:
        return list(session.scalars(select(SyncRun).where(SyncRun.workspace_id == workspace_id)
                                    .order_by(SyncRun.id.desc()).limit(limit)))


def copilot_failures(workspace_id: int, limit: int = 20) -> list[CopilotTurn]:
    with new_session() as session:
        return list(session.scalars(
            select(CopilotTurn).where(CopilotTurn.workspace_id == workspace_id,
                                      CopilotTurn.error.is_not(None))
            .order_by(CopilotTurn.id.desc()).limit(limit)))
