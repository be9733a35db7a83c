"""Fixtures shared by the sync tests."""

from __future__ import annotations

import pytest

from metricx.connectors.records import ShopInfo
from metricx.models import ShopifyShop
from metricx.sync import shopify


@pytest.fixture
def store_dir(tmp_path, setenv):
    """A data directory of this test alone (the thumbnail store is under it)."""
    setenv(METRICX_DATA_DIR=str(tmp_path))
    return tmp_path


@pytest.fixture
def shop(workspace, admin) -> ShopifyShop:
    """A stored shop of the workspace (no sandbox behind it): records are written directly."""
    from metricx.services.connections import add_connection

    connection = add_connection(admin, "shopify", "acme.myshopify.com", "tok")
    return shopify.upsert_shop(
        workspace.id,
        connection.id,
        ShopInfo("acme.myshopify.com", "Acme", "USD", "America/New_York"),
    )
