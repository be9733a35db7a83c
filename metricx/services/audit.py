"""The audit log: who did which admin action, written in the same transaction as the action."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from metricx.actor import Actor
from metricx.db import new_session
from metricx.models import AuditLog


def record(
    session: Session, actor: Actor, action: str, target: str | None = None, **details: Any
) -> None:
    session.add(
        AuditLog(
            workspace_id=actor.workspace_id,
            user_id=actor.user_id,
            actor=actor.label,
            action=action,
            target=target,
            details=details,
        )
    )


def recent(workspace_id: int, limit: int = 50) -> list[AuditLog]:
    with new_session() as session:
        rows = session.scalars(
            select(AuditLog)
            .where(AuditLog.workspace_id == workspace_id)
            .order_by(AuditLog.created_at.desc(), AuditLog.id.desc())
            .limit(limit)
        )
        return list(rows)
