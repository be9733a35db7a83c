"""Expiring offline tokens: the install asks for them, the client refreshes them before they
die, and the rotated refresh token is handed over (to be stored) before the new pair is used."""

from __future__ import annotations

from datetime import timedelta

import pytest
import test_shopify_fake as support

from metricx.connectors.errors import AuthError, ConfigurationError
from metricx.connectors.shopify import ShopifyClient
from metricx.connectors.shopify_auth import ShopifyGrant

# The shared Shopify fixtures (see test_shopify_fake).
fake = support.fake
shopify = support.shopify


@pytest.fixture
def grant(sandbox, fake) -> ShopifyGrant:
    """A public app's install: the code exchanged for an expiring token and a refresh token."""
    c = sandbox.credentials
    return ShopifyClient.exchange_code(
        c.shopify_shop,
        c.shopify_auth_code,
        client_id=c.shopify_client_id,
        client_secret=c.shopify_client_secret,
        url_template=sandbox.env["SHOPIFY_URL_TEMPLATE"],
        now=lambda: sandbox.now,
    )


@pytest.fixture
def expiring(shopify, sandbox, grant):
    """A client holding `grant`, recording what it hands to on_refresh and when."""
    c = sandbox.credentials
    handed: list[tuple[ShopifyGrant, int]] = []

    def make(**overrides) -> ShopifyClient:
        options = {
            "access_token": grant.access_token,
            "refresh_token": grant.refresh_token,
            "access_expires_at": grant.expires_at,
            "client_id": c.shopify_client_id,
            "client_secret": c.shopify_client_secret,
            "on_refresh": lambda g: handed.append((g, len(sandbox.requests))),
            **overrides,
        }
        return shopify(**options)

    make.handed = handed
    return make


def test_the_install_asks_for_an_expiring_token(sandbox, grant) -> None:
    assert sandbox.requests.of("shopify", path="/oauth/access_token")[-1].body["expiring"] == "1"
    assert grant.expires_at == sandbox.now + timedelta(hours=1)
    assert grant.refresh_token and grant.refresh_expires_at > grant.expires_at


def test_a_token_near_expiry_is_refreshed_and_the_new_pair_handed_over_first(
    expiring, sandbox, grant
) -> None:
    # Given an hour minus four minutes has passed since the install
    sandbox.now = sandbox.now + timedelta(minutes=56)
    client = expiring()
    sandbox.requests.clear()
    # When the shop is read
    assert client.shop_info().currency == "USD"
    # Then the client refreshed first (5 minutes' margin), handed the rotated pair over before
    # any query used it, and sent the query with the new token
    [(new, requests_then)] = expiring.handed
    sent = sandbox.requests.of("shopify")
    assert [r.path.rsplit("/", 1)[1] for r in sent] == ["access_token", "graphql.json"]
    assert requests_then == 1
    assert sent[0].body["grant_type"] == "refresh_token"
    assert sent[0].body["refresh_token"] == grant.refresh_token
    assert new.refresh_token != grant.refresh_token and new.access_token != grant.access_token
    assert sent[1].headers["x-shopify-access-token"] == new.access_token
    assert new.expires_at == sandbox.now + timedelta(hours=1)
    assert client.refresh_token == new.refresh_token


def test_the_rotated_refresh_token_is_the_one_that_works(expiring, sandbox, grant) -> None:
    # Given a refresh already done
    client = expiring()
    client.refresh()
    # When the next refresh is due, it uses (and needs) the new refresh token
    sandbox.now = sandbox.now + timedelta(minutes=58)
    assert client.shop_info().name
    assert len(expiring.handed) == 2
    # And the first refresh token is dead: a client still holding it must reconnect
    with pytest.raises(AuthError, match="reinstall") as raised:
        expiring().shop_info()
    assert raised.value.connection_status == "needs_reauth"


def test_a_token_that_dies_early_gets_one_refresh(expiring, sandbox, fake, grant) -> None:
    # Given Shopify revoked the access token before its announced expiry
    fake.tokens.revoke(grant.access_token)
    client = expiring()
    # When the shop is read, then a 401 leads to one refresh and the same query again
    assert client.shop_info().currency == "USD"
    paths = [r.path.rsplit("/", 1)[1] for r in sandbox.requests.of("shopify")]
    assert paths[-3:] == ["graphql.json", "access_token", "graphql.json"]
    assert len(expiring.handed) == 1


def test_an_expired_token_without_a_refresh_token_needs_a_reinstall(
    shopify, sandbox, grant
) -> None:
    sandbox.now = sandbox.now + timedelta(minutes=61)
    with pytest.raises(AuthError, match="reinstall") as raised:
        shopify(access_token=grant.access_token).shop_info()
    assert raised.value.status == 401 and raised.value.connection_status == "needs_reauth"


def test_refreshing_without_the_apps_credentials_is_a_configuration_error(
    expiring, sandbox
) -> None:
    sandbox.now = sandbox.now + timedelta(minutes=57)
    with pytest.raises(ConfigurationError, match="SHOPIFY_CLIENT_ID") as raised:
        expiring(client_id=None).shop_info()
    assert raised.value.connection_status == "misconfigured"
