"""The campaign tree of a connection: account -> campaign -> adset -> ad, upserted."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import String, func, select
from sqlalchemy.orm import Session

from metricx.connectors.records import EntityRecord
from metricx.models import Entity
from metricx.sync.bulk import upsert
from metricx.validation import storable_text
from metricx.vocabulary import LEVELS


def _max_length(column: str) -> int:
    """The declared length of one of the entities table's string columns."""
    kind = Entity.__table__.c[column].type
    if not isinstance(kind, String) or kind.length is None:
        raise TypeError(f"entities.{column} is not a string of bounded length")
    return kind.length


NAME_LENGTH = _max_length("name")


def upsert_entities(
    session: Session,
    workspace_id: int,
    connection_id: int,
    records: Iterable[EntityRecord],
    read_at: datetime | None = None,
) -> dict[tuple[str, str], int]:
    """Insert or update every node (name, status, budget, parent may change), parents first.

    Returns {(level, external_id): entity id}. `records` may be the whole tree or only what
    changed (an incremental read): a parent not among them is looked up among the stored
    nodes. A node whose parent is unknown is attached to nothing rather than dropped, so its
    metrics are never lost. Each written node's updated_at is `read_at` (the sync's clock),
    or the database's now. A name is stored as the platform gives it, less what PostgreSQL
    cannot hold (NUL, lone surrogates; other control characters go too) and cut to the
    column: refusing it would fail every sync of the account until the name changed.
    """
    by_level: dict[str, list[EntityRecord]] = {level: [] for level in LEVELS}
    for record in records:
        by_level[record.level].append(record)
    ids: dict[tuple[str, str], int] = {}
    for depth, level in enumerate(LEVELS):
        if not by_level[level]:
            continue
        parent_level = LEVELS[depth - 1] if depth else None
        if parent_level:
            missing = {
                r.parent_external_id
                for r in by_level[level]
                if r.parent_external_id and (parent_level, r.parent_external_id) not in ids
            }
            ids.update(
                {
                    (parent_level, external): pk
                    for external, pk in stored_ids(
                        session, connection_id, parent_level, missing
                    ).items()
                }
            )
        rows: list[dict[str, Any]] = [
            {
                "workspace_id": workspace_id,
                "connection_id": connection_id,
                "level": level,
                "external_id": r.external_id,
                "name": storable_text(r.name, NAME_LENGTH),
                "status": r.status,
                "objective": r.objective,
                "budget": r.budget,
                "parent_id": ids.get((parent_level, r.parent_external_id or ""))
                if parent_level
                else None,
            }
            for r in {r.external_id: r for r in by_level[level]}.values()
        ]
        if read_at is not None:
            for row in rows:
                row["updated_at"] = read_at
        written = upsert(
            session,
            Entity,
            rows,
            ["connection_id", "level", "external_id"],
            returning=(Entity.id, Entity.external_id),
            extra_updates=None if read_at else {"updated_at": func.now()},
        )
        for entity_id, external_id in written:
            ids[(level, external_id)] = entity_id
    return ids


def stored_ids(
    session: Session, connection_id: int, level: str, external_ids: set[str] | None = None
) -> dict[str, int]:
    """Entity ids of a connection's stored nodes of one level by external id (all of them,
    or only `external_ids`)."""
    query = select(Entity.external_id, Entity.id).where(
        Entity.connection_id == connection_id, Entity.level == level
    )
    if external_ids is not None:
        if not external_ids:
            return {}
        query = query.where(Entity.external_id.in_(external_ids))
    return {external: pk for external, pk in session.execute(query)}
