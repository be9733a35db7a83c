"""The alerts job: every enabled rule of a workspace whose next run has come is evaluated
once, its firings recorded under the run's window, and its next run set.

Each rule is taken in its own transaction with its row locked (SKIP LOCKED): two workers
running the job at once split the rules instead of evaluating one twice, and a crash before
the commit leaves the rule due, its firings unrecorded, for the retry (which records them
once: metricx.alerts.evaluate.record). A rule that cannot be evaluated (a custom metric
deleted since, a missing exchange rate) is logged and moved to its next run, so it does
not block the others.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from metricx.alerts import schedule
from metricx.alerts.evaluate import evaluate, record
from metricx.alerts.rules import Rule
from metricx.db import new_session, transaction
from metricx.errors import MetricxError
from metricx.models import AlertRule, Digest, Workspace

log = logging.getLogger(__name__)
Scheduled = TypeVar("Scheduled", AlertRule, Digest)


def each_due(
    model: type[Scheduled], workspace_id: int, moment: datetime
) -> Iterator[tuple[Session, Scheduled]]:
    """Each enabled row of `model` (rules, digests) of the workspace due at `moment`, in a
    transaction of its own with the row locked (SKIP LOCKED: a row another worker holds, or
    one that has run meanwhile, is passed over); the transaction commits when the caller
    asks for the next row."""
    due = (
        model.workspace_id == workspace_id,
        model.enabled,
        model.next_run_at <= moment,
    )
    with new_session() as session:
        ids = list(
            session.scalars(select(model.id).where(*due).order_by(model.next_run_at, model.id))
        )
    for row_id in ids:
        with transaction() as session:
            row = session.scalar(
                select(model).where(model.id == row_id, *due).with_for_update(skip_locked=True)
            )
            if row is not None:
                yield session, row


def evaluate_due(workspace_id: int, now: datetime | None = None) -> dict[str, int]:
    """Run the workspace's due rules at `now` (default: now); how many were evaluated, how
    many firings were recorded and how many rules failed."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    with new_session() as session:
        tz = session.get_one(Workspace, workspace_id).timezone
    counts = {"evaluated": 0, "fired": 0, "failed": 0}
    for session, row in each_due(AlertRule, workspace_id, moment):
        rule = Rule.of(row)
        slot = schedule.latest_run_at(rule.schedule, rule.local_hour, tz, moment)
        try:
            outcome = evaluate(workspace_id, rule, moment)
        except MetricxError as problem:
            log.warning("alert rule %s of workspace %s: %s", row.id, workspace_id, problem)
            counts["failed"] += 1
        else:
            window = schedule.window_key(slot, tz)
            fired = record(
                session, workspace_id, row.id, rule.cooldown_minutes, window, outcome, moment
            )
            counts["evaluated"] += 1
            counts["fired"] += len(fired)
        row.last_run_at = moment
        row.next_run_at = schedule.next_run_after(rule.schedule, rule.local_hour, tz, moment)
    return counts
