"""POST /webhooks/shopify as Shopify (and others) reach it: what is accepted, refused, stored."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import httpx
import pytest
import redis
from sandbox_fixtures import NOW

from metricx.sandbox.fakes.shopify_webhooks import ShopifyWebhooks, sign
from metricx.webhooks import verify
from webhooks.conftest import APP_SECRET
from webhooks.support import queued_jobs, rows, scalar


def deliveries() -> list[dict]:
    return rows("SELECT * FROM shopify_webhook_deliveries ORDER BY id")


def an_order_webhook(sender: ShopifyWebhooks):
    order = sender.shop.orders_until(NOW)[-1]
    return sender.order_events(order.created_at - timedelta(seconds=1), order.created_at)[0]


def test_hmac_is_base64_of_hmac_sha256_of_the_raw_body():
    # Given Shopify's documented construction, computed independently of the receiver
    body = b'{"id":820982911946154508,"email":"jon@example.com"}'
    expected = sign("hush", body)
    # Then the receiver computes the same value, and only for that secret and those bytes
    assert verify.signature("hush", body) == expected
    assert verify.matching_secrets(expected, body, {"hush", "other"}) == {"hush"}
    assert verify.matching_secrets(expected, body + b" ", {"hush"}) == set()
    assert verify.matching_secrets("not base64!", body, {"hush"}) == set()
    assert verify.matching_secrets(None, body, {"hush"}) == set()


def test_a_signed_order_webhook_is_accepted_recorded_and_queued(receiver, shop, sender):
    # Given an orders/create delivery from the fake shop, exactly as Shopify sends it
    delivery = an_order_webhook(sender)
    # When it arrives
    answer = receiver.deliver(delivery)
    # Then it is acknowledged at once, recorded with its headers, and a shop sync is queued
    assert answer.status_code == 200
    assert answer.json() == {"status": "accepted", "reason": "queued", "deliveries": 1}
    [row] = deliveries()
    assert (row["connection_id"], row["webhook_id"], row["topic"], row["shop_domain"]) == (
        shop.id,
        delivery.webhook_id,
        "orders/create",
        "northwind-outfitters.myshopify.com",
    )
    assert row["api_version"] == delivery.headers["X-Shopify-API-Version"]
    assert row["event_id"] == delivery.headers["X-Shopify-Event-Id"]
    assert row["triggered_at"] == delivery.triggered_at
    assert row["status"] == "queued" and row["details"] == {
        "order_id": str(delivery.payload()["id"])
    }
    assert queued_jobs() == {"high": [row["job_id"]]}


@pytest.mark.parametrize(
    "signature", [None, "", "bm90IHRoZSByaWdodCBkaWdlc3Q=", "%%%", "another app's"]
)
def test_a_missing_or_wrong_signature_is_401_and_stores_nothing(receiver, shop, sender, signature):
    delivery = an_order_webhook(sender)
    if signature == "another app's":
        signature = sign("another-apps-client-secret", delivery.body)
    answer = receiver.deliver(delivery, X_Shopify_Hmac_Sha256=signature)
    assert answer.status_code == 401
    assert answer.json() == {"error": "missing or invalid X-Shopify-Hmac-Sha256"}
    assert deliveries() == [] and queued_jobs() == {}


def test_a_body_changed_after_signing_is_401(receiver, shop, sender):
    delivery = an_order_webhook(sender)
    tampered = delivery.body.replace(b'"test":false', b'"test":true ')
    assert tampered != delivery.body
    answer = receiver.post(tampered, delivery.headers)
    assert answer.status_code == 401 and deliveries() == []


def test_a_replay_of_the_same_webhook_id_answers_200_and_does_nothing(receiver, shop, sender):
    # Given a delivery already received
    delivery = an_order_webhook(sender)
    assert receiver.deliver(delivery).json()["status"] == "accepted"
    before = deliveries()
    # When Shopify sends it again (a retry keeps the webhook id), twice
    again = [receiver.deliver(delivery) for _ in range(2)]
    # Then both are acknowledged as duplicates and nothing else is stored or queued
    assert [a.status_code for a in again] == [200, 200]
    assert {a.json()["status"] for a in again} == {"duplicate"}
    assert deliveries() == before
    assert len(queued_jobs()["high"]) == 1


def test_a_webhook_for_a_shop_without_connection_is_200_logged_and_does_nothing(
    receiver, shop, caplog
):
    # Given a delivery signed by our app for a shop no workspace connected
    other = ShopifyWebhooks(_shop_named("unknown-store.myshopify.com"))
    delivery = other.customers_redact("gid://shopify/Customer/7", [], NOW)
    # When it arrives
    with caplog.at_level(logging.INFO, logger="metricx.webhooks"):
        answer = receiver.deliver(delivery)
    # Then Shopify gets its 2xx, nothing is stored, and the log says why
    assert answer.status_code == 200
    assert answer.json()["status"] == "ignored"
    assert "no connection" in answer.json()["reason"]
    assert deliveries() == [] and queued_jobs() == {}
    assert scalar("SELECT count(*) FROM audit_log WHERE action LIKE 'privacy.%'") == 0
    assert any("unknown-store.myshopify.com" in r.getMessage() for r in caplog.records)


def test_an_unknown_shop_with_a_bad_signature_is_still_401(receiver, shop):
    other = ShopifyWebhooks(_shop_named("unknown-store.myshopify.com"), secret="forged")
    answer = receiver.deliver(other.shop_redact(NOW))
    assert answer.status_code == 401


@pytest.mark.parametrize("how", ["declared length", "chunked stream"])
def test_a_body_over_the_limit_is_413_and_stores_nothing(start_receiver, shop, sender, how):
    receiver = start_receiver(max_body_bytes=1000)
    delivery = an_order_webhook(sender)
    assert len(delivery.body) > 1000
    if how == "declared length":
        answer = receiver.deliver(delivery)
    else:
        answer = httpx.post(
            receiver.webhook_url,
            headers=delivery.headers,
            content=iter([delivery.body[:800], delivery.body[800:]]),
        )
    assert answer.status_code == 413
    assert "1,000" in answer.json()["error"]
    assert deliveries() == [] and queued_jobs() == {}


def test_signed_malformed_json_is_400_and_stores_nothing(receiver, shop, sender):
    # Shopify sends JSON (privacy-law-compliance: "a JSON body and Content-Type
    # application/json"): a signed body that is not JSON was damaged on the way, and a 400
    # makes Shopify deliver it again (8 retries over 4 hours), so nothing is lost.
    body = b'{"id": 5610000000013, "name": "#1001",'
    headers = {**an_order_webhook(sender).headers, "X-Shopify-Hmac-Sha256": sign(APP_SECRET, body)}
    answer = receiver.post(body, headers)
    assert answer.status_code == 400
    assert answer.json()["error"].startswith("malformed JSON body")
    assert deliveries() == [] and queued_jobs() == {}


@pytest.mark.parametrize(
    "header, value, message",
    [
        ("X-Shopify-Topic", None, "X-Shopify-Topic"),
        ("X-Shopify-Webhook-Id", None, "X-Shopify-Webhook-Id"),
        ("X-Shopify-Webhook-Id", "bad id with spaces", "X-Shopify-Webhook-Id"),
    ],
)
def test_a_signed_delivery_without_the_headers_it_needs_is_400(
    receiver, shop, sender, header, value, message
):
    answer = receiver.deliver(an_order_webhook(sender), **{header.replace("-", "_"): value})
    assert answer.status_code == 400 and message in answer.json()["error"]
    assert deliveries() == []


def test_a_body_naming_another_shop_than_its_header_is_400(receiver, shop, sender):
    # Given a compliance request for another shop, signed by our app, sent as this shop's: the
    # signature covers the body, not the headers, so the two must agree
    other = ShopifyWebhooks(_shop_named("other-store.myshopify.com"))
    delivery = other.shop_redact(NOW)
    answer = receiver.deliver(delivery, X_Shopify_Shop_Domain="northwind-outfitters.myshopify.com")
    assert answer.status_code == 400 and "shop_domain" in answer.json()["error"]
    assert deliveries() == []


def test_a_signed_body_replayed_under_another_topic_is_400(receiver, shop, sender):
    # An order body (which names a customer) sent as customers/redact is not a redaction
    answer = receiver.deliver(an_order_webhook(sender), X_Shopify_Topic="customers/redact")
    assert answer.status_code == 400 and deliveries() == []


def test_a_topic_we_do_not_handle_is_200_and_ignored(receiver, shop, sender):
    body = json.dumps({"id": 1, "title": "Boots"}).encode()
    headers = {
        **an_order_webhook(sender).headers,
        "X-Shopify-Topic": "products/update",
        "X-Shopify-Hmac-Sha256": sign(APP_SECRET, body),
    }
    answer = receiver.post(body, headers)
    assert answer.status_code == 200 and answer.json()["status"] == "ignored"
    assert deliveries() == []


def test_when_redis_fails_the_answer_is_503_and_shopifys_retry_gets_the_work_queued(
    receiver, shop, sender, monkeypatch
):
    # Given Redis refusing the first enqueue
    delivery = sender.app_uninstalled(NOW)
    real = "metricx.webhooks.intake.get_queue"
    from metricx.webhooks import intake

    original = intake.get_queue

    def broken(name: str):
        monkeypatch.setattr(real, original)
        raise redis.ConnectionError("Redis is restarting")

    monkeypatch.setattr(real, broken)
    # When the delivery arrives, the answer is 503: nothing was acknowledged
    first = receiver.deliver(delivery)
    assert first.status_code == 503 and "Retry-After" in first.headers
    assert [r["status"] for r in deliveries()] == ["received"]
    # When Shopify retries it (same webhook id), the work is queued this time, once
    second = receiver.deliver(delivery)
    assert second.status_code == 200 and second.json()["status"] == "accepted"
    assert [r["status"] for r in deliveries()] == ["queued"]
    assert queued_jobs() == {"default": [deliveries()[0]["job_id"]]}
    # And a third copy is a replay
    assert receiver.deliver(delivery).json()["status"] == "duplicate"


def test_healthz(receiver):
    assert httpx.get(receiver.url + "/healthz").json() == {"status": "ok"}


def test_get_on_the_webhook_path_is_405(receiver):
    assert httpx.get(receiver.webhook_url).status_code == 405


def _shop_named(domain: str):
    """A copy of the sandbox shop answering to another domain."""
    from dataclasses import replace

    from metricx.sandbox.merchant import Merchant

    merchant = Merchant(5, ads=3, campaigns=1, days=2, orders_per_day=3, today=NOW.date())
    merchant.shop.profile = replace(merchant.shop.profile, domain=domain)
    return merchant.shop
