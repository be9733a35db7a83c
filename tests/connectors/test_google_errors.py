"""Google Ads errors name who must act: an operator (dead version), an admin (setup on
Google's side), the merchant (blocked account), a reconnect (login) or nobody (rate limits)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from metricx.connectors.errors import (
    AccountBlockedError,
    AuthError,
    ConfigurationError,
    VersionExpiredError,
)

DECEMBER_2026 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def customer(merchant):
    return merchant.accounts_of("google")[0]


@pytest.mark.parametrize(
    ("version", "sunset"),
    [
        ("v18", "2025-08-20"),
        ("v19", "2026-02-11"),
        ("v20", "2026-06-10"),
        ("v21", "2026-08-05"),
        ("v22", "2026-10-07"),
    ],
)
def test_a_sunset_version_is_refused_and_asks_for_an_upgrade(
    make_google, sandbox, customer, sleeps, version, sunset
) -> None:
    # given December 2026 and a client pinned to a version Google has sunset
    sandbox.now = DECEMBER_2026
    client = make_google(api_version=version, now=lambda: DECEMBER_2026)
    # when it calls the API, Google's front end answers its 404 page
    with pytest.raises(VersionExpiredError) as caught:
        client.account_info(customer.external_id)
    # then the operator is told to move to a live version, and nothing is retried
    assert caught.value.connection_status == "upgrade_needed"
    assert f"{version} stopped working on {sunset}" in str(caught.value)
    assert "GOOGLE_ADS_API_VERSION" in str(caught.value) and "v26" in str(caught.value)
    assert len(sandbox.requests.of("google", path="googleAds")) == 1 and sleeps == []


def test_a_version_works_until_its_sunset_day(make_google, sandbox, customer) -> None:
    # given v22, sunset on 2026-10-07
    client = make_google(api_version="v22")
    # when it is called the day before, it answers; from the sunset day on, it does not
    sandbox.now = datetime(2026, 10, 6, 23, 0, tzinfo=UTC)
    assert client.account_info(customer.external_id).currency == "USD"
    sandbox.now = datetime(2026, 10, 7, 0, 0, tzinfo=UTC)
    with pytest.raises(VersionExpiredError):
        client.account_info(customer.external_id)


def test_the_json_not_found_variant_is_a_version_error_too(
    make_google, sandbox, customer, monkeypatch
) -> None:
    # given a front end that answers {"error": {"code": 404, "status": "NOT_FOUND"}} instead
    monkeypatch.setattr(sandbox.google, "sunset_answer", "json")
    with pytest.raises(VersionExpiredError, match="v18 stopped working on 2025-08-20"):
        make_google(api_version="v18").account_info(customer.external_id)


def test_an_unreleased_version_is_not_served(make_google, customer) -> None:
    with pytest.raises(VersionExpiredError, match="v27 is not served"):
        make_google(api_version="v27").account_info(customer.external_id)


# (error code, words the admin needs to see)
SETUP_ERRORS = [
    ("DEVELOPER_TOKEN_NOT_APPROVED", "Basic or Standard access"),
    ("CLOUD_PROJECT_NOT_APPROVED_FOR_PRODUCTION", "Explorer, Basic or Standard access"),
    ("USER_PERMISSION_DENIED", "login-customer-id"),
    ("CUSTOMER_NOT_ENABLED", "reactivate it in Google Ads"),
    ("DEVELOPER_TOKEN_PROHIBITED", "GOOGLE_CLIENT_ID"),
    ("PROJECT_DISABLED", "enable the API"),
    ("MISSING_TOS", "terms of service"),
    ("DEVELOPER_TOKEN_INVALID", "GOOGLE_DEVELOPER_TOKEN"),
    ("CUSTOMER_NOT_FOUND", "check the account id"),
]


@pytest.mark.parametrize(("code", "fix"), SETUP_ERRORS)
def test_setup_errors_tell_the_admin_what_to_fix(
    make_google, sandbox, customer, sleeps, code, fix
) -> None:
    # given Google refusing the call for a reason a new login would not cure
    sandbox.faults.add("google", "auth", code=code)
    # when the client calls
    with pytest.raises(ConfigurationError) as caught:
        make_google().account_info(customer.external_id)
    # then it is a setup problem with the fix in words, never "reconnect", never retried
    message = str(caught.value)
    assert caught.value.connection_status == "misconfigured"
    assert code in message and fix in message and "reconnect" not in message
    assert len(sandbox.requests.of("google", path="googleAds")) == 1 and sleeps == []
    assert len(sandbox.requests.of("google", path="/token")) == 1


@pytest.mark.parametrize(
    ("code", "hint"),
    [
        ("OAUTH_TOKEN_EXPIRED", "reconnect the Google Ads account"),
        ("OAUTH_TOKEN_REVOKED", "reconnect the Google Ads account"),
        ("NOT_ADS_USER", "reconnect with a login that has access"),
    ],
)
def test_a_refused_login_is_an_auth_error_after_one_token_refresh(
    make_google, sandbox, customer, sleeps, code, hint
) -> None:
    # given a login Google keeps refusing
    sandbox.faults.add("google", "auth", times=2, code=code)
    with pytest.raises(AuthError, match=hint) as caught:
        make_google().account_info(customer.external_id)
    # then the token was refreshed once (it may just have been stale), then needs_reauth
    assert caught.value.connection_status == "needs_reauth"
    assert len(sandbox.requests.of("google", path="/token")) == 2 and sleeps == []


def test_access_prohibited_blocks_the_connection_and_is_not_retried(
    make_google, sandbox, customer, sleeps
) -> None:
    # given the quota error that is not a rate: access to the API is prohibited
    sandbox.faults.add("google", "throttle", code="ACCESS_PROHIBITED")
    with pytest.raises(AccountBlockedError, match="ACCESS_PROHIBITED") as caught:
        make_google().account_info(customer.external_id)
    # then the connection is blocked at once: waiting cannot lift it
    assert caught.value.connection_status == "blocked" and not caught.value.retryable
    assert len(sandbox.requests.of("google", path="googleAds")) == 1 and sleeps == []


def test_a_suspended_account_is_blocked(make_google, sandbox, customer) -> None:
    sandbox.faults.add("google", "auth", code="ACTION_NOT_PERMITTED_FOR_SUSPENDED_ACCOUNT")
    with pytest.raises(AccountBlockedError, match="suspended"):
        make_google().account_info(customer.external_id)


@pytest.mark.parametrize("code", ["RESOURCE_EXHAUSTED", "RESOURCE_TEMPORARILY_EXHAUSTED"])
def test_rate_errors_wait_for_googles_retry_delay(
    make_google, sandbox, customer, sleeps, code
) -> None:
    sandbox.faults.add("google", "throttle", code=code, retry_delay="45s")
    assert make_google().account_info(customer.external_id).currency == "USD"
    assert sleeps == [45.0]


def test_a_setup_error_inside_a_stream_is_classified_the_same(
    make_google, sandbox, customer, sleeps
) -> None:
    # given a stream that sends rows, then CUSTOMER_NOT_ENABLED
    sandbox.faults.add("google", "stream_error", error="auth", code="CUSTOMER_NOT_ENABLED")
    with pytest.raises(ConfigurationError, match="CUSTOMER_NOT_ENABLED"):
        make_google().metrics(
            customer.external_id, sandbox.now.date() - timedelta(days=3), sandbox.now.date()
        )
    assert sleeps == []
