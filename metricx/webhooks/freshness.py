"""Orders in within a minute: an order webhook puts a debounced incremental shop sync on the
high-priority queue.

Why a sync of the shop rather than writing the webhook's order (or fetching that one order):
- The incremental sync (metricx.sync.pipeline, kind "shop") reads every order updated since the
  shop's high-water mark, so it is idempotent: a replayed, duplicated, late or out-of-order
  webhook changes nothing it would not have changed anyway. Payloads are not state: a retried
  webhook carries "the original payload from the time [it was] triggered" (Shopify changelog
  "Updates to webhook retry mechanism", 2024-09-10), and Shopify does not promise order.
- It is the one write path (metricx.sync.shopify.write_orders): customers, first orders, lines,
  refunds, journeys, the store_daily rollup and attribution stay consistent. Writing one
  fetched order through write_orders would be wrong: it advances the high-water mark to that
  order's updated_at, skipping every order changed between the old mark and it.
- Shopify itself recommends reconciliation over trusting each delivery ("Implement
  reconciliation jobs", https://shopify.dev/docs/apps/build/webhooks/best-practices); the
  15-minute schedule remains the safety net for a webhook that never arrives.
- Cost: one sync reads a page or two; a burst of webhooks shares it (below).

Debounce: at most one sync job per connection waits at any time. A webhook that finds one
waiting (queued, deferred, scheduled for a retry) adds nothing: that job has not read the
shop yet and will see the change. A webhook that finds the sync already running enqueues one
follow-up that depends on it (it starts when the running one ends, so they never fight over
the connection lock); later webhooks find the follow-up waiting. So a burst of 100 webhooks
for one shop causes one or two syncs, and none is missed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from rq.exceptions import NoSuchJobError
from rq.job import Dependency, Job, JobStatus

from metricx.jobs import sync_connection
from metricx.queue import get_queue, get_redis
from metricx.sync.scheduling import JOB_TIMEOUT_S, RETRY

QUEUE = "high"  # ahead of backfills and the schedule's syncs: freshness is the point
WAITING = {JobStatus.CREATED, JobStatus.QUEUED, JobStatus.DEFERRED, JobStatus.SCHEDULED}
LOCK_TIMEOUT_S = 10


@dataclass(frozen=True)
class SyncRequest:
    job_id: str
    debounced: bool  # True: an equal sync was already waiting (job_id is that one)


def _pending_key(connection_id: int) -> str:
    return f"metricx:webhook-sync:{connection_id}:pending"


def _fetch(job_id: bytes | str | None) -> Job | None:
    if not job_id:
        return None
    try:
        return Job.fetch(
            job_id if isinstance(job_id, str) else job_id.decode(), connection=get_redis()
        )
    except NoSuchJobError:
        return None


def request_shop_sync(workspace_id: int, connection_id: int) -> SyncRequest:
    """Make sure a shop sync of the connection starts after this moment (see module doc)."""
    redis = get_redis()
    with redis.lock(
        f"metricx:webhook-sync:{connection_id}:lock",
        timeout=LOCK_TIMEOUT_S,
        blocking_timeout=LOCK_TIMEOUT_S / 2,
    ):
        previous = _fetch(redis.get(_pending_key(connection_id)))
        status = previous.get_status(refresh=True) if previous is not None else None
        if previous is not None and status in WAITING:
            return SyncRequest(previous.id, debounced=True)
        after = (
            Dependency(jobs=[previous], allow_failure=True)
            if previous is not None and status == JobStatus.STARTED
            else None
        )
        job_id = f"webhook-sync-{connection_id}-{uuid.uuid4().hex[:12]}"
        get_queue(QUEUE).enqueue(
            sync_connection,
            workspace_id,
            connection_id,
            "shop",
            None,
            None,
            job_id=job_id,
            depends_on=after,
            retry=RETRY,
            job_timeout=JOB_TIMEOUT_S,
            result_ttl=3600,
            failure_ttl=7 * 86400,
            description=f"shop sync of connection {connection_id} (Shopify webhook)",
        )
        redis.set(_pending_key(connection_id), job_id, ex=86400)
    return SyncRequest(job_id, debounced=False)
