"""Connecting an ad account or a shop by OAuth (admins).

start_flow keeps a random `state` in Redis (with a TTL) bound to the workspace, the user, the
provider and the account, and returns the consent screen's URL. finish_flow takes the query
parameters the provider sent the browser back with: the state must be known, unexpired, this
user's in this workspace, and is then used up; the code is exchanged through the connector and
the tokens are stored encrypted on a new connection, or on the existing one (re-connect).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from metricx.actor import Actor
from metricx.config import get_config
from metricx.connection_store import ConnectionView, store_token_pair
from metricx.connectors import oauth
from metricx.connectors.errors import ConnectorError, provider_name
from metricx.connectors.shopify_auth import ShopifyGrant
from metricx.connectors.tiktok_auth import TikTokGrant
from metricx.db import transaction
from metricx.errors import InvalidInputError, MetricxError
from metricx.platforms import PLATFORMS
from metricx.queue import get_redis
from metricx.services import audit, connections
from metricx.vocabulary import PROVIDERS

STATE_KEY = "metricx:oauth-state:{}"


class OAuthError(MetricxError):
    """The sign-in could not complete; the message says why and what to do."""


@dataclass(frozen=True)
class PendingFlow:
    """What a state stands for, kept server-side until the provider sends the admin back."""

    workspace_id: int
    user_id: int | None
    provider: str
    account: str
    settings: dict[str, Any]


def _app(provider: str) -> oauth.OAuthApp:
    config = get_config()
    apps = {
        "meta": (config.meta_app_id, config.meta_app_secret),
        "google": (config.google_client_id, config.google_client_secret),
        "shopify": (config.shopify_client_id, config.shopify_client_secret),
        "tiktok": (config.tiktok_app_id, config.tiktok_app_secret),
    }
    if provider not in apps:
        raise InvalidInputError(
            f"{provider_name(provider)} connects with a key added below, not by signing in"
        )
    client_id, client_secret = apps[provider]
    if not (client_id and client_secret):
        raise InvalidInputError(
            f"connecting {provider_name(provider)} by OAuth needs "
            f"{PLATFORMS[provider].app_settings} to be set"
        )
    return oauth.OAuthApp(client_id, client_secret, config.oauth_redirect_url)


def _endpoints() -> oauth.OAuthEndpoints:
    config = get_config()
    return oauth.OAuthEndpoints(
        config.meta_oauth_dialog_url,
        config.meta_graph_url,
        config.meta_api_version,
        config.google_oauth_authorize_url,
        config.google_oauth_token_url,
        config.shopify_url_template,
        config.tiktok_auth_url,
        config.tiktok_api_url,
    )


def configured_providers() -> list[str]:
    """Providers whose app credentials are set (the others cannot be connected by OAuth)."""
    found = []
    for provider in PROVIDERS:
        try:
            _app(provider)
        except InvalidInputError:
            continue
        found.append(provider)
    return found


def start_flow(
    actor: Actor, provider: str, account: str, *, login_customer_id: str | None = None
) -> str:
    """Remember a new state for this admin and return the provider's consent URL."""
    actor.require_admin("connect accounts")
    if provider not in PROVIDERS:
        raise InvalidInputError(f"provider must be one of {', '.join(PROVIDERS)}")
    app = _app(provider)
    account = connections.normalise_account_id(provider, account)
    settings: dict[str, Any] = {}
    if provider == "google" and login_customer_id:
        settings["login_customer_id"] = connections.normalise_account_id(
            "google", login_customer_id
        )
    state = secrets.token_urlsafe(32)
    pending = PendingFlow(actor.workspace_id, actor.user_id, provider, account, settings)
    get_redis().set(
        STATE_KEY.format(state),
        json.dumps(asdict(pending)),
        ex=get_config().oauth_state_ttl_seconds,
    )
    return oauth.authorize_url(provider, app, _endpoints(), state, shop=account)


def _claim(actor: Actor, state: str | None) -> PendingFlow:
    """The flow a state stands for, used up; refused unless it is this admin's own."""
    stale = OAuthError(
        "This sign-in link is unknown, expired or already used: start the "
        "connection again from this page."
    )
    if not state:
        raise stale
    redis = get_redis()
    key = STATE_KEY.format(state)
    raw = redis.get(key)
    if raw is None:
        raise stale
    pending = PendingFlow(**json.loads(raw))
    if (pending.workspace_id, pending.user_id) != (actor.workspace_id, actor.user_id):
        # Left in place: someone else's link must not be able to burn the owner's sign-in.
        raise OAuthError(
            "This sign-in was started by another user or workspace: start the "
            "connection again from this page."
        )
    if redis.delete(key) != 1:  # another request used it first
        raise stale
    return pending


def finish_flow(
    actor: Actor, params: Mapping[str, str], *, now: datetime | None = None
) -> ConnectionView:
    """Complete a sign-in from the redirect's query parameters; returns the connection.
    `now` (default: the clock) judges the age of Shopify's signed redirect."""
    actor.require_admin("connect accounts")
    pending = _claim(actor, params.get("state"))
    name = provider_name(pending.provider)
    if params.get("error"):
        reason = params.get("error_description") or params.get("error")
        raise OAuthError(f"{name} sign-in was not completed ({reason}).")
    code = params.get("code")
    if not code:
        raise OAuthError(f"{name} sent no authorization code back; start again.")
    app = _app(pending.provider)
    if pending.provider == "shopify" and not (
        params.get("shop") == pending.account
        and oauth.shopify_callback_is_genuine(params, app.client_secret, now)
    ):
        raise OAuthError(
            "The Shopify redirect is not signed by Shopify for this shop; start the install again."
        )
    try:
        grant = oauth.exchange_code(pending.provider, app, _endpoints(), code, shop=pending.account)
    except ConnectorError as error:
        raise OAuthError(str(error)) from error
    if isinstance(grant, TikTokGrant) and pending.account not in grant.advertiser_ids:
        raise OAuthError(
            f"TikTok did not share advertiser {pending.account} with Metricx (shared: "
            f"{', '.join(grant.advertiser_ids) or 'none'}); start again and tick it."
        )
    keeps_refresh = connections.secret_kind(pending.provider) == "refresh"
    secret = grant.refresh_token if keeps_refresh else grant.access_token
    if secret is None:  # exchange_code refuses a Google grant without a refresh token
        raise OAuthError(f"{pending.provider} granted no token")
    expires_at = None if keeps_refresh else grant.expires_at
    existing = [
        c
        for c in connections.list_connections(actor.workspace_id)
        if (c.provider, c.external_account_id) == (pending.provider, pending.account)
    ]
    if existing:
        connections.rotate_token(actor, existing[0].id, secret, expires_at=expires_at)
        connection = connections.get_connection(actor.workspace_id, existing[0].id)
    else:
        connection = connections.add_connection(
            actor,
            pending.provider,
            pending.account,
            secret,
            settings=pending.settings,
            expires_at=expires_at,
        )
    if isinstance(grant, ShopifyGrant) and grant.refresh_token:
        # An expiring offline token lasts an hour: keep its refresh token (encrypted) too,
        # or the shop stops syncing once the first access token expires.
        store_token_pair(
            actor.workspace_id,
            connection.id,
            grant.access_token,
            grant.expires_at,
            grant.refresh_token,
            grant.refresh_expires_at,
        )
    with transaction() as session:
        audit.record(
            session,
            actor,
            "connection.oauth",
            str(connection.id),
            provider=pending.provider,
            account=pending.account,
            scope=grant.scope,
            reconnected=bool(existing),
        )
    return connection
