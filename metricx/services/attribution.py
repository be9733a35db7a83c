"""Attribution for pages and the CLI: where orders came from, where numbers disagree, and
what is tagged badly.

- `channel_breakdown`: every order of a range split over channels by one model and window
  (cash mode: on the order's day), with an "unattributed" row, so the rows add up to the
  store's orders and revenue.
- `reconciliation`: per platform, what the platform reports (its own conversions, which
  double count across platforms) beside what the attribution model credits it, beside the
  store's totals; `summary()` says in one sentence how the claims compare with the orders,
  `revenue_summary()` why the store revenue here differs from the Dashboard's.
- `utm_hygiene`: campaigns and ads that spend but never appear in any order's journey, and
  paid visits whose UTMs match no entity.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import pandas as pd
from sqlalchemy import Date, Select, and_, cast, func, select, text

from metricx.actor import Actor
from metricx.attribution.channels import CHANNEL_LABELS
from metricx.attribution.compute import live_orders, order_returns_sql, order_revenue_sql
from metricx.db import get_reader, transaction
from metricx.jobs import enqueue_attribution
from metricx.models import Attribution, CustomerJourney, ShopifyOrder, Touchpoint
from metricx.platforms import short_name
from metricx.semantic.attributed import entity_tree
from metricx.semantic.catalogue import format_value
from metricx.semantic.compiler import Scope
from metricx.semantic.dates import utc_bounds
from metricx.semantic.engine import run_query
from metricx.semantic.query import Attribution as AttributionSettings
from metricx.semantic.query import TimeRange
from metricx.services import audit
from metricx.services.workspaces import find_workspace
from metricx.vocabulary import AD_PROVIDERS

#: reconciliation columns: metric id → column name
RECONCILED = {
    "spend": "spend",
    "conversions": "platform_conversions",
    "conversion_value": "platform_value",
    "attributed_orders": "attributed_orders",
    "attributed_revenue": "attributed_revenue",
}
#: Claims within this share of the store's orders count as "about as many".
ABOUT_EQUAL = 0.02


def _scope(workspace_id: int) -> Scope:
    return Scope.of(find_workspace(workspace_id))


def _frame(statement: Select[*tuple[Any, ...]]) -> pd.DataFrame:
    with get_reader().connect() as conn:
        result = conn.execute(statement)
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


class StoreTotals(NamedTuple):
    """The orders placed in a range, as attribution counts them (in the order currency)."""

    orders: float
    revenue: float  # net sales after each order's refunds so far, plus shipping kept
    refunded: float  # goods and shipping refunded so far on these orders, whenever issued


def _store_totals(scope: Scope, span: TimeRange) -> StoreTotals:
    start, end = utc_bounds(span, scope.timezone)
    row = _frame(
        select(
            func.count().label("orders"),
            func.coalesce(func.sum(order_revenue_sql()), 0).label("revenue"),
            func.coalesce(func.sum(order_returns_sql()), 0).label("refunded"),
        ).where(
            ShopifyOrder.workspace_id == scope.workspace_id,
            *live_orders(),
            ShopifyOrder.processed_at >= start,
            ShopifyOrder.processed_at < end,
        )
    )
    return StoreTotals(*(float(row[column][0]) for column in StoreTotals._fields))


class DashboardDeductions(NamedTuple):
    """What the Dashboard's store revenue takes off in a range, besides what attribution does
    (in the order currency; metricx.sync.rollup counts it so)."""

    refunds_issued: float  # goods and shipping refunded in the range, whatever the order's day
    cancelled: float  # cancelled orders' sales placed in the range less their returns in it


_DASHBOARD_DEDUCTIONS = text("""
    WITH o AS (SELECT o.*, (SELECT coalesce(sum(r.sales + r.shipping), 0) FROM shopify_refunds r
                            WHERE r.order_id = o.id) AS returned
               FROM shopify_orders o WHERE o.workspace_id = :ws AND NOT o.test)
    SELECT (SELECT coalesce(sum(r.sales + r.shipping), 0) FROM shopify_refunds r
            JOIN o ON o.id = r.order_id WHERE r.created_at >= :lo AND r.created_at < :hi),
           (SELECT coalesce(sum(gross_sales - discounts + shipping), 0) FROM o
            WHERE cancelled_at IS NOT NULL AND processed_at >= :lo AND processed_at < :hi)
         - (SELECT coalesce(sum(gross_sales - discounts + shipping - returned), 0) FROM o
            WHERE cancelled_at >= :lo AND cancelled_at < :hi)""")


def _dashboard_deductions(scope: Scope, span: TimeRange) -> DashboardDeductions:
    lo, hi = utc_bounds(span, scope.timezone)
    with get_reader().connect() as conn:
        row = conn.execute(
            _DASHBOARD_DEDUCTIONS, {"ws": scope.workspace_id, "lo": lo, "hi": hi}
        ).one()
    return DashboardDeductions(*(float(value) for value in row))


def channel_breakdown(
    workspace_id: int, span: TimeRange, settings: AttributionSettings | None = None
) -> pd.DataFrame:
    """Orders and revenue credited per channel (and platform) for orders placed in `span`;
    the last row is what no touch in the window explains. Amounts in the order currency
    summed as-is: attribution reconciles against the store, which sells in one currency."""
    scope, settings = _scope(workspace_id), settings or AttributionSettings()
    start, end = utc_bounds(span, scope.timezone)
    tree = entity_tree(scope).subquery("tree")
    credited = _frame(
        select(
            Touchpoint.channel,
            tree.c.provider,
            func.sum(Attribution.credit).label("orders"),
            func.sum(Attribution.revenue).label("revenue"),
        )
        .select_from(Attribution)
        .join(
            Touchpoint,
            and_(
                Touchpoint.id == Attribution.touchpoint_id, Touchpoint.workspace_id == workspace_id
            ),
        )
        .outerjoin(tree, tree.c.entity_id == Attribution.entity_id)
        .where(
            Attribution.workspace_id == workspace_id,
            Attribution.model == settings.model,
            Attribution.window_days == (settings.window_days or 0),
            Attribution.mode == "cash",
            Attribution.credited_at >= start,
            Attribution.credited_at < end,
        )
        .group_by(Touchpoint.channel, tree.c.provider)
        .order_by(Touchpoint.channel, tree.c.provider)
    )
    credited["orders"] = credited["orders"].astype(float)
    credited["revenue"] = credited["revenue"].astype(float)
    orders, revenue, _ = _store_totals(scope, span)
    rest = pd.DataFrame(
        [
            {
                "channel": "unattributed",
                "provider": None,
                "orders": orders - credited["orders"].sum(),
                "revenue": revenue - credited["revenue"].sum(),
            }
        ]
    )
    frame = pd.concat([credited, rest], ignore_index=True) if len(credited) else rest
    frame["label"] = [
        CHANNEL_LABELS.get(c, "Unattributed (no touch in the window)")
        + (f" · {short_name(p)}" if isinstance(p, str) else "")
        for c, p in zip(frame["channel"], frame["provider"], strict=True)
    ]
    return frame[["label", "channel", "provider", "orders", "revenue"]]


@dataclass(frozen=True)
class Reconciliation:
    """What the platforms claim beside what the store has, for orders placed in a range.

    `store_revenue` counts revenue as attribution does: each live order's net sales and
    shipping less its own refunds so far (`order_refunds`), in the order currency. The
    Dashboard's store revenue metric (`dashboard_revenue`) subtracts the refunds issued in the
    range instead, whatever day their order was placed (`refunds_issued`), counts cancelled
    orders as sales on their day and returns on their cancel day (`cancelled`: the net of
    both in the range), and converts into the workspace currency at each day's rate."""

    platforms: pd.DataFrame  # per platform: reported vs attributed
    store_orders: float
    store_revenue: float
    settings: AttributionSettings
    currency: str
    order_refunds: float
    dashboard_revenue: float
    refunds_issued: float
    cancelled: float = 0.0
    purchases_withheld: str | None = None  # why platform purchases are unknown (part of a day)

    @property
    def claimed(self) -> float:
        """Purchases the platforms report together (each counts orders others claim too)."""
        return float(self.platforms["platform_conversions"].sum())

    def summary(self) -> str:
        """How the platforms' purchases compare with the store's orders, in one sentence."""
        if self.purchases_withheld:
            return f"The platforms' purchases are {self.purchases_withheld}."
        claimed, orders = self.claimed, self.store_orders
        counts = f"({claimed:,.0f} against {orders:,.0f} Shopify orders)"
        if claimed == 0 and orders == 0:
            return "Neither the platforms nor the store recorded a purchase in these days."
        if abs(claimed - orders) <= ABOUT_EQUAL * orders:
            return (
                f"The platforms report about as many purchases as the store has orders "
                f"{counts}; that need not mean they agree: each platform also claims "
                "orders another platform claims, while attribution gives each order out "
                "once."
            )
        if claimed > orders:
            return (
                f"The platforms report more purchases than the store sold {counts}: each "
                "platform counts view-through and cross-device conversions and claims "
                "orders another platform also claims; attribution gives each order out "
                "once."
            )
        return (
            f"The platforms report fewer purchases than the store has orders {counts}: "
            "the rest came from other channels (organic, email, direct) or were not "
            "tracked."
        )

    def revenue_summary(self) -> str:
        """Why this store revenue differs from the Dashboard's, with both amounts."""

        def money(amount: float) -> str:
            return format_value("store_revenue", amount, self.currency)

        both = f"{money(self.store_revenue)} vs {money(self.dashboard_revenue)}"
        if round(self.store_revenue, 2) == round(self.dashboard_revenue, 2):
            return (
                f"This is the Dashboard's store revenue too ({money(self.store_revenue)}): "
                "net sales plus shipping, taxes excluded."
            )
        # Whatever the refunds do not explain is the currency conversion (attribution sums
        # each order in its own currency; the metric engine converts at each day's rate).
        converted = (
            (self.dashboard_revenue - self.store_revenue)
            - (self.order_refunds - self.refunds_issued)
            - self.cancelled
        )
        cancelled = (
            f"; it also counts cancelled orders as sold on their day and returned on "
            f"the day they were cancelled ({money(self.cancelled)} net in these days)"
            if abs(self.cancelled) >= 0.005
            else ""
        )
        conversion = (
            f"; and the Dashboard converts other currencies at each day's rate "
            f"({money(abs(converted))} of the difference)"
            if abs(converted) >= 0.005
            else ""
        )
        return (
            f"Attributed revenue counts each order placed in these days less what has been "
            f"refunded on it so far ({money(self.order_refunds)}); the Dashboard's store "
            f"revenue counts the same orders less the refunds issued in these days, "
            f"whatever day their order was placed ({money(self.refunds_issued)})"
            f"{cancelled}{conversion}: {both}."
        )


def reconciliation(
    workspace_id: int, span: TimeRange, settings: AttributionSettings | None = None
) -> Reconciliation:
    """Per platform: platform-reported conversions and value, orders and revenue the model
    credits to its ads, and the gap between the two (cash mode, orders placed in `span`)."""
    settings = (settings or AttributionSettings()).model_copy(update={"mode": "cash"})
    query = {
        "metrics": [
            "conversions",
            "conversion_value",
            "attributed_orders",
            "attributed_revenue",
            "spend",
        ],
        "time_range": span.model_dump(mode="json"),
        "dimensions": ["provider"],
        "attribution": settings.model_dump(mode="json"),
    }
    result = run_query(workspace_id, query)
    # A platform not connected has nothing (0); conversions of part of a day that the engine
    # withheld stay unknown (NaN), never 0.
    platforms = (
        result.frame.set_index("provider")[list(RECONCILED)]
        .astype(float)
        .reindex(list(AD_PROVIDERS), fill_value=0.0)
    )
    known = [column for column in RECONCILED if column not in result.withheld]
    platforms[known] = platforms[known].fillna(0.0)
    platforms = platforms.rename(columns=RECONCILED).rename_axis("platform").reset_index()
    platforms["over_claim"] = platforms["platform_conversions"] / platforms[
        "attributed_orders"
    ].where(platforms["attributed_orders"] != 0)
    scope = _scope(workspace_id)
    store, deducted = _store_totals(scope, span), _dashboard_deductions(scope, span)
    dashboard = run_query(
        workspace_id, {"metrics": ["store_revenue"], "time_range": span.model_dump(mode="json")}
    ).frame
    return Reconciliation(
        platforms,
        store.orders,
        store.revenue,
        settings,
        scope.currency,
        store.refunded,
        float(dashboard["store_revenue"].iloc[0]),
        deducted.refunds_issued,
        deducted.cancelled,
        result.withheld.get("conversions"),
    )


@dataclass(frozen=True)
class Hygiene:
    silent_campaigns: pd.DataFrame  # spend in the range, never in any journey
    silent_ads: pd.DataFrame
    unmatched_utms: pd.DataFrame  # paid visits whose UTMs match no entity


def _seen(workspace_id: int, level: str) -> set[int]:
    """Ids of `level` entities that some touchpoint points at (itself or a finer entity)."""
    tree = entity_tree(_scope(workspace_id)).subquery("tree")
    frame = _frame(
        select(tree.c[f"{level}_id"].label("id"))
        .distinct()
        .select_from(Touchpoint)
        .join(tree, tree.c.entity_id == Touchpoint.entity_id)
        .where(Touchpoint.workspace_id == workspace_id)
    )
    return {int(i) for i in frame["id"].dropna()}


def utm_hygiene(workspace_id: int, span: TimeRange) -> Hygiene:
    silent = {}
    for level in ("campaign", "ad"):
        spending = run_query(
            workspace_id,
            {
                "metrics": ["spend"],
                "time_range": span.model_dump(mode="json"),
                "dimensions": ["provider", level],
                "order_by": {"metric": "spend", "direction": "desc"},
            },
        ).frame
        spending = spending[spending["spend"] > 0]
        silent[level] = spending[
            ~spending[f"{level}_id"].isin(_seen(workspace_id, level))
        ].reset_index(drop=True)
    unmatched = _frame(
        select(
            Touchpoint.channel,
            Touchpoint.utm_source,
            Touchpoint.utm_medium,
            Touchpoint.utm_campaign,
            func.count(func.distinct(CustomerJourney.order_id)).label("orders"),
            cast(func.max(Touchpoint.occurred_at), Date).label("last_seen"),
        )
        .join(CustomerJourney, CustomerJourney.id == Touchpoint.journey_id)
        .where(
            Touchpoint.workspace_id == workspace_id,
            Touchpoint.channel.in_(("paid_social", "paid_search")),
            Touchpoint.entity_id.is_(None),
        )
        .group_by(
            Touchpoint.channel,
            Touchpoint.utm_source,
            Touchpoint.utm_medium,
            Touchpoint.utm_campaign,
        )
        .order_by(func.count(func.distinct(CustomerJourney.order_id)).desc())
    )
    return Hygiene(silent["campaign"], silent["ad"], unmatched)


def request_recompute(actor: Actor) -> str:
    """Queue a full recomputation of the workspace's attributions; returns the job id."""
    actor.require_admin("recompute attribution")
    job_id = enqueue_attribution(actor.workspace_id)
    with transaction() as session:
        audit.record(session, actor, "attribution.recompute", f"job {job_id}")
    return job_id
