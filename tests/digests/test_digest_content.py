"""A digest's content on the synced sandbox merchant (New York, USD, Nov 8 - 19, 2026): its
KPIs are the Dashboard's tiles as `run_query` computes them, compared with the previous
period; its movers split the change of spend by campaign and add up to it; a workspace
without data says "no data", never 0."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

import pytest

from metricx.db import transaction
from metricx.digests.content import (
    TOP_MOVERS,
    build_digest,
    monitor_title,
    window_for,
)
from metricx.models import AlertEvent, AlertMonitor
from metricx.semantic.engine import run_query
from metricx.services import alerts, finance
from metricx.services.custom_definitions import DEFAULT_TILES, set_dashboard_tiles

#: Friday Nov 20, 2026, 10:07 in New York: yesterday is Nov 19, the last synced day.
NOW = datetime(2026, 11, 20, 15, 7, tzinfo=UTC)
NOV_19 = date(2026, 11, 19)


def engine_totals(workspace_id: int, metrics: list[str], start: date, end: date) -> dict:
    frame = run_query(
        workspace_id,
        {"metrics": metrics, "time_range": {"start": str(start), "end": str(end)}},
    ).frame
    return {m: float(frame[m].iloc[0]) for m in metrics}


def same(left: float | None, right: float | None) -> bool:
    if left is None or right is None:
        return left is right
    return math.isclose(left, right, rel_tol=1e-9, abs_tol=1e-9)


def test_the_windows_are_yesterday_and_the_seven_days_before_today():
    # Given Monday Nov 23, 2026
    monday = date(2026, 11, 23)
    # When the windows of a digest sent that day are taken
    daily, weekly = window_for("daily", monday), window_for("weekly", monday)
    # Then daily is Sunday, weekly the previous Monday to Sunday
    assert (daily.start, daily.end) == (date(2026, 11, 22), date(2026, 11, 22))
    assert (weekly.start, weekly.end) == (date(2026, 11, 16), date(2026, 11, 22))


def test_the_daily_kpis_are_the_dashboards_tiles_as_the_engine_computes_them(synced):
    workspace_id, _ = synced
    # Given the engine's numbers for Nov 19 and Nov 18
    tiles = list(DEFAULT_TILES)
    now = engine_totals(workspace_id, tiles, NOV_19, NOV_19)
    before = engine_totals(workspace_id, tiles, date(2026, 11, 18), date(2026, 11, 18))
    # When the daily digest of Nov 19 is built
    content = build_digest(workspace_id, "daily", NOV_19, NOV_19, now=NOW)
    # Then it has data, the tiles in the Dashboard's order, then net profit from the P&L
    assert content.has_data and content.previous_has_data
    assert [k.metric.id for k in content.kpis] == [*tiles, "net_profit"]
    for kpi in content.kpis[:-1]:
        assert same(kpi.value, now[kpi.metric.id]), kpi.metric.id
        assert same(kpi.previous, before[kpi.metric.id]), kpi.metric.id
    # And each change is the change between the two
    spend = content.kpi("spend")
    assert spend is not None and spend.change is not None
    assert math.isclose(spend.change, (now["spend"] - before["spend"]) / before["spend"])
    profit = finance.profit_and_loss(workspace_id, NOV_19, NOV_19).total["net_profit"]
    assert same(content.kpis[-1].value, float(profit))


def test_a_weekly_digest_compares_with_the_seven_days_before(synced, admin):
    workspace_id, _ = synced
    # Given chosen tiles and the engine's numbers for Nov 13-19 and Nov 6-12
    set_dashboard_tiles(admin, ["roas", "spend"])
    now = engine_totals(workspace_id, ["roas", "spend"], date(2026, 11, 13), NOV_19)
    before = engine_totals(workspace_id, ["roas", "spend"], date(2026, 11, 6), date(2026, 11, 12))
    # When the weekly digest of Nov 13 - 19 is built
    content = build_digest(workspace_id, "weekly", date(2026, 11, 13), NOV_19, now=NOW)
    # Then it compares with Nov 6 - 12, the chosen tiles only
    assert (content.compare.start, content.compare.end) == (date(2026, 11, 6), date(2026, 11, 12))
    assert [k.metric.id for k in content.kpis][:2] == ["roas", "spend"]
    assert same(content.kpis[0].value, now["roas"])
    assert same(content.kpis[1].value, now["spend"])
    # And Nov 6 and 7, before the first synced day, count as the engine counts them
    assert same(content.kpis[1].previous, before["spend"])
    # And the trend holds 28 days ending Nov 19, the engine's daily spend
    assert len(content.trend) == 28 and content.trend["day"].iloc[-1] == "2026-11-19"


def test_the_movers_rank_campaigns_by_their_share_of_the_change_and_add_up(synced):
    workspace_id, raw = synced
    # When the daily digest of Nov 19 is built
    content = build_digest(workspace_id, "daily", NOV_19, NOV_19, now=NOW)
    spend = next(m for m in content.movers if m.metric.id == "spend")
    # Then its totals are the engine's spend on both days
    assert same(spend.after, engine_totals(workspace_id, ["spend"], NOV_19, NOV_19)["spend"])
    nov_18 = date(2026, 11, 18)
    assert same(spend.before, engine_totals(workspace_id, ["spend"], nov_18, nov_18)["spend"])
    # And the campaigns listed are the largest changes first, at most TOP_MOVERS
    changes = [abs(m.change) for m in spend.top]
    assert 0 < len(changes) <= TOP_MOVERS and changes == sorted(changes, reverse=True)
    # And each campaign's change is its own spend's, from the raw rows
    ads = raw["ads"]
    for mover in spend.top:
        rows = ads[ads["campaign"] == mover.campaign]
        after = rows[rows["day"] == NOV_19]["spend"].sum()
        before = rows[rows["day"] == nov_18]["spend"].sum()
        assert math.isclose(mover.change, after - before, abs_tol=1e-6)
    # And the listed changes plus the others' add up to the total change
    assert spend.total_change is not None
    assert math.isclose(
        sum(m.change for m in spend.top) + spend.others, spend.total_change, abs_tol=1e-6
    )


def test_alerts_fired_in_the_window_are_listed_by_rule_or_monitor(synced, admin):
    workspace_id, _ = synced
    # Given a rule firing on Nov 19 (New York), a monitor firing on Nov 19, one on Nov 20
    rule = alerts.add_rule(
        admin, {"name": "Spend watch", "metric": "spend", "condition": "above", "threshold": 0}
    )
    with transaction() as session:
        monitor = AlertMonitor(workspace_id=workspace_id, kind="data_stale")
        session.add(monitor)
        session.flush()
        for at, source, message in (
            (datetime(2026, 11, 19, 15, 0, tzinfo=UTC), {"rule_id": rule.id}, "spend up"),
            (datetime(2026, 11, 20, 4, 0, tzinfo=UTC), {"monitor_id": monitor.id}, "stale"),
            (datetime(2026, 11, 20, 6, 0, tzinfo=UTC), {"monitor_id": monitor.id}, "today"),
        ):
            session.add(
                AlertEvent(
                    workspace_id=workspace_id,
                    window_key=at.isoformat(),
                    value=1,
                    message=message,
                    fired_at=at,
                    **source,
                )
            )
    # When the digest of Nov 19 is built
    content = build_digest(workspace_id, "daily", NOV_19, NOV_19, now=NOW)
    # Then the two firings of Nov 19 local time are listed (04:00 UTC is 23:00 in New York)
    assert [(a.source, a.message) for a in content.alerts] == [
        ("Spend watch", "spend up"),
        (monitor_title("data_stale"), "stale"),
    ]
    assert content.more_alerts == 0


def test_pacing_and_freshness_come_from_the_services(synced):
    workspace_id, _ = synced
    # When the digest is built at NOW
    content = build_digest(workspace_id, "daily", NOV_19, NOV_19, now=NOW)
    # Then today's pacing is read up to 10:07 local against last Friday
    assert content.pacing is not None
    assert content.pacing.last_week_day == date(2026, 11, 13)
    assert content.pacing.clock.strftime("%H:%M") == "10:07"
    # And every connection is listed with its last sync
    assert len(content.freshness) >= 3
    assert all(f.last_synced_at is not None for f in content.freshness)


@pytest.mark.usefixtures("admin")
def test_a_workspace_without_data_says_no_data_never_zero(workspace):
    # Given a new workspace with nothing connected
    # When its digest is built
    content = build_digest(workspace.id, "daily", NOV_19, NOV_19, now=NOW)
    # Then it has no data: no KPI value is 0, there are no movers, pacing says why
    assert not content.has_data
    assert all(k.value is None and k.previous is None for k in content.kpis)
    assert content.kpis and content.movers == ()
    assert content.pacing is None and content.pacing_note == "no ad account connected"
    assert content.freshness == () and content.alerts == ()
