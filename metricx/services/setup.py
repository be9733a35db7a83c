"""The setup checklist: what a merchant finishes before trusting profit.

Each step is read from the workspace's own rows: connections, the recorded review of the cost
settings and of zone and currency (defaults of 0 and a guessed zone look exactly like real
answers, so only "an admin saved them" counts), the share of units sold recently that carry a
unit cost, and whether the pixel is sending anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, exists, func, select

from metricx.db import new_session
from metricx.models import (
    Connection,
    CostSettings,
    PixelEvent,
    ShopifyOrder,
    ShopifyOrderLine,
    Workspace,
)
from metricx.platforms import AD_PROVIDERS, listing

UNIT_COST_DAYS = 30  # units sold in this many days decide the unit-cost coverage
PIXEL_DAYS = 7  # a pixel that sent nothing for this long is not working


@dataclass(frozen=True)
class UnitCostCoverage:
    """Units sold in the last UNIT_COST_DAYS (real orders only), and how many had a cost."""

    units: int
    costed: int

    @property
    def missing_share(self) -> float | None:
        """The fraction of units sold without a unit cost (their COGS counts as 0); None when
        nothing was sold."""
        return None if self.units == 0 else (self.units - self.costed) / self.units


@dataclass(frozen=True)
class Step:
    """One thing to finish. `where` names the page that fixes it ("connections",
    "settings"); `affects_profit` marks steps without which the profit figures are wrong."""

    id: str
    title: str
    done: bool
    why: str
    status: str
    where: str
    affects_profit: bool


@dataclass(frozen=True)
class Checklist:
    steps: tuple[Step, ...]
    costs_reviewed: bool
    unit_costs: UnitCostCoverage

    @property
    def done(self) -> int:
        return sum(step.done for step in self.steps)

    @property
    def complete(self) -> bool:
        return self.done == len(self.steps)

    @property
    def open_steps(self) -> list[Step]:
        return [step for step in self.steps if not step.done]

    @property
    def profit_overstated(self) -> bool:
        """Costs never reviewed, or units sold without a cost: profit leaves costs out."""
        return not self.costs_reviewed or bool(self.unit_costs.missing_share)


def unit_cost_coverage(workspace_id: int, now: datetime | None = None) -> UnitCostCoverage:
    since = (now or datetime.now(UTC)) - timedelta(days=UNIT_COST_DAYS)
    with new_session() as session:
        units, costed = session.execute(
            select(
                func.coalesce(func.sum(ShopifyOrderLine.quantity), 0),
                func.coalesce(
                    func.sum(ShopifyOrderLine.quantity).filter(
                        ShopifyOrderLine.unit_cost.is_not(None)
                    ),
                    0,
                ),
            )
            .join(
                ShopifyOrder,
                and_(
                    ShopifyOrder.id == ShopifyOrderLine.order_id,
                    ShopifyOrder.workspace_id == workspace_id,
                ),
            )
            .where(
                ShopifyOrderLine.workspace_id == workspace_id,
                ShopifyOrder.processed_at >= since,
                ShopifyOrder.cancelled_at.is_(None),
                ShopifyOrder.test.is_(False),
            )
        ).one()
    return UnitCostCoverage(int(units), int(costed))


def _unit_cost_status(coverage: UnitCostCoverage) -> str:
    if coverage.missing_share is None:
        return f"No units sold in the last {UNIT_COST_DAYS} days yet."
    return (
        f"{coverage.costed:,} of {coverage.units:,} units sold in the last "
        f"{UNIT_COST_DAYS} days have a unit cost ({coverage.costed / coverage.units:.0%})."
    )


def checklist(workspace_id: int, now: datetime | None = None) -> Checklist:
    """The workspace's setup steps, in the order a merchant would take them."""
    moment = now or datetime.now(UTC)
    with new_session() as session:
        workspace = session.get_one(Workspace, workspace_id)
        providers = set(
            session.scalars(
                select(Connection.provider).where(
                    Connection.workspace_id == workspace_id, Connection.status != "disconnected"
                )
            )
        )
        reviewed_at = session.scalar(
            select(CostSettings.costs_reviewed_at).where(CostSettings.workspace_id == workspace_id)
        )
        pixel_live = session.scalar(
            select(
                exists().where(
                    PixelEvent.workspace_id == workspace_id,
                    PixelEvent.received_at >= moment - timedelta(days=PIXEL_DAYS),
                )
            )
        )
    coverage = unit_cost_coverage(workspace_id, moment)
    has_ads = bool(providers & set(AD_PROVIDERS))
    steps = (
        Step(
            "ad_account",
            "Connect an ad account",
            has_ads,
            f"Ad spend comes from your {listing(AD_PROVIDERS, 'and', short=True)} ad accounts; "
            "without them profit leaves out what ads cost.",
            "Connected."
            if has_ads
            else f"No {listing(AD_PROVIDERS, short=True)} ad account connected.",
            "connections",
            True,
        ),
        Step(
            "store",
            "Connect your Shopify store",
            "shopify" in providers,
            "Orders, revenue and product costs come from the store.",
            "Connected." if "shopify" in providers else "No Shopify store connected.",
            "connections",
            True,
        ),
        Step(
            "costs",
            "Review shipping, payment fees and handling",
            reviewed_at is not None,
            "They default to 0, which leaves them out of profit; save them (0 included) "
            "once they are right.",
            "Reviewed." if reviewed_at else "Never saved: every cost counts as 0.",
            "settings",
            True,
        ),
        Step(
            "unit_costs",
            "Enter product unit costs",
            coverage.missing_share == 0,
            "COGS is unit cost × quantity; a product without a cost in Shopify (Products → "
            "variant → Cost per item) counts as free.",
            _unit_cost_status(coverage),
            "connections",
            True,
        ),
        Step(
            "zone_currency",
            "Confirm currency and time zone",
            workspace.settings_confirmed_at is not None,
            "Every day in a report is a day of this zone, and money is converted into this "
            "currency.",
            f"{workspace.currency} · {workspace.timezone}"
            + ("" if workspace.settings_confirmed_at else " (not confirmed yet)."),
            "settings",
            True,
        ),
        Step(
            "pixel",
            "Install the pixel",
            bool(pixel_live),
            "Attribution uses the pixel's page views and purchases beside Shopify's own "
            "journey data.",
            f"Events arrived in the last {PIXEL_DAYS} days."
            if pixel_live
            else f"No pixel event in the last {PIXEL_DAYS} days.",
            "settings",
            False,
        ),
    )
    return Checklist(steps, reviewed_at is not None, coverage)
