"""Compute and store `attributions`: every model × window × mode for a set of orders.

An order's rows are replaced whole in one transaction (delete, then COPY), so a rerun, a retry
or a crash half-way never leaves an order credited twice. Orders are processed in chunks;
each chunk commits on its own.

When is an order (re)attributed?
- nightly, every order (`attribute_workspace`): entities synced since, a renamed campaign or a
  changed UTM convention can change what a touch maps to;
- after each Shopify sync, the orders that need it (`attribute_new_orders`): the sync
  replaces an updated order's journey, and deleting its touchpoints cascades to its
  attributions, so "has touchpoints but no attributions" is exactly "new or changed";
  plus orders whose pixel purchase arrived recently.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

import psycopg
from sqlalchemy import ColumnElement, ScalarSelect, delete, exists, false, func, select
from sqlalchemy.orm import Session

from metricx.attribution import journeys
from metricx.attribution.models import MODELS, MODES, WINDOWS, credits
from metricx.attribution.utm import EntityIndex
from metricx.db import new_session, transaction
from metricx.models import (
    Attribution,
    CustomerJourney,
    PixelEvent,
    ShopifyOrder,
    ShopifyRefund,
    Touchpoint,
    Workspace,
)
from metricx.sync import order_rollups

CHUNK = 1000
LOCK_NAMESPACE = 7001  # pg_advisory_xact_lock(namespace, workspace id): attribution writers
PIXEL_LOOKBACK = timedelta(days=2)
_COLUMNS = (
    "workspace_id",
    "order_id",
    "touchpoint_id",
    "entity_id",
    "model",
    "window_days",
    "mode",
    "credited_at",
    "credit",
    "revenue",
)
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class AttributionRun:
    orders: int
    rows: int


def order_returns_sql() -> ScalarSelect[Any]:
    """What an order's refunds so far gave back, tax apart: the goods and the shipping (the
    amounts store revenue leaves out; metricx.sync.rollup counts them the same way)."""
    return (
        select(func.coalesce(func.sum(ShopifyRefund.sales + ShopifyRefund.shipping), 0))
        .where(ShopifyRefund.order_id == ShopifyOrder.id)
        .scalar_subquery()
    )


def order_revenue_sql() -> ColumnElement[Any]:
    """What the business kept from an order: net sales (after its refunds) + shipping kept."""
    return (
        ShopifyOrder.gross_sales
        - ShopifyOrder.discounts
        + ShopifyOrder.shipping
        - order_returns_sql()
    )


def live_orders() -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """Orders that count (docs/design.md: not cancelled, not test)."""
    return (ShopifyOrder.cancelled_at.is_(None), ShopifyOrder.test.is_(false()))


def _rows(
    workspace_id: int, order: ShopifyOrder, revenue: Decimal, touches: list[journeys.OrderTouch]
) -> Iterator[tuple]:
    by_key = {t.touchpoint_id: t for t in touches}
    model_touches = journeys.as_model_touches(touches)
    for model in MODELS:
        for window in WINDOWS:
            for touch, credit in credits(model, model_touches, order.processed_at, window):
                source = by_key[touch.key]
                for mode in MODES:
                    credited_at = order.processed_at if mode == "cash" else source.at
                    yield (
                        workspace_id,
                        order.id,
                        source.touchpoint_id,
                        source.entity_id,
                        model,
                        window,
                        mode,
                        credited_at,
                        credit,
                        revenue * credit,
                    )


def _copy(session: Session, rows: Iterator[tuple]) -> int:
    raw = cast("psycopg.Connection[Any]", session.connection().connection.driver_connection)
    count = 0
    with (
        raw.cursor() as cursor,
        cursor.copy(f"COPY attributions ({', '.join(_COLUMNS)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def _attribute_chunk(
    session: Session, workspace_id: int, order_ids: list[int], index: EntityIndex
) -> int:
    # One writer per workspace at a time: two runs deleting then copying the same orders
    # concurrently would each see nothing to delete.
    session.execute(select(func.pg_advisory_xact_lock(LOCK_NAMESPACE, workspace_id)))
    found = session.execute(
        select(ShopifyOrder, order_revenue_sql()).where(
            ShopifyOrder.workspace_id == workspace_id,
            ShopifyOrder.id.in_(order_ids),
            *live_orders(),
        )
    ).all()
    live = [order for order, _ in found]
    revenue = {order.id: amount for order, amount in found}
    journeys.add_pixel_touches(session, workspace_id, live)
    journeys.classify_touchpoints(session, workspace_id, [o.id for o in live], index)
    touches = journeys.touches_of(session, workspace_id, [o.id for o in live])
    # The product rollup's credited revenue follows the orders' attributions.
    with order_rollups.rewriting(session, workspace_id, [], order_ids):
        session.execute(
            delete(Attribution).where(
                Attribution.workspace_id == workspace_id, Attribution.order_id.in_(order_ids)
            )
        )
        return _copy(
            session,
            (
                row
                for order in live
                for row in _rows(workspace_id, order, revenue[order.id], touches.get(order.id, []))
            ),
        )


def attribute_orders(
    workspace_id: int, order_ids: list[int], progress: Progress | None = None
) -> AttributionRun:
    """(Re)compute the attributions of these orders of one workspace."""
    with new_session() as session:
        utm_match = session.scalar(select(Workspace.utm_match).where(Workspace.id == workspace_id))
        index = EntityIndex.load(session, workspace_id, utm_match or "id_or_name")
    rows = 0
    for start in range(0, len(order_ids), CHUNK):
        with transaction() as session:
            rows += _attribute_chunk(session, workspace_id, order_ids[start : start + CHUNK], index)
        if progress:
            progress(min(start + CHUNK, len(order_ids)), len(order_ids))
    return AttributionRun(len(order_ids), rows)


def attribute_workspace(workspace_id: int, progress: Progress | None = None) -> AttributionRun:
    """Every order of the workspace (the nightly recomputation)."""
    with new_session() as session:
        ids = list(
            session.scalars(
                select(ShopifyOrder.id)
                .where(ShopifyOrder.workspace_id == workspace_id, *live_orders())
                .order_by(ShopifyOrder.processed_at, ShopifyOrder.id)
            )
        )
    return attribute_orders(workspace_id, ids, progress)


def orders_to_attribute(workspace_id: int, now: datetime | None = None) -> list[int]:
    """New or changed orders: touchpoints but no attributions, or a recent pixel purchase."""
    since = (now or datetime.now(UTC)) - PIXEL_LOOKBACK
    touched = exists().where(
        CustomerJourney.order_id == ShopifyOrder.id, Touchpoint.journey_id == CustomerJourney.id
    )
    credited = exists().where(Attribution.order_id == ShopifyOrder.id)
    pixel_bought = exists().where(
        PixelEvent.workspace_id == workspace_id,
        PixelEvent.event == "purchase",
        PixelEvent.received_at >= since,
        PixelEvent.order_external_id.in_(journeys.pixel_order_keys()),
    )
    with new_session() as session:
        return list(
            session.scalars(
                select(ShopifyOrder.id)
                .where(
                    ShopifyOrder.workspace_id == workspace_id,
                    *live_orders(),
                    (touched & ~credited) | pixel_bought,
                )
                .order_by(ShopifyOrder.id)
            )
        )


def attribute_new_orders(workspace_id: int, progress: Progress | None = None) -> AttributionRun:
    return attribute_orders(workspace_id, orders_to_attribute(workspace_id), progress)
