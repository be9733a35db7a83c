"""store_daily as a property: whatever pages of orders the Shopify sync writes (new orders,
the same orders again with edits, cancellations, refunds split into sales, shipping and tax,
moved processing times, customers' earlier orders arriving late, unit costs that change after
the order) and whenever the workspace's zone changes, the rollup equals the Shopify rows
summed again per workspace-local day and currency (every order's sales on its day, refunds on
theirs, a cancelled order's unreturned rest on its cancel day), and each order line keeps the
first unit cost it was stored with.

The orders are random; the writes are the real ones (metricx.sync.shopify.write_orders).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from metricx.connectors.records import LineItemRecord, OrderRecord, RefundRecord, ShopInfo
from metricx.db import transaction
from metricx.sync import rollup, shopify

# Around New York's fall-back night (a 25-hour day) and Berlin's, and a plain day.
ORIGIN = datetime(2026, 10, 24, 12, 0, tzinfo=UTC)
ZONES = ["America/New_York", "Europe/Berlin", "Asia/Kolkata", "UTC"]
SUMS = ("orders", "gross", "discounts", "shipping", "taxes", "cogs", "refunds", "new_customers")

money = st.integers(0, 50_000).map(lambda cents: Decimal(cents) / 100)
ORDERS = st.tuples(  # the fields of `order`, but `written`
    st.integers(0, 12),
    st.integers(0, 14 * 24),
    st.one_of(st.none(), st.integers(1, 72)),
    st.integers(0, 9).map(lambda n: n == 0),
    st.sampled_from([None, "c1", "c2", "c3"]),
    st.sampled_from(["USD", "EUR"]),
    money,
    money,
    st.lists(st.tuples(st.integers(0, 14 * 24), money, money, money), max_size=2),
    st.one_of(st.none(), money),
)  # the unit cost Shopify reports for the order's one line
ACTIONS = st.one_of(
    st.tuples(st.just("page"), st.lists(ORDERS, min_size=1, max_size=6)),
    st.tuples(st.just("rezone"), st.sampled_from(ZONES)),
)


def order(
    number,
    hours,
    cancelled,
    test,
    customer,
    currency,
    gross,
    discount,
    refunds,
    unit_cost,
    written: int,
) -> OrderRecord:
    at = ORIGIN + timedelta(hours=hours)
    return OrderRecord(
        external_id=str(number),
        name=f"#{number}",
        currency=currency,
        created_at=at,
        processed_at=at,
        updated_at=ORIGIN + timedelta(days=30, seconds=written),
        cancelled_at=None if cancelled is None else at + timedelta(hours=cancelled),
        test=test,
        customer_id=customer,
        gross=gross,
        discounts=min(discount, gross),
        shipping=Decimal("4.90"),
        tax=gross / 10,
        refunded=sum((sum(parts) for _, *parts in refunds), Decimal(0)),
        total=gross,
        journey=None,
        line_items=(LineItemRecord(f"line-{number}", 1, None, gross, None, None, unit_cost),),
        refunds=tuple(
            RefundRecord(
                f"r{number}-{i}",
                ORIGIN + timedelta(hours=h),
                sales + shipping + taxes,
                sales,
                shipping,
                taxes,
            )
            for i, (h, sales, shipping, taxes) in enumerate(refunds)
        ),
    )


def store_drift(workspace_id: int) -> list:
    """(day, currency) where store_daily differs from the Shopify rows summed again."""
    live = "FILTER (WHERE o.cancelled_at IS NULL)"
    differs = " OR ".join(f"coalesce(f.{c}, 0) <> coalesce(k.{c}, 0)" for c in SUMS)
    with transaction() as session:
        return session.execute(
            text(f"""
            WITH w AS (SELECT timezone FROM workspaces WHERE id = :ws),
            back AS (SELECT order_id, sum(sales) AS sales, sum(shipping) AS shipping,
                            sum(taxes) AS taxes FROM shopify_refunds GROUP BY order_id),
            parts AS (
                SELECT (o.processed_at AT TIME ZONE w.timezone)::date AS day, o.currency,
                       count(*) {live} AS orders, sum(o.gross_sales) AS gross,
                       sum(o.discounts) AS discounts, sum(o.shipping) AS shipping,
                       sum(o.taxes) AS taxes, sum(o.cogs) {live} AS cogs,
                       0 AS refunds, 0 AS new_customers
                FROM shopify_orders o, w WHERE o.workspace_id = :ws AND NOT o.test
                GROUP BY 1, 2
                UNION ALL
                SELECT (r.created_at AT TIME ZONE w.timezone)::date, o.currency, 0, 0, 0,
                       -sum(r.shipping), -sum(r.taxes), 0, sum(r.sales), 0
                FROM shopify_refunds r JOIN shopify_orders o ON o.id = r.order_id, w
                WHERE r.workspace_id = :ws AND NOT o.test GROUP BY 1, 2
                UNION ALL
                SELECT (o.cancelled_at AT TIME ZONE w.timezone)::date, o.currency, 0, 0, 0,
                       -sum(o.shipping - coalesce(b.shipping, 0)),
                       -sum(o.taxes - coalesce(b.taxes, 0)), 0,
                       sum(o.gross_sales - o.discounts - coalesce(b.sales, 0)), 0
                FROM shopify_orders o LEFT JOIN back b ON b.order_id = o.id, w
                WHERE o.workspace_id = :ws AND NOT o.test AND o.cancelled_at IS NOT NULL
                GROUP BY 1, 2
                UNION ALL
                SELECT (c.first_order_at AT TIME ZONE w.timezone)::date, s.currency, 0, 0, 0,
                       0, 0, 0, 0, count(*)
                FROM shopify_customers c JOIN shopify_shops s ON s.id = c.shop_id, w
                WHERE c.workspace_id = :ws AND c.first_order_at IS NOT NULL GROUP BY 1, 2
            ), fresh AS (
                SELECT day, currency, {", ".join(f"sum({c}) AS {c}" for c in SUMS)}
                FROM parts GROUP BY day, currency
            ), kept AS (SELECT * FROM store_daily WHERE workspace_id = :ws)
            SELECT coalesce(f.day, k.day), coalesce(f.currency, k.currency)
            FROM fresh f FULL JOIN kept k USING (day, currency) WHERE {differs}"""),
            {"ws": workspace_id},
        ).all()


def line_costs() -> dict[str, Decimal]:
    with transaction() as session:
        return dict(
            session.execute(
                text(
                    "SELECT external_id, unit_cost FROM shopify_order_lines "
                    "WHERE unit_cost IS NOT NULL"
                )
            ).all()
        )


@pytest.fixture
def shop(workspace, admin):
    from metricx.services.connections import add_connection

    connection = add_connection(admin, "shopify", "acme.myshopify.com", "tok")
    return shopify.upsert_shop(
        workspace.id,
        connection.id,
        ShopInfo("acme.myshopify.com", "Acme", "USD", "America/New_York"),
    )


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(actions=st.lists(ACTIONS, min_size=1, max_size=8))
def test_the_store_rollup_always_equals_the_orders_summed_again(shop, actions):
    # Given a shop whose rows and rollup start empty in a New York workspace
    with transaction() as session:
        for table in ("store_daily", "shopify_orders", "shopify_customers"):
            session.execute(text(f"DELETE FROM {table}"))
        session.execute(text("UPDATE workspaces SET timezone = 'America/New_York'"))
    first_costs: dict[str, Decimal] = {}
    for step, action in enumerate(actions):
        # When a page of orders is synced, or the workspace moves to another zone
        if action[0] == "page":
            page = {fields[0]: fields for fields in action[1]}.values()  # one id once a page
            shopify.write_orders(shop, [order(*fields, written=step) for fields in page])
            for fields in page:
                if fields[-1] is not None:
                    first_costs.setdefault(f"line-{fields[0]}", fields[-1])
        else:
            with transaction() as session:
                session.execute(
                    text("UPDATE workspaces SET timezone = :tz WHERE id = :ws"),
                    {"tz": action[1], "ws": shop.workspace_id},
                )
                rollup.rebuild(session, shop.workspace_id)
        # Then the rollup equals the rows summed again per local day and currency, and every
        # line kept the first unit cost it was given
        assert store_drift(shop.workspace_id) == [], action
        assert line_costs() == first_costs
