"""MetaClient against what the live Marketing API refuses or asks for in December 2026:
expired versions, version warnings, "too much data" (100/1487534), async reports for big
accounts, appsecret_proof and the long-lived token exchange after OAuth."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, date, datetime, timedelta

import pytest

from metricx.connectors.errors import InvalidRequestError, VersionExpiredError
from metricx.connectors.oauth import OAuthApp, OAuthEndpoints, exchange_code
from metricx.connectors.versions import DEFAULT_VERSIONS

TODAY = date(2025, 11, 25)  # the sandbox clock of tests/connectors


@pytest.fixture
def account(merchant):
    return merchant.accounts_of("meta")[0]


def _keyed(records, totals_of):
    return {(r.ad_external_id, r.day, r.hour): totals_of(r) for r in records}


def _windows(sandbox) -> list[tuple[str, str]]:
    """(since, until) of every synchronous insights request, in order."""
    out = []
    for request in sandbox.requests.of("meta", path="/insights", method="GET"):
        if "time_range" in request.params:
            window = json.loads(request.params["time_range"])
            out.append((window["since"], window["until"]))
    return out


def test_an_expired_version_is_an_upgrade_error_not_a_broken_token(make_meta, account) -> None:
    # given a client pinned to v21.0, which Meta retired on 2025-09-09
    client = make_meta(api_version="v21.0")
    # when it reads the account, then Meta's #2635 says to upgrade, and it is not retried
    with pytest.raises(VersionExpiredError, match="META_API_VERSION") as caught:
        client.account_info(account.external_id)
    assert caught.value.connection_status == "upgrade_needed" and not caught.value.retryable


def test_a_version_close_to_its_end_is_warned_about(make_meta, account) -> None:
    # given v22.0, which expires on 2026-02-19, less than 90 days after the sandbox's today
    client = make_meta(api_version="v22.0")
    # when it calls Meta, then the X-Ad-Api-Version-Warning text is kept for the admin
    client.account_info(account.external_id)
    assert any("2026-02-19" in warning for warning in client.warnings)
    # and the default version draws no warning
    fresh = make_meta()
    fresh.account_info(account.external_id)
    assert fresh.warnings == set()


def test_too_much_data_splits_the_window_and_loses_nothing(
    make_meta, sandbox, account, truth, totals_of, now
) -> None:
    # given Meta refuses the first, four-day request as too much data
    sandbox.faults.add("meta", "too_much_data")
    since = TODAY - timedelta(days=3)
    # when the client reads it
    records = make_meta().insights(account.external_id, since, TODAY)
    # then it asked for the two halves instead, and has every row exactly once
    assert _windows(sandbox)[:3] == [
        (since.isoformat(), TODAY.isoformat()),
        (since.isoformat(), (since + timedelta(days=1)).isoformat()),
        ((since + timedelta(days=2)).isoformat(), TODAY.isoformat()),
    ]
    assert _keyed(records, totals_of) == truth(account.external_id, since, TODAY, now)
    assert len(records) == len(_keyed(records, totals_of))


def test_a_day_still_too_big_is_read_campaign_by_campaign(
    make_meta, sandbox, account, truth, totals_of, now, monkeypatch
) -> None:
    # given Meta answers at most 40 rows synchronously (a day of hourly ad rows is more)
    monkeypatch.setattr(sandbox.meta, "sync_row_limit", 40)
    day = TODAY - timedelta(days=1)
    # when a client reads a day of hours
    records = make_meta().insights(account.external_id, day, day, hourly=True)
    # then it split by campaign (going async where one campaign is still too big)
    filtered = [
        r
        for r in sandbox.requests.of("meta", path="/insights")
        if "campaign.id" in r.params.get("filtering", "")
    ]
    assert filtered
    expected = {
        k: t.only(("spend", "impressions", "clicks"))
        for k, t in truth(account.external_id, day, day, now, hourly=True).items()
    }
    assert _keyed(records, totals_of) == expected


def test_big_accounts_are_read_with_async_reports(
    make_meta, sandbox, account, truth, totals_of, now
) -> None:
    # given a client that goes async above 100 possible rows (ads x days x 24 hours), and
    # that has read the account's ads
    client = make_meta(async_after_rows=100, poll_interval=1.0)
    client.entities(account.external_id)
    # when it reads two days of hours
    since = TODAY - timedelta(days=1)
    records = client.insights(account.external_id, since, TODAY, hourly=True)
    # then it posted one report run and read its rows
    assert len(sandbox.requests.of("meta", path="/insights", method="POST")) == 1
    assert set(_keyed(records, totals_of)) == set(
        truth(account.external_id, since, TODAY, now, hourly=True)
    )


def test_appsecret_proof_is_sent_and_checked(make_meta, sandbox, account) -> None:
    # when a client with the app secret calls Meta
    make_meta().account_info(account.external_id)
    # then it proved the token with HMAC-SHA256(app secret, token), hex
    (request,) = sandbox.requests.of("meta")
    c = sandbox.credentials
    assert (
        request.params["appsecret_proof"]
        == hmac.new(
            c.meta_app_secret.encode(), c.meta_access_token.encode(), hashlib.sha256
        ).hexdigest()
    )
    # and a proof made with the wrong secret is refused
    with pytest.raises(InvalidRequestError, match="appsecret_proof"):
        make_meta(app_secret="not-the-secret").account_info(account.external_id)


def test_the_oauth_code_becomes_a_long_lived_token(sandbox) -> None:
    # given the code Meta's Login dialog hands back
    c, env = sandbox.credentials, sandbox.env
    endpoints = OAuthEndpoints(
        env["META_OAUTH_DIALOG_URL"],
        env["META_GRAPH_URL"],
        DEFAULT_VERSIONS["meta"],
        env["GOOGLE_OAUTH_AUTHORIZE_URL"],
        env["GOOGLE_OAUTH_TOKEN_URL"],
        env["SHOPIFY_URL_TEMPLATE"],
    )
    app = OAuthApp(c.meta_app_id, c.meta_app_secret, "https://app.example/cb")
    # when it is exchanged
    grant = exchange_code("meta", app, endpoints, c.meta_auth_code)
    # then the short-lived user token was traded at once for a ~60-day one
    grants = [
        r.params.get("grant_type") for r in sandbox.requests.of("meta", path="/oauth/access_token")
    ]
    assert grants == [None, "fb_exchange_token"]
    assert grant.expires_at is not None
    assert grant.expires_at - datetime.now(UTC) > timedelta(days=59)
