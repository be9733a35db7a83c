"""Order webhooks: the fake shop announces an order, and the order is in the database after the
queued sync runs; a burst of webhooks for one shop causes one or two syncs, not one each."""

from __future__ import annotations

from datetime import timedelta

from rq.job import Job, JobStatus
from sandbox_fixtures import NOW

from metricx.queue import get_redis
from metricx.webhooks import freshness
from webhooks.support import queued_jobs, rows, run_jobs, scalar


def stored_order(external_id: str) -> list[dict]:
    return rows(
        "SELECT external_id, name, updated_at FROM shopify_orders WHERE external_id = :e",
        e=external_id,
    )


def test_an_order_from_the_fake_shop_is_in_the_database_after_the_queued_sync(
    receiver, synced_shop, fakes
):
    # Given the shop synced up to just before its latest order
    _, before, latest = synced_shop
    assert stored_order(latest.external_id) == []
    # When the fake shop sends the signed webhooks of what happened since
    statuses = fakes.send_webhooks(receiver.webhook_url, before, NOW)
    # Then each was acknowledged, one sync waits on the high-priority queue, and nothing was
    # written by the request itself
    assert statuses and set(statuses) == {200}
    [job_id] = queued_jobs()["high"]
    assert stored_order(latest.external_id) == []
    # When a worker runs the queued job
    assert run_jobs() == 1
    # Then the order is there, once, as the shop reports it, and its sync is on record
    [order] = stored_order(latest.external_id)
    assert order["name"] == latest.name and order["updated_at"] == latest.updated_at(NOW)
    assert scalar("SELECT status FROM sync_runs WHERE job_id = :j", j=job_id) == "success"
    # And it was attributed right away, like any shop sync's new orders
    assert (
        scalar(
            """SELECT count(*) FROM attributions a JOIN shopify_orders o
                     ON o.id = a.order_id WHERE o.external_id = :e""",
            e=latest.external_id,
        )
        > 0
        or latest.journey is None
    )


def test_a_refund_webhook_brings_the_refund_in(receiver, shop, fakes):
    from metricx.sync.pipeline import sync_connection

    # Given the shop synced just before a refund happened
    refunded = next(
        o
        for o in reversed(fakes.merchant.shop.orders_until(NOW))
        if [r.created_at <= NOW for r in o.refunds][:2] in ([True], [True, False])
    )  # an order with exactly one refund so far
    refund = refunded.refunds[0]
    fakes.now = refund.created_at - timedelta(seconds=1)
    sync_connection(shop.workspace_id, shop.id, "shop")
    fakes.now = NOW
    # When the shop sends refunds/create (and orders/updated) and the worker runs
    deliveries = fakes.webhooks.order_events(
        refund.created_at - timedelta(seconds=1), refund.created_at
    )
    assert {d.topic for d in deliveries} == {"refunds/create", "orders/updated"}
    assert set(fakes.webhooks.send(receiver.webhook_url, deliveries)) == {200}
    run_jobs()
    # Then the refund is stored against its order
    assert rows(
        """SELECT r.external_id FROM shopify_refunds r JOIN shopify_orders o
                   ON o.id = r.order_id WHERE o.external_id = :e""",
        e=refunded.external_id,
    ) == [{"external_id": refund.external_id}]


def test_a_burst_of_100_webhooks_for_one_shop_queues_one_sync(receiver, synced_shop, fakes):
    _, _, latest = synced_shop
    # Given 100 distinct orders/updated deliveries for the shop arriving in a burst
    base = fakes.webhooks.order_payload(latest, NOW)
    burst = [
        fakes.webhooks._delivery(
            "orders/updated",
            {**base, "note": f"edit {i}"},
            NOW - timedelta(seconds=100 - i),
            f"edit-{i}",
        )
        for i in range(100)
    ]
    answers = [receiver.deliver(d) for d in burst]
    # Then every one is acknowledged and recorded, but only one sync is queued
    assert {a.status_code for a in answers} == {200}
    statuses = [
        r["status"] for r in rows("SELECT status FROM shopify_webhook_deliveries ORDER BY id")
    ]
    assert statuses == ["queued"] + ["debounced"] * 99
    assert len(queued_jobs()["high"]) == 1
    assert run_jobs() == 1


def test_webhooks_arriving_while_the_sync_runs_queue_exactly_one_follow_up(
    receiver, synced_shop, fakes
):
    shop, before, _ = synced_shop
    # Given a webhook-triggered sync that a worker has started
    first = freshness.request_shop_sync(shop.workspace_id, shop.id)
    job = Job.fetch(first.job_id, connection=get_redis())
    job.set_status(JobStatus.STARTED)
    # When 50 more webhooks arrive meanwhile (the running sync may have read past them)
    announced = fakes.webhooks.order_events(before, NOW)[0]
    for i in range(50):
        receiver.deliver(announced, X_Shopify_Webhook_Id=f"during-the-run-{i}")
    # Then one follow-up sync waits for the running one; the rest are debounced
    follow_ups = rows("SELECT DISTINCT job_id FROM shopify_webhook_deliveries")
    assert [r["job_id"] for r in follow_ups] != [first.job_id]
    assert len({r["job_id"] for r in follow_ups}) == 1
    follow_up = Job.fetch(follow_ups[0]["job_id"], connection=get_redis())
    assert follow_up.get_status() == JobStatus.DEFERRED
    assert follow_up.dependency_ids == [first.job_id]


def test_a_sync_requested_while_one_waits_is_that_one(redis_conn, shop):
    first = freshness.request_shop_sync(shop.workspace_id, shop.id)
    again = freshness.request_shop_sync(shop.workspace_id, shop.id)
    assert not first.debounced and again.debounced and again.job_id == first.job_id
    # Once it has run, the next webhook needs a new sync
    Job.fetch(first.job_id, connection=redis_conn).set_status(JobStatus.FINISHED)
    later = freshness.request_shop_sync(shop.workspace_id, shop.id)
    assert not later.debounced and later.job_id != first.job_id
