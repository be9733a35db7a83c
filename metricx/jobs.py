"""Running RQ workers and rq-scheduler, and registering the schedule under stable ids."""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass

from rq import Worker
from rq_scheduler import Scheduler

from metricx.queue import QUEUE_NAMES, get_queue, get_redis
from metricx.sync.runs import reap_orphaned_runs


@dataclass(frozen=True)
class ScheduledJob:
    id: str  # stable: re-registering replaces, so restarts never duplicate a schedule
    cron: str  # UTC
    func: str  # dotted path of an importable top-level function
    queue: str = "default"
    timeout: int = 1800


def run_worker(*, burst: bool = False) -> None:
    # Runs a killed worker left `running` are closed before this one takes new work.
    reap_orphaned_runs()
    queues = [get_queue(name) for name in QUEUE_NAMES]
    Worker(queues, connection=get_redis()).work(burst=burst, with_scheduler=True)


def register_schedule(scheduler: Scheduler, schedule: Iterable[ScheduledJob]) -> list[str]:
    """Cancel every job this scheduler holds that is ours, then register `schedule` afresh."""
    wanted = list(schedule)
    for job in scheduler.get_jobs():
        if job.meta.get("metricx_schedule"):
            scheduler.cancel(job)
    for item in wanted:
        scheduler.cron(item.cron, func=item.func, id=item.id, queue_name=item.queue,
                       timeout=item.timeout, meta={"metricx_schedule": True},
                       use_local_timezone=False)
    return [item.id for item in wanted]


def run_scheduler(*, burst: bool = False) -> None:
    from workers.schedule import SCHEDULE

    # rq-scheduler passes UTC "now" to crontab itself; crontab's warning about its own
    # default does not apply and would only alarm operators.
    warnings.filterwarnings("ignore", category=FutureWarning, module="rq_scheduler")

    scheduler = Scheduler(queue_name="default", connection=get_redis(), interval=15)
    register_schedule(scheduler, SCHEDULE)
    scheduler.run(burst=burst)
