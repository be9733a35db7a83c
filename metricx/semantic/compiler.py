"""SemanticQuery -> SQLAlchemy Core statements with bound parameters (never SQL text from a
person or a model).

A statement is built from a query's `Shape` alone (dimensions, grain, which filters, which
sums) with named placeholders for every value (workspace, zone, currency, dates, filter
values; `Binds`), so it is built and compiled once per shape and reused (`query_statement`);
`query_params` gives the values of one query.

Three fact sources are aggregated separately, each to (dimensions, time bucket), and only
then joined on the bucket, so store and email facts are never multiplied by a fan-out over
ads:

- ad facts: the coarsest rollup that can answer the query (`ad_source`): per connection, per
  campaign, per ad (all per workspace-local day), or for hourly grain and for a period cut at
  a clock time (`TimeRange.until`) the snapshot rows; a split or filter by the ads' creative
  (and a sum restricted to video creatives) reads per-ad rows, each joined to its creative;
- store facts: store_daily (per workspace-local day and currency), or for hourly grain and a
  cut period the Shopify orders (by processed time), refunds (by refund time), cancellations
  (by cancel time) and first orders, counted alike (metricx.sync.rollup);
- email facts: email_daily (per send day in the email account's zone, the day the platform
  reports a send and its attributed orders under; per message, channel and currency), daily
  only: no hourly rows, and a period cut at a clock time leaves its last day's figures
  out of the engine's result (metricx.semantic.engine) rather than cutting them.

A cut period keeps the snapshot buckets that start before the cut (15 minutes for recent
days, an hour after the nightly compaction) and the store rows before the cut instant. Meta
reports conversions and video plays per day only (`DAILY_CONVERSIONS`, metricx.totals.PER_DAY):
they sit in the bucket where the sync saw them or in the day's last hour, so a bucket of the
result whose such figures the cut leaves out cannot be told apart; its ad facts count those
rows as `WITHHELD` and the engine leaves the metrics built on them empty instead of
undercounting them.

Days are the workspace's days. A rollup is summed per key and bucket before names and
currencies are joined to it (per day only where its money is in another currency), and only
those sums are converted to the workspace currency through fx_rates (spend and value alike,
at the rate of their day); each source comes with a statement listing the (currency, day)
pairs that have money but no rate. Every table is filtered on the workspace: the tenant line
is drawn in SQL. Every source of both periods and their rate checks run as one statement
(UNION ALL): one round trip. A top N over ad facts alone is ranked and cut in SQL
(`ranks_in_sql`), in the order the engine would give.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any, Literal

from sqlalchemy import (
    BigInteger,
    BindParameter,
    Case,
    ColumnElement,
    CompoundSelect,
    Date,
    DateTime,
    Float,
    Function,
    Integer,
    Label,
    Select,
    String,
    Subquery,
    and_,
    bindparam,
    case,
    cast,
    false,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import QueryableAttribute, aliased
from sqlalchemy.types import TypeEngine

from metricx.models import (
    Connection,
    Creative,
    EmailDaily,
    Entity,
    FxRate,
    MetricDaily,
    MetricDailyCampaign,
    MetricDailyConnection,
    MetricSnapshot,
    ShopifyCustomer,
    ShopifyOrder,
    ShopifyRefund,
    StoreDaily,
    Workspace,
)
from metricx.platforms import DAILY_CONVERSIONS, VIDEO_FACTS
from metricx.semantic import evaluate
from metricx.semantic.catalogue import CREATIVE_FORMAT_KEY
from metricx.semantic.custom import CustomDimension
from metricx.semantic.dates import utc_bounds
from metricx.semantic.expression import Expression, restriction_of
from metricx.semantic.query import NO_CREATIVE, SemanticQuery, TimeRange
from metricx.totals import METRIC_COLUMNS, PER_DAY

AD_SUMS = METRIC_COLUMNS
AD_MONEY = frozenset({"spend", "conversion_value"})
#: Raw store sums fetched by SQL; store metrics are formulas over them (metricx.semantic.catalogue).
STORE_SUMS = (
    "orders",
    "gross",
    "discounts",
    "shipping",
    "taxes",
    "cogs",
    "refunds",
    "new_customers",
)
STORE_MONEY = ("gross", "discounts", "shipping", "taxes", "cogs", "refunds")
#: Email sums fetched by SQL (base metrics and the raw `emails_delivered` of the catalogue)
#: and the email_daily column each sums; `emails_delivered` counts email-channel rows only.
EMAIL_COLUMNS: dict[str, str] = {
    "email_revenue": "conversion_value",
    "email_orders": "conversions",
    "email_recipients": "recipients",
    "email_delivered": "delivered",
    "email_opens": "opens",
    "email_clicks": "clicks",
    "emails_delivered": "delivered",
}
EMAIL_SUMS: tuple[str, ...] = tuple(EMAIL_COLUMNS)
EMAIL_MONEY = ("email_revenue",)
BUCKET = "bucket"
#: Columns of a query statement's rows that say which part and period a row belongs to.
PART, PERIOD = "part", "period"
#: Column of a source's facts counting rows whose money had no rate.
UNCONVERTED = "unconverted"
#: Column of a cut period's ad facts counting rows after the cut whose conversions belong to
#: the bucket but cannot be placed before or after the cut (see DAILY_CONVERSIONS).
WITHHELD = "withheld"
#: DAILY_CONVERSIONS (metricx.platforms): platforms whose PER_DAY family (conversions and
#: video plays) comes from daily reports, placed in the bucket where the 15-minute sync saw
#: it or, for a day read whole, in the day's last hour.
#: Where ad facts are read from, coarsest first.
AdSource = Literal["connection", "campaign", "ad", "hour"]
_ENTITY_LEVELS = ("account", "campaign", "adset", "ad")
#: The split by the ads' creative (rows `creative` and `creative_id`), read from the ad.
CREATIVE = "creative"
#: A column to build on: a Core column or expression, or a mapped class's attribute.
ColumnLike = ColumnElement[Any] | QueryableAttribute[Any]


@dataclass(frozen=True)
class Scope:
    """The workspace a query runs in: its id, its days' time zone, its reporting currency."""

    workspace_id: int
    timezone: str
    currency: str

    @classmethod
    def of(cls, workspace: Workspace) -> Scope:
        return cls(workspace.id, workspace.timezone, workspace.currency)


#: A restricted ad sum: (its column, the sum, the key restricting it, the key's value), e.g.
#: ("spend[provider=meta]", "spend", "provider", "meta").
Restriction = tuple[str, str, str, str]


@dataclass(frozen=True)
class Shape:
    """What the SQL of a query depends on, without any value: one statement per shape.
    Custom dimensions are part of it (their rules are the SQL), their filter values not."""

    dimensions: tuple[str, ...]
    grain: str | None
    provider_filter: bool
    name_filter: bool
    entity_filter: bool
    #: (expanded formula, direction) when the ad facts rank and limit the rows themselves
    #: (`ranks_in_sql`)
    ranking: tuple[Expression, str] | None = None
    #: the custom dimensions the query splits, filters or restricts sums by
    custom: tuple[tuple[str, CustomDimension], ...] = ()
    #: the custom dimensions whose values filter the rows
    value_filters: tuple[str, ...] = ()
    restricted: tuple[Restriction, ...] = ()
    #: the email facts keep only some channels (filters.email_channel)
    email_channel_filter: bool = False
    #: the ad facts keep only ads whose creative has some formats (filters.creative_format)
    creative_format_filter: bool = False
    #: the ad facts keep only ads of some creatives (filters.creative_ids)
    creative_filter: bool = False

    @classmethod
    def of(cls, query: SemanticQuery) -> Shape:
        filters = query.filters
        ranking = (
            (query.formula(query.order_by.metric), query.order_by.direction)
            if query.order_by and ranks_in_sql(query)
            else None
        )
        custom = query.definitions.dimensions
        return cls(
            tuple(query.dimensions),
            query.grain,
            bool(filters.provider),
            bool(filters.name_contains),
            bool(filters.entity_ids),
            ranking,
            tuple((d, custom[d]) for d in query.custom_dimensions),
            tuple(filters.dimension_values or ()),
            restrictions(query.facts),
            bool(filters.email_channel),
            bool(filters.creative_format),
            bool(filters.creative_ids),
        )

    def definition(self, dimension: str) -> CustomDimension | None:
        return dict(self.custom).get(dimension)

    @property
    def reads_creatives(self) -> bool:
        """True when the ad rows need their ad's creative: split or filtered by it, or a sum
        restricted to a creative format (the thumb-stop rate's video impressions)."""
        return (
            CREATIVE in self.dimensions
            or self.creative_format_filter
            or self.creative_filter
            or any(key == CREATIVE_FORMAT_KEY for _, _, key, _ in self.restricted)
        )


def restrictions(facts: Sequence[str]) -> tuple[Restriction, ...]:
    """The restricted sums among fact columns ("spend[provider=meta]"), decoded."""
    return tuple(
        (column, r.name, r.key, r.value)
        for column in facts
        if (r := restriction_of(column)) is not None
    )


def is_tree_level(dimension: str) -> bool:
    """True for the campaign tree's levels."""
    return dimension in _ENTITY_LEVELS


def has_id(dimension: str) -> bool:
    """True for the dimensions whose rows carry an id (`<dimension>_id`) beside the name:
    the campaign tree's levels and the creative."""
    return dimension in _ENTITY_LEVELS or dimension == CREATIVE


def ranks_in_sql(query: SemanticQuery) -> bool:
    """A top/bottom N whose rows all come from the ad facts is ranked and cut in SQL (the
    main period's): the rows are exactly the ad facts' rows (a split by dimensions, so no
    empty bucket is added) and the order metric is computable from them. Otherwise (and
    for a main period cut at a clock time, whose withheld conversions only the engine
    empties) the engine ranks every row."""
    return (
        query.limit is not None
        and bool(query.dimensions)
        and all(f in AD_SUMS or "[" in f for f in query.facts)
        and query.time_range.until is None
    )


@dataclass(frozen=True)
class Binds:
    """Where a statement's values go: the workspace, its zone and currency, and one period's
    local days first..last with their UTC instants [start, end) (end: the cut of a period
    that stops at a clock time) and `days_end`, the end of its last whole day. Placeholders
    in a shared statement (`placeholders`), or carrying their values in a one-off one
    (`of`)."""

    workspace_id: Any
    timezone: Any
    currency: Any
    first: Any
    last: Any
    start: Any
    end: Any
    days_end: Any

    @classmethod
    def placeholders(cls, period: int) -> Binds:
        return cls(
            *(bindparam(key, type_=kind) for key, kind in _BINDS),
            *(bindparam(f"{key}{period}", type_=kind) for key, kind in _PERIOD_BINDS),
        )

    @classmethod
    def of(cls, scope: Scope, span: TimeRange) -> Binds:
        values = period_params(scope, span, 0)
        return cls(
            *(bindparam(key, values[key], type_=kind) for key, kind in _BINDS),
            *(bindparam(f"{key}0", values[f"{key}0"], type_=kind) for key, kind in _PERIOD_BINDS),
        )


_BINDS = (("ws", Integer()), ("tz", String()), ("cur", String()))
_PERIOD_BINDS = (
    ("first", Date()),
    ("last", Date()),
    ("start", DateTime(timezone=True)),
    ("end", DateTime(timezone=True)),
    ("days_end", DateTime(timezone=True)),
)


def period_params(scope: Scope, span: TimeRange, period: int) -> dict[str, Any]:
    """Values of `Binds.placeholders(period)`."""
    start, end = utc_bounds(span, scope.timezone)
    days_end = utc_bounds(span.whole_days(), scope.timezone)[1]
    return {
        "ws": scope.workspace_id,
        "tz": scope.timezone,
        "cur": scope.currency,
        f"first{period}": span.start,
        f"last{period}": span.end,
        f"start{period}": start,
        f"end{period}": end,
        f"days_end{period}": days_end,
    }


_FILTER_TYPES: dict[str, TypeEngine[Any]] = {
    "providers": String(),
    "entity_ids": BigInteger(),
    "name_pattern": String(),
    "email_channels": String(),
    "creative_formats": String(),
    "creative_ids": BigInteger(),
}


def _filter_bind(key: str, values: dict[str, Any] | None) -> BindParameter[Any]:
    """A filter's placeholder, or (`values` given) the bound value itself."""
    expanding = key != "name_pattern"
    if values is None:
        return bindparam(key, expanding=expanding, type_=_FILTER_TYPES[key])
    return bindparam(key, values[key], expanding=expanding, type_=_FILTER_TYPES[key])


def filter_params(query: SemanticQuery) -> dict[str, Any]:
    """Values of the filters' placeholders."""
    filters = query.filters
    params: dict[str, Any] = {
        _value_filter_key(d): list(v) for d, v in (filters.dimension_values or {}).items()
    }
    if filters.provider:
        params["providers"] = list(filters.provider)
    if filters.entity_ids:
        params["entity_ids"] = list(filters.entity_ids)
    if filters.email_channel:
        params["email_channels"] = list(filters.email_channel)
    if filters.creative_format:
        params["creative_formats"] = list(filters.creative_format)
    if filters.creative_ids:
        params["creative_ids"] = list(filters.creative_ids)
    if filters.name_contains:
        text = filters.name_contains
        params["name_pattern"] = (
            "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        )
    return params


@dataclass(frozen=True)
class SourceStatements:
    """One fact source over one period: its converted sums per (dimensions, bucket), and the
    (currency, day) pairs whose money has no rate into the workspace currency."""

    facts: Select[Any]
    missing_rates: Select[Any]


def ad_source(shape: Shape, cut: bool = False) -> AdSource:
    """The coarsest ad facts that answer the query: hourly grain and a period `cut` at a
    clock time need the snapshot rows; an ad-set, ad or creative dimension, a name filter at
    those levels, an entity filter (ids of any level) or anything read from the ads'
    creatives (`Shape.reads_creatives`) needs the per-ad rollup; a campaign or
    account dimension or a campaign name filter the per-campaign one; everything else
    (totals, provider) the per-connection one."""
    if shape.grain == "hour" or cut:
        return "hour"
    name_level = _name_level(shape) if shape.name_filter else None
    read = {*shape.dimensions, name_level, *(lv for _, d in shape.custom for lv in d.levels)}
    if shape.entity_filter or shape.reads_creatives or {"adset", "ad"} & read:
        return "ad"
    if {"campaign", "account"} & read:
        return "campaign"
    return "connection"


def _name_level(shape: Shape) -> str:
    """name_contains applies to the finest entity dimension asked for, else the campaign."""
    levels = [d for d in shape.dimensions if is_tree_level(d)]
    return levels[-1] if levels else "campaign"


def _like(text: str, op: str) -> str:
    """A rule's text as an ILIKE pattern (its own % and _ matched literally)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return {"contains": f"%{escaped}%", "starts_with": f"{escaped}%"}.get(op, escaped)


def custom_value(dimension: CustomDimension, rows: Subquery) -> ColumnElement[Any]:
    """A custom dimension's value for each row: the first matching rule's, else `otherwise`.
    The rows must carry the names its rules read (`<level>_name`) and `provider`."""
    whens = [
        (
            (rows.c.provider if rule.field == "provider" else rows.c[f"{rule.field}_name"]).ilike(
                literal(_like(rule.value, rule.op), String), escape="\\"
            ),
            literal(rule.then, String),
        )
        for rule in dimension.rules
    ]
    return case(*whens, else_=literal(dimension.otherwise, String))


def _value_filter_key(dimension: str) -> str:
    return f"values_{dimension}"


def _key_column(key: str) -> str:
    """The column of ad rows holding a restriction key's value (provider, a custom dimension)."""
    return f"[{key}]"


def _currency(binds: Binds) -> Label[Any]:
    return func.coalesce(Connection.currency, binds.currency).label("currency")


def _connection_join(binds: Binds, connection_id: ColumnLike) -> ColumnElement[bool]:
    return and_(Connection.id == connection_id, Connection.workspace_id == binds.workspace_id)


def _ad_tree(binds: Binds, creatives: bool = False) -> Select[Any]:
    """Every ad of the workspace with its ancestors' ids and names, platform and currency
    (and, `creatives`, its creative's id, name and format: NULL for an ad without one)."""
    ws = binds.workspace_id
    ad, adset, campaign, account = (aliased(Entity, name=n) for n in _ENTITY_LEVELS[::-1])
    tree = (
        select(
            ad.id.label("ad_id"),
            ad.name.label("ad_name"),
            adset.id.label("adset_id"),
            adset.name.label("adset_name"),
            campaign.id.label("campaign_id"),
            campaign.name.label("campaign_name"),
            account.id.label("account_id"),
            account.name.label("account_name"),
            Connection.provider.label("provider"),
            _currency(binds),
        )
        .select_from(ad)
        .join(Connection, _connection_join(binds, ad.connection_id))
        .outerjoin(adset, and_(adset.id == ad.parent_id, adset.workspace_id == ws))
        .outerjoin(campaign, and_(campaign.id == adset.parent_id, campaign.workspace_id == ws))
        .outerjoin(account, and_(account.id == campaign.parent_id, account.workspace_id == ws))
        .where(ad.workspace_id == ws, ad.level == "ad")
    )
    return with_creatives(tree, ad.creative_id, ws) if creatives else tree


def with_creatives(tree: Select[Any], creative_id: ColumnLike, workspace_id: Any) -> Select[Any]:
    """`tree` with the creative of `creative_id` (an ad's) as `creative_id`, `creative_name`
    and `creative_format`, NULL where there is none; only a creative of the same workspace
    is joined, as entities.creative_id names any workspace's (the tenant line in SQL)."""
    return tree.add_columns(
        Creative.id.label("creative_id"),
        Creative.name.label("creative_name"),
        Creative.format.label("creative_format"),
    ).outerjoin(Creative, and_(Creative.id == creative_id, Creative.workspace_id == workspace_id))


#: The daily rollups and their keys beyond workspace and day.
_DAILY: dict[
    str,
    tuple[
        type[MetricDailyConnection] | type[MetricDailyCampaign] | type[MetricDaily], tuple[str, ...]
    ],
] = {
    "connection": (MetricDailyConnection, ("connection_id",)),
    "campaign": (MetricDailyCampaign, ("connection_id", "campaign_id")),
    "ad": (MetricDaily, ("entity_id",)),
}


def _ad_rows(
    shape: Shape, binds: Binds, source: AdSource, sums: Sequence[str], cut: bool = False
) -> Select[Any]:
    """Fact rows of `source` in the period with what dimensions and filters read: provider,
    currency, the entity ids and names the source knows, `bucket` (with a grain), `day` (whose
    rate converts the row's money; NULL when it is in the workspace currency already) and
    the sums (and WITHHELD for a `cut` period, see `_snapshot_rows`)."""
    ws = binds.workspace_id
    if source == "hour":
        return _snapshot_rows(shape, binds, sums, cut)
    per_key = _rollup_sums(shape, binds, source, sums).subquery("per_key")
    carried = [per_key.c[c] for c in (BUCKET, "day", *sums) if c in per_key.c]
    if source == "ad":
        tree = _ad_tree(binds, shape.reads_creatives).subquery("tree")
        return (
            select(*tree.c, *carried)
            .select_from(per_key)
            .join(tree, tree.c.ad_id == per_key.c.entity_id)
        )
    rows = (
        select(Connection.provider.label("provider"), _currency(binds))
        .select_from(per_key)
        .join(Connection, _connection_join(binds, per_key.c.connection_id))
    )
    if source == "campaign":
        campaign, account = aliased(Entity, name="campaign"), aliased(Entity, name="account")
        rows = (
            rows.add_columns(
                campaign.id.label("campaign_id"),
                campaign.name.label("campaign_name"),
                account.id.label("account_id"),
                account.name.label("account_name"),
            )
            .outerjoin(
                campaign, and_(campaign.id == per_key.c.campaign_id, campaign.workspace_id == ws)
            )
            .outerjoin(account, and_(account.id == campaign.parent_id, account.workspace_id == ws))
        )
    return rows.add_columns(*carried)


def _snapshot_rows(shape: Shape, binds: Binds, sums: Sequence[str], cut: bool) -> Select[Any]:
    """Snapshot rows whose bucket starts in [start, end), each under its ad's tree, in its
    local hour's bucket. A `cut` period asking for conversions in buckets coarser than an
    hour also brings the rows after the cut, on its last day, that hold conversions of a
    platform reporting them per day only: without sums, counted as WITHHELD, so the bucket
    they belong to says its conversions are incomplete. (By the hour nothing is withheld:
    every hour shown is whole, and an hour starting after the cut is not shown.)"""
    facts = MetricSnapshot
    tree = _ad_tree(binds, shape.reads_creatives).subquery("tree")
    hour = _local_hour(facts.bucket_start, binds)
    bucket = hour if shape.grain == "hour" else _bucket(shape.grain, cast(hour, Date))
    rows = (
        select(
            *tree.c,
            *([] if bucket is None else [bucket.label(BUCKET)]),
            cast(hour, Date).label("day"),
        )
        .select_from(facts)
        .join(tree, tree.c.ad_id == facts.entity_id)
        .where(facts.workspace_id == binds.workspace_id, facts.bucket_start >= binds.start)
    )
    per_day_only = [s for s in sums if s in PER_DAY]
    if not (cut and per_day_only and shape.grain != "hour"):
        return rows.add_columns(*(getattr(facts, s) for s in sums)).where(
            facts.bucket_start < binds.end
        )
    kept = facts.bucket_start < binds.end
    withheld = and_(
        tree.c.provider.in_(DAILY_CONVERSIONS), or_(*(getattr(facts, s) != 0 for s in per_day_only))
    )
    return rows.add_columns(
        *(case((kept, getattr(facts, s)), else_=literal(0)).label(s) for s in sums),
        case((kept, literal(0)), else_=literal(1)).label(WITHHELD),
    ).where(facts.bucket_start < binds.days_end, or_(kept, withheld))


def _rollup_sums(shape: Shape, binds: Binds, source: AdSource, sums: Sequence[str]) -> Select[Any]:
    """A daily rollup's sums per key and bucket, before names and currencies are joined to
    them: a week of 1,000 ads joins 1,000 rows, not 7,000. Money in another currency than
    the workspace's is kept per day (its `day`), as its rate is the day's; with none in the
    workspace, no row is even looked up (an InitPlan decides once)."""
    facts, keys = _DAILY[source]
    key_columns = [getattr(facts, k) for k in keys]
    in_period = (
        facts.workspace_id == binds.workspace_id,
        facts.day.between(binds.first, binds.last),
    )
    if shape.grain == "day":  # one row per key and day already
        return select(
            *key_columns,
            facts.day.label(BUCKET),
            facts.day.label("day"),
            *(getattr(facts, s) for s in sums),
        ).where(*in_period)
    foreign = select(Connection.id).where(
        Connection.workspace_id == binds.workspace_id,
        func.coalesce(Connection.currency, binds.currency) != binds.currency,
    )
    foreign_keys = (
        foreign
        if source != "ad"
        else select(Entity.id).where(
            Entity.workspace_id == binds.workspace_id, Entity.connection_id.in_(foreign)
        )
    )
    # Nested, so the per-row lookup only runs in a workspace with foreign money at all.
    rate_day = case((foreign.exists(), case((key_columns[0].in_(foreign_keys), facts.day))))
    bucket = _bucket(shape.grain, facts.day)
    grouped = [*key_columns, rate_day, *([] if bucket is None else [bucket])]
    return (
        select(
            *key_columns,
            *([] if bucket is None else [bucket.label(BUCKET)]),
            rate_day.label("day"),
            *(func.sum(getattr(facts, s)).label(s) for s in sums),
        )
        .where(*in_period)
        .group_by(*grouped)
    )


def _fx(
    workspace_id: Any, target: Any, day: ColumnLike, currency: ColumnLike, name: str
) -> tuple[type[FxRate], ColumnElement[bool], Case[Any]]:
    """(fx alias, its join condition, the rate): the rate of `currency` into `target` (the
    workspace currency) on `day`, 1 when they are equal. Joined (not a per-row subquery)."""
    fx = aliased(FxRate, name=name)
    on = and_(
        fx.workspace_id == workspace_id,
        fx.day == day,
        fx.from_currency == currency,
        fx.to_currency == target,
    )
    return fx, on, case((currency == target, literal(1)), else_=fx.rate)


def _bucket(grain: str | None, day: ColumnLike) -> ColumnLike | None:
    if grain == "day":
        return day
    if grain in ("week", "month"):
        return cast(func.date_trunc(grain, day), Date)
    return None  # the whole range: one bucket


def _filters(
    shape: Shape, rows: Subquery, values: dict[str, Any] | None = None
) -> list[ColumnElement[bool]]:
    filters: list[ColumnElement[bool]] = []
    if shape.name_filter:
        filters.append(
            rows.c[f"{_name_level(shape)}_name"].ilike(
                _filter_bind("name_pattern", values), escape="\\"
            )
        )
    if shape.provider_filter:
        filters.append(rows.c.provider.in_(_filter_bind("providers", values)))
    if shape.entity_filter:  # only on the per-ad sources, which know every level
        ids = _filter_bind("entity_ids", values)
        filters.append(or_(*(rows.c[f"{level}_id"].in_(ids) for level in _ENTITY_LEVELS)))
    # Only on rows read with their creative (`Shape.reads_creatives`): an ad without one
    # matches no format and no id.
    if shape.creative_format_filter:
        filters.append(rows.c.creative_format.in_(_filter_bind("creative_formats", values)))
    if shape.creative_filter:
        filters.append(rows.c.creative_id.in_(_filter_bind("creative_ids", values)))
    for dimension in shape.value_filters:
        key = _value_filter_key(dimension)
        chosen = (
            bindparam(key, expanding=True, type_=String())
            if values is None
            else bindparam(key, values[key], expanding=True, type_=String())
        )
        filters.append(custom_value(_defined(shape, dimension), rows).in_(chosen))
    return filters


def _dimension_columns(shape: Shape, rows: Subquery) -> list[Label[Any]]:
    columns: list[Label[Any]] = []
    for dimension in shape.dimensions:
        definition = shape.definition(dimension)
        if dimension == "provider":
            columns.append(rows.c.provider.label("provider"))
        elif dimension == CREATIVE:
            # a creative's name is never NULL (creatives.name): NULL is an ad without one
            columns.append(func.coalesce(rows.c.creative_name, NO_CREATIVE).label(CREATIVE))
            columns.append(rows.c.creative_id.label("creative_id"))
        elif definition is not None:
            columns.append(custom_value(definition, rows).label(dimension))
        else:
            columns.append(func.coalesce(rows.c[f"{dimension}_name"], "(unknown)").label(dimension))
            columns.append(rows.c[f"{dimension}_id"].label(f"{dimension}_id"))
    return columns


def _converted(
    shape: Shape,
    binds: Binds,
    rows: Subquery,
    keys: Sequence[ColumnElement[Any]],
    sums: Sequence[str],
    money: Sequence[str],
    name: str,
    restricted: Sequence[Restriction] = (),
) -> SourceStatements:
    """Rows of sums in one currency (ad sums of a key and bucket, a snapshot bucket of one ad,
    the store's sums of one day or hour) converted at the rate of their `day` and summed per
    (keys, bucket) as float8 (exact until then): the rate multiplies sums, never single
    orders. `UNCONVERTED` counts the rows whose money found no rate; the missing-rates
    statement names them (run only when there are some)."""
    fx, on, rate = _fx(
        binds.workspace_id, binds.currency, rows.c.day, rows.c.currency, f"{name}_fx"
    )
    bucket = rows.c[BUCKET] if shape.grain else None
    lacking = and_(
        rows.c.currency != binds.currency,
        fx.rate.is_(None),
        or_(*(rows.c[m] != 0 for m in money)) if money else false(),
    )
    withheld = (
        [cast(func.sum(rows.c[WITHHELD]), BigInteger).label(WITHHELD)] if WITHHELD in rows.c else []
    )

    def summed(sum_name: str) -> ColumnElement[Any]:
        return rows.c[sum_name] * rate if sum_name in money else rows.c[sum_name]

    facts = (
        select(
            *keys,
            (literal_column("'total'", String) if bucket is None else bucket).label(BUCKET),
            *(cast(func.sum(summed(s)), Float).label(s) for s in sums),
            # A restriction that matches no row of a group sums to 0, not NULL, as a plain
            # sum of nothing is 0 to the engine: a ranking in SQL sees the same value.
            *(
                cast(
                    func.coalesce(
                        func.sum(summed(base)).filter(rows.c[_key_column(key)] == literal(value)),
                        0,
                    ),
                    Float,
                ).label(column)
                for column, base, key, value in restricted
            ),
            func.count().filter(lacking).label(UNCONVERTED),
            *withheld,
        )
        .select_from(rows)
        .outerjoin(fx, on)
        .group_by(*keys, *([] if bucket is None else [bucket]))
    )
    missing = (
        select(rows.c.currency, rows.c.day)
        .select_from(rows)
        .outerjoin(fx, on)
        .where(lacking)
        .distinct()
    )
    return SourceStatements(facts, missing)


def ad_statements(
    shape: Shape,
    binds: Binds,
    sums: tuple[str, ...],
    name: str = "ad",
    ranked: bool = False,
    cut: bool = False,
) -> SourceStatements:
    """Ad sums per (dimensions, bucket) over the period, money in the workspace currency,
    from the coarsest source that answers the query; `ranked`: only the shape's top rows
    (`_ranked`); `cut`: the period stops at a clock time (`TimeRange.until`). `name` keeps
    statements of one batch apart. Only money that is asked for needs a rate."""
    sums = tuple(s for s in AD_SUMS if s in sums or s in {r[1] for r in shape.restricted})
    source = _ad_rows(shape, binds, ad_source(shape, cut), sums, cut).subquery(f"{name}_source")
    dimensions = _dimension_columns(shape, source)
    withheld = [source.c[WITHHELD]] if WITHHELD in source.c else []
    keys = dict.fromkeys(key for _, _, key, _ in shape.restricted)
    restriction_keys = [
        _restriction_key(shape, source, key).label(_key_column(key)) for key in keys
    ]
    rows = (
        select(
            *dimensions,
            *([source.c[BUCKET]] if shape.grain else []),
            source.c.day,
            source.c.currency,
            *(source.c[s] for s in sums),
            *withheld,
            *restriction_keys,
        )
        .where(*_filters(shape, source))
        .subquery(f"{name}_rows")
    )
    statements = _converted(
        shape,
        binds,
        rows,
        [rows.c[c.name] for c in dimensions],
        sums,
        [s for s in sums if s in AD_MONEY],
        name,
        shape.restricted,
    )
    if ranked and shape.ranking:
        return SourceStatements(_ranked(shape, statements.facts, name), statements.missing_rates)
    return statements


def _restriction_key(shape: Shape, rows: Subquery, key: str) -> ColumnElement[Any]:
    """The value of ad rows a restricted sum is restricted by: their platform, their
    creative's format, or a custom dimension's value."""
    if key == "provider":
        return rows.c.provider
    if key == CREATIVE_FORMAT_KEY:
        # A video of a platform whose plays Metricx does not read counts as no video: its
        # impressions would read as a 0 % hook (the key serves the video rates alone).
        return case((rows.c.provider.in_(VIDEO_FACTS), rows.c.creative_format), else_=literal(None))
    return custom_value(_defined(shape, key), rows)


def _ranked(shape: Shape, facts: Select[Any], name: str) -> Select[Any]:
    """The top `limit` rows of `facts` by the shape's ranking, in the engine's order (nulls
    last; ties broken by names in code-point order, then ids, then bucket), with UNCONVERTED
    counted over every row before the cut: a missing rate anywhere still fails the query."""
    if shape.ranking is None:
        raise ValueError("only a shape with a ranking is ranked in SQL")
    rows = facts.subquery(f"{name}_unranked")
    formula, direction = shape.ranking
    # The evaluator's SQL does the engine's float operations in its order: ranks tie alike.
    value = evaluate.sql(formula, rows.c)
    order: list[ColumnElement[Any]] = [
        (value.desc() if direction == "desc" else value.asc()).nulls_last()
    ]
    for dimension in shape.dimensions:
        order.append(rows.c[dimension].collate("C"))
        if has_id(dimension):
            order.append(rows.c[f"{dimension}_id"].asc().nulls_last())
    if shape.grain:
        order.append(rows.c[BUCKET])
    return (
        select(
            *(c for c in rows.c if c.name != UNCONVERTED),
            cast(func.sum(rows.c[UNCONVERTED]).over(), BigInteger).label(UNCONVERTED),
        )
        .order_by(*order)
        .limit(bindparam("limit", type_=Integer))
    )


def _defined(shape: Shape, dimension: str) -> CustomDimension:
    definition = shape.definition(dimension)
    assert definition is not None, f"the shape defines {dimension!r}"
    return definition


def _local_hour(column: ColumnLike, binds: Binds) -> Function[Any]:
    return func.date_trunc("hour", func.timezone(binds.timezone, column))


def _store_sums(**given: ColumnElement[Any]) -> list[Label[Any]]:
    """Every store sum in STORE_SUMS order: the given expressions, 0 for the others."""
    return [given.get(c, literal(0)).label(c) for c in STORE_SUMS]


def _store_rows(shape: Shape, binds: Binds, name: str) -> Subquery:
    """Store sums per (local hour, currency) from the Shopify rows themselves, in [start,
    end) to the instant, each hour under its bucket of the shape's grain; counted as the
    rollup counts them (metricx.sync.rollup, store_daily): orders' sales by processed time,
    refunds by refund time, a cancelled order's unreturned rest by cancel time."""
    ws = binds.workspace_id
    live = ShopifyOrder.cancelled_at.is_(None)
    order_hour = _local_hour(ShopifyOrder.processed_at, binds)
    orders = (
        select(
            order_hour.label("at"),
            ShopifyOrder.currency.label("currency"),
            *_store_sums(
                orders=func.count().filter(live),
                gross=func.sum(ShopifyOrder.gross_sales),
                discounts=func.sum(ShopifyOrder.discounts),
                shipping=func.sum(ShopifyOrder.shipping),
                taxes=func.sum(ShopifyOrder.taxes),
                cogs=func.coalesce(func.sum(ShopifyOrder.cogs).filter(live), 0),
            ),
        )
        .where(
            ShopifyOrder.workspace_id == ws,
            ShopifyOrder.processed_at >= binds.start,
            ShopifyOrder.processed_at < binds.end,
            ShopifyOrder.test.is_(false()),
        )
        .group_by(order_hour, ShopifyOrder.currency)
    )
    refund_hour = _local_hour(ShopifyRefund.created_at, binds)
    refunds = (
        select(
            refund_hour.label("at"),
            ShopifyOrder.currency.label("currency"),
            *_store_sums(
                refunds=func.sum(ShopifyRefund.sales),
                shipping=-func.sum(ShopifyRefund.shipping),
                taxes=-func.sum(ShopifyRefund.taxes),
            ),
        )
        .join(
            ShopifyOrder,
            and_(ShopifyOrder.id == ShopifyRefund.order_id, ShopifyOrder.workspace_id == ws),
        )
        .where(
            ShopifyRefund.workspace_id == ws,
            ShopifyRefund.created_at >= binds.start,
            ShopifyRefund.created_at < binds.end,
            ShopifyOrder.test.is_(false()),
        )
        .group_by(refund_hour, ShopifyOrder.currency)
    )
    back = (
        select(
            *(
                func.coalesce(func.sum(getattr(ShopifyRefund, c)), 0).label(c)
                for c in ("sales", "shipping", "taxes")
            )
        )
        .where(ShopifyRefund.order_id == ShopifyOrder.id)
        .lateral(f"{name}_back")
    )
    cancel_hour = _local_hour(ShopifyOrder.cancelled_at, binds)
    cancels = (
        select(
            cancel_hour.label("at"),
            ShopifyOrder.currency.label("currency"),
            *_store_sums(
                refunds=func.sum(ShopifyOrder.gross_sales - ShopifyOrder.discounts - back.c.sales),
                shipping=-func.sum(ShopifyOrder.shipping - back.c.shipping),
                taxes=-func.sum(ShopifyOrder.taxes - back.c.taxes),
            ),
        )
        .select_from(ShopifyOrder)
        .join(back, literal(True))
        .where(
            ShopifyOrder.workspace_id == ws,
            ShopifyOrder.cancelled_at >= binds.start,
            ShopifyOrder.cancelled_at < binds.end,
            ShopifyOrder.test.is_(false()),
        )
        .group_by(cancel_hour, ShopifyOrder.currency)
    )
    first_hour = _local_hour(ShopifyCustomer.first_order_at, binds)
    # New customers are a count: no rate applies, so they go under the workspace currency.
    customers = (
        select(
            first_hour.label("at"),
            binds.currency.label("currency"),
            *_store_sums(new_customers=func.count()),
        )
        .where(
            ShopifyCustomer.workspace_id == ws,
            ShopifyCustomer.first_order_at >= binds.start,
            ShopifyCustomer.first_order_at < binds.end,
        )
        .group_by(first_hour)
    )
    parts = union_all(orders, refunds, cancels, customers).subquery(f"{name}_parts")
    day = cast(parts.c.at, Date)
    bucket = parts.c.at if shape.grain == "hour" else _bucket(shape.grain, day)
    return (
        select(
            *([] if bucket is None else [bucket.label(BUCKET)]),
            day.label("day"),
            parts.c.currency,
            *(func.sum(parts.c[c]).label(c) for c in STORE_SUMS),
        )
        .group_by(parts.c.at, parts.c.currency)
        .subquery(f"{name}_rows")
    )


def store_statements(
    shape: Shape, binds: Binds, name: str = "store", cut: bool = False
) -> SourceStatements:
    """Raw store sums per bucket over the period (workspace days, workspace currency): from
    store_daily, or for hourly grain and a period `cut` at a clock time from the Shopify
    rows."""
    if shape.grain == "hour" or cut:
        rows = _store_rows(shape, binds, name)
    else:
        bucket = _bucket(shape.grain, StoreDaily.day)
        rows = (
            select(
                *([] if bucket is None else [bucket.label(BUCKET)]),
                StoreDaily.day.label("day"),
                StoreDaily.currency,
                *(getattr(StoreDaily, c) for c in STORE_SUMS),
            )
            .where(
                StoreDaily.workspace_id == binds.workspace_id,
                StoreDaily.day.between(binds.first, binds.last),
            )
            .subquery(f"{name}_rows")
        )
    return _converted(shape, binds, rows, [], STORE_SUMS, STORE_MONEY, name)


def email_statements(
    shape: Shape, binds: Binds, sums: Sequence[str] = EMAIL_SUMS, name: str = "email"
) -> SourceStatements:
    """Email `sums` per bucket (and per channel, split by `email_channel`) over the period's
    days (send days, money in the workspace currency): email_daily summed per (day, channel,
    currency) first, so a rate multiplies a day's sums, never single messages. Only money
    that is asked for needs a rate."""
    sums = tuple(s for s in EMAIL_SUMS if s in sums)
    bucket = _bucket(shape.grain, EmailDaily.day)
    emails_only = EmailDaily.channel == literal("email", String)
    by_channel = "email_channel" in shape.dimensions
    channel = [EmailDaily.channel.label("email_channel")] if by_channel else []
    chosen = (
        [EmailDaily.channel.in_(_filter_bind("email_channels", None))]
        if shape.email_channel_filter
        else []
    )

    def summed(sum_name: str) -> ColumnElement[Any]:
        column = getattr(EmailDaily, EMAIL_COLUMNS[sum_name])
        if sum_name == "emails_delivered":
            column = case((emails_only, column), else_=literal(0))
        return func.sum(column).label(sum_name)

    rows = (
        select(
            *channel,
            *([] if bucket is None else [bucket.label(BUCKET)]),
            EmailDaily.day.label("day"),
            EmailDaily.currency,
            *(summed(s) for s in sums),
        )
        .where(
            EmailDaily.workspace_id == binds.workspace_id,
            EmailDaily.day.between(binds.first, binds.last),
            *chosen,
        )
        .group_by(*(EmailDaily.channel for _ in channel), EmailDaily.day, EmailDaily.currency)
        .subquery(f"{name}_rows")
    )
    keys = [rows.c.email_channel] if by_channel else []
    money = [s for s in sums if s in EMAIL_MONEY]
    return _converted(shape, binds, rows, keys, sums, money, name)


def snapshot_statements(binds: Binds) -> SourceStatements:
    """Spend and conversions per snapshot bucket of the period, as they were synced: its
    local start (`bucket_start`), `granularity` ("15m", "1h"), money in the workspace
    currency at the rate of its local day."""
    ws = binds.workspace_id
    start = func.timezone(binds.timezone, MetricSnapshot.bucket_start)
    currency = _currency(binds)
    rows = (
        select(
            start.label("bucket_start"),
            MetricSnapshot.granularity,
            cast(start, Date).label("day"),
            currency,
            func.sum(MetricSnapshot.spend).label("spend"),
            func.sum(MetricSnapshot.conversions).label("conversions"),
        )
        .join(Entity, and_(Entity.id == MetricSnapshot.entity_id, Entity.workspace_id == ws))
        .join(Connection, _connection_join(binds, Entity.connection_id))
        .where(
            MetricSnapshot.workspace_id == ws,
            MetricSnapshot.bucket_start >= binds.start,
            MetricSnapshot.bucket_start < binds.end,
        )
        .group_by(MetricSnapshot.bucket_start, MetricSnapshot.granularity, currency)
        .subquery("snapshot_rows")
    )
    return _converted(
        Shape((), None, False, False, False),
        binds,
        rows,
        [rows.c.bucket_start, rows.c.granularity],
        ("spend", "conversions"),
        ("spend",),
        "snapshot",
    )


# --- helpers for a fact source built with its values (e.g. metricx.semantic.attributed) --------


def bucket_of(grain: str | None, day: ColumnLike) -> ColumnLike:
    """The time bucket of a local day: itself, its week or month, or "total"."""
    bucket = _bucket(grain, day)
    return literal("total") if bucket is None else bucket


def fx_join(
    scope: Scope, day: ColumnLike, currency: ColumnLike, name: str = "fx"
) -> tuple[type[FxRate], ColumnElement[bool], Case[Any]]:
    """(fx alias, join condition, rate) of `currency` into the workspace currency on `day`."""
    return _fx(scope.workspace_id, scope.currency, day, currency, name)


def rates_statement(
    scope: Scope, currencies: Sequence[str], first: date, last: date
) -> Select[str, date, Decimal]:
    """(currency, day, rate) into the workspace currency of `currencies` on first..last."""
    return select(FxRate.from_currency, FxRate.day, FxRate.rate).where(
        FxRate.workspace_id == scope.workspace_id,
        FxRate.to_currency == scope.currency,
        FxRate.from_currency.in_(currencies),
        FxRate.day.between(first, last),
    )


def dimension_columns(query: SemanticQuery, rows: Subquery) -> list[Label[Any]]:
    """The query's dimension columns (names, and ids as `<dim>_id`) over a tree's columns."""
    return _dimension_columns(Shape.of(query), rows)


def tree_filters(query: SemanticQuery, rows: Subquery) -> list[ColumnElement[bool]]:
    """The query's filters, values bound, over a tree's `<level>_id`/`_name` and provider."""
    return _filters(Shape.of(query), rows, filter_params(query))


@dataclass(frozen=True)
class QueryStatement:
    """The statements answering a query shape. `statement`: every source's facts for every
    period as one UNION ALL, rows tagged with PART and PERIOD, `columns` naming each part's
    own columns; `missing_rates`: the (currency, day) pairs lacking a rate, run only when a
    fact row counts UNCONVERTED money."""

    statement: CompoundSelect[Any]
    columns: dict[tuple[str, int], tuple[str, ...]]
    missing_rates: CompoundSelect[Any]


@lru_cache(maxsize=512)
def query_statement(
    shape: Shape,
    ad_sums: tuple[str, ...],
    store: bool,
    cuts: tuple[bool, ...],
    email_sums: tuple[str, ...] = (),
) -> QueryStatement:
    """The statements of every query of this shape (built and compiled once, then cached);
    `cuts`: for each period (main, then comparison), whether it stops at a clock time;
    `email_sums`: the email facts read too (EMAIL_SUMS), if any."""
    facts: list[tuple[str, int, Select[Any]]] = []
    missing: list[Select[Any]] = []
    for period, cut in enumerate(cuts):
        binds = Binds.placeholders(period)
        sources: dict[str, SourceStatements] = {}
        if ad_sums:  # a ranking cuts the main period; the comparison keeps every row
            sources["ad"] = ad_statements(shape, binds, ad_sums, f"ad{period}", period == 0, cut)
        if store:
            sources["store"] = store_statements(shape, binds, f"store{period}", cut)
        if email_sums:
            sources["email"] = email_statements(shape, binds, email_sums, f"email{period}")
        for name, statements in sources.items():
            facts.append((name, period, statements.facts))
            missing.append(statements.missing_rates)
    return QueryStatement(
        _union(facts),
        {
            (name, period): tuple(c.name for c in part.selected_columns)
            for name, period, part in facts
        },
        union_all(*missing),
    )


def query_params(query: SemanticQuery, scope: Scope, spans: Sequence[TimeRange]) -> dict[str, Any]:
    """The values of a query statement's placeholders."""
    params = filter_params(query)
    if ranks_in_sql(query):
        params["limit"] = query.limit
    for period, span in enumerate(spans):
        params.update(period_params(scope, span, period))
    return params


def _union(parts: Sequence[tuple[str, int, Select[Any]]]) -> CompoundSelect[Any]:
    """Statements as one (UNION ALL), each row tagged with its (part, period); a column a
    statement lacks is NULL."""
    types: dict[str, TypeEngine[Any]] = {}
    for _, _, statement in parts:
        for column in statement.selected_columns:
            types.setdefault(column.name, column.type)
    selects = []
    for index, (part, period, statement) in enumerate(parts):
        rows = statement.subquery(f"part_{index}")
        selects.append(
            select(
                literal_column(f"'{part}'", String).label(PART),
                literal_column(str(int(period)), Integer).label(PERIOD),
                *(
                    rows.c[name] if name in rows.c else cast(null(), types[name]).label(name)
                    for name in types
                ),
            )
        )
    return union_all(*selects)


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
