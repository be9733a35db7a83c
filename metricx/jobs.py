"""The job registry: every RQ job function, how syncs and attribution runs are queued, the
rq-scheduler schedule (registered under stable ids), and running workers and the scheduler.

Jobs are queued by function reference; RQ records `metricx.jobs.<name>`, so each job is a
top-level function here and thin: it calls into metricx.sync, metricx.attribution or
metricx.webhooks and reports progress. Sync job ids are deterministic (connection + kind +
window), so a job enqueued twice while the first is still waiting is refused instead of run
twice; and even if two ran, the sync itself is idempotent (S1) and serialised by the
connection's lease and write lock (`sync.runs`). A window of days is checked before anything
is queued.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from rq import Worker, get_current_job
from rq.exceptions import DuplicateJobError
from rq.job import Job
from rq_scheduler import Scheduler

from metricx.actor import Actor
from metricx.alerts import round as alerts_round
from metricx.attribution import compute as attribution
from metricx.connection_store import get_connection
from metricx.delivery import outbox
from metricx.queue import QUEUE_NAMES, get_queue, get_redis
from metricx.services import digests
from metricx.sync import creatives, pipeline, runs, scheduling
from metricx.sync.scheduling import JOB_TIMEOUT_S, RETRY
from metricx.sync.window import refuse_bad_window
from metricx.vocabulary import AD_PROVIDERS, EMAIL_PROVIDERS
from metricx.webhooks import handlers as webhook_handlers


def job_name(func: Callable[..., Any]) -> str:
    """The dotted name RQ records for a job function (what `Job.func_name` reads back)."""
    return f"{func.__module__}.{func.__qualname__}"


def _progress(done: int, total: int, stage: str) -> None:
    job = get_current_job()
    if job is not None:
        job.meta.update(done=done, total=total, stage=stage)
        job.save_meta()


# --- job functions (RQ imports them by name: top-level, importable) ---------------------


def sync_connection(
    workspace_id: int,
    connection_id: int,
    kind: str,
    start: date | None = None,
    end: date | None = None,
) -> dict:
    job = get_current_job()
    outcome = pipeline.sync_connection(
        workspace_id,
        connection_id,
        kind,
        start=start,
        end=end,
        job_id=job.id if job else None,
        progress=_progress,
    )
    result = {"status": outcome.status, "rows": outcome.rows, "error": outcome.error}
    if outcome.kind == "shop" and outcome.status == "success":
        # New and changed orders are credited right away, not only at night.
        run = attribution.attribute_new_orders(
            workspace_id, lambda done, total: _progress(done, total, "attribution")
        )
        result["attributed_orders"] = run.orders
    return result


def sync_all_intraday() -> int:
    """Every 15 minutes: today's ad metrics and the shops' new orders."""
    return sum(
        1
        for ws, conn in scheduling.active_connections()
        if enqueue_sync(ws, conn, "intraday").job_id
    )


def refetch_all_recent() -> int:
    """Daily: replace each ad and email account's restatement window (platforms restate
    conversions; Klaviyo credits orders to a send day for its attribution window)."""
    return sum(
        1
        for ws, conn in scheduling.active_connections((*AD_PROVIDERS, *EMAIL_PROVIDERS))
        if enqueue_sync(ws, conn, "range", queue="low").job_id
    )


def reap_orphaned_syncs() -> int:
    """Every 2 minutes: runs left `running` by a worker that died are marked failed, with
    their jobs, once their lease has lapsed."""
    return runs.reap_orphaned_runs()


def compact_all() -> int:
    """Nightly: fold past days' 15-minute rows into hourly rows."""
    return sum(
        pipeline.compact_connection(get_connection(ws, conn))
        for ws, conn in scheduling.active_connections(AD_PROVIDERS)
    )


def prune_thumbnails() -> int:
    """Nightly: remove preview images no creative uses any more."""
    return creatives.prune_previews()


def attribute_workspace(workspace_id: int) -> dict:
    """Recompute every order's attribution in one workspace."""
    run = attribution.attribute_workspace(
        workspace_id, lambda done, total: _progress(done, total, "attribution")
    )
    return {"orders": run.orders, "rows": run.rows}


def attribute_all() -> int:
    """Nightly: recompute attribution everywhere (new entities, renamed campaigns, a changed
    UTM convention can all change which ad a past visit belongs to)."""
    return sum(attribute_workspace(ws)["orders"] for ws in scheduling.workspaces_with_shops())


def evaluate_alerts_all() -> int:
    """Every 15 minutes, five after the intraday sync is queued: every workspace's due alert
    rules, built-in monitors and digests (firings recorded once per window), their deliveries
    enqueued and queued; how many fired."""
    return alerts_round.run_all()


def send_digest(workspace_id: int, cadence: str) -> int:
    """Send the workspace's digest of its latest complete window now (the demo's first one,
    once its history is synced); how many deliveries were queued."""
    return len(digests.send_digest_now(Actor.system(workspace_id), cadence))


def deliver(delivery_id: int) -> str:
    """Send one delivery (an alert, a digest, a test) and record its outcome; RQ retries a
    transient failure (metricx.delivery.outbox)."""
    return outbox.deliver(delivery_id)


def process_shopify_webhook(workspace_id: int, delivery_id: int) -> dict:
    """A Shopify webhook's work (app/uninstalled, compliance topics), queued by the receiver."""
    return webhook_handlers.process(workspace_id, delivery_id)


#: Jobs whose first argument is the id of the workspace they work for.
WORKSPACE_JOBS = frozenset(job_name(f) for f in (sync_connection, attribute_workspace))


# --- queueing ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Enqueued:
    connection_id: int
    job_id: str | None  # None when an identical job was already waiting


def sync_job_id(connection_id: int, kind: str, start: date | None, end: date | None) -> str:
    window = f"-{start}-{end}" if start or end else ""
    return f"sync-{connection_id}-{kind}{window}"


def enqueue_sync(
    workspace_id: int,
    connection_id: int,
    kind: str,
    *,
    start: date | None = None,
    end: date | None = None,
    queue: str = "default",
) -> Enqueued:
    if start or end:
        refuse_bad_window(
            get_connection(workspace_id, connection_id), kind, start, end, datetime.now(UTC)
        )
    job_id = sync_job_id(connection_id, kind, start, end)

    def enqueue() -> None:
        get_queue(queue).enqueue(
            sync_connection,
            workspace_id,
            connection_id,
            kind,
            start,
            end,
            job_id=job_id,
            unique=True,
            retry=RETRY,
            job_timeout=JOB_TIMEOUT_S,
            result_ttl=86400,
            failure_ttl=7 * 86400,
            description=f"{kind} sync of connection {connection_id}",
        )

    try:
        enqueue()
    except DuplicateJobError:
        previous = Job.fetch(job_id, connection=get_redis())
        if (
            not previous.is_finished
            and not previous.is_failed
            and not previous.is_canceled
            and not previous.is_stopped
        ):
            return Enqueued(connection_id, None)  # the same sync is already waiting or running
        previous.delete()  # done long ago: its id is free for a new run
        enqueue()
    return Enqueued(connection_id, job_id)


def enqueue_attribution(workspace_id: int) -> str:
    """Queue a full recomputation of one workspace's attributions; returns the job id."""
    job = get_queue("low").enqueue(
        attribute_workspace, workspace_id, description="attribution recomputation", job_timeout=3600
    )
    return job.id


# --- the schedule --------------------------------------------------------------------------


@dataclass(frozen=True)
class ScheduledJob:
    id: str  # stable: re-registering replaces, so restarts never duplicate a schedule
    cron: str  # UTC
    func: Callable[[], int]
    queue: str = "default"
    timeout: int = 1800


SCHEDULE: list[ScheduledJob] = [
    ScheduledJob("metricx-intraday", "*/15 * * * *", sync_all_intraday),
    ScheduledJob("metricx-alerts", "5-59/15 * * * *", evaluate_alerts_all),
    ScheduledJob("metricx-reaper", "*/2 * * * *", reap_orphaned_syncs, queue="high", timeout=120),
    ScheduledJob("metricx-compaction", "0 1 * * *", compact_all),
    ScheduledJob("metricx-thumbnails", "30 1 * * *", prune_thumbnails, queue="low"),
    ScheduledJob("metricx-attribution", "0 2 * * *", attribute_all, queue="low"),
    ScheduledJob("metricx-refetch-7d", "0 3 * * *", refetch_all_recent, queue="low"),
]


def register_schedule(
    scheduler: Scheduler, schedule: Iterable[ScheduledJob] = SCHEDULE
) -> list[str]:
    """Cancel every job this scheduler holds that is ours, then register `schedule` afresh."""
    wanted = list(schedule)
    for job in scheduler.get_jobs():
        if job.meta.get("metricx_schedule"):
            scheduler.cancel(job)
    for item in wanted:
        scheduler.cron(
            item.cron,
            func=item.func,
            id=item.id,
            queue_name=item.queue,
            timeout=item.timeout,
            meta={"metricx_schedule": True},
            use_local_timezone=False,
        )
    return [item.id for item in wanted]


def run_worker(*, burst: bool = False) -> None:
    # Runs a killed worker left `running` are closed before this one takes new work.
    runs.reap_orphaned_runs()
    queues = [get_queue(name) for name in QUEUE_NAMES]
    Worker(queues, connection=get_redis()).work(burst=burst, with_scheduler=True)


def run_scheduler(*, burst: bool = False) -> None:
    # rq-scheduler passes UTC "now" to crontab itself; crontab's warning about its own
    # default does not apply and would only alarm operators.
    warnings.filterwarnings("ignore", category=FutureWarning, module="rq_scheduler")

    scheduler = Scheduler(queue_name="default", connection=get_redis(), interval=15)
    register_schedule(scheduler)
    scheduler.run(burst=burst)
