"""SemanticQuery -> SQLAlchemy Core statements with bound parameters (never SQL text from a
person or a model).

Two fact sources are aggregated separately, each to (dimensions, time bucket), and only then
joined on the bucket, so store facts are never multiplied by a fan-out over ads:

- ad facts: metric_daily (workspace-local days) or, for hourly grain, metric_snapshots;
- store facts: Shopify orders (by processed day), refunds (by refund day) and first orders.

Days are the workspace's days. Money is converted to the workspace currency through fx_rates
(spend and value alike) at the rate of its day; a missing rate is found by `missing_rates`.
Every table is filtered on the workspace: the tenant line is drawn in SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import (
    Date,
    Select,
    and_,
    case,
    cast,
    false,
    func,
    literal,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import aliased

from metricx.errors import InvalidInputError
from metricx.models import (
    Connection,
    Entity,
    FxRate,
    MetricDaily,
    MetricSnapshot,
    ShopifyCustomer,
    ShopifyOrder,
    ShopifyRefund,
)
from metricx.semantic.dates import utc_bounds
from metricx.semantic.query import SemanticQuery, TimeRange

AD_SUMS = ("spend", "impressions", "clicks", "conversions", "conversion_value", "leads")
AD_MONEY = frozenset({"spend", "conversion_value"})
#: Raw store sums fetched by SQL; store metrics are formulas over them (see services.metrics).
STORE_SUMS = ("orders", "gross", "discounts", "shipping", "taxes", "cogs", "refunds",
              "new_customers")
STORE_METRICS = frozenset({"orders", "store_revenue", "net_sales", "refunds", "new_customers",
                           "cogs", "profit_before_ad_spend"})
BUCKET = "bucket"


@dataclass(frozen=True)
class Scope:
    """The workspace a query runs in: its id, its days' time zone, its reporting currency."""

    workspace_id: int
    timezone: str
    currency: str


class UnsupportedMetricError(InvalidInputError):
    """A metric the engine cannot answer yet (attribution lands with its own issue)."""


def _ad_tree(scope: Scope) -> Select:
    """Every ad of the workspace with its ancestors' ids and names, platform and currency."""
    ad, adset, campaign, account = (aliased(Entity, name=n)
                                    for n in ("ad", "adset", "campaign", "account"))
    return (
        select(ad.id.label("ad_id"), ad.name.label("ad_name"),
               adset.id.label("adset_id"), adset.name.label("adset_name"),
               campaign.id.label("campaign_id"), campaign.name.label("campaign_name"),
               account.id.label("account_id"), account.name.label("account_name"),
               Connection.provider.label("provider"),
               func.coalesce(Connection.currency, scope.currency).label("currency"))
        .select_from(ad)
        .join(Connection, and_(Connection.id == ad.connection_id,
                               Connection.workspace_id == scope.workspace_id))
        .outerjoin(adset, and_(adset.id == ad.parent_id, adset.workspace_id == scope.workspace_id))
        .outerjoin(campaign, and_(campaign.id == adset.parent_id,
                                  campaign.workspace_id == scope.workspace_id))
        .outerjoin(account, and_(account.id == campaign.parent_id,
                                 account.workspace_id == scope.workspace_id))
        .where(ad.workspace_id == scope.workspace_id, ad.level == "ad")
    )


def _fx(scope: Scope, day, currency, name: str = "fx"):
    """(fx alias, its join condition, the rate): the rate of `currency` into the workspace
    currency on `day`, 1 when they are equal. Joined (not a per-row subquery): one hash join."""
    fx = aliased(FxRate, name=name)
    on = and_(fx.workspace_id == scope.workspace_id, fx.day == day,
              fx.from_currency == currency, fx.to_currency == scope.currency)
    return fx, on, case((currency == scope.currency, literal(1)), else_=fx.rate)


def _bucket(grain: str | None, day, hour=None):
    if grain == "hour":
        return hour
    if grain == "day":
        return day
    if grain in ("week", "month"):
        return cast(func.date_trunc(grain, day), Date)
    return literal("total")


def _name_filter(query: SemanticQuery, tree) -> object:
    """name_contains applies to the finest entity dimension asked for, else the campaign."""
    text = query.filters.name_contains
    if not text:
        return true()
    levels = [d for d in query.dimensions if d != "provider"]
    level = levels[-1] if levels else "campaign"
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return tree.c[f"{level}_name"].ilike(pattern, escape="\\")


def _tree_filters(query: SemanticQuery, tree) -> list:
    filters = [_name_filter(query, tree)]
    if query.filters.provider:
        filters.append(tree.c.provider.in_(query.filters.provider))
    if query.filters.entity_ids:
        ids = query.filters.entity_ids
        filters.append(or_(*(tree.c[f"{level}_id"].in_(ids)
                             for level in ("ad", "adset", "campaign", "account"))))
    return filters


def _dimension_columns(query: SemanticQuery, tree) -> list:
    columns = []
    for dimension in query.dimensions:
        if dimension == "provider":
            columns.append(tree.c.provider.label("provider"))
        else:
            columns.append(func.coalesce(tree.c[f"{dimension}_name"], "(unknown)")
                           .label(dimension))
            columns.append(tree.c[f"{dimension}_id"].label(f"{dimension}_id"))
    return columns


def ad_statement(query: SemanticQuery, scope: Scope, span: TimeRange,
                 sums: tuple[str, ...]) -> Select:
    """Ad sums per (dimensions, bucket) over `span`, money in the workspace currency."""
    tree = _ad_tree(scope).subquery("tree")
    if query.grain == "hour":
        facts = MetricSnapshot
        start, end = utc_bounds(span, scope.timezone)
        local = func.timezone(scope.timezone, facts.bucket_start)
        day = cast(local, Date)
        bucket = func.date_trunc("hour", local)
        in_range = and_(facts.bucket_start >= start, facts.bucket_start < end)
    else:
        facts = MetricDaily
        day = facts.day
        bucket = _bucket(query.grain, day)
        in_range = facts.day.between(span.start, span.end)
    fx, on, rate = _fx(scope, day, tree.c.currency)
    measures = [func.sum(getattr(facts, name) * rate if name in AD_MONEY
                         else getattr(facts, name)).label(name) for name in sums]
    dimensions = _dimension_columns(query, tree)
    group = [*dimensions, bucket.label(BUCKET)]
    return (select(*group, *measures)
            .select_from(facts)
            .join(tree, tree.c.ad_id == facts.entity_id)
            .outerjoin(fx, on)
            .where(facts.workspace_id == scope.workspace_id, in_range,
                   *_tree_filters(query, tree))
            .group_by(*(c for c in dimensions), bucket))


def missing_rates(query: SemanticQuery, scope: Scope, span: TimeRange) -> Select:
    """(currency, day) pairs with ad money in `span` but no rate into the workspace currency."""
    tree = _ad_tree(scope).subquery("tree")
    fx, on, _rate = _fx(scope, MetricDaily.day, tree.c.currency)
    ads = (select(tree.c.currency, MetricDaily.day)
           .join(tree, tree.c.ad_id == MetricDaily.entity_id)
           .outerjoin(fx, on)
           .where(MetricDaily.workspace_id == scope.workspace_id,
                  MetricDaily.day.between(span.start, span.end),
                  tree.c.currency != scope.currency, fx.rate.is_(None),
                  *_tree_filters(query, tree)))
    return ads.distinct().order_by(tree.c.currency, MetricDaily.day)


def _local_day(column, scope: Scope):
    return cast(func.timezone(scope.timezone, column), Date)


def store_statement(query: SemanticQuery, scope: Scope, span: TimeRange) -> Select:
    """Raw store sums per bucket over `span` (workspace days, workspace currency)."""
    start, end = utc_bounds(span, scope.timezone)
    order_day = _local_day(ShopifyOrder.processed_at, scope)
    order_fx, order_on, order_rate = _fx(scope, order_day, ShopifyOrder.currency)
    live = ShopifyOrder.cancelled_at.is_(None)

    def money(column):
        return func.sum(case((live, column * order_rate), else_=0))

    orders = (select(_bucket(query.grain, order_day).label(BUCKET),
                     func.count().filter(live).label("orders"),
                     money(ShopifyOrder.gross_sales).label("gross"),
                     money(ShopifyOrder.discounts).label("discounts"),
                     money(ShopifyOrder.shipping).label("shipping"),
                     money(ShopifyOrder.taxes).label("taxes"),
                     money(ShopifyOrder.cogs).label("cogs"),
                     literal(0).label("refunds"), literal(0).label("new_customers"))
              .outerjoin(order_fx, order_on)
              .where(ShopifyOrder.workspace_id == scope.workspace_id,
                     ShopifyOrder.processed_at >= start, ShopifyOrder.processed_at < end,
                     ShopifyOrder.test.is_(false()))
              .group_by(BUCKET))
    refund_day = _local_day(ShopifyRefund.created_at, scope)
    refund_fx, refund_on, refund_rate = _fx(scope, refund_day, ShopifyOrder.currency, "rfx")
    refunds = (select(_bucket(query.grain, refund_day).label(BUCKET),
                      *(literal(0).label(c) for c in STORE_SUMS[:6]),
                      func.sum(ShopifyRefund.amount * refund_rate).label("refunds"),
                      literal(0).label("new_customers"))
               .join(ShopifyOrder, and_(ShopifyOrder.id == ShopifyRefund.order_id,
                                        ShopifyOrder.workspace_id == scope.workspace_id))
               .outerjoin(refund_fx, refund_on)
               .where(ShopifyRefund.workspace_id == scope.workspace_id,
                      ShopifyRefund.created_at >= start, ShopifyRefund.created_at < end,
                      ShopifyOrder.test.is_(false()))
               .group_by(BUCKET))
    first_day = _local_day(ShopifyCustomer.first_order_at, scope)
    customers = (select(_bucket(query.grain, first_day).label(BUCKET),
                        *(literal(0).label(c) for c in STORE_SUMS[:7]),
                        func.count().label("new_customers"))
                 .where(ShopifyCustomer.workspace_id == scope.workspace_id,
                        ShopifyCustomer.first_order_at >= start,
                        ShopifyCustomer.first_order_at < end)
                 .group_by(BUCKET))
    parts = union_all(orders, refunds, customers).subquery("store_parts")
    return (select(parts.c[BUCKET], *(func.sum(parts.c[c]).label(c) for c in STORE_SUMS))
            .group_by(parts.c[BUCKET]))


def buckets(grain: str | None, span: TimeRange) -> list[date] | None:
    """Every day/week/month bucket of a span, so empty buckets show as zero (None for hour
    grain and for no grain, where the rows that exist are the rows)."""
    if grain not in ("day", "week", "month"):
        return None
    days = [span.start + timedelta(days=i) for i in range(span.days)]
    if grain == "day":
        return days
    if grain == "week":
        return sorted({d - timedelta(days=d.weekday()) for d in days})
    return sorted({d.replace(day=1) for d in days})
