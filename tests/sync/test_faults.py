"""Every injected platform fault: the right retry or status, a readable sync_runs error, and
after it (and a clean retry where one is due) every number exact: nothing lost or doubled."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sandbox_fixtures import NOW, platform_day_totals, stored_day_totals
from sqlalchemy import func, select

from metricx.connection_store import get_connection
from metricx.connectors.errors import RateLimitedError, TransientError
from metricx.db import new_session
from metricx.models import ShopifyOrder, SyncRun
from metricx.semantic.dates import today_in
from metricx.sync.pipeline import sync_connection

RETRIED = "retried"  # the connector retried inside the job and the sync succeeded
RERAISED = "reraised"  # the job failed with a retryable error: RQ retries it later
REAUTH = "needs_reauth"  # token dead: connection flagged, no retry
BROKEN = "error"  # the platform answered nonsense: recorded, connection flagged

CASES = [
    ("meta", "throttle", {"times": 1, "regain_minutes": 1}, RETRIED, None),
    ("meta", "throttle", {"times": 1, "code": 613, "regain_minutes": 30}, RERAISED, "rate limit"),
    ("meta", "server_error", {"times": 2}, RETRIED, None),
    ("meta", "transient", {"times": 1}, RETRIED, None),
    ("meta", "short_page", {"times": 1}, RETRIED, None),
    ("meta", "server_error", {"times": 50}, RERAISED, "Meta"),
    ("meta", "auth", {"times": 1}, REAUTH, "token"),
    ("meta", "malformed", {"times": 1}, BROKEN, "Meta"),
    # 100/1487534 "reduce the amount of data": split, never a broken connection
    ("meta", "too_much_data", {"times": 3}, RETRIED, None),
    ("google", "throttle", {"times": 1, "retry_delay": "3s"}, RETRIED, None),
    ("google", "server_error", {"times": 1}, RETRIED, None),
    ("google", "stream_error", {"times": 1}, RETRIED, None),
    ("google", "invalid_grant", {"times": 1}, REAUTH, "Google"),
    ("google", "auth", {"times": 5}, REAUTH, "Google"),
    ("google", "malformed", {"times": 1}, BROKEN, "Google"),
    ("tiktok", "throttle", {"times": 2}, RETRIED, None),
    ("tiktok", "server_error", {"times": 2}, RETRIED, None),
    ("tiktok", "system_error", {"times": 1}, RETRIED, None),
    ("tiktok", "server_error", {"times": 50}, RERAISED, "TikTok"),
    ("tiktok", "expired_token", {"times": 1}, REAUTH, "TikTok"),
    ("tiktok", "revoked_token", {"times": 1}, REAUTH, "TikTok"),
    ("tiktok", "no_permission", {"times": 1}, REAUTH, "TikTok"),
    ("tiktok", "malformed", {"times": 1}, BROKEN, "TikTok"),
    ("tiktok", "bad_request", {"times": 1}, BROKEN, "TikTok"),
    ("shopify", "throttle", {"times": 2}, RETRIED, None),
    ("shopify", "server_error", {"times": 1}, RETRIED, None),
    ("shopify", "short_page", {"times": 1}, RETRIED, None),
    ("shopify", "auth", {"times": 1}, REAUTH, "Shopify"),
    ("shopify", "malformed", {"times": 1}, BROKEN, "Shopify"),
]


def run_sync(connection, fakes):
    if connection.provider == "shopify":
        return sync_connection(connection.workspace_id, connection.id, "shop", now=NOW)
    tz = fakes.merchant.account(connection.external_account_id).timezone
    today = today_in(tz, NOW)
    return sync_connection(
        connection.workspace_id,
        connection.id,
        "range",
        start=today - timedelta(days=3),
        end=today - timedelta(days=1),
        now=NOW,
    )


def assert_exact(connection, fakes) -> None:
    if connection.provider == "shopify":
        with new_session() as session:
            stored = session.scalar(select(func.count()).select_from(ShopifyOrder))
        assert stored == len(fakes.merchant.shop.orders_until(NOW))
        return
    account = fakes.merchant.account(connection.external_account_id)
    today = today_in(account.timezone, NOW)
    days = [today - timedelta(days=d) for d in (3, 2, 1)]
    assert stored_day_totals(connection.id, account.timezone, days) == platform_day_totals(
        fakes.merchant, account.external_id, days, NOW
    )


def last_run(connection_id: int) -> SyncRun:
    with new_session() as session:
        return session.scalars(
            select(SyncRun)
            .where(SyncRun.connection_id == connection_id)
            .order_by(SyncRun.id.desc())
        ).first()


@pytest.mark.parametrize(
    "provider, kind, params, expect, words", CASES, ids=[f"{c[0]}-{c[1]}-{c[3]}" for c in CASES]
)
def test_fault(fakes, connections, provider, kind, params, expect, words):
    connection = connections[provider]
    ws = connection.workspace_id
    # Given the platform will misbehave
    fault = fakes.faults.add(provider, kind, **params)
    # When the connection syncs
    if expect == RERAISED:
        with pytest.raises((RateLimitedError, TransientError)):
            run_sync(connection, fakes)
    else:
        outcome = run_sync(connection, fakes)
    run = last_run(connection.id)
    status = get_connection(ws, connection.id).status
    assert fault.used >= 1, "the fault never fired"
    # Then the job did what the fault calls for, and said why in words
    if expect == RETRIED:
        assert outcome.status == "success" and run.status == "success"
        assert status == "active"
    else:
        assert run.status == "failed" and words in run.error
        assert "Traceback" not in run.error
    if expect == RERAISED:
        assert status == "active" and "(will retry)" in run.error
    if expect == REAUTH:
        assert outcome.status == "failed" and status == "needs_reauth"
        # a connection waiting for a new token is not hammered by the schedule
        assert run_sync(connection, fakes).status == "skipped"
        return
    if expect == BROKEN:
        assert outcome.status == "failed" and status == "error"
    # And once the platform behaves (RQ's retry, or the next schedule), every number is exact
    if expect != RETRIED:
        fakes.faults.clear()
        assert run_sync(connection, fakes).status == "success"
        assert get_connection(ws, connection.id).status == "active"
    assert_exact(connection, fakes)


def test_a_retried_throttle_waited_as_long_as_the_platform_asked(fakes, connections):
    fakes.faults.add("google", "throttle", times=1, retry_delay="7s")
    assert run_sync(connections["google"], fakes).status == "success"
    assert 7.0 in fakes.sleeps


def test_a_dead_api_version_asks_for_an_upgrade_and_a_live_one_heals_it(fakes, connections, setenv):
    # given an operator pinned to a Marketing API version Meta has retired (#2635)
    connection = connections["meta"]
    setenv(META_API_VERSION="v21.0")
    # when the connection syncs
    outcome = run_sync(connection, fakes)
    # then it waits for an upgrade, in words that say so, with nothing written
    assert outcome.status == "failed"
    assert get_connection(connection.workspace_id, connection.id).status == "upgrade_needed"
    assert "META_API_VERSION" in last_run(connection.id).error
    # and once a live version is set, the next sync heals it and every number is exact
    setenv(META_API_VERSION="v26.0")
    assert run_sync(connection, fakes).status == "success"
    assert get_connection(connection.workspace_id, connection.id).status == "active"
    assert_exact(connection, fakes)
