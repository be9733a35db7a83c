"""cohort_daily: what the customers whose first order fell on a workspace-local day did on each
later day (metricx.models.CohortDaily), so a cohort cell is a sum of rows
(metricx.semantic.cohorts reads it for the queries without acquisition or first-order splits).

Each customer's part is counted as the cohort statement counts it (and as the P&L counts the
store, docs/design.md "Store money"), from their first real order on (test orders left out; a
cancelled order placed before it belongs to no age):

- an order's gross, discounts, shipping and taxes on its processed day, its COGS and the
  order itself when it is live (not cancelled);
- each refund on its day (its sales to refunds, its shipping and taxes taken off);
- a cancelled order's unreturned rest on its cancel day;
- the customer on their first day, under their shop's currency;
- a second live order on its day (another live order at the first order's instant counts on
  the first day);
- the customer's first live order of each age (whole days, weeks or completed months since
  the first day, metricx.semantic.cohorts.age_sql) on its day, one column per unit, so the
  customers active at an age add up over the days of that age.

The rows are kept by difference (metricx.sync.order_rollups): `subtract` the part of some
customers before their rows change, `add` it after, in the writer's transaction. `fill` writes
a workspace's rows from scratch with the same statement.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from metricx.semantic.cohorts import age_text
from metricx.sync.rollup import workspace_timezone

MONEY = ("gross", "discounts", "refunds", "shipping", "taxes", "cogs")
COUNTS = ("orders", "customers", "repeat_customers", "active_day", "active_week", "active_month")
FACTS = (*MONEY, *COUNTS)
KEY = ("first_day", "day", "currency")


def _event(day: str, currency: str, source: str, **facts: str) -> str:
    """One kind of event as rows of (first_day, day, currency, every fact; 0 unless given)."""
    values = ", ".join(f"{facts.get(f, '0')} AS {f}" for f in FACTS)
    return f"SELECT first_day, {day} AS day, {currency} AS currency, {values} FROM {source}"


def _local(instant: str) -> str:
    return f"({instant} AT TIME ZONE :tz)::date"


#: Per customer and age of one unit, the first day of that age with a live order.
_FIRST_ACTIVE = """(SELECT first_day, min(day) AS day, shop_currency FROM o WHERE live
    GROUP BY customer_id, first_day, shop_currency, {age}) AS {name}"""
_SECOND = f"""(SELECT first_day, shop_currency,
        CASE WHEN count(*) FILTER (WHERE processed_at = first_order_at) >= 2 THEN first_day
             ELSE {_local("min(processed_at) FILTER (WHERE processed_at > first_order_at)")}
        END AS day
    FROM o WHERE live GROUP BY customer_id, first_day, first_order_at, shop_currency) AS second"""
_BACK = """o CROSS JOIN LATERAL (
        SELECT coalesce(sum(r.sales), 0) AS sales, coalesce(sum(r.shipping), 0) AS shipping,
               coalesce(sum(r.taxes), 0) AS taxes
        FROM shopify_refunds r WHERE r.order_id = o.id AND r.workspace_id = :ws) AS back"""

_PARTS = f"""
    WITH c AS (
        SELECT c.id, c.first_order_at, {_local("c.first_order_at")} AS first_day,
               s.currency AS shop_currency
        FROM shopify_customers c JOIN shopify_shops s ON s.id = c.shop_id
        WHERE c.workspace_id = :ws AND c.first_order_at IS NOT NULL {{customers}}),
    o AS (
        SELECT c.id AS customer_id, c.first_day, c.first_order_at, c.shop_currency, o.id,
               o.processed_at, o.cancelled_at, o.currency, o.cancelled_at IS NULL AS live,
               {_local("o.processed_at")} AS day, o.gross_sales, o.discounts, o.shipping,
               o.taxes, coalesce(o.cogs, 0) AS cogs
        FROM c JOIN shopify_orders o ON o.customer_id = c.id AND o.workspace_id = :ws
        WHERE NOT o.test AND o.processed_at >= c.first_order_at),
    events AS (
        {
    _event(
        "day",
        "currency",
        "o",
        gross="gross_sales",
        discounts="discounts",
        shipping="shipping",
        taxes="taxes",
        cogs="CASE WHEN live THEN cogs ELSE 0 END",
        orders="live::int",
    )
}
        UNION ALL {
    _event(
        _local("r.created_at"),
        "o.currency",
        "o JOIN shopify_refunds r ON r.order_id = o.id AND r.workspace_id = :ws",
        refunds="r.sales",
        shipping="-r.shipping",
        taxes="-r.taxes",
    )
}
        UNION ALL {
    _event(
        _local("cancelled_at"),
        "currency",
        _BACK,
        refunds="gross_sales - discounts - back.sales",
        shipping="back.shipping - o.shipping",
        taxes="back.taxes - o.taxes",
    )
}
            WHERE cancelled_at IS NOT NULL
        UNION ALL {_event("first_day", "shop_currency", "c", customers="1")}
        UNION ALL {_event("day", "shop_currency", _SECOND, repeat_customers="1")}
            WHERE day IS NOT NULL
        UNION ALL {
    _event(
        "day",
        "shop_currency",
        _FIRST_ACTIVE.format(age=age_text("day"), name="by_day"),
        active_day="1",
    )
}
        UNION ALL {
    _event(
        "day",
        "shop_currency",
        _FIRST_ACTIVE.format(age=age_text("week"), name="by_week"),
        active_week="1",
    )
}
        UNION ALL {
    _event(
        "day",
        "shop_currency",
        _FIRST_ACTIVE.format(age=age_text("month"), name="by_month"),
        active_month="1",
    )
})
    SELECT :ws, first_day, day, currency, {", ".join(f":sign * sum({f})" for f in FACTS)}
    FROM events GROUP BY first_day, day, currency"""
_ALL_ZERO = " AND ".join(f"{f} = 0" for f in FACTS)
_COLUMNS = f"workspace_id, {', '.join(KEY)}, {', '.join(FACTS)}"
_APPLY = f"""
    INSERT INTO cohort_daily AS t ({_COLUMNS}) {_PARTS}
    ON CONFLICT ({", ".join(("workspace_id", *KEY))}) DO UPDATE SET
        {", ".join(f"{f} = t.{f} + EXCLUDED.{f}" for f in FACTS)}
    RETURNING {", ".join(KEY)}, {_ALL_ZERO} AS empty"""
_OF_CUSTOMERS = _APPLY.format(customers="AND c.id = ANY(:ids)")
_OF_WORKSPACE = _APPLY.format(customers="")
_DROP_EMPTY = f"""
    DELETE FROM cohort_daily WHERE workspace_id = :ws AND (first_day, day, currency) IN (
        SELECT * FROM unnest(CAST(:first_days AS date[]), CAST(:days AS date[]),
                             CAST(:currencies AS text[])))
      AND {_ALL_ZERO}"""


def _apply(
    bind: Session | Connection, workspace_id: int, customer_ids: Sequence[int] | None, sign: int
) -> None:
    """Add (`sign` 1) or take out (-1) the part of these customers (None: all of the
    workspace's), then drop the rows left all zero."""
    params = {"ws": workspace_id, "tz": workspace_timezone(bind, workspace_id), "sign": sign}
    if customer_ids is None:
        statement = _OF_WORKSPACE
    elif not customer_ids:
        return
    else:
        statement, params["ids"] = _OF_CUSTOMERS, sorted(set(customer_ids))
    empty = [row[:3] for row in bind.execute(text(statement), params) if row.empty]
    if empty:
        first_days, days, currencies = (list(column) for column in zip(*empty, strict=True))
        bind.execute(
            text(_DROP_EMPTY),
            {"ws": workspace_id, "first_days": first_days, "days": days, "currencies": currencies},
        )


def subtract(session: Session, workspace_id: int, customer_ids: Sequence[int]) -> None:
    """Take out these customers' part (before their orders, refunds or first order change)."""
    _apply(session, workspace_id, customer_ids, -1)


def add(session: Session, workspace_id: int, customer_ids: Sequence[int]) -> None:
    """Put back these customers' part as their rows now are."""
    _apply(session, workspace_id, customer_ids, 1)


def fill(bind: Session | Connection, workspace_id: int) -> None:
    """Every customer's part, into a workspace that has no rows yet."""
    _apply(bind, workspace_id, None, 1)


def rebuild(session: Session, workspace_id: int) -> None:
    """The workspace's rows again from its stored orders (the zone changed, a shop left)."""
    session.execute(text("DELETE FROM cohort_daily WHERE workspace_id = :ws"), {"ws": workspace_id})
    fill(session, workspace_id)
