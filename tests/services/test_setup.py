"""The setup checklist: each step is done exactly when its condition holds in this workspace's
own rows, whatever other workspaces did."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import count

import pytest
from sqlalchemy import inspect
from table_rows import execute, read

from metricx import migrate
from metricx.actor import Actor
from metricx.db import get_engine, transaction
from metricx.errors import InvalidInputError
from metricx.models import Connection, PixelEvent, ShopifyOrder, ShopifyOrderLine, ShopifyShop
from metricx.services import connections, settings, setup
from metricx.services.users import actor_for, add_user

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
ZEROS = dict.fromkeys(settings.COST_FIELDS, "0")
_ids = count(1)


@pytest.fixture
def other_admin(other_workspace) -> Actor:
    return actor_for(add_user(other_workspace.id, "eve@globex.test", "pass phrase 1", role="admin"))


def done(workspace_id: int) -> dict[str, bool]:
    return {step.id: step.done for step in setup.checklist(workspace_id, NOW).steps}


def finished(workspace_id: int) -> set[str]:
    return {step for step, is_done in done(workspace_id).items() if is_done}


def open_shop(actor: Actor) -> int:
    """A connected Shopify store with its shop row; returns the shop id."""
    connection = connections.add_connection(
        actor, "shopify", f"shop{actor.workspace_id}.myshopify.com", "shpat_token"
    )
    with transaction() as session:
        shop = ShopifyShop(
            workspace_id=actor.workspace_id,
            connection_id=connection.id,
            domain="acme.myshopify.com",
            name="Acme",
            currency="USD",
            timezone="UTC",
        )
        session.add(shop)
        session.flush()
        return shop.id


def sell(
    workspace_id: int,
    shop_id: int,
    lines: list[tuple[int, str | None]],
    *,
    days_ago: int = 1,
    test: bool = False,
    cancelled: bool = False,
) -> None:
    """One order of `lines` (quantity, unit cost or None when the merchant entered none)."""
    at = NOW - timedelta(days=days_ago)
    with transaction() as session:
        number = next(_ids)
        order = ShopifyOrder(
            workspace_id=workspace_id,
            shop_id=shop_id,
            external_id=str(number),
            name=f"#{number}",
            created_at=at,
            processed_at=at,
            updated_at=at,
            test=test,
            currency="USD",
            cancelled_at=at if cancelled else None,
        )
        session.add(order)
        session.flush()
        for quantity, cost in lines:
            session.add(
                ShopifyOrderLine(
                    workspace_id=workspace_id,
                    order_id=order.id,
                    external_id=str(next(_ids)),
                    quantity=quantity,
                    unit_price=Decimal(20),
                    unit_cost=None if cost is None else Decimal(cost),
                )
            )


def pixel_event(workspace_id: int, *, days_ago: float) -> None:
    with transaction() as session:
        at = NOW - timedelta(days=days_ago)
        session.add(
            PixelEvent(
                workspace_id=workspace_id,
                event_id=f"e{next(_ids)}",
                anonymous_id="anon",
                event="page_view",
                occurred_at=at,
                received_at=at,
            )
        )


def test_a_new_workspace_has_every_step_open_and_profit_overstated(admin):
    checklist = setup.checklist(admin.workspace_id, NOW)
    assert [step.id for step in checklist.steps] == [
        "ad_account",
        "store",
        "costs",
        "unit_costs",
        "zone_currency",
        "pixel",
    ]
    assert checklist.done == 0 and not checklist.complete
    assert checklist.profit_overstated
    assert [s.id for s in checklist.steps if not s.affects_profit] == ["pixel"]


def test_each_step_is_done_once_its_condition_is_met(admin):
    # Given a new workspace
    workspace_id = admin.workspace_id
    # When an ad account and the store are connected
    connections.add_connection(admin, "meta", "act_1", "tok")
    shop_id = open_shop(admin)
    assert finished(workspace_id) == {"ad_account", "store"}
    # And the admin saves the costs, all 0 (a real answer: no shipping cost, no fees)
    settings.update_costs(admin, **ZEROS)
    assert finished(workspace_id) == {"ad_account", "store", "costs"}
    # And saves zone and currency unchanged (saving confirms them)
    settings.update_workspace(
        admin, timezone="America/New_York", currency="USD", utm_match="id_or_name"
    )
    assert finished(workspace_id) == {"ad_account", "store", "costs", "zone_currency"}
    # And every unit sold has a cost, and the pixel sent an event an hour ago
    sell(workspace_id, shop_id, [(2, "7.50"), (1, "0")])
    pixel_event(workspace_id, days_ago=1 / 24)
    # Then every step is done, and profit is no longer called overstated
    checklist = setup.checklist(workspace_id, NOW)
    assert checklist.complete and checklist.done == len(checklist.steps) == 6
    assert not checklist.profit_overstated


def test_unit_cost_coverage_counts_units_of_real_orders_of_the_last_30_days(admin):
    shop_id = open_shop(admin)
    # Given 3 costed units and 1 without a cost in a real order of last week
    sell(admin.workspace_id, shop_id, [(3, "4.00"), (1, None)], days_ago=7)
    # And uncosted units in a test order, a cancelled order and an order 31 days ago
    sell(admin.workspace_id, shop_id, [(10, None)], test=True)
    sell(admin.workspace_id, shop_id, [(10, None)], cancelled=True)
    sell(admin.workspace_id, shop_id, [(10, None)], days_ago=31)
    # Then only the real recent order counts: a quarter of its units lack a cost
    coverage = setup.unit_cost_coverage(admin.workspace_id, NOW)
    assert (coverage.units, coverage.costed, coverage.missing_share) == (4, 3, 0.25)
    checklist = setup.checklist(admin.workspace_id, NOW)
    [step] = [s for s in checklist.steps if s.id == "unit_costs"]
    assert not step.done and "3 of 4 units" in step.status
    # And with nothing sold there is nothing to measure
    assert setup.unit_cost_coverage(admin.workspace_id, NOW + timedelta(days=60)) == (
        setup.UnitCostCoverage(0, 0)
    )


def test_a_pixel_silent_for_more_than_7_days_is_not_receiving(admin):
    pixel_event(admin.workspace_id, days_ago=8)
    assert not done(admin.workspace_id)["pixel"]
    pixel_event(admin.workspace_id, days_ago=6.9)
    assert done(admin.workspace_id)["pixel"]


def test_a_disconnected_store_does_not_count_as_connected(admin):
    shop = connections.add_connection(admin, "shopify", "acme.myshopify.com", "shpat_token")
    connections.set_status(admin, shop.id, "paused")
    assert done(admin.workspace_id)["store"]  # paused: still this workspace's store
    with transaction() as session:
        session.get(Connection, shop.id).status = "disconnected"
    assert not done(admin.workspace_id)["store"]


def test_another_workspace_s_setup_never_counts_for_ours(admin, other_admin):
    # Given another workspace that finished every step
    connections.add_connection(other_admin, "google", "1234567890", "tok")
    shop_id = open_shop(other_admin)
    settings.update_costs(other_admin, **ZEROS)
    settings.update_workspace(other_admin, timezone="Europe/Berlin", currency="EUR", utm_match="id")
    sell(other_admin.workspace_id, shop_id, [(5, None)])
    pixel_event(other_admin.workspace_id, days_ago=1)
    assert setup.checklist(other_admin.workspace_id, NOW).done == 5  # its units lack costs
    # Then nothing of it shows in ours
    ours = setup.checklist(admin.workspace_id, NOW)
    assert ours.done == 0 and ours.unit_costs == setup.UnitCostCoverage(0, 0)


@pytest.mark.parametrize(
    "typed, message",
    [
        ("NaN", "the handling cost per order must be a number, got 'NaN'"),
        ("Infinity", "the handling cost per order must be a number"),
        ("1e30", "the handling cost per order must be 0 or more and at most 1,000,000,000,000"),
        ("-2", "the handling cost per order must be 0 or more"),
    ],
)
def test_unusable_costs_are_refused_and_not_recorded_as_reviewed(admin, typed, message):
    with pytest.raises(InvalidInputError, match=message):
        settings.update_costs(admin, **ZEROS | {"handling_per_order": typed})
    assert not done(admin.workspace_id)["costs"]
    assert settings.costs(admin.workspace_id).handling_per_order == 0


def test_the_migration_marks_costs_already_entered_as_reviewed_and_walks_back(scratch_database):
    # Given two workspaces before the migration: one with costs left at 0, one with fees
    migrate.upgrade("0008")
    execute(
        "INSERT INTO workspaces (name, timezone, currency, utm_match) VALUES "
        "('Zero', 'UTC', 'USD', 'id'), ('Fees', 'UTC', 'USD', 'id')"
    )
    execute(
        "INSERT INTO cost_settings (workspace_id, shipping_cost_per_order, "
        "shipping_cost_pct, payment_fee_pct, payment_fee_fixed, handling_per_order) "
        "VALUES (1, 0, 0, 0, 0, 0), (2, 0, 0, 0.029, 0.30, 0)"
    )
    # When it runs
    migrate.upgrade()
    # Then only the entered costs count as reviewed, and no zone is confirmed for anyone
    reviewed = read(
        "SELECT costs_reviewed_at IS NOT NULL AS reviewed FROM cost_settings ORDER BY workspace_id"
    )
    assert list(reviewed["reviewed"]) == [False, True]
    assert (
        read("SELECT count(*) AS n FROM workspaces WHERE settings_confirmed_at IS NOT NULL")["n"][0]
        == 0
    )
    # And it walks back to 0008 without the two columns
    migrate.downgrade("0008")
    schema = inspect(get_engine())
    assert "costs_reviewed_at" not in {c["name"] for c in schema.get_columns("cost_settings")}
    assert "settings_confirmed_at" not in {c["name"] for c in schema.get_columns("workspaces")}
