"""Plain immutable records the connectors return; the sync layer turns them into rows.

Money is Decimal in the source's currency, times are aware UTC datetimes, days are dates in the
source's own time zone (ad account or shop). Nothing here knows about the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

LEVELS = ("account", "campaign", "adset", "ad")


@dataclass(frozen=True)
class AccountInfo:
    """An ad account: id as the platform spells it (Meta without `act_`, Google without dashes)."""

    external_id: str
    name: str
    currency: str
    timezone: str


#: What a creative shows: one image, a video, several cards, text only (a search ad), or
#: what the platform does not say (an ad promoting an existing post).
CREATIVE_FORMATS = ("image", "video", "carousel", "text", "unknown")


@dataclass(frozen=True)
class CreativeRecord:
    """What an ad shows, as the platform keeps it: several ads may use one creative.
    `thumbnail_url` is the platform's preview, often signed and expiring: the sync downloads
    it at once and never stores the URL."""

    external_id: str
    name: str
    format: str  # CREATIVE_FORMATS
    title: str | None
    body: str | None
    call_to_action: str | None
    video_id: str | None
    thumbnail_url: str | None


@dataclass(frozen=True)
class EntityRecord:
    """One node of the campaign tree; `status` is the platform's own word (ACTIVE, ENABLED...).
    An ad carries its creative where the platform returns one."""

    level: str  # account | campaign | adset | ad
    external_id: str
    parent_external_id: str | None
    name: str
    status: str | None
    objective: str | None
    budget: Decimal | None  # daily (or lifetime) budget in account currency, major units
    creative: CreativeRecord | None = None


@dataclass(frozen=True)
class MetricRecord:
    """Additive facts for one ad and one local day (hour None) or one local hour of it.
    Video facts are plays (metricx.totals.Totals); a platform that reports none leaves 0."""

    ad_external_id: str
    day: date
    hour: int | None
    spend: Decimal
    impressions: int
    clicks: int
    conversions: Decimal
    conversion_value: Decimal
    leads: Decimal
    video_plays: int = 0
    video_3s_plays: int = 0
    thruplays: int = 0
    video_p25: int = 0
    video_p50: int = 0
    video_p75: int = 0
    video_p100: int = 0
    video_seconds: Decimal = Decimal(0)


@dataclass(frozen=True)
class TokenGrant:
    """Result of an OAuth exchange or refresh; expires_at None means "does not expire"."""

    access_token: str
    refresh_token: str | None
    expires_at: datetime | None
    scope: str | None = None


@dataclass(frozen=True)
class ShopInfo:
    domain: str
    name: str
    currency: str
    timezone: str


@dataclass(frozen=True)
class VariantRecord:
    external_id: str
    product_id: str
    title: str
    sku: str | None
    price: Decimal
    unit_cost: Decimal | None  # None when the merchant never entered a cost


@dataclass(frozen=True)
class ProductRecord:
    external_id: str
    title: str
    status: str | None
    product_type: str | None
    vendor: str | None
    created_at: datetime
    updated_at: datetime
    variants: tuple[VariantRecord, ...]


@dataclass(frozen=True)
class CustomerRecord:
    external_id: str
    email: str | None
    first_name: str | None
    last_name: str | None
    created_at: datetime
    updated_at: datetime
    orders_count: int
    amount_spent: Decimal


@dataclass(frozen=True)
class LineItemRecord:
    external_id: str
    quantity: int
    sku: str | None
    unit_price: Decimal  # original unit price, before discounts
    variant_id: str | None
    product_id: str | None
    unit_cost: Decimal | None


@dataclass(frozen=True)
class RefundLineRecord:
    """What a refund gave back of one order line: `subtotal` is the refunded price after
    discounts, tax excluded (RefundLineItem.subtotalSet)."""

    line_external_id: str
    quantity: int
    subtotal: Decimal


@dataclass(frozen=True)
class RefundRecord:
    """A refund: `amount` is the money returned (totalRefundedSet); `sales`, `shipping` and
    `taxes` say what it gave back (refunded goods net of order adjustments, refunded shipping,
    and the tax of both), `lines` which order lines it gave back (Σ subtotal = sales before
    order adjustments). A refund known only by its amount (sales None, no lines) counts it
    whole as sales."""

    external_id: str
    created_at: datetime
    amount: Decimal
    sales: Decimal | None = None
    shipping: Decimal = Decimal(0)
    taxes: Decimal = Decimal(0)
    lines: tuple[RefundLineRecord, ...] = ()

    @property
    def refunded_sales(self) -> Decimal:
        return self.amount - self.shipping - self.taxes if self.sales is None else self.sales


@dataclass(frozen=True)
class VisitRecord:
    """A session from Shopify's customer journey, flattened (UTMs as plain fields)."""

    occurred_at: datetime | None
    landing_page: str | None
    referrer: str | None
    source: str | None
    source_type: str | None
    utm_source: str | None
    utm_medium: str | None
    utm_campaign: str | None
    utm_content: str | None
    utm_term: str | None


@dataclass(frozen=True)
class JourneyRecord:
    """customerJourneySummary; `ready` False means Shopify has not computed it yet: re-fetch."""

    ready: bool
    days_to_conversion: int | None
    customer_order_index: int | None
    first_visit: VisitRecord | None
    last_visit: VisitRecord | None


@dataclass(frozen=True)
class OrderRecord:
    """An order as of the moment it was read; amounts in the shop currency."""

    external_id: str
    name: str
    currency: str
    created_at: datetime
    processed_at: datetime | None
    updated_at: datetime
    cancelled_at: datetime | None
    test: bool
    customer_id: str | None
    gross: Decimal  # Σ original unit price × quantity
    discounts: Decimal
    shipping: Decimal
    tax: Decimal
    refunded: Decimal
    total: Decimal  # current total (after refunds), as Shopify reports it
    line_items: tuple[LineItemRecord, ...]
    refunds: tuple[RefundRecord, ...]
    journey: JourneyRecord | None

    @property
    def journey_ready(self) -> bool:
        """False while Shopify is still computing the journey (or when there is none)."""
        return self.journey is not None and self.journey.ready

    @property
    def customer_order_index(self) -> int | None:
        return self.journey.customer_order_index if self.journey else None


@dataclass(frozen=True)
class EmailMessageRecord:
    """A Klaviyo campaign or flow. A campaign is sent once on one channel; a flow sends every
    day and may mix channels (its metric rows carry the channel), so its `channel` is None.
    `status` is Klaviyo's own word (campaign "Sent", "Scheduled"...; flow "live", "manual"...)."""

    external_id: str
    kind: str  # campaign | flow
    name: str
    channel: str | None  # email | sms for a campaign; None for a flow
    status: str | None
    created_at: datetime | None
    send_time: datetime | None  # campaigns only: when it was (or will be) sent


@dataclass(frozen=True)
class EmailMetricRecord:
    """One campaign or flow on one channel and one local day (the account's zone) of sends.

    Klaviyo reports by send date: a day's conversions are the orders it attributed to the
    messages sent that day, so they keep growing until its attribution window has passed.
    `opens` and `clicks` are unique (one per recipient); SMS has no opens."""

    message_external_id: str
    kind: str  # campaign | flow
    channel: str  # email | sms
    day: date
    recipients: int
    delivered: int
    opens: int
    clicks: int
    conversions: int
    conversion_value: Decimal
