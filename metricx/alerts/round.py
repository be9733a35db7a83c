"""The alerts round, every 15 minutes for every workspace: its built-in monitors and digests
made sure of, then its due rules, monitors and digests evaluated, then a delivery enqueued
per channel for each rule's or monitor's window of firings that has none yet (one message
listing its findings; metricx.delivery.outbox).

Each step takes its rows in transactions of its own, so a failure in one workspace's step
is logged and the next workspace still runs; deliveries are enqueued under dedupe keys, so
a round run twice (two schedulers, a retried job) delivers each firing once.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from metricx.alerts import due as rules_due
from metricx.alerts.monitor_due import ensure_monitors, evaluate_monitors
from metricx.db import new_session, transaction
from metricx.delivery import outbox
from metricx.digests.due import ensure_default_digests, run_due_digests
from metricx.errors import MetricxError
from metricx.models import Workspace

log = logging.getLogger(__name__)

#: How far back a round looks for firings without deliveries: a round that failed, or a
#: worker that died after recording firings, is caught up by the next rounds of the day.
CATCH_UP = timedelta(hours=24)


def workspace_ids() -> list[int]:
    with new_session() as session:
        return list(session.scalars(select(Workspace.id).order_by(Workspace.id)))


def run_round(workspace_id: int, now: datetime | None = None) -> dict[str, int]:
    """One workspace's round at `now` (default: now): what was evaluated, fired and
    enqueued. Queues nothing: `outbox.dispatch_pending` does, after the rounds."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    with transaction() as session:
        ensure_monitors(session, workspace_id)
        ensure_default_digests(session, workspace_id, moment)
    rules = rules_due.evaluate_due(workspace_id, moment)
    monitors = evaluate_monitors(workspace_id, moment)
    digests = run_due_digests(workspace_id, moment)
    enqueued = outbox.enqueue_event_deliveries(workspace_id, moment - CATCH_UP)
    return {
        "rules_fired": rules["fired"],
        "monitors_fired": monitors["fired"],
        "digests": digests,
        "deliveries": enqueued,
    }


def run_all(now: datetime | None = None) -> int:
    """Every workspace's round, then every pending delivery queued; how many firings."""
    fired = 0
    for workspace_id in workspace_ids():
        try:
            counts = run_round(workspace_id, now)
        except MetricxError as problem:
            log.warning("alerts round of workspace %s: %s", workspace_id, problem)
            continue
        fired += counts["rules_fired"] + counts["monitors_fired"]
    outbox.dispatch_pending()
    return fired
