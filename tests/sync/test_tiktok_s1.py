"""Invariant S1 for TikTok, end to end: the real TikTok connector against the fake TikTok API
(restating conversions for 7 days, hourly rows with conversions), the real pipeline, the real
database. Whatever the order of 15-minute syncs, duplicated jobs, nightly compactions, daily
re-fetches over the restatement window and faults the connector retries, each ad-day's rows
sum to what TikTok reports for it at the end, once the re-fetch and a 15-minute sync have
run."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sandbox_fixtures import NOW, platform_day_totals, stored_day_totals
from sqlalchemy import delete

from metricx.connection_store import get_connection
from metricx.db import transaction
from metricx.models import MetricDaily, MetricSnapshot, SyncRun
from metricx.semantic.dates import today_in
from metricx.sync.pipeline import compact_connection, sync_connection

STEPS = st.lists(
    st.tuples(
        st.sampled_from(["intraday", "intraday_twice", "compact", "refetch", "throttled"]),
        st.integers(min_value=1, max_value=40),  # quarter hours the clock moves first
    ),
    min_size=2,
    max_size=8,
)


def forget(workspace_id: int, connection_id: int) -> None:
    """Hypothesis reuses the connection between examples: each starts from no rows."""
    with transaction() as session:
        session.execute(delete(MetricSnapshot).where(MetricSnapshot.workspace_id == workspace_id))
        session.execute(delete(MetricDaily).where(MetricDaily.workspace_id == workspace_id))
        session.execute(delete(SyncRun).where(SyncRun.connection_id == connection_id))


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(steps=STEPS)
def test_tiktok_rows_match_the_platform_after_any_interleaving(fakes, connections, steps):
    connection = connections["tiktok"]
    ws = connection.workspace_id
    account = fakes.merchant.account(connection.external_account_id)
    forget(ws, connection.id)
    fakes.faults.clear()
    fakes.now = NOW
    # Given a week of TikTok history synced
    today = today_in(account.timezone, NOW)
    week = [today - timedelta(days=d) for d in range(7, 0, -1)]
    assert sync_connection(
        ws, connection.id, "range", start=week[0], end=week[-1], now=NOW
    ).status == ("success")
    # When time passes with any mix of 15-minute syncs (some duplicated), throttled calls,
    # compactions and re-fetches while TikTok restates conversions
    for action, quarters in steps:
        fakes.now = fakes.now + timedelta(minutes=15 * quarters)
        if action == "compact":
            compact_connection(get_connection(ws, connection.id), now=fakes.now)
        elif action == "refetch":
            sync_connection(ws, connection.id, "range", now=fakes.now)
        else:
            if action == "throttled":
                fakes.faults.add("tiktok", "throttle", times=1)
            for _ in range(2 if action == "intraday_twice" else 1):
                outcome = sync_connection(ws, connection.id, "intraday", now=fakes.now)
                assert outcome.status in ("success", "skipped"), outcome.error
    # And the daily re-fetch over TikTok's restatement window runs, then the 15-minute sync
    assert sync_connection(ws, connection.id, "range", now=fakes.now).status == "success"
    assert sync_connection(ws, connection.id, "intraday", now=fakes.now).status == "success"
    # Then every day of the window and today hold exactly what TikTok reports now
    now_today = today_in(account.timezone, fakes.now)
    days = [now_today - timedelta(days=d) for d in range(7, -1, -1)]
    assert stored_day_totals(connection.id, account.timezone, days) == platform_day_totals(
        fakes.merchant, account.external_id, days, fakes.now
    )
