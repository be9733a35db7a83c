"""The fake APIs answer over real HTTP in the platforms' own shapes, errors included."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import httpx
import pytest

from metricx.connectors.versions import DEFAULT_VERSIONS
from metricx.sandbox.servers import SandboxServers

META_VERSION = DEFAULT_VERSIONS["meta"]
GOOGLE_VERSION = DEFAULT_VERSIONS["google"]


def _meta(
    sandbox: SandboxServers,
    http: httpx.Client,
    path: str,
    **params: str,
) -> httpx.Response:
    return http.get(
        f"{sandbox.env['META_GRAPH_URL']}/{META_VERSION}/{path}",
        params=params,
        headers={"Authorization": f"Bearer {sandbox.credentials.meta_access_token}"},
    )


def _google(
    sandbox: SandboxServers,
    http: httpx.Client,
    customer: str,
    query: str,
    method: str = "searchStream",
    token: str | None = None,
    **extra: object,
) -> httpx.Response:
    c = sandbox.credentials
    if token is None:
        token = http.post(
            sandbox.env["GOOGLE_OAUTH_TOKEN_URL"],
            data={
                "grant_type": "refresh_token",
                "refresh_token": c.google_refresh_token,
                "client_id": c.google_client_id,
                "client_secret": c.google_client_secret,
            },
        ).json()["access_token"]
    return http.post(
        f"{sandbox.env['GOOGLE_ADS_URL']}/{GOOGLE_VERSION}/customers/{customer}/googleAds:{method}",
        json={"query": query, **extra},
        headers={"Authorization": f"Bearer {token}", "developer-token": c.google_developer_token},
    )


def _shopify(
    sandbox: SandboxServers, http: httpx.Client, query: str, token: str | None = None
) -> httpx.Response:
    url = sandbox.env["SHOPIFY_URL_TEMPLATE"].format(
        shop=sandbox.credentials.shopify_shop, version=DEFAULT_VERSIONS["shopify"]
    )
    return http.post(
        url,
        json={"query": query, "variables": {}},
        headers={"X-Shopify-Access-Token": token or sandbox.credentials.shopify_access_token},
    )


def test_servers_start_fast_on_loopback_and_follow_real_time() -> None:
    started = time.monotonic()
    with SandboxServers(seed=1, ads=12, days=10, orders_per_day=5) as servers:
        assert time.monotonic() - started < 2
        assert set(servers.env) == {
            "META_GRAPH_URL",
            "META_OAUTH_DIALOG_URL",
            "GOOGLE_ADS_URL",
            "GOOGLE_OAUTH_TOKEN_URL",
            "GOOGLE_OAUTH_AUTHORIZE_URL",
            "SHOPIFY_URL_TEMPLATE",
            "SANDBOX_SLACK_URL",
            "TIKTOK_API_URL",
            "TIKTOK_AUTH_URL",
            "KLAVIYO_API_URL",
        }
        assert all(v.startswith("http://127.0.0.1:") for v in servers.env.values())
        assert abs((servers.now - datetime.now(UTC)).total_seconds()) < 5
        assert servers.merchant.today == datetime.now(UTC).date()


def test_meta_insights_are_strings_with_actions_and_absolute_next_links(
    sandbox: SandboxServers, http: httpx.Client
) -> None:
    account = sandbox.merchant.accounts_of("meta")[0].external_id
    response = _meta(
        sandbox,
        http,
        f"act_{account}/insights",
        level="ad",
        limit="3",
        fields="ad_id,spend,impressions,inline_link_clicks,actions,action_values",
        time_range=json.dumps({"since": "2025-11-20", "until": "2025-11-24"}),
        time_increment="1",
    )
    assert response.status_code == 200
    body = response.json()
    row = body["data"][0]
    assert isinstance(row["spend"], str) and isinstance(row["impressions"], str)
    assert row["date_start"] == row["date_stop"] == "2025-11-20"
    assert body["paging"]["next"].startswith(sandbox.env["META_GRAPH_URL"])
    for header in ("x-app-usage", "x-ad-account-usage", "x-business-use-case-usage"):
        assert json.loads(response.headers[header])
    types = {a["action_type"] for r in body["data"] for a in r.get("actions", [])}
    assert types & {"omni_purchase", "purchase", "offsite_conversion.fb_pixel_purchase"}
    # the next link works as is
    follow = http.get(
        body["paging"]["next"],
        headers={"Authorization": f"Bearer {sandbox.credentials.meta_access_token}"},
    ).json()
    assert follow["data"] and follow["data"][0] != row


def test_meta_hourly_rows_carry_the_hour_bucket(
    sandbox: SandboxServers, http: httpx.Client
) -> None:
    account = sandbox.merchant.accounts_of("meta")[1].external_id
    rows = _meta(
        sandbox,
        http,
        f"act_{account}/insights",
        level="ad",
        limit="500",
        fields="ad_id,spend",
        time_increment="1",
        breakdowns="hourly_stats_aggregated_by_advertiser_time_zone",
        time_range=json.dumps({"since": "2025-11-24", "until": "2025-11-24"}),
    ).json()["data"]
    assert rows[0]["hourly_stats_aggregated_by_advertiser_time_zone"].endswith(":59:59")


@pytest.mark.parametrize(
    ("kind", "params", "status", "code"),
    [
        ("throttle", {"code": 613}, 400, 613),
        ("auth", {}, 400, 190),
        ("transient", {}, 500, 2),
        ("reduce_data", {}, 500, 1),
    ],
)
def test_meta_faults_answer_like_graph_api(
    sandbox: SandboxServers, http: httpx.Client, kind: str, params: dict, status: int, code: int
) -> None:
    account = sandbox.merchant.accounts_of("meta")[0].external_id
    sandbox.faults.add("meta", kind, **params)
    response = _meta(sandbox, http, f"act_{account}/insights", level="ad", fields="spend")
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert sandbox.requests.of("meta")[-1].fault == kind
    # the fault was used once: the next call is fine
    assert _meta(sandbox, http, f"act_{account}/insights", fields="spend").status_code == 200


def test_meta_rejects_unknown_tokens_and_accounts(
    sandbox: SandboxServers, http: httpx.Client
) -> None:
    account = sandbox.merchant.accounts_of("meta")[0].external_id
    bad = http.get(
        f"{sandbox.env['META_GRAPH_URL']}/{META_VERSION}/act_{account}",
        params={"access_token": "nope"},
    )
    assert bad.json()["error"]["code"] == 190
    missing = _meta(sandbox, http, "act_42", fields="name")
    assert missing.json()["error"]["error_subcode"] == 33


def test_google_stream_is_a_json_array_with_strings_for_int64(
    sandbox: SandboxServers, http: httpx.Client
) -> None:
    customer = sandbox.merchant.accounts_of("google")[0].external_id
    response = _google(
        sandbox,
        http,
        customer,
        "SELECT ad_group_ad.ad.id, segments.date, metrics.cost_micros, "
        "metrics.clicks, metrics.conversions FROM ad_group_ad WHERE "
        "segments.date BETWEEN '2025-11-20' AND '2025-11-21'",
    )
    batches = response.json()
    assert isinstance(batches, list)
    row = batches[0]["results"][0]
    assert isinstance(row["adGroupAd"]["ad"]["id"], str)
    assert row["adGroupAd"]["resourceName"].startswith(f"customers/{customer}/adGroupAds/")
    assert isinstance(row["metrics"]["costMicros"], str)
    assert batches[-1]["fieldMask"] == (
        "adGroupAd.ad.id,segments.date,metrics.costMicros,metrics.clicks,metrics.conversions"
    )
    # proto3 JSON: zero metrics are left out, never sent as "0" (hours show it best)
    hourly = _google(
        sandbox,
        http,
        customer,
        "SELECT ad_group_ad.ad.id, segments.date, segments.hour, metrics.clicks, "
        "metrics.impressions FROM ad_group_ad WHERE segments.date = '2025-11-20'",
    )
    rows = [r for b in hourly.json() for r in b.get("results", [])]
    assert all(r["metrics"].get("clicks") != "0" for r in rows)
    assert all(isinstance(r["segments"]["hour"], int) for r in rows if "hour" in r["segments"])


def test_google_search_pages_with_tokens(
    sandbox: SandboxServers, http: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sandbox.google, "search_page_size", 2)
    customer = sandbox.merchant.accounts_of("google")[0].external_id
    query = "SELECT campaign.id, campaign.name FROM campaign"
    first = _google(sandbox, http, customer, query, method="search").json()
    assert len(first["results"]) == 2 and first["nextPageToken"]
    second = _google(
        sandbox, http, customer, query, method="search", pageToken=first["nextPageToken"]
    ).json()
    assert second["results"][0] != first["results"][0]


def test_google_checks_headers_and_reports_query_errors(
    sandbox: SandboxServers, http: httpx.Client
) -> None:
    customer = sandbox.merchant.accounts_of("google")[0].external_id
    unauth = _google(sandbox, http, customer, "SELECT customer.id FROM customer", token="x")
    assert unauth.status_code == 401
    assert unauth.json()["error"]["status"] == "UNAUTHENTICATED"
    bad = _google(sandbox, http, customer, "SELECT campaign.bogus FROM campaign")
    failure = bad.json()["error"]["details"][0]
    assert bad.status_code == 400
    assert failure["errors"][0]["errorCode"] == {"queryError": "UNRECOGNIZED_FIELD"}
    denied = _google(sandbox, http, "9999999999", "SELECT customer.id FROM customer")
    assert denied.status_code == 403


def test_google_token_endpoint_speaks_oauth(sandbox: SandboxServers, http: httpx.Client) -> None:
    c = sandbox.credentials
    url = sandbox.env["GOOGLE_OAUTH_TOKEN_URL"]
    form = {"client_id": c.google_client_id, "client_secret": c.google_client_secret}
    ok = http.post(
        url, data={**form, "grant_type": "refresh_token", "refresh_token": c.google_refresh_token}
    ).json()
    assert ok["token_type"] == "Bearer" and ok["expires_in"] == 3599
    revoked = http.post(
        url, data={**form, "grant_type": "refresh_token", "refresh_token": "1//unknown"}
    )
    assert revoked.status_code == 400 and revoked.json()["error"] == "invalid_grant"
    code = http.post(
        url,
        data={
            **form,
            "grant_type": "authorization_code",
            "code": c.google_auth_code,
            "redirect_uri": "http://localhost/cb",
        },
    ).json()
    assert code["refresh_token"]


def test_shopify_answers_the_shape_asked_with_cost(
    sandbox: SandboxServers, http: httpx.Client
) -> None:
    body = _shopify(
        sandbox,
        http,
        "{ shop { name currencyCode ianaTimezone myshopifyDomain } "
        "orders(first: 2, sortKey: UPDATED_AT) { pageInfo "
        "{ hasNextPage endCursor } nodes { id totalTaxSet "
        "{ shopMoney { amount } } } } }",
    ).json()
    assert body["data"]["shop"] == {
        "name": "Northwind Outfitters",
        "currencyCode": "USD",
        "ianaTimezone": "America/New_York",
        "myshopifyDomain": "northwind-outfitters.myshopify.com",
    }
    nodes = body["data"]["orders"]["nodes"]
    assert len(nodes) == 2 and set(nodes[0]) == {"id", "totalTaxSet"}
    assert isinstance(nodes[0]["totalTaxSet"]["shopMoney"]["amount"], str)
    throttle = body["extensions"]["cost"]["throttleStatus"]
    assert set(throttle) == {"maximumAvailable", "currentlyAvailable", "restoreRate"}


def test_shopify_errors(sandbox: SandboxServers, http: httpx.Client) -> None:
    unknown = _shopify(sandbox, http, "{ orders(first: 1) { nodes { bogus } } }").json()
    assert unknown["errors"][0]["extensions"]["code"] == "undefinedField"
    assert _shopify(sandbox, http, "{ shop { name } }", token="shpat_x").status_code == 401
    sandbox.faults.add("shopify", "throttle")
    throttled = _shopify(sandbox, http, "{ shop { name } }")
    assert throttled.status_code == 200
    assert throttled.json()["errors"][0]["extensions"]["code"] == "THROTTLED"


def test_malformed_fault_cuts_the_body(sandbox: SandboxServers, http: httpx.Client) -> None:
    sandbox.faults.add("shopify", "malformed")
    response = _shopify(sandbox, http, "{ shop { name } }")
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)


def test_unknown_fault_kinds_are_refused(sandbox: SandboxServers) -> None:
    with pytest.raises(ValueError, match="unknown fault"):
        sandbox.faults.add("meta", "stream_error")


def test_every_fake_answers_a_health_probe(sandbox: SandboxServers, http: httpx.Client) -> None:
    bases = [
        sandbox.env["META_GRAPH_URL"],
        sandbox.env["GOOGLE_ADS_URL"],
        sandbox.env["SHOPIFY_URL_TEMPLATE"].split("/{shop}")[0],
    ]
    assert [http.get(f"{base}/health").json()["status"] for base in bases] == ["ok"] * 3
