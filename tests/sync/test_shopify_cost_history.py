"""Variant cost history: the product sync keeps each change of a variant's unit cost, from the
product's updatedAt on, and an order line stored later (a backfilled order) takes the cost of
its order's time where the history knows it, Shopify's current cost otherwise."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from metricx.connectors.records import LineItemRecord, OrderRecord, ProductRecord, VariantRecord
from metricx.db import new_session, transaction
from metricx.models import (
    ShopifyOrder,
    ShopifyOrderLine,
    ShopifyProduct,
    ShopifyVariant,
    ShopifyVariantCost,
)
from metricx.sync import shopify

T1 = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)
T2 = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)


def _product(updated_at: datetime, costs: dict[str, str | None]) -> ProductRecord:
    return ProductRecord(
        "gid://shopify/Product/1",
        "Parka",
        "ACTIVE",
        None,
        None,
        T1 - timedelta(days=90),
        updated_at,
        tuple(
            VariantRecord(
                variant,
                "gid://shopify/Product/1",
                variant,
                None,
                Decimal("99"),
                Decimal(cost) if cost else None,
            )
            for variant, cost in costs.items()
        ),
    )


def _history() -> dict[str, list[tuple[datetime, Decimal]]]:
    with new_session() as session:
        rows = session.execute(
            select(
                ShopifyVariant.external_id,
                ShopifyVariantCost.valid_from,
                ShopifyVariantCost.unit_cost,
            )
            .join(ShopifyVariant, ShopifyVariant.id == ShopifyVariantCost.variant_id)
            .order_by(ShopifyVariantCost.valid_from)
        )
        history: dict[str, list[tuple[datetime, Decimal]]] = {}
        for variant, valid_from, cost in rows:
            history.setdefault(variant, []).append((valid_from, cost))
    return history


def _order(number: int, processed_at: datetime, current_cost: str) -> OrderRecord:
    """An order of two units of variant V1, Shopify's unitCost being the current one."""
    line = LineItemRecord(
        "L1", 2, None, Decimal("99"), "V1", "gid://shopify/Product/1", Decimal(current_cost)
    )
    return OrderRecord(
        external_id=f"gid://shopify/Order/{number}",
        name=f"#{number}",
        currency="USD",
        created_at=processed_at,
        processed_at=processed_at,
        updated_at=T2 + timedelta(days=30),
        cancelled_at=None,
        test=False,
        customer_id=None,
        gross=Decimal("198"),
        discounts=Decimal(0),
        shipping=Decimal(0),
        tax=Decimal(0),
        refunded=Decimal(0),
        total=Decimal("198"),
        line_items=(line,),
        refunds=(),
        journey=None,
    )


def _costed(number: int) -> tuple[Decimal | None, Decimal]:
    """(the stored line's unit cost, the order's COGS)."""
    with new_session() as session:
        row = session.execute(
            select(ShopifyOrderLine.unit_cost, ShopifyOrder.cogs)
            .join(ShopifyOrder, ShopifyOrder.id == ShopifyOrderLine.order_id)
            .where(ShopifyOrder.external_id == f"gid://shopify/Order/{number}")
        ).one()
    return row[0], row[1]


def test_a_cost_change_between_two_product_syncs_gives_two_history_rows(shop) -> None:
    # Given a product synced with V1 at 10.00 and V2 without a cost
    shopify.write_products(shop, [_product(T1, {"V1": "10.00", "V2": None})])
    assert _history() == {"V1": [(T1, Decimal("10.00"))]}
    # When it is read again unchanged (an overlapping sync), then again after V1 went to 12.00
    # and V2 got a cost
    shopify.write_products(shop, [_product(T1, {"V1": "10.00", "V2": None})])
    shopify.write_products(shop, [_product(T2, {"V1": "12.00", "V2": "5.00"})])
    # Then each change is kept from the product's updatedAt on, and nothing else
    assert _history() == {
        "V1": [(T1, Decimal("10.00")), (T2, Decimal("12.00"))],
        "V2": [(T2, Decimal("5.00"))],
    }
    # And a cost that goes unknown adds nothing, nor does coming back to the latest
    shopify.write_products(shop, [_product(T2 + timedelta(days=1), {"V1": None, "V2": "5.00"})])
    shopify.write_products(shop, [_product(T2 + timedelta(days=2), {"V1": "12.00"})])
    assert len(_history()["V1"]) == 2


def test_a_later_backfilled_old_order_takes_the_cost_of_its_time(shop) -> None:
    # Given V1's history: 10.00 from T1, 12.00 from T2 (Shopify's current cost)
    shopify.write_products(shop, [_product(T1, {"V1": "10.00"})])
    shopify.write_products(shop, [_product(T2, {"V1": "12.00"})])
    # When orders are backfilled: between the two costs, after the last, before the first
    shopify.write_orders(
        shop,
        [
            _order(1, T1 + timedelta(days=3), current_cost="12.00"),
            _order(2, T2 + timedelta(days=3), current_cost="12.00"),
            _order(3, T1 - timedelta(days=3), current_cost="12.00"),
        ],
    )
    # Then the one the history covers takes the cost of its time, in its COGS too
    assert _costed(1) == (Decimal("10.00"), Decimal("20.00"))
    # ... and the others Shopify's current cost (the history knows nothing older, and from
    # its latest entry on the current cost is the fresher word)
    assert _costed(2) == (Decimal("12.00"), Decimal("24.00"))
    assert _costed(3) == (Decimal("12.00"), Decimal("24.00"))
    # And a line already stored keeps its cost when its order is read again
    shopify.write_products(shop, [_product(T2 + timedelta(days=9), {"V1": "15.00"})])
    shopify.write_orders(shop, [_order(2, T2 + timedelta(days=3), current_cost="15.00")])
    assert _costed(2) == (Decimal("12.00"), Decimal("24.00"))


def test_a_cost_seen_changed_while_updated_at_stood_still_follows_the_latest(shop) -> None:
    # Given V1 at 10.00 from T1
    shopify.write_products(shop, [_product(T1, {"V1": "10.00"})])
    # When a re-read shows another cost under the same updatedAt
    shopify.write_products(shop, [_product(T1, {"V1": "11.00"})])
    # Then it is kept right after the latest entry (history never goes back in time)
    assert _history() == {
        "V1": [(T1, Decimal("10.00")), (T1 + timedelta(microseconds=1), Decimal("11.00"))]
    }


# What each product sync sees: days after T1 that its updatedAt moved (0: it did not) and
# V1's cost in cents (None: unknown).
syncs = st.lists(
    st.tuples(st.integers(0, 3), st.none() | st.sampled_from([900, 1000, 1250])),
    min_size=1,
    max_size=8,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seen=syncs, placed_days=st.integers(-2, 30))
def test_history_is_the_changes_seen_and_a_new_line_is_costed_from_it(
    shop, seen, placed_days
) -> None:
    with transaction() as session:
        session.execute(delete(ShopifyProduct))
        session.execute(delete(ShopifyOrder))
    # Given product syncs seeing V1's cost come, change, vanish and come back
    updated_at = T1
    for moved, cents in seen:
        updated_at += timedelta(days=moved)
        cost = str(Decimal(cents) / 100) if cents is not None else None
        shopify.write_products(shop, [_product(updated_at, {"V1": cost})])
    # Then the history holds each known cost that differs from the one before it, in order
    changes: list[Decimal] = []
    for _, cents in seen:
        if cents is not None and (not changes or changes[-1] != Decimal(cents) / 100):
            changes.append(Decimal(cents) / 100)
    history = _history().get("V1", [])
    assert [cost for _, cost in history] == changes
    starts = [valid_from for valid_from, _ in history]
    assert starts == sorted(set(starts))
    # When an order is backfilled at any time, with Shopify's current cost 20.00
    placed = T1 + timedelta(days=placed_days, hours=1)
    shopify.write_orders(shop, [_order(1, placed, current_cost="20.00")])
    # Then its line takes the history's cost of its time when a later entry closes it,
    # else the current cost
    closed = [cost for start, end, cost in _spans(history) if start <= placed < end]
    assert _costed(1)[0] == (closed[0] if closed else Decimal("20.00"))


def _spans(
    history: list[tuple[datetime, Decimal]],
) -> list[tuple[datetime, datetime, Decimal]]:
    """(from, until, cost) of each entry but the latest."""
    return [(start, end, cost) for (start, cost), (end, _) in pairwise(history)]
