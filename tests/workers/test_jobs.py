"""The schedule, rq-scheduler and an RQ worker, end to end on the real Redis."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

from rq import SimpleWorker
from rq.job import Job
from rq_scheduler import Scheduler
from sqlalchemy import func, select

from metricx.config import PROJECT_ROOT, get_config
from metricx.db import new_session
from metricx.jobs import (
    SCHEDULE,
    attribute_all,
    enqueue_sync,
    job_name,
    register_schedule,
)
from metricx.models import Attribution, MetricSnapshot, ShopifyOrder, SyncRun
from metricx.queue import QUEUE_NAMES, get_queue


def test_registering_the_schedule_twice_keeps_one_copy_of_each_job(redis_conn):
    scheduler = Scheduler(queue_name="default", connection=redis_conn)
    register_schedule(scheduler, SCHEDULE)
    register_schedule(scheduler, SCHEDULE)
    assert sorted(job.id for job in scheduler.get_jobs()) == sorted(s.id for s in SCHEDULE)
    crons = {job.id: job.meta["cron_string"] for job in scheduler.get_jobs()}
    assert crons["metricx-intraday"] == "*/15 * * * *"


def test_the_scheduler_enqueues_and_a_worker_syncs_every_connection(fakes, connections, redis_conn):
    # Given the schedule registered and the sandbox following real time
    fakes.now = None
    scheduler = Scheduler(queue_name="default", connection=redis_conn)
    register_schedule(scheduler, SCHEDULE)
    intraday = Job.fetch("metricx-intraday", connection=redis_conn)
    scheduler.change_execution_time(intraday, datetime.now(UTC) - timedelta(seconds=5))
    # When rq-scheduler runs (the real command) and then a worker drains the queues
    subprocess.run(
        [
            sys.executable,
            "-m",
            "rq_scheduler.scripts.rqscheduler",
            "--burst",
            "--url",
            get_config().redis_url,
            "--path",
            str(PROJECT_ROOT),
        ],
        check=True,
        timeout=60,
        capture_output=True,
    )
    assert get_queue("default").count == 1
    worker = SimpleWorker([get_queue(n) for n in QUEUE_NAMES], connection=redis_conn)
    worker.work(burst=True)
    # Then each connection was synced by its own job, and the rows landed
    with new_session() as session:
        statuses = session.execute(select(SyncRun.connection_id, SyncRun.status)).all()
        snapshots = session.scalar(select(func.count()).select_from(MetricSnapshot))
        orders = session.scalar(select(func.count()).select_from(ShopifyOrder))
        credited = session.scalar(select(func.count(func.distinct(Attribution.order_id))))
    assert sorted(statuses) == sorted((c.id, "success") for c in connections.values())
    assert snapshots > 0 and orders > 0
    # And the new orders were attributed right after their sync, not only at night
    assert credited > 0
    # And the schedule is still registered for the next run
    assert "metricx-intraday" in {job.id for job in scheduler.get_jobs()}


def test_a_manual_resync_reports_progress_and_refuses_a_duplicate_while_queued(
    fakes, connections, redis_conn
):
    meta = connections["meta"]
    start, end = (datetime(2026, 11, 10).date(), datetime(2026, 11, 19).date())
    first = enqueue_sync(meta.workspace_id, meta.id, "range", start=start, end=end, queue="high")
    again = enqueue_sync(meta.workspace_id, meta.id, "range", start=start, end=end, queue="high")
    assert first.job_id and again.job_id is None
    SimpleWorker([get_queue("high")], connection=redis_conn).work(burst=True)
    job = Job.fetch(first.job_id, connection=redis_conn)
    assert job.is_finished
    assert job.meta["done"] == job.meta["total"] == 10
    assert job.return_value()["status"] == "success"
    # Once finished, the same resync can be asked for again
    assert (
        enqueue_sync(meta.workspace_id, meta.id, "range", start=start, end=end, queue="high").job_id
        == first.job_id
    )


def test_the_nightly_attribution_job_recomputes_every_workspace_with_a_shop(synced, redis_conn):
    # Given a synced shop whose attributions are gone (say, the UTM convention changed)
    workspace_id, _ = synced
    # When the nightly job runs on a worker
    job = get_queue("low").enqueue(attribute_all)
    SimpleWorker([get_queue("low")], connection=redis_conn).work(burst=True)
    # Then every live order with a touch is credited under each model, window and mode
    with new_session() as session:
        settings = session.execute(
            select(Attribution.model, Attribution.window_days, Attribution.mode)
            .distinct()
            .where(Attribution.workspace_id == workspace_id)
        ).all()
    assert Job.fetch(job.id, connection=redis_conn).return_value() > 0
    assert len(settings) == 6 * 5 * 2


def test_every_scheduled_job_is_a_function_rq_can_import_by_the_name_it_records():
    # Given the schedule, whose jobs are queued by function reference
    # When RQ records each function by name (as a worker will import it)
    for item in SCHEDULE:
        module, _, name = job_name(item.func).rpartition(".")
        # Then the name leads back to that very function, a top-level one of metricx.jobs
        assert module == "metricx.jobs"
        assert getattr(sys.modules[module], name) is item.func


def test_a_job_queued_under_its_old_workers_jobs_name_still_runs(db, redis_conn):
    # Given a job an earlier release queued as workers.jobs.<function>
    job = get_queue("high").enqueue("workers.jobs.reap_orphaned_syncs")
    # When a worker takes it after the upgrade
    SimpleWorker([get_queue("high")], connection=redis_conn).work(burst=True)
    # Then it ran the function of metricx.jobs (no run was orphaned: nothing to reap)
    assert Job.fetch(job.id, connection=redis_conn).return_value() == 0
