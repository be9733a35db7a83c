"""metric_daily: the snapshot rows summed per ad and workspace-local day.

Every write to metric_snapshots calls `refresh` for what it touched, in the same transaction,
recomputing those ad-days from the rows themselves: the rollup cannot drift from its source,
whatever order syncs, re-fetches and compactions run in.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from metricx.models import Workspace
from metricx.semantic.dates import utc_bounds
from metricx.semantic.query import TimeRange
from metricx.totals import METRIC_COLUMNS

_SUMS = ", ".join(f"sum({c})" for c in METRIC_COLUMNS)
_COLUMNS = ", ".join(METRIC_COLUMNS)
_NONZERO = " OR ".join(f"sum({c}) <> 0" for c in METRIC_COLUMNS)


def workspace_timezone(session: Session, workspace_id: int) -> str:
    return session.scalar(select(Workspace.timezone).where(Workspace.id == workspace_id)) or "UTC"


def refresh(session: Session, workspace_id: int, entity_ids: list[int], start: datetime,
            end: datetime) -> None:
    """Recompute the rollup of `entity_ids` for every workspace-local day that overlaps the
    UTC interval [start, end)."""
    if not entity_ids or end <= start:
        return
    tz = workspace_timezone(session, workspace_id)
    zone = ZoneInfo(tz)
    days = TimeRange(start=start.astimezone(zone).date(),
                     end=(end - timedelta(microseconds=1)).astimezone(zone).date())
    span_start, span_end = utc_bounds(days, tz)
    params = {"ws": workspace_id, "ids": entity_ids, "d0": days.start, "d1": days.end,
              "s": span_start, "e": span_end, "tz": tz}
    session.execute(text("""
        DELETE FROM metric_daily WHERE workspace_id = :ws AND entity_id = ANY(:ids)
          AND day BETWEEN :d0 AND :d1"""), params)
    session.execute(text(f"""
        INSERT INTO metric_daily (workspace_id, day, entity_id, {_COLUMNS})
        SELECT workspace_id, (bucket_start AT TIME ZONE :tz)::date, entity_id, {_SUMS}
        FROM metric_snapshots
        WHERE workspace_id = :ws AND entity_id = ANY(:ids)
          AND bucket_start >= :s AND bucket_start < :e
        GROUP BY workspace_id, (bucket_start AT TIME ZONE :tz)::date, entity_id
        HAVING {_NONZERO}"""), params)


def rebuild(session: Session, workspace_id: int) -> None:
    """The whole rollup again (after the workspace's time zone changed)."""
    tz = workspace_timezone(session, workspace_id)
    session.execute(text("DELETE FROM metric_daily WHERE workspace_id = :ws"),
                    {"ws": workspace_id})
    session.execute(text(f"""
        INSERT INTO metric_daily (workspace_id, day, entity_id, {_COLUMNS})
        SELECT workspace_id, (bucket_start AT TIME ZONE :tz)::date, entity_id, {_SUMS}
        FROM metric_snapshots WHERE workspace_id = :ws
        GROUP BY workspace_id, (bucket_start AT TIME ZONE :tz)::date, entity_id
        HAVING {_NONZERO}"""), {"ws": workspace_id, "tz": tz})
