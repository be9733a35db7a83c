"""SQLAlchemy models: every table of docs/design.md's data model.

Every row that belongs to a tenant carries `workspace_id` (a foreign key, first column of an
index), so every query can and must filter on it. Natural keys are unique constraints, which
is what makes syncs idempotent (upserts on them).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from metricx.connectors.records import CREATIVE_FORMATS
from metricx.vocabulary import LEVELS, PROVIDERS, ROLES

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

CONNECTION_STATUSES = (
    "active",
    "needs_reauth",
    "error",
    "paused",
    "upgrade_needed",
    "misconfigured",
    "blocked",
    "disconnected",
)
# States a sync skips: only a person (reconnect, resume, reinstall) brings them back.
HALTED_STATUSES = ("paused", "needs_reauth", "disconnected")
GRANULARITIES = ("15m", "1h")

Money = Numeric(20, 6)  # amounts in the source's currency, exact


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def created_at_column() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now())


def workspace_column(*, index: bool = True) -> Mapped[int]:
    """The tenant key. `index=False` only where a composite index starts with it."""
    return mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=index)


class Workspace(Base):
    __tablename__ = "workspaces"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    # How UTM values map to ad entities: "id", "name" or "id_or_name".
    utm_match: Mapped[str] = mapped_column(String(16), default="id_or_name")
    pixel_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    # When an admin last saved zone and currency (the setup checklist: defaults are guesses).
    settings_confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The Dashboard's KPI tiles (catalogue or custom metric ids); null: the default tiles.
    dashboard_tiles: Mapped[list[str] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = created_at_column()


class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_in("role", ROLES), name="role"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = workspace_column()
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16), default="member")
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Bumped to end every open session of the user (metricx.services.users.end_sessions).
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = created_at_column()


class Connection(Base):
    __tablename__ = "connections"
    __table_args__ = (
        UniqueConstraint("workspace_id", "provider", "external_account_id"),
        CheckConstraint(_in("provider", PROVIDERS), name="provider"),
        CheckConstraint(_in("status", CONNECTION_STATUSES), name="status"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = workspace_column(index=False)
    provider: Mapped[str] = mapped_column(String(16))
    external_account_id: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="active")
    currency: Mapped[str | None] = mapped_column(String(3))
    timezone: Mapped[str | None] = mapped_column(String(64))
    # Provider specifics that are not secrets (e.g. Google login-customer-id, sandbox flag).
    settings: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    last_synced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()


class Token(Base):
    """An encrypted credential; `kind` is access or refresh. Plaintext never stored."""

    __tablename__ = "tokens"
    __table_args__ = (UniqueConstraint("connection_id", "kind"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = workspace_column()
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16), default="access")
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    nonce: Mapped[bytes] = mapped_column(LargeBinary)
    key_id: Mapped[str] = mapped_column(String(32))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at_column()
    rotated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Entity(Base):
    """A node of the campaign tree; metrics are stored on the `ad` leaves only."""

    __tablename__ = "entities"
    __table_args__ = (
        UniqueConstraint("connection_id", "level", "external_id"),
        # Target of metric rows' composite foreign key: a fact can only point at an entity of
        # its own workspace.
        UniqueConstraint("workspace_id", "id"),
        CheckConstraint(_in("level", LEVELS), name="level"),
        Index(None, "workspace_id", "level"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    workspace_id: Mapped[int] = workspace_column(index=False)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    level: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("entities.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(400))
    status: Mapped[str | None] = mapped_column(String(32))
    objective: Mapped[str | None] = mapped_column(String(64))
    budget: Mapped[Decimal | None] = mapped_column(Money)
    # An ad's creative (several ads may share one); NULL above the ads and where the platform
    # returns none.
    creative_id: Mapped[int | None] = mapped_column(
        ForeignKey("creatives.id", ondelete="SET NULL"), index=True
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class Creative(Base):
    """What ads show, as a platform keeps it (docs/design.md "Creatives"): many ads to one.
    `thumbnail` is the sha256 of its preview image stored under the data directory
    (metricx/sync/thumbnails.py), never the platform's expiring URL; NULL until one was
    downloaded."""

    __tablename__ = "creatives"
    __table_args__ = (
        UniqueConstraint("connection_id", "external_id"),
        CheckConstraint(_in("format", CREATIVE_FORMATS), name="format"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    workspace_id: Mapped[int] = workspace_column()
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(400))
    format: Mapped[str] = mapped_column(String(16))
    title: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str | None] = mapped_column(Text)
    call_to_action: Mapped[str | None] = mapped_column(String(64))
    video_id: Mapped[str | None] = mapped_column(String(64))
    thumbnail: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


def _entity_of_same_workspace(table: str) -> ForeignKeyConstraint:
    """One composite foreign key (workspace_id, entity_id) -> entities(workspace_id, id): it
    enforces the tenant (entities.workspace_id references workspaces) and costs one check per
    written row instead of two (bench/bench_ingest.py measured the difference)."""
    return ForeignKeyConstraint(
        ["workspace_id", "entity_id"],
        ["entities.workspace_id", "entities.id"],
        ondelete="CASCADE",
        name=f"fk_{table}_workspace_id_entity_id_entities",
    )


class AdFacts:
    """The additive ad facts (metricx.totals.Totals), as columns of a fact table."""

    spend: Mapped[Decimal] = mapped_column(Money, default=0)
    impressions: Mapped[int] = mapped_column(BigInteger, default=0)
    clicks: Mapped[int] = mapped_column(BigInteger, default=0)
    conversions: Mapped[Decimal] = mapped_column(Money, default=0)
    conversion_value: Mapped[Decimal] = mapped_column(Money, default=0)
    leads: Mapped[Decimal] = mapped_column(Money, default=0)
    video_plays: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    video_3s_plays: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    thruplays: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    video_p25: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    video_p50: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    video_p75: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    video_p100: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    video_seconds: Mapped[Decimal] = mapped_column(Money, default=0, server_default="0")


class MetricSnapshot(AdFacts, Base):
    """Additive ad-level facts for one time bucket (UTC start) of 15 minutes or one hour.

    The natural key is the primary key, and the table's only index: every extra index is paid
    on each of the millions of rows a sync writes (see bench/bench_ingest.py). It leads with
    workspace_id, so every read is a range scan inside one tenant.
    """

    __tablename__ = "metric_snapshots"
    __table_args__ = (
        CheckConstraint(_in("granularity", GRANULARITIES), name="granularity"),
        _entity_of_same_workspace("metric_snapshots"),
    )
    workspace_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    bucket_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    granularity: Mapped[str] = mapped_column(String(3), primary_key=True)


class MetricDaily(AdFacts, Base):
    """metric_snapshots summed per ad and WORKSPACE-local day: what pages and the copilot read.

    Maintained by the sync in the same transaction as the snapshot rows it summarises
    (metricx.sync.rollup), so it can never drift from them; rebuilt whole when the workspace's
    time zone changes. Money stays in the connection's currency (converted at query time).
    """

    __tablename__ = "metric_daily"
    __table_args__ = (_entity_of_same_workspace("metric_daily"),)
    workspace_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    entity_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)


def _connection_column() -> Mapped[int]:
    return mapped_column(ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True)


class MetricDailyConnection(AdFacts, Base):
    """metric_daily summed per connection: answers queries with no entity dimension or filter
    finer than the platform (a year is a few hundred rows instead of one per ad per day).

    Maintained with metric_daily (metricx.sync.rollup), from it, in the same transaction.
    """

    __tablename__ = "metric_daily_connection"
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    connection_id: Mapped[int] = _connection_column()


class MetricDailyCampaign(AdFacts, Base):
    """metric_daily summed per campaign (ads under no campaign: campaign_id 0): answers
    campaign- and account-level queries. Maintained like MetricDailyConnection; a change of
    an ad's campaign re-sums its connection (metricx.sync.rollup.reattach)."""

    __tablename__ = "metric_daily_campaign"
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    connection_id: Mapped[int] = _connection_column()
    campaign_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)


class StoreDaily(Base):
    """Store sums per WORKSPACE-local day and currency, as Shopify's sales reports count them
    (metricx.sync.rollup): every order's sales on its processed day, returns on their refund
    day and a cancelled order's unreturned rest on its cancel day (`refunds`; refunded
    shipping and tax leave `shipping` and `taxes`), live orders and their COGS, new customers
    by their first order's day (counted under the shop's currency). Test orders excluded.
    Written by the Shopify sync in its page transactions (metricx.sync.rollup.refresh_store);
    rebuilt with the zone."""

    __tablename__ = "store_daily"
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    orders: Mapped[int] = mapped_column(BigInteger, default=0)
    gross: Mapped[Decimal] = mapped_column(Money, default=0)
    discounts: Mapped[Decimal] = mapped_column(Money, default=0)
    shipping: Mapped[Decimal] = mapped_column(Money, default=0)
    taxes: Mapped[Decimal] = mapped_column(Money, default=0)
    cogs: Mapped[Decimal] = mapped_column(Money, default=0)
    refunds: Mapped[Decimal] = mapped_column(Money, default=0)
    new_customers: Mapped[int] = mapped_column(BigInteger, default=0)


class CohortDaily(Base):
    """What the customers whose first order fell on `first_day` (workspace-local) did on
    `day`, per currency: their orders' store money counted as StoreDaily counts it, their
    live orders and COGS, the customers themselves (on their first day, under the shop's
    currency), those whose second live order fell that day, and those whose first live order
    of an age (in days, weeks or months since the first day) fell that day, so cohort cells
    are sums of rows (metricx.semantic.cohorts). Maintained by metricx.sync.cohort_rollup in
    the writers' transactions; rebuilt with the zone."""

    __tablename__ = "cohort_daily"
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    first_day: Mapped[date] = mapped_column(Date, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    gross: Mapped[Decimal] = mapped_column(Money, default=0)
    discounts: Mapped[Decimal] = mapped_column(Money, default=0)
    refunds: Mapped[Decimal] = mapped_column(Money, default=0)
    shipping: Mapped[Decimal] = mapped_column(Money, default=0)
    taxes: Mapped[Decimal] = mapped_column(Money, default=0)
    cogs: Mapped[Decimal] = mapped_column(Money, default=0)
    orders: Mapped[int] = mapped_column(BigInteger, default=0)
    customers: Mapped[int] = mapped_column(BigInteger, default=0)
    repeat_customers: Mapped[int] = mapped_column(BigInteger, default=0)
    active_day: Mapped[int] = mapped_column(BigInteger, default=0)
    active_week: Mapped[int] = mapped_column(BigInteger, default=0)
    active_month: Mapped[int] = mapped_column(BigInteger, default=0)


class ShopifyShop(Base):
    __tablename__ = "shopify_shops"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = workspace_column()
    connection_id: Mapped[int] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE"), unique=True
    )
    domain: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    currency: Mapped[str] = mapped_column(String(3))
    timezone: Mapped[str] = mapped_column(String(64))
    # High-water marks of the incremental syncs (Shopify updated_at), per resource.
    orders_synced_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    products_synced_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    customers_synced_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # When products, customers and the shop itself were last read (at most hourly).
    lists_read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ShopifyProduct(Base):
    __tablename__ = "shopify_products"
    __table_args__ = (UniqueConstraint("shop_id", "external_id"),)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    workspace_id: Mapped[int] = workspace_column()
    shop_id: Mapped[int] = mapped_column(ForeignKey("shopify_shops.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(400))
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ShopifyVariant(Base):
    __tablename__ = "shopify_variants"
    __table_args__ = (UniqueConstraint("product_id", "external_id"),)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    workspace_id: Mapped[int] = workspace_column()
    product_id: Mapped[int] = mapped_column(ForeignKey("shopify_products.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(64))
    sku: Mapped[str | None] = mapped_column(String(128))
    price: Mapped[Decimal | None] = mapped_column(Money)
    unit_cost: Mapped[Decimal | None] = mapped_column(Money)


class ShopifyCustomer(Base):
    __tablename__ = "shopify_customers"
    __table_args__ = (
        UniqueConstraint("shop_id", "external_id"),
        Index(None, "workspace_id", "first_order_at"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    workspace_id: Mapped[int] = workspace_column()
    shop_id: Mapped[int] = mapped_column(ForeignKey("shopify_shops.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    orders_count: Mapped[int] = mapped_column(Integer, default=0)
    # Their first real (not test, not cancelled) order: "new customers" counts these.
    first_order_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ShopifyOrder(Base):
    __tablename__ = "shopify_orders"
    __table_args__ = (
        UniqueConstraint("shop_id", "external_id"),
        Index(None, "workspace_id", "processed_at"),
        # The store rollup finds a day's cancellations by it (few orders are cancelled).
        Index(
            None, "workspace_id", "cancelled_at", postgresql_where=text("cancelled_at IS NOT NULL")
        ),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    workspace_id: Mapped[int] = workspace_column(index=False)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shopify_shops.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("shopify_customers.id", ondelete="SET NULL"), index=True
    )
    customer_order_index: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    processed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    test: Mapped[bool] = mapped_column(Boolean, default=False)
    currency: Mapped[str] = mapped_column(String(3))
    gross_sales: Mapped[Decimal] = mapped_column(Money, default=0)
    discounts: Mapped[Decimal] = mapped_column(Money, default=0)
    shipping: Mapped[Decimal] = mapped_column(Money, default=0)
    taxes: Mapped[Decimal] = mapped_column(Money, default=0)
    refunded: Mapped[Decimal] = mapped_column(Money, default=0)
    total_price: Mapped[Decimal] = mapped_column(Money, default=0)
    cogs: Mapped[Decimal] = mapped_column(Money, default=0)  # Σ unit cost × quantity


class ShopifyOrderLine(Base):
    __tablename__ = "shopify_order_lines"
    __table_args__ = (UniqueConstraint("order_id", "external_id"),)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    workspace_id: Mapped[int] = workspace_column()
    order_id: Mapped[int] = mapped_column(ForeignKey("shopify_orders.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(64))
    product_external_id: Mapped[str | None] = mapped_column(String(64))
    variant_external_id: Mapped[str | None] = mapped_column(String(64))
    sku: Mapped[str | None] = mapped_column(String(128))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal] = mapped_column(Money)
    unit_cost: Mapped[Decimal | None] = mapped_column(Money)


class ShopifyRefund(Base):
    __tablename__ = "shopify_refunds"
    __table_args__ = (
        UniqueConstraint("order_id", "external_id"),
        Index(None, "workspace_id", "created_at"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    workspace_id: Mapped[int] = workspace_column(index=False)
    order_id: Mapped[int] = mapped_column(ForeignKey("shopify_orders.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    amount: Mapped[Decimal] = mapped_column(Money)  # money returned (totalRefundedSet)
    # What it gave back, tax apart (metricx.connectors.records.RefundRecord).
    sales: Mapped[Decimal] = mapped_column(Money, default=0)
    shipping: Mapped[Decimal] = mapped_column(Money, default=0)
    taxes: Mapped[Decimal] = mapped_column(Money, default=0)


class CustomerJourney(Base):
    """What led to one order: Shopify's journey summary plus matching pixel events."""

    __tablename__ = "customer_journeys"
    __table_args__ = (UniqueConstraint("order_id"),)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    workspace_id: Mapped[int] = workspace_column()
    order_id: Mapped[int] = mapped_column(ForeignKey("shopify_orders.id", ondelete="CASCADE"))
    ready: Mapped[bool] = mapped_column(Boolean, default=True)
    days_to_conversion: Mapped[int | None] = mapped_column(Integer)
    customer_order_index: Mapped[int | None] = mapped_column(Integer)


class Touchpoint(Base):
    __tablename__ = "touchpoints"
    __table_args__ = (UniqueConstraint("journey_id", "source_kind", "position"),)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    workspace_id: Mapped[int] = workspace_column()
    journey_id: Mapped[int] = mapped_column(ForeignKey("customer_journeys.id", ondelete="CASCADE"))
    # "first_visit" / "last_visit" from Shopify, "pixel" from our collector.
    source_kind: Mapped[str] = mapped_column(String(16))
    position: Mapped[int] = mapped_column(Integer, default=0)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    landing_page: Mapped[str | None] = mapped_column(Text)
    referrer: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(200))
    source_type: Mapped[str | None] = mapped_column(String(64))
    channel: Mapped[str | None] = mapped_column(String(32))
    utm_source: Mapped[str | None] = mapped_column(String(200))
    utm_medium: Mapped[str | None] = mapped_column(String(200))
    utm_campaign: Mapped[str | None] = mapped_column(String(400))
    utm_content: Mapped[str | None] = mapped_column(String(400))
    utm_term: Mapped[str | None] = mapped_column(String(400))
    entity_id: Mapped[int | None] = mapped_column(
        ForeignKey("entities.id", ondelete="SET NULL"), index=True
    )


class Attribution(Base):
    """Credit of one order to one entity under one model/window/mode (credits sum to 1)."""

    __tablename__ = "attributions"
    __table_args__ = (
        UniqueConstraint("order_id", "model", "window_days", "mode", "touchpoint_id"),
        Index(None, "workspace_id", "model", "window_days", "mode", "credited_at"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    workspace_id: Mapped[int] = workspace_column(index=False)
    order_id: Mapped[int] = mapped_column(ForeignKey("shopify_orders.id", ondelete="CASCADE"))
    # Indexed: deleting a touchpoint (attribution rewrites an order's pixel touches; a sync
    # replaces a journey) cascades here, one lookup per deleted touchpoint.
    touchpoint_id: Mapped[int | None] = mapped_column(
        ForeignKey("touchpoints.id", ondelete="CASCADE"), index=True
    )
    entity_id: Mapped[int | None] = mapped_column(ForeignKey("entities.id", ondelete="SET NULL"))
    model: Mapped[str] = mapped_column(String(32))
    window_days: Mapped[int] = mapped_column(Integer)  # 0 = lifetime
    mode: Mapped[str] = mapped_column(String(8))
    credited_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    credit: Mapped[Decimal] = mapped_column(Numeric(12, 10))
    revenue: Mapped[Decimal] = mapped_column(Money)


class FxRate(Base):
    __tablename__ = "fx_rates"
    __table_args__ = (UniqueConstraint("workspace_id", "day", "from_currency", "to_currency"),)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    workspace_id: Mapped[int] = workspace_column(index=False)
    day: Mapped[date] = mapped_column(Date)
    from_currency: Mapped[str] = mapped_column(String(3))
    to_currency: Mapped[str] = mapped_column(String(3))
    rate: Mapped[Decimal] = mapped_column(Numeric(20, 10))


class PixelEvent(Base):
    __tablename__ = "pixel_events"
    __table_args__ = (
        UniqueConstraint("workspace_id", "event_id"),
        Index(None, "workspace_id", "anonymous_id", "occurred_at"),
        # the tracking monitors count a workspace's events by time, every 15 minutes
        Index(None, "workspace_id", "occurred_at"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    workspace_id: Mapped[int] = workspace_column(index=False)
    event_id: Mapped[str] = mapped_column(String(64))
    anonymous_id: Mapped[str] = mapped_column(String(128))
    event: Mapped[str] = mapped_column(String(32))
    url: Mapped[str | None] = mapped_column(Text)
    referrer: Mapped[str | None] = mapped_column(Text)
    utm_source: Mapped[str | None] = mapped_column(String(200))
    utm_medium: Mapped[str | None] = mapped_column(String(200))
    utm_campaign: Mapped[str | None] = mapped_column(String(400))
    utm_content: Mapped[str | None] = mapped_column(String(400))
    utm_term: Mapped[str | None] = mapped_column(String(400))
    order_external_id: Mapped[str | None] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[datetime] = created_at_column()


class Expense(Base):
    """A custom cost: monthly (prorated by day), one_off, or percent_of_revenue."""

    __tablename__ = "expenses"
    __table_args__ = (
        CheckConstraint(_in("kind", ("monthly", "one_off", "percent_of_revenue")), name="kind"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = workspace_column()
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(24))
    amount: Mapped[Decimal | None] = mapped_column(Money)
    percent: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    currency: Mapped[str] = mapped_column(String(3))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    counts_as_ad_spend: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = created_at_column()


class CostSettings(Base):
    __tablename__ = "cost_settings"
    __table_args__ = (UniqueConstraint("workspace_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = workspace_column(index=False)
    shipping_cost_per_order: Mapped[Decimal] = mapped_column(Money, default=0)
    shipping_cost_pct: Mapped[Decimal] = mapped_column(Numeric(9, 6), default=0)
    payment_fee_pct: Mapped[Decimal] = mapped_column(Numeric(9, 6), default=0)
    payment_fee_fixed: Mapped[Decimal] = mapped_column(Money, default=0)
    handling_per_order: Mapped[Decimal] = mapped_column(Money, default=0)
    # When an admin last saved these: 0 is a real answer (no handling), so "reviewed" cannot
    # be read off the amounts.
    costs_reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SyncRun(Base):
    __tablename__ = "sync_runs"
    __table_args__ = (
        CheckConstraint(_in("status", ("running", "success", "failed")), name="status"),
        Index(None, "workspace_id", "started_at"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    workspace_id: Mapped[int] = workspace_column(index=False)
    connection_id: Mapped[int] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    window_start: Mapped[date | None] = mapped_column(Date)
    window_end: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="running")
    rows_written: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    job_id: Mapped[str | None] = mapped_column(String(128))
    started_at: Mapped[datetime] = created_at_column()
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CopilotTurn(Base):
    __tablename__ = "copilot_turns"
    __table_args__ = (Index(None, "workspace_id", "created_at"),)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    workspace_id: Mapped[int] = workspace_column(index=False)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    conversation_id: Mapped[str | None] = mapped_column(String(64))
    question: Mapped[str] = mapped_column(Text)
    semantic_query: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(16))
    answer: Mapped[str | None] = mapped_column(Text)
    model: Mapped[str | None] = mapped_column(String(64))
    input_tokens: Mapped[int | None] = mapped_column(Integer)
    output_tokens: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()


class AuditLog(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index(None, "workspace_id", "created_at"),)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    workspace_id: Mapped[int] = workspace_column(index=False)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(254))  # email, or "cli" / "scheduler"
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    created_at: Mapped[datetime] = created_at_column()


def tenant_tables() -> list[str]:
    """Tables whose rows belong to one workspace (everything but `workspaces` itself)."""
    return sorted(t.name for t in Base.metadata.sorted_tables if "workspace_id" in t.c)


# What became of one webhook delivery: received (stored; its job not yet confirmed on the
# queue), queued, debounced (an equal shop sync was already waiting), done, failed, ignored.
WEBHOOK_STATUSES = ("received", "queued", "debounced", "done", "failed", "ignored")


class ShopifyWebhookDelivery(Base):
    """One Shopify webhook delivery, once per connection it applies to (a shop connected in
    two workspaces gets two rows). The unique (connection, X-Shopify-Webhook-Id) is the
    de-duplication: Shopify retries a delivery with the same id, so a replay finds its row.
    `details` holds only what processing needs and is not personal beyond Shopify's own ids
    (order ids, the customer id of a compliance request), never emails, phones or names."""

    __tablename__ = "shopify_webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("connection_id", "webhook_id"),
        CheckConstraint(_in("status", WEBHOOK_STATUSES), name="status"),
        Index(None, "workspace_id", "received_at"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    workspace_id: Mapped[int] = workspace_column(index=False)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    webhook_id: Mapped[str] = mapped_column(String(128))
    topic: Mapped[str] = mapped_column(String(64))
    shop_domain: Mapped[str] = mapped_column(String(255))
    api_version: Mapped[str | None] = mapped_column(String(32))
    event_id: Mapped[str | None] = mapped_column(String(128))
    triggered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[datetime] = created_at_column()
    status: Mapped[str] = mapped_column(String(16), default="received")
    job_id: Mapped[str | None] = mapped_column(String(128))
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)


CUSTOM_KINDS = ("metric", "dimension")


class CustomDefinition(Base):
    """A workspace's custom metric or dimension (metricx.semantic.custom): its id (`key`,
    unique per workspace and kind) and its definition as the query language writes it."""

    __tablename__ = "custom_definitions"
    __table_args__ = (
        UniqueConstraint("workspace_id", "kind", "key"),
        CheckConstraint(_in("kind", CUSTOM_KINDS), name="kind"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = workspace_column(index=False)
    kind: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(40))
    definition: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class ShopifyRefundLine(Base):
    """What one refund gave back of one order line: the quantity and the line's refunded price
    after discounts, tax excluded (RefundLineItem.subtotalSet). `line_id` is None for a
    refunded line the order does not list."""

    __tablename__ = "shopify_refund_lines"
    __table_args__ = (UniqueConstraint("refund_id", "line_id"),)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    workspace_id: Mapped[int] = workspace_column()
    refund_id: Mapped[int] = mapped_column(ForeignKey("shopify_refunds.id", ondelete="CASCADE"))
    # indexed: deleting an order's lines (each re-read) cascades here by it
    line_id: Mapped[int | None] = mapped_column(
        ForeignKey("shopify_order_lines.id", ondelete="CASCADE"), index=True
    )
    quantity: Mapped[int] = mapped_column(Integer)
    subtotal: Mapped[Decimal] = mapped_column(Money)


class ShopifyVariantCost(Base):
    """A variant's unit cost from `valid_from` on, as the product sync saw it change (Shopify
    only knows the current cost): a line stored later takes the cost of its order's time."""

    __tablename__ = "shopify_variant_costs"
    workspace_id: Mapped[int] = workspace_column()
    variant_id: Mapped[int] = mapped_column(
        ForeignKey("shopify_variants.id", ondelete="CASCADE"), primary_key=True
    )
    valid_from: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    unit_cost: Mapped[Decimal] = mapped_column(Money)


class ProductDaily(Base):
    """The store facts of a product, variant or SKU per workspace-local day and currency, as
    metricx.semantic.products counts them (each event on its own day: sales, units, COGS,
    orders and first orders on the order's day, refunds on the refund's, a cancellation's
    unreturned rest on its cancel day).

    Rows are per level: `level` 'product' keys (shop_id, product_external_id), 'variant'
    (shop_id, product_external_id, variant_external_id), 'sku' (sku; NO_SKU for none); the
    other key columns are 0 or ''. Orders and customers are counted once per row (an order
    with two variants of a product is one order of the product), so the levels are not
    sums of each other. Lines are keyed by their Shopify ids, not by the catalogue's rows:
    a product synced after its orders is found when read (so an order with lines of two
    products the catalogue lacks counts twice among "(no product)"'s orders and
    customers). `new_customer_orders` are also
    the first customers (one customer per first order). Maintained by
    metricx.sync.product_rollup in the writers' transactions; rebuilt with the zone."""

    __tablename__ = "product_daily"
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    level: Mapped[str] = mapped_column(String(8), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    shop_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_external_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    variant_external_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    sku: Mapped[str] = mapped_column(String(128), primary_key=True)
    gross: Mapped[Decimal] = mapped_column(Money, default=0)
    discounts: Mapped[Decimal] = mapped_column(Money, default=0)
    refunds: Mapped[Decimal] = mapped_column(Money, default=0)
    cogs: Mapped[Decimal] = mapped_column(Money, default=0)
    units: Mapped[int] = mapped_column(BigInteger, default=0)
    orders: Mapped[int] = mapped_column(BigInteger, default=0)
    new_customer_orders: Mapped[int] = mapped_column(BigInteger, default=0)
    repeat_customers: Mapped[int] = mapped_column(BigInteger, default=0)
    #: the line events summed (a line sold, refunded or cancelled): a row of lines without
    #: money is still a row of the product
    line_events: Mapped[int] = mapped_column(BigInteger, default=0)


class ProductCreditDaily(Base):
    """What a campaign's credited live orders (under the default attribution only,
    metricx.semantic.products.ROLLED_UP_ATTRIBUTION; model and window kept in the key) bought
    per product, variant or SKU, by the local day of the order and its currency:
    Σ credited revenue × the line's part of its order's sales (`credited_revenue`, in the
    order's currency). Keys as ProductDaily's, plus level 'order' (other keys 0 or ''):
    the campaign's credited revenue of whole orders, lines or not, over which its spend is
    shared (metricx.semantic.products). Unbounded numeric: the shares are quotients, kept
    exact so taking a set out and putting it back cancels. Maintained by
    metricx.sync.product_rollup."""

    __tablename__ = "product_credit_daily"
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    model: Mapped[str] = mapped_column(String(32), primary_key=True)
    window_days: Mapped[int] = mapped_column(Integer, primary_key=True)
    level: Mapped[str] = mapped_column(String(8), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    campaign_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    shop_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_external_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    variant_external_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    sku: Mapped[str] = mapped_column(String(128), primary_key=True)
    credited_revenue: Mapped[Decimal] = mapped_column(Numeric(), default=0)


#: An email platform's messages: a campaign is one send, a flow an automation sending daily.
EMAIL_MESSAGE_KINDS = ("campaign", "flow")
EMAIL_CHANNELS = ("email", "sms")


class EmailMessage(Base):
    """A campaign or flow of an email connection (Klaviyo), as its list endpoints describe it.
    `channel` is a campaign's (email or sms); a flow may mix channels, so its is NULL and
    its daily rows carry the channel."""

    __tablename__ = "email_messages"
    __table_args__ = (
        UniqueConstraint("connection_id", "kind", "external_id"),
        CheckConstraint(_in("kind", EMAIL_MESSAGE_KINDS), name="kind"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    workspace_id: Mapped[int] = workspace_column()
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(400))
    channel: Mapped[str | None] = mapped_column(String(8))
    status: Mapped[str | None] = mapped_column(String(32))
    platform_created_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    send_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class EmailDaily(Base):
    """One message's sends of one local day (the email account's zone: the platform reports
    by send day) on one channel, as the platform reports them: recipients, delivered, unique
    opens and clicks, and the orders and revenue the platform attributes to those sends
    (under its own attribution window; they grow for that long after the day). A sync
    replaces a connection's days whole (metricx.sync.email), which is what keeps S1."""

    __tablename__ = "email_daily"
    __table_args__ = (
        CheckConstraint(_in("channel", EMAIL_CHANNELS), name="channel"),
        Index(None, "workspace_id", "day"),
        Index(None, "connection_id", "day"),
    )
    message_id: Mapped[int] = mapped_column(
        ForeignKey("email_messages.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    channel: Mapped[str] = mapped_column(String(8), primary_key=True)
    workspace_id: Mapped[int] = workspace_column(index=False)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    currency: Mapped[str] = mapped_column(String(3))
    recipients: Mapped[int] = mapped_column(BigInteger, default=0)
    delivered: Mapped[int] = mapped_column(BigInteger, default=0)
    opens: Mapped[int] = mapped_column(BigInteger, default=0)
    clicks: Mapped[int] = mapped_column(BigInteger, default=0)
    conversions: Mapped[int] = mapped_column(BigInteger, default=0)
    conversion_value: Mapped[Decimal] = mapped_column(Money, default=0)


#: What an alert rule watches for: a value above or below a threshold, a change (in
#: percent) against a baseline, or a value anomalous against its seasonal baseline
#: (metricx.alerts.rules, metricx.alerts.anomaly).
ALERT_CONDITIONS = ("above", "below", "rises_by", "falls_by", "anomalous")
#: A change's baseline: the previous period of the same length, or the median of the same
#: period 1 to 4 weeks earlier.
ALERT_BASELINES = ("previous_period", "same_weekday")
#: The workspace-local period a rule reads: today so far, yesterday, the last 7 whole days.
ALERT_PERIODS = ("today", "yesterday", "last_7_days")
#: When a rule runs: every 15 minutes (after the intraday sync), hourly, daily at local_hour.
ALERT_SCHEDULES = ("after_sync", "hourly", "daily")


class AlertRule(Base):
    """A rule watching one metric (catalogue or custom; filtered, possibly split) of the
    workspace (owner_id NULL) or of one member (owner_id). `filters` is a SemanticQuery's,
    `channels` the deliveries asked for ([{"kind": "email", "to": ...}, {"kind": "slack"}]);
    `next_run_at` is when it is due next (metricx.alerts.schedule)."""

    __tablename__ = "alert_rules"
    __table_args__ = (
        CheckConstraint(_in("condition", ALERT_CONDITIONS), name="condition"),
        CheckConstraint(f"baseline IS NULL OR {_in('baseline', ALERT_BASELINES)}", name="baseline"),
        CheckConstraint(_in("period", ALERT_PERIODS), name="period"),
        CheckConstraint(_in("schedule", ALERT_SCHEDULES), name="schedule"),
        CheckConstraint("local_hour IS NULL OR local_hour BETWEEN 0 AND 23", name="local_hour"),
        CheckConstraint("cooldown_minutes >= 0", name="cooldown_minutes"),
        Index(None, "workspace_id", "next_run_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = workspace_column(index=False)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(120))
    metric: Mapped[str] = mapped_column(String(40))
    filters: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    split: Mapped[str | None] = mapped_column(String(40))
    condition: Mapped[str] = mapped_column(String(16))
    threshold: Mapped[Decimal] = mapped_column(Money)
    baseline: Mapped[str | None] = mapped_column(String(16))
    period: Mapped[str] = mapped_column(String(16))
    schedule: Mapped[str] = mapped_column(String(16))
    local_hour: Mapped[int | None] = mapped_column(Integer)
    cooldown_minutes: Mapped[int] = mapped_column(Integer, default=60)
    channels: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    next_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class AlertEvent(Base):
    """A rule that fired, once per evaluation window (`window_key`: the run's local time in
    the workspace's zone, with its offset) and split value (NULL unsplit): the unique key
    makes a retried or repeated evaluation record its firing once."""

    __tablename__ = "alert_events"
    __table_args__ = (
        UniqueConstraint(
            "rule_id",
            "monitor_id",
            "window_key",
            "split_value",
            postgresql_nulls_not_distinct=True,
        ),
        CheckConstraint("(rule_id IS NULL) <> (monitor_id IS NULL)", name="one_source"),
        Index(None, "workspace_id", "fired_at"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    workspace_id: Mapped[int] = workspace_column(index=False)
    # exactly one of them: the rule or the built-in monitor that fired
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("alert_rules.id", ondelete="CASCADE"))
    monitor_id: Mapped[int | None] = mapped_column(
        ForeignKey("alert_monitors.id", ondelete="CASCADE")
    )
    window_key: Mapped[str] = mapped_column(String(32))
    split_value: Mapped[str | None] = mapped_column(String(400))
    # unbounded: the engine's value as computed, whatever its size
    value: Mapped[Decimal] = mapped_column(Numeric())
    reference: Mapped[Decimal | None] = mapped_column(Numeric())
    message: Mapped[str] = mapped_column(Text)
    fired_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


#: The built-in monitors every workspace has (metricx.alerts.monitors), on by default.
MONITOR_KINDS = (
    "connection_broken",
    "data_stale",
    "pacing_over_budget",
    "spend_no_conversions",
    "tracking_drop",
    "utm_hygiene",
    "api_version_eol",
)


class AlertMonitor(Base):
    """One built-in monitor of a workspace: on or off, its parameters (`params`, validated by
    metricx.alerts.monitors) and channels; evaluated every 15 minutes with the rules."""

    __tablename__ = "alert_monitors"
    __table_args__ = (
        UniqueConstraint("workspace_id", "kind"),
        CheckConstraint(_in("kind", MONITOR_KINDS), name="kind"),
        CheckConstraint("cooldown_minutes >= 0", name="cooldown_minutes"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = workspace_column(index=False)
    kind: Mapped[str] = mapped_column(String(32))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    channels: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    cooldown_minutes: Mapped[int] = mapped_column(Integer, default=360)
    last_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at_column()


#: How often a digest is sent: every day, or every week on `weekday` (0 Monday).
DIGEST_CADENCES = ("daily", "weekly")


class Digest(Base):
    """A scheduled summary of the workspace (metricx.digests): daily or weekly at a local
    hour, to its channels; `next_run_at` is when it is due next."""

    __tablename__ = "digests"
    __table_args__ = (
        UniqueConstraint("workspace_id", "cadence"),
        CheckConstraint(_in("cadence", DIGEST_CADENCES), name="cadence"),
        CheckConstraint("local_hour BETWEEN 0 AND 23", name="local_hour"),
        CheckConstraint(
            "(cadence = 'weekly') = (weekday IS NOT NULL) AND "
            "(weekday IS NULL OR weekday BETWEEN 0 AND 6)",
            name="weekday",
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = workspace_column(index=False)
    cadence: Mapped[str] = mapped_column(String(16))
    local_hour: Mapped[int] = mapped_column(Integer, default=8)
    weekday: Mapped[int | None] = mapped_column(Integer)
    channels: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    next_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at_column()


#: What a delivery carries, where it goes, and how it stands (metricx.delivery).
DELIVERY_SOURCES = ("alert", "digest", "test")
DELIVERY_CHANNELS = ("email", "slack")
DELIVERY_STATUSES = ("pending", "sent", "failed")


class Delivery(Base):
    """One message to one channel, enqueued once: `dedupe_key` names the rule or monitor
    event (or digest window) and the channel, so a repeated evaluation or a retried job finds
    the row already there. `attempts`, `last_error` and `status` are the delivery log."""

    __tablename__ = "deliveries"
    __table_args__ = (
        CheckConstraint(_in("source", DELIVERY_SOURCES), name="source"),
        CheckConstraint(_in("channel", DELIVERY_CHANNELS), name="channel"),
        CheckConstraint(_in("status", DELIVERY_STATUSES), name="status"),
        Index(None, "workspace_id", "created_at"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    workspace_id: Mapped[int] = workspace_column(index=False)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    source: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("alert_events.id", ondelete="SET NULL"))
    digest_id: Mapped[int | None] = mapped_column(ForeignKey("digests.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(254))  # an email address, or "slack"
    subject: Mapped[str] = mapped_column(Text)
    # what the message is built from (the digest's window, a test's words); never a secret
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SlackWebhook(Base):
    """A workspace's Slack incoming-webhook URL, sealed like a token (the URL is the
    secret: anyone holding it can post to the channel)."""

    __tablename__ = "slack_webhooks"
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    nonce: Mapped[bytes] = mapped_column(LargeBinary)
    key_id: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
