"""GoogleAdsClient against the fake REST API: GAQL, micros, streams, tokens and faults."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from metricx.connectors.errors import (
    AuthError,
    ConfigurationError,
    InvalidRequestError,
    MalformedResponseError,
    RateLimitedError,
)
from metricx.connectors.google_ads import campaign_leaf_id
from metricx.totals import Totals

TODAY = date(2025, 11, 25)
PMAX = "PERFORMANCE_MAX"


@pytest.fixture
def customer(merchant):
    return merchant.accounts_of("google")[0]


def _keyed(records):
    return {(r.ad_external_id, r.day, r.hour): r for r in records}


def _platform_view(merchant, truth):
    """What the API reports: the merchant's ads, except that a Performance Max campaign's
    ads are not visible and their sum arrives on the campaign's synthetic leaf."""

    def expected(account_id, since, until, as_of, hourly=False):
        out: dict = {}
        for (ad_id, day, hour), totals in truth(
            account_id, since, until, as_of, hourly=hourly
        ).items():
            ad = merchant.ad(ad_id)
            if merchant.campaign(ad.campaign_id).objective == PMAX:
                ad_id = campaign_leaf_id(ad.campaign_id)
            out[(ad_id, day, hour)] = out.get((ad_id, day, hour), Totals()) + totals
        return out

    return expected


@pytest.fixture
def reported(merchant, truth):
    return _platform_view(merchant, truth)


def test_account_info_reads_currency_and_time_zone(make_google, customer) -> None:
    dashed = f"{customer.external_id[:3]}-{customer.external_id[3:6]}-{customer.external_id[6:]}"
    info = make_google().account_info(dashed)
    assert (info.external_id, info.currency, info.timezone) == (
        customer.external_id,
        "USD",
        "America/Los_Angeles",
    )


def test_entities_mirror_the_tree_with_budgets_from_micros(
    make_google, merchant, customer, now
) -> None:
    records = make_google().entities(customer.external_id)
    campaigns = {r.external_id: r for r in records if r.level == "campaign"}
    for camp in merchant.campaigns_of(customer.external_id):
        assert campaigns[camp.external_id].budget == camp.budget
        assert campaigns[camp.external_id].status == camp.status_at(now)
        assert campaigns[camp.external_id].objective == camp.objective
    # the ads Google shows (none of Performance Max), plus one campaign-level leaf each
    visible = [
        a
        for a in merchant.ads_of(customer.external_id)
        if merchant.campaign(a.campaign_id).objective != PMAX
    ]
    ads = {r.external_id: r for r in records if r.level == "ad"}
    assert set(ads) == {a.external_id for a in visible} | {campaign_leaf_id(c) for c in campaigns}
    assert all(ads[a.external_id].parent_external_id == a.adset_id for a in visible)


def test_daily_metrics_equal_the_merchant_exactly(
    make_google, customer, reported, totals_of, now
) -> None:
    since = TODAY - timedelta(days=9)
    records = make_google().metrics(customer.external_id, since, TODAY)
    assert {k: totals_of(r) for k, r in _keyed(records).items()} == reported(
        customer.external_id, since, TODAY, now
    )
    assert any(r.conversions != r.conversions.to_integral_value() for r in records)
    assert all(r.leads == 0 for r in records)


def test_hourly_metrics_equal_the_merchant_hours(
    make_google, customer, reported, totals_of, now
) -> None:
    records = make_google().metrics(
        customer.external_id, TODAY - timedelta(days=1), TODAY, hourly=True
    )
    assert {k: totals_of(r) for k, r in _keyed(records).items()} == reported(
        customer.external_id, TODAY - timedelta(days=1), TODAY, now, hourly=True
    )


def test_calls_send_the_required_headers_and_reuse_the_token(
    make_google, sandbox, customer
) -> None:
    client = make_google()
    client.account_info(customer.external_id)
    client.metrics(customer.external_id, TODAY, TODAY)
    calls = sandbox.requests.of("google", path="googleAds")
    assert len(sandbox.requests.of("google", path="/token")) == 1
    for call in calls:
        assert call.headers["developer-token"] == sandbox.credentials.google_developer_token
        assert call.headers["login-customer-id"] == sandbox.credentials.google_login_customer_id
        assert call.headers["authorization"].startswith("Bearer ya29.")
        assert "SELECT" in call.body["query"]
    assert "segments.date BETWEEN '2025-11-25' AND '2025-11-25'" in calls[-1].body["query"]


def test_an_expired_access_token_is_refreshed_once(make_google, sandbox, customer) -> None:
    # given a client that got its token an hour and more ago (by the sandbox clock)
    client = make_google()
    client.account_info(customer.external_id)
    sandbox.now = sandbox.now + timedelta(hours=2)
    # when it calls again, the API says 401; the client refreshes and the call succeeds
    assert client.account_info(customer.external_id).currency == "USD"
    assert len(sandbox.requests.of("google", path="/token")) == 2
    assert [r.path.endswith("/token") for r in sandbox.requests.of("google")] == [
        True,
        False,
        False,
        True,
        False,
    ]


def test_a_second_401_is_an_auth_error(make_google, sandbox, customer, sleeps) -> None:
    sandbox.faults.add("google", "auth", times=2)
    with pytest.raises(AuthError, match="reconnect"):
        make_google().account_info(customer.external_id)
    assert len(sandbox.requests.of("google", path="googleAds")) == 2
    assert len(sandbox.requests.of("google", path="/token")) == 2
    assert sleeps == []


def test_a_revoked_refresh_token_is_an_auth_error(make_google, sandbox, customer) -> None:
    sandbox.faults.add("google", "invalid_grant")
    with pytest.raises(AuthError, match="invalid_grant"):
        make_google().account_info(customer.external_id)
    assert sandbox.requests.of("google", path="googleAds") == []


def test_quota_errors_wait_for_the_retry_delay(make_google, sandbox, customer, sleeps) -> None:
    sandbox.faults.add("google", "throttle", retry_delay="7s")
    assert make_google().account_info(customer.external_id)
    assert sleeps == [7.0]


def test_a_quota_wait_beyond_the_limit_is_raised(make_google, sandbox, customer, sleeps) -> None:
    sandbox.faults.add("google", "throttle", retry_delay="900s")
    with pytest.raises(RateLimitedError) as caught:
        make_google().account_info(customer.external_id)
    assert caught.value.retry_after == 900
    assert "retry in 900 s" in str(caught.value)
    assert sleeps == []


def test_an_error_inside_the_stream_is_retried_and_nothing_is_doubled(
    make_google, sandbox, customer, reported, totals_of, now, sleeps
) -> None:
    # given a stream that sends good rows and then an INTERNAL error object
    sandbox.faults.add("google", "stream_error", after=5)
    since = TODAY - timedelta(days=3)
    records = make_google().metrics(customer.external_id, since, TODAY)
    # then the failed (ad) query is re-run once, the campaign query runs once, and the
    # result is exactly the truth
    assert sleeps == [2.0]
    streams = sandbox.requests.of("google", path="searchStream")
    assert ["FROM ad_group_ad" in s.body["query"] for s in streams] == [True, True, False]
    assert len(records) == len(_keyed(records))
    assert {k: totals_of(r) for k, r in _keyed(records).items()} == reported(
        customer.external_id, since, TODAY, now
    )


def test_a_quota_error_inside_the_stream_uses_its_delay(
    make_google, sandbox, customer, sleeps
) -> None:
    sandbox.faults.add("google", "stream_error", error="throttle", retry_delay="12s")
    make_google().metrics(customer.external_id, TODAY, TODAY)
    assert sleeps == [12.0]


def test_search_pages_to_the_end_even_after_a_short_page(
    make_google, sandbox, customer, merchant, monkeypatch
) -> None:
    monkeypatch.setattr(sandbox.google, "search_page_size", 3)
    sandbox.faults.add("google", "short_page", rows=1)
    records = make_google().entities(customer.external_id)
    assert {r.external_id for r in records if r.level == "adset"} == {
        s.external_id
        for s in merchant.adsets_of(customer.external_id)
        if merchant.campaign(s.campaign_id).objective != PMAX
    } | {campaign_leaf_id(c.external_id) for c in merchant.campaigns_of(customer.external_id)}
    pages = sandbox.requests.of("google", path=":search")
    assert sum("pageToken" in p.body for p in pages) >= 2


def test_server_errors_are_retried(make_google, sandbox, customer, sleeps) -> None:
    sandbox.faults.add("google", "server_error", times=2, status=503)
    assert make_google().account_info(customer.external_id)
    assert sleeps == [2.0, 4.0]
    assert len(sandbox.requests.of("google", path="googleAds")) == 3


def test_an_invalid_argument_fault_is_an_invalid_request(
    make_google, sandbox, customer, sleeps
) -> None:
    sandbox.faults.add("google", "bad_request", code="PROHIBITED_SEGMENT_IN_SELECT_CLAUSE")
    with pytest.raises(InvalidRequestError, match="PROHIBITED_SEGMENT"):
        make_google().metrics(customer.external_id, TODAY, TODAY)
    assert len(sandbox.requests.of("google", path="googleAds")) == 1 and sleeps == []


def test_a_bad_query_is_an_invalid_request_never_retried(
    make_google, sandbox, customer, sleeps
) -> None:
    with pytest.raises(InvalidRequestError, match="UNRECOGNIZED_FIELD"):
        make_google().search_stream(customer.external_id, "SELECT campaign.nope FROM campaign")
    assert len(sandbox.requests.of("google", path="googleAds")) == 1
    assert sleeps == []


def test_malformed_json_is_reported(make_google, sandbox, customer) -> None:
    sandbox.faults.add("google", "malformed")
    with pytest.raises(MalformedResponseError):
        make_google().account_info(customer.external_id)
    assert len(sandbox.requests.of("google", path="googleAds")) == 1


def test_a_wrong_manager_account_is_a_setup_problem_not_a_reconnect(
    make_google, sandbox, customer, sleeps
) -> None:
    # given a manager account id that does not manage the customer
    client = make_google(login_customer_id="999-999-9999")
    # when the client reads the account, Google answers USER_PERMISSION_DENIED
    with pytest.raises(ConfigurationError, match="USER_PERMISSION_DENIED") as caught:
        client.account_info(customer.external_id)
    # then the admin is told to fix the manager account id, and nothing is retried
    assert "login-customer-id" in str(caught.value) and "reconnect" not in str(caught.value)
    assert caught.value.connection_status == "misconfigured"
    assert len(sandbox.requests.of("google", path="googleAds")) == 1 and sleeps == []


def test_code_exchange_gives_a_refresh_token_that_works(
    make_google, sandbox, customer, now
) -> None:
    client = make_google(refresh_token=None)
    grant = client.exchange_code(sandbox.credentials.google_auth_code, "http://localhost/cb")
    assert grant.refresh_token and grant.expires_at == now + timedelta(seconds=3599)
    assert client.account_info(customer.external_id).external_id == customer.external_id
    with pytest.raises(AuthError):
        make_google().exchange_code("not-a-code", "http://localhost/cb")


def test_spend_comes_from_micros_exactly(make_google, customer, merchant, now) -> None:
    records = make_google().metrics(
        customer.external_id, TODAY - timedelta(days=1), TODAY - timedelta(days=1)
    )
    spend = sum((r.spend for r in records), Decimal(0))
    expected = sum(
        (
            merchant.ad_totals(a.external_id, TODAY - timedelta(days=1), now).spend
            for a in merchant.ads_of(customer.external_id)
        ),
        Decimal(0),
    )
    assert spend == expected and spend.as_tuple().exponent >= -6
