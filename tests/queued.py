"""RQ in tests: jobs a worker would only run later, run now."""

from __future__ import annotations

from rq.job import Job

from metricx.queue import get_queue


def run_scheduled_retries(redis_conn) -> int:
    """Move the jobs RQ scheduled for a retry onto the queue now (the waits are minutes)."""
    queue = get_queue("default")
    registry = queue.scheduled_job_registry
    moved = 0
    for job_id in registry.get_job_ids():
        job = Job.fetch(job_id, connection=redis_conn)
        registry.remove(job)
        queue.enqueue_job(job)
        moved += 1
    return moved
