"""The work of the non-order topics, run by an RQ worker (metricx.jobs.process_shopify_webhook):

- app/uninstalled: the connection becomes `disconnected` (a HALTED status: every sync skips
  it, and the schedule no longer lists it), audited. Shopify revokes the app's token at the
  uninstall, so syncing on could only fail. Reconnecting (OAuth or `rotate_token`) and resuming
  is the admin's call; an uninstall triggered before such a reconnect is only audited.
- customers/redact, shop/redact, customers/data_request: metricx.services.privacy, audited
  there in the same transaction as the change.

Each delivery is processed once: a job run again (RQ retry, a requeue) finds it done. The
delivery row records the outcome (counts only) or the error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from sqlalchemy import select

from metricx.actor import Actor
from metricx.db import transaction
from metricx.models import Connection, ShopifyWebhookDelivery
from metricx.services import audit, privacy
from metricx.webhooks import deliveries, topics

ACTOR_LABEL = "shopify webhook"


def _actor(delivery: ShopifyWebhookDelivery) -> Actor:
    return Actor.system(delivery.workspace_id, label=ACTOR_LABEL)


def _request(delivery: ShopifyWebhookDelivery) -> dict[str, Any]:
    """How the audit log names the request (never anything from the payload but ids)."""
    return {
        "topic": delivery.topic,
        "shop": delivery.shop_domain,
        "webhook_id": delivery.webhook_id,
        "triggered_at": delivery.triggered_at.isoformat() if delivery.triggered_at else None,
    }


def uninstalled(delivery: ShopifyWebhookDelivery) -> dict[str, Any]:
    with transaction() as session:
        connection = session.scalar(
            select(Connection)
            .where(
                Connection.id == delivery.connection_id,
                Connection.workspace_id == delivery.workspace_id,
            )
            .with_for_update()
        )
        if connection is None:
            return {"status_before": None}
        before = connection.status
        # Shopify retries for hours and does not promise order: an uninstall triggered before
        # the shop was reconnected speaks of an installation that is gone.
        stale = delivery.triggered_at is not None and privacy.reconnected_since(
            session, connection.id, delivery.triggered_at
        )
        if not stale:
            connection.status = "disconnected"
            connection.last_error = "the app was uninstalled from the shop (app/uninstalled)"
        audit.record(
            session,
            _actor(delivery),
            "shopify.app_uninstalled",
            f"shopify:{delivery.shop_domain}",
            **_request(delivery),
            connection_id=delivery.connection_id,
            status_before=before,
            skipped="the shop was reconnected after the uninstall" if stale else None,
        )
    return {"status_before": before, "skipped": stale}


def customers_redact(delivery: ShopifyWebhookDelivery) -> dict[str, Any]:
    details = delivery.details or {}
    done = privacy.redact_customer(
        _actor(delivery),
        delivery.connection_id,
        details.get("customer_id"),
        details.get("orders", []),
        _request(delivery),
    )
    return {"redacted": asdict(done)}


def shop_redact(delivery: ShopifyWebhookDelivery) -> dict[str, Any]:
    done = privacy.redact_shop(
        _actor(delivery), delivery.connection_id, delivery.triggered_at, _request(delivery)
    )
    if done.skipped is None:
        deliveries.forget_details(delivery.workspace_id, delivery.connection_id, keep=delivery.id)
    return {"erased": asdict(done)}


def data_request(delivery: ShopifyWebhookDelivery) -> dict[str, Any]:
    details = delivery.details or {}
    held = privacy.record_data_request(
        _actor(delivery),
        delivery.connection_id,
        details.get("customer_id"),
        details.get("orders", []),
        {**_request(delivery), "data_request_id": details.get("data_request_id")},
    )
    return {"held": held}


HANDLERS: dict[str, Callable[[ShopifyWebhookDelivery], dict[str, Any]]] = {
    topics.UNINSTALLED: uninstalled,
    topics.CUSTOMERS_REDACT: customers_redact,
    topics.SHOP_REDACT: shop_redact,
    topics.DATA_REQUEST: data_request,
}


def process(workspace_id: int, delivery_id: int) -> dict[str, Any]:
    """Do the work of one recorded delivery (once); returns what was done."""
    delivery = deliveries.get(workspace_id, delivery_id)
    if delivery is None:  # its connection (and with it the row) was deleted meanwhile
        return {"status": "missing"}
    if delivery.status == "done":
        return {"status": "done", "note": "processed before"}
    handler = HANDLERS.get(delivery.topic)
    if handler is None:
        deliveries.mark(delivery.id, "ignored", error=f"no handler for {delivery.topic}")
        return {"status": "ignored"}
    try:
        result = handler(delivery)
    except Exception as error:
        deliveries.mark(delivery.id, "failed", error=f"{type(error).__name__}: {error}")
        raise  # RQ retries with backoff (metricx.sync.scheduling.RETRY)
    deliveries.mark(delivery.id, "done", result=result)
    return {"status": "done", **result}
