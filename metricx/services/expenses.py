"""Custom expenses an admin records for the P&L: monthly (prorated by day), one-off, or a share
of revenue; any of them may count as ad spend (an agency fee, an influencer deal)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from metricx import validation
from metricx.actor import Actor
from metricx.db import new_session, transaction
from metricx.errors import InvalidInputError, NotFoundError
from metricx.models import Expense as Expense  # the type pages get, named here for them
from metricx.models import Workspace
from metricx.services import audit

KINDS = ("monthly", "one_off", "percent_of_revenue")
KIND_LABELS = {
    "monthly": "monthly (prorated by day)",
    "one_off": "one-off",
    "percent_of_revenue": "share of revenue",
}


def _given(value: object) -> bool:
    return value is not None and str(value).strip() != ""


def _checked(
    session: Session,
    actor: Actor,
    *,
    name: str,
    kind: str,
    amount: object,
    percent: object,
    currency: str | None,
    start_date: date,
    end_date: date | None,
    counts_as_ad_spend: bool,
) -> dict[str, object]:
    """The column values of a valid expense; an InvalidInputError names the first problem."""
    if kind not in KINDS:
        raise InvalidInputError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    values: dict[str, object] = {
        "name": validation.name(name, "the expense name", 200),
        "kind": kind,
        "amount": None,
        "percent": None,
    }
    if kind == "percent_of_revenue":
        if _given(amount):
            raise InvalidInputError("a share-of-revenue expense takes a percent, not an amount")
        if not _given(percent):
            raise InvalidInputError("a share-of-revenue expense needs a percent between 0 and 1")
        values["percent"] = validation.non_negative_number(percent, "the percent", percent=True)
    else:
        if _given(percent):
            raise InvalidInputError(f"a {KIND_LABELS[kind]} expense takes an amount, not a percent")
        if not _given(amount):
            raise InvalidInputError(f"a {KIND_LABELS[kind]} expense needs an amount")
        values["amount"] = validation.non_negative_number(amount, "the amount")
    workspace_currency = session.get_one(Workspace, actor.workspace_id).currency
    # A share of revenue is in the reporting currency by nature.
    values["currency"] = (
        workspace_currency
        if kind == "percent_of_revenue" or not currency
        else validation.currency_code(currency)
    )
    if not isinstance(start_date, date):
        raise InvalidInputError("an expense needs a start date")
    validation.calendar_day(start_date, "the start date")
    if end_date is not None:
        validation.calendar_day(end_date, "the end date")
    if kind == "one_off" and end_date is not None and end_date != start_date:
        raise InvalidInputError("a one-off expense has one date; leave the end date empty")
    if end_date is not None and end_date < start_date:
        raise InvalidInputError(f"the end date {end_date} is before the start date {start_date}")
    values.update(
        start_date=start_date,
        end_date=None if kind == "one_off" else end_date,
        counts_as_ad_spend=bool(counts_as_ad_spend),
    )
    return values


def _audit_details(values: dict[str, object]) -> dict[str, object]:
    return {k: (str(v) if isinstance(v, Decimal | date) else v) for k, v in values.items()}


def list_expenses(workspace_id: int) -> list[Expense]:
    """A workspace's expenses, newest start first."""
    with new_session() as session:
        return list(
            session.scalars(
                select(Expense)
                .where(Expense.workspace_id == workspace_id)
                .order_by(Expense.start_date.desc(), Expense.id)
            )
        )


def add_expense(
    actor: Actor,
    *,
    name: str,
    kind: str,
    start_date: date,
    amount: object = None,
    percent: object = None,
    currency: str | None = None,
    end_date: date | None = None,
    counts_as_ad_spend: bool = False,
) -> Expense:
    """Record an expense. Amounts are in `currency` (default: the workspace's); a percent is a
    fraction (0.05 for 5 %) of net sales + shipping charged."""
    actor.require_admin("edit expenses")
    with transaction() as session:
        values = _checked(
            session,
            actor,
            name=name,
            kind=kind,
            amount=amount,
            percent=percent,
            currency=currency,
            start_date=start_date,
            end_date=end_date,
            counts_as_ad_spend=counts_as_ad_spend,
        )
        expense = Expense(workspace_id=actor.workspace_id, **values)
        session.add(expense)
        audit.record(session, actor, "expense.add", expense.name, **_audit_details(values))
    return expense


def _own(session: Session, actor: Actor, expense_id: int) -> Expense:
    expense = session.scalar(
        select(Expense).where(Expense.id == expense_id, Expense.workspace_id == actor.workspace_id)
    )
    if expense is None:
        raise NotFoundError(f"no expense {expense_id} in this workspace")
    return expense


def update_expense(
    actor: Actor,
    expense_id: int,
    *,
    name: str,
    kind: str,
    start_date: date,
    amount: object = None,
    percent: object = None,
    currency: str | None = None,
    end_date: date | None = None,
    counts_as_ad_spend: bool = False,
) -> Expense:
    """Replace every field of one of the workspace's expenses (validated as add_expense)."""
    actor.require_admin("edit expenses")
    with transaction() as session:
        expense = _own(session, actor, expense_id)
        values = _checked(
            session,
            actor,
            name=name,
            kind=kind,
            amount=amount,
            percent=percent,
            currency=currency,
            start_date=start_date,
            end_date=end_date,
            counts_as_ad_spend=counts_as_ad_spend,
        )
        for column, value in values.items():
            setattr(expense, column, value)
        audit.record(
            session, actor, "expense.update", expense.name, id=expense_id, **_audit_details(values)
        )
    return expense


def delete_expense(actor: Actor, expense_id: int) -> None:
    actor.require_admin("edit expenses")
    with transaction() as session:
        expense = _own(session, actor, expense_id)
        session.delete(expense)
        audit.record(session, actor, "expense.delete", expense.name, id=expense_id)
