"""Attributed facts for the semantic layer: Σ credit and Σ credited revenue per (dimensions,
time bucket), read from `attributions` for one model × window × mode.

Only credits to ad entities count (a credit to an organic or email touch is not an ad's); an
entity can be a campaign, an ad set or an ad (UTMs may name only the campaign), so the tree
here starts from any level and leaves the finer levels empty ("(unknown)" when split by them).
Cash mode buckets a credit on the order's day, accrual on the touch's day; both in the
workspace's days and currency (order revenue converted at the rate of the credited day).
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from sqlalchemy import Case, Date, Select, and_, case, func, select
from sqlalchemy.orm import aliased

from metricx.models import Attribution, Connection, Entity, ShopifyOrder
from metricx.semantic import compiler
from metricx.semantic.dates import utc_bounds
from metricx.semantic.query import Attribution as AttributionSettings
from metricx.semantic.query import SemanticQuery, TimeRange

ATTRIBUTED_SUMS = ("attributed_orders", "attributed_revenue", "nc_attributed_revenue")
_LEVELS = ("ad", "adset", "campaign", "account")


def entity_tree(scope: compiler.Scope, creatives: bool = False) -> Select[Any]:
    """Every ad-side entity with the ids and names of itself and its ancestors per level
    (and, `creatives`, an ad's creative as compiler.with_creatives gives it: NULL for the
    other levels, which show no creative)."""
    chain = [aliased(Entity, name=n) for n in ("e0", "e1", "e2", "e3")]

    def at_level(level: str, column: str) -> Case[Any]:
        return case(*((node.level == level, getattr(node, column)) for node in chain))

    statement = (
        select(
            chain[0].id.label("entity_id"),
            *(at_level(level, "id").label(f"{level}_id") for level in _LEVELS),
            *(at_level(level, "name").label(f"{level}_name") for level in _LEVELS),
            Connection.provider.label("provider"),
        )
        .select_from(chain[0])
        .join(
            Connection,
            and_(
                Connection.id == chain[0].connection_id,
                Connection.workspace_id == scope.workspace_id,
            ),
        )
    )
    for child, parent in pairwise(chain):
        statement = statement.outerjoin(
            parent, and_(parent.id == child.parent_id, parent.workspace_id == scope.workspace_id)
        )
    statement = statement.where(chain[0].workspace_id == scope.workspace_id)
    if not creatives:
        return statement
    return compiler.with_creatives(statement, chain[0].creative_id, scope.workspace_id)


def attributed_statement(
    query: SemanticQuery, scope: compiler.Scope, span: TimeRange
) -> Select[Any]:
    """Attributed sums per (dimensions, bucket) over `span`, money in the workspace currency."""
    settings = query.attribution or AttributionSettings()
    tree = entity_tree(scope, compiler.Shape.of(query).reads_creatives).subquery("tree")
    start, end = utc_bounds(span, scope.timezone)
    local = func.timezone(scope.timezone, Attribution.credited_at)
    day = func.cast(local, Date)
    bucket = (
        func.date_trunc("hour", local)
        if query.grain == "hour"
        else compiler.bucket_of(query.grain, day)
    )
    fx, on, rate = compiler.fx_join(scope, day, ShopifyOrder.currency)
    money = Attribution.revenue * rate
    dimensions = compiler.dimension_columns(query, tree)
    return (
        select(
            *dimensions,
            bucket.label(compiler.BUCKET),
            func.sum(Attribution.credit).label("attributed_orders"),
            func.sum(money).label("attributed_revenue"),
            func.coalesce(func.sum(money).filter(ShopifyOrder.customer_order_index == 1), 0).label(
                "nc_attributed_revenue"
            ),
        )
        .select_from(Attribution)
        .join(
            ShopifyOrder,
            and_(
                ShopifyOrder.id == Attribution.order_id,
                ShopifyOrder.workspace_id == scope.workspace_id,
            ),
        )
        .join(tree, tree.c.entity_id == Attribution.entity_id)
        .outerjoin(fx, on)
        .where(
            Attribution.workspace_id == scope.workspace_id,
            Attribution.model == settings.model,
            Attribution.window_days == (settings.window_days or 0),
            Attribution.mode == settings.mode,
            Attribution.credited_at >= start,
            Attribution.credited_at < end,
            *compiler.tree_filters(query, tree),
        )
        .group_by(*dimensions, bucket)
    )
