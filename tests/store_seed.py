"""Seeding a workspace's Shopify store for tests: a shop, exchange rates, and orders written
through the Shopify sync's own write path (so customers' first orders, the store rollup and
COGS are what a sync leaves behind).

Shared by the store tests (cohorts, products); keep it additive.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text

from metricx.connectors.records import (
    LineItemRecord,
    OrderRecord,
    ProductRecord,
    ShopInfo,
    VariantRecord,
)
from metricx.db import transaction
from metricx.models import Attribution, Connection, Entity, FxRate, MetricSnapshot, ShopifyShop
from metricx.sync import order_rollups, shopify

#: Where generated orders start: New York's fall-back night (Nov 1) lies within their days.
ORIGIN = datetime(2026, 10, 30, 4, 0, tzinfo=UTC)


class Timeline:
    """When a generated order's events happen, for test dataclasses holding `placed_hour`
    and `cancelled_after` (hours): placed `placed_hour` hours after ORIGIN (at :17),
    cancelled `cancelled_after` hours later, each refund `after_hours` after it was placed
    (at :03)."""

    placed_hour: int
    cancelled_after: int | None

    @property
    def placed(self) -> datetime:
        return ORIGIN + timedelta(hours=self.placed_hour, minutes=17)

    @property
    def cancelled(self) -> datetime | None:
        if self.cancelled_after is None:
            return None
        return self.placed + timedelta(hours=self.cancelled_after)

    def refunded(self, refund: Any) -> datetime:
        return self.placed + timedelta(hours=refund.after_hours, minutes=3)


def add_shop(
    workspace_id: int,
    domain: str = "acme.myshopify.com",
    currency: str = "USD",
    timezone: str = "America/New_York",
) -> ShopifyShop:
    """A Shopify connection and its shop in the workspace (no token: nothing is fetched)."""
    with transaction() as session:
        connection = Connection(
            workspace_id=workspace_id,
            provider="shopify",
            external_account_id=domain,
            name=domain,
        )
        session.add(connection)
        session.flush()
        connection_id = connection.id
    return shopify.upsert_shop(
        workspace_id, connection_id, ShopInfo(domain, domain.split(".")[0], currency, timezone)
    )


def add_rates(
    workspace_id: int,
    first: date,
    last: date,
    rate: Callable[[date], Decimal],
    from_currency: str = "EUR",
    to_currency: str = "USD",
) -> None:
    """A rate for every day first..last."""
    with transaction() as session:
        session.add_all(
            FxRate(
                workspace_id=workspace_id,
                day=first + timedelta(days=offset),
                from_currency=from_currency,
                to_currency=to_currency,
                rate=rate(first + timedelta(days=offset)),
            )
            for offset in range((last - first).days + 1)
        )


def write_orders(shop: ShopifyShop, orders: Iterable[OrderRecord]) -> None:
    """Orders as the Shopify sync writes them (customers created from their ids)."""
    shopify.write_orders(shop, list(orders))


def clear_store() -> None:
    """Every workspace's orders, customers and store rollups gone (shops and rates kept): a
    clean store for the next generated example."""
    with transaction() as session:
        for table in (
            "store_daily",
            "cohort_daily",
            "product_daily",
            "product_credit_daily",
            "shopify_orders",
            "shopify_customers",
        ):
            session.execute(text(f"DELETE FROM {table}"))


def order(
    customer: int,
    number: int,
    day: date,
    gross: str,
    *,
    discounts: str = "0",
    currency: str = "USD",
    product: str | None = None,
    timezone: str = "America/New_York",
) -> OrderRecord:
    """Customer `customer`'s order `number`: one line of `gross` (its unit cost half of it)
    at noon local time on `day`, no shipping, tax, refund or cancellation."""
    at = datetime.combine(day, time(12), ZoneInfo(timezone))
    amount = Decimal(gross)
    line = LineItemRecord(f"line-{customer}-{number}", 1, None, amount, None, product, amount / 2)
    return OrderRecord(
        external_id=f"{customer}-{number}",
        name=f"#{customer}-{number}",
        currency=currency,
        created_at=at,
        processed_at=at,
        updated_at=at,
        cancelled_at=None,
        test=False,
        customer_id=f"c{customer}",
        gross=amount,
        discounts=Decimal(discounts),
        shipping=Decimal(0),
        tax=Decimal(0),
        refunded=Decimal(0),
        total=amount - Decimal(discounts),
        journey=None,
        line_items=(line,),
        refunds=(),
    )


def add_products(shop: ShopifyShop, catalogue: Iterable[tuple[str, str, tuple]]) -> None:
    """Products as the sync writes them: (external id, title, ((variant id, sku, unit cost
    or None), ...))."""
    at = datetime(2026, 1, 1, tzinfo=UTC)
    shopify.write_products(
        shop,
        [
            ProductRecord(
                external,
                title,
                None,
                None,
                None,
                at,
                at,
                tuple(
                    VariantRecord(v, external, v, sku, Decimal(10), cost)
                    for v, sku, cost in variants
                ),
            )
            for external, title, variants in catalogue
        ],
    )


def add_campaigns(
    workspace_id: int, spend_per_day: dict[str, Decimal], first: date, last: date, zone: ZoneInfo
) -> dict[str, dict[str, int]]:
    """A Meta account (workspace currency) with one campaign > ad set > ad per name, each ad
    spending its amount at noon (local) of every day first..last, rolled up as the sync does.
    Returns {name: {level: entity id}}."""
    from metricx.sync import rollup

    tree: dict[str, dict[str, int]] = {}
    with transaction() as session:
        connection = Connection(
            workspace_id=workspace_id,
            provider="meta",
            external_account_id=f"act_{workspace_id}",
            name="Meta",
        )
        session.add(connection)
        session.flush()
        for name, per_day in spend_per_day.items():
            parent = None
            tree[name] = {}
            for level in ("campaign", "adset", "ad"):
                entity = Entity(
                    workspace_id=workspace_id,
                    connection_id=connection.id,
                    level=level,
                    external_id=f"{name}-{level}",
                    name=f"{name} {level}",
                    parent_id=parent,
                )
                session.add(entity)
                session.flush()
                parent = tree[name][level] = entity.id
            for offset in range((last - first).days + 1):
                day = first + timedelta(days=offset)
                session.add(
                    MetricSnapshot(
                        workspace_id=workspace_id,
                        entity_id=tree[name]["ad"],
                        bucket_start=datetime(day.year, day.month, day.day, 12, tzinfo=zone),
                        granularity="1h",
                        spend=per_day,
                        impressions=0,
                        clicks=0,
                        conversions=0,
                        conversion_value=0,
                        leads=0,
                    )
                )
        session.flush()
        rollup.refresh(
            session,
            workspace_id,
            [levels["ad"] for levels in tree.values()],
            datetime.combine(first, time(0), zone) - timedelta(days=1),
            datetime.combine(last, time(0), zone) + timedelta(days=2),
        )
    return tree


def add_credits(
    workspace_id: int,
    credits: Iterable[tuple[str, int, Decimal, Decimal]],
    model: str = "last_click",
    window_days: int = 28,
) -> None:
    """Attributions as the attribution job stores them (cash mode, on the order's processed
    time): (order external id, entity id, credit, credited revenue)."""
    with transaction() as session:
        orders = {
            external: (pk, at)
            for external, pk, at in session.execute(
                text(
                    "SELECT external_id, id, processed_at FROM shopify_orders"
                    " WHERE workspace_id = :ws"
                ),
                {"ws": workspace_id},
            )
        }
        credits = list(credits)
        order_ids = sorted({orders[external][0] for external, *_ in credits})
        # as the attribution job does: the product rollup follows the orders' credits
        with order_rollups.rewriting(session, workspace_id, [], order_ids):
            session.add_all(
                Attribution(
                    workspace_id=workspace_id,
                    order_id=orders[external][0],
                    entity_id=entity_id,
                    model=model,
                    window_days=window_days,
                    mode="cash",
                    credited_at=orders[external][1],
                    credit=credit,
                    revenue=revenue,
                )
                for external, entity_id, credit, revenue in credits
            )
            session.flush()
