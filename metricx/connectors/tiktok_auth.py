"""TikTok API for Business OAuth: the advertiser authorization page and the code exchange.

The admin is sent to the portal page (business-api.tiktok.com/portal/auth?app_id=...&state=
...&redirect_uri=...), picks the advertisers to share and comes back to the redirect URI with
`auth_code` (and `code`, the same value) and `state`. The code is traded once, within its
lifetime, at POST /open_api/v1.3/oauth2/access_token/ with a JSON body {app_id, secret,
auth_code} (Authentication, business-api.tiktok.com/portal/docs?id=1738373164380162; official
SDK python_sdk/business_api_client/models/oauth2_access_token_body.py). The answer's `data`
holds a long-term `access_token` that does not expire until the user revokes it, the
`advertiser_ids` it may read and the granted permission `scope` ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

import httpx

from metricx.connectors.errors import (
    AppCredentialsError,
    AuthorizationCodeError,
    RateLimitedError,
    TransientError,
)
from metricx.connectors.http import BaseClient, Sleep, expect, parse_json, server_error
from metricx.connectors.records import TokenGrant
from metricx.connectors.tiktok import PROVIDER, classify
from metricx.connectors.versions import DEFAULT_VERSIONS

AUTH_URL = "https://business-api.tiktok.com/portal/auth"
# The Return Codes appendix does not single out the exchange's refusals; TikTok answers
# 40001 ("no permission") when the app id or secret is wrong, any other code means the
# auth_code itself was refused (invalid, expired or already used).
APP_REFUSALS = frozenset({40001})


@dataclass(frozen=True)
class TikTokGrant(TokenGrant):
    """A TokenGrant (no refresh token, no expiry: the token is long-term) plus the
    advertisers the merchant shared with the app."""

    advertiser_ids: tuple[str, ...] = ()


def authorize_url(app_id: str, redirect_uri: str, state: str, auth_url: str = AUTH_URL) -> str:
    """The portal page where the merchant authorizes the app for their advertisers."""
    query = urlencode({"app_id": app_id, "state": state, "redirect_uri": redirect_uri})
    return f"{auth_url}?{query}"


def exchange_code(
    auth_code: str,
    *,
    app_id: str,
    secret: str,
    base_url: str = "https://business-api.tiktok.com",
    api_version: str = DEFAULT_VERSIONS["tiktok"],
    sleep: Sleep | None = None,
    transport: httpx.BaseTransport | None = None,
) -> TikTokGrant:
    """Trade the auth_code from the redirect for a long-term access token."""
    with _Exchange(sleep=sleep, transport=transport) as client:
        return client.exchange(auth_code, app_id, secret, base_url.rstrip("/"), api_version)


class _Exchange(BaseClient):
    """The token endpoint: no Access-Token yet, the app's credentials in the body."""

    provider = PROVIDER

    def exchange(
        self, auth_code: str, app_id: str, secret: str, base_url: str, api_version: str
    ) -> TikTokGrant:
        url = f"{base_url}/open_api/{api_version}/oauth2/access_token/"
        body = {"app_id": app_id, "secret": secret, "auth_code": auth_code}

        def attempt() -> TikTokGrant:
            response = self.http.request("POST", url, json=body)
            if response.status_code >= 500:
                raise server_error(PROVIDER, response)
            envelope = parse_json(PROVIDER, response)
            expect(PROVIDER, isinstance(envelope, dict) and "code" in envelope, "envelope")
            code = envelope["code"]
            if code != 0:
                raise _refusal(response, envelope)
            data = envelope.get("data")
            expect(
                PROVIDER,
                isinstance(data, dict) and isinstance(data.get("access_token"), str),
                "access_token",
            )
            ids = data.get("advertiser_ids") or []
            expect(PROVIDER, isinstance(ids, list), "advertiser_ids")
            scope = data.get("scope")
            return TikTokGrant(
                access_token=data["access_token"],
                refresh_token=None,
                expires_at=None,
                scope=",".join(str(s) for s in scope) if isinstance(scope, list) else None,
                advertiser_ids=tuple(str(i) for i in ids),
            )

        return self._retrying(attempt)


def _refusal(response: httpx.Response, envelope: dict[str, object]) -> Exception:
    """Throttling and server codes stay retryable; anything else is the app's or the code's
    fault, with words a connect page can show."""
    error = classify(response, envelope)
    if isinstance(error, RateLimitedError | TransientError):
        return error
    code, message = envelope.get("code"), envelope.get("message")
    if code in APP_REFUSALS:
        return AppCredentialsError(
            PROVIDER,
            f"TikTok Ads rejected this app's credentials ({code}: {message}): check "
            "TIKTOK_APP_ID / TIKTOK_APP_SECRET",
            status=response.status_code,
            code=code if isinstance(code, int) else None,
        )
    return AuthorizationCodeError(
        PROVIDER,
        f"TikTok Ads refused the sign-in code: it is invalid, expired or already used "
        f"({code}: {message}); start the connection again",
        status=response.status_code,
        code=code if isinstance(code, int) else None,
    )
