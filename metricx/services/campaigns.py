"""The campaign tree for the Campaigns page: each node's status and budget, with metrics."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import select

from metricx.db import new_session
from metricx.models import Connection, Entity
from metricx.semantic.query import TimeRange
from metricx.services.metrics import run_query

LEVELS = ("campaign", "adset", "ad")
TABLE_METRICS = ["spend", "conversions", "roas", "cpa", "ctr", "cpc"]


def nodes(workspace_id: int, level: str) -> pd.DataFrame:
    """Every entity of `level` in the workspace: id, name, status, budget, platform."""
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}")
    with new_session() as session:
        rows = session.execute(
            select(Entity.id, Entity.name, Entity.status, Entity.budget, Entity.parent_id,
                   Connection.provider)
            .join(Connection, Connection.id == Entity.connection_id)
            .where(Entity.workspace_id == workspace_id, Entity.level == level)).all()
    return pd.DataFrame(rows, columns=["id", "name", "status", "budget", "parent_id",
                                       "provider"])


def level_table(workspace_id: int, level: str, period: TimeRange,
                within: list[int] | None = None, search: str | None = None) -> pd.DataFrame:
    """Nodes of one level with their metrics over `period`; `within` keeps the children of
    those entity ids (drill-down), `search` filters names."""
    query = {"metrics": TABLE_METRICS, "time_range": period.model_dump(mode="json"),
             "dimensions": [level],
             "filters": {"entity_ids": within or None, "name_contains": search or None}}
    metrics = run_query(workspace_id, query).frame.rename(columns={f"{level}_id": "id"})
    tree = nodes(workspace_id, level)
    if within:
        tree = tree[tree["parent_id"].isin(within) | tree["id"].isin(within)]
    if search:
        tree = tree[tree["name"].str.contains(search, case=False, regex=False)]
    table = tree.merge(metrics.drop(columns=[level]), on="id", how="left")
    table[TABLE_METRICS] = table[TABLE_METRICS].astype(float)
    table["spend"] = table["spend"].fillna(0.0)
    return table.sort_values(["spend", "name"], ascending=[False, True]).reset_index(drop=True)


def trend(workspace_id: int, entity_id: int, period: TimeRange) -> pd.DataFrame:
    """One node's daily spend and ROAS."""
    return run_query(workspace_id, {"metrics": ["spend", "roas"], "grain": "day",
                                    "time_range": period.model_dump(mode="json"),
                                    "filters": {"entity_ids": [entity_id]}}).frame
