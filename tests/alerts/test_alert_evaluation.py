"""Rules evaluated on the synced sandbox merchant (New York, USD, Nov 8 - 19, 2026): their
numbers are `run_query`'s exactly, split values each judged, a change measured against its
baseline; a period without data is "no data", never 0; the job records a firing once per
window, stays quiet through the cool-down and moves every rule to its next run."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from metricx import jobs
from metricx.alerts.due import evaluate_due
from metricx.alerts.evaluate import evaluate, record
from metricx.alerts.rules import Rule
from metricx.db import new_session, transaction
from metricx.models import AlertEvent, AlertRule
from metricx.platforms import AD_PROVIDERS
from metricx.semantic.engine import run_query
from metricx.services import alerts, custom_definitions

#: Friday Nov 20, 2026, 10:07 in New York: yesterday is Nov 19, the last synced day.
NOW = datetime(2026, 11, 20, 15, 7, tzinfo=UTC)
NOV_19 = {"start": "2026-11-19", "end": "2026-11-19"}


def engine(workspace_id: int, metric: str, span: dict, split: str | None = None) -> dict:
    """The engine's own numbers: split value (name) -> value."""
    frame = run_query(
        workspace_id,
        {"metrics": [metric], "time_range": span, "dimensions": [split] if split else []},
    ).frame
    return {(row[split] if split else None): row[metric] for _, row in frame.iterrows()}


def rule(**fields: object) -> Rule:
    return Rule.parse({"name": "watch", "period": "yesterday", **fields})


def events(rule_id: int) -> list[tuple[str, str | None]]:
    with new_session() as session:
        return list(
            session.execute(
                select(AlertEvent.window_key, AlertEvent.split_value)
                .where(AlertEvent.rule_id == rule_id)
                .order_by(AlertEvent.id)
            )
        )


def test_spend_above_a_threshold_split_by_platform_is_judged_on_the_engines_numbers(synced):
    workspace_id, _ = synced
    # Given yesterday's spend per platform, as the engine reports it
    spend = engine(workspace_id, "spend", NOV_19, "provider")
    *_, second, high = sorted(spend.values())
    assert second < high
    # When a rule fires above a threshold between the two highest
    threshold = round((second + high) / 2, 2)
    result = evaluate(
        workspace_id,
        rule(metric="spend", condition="above", threshold=threshold, split="provider"),
        NOW,
    )
    # Then each platform's value is the engine's exactly, and only the higher one fires
    assert {e.split_label: e.value for e in result.evaluations} == spend
    assert [e.split_label for e in result.firing] == [k for k, v in spend.items() if v == high]
    assert result.firing[0].message.startswith("Ad spend yesterday (")
    assert f"above ${threshold:,.2f}" in result.firing[0].message


def test_roas_falling_against_the_previous_period_reads_both_days_from_the_engine(synced):
    workspace_id, _ = synced
    # Given ROAS of Nov 19 and of the day before, as the engine reports them
    today = engine(workspace_id, "roas", NOV_19)[None]
    before = engine(workspace_id, "roas", {"start": "2026-11-18", "end": "2026-11-18"})[None]
    change = (today - before) / before * 100
    condition = "falls_by" if change < 0 else "rises_by"
    # When it is watched for a change just under and just over the one that happened
    fired = {}
    for threshold in (abs(change) * 0.9, abs(change) * 1.1):
        result = evaluate(
            workspace_id,
            rule(metric="roas", condition=condition, threshold=round(threshold, 4)),
            NOW,
        )
        [only] = result.evaluations
        # Then its value and baseline are the engine's
        assert (only.value, only.reference) == (today, before)
        fired[threshold] = only.fires
    # And it fires for the smaller change only
    assert list(fired.values()) == [True, False]


def test_a_same_weekday_baseline_is_the_median_of_the_four_weeks_before(synced):
    workspace_id, _ = synced
    # Given the last 7 days' ROAS and that of each of the four 7-day spans before them
    weeks = [
        engine(
            workspace_id,
            "roas",
            {
                "start": str(datetime(2026, 11, 13).date() - timedelta(weeks=k)),
                "end": str(datetime(2026, 11, 19).date() - timedelta(weeks=k)),
            },
        )[None]
        for k in range(1, 5)
    ]
    # When a rule compares with the same weekdays of the last weeks
    result = evaluate(
        workspace_id,
        rule(
            metric="roas",
            condition="rises_by",
            threshold=1,
            period="last_7_days",
            baseline="same_weekday",
        ),
        NOW,
    )
    # Then the reference is the median of the weeks that have data (before Nov 8: none)
    [only] = result.evaluations
    assert only.reference == statistics.median(w for w in weeks if w == w)
    assert "the same weekday of the last 4 weeks (median)" in only.message


def test_a_period_with_no_data_is_no_data_not_zero_and_never_fires(synced):
    workspace_id, _ = synced
    # Given a month after the last sync, when the engine counts yesterday's spend as 0
    later = NOW + timedelta(days=30)
    assert engine(workspace_id, "spend", {"start": "2026-12-19", "end": "2026-12-19"}) == {None: 0}
    # When a rule fires below $1 of spend yesterday
    result = evaluate(workspace_id, rule(metric="spend", condition="below", threshold=1), later)
    # Then it says "no data" and does not fire
    [only] = result.evaluations
    assert (only.value, only.fires) == (None, False)
    assert only.message == "Ad spend yesterday: no data"


def test_a_window_evaluated_twice_records_its_firing_once(synced, admin):
    workspace_id, _ = synced
    # Given a stored unsplit rule that fires (any spend at all)
    saved = alerts.add_rule(
        admin, {"name": "any spend", "metric": "spend", "condition": "above", "threshold": 0}
    )
    outcome = evaluate(workspace_id, saved.rule, NOW)
    assert outcome.firing
    # When the same window is recorded twice, with no cool-down to hide the second
    for _ in range(2):
        with transaction() as session:
            record(session, workspace_id, saved.id, 0, "2026-11-20T10:00-05:00", outcome, NOW)
    # Then one firing is stored
    assert events(saved.id) == [("2026-11-20T10:00-05:00", None)]


def test_the_job_runs_due_rules_once_per_window_quiet_through_the_cooldown(synced, admin):
    workspace_id, _ = synced
    # Given an hourly rule per platform with a 90-minute cool-down, added at 09:30 New York
    saved = alerts.add_rule(
        admin,
        {
            "name": "Spending",
            "metric": "spend",
            "condition": "above",
            "threshold": 0,
            "period": "yesterday",
            "split": "provider",
            "schedule": "hourly",
            "cooldown_minutes": 90,
        },
        now=NOW - timedelta(minutes=37),
    )
    assert saved.next_run_at == datetime(2026, 11, 20, 15, tzinfo=UTC)
    # When the job runs at 10:07, again at once, then an hour and two hours later
    runs = [evaluate_due(workspace_id, NOW + timedelta(hours=h)) for h in (0, 0, 1, 2)]
    # Then the rule ran in three windows; every platform fired in the first and the third,
    # the second being within the cool-down
    platforms = len(AD_PROVIDERS)
    assert [r["evaluated"] for r in runs] == [1, 0, 1, 1]
    assert [r["fired"] for r in runs] == [platforms, 0, 0, platforms]
    assert sorted(key for key, _ in events(saved.id)) == [
        *["2026-11-20T10:00-05:00"] * platforms,
        *["2026-11-20T12:00-05:00"] * platforms,
    ]
    # And its next run is the next local hour
    with new_session() as session:
        row = session.get_one(AlertRule, saved.id)
        assert (row.last_run_at, row.next_run_at) == (
            NOW + timedelta(hours=2),
            datetime(2026, 11, 20, 18, tzinfo=UTC),
        )


def test_the_job_skips_disabled_rules_and_other_workspaces(synced, admin, other_workspace):
    workspace_id, _ = synced
    # Given a disabled rule here
    alerts.add_rule(
        admin,
        {"name": "off", "metric": "spend", "condition": "above", "threshold": 0, "enabled": False},
        now=NOW - timedelta(hours=1),
    )
    # When the job runs here and for another workspace
    # Then nothing is evaluated, and no firing stored
    assert evaluate_due(workspace_id, NOW) == {"evaluated": 0, "fired": 0, "failed": 0}
    assert evaluate_due(other_workspace.id, NOW) == {"evaluated": 0, "fired": 0, "failed": 0}
    with new_session() as session:
        assert session.scalar(select(func.count()).select_from(AlertEvent)) == 0


def test_a_rule_that_cannot_be_evaluated_fails_alone_and_moves_on(synced, admin):
    workspace_id, _ = synced
    # Given a due rule on a custom metric that has been deleted since
    custom_definitions.save_metric(
        admin, "meta_spend", {"label": "Meta spend", "formula": "spend[provider=meta]"}
    )
    saved = alerts.add_rule(
        admin,
        {"name": "x", "metric": "meta_spend", "condition": "above", "threshold": 0},
        now=NOW - timedelta(hours=1),
    )
    custom_definitions.delete_definition(admin, "metric", "meta_spend")
    # When the job runs
    # Then it counts the failure, records nothing and sets the next run
    assert evaluate_due(workspace_id, NOW) == {"evaluated": 0, "fired": 0, "failed": 1}
    assert events(saved.id) == []
    with new_session() as session:
        assert session.get_one(AlertRule, saved.id).next_run_at > NOW


@pytest.mark.parametrize("period", ["today", "yesterday", "last_7_days"])
def test_every_period_reads_the_engine_over_its_days(synced, period):
    workspace_id, _ = synced
    # Given spend watched over each period at 10:07 on Nov 20
    result = evaluate(
        workspace_id, rule(metric="spend", condition="above", threshold=0, period=period), NOW
    )
    # Then the period is the workspace's days: today cut at the minute, or whole days before
    span = result.period
    assert span is not None
    expected = {
        "today": ("2026-11-20", "2026-11-20", "10:07:00"),
        "yesterday": ("2026-11-19", "2026-11-19", None),
        "last_7_days": ("2026-11-13", "2026-11-19", None),
    }[period]
    assert (str(span.start), str(span.end), span.until and str(span.until)) == expected
    # And the value is the engine's over it
    [only] = result.evaluations
    assert only.value == engine(workspace_id, "spend", span.model_dump(mode="json"))[None]


def test_the_scheduled_job_runs_the_rules_of_every_workspace(synced, admin, redis_conn):
    # Given a synced workspace with a rule, due since it was added three weeks ago
    saved = alerts.add_rule(
        admin,
        {"name": "Spending", "metric": "spend", "condition": "above", "threshold": 0},
        now=NOW,
    )
    # When the schedule's alerts job runs
    before = datetime.now(UTC)
    jobs.evaluate_alerts_all()
    # Then the rule was evaluated now and its next run is ahead
    with new_session() as session:
        row = session.get_one(AlertRule, saved.id)
        assert row.last_run_at is not None and row.last_run_at >= before
        assert row.next_run_at is not None and row.next_run_at > row.last_run_at
