"""The delivery log: one row per (connection, X-Shopify-Webhook-Id), which is what makes a
replay a no-op.

"Shopify's webhook system minimizes sending duplicate webhooks ... However, subscribers might
receive the same webhook more than once" (https://shopify.dev/docs/apps/build/webhooks/
ignore-duplicates); each delivery's X-Shopify-Webhook-Id is the key "you can use to detect
duplicates" (https://shopify.dev/docs/apps/build/webhooks/verify-deliveries), and a retry
carries the same one. The unique constraint decides races between two copies arriving at once.

A row is `received` until its job is confirmed on the queue: if Redis failed in between, the
request answered 503, Shopify sends it again, and that copy (finding the row still `received`)
enqueues the work instead of being taken for a replay.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Table, select, update
from sqlalchemy.dialects.postgresql import insert

from metricx.db import new_session, transaction
from metricx.models import ShopifyWebhookDelivery
from metricx.webhooks.headers import WebhookHeaders
from metricx.webhooks.tenants import Target

# Declared as any FromClause by the ORM; a mapped class's table is a Table.
DELIVERIES = cast(Table, ShopifyWebhookDelivery.__table__)


@dataclass(frozen=True)
class Pending:
    """A recorded delivery whose work is still to be put on the queue."""

    delivery_id: int
    workspace_id: int
    connection_id: int


def record(
    headers: WebhookHeaders, details: dict[str, Any], targets: list[Target]
) -> list[Pending]:
    """Record the delivery for each target; returns those whose work must be enqueued now (the
    new rows, and rows of an earlier copy whose enqueue never happened). Empty: a replay."""
    rows = [
        {
            "workspace_id": t.workspace_id,
            "connection_id": t.connection_id,
            "webhook_id": headers.webhook_id,
            "topic": headers.topic,
            "shop_domain": headers.shop_domain,
            "api_version": headers.api_version,
            "event_id": headers.event_id,
            "triggered_at": headers.triggered_at,
            "status": "received",
            "details": details,
        }
        for t in targets
    ]
    table = DELIVERIES
    with transaction() as session:
        inserted = session.execute(
            insert(table)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["connection_id", "webhook_id"])
            .returning(table.c.id, table.c.workspace_id, table.c.connection_id)
        ).all()
        fresh = {row.id for row in inserted}
        stuck = session.execute(
            select(table.c.id, table.c.workspace_id, table.c.connection_id).where(
                table.c.connection_id.in_([t.connection_id for t in targets]),
                table.c.webhook_id == headers.webhook_id,
                table.c.status == "received",
                table.c.id.not_in(fresh or {0}),
            )
        ).all()
    return [
        Pending(row.id, row.workspace_id, row.connection_id)
        for row in sorted([*inserted, *stuck], key=lambda r: r.id)
    ]


def mark(
    delivery_id: int,
    status: str,
    *,
    job_id: str | None = None,
    error: str | None = None,
    result: dict[str, Any] | None = None,
    only_from: str | None = None,
) -> None:
    """Move a delivery on (queued, debounced, done, failed, ignored); with `only_from`, only
    a delivery still in that state (a fast worker may already have finished its job)."""
    values: dict[str, Any] = {"status": status, "error": error}
    if job_id is not None:
        values["job_id"] = job_id
    if status in ("done", "failed", "ignored"):
        values["processed_at"] = datetime.now(UTC)
    table = DELIVERIES
    with transaction() as session:
        if result is not None:
            current = session.scalar(select(table.c.details).where(table.c.id == delivery_id))
            values["details"] = {**(current or {}), "result": result}
        statement = update(table).where(table.c.id == delivery_id)
        if only_from is not None:
            statement = statement.where(table.c.status == only_from)
        session.execute(statement.values(**values))


def get(workspace_id: int, delivery_id: int) -> ShopifyWebhookDelivery | None:
    with new_session() as session:
        return session.scalar(
            select(ShopifyWebhookDelivery).where(
                ShopifyWebhookDelivery.id == delivery_id,
                ShopifyWebhookDelivery.workspace_id == workspace_id,
            )
        )


def forget_details(workspace_id: int, connection_id: int, keep: int) -> int:
    """Blank what earlier deliveries of a connection kept from their payloads (order and
    customer ids), after shop/redact erased the shop: the delivery log outlives no data."""
    table = DELIVERIES
    with transaction() as session:
        result = session.execute(
            update(table)
            .where(
                table.c.workspace_id == workspace_id,
                table.c.connection_id == connection_id,
                table.c.id != keep,
            )
            .values(details={})
        )
        return cast(CursorResult[Any], result).rowcount
