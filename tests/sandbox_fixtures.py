"""A small sandbox merchant behind the fake APIs, and connections pointed at it.

The connections are ordinary ones (not flagged sandbox): their base URLs come from settings,
exactly as a production connection's would, so the whole pipeline runs as in production.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest

from metricx.sandbox.credentials import SandboxCredentials
from metricx.sandbox.servers import SandboxServers

NOW = datetime(2026, 11, 20, 15, 7, tzinfo=UTC)
CREDENTIALS = SandboxCredentials()


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxServers]:
    with SandboxServers(now=NOW, seed=5, ads=9, campaigns=3, days=20, orders_per_day=15,
                        today=NOW.date()) as servers:
        yield servers


@pytest.fixture
def fakes(sandbox: SandboxServers, setenv, monkeypatch: pytest.MonkeyPatch) -> SandboxServers:
    """Settings point at the fakes; connector retries record their waits instead of sleeping."""
    sandbox.reset()
    sandbox.now = NOW
    setenv(**sandbox.env, GOOGLE_CLIENT_ID=CREDENTIALS.google_client_id,
           GOOGLE_CLIENT_SECRET=CREDENTIALS.google_client_secret,
           GOOGLE_DEVELOPER_TOKEN=CREDENTIALS.google_developer_token)
    sandbox.sleeps = []
    monkeypatch.setattr("metricx.connectors.http.time.sleep", sandbox.sleeps.append)
    return sandbox


@pytest.fixture
def connections(fakes: SandboxServers, admin, redis_conn) -> dict[str, object]:
    """One connection per provider (the first Meta account, the Google one, the shop)."""
    from metricx.services.connections import add_connection

    merchant = fakes.merchant
    meta = merchant.accounts_of("meta")[0]
    google = merchant.accounts_of("google")[0]
    return {
        "meta": add_connection(admin, "meta", meta.external_id, CREDENTIALS.meta_access_token),
        "google": add_connection(
            admin, "google", google.external_id, CREDENTIALS.google_refresh_token,
            settings={"login_customer_id": CREDENTIALS.google_login_customer_id}),
        "shopify": add_connection(admin, "shopify", CREDENTIALS.shopify_shop,
                                  CREDENTIALS.shopify_access_token),
    }


def stored_day_totals(connection_id: int, tz: str, days: list[date]) -> dict:
    """{(ad external id, day): Totals} as the rows hold them (zero days left out)."""
    from sqlalchemy import select

    from metricx.db import transaction
    from metricx.models import Entity
    from metricx.sync import snapshots

    with transaction() as session:
        rows = session.execute(select(Entity.id, Entity.external_id, Entity.workspace_id).where(
            Entity.connection_id == connection_id, Entity.level == "ad")).all()
        ads = {pk: external for pk, external, _ in rows}
        workspace_id = rows[0].workspace_id if rows else 0
        found = {}
        for day in days:
            held = snapshots.sums_for_day(session, workspace_id, list(ads), day, tz)
            for entity_id, totals in held.items():
                if not totals.is_zero:
                    found[(ads[entity_id], day)] = totals
    return found


def platform_day_totals(merchant, account_id: str, days: list[date], as_of: datetime) -> dict:
    """The same, as the platform reports it at `as_of`."""
    found = {}
    for ad in merchant.ads_of(account_id):
        for day in days:
            totals = merchant.ad_totals(ad.external_id, day, as_of)
            if not totals.is_zero:
                found[(ad.external_id, day)] = totals
    return found
