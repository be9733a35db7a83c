"""The product rollups (metricx.models ProductDaily, ProductCreditDaily), kept exact by
difference (metricx.sync.order_rollups): `subtract` takes out what a set of orders gives
them, `add` puts it back as the rows now are. Each is one statement per table computing the
set's rows, applied with INSERT ... ON CONFLICT, then the touched rows left all zero are
deleted, so a rollup holds what `fill` would build from scratch, row for row.

The rows are counted by metricx.semantic.products' own statement (`rollup_ctes`,
`rollup_parts`): an order's facts depend on its own rows and on its customer's other orders
(first order, ordered again), which is why the writers name the customers as well.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, TextClause, text
from sqlalchemy.orm import Session

from metricx.semantic import products
from metricx.sync.rollup import workspace_timezone

#: The orders of a set: these orders and every order of these customers.
_CHOSEN = """(o.id = ANY(CAST(:order_ids AS bigint[]))
            OR o.customer_id = ANY(CAST(:customer_ids AS bigint[])))"""
#: A row's level is the grouping set it comes from; the keys it is not grouped by are 0 or ''.
_LEVEL = """CASE WHEN GROUPING(sku) = 0 THEN 'sku'
            WHEN GROUPING(variant_external_id) = 0 THEN 'variant' ELSE 'product' END"""
_GROUPING_SETS = """GROUPING SETS ((shop_id, product_external_id),
            (shop_id, product_external_id, variant_external_id), (sku))"""
_PRODUCT_KEYS = {  # column -> SQL type (to bind a column of keys as an array)
    "level": "text",
    "day": "date",
    "currency": "text",
    "shop_id": "integer",
    "product_external_id": "text",
    "variant_external_id": "text",
    "sku": "text",
}
_CREDIT_KEYS = {"model": "text", "window_days": "integer", "campaign_id": "bigint", **_PRODUCT_KEYS}
_DAILY_SUMS = (
    *("gross", "discounts", "refunds", "cogs"),
    *("units", "orders", "new_customer_orders", "repeat_customers", "line_events"),
)


def _by_level(day: str) -> tuple[str, str]:
    """products.Keyed for the rollups: per level, day (positions 6 and 7) and currency."""
    return (
        f"""{_LEVEL} AS level, coalesce(shop_id, 0) AS shop_id,
            coalesce(product_external_id, '') AS product_external_id,
            coalesce(variant_external_id, '') AS variant_external_id,
            coalesce(sku, '') AS sku, {day} AS day, currency""",
        f"GROUP BY 6, 7, {_GROUPING_SETS}",
    )


def _counting_line_events(day: str) -> tuple[str, str]:
    """_by_level, each row counting the line events it sums (a line sold, refunded or
    cancelled): a line without money still makes its row, as it does read from the orders."""
    keys, group_by = _by_level(day)
    return f"{keys}, count(*) AS line_events", group_by


def _upsert(table: str, keys: Sequence[str], sums: Sequence[str]) -> str:
    """`summed` (keys, then sums × :sign, grouped on the full key) added to `table`; the
    keys of the rows it left all zero are returned."""
    return f""",
    written AS (
        INSERT INTO {table} AS t (workspace_id, {", ".join(keys)}, {", ".join(sums)})
        SELECT :ws, * FROM summed
        ON CONFLICT ON CONSTRAINT pk_{table} DO UPDATE SET
            {", ".join(f"{s} = t.{s} + EXCLUDED.{s}" for s in sums)}
        RETURNING t.*
    )
    SELECT {", ".join(keys)} FROM written WHERE {" AND ".join(f"{s} = 0" for s in sums)}"""


def _summed(keys: Sequence[str], sums: Sequence[str]) -> str:
    listed = ", ".join(keys)
    return f""",
    summed AS (
        SELECT {listed}, {", ".join(f"CAST(:sign AS integer) * sum({s}) AS {s}" for s in sums)}
        FROM facts GROUP BY {listed}
        HAVING {" OR ".join(f"sum({s}) <> 0" for s in sums)}
    )"""


@lru_cache(maxsize=4)
def _daily_statement(chosen: str) -> TextClause:
    """product_daily's rows of the `chosen` orders, applied (see _upsert)."""
    return text(
        f"""WITH {products.rollup_ctes(chosen)},
    facts AS ({products.rollup_parts(_counting_line_events)}
    )"""
        + _summed(list(_PRODUCT_KEYS), _DAILY_SUMS)
        + _upsert("product_daily", list(_PRODUCT_KEYS), _DAILY_SUMS)
    )


@lru_cache(maxsize=4)
def _credit_statement(chosen: str) -> TextClause:
    """product_credit_daily's rows of the `chosen` orders, applied (see _upsert): per
    campaign credited (live orders, under products.ROLLED_UP_ATTRIBUTION only) its credited
    revenue shared over the lines by their weight (products' allocation rule), and that of
    whole orders (level 'order')."""
    keyed, group_by = _by_level(products.local_day("processed_at"))
    order_day = products.local_day("o.processed_at")
    return text(
        f"""WITH {products.rollup_ctes(chosen)},{products.CAMPAIGN_OF},
    credits AS (
        SELECT o.id AS order_id, a.model, a.window_days, k.campaign_id, a.revenue
        FROM orders o
        -- looked up per order by index (as a join, a page's orders scanned every credit)
        CROSS JOIN LATERAL (SELECT * FROM attributions a WHERE a.order_id = o.id
            AND a.workspace_id = :ws AND a.mode = :mode AND a.model = :model
            AND a.window_days = :window OFFSET 0) AS a
        JOIN campaign_of k ON k.entity_id = a.entity_id
        WHERE o.live AND k.campaign_id IS NOT NULL
    ),
    facts AS (
        SELECT {keyed}, c.model, c.window_days, c.campaign_id,
            sum(c.revenue * l.weight) AS credited_revenue
        FROM credits c JOIN lines l ON l.order_id = c.order_id
        {group_by}, c.model, c.window_days, c.campaign_id
        UNION ALL
        SELECT 'order', 0, '', '', '', {order_day}, o.currency, c.model, c.window_days,
            c.campaign_id, sum(c.revenue)
        FROM credits c JOIN orders o ON o.id = c.order_id
        GROUP BY 6, 7, 8, 9, 10
    )"""
        + _summed(list(_CREDIT_KEYS), ("credited_revenue",))
        + _upsert("product_credit_daily", list(_CREDIT_KEYS), ("credited_revenue",))
    )


#: Each rollup: its statement, its key columns (beyond the workspace), its sums.
_TABLES = (
    ("product_daily", _daily_statement, _PRODUCT_KEYS, _DAILY_SUMS),
    ("product_credit_daily", _credit_statement, _CREDIT_KEYS, ("credited_revenue",)),
)


def _apply(
    bind: Connection | Session, workspace_id: int, chosen: str, values: dict[str, Any]
) -> None:
    """The `chosen` orders' rows added × values["sign"] to both rollups; rows left all
    zero deleted."""
    rolled = products.ROLLED_UP_ATTRIBUTION
    values = {
        **values,
        "ws": workspace_id,
        "tz": workspace_timezone(bind, workspace_id),
        "model": rolled.model,
        "window": rolled.window_days,
        "mode": rolled.mode,
    }
    for table, statement, keys, sums in _TABLES:
        emptied = bind.execute(statement(chosen), values).all()
        if not emptied:
            continue
        arrays = ", ".join(f"CAST(:{k} AS {t}[])" for k, t in keys.items())
        bind.execute(
            text(f"""
            DELETE FROM {table} t USING unnest({arrays}) AS z({", ".join(keys)})
            WHERE t.workspace_id = :ws AND {" AND ".join(f"t.{k} = z.{k}" for k in keys)}
              AND {" AND ".join(f"t.{s} = 0" for s in sums)}"""),
            {"ws": workspace_id} | {k: [row[at] for row in emptied] for at, k in enumerate(keys)},
        )


def _apply_set(
    session: Session,
    workspace_id: int,
    customer_ids: Sequence[int],
    order_ids: Sequence[int],
    sign: int,
) -> None:
    if customer_ids or order_ids:
        _apply(
            session,
            workspace_id,
            _CHOSEN,
            {"sign": sign, "customer_ids": list(customer_ids), "order_ids": list(order_ids)},
        )


def subtract(
    session: Session, workspace_id: int, customer_ids: Sequence[int], order_ids: Sequence[int]
) -> None:
    """Take out what every order of these customers and these orders (ids) gives the
    rollups, as their rows are now (before a write changes them)."""
    _apply_set(session, workspace_id, customer_ids, order_ids, -1)


def add(
    session: Session, workspace_id: int, customer_ids: Sequence[int], order_ids: Sequence[int]
) -> None:
    """Put back what every order of these customers and these orders (ids) gives the
    rollups, as their rows are now (after the write)."""
    _apply_set(session, workspace_id, customer_ids, order_ids, 1)


def fill(bind: Connection | Session, workspace_id: int) -> None:
    """Every row of the workspace, into rollups holding none of its rows."""
    _apply(bind, workspace_id, "true", {"sign": 1})
    # Read right away: planned without statistics, a year's rows were looped over per campaign.
    bind.execute(text(f"ANALYZE {', '.join(table for table, *_ in _TABLES)}"))


def rebuild(session: Session, workspace_id: int) -> None:
    """The workspace's rows again from the stored orders (the zone changed, a shop was
    erased, rows were copied in)."""
    for table, *_ in _TABLES:
        session.execute(text(f"DELETE FROM {table} WHERE workspace_id = :ws"), {"ws": workspace_id})
    fill(session, workspace_id)
