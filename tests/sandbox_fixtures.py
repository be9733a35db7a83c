"""A small sandbox merchant behind the fake APIs, and connections pointed at it.

The connections are ordinary ones (not flagged sandbox): their base URLs come from settings,
exactly as a production connection's would, so the whole pipeline runs as in production.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pandas as pd
import pytest
from sqlalchemy import text

from metricx.db import get_engine, transaction
from metricx.models import FxRate
from metricx.sandbox.credentials import SandboxCredentials
from metricx.sandbox.servers import SandboxServers

NOW = datetime(2026, 11, 20, 15, 7, tzinfo=UTC)
CREDENTIALS = SandboxCredentials()
#: The secret each ad platform's connection keeps, and its extra settings.
SECRETS = {
    "meta": CREDENTIALS.meta_access_token,
    "google": CREDENTIALS.google_refresh_token,
    "tiktok": CREDENTIALS.tiktok_access_token,
}
SETTINGS = {"google": {"login_customer_id": CREDENTIALS.google_login_customer_id}}


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxServers]:
    with SandboxServers(
        now=NOW,
        seed=5,
        ads=9,
        campaigns=3,
        days=20,
        orders_per_day=15,
        today=NOW.date(),
        tiktok_accounts=1,
        tiktok_campaigns=2,
    ) as servers:
        # Klaviyo's reporting limits (2 calls a minute) are the fake's own tests' business
        # (tests/sandbox/test_klaviyo_fake.py); here the clients' sleeps are recorded, not
        # slept, so the fake's windows would never open.
        servers.klaviyo.limits = dict.fromkeys(servers.klaviyo.limits)
        yield servers


@pytest.fixture
def fakes(sandbox: SandboxServers, setenv, monkeypatch: pytest.MonkeyPatch) -> SandboxServers:
    """Settings point at the fakes; connector retries record their waits instead of sleeping."""
    sandbox.reset()
    sandbox.now = NOW
    setenv(
        **sandbox.env,
        GOOGLE_CLIENT_ID=CREDENTIALS.google_client_id,
        GOOGLE_CLIENT_SECRET=CREDENTIALS.google_client_secret,
        GOOGLE_DEVELOPER_TOKEN=CREDENTIALS.google_developer_token,
    )
    sandbox.sleeps = []
    monkeypatch.setattr("metricx.connectors.http.time.sleep", sandbox.sleeps.append)
    return sandbox


@pytest.fixture
def oauth_apps(fakes: SandboxServers, setenv, redis_conn) -> SandboxServers:
    """`fakes`, plus the sandbox's OAuth app credentials and redirect URL in the settings."""
    setenv(
        META_APP_ID=CREDENTIALS.meta_app_id,
        META_APP_SECRET=CREDENTIALS.meta_app_secret,
        SHOPIFY_CLIENT_ID=CREDENTIALS.shopify_client_id,
        SHOPIFY_CLIENT_SECRET=CREDENTIALS.shopify_client_secret,
        TIKTOK_APP_ID=CREDENTIALS.tiktok_app_id,
        TIKTOK_APP_SECRET=CREDENTIALS.tiktok_app_secret,
        OAUTH_REDIRECT_URL="http://localhost:8501/connections",
    )
    return fakes


@pytest.fixture
def connections(fakes: SandboxServers, admin, redis_conn) -> dict[str, object]:
    """One connection per provider (each ad platform's first account, and the shop)."""
    from metricx.services.connections import add_connection

    found: dict[str, object] = {}
    for provider, secret in SECRETS.items():
        account = fakes.merchant.accounts_of(provider)[0]
        found[provider] = add_connection(
            admin, provider, account.external_id, secret, settings=SETTINGS.get(provider)
        )
    found["shopify"] = add_connection(
        admin, "shopify", CREDENTIALS.shopify_shop, CREDENTIALS.shopify_access_token
    )
    return found


def stored_day_totals(connection_id: int, tz: str, days: list[date]) -> dict:
    """{(ad external id, day): Totals} as the rows hold them (zero days left out)."""
    from sqlalchemy import select

    from metricx.db import transaction
    from metricx.models import Entity
    from metricx.sync import snapshots

    with transaction() as session:
        rows = session.execute(
            select(Entity.id, Entity.external_id, Entity.workspace_id).where(
                Entity.connection_id == connection_id, Entity.level == "ad"
            )
        ).all()
        ads = {pk: external for pk, external, _ in rows}
        workspace_id = rows[0].workspace_id if rows else 0
        found = {}
        for day in days:
            held = snapshots.sums_for_day(session, workspace_id, list(ads), day, tz)
            for entity_id, totals in held.items():
                if not totals.is_zero:
                    found[(ads[entity_id], day)] = totals
    return found


def daily_totals(merchant, ad_id: str, day: date, as_of: datetime):
    """An ad's daily row as its platform reports it: delivery, conversions and the video
    plays only daily rows carry (Meta's video ads)."""
    return (
        merchant.ad_totals(ad_id, day, as_of) + merchant.video_facts(ad_id, day, as_of).as_totals()
    )


def reported(
    merchant, account_id: str, since: date, until: date, as_of: datetime, hourly: bool = False
) -> dict:
    """What the merchant says a platform reports: {(ad, day, hour): totals} (hour None on
    daily rows), zero rows left out."""
    out = {}
    days = [since + timedelta(days=i) for i in range((until - since).days + 1)]
    for ad in merchant.ads_of(account_id):
        for day in days:
            if hourly:
                for hour, t in merchant.ad_hourly(ad.external_id, day, as_of).items():
                    if not t.is_zero:
                        out[(ad.external_id, day, hour)] = t
            else:
                t = daily_totals(merchant, ad.external_id, day, as_of)
                if not t.is_zero:
                    out[(ad.external_id, day, None)] = t
    return out


def platform_day_totals(merchant, account_id: str, days: list[date], as_of: datetime) -> dict:
    """The same, as the platform reports it at `as_of`."""
    found = {}
    for ad in merchant.ads_of(account_id):
        for day in days:
            totals = daily_totals(merchant, ad.external_id, day, as_of)
            if not totals.is_zero:
                found[(ad.external_id, day)] = totals
    return found


FIRST, LAST = date(2026, 11, 8), date(2026, 11, 19)  # the days `synced` holds


def eur_rate(day: date) -> Decimal:
    return Decimal("1.05") + Decimal(day.day) / 1000


@pytest.fixture
def synced(fakes, admin, redis_conn):
    """Every sandbox account and the shop synced for FIRST..LAST, EUR rates in place.
    Returns (workspace id, the raw rows read back for an independent reference)."""
    from metricx.services.connections import add_connection
    from metricx.sync.pipeline import sync_connection

    merchant = fakes.merchant
    connections = []
    for account in merchant.accounts:
        connections.append(
            add_connection(
                admin,
                account.provider,
                account.external_id,
                SECRETS[account.provider],
                settings=SETTINGS.get(account.provider),
            )
        )
    shop = add_connection(
        admin, "shopify", CREDENTIALS.shopify_shop, CREDENTIALS.shopify_access_token
    )
    with transaction() as session:
        for offset in range(-2, (LAST - FIRST).days + 3):
            day = FIRST + timedelta(days=offset)
            session.add(
                FxRate(
                    workspace_id=admin.workspace_id,
                    day=day,
                    from_currency="EUR",
                    to_currency="USD",
                    rate=eur_rate(day),
                )
            )
    for connection in connections:
        outcome = sync_connection(
            admin.workspace_id, connection.id, "range", start=FIRST, end=LAST, now=NOW
        )
        assert outcome.status == "success", outcome.error
    assert sync_connection(admin.workspace_id, shop.id, "shop", now=NOW).status == "success"
    return admin.workspace_id, reference_rows(admin.workspace_id)


@pytest.fixture
def email_synced(fakes, admin, redis_conn):
    """The sandbox's Klaviyo account connected and synced for FIRST..LAST as of NOW.
    Returns (workspace id, the connection)."""
    from metricx.sandbox.email_program import EmailProgram
    from metricx.services.connections import add_connection
    from metricx.sync.pipeline import sync_connection

    account = EmailProgram(fakes.merchant).account_id
    connection = add_connection(admin, "klaviyo", account, CREDENTIALS.klaviyo_private_key)
    outcome = sync_connection(
        admin.workspace_id, connection.id, "range", start=FIRST, end=LAST, now=NOW
    )
    assert outcome.status == "success", outcome.error
    return admin.workspace_id, connection


def reference_rows(workspace_id: int) -> dict[str, pd.DataFrame]:
    with get_engine().connect() as conn:
        ads = pd.read_sql(
            text("""
            SELECT s.bucket_start, s.spend, s.impressions, s.clicks, s.conversions,
                   s.conversion_value, c.provider, c.currency,
                   ad.id AS ad_id, ad.name AS ad, ads.id AS adset_id, ads.name AS adset,
                   cmp.id AS campaign_id, cmp.name AS campaign
            FROM metric_snapshots s JOIN entities ad ON ad.id = s.entity_id
            JOIN entities ads ON ads.id = ad.parent_id JOIN entities cmp ON cmp.id = ads.parent_id
            JOIN connections c ON c.id = ad.connection_id WHERE s.workspace_id = :ws"""),
            conn,
            params={"ws": workspace_id},
        )
        orders = pd.read_sql(
            text("SELECT * FROM shopify_orders WHERE workspace_id = :ws"),
            conn,
            params={"ws": workspace_id},
        )
        refunds = pd.read_sql(
            text("""SELECT r.order_id, r.created_at, r.amount, r.sales,
            r.shipping, r.taxes FROM shopify_refunds r
            JOIN shopify_orders o ON o.id = r.order_id WHERE r.workspace_id = :ws
            AND NOT o.test"""),
            conn,
            params={"ws": workspace_id},
        )
    ads["day"] = ads["bucket_start"].dt.tz_convert("America/New_York").dt.date
    rate = ads.apply(lambda r: float(eur_rate(r["day"])) if r["currency"] == "EUR" else 1.0, axis=1)
    for column in ("spend", "conversion_value"):
        ads[column] = ads[column].astype(float) * rate
    for column in ("impressions", "clicks", "conversions"):
        ads[column] = ads[column].astype(float)
    orders["day"] = orders["processed_at"].dt.tz_convert("America/New_York").dt.date
    orders["cancel_day"] = orders["cancelled_at"].dt.tz_convert("America/New_York").dt.date
    refunds["day"] = refunds["created_at"].dt.tz_convert("America/New_York").dt.date
    return {"ads": ads, "orders": orders, "refunds": refunds}
