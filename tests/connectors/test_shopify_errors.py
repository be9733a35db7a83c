"""How Shopify says no, and what the connector makes of it: the error class decides the
connection's state (connectors/errors.py), the message says what the merchant must do."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
import test_shopify_fake as support

from metricx.connectors.errors import (
    AccountBlockedError,
    MalformedResponseError,
    VersionExpiredError,
)
from metricx.connectors.shopify import SPLIT_CHUNK

# The shared Shopify fixtures (see test_shopify_fake).
fake = support.fake
shopify = support.shopify


class Rewriting(httpx.BaseTransport):
    """A real HTTP transport whose GraphQL answers pass through `edit` (a changed platform)."""

    def __init__(self, edit: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        self.inner = httpx.HTTPTransport()
        self.edit = edit

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        content = response.read()
        if not request.url.path.endswith("graphql.json") or response.status_code != 200:
            return httpx.Response(response.status_code, headers=response.headers, content=content)
        body = self.edit(json.loads(content))
        headers = {
            "content-type": "application/json",
            "x-shopify-api-version": response.headers["x-shopify-api-version"],
        }
        return httpx.Response(200, headers=headers, content=json.dumps(body).encode())


def test_internal_server_error_at_http_200_is_retried(shopify, sandbox, sleeps) -> None:
    # Given Shopify answers INTERNAL_SERVER_ERROR once, in the body of an HTTP 200
    sandbox.faults.add("shopify", "server_error", code="INTERNAL_SERVER_ERROR")
    # When the shop is read, then the client backs off and the retry succeeds
    assert shopify().shop_info().currency == "USD"
    assert sleeps == [2.0] and len(sandbox.requests.of("shopify")) == 2


def test_access_denied_blocks_the_connection_with_what_to_do(shopify, sandbox, fake) -> None:
    # Given the app lost the read_customers scope
    fake.denied_scopes.add("read_customers")
    # When customers are read
    with pytest.raises(AccountBlockedError) as raised:
        list(shopify(bulk_threshold=None).customers())
    # Then the connection is blocked (retrying cannot help) and the merchant is told why
    error = raised.value
    assert error.connection_status == "blocked" and not error.retryable
    assert "`read_customers` access scope" in error.message
    assert "reinstall" in error.message
    assert len(sandbox.requests.of("shopify")) == 1


@pytest.mark.parametrize(
    "state, status, words",
    [
        ("frozen", 402, "pay the outstanding balance"),
        ("locked", 423, "contact Shopify Support"),
    ],
)
def test_frozen_and_locked_shops_block_the_connection(
    shopify, sandbox, fake, state, status, words
) -> None:
    fake.shop_state = state
    with pytest.raises(AccountBlockedError, match=words) as raised:
        shopify().shop_info()
    assert raised.value.status == status and raised.value.connection_status == "blocked"
    assert len(sandbox.requests.of("shopify")) == 1


def test_a_version_that_fell_forward_is_refused(shopify, fake) -> None:
    # Given a connector pinned to 2025-10, past its support in December 2026
    client = shopify(api_version="2025-10")
    # When Shopify answers with the oldest supported version instead
    with pytest.raises(VersionExpiredError) as raised:
        client.shop_info()
    # Then the data is not used and the operator is told to upgrade
    assert raised.value.connection_status == "upgrade_needed"
    assert "2026-01 instead of 2025-10" in raised.value.message
    assert shopify(api_version="2026-04").shop_info().currency == "USD"


def _drop_tax(body: dict[str, Any]) -> dict[str, Any]:
    for node in ((body.get("data") or {}).get("orders") or {}).get("nodes", []):
        node.pop("totalTaxSet", None)
    return body


def _unknown_precision(body: dict[str, Any]) -> dict[str, Any]:
    if "ordersCount" in (body.get("data") or {}):
        body["data"]["ordersCount"]["precision"] = "ROUGHLY"
    return body


def _unknown_bulk_status(body: dict[str, Any]) -> dict[str, Any]:
    if (body.get("data") or {}).get("bulkOperation"):
        body["data"]["bulkOperation"]["status"] = "PAUSED"
    return body


@pytest.mark.parametrize(
    "edit, bulk_threshold, words",
    [
        (_drop_tax, None, "totalTaxSet"),
        (_unknown_precision, 10, "precision 'ROUGHLY'"),
        (_unknown_bulk_status, 10, "status 'PAUSED'"),
    ],
    ids=["missing-field", "unknown-count-precision", "unknown-bulk-status"],
)
def test_an_answer_of_another_shape_is_malformed(
    shopify, fake, now, edit, bulk_threshold, words
) -> None:
    client = shopify(transport=Rewriting(edit), bulk_threshold=bulk_threshold)
    with pytest.raises(MalformedResponseError, match=words):
        list(client.orders(now - timedelta(days=3)))


def test_a_page_that_is_not_json_is_malformed_after_the_pages_before_it(
    shopify, sandbox, fake, now
) -> None:
    # Given a first chunk of orders handed over (their refunds split first), and the next
    # page arriving cut in half
    client = shopify(bulk_threshold=None)
    read = client.orders(now - timedelta(days=30))
    first_page = [next(read) for _ in range(SPLIT_CHUNK)]
    sandbox.faults.add("shopify", "malformed")
    # When the next page is read
    with pytest.raises(MalformedResponseError, match="not valid JSON"):
        list(read)
    # Then the orders already handed over are whole and in order
    assert [r.updated_at for r in first_page] == sorted(r.updated_at for r in first_page)
