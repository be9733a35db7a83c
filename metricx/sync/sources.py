"""Which connector (with which credentials and base URL) serves a connection.

Real connections use the settings' base URLs and the connection's decrypted token. Sandbox
connections (settings {"sandbox": true}) talk to the local fake APIs through the very same
connectors, so the demo exercises the production code path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime

from metricx.config import get_config
from metricx.connection_store import (
    ConnectionView,
    read_stored_token,
    read_token,
    store_token_pair,
)
from metricx.connectors.google_ads import GoogleAdsClient
from metricx.connectors.kit import AdPlatformClient
from metricx.connectors.klaviyo import KlaviyoClient
from metricx.connectors.meta import MetaClient
from metricx.connectors.records import AccountInfo, EntityRecord, MetricRecord
from metricx.connectors.shopify import ShopifyClient
from metricx.connectors.shopify_auth import ShopifyGrant
from metricx.connectors.tiktok import TikTokClient
from metricx.errors import InvalidInputError, NotFoundError
from metricx.platforms import DAILY_CONVERSIONS


@dataclass
class AdSource:
    """Any ad platform behind one face (metricx.connectors.kit): the sync needs nothing
    platform-specific."""

    client: AdPlatformClient
    account_id: str
    provider: str

    def account_info(self) -> AccountInfo:
        return self.client.account_info(self.account_id)

    def entities(
        self,
        account: AccountInfo,
        updated_since: datetime | None = None,
    ) -> list[EntityRecord]:
        """The campaign tree; with `updated_since`, what changed since where the platform
        can say (Meta's updated_time filtering), else all of it."""
        return self.client.entities(self.account_id, updated_since=updated_since, account=account)

    @property
    def warnings(self) -> list[str]:
        """Version warnings the platform sent with its answers (Meta's
        X-Ad-Api-Version-Warning header), for the admin."""
        return sorted(self.client.warnings)

    def restatement_days(self) -> int:
        """Days back the platform may still change numbers, which the nightly re-fetch
        replaces (each client says why: Meta 28 days, Google its longest conversion
        lookback window, ...)."""
        return self.client.restatement_days(self.account_id)

    @property
    def hourly_conversions(self) -> bool:
        """Whether hourly rows carry conversions (not Meta's: platforms.DAILY_CONVERSIONS)."""
        return self.provider not in DAILY_CONVERSIONS

    def metrics(self, since: date, until: date, *, hourly: bool) -> list[MetricRecord]:
        return self.client.metrics(self.account_id, since, until, hourly=hourly)

    def download(self, url: str, *, max_bytes: int) -> bytes | None:
        """A creative's preview from the platform's CDN (None when it cannot be had)."""
        return self.client.download(url, max_bytes=max_bytes)


def endpoint(connection: ConnectionView, setting: str) -> str:
    """A base URL setting (META_GRAPH_URL, ...) for this connection: the sandbox's fake for
    sandbox connections (settings {"sandbox": true}), the configured one otherwise."""
    if connection.settings.get("sandbox"):
        from metricx.sandbox.runtime import sandbox_env

        return sandbox_env()[setting]
    return str(getattr(get_config(), setting.lower()))


def _google_app(connection: ConnectionView) -> tuple[str, str, str]:
    if connection.settings.get("sandbox"):
        from metricx.sandbox.credentials import SandboxCredentials

        sandbox = SandboxCredentials()
        return (
            sandbox.google_client_id,
            sandbox.google_client_secret,
            sandbox.google_developer_token,
        )
    config = get_config()
    missing = [
        name
        for name, value in (
            ("GOOGLE_CLIENT_ID", config.google_client_id),
            ("GOOGLE_CLIENT_SECRET", config.google_client_secret),
            ("GOOGLE_DEVELOPER_TOKEN", config.google_developer_token),
        )
        if not value
    ]
    client_id, client_secret = config.google_client_id, config.google_client_secret
    developer_token = config.google_developer_token
    if missing or not (client_id and client_secret and developer_token):
        raise InvalidInputError(f"Google Ads needs {', '.join(missing)} to be set")
    return client_id, client_secret, developer_token


def _meta_client(connection: ConnectionView) -> AdPlatformClient:
    return MetaClient(
        read_token(connection.workspace_id, connection.id),
        base_url=endpoint(connection, "META_GRAPH_URL"),
        api_version=get_config().meta_api_version,
    )


def _google_client(connection: ConnectionView) -> AdPlatformClient:
    client_id, client_secret, developer_token = _google_app(connection)
    return GoogleAdsClient(
        refresh_token=read_token(connection.workspace_id, connection.id, kind="refresh"),
        client_id=client_id,
        client_secret=client_secret,
        developer_token=developer_token,
        base_url=endpoint(connection, "GOOGLE_ADS_URL"),
        token_url=endpoint(connection, "GOOGLE_OAUTH_TOKEN_URL"),
        api_version=get_config().google_ads_api_version,
        login_customer_id=connection.settings.get("login_customer_id"),
    )


def _tiktok_client(connection: ConnectionView) -> AdPlatformClient:
    return TikTokClient(
        read_token(connection.workspace_id, connection.id),
        base_url=endpoint(connection, "TIKTOK_API_URL"),
        api_version=get_config().tiktok_api_version,
    )


#: Each ad platform's client for a connection (metricx.platforms lists the platforms).
AD_CLIENTS: Mapping[str, Callable[[ConnectionView], AdPlatformClient]] = {
    "meta": _meta_client,
    "google": _google_client,
    "tiktok": _tiktok_client,
}


@contextmanager
def ad_source(connection: ConnectionView) -> Iterator[AdSource]:
    make = AD_CLIENTS.get(connection.provider)
    if make is None:
        raise InvalidInputError(f"{connection.provider} is not an ad platform")
    client = make(connection)
    try:
        yield AdSource(client, connection.external_account_id, connection.provider)
    finally:
        client.close()


@contextmanager
def email_client(connection: ConnectionView) -> Iterator[KlaviyoClient]:
    """A client for the email account (Klaviyo, the one email platform), keyed by the
    connection's private API key."""
    if connection.provider != "klaviyo":
        raise InvalidInputError(f"{connection.provider} is not an email platform")
    client = KlaviyoClient(
        read_token(connection.workspace_id, connection.id),
        base_url=endpoint(connection, "KLAVIYO_API_URL"),
        revision=get_config().klaviyo_revision,
    )
    try:
        yield client
    finally:
        client.close()


def _shopify_app(connection: ConnectionView) -> tuple[str | None, str | None]:
    """The app's client id and secret, which refreshing an expiring token needs (a connection
    with a non-expiring token never asks for them)."""
    if connection.settings.get("sandbox"):
        from metricx.sandbox.credentials import SandboxCredentials

        sandbox = SandboxCredentials()
        return sandbox.shopify_client_id, sandbox.shopify_client_secret
    config = get_config()
    return config.shopify_client_id or None, config.shopify_client_secret or None


def _clock_from(start: datetime | None) -> Callable[[], datetime] | None:
    """A clock that reads `start` now and runs on with the wall clock."""
    if start is None:
        return None
    offset = start - datetime.now(UTC)
    return lambda: datetime.now(UTC) + offset


@contextmanager
def shop_client(
    connection: ConnectionView,
    now: datetime | None = None,
) -> Iterator[ShopifyClient]:
    """A client for the shop. An expiring offline token comes with its refresh token; each
    refresh's rotated pair is stored (encrypted) before the client uses it. Its clock runs
    from the sync's `now` (the same as the wall clock outside simulations and tests)."""
    ws, connection_id = connection.workspace_id, connection.id
    access = read_stored_token(ws, connection_id)
    if access is None:
        raise NotFoundError(f"connection {connection_id} has no access token")
    refresh = read_stored_token(ws, connection_id, "refresh")
    client_id, client_secret = _shopify_app(connection)

    def persist(grant: ShopifyGrant) -> None:
        store_token_pair(
            ws,
            connection_id,
            grant.access_token,
            grant.expires_at,
            grant.refresh_token,
            grant.refresh_expires_at,
        )

    client = ShopifyClient(
        connection.external_account_id,
        access.secret,
        url_template=endpoint(connection, "SHOPIFY_URL_TEMPLATE"),
        api_version=get_config().shopify_api_version,
        refresh_token=refresh.secret if refresh else None,
        access_expires_at=access.expires_at,
        client_id=client_id,
        client_secret=client_secret,
        on_refresh=persist,
        now=_clock_from(now),
    )
    try:
        yield client
    finally:
        client.close()
