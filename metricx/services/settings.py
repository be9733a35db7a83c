"""Workspace settings an admin edits: zone and currency, FX rates, cost rules, UTM matching."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert

from metricx import validation
from metricx.actor import Actor
from metricx.costs import COST_FIELDS, Costs
from metricx.db import new_session, transaction
from metricx.errors import InvalidInputError
from metricx.models import CostSettings, FxRate, Workspace
from metricx.services import audit
from metricx.sync import order_rollups, rollup

UTM_MATCHES = ("id", "name", "id_or_name")
#: cost setting -> what it is called in a message about it
COST_NAMES = {
    "shipping_cost_per_order": "the shipping cost per order",
    "shipping_cost_pct": "the shipping cost share",
    "payment_fee_pct": "the payment fee share",
    "payment_fee_fixed": "the payment fee per order",
    "handling_per_order": "the handling cost per order",
}
MAX_RATE = Decimal(10) ** 9  # fx_rates.rate holds less than 10^10
RATE_PLACES = 10  # and keeps 10 decimals


def update_workspace(actor: Actor, *, timezone: str, currency: str, utm_match: str) -> bool:
    """Change zone, currency and UTM matching; returns True when the daily rollup was rebuilt
    (days are the workspace's days, so a new zone moves every hour to its new local day)."""
    actor.require_admin("change workspace settings")
    zone, code = validation.timezone_name(timezone), validation.currency_code(currency)
    if utm_match not in UTM_MATCHES:
        raise InvalidInputError(f"UTM matching must be one of {', '.join(UTM_MATCHES)}")
    with transaction() as session:
        workspace = session.get_one(Workspace, actor.workspace_id)
        moved = workspace.timezone != zone
        workspace.timezone, workspace.currency, workspace.utm_match = zone, code, utm_match
        workspace.settings_confirmed_at = func.now()  # saving them is confirming them
        session.flush()
        if moved:
            rollup.rebuild(session, actor.workspace_id)
            order_rollups.rebuild(session, actor.workspace_id)
        audit.record(
            session,
            actor,
            "workspace.update",
            workspace.name,
            timezone=zone,
            currency=code,
            utm_match=utm_match,
        )
    return moved


def set_fx_rate(actor: Actor, day: date, from_currency: str, rate: object) -> None:
    """Record one day's rate from `from_currency` into the workspace currency."""
    actor.require_admin("edit FX rates")
    value = validation.non_negative_number(rate, "the rate", maximum=MAX_RATE, places=RATE_PLACES)
    if value == 0:
        raise InvalidInputError("a rate of 0 would erase the money; enter the real rate")
    source = validation.currency_code(from_currency)
    day = validation.calendar_day(day, "the day")
    with transaction() as session:
        target = session.get_one(Workspace, actor.workspace_id).currency
        if source == target:
            raise InvalidInputError(f"{source} is the workspace currency already (rate 1)")
        statement = insert(FxRate).values(
            workspace_id=actor.workspace_id,
            day=day,
            from_currency=source,
            to_currency=target,
            rate=value,
        )
        session.execute(
            statement.on_conflict_do_update(
                index_elements=["workspace_id", "day", "from_currency", "to_currency"],
                set_={"rate": value},
            )
        )
        audit.record(session, actor, "fx.set", f"{source}->{target} {day}", rate=str(value))


def fx_rates(workspace_id: int, limit: int = 200) -> list[FxRate]:
    with new_session() as session:
        return list(
            session.scalars(
                select(FxRate)
                .where(FxRate.workspace_id == workspace_id)
                .order_by(FxRate.day.desc(), FxRate.from_currency)
                .limit(limit)
            )
        )


def costs(workspace_id: int) -> Costs:
    with new_session() as session:
        row = session.scalar(select(CostSettings).where(CostSettings.workspace_id == workspace_id))
    if row is None:
        return Costs(*(Decimal(0) for _ in COST_FIELDS))
    return Costs(*(getattr(row, f) for f in COST_FIELDS))


def update_costs(actor: Actor, **values: object) -> Costs:
    actor.require_admin("edit cost settings")
    checked = {
        f: validation.non_negative_number(values[f], COST_NAMES[f], percent=f.endswith("_pct"))
        for f in COST_FIELDS
    }
    # Saved, even unchanged, is reviewed: a 0 the admin left standing is their answer.
    saved = {**checked, "costs_reviewed_at": func.now()}
    with transaction() as session:
        statement = insert(CostSettings).values(workspace_id=actor.workspace_id, **saved)
        session.execute(
            statement.on_conflict_do_update(index_elements=["workspace_id"], set_=saved)
        )
        audit.record(
            session, actor, "costs.update", None, **{k: str(v) for k, v in checked.items()}
        )
    return Costs(**checked)
