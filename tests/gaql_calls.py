"""A GAQL search against the sandbox's fake Google Ads API, as a client sends it: a token from
the OAuth endpoint, then `googleAds:searchStream` for the merchant's first customer."""

from __future__ import annotations

import httpx

from metricx.connectors.versions import DEFAULT_VERSIONS
from metricx.sandbox.servers import SandboxServers

VERSION = DEFAULT_VERSIONS["google"]


def search_stream(
    sandbox: SandboxServers, http: httpx.Client, query: str, *, version: str = VERSION
) -> httpx.Response:
    c = sandbox.credentials
    token = http.post(
        sandbox.env["GOOGLE_OAUTH_TOKEN_URL"],
        data={
            "grant_type": "refresh_token",
            "refresh_token": c.google_refresh_token,
            "client_id": c.google_client_id,
            "client_secret": c.google_client_secret,
        },
    ).json()["access_token"]
    customer = sandbox.merchant.accounts_of("google")[0].external_id
    return http.post(
        f"{sandbox.env['GOOGLE_ADS_URL']}/{version}/customers/{customer}/googleAds:searchStream",
        json={"query": query},
        headers={"Authorization": f"Bearer {token}", "developer-token": c.google_developer_token},
    )


def rows_of(response: httpx.Response) -> list[dict]:
    """The result rows of a successful search stream, every batch's."""
    assert response.status_code == 200, response.text
    return [row for batch in response.json() for row in batch.get("results", [])]
