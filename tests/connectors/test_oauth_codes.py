"""OAuth code flows against the fakes: the consent screens hand out codes, the exchange trades
them for tokens that work, and every refusal is one of two clear errors."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from metricx.connectors.google_ads import GoogleAdsClient
from metricx.connectors.meta import MetaClient
from metricx.connectors.oauth import (
    AppCredentialsError,
    AuthorizationCodeError,
    OAuthApp,
    OAuthEndpoints,
    authorize_url,
    exchange_code,
    shopify_callback_is_genuine,
)
from metricx.connectors.shopify import ShopifyClient
from metricx.connectors.versions import DEFAULT_VERSIONS

REDIRECT = "http://localhost:8501/connections"
META_VERSION = DEFAULT_VERSIONS["meta"]


@pytest.fixture
def endpoints(sandbox) -> OAuthEndpoints:
    env = sandbox.env
    return OAuthEndpoints(
        env["META_OAUTH_DIALOG_URL"],
        env["META_GRAPH_URL"],
        META_VERSION,
        env["GOOGLE_OAUTH_AUTHORIZE_URL"],
        env["GOOGLE_OAUTH_TOKEN_URL"],
        env["SHOPIFY_URL_TEMPLATE"],
    )


@pytest.fixture
def apps(sandbox) -> dict[str, OAuthApp]:
    c = sandbox.credentials
    return {
        "meta": OAuthApp(c.meta_app_id, c.meta_app_secret, REDIRECT),
        "google": OAuthApp(c.google_client_id, c.google_client_secret, REDIRECT),
        "shopify": OAuthApp(c.shopify_client_id, c.shopify_client_secret, REDIRECT),
    }


def visit(url: str) -> dict[str, str]:
    """Follow a consent screen as a browser would; the query it redirects back with."""
    response = httpx.get(url, follow_redirects=False)
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(REDIRECT)
    return dict(parse_qsl(urlsplit(location).query))


@pytest.mark.parametrize("provider", ["meta", "google", "shopify"])
def test_a_visited_consent_screen_returns_state_and_a_code_that_exchanges_once(
    provider, sandbox, endpoints, apps, sleeps
) -> None:
    shop = sandbox.credentials.shopify_shop
    # Given the admin was sent to the consent screen with our state
    back = visit(authorize_url(provider, apps[provider], endpoints, "st4te", shop=shop))
    # Then it comes back with that state and a code
    assert back["state"] == "st4te" and back["code"]
    # When the code is exchanged, tokens come back; a second exchange is refused
    grant = exchange_code(
        provider, apps[provider], endpoints, back["code"], shop=shop, sleep=sleeps.append
    )
    assert grant.access_token
    with pytest.raises(AuthorizationCodeError, match=r"already used .*; start"):
        exchange_code(
            provider, apps[provider], endpoints, back["code"], shop=shop, sleep=sleeps.append
        )
    assert sleeps == []


def test_the_tokens_from_each_exchange_read_the_accounts(
    sandbox, endpoints, apps, merchant
) -> None:
    shop = sandbox.credentials.shopify_shop
    grants = {
        p: exchange_code(
            p,
            apps[p],
            endpoints,
            visit(authorize_url(p, apps[p], endpoints, "s", shop=shop))["code"],
            shop=shop,
        )
        for p in ("meta", "google", "shopify")
    }
    meta_account = merchant.accounts_of("meta")[0].external_id
    google_account = merchant.accounts_of("google")[0].external_id
    with MetaClient(grants["meta"].access_token, base_url=endpoints.meta_graph_url) as meta:
        assert meta.account_info(meta_account).external_id == meta_account
    assert grants["meta"].expires_at is not None
    c = sandbox.credentials
    with GoogleAdsClient(
        refresh_token=grants["google"].refresh_token,
        client_id=c.google_client_id,
        client_secret=c.google_client_secret,
        developer_token=c.google_developer_token,
        base_url=sandbox.env["GOOGLE_ADS_URL"],
        token_url=endpoints.google_token_url,
    ) as google:
        assert google.account_info(google_account).currency
    with ShopifyClient(
        shop, grants["shopify"].access_token, url_template=endpoints.shopify_url_template
    ) as store:
        assert store.shop_info().domain == shop
    assert "read_orders" in grants["shopify"].scope


def test_a_code_past_its_ten_minutes_is_refused(sandbox, endpoints, apps, now) -> None:
    back = visit(authorize_url("google", apps["google"], endpoints, "s"))
    sandbox.now = now + timedelta(minutes=11)
    with pytest.raises(AuthorizationCodeError) as refused:
        exchange_code("google", apps["google"], endpoints, back["code"])
    assert refused.value.code == "invalid_grant"


@pytest.mark.parametrize("provider", ["meta", "google", "shopify"])
def test_a_made_up_code_is_a_code_error(provider, sandbox, endpoints, apps) -> None:
    with pytest.raises(AuthorizationCodeError, match="invalid, expired or already used"):
        exchange_code(
            provider, apps[provider], endpoints, "made-up", shop=sandbox.credentials.shopify_shop
        )


@pytest.mark.parametrize("provider", ["meta", "google", "shopify"])
def test_a_wrong_client_secret_is_a_credentials_error_naming_the_settings(
    provider, sandbox, endpoints, apps
) -> None:
    app = apps[provider]
    wrong = OAuthApp(app.client_id, "not-the-secret", app.redirect_uri)
    code = getattr(sandbox.credentials, f"{provider}_auth_code")
    with pytest.raises(AppCredentialsError, match=f"{provider.upper()}_"):
        exchange_code(provider, wrong, endpoints, code, shop=sandbox.credentials.shopify_shop)


def test_a_code_exchanged_for_another_redirect_uri_is_refused(endpoints, apps) -> None:
    back = visit(authorize_url("meta", apps["meta"], endpoints, "s"))
    elsewhere = OAuthApp(
        apps["meta"].client_id, apps["meta"].client_secret, "https://evil.example/cb"
    )
    with pytest.raises(AuthorizationCodeError, match="Meta 100"):
        exchange_code("meta", elsewhere, endpoints, back["code"])
    back = visit(authorize_url("google", apps["google"], endpoints, "s"))
    google_elsewhere = OAuthApp(
        apps["google"].client_id, apps["google"].client_secret, "https://evil.example/cb"
    )
    with pytest.raises(AppCredentialsError, match="redirect_uri_mismatch"):
        exchange_code("google", google_elsewhere, endpoints, back["code"])


def test_authorize_urls_carry_what_each_provider_needs(endpoints, apps, sandbox) -> None:
    meta = urlsplit(authorize_url("meta", apps["meta"], endpoints, "s1"))
    google = urlsplit(authorize_url("google", apps["google"], endpoints, "s2"))
    shop = urlsplit(
        authorize_url(
            "shopify", apps["shopify"], endpoints, "s3", shop=sandbox.credentials.shopify_shop
        )
    )
    assert meta.path == f"/{META_VERSION}/dialog/oauth"
    assert dict(parse_qsl(meta.query))["scope"] == "ads_read"
    assert dict(parse_qsl(google.query))["access_type"] == "offline"
    assert dict(parse_qsl(google.query))["prompt"] == "consent"
    assert shop.path == f"/{sandbox.credentials.shopify_shop}/admin/oauth/authorize"
    with pytest.raises(ValueError, match="shop domain"):
        authorize_url("shopify", apps["shopify"], endpoints, "s")


def test_shopifys_signed_redirect_is_verified(sandbox, endpoints, apps, now) -> None:
    secret = sandbox.credentials.shopify_client_secret
    back = visit(
        authorize_url(
            "shopify", apps["shopify"], endpoints, "s", shop=sandbox.credentials.shopify_shop
        )
    )
    assert shopify_callback_is_genuine(back, secret, now)
    assert not shopify_callback_is_genuine({**back, "shop": "evil.myshopify.com"}, secret, now)
    assert not shopify_callback_is_genuine(back, "another-secret", now)
    assert not shopify_callback_is_genuine(back, secret, now + timedelta(hours=25))
    assert not shopify_callback_is_genuine(
        {k: v for k, v in back.items() if k != "hmac"}, secret, now
    )
