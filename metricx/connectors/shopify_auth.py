"""Shopify offline access tokens: the install's code exchange and the refresh of expiring tokens.

Expiring offline tokens (shopify.dev "About offline access tokens" and changelog "Offline access
tokens now support expiry and refresh", 2025-12-10): the code exchange with `expiring=1` gives an
access token for `expires_in` seconds (3600) and a `refresh_token` valid for
`refresh_token_expires_in`. Public apps created since 2026-04-01 must use them, and from
2027-01-01 Shopify refuses non-expiring tokens of public apps (custom apps are exempt). A refresh
(`grant_type=refresh_token` at https://{shop}/admin/oauth/access_token) returns a new pair: the
refresh token ROTATES, so the caller must persist the new one before using the new access token.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from metricx.connectors.errors import AuthError, ConfigurationError
from metricx.connectors.http import (
    HttpSession,
    expect,
    parse_json,
    rate_limited,
    retry_after_header,
    server_error,
)
from metricx.connectors.records import TokenGrant

PROVIDER = "shopify"
# Refresh this long before the access token expires, so a page in flight never carries a token
# that dies on the way (the changelog advises refreshing "a few minutes before").
REFRESH_MARGIN = timedelta(minutes=5)


@dataclass(frozen=True)
class ShopifyGrant(TokenGrant):
    """A TokenGrant that also knows when its refresh token stops working."""

    refresh_expires_at: datetime | None = None


def token_url(admin_root: str) -> str:
    return f"{admin_root}/admin/oauth/access_token"


def request_grant(
    session: HttpSession, url: str, form: dict[str, str], now: Callable[[], datetime], what: str
) -> ShopifyGrant:
    """POST to the token endpoint and read the grant; refusals are AuthError (reconnect)."""
    response = session.request("POST", url, json=form)
    if response.status_code >= 500:
        raise server_error(PROVIDER, response)
    if response.status_code == 429:
        raise rate_limited(
            PROVIDER, "token endpoint", retry_after_header(response) or 2.0, status=429
        )
    body = parse_json(PROVIDER, response)
    if response.status_code >= 400 or not isinstance(body, dict) or "access_token" not in body:
        detail = (
            body.get("error_description") or body.get("error") if isinstance(body, dict) else None
        )
        raise AuthError(
            PROVIDER,
            f"Shopify refused the {what} "
            f"({detail or f'HTTP {response.status_code}'}); reinstall the app on "
            "the shop",
            status=response.status_code,
            code=body.get("error") if isinstance(body, dict) else None,
        )
    return grant_from(body, now())


def grant_from(body: dict[str, Any], issued_at: datetime) -> ShopifyGrant:
    """The token endpoint's JSON as a grant with absolute expiry times."""

    def at(key: str) -> datetime | None:
        seconds = body.get(key)
        if seconds in (None, ""):
            return None
        expect(PROVIDER, str(seconds).isdigit(), key)
        return issued_at + timedelta(seconds=int(seconds))

    return ShopifyGrant(
        str(body["access_token"]),
        body.get("refresh_token") or None,
        at("expires_in"),
        body.get("scope"),
        at("refresh_token_expires_in"),
    )


def refresh_form(
    refresh_token: str, client_id: str | None, client_secret: str | None
) -> dict[str, str]:
    """The refresh request's body; the app's credentials are required to refresh."""
    if not (client_id and client_secret):
        raise ConfigurationError(
            PROVIDER,
            "Refreshing an expiring Shopify token needs the app's "
            "credentials: set SHOPIFY_CLIENT_ID and SHOPIFY_CLIENT_SECRET",
        )
    return {
        "client_id": client_id,
        "client_secret": client_secret,
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
    }
