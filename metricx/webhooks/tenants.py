"""Which connections a delivery is for, and which app secret each one trusts.

A webhook for shop X is applied only to Shopify connections whose external_account_id is X,
and only to those whose app secret signed it: a sandbox connection trusts the sandbox app's
secret (metricx/sandbox/credentials.py, public: it only opens fakes), every other connection
trusts SHOPIFY_CLIENT_SECRET. So a delivery signed with another app's secret, or a sandbox
signature aimed at a real connection of the same shop, changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from metricx.config import get_config
from metricx.db import new_session
from metricx.models import Connection


@dataclass(frozen=True)
class Target:
    """A connection of the shop a delivery names."""

    workspace_id: int
    connection_id: int
    status: str
    secret: str | None  # the app secret its webhooks are signed with (None: not configured)


def app_secret(settings: dict[str, Any]) -> str | None:
    """The client secret of the app a connection was installed with."""
    if settings.get("sandbox"):
        from metricx.sandbox.credentials import SandboxCredentials

        return SandboxCredentials().shopify_client_secret
    return get_config().shopify_client_secret


def targets_for(shop_domain: str | None) -> list[Target]:
    """Every Shopify connection of `shop_domain`, in any workspace and any status (a shop's
    compliance requests still apply after app/uninstalled disconnected it)."""
    if not shop_domain:
        return []
    with new_session() as session:
        rows = session.execute(
            select(Connection.workspace_id, Connection.id, Connection.status, Connection.settings)
            .where(Connection.provider == "shopify", Connection.external_account_id == shop_domain)
            .order_by(Connection.id)
        ).all()
    return [
        Target(ws, cid, status, app_secret(settings or {})) for ws, cid, status, settings in rows
    ]


def candidate_secrets(targets: list[Target]) -> set[str]:
    """The secrets a signature may be checked against: the targets' and, for a shop without
    connections, the app's own (Shopify's compliance requests must still get their 2xx or
    401 for shops we never connected)."""
    secrets = {t.secret for t in targets if t.secret}
    own = get_config().shopify_client_secret
    if own:
        secrets.add(own)
    return secrets
