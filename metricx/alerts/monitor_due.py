"""The built-in monitors' job: every workspace has each kind (`ensure_monitors`), and every
enabled one is checked every 15 minutes with the rules (`evaluate_monitors`), its findings
recorded once per window and split value, quiet through its cool-down.

Like metricx.alerts.due, each monitor is taken in its own transaction with its row locked
(SKIP LOCKED): two workers running the job at once split the monitors instead of checking
one twice, and a crash before the commit leaves the findings unrecorded for the retry. A
check that fails with a MetricxError (a missing exchange rate, say) is logged and counted,
and the others still run.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from metricx.alerts import monitors, schedule
from metricx.alerts.firings import record_firings
from metricx.db import new_session, transaction
from metricx.errors import MetricxError
from metricx.models import MONITOR_KINDS, AlertMonitor, Workspace

log = logging.getLogger(__name__)


def ensure_monitors(session: Session, workspace_id: int) -> None:
    """Give the workspace every monitor kind it lacks, enabled with its defaults (safe to run
    concurrently: the (workspace, kind) key keeps one row each)."""
    session.execute(
        insert(AlertMonitor)
        .values(
            [
                {
                    "workspace_id": workspace_id,
                    "kind": kind,
                    "enabled": True,
                    "params": {},
                    "channels": [],
                    "cooldown_minutes": 360,
                }
                for kind in MONITOR_KINDS
            ]
        )
        .on_conflict_do_nothing(index_elements=[AlertMonitor.workspace_id, AlertMonitor.kind])
    )


def _enabled(workspace_id: int) -> list[int]:
    with new_session() as session:
        return list(
            session.scalars(
                select(AlertMonitor.id)
                .where(AlertMonitor.workspace_id == workspace_id, AlertMonitor.enabled)
                .order_by(AlertMonitor.id)
            )
        )


def evaluate_monitors(workspace_id: int, now: datetime | None = None) -> dict[str, int]:
    """Check the workspace's enabled monitors at `now` (default: now); how many were
    checked, how many findings were recorded and how many checks failed."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    with new_session() as session:
        tz = session.get_one(Workspace, workspace_id).timezone
    window = schedule.window_key(schedule.latest_run_at("after_sync", None, tz, moment), tz)
    counts = {"evaluated": 0, "fired": 0, "failed": 0}
    for monitor_id in _enabled(workspace_id):
        with transaction() as session:
            row = session.scalar(
                select(AlertMonitor)
                .where(
                    AlertMonitor.id == monitor_id,
                    AlertMonitor.workspace_id == workspace_id,
                    AlertMonitor.enabled,
                )
                .with_for_update(skip_locked=True)
            )
            if row is None:  # another worker has it, or it was switched off meanwhile
                continue
            try:
                findings = monitors.check(row.kind, workspace_id, row.params, moment)
            except MetricxError as problem:
                log.warning("monitor %s of workspace %s: %s", row.kind, workspace_id, problem)
                counts["failed"] += 1
            else:
                recorded = record_firings(
                    session,
                    workspace_id=workspace_id,
                    monitor_id=row.id,
                    cooldown_minutes=row.cooldown_minutes,
                    window=window,
                    firings=findings,
                    now=moment,
                )
                counts["evaluated"] += 1
                counts["fired"] += len(recorded)
            row.last_run_at = moment
    return counts
