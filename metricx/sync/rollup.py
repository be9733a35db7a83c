"""The rollups the query engine reads, each recomputed from its source in the writer's
transaction, so none can drift from the rows it summarises whatever order writes run in:

- metric_daily: snapshot rows per ad and workspace-local day (`refresh`, from the snapshots);
- metric_daily_connection and metric_daily_campaign: metric_daily per connection and per
  campaign (refreshed with it, from it, for the same days and connections);
- store_daily: orders, refunds and first orders per workspace-local day and currency
  (`refresh_store`, from the Shopify rows, by the Shopify sync's page transactions), counted
  as Shopify's sales reports count them (`_REFRESH_STORE`).

Everything is rebuilt when the workspace's time zone changes (`rebuild`): days move.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select, text
from sqlalchemy.orm import Session

from metricx.models import Workspace
from metricx.semantic.dates import utc_bounds
from metricx.semantic.query import TimeRange
from metricx.totals import METRIC_COLUMNS

_SUMS = ", ".join(f"sum({c})" for c in METRIC_COLUMNS)
_COLUMNS = ", ".join(METRIC_COLUMNS)
_NONZERO = " OR ".join(f"sum({c}) <> 0" for c in METRIC_COLUMNS)
#: The campaign of an ad (its ad set's parent); 0 for an ad under no campaign.
_CAMPAIGN = "coalesce(adset.parent_id, 0)"
_COARSE = {  # rollup table -> its key beyond workspace and day (columns of `ad` below)
    "metric_daily_connection": "connection_id",
    "metric_daily_campaign": "connection_id, campaign_id",
}


def workspace_timezone(bind: Session | Connection, workspace_id: int) -> str:
    return bind.scalar(select(Workspace.timezone).where(Workspace.id == workspace_id)) or "UTC"


def refresh(
    session: Session, workspace_id: int, entity_ids: list[int], start: datetime, end: datetime
) -> None:
    """Recompute the ad rollups of `entity_ids` for every workspace-local day that overlaps
    the UTC interval [start, end)."""
    if not entity_ids or end <= start:
        return
    tz = workspace_timezone(session, workspace_id)
    zone = ZoneInfo(tz)
    days = TimeRange(
        start=start.astimezone(zone).date(),
        end=(end - timedelta(microseconds=1)).astimezone(zone).date(),
    )
    span_start, span_end = utc_bounds(days, tz)
    params = {
        "ws": workspace_id,
        "ids": entity_ids,
        "d0": days.start,
        "d1": days.end,
        "s": span_start,
        "e": span_end,
        "tz": tz,
    }
    session.execute(
        text("""
        DELETE FROM metric_daily WHERE workspace_id = :ws AND entity_id = ANY(:ids)
          AND day BETWEEN :d0 AND :d1"""),
        params,
    )
    session.execute(
        text(f"""
        INSERT INTO metric_daily (workspace_id, day, entity_id, {_COLUMNS})
        SELECT workspace_id, (bucket_start AT TIME ZONE :tz)::date, entity_id, {_SUMS}
        FROM metric_snapshots
        WHERE workspace_id = :ws AND entity_id = ANY(:ids)
          AND bucket_start >= :s AND bucket_start < :e
        GROUP BY workspace_id, (bucket_start AT TIME ZONE :tz)::date, entity_id
        HAVING {_NONZERO}"""),
        params,
    )
    connections = list(
        session.scalars(
            text(
                "SELECT DISTINCT connection_id FROM entities"
                " WHERE workspace_id = :ws AND id = ANY(:ids)"
            ),
            params,
        )
    )
    _refresh_coarse(session, workspace_id, connections, days.start, days.end)


def _refresh_coarse(
    session: Session, workspace_id: int, connection_ids: list[int], first: date, last: date
) -> None:
    """metric_daily summed again per connection and per campaign, for these connections'
    days first..last (whole connection-days: an ad's sums never stand alone in them)."""
    params = {"ws": workspace_id, "conns": connection_ids, "d0": first, "d1": last}
    for table, key in _COARSE.items():
        session.execute(
            text(f"""
            DELETE FROM {table} WHERE workspace_id = :ws AND day BETWEEN :d0 AND :d1
              AND connection_id = ANY(:conns)"""),
            params,
        )
        # Each row finds its ad by primary key (OFFSET 0 keeps that plan): on tables without
        # statistics yet, a plain join was planned as a loop over all the connection's ads.
        session.execute(
            text(f"""
            INSERT INTO {table} (workspace_id, day, {key}, {_COLUMNS})
            SELECT m.workspace_id, m.day, {key}, {", ".join(f"sum(m.{c})" for c in METRIC_COLUMNS)}
            FROM metric_daily m CROSS JOIN LATERAL (
                SELECT ad.connection_id, {_CAMPAIGN} AS campaign_id FROM entities ad
                LEFT JOIN entities adset ON adset.id = ad.parent_id
                WHERE ad.id = m.entity_id OFFSET 0) AS ad
            WHERE m.workspace_id = :ws AND m.day BETWEEN :d0 AND :d1
              AND ad.connection_id = ANY(:conns)
            GROUP BY m.workspace_id, m.day, {key}"""),
            params,
        )


def campaigns_of_ads(session: Session, connection_id: int) -> dict[int, int]:
    """{ad id: its campaign id (0: none)} of one connection, to notice ads that moved."""
    return dict(
        session.execute(
            text(f"""
        SELECT ad.id, {_CAMPAIGN} FROM entities ad
        LEFT JOIN entities adset ON adset.id = ad.parent_id
        WHERE ad.connection_id = :c AND ad.level = 'ad'"""),
            {"c": connection_id},
        ).all()
    )


def reattach(
    session: Session, workspace_id: int, connection_id: int, before: dict[int, int]
) -> bool:
    """After the campaign tree of a connection was written: if an ad now sits under another
    campaign than `before` (campaigns_of_ads), sum the connection's campaigns again; whether
    one moved."""
    after = campaigns_of_ads(session, connection_id)
    moved = any(before.get(ad, campaign) != campaign for ad, campaign in after.items())
    if moved:
        _refresh_coarse(session, workspace_id, [connection_id], date.min, date.max)
    return moved


def store_days(
    session: Session,
    shop_id: int,
    orders: list[str],
    customers: list[str],
    tz: str,
    customer_ids: Sequence[int] = (),
) -> set[date]:
    """Workspace-local days whose store sums these orders (Shopify ids) feed: their processed
    and cancel days, their refunds' days, and the first-order day of their customers, of
    `customers` (Shopify ids) and of `customer_ids` (ours). Taken before and after a write,
    so the days an order or a first order leaves are refreshed as well as the days it joins
    (after it, `customer_ids` names the customers the orders had before)."""
    return set(
        session.scalars(
            text("""
        WITH o AS (SELECT id, processed_at, cancelled_at, customer_id FROM shopify_orders
                   WHERE shop_id = :shop AND external_id = ANY(:orders))
        SELECT DISTINCT (at AT TIME ZONE :tz)::date FROM (
            SELECT processed_at AS at FROM o
            UNION ALL SELECT cancelled_at FROM o
            UNION ALL SELECT r.created_at FROM shopify_refunds r JOIN o ON o.id = r.order_id
            UNION ALL SELECT c.first_order_at FROM shopify_customers c
                      JOIN o ON o.customer_id = c.id
            UNION ALL SELECT first_order_at FROM shopify_customers
                      WHERE shop_id = :shop AND external_id = ANY(:customers)
            UNION ALL SELECT first_order_at FROM shopify_customers
                      WHERE shop_id = :shop AND id = ANY(:ids)
        ) AS moments WHERE at IS NOT NULL"""),
            {
                "shop": shop_id,
                "orders": orders,
                "customers": customers,
                "ids": list(customer_ids),
                "tz": tz,
            },
        )
    )


_STORE_SUMS = (
    "orders",
    "gross",
    "discounts",
    "shipping",
    "taxes",
    "cogs",
    "refunds",
    "new_customers",
)
_LIVE = "FILTER (WHERE o.cancelled_at IS NULL)"
# Shopify's sales reports (help.shopify.com "Sales reports": "When you cancel an order, it
# appears as a sale for the day that it was placed and a return for the day that it was
# canceled"; gross sales include "canceled, pending, and unpaid orders", not test ones):
# - every order's gross, discounts, shipping and taxes on its processed day;
# - each refund on its day: the sales it returned (`refunds`, tax excluded), the shipping and
#   tax it gave back (off `shipping` and `taxes`);
# - a cancelled order, on its cancel day, returns what its refunds did not (its net sales,
#   shipping and tax less theirs), so it nets to zero whenever its refunds come;
# - orders and COGS count live orders (not cancelled), on the processed day.
_REFRESH_STORE = f"""
    WITH days AS (SELECT * FROM unnest(CAST(:days AS date[]), CAST(:los AS timestamptz[]),
                                       CAST(:his AS timestamptz[])) AS d(day, lo, hi))
    INSERT INTO store_daily (workspace_id, day, currency, {", ".join(_STORE_SUMS)})
    SELECT :ws, day, currency, {", ".join(f"sum({c})" for c in _STORE_SUMS)} FROM (
        SELECT d.day, o.currency, count(*) {_LIVE} AS orders, sum(o.gross_sales) AS gross,
               sum(o.discounts) AS discounts, sum(o.shipping) AS shipping,
               sum(o.taxes) AS taxes, coalesce(sum(o.cogs) {_LIVE}, 0) AS cogs,
               0 AS refunds, 0 AS new_customers
        FROM days d JOIN shopify_orders o ON o.workspace_id = :ws
             AND o.processed_at >= d.lo AND o.processed_at < d.hi
        WHERE NOT o.test GROUP BY d.day, o.currency
        UNION ALL
        SELECT d.day, o.currency, 0, 0, 0, -sum(r.shipping), -sum(r.taxes), 0, sum(r.sales), 0
        FROM days d JOIN shopify_refunds r ON r.workspace_id = :ws
             AND r.created_at >= d.lo AND r.created_at < d.hi
        JOIN shopify_orders o ON o.id = r.order_id
        WHERE NOT o.test GROUP BY d.day, o.currency
        UNION ALL
        SELECT d.day, o.currency, 0, 0, 0, -sum(o.shipping - back.shipping),
               -sum(o.taxes - back.taxes), 0,
               sum(o.gross_sales - o.discounts - back.sales), 0
        FROM days d JOIN shopify_orders o ON o.workspace_id = :ws
             AND o.cancelled_at >= d.lo AND o.cancelled_at < d.hi
        CROSS JOIN LATERAL (
            SELECT coalesce(sum(r.sales), 0) AS sales, coalesce(sum(r.shipping), 0) AS shipping,
                   coalesce(sum(r.taxes), 0) AS taxes
            FROM shopify_refunds r WHERE r.order_id = o.id) AS back
        WHERE NOT o.test GROUP BY d.day, o.currency
        UNION ALL
        SELECT d.day, s.currency, 0, 0, 0, 0, 0, 0, 0, count(*)
        FROM days d JOIN shopify_customers c ON c.workspace_id = :ws
             AND c.first_order_at >= d.lo AND c.first_order_at < d.hi
        JOIN shopify_shops s ON s.id = c.shop_id
        GROUP BY d.day, s.currency
    ) AS parts
    GROUP BY day, currency"""


def refresh_store(
    session: Session, workspace_id: int, days: Iterable[date], tz: str | None = None
) -> None:
    """Recompute store_daily for these workspace-local days."""
    days = sorted(set(days))
    if not days:
        return
    tz = tz or workspace_timezone(session, workspace_id)
    bounds = [utc_bounds(TimeRange(start=day, end=day), tz) for day in days]
    session.execute(
        text("DELETE FROM store_daily WHERE workspace_id = :ws AND day = ANY(:days)"),
        {"ws": workspace_id, "days": days},
    )
    session.execute(
        text(_REFRESH_STORE),
        {
            "ws": workspace_id,
            "days": days,
            "los": [lo for lo, _ in bounds],
            "his": [hi for _, hi in bounds],
        },
    )


def rebuild(session: Session, workspace_id: int) -> None:
    """Every rollup again (after the workspace's time zone changed)."""
    tz = workspace_timezone(session, workspace_id)
    params = {"ws": workspace_id, "tz": tz}
    session.execute(text("DELETE FROM metric_daily WHERE workspace_id = :ws"), params)
    session.execute(
        text(f"""
        INSERT INTO metric_daily (workspace_id, day, entity_id, {_COLUMNS})
        SELECT workspace_id, (bucket_start AT TIME ZONE :tz)::date, entity_id, {_SUMS}
        FROM metric_snapshots WHERE workspace_id = :ws
        GROUP BY workspace_id, (bucket_start AT TIME ZONE :tz)::date, entity_id
        HAVING {_NONZERO}"""),
        params,
    )
    connections = list(
        session.scalars(text("SELECT id FROM connections WHERE workspace_id = :ws"), params)
    )
    _refresh_coarse(session, workspace_id, connections, date.min, date.max)
    rebuild_store(session, workspace_id)


def rebuild_store(session: Session, workspace_id: int) -> None:
    """store_daily again, every day the workspace's Shopify rows feed (after the zone or the
    way store sums are counted changed)."""
    tz = workspace_timezone(session, workspace_id)
    params = {"ws": workspace_id}
    first, last = session.execute(
        text("""
        SELECT min(at), max(at) FROM (
            SELECT min(processed_at) AS at FROM shopify_orders WHERE workspace_id = :ws
            UNION ALL SELECT max(processed_at) FROM shopify_orders WHERE workspace_id = :ws
            UNION ALL SELECT max(cancelled_at) FROM shopify_orders WHERE workspace_id = :ws
            UNION ALL SELECT min(created_at) FROM shopify_refunds WHERE workspace_id = :ws
            UNION ALL SELECT max(created_at) FROM shopify_refunds WHERE workspace_id = :ws
            UNION ALL SELECT min(first_order_at) FROM shopify_customers WHERE workspace_id = :ws
            UNION ALL SELECT max(first_order_at) FROM shopify_customers WHERE workspace_id = :ws
        ) AS bounds"""),
        params,
    ).one()
    session.execute(text("DELETE FROM store_daily WHERE workspace_id = :ws"), params)
    if first is not None:
        zone = ZoneInfo(tz)
        start, end = first.astimezone(zone).date(), last.astimezone(zone).date()
        refresh_store(
            session,
            workspace_id,
            (start + timedelta(days=i) for i in range((end - start).days + 1)),
            tz,
        )
