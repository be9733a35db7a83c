"""Bulk upserts on natural keys: one statement compiled once, executed for many rows
(SQLAlchemy's insertmanyvalues batches them), so a re-read row updates instead of doubling."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Row, SQLColumnExpression, Table
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from metricx.models import Base


def upsert(
    session: Session,
    model: type[Base],
    rows: Sequence[dict[str, Any]],
    keys: Sequence[str],
    *,
    returning: Sequence[SQLColumnExpression[Any]] = (),
    extra_updates: dict[str, Any] | None = None,
) -> list[Row[*tuple[Any, ...]]]:
    """Insert `rows`; on a clash of `keys` update every other given column (never the tenant).
    With `returning`, the listed columns of every row written (in no particular order)."""
    if not rows:
        return []
    statement = insert(_table(model))
    updates = {c: statement.excluded[c] for c in rows[0] if c not in (*keys, "workspace_id")}
    statement = statement.on_conflict_do_update(
        index_elements=list(keys), set_=updates | (extra_updates or {})
    )
    if returning:
        return list(session.execute(statement.returning(*returning), list(rows)))
    session.execute(statement, list(rows))
    return []


def insert_rows(
    session: Session,
    model: type[Base],
    rows: Sequence[dict[str, Any]],
    *,
    returning: Sequence[SQLColumnExpression[Any]] = (),
) -> list[Row[*tuple[Any, ...]]]:
    """Plain bulk insert (rows known not to exist, e.g. children just deleted)."""
    if not rows:
        return []
    statement = insert(_table(model))
    if returning:
        return list(session.execute(statement.returning(*returning), list(rows)))
    session.execute(statement, list(rows))
    return []


def _table(model: type[Base]) -> Table:
    """The model's table (typed as any FROM clause; a declarative class's is a Table)."""
    return cast(Table, model.__table__)
