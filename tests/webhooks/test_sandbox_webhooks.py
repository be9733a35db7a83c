"""The fake shop's webhooks look like Shopify's: headers, signature, REST payloads, timing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sandbox_fixtures import NOW

from metricx.sandbox.fakes.shopify_webhooks import ShopifyWebhooks, keep_sending
from metricx.webhooks import verify
from metricx.webhooks.headers import WebhookHeaders

SHOPIFY_HEADERS = {
    "Content-Type",
    "User-Agent",
    "X-Shopify-Topic",
    "X-Shopify-Hmac-Sha256",
    "X-Shopify-Shop-Domain",
    "X-Shopify-API-Version",
    "X-Shopify-Webhook-Id",
    "X-Shopify-Triggered-At",
    "X-Shopify-Event-Id",
}


def test_order_webhooks_carry_shopifys_headers_and_a_rest_order(sandbox):
    webhooks = ShopifyWebhooks(sandbox.merchant.shop)
    order = sandbox.merchant.shop.orders_until(NOW)[-1]
    [created] = [
        d for d in webhooks.order_events(order.created_at - timedelta(seconds=1), order.created_at)
    ]
    assert created.topic == "orders/create"
    assert set(created.headers) == SHOPIFY_HEADERS
    assert verify.matching_secrets(
        created.headers["X-Shopify-Hmac-Sha256"], created.body, {webhooks.secret}
    ) == {webhooks.secret}
    parsed = WebhookHeaders.parse({k.lower(): v for k, v in created.headers.items()})
    assert (parsed.topic, parsed.shop_domain, parsed.triggered_at) == (
        "orders/create",
        "northwind-outfitters.myshopify.com",
        order.created_at,
    )
    payload = created.payload()
    assert payload["id"] == int(order.external_id.rsplit("/", 1)[1])
    assert payload["admin_graphql_api_id"] == order.external_id
    assert payload["name"] == order.name
    assert datetime.fromisoformat(payload["created_at"]) == order.created_at
    assert datetime.fromisoformat(payload["updated_at"]) == order.created_at
    assert payload["created_at"].endswith(("-05:00", "-04:00"))  # the shop's offset
    assert payload["total_price"] == f"{order.total_cents / 100:.2f}"
    assert len(payload["line_items"]) == len(order.lines)


def test_an_interval_yields_creations_changes_and_refunds_in_order(sandbox):
    webhooks = ShopifyWebhooks(sandbox.merchant.shop)
    since, until = NOW - timedelta(days=3), NOW
    deliveries = webhooks.order_events(since, until)
    moments = [d.triggered_at for d in deliveries]
    assert moments == sorted(moments) and all(since < m <= until for m in moments)
    orders = sandbox.merchant.shop.orders_until(until)
    created = {o.external_id for o in orders if since < o.created_at <= until}
    refunds = [(o, r) for o in orders for r in o.refunds if since < r.created_at <= until]
    topics = [d.topic for d in deliveries]
    assert {
        d.payload()["admin_graphql_api_id"] for d in deliveries if d.topic == "orders/create"
    } == created
    assert topics.count("refunds/create") == len(refunds)
    for order, refund in refunds:
        [body] = [
            d.payload()
            for d in deliveries
            if d.topic == "refunds/create"
            and d.payload()["admin_graphql_api_id"] == refund.external_id
        ]
        assert body["order_id"] == int(order.external_id.rsplit("/", 1)[1])
    updated = [d.payload() for d in deliveries if d.topic == "orders/updated"]
    assert updated and all(datetime.fromisoformat(p["updated_at"]) > since for p in updated)


def test_sending_an_interval_again_repeats_its_webhook_ids(sandbox):
    webhooks = ShopifyWebhooks(sandbox.merchant.shop)
    first = webhooks.order_events(NOW - timedelta(hours=6), NOW)
    again = ShopifyWebhooks(sandbox.merchant.shop).order_events(NOW - timedelta(hours=6), NOW)
    assert [d.webhook_id for d in first] == [d.webhook_id for d in again]
    assert len({d.webhook_id for d in first}) == len(first)


def test_the_timer_resends_a_round_that_did_not_get_through(sandbox, monkeypatch):
    # Given a receiver that is down for the first round, then answers
    webhooks = ShopifyWebhooks(sandbox.merchant.shop)
    clock = iter([NOW - timedelta(days=2), NOW - timedelta(days=1), NOW])
    sent: list[list[str]] = []

    def send(url, deliveries, client=None):
        ids = [d.webhook_id for d in deliveries]
        if not sent:
            sent.append(ids)
            raise httpx.ConnectError("connection refused")
        sent.append(ids)
        return [200] * len(ids)

    monkeypatch.setattr(webhooks, "send", send)
    rounds = iter([False, False, True])
    keep_sending(
        webhooks,
        "http://127.0.0.1:9/webhooks/shopify",
        20,
        lambda: next(rounds),
        lambda: next(clock),
        lambda seconds: None,
    )
    # Then the second round carried the first round's webhooks again, with the same ids
    assert sent[0] and set(sent[0]) <= set(sent[1])
    assert sent[1] == [d.webhook_id for d in webhooks.order_events(NOW - timedelta(days=2), NOW)]


def test_triggered_at_is_written_as_shopify_does(sandbox):
    webhooks = ShopifyWebhooks(sandbox.merchant.shop)
    delivery = webhooks.shop_redact(datetime(2026, 11, 20, 15, 7, 0, 123456, tzinfo=UTC))
    assert delivery.headers["X-Shopify-Triggered-At"] == "2026-11-20T15:07:00.123456000Z"
    assert delivery.payload() == {
        "shop_id": 68700000001,
        "shop_domain": "northwind-outfitters.myshopify.com",
    }
