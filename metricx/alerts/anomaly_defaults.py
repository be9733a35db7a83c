"""The anomaly rules every workspace starts with (issue #16): one workspace rule per metric
family, at the sensitivity bench/bench_anomaly.py chose.

Today's sums (spend per campaign, store revenue, orders, the pixel's attributed orders) are
judged every hour; the ratios (ROAS, CPA, conversion rate) on yesterday, each morning,
because Meta reports conversions per day only and the engine leaves a cut day's conversion
metrics empty.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from metricx.alerts import anomaly, schedule
from metricx.alerts.rules import Rule
from metricx.db import transaction
from metricx.models import AlertRule, Workspace

#: Minutes a firing split value stays quiet: one alert per incident per working morning.
COOLDOWN_MINUTES = 360
#: When yesterday's ratios are judged (local hour: the night's syncs are in).
MORNING_HOUR = 7

_TODAY: dict[str, Any] = {"period": "today", "schedule": "hourly"}
_YESTERDAY: dict[str, Any] = {
    "period": "yesterday",
    "schedule": "daily",
    "local_hour": MORNING_HOUR,
}

DEFAULT_ANOMALY_RULES: tuple[dict[str, Any], ...] = tuple(
    {
        "condition": "anomalous",
        "threshold": anomaly.DEFAULT_SENSITIVITY,
        "cooldown_minutes": COOLDOWN_MINUTES,
        **fields,
    }
    for fields in (
        {"name": "Unusual ad spend by campaign", "metric": "spend", "split": "campaign", **_TODAY},
        {"name": "Unusual store revenue", "metric": "store_revenue", **_TODAY},
        {"name": "Unusual orders", "metric": "orders", **_TODAY},
        # the pixel's orders (a pixel that stops entirely shows sooner in its page views:
        # the tracking_drop monitor's pixel silence, metricx.alerts.monitors.pixel_silence)
        {"name": "Unusual attributed orders (pixel)", "metric": "attributed_orders", **_TODAY},
        {"name": "Unusual ROAS", "metric": "roas", **_YESTERDAY},
        {"name": "Unusual CPA", "metric": "cpa", **_YESTERDAY},
        {"name": "Unusual conversion rate", "metric": "cvr", **_YESTERDAY},
    )
)


def ensure_default_anomaly_rules(workspace_id: int, now: datetime | None = None) -> int:
    """Add the default anomaly rules the workspace lacks as workspace rules (owner none);
    a rule counts as present when a workspace rule watches the same metric, split and
    period for anomalies (renamed, disabled or re-tuned ones included: a deleted one comes
    back).
    Idempotent; returns how many were added."""
    moment = now or datetime.now(UTC)
    with transaction() as session:
        tz = session.get_one(Workspace, workspace_id).timezone
        present = {
            (metric, split, period)
            for metric, split, period in session.execute(
                select(AlertRule.metric, AlertRule.split, AlertRule.period).where(
                    AlertRule.workspace_id == workspace_id,
                    AlertRule.owner_id.is_(None),
                    AlertRule.condition == "anomalous",
                )
            )
        }
        added = 0
        for fields in DEFAULT_ANOMALY_RULES:
            rule = Rule.parse(fields)
            if (rule.metric, rule.split, rule.period) in present:
                continue
            session.add(
                AlertRule(
                    workspace_id=workspace_id,
                    owner_id=None,
                    created_by=None,
                    next_run_at=schedule.next_run_after(rule.schedule, rule.local_hour, tz, moment),
                    **rule.stored(),
                )
            )
            added += 1
    return added
