"""The shop sync with today's Shopify: a first sync through bulk operations with refunds split
into sales, shipping and tax, expiring tokens refreshed and their rotated pair stored
encrypted, and a broken answer that loses nothing."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from functools import partial

import pytest
from sandbox_fixtures import CREDENTIALS, NOW
from sqlalchemy import func, select

from metricx.connection_store import get_connection, read_stored_token, store_token_pair
from metricx.connectors.errors import MalformedResponseError
from metricx.connectors.shopify import ShopifyClient
from metricx.db import new_session
from metricx.models import ShopifyOrder, ShopifyRefund, ShopifyShop, Token
from metricx.services.connections import add_connection
from metricx.sync import shopify
from metricx.sync.pipeline import sync_connection


@pytest.fixture
def shop_fake(fakes) -> Iterator[object]:
    fake = fakes.shopify
    fake.bucket.reset()
    yield fake
    fake.bucket.reset()


def _orders() -> dict[str, object]:
    with new_session() as session:
        return dict(
            session.execute(select(ShopifyOrder.external_id, ShopifyOrder.updated_at)).all()
        )


def _refunds() -> dict[tuple[str, str], tuple[Decimal, ...]]:
    """{(order, refund): (amount, sales, shipping, taxes)} as stored."""
    with new_session() as session:
        rows = session.execute(
            select(
                ShopifyOrder.external_id,
                ShopifyRefund.external_id,
                ShopifyRefund.amount,
                ShopifyRefund.sales,
                ShopifyRefund.shipping,
                ShopifyRefund.taxes,
            ).join(ShopifyRefund, ShopifyRefund.order_id == ShopifyOrder.id)
        )
        return {(order, refund): tuple(money) for order, refund, *money in rows}


def _sandbox_refunds(merchant) -> dict[tuple[str, str], tuple[Decimal, ...]]:
    """The same, as the sandbox's shop issued them by NOW."""
    return {
        (order.external_id, r.external_id): tuple(
            Decimal(c) / 100 for c in (r.amount_cents, r.sales_cents, r.shipping_cents, r.tax_cents)
        )
        for order in merchant.shop.orders_until(NOW)
        for r in order.refunds_at(NOW)
    }


@pytest.mark.parametrize("threshold, bulk", [(10, True), (None, False)])
def test_a_first_sync_of_a_big_shop_reads_each_resource_with_one_bulk_operation(
    fakes, shop_fake, connections, monkeypatch, threshold, bulk
) -> None:
    # Given a shop bigger than the bulk threshold (the sandbox's is small: the threshold is
    # lowered), or a client that never uses bulk
    monkeypatch.setattr(
        "metricx.sync.sources.ShopifyClient", partial(ShopifyClient, bulk_threshold=threshold)
    )
    connection = connections["shopify"]
    # When the shop syncs for the first time
    outcome = sync_connection(connection.workspace_id, connection.id, "shop", now=NOW)
    # Then every order is there, read through three bulk files or page by page
    assert outcome.status == "success"
    assert len(_orders()) == len(fakes.merchant.shop.orders_until(NOW))
    graphql = fakes.requests.of("shopify", path="graphql.json")
    # ... and every refund split as Shopify split it (sales, shipping, tax), read for the
    # orders that have refunds (a bulk query may not nest those lists), several a query
    assert _refunds() == _sandbox_refunds(fakes.merchant)
    splits = [r for r in graphql if r.body["query"].startswith("query Refunds(")]
    refunded = {order for order, _ in _refunds()}
    assert 0 < len(splits) <= len(refunded)
    reads = [r for r in graphql if r not in splits]
    if bulk:
        assert len(splits) < len(refunded)
        assert len(fakes.requests.of("shopify", path="/bulk/")) == 3
        assert len(reads) == 1 + 3 * 4  # the shop; per resource a count, the run, 2 polls
    else:
        pages = math.ceil(len(_orders()) / 15)
        cursors = {r.body["variables"]["cursor"] for r in reads if r.body["variables"].get("lines")}
        assert len(cursors) == pages  # (a page may be sent twice: THROTTLED, then again)


def test_an_expiring_token_is_refreshed_and_the_rotated_pair_stored_encrypted(
    oauth_apps, shop_fake, admin
) -> None:
    fakes = oauth_apps  # the fakes, with the app's credentials (SHOPIFY_CLIENT_ID...) set
    # Given a shop connected by a public app's install: an hour's token and a refresh token
    grant = ShopifyClient.exchange_code(
        CREDENTIALS.shopify_shop,
        CREDENTIALS.shopify_auth_code,
        client_id=CREDENTIALS.shopify_client_id,
        client_secret=CREDENTIALS.shopify_client_secret,
        url_template=fakes.env["SHOPIFY_URL_TEMPLATE"],
        now=lambda: fakes.now,
    )
    connection = add_connection(
        admin, "shopify", CREDENTIALS.shopify_shop, grant.access_token, expires_at=grant.expires_at
    )
    store_token_pair(
        admin.workspace_id,
        connection.id,
        grant.access_token,
        grant.expires_at,
        grant.refresh_token,
        grant.refresh_expires_at,
    )
    # When the sync runs two hours later (the access token is dead), then again an hour on
    for hours in (2, 3):
        fakes.now = NOW + timedelta(hours=hours)
        outcome = sync_connection(admin.workspace_id, connection.id, "shop", now=fakes.now)
        assert outcome.status == "success", outcome.error
    # Then each sync refreshed once and kept the rotated refresh token (the first is used up)
    refreshes = fakes.requests.of("shopify", path="/oauth/access_token")
    used = [r.body["refresh_token"] for r in refreshes if r.body.get("grant_type")]
    assert len(used) == 2 and used[0] == grant.refresh_token and used[1] != used[0]
    stored = read_stored_token(admin.workspace_id, connection.id, "refresh")
    assert stored.secret not in used and stored.expires_at > fakes.now + timedelta(days=80)
    access = read_stored_token(admin.workspace_id, connection.id)
    last_query = fakes.requests.of("shopify", path="graphql.json")[-1]
    assert last_query.headers["x-shopify-access-token"] == access.secret != grant.access_token
    assert access.expires_at > grant.expires_at
    with new_session() as session:
        rows = session.scalars(select(Token).where(Token.connection_id == connection.id)).all()
    assert {r.kind for r in rows} == {"access", "refresh"}
    assert all(stored.secret.encode() not in r.ciphertext for r in rows)
    assert get_connection(admin.workspace_id, connection.id).status == "active"


def test_a_broken_page_loses_nothing_already_stored(fakes, shop_fake, admin, redis_conn) -> None:
    connection = add_connection(
        admin, "shopify", CREDENTIALS.shopify_shop, CREDENTIALS.shopify_access_token
    )
    shop = shopify.upsert_shop(
        admin.workspace_id,
        connection.id,
        ShopifyClient(
            CREDENTIALS.shopify_shop,
            CREDENTIALS.shopify_access_token,
            url_template=fakes.env["SHOPIFY_URL_TEMPLATE"],
        ).shop_info(),
    )
    client = ShopifyClient(
        CREDENTIALS.shopify_shop,
        CREDENTIALS.shopify_access_token,
        url_template=fakes.env["SHOPIFY_URL_TEMPLATE"],
        bulk_threshold=None,
        sleep=lambda s: None,
    )

    def breaking_after(count: int) -> Iterator[object]:
        for number, record in enumerate(client.orders(), 1):
            yield record
            if number == count:  # the next page Shopify sends is cut in half
                fakes.faults.add("shopify", "malformed")

    # Given orders written page by page until an answer arrives that is not JSON (the client
    # reads a page's worth of orders ahead, to split their refunds: the break comes with the
    # first read after the first page)
    with pytest.raises(MalformedResponseError):
        shopify.write_orders(shop, breaking_after(shopify.PAGE - 5))
    # Then the pages written before it are kept, and the high-water mark says so
    kept = _orders()
    assert len(kept) == shopify.PAGE
    with new_session() as session:
        mark = session.scalar(select(ShopifyShop.orders_synced_until))
    assert mark == max(kept.values())
    # And the next sync, from that mark, completes the shop exactly once
    shopify.write_orders(shop, client.orders(shopify.since(mark)))
    with new_session() as session:
        count = session.scalar(select(func.count()).select_from(ShopifyOrder))
    assert count == len(_orders()) == len(fakes.merchant.shop.orders_until(NOW))
