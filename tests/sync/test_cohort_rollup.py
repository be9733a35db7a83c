"""cohort_daily as a property: whatever pages of orders the Shopify sync writes (new orders,
the same orders again with other times, customers, cancellations and refunds, a page written
twice as a retry does, customers' earlier orders arriving late, test orders) and whenever the
workspace's zone changes, the rollup kept by difference equals the rollup built from scratch,
and the cohort engine's facts read from it equal those read from the orders themselves, for
every cohort grain and age unit.

The orders are random; the writes are the real ones (metricx.sync.shopify.write_orders).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from store_seed import ORIGIN, add_rates, add_shop, clear_store

from metricx.connectors.records import LineItemRecord, OrderRecord, RefundRecord
from metricx.db import get_reader, new_session, transaction
from metricx.semantic import cohorts, families
from metricx.semantic.fetch import scope_and_costs
from metricx.semantic.query import SemanticQuery
from metricx.sync import cohort_rollup, shopify

ZONES = ["America/New_York", "Europe/Berlin", "Asia/Kolkata"]
money = st.integers(0, 40_000).map(lambda cents: Decimal(cents) / 100)
ORDERS = st.tuples(
    st.integers(0, 23),  # the order's number: pages rewrite the same orders
    st.sampled_from([None, "c1", "c2", "c3", "c4", "c5"]),
    # days over two and a half months (ages in days, weeks and months), a customer's orders often
    # within a week or a month of each other
    st.tuples(st.integers(0, 70), st.integers(0, 23)).map(lambda d: d[0] * 24 + d[1]),
    st.one_of(st.none(), st.none(), st.none(), st.integers(0, 24 * 40)),  # cancelled, hours later
    st.integers(0, 9).map(lambda n: n == 0),  # a test order
    st.sampled_from(["USD", "USD", "EUR"]),
    money,
    money,
    st.lists(st.tuples(st.integers(0, 24 * 60), money, money), max_size=2),
)
PAGE = st.tuples(st.just("page"), st.lists(ORDERS, min_size=4, max_size=16), st.booleans())
ACTIONS = st.one_of(
    PAGE,
    PAGE,
    st.tuples(st.just("rezone"), st.sampled_from(ZONES), st.just(False)),
)


def order(
    number, customer, hours, cancelled, test, currency, gross, discount, refunds, written: int
) -> OrderRecord:
    at = ORIGIN + timedelta(hours=hours, minutes=17)
    discount = min(discount, gross)
    return OrderRecord(
        external_id=str(number),
        name=f"#{number}",
        currency=currency,
        created_at=at,
        processed_at=at,
        updated_at=ORIGIN + timedelta(days=400, seconds=written),
        cancelled_at=None if cancelled is None else at + timedelta(hours=cancelled),
        test=test,
        customer_id=customer,
        gross=gross,
        discounts=discount,
        shipping=Decimal("4.90"),
        tax=gross / 10,
        refunded=sum((sales + shipping for _, sales, shipping in refunds), Decimal(0)),
        total=gross - discount,
        journey=None,
        line_items=(LineItemRecord(f"line-{number}", 1, None, gross, None, None, gross / 3),),
        refunds=tuple(
            RefundRecord(
                f"r{number}-{i}",
                at + timedelta(hours=after, minutes=3),
                min(sales, gross - discount) + Decimal("4.90"),
                sales=min(sales, gross - discount),
                shipping=Decimal("4.90"),
            )
            for i, (after, sales, _) in enumerate(refunds)
        ),
    )


def rollup_rows(session: Any, workspace_id: int) -> list[tuple]:
    return session.execute(
        text(
            f"SELECT {', '.join((*cohort_rollup.KEY, *cohort_rollup.FACTS))} FROM cohort_daily"
            " WHERE workspace_id = :ws ORDER BY first_day, day, currency"
        ),
        {"ws": workspace_id},
    ).all()


def built_from_scratch(workspace_id: int) -> list[tuple]:
    """The rollup as `rebuild` would leave it (rolled back: the kept rows stay as they were)."""
    with new_session() as session:
        cohort_rollup.rebuild(session, workspace_id)
        rows = rollup_rows(session, workspace_id)
        session.rollback()
    return rows


def cells(statement: Any, params: dict[str, Any], ages: int) -> dict[tuple, Any]:
    """{(cohort, age): facts} and {(cohort, "customers"): count} of a statement's rows."""
    found: dict[tuple, Any] = {}
    with get_reader().connect() as conn:
        result = conn.execute(statement, params)
        names = list(result.keys())
        for row in result:
            values = dict(zip(names, row, strict=True))
            key, age = values.pop("cohort"), values.pop("age")
            customers = values.pop("customers")
            del values[cohorts._UNCONVERTED]
            found[key, "customers"] = found.get((key, "customers"), 0) + customers
            if age is not None and 0 <= age < ages:
                facts = found.get((key, age), (0.0,) * len(values))
                found[key, age] = tuple(
                    a + (b or 0.0) for a, b in zip(facts, values.values(), strict=True)
                )
    # rounded, and without cells of zeros (the rollup keeps no empty rows)
    rounded = {
        key: tuple(round(v, 6) for v in facts) if isinstance(facts, tuple) else facts
        for key, facts in found.items()
    }
    return {key: facts for key, facts in rounded.items() if any(np.atleast_1d(facts))}


@pytest.fixture
def shops(workspace, other_workspace):
    """The workspace's shop (euros at a rate) and another workspace's."""
    add_rates(workspace.id, date(2026, 9, 1), date(2027, 12, 31), lambda d: Decimal("1.08"))
    return add_shop(workspace.id), add_shop(other_workspace.id, "globex.myshopify.com")


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    actions=st.lists(ACTIONS, min_size=1, max_size=6),
    grain=st.sampled_from(["week", "month", "quarter", None]),
    age_unit=st.sampled_from(["day", "week", "month"]),
)
def test_the_cohort_rollup_follows_every_write_and_answers_as_the_orders_do(
    shops, actions, grain, age_unit
):
    # Given an empty store in a New York workspace, and another workspace with one customer
    # whose order has the number of one of ours
    shop, decoy = shops
    clear_store()
    with transaction() as session:
        session.execute(text("UPDATE workspaces SET timezone = 'America/New_York'"))
    shopify.write_orders(decoy, [order(1, "c1", 5, None, False, "USD", Decimal(90), 0, [], 0)])
    for step, (kind, value, again) in enumerate(actions):
        # When a page of orders is synced (twice when retried), or the zone changes
        if kind == "page":
            page = [order(*fields, written=step) for fields in {f[0]: f for f in value}.values()]
            for _ in range(2 if again else 1):
                shopify.write_orders(shop, page)
        else:
            with transaction() as session:
                session.execute(
                    text("UPDATE workspaces SET timezone = :tz WHERE id = :ws"),
                    {"tz": value, "ws": shop.workspace_id},
                )
                cohort_rollup.rebuild(session, shop.workspace_id)
        # Then the rollup kept by difference is the rollup built from scratch
        with transaction() as session:
            kept = rollup_rows(session, shop.workspace_id)
            theirs = rollup_rows(session, decoy.workspace_id)
        assert kept == built_from_scratch(shop.workspace_id), (kind, value)
        assert theirs == built_from_scratch(decoy.workspace_id)

    # And every fact of every cohort and age reads the same from the rollup as from the orders
    query = SemanticQuery.parse(
        {
            "metrics": list(families.COHORT_METRICS),  # every fact summed
            "time_range": {"start": "2026-10-01", "end": "2027-04-30"},
            "dimensions": ["cohort", "age"] if grain else ["age"],
            "cohort": {"grain": grain or "month", "age_unit": age_unit, "max_age": 40},
        }
    )
    shape = cohorts.Shape.of(query)
    with get_reader().connect() as conn:
        scope, _ = scope_and_costs(conn, shop.workspace_id)
    params = cohorts._params(query, scope)
    from_rollup = cells(cohorts.rollup_statement(shape).facts, params, 41)
    from_orders = cells(cohorts.cohort_statement(shape).facts, params, 41)
    assert from_rollup == from_orders


def first_orders(workspace_id: int) -> dict[str, Any]:
    with transaction() as session:
        return dict(
            session.execute(
                text(
                    "SELECT external_id, first_order_at FROM shopify_customers"
                    " WHERE workspace_id = :ws"
                ),
                {"ws": workspace_id},
            ).all()
        )


def new_customers(workspace_id: int) -> tuple[int, int]:
    """New customers as the store rollup and the cohort rollup count them."""
    with transaction() as session:
        return session.execute(
            text(
                "SELECT (SELECT coalesce(sum(new_customers), 0) FROM store_daily"
                "        WHERE workspace_id = :ws),"
                "       (SELECT coalesce(sum(customers), 0) FROM cohort_daily"
                "        WHERE workspace_id = :ws)"
            ),
            {"ws": workspace_id},
        ).one()


def test_a_customer_whose_only_order_is_cancelled_later_is_no_longer_new(shops):
    # Given a customer's only order, synced while live
    shop, _ = shops
    clear_store()
    shopify.write_orders(shop, [order(1, "c1", 30, None, False, "USD", Decimal(80), 0, [], 0)])
    assert new_customers(shop.workspace_id) == (1, 1)
    # When it is read again, cancelled
    shopify.write_orders(shop, [order(1, "c1", 30, 5, False, "USD", Decimal(80), 0, [], 1)])
    # Then the customer has no first order: neither the store nor any cohort counts them
    assert first_orders(shop.workspace_id) == {"c1": None}
    assert new_customers(shop.workspace_id) == (0, 0)


def test_an_order_moved_to_another_customer_takes_its_first_order_along(shops):
    # Given c1's orders on two days
    shop, _ = shops
    clear_store()
    earlier = order(1, "c1", 30, None, False, "USD", Decimal(80), 0, [], 0)
    later = order(2, "c1", 24 * 9, None, False, "USD", Decimal(40), 0, [], 0)
    shopify.write_orders(shop, [earlier, later])
    # When the earlier one is read again under c2 (Shopify lets a merchant change it)
    shopify.write_orders(shop, [order(1, "c2", 30, None, False, "USD", Decimal(80), 0, [], 1)])
    # Then c1's first order is the later one, c2's the moved one; two new customers in all
    assert first_orders(shop.workspace_id) == {"c1": later.processed_at, "c2": earlier.processed_at}
    assert new_customers(shop.workspace_id) == (2, 2)
    assert rollup_kept(shop.workspace_id) == built_from_scratch(shop.workspace_id)


def rollup_kept(workspace_id: int) -> list[tuple]:
    with transaction() as session:
        return rollup_rows(session, workspace_id)
