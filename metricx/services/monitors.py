"""A workspace's built-in monitors for the Alerts page and the CLI: listed (every kind, on by
default, created on first sight), edited by admins (on/off, parameters, channels, cool-down;
audited), and the history of what rules and monitors fired.

Every read is scoped by the workspace: another workspace's monitors and events are never
seen.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select

from metricx.actor import Actor
from metricx.alerts import monitors
from metricx.alerts.monitor_due import ensure_monitors
from metricx.alerts.rules import MAX_CHANNELS, MAX_COOLDOWN_MINUTES, Channel
from metricx.db import new_session, transaction
from metricx.errors import InvalidInputError
from metricx.models import MONITOR_KINDS, AlertEvent, AlertMonitor, AlertRule
from metricx.semantic.query import describe_errors
from metricx.services import audit

#: The most events `recent_events` returns at once.
MAX_EVENTS = 500


@dataclass(frozen=True)
class EventView:
    """One firing of a rule or a monitor."""

    id: int
    fired_at: datetime
    source: str  # "rule" | "monitor"
    name: str  # the rule's name, or the monitor's title
    window_key: str
    split_value: str | None
    message: str


@dataclass(frozen=True)
class MonitorView:
    """A monitor as the Alerts page shows it: `params` with the defaults filled in."""

    kind: str
    title: str
    meaning: str
    enabled: bool
    params: dict[str, Any]
    channels: list[dict[str, Any]]  # [] = the workspace's default channels (every admin)
    cooldown_minutes: int
    last_run_at: datetime | None
    last_event: EventView | None


def _event(row: AlertEvent, name: str) -> EventView:
    return EventView(
        row.id,
        row.fired_at,
        "rule" if row.rule_id is not None else "monitor",
        name,
        row.window_key,
        row.split_value,
        row.message,
    )


def _view(row: AlertMonitor, last: AlertEvent | None) -> MonitorView:
    kind = monitors.KINDS[row.kind]
    try:
        parsed = monitors.parse_params(row.kind, row.params)
        # validated again with its defaults: pydantic leaves a default as written (50, not
        # 50.0), and a form shows a float parameter of an int value as whole numbers only
        params = parsed.model_validate(parsed.model_dump()).model_dump()
    except InvalidInputError:  # saved under older rules: shown as stored (the job reports
        params = dict(row.params)  # the monitor failing until an admin saves valid ones)
    return MonitorView(
        row.kind,
        kind.title,
        kind.meaning,
        row.enabled,
        params,
        list(row.channels or []),
        row.cooldown_minutes,
        row.last_run_at,
        None if last is None else _event(last, kind.title),
    )


def _last_events(workspace_id: int, monitor_ids: list[int]) -> dict[int, AlertEvent]:
    with new_session() as session:
        latest = (
            select(func.max(AlertEvent.id))
            .where(AlertEvent.workspace_id == workspace_id, AlertEvent.monitor_id.in_(monitor_ids))
            .group_by(AlertEvent.monitor_id)
        )
        rows = session.scalars(
            select(AlertEvent).where(
                AlertEvent.workspace_id == workspace_id, AlertEvent.id.in_(latest)
            )
        )
        return {row.monitor_id: row for row in rows if row.monitor_id is not None}


def list_monitors(actor: Actor) -> list[MonitorView]:
    """Every monitor of the actor's workspace, in MONITOR_KINDS' order (missing kinds are
    created first, enabled with their defaults)."""
    with transaction() as session:
        ensure_monitors(session, actor.workspace_id)
    with new_session() as session:
        rows = list(
            session.scalars(
                select(AlertMonitor).where(AlertMonitor.workspace_id == actor.workspace_id)
            )
        )
    last = _last_events(actor.workspace_id, [r.id for r in rows])
    rows.sort(key=lambda r: MONITOR_KINDS.index(r.kind))
    return [_view(r, last.get(r.id)) for r in rows]


def _channels(channels: object) -> list[dict[str, Any]]:
    if not isinstance(channels, list):
        raise InvalidInputError(
            'channels must be a list such as [{"kind": "email", "to": "..."}, {"kind": "slack"}]'
        )
    if len(channels) > MAX_CHANNELS:
        raise InvalidInputError(f"a monitor has at most {MAX_CHANNELS} channels")
    parsed = []
    for at, channel in enumerate(channels):
        try:
            parsed.append(Channel.model_validate(channel).model_dump(mode="json"))
        except ValidationError as exc:
            raise InvalidInputError(
                describe_errors(exc).replace("invalid query", f"invalid channel {at + 1}", 1)
            ) from None
    return parsed


def _cooldown(minutes: object) -> int:
    if isinstance(minutes, bool) or not isinstance(minutes, int):
        raise InvalidInputError("the cool-down is a whole number of minutes")
    if not 0 <= minutes <= MAX_COOLDOWN_MINUTES:
        raise InvalidInputError(
            f"the cool-down is 0 to {MAX_COOLDOWN_MINUTES} minutes (a week), got {minutes}"
        )
    return minutes


def update_monitor(
    actor: Actor,
    kind: str,
    *,
    enabled: bool | None = None,
    params: Mapping[str, Any] | None = None,
    channels: list[dict[str, Any]] | None = None,
    cooldown_minutes: int | None = None,
) -> MonitorView:
    """Change a monitor of the actor's workspace (admins only): what is given replaces what
    was stored (`params` whole: keys left out take their defaults); audited."""
    actor.require_admin("change the built-in monitors")
    monitors.kind_of(kind)
    changes: dict[str, Any] = {}
    if enabled is not None:
        if not isinstance(enabled, bool):
            raise InvalidInputError("enabled is true or false")
        changes["enabled"] = enabled
    if params is not None:
        # stored as given once validated (coerced: "120" minutes is 120), defaults left out
        # so a later default applies to what an admin never set
        changes["params"] = monitors.parse_params(kind, params).model_dump(
            mode="json", exclude_unset=True
        )
    if channels is not None:
        changes["channels"] = _channels(channels)
    if cooldown_minutes is not None:
        changes["cooldown_minutes"] = _cooldown(cooldown_minutes)
    with transaction() as session:
        ensure_monitors(session, actor.workspace_id)
        row = session.scalar(
            select(AlertMonitor)
            .where(AlertMonitor.workspace_id == actor.workspace_id, AlertMonitor.kind == kind)
            .with_for_update()
        )
        assert row is not None, "ensure_monitors created every kind"
        for name, value in changes.items():
            setattr(row, name, value)
        audit.record(session, actor, "alert_monitor.update", kind, **changes)
        monitor_id = row.id
    with new_session() as session:
        row = session.get_one(AlertMonitor, monitor_id)
        return _view(row, _last_events(actor.workspace_id, [monitor_id]).get(monitor_id))


def recent_events(actor: Actor, limit: int = 50) -> list[EventView]:
    """What the workspace's rules and monitors fired, newest first (a member sees the
    firings of workspace rules, monitors and their own personal rules)."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_EVENTS:
        raise InvalidInputError(f"the number of events is 1 to {MAX_EVENTS}")
    visible = AlertEvent.workspace_id == actor.workspace_id
    if not actor.is_admin:
        visible &= (
            (AlertEvent.monitor_id.is_not(None))
            | (AlertRule.owner_id.is_(None))
            | (AlertRule.owner_id == actor.user_id)
        )
    with new_session() as session:
        rows = session.execute(
            select(AlertEvent, AlertRule.name, AlertMonitor.kind)
            .outerjoin(
                AlertRule,
                (AlertRule.id == AlertEvent.rule_id)
                & (AlertRule.workspace_id == actor.workspace_id),
            )
            .outerjoin(
                AlertMonitor,
                (AlertMonitor.id == AlertEvent.monitor_id)
                & (AlertMonitor.workspace_id == actor.workspace_id),
            )
            .where(visible)
            .order_by(AlertEvent.fired_at.desc(), AlertEvent.id.desc())
            .limit(limit)
        ).all()
    return [
        _event(
            event,
            rule_name if rule_name is not None else monitors.KINDS[kind].title if kind else "",
        )
        for event, rule_name, kind in rows
    ]
