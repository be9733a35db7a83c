"""The fake Shopify Admin API behaves as shopify.dev documents, and the fixtures every Shopify
connector test shares (`import test_shopify_fake as support; fake = support.fake`).

Each fake behaviour is on by default; `fake` puts the fake back to its defaults after a test
that scripted it (frozen shop, denied scope, changed cost, virtual bucket clock).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from metricx.connectors.shopify import ShopifyClient
from metricx.connectors.shopify_queries import ORDERS
from metricx.sandbox.fakes.graphql import LeakyBucket
from metricx.sandbox.fakes.shopify import (
    MAX_QUERY_COST,
    SUPPORTED_VERSIONS,
    ShopifyFake,
    served_version,
)
from metricx.sandbox.servers import SandboxServers


class VirtualTime:
    """One clock for the client's pacing and the fake's bucket; sleeping moves it."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def fake(sandbox: SandboxServers) -> Iterator[ShopifyFake]:
    """The Shopify fake with its defaults: full bucket on real time, an active shop, every
    scope granted, catalogue costs, bulk operations that complete on the second poll."""
    shop = sandbox.shopify
    _defaults(shop)
    yield shop
    _defaults(shop)


def _defaults(shop: ShopifyFake) -> None:
    shop.bucket.now = time.monotonic
    shop.bucket.reset()
    shop.trust_throttled_waits = True
    shop.shop_state = "active"
    shop.denied_scopes.clear()
    shop.unit_costs.clear()
    shop.bulk_polls, shop.bulk_failure = 2, None
    shop.expiring_required = True
    shop.__dict__.pop("max_query_cost", None)


@pytest.fixture
def virtual(fake: ShopifyFake) -> VirtualTime:
    """The fake's bucket on a virtual clock that starts full at 0 s, strict: a refused query
    stays refused until the client has really waited (on this clock)."""
    time_ = VirtualTime()
    fake.bucket.now = time_.clock
    fake.bucket.reset()
    fake.trust_throttled_waits = False
    return time_


@pytest.fixture
def shopify(
    make_shopify: Callable[..., ShopifyClient], sandbox: SandboxServers, fake: ShopifyFake
) -> Callable[..., ShopifyClient]:
    """make_shopify whose notion of now is the sandbox's (so "how old is the high-water
    mark" is judged on the fake's clock)."""

    def make(**overrides: Any) -> ShopifyClient:
        overrides.setdefault("now", lambda: sandbox.now)
        return make_shopify(**overrides)

    return make


def graphql(
    sandbox: SandboxServers,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    version: str = "2026-10",
    token: str | None = None,
) -> httpx.Response:
    url = sandbox.env["SHOPIFY_URL_TEMPLATE"].format(
        shop=sandbox.credentials.shopify_shop, version=version
    )
    return httpx.post(
        url,
        json={"query": query, "variables": variables or {}},
        headers={"X-Shopify-Access-Token": token or sandbox.credentials.shopify_access_token},
    )


def test_the_fake_prices_by_the_published_rules_and_refuses_over_1000(sandbox, fake) -> None:
    # Given the connector's orders query with the page sizes it used before (50 orders, 25
    # lines, 100 refunds)
    variables = {"first": 50, "lines": 25, "refunds": 100, "cursor": None, "q": None}
    # When it is sent
    body = graphql(sandbox, ORDERS.page_query().text, variables).json()
    # Then the fake prices it as Shopify would (~25,000 points) and refuses it before running
    assert body["errors"][0]["extensions"] == {
        "code": "MAX_COST_EXCEEDED",
        "cost": 24802,
        "maxCost": MAX_QUERY_COST,
    }
    assert "data" not in body


def test_the_bucket_drains_by_cost_and_refills_at_the_restore_rate(sandbox, fake, virtual) -> None:
    query = "{ orders(first: 100) { nodes { id totalTaxSet { shopMoney { amount } } } } }"
    # Given a full bucket, when a query costing 2 + 100 x 3 = 302 points runs
    first = graphql(sandbox, query).json()["extensions"]["cost"]
    # Then its requested and actual cost leave the bucket
    assert first["requestedQueryCost"] == 302 == first["actualQueryCost"]
    assert first["throttleStatus"] == {
        "maximumAvailable": 2000.0,
        "currentlyAvailable": 1698.0,
        "restoreRate": 100.0,
    }
    # And 1.5 s later 150 points have leaked back
    virtual.sleep(1.5)
    again = graphql(sandbox, "{ shop { name } }").json()["extensions"]["cost"]
    assert again["throttleStatus"]["currentlyAvailable"] == 1698.0 + 150 - 1


def test_a_query_the_bucket_cannot_hold_is_throttled_at_http_200(sandbox, fake, virtual) -> None:
    fake.bucket.reset(level=100)
    response = graphql(
        sandbox, "{ orders(first: 100) { nodes { id totalTaxSet { shopMoney { amount } } } } }"
    )
    body = response.json()
    assert response.status_code == 200
    assert body["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert body["extensions"]["cost"]["requestedQueryCost"] == 302
    assert body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 100.0
    assert fake.bucket.refusals == 1


def test_a_version_past_support_falls_forward_to_the_oldest_supported(sandbox, fake) -> None:
    assert graphql(sandbox, "{ shop { name } }").headers["x-shopify-api-version"] == "2026-10"
    answered = graphql(sandbox, "{ shop { name } }", version="2025-10")
    assert answered.status_code == 200 and answered.json()["data"]["shop"]["name"]
    assert answered.headers["x-shopify-api-version"] == SUPPORTED_VERSIONS[0] == "2026-01"
    assert served_version("2024-07") == "2026-01" and served_version("unstable") == "unstable"


def test_frozen_and_locked_shops_and_denied_scopes(sandbox, fake) -> None:
    fake.shop_state = "frozen"
    assert graphql(sandbox, "{ shop { name } }").status_code == 402
    fake.shop_state = "locked"
    assert graphql(sandbox, "{ shop { name } }").status_code == 423
    fake.shop_state = "active"
    fake.denied_scopes.add("read_customers")
    body = graphql(sandbox, "{ customers(first: 1) { nodes { id } } }").json()
    assert body["data"] == {"customers": None}
    error = body["errors"][0]
    assert error["extensions"]["code"] == "ACCESS_DENIED"
    assert error["extensions"]["requiredAccess"] == "`read_customers` access scope."
    assert error["path"] == ["customers"]


def test_internal_server_error_arrives_at_http_200(sandbox, fake) -> None:
    sandbox.faults.add("shopify", "server_error", code="INTERNAL_SERVER_ERROR")
    response = graphql(sandbox, "{ shop { name } }")
    assert response.status_code == 200
    assert response.json()["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"


def test_counts_and_a_bulk_query_over_the_same_orders(sandbox, fake, now) -> None:
    since = (now - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    search = f"updated_at:>='{since}'"
    count = graphql(
        sandbox, "query($q: String) { ordersCount(query: $q) { count precision } }", {"q": search}
    ).json()["data"]["ordersCount"]
    # Given a bulk query for the same orders with their line items
    text = (
        f'{{ orders(query: "{search}") {{ edges {{ node {{ id updatedAt '
        "lineItems { edges { node { id quantity } } } } } } }"
    )
    run = graphql(
        sandbox,
        "mutation($q: String!) { bulkOperationRunQuery(query: $q) { "
        "bulkOperation { id status } userErrors { field message } } }",
        {"q": text},
    ).json()
    assert run["extensions"]["cost"]["requestedQueryCost"] == 10
    operation = run["data"]["bulkOperationRunQuery"]["bulkOperation"]
    assert operation["status"] == "CREATED"
    # When it is polled
    poll = "query($id: ID!) { bulkOperation(id: $id) { status objectCount rootObjectCount url } }"
    states = [
        graphql(sandbox, poll, {"id": operation["id"]}).json()["data"]["bulkOperation"]
        for _ in range(2)
    ]
    # Then it runs, completes, and its JSONL holds each order then its lines with __parentId
    assert [s["status"] for s in states] == ["RUNNING", "COMPLETED"]
    lines = [json.loads(x) for x in httpx.get(states[1]["url"]).text.splitlines()]
    roots = [x for x in lines if "__parentId" not in x]
    assert len(roots) == count["count"] == int(states[1]["rootObjectCount"]) > 0
    assert count["precision"] == "EXACT"
    assert len(lines) == int(states[1]["objectCount"])
    ids = {x["id"] for x in roots}
    assert all(x["__parentId"] in ids for x in lines if "__parentId" in x)
    assert "lineItems" not in roots[0]


def test_the_install_issues_expiring_tokens_that_refresh_and_rotate(sandbox, fake) -> None:
    c = sandbox.credentials
    url = (
        sandbox.env["SHOPIFY_URL_TEMPLATE"].split("/admin/api/")[0].format(shop=c.shopify_shop)
        + "/admin/oauth/access_token"
    )
    app = {"client_id": c.shopify_client_id, "client_secret": c.shopify_client_secret}
    grant = httpx.post(url, json={**app, "code": c.shopify_auth_code, "expiring": "1"}).json()
    assert grant["expires_in"] == 3600 and grant["refresh_token_expires_in"] > 3600
    refreshed = httpx.post(
        url, json={**app, "grant_type": "refresh_token", "refresh_token": grant["refresh_token"]}
    ).json()
    assert refreshed["refresh_token"] != grant["refresh_token"]
    # The old refresh token is used up; the old access token dies an hour after issue
    reused = httpx.post(
        url, json={**app, "grant_type": "refresh_token", "refresh_token": grant["refresh_token"]}
    )
    assert reused.status_code == 400
    sandbox.now = sandbox.now + timedelta(minutes=61)
    expired = graphql(sandbox, "{ shop { name } }", token=refreshed["access_token"])
    assert expired.status_code == 401
    assert expired.json() == {
        "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
    }


def test_the_bucket_model_refunds_what_a_query_did_not_use() -> None:
    clock = VirtualTime()
    bucket = LeakyBucket(maximum=1000, restore_rate=50, now=clock.clock)
    assert bucket.admit(800) and not bucket.admit(300)
    bucket.refund(500)  # the query asked 800 and used 300
    assert bucket.status()["currentlyAvailable"] == 700
    assert bucket.wait_for(900) == pytest.approx(4.0)
