"""Attribution for pages and the CLI: where orders came from, where numbers disagree, and
what is tagged badly.

- `channel_breakdown`: every order of a range split over channels by one model and window
  (cash mode: on the order's day), with an "unattributed" row, so the rows add up to the
  store's orders and revenue.
- `reconciliation`: per platform, what the platform reports (its own conversions, which
  double count across platforms) beside what the attribution model credits it, beside the
  store's totals.
- `utm_hygiene`: campaigns and ads that spend but never appear in any order's journey, and
  paid visits whose UTMs match no entity.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Date, and_, cast, func, select

from metricx.actor import Actor
from metricx.attribution.channels import CHANNEL_LABELS
from metricx.attribution.compute import live_orders, order_revenue_sql
from metricx.db import get_reader, transaction
from metricx.models import Attribution, CustomerJourney, ShopifyOrder, Touchpoint
from metricx.queue import get_queue
from metricx.semantic.attributed import entity_tree
from metricx.semantic.compiler import Scope
from metricx.semantic.dates import utc_bounds
from metricx.semantic.query import Attribution as AttributionSettings
from metricx.semantic.query import TimeRange
from metricx.services import audit
from metricx.services.metrics import run_query
from metricx.services.workspaces import find_workspace

ATTRIBUTE_JOB = "workers.jobs.attribute_workspace"
PLATFORMS = ("meta", "google")
#: reconciliation columns: metric id → column name
RECONCILED = {"spend": "spend", "conversions": "platform_conversions",
              "conversion_value": "platform_value", "attributed_orders": "attributed_orders",
              "attributed_revenue": "attributed_revenue"}


def _scope(workspace_id: int) -> Scope:
    return Scope.of(find_workspace(workspace_id))


def _frame(statement) -> pd.DataFrame:
    with get_reader().connect() as conn:
        result = conn.execute(statement)
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def _store_totals(scope: Scope, span: TimeRange) -> tuple[float, float]:
    """(orders, order revenue) of the range, as attribution counts revenue."""
    start, end = utc_bounds(span, scope.timezone)
    row = _frame(select(func.count().label("orders"),
                        func.coalesce(func.sum(order_revenue_sql()), 0).label("revenue"))
                 .where(ShopifyOrder.workspace_id == scope.workspace_id, *live_orders(),
                        ShopifyOrder.processed_at >= start, ShopifyOrder.processed_at < end))
    return float(row.orders[0]), float(row.revenue[0])


def channel_breakdown(workspace_id: int, span: TimeRange,
                      settings: AttributionSettings | None = None) -> pd.DataFrame:
    """Orders and revenue credited per channel (and platform) for orders placed in `span`;
    the last row is what no touch in the window explains. Amounts in the order currency
    summed as-is: attribution reconciles against the store, which sells in one currency."""
    scope, settings = _scope(workspace_id), settings or AttributionSettings()
    start, end = utc_bounds(span, scope.timezone)
    tree = entity_tree(scope).subquery("tree")
    credited = _frame(
        select(Touchpoint.channel, tree.c.provider,
               func.sum(Attribution.credit).label("orders"),
               func.sum(Attribution.revenue).label("revenue"))
        .select_from(Attribution)
        .join(Touchpoint, and_(Touchpoint.id == Attribution.touchpoint_id,
                               Touchpoint.workspace_id == workspace_id))
        .outerjoin(tree, tree.c.entity_id == Attribution.entity_id)
        .where(Attribution.workspace_id == workspace_id, Attribution.model == settings.model,
               Attribution.window_days == (settings.window_days or 0),
               Attribution.mode == "cash",
               Attribution.credited_at >= start, Attribution.credited_at < end)
        .group_by(Touchpoint.channel, tree.c.provider)
        .order_by(Touchpoint.channel, tree.c.provider))
    credited["orders"] = credited["orders"].astype(float)
    credited["revenue"] = credited["revenue"].astype(float)
    orders, revenue = _store_totals(scope, span)
    rest = pd.DataFrame([{"channel": "unattributed", "provider": None,
                          "orders": orders - credited["orders"].sum(),
                          "revenue": revenue - credited["revenue"].sum()}])
    frame = pd.concat([credited, rest], ignore_index=True) if len(credited) else rest
    frame["label"] = [CHANNEL_LABELS.get(c, "Unattributed (no touch in the window)")
                      + (f" · {p.capitalize()}" if isinstance(p, str) else "")
                      for c, p in zip(frame["channel"], frame["provider"], strict=True)]
    return frame[["label", "channel", "provider", "orders", "revenue"]]


@dataclass(frozen=True)
class Reconciliation:
    platforms: pd.DataFrame  # per platform: reported vs attributed
    store_orders: float
    store_revenue: float
    settings: AttributionSettings


def reconciliation(workspace_id: int, span: TimeRange,
                   settings: AttributionSettings | None = None) -> Reconciliation:
    """Per platform: platform-reported conversions and value, orders and revenue the model
    credits to its ads, and the gap between the two (cash mode, orders placed in `span`)."""
    settings = (settings or AttributionSettings()).model_copy(update={"mode": "cash"})
    query = {"metrics": ["conversions", "conversion_value", "attributed_orders",
                         "attributed_revenue", "spend"],
             "time_range": span.model_dump(mode="json"), "dimensions": ["provider"],
             "attribution": settings.model_dump(mode="json")}
    by_provider = run_query(workspace_id, query).frame.set_index("provider")
    platforms = (by_provider.reindex(list(PLATFORMS))[list(RECONCILED)].astype(float).fillna(0.0)
                 .rename(columns=RECONCILED).rename_axis("platform").reset_index())
    platforms["over_claim"] = (platforms["platform_conversions"]
                               / platforms["attributed_orders"].where(
                                   platforms["attributed_orders"] != 0))
    orders, revenue = _store_totals(_scope(workspace_id), span)
    return Reconciliation(platforms, orders, revenue, settings)


@dataclass(frozen=True)
class Hygiene:
    silent_campaigns: pd.DataFrame  # spend in the range, never in any journey
    silent_ads: pd.DataFrame
    unmatched_utms: pd.DataFrame  # paid visits whose UTMs match no entity


def _seen(workspace_id: int, level: str) -> set[int]:
    """Ids of `level` entities that some touchpoint points at (itself or a finer entity)."""
    tree = entity_tree(_scope(workspace_id)).subquery("tree")
    frame = _frame(select(tree.c[f"{level}_id"].label("id")).distinct()
                   .select_from(Touchpoint).join(tree, tree.c.entity_id == Touchpoint.entity_id)
                   .where(Touchpoint.workspace_id == workspace_id))
    return {int(i) for i in frame["id"].dropna()}


def utm_hygiene(workspace_id: int, span: TimeRange) -> Hygiene:
    silent = {}
    for level in ("campaign", "ad"):
        spending = run_query(workspace_id, {
            "metrics": ["spend"], "time_range": span.model_dump(mode="json"),
            "dimensions": ["provider", level],
            "order_by": {"metric": "spend", "direction": "desc"}}).frame
        spending = spending[spending["spend"] > 0]
        silent[level] = spending[~spending[f"{level}_id"].isin(_seen(workspace_id, level))] \
            .reset_index(drop=True)
    unmatched = _frame(
        select(Touchpoint.channel, Touchpoint.utm_source, Touchpoint.utm_medium,
               Touchpoint.utm_campaign,
               func.count(func.distinct(CustomerJourney.order_id)).label("orders"),
               cast(func.max(Touchpoint.occurred_at), Date).label("last_seen"))
        .join(CustomerJourney, CustomerJourney.id == Touchpoint.journey_id)
        .where(Touchpoint.workspace_id == workspace_id,
               Touchpoint.channel.in_(("paid_social", "paid_search")),
               Touchpoint.entity_id.is_(None))
        .group_by(Touchpoint.channel, Touchpoint.utm_source, Touchpoint.utm_medium,
                  Touchpoint.utm_campaign)
        .order_by(func.count(func.distinct(CustomerJourney.order_id)).desc()))
    return Hygiene(silent["campaign"], silent["ad"], unmatched)


def request_recompute(actor: Actor) -> str:
    """Queue a full recomputation of the workspace's attributions; returns the job id."""
    actor.require_admin("recompute attribution")
    job = get_queue("low").enqueue(ATTRIBUTE_JOB, actor.workspace_id,
                                   description="attribution recomputation", job_timeout=3600)
    with transaction() as session:
        audit.record(session, actor, "attribution.recompute", f"job {job.id}")
    return job.id
