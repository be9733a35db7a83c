"""MetaClient against the fake Graph API: exact numbers, paging, async reports and faults."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import httpx
import pytest

from metricx.connectors.errors import (
    AuthError,
    InvalidRequestError,
    MalformedResponseError,
    RateLimitedError,
    TransientError,
)
from metricx.connectors.meta import LEAD_PRIORITY, PURCHASE_PRIORITY, pick_action
from metricx.connectors.versions import DEFAULT_VERSIONS
from metricx.totals import DELIVERY

META_VERSION = DEFAULT_VERSIONS["meta"]

TODAY = date(2025, 11, 25)


@pytest.fixture
def account(merchant):
    return merchant.accounts_of("meta")[0]


def _keyed(records):
    return {(r.ad_external_id, r.day, r.hour): r for r in records}


def test_account_info_reads_currency_and_time_zone(make_meta, account) -> None:
    info = make_meta().account_info(f"act_{account.external_id}")
    assert (info.external_id, info.name, info.currency, info.timezone) == (
        account.external_id,
        account.name,
        "EUR",
        "Europe/Berlin",
    )


def test_entities_mirror_the_campaign_tree(make_meta, merchant, account, now) -> None:
    # when the tree is read
    records = make_meta().entities(account.external_id)
    by_level = {
        lvl: {r.external_id: r for r in records if r.level == lvl}
        for lvl in ("account", "campaign", "adset", "ad")
    }
    # then every campaign, ad set and ad of the account is there under its parent
    assert set(by_level["account"]) == {account.external_id}
    assert set(by_level["campaign"]) == {
        c.external_id for c in merchant.campaigns_of(account.external_id)
    }
    assert set(by_level["ad"]) == {a.external_id for a in merchant.ads_of(account.external_id)}
    for ad in merchant.ads_of(account.external_id):
        assert by_level["ad"][ad.external_id].parent_external_id == ad.adset_id
        assert by_level["adset"][ad.adset_id].parent_external_id == ad.campaign_id
    for camp in merchant.campaigns_of(account.external_id):
        record = by_level["campaign"][camp.external_id]
        assert (record.name, record.objective, record.budget) == (
            camp.name,
            camp.objective,
            camp.budget,
        )
        assert record.status == camp.status_at(now)


def test_daily_insights_equal_the_merchant_exactly(
    make_meta, account, truth, totals_of, now
) -> None:
    since = TODAY - timedelta(days=6)
    records = make_meta().insights(account.external_id, since, TODAY)
    got = {key: totals_of(r) for key, r in _keyed(records).items()}
    assert got == truth(account.external_id, since, TODAY, now)
    assert len(records) == len(got)  # no duplicates


def test_hourly_insights_are_delivery_hours_that_sum_to_the_day(
    make_meta, account, truth, totals_of, now
) -> None:
    # given Meta's hourly breakdown, which withholds off-Meta actions (purchases, leads)
    day = TODAY - timedelta(days=1)
    client = make_meta()
    # when a client reads hours and days
    hours = client.insights(account.external_id, day, TODAY, hourly=True)
    daily = _keyed(client.insights(account.external_id, day, TODAY))
    # then the hours hold the delivery the merchant had, and no conversions at all
    assert {k: totals_of(r) for k, r in _keyed(hours).items()} == {
        k: t.only(DELIVERY)
        for k, t in truth(account.external_id, day, TODAY, now, hourly=True).items()
    }
    assert all(h.conversions == h.conversion_value == h.leads == 0 for h in hours)
    # and their delivery sums to the day's, whose conversions come from the daily rows
    for (ad_id, d, _), record in daily.items():
        parts = [h for h in hours if (h.ad_external_id, h.day) == (ad_id, d)]
        assert sum((h.spend for h in parts), Decimal(0)) == record.spend
        assert sum(h.clicks for h in parts) == record.clicks
        assert all(0 <= h.hour <= 23 for h in parts)
    assert any(r.conversions > 0 for r in daily.values())


def test_hourly_requests_ask_for_delivery_fields_only(make_meta, sandbox, account) -> None:
    make_meta().insights(account.external_id, TODAY, TODAY, hourly=True)
    (request,) = sandbox.requests.of("meta", path="/insights")
    assert "actions" not in request.params["fields"].split(",")


def test_purchases_are_picked_by_priority_and_never_summed() -> None:
    actions = [
        {"action_type": "offsite_conversion.fb_pixel_purchase", "value": "2"},
        {"action_type": "purchase", "value": "3"},
        {"action_type": "omni_purchase", "value": "4"},
        {"action_type": "lead", "value": "7"},
    ]
    assert pick_action("meta", actions, PURCHASE_PRIORITY) == Decimal(4)
    assert pick_action("meta", actions[:2], PURCHASE_PRIORITY) == Decimal(3)
    assert pick_action("meta", actions[:1], PURCHASE_PRIORITY) == Decimal(2)
    assert pick_action("meta", actions, LEAD_PRIORITY) == Decimal(7)
    assert pick_action("meta", None, PURCHASE_PRIORITY) == Decimal(0)


def test_the_fake_really_sends_several_purchase_types(sandbox, account) -> None:
    # the raw rows a client has to choose from carry more than one purchase type
    url = sandbox.env["META_GRAPH_URL"]
    raw = httpx.get(
        f"{url}/{META_VERSION}/act_{account.external_id}/insights",
        params={
            "level": "ad",
            "fields": "ad_id,actions",
            "time_increment": "1",
            "limit": "500",
            "time_range": json.dumps({"since": "2025-11-23", "until": "2025-11-25"}),
        },
        headers={"Authorization": f"Bearer {sandbox.credentials.meta_access_token}"},
    ).json()
    multi = [
        r
        for r in raw["data"]
        if len({a["action_type"] for a in r.get("actions", [])} & set(PURCHASE_PRIORITY)) > 1
    ]
    assert multi


def test_long_windows_go_through_an_async_report(
    make_meta, sandbox, account, truth, totals_of, sleeps, now
) -> None:
    # given a client that uses async reports beyond 3 days
    client = make_meta(async_after_days=3, poll_interval=5.0)
    since = TODAY - timedelta(days=9)
    records = client.insights(account.external_id, since, TODAY)
    # then it posted a report run, polled until done (waiting between polls) and paged it
    assert {k: totals_of(r) for k, r in _keyed(records).items()} == truth(
        account.external_id, since, TODAY, now
    )
    methods = [(r.method, r.path.split("/")[-1]) for r in sandbox.requests.of("meta")]
    assert methods[0] == ("POST", "insights")
    assert [m for m, _ in methods].count("POST") == 1
    assert methods[-1] == ("GET", "insights")
    assert sleeps == [5.0]


def test_a_failed_async_report_is_split_in_halves(
    make_meta, sandbox, account, truth, totals_of, now
) -> None:
    sandbox.faults.add("meta", "job_failed")
    client = make_meta(async_after_days=3, poll_interval=1.0)
    since = TODAY - timedelta(days=9)
    records = client.insights(account.external_id, since, TODAY)
    assert len(sandbox.requests.of("meta", method="POST")) == 3  # whole, then two halves
    assert {k: totals_of(r) for k, r in _keyed(records).items()} == truth(
        account.external_id, since, TODAY, now
    )


def test_paging_goes_on_after_a_short_page(
    make_meta, sandbox, account, truth, totals_of, now
) -> None:
    # given small pages and one page cut short (it still has a next link)
    sandbox.faults.add("meta", "short_page", rows=1)
    records = make_meta(page_limit=7).insights(
        account.external_id, TODAY - timedelta(days=2), TODAY
    )
    # then nothing is lost
    expected = truth(account.external_id, TODAY - timedelta(days=2), TODAY, now)
    assert {k: totals_of(r) for k, r in _keyed(records).items()} == expected
    pages = sandbox.requests.of("meta", path="/insights")
    assert len(pages) == 1 + -(-(len(expected) - 1) // 7)
    assert all("after" in r.params for r in pages[1:])


def test_throttling_waits_as_the_usage_headers_say_then_succeeds(
    make_meta, sandbox, account, sleeps
) -> None:
    sandbox.faults.add("meta", "throttle", times=2, code=17, regain_minutes=1)
    info = make_meta().account_info(account.external_id)
    assert info.currency == "EUR"
    assert sleeps == [60.0, 60.0]
    assert len(sandbox.requests.of("meta")) == 3


def test_a_long_ban_is_raised_with_its_wait_instead_of_sleeping(
    make_meta, sandbox, account, sleeps
) -> None:
    sandbox.faults.add("meta", "throttle", code=613, regain_minutes=5)
    with pytest.raises(RateLimitedError) as caught:
        make_meta().account_info(account.external_id)
    assert caught.value.retry_after == 300
    assert str(caught.value) == "Meta rate limit reached (code 613); retry in 300 s"
    assert sleeps == []
    assert len(sandbox.requests.of("meta")) == 1


def test_high_usage_slows_down_before_being_throttled(make_meta, sandbox, account, sleeps) -> None:
    sandbox.faults.add("meta", "usage_high", pct=97, reset_seconds=45)
    make_meta().account_info(account.external_id)
    assert sleeps == [45.0]


def test_an_expired_token_is_an_auth_error_and_never_retried(
    make_meta, sandbox, account, sleeps
) -> None:
    sandbox.faults.add("meta", "auth", times=3)
    with pytest.raises(AuthError) as caught:
        make_meta().insights(account.external_id, TODAY, TODAY)
    assert caught.value.provider == "meta" and not caught.value.retryable
    assert "reconnect" in str(caught.value)
    assert len(sandbox.requests.of("meta")) == 1 and sleeps == []


def test_a_revoked_token_is_an_auth_error(make_meta, sandbox, account) -> None:
    grant = make_meta().exchange_token()
    sandbox.meta.tokens.revoke(grant.access_token)
    with pytest.raises(AuthError):
        make_meta(access_token=grant.access_token).account_info(account.external_id)


def test_transient_errors_are_retried_with_backoff(make_meta, sandbox, account, sleeps) -> None:
    sandbox.faults.add("meta", "transient", times=2)
    make_meta().account_info(account.external_id)
    assert sleeps == [2.0, 4.0]
    assert len(sandbox.requests.of("meta")) == 3


def test_server_errors_give_up_after_bounded_attempts(make_meta, sandbox, account, sleeps) -> None:
    sandbox.faults.add("meta", "server_error", times=10, status=503)
    with pytest.raises(TransientError) as caught:
        make_meta().account_info(account.external_id)
    assert caught.value.retryable
    assert len(sandbox.requests.of("meta")) == 5
    assert sleeps == [2.0, 4.0, 8.0, 16.0]


def test_reduce_data_halves_the_page_size(
    make_meta, sandbox, account, truth, totals_of, now, sleeps
) -> None:
    sandbox.faults.add("meta", "reduce_data")
    records = make_meta(page_limit=40).insights(
        account.external_id, TODAY - timedelta(days=3), TODAY
    )
    limits = [r.params["limit"] for r in sandbox.requests.of("meta", path="/insights")]
    assert limits[:2] == ["40", "20"]
    assert {k: totals_of(r) for k, r in _keyed(records).items()} == truth(
        account.external_id, TODAY - timedelta(days=3), TODAY, now
    )
    assert sleeps == []


def test_malformed_json_is_reported_as_such(make_meta, sandbox, account) -> None:
    sandbox.faults.add("meta", "malformed")
    with pytest.raises(MalformedResponseError, match="not valid JSON"):
        make_meta().account_info(account.external_id)
    assert len(sandbox.requests.of("meta")) == 1


def test_a_bad_parameter_is_an_invalid_request(make_meta, sandbox, account) -> None:
    sandbox.faults.add("meta", "bad_request")
    with pytest.raises(InvalidRequestError, match="code 100"):
        make_meta().insights(account.external_id, TODAY, TODAY)
    assert len(sandbox.requests.of("meta")) == 1


def test_token_exchange_gives_a_long_lived_token(make_meta, sandbox, account, now) -> None:
    client = make_meta()
    grant = client.exchange_token("sandbox-meta-token")
    assert grant.expires_at == now + timedelta(seconds=5183944)
    assert make_meta(access_token=grant.access_token).account_info(account.external_id)
    by_code = client.exchange_token(
        code=sandbox.credentials.meta_auth_code, redirect_uri="https://app.example/cb"
    )
    assert by_code.access_token != grant.access_token
    sent = sandbox.requests.of("meta", path="/oauth/access_token")[0].params
    assert sent["grant_type"] == "fb_exchange_token" and sent["fb_exchange_token"]


def test_a_bad_oauth_code_is_an_auth_error(make_meta, sleeps) -> None:
    with pytest.raises(AuthError, match="token exchange"):
        make_meta().exchange_token(code="wrong", redirect_uri="https://app.example/cb")
    assert sleeps == []
