"""One small sandbox for the contract tests, and what each connector sent to it.

The clients are built the way tests/connectors/conftest.py builds them, except that no API
version is passed: the contracts check the version each connector uses by default. Each
client's public reads are driven once per session (drive.py) and the recorded traffic is
shared by the checks of that provider.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from contracts.drive import Inputs, Traffic, accepted, drive
from contracts.inputs import DAYS, MOMENTS, NOW, TODAY, WINDOWS
from metricx.connectors.google_ads import GoogleAdsClient
from metricx.connectors.meta import MetaClient
from metricx.connectors.shopify import ShopifyClient
from metricx.sandbox.servers import SandboxServers


@pytest.fixture(scope="session")
def contract_sandbox() -> Iterator[SandboxServers]:
    with SandboxServers(
        now=NOW, seed=5, ads=8, campaigns=3, days=30, orders_per_day=6, today=TODAY
    ) as servers:
        yield servers


def _no_sleep(seconds: float) -> None:
    """Retries and report polling never wait in these tests."""


@pytest.fixture(scope="session")
def meta_traffic(contract_sandbox: SandboxServers) -> Traffic:
    c = contract_sandbox.credentials
    options = accepted(
        MetaClient,
        {
            "base_url": contract_sandbox.env["META_GRAPH_URL"],
            "app_id": c.meta_app_id,
            "app_secret": c.meta_app_secret,
            "sleep": _no_sleep,
            "now": lambda: NOW,
        },
    )
    account = contract_sandbox.merchant.accounts_of("meta")[0].external_id
    inputs = Inputs(account, WINDOWS, DAYS, MOMENTS)
    with MetaClient(c.meta_access_token, **options) as client:
        return drive("MetaClient", client, contract_sandbox, inputs)


@pytest.fixture(scope="session")
def google_traffic(contract_sandbox: SandboxServers) -> Traffic:
    c = contract_sandbox.credentials
    options = accepted(
        GoogleAdsClient,
        {
            "refresh_token": c.google_refresh_token,
            "client_id": c.google_client_id,
            "client_secret": c.google_client_secret,
            "developer_token": c.google_developer_token,
            "base_url": contract_sandbox.env["GOOGLE_ADS_URL"],
            "token_url": contract_sandbox.env["GOOGLE_OAUTH_TOKEN_URL"],
            "login_customer_id": c.google_login_customer_id,
            "sleep": _no_sleep,
            "now": lambda: NOW,
        },
    )
    account = contract_sandbox.merchant.accounts_of("google")[0].external_id
    inputs = Inputs(account, WINDOWS, DAYS, MOMENTS)
    with GoogleAdsClient(**options) as client:
        return drive("GoogleAdsClient", client, contract_sandbox, inputs)


def _shopify(sandbox: SandboxServers, **overrides: Any) -> ShopifyClient:
    c = sandbox.credentials
    options = accepted(
        ShopifyClient,
        {"url_template": sandbox.env["SHOPIFY_URL_TEMPLATE"], "sleep": _no_sleep, **overrides},
    )
    return ShopifyClient(c.shopify_shop, c.shopify_access_token, **options)


@pytest.fixture(scope="session")
def shopify_traffic(contract_sandbox: SandboxServers) -> Traffic:
    """The client as configured by default, then with tiny pages so that every follow-up
    document (nested lists completed page by page) is sent at least once too."""
    inputs = Inputs(None, WINDOWS, DAYS, MOMENTS)
    with _shopify(contract_sandbox) as client:
        traffic = drive("ShopifyClient", client, contract_sandbox, inputs)
    small = Inputs(None, WINDOWS, DAYS, (NOW - timedelta(days=1),))
    with _shopify(contract_sandbox, page_size=5, inner_page_size=1) as client:
        drive(
            "ShopifyClient[small pages]",
            client,
            contract_sandbox,
            small,
            traffic,
            only=("orders", "products"),
        )
    return traffic
