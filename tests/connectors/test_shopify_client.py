"""ShopifyClient against the fake Admin GraphQL API: orders, products, customers, faults."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import test_shopify_fake as support

from metricx.connectors.errors import (
    AuthError,
    InvalidRequestError,
    MalformedResponseError,
)
from metricx.connectors.shopify import ShopifyClient

# The shared Shopify fixtures (see test_shopify_fake).
fake = support.fake
shopify = support.shopify
virtual = support.virtual


@pytest.fixture
def make_shopify(shopify):
    """Every client here judges the age of its high-water mark on the sandbox's clock."""
    return shopify


def _cents(value: Decimal) -> int:
    return int(value * 100)


def test_shop_info(make_shopify) -> None:
    info = make_shopify().shop_info()
    assert (info.domain, info.currency, info.timezone) == (
        "northwind-outfitters.myshopify.com",
        "USD",
        "America/New_York",
    )


def test_orders_since_equal_the_shop_exactly(make_shopify, merchant, now) -> None:
    # given the orders updated in the last three days
    since = now - timedelta(days=3)
    records = list(make_shopify().orders(since))
    truth = {
        o.external_id: o
        for o in merchant.shop.orders_until(now)
        if o.updated_at(now) >= since.replace(microsecond=0)
    }
    # then exactly those come back, oldest update first, with every amount to the cent
    assert [r.external_id for r in records] == sorted(
        truth, key=lambda i: (truth[i].updated_at(now), int(i.rsplit("/", 1)[1]))
    )
    for record in records:
        order = truth[record.external_id]
        assert _cents(record.gross) == order.gross_cents
        assert _cents(record.discounts) == order.discount_cents
        assert _cents(record.shipping) == order.shipping_cents
        assert _cents(record.tax) == order.tax_cents
        assert _cents(record.refunded) == order.refunded_cents(now)
        assert _cents(record.total) == order.total_cents - order.refunded_cents(now)
        assert record.updated_at == order.updated_at(now)
        assert record.test == order.test
        assert record.customer_id == order.customer_id
        assert [li.quantity for li in record.line_items] == [li.quantity for li in order.lines]
        assert [
            _cents(li.unit_cost) if li.unit_cost is not None else None for li in record.line_items
        ] == [li.variant.cost_cents for li in order.lines]
        assert sum(r.amount for r in record.refunds) == record.refunded


def test_journeys_carry_the_utms_of_real_ads(make_shopify, merchant, now) -> None:
    records = list(make_shopify().orders(now - timedelta(days=1)))
    ad_ids = {a.external_id for a in merchant.tree.ads}
    tagged = [
        r
        for r in records
        if r.journey_ready and r.journey.last_visit and r.journey.last_visit.utm_content in ad_ids
    ]
    assert tagged
    assert all(r.customer_order_index >= 1 for r in tagged)
    assert tagged[0].journey.last_visit.landing_page.startswith("https://")


def test_a_journey_not_ready_yet_is_flagged(make_shopify, merchant, sandbox, now) -> None:
    late = next(
        o
        for o in reversed(merchant.shop.orders_until(now - timedelta(hours=6)))
        if o.journey and o.journey.ready_at > o.created_at
    )
    sandbox.now = late.created_at + timedelta(minutes=1)
    records = {r.external_id: r for r in make_shopify().orders(late.created_at)}
    assert not records[late.external_id].journey_ready
    assert records[late.external_id].journey.first_visit is None


def test_a_refund_brings_an_order_back_into_the_incremental_sync(
    make_shopify, merchant, sandbox, now
) -> None:
    # given an order placed before now that will be refunded in the next ten days
    order = next(
        o
        for o in merchant.shop.orders_until(now)
        if o.refunds
        and now < o.refunds[0].created_at < now + timedelta(days=10)
        and o.cancelled_at is None
    )
    refund = order.refunds[0]
    # when the clock passes the refund and we sync since just before it
    sandbox.now = refund.created_at + timedelta(minutes=5)
    records = {r.external_id: r for r in make_shopify().orders(refund.created_at)}
    # then the order is back with the refund and its date
    record = records[order.external_id]
    assert record.updated_at >= refund.created_at
    assert _cents(record.refunded) == refund.amount_cents
    assert record.refunds[0].created_at == refund.created_at


def test_products_have_variants_with_unit_costs(make_shopify, merchant) -> None:
    records = list(make_shopify().products())
    assert len(records) == len(merchant.shop.products)
    variants = {v.external_id: v for p in records for v in p.variants}
    for product in merchant.shop.products:
        for variant in product.variants:
            got = variants[variant.external_id]
            assert _cents(got.price) == variant.price_cents
            assert (None if got.unit_cost is None else _cents(got.unit_cost)) == variant.cost_cents
    assert any(v.unit_cost is None for v in variants.values())  # the gift card


def test_customers_since(make_shopify, merchant, now) -> None:
    since = now - timedelta(days=2)
    records = list(make_shopify().customers(since))
    expected = {
        c.external_id
        for c in merchant.shop.customers_until(now)
        if c.updated_at(now) >= since.replace(microsecond=0)
    }
    assert {r.external_id for r in records} == expected
    record = records[-1]
    customer = merchant.shop.customer(record.external_id)
    assert record.orders_count == customer.number_of_orders(now)
    assert _cents(record.amount_spent) == customer.amount_spent_cents(now)


def test_paging_goes_on_after_a_short_page(make_shopify, sandbox, merchant, now) -> None:
    sandbox.faults.add("shopify", "short_page", rows=1)
    records = list(make_shopify(page_size=20).orders(now - timedelta(days=1)))
    expected = [
        o
        for o in merchant.shop.orders_until(now)
        if o.updated_at(now) >= (now - timedelta(days=1)).replace(microsecond=0)
    ]
    assert len(records) == len(expected) > 20
    assert len({r.external_id for r in records}) == len(records)


def test_long_line_item_lists_are_completed(make_shopify, sandbox, merchant, now) -> None:
    records = list(make_shopify(inner_page_size=1).orders(now - timedelta(hours=12)))
    multi = [r for r in records if len(r.line_items) > 1]
    assert multi
    for record in multi:
        order = merchant.shop.order(record.external_id, now)
        assert len(record.line_items) == len(order.lines)
        assert _cents(record.gross) == order.gross_cents
    assert (
        sandbox.requests.of("shopify")[-1]
        .body["variables"]["id"]
        .startswith("gid://shopify/Order/")
    )


def test_throttling_waits_exactly_for_the_bucket(make_shopify, sandbox, sleeps) -> None:
    sandbox.faults.add("shopify", "throttle", requested=752, available=666, restore=50.0)
    assert make_shopify().shop_info().currency == "USD"
    assert sleeps == [1.72]
    assert len(sandbox.requests.of("shopify")) == 2


def test_an_invalid_token_is_an_auth_error(make_shopify, sandbox, sleeps) -> None:
    sandbox.faults.add("shopify", "auth")
    with pytest.raises(AuthError, match="reinstall"):
        make_shopify().shop_info()
    assert len(sandbox.requests.of("shopify")) == 1 and sleeps == []
    with pytest.raises(AuthError):
        make_shopify(access_token="shpat_wrong").shop_info()


def test_server_errors_are_retried(make_shopify, sandbox, sleeps) -> None:
    sandbox.faults.add("shopify", "server_error", status=502)
    assert make_shopify().shop_info()
    assert sleeps == [2.0]


def test_malformed_json_is_reported(make_shopify, sandbox) -> None:
    sandbox.faults.add("shopify", "malformed")
    with pytest.raises(MalformedResponseError):
        make_shopify().shop_info()
    assert len(sandbox.requests.of("shopify")) == 1


def test_a_too_costly_query_is_retried_with_smaller_pages(make_shopify, sandbox, now) -> None:
    # Given Shopify prices a page higher than the client did (a schema change)
    sandbox.faults.add("shopify", "max_cost", cost=4000, max=1000)
    # When a recent window is read (no count query first)
    records = list(make_shopify(page_size=40).orders(now - timedelta(minutes=50)))
    # Then the planned page of 15 shrinks as Shopify's figure says, and nothing is lost
    sizes = [r.body["variables"]["first"] for r in sandbox.requests.of("shopify")]
    assert sizes[:2] == [15, 3]
    assert records


def test_graphql_errors_are_invalid_requests(make_shopify, sandbox) -> None:
    sandbox.faults.add("shopify", "bad_request")
    with pytest.raises(InvalidRequestError, match="doesn't exist"):
        list(make_shopify().customers())


def test_oauth_code_exchange(sandbox) -> None:
    c = sandbox.credentials
    grant = ShopifyClient.exchange_code(
        c.shopify_shop,
        c.shopify_auth_code,
        client_id=c.shopify_client_id,
        client_secret=c.shopify_client_secret,
        url_template=sandbox.env["SHOPIFY_URL_TEMPLATE"],
    )
    assert grant.access_token.startswith("shpat_") and "read_orders" in grant.scope
    client = ShopifyClient(
        c.shopify_shop, grant.access_token, url_template=sandbox.env["SHOPIFY_URL_TEMPLATE"]
    )
    assert client.shop_info().name == "Northwind Outfitters"
    with pytest.raises(AuthError, match="install"):
        ShopifyClient.exchange_code(
            c.shopify_shop,
            "used-code",
            client_id=c.shopify_client_id,
            client_secret=c.shopify_client_secret,
            url_template=sandbox.env["SHOPIFY_URL_TEMPLATE"],
        )


def test_updated_since_must_be_aware(make_shopify) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        list(make_shopify().orders(datetime(2025, 11, 1)))
    assert list(make_shopify().orders(datetime(2030, 1, 1, tzinfo=UTC))) == []


def test_the_client_fits_under_shopifys_query_cost_limit(
    make_shopify, sandbox, merchant, now, fake, virtual
) -> None:
    # Given the fake enforcing the real single-query cost limit (its default), and a client
    # that paces on the fake's bucket
    client = make_shopify(clock=virtual.clock, sleep=virtual.sleep)
    since = now - timedelta(hours=8)
    # When orders are read
    records = list(client.orders(since))
    # Then no query is refused: one count, then pages of 15 orders that all fit
    expected = [
        o
        for o in merchant.shop.orders_until(now)
        if o.updated_at(now) >= since.replace(microsecond=0)
    ]
    assert len(records) == len(expected) > 15
    sent = sandbox.requests.of("shopify")
    pages = [r for r in sent[1:] if not r.body["query"].startswith("query Refunds(")]
    assert "ordersCount" in sent[0].body["query"]
    assert [r.body["variables"]["first"] for r in pages] == [15] * math.ceil(len(expected) / 15)
    assert client.requests_made == len(sent) and fake.bucket.refusals == 0
