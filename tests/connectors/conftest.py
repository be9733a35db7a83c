"""Shared fixtures: one sandbox for the session, clients wired to it, and the truth to compare.

Every client gets `sleep=sleeps.append`, so retries never wait and tests can assert exactly
which waits were requested.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sandbox_fixtures import reported

from metricx.connectors.google_ads import GoogleAdsClient
from metricx.connectors.http import BaseClient
from metricx.connectors.meta import MetaClient
from metricx.connectors.shopify import ShopifyClient
from metricx.connectors.tiktok import TikTokClient
from metricx.connectors.versions import DEFAULT_VERSIONS
from metricx.sandbox.merchant import Merchant
from metricx.sandbox.servers import SandboxServers
from metricx.sandbox.totals import Totals

NOW = datetime(2025, 11, 25, 17, 42, 13, tzinfo=UTC)
Key = tuple[str, date, int | None]


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxServers]:
    with SandboxServers(
        now=NOW, seed=11, ads=48, campaigns=12, days=60, orders_per_day=30, today=NOW.date()
    ) as servers:
        yield servers


@pytest.fixture(scope="session")
def merchant(sandbox: SandboxServers) -> Merchant:
    return sandbox.merchant


@pytest.fixture(scope="session")
def now() -> datetime:
    return NOW


@pytest.fixture(autouse=True)
def _fresh(sandbox: SandboxServers) -> Iterator[None]:
    """Each test starts with no faults, an empty request log and the clock at NOW."""
    sandbox.reset()
    sandbox.now = NOW
    yield
    sandbox.reset()
    sandbox.now = NOW


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def opened() -> Iterator[list[BaseClient]]:
    """Clients made during a test, closed after it (keeps sockets and server threads few)."""
    clients: list[BaseClient] = []
    yield clients
    for client in clients:
        client.close()


@pytest.fixture
def make_meta(
    sandbox: SandboxServers, sleeps: list[float], opened: list[BaseClient]
) -> Callable[..., MetaClient]:
    def make(**overrides: Any) -> MetaClient:
        c = sandbox.credentials
        options: dict[str, Any] = {
            "base_url": sandbox.env["META_GRAPH_URL"],
            "api_version": DEFAULT_VERSIONS["meta"],
            "app_id": c.meta_app_id,
            "app_secret": c.meta_app_secret,
            "sleep": sleeps.append,
            "now": lambda: NOW,
            **overrides,
        }
        client = MetaClient(options.pop("access_token", c.meta_access_token), **options)
        opened.append(client)
        return client

    return make


@pytest.fixture
def make_google(
    sandbox: SandboxServers, sleeps: list[float], opened: list[BaseClient]
) -> Callable[..., GoogleAdsClient]:
    def make(**overrides: Any) -> GoogleAdsClient:
        c = sandbox.credentials
        options: dict[str, Any] = {
            "refresh_token": c.google_refresh_token,
            "client_id": c.google_client_id,
            "client_secret": c.google_client_secret,
            "developer_token": c.google_developer_token,
            "base_url": sandbox.env["GOOGLE_ADS_URL"],
            "token_url": sandbox.env["GOOGLE_OAUTH_TOKEN_URL"],
            "api_version": DEFAULT_VERSIONS["google"],
            "login_customer_id": c.google_login_customer_id,
            "sleep": sleeps.append,
            "now": lambda: NOW,
            **overrides,
        }
        client = GoogleAdsClient(**options)
        opened.append(client)
        return client

    return make


@pytest.fixture
def make_shopify(
    sandbox: SandboxServers, sleeps: list[float], opened: list[BaseClient]
) -> Callable[..., ShopifyClient]:
    def make(**overrides: Any) -> ShopifyClient:
        c = sandbox.credentials
        options: dict[str, Any] = {
            "url_template": sandbox.env["SHOPIFY_URL_TEMPLATE"],
            "api_version": DEFAULT_VERSIONS["shopify"],
            "sleep": sleeps.append,
            **overrides,
        }
        client = ShopifyClient(
            c.shopify_shop, options.pop("access_token", c.shopify_access_token), **options
        )
        opened.append(client)
        return client

    return make


@pytest.fixture
def truth(merchant: Merchant) -> Callable[..., dict[Key, Totals]]:
    """What the merchant says a platform reports: {(ad, day, hour): totals}, zero rows left out."""

    def expected(
        account_id: str, since: date, until: date, as_of: datetime, hourly: bool = False
    ) -> dict[Key, Totals]:
        return reported(merchant, account_id, since, until, as_of, hourly)

    return expected


def as_totals(record: Any) -> Totals:
    """A MetricRecord's numbers in the merchant's Totals shape, for exact comparison."""
    return Totals.of(record)


@pytest.fixture
def totals_of() -> Callable[[Any], Totals]:
    return as_totals


# ---- TikTok: its own sandbox (a merchant with one TikTok advertiser) ------------------------
TIKTOK_KNOBS: dict[str, Any] = {
    "seed": 23,
    "tiktok_accounts": 1,
    "ads": 60,
    "campaigns": 12,
    "days": 60,
    "orders_per_day": 30,
}


@pytest.fixture(scope="session")
def tiktok_sandbox() -> Iterator[SandboxServers]:
    with SandboxServers(now=NOW, today=NOW.date(), **TIKTOK_KNOBS) as servers:
        yield servers


@pytest.fixture
def make_tiktok(
    tiktok_sandbox: SandboxServers, sleeps: list[float], opened: list[BaseClient]
) -> Iterator[Callable[..., TikTokClient]]:
    """TikTokClient factory on the TikTok sandbox, which starts and ends each test clean."""
    tiktok_sandbox.reset()
    tiktok_sandbox.now = NOW

    def make(**overrides: Any) -> TikTokClient:
        options: dict[str, Any] = {
            "base_url": tiktok_sandbox.env["TIKTOK_API_URL"],
            "api_version": DEFAULT_VERSIONS["tiktok"],
            "sleep": sleeps.append,
            "now": lambda: NOW,
            **overrides,
        }
        token = options.pop("access_token", tiktok_sandbox.credentials.tiktok_access_token)
        client = TikTokClient(token, **options)
        opened.append(client)
        return client

    yield make
    tiktok_sandbox.reset()
    tiktok_sandbox.now = NOW


@pytest.fixture
def tiktok(make_tiktok: Callable[..., TikTokClient]) -> TikTokClient:
    return make_tiktok()
