"""What an admin must do before a platform stops answering: API versions near or past their
end of life, versions a platform warned about, and Meta tokens about to expire.

Shown on the Connections and Operations pages; computed from the settings, the version table
(metricx/connectors/versions.py) and what the syncs recorded, so it costs no platform call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from metricx.config import get_config
from metricx.connection_store import API_WARNINGS
from metricx.connectors.errors import provider_name
from metricx.connectors.versions import version_status
from metricx.db import new_session
from metricx.models import Connection, Token

# Meta long-lived user tokens last ~60 days and are not refreshed by use (Facebook Login,
# "Long-Lived Access Tokens"): warn a week ahead so an admin can reconnect in time.
TOKEN_WARN_DAYS = 7


@dataclass(frozen=True)
class Notice:
    """One thing to act on; `urgent` when the platform already refuses (or will today)."""

    provider: str
    text: str
    urgent: bool
    connection_id: int | None = None


def configured_versions() -> dict[str, str]:
    config = get_config()
    return {
        "meta": config.meta_api_version,
        "google": config.google_ads_api_version,
        "shopify": config.shopify_api_version,
        "tiktok": config.tiktok_api_version,
        "klaviyo": config.klaviyo_revision,
    }


def notices(workspace_id: int, now: datetime | None = None) -> list[Notice]:
    """Every notice for the platforms this workspace is connected to, urgent ones first."""
    now = now or datetime.now(UTC)
    with new_session() as session:
        connections = list(
            session.scalars(
                select(Connection)
                .where(Connection.workspace_id == workspace_id)
                .order_by(Connection.id)
            )
        )
        expiring = session.execute(
            select(Token.connection_id, Token.expires_at)
            .join(Connection, Connection.id == Token.connection_id)
            .where(
                Token.workspace_id == workspace_id,
                Token.kind == "access",
                Connection.provider == "meta",
                Token.expires_at.is_not(None),
            )
        ).all()
    found = _version_notices({c.provider for c in connections}, now.date())
    names = {c.id: c.name for c in connections}
    for connection in connections:
        for text in (connection.settings or {}).get(API_WARNINGS, []):
            found.append(
                Notice(connection.provider, f"{connection.name}: {text}", False, connection.id)
            )
    for connection_id, expires_at in expiring:
        assert expires_at is not None, "the query keeps only tokens with an expiry"
        left = expires_at - now
        if left < timedelta(days=TOKEN_WARN_DAYS):
            when = (
                "has expired"
                if left <= timedelta(0)
                else f"expires {expires_at:%Y-%m-%d %H:%M} UTC"
            )
            found.append(
                Notice(
                    "meta",
                    f"{names[connection_id]}: the Meta access token {when}; "
                    "reconnect it (Connect by signing in) to keep syncing.",
                    left <= timedelta(0),
                    connection_id,
                )
            )
    return sorted(found, key=lambda n: not n.urgent)


def _version_notices(providers: set[str], today: date) -> list[Notice]:
    found = []
    for provider, version in configured_versions().items():
        if provider not in providers:
            continue
        status = version_status(provider, version, today)
        if status.state != "live":
            found.append(
                Notice(
                    provider,
                    f"{provider_name(provider)}: {status.message}.",
                    status.state == "dead",
                )
            )
    return found
