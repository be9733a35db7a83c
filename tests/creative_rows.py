"""What the creatives sync tests read back: a connection's stored creatives and which creative
each of its ads points at, after a sync of a few days through the real pipeline."""

from __future__ import annotations

from datetime import timedelta

from sandbox_fixtures import NOW
from sqlalchemy import select

from metricx.db import transaction
from metricx.models import Creative, Entity
from metricx.sync.pipeline import sync_connection


def stored_creatives(connection_id: int) -> dict[str, Creative]:
    with transaction() as session:
        rows = session.scalars(select(Creative).where(Creative.connection_id == connection_id))
        return {c.external_id: c for c in rows}


def linked_ads(connection_id: int) -> dict[str, str | None]:
    """{ad external id: its creative's external id}."""
    with transaction() as session:
        rows = session.execute(
            select(Entity.external_id, Creative.external_id)
            .outerjoin(Creative, Creative.id == Entity.creative_id)
            .where(Entity.connection_id == connection_id, Entity.level == "ad")
        ).all()
    return dict(rows)


def sync_range(connection, now=NOW):
    """The three days before `now`, synced; the sync must succeed."""
    outcome = sync_connection(
        connection.workspace_id,
        connection.id,
        "range",
        start=now.date() - timedelta(days=3),
        end=now.date() - timedelta(days=1),
        now=now,
    )
    assert outcome.status == "success", outcome.error
    return outcome
