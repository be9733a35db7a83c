"""What the webhook tests share: a running receiver's handle and readers of the stored rows."""

from __future__ import annotations

from typing import Any

import httpx
from rq import SimpleWorker
from served import Served
from sqlalchemy import text

from metricx.db import get_engine
from metricx.queue import QUEUE_NAMES, get_queue, get_redis
from metricx.sandbox.fakes.shopify_webhooks import WebhookDelivery
from metricx.webhooks.app import WEBHOOK_PATH


class Receiver(Served):
    @property
    def webhook_url(self) -> str:
        return self.url + WEBHOOK_PATH

    def deliver(self, delivery: WebhookDelivery, **headers: str) -> httpx.Response:
        """POST a delivery as Shopify sends it; keyword headers replace (or, None, drop) its
        own (X_Shopify_Topic="..." for X-Shopify-Topic)."""
        sent = dict(delivery.headers)
        for name, value in headers.items():
            name = name.replace("_", "-")
            sent = {k: v for k, v in sent.items() if k.lower() != name.lower()}
            if value is not None:
                sent[name] = value
        return httpx.post(self.webhook_url, content=delivery.body, headers=sent, timeout=10)

    def post(self, body: bytes, headers: dict[str, str]) -> httpx.Response:
        return httpx.post(self.webhook_url, content=body, headers=headers, timeout=10)


def rows(sql: str, **params: Any) -> list[dict[str, Any]]:
    with get_engine().connect() as conn:
        return [dict(r._mapping) for r in conn.execute(text(sql), params)]


def scalar(sql: str, **params: Any) -> Any:
    with get_engine().connect() as conn:
        return conn.execute(text(sql), params).scalar()


def queued_jobs() -> dict[str, list[str]]:
    """Job ids waiting per queue (deferred jobs included)."""
    found = {}
    for name in QUEUE_NAMES:
        queue = get_queue(name)
        waiting = list(queue.get_job_ids()) + list(queue.deferred_job_registry.get_job_ids())
        if waiting:
            found[name] = waiting
    return found


def _ran() -> int:
    queues = [get_queue(n) for n in QUEUE_NAMES]
    return sum(q.finished_job_registry.count + q.failed_job_registry.count for q in queues)


def run_jobs() -> int:
    """Run every queued job in this process (what a worker would do); returns how many ran."""
    before = _ran()
    SimpleWorker([get_queue(n) for n in QUEUE_NAMES], connection=get_redis()).work(burst=True)
    return _ran() - before
