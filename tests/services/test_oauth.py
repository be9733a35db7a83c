"""Connecting by OAuth: the state is the admin's own, unexpired and used once; a finished flow
leaves an active connection with encrypted tokens that the sync can use."""

from __future__ import annotations

import threading
from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from sandbox_fixtures import CREDENTIALS, NOW
from sqlalchemy import select

from metricx.db import transaction
from metricx.errors import InvalidInputError, PermissionDeniedError
from metricx.models import Connection, Token
from metricx.services import audit, connections, oauth
from metricx.services.oauth import OAuthError
from metricx.sync.pipeline import sync_connection


@pytest.fixture
def other_admin(other_workspace):
    from metricx.services.users import actor_for, add_user

    return actor_for(add_user(other_workspace.id, "eve@globex.test", "pw pw pw", role="admin"))


def account_of(sandbox, provider: str) -> str:
    if provider == "shopify":
        return CREDENTIALS.shopify_shop
    return sandbox.merchant.accounts_of(provider)[0].external_id


def consent(url: str) -> dict[str, str]:
    """What the browser comes back to the app with, after the provider's consent screen."""
    response = httpx.get(url, follow_redirects=False)
    assert response.status_code == 302, response.text
    return dict(parse_qsl(urlsplit(response.headers["location"]).query))


def stored_connections() -> list[Connection]:
    with transaction() as session:
        return list(session.scalars(select(Connection)))


@pytest.mark.parametrize("provider", ["meta", "google", "tiktok", "shopify"])
def test_a_finished_flow_creates_an_active_connection_the_sync_can_use(
    provider, admin, oauth_apps
) -> None:
    account = account_of(oauth_apps, provider)
    # Given an admin sent to the provider who consented
    back = consent(oauth.start_flow(admin, provider, account))
    # When the browser comes back with code and state
    connection = oauth.finish_flow(admin, back, now=NOW)
    # Then the connection is active, its token encrypted at rest and readable by the sync
    assert (connection.provider, connection.external_account_id, connection.status) == (
        provider,
        account,
        "active",
    )
    kind = "refresh" if provider == "google" else "access"
    token = connections.read_token(admin.workspace_id, connection.id, kind)
    with transaction() as session:
        sealed = session.scalar(
            select(Token).where(Token.connection_id == connection.id, Token.kind == kind)
        )
        assert token.encode() not in sealed.ciphertext
    assert audit.recent(admin.workspace_id)[0].action == "connection.oauth"
    outcome = (
        sync_connection(admin.workspace_id, connection.id, "shop", now=NOW)
        if provider == "shopify"
        else sync_connection(
            admin.workspace_id, connection.id, "range", start=NOW.date(), end=NOW.date(), now=NOW
        )
    )
    assert outcome.status == "success", outcome.error


def test_a_shop_connected_by_oauth_keeps_syncing_after_its_hour_long_token_expires(
    admin, oauth_apps
) -> None:
    # Given a shop installed by OAuth, which now hands out tokens that expire in an hour
    back = consent(oauth.start_flow(admin, "shopify", CREDENTIALS.shopify_shop))
    connection = oauth.finish_flow(admin, back, now=NOW)
    first_refresh = connections.read_token(admin.workspace_id, connection.id, "refresh")
    # When it syncs two hours later
    later = NOW + timedelta(hours=2)
    oauth_apps.now = later
    outcome = sync_connection(admin.workspace_id, connection.id, "shop", now=later)
    # Then the stored refresh token got a fresh access token, and the rotated pair is kept
    assert outcome.status == "success", outcome.error
    assert connections.read_token(admin.workspace_id, connection.id, "refresh") != first_refresh


def test_a_tiktok_advertiser_the_merchant_did_not_share_is_not_connected(admin, oauth_apps) -> None:
    # Given an admin who typed an advertiser id the TikTok sign-in does not share
    back = consent(oauth.start_flow(admin, "tiktok", "7000000000000000001"))
    # When the browser comes back
    with pytest.raises(OAuthError, match="did not share advertiser 7000000000000000001"):
        oauth.finish_flow(admin, back, now=NOW)
    # Then nothing is connected
    assert stored_connections() == []


def test_a_made_up_state_is_refused_and_nothing_is_created(admin, oauth_apps) -> None:
    back = consent(oauth.start_flow(admin, "meta", account_of(oauth_apps, "meta")))
    with pytest.raises(OAuthError, match="unknown, expired or already used"):
        oauth.finish_flow(admin, {**back, "state": "forged"})
    with pytest.raises(OAuthError, match="unknown, expired or already used"):
        oauth.finish_flow(admin, {"code": back["code"]})
    assert stored_connections() == []


def test_a_state_is_used_once(admin, oauth_apps) -> None:
    back = consent(oauth.start_flow(admin, "google", account_of(oauth_apps, "google")))
    oauth.finish_flow(admin, back)
    with pytest.raises(OAuthError, match="already used"):
        oauth.finish_flow(admin, back)
    assert len(stored_connections()) == 1


def test_an_expired_state_is_refused(admin, oauth_apps, setenv) -> None:
    setenv(OAUTH_STATE_TTL_SECONDS="1")
    back = consent(oauth.start_flow(admin, "meta", account_of(oauth_apps, "meta")))
    threading.Event().wait(1.3)  # `fakes` stubs time.sleep out for the connectors
    with pytest.raises(OAuthError, match="expired"):
        oauth.finish_flow(admin, back)
    assert stored_connections() == []


def test_another_workspaces_admin_cannot_finish_the_flow_nor_burn_it(
    admin, other_admin, oauth_apps
) -> None:
    # Given a flow started in Acme, when Globex's admin comes back with its code and state
    back = consent(oauth.start_flow(admin, "meta", account_of(oauth_apps, "meta")))
    with pytest.raises(OAuthError, match="another user or workspace"):
        oauth.finish_flow(other_admin, back)
    # Then nothing exists in either workspace, and the owner can still finish it
    assert stored_connections() == []
    assert oauth.finish_flow(admin, back).workspace_id == admin.workspace_id
    assert connections.list_connections(other_admin.workspace_id) == []


def test_members_can_neither_start_nor_finish(member, admin, oauth_apps) -> None:
    with pytest.raises(PermissionDeniedError):
        oauth.start_flow(member, "meta", account_of(oauth_apps, "meta"))
    back = consent(oauth.start_flow(admin, "meta", account_of(oauth_apps, "meta")))
    with pytest.raises(PermissionDeniedError):
        oauth.finish_flow(member, back)
    assert stored_connections() == []


def test_a_declined_consent_says_so_and_uses_the_state(admin, oauth_apps) -> None:
    url = oauth.start_flow(admin, "google", account_of(oauth_apps, "google"))
    state = dict(parse_qsl(urlsplit(url).query))["state"]
    declined = {"error": "access_denied", "state": state}
    with pytest.raises(OAuthError, match=r"not completed \(access_denied"):
        oauth.finish_flow(admin, declined)
    with pytest.raises(OAuthError, match="already used"):
        oauth.finish_flow(admin, declined)
    assert stored_connections() == []


def test_a_shopify_redirect_with_a_forged_signature_is_refused(admin, oauth_apps) -> None:
    back = consent(oauth.start_flow(admin, "shopify", CREDENTIALS.shopify_shop))
    with pytest.raises(OAuthError, match="not signed by Shopify"):
        oauth.finish_flow(admin, {**back, "hmac": "0" * 64}, now=NOW)
    assert stored_connections() == []


def test_a_refused_code_is_a_clear_error_and_nothing_is_created(admin, oauth_apps) -> None:
    back = consent(oauth.start_flow(admin, "meta", account_of(oauth_apps, "meta")))
    with pytest.raises(OAuthError, match="refused the sign-in code"):
        oauth.finish_flow(admin, {**back, "code": "not-a-code"})
    assert stored_connections() == []


def test_reconnecting_replaces_the_token_and_reactivates(admin, oauth_apps) -> None:
    # Given a Meta connection whose token was revoked
    account = account_of(oauth_apps, "meta")
    old = connections.add_connection(admin, "meta", account, "revoked-token")
    with transaction() as session:
        session.get(Connection, old.id).status = "needs_reauth"
    # When the admin connects the same account by OAuth
    again = oauth.finish_flow(admin, consent(oauth.start_flow(admin, "meta", account)))
    # Then it is the same connection, active, with the new token
    assert again.id == old.id and again.status == "active"
    assert connections.read_token(admin.workspace_id, old.id) != "revoked-token"
    assert len(stored_connections()) == 1


def test_start_checks_input_and_settings_before_sending_anyone_away(
    admin, oauth_apps, setenv
) -> None:
    with pytest.raises(InvalidInputError, match="Meta ad account id"):
        oauth.start_flow(admin, "meta", "not digits")
    setenv(SHOPIFY_CLIENT_SECRET="")
    with pytest.raises(InvalidInputError, match="SHOPIFY_CLIENT_ID / SHOPIFY_CLIENT_SECRET"):
        oauth.start_flow(admin, "shopify", CREDENTIALS.shopify_shop)
    assert oauth.configured_providers() == ["meta", "google", "tiktok"]
