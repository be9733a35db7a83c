"""An order's journey: the touches that may have led to it, from Shopify and from our pixel.

Shopify gives each order its first and last visit (often the same visit twice); the pixel
gives every page view of the buyer's browser up to the purchase. Both become `touchpoints`
rows, each classified into a channel and mapped to an ad entity by its UTMs. Then
`touches_of` merges repeats of one session (same channel and entity within 30 minutes), so a
visit seen by both sources is credited once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import Table, bindparam, delete, func, or_, select, update
from sqlalchemy.orm import Session

from metricx.attribution.channels import Visit, classify
from metricx.attribution.models import Touch
from metricx.attribution.utm import EntityIndex
from metricx.models import CustomerJourney, PixelEvent, ShopifyOrder, Touchpoint
from metricx.platforms import PLATFORMS
from metricx.sync.bulk import insert_rows

SESSION_GAP = timedelta(minutes=30)
UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")
#: A paid touch matched to an entity but tagged without a medium is still paid.
PAID_BY_PROVIDER = {key: p.channel for key, p in PLATFORMS.items() if p.channel}


@dataclass(frozen=True)
class OrderTouch:
    touchpoint_id: int
    at: datetime
    channel: str
    entity_id: int | None
    campaign: str | None


@dataclass(frozen=True)
class _Purchase:
    order_id: int
    anonymous_id: str
    at: datetime


def pixel_order_keys() -> tuple:
    """What a storefront may send as an order's id: Shopify's id (gid://shopify/Order/N), its
    numeric tail N (the id checkout scripts see), the order name, or N as an OrderIdentity
    (gid://shopify/OrderIdentity/N), which is how the checkout names the order it has just
    created ("the ID of the Order once successfully created", orderConfirmation.order.id in
    https://shopify.dev/docs/api/checkout-ui-extensions/latest/target-apis/checkout-apis/
    order-api). A custom pixel sends checkout_completed's event.data.checkout.order.id as it
    comes, in any of these forms."""
    number = func.regexp_replace(ShopifyOrder.external_id, "^.*/", "")
    return (
        ShopifyOrder.external_id,
        ShopifyOrder.name,
        number,
        func.concat("gid://shopify/OrderIdentity/", number),
    )


def _utms_from_url(url: str | None) -> dict[str, str]:
    query = parse_qs(urlsplit(url).query) if url else {}
    return {f: query[f][0] for f in UTM_FIELDS if query.get(f)}


def _starts_session(event: PixelEvent) -> bool:
    """A page view is a touch when it arrives from outside the store (or is tagged)."""
    if any(getattr(event, f) for f in UTM_FIELDS) or _utms_from_url(event.url):
        return True
    store = urlsplit(event.url or "").hostname
    referrer = urlsplit(event.referrer or "").hostname
    return referrer != store  # no referrer at all is a direct visit


def order_keys(order: ShopifyOrder) -> tuple[str, ...]:
    """pixel_order_keys() of one order, in Python."""
    number = order.external_id.rsplit("/", 1)[-1]
    return (order.external_id, order.name, number, f"gid://shopify/OrderIdentity/{number}")


def add_pixel_touches(session: Session, workspace_id: int, orders: Sequence[ShopifyOrder]) -> int:
    """(Re)write the pixel touchpoints of `orders` from their buyers' page views."""
    # The purchases are looked up by the keys of these orders (a hashed IN list, one scan),
    # not joined on "order_external_id IN (the order's four keys)", a condition PostgreSQL
    # can only test pair by pair: every purchase of the workspace × every order of the chunk.
    owner = {key: order.id for order in orders for key in order_keys(order) if key}
    if not owner:
        return 0
    latest: dict[tuple[int, str], datetime] = {}
    for key, anonymous_id, at in session.execute(
        select(
            PixelEvent.order_external_id, PixelEvent.anonymous_id, func.max(PixelEvent.occurred_at)
        )
        .where(
            PixelEvent.workspace_id == workspace_id,
            PixelEvent.event == "purchase",
            PixelEvent.order_external_id.in_(list(owner)),
        )
        .group_by(PixelEvent.order_external_id, PixelEvent.anonymous_id)
    ):
        buyer = (owner[cast(str, key)], anonymous_id)  # IN (...) never matches a NULL key
        latest[buyer] = max(at, latest.get(buyer, at))
    purchases = [
        _Purchase(order_id, anonymous_id, at) for (order_id, anonymous_id), at in latest.items()
    ]
    if not purchases:
        return 0
    buyers = defaultdict(list)
    for purchase in purchases:
        buyers[purchase.order_id].append(purchase)
    views = session.scalars(
        select(PixelEvent)
        .where(
            PixelEvent.workspace_id == workspace_id,
            PixelEvent.event == "page_view",
            PixelEvent.anonymous_id.in_({p.anonymous_id for p in purchases}),
        )
        .order_by(PixelEvent.occurred_at, PixelEvent.id)
    ).all()
    views_by_buyer = defaultdict(list)
    for view in views:
        views_by_buyer[view.anonymous_id].append(view)
    journeys = _journeys_for(session, workspace_id, list(buyers))
    session.execute(
        delete(Touchpoint).where(
            Touchpoint.journey_id.in_(list(journeys.values())), Touchpoint.source_kind == "pixel"
        )
    )
    rows = []
    for order_id, order_purchases in buyers.items():
        touches = [
            v
            for p in order_purchases
            for v in views_by_buyer[p.anonymous_id]
            if v.occurred_at <= p.at and _starts_session(v)
        ]
        for position, view in enumerate(sorted(touches, key=lambda v: (v.occurred_at, v.id))):
            utms = _utms_from_url(view.url) | {
                f: getattr(view, f) for f in UTM_FIELDS if getattr(view, f)
            }
            rows.append(
                {
                    "workspace_id": workspace_id,
                    "journey_id": journeys[order_id],
                    "source_kind": "pixel",
                    "position": position,
                    "occurred_at": view.occurred_at,
                    "landing_page": view.url,
                    "referrer": view.referrer,
                    "source": utms.get("utm_source"),
                    **{f: utms.get(f) for f in UTM_FIELDS},
                }
            )
    insert_rows(session, Touchpoint, rows)
    return len(rows)


def _journeys_for(session: Session, workspace_id: int, order_ids: list[int]) -> dict[int, int]:
    """The journey row of each order, created for orders Shopify gave none."""
    existing = dict(
        session.execute(
            select(CustomerJourney.order_id, CustomerJourney.id).where(
                CustomerJourney.workspace_id == workspace_id,
                CustomerJourney.order_id.in_(order_ids),
            )
        ).all()
    )
    missing = [o for o in order_ids if o not in existing]
    created = insert_rows(
        session,
        CustomerJourney,
        [{"workspace_id": workspace_id, "order_id": o, "ready": True} for o in missing],
        returning=(CustomerJourney.order_id, CustomerJourney.id),
    )
    return existing | {row.order_id: row.id for row in created}


def classify_touchpoints(
    session: Session, workspace_id: int, order_ids: list[int], index: EntityIndex
) -> None:
    """Set channel and entity of every touchpoint of these orders (the index may have
    learned new entities or the workspace changed its UTM convention since the last time)."""
    points = session.scalars(
        select(Touchpoint)
        .join(CustomerJourney, CustomerJourney.id == Touchpoint.journey_id)
        .where(Touchpoint.workspace_id == workspace_id, CustomerJourney.order_id.in_(order_ids))
    ).all()
    changes = []
    for point in points:
        found = classify(
            Visit(
                point.utm_source,
                point.utm_medium,
                point.landing_page,
                point.referrer,
                point.source_type,
            )
        )
        utms = {f: getattr(point, f) for f in UTM_FIELDS}
        entity_id = index.match(utms, found.provider) if any(utms.values()) else None
        channel = found.channel
        if entity_id is not None and not channel.startswith("paid_"):
            channel = PAID_BY_PROVIDER[index.nodes[entity_id].provider]
        if (channel, entity_id) != (point.channel, point.entity_id):
            changes.append({"point": point.id, "channel": channel, "entity": entity_id})
    if changes:
        table = cast(Table, Touchpoint.__table__)  # the ORM declares any FromClause
        session.connection().execute(
            update(table)
            .where(table.c.id == bindparam("point"))
            .values(channel=bindparam("channel"), entity_id=bindparam("entity")),
            changes,
        )
        session.expire_all()


def touches_of(
    session: Session, workspace_id: int, order_ids: list[int]
) -> dict[int, list[OrderTouch]]:
    """Each order's touches, oldest first, one per session."""
    rows = session.execute(
        select(
            CustomerJourney.order_id,
            Touchpoint.id,
            Touchpoint.occurred_at,
            Touchpoint.channel,
            Touchpoint.entity_id,
            Touchpoint.utm_campaign,
        )
        .join(CustomerJourney, CustomerJourney.id == Touchpoint.journey_id)
        .where(
            Touchpoint.workspace_id == workspace_id,
            CustomerJourney.order_id.in_(order_ids),
            or_(CustomerJourney.ready.is_(True), Touchpoint.source_kind == "pixel"),
        )
        .order_by(CustomerJourney.order_id, Touchpoint.occurred_at, Touchpoint.id)
    ).all()
    touches: dict[int, list[OrderTouch]] = defaultdict(list)
    for order_id, point_id, at, channel, entity_id, campaign in rows:
        kept = touches[order_id]
        same = kept and (kept[-1].channel, kept[-1].entity_id, kept[-1].campaign) == (
            channel,
            entity_id,
            campaign,
        )
        if same and at - kept[-1].at <= SESSION_GAP:
            continue
        kept.append(OrderTouch(point_id, at, channel or "direct", entity_id, campaign))
    return touches


def as_model_touches(touches: list[OrderTouch]) -> list[Touch]:
    return [Touch(t.touchpoint_id, t.at, t.channel == "direct") for t in touches]
