"""Anomalous rules on a workspace's stored rows, through the metric engine: eight weeks of
hourly spend for two campaigns (New York, USD), today cut where the Meta connection has
synced through; a campaign whose spend triples fires with the engine's numbers, the same
data without it does not, stale data is "no data"; and the default rules are added once,
to their workspace only."""

from __future__ import annotations

import statistics
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from metricx.alerts import anomaly
from metricx.alerts.anomaly_defaults import DEFAULT_ANOMALY_RULES, ensure_default_anomaly_rules
from metricx.alerts.evaluate import evaluate
from metricx.alerts.rules import AlertRuleError, Rule
from metricx.db import new_session, transaction
from metricx.models import AlertRule, Connection, Entity, MetricSnapshot
from metricx.semantic.engine import run_query
from metricx.sync import rollup

NEW_YORK = ZoneInfo("America/New_York")
TODAY = date(2026, 11, 18)  # a Wednesday; its eight weeks before cross the fall-back night
#: 14:20 in New York; the connection has synced through 14:16, so today is cut at 14:15.
NOW = datetime.combine(TODAY, time(14, 20), NEW_YORK).astimezone(UTC)
SYNCED = datetime.combine(TODAY, time(14, 16), NEW_YORK).astimezone(UTC)
#: Each campaign's spend per local hour (a day's shape), before a small weekly wiggle.
HOURLY = {"Prospecting": 40.0, "Retargeting": 25.0}


def hourly_spend(name: str, day: date, hour: int) -> Decimal:
    wiggle = 1 + 0.02 * ((day.toordinal() + hour + len(name)) % 5 - 2)
    shape = 0.5 if hour < 7 else 1.2 if hour >= 18 else 1.0
    return Decimal(str(round(HOURLY[name] * shape * wiggle, 2)))


def seed_spend(
    workspace_id: int, spike: dict[str, float] | None = None, since: int = 8
) -> dict[str, int]:
    """A Meta connection synced through SYNCED, with hourly spend from 8 weeks before TODAY
    to TODAY 14:00 (the hours synced); `spike` multiplies a campaign's spend today from
    the hour `since`. Returns {campaign name: campaign entity id}."""
    first = TODAY - timedelta(weeks=anomaly.WEEKS)
    campaigns, ads = {}, []
    with transaction() as session:
        connection = Connection(
            workspace_id=workspace_id,
            provider="meta",
            external_account_id=f"act_{workspace_id}",
            name="Meta",
            last_synced_at=SYNCED,
        )
        session.add(connection)
        session.flush()
        for name in HOURLY:
            parent = None
            for level in ("campaign", "adset", "ad"):
                entity = Entity(
                    workspace_id=workspace_id,
                    connection_id=connection.id,
                    level=level,
                    external_id=f"{name}-{level}",
                    name=name if level == "campaign" else f"{name} {level}",
                    parent_id=parent,
                )
                session.add(entity)
                session.flush()
                parent = entity.id
                if level == "campaign":
                    campaigns[name] = entity.id
            ads.append(parent)
            for offset in range((TODAY - first).days + 1):
                day = first + timedelta(days=offset)
                for hour in range(15 if day == TODAY else 24):
                    spend = hourly_spend(name, day, hour)
                    if spike and day == TODAY and hour >= since:
                        spend *= Decimal(str(spike.get(name, 1)))
                    session.add(
                        MetricSnapshot(
                            workspace_id=workspace_id,
                            entity_id=parent,
                            bucket_start=datetime.combine(day, time(hour), NEW_YORK),
                            granularity="1h",
                            spend=spend,
                            impressions=0,
                            clicks=0,
                            conversions=0,
                            conversion_value=0,
                            leads=0,
                        )
                    )
        session.flush()
        rollup.refresh(
            session,
            workspace_id,
            [a for a in ads if a is not None],
            datetime.combine(first, time(0), NEW_YORK) - timedelta(days=1),
            datetime.combine(TODAY, time(0), NEW_YORK) + timedelta(days=2),
        )
    return campaigns


def spend_until(workspace_id: int, day: date, split: str | None = None) -> dict:
    """The engine's spend of `day` until 14:15: split value -> spend."""
    frame = run_query(
        workspace_id,
        {
            "metrics": ["spend"],
            "time_range": {"start": str(day), "end": str(day), "until": "14:15:00"},
            "dimensions": [split] if split else [],
        },
    ).frame
    return {(row[split] if split else None): row["spend"] for _, row in frame.iterrows()}


def anomalous(**fields: object) -> Rule:
    return Rule.parse(
        {"name": "unusual spend", "metric": "spend", "condition": "anomalous", "threshold": 4}
        | fields
    )


def test_a_campaign_whose_spend_triples_fires_with_the_engines_numbers(workspace):
    # Given eight weeks of steady spend, and Prospecting's spend tripled since 08:00 today
    seed_spend(workspace.id, spike={"Prospecting": 3})
    # When the workspace's spend and each campaign's are judged for anomalies
    whole = evaluate(workspace.id, anomalous(), NOW)
    by_campaign = evaluate(workspace.id, anomalous(split="campaign"), NOW)
    # Then today is cut where the data is complete, 14:15
    assert whole.period is not None and whole.period.until == time(14, 15)
    # And the value and baseline are the engine's: today, and the median of the same cut
    # of the eight Wednesdays before
    [only] = whole.evaluations
    weeks = [spend_until(workspace.id, TODAY - timedelta(weeks=k))[None] for k in range(1, 9)]
    assert only.value == pytest.approx(spend_until(workspace.id, TODAY)[None])
    assert only.reference == pytest.approx(statistics.median(weeks))
    assert only.fires
    assert "Ad spend today until 14:15: $" in only.message and "z = +" in only.message
    # And by campaign only Prospecting fires (its share of spend jumped), with its own spend
    fired = {e.split_label: e.fires for e in by_campaign.evaluations}
    assert fired == {"Prospecting": True, "Retargeting": False}
    today = spend_until(workspace.id, TODAY, "campaign")
    assert {e.split_label: e.value for e in by_campaign.evaluations} == pytest.approx(today)


def test_a_spike_in_the_last_hours_fires_though_the_day_so_far_hides_it(workspace):
    # Given Prospecting's spend tripled only since 13:00: +20 % on the day so far
    seed_spend(workspace.id, spike={"Prospecting": 3}, since=13)
    today = spend_until(workspace.id, TODAY)[None]
    usual = statistics.median(
        spend_until(workspace.id, TODAY - timedelta(weeks=k))[None] for k in range(1, 9)
    )
    assert today / usual - 1 < anomaly.min_change_for("spend")
    # When the workspace's spend is judged
    [only] = evaluate(workspace.id, anomalous(), NOW).evaluations
    # Then the last three hours (11:15 to 14:15) fire, and the message says so
    assert only.fires
    assert "in the last 3 hours" in only.message


def test_a_spike_in_the_last_hour_alone_fires_on_the_last_hour(workspace):
    # Given Prospecting's spend tripled only since 14:00: under +50 % on the last 3 hours
    seed_spend(workspace.id, spike={"Prospecting": 3}, since=14)
    assert anomaly.recent_windows("spend") == (1, 3)
    # When the workspace's spend is judged at 14:20 (cut 14:15)
    [only] = evaluate(workspace.id, anomalous(), NOW).evaluations
    # Then the last hour (13:15 to 14:15) fires, and the message says so
    assert only.fires
    assert "in the last hour" in only.message


def test_a_campaigns_hour_is_material_below_the_days_volume_floor(workspace):
    # Given Retargeting's spend ×1.8 since 14:00: $45 in the last hour, under the $50 a day
    # so far needs, and under +50 % against the rest on the last 3 hours
    seed_spend(workspace.id, spike={"Retargeting": 1.8}, since=14)
    assert anomaly.RECENT_MIN_VOLUME["currency"] < 45 < anomaly.MIN_VOLUME["currency"]
    # When each campaign's spend is judged at 14:20 (cut 14:15)
    result = evaluate(workspace.id, anomalous(split="campaign"), NOW)
    # Then Retargeting fires on its last hour, Prospecting not
    fired = {e.split_label: e.fires for e in result.evaluations}
    assert fired == {"Prospecting": False, "Retargeting": True}
    [retargeting] = [e for e in result.evaluations if e.split_label == "Retargeting"]
    assert "in the last hour" in retargeting.message


def test_orders_and_revenue_keep_the_three_hour_window():
    # Given a metric other than spend, then only the 3-hour window is judged (an hour of
    # orders is lumpy: one large order)
    assert anomaly.recent_windows("store_revenue") == anomaly.recent_windows("orders") == (3,)


def test_the_same_data_without_the_spike_does_not_fire(workspace):
    # Given the same eight weeks and an ordinary today
    seed_spend(workspace.id)
    # When judged as a whole and by campaign
    results = [evaluate(workspace.id, anomalous(split=split), NOW) for split in (None, "campaign")]
    # Then every value has a verdict, none fires
    evaluations = [e for result in results for e in result.evaluations]
    assert len(evaluations) == 3
    assert all(e.reference is not None and not e.fires for e in evaluations)
    assert all("not anomalous" in e.message for e in evaluations)


def test_a_stale_connection_is_no_data_not_an_anomaly(workspace):
    # Given the spike, but the connection last synced at 11:00 (3 h 20 behind)
    seed_spend(workspace.id, spike={"Prospecting": 3})
    with transaction() as session:
        session.execute(
            update(Connection)
            .where(Connection.workspace_id == workspace.id)
            .values(last_synced_at=datetime.combine(TODAY, time(11), NEW_YORK))
        )
    # When the rule runs
    result = evaluate(workspace.id, anomalous(), NOW)
    # Then there is no verdict: no data, the data is stale
    [only] = result.evaluations
    assert (only.value, only.fires) == (None, False)
    assert only.message == "Ad spend today so far: no data (the data is stale)"
    # But yesterday is whole (synced past midnight) and judged
    [judged] = evaluate(workspace.id, anomalous(period="yesterday"), NOW).evaluations
    assert judged.value is not None and judged.reference is not None and not judged.fires


def test_an_anomalous_rule_is_validated_and_said_in_words():
    # Given a sensitivity, a baseline and a period an anomaly cannot take
    for fields, problem in (
        ({"threshold": 1}, "sensitivity, a robust z-score from 2 to 20"),
        ({"threshold": 21}, "from 2 to 20"),
        ({"baseline": "same_weekday"}, "an anomaly takes no baseline"),
        ({"period": "last_7_days"}, "judged over today or yesterday"),
    ):
        with pytest.raises(AlertRuleError, match=problem):
            anomalous(**fields)
    # And a valid rule reads as what it compares with
    rule = anomalous(threshold="4.5")
    assert rule.anomaly_words == "|z| ≥ 4.5 vs the same weekday and time of the last 8 weeks"


def rules_of(workspace_id: int) -> list[tuple[str, str | None, str | None]]:
    with new_session() as session:
        return [
            (metric, split, period)
            for metric, split, period in session.execute(
                select(AlertRule.metric, AlertRule.split, AlertRule.period)
                .where(AlertRule.workspace_id == workspace_id, AlertRule.owner_id.is_(None))
                .order_by(AlertRule.id)
            )
        ]


def test_the_default_rules_are_added_once_and_to_their_workspace_only(workspace, other_workspace):
    # Given a workspace without rules, when its defaults are ensured twice
    assert ensure_default_anomaly_rules(workspace.id, NOW) == len(DEFAULT_ANOMALY_RULES)
    assert ensure_default_anomaly_rules(workspace.id, NOW) == 0
    # Then it holds one anomalous workspace rule per family, each due in the future
    held = rules_of(workspace.id)
    assert held == [(r["metric"], r.get("split"), r["period"]) for r in DEFAULT_ANOMALY_RULES]
    with new_session() as session:
        due = session.scalars(
            select(AlertRule.next_run_at).where(AlertRule.workspace_id == workspace.id)
        ).all()
    assert all(d is not None and d > NOW for d in due)
    # And the other workspace has none until its own are ensured
    assert rules_of(other_workspace.id) == []
    # When one default is deleted, ensuring again brings back that one only
    with transaction() as session:
        session.execute(
            AlertRule.__table__.delete().where(
                AlertRule.workspace_id == workspace.id, AlertRule.metric == "orders"
            )
        )
    assert ensure_default_anomaly_rules(workspace.id, NOW) == 1
    with new_session() as session:
        counted = session.scalar(select(func.count()).where(AlertRule.workspace_id == workspace.id))
    assert counted == len(DEFAULT_ANOMALY_RULES)
