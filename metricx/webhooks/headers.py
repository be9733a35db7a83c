"""The X-Shopify-* headers of a delivery, read and checked.

Shopify names them in "Webhooks delivery structure", Headers
(https://shopify.dev/docs/apps/build/webhooks/delivery-structure): X-Shopify-Topic,
X-Shopify-Hmac-Sha256, X-Shopify-Shop-Domain (the shop's myshopify.com domain),
X-Shopify-API-Version (the version the payload was serialised with), X-Shopify-Webhook-Id (one
per delivery: "use it to detect duplicates", verify-deliveries), X-Shopify-Triggered-At (when
the event happened; retries carry the original one, so it tells how stale a payload is:
changelog "Updates to webhook retry mechanism", 2024-09-10) and X-Shopify-Event-Id (the event;
several subscriptions to one event share it). Header names are case-insensitive.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from metricx.asgi import Rejected

SHOP_DOMAIN = re.compile(r"[a-z0-9][a-z0-9-]*\.myshopify\.com")
TOPIC = re.compile(r"[a-z_]+/[a-z_]+")
WEBHOOK_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def shop_domain(raw: str | None) -> str | None:
    """The shop's myshopify.com domain as connections store it, or None when it is not one."""
    value = (raw or "").strip().lower()
    return value if SHOP_DOMAIN.fullmatch(value) else None


def _header(headers: Mapping[str, str], name: str) -> str:
    return (headers.get(name) or "").strip()


def _optional(headers: Mapping[str, str], name: str, limit: int) -> str | None:
    value = _header(headers, name)
    return value[:limit] if value else None


def _moment(raw: str | None) -> datetime | None:
    """X-Shopify-Triggered-At, e.g. 2026-11-20T15:07:00.123456789Z (nanoseconds)."""
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


@dataclass(frozen=True)
class WebhookHeaders:
    topic: str
    shop_domain: str
    webhook_id: str
    api_version: str | None
    event_id: str | None
    triggered_at: datetime | None

    @classmethod
    def parse(cls, headers: Mapping[str, str]) -> WebhookHeaders:
        """The headers of a verified delivery; 400 when one it cannot do without is wrong."""
        topic = _header(headers, "x-shopify-topic").lower()
        if not TOPIC.fullmatch(topic):
            raise Rejected(400, "X-Shopify-Topic is missing or not a topic like orders/create")
        domain = shop_domain(headers.get("x-shopify-shop-domain"))
        if domain is None:
            raise Rejected(400, "X-Shopify-Shop-Domain is missing or not a *.myshopify.com domain")
        webhook_id = _header(headers, "x-shopify-webhook-id")
        if not WEBHOOK_ID.fullmatch(webhook_id):
            raise Rejected(400, "X-Shopify-Webhook-Id is missing or malformed")
        return cls(
            topic=topic,
            shop_domain=domain,
            webhook_id=webhook_id,
            api_version=_optional(headers, "x-shopify-api-version", 32),
            event_id=_optional(headers, "x-shopify-event-id", 128),
            triggered_at=_moment(headers.get("x-shopify-triggered-at")),
        )
