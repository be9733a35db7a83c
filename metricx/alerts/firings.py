"""Firings recorded as `alert_events`, for rules and built-in monitors alike: each once per
window and split value (the table's unique key, NULLs equal, with ON CONFLICT DO NOTHING: a
window evaluated again records nothing more) and none for a split value of the same rule or
monitor that fired within its cool-down.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol, TypeVar

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from metricx.models import AlertEvent


class Firing(Protocol):
    """What a firing records: its split value (None: unsplit), its value, the baseline it
    was compared with (None: a threshold or no baseline) and its message."""

    @property
    def split_value(self) -> str | None: ...
    @property
    def value(self) -> float | None: ...
    @property
    def reference(self) -> float | None: ...
    @property
    def message(self) -> str: ...


F = TypeVar("F", bound=Firing)


def _number(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(repr(float(value)))


def record_firings(
    session: Session,
    *,
    workspace_id: int,
    rule_id: int | None = None,
    monitor_id: int | None = None,
    cooldown_minutes: int,
    window: str,
    firings: Sequence[F],
    now: datetime,
) -> list[tuple[int, F]]:
    """Record `firings` of one window of a rule or a monitor (exactly one of `rule_id`,
    `monitor_id`) in `session`'s transaction; the ones recorded now, with their event ids.
    A firing without a value is not recorded (no data never fires)."""
    if (rule_id is None) == (monitor_id is None):
        raise ValueError("a firing is either a rule's or a monitor's")
    source = (
        AlertEvent.rule_id == rule_id
        if rule_id is not None
        else (AlertEvent.monitor_id == monitor_id)
    )
    candidates = [f for f in firings if f.value is not None]
    if not candidates:
        return []
    quiet = set(
        session.scalars(
            select(AlertEvent.split_value).where(
                AlertEvent.workspace_id == workspace_id,
                source,
                AlertEvent.fired_at > now - timedelta(minutes=cooldown_minutes),
            )
        )
    )
    due = {f.split_value: f for f in candidates if f.split_value not in quiet}
    if not due:
        return []
    rows = [
        {
            "workspace_id": workspace_id,
            "rule_id": rule_id,
            "monitor_id": monitor_id,
            "window_key": window,
            "split_value": split_value,
            "value": _number(f.value),
            "reference": _number(f.reference),
            "message": f.message,
            "fired_at": now,
        }
        for split_value, f in due.items()
    ]
    recorded = session.execute(
        insert(AlertEvent)
        .values(rows)
        .on_conflict_do_nothing()
        .returning(AlertEvent.id, AlertEvent.split_value)
    ).all()
    return [(event_id, due[split_value]) for event_id, split_value in recorded]
