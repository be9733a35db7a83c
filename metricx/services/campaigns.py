"""The campaign tree for the Campaigns page (account -> campaign -> ad set -> ad): each
node's status and budget, with metrics, sorted as asked."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import select

from metricx.db import new_session
from metricx.errors import InvalidInputError
from metricx.models import Connection, Entity
from metricx.semantic.query import TimeRange
from metricx.services.metrics import run_query

LEVELS = ("account", "campaign", "adset", "ad")
PARENT_LEVEL = {"campaign": "account", "adset": "campaign", "ad": "adset"}
TABLE_METRICS = ["spend", "conversions", "roas", "cpa", "ctr", "cpc"]
SORT_KEYS = ("name", *TABLE_METRICS)


def nodes(workspace_id: int, level: str) -> pd.DataFrame:
    """Every entity of `level` in the workspace: id, name, status, budget (daily, in the
    account's own `currency`), parent id, platform."""
    if level not in LEVELS:
        raise InvalidInputError(f"level must be one of {', '.join(LEVELS)}")
    with new_session() as session:
        rows = session.execute(
            select(Entity.id, Entity.name, Entity.status, Entity.budget, Connection.currency,
                   Entity.parent_id, Connection.provider)
            .join(Connection, Connection.id == Entity.connection_id)
            .where(Entity.workspace_id == workspace_id, Connection.workspace_id == workspace_id,
                   Entity.level == level)).all()
    return pd.DataFrame(rows, columns=["id", "name", "status", "budget", "currency",
                                       "parent_id", "provider"])


def level_table(workspace_id: int, level: str, period: TimeRange,
                within: list[int] | None = None, search: str | None = None,
                sort_by: str = "spend", descending: bool = True) -> pd.DataFrame:
    """Nodes of one level with their metrics over `period`; `within` keeps the children of
    those entity ids (drill-down), `search` filters names; sorted by `sort_by` (a metric of
    TABLE_METRICS or the name; nodes without a value last, ties by name)."""
    if sort_by not in SORT_KEYS:
        raise InvalidInputError(f"sort by one of {', '.join(SORT_KEYS)}")
    query = {"metrics": TABLE_METRICS, "time_range": period.model_dump(mode="json"),
             "dimensions": [level],
             "filters": {"entity_ids": within or None, "name_contains": search or None}}
    metrics = run_query(workspace_id, query).frame.rename(columns={f"{level}_id": "id"})
    tree = nodes(workspace_id, level)
    if within:
        tree = tree[tree["parent_id"].isin(within) | tree["id"].isin(within)]
    if search:
        tree = tree[tree["name"].str.contains(search, case=False, regex=False)]
    # Ids as integers on both sides, also when one side is empty (no rows: no dtype).
    table = tree.astype({"id": "int64"}).merge(
        metrics.drop(columns=[level]).astype({"id": "int64"}), on="id", how="left")
    table[TABLE_METRICS] = table[TABLE_METRICS].astype(float)
    table["spend"] = table["spend"].fillna(0.0)
    keys = [sort_by] if sort_by == "name" else [sort_by, "name"]
    return table.sort_values(keys, ascending=[not descending, True][:len(keys)],
                             na_position="last", kind="mergesort").reset_index(drop=True)


def trend(workspace_id: int, entity_id: int, period: TimeRange) -> pd.DataFrame:
    """One node's daily spend and ROAS."""
    return run_query(workspace_id, {"metrics": ["spend", "roas"], "grain": "day",
                                    "time_range": period.model_dump(mode="json"),
                                    "filters": {"entity_ids": [entity_id]}}).frame
