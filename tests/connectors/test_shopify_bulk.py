"""Backfills through bulk operations: the same records as pages, in far fewer requests."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
import test_shopify_fake as support

from metricx.connectors import shopify_bulk
from metricx.connectors.errors import (
    AccountBlockedError,
    MalformedResponseError,
    TransientError,
)

# The shared Shopify fixtures (see test_shopify_fake).
fake = support.fake
shopify = support.shopify
virtual = support.virtual


def test_a_large_backfill_reads_the_same_orders_as_pages_in_a_few_requests(
    shopify, sandbox, fake, virtual, now
) -> None:
    since = now - timedelta(days=6)
    # Given one client reading page by page and one allowed to use bulk above 100 orders
    paged = shopify(bulk_threshold=None, clock=virtual.clock, sleep=virtual.sleep)
    bulk = shopify(bulk_threshold=100, clock=virtual.clock, sleep=virtual.sleep)
    # When both read six days of orders
    by_pages = list(paged.orders(since))
    sandbox.requests.clear()
    by_bulk = list(bulk.orders(since))
    # Then they got the same orders, oldest update first, line items and refunds included
    assert by_bulk == by_pages and len(by_pages) > 100
    assert [r.updated_at for r in by_bulk] == sorted(r.updated_at for r in by_bulk)
    assert any(len(r.line_items) > 1 for r in by_bulk) and any(r.refunds for r in by_bulk)
    # And bulk took a count, the run, two polls and one download, then split the refunds of
    # the orders that have some, several orders a query, against a page per 15
    splits = [
        r
        for r in sandbox.requests.of("shopify", path="graphql.json")
        if r.body["query"].startswith("query Refunds(")
    ]
    assert bulk.requests_made == 4 + len(splits) and bulk.downloads_made == 1
    assert 0 < len(splits) < sum(1 for r in by_bulk if r.refunds)
    assert paged.requests_made >= math.ceil(len(by_pages) / 15)
    # And the result file was fetched without the shop's token (pre-signed storage)
    download = sandbox.requests.of("shopify", path="/bulk/")
    assert len(download) == 1 and "x-shopify-access-token" not in download[0].headers


def test_a_first_sync_of_a_big_shop_goes_through_bulk_for_every_resource(
    shopify, sandbox, fake, merchant, now, virtual
) -> None:
    # Given a shop with more of everything than the threshold (and a client pacing on the
    # fake's bucket, so no query is sent twice)
    client = shopify(bulk_threshold=10, clock=virtual.clock, sleep=virtual.sleep)
    # When everything is read for the first time
    orders, products, customers = (
        list(client.orders()),
        list(client.products()),
        list(client.customers()),
    )
    # Then all of it came from three bulk files, after a count each, and no page
    assert len(orders) == len(merchant.shop.orders_until(now))
    assert len(products) == len(merchant.shop.products)
    assert {c.external_id for c in customers} == {
        c.external_id for c in merchant.shop.customers_until(now)
    }
    assert all(p.variants for p in products)
    assert client.downloads_made == 3
    names = [
        r.body["query"].split("(")[0] for r in sandbox.requests.of("shopify", path="graphql.json")
    ]
    assert [n for n in names if n != "query Refunds"] == [
        "query Count",
        "mutation BulkRun",
        "query BulkStatus",
        "query BulkStatus",
    ] * 3
    assert "query Refunds" in names  # the orders' refunds split: not readable in bulk


def test_a_recent_high_water_mark_reads_pages_without_counting(shopify, sandbox, fake, now) -> None:
    client = shopify()
    assert list(client.orders(now - timedelta(minutes=40)))
    assert all(
        "ordersCount" not in r.body["query"] and "bulk" not in r.body["query"]
        for r in sandbox.requests.of("shopify")
    )


def test_a_small_backfill_is_counted_then_paged(shopify, sandbox, fake, now) -> None:
    client = shopify(bulk_threshold=500)
    records = list(client.orders(now - timedelta(days=2)))
    queries = [r.body["query"] for r in sandbox.requests.of("shopify")]
    assert "ordersCount" in queries[0] and all("bulkOperation" not in q for q in queries)
    assert 15 < len(records) < 500


@pytest.mark.parametrize(
    "code, error",
    [
        ("ACCESS_DENIED", AccountBlockedError),
        ("INTERNAL_SERVER_ERROR", TransientError),
        ("TIMEOUT", TransientError),
    ],
)
def test_a_failed_operation_says_whether_to_retry(shopify, fake, code, error) -> None:
    fake.bulk_failure = code
    with pytest.raises(error) as raised:
        list(shopify().customers())
    assert raised.value.code == code


def test_an_operation_denied_a_scope_blocks_the_connection(shopify, fake) -> None:
    fake.denied_scopes.add("read_orders")
    with pytest.raises(AccountBlockedError, match="approve the app's access scopes"):
        list(shopify().orders())


def test_the_file_is_rebuilt_whatever_the_order_of_its_lines() -> None:
    lines = [
        '{"id":"c1","quantity":1,"__parentId":"o1"}',
        '{"id":"o1","updatedAt":"x"}',
        "",
        '{"id":"o2"}',
        '{"id":"c2","__parentId":"o1"}',
    ]
    rebuilt = shopify_bulk.rebuild(lines, "lineItems")
    assert [r["id"] for r in rebuilt] == ["o1", "o2"]
    assert [c["id"] for c in rebuilt[0]["lineItems"]["nodes"]] == ["c1", "c2"]
    assert rebuilt[1]["lineItems"]["nodes"] == []
    with pytest.raises(MalformedResponseError, match="line 2 is not JSON"):
        shopify_bulk.rebuild(['{"id":"o1"}', '{"id":'], "lineItems")
    with pytest.raises(MalformedResponseError, match="__parentId o9"):
        shopify_bulk.rebuild(['{"id":"c1","__parentId":"o9"}'], "lineItems")


def test_an_operation_with_nothing_to_read_has_no_file() -> None:
    answers = iter(
        [
            {"bulkOperation": {"status": "RUNNING"}},
            {"bulkOperation": {"status": "COMPLETED", "url": None}},
        ]
    )
    waits: list[float] = []
    url = shopify_bulk.wait(
        lambda query, variables: next(answers),
        "gid://x",
        shopify_bulk.BulkPolicy(first_delay=1, max_delay=5),
        waits.append,
    )
    assert url is None and waits == [1, 2]
