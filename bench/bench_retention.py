"""Retention benchmark: the cohort and product query families against hand-written SQL.

Five tables, each through the metric engine (metricx.semantic.engine.run_query), through the
page's service where a page shows it (metricx.services.retention.cohort_table,
metricx.services.products.products_table), and by hand in the same run: one SQL statement on
the stored orders (the reference every answer is checked against) and one on the rollups the
engine reads (cohort_daily, product_daily, product_credit_daily: "the same tables"):

  T1 the 12 x 12 monthly cohort table (customers, repeat rate, LTV by cohort and age), one
     engine query (no page shows the three at once);
  T2, T3 the Retention page's heatmap of repeat rate, of LTV (each with the customers);
  T4, T5 the Products page's table (all 16 product metrics, spend allocated) over the last 30
     days and the last 12 months.

    .venv/bin/python bench/bench_retention.py                           # temp dir, deleted
    .venv/bin/python bench/bench_retention.py --data-dir /tmp/mq-retention   # kept, reused
    BENCH_DATABASE_URL=postgresql://... .venv/bin/python bench/bench_retention.py

Dataset (built once, 1-2 minutes; reused when already there): one workspace in New York time,
USD, a Meta and a Google connection with 60 campaigns (one ad set, two ads each; one snapshot
row per ad and day, as the queries read the daily campaign rollup) over 730 local days ending
--end, and one shop: 84,000 customers whose first orders spread over the two years and whose
200,000 orders repeat on a decaying curve (stronger for customers from email and search than
from paid social), ~2.2 lines per order over 150 products / 400 variants (unit costs from a
cost history), refunds on ~8 % of orders (one line, everything, or an adjustment without
lines), ~2 % cancelled, first- and last-visit touchpoints and first_click / last_click
attributions (lifetime and 28-day windows, cash), five campaigns with spend and no credited
order (unallocated spend). Values come from a seeded generator: a given --end gives the same
rows.

Goals (issue 15): each table p50 <= 100 ms through the service (T1: the engine) and <= 1.5x
the hand-written SQL on the same tables. Figures are p50/p95 of --runs runs after --warmup
runs, the methods taking turns run by run; every cell of the engine's, the service's and the
rollup SQL's answers is checked against the hand SQL on the orders before a figure is trusted
(a difference prints MISMATCH, exit 1).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from sqlalchemy import insert, text
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_query, beside this file
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # metricx, from a checkout

from bench_query import (
    CURRENCY,
    TZ,
    configure,
    copy_arrow,
    local_to_utc,
    open_workspace,
    run_hand,
    setup_database,
    teardown_database,
    timed,
    utc_span,
)
from bench_query import p as percentile

DAYS = 730
CUSTOMERS = 84_000
ORDERS = 200_000
PRODUCTS = 150
VARIANTS = 400
CAMPAIGNS = 60
META_CAMPAIGNS = 36
#: Campaigns that spend but no visit names (awareness): their spend is unallocated.
DARK_CAMPAIGNS = 5
SEED = 20261216
NAME = f"bench-retention-{CUSTOMERS}c-{ORDERS}o-{DAYS}d-seed{SEED}"
GOAL_P50_MS = 100.0
GOAL_VS_HAND = 1.5
RTOL = 1e-9  # sums of exact decimals, one division
CANCEL_RATE = 0.02
TEST_RATE = 0.003
REFUND_RATE = 0.08
TAX_PERCENT = 8
#: Where first orders come from (the first visit's channel; None: no journey at all), and how
#: strongly each channel's customers come back (a multiplier of their repeat orders).
ACQUISITION = {
    "paid_social": (0.34, 0.75),
    "paid_search": (0.24, 1.0),
    "email": (0.08, 1.4),
    "organic_search": (0.12, 1.2),
    "referral": (0.05, 0.9),
    "direct": (0.07, 1.3),
    None: (0.10, 1.3),
}
#: The first visit's channel of a repeat order (None: no journey).
RETURNING = {
    "email": 0.28,
    "direct": 0.22,
    "paid_social": 0.14,
    "paid_search": 0.14,
    "organic_search": 0.08,
    "referral": 0.04,
    None: 0.10,
}
UTM = {  # channel -> (utm_source, utm_medium)
    "paid_social": ("facebook", "paid_social"),
    "paid_search": ("google", "cpc"),
    "email": ("klaviyo", "email"),
    "organic_search": ("google", "organic"),
    "referral": ("blog.example.com", "referral"),
    "direct": (None, None),
}
#: attributions written: (model, window_days), cash mode (0 = lifetime).
ATTRIBUTIONS = (("first_click", 0), ("first_click", 28), ("last_click", 0), ("last_click", 28))
STORE_TABLES = (
    "shopify_products",
    "shopify_variants",
    "shopify_variant_costs",
    "shopify_customers",
    "shopify_orders",
    "shopify_order_lines",
    "shopify_refunds",
    "shopify_refund_lines",
    "customer_journeys",
    "touchpoints",
    "attributions",
)
ROLLUPS = (
    "metric_daily",
    "metric_daily_connection",
    "metric_daily_campaign",
    "store_daily",
    "cohort_daily",
    "product_daily",
    "product_credit_daily",
)


# --- the dataset ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Dataset:
    workspace_id: int
    first: date
    last: date
    build_seconds: float | None  # None: reused


def find_dataset() -> Dataset | None:
    """The cached dataset (built in one transaction: there is all of it or none)."""
    from metricx.db import get_engine

    with get_engine().connect() as conn:
        ws = conn.execute(text("SELECT id FROM workspaces WHERE name = :n"), {"n": NAME}).scalar()
        if ws is None:
            return None
        first, last = conn.execute(
            text("SELECT min(day), max(day) FROM metric_daily_campaign WHERE workspace_id = :ws"),
            {"ws": ws},
        ).one()
        orders = conn.execute(
            text("SELECT count(*) FROM shopify_orders WHERE workspace_id = :ws"), {"ws": ws}
        ).scalar()
    if first is None or (last - first).days + 1 != DAYS or orders != ORDERS:
        return None
    return Dataset(ws, first, last, None)


def drop_workspaces() -> None:
    """Remove this benchmark's workspaces (an incomplete one, older shapes): their rows would
    sit in the same tables and slow every scan down."""
    from metricx.db import get_engine, transaction

    with transaction() as session:
        dropped = session.scalars(
            text("DELETE FROM workspaces WHERE name LIKE 'bench-retention-%' RETURNING id")
        ).all()
    if dropped:  # the new rows then fill the space the old ones leave
        with get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in ("entities", "metric_snapshots", *ROLLUPS, *STORE_TABLES):
                conn.execute(text(f"VACUUM {table}"))


def next_ids(session: Session, table: str, count: int) -> np.ndarray:
    """`count` fresh ids of `table` (its sequence moved past them), so rows referencing these
    can be built in numpy before the COPY instead of reading ids back."""
    start = session.execute(
        text(
            "SELECT setval(pg_get_serial_sequence(:t, 'id'), "
            "nextval(pg_get_serial_sequence(:t, 'id')) + :n - 1)"
        ),
        {"t": table, "n": count},
    ).scalar_one()
    return np.arange(start - count + 1, start + 1, dtype=np.int64)


def copy_rows(session: Session, table: str, columns: dict[str, Any]) -> None:
    data = pa.table(columns)
    copy_arrow(session, table, tuple(data.column_names), data)


def constant(value: int, size: int) -> pa.Array:
    return pa.array(np.full(size, value, dtype=np.int64))


def build_dataset(last: date) -> Dataset:
    """Everything in one transaction, then the rollups (metricx.sync.rollup.rebuild, as a sync
    leaves them) and VACUUM ANALYZE."""
    from metricx.db import get_engine, transaction
    from metricx.sync import order_rollups, rollup

    started = time.perf_counter()
    first = last - timedelta(days=DAYS - 1)
    rng = np.random.default_rng(SEED)
    with transaction() as session:
        session.execute(text("SET LOCAL work_mem = '256MB'"))
        ws, connections, shop = open_workspace(
            session,
            NAME,
            (
                ("meta", "act_300200100", TZ),
                ("google", "987-654-3210", TZ),
                ("shopify", "retention.myshopify.com", TZ),
            ),
            "Retention Bench Shop",
        )
        tick = time.perf_counter()
        campaigns = load_ads(session, ws, connections, first, rng)
        print(f"  campaigns and daily ad facts in {time.perf_counter() - tick:.0f} s", flush=True)
        tick = time.perf_counter()
        load_store(session, ws, shop, campaigns, first, last, rng)
        print(
            f"  store: catalogue, customers, orders, lines, refunds, journeys, attributions in "
            f"{time.perf_counter() - tick:.0f} s",
            flush=True,
        )
        tick = time.perf_counter()
        # statistics first: the rollups' statements are planned on them, as a sync's are
        session.execute(text(f"ANALYZE {', '.join(STORE_TABLES)}"))
        rollup.rebuild(session, ws)
        order_rollups.rebuild(session, ws)
        for table in ROLLUPS:  # in day order, as a day-by-day sync leaves them
            session.execute(text(f"CLUSTER {table} USING pk_{table}"))
        print(f"  rollups in {time.perf_counter() - tick:.0f} s", flush=True)
    tick = time.perf_counter()
    with get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in ("entities", "connections", "metric_snapshots", *ROLLUPS, *STORE_TABLES):
            conn.execute(text(f"VACUUM ANALYZE {table}"))
    print(f"  VACUUM ANALYZE in {time.perf_counter() - tick:.0f} s", flush=True)
    return Dataset(ws, first, last, time.perf_counter() - started)


@dataclass(frozen=True)
class Campaigns:
    """The campaigns visits can name, per paid channel, with how often they are named."""

    ids: dict[str, np.ndarray]
    names: dict[int, str]
    weights: dict[str, np.ndarray]


def load_ads(
    session: Session, ws: int, connections: dict[str, int], first: date, rng: np.random.Generator
) -> Campaigns:
    """2 accounts > 60 campaigns > one ad set each > two ads each; one snapshot per ad and
    local day (at local noon): a daily budget with a random walk and a Q4 peak."""
    from metricx.models import Entity

    def add(rows: list[dict[str, Any]]) -> list[int]:
        statement = insert(Entity).returning(Entity.id, sort_by_parameter_order=True)
        return list(session.execute(statement, rows).scalars())

    base = {"workspace_id": ws, "status": "ACTIVE"}
    providers = ["meta" if c < META_CAMPAIGNS else "google" for c in range(CAMPAIGNS)]
    accounts = dict(
        zip(
            ("meta", "google"),
            add(
                [
                    {
                        **base,
                        "connection_id": connections[p],
                        "level": "account",
                        "external_id": f"acc-{p}",
                        "parent_id": None,
                        "name": f"{p.title()} · Shop",
                    }
                    for p in ("meta", "google")
                ]
            ),
            strict=True,
        )
    )
    themes = ("Prospecting", "Retargeting", "Catalog", "Lookalike", "Search", "Shopping", "Video")
    names = [f"{p.title()} {themes[c % len(themes)]} {c + 1:02d}" for c, p in enumerate(providers)]
    # The last DARK_CAMPAIGNS of each provider are awareness campaigns no visit names.
    names = [
        f"{p.title()} Awareness {c + 1:02d}"
        if (c >= META_CAMPAIGNS - DARK_CAMPAIGNS and c < META_CAMPAIGNS)
        else n
        for c, (p, n) in enumerate(zip(providers, names, strict=True))
    ]
    campaign_ids = add(
        [
            {
                **base,
                "connection_id": connections[p],
                "level": "campaign",
                "external_id": f"c{c}",
                "parent_id": accounts[p],
                "name": names[c],
            }
            for c, p in enumerate(providers)
        ]
    )
    adset_ids = add(
        [
            {
                **base,
                "connection_id": connections[p],
                "level": "adset",
                "external_id": f"s{c}",
                "parent_id": campaign_ids[c],
                "name": f"{names[c]} / All",
            }
            for c, p in enumerate(providers)
        ]
    )
    ad_ids = add(
        [
            {
                **base,
                "connection_id": connections[providers[c]],
                "level": "ad",
                "external_id": f"a{c}-{k}",
                "parent_id": adset_ids[c],
                "name": f"{names[c]} · Ad {k + 1}",
            }
            for c in range(CAMPAIGNS)
            for k in range(2)
        ]
    )
    days = np.arange(DAYS)
    doy = np.asarray(pd.DatetimeIndex(pd.Timestamp(first) + pd.to_timedelta(days, "D")).day_of_year)
    season = 1 + 0.7 * np.exp(-(((doy - 330) / 25.0) ** 2)) + 0.4 * days / DAYS
    budget = rng.lognormal(np.log(28), 0.6, CAMPAIGNS)  # $/day per ad
    walk = np.exp(np.cumsum(rng.normal(0, 0.02, (len(ad_ids), DAYS)), axis=1))
    level = np.repeat(budget, 2)[:, None] * walk * season[None, :]
    spend_cents = np.maximum(np.rint(level * rng.gamma(8, 0.125, level.shape) * 100), 1)
    impressions = rng.poisson(spend_cents / 100 / rng.uniform(6, 18, (len(ad_ids), 1)) * 1000)
    clicks = rng.binomial(impressions, 0.012)
    conversions = rng.binomial(clicks, 0.03)
    value_cents = np.rint(conversions * rng.lognormal(np.log(90), 0.2, conversions.shape) * 100)
    noon = local_to_utc(days, np.full(DAYS, 12 * 3600), first)
    size = len(ad_ids) * DAYS
    copy_rows(
        session,
        "metric_snapshots",
        {
            "workspace_id": constant(ws, size),
            "entity_id": pa.array(np.repeat(np.asarray(ad_ids, dtype=np.int64), DAYS)),
            "bucket_start": pa.array(np.tile(noon, len(ad_ids))),
            "granularity": pa.repeat("1h", size),
            "spend": pa.array(spend_cents.ravel() / 100),
            "impressions": pa.array(impressions.ravel()),
            "clicks": pa.array(clicks.ravel()),
            "conversions": pa.array(conversions.ravel().astype(float)),
            "conversion_value": pa.array(value_cents.ravel() / 100),
            "leads": pa.array(np.zeros(size)),
        },
    )
    ids = np.asarray(campaign_ids, dtype=np.int64)
    named = np.array(["Awareness" not in n for n in names])
    weight = budget / budget.sum()
    by_provider = {
        "paid_social": np.array(providers) == "meta",
        "paid_search": np.array(providers) == "google",
    }
    return Campaigns(
        ids={ch: ids[mask & named] for ch, mask in by_provider.items()},
        names=dict(zip(campaign_ids, names, strict=True)),
        weights={
            ch: weight[mask & named] / weight[mask & named].sum()
            for ch, mask in by_provider.items()
        },
    )


def cents(values: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(values, dtype=np.int64) / 100)


def shares(
    total: np.ndarray, weight: np.ndarray, group: np.ndarray, is_last: np.ndarray
) -> np.ndarray:
    """Each group's `total` (cents) split over its rows by `weight`, rounded down, the rest on
    the group's last row (sandbox/shop.py `_shares`). Rows of a group are contiguous."""
    whole = np.bincount(group, weights=weight).astype(np.int64)
    share = np.where(whole[group] > 0, total[group] * weight // np.maximum(whole[group], 1), 0)
    others = np.bincount(group, weights=np.where(is_last, 0, share), minlength=len(total))
    return np.where(is_last, total[group] - others.astype(np.int64)[group], share)


def load_store(
    session: Session,
    ws: int,
    shop: int,
    campaigns: Campaigns,
    first: date,
    last: date,
    rng: np.random.Generator,
) -> None:
    """The catalogue with its cost history, customers, orders with their lines, refunds with
    theirs, and the journeys (first and last visit) with their attributions."""
    from metricx.models import ShopifyProduct, ShopifyVariant

    _, end = utc_span(first, last)
    start, _ = utc_span(first, first)

    # --- catalogue: 150 products (popularity ~ Zipf), 400 variants; a tenth of the products
    # cost nearly what they sell for (they lose money after ads).
    titles = (
        "Tee",
        "Hoodie",
        "Cap",
        "Sock Pack",
        "Jacket",
        "Tote",
        "Beanie",
        "Shorts",
        "Mug",
        "Bottle",
        "Scarf",
        "Gloves",
        "Backpack",
        "Belt",
        "Wallet",
    )
    colours = ("Navy", "Sand", "Olive", "Black", "Rust", "Sky", "Stone", "Plum", "Moss", "Ivory")
    product_ids = list(
        session.execute(
            insert(ShopifyProduct).returning(ShopifyProduct.id, sort_by_parameter_order=True),
            [
                {
                    "workspace_id": ws,
                    "shop_id": shop,
                    "external_id": str(7_000_000 + i),
                    "title": f"{colours[i // len(titles) % len(colours)]} {titles[i % len(titles)]}"
                    f"{'' if i < 100 else ' II'}",
                }
                for i in range(PRODUCTS)
            ],
        ).scalars()
    )
    product_of = np.arange(VARIANTS) % PRODUCTS  # products 0-99: 3 variants, 100-149: 2
    price = (np.floor(rng.lognormal(np.log(30), 0.5, VARIANTS)) + 0.99).round(2)
    price_cents = np.rint(price * 100).astype(np.int64)
    lossy = rng.random(PRODUCTS) < 0.1
    ratio = np.where(
        lossy[product_of], rng.uniform(0.7, 0.85, VARIANTS), rng.uniform(0.25, 0.55, VARIANTS)
    )
    cost0 = np.rint(price_cents * ratio).astype(np.int64)
    changes = rng.random(VARIANTS) < 0.4  # one cost change somewhere in the two years
    change_at = start + pd.to_timedelta(rng.integers(30, DAYS - 30, VARIANTS), "D")
    cost1 = np.where(changes, np.rint(cost0 * rng.uniform(0.9, 1.15, VARIANTS)), cost0).astype(
        np.int64
    )
    sizes = ("S", "M", "L")
    variant_ids = list(
        session.execute(
            insert(ShopifyVariant).returning(ShopifyVariant.id, sort_by_parameter_order=True),
            [
                {
                    "workspace_id": ws,
                    "product_id": product_ids[product_of[v]],
                    "external_id": str(8_000_000 + v),
                    "sku": f"SKU-{product_of[v]:03d}-{sizes[v // PRODUCTS]}",
                    "price": float(price[v]),
                    "unit_cost": int(cost1[v]) / 100,
                }
                for v in range(VARIANTS)
            ],
        ).scalars()
    )
    history = np.flatnonzero(changes)
    copy_rows(
        session,
        "shopify_variant_costs",
        {
            "workspace_id": constant(ws, VARIANTS + len(history)),
            "variant_id": pa.array(
                np.asarray(variant_ids, dtype=np.int64)[np.r_[np.arange(VARIANTS), history]]
            ),
            "valid_from": pa.array(
                pd.DatetimeIndex([start - timedelta(days=60)] * VARIANTS).append(change_at[history])
            ),
            "unit_cost": cents(np.r_[cost0, cost1[history]]),
        },
    )

    # --- customers: first orders over the two years (growing, Q4 peak); repeat orders on a
    # decaying curve, more of them for loyal channels.
    days = np.arange(DAYS)
    doy = np.asarray(pd.DatetimeIndex(pd.Timestamp(first) + pd.to_timedelta(days, "D")).day_of_year)
    weight = (1 + 0.6 * days / DAYS) * (1 + 0.8 * np.exp(-(((doy - 330) / 20.0) ** 2)))
    first_day = rng.choice(DAYS, CUSTOMERS, p=weight / weight.sum())
    channels = list(ACQUISITION)
    acquired = rng.choice(len(channels), CUSTOMERS, p=[share for share, _ in ACQUISITION.values()])
    loyalty = (
        rng.gamma(0.6, 1 / 0.6, CUSTOMERS)
        * np.array([m for _, m in ACQUISITION.values()])[acquired]
    )
    horizon = DAYS - 1 - first_day
    intensity = loyalty * (1 - np.exp(-horizon / 180))
    repeats = ORDERS - CUSTOMERS
    intensity *= repeats / intensity.sum()
    count = rng.poisson(intensity)
    extra = count.sum() - repeats  # to exactly ORDERS orders
    if extra > 0:
        slots = np.repeat(np.arange(CUSTOMERS), count)
        count = np.bincount(
            np.delete(slots, rng.choice(len(slots), extra, replace=False)), minlength=CUSTOMERS
        )
    elif extra < 0:
        count += np.bincount(
            rng.choice(CUSTOMERS, -extra, p=intensity / intensity.sum()), minlength=CUSTOMERS
        )
    owner = np.repeat(np.arange(CUSTOMERS), count)
    gaps = np.arange(1, DAYS)
    curve = np.cumsum(np.exp(-gaps / 120) + 0.3 * np.exp(-gaps / 500))
    gap = (
        np.searchsorted(curve, rng.random(len(owner)) * curve[horizon[owner] - 1], side="right") + 1
    )

    customer = np.r_[np.arange(CUSTOMERS), owner]
    day = np.r_[first_day, first_day[owner] + gap]
    is_first = np.r_[np.ones(CUSTOMERS, bool), np.zeros(len(owner), bool)]
    second = np.clip(rng.normal(19.5, 4.0, ORDERS) * 3600, 0, 86399).astype(np.int64)
    at = local_to_utc(day, second, first)
    order = np.argsort(at.asi8, kind="stable")
    customer, is_first, at = customer[order], is_first[order], at[order]
    n = ORDERS
    cancelled = rng.random(n) < CANCEL_RATE
    test = rng.random(n) < TEST_RATE
    cancelled_at = at + pd.to_timedelta(rng.integers(600, 86400, n), "s")
    cancelled = cancelled & (cancelled_at < end)
    live = ~cancelled & ~test

    customer_ids = next_ids(session, "shopify_customers", CUSTOMERS)
    order_ids = next_ids(session, "shopify_orders", n)
    frame = pd.DataFrame({"customer": customer, "at": at})
    first_live = frame[~test & ~cancelled].groupby("customer")["at"].min()
    first_any = frame.groupby("customer")["at"].min()
    copy_rows(
        session,
        "shopify_customers",
        {
            "id": pa.array(customer_ids),
            "workspace_id": constant(ws, CUSTOMERS),
            "shop_id": constant(shop, CUSTOMERS),
            "external_id": pa.array([f"rc{c}" for c in range(CUSTOMERS)]),
            "created_at": pa.array(first_any.reindex(range(CUSTOMERS))),
            "updated_at": pa.array(first_any.reindex(range(CUSTOMERS))),
            "orders_count": pa.array(np.bincount(customer, minlength=CUSTOMERS)),
            "first_order_at": pa.array(first_live.reindex(range(CUSTOMERS))),
        },
    )

    # --- lines: 1 + Poisson(1.2) per order, variants by popularity, a few custom lines
    lines_per_order = 1 + rng.poisson(1.2, n)
    line_order = np.repeat(np.arange(n), lines_per_order)
    m = len(line_order)
    offsets = np.r_[0, np.cumsum(lines_per_order)]
    is_last_line = np.zeros(m, bool)
    is_last_line[offsets[1:] - 1] = True
    popularity = 1 / (np.arange(PRODUCTS) + 3) ** 1.1
    variant_weight = popularity[product_of] / np.bincount(product_of)[product_of]
    variant = rng.choice(VARIANTS, m, p=variant_weight / variant_weight.sum())
    custom = rng.random(m) < 0.005  # gift wrap, engraving: no product
    quantity = rng.choice([1, 2, 3], m, p=[0.82, 0.14, 0.04])
    unit_price = np.where(custom, rng.integers(300, 1500, m), price_cents[variant])
    line_at = at[line_order]
    costs_then = np.where(
        changes[variant] & (line_at >= change_at[variant]), cost1[variant], cost0[variant]
    )
    unit_cost = np.where(custom, 0, costs_then)
    line_gross = quantity * unit_price
    gross = np.bincount(line_order, weights=line_gross, minlength=n).astype(np.int64)
    discounted = rng.random(n) < np.where(is_first, 0.4, 0.2)
    discount = np.where(discounted, np.rint(gross * rng.choice([0.1, 0.15, 0.2], n)), 0).astype(
        np.int64
    )
    shipping = np.where(gross - discount < 7500, 599, 0)
    taxes = np.rint((gross - discount) * TAX_PERCENT / 100).astype(np.int64)
    cogs = np.bincount(line_order, weights=quantity * unit_cost, minlength=n).astype(np.int64)
    line_discount = shares(discount, line_gross, line_order, is_last_line)
    line_net = line_gross - line_discount
    line_ids = next_ids(session, "shopify_order_lines", m)

    # --- refunds: ~8 % of orders not cancelled (one line back, everything back, or an
    # adjustment with no lines), 1-30 days later; half the cancelled orders refunded whole.
    refunded = np.flatnonzero(~cancelled & (rng.random(n) < REFUND_RATE))
    kind = rng.choice(3, len(refunded), p=[0.65, 0.2, 0.15])  # line, everything, adjustment
    refund_at = at[refunded] + pd.to_timedelta(rng.integers(3600, 30 * 86400, len(refunded)), "s")
    keep = refund_at < end
    refunded, kind, refund_at = refunded[keep], kind[keep], refund_at[keep]
    voided = np.flatnonzero(cancelled & (rng.random(n) < 0.5))
    refund_order = np.r_[refunded, voided]
    refund_kind = np.r_[kind, np.ones(len(voided), np.int64)]
    refund_time = refund_at.append(cancelled_at[voided])
    r = len(refund_order)
    refund_ids = next_ids(session, "shopify_refunds", r)
    sales = np.zeros(r, np.int64)
    ship_back = np.zeros(r, np.int64)
    tax_back = np.zeros(r, np.int64)
    back: list[tuple[int, int, int, int]] = []  # refund lines: (refund, line, units, cents)
    picks = rng.random(r)
    for i, (o, k) in enumerate(zip(refund_order, refund_kind, strict=True)):
        lo, hi = offsets[o], offsets[o + 1]
        if k == 0:  # one line (one unit of it when it holds more)
            j = lo + int(picks[i] * (hi - lo))
            units = 1 if quantity[j] > 1 and picks[i] < 0.5 else int(quantity[j])
            subtotal = int(line_net[j]) * units // int(quantity[j])
            back.append((i, j, units, subtotal))
            sales[i] = subtotal
            tax_back[i] = subtotal * TAX_PERCENT // 100
        elif k == 1:  # everything
            back += [(i, j, int(quantity[j]), int(line_net[j])) for j in range(lo, hi)]
            sales[i] = gross[o] - discount[o]
            ship_back[i] = shipping[o]
            tax_back[i] = taxes[o]
        else:  # a goodwill adjustment, no line named
            sales[i] = int((gross[o] - discount[o]) * (0.05 + 0.25 * picks[i]))
    refunded_cents = np.bincount(refund_order, weights=sales + ship_back + tax_back, minlength=n)
    returned = np.bincount(refund_order, weights=sales + ship_back, minlength=n)

    copy_rows(
        session,
        "shopify_orders",
        {
            "id": pa.array(order_ids),
            "workspace_id": constant(ws, n),
            "shop_id": constant(shop, n),
            "external_id": pa.array([str(6_000_000_000 + i) for i in range(n)]),
            "name": pa.array([f"#{1001 + i}" for i in range(n)]),
            "customer_id": pa.array(customer_ids[customer]),
            "customer_order_index": pa.array(frame.groupby("customer").cumcount().to_numpy() + 1),
            "created_at": pa.array(at),
            "processed_at": pa.array(at),
            "updated_at": pa.array(at),
            "cancelled_at": pa.array(pd.Series(cancelled_at).where(cancelled)),
            "test": pa.array(test),
            "currency": pa.repeat(CURRENCY, n),
            "gross_sales": cents(gross),
            "discounts": cents(discount),
            "shipping": cents(shipping),
            "taxes": cents(taxes),
            "refunded": cents(refunded_cents),
            "total_price": cents(gross - discount + shipping + taxes),
            "cogs": cents(cogs),
        },
    )
    variant_external = np.array([str(8_000_000 + v) for v in range(VARIANTS)], dtype=object)
    product_external = np.array([str(7_000_000 + i) for i in range(PRODUCTS)], dtype=object)
    sku = np.array(
        [f"SKU-{product_of[v]:03d}-{sizes[v // PRODUCTS]}" for v in range(VARIANTS)], dtype=object
    )
    copy_rows(
        session,
        "shopify_order_lines",
        {
            "id": pa.array(line_ids),
            "workspace_id": constant(ws, m),
            "order_id": pa.array(order_ids[line_order]),
            "external_id": pa.array((np.arange(m) - offsets[line_order]).astype(str)),
            "product_external_id": pa.array(product_external[product_of[variant]], mask=custom),
            "variant_external_id": pa.array(variant_external[variant], mask=custom),
            "sku": pa.array(sku[variant], mask=custom),
            "quantity": pa.array(quantity),
            "unit_price": cents(unit_price),
            "unit_cost": pa.array(unit_cost / 100, mask=custom),
        },
    )
    copy_rows(
        session,
        "shopify_refunds",
        {
            "id": pa.array(refund_ids),
            "workspace_id": constant(ws, r),
            "order_id": pa.array(order_ids[refund_order]),
            "external_id": pa.array([f"rf{i}" for i in range(r)]),
            "created_at": pa.array(refund_time),
            "amount": cents(sales + ship_back + tax_back),
            "sales": cents(sales),
            "shipping": cents(ship_back),
            "taxes": cents(tax_back),
        },
    )
    returns = np.asarray(back, dtype=np.int64).reshape(-1, 4)
    copy_rows(
        session,
        "shopify_refund_lines",
        {
            "workspace_id": constant(ws, len(returns)),
            "refund_id": pa.array(refund_ids[returns[:, 0]]),
            "line_id": pa.array(line_ids[returns[:, 1]]),
            "quantity": pa.array(returns[:, 2]),
            "subtotal": cents(returns[:, 3]),
        },
    )

    # --- journeys: the first visit's channel (a first order's is the customer's acquisition
    # channel), a last visit within two hours of the order; live orders only are attributed.
    returning = list(RETURNING)
    first_channel_index = np.where(
        is_first,
        acquired[customer],
        np.array([channels.index(c) for c in returning])[
            rng.choice(len(returning), n, p=list(RETURNING.values()))
        ],
    )
    has_journey = ~test & (np.array([c is not None for c in channels])[first_channel_index])
    journeyed = np.flatnonzero(has_journey)
    j = len(journeyed)
    first_channel = np.array(channels, dtype=object)[first_channel_index[journeyed]]
    same = rng.random(j) < 0.5
    visited = ("paid_social", "paid_search", "email", "direct", "organic_search")
    last_channel = np.where(
        same, first_channel, np.array(visited, dtype=object)[rng.integers(0, 5, j)]
    )
    first_visit = at[journeyed] - pd.to_timedelta(rng.integers(60, 45 * 86400, j), "s")
    last_visit = at[journeyed] - pd.to_timedelta(rng.integers(30, 7200, j), "s")
    last_visit = pd.DatetimeIndex(np.maximum(last_visit.asi8, first_visit.asi8)).tz_localize("UTC")

    def campaign_of(channel: np.ndarray) -> np.ndarray:
        out = np.zeros(len(channel), np.int64)
        for paid, ids in campaigns.ids.items():
            mask = channel == paid
            out[mask] = rng.choice(ids, int(mask.sum()), p=campaigns.weights[paid])
        return out

    first_entity, last_entity = campaign_of(first_channel), campaign_of(last_channel)
    # a returning visit through the same channel mostly comes back through the same campaign
    last_entity = np.where(
        same & (first_entity > 0) & (rng.random(j) < 0.6), first_entity, last_entity
    )
    journey_ids = next_ids(session, "customer_journeys", j)
    copy_rows(
        session,
        "customer_journeys",
        {
            "id": pa.array(journey_ids),
            "workspace_id": constant(ws, j),
            "order_id": pa.array(order_ids[journeyed]),
            "ready": pa.array(np.ones(j, bool)),
            "days_to_conversion": pa.array((at[journeyed] - first_visit).days.to_numpy()),
            "customer_order_index": pa.array(
                frame.groupby("customer").cumcount().to_numpy()[journeyed] + 1
            ),
        },
    )
    touch_ids = next_ids(session, "touchpoints", 2 * j)
    touch_channel = np.r_[first_channel, last_channel]
    touch_entity = np.r_[first_entity, last_entity]
    names = np.array([campaigns.names.get(int(e)) for e in touch_entity], dtype=object)
    source = np.array([UTM[c][0] for c in touch_channel], dtype=object)
    medium = np.array([UTM[c][1] for c in touch_channel], dtype=object)
    copy_rows(
        session,
        "touchpoints",
        {
            "id": pa.array(touch_ids),
            "workspace_id": constant(ws, 2 * j),
            "journey_id": pa.array(np.r_[journey_ids, journey_ids]),
            "source_kind": pa.array(np.r_[np.full(j, "first_visit"), np.full(j, "last_visit")]),
            "position": pa.array(np.zeros(2 * j, np.int64)),
            "occurred_at": pa.array(first_visit.append(last_visit)),
            "source": pa.array(source),
            "channel": pa.array(touch_channel),
            "utm_source": pa.array(source),
            "utm_medium": pa.array(medium),
            "utm_campaign": pa.array(names),
            "entity_id": pa.array(touch_entity, mask=touch_entity == 0),
        },
    )
    # first_click / last_click, lifetime and 28 days: credit 1 to one visit (a first visit
    # older than the window leaves the last one), revenue as metricx.attribution.compute has
    # it (net sales + shipping less what refunds gave back).
    credited = np.flatnonzero(live[journeyed])
    inside = (at[journeyed] - first_visit) <= pd.Timedelta(days=28)
    revenue = (gross - discount + shipping - returned)[journeyed]
    rows: dict[str, list[Any]] = {k: [] for k in ("touch", "model", "window")}
    for model, window in ATTRIBUTIONS:
        if model == "first_click":
            touch = np.where((window == 0) | inside, np.arange(j), j + np.arange(j))
        else:
            touch = j + np.arange(j)
        rows["touch"].append(touch[credited])
        rows["model"].append(np.full(len(credited), model))
        rows["window"].append(np.full(len(credited), window))
    touch = np.concatenate(rows["touch"])
    size = len(touch)
    journey_of = np.tile(journeyed[credited], len(ATTRIBUTIONS))
    copy_rows(
        session,
        "attributions",
        {
            "workspace_id": constant(ws, size),
            "order_id": pa.array(order_ids[journey_of]),
            "touchpoint_id": pa.array(touch_ids[touch]),
            "entity_id": pa.array(touch_entity[touch], mask=touch_entity[touch] == 0),
            "model": pa.array(np.concatenate(rows["model"])),
            "window_days": pa.array(np.concatenate(rows["window"])),
            "mode": pa.repeat("cash", size),
            "credited_at": pa.array(at[journey_of]),
            "credit": pa.array(np.ones(size)),
            "revenue": cents(np.tile(revenue[credited], len(ATTRIBUTIONS))),
        },
    )


# --- the hand-written SQL -----------------------------------------------------------------
#
# One statement per table, written for that table alone on the tables the engine reads, with
# the same semantics (tenant filter on every table, test orders left out, workspace-local
# days, money converted at its day's rate from fx_rates and a missing rate reported, the
# P&L's store money rules) and the same rounding (cents split down, the last line the rest).

#: Completed calendar months from local day `a` to local day `b` (a month completes on the
#: same day of a later month; the engine's age).
MONTHS = """((date_part('year', {b}) - date_part('year', {a})) * 12
    + date_part('month', {b}) - date_part('month', {a})
    - CASE WHEN date_part('day', {b}) < date_part('day', {a}) THEN 1 ELSE 0 END)::int"""
MONTH_NUMBER = "(date_part('year', {day}) * 12 + date_part('month', {day}))::int"
#: Completed months from a customer's first local day to an event's `day` (the first day's
#: month number and day of month precomputed once per customer).
AGE = (
    f"{MONTH_NUMBER.format(day='day')} - first_month"
    " - (date_part('day', day)::int < first_dom)::int"
)
RATE = "CASE WHEN m.currency = :cur THEN 1 ELSE fx.rate END"
FX_JOIN = """LEFT JOIN fx_rates fx ON fx.workspace_id = :ws AND fx.day = m.day
        AND fx.from_currency = m.currency AND fx.to_currency = :cur"""
#: The local day of money needing its day's rate (NULL in the workspace currency: summed
#: over the period at once, as bench_query's hand SQL does).
FOREIGN_DAY = "CASE WHEN currency = :cur THEN NULL ELSE ({at} AT TIME ZONE :tz)::date END"
MISSING_FX = "count(*) FILTER (WHERE m.currency <> :cur AND fx.rate IS NULL) AS missing_fx"


def hand_cohorts(metrics: tuple[str, ...]) -> str:
    """The cohort table of `metrics` (cohort_customers and repeat_rate and/or ltv) by monthly
    cohort and age: only the parts those metrics need."""
    money, repeat = "ltv" in metrics, "repeat_rate" in metrics
    events = f"""events AS (
    -- sales on their day, refunds on theirs, a cancellation's unreturned rest on its day
    SELECT cohort, first_month, first_dom, day, currency, revenue FROM orders
    UNION ALL
    SELECT o.cohort, o.first_month, o.first_dom, (r.created_at AT TIME ZONE :tz)::date,
           o.currency, -(r.sales + r.shipping)
    FROM orders o JOIN shopify_refunds r ON r.order_id = o.id AND r.workspace_id = :ws
    UNION ALL
    SELECT cohort, first_month, first_dom, (cancelled_at AT TIME ZONE :tz)::date, currency,
           -(revenue - coalesce((SELECT sum(r.sales + r.shipping) FROM shopify_refunds r
                                 WHERE r.order_id = o.id AND r.workspace_id = :ws), 0))
    FROM orders o WHERE cancelled_at IS NOT NULL
), m AS (
    SELECT cohort, {AGE} AS age, day, currency, revenue FROM events
), cells AS (
    SELECT m.cohort, m.age, sum(m.revenue * {RATE}) AS revenue, {MISSING_FX}
    FROM m {FX_JOIN}
    WHERE m.age BETWEEN 0 AND :max_age
    GROUP BY m.cohort, m.age
),"""
    seconds = f"""seconds AS (
    -- each repeat customer's second live order's day (their first is at first_order_at)
    SELECT cohort, first_month, first_dom,
           CASE WHEN count(*) FILTER (WHERE processed_at = first_order_at) > 1 THEN min(day)
                ELSE min(day) FILTER (WHERE processed_at > first_order_at) END AS day
    FROM orders WHERE cancelled_at IS NULL
    GROUP BY customer_id, cohort, first_month, first_dom, first_order_at
    HAVING count(*) > 1
), repeats AS (
    SELECT cohort, {AGE} AS age, count(*) AS repeaters FROM seconds GROUP BY 1, 2
),"""
    return f"""
WITH customers AS (
    SELECT id, first_order_at, date_trunc('month', first_day)::date AS cohort,
           {MONTH_NUMBER.format(day="first_day")} AS first_month,
           date_part('day', first_day)::int AS first_dom
    FROM (SELECT id, first_order_at, (first_order_at AT TIME ZONE :tz)::date AS first_day
          FROM shopify_customers
          WHERE workspace_id = :ws AND first_order_at >= :start AND first_order_at < :end) c
), orders AS (
    -- their orders from the first real one on
    SELECT o.id, o.customer_id, c.cohort, c.first_month, c.first_dom, c.first_order_at,
           o.processed_at, o.cancelled_at, o.currency,
           (o.processed_at AT TIME ZONE :tz)::date AS day,
           o.gross_sales - o.discounts + o.shipping AS revenue
    FROM customers c JOIN shopify_orders o ON o.customer_id = c.id
    WHERE o.workspace_id = :ws AND NOT o.test AND o.processed_at >= c.first_order_at
), {events if money else ""}{seconds if repeat else ""} sizes AS (
    SELECT cohort, count(*) AS customers, {LAST_DAY} AS last_day FROM customers GROUP BY cohort
), {cohort_grid(money, repeat, "cells", "repeats")}"""


#: The last day of a monthly cohort within the range.
LAST_DAY = "least((cohort + interval '1 month')::date - 1, CAST(:last AS date))"


def cohort_grid(money: bool, repeat: bool, revenue: str, repeats: str) -> str:
    """The cohort table from `sizes` (cohort, customers, last_day) and the cells of revenue
    (cohort, age, revenue, missing_fx) and of repeat customers (cohort, age, repeaters):
    cumulated over ages, per customer, empty where the age has not fully elapsed."""
    return f"""grid AS (
    SELECT s.cohort, g.age, s.customers,
           {MONTHS.format(a="s.last_day", b="CAST(:today AS date)")} > g.age AS complete,
           {"sum(coalesce(c.revenue, 0)) OVER w" if money else "0"} AS revenue,
           {"sum(coalesce(r.repeaters, 0)) OVER w" if repeat else "0"} AS repeaters,
           {"sum(coalesce(c.missing_fx, 0)) OVER (PARTITION BY s.cohort)" if money else "0"}
               AS missing_fx
    FROM sizes s CROSS JOIN generate_series(0, :max_age) g(age)
    {f"LEFT JOIN {revenue} c ON c.cohort = s.cohort AND c.age = g.age" if money else ""}
    {f"LEFT JOIN {repeats} r ON r.cohort = s.cohort AND r.age = g.age" if repeat else ""}
    WINDOW w AS (PARTITION BY s.cohort ORDER BY g.age)
)
SELECT cohort, age,
       CASE WHEN complete THEN customers::float8 END AS cohort_customers,
       CASE WHEN complete THEN (repeaters::numeric / customers)::float8 END AS repeat_rate,
       CASE WHEN complete THEN (revenue / customers)::float8 END AS ltv,
       complete, missing_fx
FROM grid ORDER BY cohort, age
"""


def rollup_cohorts(metrics: tuple[str, ...]) -> str:
    """The same table from cohort_daily (the first and the event day of each customer's
    events, their store money as the P&L counts it, customers on their first day, second
    orders on theirs), the table the engine reads."""
    money = "ltv" in metrics
    return f"""
WITH m AS (
    SELECT date_trunc('month', first_day)::date AS cohort, day, currency,
           {MONTHS.format(a="first_day", b="day")} AS age,
           gross - discounts - refunds + shipping AS revenue, repeat_customers, customers
    FROM cohort_daily
    WHERE workspace_id = :ws AND first_day BETWEEN CAST(:first AS date) AND CAST(:last AS date)
), cells AS (
    SELECT m.cohort, m.age, sum(m.customers) AS customers,
           sum(m.repeat_customers) AS repeaters,
           {f"sum(m.revenue * {RATE}) AS revenue, {MISSING_FX}" if money else "0 AS missing_fx"}
    FROM m {FX_JOIN if money else ""}
    WHERE m.age BETWEEN 0 AND :max_age GROUP BY m.cohort, m.age
), sizes AS (
    SELECT cohort, sum(customers) AS customers, {LAST_DAY} AS last_day
    FROM cells GROUP BY cohort HAVING sum(customers) > 0
), {cohort_grid(money, "repeat_rate" in metrics, "cells", "cells")}"""


#: Each campaign's spend in the period, converted at each day's rate (both products SQLs).
SPEND = f"""spend AS (
    SELECT m.campaign_id, sum(m.spend * {RATE}) AS spend, {MISSING_FX}
    FROM (SELECT d.campaign_id, d.day, coalesce(c.currency, :cur) AS currency, d.spend
          FROM metric_daily_campaign d
          JOIN connections c ON c.id = d.connection_id AND c.workspace_id = :ws
          WHERE d.workspace_id = :ws AND d.day BETWEEN :first AND :last) m {FX_JOIN}
    GROUP BY m.campaign_id
)"""
#: The products table's columns from `p` (per product: gross, discounts, refunds, cogs,
#: units, orders, first_orders, repeaters, net_sales, gross_profit, spend, missing_fx), `spend`
#: and `allocated` (per product).
PRODUCT_COLUMNS = """
SELECT product, product_id, units::float8 AS units, gross::float8 AS product_gross_sales,
       discounts::float8 AS product_discounts, refunds::float8 AS product_refunds,
       (refunds / nullif(gross - discounts, 0))::float8 AS refund_rate,
       net_sales::float8 AS product_net_sales, cogs::float8 AS product_cogs,
       gross_profit::float8 AS product_gross_profit,
       (gross_profit / nullif(net_sales, 0))::float8 AS gross_margin,
       orders::float8 AS product_orders,
       (first_orders::numeric / nullif(orders, 0))::float8 AS new_customer_share,
       (repeaters::numeric / nullif(first_orders, 0))::float8 AS repurchase_rate,
       spend::float8 AS allocated_spend, (net_sales / nullif(spend, 0))::float8 AS product_roas,
       (gross_profit / nullif(spend, 0))::float8 AS product_poas,
       (gross_profit - spend)::float8 AS contribution_after_ads,
       ((SELECT sum(spend) FROM spend) - (SELECT coalesce(sum(spend), 0) FROM allocated))::float8
           AS unallocated,
       missing_fx + (SELECT sum(missing_fx) FROM spend) AS missing_fx
FROM p ORDER BY product_id NULLS LAST
"""


HAND_PRODUCTS = f"""
WITH touched AS (
    -- orders whose money moves in the period: placed, refunded or cancelled in it
    SELECT id FROM shopify_orders
    WHERE workspace_id = :ws AND processed_at >= :start AND processed_at < :end
    UNION
    SELECT order_id FROM shopify_refunds
    WHERE workspace_id = :ws AND created_at >= :start AND created_at < :end
    UNION
    SELECT id FROM shopify_orders
    WHERE workspace_id = :ws AND cancelled_at >= :start AND cancelled_at < :end
), orders AS (
    SELECT o.id, o.shop_id, o.currency, o.processed_at, o.cancelled_at, o.discounts,
           o.gross_sales, o.cancelled_at IS NULL AS live,
           o.processed_at >= :start AND o.processed_at < :end AS placed_in_period,
           o.processed_at = c.first_order_at AS first_order,
           o.processed_at = c.first_order_at AND EXISTS (
               SELECT FROM shopify_orders n WHERE n.customer_id = o.customer_id
               AND n.workspace_id = :ws AND NOT n.test AND n.cancelled_at IS NULL
               AND n.processed_at > o.processed_at) AS came_back
    FROM touched t JOIN shopify_orders o ON o.id = t.id AND o.workspace_id = :ws AND NOT o.test
    LEFT JOIN shopify_customers c ON c.id = o.customer_id AND c.workspace_id = :ws
), order_lines AS (
    SELECT l.id, l.order_id, o.currency, o.processed_at, o.cancelled_at, o.live,
           o.placed_in_period, o.first_order, o.came_back,
           o.discounts AS order_discounts, o.gross_sales AS order_gross,
           p.id AS product_id, coalesce(p.title, '(no product)') AS product,
           l.quantity, l.quantity * l.unit_price AS gross,
           l.quantity * coalesce(l.unit_cost, 0) AS cogs,
           floor(o.discounts * 100 * l.quantity * l.unit_price
                 / nullif(o.gross_sales, 0)) / 100 AS discount_floor,
           l.id = max(l.id) OVER (PARTITION BY o.id) AS last_line
    FROM orders o
    JOIN shopify_order_lines l ON l.order_id = o.id AND l.workspace_id = :ws
    LEFT JOIN shopify_products p ON p.shop_id = o.shop_id AND p.workspace_id = :ws
        AND p.external_id = l.product_external_id
), lines AS (
    -- the order's discounts over its lines by gross: cents down, the last line the rest
    SELECT *, gross - discounts AS net, order_gross - order_discounts AS order_net
    FROM (SELECT *, CASE WHEN last_line
                     THEN order_discounts - sum(coalesce(discount_floor, 0))
                          OVER (PARTITION BY order_id) + coalesce(discount_floor, 0)
                     ELSE coalesce(discount_floor, 0) END AS discounts
          FROM order_lines) d
), refunds AS (
    -- refunds of the period, and every refund of an order cancelled in it, with their rest
    -- (sales not tied to a line they name)
    SELECT r.id, r.order_id, r.created_at,
           r.sales - coalesce((SELECT sum(rl.subtotal) FROM shopify_refund_lines rl
                               WHERE rl.refund_id = r.id AND rl.line_id IS NOT NULL), 0) AS rest
    FROM orders o JOIN shopify_refunds r ON r.order_id = o.id AND r.workspace_id = :ws
    WHERE r.created_at >= :start AND r.created_at < :end
       OR o.cancelled_at >= :start AND o.cancelled_at < :end
), line_refunds AS (
    -- each refund line's subtotal, plus the refund's rest over the lines by sales
    SELECT l.id AS line_id, r.id AS refund_id, r.created_at, coalesce(rl.subtotal, 0)
           + CASE WHEN l.last_line THEN r.rest - sum(x.rest_floor) OVER (PARTITION BY r.id)
                  + x.rest_floor ELSE x.rest_floor END AS back
    FROM refunds r JOIN lines l ON l.order_id = r.order_id
    LEFT JOIN shopify_refund_lines rl ON rl.refund_id = r.id AND rl.line_id = l.id
    CROSS JOIN LATERAL (SELECT coalesce(floor(r.rest * 100 * l.net / nullif(l.order_net, 0))
                                        / 100, 0) AS rest_floor) x
), {SPEND}, credited AS (
    -- live orders credited in the period, per campaign (a credit to an ad or ad set is its
    -- campaign's), with the credited revenue
    SELECT a.order_id, CASE e.level WHEN 'campaign' THEN e.id WHEN 'adset' THEN e.parent_id
                            WHEN 'ad' THEN adset.parent_id END AS campaign_id,
           sum(a.revenue * CASE WHEN o.currency = :cur THEN 1 ELSE fx.rate END) AS revenue
    FROM attributions a
    JOIN orders o ON o.id = a.order_id
    JOIN entities e ON e.id = a.entity_id AND e.workspace_id = :ws
    LEFT JOIN entities adset ON e.level = 'ad' AND adset.id = e.parent_id
    LEFT JOIN fx_rates fx ON fx.workspace_id = :ws
        AND fx.day = (o.processed_at AT TIME ZONE :tz)::date
        AND fx.from_currency = o.currency AND fx.to_currency = :cur
    WHERE a.workspace_id = :ws AND a.model = :model AND a.window_days = :window
      AND a.mode = 'cash' AND a.credited_at >= :start AND a.credited_at < :end
      AND o.live
    GROUP BY 1, 2
), order_spend AS (
    SELECT c.order_id, sum(s.spend * c.revenue / t.revenue) AS spend
    FROM credited c
    JOIN (SELECT campaign_id, sum(revenue) AS revenue FROM credited GROUP BY campaign_id
          HAVING sum(revenue) > 0) t ON t.campaign_id = c.campaign_id
    JOIN spend s ON s.campaign_id = c.campaign_id
    GROUP BY c.order_id
), facts AS (
    -- per product, day and currency (a day only for money needing its day's rate)
    SELECT product_id, product, currency, {FOREIGN_DAY.format(at="processed_at")} AS day,
           sum(gross) AS gross, sum(discounts) AS discounts, 0 AS refunds,
           sum(cogs) FILTER (WHERE live) AS cogs, sum(quantity) FILTER (WHERE live) AS units,
           count(DISTINCT order_id) FILTER (WHERE live) AS orders,
           count(DISTINCT order_id) FILTER (WHERE live AND first_order) AS first_orders,
           count(DISTINCT order_id) FILTER (WHERE live AND came_back) AS repeaters
    FROM lines l WHERE placed_in_period
    GROUP BY 1, 2, 3, 4
    UNION ALL
    SELECT l.product_id, l.product, l.currency, {FOREIGN_DAY.format(at="r.created_at")},
           0, 0, sum(r.back), 0, 0, 0, 0, 0
    FROM line_refunds r JOIN lines l ON l.id = r.line_id
    WHERE r.created_at >= :start AND r.created_at < :end
    GROUP BY 1, 2, 3, 4
    UNION ALL
    SELECT l.product_id, l.product, l.currency, {FOREIGN_DAY.format(at="l.cancelled_at")},
           0, 0, sum(l.net - coalesce(b.back, 0)), 0, 0, 0, 0, 0
    FROM lines l
    LEFT JOIN (SELECT line_id, sum(back) AS back FROM line_refunds GROUP BY line_id) b
        ON b.line_id = l.id
    WHERE l.cancelled_at >= :start AND l.cancelled_at < :end
    GROUP BY 1, 2, 3, 4
), money AS (
    SELECT m.product_id, min(m.product) AS product,
           sum(m.gross * {RATE}) AS gross, sum(m.discounts * {RATE}) AS discounts,
           sum(m.refunds * {RATE}) AS refunds, coalesce(sum(m.cogs * {RATE}), 0) AS cogs,
           coalesce(sum(m.units), 0) AS units, sum(m.orders) AS orders,
           sum(m.first_orders) AS first_orders, sum(m.repeaters) AS repeaters, {MISSING_FX}
    FROM facts m {FX_JOIN}
    GROUP BY m.product_id
), allocated AS (
    -- each order's spend over its lines by sales (all on the last line when it has none)
    SELECT l.product_id, sum(x.spend * CASE WHEN l.order_net <> 0 THEN l.net / l.order_net
                                            WHEN l.last_line THEN 1 ELSE 0 END) AS spend
    FROM order_spend x JOIN lines l ON l.order_id = x.order_id
    GROUP BY l.product_id
), p AS (
    SELECT m.*, gross - discounts - refunds AS net_sales,
           gross - discounts - refunds - cogs AS gross_profit, coalesce(a.spend, 0) AS spend
    FROM money m LEFT JOIN allocated a ON a.product_id IS NOT DISTINCT FROM m.product_id
)
{PRODUCT_COLUMNS}"""


#: The same table from product_daily (store facts per product and day) and
#: product_credit_daily (credited revenue per campaign: of whole orders, level 'order', and of
#: each product's lines), the tables the engine reads.
ROLLUP_PRODUCTS = f"""
WITH {SPEND}, credits AS (
    -- credited revenue per campaign: of whole orders (level 'order') and per product
    SELECT m.level, m.campaign_id, m.shop_id, m.product_external_id,
           sum(m.credited_revenue * {RATE}) AS revenue
    FROM (SELECT level, campaign_id, shop_id, product_external_id, currency,
                 CASE WHEN currency = :cur THEN NULL ELSE day END AS day,
                 sum(credited_revenue) AS credited_revenue
          FROM product_credit_daily
          WHERE workspace_id = :ws AND model = :model AND window_days = :window
            AND level IN ('order', 'product') AND day BETWEEN :first AND :last
          GROUP BY 1, 2, 3, 4, 5, 6) m {FX_JOIN}
    GROUP BY 1, 2, 3, 4
), factor AS (
    -- what a campaign allocates per unit of credited revenue
    SELECT t.campaign_id, s.spend / t.revenue AS factor
    FROM (SELECT campaign_id, sum(revenue) AS revenue FROM credits WHERE level = 'order'
          GROUP BY campaign_id HAVING sum(revenue) > 0) t
    JOIN spend s ON s.campaign_id = t.campaign_id
), allocated AS (
    SELECT c.shop_id, c.product_external_id, sum(c.revenue * f.factor) AS spend
    FROM credits c JOIN factor f ON f.campaign_id = c.campaign_id
    WHERE c.level = 'product'
    GROUP BY 1, 2
), money AS (
    SELECT m.shop_id, m.product_external_id,
           sum(m.gross * {RATE}) AS gross, sum(m.discounts * {RATE}) AS discounts,
           sum(m.refunds * {RATE}) AS refunds, sum(m.cogs * {RATE}) AS cogs,
           sum(m.units) AS units, sum(m.orders) AS orders,
           sum(m.new_customer_orders) AS first_orders, sum(m.repeat_customers) AS repeaters,
           {MISSING_FX}
    FROM (SELECT shop_id, product_external_id, currency,
                 CASE WHEN currency = :cur THEN NULL ELSE day END AS day,
                 sum(gross) AS gross, sum(discounts) AS discounts, sum(refunds) AS refunds,
                 sum(cogs) AS cogs, sum(units) AS units, sum(orders) AS orders,
                 sum(new_customer_orders) AS new_customer_orders,
                 sum(repeat_customers) AS repeat_customers
          FROM product_daily
          WHERE workspace_id = :ws AND level = 'product' AND day BETWEEN :first AND :last
          GROUP BY 1, 2, 3, 4) m {FX_JOIN}
    GROUP BY 1, 2
), p AS (
    -- Shopify product ids to the catalogue's (unknown ones together: "(no product)")
    SELECT pr.id AS product_id, min(coalesce(pr.title, '(no product)')) AS product,
           sum(m.gross) AS gross, sum(m.discounts) AS discounts, sum(m.refunds) AS refunds,
           sum(m.cogs) AS cogs, sum(m.units) AS units, sum(m.orders) AS orders,
           sum(m.first_orders) AS first_orders, sum(m.repeaters) AS repeaters,
           sum(m.missing_fx) AS missing_fx, coalesce(sum(a.spend), 0) AS spend,
           sum(m.gross - m.discounts - m.refunds) AS net_sales,
           sum(m.gross - m.discounts - m.refunds - m.cogs) AS gross_profit
    FROM money m
    LEFT JOIN allocated a ON a.shop_id = m.shop_id
        AND a.product_external_id = m.product_external_id
    LEFT JOIN shopify_products pr ON pr.workspace_id = :ws AND pr.shop_id = m.shop_id
        AND pr.external_id = m.product_external_id
    GROUP BY pr.id
)
{PRODUCT_COLUMNS}"""


# --- the cases ------------------------------------------------------------------------------


@dataclass
class Case:
    """One table, up to three ways: the page's service (None: no page shows exactly this),
    the engine, the hand-written SQL."""

    key: str
    title: str
    query: dict[str, Any]
    hand_sql: str  # on the stored orders (the reference every answer is checked against)
    hand_params: dict[str, Any]
    #: the same table by hand on the rollups the engine reads (None: it reads the orders)
    rollup_sql: str | None
    service: Callable[[], Any] | None
    index: tuple[str, ...]  # the columns that identify a row
    metrics: tuple[str, ...]  # the columns compared (numbers within RTOL)


COHORT_METRICS = ("cohort_customers", "repeat_rate", "ltv")
PRODUCT_METRICS = (
    "units",
    "product_gross_sales",
    "product_discounts",
    "product_refunds",
    "refund_rate",
    "product_net_sales",
    "product_cogs",
    "product_gross_profit",
    "gross_margin",
    "product_orders",
    "new_customer_share",
    "repurchase_rate",
    "allocated_spend",
    "product_roas",
    "product_poas",
    "contribution_after_ads",
)
#: The attribution the products table allocates spend under (the engine's default).
ALLOCATION = {"model": "last_click", "window": 28}
MAX_AGE = 11


def heatmap(ws: int, first: date, last: date, metric: str) -> pd.DataFrame:
    """The Retention page's heatmap of `metric` by monthly cohort and age 0-11, with each
    cohort's customers (metricx.services.retention.cohort_table)."""
    from metricx.semantic.query import TimeRange
    from metricx.services import retention

    span = TimeRange(start=first, end=last)
    return retention.cohort_table(ws, span, "month", metric, "month", MAX_AGE).frame


def products_page(ws: int, first: date, last: date) -> Any:
    """The Products page's table (metricx.services.products.products_table)."""
    from metricx.semantic.query import TimeRange
    from metricx.services import products

    return products.products_table(ws, TimeRange(start=first, end=last))


def build_cases(ds: Dataset, today: date) -> list[Case]:
    """The cohort table of the last 12 complete months (all three metrics through the engine;
    each heatmap the page shows, repeat rate and LTV, through the service too); the products
    table over the last 30 days and the last 365. Anchored on the dataset's last day, so a
    reused dataset asks the same questions (completeness alone moves with today)."""
    ws = ds.workspace_id
    month_end = (ds.last + timedelta(days=1)).replace(day=1) - timedelta(days=1)
    cohort_start = (month_end.replace(day=1) - timedelta(days=334)).replace(day=1)
    base = {"ws": ws, "tz": TZ, "cur": CURRENCY}
    start, end = utc_span(cohort_start, month_end)
    cohort_params = {
        **base,
        "start": start,
        "end": end,
        "first": cohort_start,
        "last": month_end,
        "today": today,
    }
    span = f"{cohort_start:%Y-%m} .. {month_end:%Y-%m}"
    cases = []
    for key, metrics, service, title in (
        ("cohorts", COHORT_METRICS, None, "customers, repeat rate, LTV"),
        ("heatmap_repeat", ("cohort_customers", "repeat_rate"), "repeat_rate", "repeat rate"),
        ("heatmap_ltv", ("cohort_customers", "ltv"), "ltv", "LTV"),
    ):
        cases.append(
            Case(
                key,
                f"12 x 12 monthly cohorts {span} by cohort and age: {title}"
                + (f" (the page's heatmap of {service})" if service else " (one query)"),
                {
                    "metrics": list(metrics),
                    "time_range": {"start": cohort_start.isoformat(), "end": month_end.isoformat()},
                    "dimensions": ["cohort", "age"],
                    "cohort": {"grain": "month", "age_unit": "month", "max_age": MAX_AGE},
                },
                hand_cohorts(metrics),
                {**cohort_params, "max_age": MAX_AGE},
                rollup_cohorts(metrics),
                partial(heatmap, ws, cohort_start, month_end, service) if service else None,
                ("cohort", "age"),
                (*metrics, "complete"),
            )
        )
    for days, label in ((30, "30 days"), (365, "12 months")):
        first = ds.last - timedelta(days=days - 1)
        start, end = utc_span(first, ds.last)
        cases.append(
            Case(
                f"products_{days}d",
                f"products table over {label} ({first} .. {ds.last}): all 16 product metrics",
                {
                    "metrics": list(PRODUCT_METRICS),
                    "time_range": {"start": first.isoformat(), "end": ds.last.isoformat()},
                    "dimensions": ["product"],
                },
                HAND_PRODUCTS,
                {**base, "start": start, "end": end, "first": first, "last": ds.last, **ALLOCATION},
                ROLLUP_PRODUCTS,
                partial(products_page, ws, first, ds.last),
                ("product_id",),
                (*PRODUCT_METRICS, "unallocated"),
            )
        )
    return cases


# --- running and checking -------------------------------------------------------------------


def run_engine(case: Case) -> Any:
    from metricx.semantic.engine import run_query

    return run_query(case.hand_params["ws"], case.query)


def engine_frame(case: Case, result: Any) -> pd.DataFrame:
    """The engine's answer in the hand SQL's columns (the unallocated line as a column)."""
    frame = result.frame.copy()
    if "unallocated" in case.metrics:
        frame["unallocated"] = result.unallocated.get("allocated_spend", 0.0)
    return frame


def service_frame(case: Case, answer: Any) -> pd.DataFrame:
    """The service's answer as a frame of the hand SQL's columns (those it shows)."""
    if isinstance(answer, pd.DataFrame):
        return answer
    return engine_frame(case, answer)


def canonical(
    case: Case, frame: pd.DataFrame, metrics: tuple[str, ...] | None = None
) -> pd.DataFrame:
    """[index..., metrics...] as comparable values, sorted by the index."""
    metrics = case.metrics if metrics is None else metrics
    out = frame[[*case.index, *metrics]].copy()
    if "cohort" in out:
        out["cohort"] = [str(v)[:10] for v in out["cohort"]]
    if "product_id" in out:
        out["product_id"] = out["product_id"].astype("Float64").fillna(-1).astype("int64")
    for column in metrics:
        out[column] = out[column].astype(float)
    return out.sort_values(list(case.index), kind="mergesort").reset_index(drop=True)


def difference(case: Case, want: pd.DataFrame, got: pd.DataFrame) -> str | None:
    """None when `got` is `want` (keys exactly, numbers within RTOL), else what differs."""
    if len(want) != len(got):
        return f"{len(got)} rows, want {len(want)}"
    for column in case.index:
        bad = np.flatnonzero(want[column].to_numpy() != got[column].to_numpy())
        if len(bad):
            i = bad[0]
            return f"row {i} {column}: {got[column].iloc[i]}, want {want[column].iloc[i]}"
    for metric in [m for m in case.metrics if m in got]:
        a, b = want[metric].to_numpy(), got[metric].to_numpy()
        bad = np.flatnonzero(~np.isclose(a, b, rtol=RTOL, atol=1e-6, equal_nan=True))
        if len(bad):
            i = bad[0]
            where = ", ".join(f"{c}={want[c].iloc[i]}" for c in case.index)
            return f"{len(bad)} value(s) of {metric}, e.g. {where}: {b[i]!r}, want {a[i]!r}"
    return None


def samples(case: Case, hand: pd.DataFrame) -> list[str]:
    """A few cells of the (checked) answer, so a reader sees what was computed."""
    if "cohort" in case.index:
        oldest = hand[hand["cohort"] == hand["cohort"].min()].set_index("age")
        ages = (0, 3, int(oldest.index[oldest["complete"] > 0].max()))
        cells = [
            f"{metric} at ages {'/'.join(map(str, ages))}: "
            + " / ".join(fmt(oldest[metric].get(a, np.nan)) for a in ages)
            for metric, fmt in (
                ("repeat_rate", lambda v: f"{v:.1%}"),
                ("ltv", lambda v: f"${v:,.2f}"),
            )
            if metric in hand
        ]
        return [
            f"cohort {oldest['cohort'].iloc[0]}: {oldest['cohort_customers'].iloc[0]:,.0f} "
            f"customers; " + "; ".join(cells),
            f"complete cells: {int(hand['complete'].sum())} of {len(hand)} (later ages of "
            "young cohorts have not elapsed)",
        ]
    top = hand.sort_values("product_net_sales", ascending=False).iloc[0]
    losing = int((hand["contribution_after_ads"] < 0).sum())
    return [
        f"{len(hand)} products; top by net sales: product_id {top['product_id']} "
        f"${top['product_net_sales']:,.2f} net, margin {top['gross_margin']:.1%}, "
        f"allocated ${top['allocated_spend']:,.2f}",
        f"total net sales ${hand['product_net_sales'].sum():,.2f}, allocated "
        f"${hand['allocated_spend'].sum():,.2f} + unallocated ${hand['unallocated'].iloc[0]:,.2f}; "
        f"{losing} products lose money after ads",
    ]


METHODS = (
    ("service", "service (page)"),
    ("engine", "engine: run_query"),
    ("rollup", "hand SQL on rollups"),
    ("hand", "hand SQL on orders"),
)


@dataclass
class Outcome:
    case: Case
    times: dict[str, list[float]]
    mismatches: list[str]
    samples: list[str]


def bench_case(case: Case, args: argparse.Namespace) -> Outcome:
    actions: dict[str, Callable[[], Any]] = {
        "engine": lambda: run_engine(case),
        "hand": lambda: run_hand(case),
    }
    if case.rollup_sql is not None:
        on_rollups = replace(case, hand_sql=case.rollup_sql)
        actions["rollup"] = lambda: run_hand(on_rollups)
    if case.service is not None:
        actions = {"service": case.service, **actions}
    times, raw = timed(actions, args.runs, args.warmup)
    hand = canonical(case, raw["hand"])
    mismatches = []
    if not hand[case.metrics[1]].notna().any():  # equal empty answers would prove nothing
        mismatches.append("the hand SQL's answer is empty: the dataset is broken")
    problem = difference(case, hand, canonical(case, engine_frame(case, raw["engine"])))
    if problem:
        mismatches.append(f"engine != hand SQL: {problem}")
    if "rollup" in raw:
        problem = difference(case, hand, canonical(case, raw["rollup"]))
        if problem:
            mismatches.append(f"hand SQL on rollups != on orders: {problem}")
    if "service" in raw:
        service = service_frame(case, raw["service"])
        shown = tuple(m for m in case.metrics if m in service)
        problem = difference(case, hand[[*case.index, *shown]], canonical(case, service, shown))
        if problem:
            mismatches.append(f"service != hand SQL: {problem}")
    return Outcome(case, times, mismatches, samples(case, hand))


def report(outcome: Outcome, number: int) -> list[tuple[str, bool, str]]:
    """Print one table's figures; return its goals as (goal, met, detail): on the service,
    or on the engine where no page shows the table as such, against the hand SQL on the
    tables the engine reads (the rollups where it reads them)."""
    case, times = outcome.case, outcome.times
    same = "rollup" if "rollup" in times else "hand"
    hand = percentile(times[same], 50)
    print(f"\nT{number} {case.title}   [{case.key}]")
    print(f"  {'method':<24}{'runs':>5}{'p50 ms':>10}{'p95 ms':>10}{'p50 / same':>12}")
    for method, label in METHODS:
        if method in times:
            t = times[method]
            print(
                f"  {label:<24}{len(t):>5}{percentile(t, 50):>10.1f}{percentile(t, 95):>10.1f}"
                f"{percentile(t, 50) / hand:>11.2f}x"
            )
    for line in outcome.samples:
        print(f"  {line}")
    if outcome.mismatches:
        for line in outcome.mismatches:
            print(f"  !!! MISMATCH: {line}")
    else:
        checked = "engine" + (" and service" if "service" in times else "")
        checked += " and hand SQL on rollups" if "rollup" in times else ""
        print(f"  answers: {checked} = hand SQL on orders, every cell (rtol {RTOL:g})")
    tested = "service" if "service" in times else "engine"
    p50 = percentile(times[tested], 50)
    goals = [
        (f"{tested} p50 <= {GOAL_P50_MS:g} ms", p50 <= GOAL_P50_MS, f"{p50:.1f} ms"),
        (
            f"{tested}/hand SQL on the same tables <= {GOAL_VS_HAND:g}x",
            p50 <= GOAL_VS_HAND * hand,
            f"{p50 / hand:.2f}x",
        ),
    ]
    print("  goals: " + "   ".join(f"{n}: {'PASS' if ok else 'FAIL'} ({d})" for n, ok, d in goals))
    raw = percentile(times["hand"], 50)
    print(
        f"  the limit itself: hand SQL on orders p50 <= {GOAL_P50_MS:g} ms: "
        f"{'PASS' if raw <= GOAL_P50_MS else 'FAIL'} ({raw:.1f} ms)"
    )
    return goals


def dataset_size(ws: int) -> list[tuple[str, int]]:
    from metricx.db import get_engine

    with get_engine().connect() as conn:
        return [
            (
                table,
                conn.execute(
                    text(f"SELECT count(*) FROM {table} WHERE workspace_id = :ws"), {"ws": ws}
                ).scalar_one(),
            )
            for table in (*STORE_TABLES, "metric_snapshots", *ROLLUPS[2:])
        ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="timed runs per figure (default 30)")
    parser.add_argument(
        "--warmup",
        type=int,
        default=10,
        help="untimed runs first (default 10: statements prepared by psycopg after 5 runs and "
        "planned generically by PostgreSQL after 5 more, as a page's steady state)",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="keep the embedded PostgreSQL here and reuse its dataset next time "
        "(default: a temp dir, deleted)",
    )
    parser.add_argument(
        "--end",
        type=date.fromisoformat,
        help="last day of the dataset (default: yesterday in New York, or the cached dataset's)",
    )
    parser.add_argument("--rebuild", action="store_true", help="rebuild even if cached")
    parser.add_argument(
        "--only",
        nargs="*",
        metavar="KEY",
        help="run only these: cohorts, heatmap_repeat, heatmap_ltv, products_30d, products_365d",
    )
    args = parser.parse_args()
    server, url, scratch = setup_database(args.data_dir)
    failed = False
    try:
        configure(url, Path(tempfile.mkdtemp(prefix="metricx-bench-retention-")))
        from metricx.semantic.dates import today_in

        dataset = None if args.rebuild else find_dataset()
        if dataset is not None and args.end and dataset.last != args.end:
            dataset = None
        if dataset is None:
            drop_workspaces()
            end = args.end or today_in(TZ) - timedelta(days=1)
            print(f"building the dataset ({NAME}, {DAYS} days ending {end}) ...", flush=True)
            dataset = build_dataset(end)
        built = (
            f"built in {dataset.build_seconds:.0f} s"
            if dataset.build_seconds is not None
            else "reused (already built)"
        )
        print(
            f"\ndataset: workspace {dataset.workspace_id}, {TZ}, {CURRENCY}, days "
            f"{dataset.first} .. {dataset.last}; {built}"
        )
        for table, rows in dataset_size(dataset.workspace_id):
            print(f"  {table:<24}{rows:>10,} rows")
        today = today_in(TZ)
        print(
            f"\nfigures: p50/p95 of {args.runs} runs after {args.warmup} warm-up runs, the "
            f"service, the engine and the hand SQL taking turns run by run (today: {today})"
        )
        results = []
        for number, case in enumerate(build_cases(dataset, today), start=1):
            if args.only and case.key not in args.only:
                continue
            outcome = bench_case(case, args)
            results.append((number, outcome, report(outcome, number)))
            failed |= bool(outcome.mismatches)
        print("\nsummary (PASS/FAIL per goal: the service's p50, the engine's where no page)")
        for number, outcome, goals in results:
            marks = "  ".join(f"{'PASS' if ok else 'FAIL'} {detail}" for _, ok, detail in goals)
            print(f"  T{number} {outcome.case.key:<16}{marks}")
        if failed:
            print(
                "\n!!! some answers differ from the hand SQL's: the figures above compare "
                "different results"
            )
    finally:
        teardown_database(server, scratch)
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
