"""Ingest benchmark: the sync's bulk upsert against plain COPY (the limit) and ORM add_all
(the naive way), for 1,000 ads x 1 day and x 30 days of hourly rows; and compaction of one
day of 15-minute rows for 1,000 ads.

    .venv/bin/python bench/bench_ingest.py            # embedded PostgreSQL in a temp dir
    BENCH_DATABASE_URL=postgresql://... .venv/bin/python bench/bench_ingest.py

Goals (issue 3): upsert >= 50 % of COPY's rows/s, >= 10x add_all; compaction of a day < 1 s.
"upsert path" is the 15-minute sync's write (COPY into a stage, INSERT ... ON CONFLICT adding
into existing buckets); "replace + rollup" is a range sync's (delete the ad-days, COPY the
rows straight in, recompute their daily rollup).
Each figure is the median of --repeat runs (the 30-day add_all runs once: it is slow).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_query, beside this file
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from bench_query import setup_database, teardown_database

ADS = 1000
TZ = "UTC"


def prepare(url: str, data_dir: str) -> tuple[int, list[int]]:
    os.environ.update(
        DATABASE_URL=url, METRICX_ENV="test", BCRYPT_ROUNDS="4", METRICX_DATA_DIR=data_dir
    )
    from metricx import migrate
    from metricx.actor import Actor
    from metricx.config import get_config
    from metricx.connectors.records import EntityRecord
    from metricx.db import transaction
    from metricx.services.connections import add_connection
    from metricx.services.workspaces import create_workspace
    from metricx.sync.entities import upsert_entities

    get_config.cache_clear()
    migrate.upgrade()
    workspace = create_workspace(f"bench-{time.time_ns()}")
    connection = add_connection(Actor.system(workspace.id), "meta", "act_1", "token")
    records = [EntityRecord("account", "1", None, "Account", None, None, None)] + [
        EntityRecord("ad", str(10_000 + i), "1", f"Ad {i}", "ACTIVE", None, None)
        for i in range(ADS)
    ]
    with transaction() as session:
        ids = upsert_entities(session, workspace.id, connection.id, records)
    return workspace.id, [pk for (level, _), pk in ids.items() if level == "ad"]


def rows_for(
    workspace_id: int, ad_ids: list[int], days: int, step: timedelta, granularity: str
) -> list[tuple]:
    start = datetime(2026, 10, 1, tzinfo=UTC)
    per_day = int(timedelta(days=1) / step)
    return [
        (
            workspace_id,
            ad,
            start + step * i,
            granularity,
            Decimal("12.34") + i % 7,
            1000 + i,
            25 + i % 5,
            Decimal("1.5"),
            Decimal("45.67"),
            Decimal(0),
        )
        for ad in ad_ids
        for i in range(days * per_day)
    ]


def truncate() -> None:
    from metricx.db import get_engine

    with get_engine().begin() as conn:
        conn.execute(text("TRUNCATE metric_snapshots"))


def plain_copy(rows: list[tuple]) -> None:
    """COPY straight into the (empty) table, with the sync's own fast line encoding."""
    from metricx.db import transaction
    from metricx.sync.snapshots import copy_into

    with transaction() as session:
        copy_into(session, "metric_snapshots", rows)


def upsert_path(rows: list[tuple]) -> None:
    from metricx.db import transaction
    from metricx.sync.snapshots import write_rows

    with transaction() as session:
        write_rows(session, rows)


def replace_path(rows: list[tuple]) -> None:
    """What a range sync does: delete the ad-days, COPY the hourly rows straight in, refresh
    the daily rollup of those days, in one transaction."""
    from metricx.db import transaction
    from metricx.sync import rollup
    from metricx.sync.snapshots import copy_into

    ids = sorted({row[1] for row in rows})
    start, end = min(r[2] for r in rows), max(r[2] for r in rows) + timedelta(hours=1)
    with transaction() as session:
        session.execute(
            text(
                "DELETE FROM metric_snapshots WHERE workspace_id = :ws AND "
                "entity_id = ANY(:ids) AND bucket_start >= :s AND bucket_start < :e"
            ),
            {"ws": rows[0][0], "ids": ids, "s": start, "e": end},
        )
        copy_into(session, "metric_snapshots", rows)
        rollup.refresh(session, rows[0][0], ids, start, end)


def orm_add_all(rows: list[tuple]) -> None:
    from metricx.db import transaction
    from metricx.models import MetricSnapshot
    from metricx.totals import METRIC_COLUMNS

    names = ("workspace_id", "entity_id", "bucket_start", "granularity", *METRIC_COLUMNS)
    with transaction() as session:
        session.add_all(MetricSnapshot(**dict(zip(names, row, strict=True))) for row in rows)


def timed(action: Callable[[list[tuple]], None], rows: list[tuple], repeat: int) -> float:
    """Median seconds of `repeat` runs, each into an empty table."""
    times = []
    for _ in range(repeat):
        truncate()
        started = time.perf_counter()
        action(rows)
        times.append(time.perf_counter() - started)
    truncate()
    return statistics.median(times)


def compaction(workspace_id: int, ad_ids: list[int], repeat: int) -> float:
    from metricx.db import transaction
    from metricx.sync import snapshots

    rows = rows_for(workspace_id, ad_ids, 1, timedelta(minutes=15), "15m")
    times = []
    for _ in range(repeat):
        truncate()
        upsert_path(rows)
        started = time.perf_counter()
        with transaction() as session:
            folded = snapshots.compact(
                session, workspace_id, ad_ids, TZ, datetime(2026, 10, 2, tzinfo=UTC)
            )
        times.append(time.perf_counter() - started)
        assert folded == len(rows)
    truncate()
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (median)")
    args = parser.parse_args()
    server, url, scratch = setup_database(None)  # a temp dir, deleted at the end
    data_dir = tempfile.mkdtemp(prefix="metricx-bench-data-")
    try:
        workspace_id, ad_ids = prepare(url, data_dir)
        print(f"{ADS:,} ads; figures are medians of {args.repeat} runs into an empty table\n")
        print(f"{'dataset':<22}{'method':<22}{'rows':>10}{'seconds':>10}{'rows/s':>12}")
        for days in (1, 30):
            rows = rows_for(workspace_id, ad_ids, days, timedelta(hours=1), "1h")
            label = f"{ADS} ads x {days} day{'s' if days > 1 else ''} 1h"
            results = {}
            for name, action, repeat in (
                ("plain COPY (limit)", plain_copy, args.repeat),
                ("upsert path", upsert_path, args.repeat),
                ("replace + rollup", replace_path, args.repeat),
                ("ORM add_all (naive)", orm_add_all, args.repeat if days == 1 else 1),
            ):
                seconds = timed(action, rows, repeat)
                results[name] = len(rows) / seconds
                print(
                    f"{label:<22}{name:<22}{len(rows):>10,}{seconds:>10.3f}{results[name]:>12,.0f}"
                )
            copy, naive = results["plain COPY (limit)"], results["ORM add_all (naive)"]
            for name in ("upsert path", "replace + rollup"):
                print(
                    f"{'':<22}{name}: {results[name] / copy:.0%} of COPY, "
                    f"{results[name] / naive:.1f}x add_all"
                )
            print()
        seconds = compaction(workspace_id, ad_ids, args.repeat)
        print(
            f"compaction of one day of 15-minute rows for {ADS:,} ads "
            f"({ADS * 96:,} rows -> {ADS * 24:,}): {seconds:.3f} s"
        )
    finally:
        teardown_database(server, scratch)
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
