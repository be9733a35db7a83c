"""The fake Google Ads API behaves like the live one where Metricx depends on it: Performance
Max below campaign level, sunset versions, conversion actions and setup errors."""

from __future__ import annotations

from datetime import UTC, date, datetime

import httpx
import pytest
from gaql_calls import rows_of, search_stream

from metricx.sandbox.servers import SandboxServers

DAY = date(2025, 11, 20)


@pytest.fixture
def pmax(sandbox: SandboxServers):
    merchant = sandbox.merchant
    customer = merchant.accounts_of("google")[0].external_id
    [campaign] = [c for c in merchant.campaigns_of(customer) if c.objective == "PERFORMANCE_MAX"]
    return campaign


def test_performance_max_shows_only_at_campaign_level(
    sandbox: SandboxServers, http: httpx.Client, pmax, now
) -> None:
    # given a Performance Max campaign whose delivery the merchant models as ads
    window = f"segments.date = '{DAY}'"
    # when its ad groups, ads and campaign rows are asked for
    ads = rows_of(
        search_stream(
            sandbox,
            http,
            "SELECT campaign.id, ad_group_ad.ad.id, metrics.clicks "
            f"FROM ad_group_ad WHERE {window}",
        )
    )
    groups = rows_of(search_stream(sandbox, http, "SELECT campaign.id, ad_group.id FROM ad_group"))
    campaigns = rows_of(
        search_stream(
            sandbox, http, f"SELECT campaign.id, metrics.cost_micros FROM campaign WHERE {window}"
        )
    )
    # then only FROM campaign knows it, with the whole of its ads' spend
    assert pmax.external_id not in {r["campaign"]["id"] for r in ads + groups}
    assert {r["campaign"]["id"] for r in ads} and {r["campaign"]["id"] for r in groups}
    [row] = [r for r in campaigns if r["campaign"]["id"] == pmax.external_id]
    cents = sum(
        sandbox.merchant.ad_totals(a.external_id, DAY, now).spend * 100
        for a in sandbox.merchant.ads_of(pmax.account_id)
        if a.campaign_id == pmax.external_id
    )
    assert int(row["metrics"]["costMicros"]) == cents * 10_000 > 0


def test_a_sunset_version_gets_googles_404_page(
    sandbox: SandboxServers, http: httpx.Client
) -> None:
    query = "SELECT customer.id FROM customer"
    # at the sandbox clock (2025-11-25) v18 is gone (sunset 2025-08-20), v19 still answers
    gone = search_stream(sandbox, http, query, version="v18")
    assert gone.status_code == 404 and gone.headers["content-type"].startswith("text/html")
    assert "Error 404 (Not Found)" in gone.text and "/v18/customers/" in gone.text
    assert search_stream(sandbox, http, query, version="v19").status_code == 200
    # in December 2026 v22 is gone too, v23 answers
    sandbox.now = datetime(2026, 12, 2, tzinfo=UTC)
    assert search_stream(sandbox, http, query, version="v22").status_code == 404
    assert search_stream(sandbox, http, query, version="v23").status_code == 200


def test_conversion_actions_carry_their_windows_as_int64_strings(
    sandbox: SandboxServers, http: httpx.Client
) -> None:
    fields = (
        "conversion_action.name, conversion_action.status, "
        "conversion_action.click_through_lookback_window_days, "
        "conversion_action.view_through_lookback_window_days"
    )
    everything = rows_of(search_stream(sandbox, http, f"SELECT {fields} FROM conversion_action"))
    enabled = rows_of(
        search_stream(
            sandbox,
            http,
            f"SELECT {fields} FROM conversion_action WHERE conversion_action.status = 'ENABLED'",
        )
    )
    assert {r["conversionAction"]["status"] for r in everything} == {"ENABLED", "REMOVED"}
    assert {r["conversionAction"]["status"] for r in enabled} == {"ENABLED"}
    windows = {
        r["conversionAction"]["name"]: r["conversionAction"]["clickThroughLookbackWindowDays"]
        for r in enabled
    }
    assert windows["Purchase (Google & YouTube app)"] == "30"
    assert windows["Offline purchase (CRM import)"] == "90"
    assert all(
        r["conversionAction"]["resourceName"].count("/conversionActions/") == 1 for r in everything
    )
    # like the API, metrics cannot be read FROM conversion_action here
    bad = search_stream(
        sandbox, http, "SELECT conversion_action.id, metrics.cost_micros FROM conversion_action"
    )
    assert bad.status_code == 400
    assert bad.json()["error"]["details"][0]["errors"][0]["errorCode"] == {
        "queryError": "PROHIBITED_METRIC_IN_SELECT_OR_WHERE_CLAUSE"
    }


def test_default_values_are_left_out_like_proto3_json(
    sandbox: SandboxServers, http: httpx.Client
) -> None:
    [row] = rows_of(
        search_stream(
            sandbox,
            http,
            "SELECT customer.id, customer.manager, customer.test_account FROM customer",
        )
    )
    assert set(row["customer"]) == {"id", "resourceName"}


@pytest.mark.parametrize(
    ("kind", "code", "http_status", "family"),
    [
        ("auth", "DEVELOPER_TOKEN_NOT_APPROVED", 403, "authorizationError"),
        ("auth", "CUSTOMER_NOT_ENABLED", 403, "authorizationError"),
        ("auth", "NOT_ADS_USER", 401, "authenticationError"),
        ("throttle", "ACCESS_PROHIBITED", 429, "quotaError"),
    ],
)
def test_setup_and_quota_faults_have_googles_shape(
    sandbox: SandboxServers, http: httpx.Client, kind, code, http_status, family
) -> None:
    sandbox.faults.add("google", kind, code=code)
    answer = search_stream(sandbox, http, "SELECT customer.id FROM customer")
    status = answer.json()["error"]
    [failure] = status["details"][0]["errors"]
    assert answer.status_code == status["code"] == http_status
    assert failure["errorCode"] == {family: code}
    # ACCESS_PROHIBITED is no rate: unlike the rate errors it says nothing of when to retry
    assert "details" not in failure
