"""COGS at the cost of the day: Shopify's unitCost is the variant's CURRENT cost, so a line keeps
the unit cost it had when first stored, whatever the product's cost becomes later."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sandbox_fixtures import NOW
from sqlalchemy import select

from metricx.connectors.records import LineItemRecord, OrderRecord, ShopInfo
from metricx.db import new_session
from metricx.models import ShopifyOrder, ShopifyOrderLine, StoreDaily
from metricx.sync import shopify
from metricx.sync.pipeline import sync_connection

PLACED = datetime(2026, 10, 5, 15, 0, tzinfo=UTC)


def _order(updated_minutes: int, costs: dict[str, str], refunded: str = "0") -> OrderRecord:
    lines = tuple(
        LineItemRecord(
            line,
            2,
            f"SKU-{line}",
            Decimal("30"),
            f"v-{line}",
            "p-1",
            Decimal(cost) if cost else None,
        )
        for line, cost in costs.items()
    )
    return OrderRecord(
        external_id="gid://shopify/Order/1",
        name="#1001",
        currency="USD",
        created_at=PLACED,
        processed_at=PLACED,
        updated_at=PLACED + timedelta(minutes=updated_minutes),
        cancelled_at=None,
        test=False,
        customer_id=None,
        gross=Decimal(60 * len(lines)),
        discounts=Decimal(0),
        shipping=Decimal(0),
        tax=Decimal(0),
        refunded=Decimal(refunded),
        total=Decimal(60 * len(lines)),
        line_items=lines,
        refunds=(),
        journey=None,
    )


def _stored(shop_id: int) -> tuple[dict[str, Decimal | None], Decimal, Decimal]:
    """(line unit costs, the order's COGS, the store rollup's COGS)."""
    with new_session() as session:
        lines = dict(
            session.execute(select(ShopifyOrderLine.external_id, ShopifyOrderLine.unit_cost)).all()
        )
        cogs = session.scalar(select(ShopifyOrder.cogs).where(ShopifyOrder.shop_id == shop_id))
        rollup = session.scalar(select(StoreDaily.cogs))
    return lines, cogs, rollup


@pytest.fixture
def shop(workspace, admin):
    from metricx.services.connections import add_connection

    connection = add_connection(admin, "shopify", "acme.myshopify.com", "tok")
    return shopify.upsert_shop(
        workspace.id,
        connection.id,
        ShopInfo("acme.myshopify.com", "Acme", "USD", "America/New_York"),
    )


def test_an_updated_order_keeps_the_unit_cost_it_was_first_stored_with(shop) -> None:
    # Given an order synced while its variant cost 12.00 (COGS 2 x 12)
    shopify.write_orders(shop, [_order(0, {"L1": "12.00"})])
    assert _stored(shop.id) == ({"L1": Decimal("12.00")}, Decimal("24.00"), Decimal("24.00"))
    # When the variant now costs 15.00 and the order is updated (a refund), then synced again
    shopify.write_orders(shop, [_order(90, {"L1": "15.00"}, refunded="10")])
    # Then the line keeps its first cost, and neither the order's COGS nor the rollup moved
    assert _stored(shop.id) == ({"L1": Decimal("12.00")}, Decimal("24.00"), Decimal("24.00"))


def test_a_line_first_seen_without_a_cost_takes_the_first_cost_that_appears(shop) -> None:
    # Given a line stored before the merchant entered any cost, and a second line with one
    shopify.write_orders(shop, [_order(0, {"L1": "", "L2": "5.00"})])
    # When costs appear and change and the order is synced again with a line added
    shopify.write_orders(shop, [_order(60, {"L1": "7.00", "L2": "9.00", "L3": "4.00"})])
    # Then the uncosted line takes the first cost seen, the costed one keeps its own
    lines, cogs, _ = _stored(shop.id)
    assert lines == {"L1": Decimal("7.00"), "L2": Decimal("5.00"), "L3": Decimal("4.00")}
    assert cogs == 2 * (Decimal("7.00") + Decimal("5.00") + Decimal("4.00"))


@pytest.fixture
def shop_fake(fakes) -> Iterator[object]:
    fake = fakes.shopify
    fake.unit_costs.clear()
    fake.bucket.reset()
    yield fake
    fake.unit_costs.clear()
    fake.bucket.reset()


def test_a_cost_change_in_the_shop_never_rewrites_old_cogs(fakes, shop_fake, connections) -> None:
    connection = connections["shopify"]
    ws = connection.workspace_id
    # Given the shop synced, with an order that will be refunded in the coming days
    order = next(
        o
        for o in fakes.merchant.shop.orders_until(NOW)
        if o.refunds
        and NOW < o.refunds[0].created_at < NOW + timedelta(days=10)
        and o.lines[0].variant.cost_cents
        and o.cancelled_at is None
    )
    assert sync_connection(ws, connection.id, "shop", now=NOW).status == "success"
    line = order.lines[0]
    before = _line_cost(line.external_id)
    assert before == Decimal(line.variant.cost_cents) / 100
    # When the merchant raises the variant's cost, and the refund brings the order back
    shop_fake.unit_costs[line.variant.external_id] = line.variant.cost_cents + 700
    fakes.now = order.refunds[0].created_at + timedelta(minutes=5)
    assert sync_connection(ws, connection.id, "shop", now=fakes.now).status == "success"
    # Then the order was re-read (its refund is there) but its line kept the first cost
    with new_session() as session:
        refunded = session.scalar(
            select(ShopifyOrder.refunded).where(ShopifyOrder.external_id == order.external_id)
        )
    assert refunded > 0
    assert _line_cost(line.external_id) == before
    # And an order placed after the change is costed at the new cost
    later = next(
        o
        for o in fakes.merchant.shop.orders_until(fakes.now)
        if o.created_at > NOW and any(li.variant == line.variant for li in o.lines)
    )
    new_line = next(li for li in later.lines if li.variant == line.variant)
    assert _line_cost(new_line.external_id) == before + 7


def _line_cost(external_id: str) -> Decimal | None:
    with new_session() as session:
        return session.scalar(
            select(ShopifyOrderLine.unit_cost).where(ShopifyOrderLine.external_id == external_id)
        )
