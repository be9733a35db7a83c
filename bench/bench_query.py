"""Query benchmark: the metric service vs hand-written SQL, DuckDB on Parquet and naive pandas.

The metric engine (metricx.semantic.engine.run_query) against hand-written SQL on the tables
it reads (the limit), DuckDB over the raw hourly rows exported to Parquet (a reference
analytics engine) and pandas over the raw rows (the naive way), on one scale dataset.

    .venv/bin/python bench/bench_query.py                      # embedded PostgreSQL, temp dir
    .venv/bin/python bench/bench_query.py --data-dir /tmp/mq   # keep the data: later runs reuse
    BENCH_DATABASE_URL=postgresql://... .venv/bin/python bench/bench_query.py

Dataset (built once, minutes; reused when already there): one workspace in New York time, USD,
a Meta and a Google connection, 2 accounts > 20 campaigns > 100 ad sets > 1,000 ads, hourly
metric_snapshots for 365 local days ending yesterday (8.76 M rows) rolled up as the sync does,
and one shop with 200,000 orders, their refunds and customers. Values come from a seeded
generator, so a given --end date always gives the same rows.

Goals (issue): every query p50 <= 25 ms end to end through the metric service (DataFrame
included), <= 1.5x the hand-written SQL on the same tables, faster than DuckDB on the raw rows
and >= 100x faster than the naive way. Queries 6 and 7 name the workspace's custom metrics and
dimension by id, as a page does (issue 17: they cost no more than the catalogue metrics they
are built from): each is also timed against its catalogue twin, the catalogue query reading the
same sums, in the same turns. Figures are p50/p90 of --runs runs after --warmup runs;
the naive way runs --naive-runs times (it takes seconds a run). Every method's answer is checked
against the engine's before any figure is trusted.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from sqlalchemy import insert, text
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

TZ = "America/New_York"
CURRENCY = "USD"
DAYS = 365
ADS_PER_ADSET = 10
ADSETS_PER_CAMPAIGN = 5
SEED = 20261125
#: Cost settings of the bench workspace (profit before ad spend reads them).
COSTS = {
    "shipping_cost_per_order": 4.5,
    "shipping_cost_pct": 0.0,
    "payment_fee_pct": 0.029,
    "payment_fee_fixed": 0.3,
    "handling_per_order": 1.0,
}
GOAL_P50_MS = 25.0
GOAL_VS_HAND = 1.5
GOAL_VS_NAIVE = 100.0
#: A custom query against its catalogue twin: "no more" with room for the run's noise.
GOAL_VS_CATALOGUE = 1.2
RTOL = 1e-9  # every method sums exact decimals (naive: floats) before one division
#: The rollups the engine reads (metricx.sync.rollup), built after the raw rows.
ROLLUPS = ("metric_daily", "metric_daily_connection", "metric_daily_campaign", "store_daily")
SNAPSHOT_COLUMNS = (
    "workspace_id",
    "entity_id",
    "bucket_start",
    "granularity",
    "spend",
    "impressions",
    "clicks",
    "conversions",
    "conversion_value",
    "leads",
)


# --- database ------------------------------------------------------------------------------


def setup_database(data_dir: Path | None) -> tuple[Any, str, Path | None]:
    """(embedded server or None, URL, temp dir to delete at the end or None).

    BENCH_DATABASE_URL wins; else an embedded PostgreSQL in --data-dir (kept, so the dataset is
    reused next time) or in a temp dir (deleted at the end: the dataset takes ~3 GB).
    """
    url = os.environ.get("BENCH_DATABASE_URL")
    if url:
        return None, url, None
    from metricx.embedded import EmbeddedPostgres

    scratch = None
    if data_dir is None:
        scratch = Path(tempfile.mkdtemp(prefix="metricx-bench-query-"))
        data_dir = scratch
    server = EmbeddedPostgres(data_dir)
    server.start()
    return server, server.ensure_database("bench"), scratch


def teardown_database(server: Any, scratch: Path | None) -> None:
    """Undo setup_database: stop the embedded server, delete a temp data dir."""
    if server is not None:
        server.stop()
    if scratch is not None:
        shutil.rmtree(scratch, ignore_errors=True)


def configure(url: str, scratch: Path) -> None:
    """Point metricx at the bench database and bring its schema to head."""
    os.environ.update(DATABASE_URL=url, METRICX_ENV="test", METRICX_DATA_DIR=str(scratch))
    from metricx import migrate
    from metricx.config import get_config

    get_config.cache_clear()
    migrate.upgrade()


@contextmanager
def raw_cursor(session: Session) -> Iterator[Any]:
    """The psycopg cursor under a session: COPY goes through it (as metricx.sync.snapshots)."""
    with session.connection().connection.driver_connection.cursor() as cursor:
        yield cursor


def copy_arrow(session: Session, table: str, columns: tuple[str, ...], data: pa.Table) -> None:
    """COPY an Arrow table as CSV. Arrow writes the CSV in C++, ~6x faster than
    metricx.sync.snapshots.copy_text formats Python tuples (measured here), and numpy columns
    spare building 8.76 M tuples at all."""
    buffer = io.BytesIO()
    pacsv.write_csv(data, buffer, pacsv.WriteOptions(include_header=False))
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT csv)"
    with raw_cursor(session) as cursor, cursor.copy(sql) as copy:
        copy.write(buffer.getbuffer())


# --- the dataset ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    """What to build; the workspace name carries it, so a cached dataset of another shape is
    never mistaken for this one."""

    ads: int
    orders: int

    @property
    def name(self) -> str:
        return f"bench-query-{self.ads}ads-{DAYS}d-{self.orders}orders-seed{SEED}"

    @property
    def customers(self) -> int:
        return self.orders * 3 // 5


@dataclass(frozen=True)
class Dataset:
    workspace_id: int
    first: date
    last: date
    build_seconds: float | None  # None: reused


def utc_span(first: date, last: date) -> tuple[datetime, datetime]:
    """[start, end) in UTC of local days first..last: the engine's own conversion, so every
    method filters the raw rows on exactly the instants the rollup summed."""
    from metricx.semantic.dates import utc_bounds
    from metricx.semantic.query import TimeRange

    return utc_bounds(TimeRange(start=first, end=last), TZ)


def find_dataset(spec: Spec) -> Dataset | None:
    """The cached dataset when it is complete (row counts as built), else None."""
    from metricx.db import get_engine

    with get_engine().connect() as conn:
        ws = conn.execute(
            text("SELECT id FROM workspaces WHERE name = :n"), {"n": spec.name}
        ).scalar()
        if ws is None:
            return None
        first, last = conn.execute(
            text("SELECT min(day), max(day) FROM metric_daily WHERE workspace_id = :ws"), {"ws": ws}
        ).one()
        snapshots = conn.execute(
            text("SELECT count(*) FROM metric_snapshots WHERE workspace_id = :ws"), {"ws": ws}
        ).scalar()
        orders = conn.execute(
            text("SELECT count(*) FROM shopify_orders WHERE workspace_id = :ws"), {"ws": ws}
        ).scalar()
    if first is None or (last - first).days + 1 != DAYS or orders != spec.orders:
        return None
    start, end = utc_span(first, last)
    if snapshots != spec.ads * int((end - start) / timedelta(hours=1)):
        return None
    return Dataset(ws, first, last, None)


def drop_workspace(spec: Spec) -> None:
    """Remove an incomplete or outdated bench workspace (everything cascades from it)."""
    from metricx.db import transaction

    with transaction() as session:
        session.execute(text("DELETE FROM workspaces WHERE name = :n"), {"n": spec.name})


def open_workspace(
    session: Session, name: str, accounts: tuple[tuple[str, str, str], ...], shop_name: str
) -> tuple[int, dict[str, int], int]:
    """A bench workspace (TZ, CURRENCY) with the cost settings, one connection per (provider,
    external account id, time zone) and the shop of its Shopify connection: (workspace id,
    connection ids by provider, shop id)."""
    from metricx.models import Connection, CostSettings, ShopifyShop, Workspace

    ws = session.execute(
        insert(Workspace).returning(Workspace.id),
        {"name": name, "timezone": TZ, "currency": CURRENCY},
    ).scalar_one()
    session.execute(insert(CostSettings), {"workspace_id": ws, **COSTS})
    connections = {
        provider: session.execute(
            insert(Connection).returning(Connection.id),
            {
                "workspace_id": ws,
                "provider": provider,
                "external_account_id": external,
                "name": f"Bench {provider}",
                "currency": CURRENCY,
                "timezone": zone,
            },
        ).scalar_one()
        for provider, external, zone in accounts
    }
    shop = session.execute(
        insert(ShopifyShop).returning(ShopifyShop.id),
        {
            "workspace_id": ws,
            "connection_id": connections["shopify"],
            "domain": next(e for p, e, _ in accounts if p == "shopify"),
            "name": shop_name,
            "currency": CURRENCY,
            "timezone": TZ,
        },
    ).scalar_one()
    return ws, connections, shop


def build_dataset(spec: Spec, last: date) -> Dataset:
    """Everything in one transaction (an interrupted build leaves nothing), then VACUUM ANALYZE
    so the benchmark reads tables in their steady state (visibility map, statistics)."""
    from metricx.db import get_engine, transaction
    from metricx.sync import rollup

    started = time.perf_counter()
    first = last - timedelta(days=DAYS - 1)
    rng = np.random.default_rng(SEED)
    with transaction() as session:
        session.execute(text("SET LOCAL work_mem = '256MB'"))
        ws, connections, shop = open_workspace(
            session,
            spec.name,
            (
                ("meta", "act_100200300", TZ),
                ("google", "123-456-7890", "America/Chicago"),
                ("shopify", "bench.myshopify.com", TZ),
            ),
            "Bench Shop",
        )
        ad_ids = insert_tree(session, ws, connections, spec.ads)
        tick = time.perf_counter()
        # The composite foreign key's trigger is two thirds of the COPY's time. A superuser
        # skips it (as pg_restore --disable-triggers does) and checks every row after, at once.
        unchecked = session.execute(text("SELECT current_setting('is_superuser')")).scalar()
        if unchecked == "on":
            session.execute(text("SET LOCAL session_replication_role = replica"))
        rows = load_snapshots(session, ws, ad_ids, first, last, rng)
        if unchecked == "on":
            session.execute(text("SET LOCAL session_replication_role = origin"))
            orphans = session.execute(
                text("""
                SELECT count(*) FROM metric_snapshots s WHERE s.workspace_id = :ws
                AND NOT EXISTS (SELECT FROM entities e WHERE e.workspace_id = s.workspace_id
                                AND e.id = s.entity_id)"""),
                {"ws": ws},
            ).scalar()
            if orphans:
                raise RuntimeError(f"{orphans} snapshot rows without their entity")
        checks = "checked after the COPY" if unchecked == "on" else "checked per row"
        print(
            f"  metric_snapshots: {rows:,} rows COPied in {time.perf_counter() - tick:.0f} s "
            f"(foreign key {checks})",
            flush=True,
        )
        tick = time.perf_counter()
        load_store(session, ws, shop, spec, first, last, rng)
        print(
            f"  store: orders, refunds, customers in {time.perf_counter() - tick:.0f} s", flush=True
        )
        tick = time.perf_counter()
        rollup.rebuild(session, ws)
        # The sync writes the rollups day after day, so a live table is in day order; the
        # one-shot rebuild leaves it in hash order, where a 7-day range touches every page.
        for table in ROLLUPS:
            session.execute(text(f"CLUSTER {table} USING pk_{table}"))
        print(
            f"  rollups: rollup.rebuild (+ CLUSTER into day order) in "
            f"{time.perf_counter() - tick:.0f} s",
            flush=True,
        )
    tick = time.perf_counter()
    with get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in (
            "entities",
            "connections",
            "metric_snapshots",
            *ROLLUPS,
            "shopify_orders",
            "shopify_refunds",
            "shopify_customers",
            "fx_rates",
            "workspaces",
            "cost_settings",
        ):
            conn.execute(text(f"VACUUM ANALYZE {table}"))
    print(f"  VACUUM ANALYZE in {time.perf_counter() - tick:.0f} s", flush=True)
    return Dataset(ws, first, last, time.perf_counter() - started)


def insert_tree(session: Session, ws: int, connections: dict[str, int], ads: int) -> list[int]:
    """accounts > campaigns > ad sets > ads (Core bulk inserts); returns the ad ids in order.
    Meta gets 60 % of the campaigns, Google the rest."""
    from metricx.models import Entity

    def add(rows: list[dict[str, Any]]) -> list[int]:
        statement = insert(Entity).returning(Entity.id, sort_by_parameter_order=True)
        return list(session.execute(statement, rows).scalars())

    base = {"workspace_id": ws, "status": "ACTIVE"}
    accounts = dict(
        zip(
            ("meta", "google"),
            add(
                [
                    {
                        **base,
                        "connection_id": connections[p],
                        "level": "account",
                        "external_id": ext,
                        "parent_id": None,
                        "name": name,
                    }
                    for p, ext, name in (
                        ("meta", "100200300", "Meta · Bench Store"),
                        ("google", "1234567890", "Google · Bench Store"),
                    )
                ]
            ),
            strict=True,
        )
    )
    themes = ("Prospecting", "Retargeting", "Brand", "Catalog", "Lookalike", "Search", "Video")
    campaign_count = ads // (ADS_PER_ADSET * ADSETS_PER_CAMPAIGN)
    meta_campaigns = max(1, campaign_count * 3 // 5)
    campaign_provider = ["meta" if c < meta_campaigns else "google" for c in range(campaign_count)]
    campaign_names = [
        f"{p.title()} {themes[c % len(themes)]} {c + 1:02d}"
        for c, p in enumerate(campaign_provider)
    ]
    campaigns = add(
        [
            {
                **base,
                "connection_id": connections[p],
                "level": "campaign",
                "external_id": f"c{c}",
                "parent_id": accounts[p],
                "name": campaign_names[c],
                "objective": "SALES",
            }
            for c, p in enumerate(campaign_provider)
        ]
    )
    adset_campaign = [c for c in range(campaign_count) for _ in range(ADSETS_PER_CAMPAIGN)]
    adsets = add(
        [
            {
                **base,
                "connection_id": connections[campaign_provider[c]],
                "level": "adset",
                "external_id": f"s{s}",
                "parent_id": campaigns[c],
                "name": f"{campaign_names[c]} / Audience {s % ADSETS_PER_CAMPAIGN + 1}",
            }
            for s, c in enumerate(adset_campaign)
        ]
    )
    creatives = ("UGC video", "Carousel", "Static 1:1", "Static 4:5", "Story", "Headline A")
    return add(
        [
            {
                **base,
                "connection_id": connections[campaign_provider[adset_campaign[s]]],
                "level": "ad",
                "external_id": f"a{a}",
                "parent_id": adsets[s],
                "name": f"Ad {a + 1:04d} · {creatives[a % len(creatives)]}",
            }
            for a in range(ads)
            for s in (a // ADS_PER_ADSET,)
        ]
    )


def load_snapshots(
    session: Session, ws: int, ad_ids: list[int], first: date, last: date, rng: np.random.Generator
) -> int:
    """Every ad x every UTC hour of the local days (23/25-hour DST days included), in primary
    key order (the btree appends), 50 ads per COPY to keep memory small.

    An ad has a daily budget, CPM, CTR, conversion rate and order value of its own; spend
    follows the local hour (night is quiet), the weekday, the season (Q4 peak) and a slow
    random walk per ad. Low-volume hours give zero clicks, as real ones do.
    """
    start, end = utc_span(first, last)
    hours = pd.date_range(start, end, freq="h", inclusive="left")
    local = hours.tz_convert(TZ)
    # Arrow formats timestamps slowly (2 µs each): format the year's hours once, then take.
    stamps = pa.array(hours.strftime("%Y-%m-%d %H:%M:%S+00"))
    day_index = np.asarray(
        (local.normalize().tz_localize(None) - pd.Timestamp(first)).days, dtype=np.int64
    )
    hour_of_day = np.asarray(local.hour)
    diurnal = 0.25 + np.clip(np.sin((hour_of_day - 6) / 24 * 2 * np.pi), 0, None) * 1.6
    diurnal = diurnal / diurnal.mean()
    days = np.arange(DAYS)
    weekday = np.asarray(
        pd.DatetimeIndex(pd.Timestamp(first) + pd.to_timedelta(days, "D")).day_of_week
    )
    doy = np.asarray(pd.DatetimeIndex(pd.Timestamp(first) + pd.to_timedelta(days, "D")).day_of_year)
    season = (
        1
        + 0.6 * np.exp(-(((doy - 330) / 25.0) ** 2))
        + 0.1 * (weekday >= 5)
        + 0.1 * np.sin(days / 29.0)
    )
    n = len(ad_ids)
    budget = rng.lognormal(np.log(40), 0.7, n)  # $/day
    cpm = rng.uniform(5, 20, n)
    ctr = rng.lognormal(np.log(0.011), 0.35, n)
    cvr = rng.lognormal(np.log(0.03), 0.4, n)
    aov = rng.lognormal(np.log(85), 0.25, n)
    walk = np.exp(np.cumsum(rng.normal(0, 0.04, (n, DAYS)), axis=1))
    ids = np.asarray(ad_ids, dtype=np.int64)
    written = 0
    for lo in range(0, n, 50):
        ads = slice(lo, min(lo + 50, n))
        k = ads.stop - ads.start
        level = (
            budget[ads, None]
            * walk[ads][:, day_index]
            * season[day_index][None, :]
            * diurnal[None, :]
            / 24
        )
        spend_cents = np.maximum(np.rint(level * rng.gamma(4, 0.25, level.shape) * 100), 1)
        impressions = rng.poisson(spend_cents / 100 / cpm[ads, None] * 1000) + 1
        clicks = rng.binomial(impressions, np.minimum(ctr[ads, None], 0.5))
        conversions = rng.binomial(clicks, np.minimum(cvr[ads, None], 0.9))
        value_cents = np.rint(
            conversions * aov[ads, None] * 100 * rng.lognormal(0, 0.2, level.shape)
        )
        size = k * len(hours)
        table = pa.table(
            {
                "workspace_id": pa.array(np.full(size, ws, dtype=np.int32)),
                "entity_id": pa.array(np.repeat(ids[ads], len(hours))),
                "bucket_start": stamps.take(np.tile(np.arange(len(hours)), k)),
                "granularity": pa.repeat("1h", size),
                "spend": pa.array(spend_cents.ravel() / 100),
                "impressions": pa.array(impressions.ravel()),
                "clicks": pa.array(clicks.ravel()),
                "conversions": pa.array(conversions.ravel()),
                "conversion_value": pa.array(value_cents.ravel() / 100),
                "leads": pa.array(np.zeros(size, dtype=np.int64)),
            }
        )
        copy_arrow(session, "metric_snapshots", SNAPSHOT_COLUMNS, table)
        written += size
    return written


def local_to_utc(day: np.ndarray, seconds: np.ndarray, first: date) -> pd.DatetimeIndex:
    """Local wall-clock times (day index from `first`, second of day) as UTC instants; a
    time skipped by DST moves forward, a repeated one is taken in standard time."""
    wall = pd.DatetimeIndex(
        pd.Timestamp(first) + pd.to_timedelta(day, "D") + pd.to_timedelta(seconds, "s")
    )
    return wall.tz_localize(
        TZ, ambiguous=np.zeros(len(wall), dtype=bool), nonexistent="shift_forward"
    ).tz_convert("UTC")


def load_store(
    session: Session,
    ws: int,
    shop: int,
    spec: Spec,
    first: date,
    last: date,
    rng: np.random.Generator,
) -> None:
    """Customers, orders (Q4 peak, evening-heavy, 3 % cancelled, 1 % test) and refunds (6 %
    of live orders, 1-20 days later, inside the dataset's days); first_order_at as the sync
    writes it: the customer's first live, non-test order."""
    n, customers = spec.orders, spec.customers
    days = np.arange(DAYS)
    doy = np.asarray(pd.DatetimeIndex(pd.Timestamp(first) + pd.to_timedelta(days, "D")).day_of_year)
    weight = 1 + 0.8 * np.exp(-(((doy - 330) / 20.0) ** 2)) + days / DAYS * 0.5
    day = np.sort(rng.choice(DAYS, n, p=weight / weight.sum()))
    second = np.clip(rng.normal(19.5, 4.0, n) * 3600, 0, 86399).astype(np.int64)
    processed = local_to_utc(day, second, first)
    order = np.argsort(processed.asi8, kind="stable")
    processed = processed[order]
    loyal = rng.random(n) < 0.4  # repeat buyers come from a smaller pool
    customer = np.where(loyal, rng.integers(0, customers // 5, n), rng.integers(0, customers, n))
    cancelled = rng.random(n) < 0.03
    test = rng.random(n) < 0.01
    gross = np.rint(rng.lognormal(np.log(80), 0.5, n) * 100) / 100
    discounts = np.where(
        rng.random(n) < 0.3, np.rint(gross * rng.uniform(0.1, 0.2, n) * 100) / 100, 0.0
    )
    shipping = np.where(gross - discounts >= 75, 0.0, 5.99)
    taxes = np.rint((gross - discounts) * 0.08 * 100) / 100
    cogs = np.rint(gross * rng.uniform(0.3, 0.4, n) * 100) / 100
    frame = pd.DataFrame(
        {
            "customer": customer,
            "processed": processed,
            "live": ~cancelled & ~test,
            "external_id": np.arange(n),
        }
    )
    first_any = frame.groupby("customer")["processed"].min().sort_values(kind="stable")
    first_live = frame[frame["live"]].groupby("customer")["processed"].min()
    counts = frame.groupby("customer").size()
    known = first_any.index.to_numpy()  # in order of arrival; customers without orders: none
    customer_rows = pa.table(
        {
            "workspace_id": pa.array(np.full(len(known), ws, dtype=np.int32)),
            "shop_id": pa.array(np.full(len(known), shop, dtype=np.int32)),
            "external_id": pa.array([f"cust{c}" for c in known]),
            "created_at": pa.array(first_any),
            "updated_at": pa.array(first_any),
            "orders_count": pa.array(counts.loc[known].to_numpy()),
            "first_order_at": pa.array(first_live.reindex(known)),
        }
    )
    copy_arrow(session, "shopify_customers", tuple(customer_rows.column_names), customer_rows)
    ids = dict(
        session.execute(
            text("SELECT external_id, id FROM shopify_customers WHERE shop_id = :shop"),
            {"shop": shop},
        ).all()
    )
    customer_id = np.array([ids[f"cust{c}"] for c in customer], dtype=np.int64)
    index_in_customer = frame.groupby("customer").cumcount().to_numpy() + 1
    cancelled_at = pd.Series(processed + pd.to_timedelta(rng.integers(600, 86400, n), "s"))
    refund_of = np.flatnonzero(~cancelled & (rng.random(n) < 0.06 + 0.5 * test))
    refund_at = processed[refund_of] + pd.to_timedelta(rng.integers(1, 21, len(refund_of)), "D")
    _, end = utc_span(first, last)
    keep = refund_at < end
    refund_of, refund_at = refund_of[keep], refund_at[keep]
    refund_amount = np.rint(gross[refund_of] * rng.uniform(0.2, 1.0, len(refund_of)) * 100) / 100
    refunded = np.zeros(n)
    refunded[refund_of] = refund_amount
    order_rows = pa.table(
        {
            "workspace_id": pa.array(np.full(n, ws, dtype=np.int32)),
            "shop_id": pa.array(np.full(n, shop, dtype=np.int32)),
            "external_id": pa.array([str(5_000_000_000 + i) for i in range(n)]),
            "name": pa.array([f"#{1001 + i}" for i in range(n)]),
            "customer_id": pa.array(customer_id),
            "customer_order_index": pa.array(index_in_customer),
            "created_at": pa.array(processed),
            "processed_at": pa.array(processed),
            "updated_at": pa.array(processed),
            "cancelled_at": pa.array(cancelled_at.where(cancelled)),
            "test": pa.array(test),
            "currency": pa.repeat(CURRENCY, n),
            "gross_sales": pa.array(gross),
            "discounts": pa.array(discounts),
            "shipping": pa.array(shipping),
            "taxes": pa.array(taxes),
            "refunded": pa.array(refunded),
            "total_price": pa.array(np.rint((gross - discounts + shipping + taxes) * 100) / 100),
            "cogs": pa.array(cogs),
        }
    )
    copy_arrow(session, "shopify_orders", tuple(order_rows.column_names), order_rows)
    order_ids = dict(
        session.execute(
            text("SELECT external_id, id FROM shopify_orders WHERE shop_id = :shop"), {"shop": shop}
        ).all()
    )
    refund_rows = pa.table(
        {
            "workspace_id": pa.array(np.full(len(refund_of), ws, dtype=np.int32)),
            "order_id": pa.array(
                [order_ids[str(5_000_000_000 + i)] for i in refund_of], pa.int64()
            ),
            "external_id": pa.array([f"r{i}" for i in refund_of]),
            "created_at": pa.array(refund_at),
            "amount": pa.array(refund_amount),
            # items only: the sales returned; no shipping or tax given back
            "sales": pa.array(refund_amount),
            "shipping": pa.array(np.zeros(len(refund_of))),
            "taxes": pa.array(np.zeros(len(refund_of))),
        }
    )
    copy_arrow(session, "shopify_refunds", tuple(refund_rows.column_names), refund_rows)


def dataset_size(ws: int) -> list[tuple[str, int, str]]:
    """(table, rows of the bench workspace, on-disk size of the whole table)."""
    from metricx.db import get_engine

    out = []
    with get_engine().connect() as conn:
        for table in (
            "metric_snapshots",
            *ROLLUPS,
            "entities",
            "shopify_orders",
            "shopify_refunds",
            "shopify_customers",
        ):
            rows = conn.execute(
                text(f"SELECT count(*) FROM {table} WHERE workspace_id = :ws"), {"ws": ws}
            ).scalar()
            size = conn.execute(
                text("SELECT pg_size_pretty(pg_total_relation_size(:t))"), {"t": table}
            ).scalar()
            out.append((table, rows, size))
    return out


# --- Parquet export for DuckDB ---------------------------------------------------------------


def export_parquet(ws: int, folder: Path) -> dict[str, Path]:
    """metric_snapshots joined to the ad tree (names and ids of every level, provider,
    currency), orders, refunds and customers, as Parquet. The facts are sorted by bucket_start,
    DuckDB's best case: a time range then reads only its row groups."""
    import duckdb

    from metricx.db import get_engine

    exports = {
        "snapshots": (
            "SELECT entity_id, (extract(epoch FROM bucket_start) * 1000000)::bigint, "
            "spend, impressions, clicks, conversions, conversion_value, leads "
            "FROM metric_snapshots WHERE workspace_id = :ws"
        ),
        "tree": (
            "SELECT ad.id, ad.name, aset.id, aset.name, cmp.id, cmp.name, acc.id, "
            "acc.name, c.provider, coalesce(c.currency, w.currency) "
            "FROM entities ad JOIN connections c ON c.id = ad.connection_id "
            "JOIN workspaces w ON w.id = ad.workspace_id "
            "LEFT JOIN entities aset ON aset.id = ad.parent_id "
            "LEFT JOIN entities cmp ON cmp.id = aset.parent_id "
            "LEFT JOIN entities acc ON acc.id = cmp.parent_id "
            "WHERE ad.workspace_id = :ws AND ad.level = 'ad'"
        ),
        "orders": (
            "SELECT id, (extract(epoch FROM processed_at) * 1000000)::bigint, "
            "(extract(epoch FROM cancelled_at) * 1000000)::bigint, test, currency, "
            "gross_sales, discounts, shipping, taxes, cogs "
            "FROM shopify_orders WHERE workspace_id = :ws"
        ),
        "refunds": (
            "SELECT order_id, (extract(epoch FROM created_at) * 1000000)::bigint, sales, "
            "shipping, taxes FROM shopify_refunds WHERE workspace_id = :ws"
        ),
        "customers": (
            "SELECT (extract(epoch FROM first_order_at) * 1000000)::bigint "
            "FROM shopify_customers WHERE workspace_id = :ws"
        ),
    }
    csv = {}
    with get_engine().connect() as conn:
        raw = conn.connection.driver_connection
        for name, sql in exports.items():
            csv[name] = folder / f"{name}.csv"
            statement = sql.replace(":ws", str(int(ws)))
            with (
                raw.cursor() as cursor,
                csv[name].open("wb") as out,
                cursor.copy(f"COPY ({statement}) TO STDOUT (FORMAT csv)") as copy,
            ):
                for block in copy:
                    out.write(block)
    # numeric(20, 6) holds these amounts in DECIMAL(18, 6): 64-bit integers inside DuckDB,
    # which sums them several times faster than the 128-bit DECIMAL(20, 6). Still exact.
    money = "DECIMAL(18,6)"
    columns = {
        "snapshots": {
            "entity_id": "BIGINT",
            "us": "BIGINT",
            "spend": money,
            "impressions": "BIGINT",
            "clicks": "BIGINT",
            "conversions": money,
            "conversion_value": money,
            "leads": money,
        },
        "tree": {
            "ad_id": "BIGINT",
            "ad_name": "VARCHAR",
            "adset_id": "BIGINT",
            "adset_name": "VARCHAR",
            "campaign_id": "BIGINT",
            "campaign_name": "VARCHAR",
            "account_id": "BIGINT",
            "account_name": "VARCHAR",
            "provider": "VARCHAR",
            "currency": "VARCHAR",
        },
        "orders": {
            "id": "BIGINT",
            "processed_us": "BIGINT",
            "cancelled_us": "BIGINT",
            "test": "BOOLEAN",
            "currency": "VARCHAR",
            "gross_sales": money,
            "discounts": money,
            "shipping": money,
            "taxes": money,
            "cogs": money,
        },
        "refunds": {
            "order_id": "BIGINT",
            "created_us": "BIGINT",
            "sales": money,
            "shipping": money,
            "taxes": money,
        },
        "customers": {"first_order_us": "BIGINT"},
    }
    paths = {
        name: folder / f"{name}.parquet" for name in ("facts", "orders", "refunds", "customers")
    }
    con = duckdb.connect()
    con.execute(
        f"SET threads = 2; SET memory_limit = '3GB'; SET TimeZone = 'UTC'; "
        f"SET temp_directory = '{folder / 'duck-tmp'}'"
    )
    for name, cols in columns.items():
        con.execute(
            f"CREATE VIEW {name} AS SELECT * FROM read_csv('{csv[name]}', header = false,"
            f" columns = {cols!r}, nullstr = '')"
        )
    ts = "make_timestamp({})::TIMESTAMPTZ"
    con.execute(f"""COPY (SELECT {ts.format("s.us")} AS bucket_start, t.*, s.spend,
            s.impressions, s.clicks, s.conversions, s.conversion_value, s.leads
        FROM snapshots s JOIN tree t ON t.ad_id = s.entity_id ORDER BY s.us, s.entity_id)
        TO '{paths["facts"]}' (FORMAT parquet)""")
    con.execute(f"""COPY (SELECT id, {ts.format("processed_us")} AS processed_at,
            {ts.format("cancelled_us")} AS cancelled_at, test, currency, gross_sales, discounts,
            shipping, taxes, cogs FROM orders ORDER BY processed_us)
        TO '{paths["orders"]}' (FORMAT parquet)""")
    con.execute(f"""COPY (SELECT order_id, {ts.format("created_us")} AS created_at, sales,
        shipping, taxes FROM refunds ORDER BY created_us)
        TO '{paths["refunds"]}' (FORMAT parquet)""")
    con.execute(f"""COPY (SELECT {ts.format("first_order_us")} AS first_order_at
        FROM customers ORDER BY first_order_us) TO '{paths["customers"]}' (FORMAT parquet)""")
    currencies = con.execute(
        "SELECT DISTINCT currency FROM tree UNION SELECT DISTINCT currency FROM orders"
    ).fetchall()
    if currencies != [(CURRENCY,)]:  # the DuckDB and naive queries do no FX conversion
        raise SystemExit(f"the bench data must be all {CURRENCY}, found {currencies}")
    con.close()
    for path in csv.values():
        path.unlink()
    return paths


def duck_connection(paths: dict[str, Path]) -> Any:
    """An in-memory DuckDB with one view per Parquet file (queries read the files each run)."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET threads = 2; SET memory_limit = '2GB'")
    for name, path in paths.items():
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{path}')")
    return con


# --- custom metrics and dimensions (issue 17) -------------------------------------------------

#: What the bench workspace defines, as a merchant would in Settings: a catalogue metric written
#: as a formula, a share restricted to one platform, and a funnel stage from campaign names.
CUSTOM_METRICS = {
    "value_per_dollar": {
        "label": "Value per dollar",
        "formula": "conversion_value / spend",
        "unit": "ratio",
    },
    "meta_share": {
        "label": "Meta share of spend",
        "formula": "spend[provider=meta] / spend",
        "unit": "percent",
        "higher_is_better": None,
    },
}
CUSTOM_DIMENSIONS = {
    "funnel_stage": {
        "label": "Funnel stage",
        "rules": [
            {"field": "campaign", "op": "contains", "value": "retargeting", "then": "BOFU"},
            {"field": "campaign", "op": "contains", "value": "catalog", "then": "MOFU"},
            {"field": "campaign", "op": "contains", "value": "lookalike", "then": "MOFU"},
        ],
        "otherwise": "TOFU",
    }
}


def save_custom_definitions(ws: int) -> None:
    """Store the bench's custom definitions in its workspace (validated as the service does;
    replaced when already there), so queries name them by id as the pages do."""
    from sqlalchemy.dialects.postgresql import insert as upsert

    from metricx.db import transaction
    from metricx.models import CustomDefinition
    from metricx.semantic.custom import Definitions

    checked = Definitions.model_validate(
        {"metrics": CUSTOM_METRICS, "dimensions": CUSTOM_DIMENSIONS}
    )
    checked.check()
    rows = [
        {"workspace_id": ws, "kind": kind, "key": key, "definition": d.model_dump(mode="json")}
        for kind, defined in (("metric", checked.metrics), ("dimension", checked.dimensions))
        for key, d in defined.items()
    ]
    statement = upsert(CustomDefinition).values(rows)
    with transaction() as session:
        session.execute(
            statement.on_conflict_do_update(
                index_elements=["workspace_id", "kind", "key"],
                set_={"definition": statement.excluded.definition},
            )
        )


# --- the queries ----------------------------------------------------------------------------
#
# The hand-written SQL reads the tables the engine reads (the per-connection, per-campaign and
# per-ad daily rollups and store_daily), keeps the engine's semantics (tenant filter on every
# table, ads of the workspace's connections, money converted at its day's rate, a missing rate
# reported, workspace-local days) and is written as a person would for each query alone.

#: The workspace's connections with the currency of their money.
CONN = """conn AS (
    SELECT id, coalesce(currency, :cur) AS currency FROM connections WHERE workspace_id = :ws)"""
#: The ad tree as the engine sees it: ads of the workspace's connections, money currency.
TREE = """tree AS (
    SELECT ad.id, ad.name, ad.parent_id, coalesce(c.currency, :cur) AS currency
    FROM entities ad JOIN connections c ON c.id = ad.connection_id AND c.workspace_id = :ws
    WHERE ad.workspace_id = :ws AND ad.level = 'ad')"""
#: The rate into the workspace currency of money `m` with columns day and currency.
FX_JOIN = """LEFT JOIN fx_rates fx ON fx.workspace_id = :ws AND fx.day = m.day
        AND fx.from_currency = m.currency AND fx.to_currency = :cur"""
RATE = "CASE WHEN m.currency = :cur THEN 1 ELSE fx.rate END"
MISSING_FX = "count(*) FILTER (WHERE m.currency <> :cur AND fx.rate IS NULL) AS missing_fx"


KPI_METRICS = [
    "spend",
    "store_revenue",
    "mer",
    "orders",
    "aov",
    "roas",
    "new_customers",
    "profit_before_ad_spend",
]
PROFIT = """{rev} - {cogs} - ((k.shipping_cost_per_order + k.handling_per_order) * {orders}
        + k.shipping_cost_pct * {rev}) - (k.payment_fee_pct * ({sales} + {taxes})
        + k.payment_fee_fixed * {orders})"""
LIVE = "FILTER (WHERE cancelled_at IS NULL)"

HAND_KPI = f"""
WITH {CONN}, m AS (
    SELECT d.day >= :c0 AS cur, c.currency, d.day, d.spend, d.conversion_value AS value,
           0 AS orders, 0 AS sales, 0 AS taxes, 0 AS cogs, 0 AS refunds, 0 AS new_customers
    FROM metric_daily_connection d JOIN conn c ON c.id = d.connection_id
    WHERE d.workspace_id = :ws AND d.day BETWEEN :p0 AND :c1
    UNION ALL
    SELECT day >= :c0, currency, day, 0, 0, orders, gross - discounts + shipping, taxes, cogs,
           refunds, new_customers
    FROM store_daily WHERE workspace_id = :ws AND day BETWEEN :p0 AND :c1
), sums AS (
    SELECT m.cur, sum(m.spend * {RATE}) AS spend, sum(m.value * {RATE}) AS value,
           sum(m.orders) AS orders, sum(m.sales * {RATE}) AS sales,
           sum(m.taxes * {RATE}) AS taxes, sum(m.cogs * {RATE}) AS cogs,
           sum(m.refunds * {RATE}) AS refunds, sum(m.new_customers) AS new_customers,
           {MISSING_FX}
    FROM m {FX_JOIN}
    GROUP BY m.cur
), s AS (
    SELECT p.cur, coalesce(spend, 0) AS spend, coalesce(value, 0) AS value,
           coalesce(orders, 0) AS orders, coalesce(sales, 0) - coalesce(refunds, 0) AS revenue,
           coalesce(sales, 0) AS sales, coalesce(taxes, 0) AS taxes, coalesce(cogs, 0) AS cogs,
           coalesce(new_customers, 0) AS new_customers, coalesce(missing_fx, 0) AS missing_fx
    FROM (VALUES (true), (false)) p(cur) LEFT JOIN sums USING (cur)
)
SELECT CASE WHEN s.cur THEN 'current' ELSE 'previous' END AS period,
       s.spend::float8 AS spend, s.revenue::float8 AS store_revenue,
       (s.revenue / nullif(s.spend, 0))::float8 AS mer, s.orders::float8 AS orders,
       (s.revenue / nullif(s.orders, 0))::float8 AS aov,
       (s.value / nullif(s.spend, 0))::float8 AS roas,
       s.new_customers::float8 AS new_customers,
       ({
    PROFIT.format(
        rev="s.revenue", cogs="s.cogs", orders="s.orders", sales="s.sales", taxes="s.taxes"
    )
})::float8 AS profit_before_ad_spend,
       s.missing_fx
FROM s LEFT JOIN (SELECT * FROM cost_settings WHERE workspace_id = :ws) k ON true
ORDER BY s.cur DESC
"""

HAND_DAILY = f"""
WITH {CONN}, m AS (
    SELECT d.day, c.currency, d.spend, d.conversion_value AS value, d.clicks
    FROM metric_daily_connection d JOIN conn c ON c.id = d.connection_id
    WHERE d.workspace_id = :ws AND d.day BETWEEN :d0 AND :d1
), sums AS (
    SELECT m.day, sum(m.spend * {RATE}) AS spend, sum(m.value * {RATE}) AS value,
           sum(m.clicks) AS clicks, {MISSING_FX}
    FROM m {FX_JOIN}
    GROUP BY m.day
)
SELECT g.day::date AS day, coalesce(s.spend, 0)::float8 AS spend,
       coalesce(s.value, 0)::float8 AS conversion_value,
       (s.value / nullif(s.spend, 0))::float8 AS roas,
       (s.spend / nullif(s.clicks, 0))::float8 AS cpc, coalesce(s.missing_fx, 0) AS missing_fx
FROM generate_series(CAST(:d0 AS date), CAST(:d1 AS date), interval '1 day') g(day)
LEFT JOIN sums s ON s.day = g.day::date
ORDER BY 1
"""

HAND_TOP_ADS = f"""
WITH {TREE}, per_ad AS (
    -- summed per ad before any join; per ad and day only where the money needs a day's rate
    SELECT d.entity_id,
           CASE WHEN d.entity_id IN (SELECT id FROM tree WHERE currency <> :cur) THEN d.day END
               AS day,
           sum(d.spend) AS spend, sum(d.conversion_value) AS value
    FROM metric_daily d
    WHERE d.workspace_id = :ws AND d.day BETWEEN :d0 AND :d1
    GROUP BY 1, 2
), m AS (
    SELECT p.entity_id, t.currency, p.day, p.spend, p.value
    FROM per_ad p JOIN tree t ON t.id = p.entity_id
), s AS (
    SELECT m.entity_id, sum(m.spend * {RATE}) AS spend, sum(m.value * {RATE}) AS value,
           {MISSING_FX}
    FROM m {FX_JOIN}
    GROUP BY m.entity_id
)
SELECT coalesce(t.name, '(unknown)') AS ad, s.entity_id AS ad_id, s.spend::float8 AS spend,
       s.value::float8 AS conversion_value, (s.value / nullif(s.spend, 0))::float8 AS roas,
       sum(s.missing_fx) OVER () AS missing_fx
FROM s JOIN tree t ON t.id = s.entity_id
ORDER BY s.value / nullif(s.spend, 0) DESC NULLS LAST, coalesce(t.name, '(unknown)') COLLATE "C",
         s.entity_id
LIMIT 10
"""

HAND_CAMPAIGNS = f"""
WITH {CONN}, m AS (
    SELECT nullif(d.campaign_id, 0) AS campaign_id, c.currency, d.day, d.spend, d.impressions,
           d.clicks, d.conversions, d.conversion_value AS value
    FROM metric_daily_campaign d JOIN conn c ON c.id = d.connection_id
    WHERE d.workspace_id = :ws AND d.day BETWEEN :d0 AND :d1
), s AS (
    SELECT m.campaign_id, sum(m.spend * {RATE}) AS spend, sum(m.impressions) AS impressions,
           sum(m.clicks) AS clicks, sum(m.conversions) AS conversions,
           sum(m.value * {RATE}) AS value, {MISSING_FX}
    FROM m {FX_JOIN}
    GROUP BY m.campaign_id
)
SELECT coalesce(cmp.name, '(unknown)') AS campaign, s.campaign_id, s.spend::float8 AS spend,
       s.impressions::float8 AS impressions, s.clicks::float8 AS clicks,
       (s.clicks::numeric / nullif(s.impressions, 0))::float8 AS ctr,
       (s.spend / nullif(s.clicks, 0))::float8 AS cpc, s.conversions::float8 AS conversions,
       (s.spend / nullif(s.conversions, 0))::float8 AS cpa,
       (s.value / nullif(s.spend, 0))::float8 AS roas, s.missing_fx
FROM s LEFT JOIN entities cmp ON cmp.id = s.campaign_id AND cmp.workspace_id = :ws
ORDER BY coalesce(cmp.name, '(unknown)') COLLATE "C", s.campaign_id
"""

HAND_CUSTOM_DAILY = f"""
WITH conn AS (
    SELECT id, provider, coalesce(currency, :cur) AS currency FROM connections
    WHERE workspace_id = :ws
), m AS (
    SELECT d.day, c.provider, c.currency, d.spend, d.conversion_value AS value
    FROM metric_daily_connection d JOIN conn c ON c.id = d.connection_id
    WHERE d.workspace_id = :ws AND d.day BETWEEN :d0 AND :d1
), sums AS (
    SELECT m.day, sum(m.spend * {RATE}) AS spend, sum(m.value * {RATE}) AS value,
           sum(m.spend * {RATE}) FILTER (WHERE m.provider = 'meta') AS meta_spend, {MISSING_FX}
    FROM m {FX_JOIN}
    GROUP BY m.day
)
SELECT g.day::date AS day, (s.value / nullif(s.spend, 0))::float8 AS value_per_dollar,
       (coalesce(s.meta_spend, 0) / nullif(s.spend, 0))::float8 AS meta_share,
       coalesce(s.missing_fx, 0) AS missing_fx
FROM generate_series(CAST(:d0 AS date), CAST(:d1 AS date), interval '1 day') g(day)
LEFT JOIN sums s ON s.day = g.day::date
ORDER BY 1
"""

#: The funnel stage of CUSTOM_DIMENSIONS as a person writes it (ILIKE: rules ignore case).
STAGE_CASE = """CASE WHEN {name} ILIKE '%retargeting%' THEN 'BOFU'
         WHEN {name} ILIKE '%catalog%' OR {name} ILIKE '%lookalike%' THEN 'MOFU'
         ELSE 'TOFU' END"""

HAND_CUSTOM_STAGE = f"""
WITH {CONN}, m AS (
    SELECT {STAGE_CASE.format(name="cmp.name")} AS funnel_stage, c.currency, d.day, d.spend,
           d.conversion_value AS value
    FROM metric_daily_campaign d JOIN conn c ON c.id = d.connection_id
    LEFT JOIN entities cmp ON cmp.id = d.campaign_id AND cmp.workspace_id = :ws
    WHERE d.workspace_id = :ws AND d.day BETWEEN :d0 AND :d1
), s AS (
    SELECT m.funnel_stage, sum(m.spend * {RATE}) AS spend, sum(m.value * {RATE}) AS value,
           {MISSING_FX}
    FROM m {FX_JOIN}
    GROUP BY m.funnel_stage
)
SELECT funnel_stage, spend::float8 AS spend, (value / nullif(spend, 0))::float8 AS roas,
       missing_fx
FROM s ORDER BY 1
"""

HAND_SPEND_ORDERS = f"""
WITH {CONN}, m AS (
    SELECT d.day, c.currency, d.spend
    FROM metric_daily_connection d JOIN conn c ON c.id = d.connection_id
    WHERE d.workspace_id = :ws AND d.day BETWEEN :d0 AND :d1
), spend AS (
    SELECT m.day, sum(m.spend * {RATE}) AS spend, {MISSING_FX}
    FROM m {FX_JOIN}
    GROUP BY m.day
), orders AS (
    SELECT day, sum(orders) AS orders FROM store_daily
    WHERE workspace_id = :ws AND day BETWEEN :d0 AND :d1
    GROUP BY day
)
SELECT g.day::date AS day, coalesce(spend.spend, 0)::float8 AS spend,
       coalesce(orders.orders, 0)::float8 AS orders, coalesce(spend.missing_fx, 0) AS missing_fx
FROM generate_series(CAST(:d0 AS date), CAST(:d1 AS date), interval '1 day') g(day)
LEFT JOIN spend ON spend.day = g.day::date LEFT JOIN orders ON orders.day = g.day::date
ORDER BY 1
"""

# DuckDB reads the denormalised hourly rows; it gets the same tricks (hours are summed before
# their local day is computed: ICU's per-row conversion is 7x the whole scan otherwise). The
# data is all in the workspace currency (checked at export), so no rates.

DUCK_KPI = f"""
WITH ad AS (
    SELECT bucket_start >= $cs AS cur, sum(spend) AS spend, sum(conversion_value) AS value
    FROM facts WHERE bucket_start >= $ps AND bucket_start < $ce GROUP BY ALL
), o AS (
    -- Shopify's sales reports: every order is a sale on its day, cancelled ones too
    SELECT processed_at >= $cs AS cur, count(*) {LIVE} AS orders,
           sum(gross_sales - discounts + shipping) AS sales, sum(taxes) AS taxes,
           sum(cogs) {LIVE} AS cogs
    FROM orders WHERE processed_at >= $ps AND processed_at < $ce AND NOT test GROUP BY ALL
), r AS (
    -- what each refund gave back, on its day: goods, shipping, tax
    SELECT r.created_at >= $cs AS cur, sum(r.sales) AS sales, sum(r.shipping) AS shipping,
           sum(r.taxes) AS taxes
    FROM refunds r JOIN orders o ON o.id = r.order_id
    WHERE r.created_at >= $ps AND r.created_at < $ce AND NOT o.test GROUP BY ALL
), back AS (
    SELECT order_id, sum(sales) AS sales, sum(shipping) AS shipping, sum(taxes) AS taxes
    FROM refunds GROUP BY order_id
), c AS (
    -- a cancelled order returns, on its cancel day, what its refunds did not
    SELECT o.cancelled_at >= $cs AS cur,
           sum(o.gross_sales - o.discounts - coalesce(b.sales, 0)) AS sales,
           sum(o.shipping - coalesce(b.shipping, 0)) AS shipping,
           sum(o.taxes - coalesce(b.taxes, 0)) AS taxes
    FROM orders o LEFT JOIN back b ON b.order_id = o.id
    WHERE o.cancelled_at >= $ps AND o.cancelled_at < $ce AND NOT o.test GROUP BY ALL
), n AS (
    SELECT first_order_at >= $cs AS cur, count(*) AS new_customers
    FROM customers WHERE first_order_at >= $ps AND first_order_at < $ce GROUP BY ALL
), s AS (
    SELECT p.cur, coalesce(ad.spend, 0) AS spend, coalesce(ad.value, 0) AS value,
           coalesce(o.orders, 0) AS orders,
           coalesce(o.sales, 0) - coalesce(r.sales, 0) - coalesce(r.shipping, 0)
               - coalesce(c.sales, 0) - coalesce(c.shipping, 0) AS revenue,
           coalesce(o.sales, 0) - coalesce(r.shipping, 0) - coalesce(c.shipping, 0) AS sales,
           coalesce(o.taxes, 0) - coalesce(r.taxes, 0) - coalesce(c.taxes, 0) AS taxes,
           coalesce(o.cogs, 0) AS cogs, coalesce(n.new_customers, 0) AS new_customers
    FROM (VALUES (true), (false)) p(cur) LEFT JOIN ad USING (cur) LEFT JOIN o USING (cur)
    LEFT JOIN r USING (cur) LEFT JOIN c USING (cur) LEFT JOIN n USING (cur)
), k AS (
    SELECT $ship AS shipping_cost_per_order, $handling AS handling_per_order,
           $ship_pct AS shipping_cost_pct, $fee_pct AS payment_fee_pct,
           $fee_fixed AS payment_fee_fixed
)
SELECT CASE WHEN s.cur THEN 'current' ELSE 'previous' END AS period,
       s.spend::DOUBLE AS spend, s.revenue::DOUBLE AS store_revenue,
       (s.revenue / nullif(s.spend, 0))::DOUBLE AS mer, s.orders::DOUBLE AS orders,
       (s.revenue / nullif(s.orders, 0))::DOUBLE AS aov,
       (s.value / nullif(s.spend, 0))::DOUBLE AS roas,
       s.new_customers::DOUBLE AS new_customers,
       ({
    PROFIT.format(
        rev="s.revenue", cogs="s.cogs", orders="s.orders", sales="s.sales", taxes="s.taxes"
    )
})::DOUBLE AS profit_before_ad_spend
FROM s, k ORDER BY s.cur DESC
"""

DUCK_DAILY = """
WITH h AS (
    SELECT bucket_start, sum(spend) AS spend, sum(conversion_value) AS value,
           sum(clicks) AS clicks
    FROM facts WHERE bucket_start >= $s AND bucket_start < $e GROUP BY ALL
), s AS (
    SELECT timezone($tz, bucket_start)::DATE AS day, sum(spend) AS spend,
           sum(value) AS value, sum(clicks) AS clicks
    FROM h GROUP BY ALL
)
SELECT g.day::DATE AS day, coalesce(s.spend, 0)::DOUBLE AS spend,
       coalesce(s.value, 0)::DOUBLE AS conversion_value,
       (s.value / nullif(s.spend, 0))::DOUBLE AS roas,
       (s.spend / nullif(s.clicks, 0))::DOUBLE AS cpc
FROM range($d0, $d1 + INTERVAL 1 DAY, INTERVAL 1 DAY) g(day)
LEFT JOIN s ON s.day = g.day::DATE
ORDER BY 1
"""

DUCK_TOP_ADS = """
SELECT coalesce(ad_name, '(unknown)') AS ad, ad_id, sum(spend)::DOUBLE AS spend,
       sum(conversion_value)::DOUBLE AS conversion_value,
       (sum(conversion_value) / nullif(sum(spend), 0))::DOUBLE AS roas
FROM facts WHERE bucket_start >= $s AND bucket_start < $e
GROUP BY ad_name, ad_id
ORDER BY roas DESC NULLS LAST, ad, ad_id
LIMIT 10
"""

DUCK_CAMPAIGNS = """
SELECT coalesce(campaign_name, '(unknown)') AS campaign, campaign_id,
       sum(spend)::DOUBLE AS spend, sum(impressions)::DOUBLE AS impressions,
       sum(clicks)::DOUBLE AS clicks, (sum(clicks) / nullif(sum(impressions), 0))::DOUBLE AS ctr,
       (sum(spend) / nullif(sum(clicks), 0))::DOUBLE AS cpc,
       sum(conversions)::DOUBLE AS conversions,
       (sum(spend) / nullif(sum(conversions), 0))::DOUBLE AS cpa,
       (sum(conversion_value) / nullif(sum(spend), 0))::DOUBLE AS roas
FROM facts WHERE bucket_start >= $s AND bucket_start < $e
GROUP BY campaign_name, campaign_id
ORDER BY campaign, campaign_id
"""

DUCK_SPEND_ORDERS = """
WITH h AS (
    SELECT bucket_start, sum(spend) AS spend
    FROM facts WHERE bucket_start >= $s AND bucket_start < $e GROUP BY ALL
), a AS (
    SELECT timezone($tz, bucket_start)::DATE AS day, sum(spend) AS spend FROM h GROUP BY ALL
), q AS (
    SELECT epoch_us(processed_at) // 900000000 AS quarter, count(*) AS orders
    FROM orders WHERE processed_at >= $s AND processed_at < $e AND NOT test
      AND cancelled_at IS NULL GROUP BY ALL
), o AS (
    SELECT timezone($tz, make_timestamptz(quarter * 900000000))::DATE AS day,
           sum(orders) AS orders
    FROM q GROUP BY ALL
)
SELECT g.day::DATE AS day, coalesce(a.spend, 0)::DOUBLE AS spend,
       coalesce(o.orders, 0)::DOUBLE AS orders
FROM range($d0, $d1 + INTERVAL 1 DAY, INTERVAL 1 DAY) g(day)
LEFT JOIN a ON a.day = g.day::DATE LEFT JOIN o ON o.day = g.day::DATE
ORDER BY 1
"""

DUCK_CUSTOM_DAILY = """
WITH h AS (
    SELECT bucket_start, sum(spend) AS spend, sum(conversion_value) AS value,
           sum(spend) FILTER (WHERE provider = 'meta') AS meta_spend
    FROM facts WHERE bucket_start >= $s AND bucket_start < $e GROUP BY ALL
), s AS (
    SELECT timezone($tz, bucket_start)::DATE AS day, sum(spend) AS spend,
           sum(value) AS value, sum(meta_spend) AS meta_spend
    FROM h GROUP BY ALL
)
SELECT g.day::DATE AS day, (s.value / nullif(s.spend, 0))::DOUBLE AS value_per_dollar,
       (coalesce(s.meta_spend, 0) / nullif(s.spend, 0))::DOUBLE AS meta_share
FROM range($d0, $d1 + INTERVAL 1 DAY, INTERVAL 1 DAY) g(day)
LEFT JOIN s ON s.day = g.day::DATE
ORDER BY 1
"""

DUCK_CUSTOM_STAGE = f"""
WITH per_campaign AS (
    SELECT campaign_name, sum(spend) AS spend, sum(conversion_value) AS value
    FROM facts WHERE bucket_start >= $s AND bucket_start < $e GROUP BY ALL
)
SELECT {STAGE_CASE.format(name="campaign_name")} AS funnel_stage, sum(spend)::DOUBLE AS spend,
       (sum(value) / nullif(sum(spend), 0))::DOUBLE AS roas
FROM per_campaign GROUP BY 1 ORDER BY 1
"""

NAIVE_ADS = """
SELECT s.bucket_start, s.entity_id, s.spend, s.impressions, s.clicks, s.conversions,
       s.conversion_value, ad.name AS ad_name, cmp.id AS campaign_id, cmp.name AS campaign_name,
       c.currency, c.provider
FROM metric_snapshots s
JOIN entities ad ON ad.id = s.entity_id JOIN connections c ON c.id = ad.connection_id
LEFT JOIN entities aset ON aset.id = ad.parent_id
LEFT JOIN entities cmp ON cmp.id = aset.parent_id
WHERE s.workspace_id = :ws AND s.bucket_start >= :s AND s.bucket_start < :e
"""


@dataclass
class Case:
    """One benchmark query, written four ways."""

    workspace_id: int
    key: str
    title: str
    semantic: dict[str, Any]
    hand_sql: str
    hand_params: dict[str, Any]
    duck_sql: str
    duck_params: dict[str, Any]
    naive: Callable[[], pd.DataFrame]
    index: str  # the column that identifies a row
    names: list[str] = field(default_factory=list)  # label columns compared exactly
    ordered: bool = False  # row order is part of the answer (top N)
    #: For a custom query: the catalogue query reading the same sums, timed in the same turns
    #: (custom metrics should cost no more than the catalogue metrics they are built from).
    twin: dict[str, Any] | None = None
    #: (custom metric, catalogue metric) pairs whose values must be equal row by row.
    same_as_twin: tuple[tuple[str, str], ...] = ()

    @property
    def metrics(self) -> list[str]:
        return list(self.semantic["metrics"])


def naive_ads(ws: int, start: datetime, end: datetime) -> pd.DataFrame:
    """The raw hourly rows joined to the tree, straight into pandas; local day added."""
    from metricx.db import get_engine

    with get_engine().connect() as conn:
        frame = pd.read_sql(text(NAIVE_ADS), conn, params={"ws": ws, "s": start, "e": end})
    for column in ("spend", "conversions", "conversion_value"):
        frame[column] = frame[column].astype(float)
    frame["bucket_start"] = pd.to_datetime(frame["bucket_start"], utc=True)
    frame["day"] = frame["bucket_start"].dt.tz_convert(TZ).dt.strftime("%Y-%m-%d")
    return frame


def naive_store(ws: int, start: datetime, end: datetime) -> dict[str, pd.DataFrame]:
    from metricx.db import get_engine

    params = {"ws": ws, "s": start, "e": end}
    with get_engine().connect() as conn:
        orders = pd.read_sql(
            text(
                "SELECT * FROM shopify_orders WHERE workspace_id = :ws "
                "AND processed_at >= :s AND processed_at < :e"
            ),
            conn,
            params=params,
        )
        refunds = pd.read_sql(
            text(
                "SELECT r.*, o.test FROM shopify_refunds r JOIN "
                "shopify_orders o ON o.id = r.order_id WHERE "
                "r.workspace_id = :ws AND r.created_at >= :s AND "
                "r.created_at < :e"
            ),
            conn,
            params=params,
        )
        customers = pd.read_sql(
            text(
                "SELECT * FROM shopify_customers WHERE workspace_id = :ws "
                "AND first_order_at >= :s AND first_order_at < :e"
            ),
            conn,
            params=params,
        )
        # Cancelled orders with what their refunds (of any day) gave back already.
        cancels = pd.read_sql(
            text(
                "SELECT o.*, coalesce(sum(r.sales), 0) AS back_sales, "
                "coalesce(sum(r.shipping), 0) AS back_shipping, "
                "coalesce(sum(r.taxes), 0) AS back_taxes FROM shopify_orders o "
                "LEFT JOIN shopify_refunds r ON r.order_id = o.id WHERE o.workspace_id = :ws "
                "AND o.cancelled_at >= :s AND o.cancelled_at < :e AND NOT o.test GROUP BY o.id"
            ),
            conn,
            params=params,
        )
    money = ("gross_sales", "discounts", "shipping", "taxes", "cogs")
    for frame, columns in (
        (orders, money),
        (refunds, ("amount", "sales", "shipping", "taxes")),
        (cancels, (*money, "back_sales", "back_shipping", "back_taxes")),
    ):
        for column in columns:
            frame[column] = frame[column].astype(float)
    for frame, column in (
        (orders, "processed_at"),
        (refunds, "created_at"),
        (customers, "first_order_at"),
        (cancels, "cancelled_at"),
    ):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    orders = orders[~orders["test"].astype(bool)]
    return {
        "orders": orders,
        "live": orders[orders["cancelled_at"].isna()],
        "refunds": refunds[~refunds["test"].astype(bool)],
        "customers": customers,
        "cancels": cancels,
    }


def ratio(numerator: Any, denominator: Any) -> Any:
    """x / 0 is null, as in the catalogue."""
    if isinstance(denominator, pd.Series):
        return numerator / denominator.where(denominator != 0)
    return numerator / denominator if denominator else np.nan


def build_cases(ds: Dataset) -> list[Case]:
    """The issue's five queries, anchored on the dataset's last day (not today), so a reused
    dataset asks the same questions every run."""
    ws, last = ds.workspace_id, ds.last

    def days(n: int, before: int = 0) -> tuple[date, date]:
        end = last - timedelta(days=before)
        return end - timedelta(days=n - 1), end

    def span(start: date, end: date) -> dict[str, str]:
        return {"start": start.isoformat(), "end": end.isoformat()}

    base = {"ws": ws, "cur": CURRENCY, "tz": TZ}
    cases = []

    c0, c1 = days(30)
    p0, p1 = days(30, before=30)
    ps, cs = utc_span(p0, p1)
    _, ce = utc_span(c0, c1)

    def naive_kpi() -> pd.DataFrame:
        ads = naive_ads(ws, ps, ce)
        store = naive_store(ws, ps, ce)
        rows = []
        for period, current in (("current", True), ("previous", False)):
            a = ads[(ads["bucket_start"] >= cs) == current]
            # Shopify's sales reports: every order is a sale on its day (cancelled ones too);
            # refunds give back goods, shipping and tax on their day; a cancelled order gives
            # back, on its cancel day, what its refunds did not.
            placed = store["orders"][(store["orders"]["processed_at"] >= cs) == current]
            o = store["live"][(store["live"]["processed_at"] >= cs) == current]
            r = store["refunds"][(store["refunds"]["created_at"] >= cs) == current]
            c = store["cancels"][(store["cancels"]["cancelled_at"] >= cs) == current]
            n = store["customers"][(store["customers"]["first_order_at"] >= cs) == current]
            spend, value = a["spend"].sum(), a["conversion_value"].sum()
            shipping_back = r["shipping"].sum() + (c["shipping"] - c["back_shipping"]).sum()
            sales = (placed["gross_sales"] - placed["discounts"] + placed["shipping"]).sum()
            sales -= shipping_back
            goods_back = (
                r["sales"].sum() + (c["gross_sales"] - c["discounts"] - c["back_sales"]).sum()
            )
            revenue = sales - goods_back
            taxes = placed["taxes"].sum() - r["taxes"].sum() - (c["taxes"] - c["back_taxes"]).sum()
            orders = len(o)
            costs = (
                (COSTS["shipping_cost_per_order"] + COSTS["handling_per_order"]) * orders
                + COSTS["shipping_cost_pct"] * revenue
                + COSTS["payment_fee_pct"] * (sales + taxes)
                + COSTS["payment_fee_fixed"] * orders
            )
            rows.append(
                {
                    "period": period,
                    "spend": spend,
                    "store_revenue": revenue,
                    "mer": ratio(revenue, spend),
                    "orders": orders,
                    "aov": ratio(revenue, orders),
                    "roas": ratio(value, spend),
                    "new_customers": len(n),
                    "profit_before_ad_spend": revenue - o["cogs"].sum() - costs,
                }
            )
        return pd.DataFrame(rows)

    cases.append(
        Case(
            ws,
            "kpi",
            "KPI tiles: 8 metrics, last 30 days + previous period",
            {"metrics": KPI_METRICS, "time_range": span(c0, c1), "compare_range": span(p0, p1)},
            HAND_KPI,
            {**base, "c0": c0, "c1": c1, "p0": p0, "ps": ps, "cs": cs, "ce": ce},
            DUCK_KPI,
            {
                "ps": ps,
                "cs": cs,
                "ce": ce,
                "ship": COSTS["shipping_cost_per_order"],
                "handling": COSTS["handling_per_order"],
                "ship_pct": COSTS["shipping_cost_pct"],
                "fee_pct": COSTS["payment_fee_pct"],
                "fee_fixed": COSTS["payment_fee_fixed"],
            },
            naive_kpi,
            "period",
        )
    )

    d0, d1 = days(90)
    s90, e90 = utc_span(d0, d1)

    def naive_daily() -> pd.DataFrame:
        g = naive_ads(ws, s90, e90).groupby("day")[["spend", "conversion_value", "clicks"]].sum()
        g = g.reindex(
            [str(d0 + timedelta(days=i)) for i in range((d1 - d0).days + 1)], fill_value=0
        )
        return pd.DataFrame(
            {
                "day": g.index.to_numpy(),
                "spend": g["spend"].to_numpy(),
                "conversion_value": g["conversion_value"].to_numpy(),
                "roas": ratio(g["conversion_value"], g["spend"]).to_numpy(),
                "cpc": ratio(g["spend"], g["clicks"]).to_numpy(),
            }
        )

    cases.append(
        Case(
            ws,
            "timeseries",
            "Daily timeseries: spend, conversion value, ROAS, CPC over 90 days",
            {
                "metrics": ["spend", "conversion_value", "roas", "cpc"],
                "time_range": span(d0, d1),
                "grain": "day",
            },
            HAND_DAILY,
            {**base, "d0": d0, "d1": d1},
            DUCK_DAILY,
            {"tz": TZ, "s": s90, "e": e90, "d0": d0, "d1": d1},
            naive_daily,
            "day",
        )
    )

    t0, t1 = days(7)
    s7, e7 = utc_span(t0, t1)

    def naive_top() -> pd.DataFrame:
        g = (
            naive_ads(ws, s7, e7)
            .groupby(["ad_name", "entity_id"])[["spend", "conversion_value"]]
            .sum()
            .reset_index()
        )
        g["roas"] = ratio(g["conversion_value"], g["spend"])
        g = g.sort_values(
            ["roas", "ad_name", "entity_id"], ascending=[False, True, True], na_position="last"
        ).head(10)
        return g.rename(columns={"ad_name": "ad", "entity_id": "ad_id"})

    cases.append(
        Case(
            ws,
            "top_ads",
            "Top 10 ads by ROAS over 7 days",
            {
                "metrics": ["roas", "spend", "conversion_value"],
                "time_range": span(t0, t1),
                "dimensions": ["ad"],
                "order_by": {"metric": "roas", "direction": "desc"},
                "limit": 10,
            },
            HAND_TOP_ADS,
            {**base, "d0": t0, "d1": t1},
            DUCK_TOP_ADS,
            {"s": s7, "e": e7},
            naive_top,
            "ad_id",
            ["ad"],
            ordered=True,
        )
    )

    b0, b1 = days(30)
    s30, e30 = utc_span(b0, b1)
    campaign_metrics = [
        "spend",
        "impressions",
        "clicks",
        "ctr",
        "cpc",
        "conversions",
        "cpa",
        "roas",
    ]

    def naive_campaigns() -> pd.DataFrame:
        g = (
            naive_ads(ws, s30, e30)
            .groupby(["campaign_name", "campaign_id"])[
                ["spend", "impressions", "clicks", "conversions", "conversion_value"]
            ]
            .sum()
        )
        g = g.reset_index().rename(columns={"campaign_name": "campaign"})
        g["ctr"] = ratio(g["clicks"], g["impressions"])
        g["cpc"] = ratio(g["spend"], g["clicks"])
        g["cpa"] = ratio(g["spend"], g["conversions"])
        g["roas"] = ratio(g["conversion_value"], g["spend"])
        return g

    cases.append(
        Case(
            ws,
            "campaigns",
            "Breakdown by campaign over 30 days (8 metrics)",
            {"metrics": campaign_metrics, "time_range": span(b0, b1), "dimensions": ["campaign"]},
            HAND_CAMPAIGNS,
            {**base, "d0": b0, "d1": b1},
            DUCK_CAMPAIGNS,
            {"s": s30, "e": e30},
            naive_campaigns,
            "campaign_id",
            ["campaign"],
        )
    )

    def naive_spend_orders() -> pd.DataFrame:
        spend = naive_ads(ws, s90, e90).groupby("day")["spend"].sum()
        live = naive_store(ws, s90, e90)["live"]
        orders = live.groupby(live["processed_at"].dt.tz_convert(TZ).dt.strftime("%Y-%m-%d")).size()
        every = [str(d0 + timedelta(days=i)) for i in range((d1 - d0).days + 1)]
        return pd.DataFrame(
            {
                "day": every,
                "spend": spend.reindex(every, fill_value=0).values,
                "orders": orders.reindex(every, fill_value=0).values,
            }
        )

    cases.append(
        Case(
            ws,
            "spend_orders",
            "Spend and orders by day over 90 days",
            {"metrics": ["spend", "orders"], "time_range": span(d0, d1), "grain": "day"},
            HAND_SPEND_ORDERS,
            {**base, "d0": d0, "d1": d1, "s": s90, "e": e90},
            DUCK_SPEND_ORDERS,
            {"tz": TZ, "s": s90, "e": e90, "d0": d0, "d1": d1},
            naive_spend_orders,
            "day",
        )
    )

    def naive_custom_daily() -> pd.DataFrame:
        ads = naive_ads(ws, s90, e90)
        ads["meta_spend"] = ads["spend"].where(ads["provider"] == "meta", 0.0)
        g = ads.groupby("day")[["spend", "conversion_value", "meta_spend"]].sum()
        g = g.reindex(
            [str(d0 + timedelta(days=i)) for i in range((d1 - d0).days + 1)], fill_value=0
        )
        return pd.DataFrame(
            {
                "day": g.index.to_numpy(),
                "value_per_dollar": ratio(g["conversion_value"], g["spend"]).to_numpy(),
                "meta_share": ratio(g["meta_spend"], g["spend"]).to_numpy(),
            }
        )

    cases.append(
        Case(
            ws,
            "custom_daily",
            "Custom metrics by day over 90 days: conversion_value / spend, "
            "spend[provider=meta] / spend",
            {
                "metrics": ["value_per_dollar", "meta_share"],
                "time_range": span(d0, d1),
                "grain": "day",
            },
            HAND_CUSTOM_DAILY,
            {**base, "d0": d0, "d1": d1},
            DUCK_CUSTOM_DAILY,
            {"tz": TZ, "s": s90, "e": e90, "d0": d0, "d1": d1},
            naive_custom_daily,
            "day",
            twin={"metrics": ["roas", "spend"], "time_range": span(d0, d1), "grain": "day"},
            same_as_twin=(("value_per_dollar", "roas"),),
        )
    )

    def naive_custom_stage() -> pd.DataFrame:
        ads = naive_ads(ws, s30, e30)
        name = ads["campaign_name"].fillna("").str.lower()
        stage = np.where(
            name.str.contains("retargeting", regex=False),
            "BOFU",
            np.where(
                name.str.contains("catalog", regex=False)
                | name.str.contains("lookalike", regex=False),
                "MOFU",
                "TOFU",
            ),
        )
        g = ads.groupby(stage)[["spend", "conversion_value"]].sum()
        return pd.DataFrame(
            {
                "funnel_stage": g.index.to_numpy(),
                "spend": g["spend"].to_numpy(),
                "roas": ratio(g["conversion_value"], g["spend"]).to_numpy(),
            }
        )

    cases.append(
        Case(
            ws,
            "custom_stage",
            "Spend and ROAS by a custom dimension (funnel stage from campaign names), 30 days",
            {
                "metrics": ["spend", "roas"],
                "time_range": span(b0, b1),
                "dimensions": ["funnel_stage"],
            },
            HAND_CUSTOM_STAGE,
            {**base, "d0": b0, "d1": b1},
            DUCK_CUSTOM_STAGE,
            {"s": s30, "e": e30},
            naive_custom_stage,
            "funnel_stage",
            twin={
                "metrics": ["spend", "roas"],
                "time_range": span(b0, b1),
                "dimensions": ["campaign"],
            },
        )
    )
    return cases


# --- running and checking ---------------------------------------------------------------------


def run_engine(case: Case) -> Any:
    """The engine under test, end to end: the query as a dict in, MetricsResult out."""
    from metricx.semantic.engine import run_query

    return run_query(case.workspace_id, case.semantic)


def run_hand(case: Case) -> pd.DataFrame:
    """The hand-written SQL through the engine's own pool (metricx.db.get_reader: its
    statements stay prepared as the engine's do), into a DataFrame."""
    from metricx.db import get_reader

    with get_reader().connect() as conn:
        result = conn.execute(text(case.hand_sql), case.hand_params)
        frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    if frame["missing_fx"].any():
        raise RuntimeError("missing exchange rates")  # what the engine would raise
    return frame.drop(columns="missing_fx")


def run_duck(con: Any, case: Case) -> pd.DataFrame:
    return con.execute(case.duck_sql, case.duck_params).df()


def canonical(case: Case, frame: pd.DataFrame) -> pd.DataFrame:
    """Any method's answer as [index, names..., metrics...] floats, in the answer's order."""
    out = frame.copy()
    if case.index == "day":
        out["day"] = pd.to_datetime(out["day"]).dt.strftime("%Y-%m-%d")
    elif case.index.endswith("_id"):
        out[case.index] = out[case.index].astype("int64")
    out = out[[case.index, *case.names, *case.metrics]]
    for metric in case.metrics:
        out[metric] = out[metric].astype(float)
    if not case.ordered:
        out = out.sort_values(case.index, kind="mergesort")
    return out.reset_index(drop=True)


def engine_frame(case: Case, result: Any) -> pd.DataFrame:
    if case.index != "period":
        return result.frame
    current = result.frame.assign(period="current")
    previous = result.compare_frame.assign(period="previous")
    return pd.concat([current, previous], ignore_index=True)


def difference(case: Case, want: pd.DataFrame, got: pd.DataFrame) -> str | None:
    """None when `got` is `want` (labels exactly, numbers within RTOL), else what differs."""
    if len(want) != len(got):
        return f"{len(got)} rows, want {len(want)}"
    for column in (case.index, *case.names):
        bad = np.flatnonzero(want[column].to_numpy() != got[column].to_numpy())
        if len(bad):
            i = bad[0]
            return f"row {i} {column}: {got[column].iloc[i]}, want {want[column].iloc[i]}"
    for metric in case.metrics:
        a, b = want[metric].to_numpy(), got[metric].to_numpy()
        bad = np.flatnonzero(~np.isclose(a, b, rtol=RTOL, atol=1e-9, equal_nan=True))
        if len(bad):
            i = bad[0]
            return (
                f"{len(bad)} value(s) of {metric}, e.g. {case.index}="
                f"{want[case.index].iloc[i]}: {float(b[i])!r}, want {float(a[i])!r}"
            )
    return None


def timed(
    actions: dict[str, Callable[[], Any]], runs: int, warmup: int
) -> tuple[dict[str, list[float]], dict[str, Any]]:
    """Milliseconds of `runs` calls of each action after `warmup` untimed ones, and each
    one's last answer. The actions take turns, run by run, so a machine's slower moments
    fall on every method alike and the ratios between them stay fair."""
    answers = {}
    for name, action in actions.items():
        for _ in range(warmup):
            answers[name] = action()
    times: dict[str, list[float]] = {name: [] for name in actions}
    for _ in range(runs):
        for name, action in actions.items():
            started = time.perf_counter()
            answers[name] = action()
            times[name].append((time.perf_counter() - started) * 1000)
    return times, answers


def p(times: list[float], q: float) -> float:
    return float(np.percentile(times, q)) if times else float("nan")


@dataclass
class Outcome:
    case: Case
    times: dict[str, list[float]]
    mismatches: list[str]


METHODS = (
    ("engine", "engine: run_query"),
    ("hand", "hand-written SQL (limit)"),
    ("duck", "DuckDB on raw Parquet"),
    ("naive", "naive: pandas on raw rows"),
)


def run_twin(case: Case) -> Any:
    """The engine on the catalogue query a custom one is built from."""
    from metricx.semantic.engine import run_query

    assert case.twin is not None
    return run_query(case.workspace_id, case.twin)


def twin_difference(case: Case, custom: Any, twin: Any) -> str | None:
    """None when each custom metric equals its catalogue twin's values row by row."""
    for mine, theirs in case.same_as_twin:
        a = custom.frame[mine].to_numpy(dtype=float)
        b = twin.frame[theirs].to_numpy(dtype=float)
        if len(a) != len(b) or not np.allclose(a, b, rtol=RTOL, atol=0, equal_nan=True):
            return f"{mine} differs from the catalogue's {theirs}"
    return None


def bench_case(case: Case, duck: Any, args: argparse.Namespace) -> Outcome:
    actions: dict[str, Callable[[], Any]] = {
        "engine": lambda: run_engine(case),
        "hand": lambda: run_hand(case),
        "duck": lambda: run_duck(duck, case),
    }
    if case.twin is not None:
        actions["twin"] = lambda: run_twin(case)
    times, raw = timed(actions, args.runs, args.warmup)
    twin = raw.pop("twin", None)
    if args.naive_runs:  # seconds per run: timed on its own
        naive_times, naive = timed({"naive": case.naive}, args.naive_runs, 0)
        times |= naive_times
        raw |= naive
    answers = {
        method: canonical(case, engine_frame(case, answer) if method == "engine" else answer)
        for method, answer in raw.items()
    }
    mismatches = []
    if twin is not None:
        problem = twin_difference(case, raw["engine"], twin)
        if problem:
            mismatches.append(f"custom != catalogue: {problem}")
    for metric in ("spend", "orders"):  # equal empty answers would prove nothing
        if metric in case.metrics and not answers["engine"][metric].sum() > 0:
            mismatches.append(f"the engine's {metric} is all zero: the dataset is broken")
    for method, label in METHODS[1:]:
        if method in answers:
            problem = difference(case, answers["engine"], answers[method])
            if problem:
                mismatches.append(f"{label} != engine: {problem}")
    return Outcome(case, times, mismatches)


def report(outcome: Outcome, number: int) -> list[tuple[str, bool, str]]:
    """Print one query's table; return its goals as (goal, met, detail)."""
    case, times = outcome.case, outcome.times
    engine = p(times["engine"], 50)
    print(f"\nQ{number} {case.title}   [{case.key}]")
    print(f"  {'method':<28}{'runs':>5}{'p50 ms':>10}{'p90 ms':>10}{'p50 / engine':>14}")
    for method, label in METHODS:
        if method in times:
            t = times[method]
            print(
                f"  {label:<28}{len(t):>5}{p(t, 50):>10.1f}{p(t, 90):>10.1f}"
                f"{p(t, 50) / engine:>13.2f}x"
            )
    if "twin" in times and case.twin is not None:
        t, twin = times["twin"], case.twin
        split = f" by {', '.join(twin['dimensions'])}" if twin.get("dimensions") else ""
        print(
            f"  {'engine, catalogue twin':<28}{len(t):>5}{p(t, 50):>10.1f}{p(t, 90):>10.1f}"
            f"{p(t, 50) / engine:>13.2f}x   ({', '.join(twin['metrics'])}{split})"
        )
    if outcome.mismatches:
        for line in outcome.mismatches:
            print(f"  !!! MISMATCH: {line}")
    else:
        checked = [label.split(":")[0] for method, label in METHODS[1:] if method in times]
        print(f"  answers: engine = {' = '.join(checked)} (rtol {RTOL:g})")
    hand, duck = p(times["hand"], 50), p(times["duck"], 50)
    goals = [
        (f"p50 <= {GOAL_P50_MS:g} ms", engine <= GOAL_P50_MS, f"{engine:.1f} ms"),
        (
            f"engine/hand SQL <= {GOAL_VS_HAND:g}x",
            engine <= GOAL_VS_HAND * hand,
            f"{engine / hand:.2f}x",
        ),
        ("faster than DuckDB", engine < duck, f"DuckDB/engine {duck / engine:.2f}x"),
    ]
    if "twin" in times:
        catalogue = p(times["twin"], 50)
        goals.append(
            (
                f"custom/catalogue twin <= {GOAL_VS_CATALOGUE:g}x",
                engine <= GOAL_VS_CATALOGUE * catalogue,
                f"custom/catalogue {engine / catalogue:.2f}x",
            )
        )
    if "naive" in times:
        naive = p(times["naive"], 50)
        goals.append(
            (
                f">= {GOAL_VS_NAIVE:g}x naive",
                naive >= GOAL_VS_NAIVE * engine,
                f"naive/engine {naive / engine:,.0f}x",
            )
        )
    print(
        "  goals: "
        + "   ".join(f"{name}: {'PASS' if ok else 'MISS'} ({detail})" for name, ok, detail in goals)
    )
    # When the limit itself misses, no engine on these tables can meet the goal.
    print(
        f"  the limit itself: p50 <= {GOAL_P50_MS:g} ms: "
        f"{'PASS' if hand <= GOAL_P50_MS else 'MISS'} ({hand:.1f} ms)   faster than DuckDB: "
        f"{'PASS' if hand < duck else 'MISS'} (DuckDB/hand SQL {duck / hand:.2f}x)"
    )
    return goals


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="The dataset is built once (minutes) and "
        "reused from --data-dir or BENCH_DATABASE_URL while its shape and row counts match.",
    )
    parser.add_argument("--runs", type=int, default=20, help="timed runs per figure (default 20)")
    parser.add_argument(
        "--warmup",
        type=int,
        default=10,
        help="untimed runs first (default 10: the steady state a page sees, "
        "statements prepared by psycopg after 5 runs and planned by "
        "PostgreSQL's generic plan after 5 more)",
    )
    parser.add_argument(
        "--naive-runs",
        type=int,
        default=3,
        help="runs of the naive way, seconds each (default 3; 0 skips it)",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="keep the embedded PostgreSQL here and "
        "reuse its dataset next time (default: a temp dir, deleted)",
    )
    parser.add_argument(
        "--end",
        type=date.fromisoformat,
        help="last day of the dataset "
        "(default: yesterday in New York, or the cached dataset's last day)",
    )
    parser.add_argument("--rebuild", action="store_true", help="rebuild even if cached")
    parser.add_argument(
        "--ads",
        type=int,
        default=1000,
        help="ads (multiple of 50; default 1000; smaller for a smoke run)",
    )
    parser.add_argument("--orders", type=int, default=200_000, help="orders (default 200,000)")
    parser.add_argument(
        "--only",
        nargs="*",
        metavar="KEY",
        help="run only these queries: kpi, timeseries, top_ads, campaigns, spend_orders, "
        "custom_daily, custom_stage",
    )
    args = parser.parse_args()
    if args.ads % (ADS_PER_ADSET * ADSETS_PER_CAMPAIGN):
        parser.error("--ads must be a multiple of 50")
    spec = Spec(args.ads, args.orders)
    server, url, scratch = setup_database(args.data_dir)
    parquet_dir = Path(tempfile.mkdtemp(prefix="metricx-bench-parquet-"))
    failed = False
    try:
        configure(url, parquet_dir / "metricx-data")
        from metricx.semantic.dates import today_in

        dataset = None if args.rebuild else find_dataset(spec)
        if dataset is not None and args.end and dataset.last != args.end:
            dataset = None
        if dataset is None:
            drop_workspace(spec)
            end = args.end or today_in(TZ) - timedelta(days=1)
            print(f"building the dataset ({spec.name}, {DAYS} days ending {end}) ...", flush=True)
            dataset = build_dataset(spec, end)
        built = (
            f"built in {dataset.build_seconds:.0f} s"
            if dataset.build_seconds is not None
            else "reused (already built)"
        )
        print(
            f"\ndataset: workspace {dataset.workspace_id}, {TZ}, {CURRENCY}, days "
            f"{dataset.first} .. {dataset.last}; {built}"
        )
        for table, rows, size in dataset_size(dataset.workspace_id):
            print(f"  {table:<20}{rows:>12,} rows   (table on disk: {size})")
        tick = time.perf_counter()
        paths = export_parquet(dataset.workspace_id, parquet_dir)
        sizes = ", ".join(
            f"{name} {path.stat().st_size / 2**20:.0f} MiB" for name, path in paths.items()
        )
        print(
            f"Parquet export for DuckDB in {time.perf_counter() - tick:.0f} s (not timed "
            f"below): {sizes}"
        )
        duck = duck_connection(paths)
        save_custom_definitions(dataset.workspace_id)
        naive = (
            f"{args.naive_runs} runs, no warm-up (each takes seconds)"
            if args.naive_runs
            else "skipped (--naive-runs 0)"
        )
        print(
            f"\nfigures: p50/p90 of {args.runs} runs after {args.warmup} warm-up runs, the "
            f"engine, hand SQL and DuckDB taking turns run by run; the naive way: {naive}"
        )
        results = []
        for number, case in enumerate(build_cases(dataset), start=1):
            if args.only and case.key not in args.only:
                continue
            outcome = bench_case(case, duck, args)
            results.append((number, outcome, report(outcome, number)))
            failed |= bool(outcome.mismatches)
        print("\nsummary (engine p50 ms; PASS/MISS per goal)")
        for number, outcome, goals in results:
            marks = "  ".join(f"{'PASS' if ok else 'MISS'} {detail}" for _, ok, detail in goals)
            print(
                f"  Q{number} {outcome.case.key:<14}{p(outcome.times['engine'], 50):>7.1f}"
                f"   {marks}"
            )
        if failed:
            print(
                "\n!!! some answers differ from the engine's: the figures above compare "
                "different results"
            )
    finally:
        shutil.rmtree(parquet_dir, ignore_errors=True)
        teardown_database(server, scratch)
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
