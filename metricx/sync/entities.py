"""The campaign tree of a connection: account -> campaign -> adset -> ad, upserted."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func
from sqlalchemy.orm import Session

from metricx.connectors.records import EntityRecord
from metricx.models import LEVELS, Entity
from metricx.sync.bulk import upsert


def upsert_entities(session: Session, workspace_id: int, connection_id: int,
                    records: Iterable[EntityRecord]) -> dict[tuple[str, str], int]:
    """Insert or update every node (name, status, budget, parent may change), parents first.

    Returns {(level, external_id): entity id}. A node whose parent is unknown is attached
    to nothing rather than dropped, so its metrics are never lost.
    """
    by_level: dict[str, list[EntityRecord]] = {level: [] for level in LEVELS}
    for record in records:
        by_level[record.level].append(record)
    ids: dict[tuple[str, str], int] = {}
    for depth, level in enumerate(LEVELS):
        if not by_level[level]:
            continue
        parent_level = LEVELS[depth - 1] if depth else None
        rows = [{
            "workspace_id": workspace_id, "connection_id": connection_id, "level": level,
            "external_id": r.external_id, "name": r.name, "status": r.status,
            "objective": r.objective, "budget": r.budget,
            "parent_id": ids.get((parent_level, r.parent_external_id or ""))
            if parent_level else None,
        } for r in {r.external_id: r for r in by_level[level]}.values()]
        written = upsert(session, Entity, rows, ["connection_id", "level", "external_id"],
                         returning=(Entity.id, Entity.external_id),
                         extra_updates={"updated_at": func.now()})
        for entity_id, external_id in written:
            ids[(level, external_id)] = entity_id
    return ids
