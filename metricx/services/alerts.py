"""A workspace's alert rules: added, listed, tried and deleted (docs/design.md "Alerts").

Workspace rules (no owner) are the admins': only they add or delete them. A member adds and
deletes personal rules of their own, and sees the workspace's rules and their own; admins
see and may delete every rule of the workspace. Every change is audited; every read is
scoped by the workspace, so another workspace's rule id is "not found".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from metricx.actor import Actor
from metricx.alerts import schedule
from metricx.alerts.anomaly_defaults import ensure_default_anomaly_rules
from metricx.alerts.evaluate import RuleEvaluation, evaluate
from metricx.alerts.rules import AlertRuleError, Rule, check_in
from metricx.db import new_session, transaction
from metricx.errors import InvalidInputError, NotFoundError
from metricx.models import AlertRule, User, Workspace
from metricx.services import audit
from metricx.services.custom_definitions import definitions
from metricx.validation import MAX_INT, record_id

#: The most rules one workspace holds (every one is evaluated up to every 15 minutes).
MAX_RULES = 200


@dataclass(frozen=True)
class SavedRule:
    """A stored rule as pages and the CLI show it."""

    id: int
    rule: Rule
    owner_email: str | None  # None: a workspace rule
    next_run_at: datetime | None
    last_run_at: datetime | None

    @property
    def scope(self) -> str:
        if self.owner_email is None:
            return "workspace rule"
        return f"personal rule of {self.owner_email}"


def _saved(row: AlertRule, owner_email: str | None) -> SavedRule:
    return SavedRule(row.id, Rule.of(row), owner_email, row.next_run_at, row.last_run_at)


def _visible(actor: Actor) -> Any:
    """The rules `actor` may see: all for admins; the workspace's and their own otherwise."""
    if actor.is_admin:
        return AlertRule.workspace_id == actor.workspace_id
    return (AlertRule.workspace_id == actor.workspace_id) & or_(
        AlertRule.owner_id.is_(None), AlertRule.owner_id == actor.user_id
    )


def _rule_row(session: Session, actor: Actor, rule_id: object) -> AlertRule:
    number = record_id(rule_id, "the rule id", MAX_INT)
    row = session.scalar(
        select(AlertRule).where(AlertRule.id == number, _visible(actor)).with_for_update()
    )
    if row is None:
        raise NotFoundError(f"no alert rule {number} in this workspace (see `metricx alert list`)")
    return row


def add_rule(
    actor: Actor,
    fields: Rule | Mapping[str, Any],
    personal: bool = False,
    now: datetime | None = None,
) -> SavedRule:
    """Save a rule: a workspace rule (admins), or with `personal` one of the actor's own."""
    if not personal:
        actor.require_admin("add workspace alert rules (add it as a personal rule instead)")
    elif actor.user_id is None:
        raise InvalidInputError("a personal alert rule belongs to a user; sign in to add one")
    rule = Rule.parse(fields)
    check_in(rule, definitions(actor.workspace_id))
    moment = now or datetime.now(UTC)
    with transaction() as session:
        held = session.scalar(
            select(func.count()).where(AlertRule.workspace_id == actor.workspace_id)
        )
        if (held or 0) >= MAX_RULES:
            raise AlertRuleError(
                f"a workspace holds at most {MAX_RULES} alert rules; delete one first"
            )
        tz = session.get_one(Workspace, actor.workspace_id).timezone
        row = AlertRule(
            workspace_id=actor.workspace_id,
            owner_id=actor.user_id if personal else None,
            created_by=actor.user_id,
            next_run_at=schedule.next_run_after(rule.schedule, rule.local_hour, tz, moment),
            **rule.stored(),
        )
        session.add(row)
        session.flush()
        audit.record(session, actor, "alert_rule.add", str(row.id), **rule.model_dump(mode="json"))
        return _saved(row, actor.label if personal else None)


def add_recommended_rules(actor: Actor, now: datetime | None = None) -> int:
    """Add the recommended anomaly rules (one per metric family, metricx.alerts.
    anomaly_defaults) the workspace lacks (admins); how many were added."""
    actor.require_admin("add workspace alert rules")
    added = ensure_default_anomaly_rules(actor.workspace_id, now)
    with transaction() as session:
        audit.record(session, actor, "alert_rule.recommended", str(actor.workspace_id), added=added)
    return added


def list_rules(actor: Actor) -> list[SavedRule]:
    """The rules `actor` sees, workspace rules first, then by id."""
    with new_session() as session:
        rows = session.execute(
            select(AlertRule, User.email)
            .outerjoin(User, User.id == AlertRule.owner_id)
            .where(_visible(actor))
            .order_by(AlertRule.owner_id.is_not(None), AlertRule.id)
        )
        return [_saved(row, email) for row, email in rows]


def test_rule(actor: Actor, rule_id: object, now: datetime | None = None) -> RuleEvaluation:
    """What the rule would say at `now` (default: now): its numbers and what would fire,
    nothing recorded and its schedule untouched."""
    with new_session() as session:
        rule = Rule.of(_rule_row(session, actor, rule_id))
    return evaluate(actor.workspace_id, rule, now)


def delete_rule(actor: Actor, rule_id: object) -> None:
    """Delete a rule (and what it fired): admins any, members their own personal ones."""
    with transaction() as session:
        row = _rule_row(session, actor, rule_id)
        if row.owner_id is None or row.owner_id != actor.user_id:
            actor.require_admin("delete workspace alert rules")
        audit.record(session, actor, "alert_rule.delete", str(row.id), name=row.name)
        session.delete(row)
