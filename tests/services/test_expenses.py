"""Expenses: validated before anything is stored, admin only, audited, inside one workspace."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from metricx.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from metricx.services import audit, expenses

JAN1 = date(2026, 1, 1)
GOOD = {"name": "Rent", "kind": "monthly", "amount": "310", "start_date": JAN1}


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"kind": "weekly"}, "kind must be one of monthly, one_off, percent_of_revenue"),
        ({"name": "  "}, "the expense name cannot be empty"),
        ({"amount": None}, "needs an amount"),
        ({"amount": "ten"}, "the amount must be a number"),
        ({"amount": "-5"}, "the amount must be 0 or more"),
        ({"percent": "0.1"}, "takes an amount, not a percent"),
        ({"kind": "percent_of_revenue", "amount": None}, "needs a percent between 0 and 1"),
        (
            {"kind": "percent_of_revenue", "amount": None, "percent": "5"},
            "the percent must be between 0 and 1",
        ),
        ({"kind": "percent_of_revenue"}, "takes a percent, not an amount"),
        ({"currency": "dollars"}, "3-letter ISO code"),
        ({"end_date": date(2025, 12, 31)}, "the end date 2025-12-31 is before the start date"),
        ({"kind": "one_off", "end_date": date(2026, 1, 5)}, "a one-off expense has one date"),
        ({"start_date": None}, "needs a start date"),
        ({"name": "Rent\x00"}, "the expense name contains a NUL"),
        ({"name": "Rent\ud800"}, "the expense name contains an invalid character"),
        ({"amount": "NaN"}, "the amount must be a number"),
        ({"amount": "1e30"}, "at most 1,000,000,000,000"),
        ({"start_date": date(1, 1, 1)}, "the start date 0001-01-01 is outside the dates"),
        ({"end_date": date(9999, 12, 31)}, "the end date 9999-12-31 is outside the dates"),
    ],
)
def test_invalid_input_is_refused_with_a_reason_and_changes_nothing(admin, changes, message):
    # Given a workspace with one expense
    kept = expenses.add_expense(admin, **GOOD)
    before = len(audit.recent(admin.workspace_id))
    # When a bad expense is added, or the good one is changed into a bad one
    with pytest.raises(InvalidInputError, match=message):
        expenses.add_expense(admin, **(GOOD | changes))
    with pytest.raises(InvalidInputError, match=message):
        expenses.update_expense(admin, kept.id, **(GOOD | changes))
    # Then nothing was stored, changed or audited
    [stored] = expenses.list_expenses(admin.workspace_id)
    assert (stored.name, stored.kind, stored.amount, stored.end_date) == (
        "Rent",
        "monthly",
        Decimal(310),
        None,
    )
    assert len(audit.recent(admin.workspace_id)) == before


def test_an_admin_adds_updates_and_deletes_and_each_change_is_audited(admin):
    added = expenses.add_expense(
        admin,
        name="Agency",
        kind="percent_of_revenue",
        percent="0.05",
        currency="EUR",
        start_date=JAN1,
        counts_as_ad_spend=True,
    )
    # A share of revenue is in the reporting currency whatever was typed
    assert (added.percent, added.amount, added.currency) == (Decimal("0.05"), None, "USD")
    expenses.update_expense(
        admin,
        added.id,
        name="Shoot",
        kind="one_off",
        amount="100",
        currency="eur",
        start_date=date(2026, 2, 1),
    )
    [updated] = expenses.list_expenses(admin.workspace_id)
    assert (
        updated.kind,
        updated.amount,
        updated.percent,
        updated.currency,
        updated.counts_as_ad_spend,
    ) == ("one_off", Decimal(100), None, "EUR", False)
    expenses.delete_expense(admin, added.id)
    assert expenses.list_expenses(admin.workspace_id) == []
    assert [e.action for e in audit.recent(admin.workspace_id)][:3] == [
        "expense.delete",
        "expense.update",
        "expense.add",
    ]


def test_a_member_can_read_but_not_edit(admin, member):
    kept = expenses.add_expense(admin, **GOOD)
    for attempt in (
        lambda: expenses.add_expense(member, **GOOD),
        lambda: expenses.update_expense(member, kept.id, **GOOD | {"amount": "1"}),
        lambda: expenses.delete_expense(member, kept.id),
    ):
        with pytest.raises(PermissionDeniedError, match="only an admin can edit expenses"):
            attempt()
    assert [e.amount for e in expenses.list_expenses(member.workspace_id)] == [Decimal(310)]


def test_another_workspace_can_neither_see_nor_touch_our_expenses(admin, other_workspace):
    from metricx.services.users import actor_for, add_user

    kept = expenses.add_expense(admin, **GOOD)
    intruder = actor_for(
        add_user(other_workspace.id, "eve@globex.test", "pass phrase 1", role="admin")
    )
    assert expenses.list_expenses(other_workspace.id) == []
    with pytest.raises(NotFoundError):
        expenses.update_expense(intruder, kept.id, **GOOD | {"amount": "1"})
    with pytest.raises(NotFoundError):
        expenses.delete_expense(intruder, kept.id)
    assert [e.amount for e in expenses.list_expenses(admin.workspace_id)] == [Decimal(310)]
