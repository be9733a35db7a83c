"""OAuth authorization-code flows for Meta, Google Ads, TikTok Ads and Shopify.

Two halves per provider: where to send the admin (the consent screen's URL, carrying our
`state`), and trading the `code` that comes back for tokens. The trade goes through each
connector's own exchange, so base URLs, retries and parsing stay in one place; a refusal
becomes one of two errors a page can explain: the app's credentials are wrong (an operator
fixes settings) or the code is (the admin starts again). No database here: the service keeps
the state and stores the tokens.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import httpx

from metricx.connectors import tiktok_auth
from metricx.connectors.errors import (
    AppCredentialsError,
    AuthError,
    AuthorizationCodeError,
    provider_name,
)
from metricx.connectors.google_ads import GoogleAdsClient
from metricx.connectors.http import Sleep
from metricx.connectors.meta import MetaClient
from metricx.connectors.records import TokenGrant
from metricx.connectors.shopify import ShopifyClient, admin_base
from metricx.platforms import PLATFORMS

# Read-only access is all a sync needs.
SCOPES = {
    "meta": "ads_read",
    "google": "https://www.googleapis.com/auth/adwords",
    "shopify": "read_orders,read_all_orders,read_products,read_customers",
    # TikTok's permissions are chosen on the app itself (developer portal), not per request.
}
# What each provider answers when it does not know our app or its redirect URI.
CLIENT_REFUSALS: dict[str, frozenset[object]] = {
    "meta": frozenset({1, 101}),
    "google": frozenset({"invalid_client", "unauthorized_client", "redirect_uri_mismatch"}),
    "shopify": frozenset({"invalid_client"}),
    "tiktok": tiktok_auth.APP_REFUSALS,
}
SHOPIFY_CALLBACK_MAX_AGE = timedelta(hours=24)


@dataclass(frozen=True)
class OAuthApp:
    """Our app as registered at one provider."""

    client_id: str
    client_secret: str
    redirect_uri: str


@dataclass(frozen=True)
class OAuthEndpoints:
    """Where the providers' consent screens and token endpoints are (settings, or fakes)."""

    meta_dialog_url: str
    meta_graph_url: str
    meta_api_version: str
    google_authorize_url: str
    google_token_url: str
    shopify_url_template: str
    tiktok_auth_url: str = tiktok_auth.AUTH_URL
    tiktok_api_url: str = "https://business-api.tiktok.com"


def authorize_url(
    provider: str, app: OAuthApp, endpoints: OAuthEndpoints, state: str, *, shop: str | None = None
) -> str:
    """The consent screen to send the admin to; it comes back to app.redirect_uri."""
    if provider == "meta":
        base = f"{endpoints.meta_dialog_url.rstrip('/')}/{endpoints.meta_api_version}/dialog/oauth"
        params = {
            "client_id": app.client_id,
            "redirect_uri": app.redirect_uri,
            "state": state,
            "scope": SCOPES["meta"],
            "response_type": "code",
        }
    elif provider == "google":
        base = endpoints.google_authorize_url
        # offline + consent: Google returns a refresh token only then, and the sync needs one.
        params = {
            "client_id": app.client_id,
            "redirect_uri": app.redirect_uri,
            "response_type": "code",
            "scope": SCOPES["google"],
            "access_type": "offline",
            "prompt": "consent",
            "include_granted_scopes": "true",
            "state": state,
        }
    elif provider == "shopify":
        if not shop:
            raise ValueError("a Shopify install needs the shop domain")
        base = f"{admin_base(shop, endpoints.shopify_url_template)}/admin/oauth/authorize"
        params = {
            "client_id": app.client_id,
            "scope": SCOPES["shopify"],
            "redirect_uri": app.redirect_uri,
            "state": state,
        }
    elif provider == "tiktok":
        return tiktok_auth.authorize_url(
            app.client_id, app.redirect_uri, state, endpoints.tiktok_auth_url
        )
    else:
        raise ValueError(f"no OAuth flow for provider {provider!r}")
    return f"{base}?{urlencode(params)}"


def exchange_code(
    provider: str,
    app: OAuthApp,
    endpoints: OAuthEndpoints,
    code: str,
    *,
    shop: str | None = None,
    sleep: Sleep | None = None,
    transport: httpx.BaseTransport | None = None,
) -> TokenGrant:
    """Trade the code from the redirect for tokens (Google: its refresh token is the one kept)."""
    try:
        if provider == "meta":
            with MetaClient(
                "",
                base_url=endpoints.meta_graph_url,
                api_version=endpoints.meta_api_version,
                app_id=app.client_id,
                app_secret=app.client_secret,
                sleep=sleep,
                transport=transport,
            ) as meta:
                # The code gives a short-lived user token (an hour or two); trade it at once
                # for a ~60-day one (Facebook Login, "Long-Lived Access Tokens").
                short = meta.exchange_token(code=code, redirect_uri=app.redirect_uri)
                return meta.exchange_token(short.access_token)
        if provider == "google":
            with GoogleAdsClient(
                refresh_token=None,
                client_id=app.client_id,
                client_secret=app.client_secret,
                developer_token="",
                token_url=endpoints.google_token_url,
                sleep=sleep,
                transport=transport,
            ) as google:
                grant = google.exchange_code(code, app.redirect_uri)
        elif provider == "shopify":
            if not shop:
                raise ValueError("a Shopify install needs the shop domain")
            return ShopifyClient.exchange_code(
                shop,
                code,
                client_id=app.client_id,
                client_secret=app.client_secret,
                url_template=endpoints.shopify_url_template,
                transport=transport,
            )
        elif provider == "tiktok":
            # A long-term token for the advertisers the merchant shared (TikTokGrant).
            return tiktok_auth.exchange_code(
                code,
                app_id=app.client_id,
                secret=app.client_secret,
                base_url=endpoints.tiktok_api_url,
                sleep=sleep,
                transport=transport,
            )
        else:
            raise ValueError(f"no OAuth flow for provider {provider!r}")
    except AuthError as error:
        raise _explained(provider, error) from error
    if not grant.refresh_token:
        raise AuthorizationCodeError(
            provider,
            "Google gave no refresh token (the account had "
            "already granted access); remove Metricx under the Google "
            "account's third-party access and connect again",
        )
    return grant


def _explained(provider: str, error: AuthError) -> AuthError:
    name = provider_name(provider)
    detail = f"{name} {error.code or f'HTTP {error.status}'}"
    if error.code in CLIENT_REFUSALS[provider]:
        return AppCredentialsError(
            provider,
            f"{name} rejected this app's credentials or redirect URL ({detail}): "
            f"check {PLATFORMS[provider].app_settings} and that OAUTH_REDIRECT_URL is registered "
            "with the app",
            status=error.status,
            code=error.code,
        )
    return AuthorizationCodeError(
        provider,
        f"{name} refused the sign-in code: it is invalid, expired or already used "
        f"({detail}); start the connection again",
        status=error.status,
        code=error.code,
    )


def shopify_callback_is_genuine(
    params: Mapping[str, str], client_secret: str, now: datetime | None = None
) -> bool:
    """Shopify signs its redirect: hmac = HMAC-SHA256(secret, the other params sorted as
    k=v joined by &), hex. Also refuse a callback older than a day (a replayed link)."""
    signature = params.get("hmac", "")
    message = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "hmac")
    expected = hmac.new(client_secret.encode(), message.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(signature, expected):
        return False
    try:
        sent = datetime.fromtimestamp(int(params.get("timestamp", "")), UTC)
    except ValueError:
        return False
    return (now or datetime.now(UTC)) - sent <= SHOPIFY_CALLBACK_MAX_AGE
