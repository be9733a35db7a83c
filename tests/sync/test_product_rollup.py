"""The product rollups as a property: whatever pages of orders the Shopify sync writes (new
orders, the same orders rewritten with other lines, times, customers, discounts, refunds and
cancellations, a page written twice as a retry does, test orders) and however the orders'
attributions are rewritten, the rollups kept by difference equal the rollups built from
scratch (`rebuild`), table for table, and the product engine reading them answers what it
answers from the orders themselves, for every level, with spend allocated.

The orders are random; the writes are the real ones (metricx.sync.shopify.write_orders, and
the attribution job's wrapping, metricx.sync.order_rollups.rewriting).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from unittest import mock
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from store_seed import (
    ORIGIN,
    Timeline,
    add_campaigns,
    add_products,
    add_rates,
    add_shop,
    clear_store,
    write_orders,
)

from metricx.connectors.records import (
    LineItemRecord,
    OrderRecord,
    RefundLineRecord,
    RefundRecord,
)
from metricx.db import get_reader, new_session, transaction
from metricx.semantic import families, products
from metricx.semantic.fetch import scope_and_costs
from metricx.semantic.query import SemanticQuery
from metricx.sync import order_rollups, product_rollup

ZONE = ZoneInfo("America/New_York")
FIRST = ORIGIN.astimezone(ZONE).date()
LAST = FIRST + timedelta(days=9)
TABLES = ("product_daily", "product_credit_daily")
#: (product id, title, variants: (variant id, sku, unit cost)); "p9" is sold, never listed
CATALOGUE = (
    ("p1", "Linen Shirt", (("v1", "LS-S", Decimal(12)), ("v2", "LS-M", Decimal(13)))),
    ("p2", "Wool Socks", (("v3", "WS-1", Decimal("2.5")),)),
)
#: What a line may sell: (product, variant, sku). Lines of no product are
#: tests/semantic/test_products.py's: an order with lines of two products the catalogue
#: lacks is counted twice under "(no product)" (ProductDaily).
SELLABLE = (
    ("p1", "v1", "LS-S"),
    ("p1", "v2", "LS-M"),
    ("p1", "v1", "LS-S"),  # the same variant twice in one order
    ("p2", "v3", "WS-1"),
    ("p9", "v9", ""),
)
CAMPAIGNS = ("shirts", "socks", "idle")


@dataclass(frozen=True)
class Refund:
    after_hours: int
    lines: tuple[tuple[int, int], ...]  # (line index, subtotal cents); index -1: unlisted
    adjustment: int  # cents


@dataclass(frozen=True)
class Order(Timeline):
    number: int
    placed_hour: int
    currency: str
    customer: int | None
    lines: tuple[tuple[int, int, int], ...]  # (sellable, quantity, price in cents)
    discount: int
    test: bool
    cancelled_after: int | None
    refunds: tuple[Refund, ...]


@st.composite
def orders(draw: st.DrawFn) -> Order:
    lines = draw(
        st.lists(
            st.tuples(
                st.integers(0, len(SELLABLE) - 1),
                st.integers(1, 3),
                st.sampled_from([0, 999, 2500, 4100]),
            ),
            max_size=3,
        )
    )
    gross = sum(quantity * price for _, quantity, price in lines)
    refunds = st.builds(
        Refund,
        st.integers(1, 72),
        st.lists(
            st.tuples(st.integers(-1, len(lines) - 1), st.integers(0, 3_000)),
            max_size=2,
            unique_by=lambda pair: pair[0],
        ).map(tuple),
        st.integers(-300, 300),
    )
    return Order(
        draw(st.integers(0, 5)),
        draw(st.integers(0, 8 * 24)),
        draw(st.sampled_from(["USD", "USD", "EUR"])),
        draw(st.one_of(st.none(), st.integers(1, 3))),
        tuple(lines),
        draw(st.integers(0, gross)),
        draw(st.integers(0, 9)) == 0,
        draw(st.one_of(st.none(), st.none(), st.integers(1, 48))),
        tuple(draw(st.lists(refunds, max_size=2))),
    )


def cents(amount: int) -> Decimal:
    return Decimal(amount) / 100


def record(order: Order, written: int) -> OrderRecord:
    """The order as the Shopify connector hands it to the sync, `written` seconds late."""
    refunds = tuple(
        RefundRecord(
            f"r{order.number}-{i}",
            order.refunded(r),
            cents(sum(s for _, s in r.lines) + r.adjustment),
            sales=cents(sum(s for _, s in r.lines) + r.adjustment),
            lines=tuple(
                RefundLineRecord(f"l{order.number}-{at}" if at >= 0 else "gone", 1, cents(s))
                for at, s in r.lines
            ),
        )
        for i, r in enumerate(order.refunds)
    )
    gross = sum(quantity * price for _, quantity, price in order.lines)
    return OrderRecord(
        external_id=str(order.number),
        name=f"#{order.number}",
        currency=order.currency,
        created_at=order.placed,
        processed_at=order.placed,
        updated_at=ORIGIN + timedelta(days=30, seconds=written),
        cancelled_at=order.cancelled,
        test=order.test,
        customer_id=None if order.customer is None else f"c{order.customer}",
        gross=cents(gross),
        discounts=cents(order.discount),
        shipping=Decimal(0),
        tax=Decimal(0),
        refunded=Decimal(0),
        total=cents(gross - order.discount),
        line_items=tuple(
            LineItemRecord(
                f"l{order.number}-{i}",
                quantity,
                SELLABLE[sellable][2],
                cents(price),
                SELLABLE[sellable][1],
                SELLABLE[sellable][0],
                None,
            )
            for i, (sellable, quantity, price) in enumerate(order.lines)
        ),
        refunds=refunds,
        journey=None,
    )


#: New credits of some orders (by number): (campaign, level credited, percent) each.
CREDITS = st.tuples(
    st.just("credit"),
    st.lists(st.integers(0, 5), min_size=1, max_size=3, unique=True),
    st.sampled_from(
        [(), (("shirts", "ad", 100),), (("socks", "adset", 50), ("shirts", "campaign", 50))]
    ),
    st.sampled_from(["last_click", "first_click"]),
)
ACTIONS = st.one_of(
    st.tuples(st.just("page"), st.lists(orders(), min_size=1, max_size=5)),
    st.tuples(st.just("retry"), st.lists(orders(), min_size=1, max_size=3)),
    CREDITS,
)


def rewrite_credits(workspace_id: int, tree: dict, action: tuple) -> None:
    """The attributions of these orders replaced, as the attribution job replaces them."""
    _, numbers, credits, model = action
    with transaction() as session:
        found = session.execute(
            text(
                "SELECT id, processed_at, gross_sales - discounts FROM shopify_orders"
                " WHERE workspace_id = :ws AND external_id = ANY(:numbers)"
            ),
            {"ws": workspace_id, "numbers": [str(n) for n in numbers]},
        ).all()
        ids = [order_id for order_id, *_ in found]
        with order_rollups.rewriting(session, workspace_id, [], ids):
            session.execute(
                text("DELETE FROM attributions WHERE order_id = ANY(:ids) AND model = :model"),
                {"ids": ids, "model": model},
            )
            for order_id, at, revenue in found:
                for campaign, level, percent in credits:
                    session.execute(
                        text("""
                        INSERT INTO attributions (workspace_id, order_id, entity_id, model,
                            window_days, mode, credited_at, credit, revenue)
                        VALUES (:ws, :order, :entity, :model, 28, 'cash', :at, :credit,
                            :revenue)"""),
                        {
                            "ws": workspace_id,
                            "order": order_id,
                            "entity": tree[campaign][level],
                            "model": model,
                            "at": at,
                            "credit": Decimal(percent) / 100,
                            "revenue": revenue * percent / 100,
                        },
                    )


def recredit(workspace_id: int, numbers: list[int]) -> None:
    """Rewritten orders credited again on their processed time, as the attribution job
    credits them in cash mode (their credits kept)."""
    with transaction() as session:
        ids = session.scalars(
            text(
                "SELECT id FROM shopify_orders WHERE workspace_id = :ws"
                " AND external_id = ANY(:numbers)"
            ),
            {"ws": workspace_id, "numbers": [str(n) for n in numbers]},
        ).all()
        with order_rollups.rewriting(session, workspace_id, [], ids):
            session.execute(
                text("""
                UPDATE attributions a SET credited_at = o.processed_at FROM shopify_orders o
                WHERE o.id = a.order_id AND a.order_id = ANY(:ids)"""),
                {"ids": list(ids)},
            )


def rollup_rows(workspace_id: int, rebuilt: bool = False) -> dict[str, list]:
    """Both rollups' rows of the workspace, as kept or (`rebuilt`) as `rebuild` makes them
    (rolled back after)."""
    with new_session() as session:
        if rebuilt:
            product_rollup.rebuild(session, workspace_id)
        rows = {
            table: session.execute(
                text(f"SELECT * FROM {table} WHERE workspace_id = :ws"),
                {"ws": workspace_id},
            ).all()
            for table in TABLES
        }
        session.rollback()
    return {table: sorted(found, key=repr) for table, found in rows.items()}


def answer(workspace_id: int, query: dict[str, Any], from_rollups: bool) -> Any:
    """The product engine's answer, read from the rollups or from the orders themselves."""
    parsed = SemanticQuery.parse(query)
    with (
        mock.patch.object(products.Shape, "rolled_up", from_rollups),
        get_reader().connect() as conn,
    ):
        scope, costs = scope_and_costs(conn, workspace_id)
        return products.run(conn, workspace_id, parsed, scope, costs)


@pytest.fixture
def store(workspace):
    """Acme's shop (euros at a rate per day), its catalogue, and campaigns spending daily."""
    shop = add_shop(workspace.id)
    add_products(shop, CATALOGUE)
    add_rates(
        workspace.id, FIRST - timedelta(days=2), LAST + timedelta(days=9), eur_rate, "EUR", "USD"
    )
    tree = add_campaigns(
        workspace.id, {c: Decimal(25) for c in CAMPAIGNS}, FIRST, LAST + timedelta(days=5), ZONE
    )
    return shop, tree


def eur_rate(day: date) -> Decimal:
    return Decimal("1.1") + Decimal(day.toordinal() % 7) / 100


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(actions=st.lists(ACTIONS, min_size=1, max_size=6))
def test_the_product_rollups_kept_by_difference_equal_them_rebuilt(store, actions):
    # Given a shop whose orders and rollups start empty
    shop, tree = store
    clear_store()
    for step, action in enumerate(actions):
        # When a page of orders is written (twice for a retry), or credits are rewritten
        if action[0] == "credit":
            rewrite_credits(shop.workspace_id, tree, action)
        else:
            page = {o.number: o for o in action[1]}.values()  # one order once a page
            for _ in range(2 if action[0] == "retry" else 1):
                write_orders(shop, [record(o, step) for o in page])
            recredit(shop.workspace_id, [o.number for o in page])
        # Then the rollups equal the rollups built again from the rows, row for row
        assert rollup_rows(shop.workspace_id) == rollup_rows(shop.workspace_id, rebuilt=True)
    # And every level's products, with spend allocated, read from the rollups are the
    # products counted from the orders, over days they fill partly and wholly
    for level in products.KEY_COLUMNS:
        for span in ((FIRST, LAST), (FIRST + timedelta(days=2), FIRST + timedelta(days=4))):
            query = {
                "metrics": list(families.PRODUCT_METRICS),
                "dimensions": [level],
                "time_range": {"start": str(span[0]), "end": str(span[1])},
                "grain": "week" if level == "variant" else None,
            }
            rolled = answer(shop.workspace_id, query, from_rollups=True)
            counted = answer(shop.workspace_id, query, from_rollups=False)
            pd.testing.assert_frame_equal(rolled.frame, counted.frame, rtol=1e-9, atol=1e-6)
            assert rolled.unallocated == pytest.approx(counted.unallocated, abs=1e-6)


def test_a_product_filter_reads_the_rollups_and_keeps_the_product_as_it_is(store):
    # Given orders of several products, one credited to a campaign
    shop, tree = store
    generated = [
        Order(
            n,
            10 + 20 * n,
            "USD",
            1 + n % 2,
            ((n % len(SELLABLE), 1, 2500), (3, 2, 999)),
            300,
            False,
            None,
            (),
        )
        for n in range(6)
    ]
    write_orders(shop, [record(o, 0) for o in generated])
    rewrite_credits(
        shop.workspace_id, tree, ("credit", [0, 1], (("shirts", "ad", 100),), "last_click")
    )
    span = {"start": str(FIRST), "end": str(LAST)}
    every = answer(
        shop.workspace_id,
        {"metrics": list(families.PRODUCT_METRICS), "dimensions": ["product"], "time_range": span},
        from_rollups=True,
    )
    shirt = every.frame[every.frame["product"] == "Linen Shirt"].reset_index(drop=True)
    # When the shirt is asked for by id, and by a piece of its title, from the rollups
    for filters in (
        {"product_ids": [int(shirt["product_id"].iloc[0])]},
        {"name_contains": "LINEN"},
    ):
        query = {
            "metrics": list(families.PRODUCT_METRICS),
            "dimensions": ["product"],
            "time_range": span,
            "filters": filters,
        }
        rolled = answer(shop.workspace_id, query, from_rollups=True)
        # Then it is its row among all products, as counted from the orders
        pd.testing.assert_frame_equal(rolled.frame, shirt)
        counted = answer(shop.workspace_id, query, from_rollups=False)
        pd.testing.assert_frame_equal(rolled.frame, counted.frame, rtol=1e-9, atol=1e-6)
        assert rolled.unallocated == pytest.approx(every.unallocated)
