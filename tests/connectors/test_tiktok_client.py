"""TikTokClient against the fake TikTok API for Business: exact numbers, windows, async
reports, paging, faults and the OAuth exchange."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sandbox_fixtures import reported

from metricx.connectors.errors import (
    AppCredentialsError,
    AuthError,
    AuthorizationCodeError,
    InvalidRequestError,
    MalformedResponseError,
    TransientError,
)
from metricx.connectors.kit import date_windows
from metricx.connectors.records import TokenGrant
from metricx.connectors.tiktok import (
    DAY_WINDOW_DAYS,
    DEFAULT_ATTRIBUTION_DAYS,
    TikTokClient,
)
from metricx.connectors.tiktok_auth import TikTokGrant, authorize_url, exchange_code
from metricx.sandbox.merchant import Merchant
from metricx.sandbox.servers import SandboxServers
from metricx.totals import Totals

TODAY = date(2025, 11, 25)
REPORT = "/report/integrated/get/"
Key = tuple[str, date, int | None]


@pytest.fixture
def account(tiktok_sandbox: SandboxServers):
    return tiktok_sandbox.merchant.accounts_of("tiktok")[0]


def truth(
    merchant: Merchant, account_id: str, since: date, until: date, as_of: datetime, hourly: bool
) -> dict[Key, Totals]:
    """What the merchant says TikTok reports: {(ad, day, hour): totals}, zero rows left out."""
    return reported(merchant, account_id, since, until, as_of, hourly)


def keyed(records, totals_of: Callable) -> dict[Key, Totals]:
    out = {(r.ad_external_id, r.day, r.hour): totals_of(r) for r in records}
    assert len(out) == len(records), "a row came twice"
    return out


def report_windows(sandbox: SandboxServers) -> list[tuple[date, date]]:
    return [
        (date.fromisoformat(r.params["start_date"]), date.fromisoformat(r.params["end_date"]))
        for r in sandbox.requests.of("tiktok", path=REPORT)
        if r.params.get("page") == "1"
    ]


# ---- account and entities ------------------------------------------------------------------
def test_account_info_reads_currency_and_iana_zone(tiktok, account) -> None:
    info = tiktok.account_info(account.external_id)
    assert (info.external_id, info.name, info.currency, info.timezone) == (
        account.external_id,
        account.name,
        account.currency,
        account.timezone,
    )


def test_token_travels_in_the_access_token_header_only(tiktok, tiktok_sandbox, account) -> None:
    tiktok.account_info(account.external_id)
    (sent,) = tiktok_sandbox.requests.of("tiktok", path="/advertiser/info/")
    assert sent.headers["access-token"] == tiktok_sandbox.credentials.tiktok_access_token
    assert not any("token" in name.lower() for name in sent.params)
    assert json.loads(sent.params["advertiser_ids"]) == [account.external_id]


def test_entities_mirror_the_tree_with_status_and_budgets(
    tiktok, tiktok_sandbox, account, now
) -> None:
    merchant = tiktok_sandbox.merchant
    # when the tree is read
    records = tiktok.entities(account.external_id)
    by_level = {
        level: {r.external_id: r for r in records if r.level == level}
        for level in ("account", "campaign", "adset", "ad")
    }
    # then every node is there, under its parent, with the merchant's switch and budget
    assert set(by_level["account"]) == {account.external_id}
    campaigns = merchant.campaigns_of(account.external_id)
    assert set(by_level["campaign"]) == {c.external_id for c in campaigns}
    for c in campaigns:
        record = by_level["campaign"][c.external_id]
        assert record.parent_external_id == account.external_id
        assert (record.status, record.objective, record.budget) == (
            c.status_at(now),
            c.objective,
            c.budget,
        )
    for s in merchant.adsets_of(account.external_id):
        record = by_level["adset"][s.external_id]
        assert (record.parent_external_id, record.budget) == (s.campaign_id, s.budget)
    for ad in merchant.ads_of(account.external_id):
        record = by_level["ad"][ad.external_id]
        assert (record.parent_external_id, record.status) == (ad.adset_id, ad.status_at(now))
    assert {r.status for r in records if r.level != "account"} <= {"ENABLE", "DISABLE"}


def test_entities_updated_since_keeps_only_changed_nodes(tiktok, tiktok_sandbox, account, now):
    merchant = tiktok_sandbox.merchant
    nodes = [
        *merchant.campaigns_of(account.external_id),
        *merchant.adsets_of(account.external_id),
        *merchant.ads_of(account.external_id),
    ]
    since = sorted(n.updated_at(now) for n in nodes)[len(nodes) // 2]
    records = tiktok.entities(account.external_id, updated_since=since)
    changed = {n.external_id for n in nodes if n.updated_at(now) > since}
    assert {r.external_id for r in records if r.level != "account"} == changed


# ---- metrics -------------------------------------------------------------------------------
def test_daily_metrics_equal_the_merchant_truth(
    tiktok, tiktok_sandbox, account, now, totals_of
) -> None:
    since = TODAY - timedelta(days=20)
    records = tiktok.metrics(account.external_id, since, TODAY, hourly=False)
    expected = truth(tiktok_sandbox.merchant, account.external_id, since, TODAY, now, False)
    assert keyed(records, totals_of) == expected
    assert any(t.conversions for t in expected.values()), "the range should have purchases"
    # one synchronous window, no async task
    assert report_windows(tiktok_sandbox) == [(since, TODAY)]
    assert not tiktok_sandbox.requests.of("tiktok", path="/report/task/")


def test_hourly_rows_carry_conversions_and_sum_to_the_day(
    tiktok, tiktok_sandbox, account, now, totals_of
) -> None:
    # given the client's claim that TikTok reports purchases per hour
    assert tiktok.hourly_conversions is True
    since = TODAY - timedelta(days=2)
    hourly = tiktok.metrics(account.external_id, since, TODAY, hourly=True)
    daily = tiktok.metrics(account.external_id, since, TODAY, hourly=False)
    expected = truth(tiktok_sandbox.merchant, account.external_id, since, TODAY, now, True)
    assert keyed(hourly, totals_of) == expected
    sums: dict[tuple[str, date], Totals] = {}
    for r in hourly:
        sums[(r.ad_external_id, r.day)] = sums.get((r.ad_external_id, r.day), Totals()) + (
            totals_of(r)
        )
    assert sums == {(r.ad_external_id, r.day): totals_of(r) for r in daily}
    assert any(r.conversions for r in hourly)
    # and hourly reads go one day per request (stat_time_hour spans at most one day)
    assert sorted(w for w in report_windows(tiktok_sandbox) if w[0] == w[1])[:3] == [
        (since, since),
        (since + timedelta(days=1), since + timedelta(days=1)),
        (TODAY, TODAY),
    ]


@pytest.fixture
def refusing_hourly_conversions(tiktok_sandbox: SandboxServers) -> Iterator[None]:
    """The other reading of TikTok's docs: page events are refused with stat_time_hour."""
    tiktok_sandbox.tiktok.hourly_conversions = False
    yield
    tiktok_sandbox.tiktok.hourly_conversions = True


def test_a_tiktok_refusing_hourly_conversions_is_read_as_meta_is(
    make_tiktok, tiktok_sandbox, account, now, totals_of, refusing_hourly_conversions
) -> None:
    since = TODAY - timedelta(days=1)
    # Given a TikTok that refuses purchase metrics by hour: a client asking for them is refused
    with pytest.raises(InvalidRequestError, match="40002"):
        make_tiktok().metrics(account.external_id, since, TODAY, hourly=True)
    # When the client is told so
    client = make_tiktok(hourly_conversions=False)
    hourly = client.metrics(account.external_id, since, TODAY, hourly=True)
    # Then its hourly rows carry delivery only, and the daily rows the conversions
    expected = truth(tiktok_sandbox.merchant, account.external_id, since, TODAY, now, True)
    delivery = {k: Totals(t.spend, t.impressions, t.clicks) for k, t in expected.items()}
    assert {k: v for k, v in keyed(hourly, totals_of).items() if not v.is_zero} == {
        k: v for k, v in delivery.items() if not v.is_zero
    }
    daily = client.metrics(account.external_id, since, TODAY, hourly=False)
    assert keyed(daily, totals_of) == truth(
        tiktok_sandbox.merchant, account.external_id, since, TODAY, now, False
    )


def test_paging_follows_total_page(make_tiktok, tiktok_sandbox, account, now, totals_of) -> None:
    since = TODAY - timedelta(days=6)
    records = make_tiktok(page_size=7).metrics(account.external_id, since, TODAY, hourly=False)
    assert keyed(records, totals_of) == truth(
        tiktok_sandbox.merchant, account.external_id, since, TODAY, now, False
    )
    pages = [r.params["page"] for r in tiktok_sandbox.requests.of("tiktok", path=REPORT)]
    assert pages == [str(p) for p in range(1, len(records) // 7 + 2)][: len(pages)]
    assert len(pages) == -(-len(records) // 7)


def test_long_sync_ranges_split_into_30_day_windows(make_tiktok, tiktok_sandbox, account):
    since = TODAY - timedelta(days=44)
    make_tiktok(async_after_days=365).metrics(account.external_id, since, TODAY, hourly=False)
    spans = report_windows(tiktok_sandbox)
    assert spans == [(since, since + timedelta(days=29)), (since + timedelta(days=30), TODAY)]
    assert all((end - start).days + 1 <= DAY_WINDOW_DAYS for start, end in spans)


@pytest.mark.parametrize("output", ["CSV_STRING", "CSV_DOWNLOAD"])
def test_async_backfill_equals_the_sync_numbers(
    make_tiktok, tiktok_sandbox, account, sleeps, totals_of, output
) -> None:
    since = TODAY - timedelta(days=55)
    # when a long backfill runs as an async task, and again through sync windows
    by_task = make_tiktok(async_output=output).metrics(
        account.external_id, since, TODAY, hourly=False
    )
    by_windows = make_tiktok(async_after_days=365).metrics(
        account.external_id, since, TODAY, hourly=False
    )
    # then both give the same rows, and the task was created, polled and downloaded
    assert keyed(by_task, totals_of) == keyed(by_windows, totals_of)
    paths = [r.path for r in tiktok_sandbox.requests.of("tiktok", path="/report/task/")]
    assert paths[0].endswith("/report/task/create/")
    assert paths[-1].endswith("/report/task/download/")
    assert sleeps, "the client waited between checks"
    (created,) = tiktok_sandbox.requests.of("tiktok", path="/report/task/create/")
    assert created.body["enable_report_title_translation"] is False
    assert created.body["output_format"] == output


def test_a_failed_task_is_a_transient_error(make_tiktok, tiktok_sandbox, account) -> None:
    tiktok_sandbox.faults.add("tiktok", "task_failed")
    with pytest.raises(TransientError, match="FAILED"):
        make_tiktok().metrics(account.external_id, TODAY - timedelta(days=40), TODAY)


def test_restated_numbers_follow_the_clock(make_tiktok, tiktok_sandbox, account, totals_of):
    # given a day read the evening after it ended
    day = TODAY - timedelta(days=2)
    before = make_tiktok().metrics(account.external_id, day, day)
    # when TikTok is asked again four days later
    later = datetime(2025, 11, 29, 17, tzinfo=UTC)
    tiktok_sandbox.now = later
    after = make_tiktok().metrics(account.external_id, day, day)
    # then the late conversions are there, exactly as the merchant restated them
    expected = truth(tiktok_sandbox.merchant, account.external_id, day, day, later, False)
    assert keyed(after, totals_of) == expected
    assert keyed(before, totals_of) != expected


def test_restatement_window_is_the_default_attribution_window(tiktok, account) -> None:
    assert tiktok.restatement_days(account.external_id) == DEFAULT_ATTRIBUTION_DAYS == 7


@given(
    start=st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 1, 1)),
    length=st.integers(min_value=1, max_value=400),
    width=st.sampled_from([1, 7, 30]),
)
def test_windows_cover_the_range_exactly_within_the_limit(start, length, width) -> None:
    until = start + timedelta(days=length - 1)
    cut = date_windows(start, until, width)
    assert cut[0][0] == start and cut[-1][1] == until
    assert all((b - a).days + 1 <= width for a, b in cut)
    assert all(nxt[0] == prev[1] + timedelta(days=1) for prev, nxt in pairwise(cut))


# ---- errors --------------------------------------------------------------------------------
def test_throttling_waits_longer_each_time_then_succeeds(
    tiktok, tiktok_sandbox, account, sleeps
) -> None:
    tiktok_sandbox.faults.add("tiktok", "throttle", times=2)
    info = tiktok.account_info(account.external_id)
    assert info.external_id == account.external_id
    assert sleeps == [5.0, 10.0]


def test_server_errors_are_retried(tiktok, tiktok_sandbox, account, sleeps) -> None:
    tiktok_sandbox.faults.add("tiktok", "server_error", times=1, status=503)
    tiktok_sandbox.faults.add("tiktok", "system_error", times=1)
    assert tiktok.account_info(account.external_id).currency == account.currency
    assert sleeps == [2.0, 4.0]


@pytest.mark.parametrize(
    ("kind", "code"), [("expired_token", 40102), ("revoked_token", 40105), ("no_permission", 40001)]
)
def test_refused_tokens_are_auth_errors(tiktok, tiktok_sandbox, account, kind, code) -> None:
    tiktok_sandbox.faults.add("tiktok", kind)
    with pytest.raises(AuthError, match="reconnect") as caught:
        tiktok.account_info(account.external_id)
    assert caught.value.code == code


def test_an_unknown_token_and_a_foreign_advertiser_are_refused(make_tiktok, account) -> None:
    with pytest.raises(AuthError) as caught:
        make_tiktok(access_token="act.not-a-token").account_info(account.external_id)
    assert caught.value.code == 40105
    with pytest.raises(AuthError) as caught:
        make_tiktok().account_info("7000000000000000000")
    assert caught.value.code == 40001


def test_invalid_requests_are_not_retried(tiktok, tiktok_sandbox, account, sleeps) -> None:
    tiktok_sandbox.faults.add("tiktok", "bad_request", message="metrics: Invalid metric.")
    with pytest.raises(InvalidRequestError, match="40002"):
        tiktok.metrics(account.external_id, TODAY, TODAY)
    assert sleeps == []


def test_a_cut_body_is_malformed(tiktok, tiktok_sandbox, account) -> None:
    tiktok_sandbox.faults.add("tiktok", "malformed")
    with pytest.raises(MalformedResponseError):
        tiktok.account_info(account.external_id)


def test_versions_warn_only_off_the_live_one(make_tiktok) -> None:
    assert make_tiktok().warnings == set()
    assert make_tiktok(api_version="v1.2").warnings == {
        "TikTok API for Business v1.2 is not a version Metricx knows; check it is live"
    }


# ---- OAuth ---------------------------------------------------------------------------------
def test_authorize_redirect_and_code_exchange_give_a_long_term_token(
    tiktok_sandbox, make_tiktok, account
) -> None:
    c = tiktok_sandbox.credentials
    # given the merchant sent to the portal page and back with a code
    url = authorize_url(
        c.tiktok_app_id, "https://app.example/cb", "st4te", tiktok_sandbox.env["TIKTOK_AUTH_URL"]
    )
    back = httpx.get(url, follow_redirects=False)
    assert back.status_code == 302
    query = parse_qs(urlsplit(back.headers["location"]).query)
    assert query["state"] == ["st4te"] and query["auth_code"] == query["code"]
    # when the code is exchanged
    grant = exchange_code(
        query["auth_code"][0],
        app_id=c.tiktok_app_id,
        secret=c.tiktok_app_secret,
        base_url=tiktok_sandbox.env["TIKTOK_API_URL"],
    )
    # then the token does not expire, names the advertisers, and reads them
    assert isinstance(grant, TikTokGrant) and isinstance(grant, TokenGrant)
    assert (grant.refresh_token, grant.expires_at) == (None, None)
    assert grant.advertiser_ids == (account.external_id,)
    assert grant.scope
    client = make_tiktok(access_token=grant.access_token)
    assert client.account_info(account.external_id).external_id == account.external_id
    # and the code cannot be used twice
    with pytest.raises(AuthorizationCodeError):
        exchange_code(
            query["auth_code"][0],
            app_id=c.tiktok_app_id,
            secret=c.tiktok_app_secret,
            base_url=tiktok_sandbox.env["TIKTOK_API_URL"],
        )


def test_a_wrong_app_secret_is_an_app_credentials_error(tiktok_sandbox) -> None:
    c = tiktok_sandbox.credentials
    with pytest.raises(AppCredentialsError, match="TIKTOK_APP_SECRET"):
        exchange_code(
            c.tiktok_auth_code,
            app_id=c.tiktok_app_id,
            secret="wrong",
            base_url=tiktok_sandbox.env["TIKTOK_API_URL"],
        )


def test_client_is_usable_as_a_context_manager(tiktok_sandbox, account) -> None:
    with TikTokClient(
        tiktok_sandbox.credentials.tiktok_access_token,
        base_url=tiktok_sandbox.env["TIKTOK_API_URL"],
    ) as client:
        assert client.account_info(account.external_id).currency == account.currency


def test_a_report_file_cut_mid_line_is_malformed(sleeps) -> None:
    # given TikTok whose task file breaks off in the middle of a line
    def answer(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/report/task/create/"):
            return httpx.Response(200, json={"code": 0, "message": "OK", "data": {"task_id": "9"}})
        if path.endswith("/report/task/check/"):
            data = {"status": "SUCCESS", "message": ""}
            return httpx.Response(200, json={"code": 0, "message": "OK", "data": data})
        text = "ad_id,stat_time_day,spend,impressions\n1,2025-11-01 00:00:00,12.5,100\n2,2025-11"
        return httpx.Response(200, text=text, headers={"content-type": "text/csv"})

    client = TikTokClient(
        "t", transport=httpx.MockTransport(answer), sleep=sleeps.append, async_after_days=1
    )
    # when it is read, then the cut is noticed rather than read as a shorter report
    with pytest.raises(MalformedResponseError, match="CSV"):
        client.metrics("1", TODAY - timedelta(days=3), TODAY)
    client.close()
