"""The Shopify custom pixel's real JavaScript, as Settings renders it, run by Debian's chromium
(through Playwright) inside a Web Pixels sandbox (web_pixels.py), posting to the running
collector; then attribution joins what it sent to the Shopify order."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from chromium import CHROMIUM, MISSING, launched
from pixel_support import RequestLog, stored_events
from table_rows import read
from web_pixels import (
    SHOP,
    SandboxServer,
    Storefront,
    checkout_completed,
    product_added_to_cart,
    wait_until,
)

from metricx.attribution.compute import attribute_new_orders, orders_to_attribute
from metricx.config import load
from metricx.db import transaction
from metricx.models import Connection, Entity, ShopifyOrder, ShopifyShop
from metricx.pixel.snippet import shopify_custom_pixel

pytestmark = pytest.mark.browser

if not CHROMIUM.exists():
    pytest.skip(MISSING, allow_module_level=True)

ORDER_NUMBER = 6_012_345_678_901
TOKEN = "c1-3f9a2b7d5e8c4a6b9d0e1f2a3b4c5d6e"
THANK_YOU = f"https://{SHOP}/checkouts/cn/{TOKEN}/thank-you"
TEXT_PLAIN = "text/plain;charset=UTF-8"  # a string body, as sendBeacon and fetch send it


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    with launched() as browser:
        yield browser


@pytest.fixture
def shop(chromium, start_collector, workspace) -> Iterator[tuple[Storefront, RequestLog]]:
    """A buyer's browser on a store running the workspace's custom pixel, as Settings shows
    it, against a running collector whose requests are logged."""
    log = RequestLog()
    collector = start_collector(wrap=log.wrap)
    code = shopify_custom_pixel(load({"PIXEL_PUBLIC_URL": collector.url}), workspace.pixel_key)
    server = SandboxServer(code)
    storefront = Storefront(chromium, server)
    try:
        yield storefront, log
    finally:
        storefront.close()
        server.stop()


@dataclass(frozen=True)
class Store:
    campaign_id: int
    campaign_external_id: str
    order_id: int


def _store_with_a_new_order(workspace_id: int) -> Store:
    """A Google Ads campaign of the workspace and the Shopify shop, as the syncs store them,
    with the order the shop's sync stores for the checkout of this test (placed a minute
    ago: the collector takes events of the last 30 days by the real clock)."""
    placed = datetime.now(UTC) - timedelta(minutes=1)
    with transaction() as session:
        google = Connection(
            workspace_id=workspace_id,
            provider="google",
            external_account_id="5551234567",
            name="Acme Google Ads",
            currency="USD",
            timezone="America/New_York",
        )
        shopify = Connection(
            workspace_id=workspace_id,
            provider="shopify",
            external_account_id=SHOP,
            name="Acme Boots",
        )
        session.add_all([google, shopify])
        session.flush()
        account = Entity(
            workspace_id=workspace_id,
            connection_id=google.id,
            level="account",
            external_id="5551234567",
            name="Acme Google Ads",
        )
        shop = ShopifyShop(
            workspace_id=workspace_id,
            connection_id=shopify.id,
            domain=SHOP,
            name="Acme Boots",
            currency="USD",
            timezone="America/New_York",
        )
        session.add_all([account, shop])
        session.flush()
        campaign = Entity(
            workspace_id=workspace_id,
            connection_id=google.id,
            level="campaign",
            external_id="20987654321",
            parent_id=account.id,
            name="Boots | Search",
            status="ENABLED",
        )
        order = ShopifyOrder(
            workspace_id=workspace_id,
            shop_id=shop.id,
            external_id=f"gid://shopify/Order/{ORDER_NUMBER}",
            name="#9001",
            created_at=placed,
            processed_at=placed,
            updated_at=placed,
            currency="USD",
            gross_sales=Decimal("129.00"),
            shipping=Decimal("6.00"),
            total_price=Decimal("135.00"),
        )
        session.add_all([campaign, order])
        session.flush()
        return Store(campaign.id, campaign.external_id, order.id)


def test_an_ad_click_to_purchase_on_shopify_reaches_the_order_and_credits_the_campaign(
    workspace, shop
):
    storefront, log = shop
    store = _store_with_a_new_order(workspace.id)
    now = datetime.now(UTC)
    # Given a buyer who lands from a Google ad on a product page and adds it to the cart
    landing = (
        f"https://{SHOP}/products/boots?utm_source=google&utm_medium=cpc"
        f"&utm_campaign={store.campaign_external_id}&gclid=Cj0KCQiA4Y"
    )
    product_page = storefront.open(landing, referrer="https://www.google.com/")
    viewed = product_page.publish("page_viewed", {}, now - timedelta(minutes=20))
    added = product_page.publish(
        "product_added_to_cart", product_added_to_cart(), now - timedelta(minutes=18)
    )
    # When they pay, and Shopify's Thank you page (a new page: a new sandbox) publishes the
    # page view and checkout_completed, with the order's id as the checkout gives it
    thank_you = storefront.open(THANK_YOU, referrer=f"https://{SHOP}/checkouts/cn/{TOKEN}")
    thanked = thank_you.publish("page_viewed", {}, now - timedelta(minutes=2))
    completed = thank_you.publish(
        "checkout_completed",
        checkout_completed(f"gid://shopify/OrderIdentity/{ORDER_NUMBER}", TOKEN),
        now - timedelta(minutes=1),
    )
    # Then the collector stored the four events as sent, one browser id for all of them: the
    # one the pixel keeps in the store's localStorage through browser.localStorage
    rows = wait_until(
        lambda: len(stored_events(workspace.id)) == 4 and stored_events(workspace.id),
        "4 stored events",
    )
    by_id = {row["event_id"]: row for row in rows}
    assert set(by_id) == {e["id"] for e in (viewed, added, thanked, completed)}
    anonymous_id = thank_you.local_storage("metricx_anon")
    assert {row["anonymous_id"] for row in rows} == {anonymous_id}
    assert anonymous_id != storefront.client_id  # its own id, not Shopify's stand-in
    view = by_id[viewed["id"]]
    assert (view["event"], view["url"], view["referrer"]) == (
        "page_view",
        landing,
        "https://www.google.com/",
    )
    assert (view["utm_source"], view["utm_medium"], view["utm_campaign"]) == (
        "google",
        "cpc",
        store.campaign_external_id,
    )
    assert view["occurred_at"] == datetime.fromisoformat(viewed["timestamp"])
    assert by_id[added["id"]]["event"] == "add_to_cart"
    purchase = by_id[completed["id"]]
    assert (purchase["event"], purchase["url"], purchase["order_external_id"]) == (
        "purchase",
        THANK_YOU,
        f"gid://shopify/OrderIdentity/{ORDER_NUMBER}",
    )
    # And they came as browser.sendBeacon sends them: from the top frame (the store's page),
    # a string body as text/plain, each taken with 202
    posts = log.posts()
    assert [(p.headers.get("content-type"), p.headers.get("origin"), p.status) for p in posts] == [
        (TEXT_PLAIN, storefront.server.origin, 202)
    ] * 4
    assert all(
        b["queued"] and isinstance(b["body"], str)
        for b in product_page.beacons() + thank_you.beacons()
    )
    assert product_page.console() == thank_you.console() == []
    # When attribution picks up the orders with a recent pixel purchase
    assert store.order_id in orders_to_attribute(workspace.id)
    attribute_new_orders(workspace.id)
    # Then the order's journey holds the ad click (the internal page views are not visits),
    # mapped to the campaign, and the purchase is credited to it
    touches = read(
        """SELECT t.source_kind, t.channel, t.entity_id, t.landing_page
                      FROM touchpoints t JOIN customer_journeys j ON j.id = t.journey_id
                      WHERE j.order_id = :o""",
        o=store.order_id,
    )
    assert touches.to_dict("records") == [
        {
            "source_kind": "pixel",
            "channel": "paid_search",
            "entity_id": store.campaign_id,
            "landing_page": landing,
        }
    ]
    credited = read(
        """SELECT entity_id, credit FROM attributions WHERE order_id = :o
                       AND model = 'last_click' AND window_days = 28 AND mode = 'cash'""",
        o=store.order_id,
    )
    assert credited.to_dict("records") == [{"entity_id": store.campaign_id, "credit": 1}]


@pytest.mark.parametrize("beacon", ["refuse", "missing"])
def test_without_a_queued_beacon_the_pixel_posts_with_fetch_from_its_null_origin_sandbox(
    workspace, shop, beacon
):
    storefront, log = shop
    # Given a browser that will not queue the beacon, or a sandbox without browser.sendBeacon
    # (Shopify has deprecated it in favour of fetch with keepalive)
    page = storefront.open(f"https://{SHOP}/?utm_source=newsletter", referrer="", beacon=beacon)
    # When Shopify publishes a page view
    viewed = page.publish("page_viewed", {}, datetime.now(UTC))
    # Then the pixel posts it itself, from the sandboxed iframe: Origin "null", text/plain (no
    # preflight), and the browser lets it read the 202 (no CORS error, no warning)
    [row] = wait_until(lambda: stored_events(workspace.id), "the stored page view")
    assert (row["event_id"], row["utm_source"], row["referrer"]) == (
        viewed["id"],
        "newsletter",
        None,
    )
    assert [
        (p.headers.get("content-type"), p.headers.get("origin"), p.status) for p in log.posts()
    ] == [(TEXT_PLAIN, "null", 202)]
    assert [b["queued"] for b in page.beacons()] == ([] if beacon == "missing" else [False])
    assert page.console() == []


def test_a_checkout_without_an_order_id_sends_no_purchase_and_says_so(workspace, shop):
    storefront, log = shop
    # Given the Thank you page, where checkout_completed arrives without order.id
    page = storefront.open(THANK_YOU, referrer="")
    page.publish("checkout_completed", checkout_completed(None, TOKEN), datetime.now(UTC))
    # When the next event of the page is delivered
    viewed = page.publish("page_viewed", {}, datetime.now(UTC))
    [row] = wait_until(lambda: stored_events(workspace.id), "the stored page view")
    # Then only the page view was sent, and the console says why no purchase was
    assert row["event_id"] == viewed["id"] and len(log.posts()) == 1
    assert page.console() == [
        ("warn", "Metricx pixel: checkout_completed carried no order id; purchase not sent")
    ]
