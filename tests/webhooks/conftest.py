"""The receiver as Shopify reaches it (the real app under uvicorn on loopback, in a thread),
a shop connection on the sandbox merchant, and its fake shop's webhooks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sandbox_fixtures import CREDENTIALS, NOW
from served import serve
from sqlalchemy import text

from metricx.db import get_engine
from metricx.sandbox.fakes.shopify_webhooks import ShopifyWebhooks
from metricx.webhooks.app import MAX_BODY_BYTES, create_app
from webhooks.support import Receiver

APP_SECRET = CREDENTIALS.shopify_client_secret  # SHOPIFY_CLIENT_SECRET in these tests


@pytest.fixture
def start_receiver(db: None, redis_conn: Any) -> Iterator[Callable[..., Receiver]]:
    """start_receiver(max_body_bytes=...) -> a running receiver, stopped after the test."""
    running: list[Receiver] = []

    def start(max_body_bytes: int = MAX_BODY_BYTES) -> Receiver:
        receiver = Receiver(*serve(create_app(max_body_bytes), "receiver"))
        running.append(receiver)
        return receiver

    yield start
    for receiver in running:
        receiver.stop()


@pytest.fixture
def receiver(start_receiver: Callable[..., Receiver]) -> Receiver:
    return start_receiver()


@pytest.fixture
def shop(fakes, admin, redis_conn, setenv):
    """A Shopify connection to the sandbox shop; the app's secret is the sandbox app's."""
    from metricx.services.connections import add_connection

    setenv(SHOPIFY_CLIENT_SECRET=APP_SECRET)
    return add_connection(
        admin, "shopify", CREDENTIALS.shopify_shop, CREDENTIALS.shopify_access_token
    )


@pytest.fixture
def sender(fakes) -> ShopifyWebhooks:
    """The fake shop's webhooks, signed with the app's secret."""
    return fakes.webhooks


@pytest.fixture
def synced_shop(shop, fakes):
    """The shop synced up to just before its latest order (which a webhook then announces):
    returns (connection, that moment, the order)."""
    from metricx.sync.pipeline import sync_connection

    latest = fakes.merchant.shop.orders_until(NOW)[-1]
    before = latest.created_at - timedelta(seconds=1)
    fakes.now = before
    assert sync_connection(shop.workspace_id, shop.id, "shop").status == "success"
    fakes.now = NOW
    return shop, before, latest


def add_pixel_events(workspace_id: int, events: list[dict[str, Any]]) -> None:
    """Insert pixel events (as the collector stores them)."""
    with get_engine().begin() as conn:
        conn.execute(
            text("""
            INSERT INTO pixel_events (workspace_id, event_id, anonymous_id, event, url,
                referrer, utm_source, utm_medium, utm_campaign, order_external_id, occurred_at)
            VALUES (:ws, :event_id, :anonymous_id, :event, :url, :referrer, :utm_source,
                    :utm_medium, :utm_campaign, :order_external_id, :occurred_at)"""),
            [
                {
                    "ws": workspace_id,
                    "referrer": None,
                    "utm_source": None,
                    "utm_medium": None,
                    "utm_campaign": None,
                    "order_external_id": None,
                    **e,
                }
                for e in events
            ],
        )


def browse_and_buy(
    workspace_id: int,
    browser: str,
    order_gid: str,
    bought_at: datetime,
) -> None:
    """A browser's visit from a Meta ad (its URL carries a click id and an email) and the
    purchase of `order_gid` (sent by the storefront with the numeric id)."""
    number = order_gid.rsplit("/", 1)[1]
    add_pixel_events(
        workspace_id,
        [
            {
                "event_id": f"{browser}-view",
                "anonymous_id": browser,
                "event": "page_view",
                "url": "https://northwindoutfitters.com/products/boots?utm_source=facebook"
                "&utm_medium=paid_social&utm_campaign=BFCM&fbclid=IwAR0secret"
                "&email=someone%40example.com#top",
                "referrer": "https://l.facebook.com/l.php?u=https%3A%2F%2Fnorthwindoutfitters.com",
                "utm_source": "facebook",
                "utm_medium": "paid_social",
                "utm_campaign": "BFCM",
                "occurred_at": bought_at - timedelta(minutes=9),
            },
            {
                "event_id": f"{browser}-buy",
                "anonymous_id": browser,
                "event": "purchase",
                "url": f"https://northwindoutfitters.com/checkouts/c/tok{number}/thank-you",
                "referrer": "https://northwindoutfitters.com/cart",
                "order_external_id": number,
                "occurred_at": bought_at,
            },
        ],
    )
