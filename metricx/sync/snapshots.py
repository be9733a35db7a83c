"""Writing ad metrics so that invariant S1 holds.

S1: for every ad and local day, the sum of its snapshot rows equals the platform's latest
reported total for that day. Three writes keep it, whatever order they run in:

- `apply_running_totals` (the 15-minute sync): the platform gives today's running total; what
  is not yet in the rows (total minus the rows' sum) is added to the current 15-minute bucket.
  Running it twice adds nothing the second time.
- `replace_days` (re-fetch, backfill): the rows of whole ad-days are deleted and written again
  from the platform's hourly breakdown, whose hours sum to the day's total; where the platform
  withholds conversions from hourly rows (Meta), their family comes from the daily report.
- `compact`: past days' 15-minute rows are folded into hourly rows, sums unchanged, in one
  statement.

Each runs inside the caller's transaction, so a crash leaves every ad-day as it was before or
as it is after, never in between. Days are the ad account's local days.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.orm import Session

from metricx.semantic.dates import utc_bounds
from metricx.semantic.query import TimeRange
from metricx.sync import rollup
from metricx.totals import METRIC_COLUMNS, PER_DAY, Totals

FIFTEEN_MINUTES = timedelta(minutes=15)


def day_span(day: date, tz: str) -> tuple[datetime, datetime]:
    """[start, end) in UTC of one local day."""
    return utc_bounds(TimeRange(start=day, end=day), tz)


def floor_15m(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return moment.replace(minute=moment.minute - moment.minute % 15, second=0, microsecond=0)


def hour_start(day: date, hour: int, tz: str) -> datetime:
    """UTC start of local hour `hour` of `day` (a skipped DST hour maps onto the next one)."""
    return datetime.combine(day, time(hour), tzinfo=ZoneInfo(tz)).astimezone(UTC)


# --- staging: COPY into a temp table, then one INSERT ... ON CONFLICT -------------------------

_STAGE_COLUMNS = ("workspace_id", "entity_id", "bucket_start", "granularity", *METRIC_COLUMNS)
_CREATE_STAGE = """
CREATE TEMP TABLE IF NOT EXISTS snapshot_stage (
    workspace_id integer, entity_id bigint, bucket_start timestamptz, granularity varchar(3),
    spend numeric, impressions bigint, clicks bigint, conversions numeric,
    conversion_value numeric, leads numeric, video_plays bigint, video_3s_plays bigint,
    thruplays bigint, video_p25 bigint, video_p50 bigint, video_p75 bigint, video_p100 bigint,
    video_seconds numeric
) ON COMMIT DELETE ROWS
"""
_COLUMN_LIST = ", ".join(_STAGE_COLUMNS)
_ADD = ", ".join(f"{c} = metric_snapshots.{c} + excluded.{c}" for c in METRIC_COLUMNS)
_UPSERT_ADDING = f"""
INSERT INTO metric_snapshots ({_COLUMN_LIST})
SELECT {_COLUMN_LIST} FROM snapshot_stage
ON CONFLICT (workspace_id, entity_id, bucket_start, granularity) DO UPDATE SET {_ADD}
"""


def copy_text(rows: Iterable[tuple], chunk: int = 5000) -> Iterator[str]:
    """Rows as COPY text, a chunk of lines at a time. Formatting the lines ourselves is several
    times faster than per-value adaptation (`write_row`), and our values never hold a tab, a
    newline or a backslash: ints, Decimals, UTC datetimes and the granularity code."""
    lines: list[str] = []
    for row in rows:
        lines.append("\t".join(v.isoformat() if isinstance(v, datetime) else str(v) for v in row))
        if len(lines) >= chunk:
            yield "\n".join(lines) + "\n"
            lines.clear()
    if lines:
        yield "\n".join(lines) + "\n"


def copy_into(session: Session, table: str, rows: Iterable[tuple]) -> None:
    """COPY rows (in `_STAGE_COLUMNS` order) into `table` on the session's connection."""
    raw = session.connection().connection.driver_connection
    if raw is None:
        raise RuntimeError("the session's database connection is closed")
    with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({_COLUMN_LIST}) FROM STDIN") as copy:
        for block in copy_text(rows):
            copy.write(block)


def write_rows(session: Session, rows: Iterable[tuple]) -> int:
    """Bulk-add rows (`_STAGE_COLUMNS` order) to metric_snapshots, summing into existing
    buckets. COPY keeps it fast; the upsert on the natural key keeps it idempotent-safe."""
    session.execute(text(_CREATE_STAGE))
    session.execute(text("TRUNCATE snapshot_stage"))
    counted = list(rows)
    copy_into(session, "snapshot_stage", counted)
    if counted:
        session.execute(text(_UPSERT_ADDING))
    return len(counted)


# --- the three writes --------------------------------------------------------------------------


def sums_for_day(
    session: Session, workspace_id: int, entity_ids: list[int], day: date, tz: str
) -> dict[int, Totals]:
    """What the rows already hold for each ad on one local day."""
    start, end = day_span(day, tz)
    result = session.execute(
        text(f"""
        SELECT entity_id, {", ".join(f"sum({c}) AS {c}" for c in METRIC_COLUMNS)}
        FROM metric_snapshots
        WHERE workspace_id = :ws AND entity_id = ANY(:ids)
          AND bucket_start >= :start AND bucket_start < :end
        GROUP BY entity_id"""),
        {"ws": workspace_id, "ids": entity_ids, "start": start, "end": end},
    )
    return {row.entity_id: Totals.of(row) for row in result}


def apply_running_totals(
    session: Session,
    workspace_id: int,
    day: date,
    tz: str,
    totals: Mapping[int, Totals],
    now: datetime,
) -> int:
    """Store what accrued since the last sync: for each ad, total minus what the rows hold,
    in the current 15-minute bucket (or the day's last bucket once the day is over)."""
    start, end = day_span(day, tz)
    bucket = min(max(floor_15m(now), start), end - FIFTEEN_MINUTES)
    held = sums_for_day(session, workspace_id, list(totals), day, tz)
    rows = []
    for entity_id, total in totals.items():
        delta = total - held.get(entity_id, Totals())
        if not delta.is_zero:
            rows.append((workspace_id, entity_id, bucket, "15m", *delta.values()))
    written = write_rows(session, rows)
    rollup.refresh(
        session, workspace_id, [row[1] for row in rows], bucket, bucket + FIFTEEN_MINUTES
    )
    return written


def replace_days(
    session: Session,
    workspace_id: int,
    tz: str,
    entity_ids: list[int],
    days: Iterable[date],
    hourly: Mapping[tuple[int, date], Mapping[int, Totals]],
    daily: Mapping[tuple[int, date], Totals] | None = None,
    daily_family: tuple[str, ...] = PER_DAY,
) -> int:
    """Make the rows of every (ad, day) in `entity_ids` x `days` exactly the given hours.

    An ad-day missing from `hourly` had nothing (the platform omits empty rows), so its rows
    are removed too. With `daily`, S1 holds per metric family: the columns of `daily_family`
    come from the day totals in `daily` (`hourly`'s numbers for them are ignored), the others
    from `hourly`. Conversions of a platform that reports them per day only (Meta) come this
    way; so does every column of a day re-read without its hours (the nightly re-fetch of
    days whose hours are settled). What the rows already hold of a daily family keeps its
    hours, and what the day's reported total adds or removes goes into the day's last hour.
    """
    day_list = sorted(set(days))
    if not day_list:
        return 0
    buckets: dict[tuple[int, datetime], Totals] = defaultdict(Totals)
    from_hours = tuple(c for c in METRIC_COLUMNS if daily is None or c not in daily_family)
    if daily is not None:
        for (entity_id, bucket), totals in _daily_family_to_keep(
            session, workspace_id, tz, entity_ids, day_list, daily, daily_family
        ).items():
            buckets[(entity_id, bucket)] += totals
    for day in day_list:
        start, end = day_span(day, tz)
        session.execute(
            text("""
            DELETE FROM metric_snapshots
            WHERE workspace_id = :ws AND entity_id = ANY(:ids)
              AND bucket_start >= :start AND bucket_start < :end"""),
            {"ws": workspace_id, "ids": entity_ids, "start": start, "end": end},
        )
    wanted = set(day_list)
    for (entity_id, day), hours in hourly.items():
        if day not in wanted:
            continue
        for hour, totals in hours.items():
            # Two local hours can share a UTC start on a DST day: they are summed.
            buckets[(entity_id, hour_start(day, hour, tz))] += totals.only(from_hours)
    rows = [
        (workspace_id, entity_id, bucket, "1h", *totals.values())
        for (entity_id, bucket), totals in buckets.items()
        if not totals.is_zero
    ]
    # The days' rows were just deleted: nothing can clash, so COPY straight into the table.
    copy_into(session, "metric_snapshots", rows)
    rollup.refresh(
        session,
        workspace_id,
        entity_ids,
        day_span(day_list[0], tz)[0],
        day_span(day_list[-1], tz)[1],
    )
    return len(rows)


def _daily_family_to_keep(
    session: Session,
    workspace_id: int,
    tz: str,
    entity_ids: list[int],
    days: list[date],
    daily: Mapping[tuple[int, date], Totals],
    family: tuple[str, ...],
) -> dict[tuple[int, datetime], Totals]:
    """The family's columns of the days' rows per ad and local hour (as compaction folds
    them), plus, in each day's last hour, the difference to the day's reported total."""
    sums = ", ".join(f"sum({c}) AS {c}" for c in family)
    kept: dict[tuple[int, datetime], Totals] = {}
    for day in days:
        start, end = day_span(day, tz)
        held_today: dict[int, Totals] = defaultdict(Totals)
        for row in session.execute(
            text(f"""
                SELECT entity_id, date_trunc('hour', bucket_start, :tz) AS hour, {sums}
                FROM metric_snapshots
                WHERE workspace_id = :ws AND entity_id = ANY(:ids)
                  AND bucket_start >= :start AND bucket_start < :end
                GROUP BY 1, 2"""),
            {"ws": workspace_id, "ids": entity_ids, "start": start, "end": end, "tz": tz},
        ):
            totals = Totals(**{name: getattr(row, name) for name in family})
            kept[(row.entity_id, row.hour)] = totals
            held_today[row.entity_id] += totals
        last_hour = end - timedelta(hours=1)
        for entity_id in entity_ids:
            reported = daily.get((entity_id, day), Totals()).only(family)
            change = reported - held_today.get(entity_id, Totals())
            if not change.is_zero:
                key = (entity_id, last_hour)
                kept[key] = kept.get(key, Totals()) + change
    return kept


def compact(
    session: Session, workspace_id: int, entity_ids: list[int], tz: str, before: datetime
) -> int:
    """Fold 15-minute rows older than `before` into hourly rows (local hours of `tz`, so an
    hour never straddles two local days even in half-hour zones). Returns rows folded."""
    sums = ", ".join(f"sum({c})" for c in METRIC_COLUMNS)
    result = session.execute(
        text(f"""
        WITH moved AS (
            DELETE FROM metric_snapshots
            WHERE workspace_id = :ws AND entity_id = ANY(:ids) AND granularity = '15m'
              AND bucket_start < :before
            RETURNING *
        ), folded AS (
            INSERT INTO metric_snapshots ({_COLUMN_LIST})
            SELECT workspace_id, entity_id, date_trunc('hour', bucket_start, :tz), '1h', {sums}
            FROM moved GROUP BY workspace_id, entity_id, date_trunc('hour', bucket_start, :tz)
            ON CONFLICT (workspace_id, entity_id, bucket_start, granularity) DO UPDATE SET {_ADD}
        )
        SELECT count(*), min(bucket_start) FROM moved"""),
        {"ws": workspace_id, "ids": entity_ids, "before": before, "tz": tz},
    )
    folded, earliest = result.one()
    if folded:
        # Moving a bucket to its local hour start can cross a workspace-local midnight when
        # the account's and the workspace's offsets differ by a part of an hour.
        rollup.refresh(session, workspace_id, entity_ids, earliest - timedelta(hours=1), before)
    return int(folded)
