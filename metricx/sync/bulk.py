"""Bulk upserts on natural keys: one statement compiled once, executed for many rows
(SQLAlchemy's insertmanyvalues batches them), so a re-read row updates instead of doubling."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Row
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session


def upsert(session: Session, model: type, rows: Sequence[dict[str, Any]], keys: Sequence[str],
           *, returning: Sequence[ColumnElement[Any]] = (),
           extra_updates: dict[str, Any] | None = None) -> list[Row[Any]]:
    """Insert `rows`; on a clash of `keys` update every other given column (never the tenant).
    With `returning`, the listed columns of every row written (in no particular order)."""
    if not rows:
        return []
    table = model.__table__
    statement = insert(table)
    updates = {c: statement.excluded[c] for c in rows[0] if c not in (*keys, "workspace_id")}
    statement = statement.on_conflict_do_update(index_elements=list(keys),
                                                set_=updates | (extra_updates or {}))
    if returning:
        return list(session.execute(statement.returning(*returning), list(rows)))
    session.execute(statement, list(rows))
    return []


def insert_rows(session: Session, model: type, rows: Sequence[dict[str, Any]],
                *, returning: Sequence[ColumnElement[Any]] = ()) -> list[Row[Any]]:
    """Plain bulk insert (rows known not to exist, e.g. children just deleted)."""
    if not rows:
        return []
    statement = insert(model.__table__)
    if returning:
        return list(session.execute(statement.returning(*returning), list(rows)))
    session.execute(statement, list(rows))
    return []
