"""The credentials the sandbox's fake APIs accept (they are not secrets: they only open fakes)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SandboxCredentials:
    """Everything a connection to the sandbox needs, per provider."""

    meta_access_token: str = "sandbox-meta-token"
    meta_app_id: str = "sandbox-meta-app"
    meta_app_secret: str = "sandbox-meta-secret"
    meta_auth_code: str = "sandbox-meta-code"
    google_client_id: str = "sandbox-google-client.apps.googleusercontent.com"
    google_client_secret: str = "sandbox-google-secret"
    google_refresh_token: str = "sandbox-google-refresh-token"
    google_developer_token: str = "sandbox-developer-token"
    google_login_customer_id: str = "1112223333"  # the sandbox's manager (MCC) account
    google_auth_code: str = "sandbox-google-code"
    shopify_shop: str = "northwind-outfitters.myshopify.com"
    shopify_access_token: str = "shpat_sandbox_token"
    shopify_client_id: str = "sandbox-shopify-client"
    shopify_client_secret: str = "sandbox-shopify-secret"
    shopify_auth_code: str = "sandbox-shopify-code"
    tiktok_app_id: str = "7300000000000000001"
    tiktok_app_secret: str = "sandbox-tiktok-secret"
    tiktok_access_token: str = "sandbox-tiktok-token"
    tiktok_auth_code: str = "sandbox-tiktok-code"
    klaviyo_private_key: str = "pk_sandbox_klaviyo_private_key_000000"
