"""The rollups that follow customers and their orders (cohort_daily: metricx.sync.cohort_rollup;
the product rollups: metricx.sync.product_rollup), kept exact by difference: a writer of
orders, refunds, customers or attributions takes out the contributions of the customers and
orders it is about to change, writes, and puts back their contributions as they now are, all
in its own transaction. Every row of these rollups is a sum over customers and orders, so
taking a set's part out and putting it back leaves the rest untouched, whatever order the
writers run in, and a retried or crashed write leaves nothing behind (S1).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.orm import Session

from metricx.sync import cohort_rollup, product_rollup


def _ids(
    session: Session, shop_id: int, order_keys: Sequence[str], customer_keys: Sequence[str]
) -> tuple[list[int], list[int]]:
    """(customer ids, order ids) stored for these Shopify ids: the orders, their customers
    and the named customers."""
    customers, orders = session.execute(
        text("""
        WITH o AS (SELECT id, customer_id FROM shopify_orders
                   WHERE shop_id = :shop AND external_id = ANY(:orders))
        SELECT
          ARRAY(SELECT customer_id FROM o WHERE customer_id IS NOT NULL
                UNION SELECT id FROM shopify_customers
                      WHERE shop_id = :shop AND external_id = ANY(:customers)),
          ARRAY(SELECT id FROM o)"""),
        {"shop": shop_id, "orders": list(order_keys), "customers": list(customer_keys)},
    ).one()
    return list(customers), list(orders)


@contextmanager
def rewriting(
    session: Session, workspace_id: int, customer_ids: Sequence[int], order_ids: Sequence[int]
) -> Iterator[None]:
    """Around a write that changes these customers' orders or these orders (ids)."""
    cohort_rollup.subtract(session, workspace_id, customer_ids)
    product_rollup.subtract(session, workspace_id, customer_ids, order_ids)
    yield
    cohort_rollup.add(session, workspace_id, customer_ids)
    product_rollup.add(session, workspace_id, customer_ids, order_ids)


@contextmanager
def rewriting_shop_rows(
    session: Session,
    workspace_id: int,
    shop_id: int,
    order_keys: Sequence[str],
    customer_keys: Sequence[str],
) -> Iterator[list[int]]:
    """Around a page of the Shopify sync: orders and customers by their Shopify ids; yields
    the ids of those customers and of the orders' customers before the write. Those created
    by the write had no part before it; they are found again after it."""
    customers, orders = _ids(session, shop_id, order_keys, customer_keys)
    cohort_rollup.subtract(session, workspace_id, customers)
    product_rollup.subtract(session, workspace_id, customers, orders)
    yield customers
    new_customers, new_orders = _ids(session, shop_id, order_keys, customer_keys)
    customers = sorted(set(customers) | set(new_customers))
    orders = sorted(set(orders) | set(new_orders))
    cohort_rollup.add(session, workspace_id, customers)
    product_rollup.add(session, workspace_id, customers, orders)


def rebuild(session: Session, workspace_id: int) -> None:
    """Both rollups again from the stored rows (the zone changed, a shop was erased)."""
    cohort_rollup.rebuild(session, workspace_id)
    product_rollup.rebuild(session, workspace_id)
