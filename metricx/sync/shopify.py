"""Shopify into PostgreSQL: shop, products, customers and orders, incrementally by updated_at.

Orders arrive sorted by updated_at; each page is written in one transaction together with
the new high-water mark, the store rollup of the days it touches (store_daily) and the cohort
and product rollups of its customers and orders (metricx.sync.order_rollups), so a crash
loses at most the page in flight and the next run starts where the last committed page
ended. Every write is an upsert on Shopify's ids, so reading an order twice (overlap,
retries) changes nothing. An order line keeps the unit cost it was first stored with: Shopify
only knows a variant's current cost, and a later change must not rewrite past COGS. So the
product sync keeps each variant's cost history (shopify_variant_costs), and a line stored later
(a backfilled order) takes the cost that was valid at its order's time when the history knows
it (`_costs_at_order_time`), else Shopify's current cost.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import islice
from typing import Any, TypeVar, cast

from sqlalchemy import Table, delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from metricx.connectors.records import (
    CustomerRecord,
    LineItemRecord,
    OrderRecord,
    ProductRecord,
    ShopInfo,
    VisitRecord,
)
from metricx.db import transaction
from metricx.models import (
    CustomerJourney,
    ShopifyCustomer,
    ShopifyOrder,
    ShopifyOrderLine,
    ShopifyProduct,
    ShopifyRefund,
    ShopifyRefundLine,
    ShopifyShop,
    ShopifyVariant,
    ShopifyVariantCost,
    Touchpoint,
)
from metricx.sync import order_rollups, rollup
from metricx.sync.bulk import insert_rows, upsert
from metricx.sync.runs import connection_writes

PAGE = 250
# Shopify's updated_at filter has second precision and writes land late: re-read a little.
OVERLAP = timedelta(minutes=2)

T = TypeVar("T")
Progress = Callable[[str, int], None]


def pages(items: Iterable[T], size: int = PAGE) -> Iterator[list[T]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def upsert_shop(workspace_id: int, connection_id: int, info: ShopInfo) -> ShopifyShop:
    with transaction() as session:
        statement = insert(ShopifyShop).values(
            workspace_id=workspace_id,
            connection_id=connection_id,
            domain=info.domain,
            name=info.name,
            currency=info.currency,
            timezone=info.timezone,
        )
        statement = statement.on_conflict_do_update(
            index_elements=["connection_id"],
            set_={c: statement.excluded[c] for c in ("domain", "name", "currency", "timezone")},
        )
        session.execute(statement)
        return session.scalars(
            select(ShopifyShop).where(ShopifyShop.connection_id == connection_id)
        ).one()


def stored_shop(connection_id: int) -> ShopifyShop | None:
    """The shop row of a connection, if it was synced before."""
    with transaction() as session:
        return session.scalar(select(ShopifyShop).where(ShopifyShop.connection_id == connection_id))


def mark_lists_read(shop: ShopifyShop, at: datetime) -> None:
    """Remember when the shop, its products and customers were read."""
    with transaction() as session:
        session.execute(
            update(ShopifyShop).where(ShopifyShop.id == shop.id).values(lists_read_at=at)
        )


def since(mark: datetime | None) -> datetime | None:
    return mark - OVERLAP if mark else None


def _advance(session: Session, shop_id: int, column: str, mark: datetime) -> None:
    """Move a high-water mark forward (never back: an overlapping re-read is older)."""
    current = getattr(ShopifyShop, column)
    session.execute(
        update(ShopifyShop)
        .where(ShopifyShop.id == shop_id)
        .values({column: func.greatest(func.coalesce(current, mark), mark)})
    )


def write_products(shop: ShopifyShop, products: Iterable[ProductRecord]) -> int:
    written = 0
    for page in pages(products):
        with transaction() as session:
            product_ids = dict(
                (external, pk)
                for pk, external in upsert(
                    session,
                    ShopifyProduct,
                    [
                        {
                            "workspace_id": shop.workspace_id,
                            "shop_id": shop.id,
                            "external_id": p.external_id,
                            "title": p.title,
                            "updated_at": p.updated_at,
                        }
                        for p in page
                    ],
                    ["shop_id", "external_id"],
                    returning=(ShopifyProduct.id, ShopifyProduct.external_id),
                )
            )
            variants = upsert(
                session,
                ShopifyVariant,
                [
                    {
                        "workspace_id": shop.workspace_id,
                        "product_id": product_ids[p.external_id],
                        "external_id": v.external_id,
                        "sku": v.sku,
                        "price": v.price,
                        "unit_cost": v.unit_cost,
                    }
                    for p in page
                    for v in p.variants
                ],
                ["product_id", "external_id"],
                returning=(ShopifyVariant.id,),
            )
            _record_cost_changes(session, [variant_id for (variant_id,) in variants])
            _advance(session, shop.id, "products_synced_until", max(p.updated_at for p in page))
        written += len(page)
    return written


def _record_cost_changes(session: Session, variant_ids: list[int]) -> None:
    """Append to the variants' cost history the costs that differ from their latest (none
    for a variant without a cost). A cost is valid from its product's updatedAt, the closest
    Shopify says to when it changed; after the latest entry in any case (a cost seen changed
    while the product's updatedAt stood still)."""
    if variant_ids:
        session.execute(
            text("""
            INSERT INTO shopify_variant_costs (workspace_id, variant_id, valid_from, unit_cost)
            SELECT v.workspace_id, v.id,
                   greatest(coalesce(p.updated_at, now()),
                            latest.valid_from + interval '1 microsecond'),
                   v.unit_cost
            FROM shopify_variants v
            JOIN shopify_products p ON p.id = v.product_id
            LEFT JOIN LATERAL (
                SELECT c.valid_from, c.unit_cost FROM shopify_variant_costs c
                WHERE c.variant_id = v.id ORDER BY c.valid_from DESC LIMIT 1
            ) AS latest ON true
            WHERE v.id = ANY(:ids) AND v.unit_cost IS NOT NULL
              AND (latest.unit_cost IS NULL OR latest.unit_cost <> v.unit_cost)"""),
            {"ids": variant_ids},
        )


def write_customers(shop: ShopifyShop, customers: Iterable[CustomerRecord]) -> int:
    written = 0
    for page in pages(customers):
        with transaction() as session:
            upsert(
                session,
                ShopifyCustomer,
                [
                    {
                        "workspace_id": shop.workspace_id,
                        "shop_id": shop.id,
                        "external_id": c.external_id,
                        "created_at": c.created_at,
                        "updated_at": c.updated_at,
                        "orders_count": c.orders_count,
                    }
                    for c in page
                ],
                ["shop_id", "external_id"],
            )
            _advance(session, shop.id, "customers_synced_until", max(c.updated_at for c in page))
        written += len(page)
    return written


def _customer_ids(session: Session, shop: ShopifyShop, page: list[OrderRecord]) -> dict[str, int]:
    """Ids of the orders' customers, creating a bare row for one not synced yet."""
    wanted = {o.customer_id for o in page if o.customer_id}
    if not wanted:
        return {}
    session.execute(
        # a declarative class's table is a Table (typed as any FROM clause)
        insert(cast(Table, ShopifyCustomer.__table__)).on_conflict_do_nothing(),
        [
            {"workspace_id": shop.workspace_id, "shop_id": shop.id, "external_id": external}
            for external in sorted(wanted)
        ],
    )
    rows = session.execute(
        select(ShopifyCustomer.external_id, ShopifyCustomer.id).where(
            ShopifyCustomer.shop_id == shop.id, ShopifyCustomer.external_id.in_(wanted)
        )
    )
    return {external: pk for external, pk in rows}


def _visit_row(
    journey_id: int, workspace_id: int, kind: str, visit: VisitRecord, fallback_time: datetime
) -> dict[str, Any]:
    return {
        "workspace_id": workspace_id,
        "journey_id": journey_id,
        "source_kind": kind,
        "position": 0,
        "occurred_at": visit.occurred_at or fallback_time,
        "landing_page": visit.landing_page,
        "referrer": visit.referrer,
        "source": visit.source,
        "source_type": visit.source_type,
        "utm_source": visit.utm_source,
        "utm_medium": visit.utm_medium,
        "utm_campaign": visit.utm_campaign,
        "utm_content": visit.utm_content,
        "utm_term": visit.utm_term,
    }


def _first_unit_costs(
    session: Session, shop: ShopifyShop, page: list[OrderRecord]
) -> dict[tuple[str, str], Decimal]:
    """(order, line) external ids -> the unit cost stored when the line was first seen.

    Shopify's unitCost is the variant's CURRENT cost, not the cost when the order was placed
    (reference/external-apis.md): the first cost we saw is the closest to the order's own, and
    a later change of the product's cost must not rewrite the COGS of old orders.
    """
    rows = session.execute(
        select(ShopifyOrder.external_id, ShopifyOrderLine.external_id, ShopifyOrderLine.unit_cost)
        .join(ShopifyOrderLine, ShopifyOrderLine.order_id == ShopifyOrder.id)
        .where(
            ShopifyOrder.shop_id == shop.id,
            ShopifyOrder.external_id.in_([o.external_id for o in page]),
            ShopifyOrderLine.unit_cost.is_not(None),
        )
    )
    # the query keeps only lines with a cost
    return {(order, line): cost for order, line, cost in rows if cost is not None}


def _costs_at_order_time(
    session: Session, shop: ShopifyShop, page: list[OrderRecord]
) -> dict[tuple[str, str], Decimal]:
    """(order, line) external ids -> the variant's cost at the order's time, for the lines
    whose variant's cost history has an entry at or before it and a later one. From the
    latest entry on, Shopify's current cost is the fresher word: the product sync reads a
    product again only when its updatedAt moves, which a cost change may not do."""
    wanted = {li.variant_id for o in page for li in o.line_items if li.variant_id}
    if not wanted:
        return {}
    rows = session.execute(
        select(
            ShopifyVariant.external_id, ShopifyVariantCost.valid_from, ShopifyVariantCost.unit_cost
        )
        .join(ShopifyVariantCost, ShopifyVariantCost.variant_id == ShopifyVariant.id)
        .join(ShopifyProduct, ShopifyProduct.id == ShopifyVariant.product_id)
        .where(ShopifyProduct.shop_id == shop.id, ShopifyVariant.external_id.in_(wanted))
        .order_by(ShopifyVariant.external_id, ShopifyVariantCost.valid_from)
    )
    starts: dict[str, list[datetime]] = defaultdict(list)
    values: dict[str, list[Decimal]] = defaultdict(list)
    for variant, valid_from, cost in rows:
        starts[variant].append(valid_from)
        values[variant].append(cost)
    costs: dict[tuple[str, str], Decimal] = {}
    for o in page:
        at = o.processed_at or o.created_at
        for li in o.line_items:
            variant = li.variant_id or ""
            # the entry valid at the order's time, if one is and it is not the latest
            history = starts.get(variant, [])
            index = bisect_right(history, at)
            if 0 < index < len(history):
                costs[(o.external_id, li.external_id)] = values[variant][index - 1]
    return costs


def _with_unit_costs(
    page: list[OrderRecord], costs: dict[tuple[str, str], Decimal]
) -> list[OrderRecord]:
    """The orders with each line's unit cost taken from `costs` where it has one (else the
    cost Shopify gives now)."""

    def line(order: OrderRecord, li: LineItemRecord) -> LineItemRecord:
        cost = costs.get((order.external_id, li.external_id))
        return li if cost is None else replace(li, unit_cost=cost)

    return [replace(o, line_items=tuple(line(o, li) for li in o.line_items)) for o in page]


def _write_order_page(session: Session, shop: ShopifyShop, page: list[OrderRecord]) -> list[int]:
    """Write one page of orders with their children; returns the customers it touched."""
    # A line stored before keeps its cost; a new one takes the cost of its order's time.
    page = _with_unit_costs(
        page,
        _costs_at_order_time(session, shop, page) | _first_unit_costs(session, shop, page),
    )
    customers = _customer_ids(session, shop, page)
    order_ids = dict(
        (external, pk)
        for pk, external in upsert(
            session,
            ShopifyOrder,
            [
                {
                    "workspace_id": shop.workspace_id,
                    "shop_id": shop.id,
                    "external_id": o.external_id,
                    "name": o.name,
                    "customer_id": customers.get(o.customer_id or ""),
                    "customer_order_index": o.customer_order_index,
                    "created_at": o.created_at,
                    "processed_at": o.processed_at or o.created_at,
                    "updated_at": o.updated_at,
                    "cancelled_at": o.cancelled_at,
                    "test": o.test,
                    "currency": o.currency,
                    "gross_sales": o.gross,
                    "discounts": o.discounts,
                    "shipping": o.shipping,
                    "taxes": o.tax,
                    "refunded": o.refunded,
                    "total_price": o.total,
                    "cogs": order_cogs(o),
                }
                for o in page
            ],
            ["shop_id", "external_id"],
            returning=(ShopifyOrder.id, ShopifyOrder.external_id),
        )
    )
    ids = list(order_ids.values())
    # Children are replaced whole: an order's lines, refunds (with their lines) and journey
    # are as Shopify says now (but for the lines' first unit costs, carried over above).
    # Refunds go first: their lines go with them rather than one order line at a time.
    for child in (ShopifyRefund, ShopifyOrderLine, CustomerJourney):
        session.execute(delete(child).where(child.order_id.in_(ids)))
    lines = [
        {
            "workspace_id": shop.workspace_id,
            "order_id": order_ids[o.external_id],
            "external_id": li.external_id,
            "product_external_id": li.product_id,
            "variant_external_id": li.variant_id,
            "sku": li.sku,
            "quantity": li.quantity,
            "unit_price": li.unit_price,
            "unit_cost": li.unit_cost,
        }
        for o in page
        for li in o.line_items
    ]
    refunds = [
        {
            "workspace_id": shop.workspace_id,
            "order_id": order_ids[o.external_id],
            "external_id": r.external_id,
            "created_at": r.created_at,
            "amount": r.amount,
            "sales": r.refunded_sales,
            "shipping": r.shipping,
            "taxes": r.taxes,
        }
        for o in page
        for r in o.refunds
    ]
    line_ids = {
        (order_id, external): pk
        for order_id, external, pk in insert_rows(
            session,
            ShopifyOrderLine,
            lines,
            returning=(
                ShopifyOrderLine.order_id,
                ShopifyOrderLine.external_id,
                ShopifyOrderLine.id,
            ),
        )
    }
    refund_ids = {
        (order_id, external): pk
        for order_id, external, pk in insert_rows(
            session,
            ShopifyRefund,
            refunds,
            returning=(ShopifyRefund.order_id, ShopifyRefund.external_id, ShopifyRefund.id),
        )
    }
    insert_rows(
        session,
        ShopifyRefundLine,
        _refund_line_rows(shop.workspace_id, page, order_ids, line_ids, refund_ids),
    )
    with_journey = [(o, o.journey) for o in page if o.journey is not None]
    if not with_journey:
        return list(customers.values())
    inserted = insert_rows(
        session,
        CustomerJourney,
        [
            {
                "workspace_id": shop.workspace_id,
                "order_id": order_ids[o.external_id],
                "ready": journey.ready,
                "days_to_conversion": journey.days_to_conversion,
                "customer_order_index": journey.customer_order_index,
            }
            for o, journey in with_journey
        ],
        returning=(CustomerJourney.order_id, CustomerJourney.id),
    )
    journey_ids = {order_id: journey_id for order_id, journey_id in inserted}
    visits = []
    for o, journey in with_journey:
        journey_id = journey_ids[order_ids[o.external_id]]
        for kind, visit in (
            ("first_visit", journey.first_visit),
            ("last_visit", journey.last_visit),
        ):
            if visit is not None:
                visits.append(
                    _visit_row(
                        journey_id, shop.workspace_id, kind, visit, o.processed_at or o.created_at
                    )
                )
    insert_rows(session, Touchpoint, visits)
    return list(customers.values())


def _refund_line_rows(
    workspace_id: int,
    page: list[OrderRecord],
    order_ids: dict[str, int],
    line_ids: dict[tuple[int, str], int],
    refund_ids: dict[tuple[int, str], int],
) -> list[dict[str, Any]]:
    """One row per refund and order line it gave back (several refund lines of one order line,
    restocked at different locations, add up; a line the order does not list has line_id
    None)."""
    given_back: dict[tuple[int, int | None], tuple[int, Decimal]] = {}
    for o in page:
        order_id = order_ids[o.external_id]
        for r in o.refunds:
            refund_id = refund_ids[(order_id, r.external_id)]
            for rl in r.lines:
                key = (refund_id, line_ids.get((order_id, rl.line_external_id)))
                quantity, subtotal = given_back.get(key, (0, Decimal(0)))
                given_back[key] = (quantity + rl.quantity, subtotal + rl.subtotal)
    return [
        {
            "workspace_id": workspace_id,
            "refund_id": refund_id,
            "line_id": line_id,
            "quantity": quantity,
            "subtotal": subtotal,
        }
        for (refund_id, line_id), (quantity, subtotal) in given_back.items()
    ]


def order_cogs(order: OrderRecord) -> Decimal:
    """Σ unit cost × quantity (a line whose variant has no cost counts 0: we never invent)."""
    return sum((li.unit_cost * li.quantity for li in order.line_items if li.unit_cost), Decimal(0))


def _first_orders(session: Session, customer_ids: list[int]) -> None:
    """Each customer's first real order, which "new customers" counts (none once every
    order of theirs is cancelled or has moved to another customer)."""
    if customer_ids:
        session.execute(
            text("""
            UPDATE shopify_customers c SET first_order_at = (
                SELECT min(processed_at) FROM shopify_orders o
                WHERE o.customer_id = c.id AND NOT o.test AND o.cancelled_at IS NULL)
            WHERE c.id = ANY(:ids)"""),
            {"ids": customer_ids},
        )


def write_orders(
    shop: ShopifyShop, orders: Iterable[OrderRecord], progress: Progress | None = None
) -> int:
    written = 0
    for page in pages(orders):
        # Children and the store rollup are replaced per page: one writer per shop at a time.
        with connection_writes(shop.connection_id) as session:
            tz = rollup.workspace_timezone(session, shop.workspace_id)
            keys = (
                [o.external_id for o in page],
                sorted({o.customer_id for o in page if o.customer_id}),
            )
            days = rollup.store_days(session, shop.id, *keys, tz)
            with order_rollups.rewriting_shop_rows(
                session, shop.workspace_id, shop.id, *keys
            ) as owners:
                # the orders' customers now, and before (an order may change customer)
                customers = _write_order_page(session, shop, page)
                _first_orders(session, sorted({*customers, *owners}))
            rollup.refresh_store(
                session,
                shop.workspace_id,
                days | rollup.store_days(session, shop.id, *keys, tz, owners),
                tz,
            )
            _advance(session, shop.id, "orders_synced_until", max(o.updated_at for o in page))
        written += len(page)
        if progress:
            progress("orders", written)
    return written
