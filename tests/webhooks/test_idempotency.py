"""Idempotency as a property: any sequence of deliveries, duplicates included, leaves the
database exactly as delivering each distinct webhook once (in order of first arrival) does.

Each example plays the sequence twice from the same starting point (a synced shop whose
customer bought through the pixel, restored from a copy of every table): once as drawn, once
without its repeats. A worker runs the queued jobs after every delivery, as one would.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sandbox_fixtures import NOW
from sqlalchemy import text

from metricx.attribution.compute import attribute_workspace
from metricx.db import get_engine
from metricx.models import Base
from metricx.queue import get_redis
from metricx.sandbox.fakes.shopify_webhooks import WebhookDelivery
from webhooks.conftest import browse_and_buy
from webhooks.support import rows, run_jobs

SNAPSHOT = "webhook_idempotency_start"


@pytest.fixture
def start(synced_shop, fakes) -> Iterator[tuple[Callable[[], None], list[WebhookDelivery]]]:
    """(restore the starting point, the distinct deliveries to draw from)."""
    shop, before, _ = synced_shop
    customer = rows("""SELECT c.external_id, min(o.external_id) AS order_id
        FROM shopify_customers c JOIN shopify_orders o ON o.customer_id = c.id
        GROUP BY c.external_id ORDER BY count(*) DESC, c.external_id LIMIT 2""")
    browse_and_buy(shop.workspace_id, "browser-1", customer[0]["order_id"], before)
    attribute_workspace(shop.workspace_id)
    webhooks = fakes.webhooks
    orders = webhooks.order_events(before - timedelta(days=2), NOW)
    by_topic = {d.topic: d for d in orders}  # the latest of each order topic
    real_now = datetime.now(UTC)  # lifecycle times are compared with our own clock
    pool = [
        by_topic["orders/create"],
        by_topic["orders/updated"],
        by_topic["refunds/create"],
        webhooks.customers_redact(customer[0]["external_id"], [customer[0]["order_id"]], NOW),
        webhooks.customers_data_request(customer[1]["external_id"], [], NOW),
        webhooks.app_uninstalled(real_now),
        webhooks.shop_redact(real_now),
    ]
    tables = [t.name for t in Base.metadata.sorted_tables]
    with get_engine().begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {SNAPSHOT} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {SNAPSHOT}"))
        for table in tables:
            conn.execute(text(f'CREATE TABLE {SNAPSHOT}."{table}" AS TABLE "{table}"'))

    def restore() -> None:
        with get_engine().begin() as conn:
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE"))
            for table in tables:
                conn.execute(text(f'INSERT INTO "{table}" SELECT * FROM {SNAPSHOT}."{table}"'))
        get_redis().flushdb()

    try:
        yield restore, pool
    finally:
        with get_engine().begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {SNAPSHOT} CASCADE"))


def _anonymous(value: Any) -> Any:
    """Redaction's random tokens compare equal among themselves."""
    return "redacted:*" if isinstance(value, str) and value.startswith("redacted:") else value


def state() -> dict[str, list]:
    """The database by natural keys (surrogate ids and wall-clock times differ per run)."""
    queries = {
        "connections": "SELECT id, status, last_error FROM connections ORDER BY id",
        "tokens": "SELECT connection_id, kind FROM tokens ORDER BY 1, 2",
        "customers": """SELECT external_id, created_at, updated_at, orders_count,
            first_order_at FROM shopify_customers""",
        "orders": """SELECT o.external_id, c.external_id AS customer, o.updated_at, o.refunded,
            o.total_price, o.cancelled_at, (SELECT count(*) FROM shopify_order_lines l
            WHERE l.order_id = o.id) AS lines, (SELECT count(*) FROM attributions a
            WHERE a.order_id = o.id) AS credits FROM shopify_orders o
            LEFT JOIN shopify_customers c ON c.id = o.customer_id""",
        "refunds": """SELECT o.external_id, r.external_id AS refund, r.amount
            FROM shopify_refunds r JOIN shopify_orders o ON o.id = r.order_id""",
        "touchpoints": """SELECT o.external_id, t.source_kind, t.position, t.landing_page,
            t.referrer, t.channel FROM touchpoints t JOIN customer_journeys j
            ON j.id = t.journey_id JOIN shopify_orders o ON o.id = j.order_id""",
        "pixel_events": "SELECT event_id, anonymous_id, url, referrer FROM pixel_events",
        "store_daily": "SELECT * FROM store_daily",
        "deliveries": """SELECT connection_id, webhook_id, topic, status, error, details
            FROM shopify_webhook_deliveries""",
        "audit": "SELECT actor, action, target, details FROM audit_log",
        "sync_runs": "SELECT connection_id, kind, status, rows_written FROM sync_runs",
    }
    found = {}
    for name, sql in queries.items():
        found[name] = sorted(
            (
                tuple(
                    _anonymous(v) if not isinstance(v, dict) else repr(sorted(v.items()))
                    for v in r.values()
                )
                for r in rows(sql)
            ),
            key=repr,
        )
    return found


@given(sequence=st.lists(st.integers(0, 6), min_size=1, max_size=9))
@example(sequence=[0, 0, 3, 0, 3, 5, 4, 4, 0])
@example(sequence=[3, 1, 3, 6, 2, 6, 3])
@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_any_sequence_of_duplicate_deliveries_equals_each_webhook_once(receiver, start, sequence):
    restore, pool = start

    def play(order: list[int]) -> dict[str, list]:
        restore()
        for index in order:
            answer = receiver.deliver(pool[index])
            assert answer.status_code == 200, answer.text
            run_jobs()
        return state()

    once = list(dict.fromkeys(sequence))
    assert play(sequence) == play(once)
