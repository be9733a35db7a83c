"""Shop customers' personal data in our tables: what it is, how Shopify's compliance requests
redact it, and what an export of one customer's data holds.

Shopify requires apps to act on customers/redact, shop/redact and customers/data_request
within 30 days (https://shopify.dev/docs/apps/build/compliance/privacy-law-compliance).
Every request is written to the audit log with its topic, shop, Shopify's customer id and
what was done, in the same transaction as the change; never an email, a name or a URL.

What we hold, column by column, and what customers/redact does (COLUMN_POLICY below says the
same; a test fails when a column is added to these tables without a decision):

- shopify_customers.external_id: personal (Shopify's id of the person) -> "redacted:<random>".
  The row stays, anonymous: its first order still counts as a new customer on that day.
- shopify_customers.created_at, updated_at: personal with the id (account activity) -> NULL.
- shopify_customers.orders_count, first_order_at: counts behind the new-customer metrics, not
  personal once nothing links them to a person -> kept.
- shopify_orders.customer_id: the link to the person -> NULL. Everything else of an order (its
  ids, name, times, money, COGS, customer_order_index) is the merchant's sales -> kept, so
  revenue, P&L, new-vs-returning and attribution stay as they were.
- customer_journeys: days to conversion, order index -> kept.
- touchpoints.landing_page: may be personal (click ids such as fbclid/gclid identify one
  person's ad click; emails or tokens in the query; order-status tokens in the path) ->
  "scheme://host/" with the utm_* parameters and the click-id names valued "redacted", which
  is all channel classification reads.
- touchpoints.referrer: may be personal (a full referring URL: webmail, search terms) ->
  "scheme://host/", the referring site, which is what classification reads.
- touchpoints utm_*, source, source_type, channel, occurred_at, entity: campaign labels and a
  time -> kept.
- pixel_events.anonymous_id: personal (a browser identifier, an online identifier) -> one
  "redacted:<random>" per original id, so a journey still groups and attribution is unchanged.
- pixel_events.url, referrer: as touchpoints. event, event_id, utm_*, order_external_id,
  times -> kept.

The Shopify sync never stores emails, names, phones or addresses (the connector reads them;
metricx.sync.shopify.write_customers keeps none), so there is nothing of those to blank.
A customer's pixel events are those of every browser that sent a purchase of one of the
customer's orders (matched by attribution's order-key rule: id, numeric id or name).

shop/redact ("48 hours after a store owner uninstalls your app ... erase data for that store")
deletes the shop's whole data: the shop row and, by cascade, its products, customers, orders,
lines, refunds, journeys, touchpoints and attributions; its pixel events (all of the
workspace's when it has no other shop, else the browsers of its orders); its tokens; and the
store rollup of the days it fed is recomputed, the cohort and product rollups rebuilt. The
connection row stays, disconnected, with its sync history and audit trail. A shop reconnected
after the request was triggered is left alone.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, cast
from urllib.parse import parse_qsl, urlencode, urlsplit

from sqlalchemy import CursorResult, Table, and_, bindparam, delete, func, or_, select, text, update
from sqlalchemy.engine import Result
from sqlalchemy.orm import Session

from metricx import validation
from metricx.actor import Actor
from metricx.attribution.journeys import pixel_order_keys
from metricx.connection_store import get_connection
from metricx.db import new_session, transaction
from metricx.models import (
    Connection,
    CustomerJourney,
    PixelEvent,
    ShopifyCustomer,
    ShopifyOrder,
    ShopifyOrderLine,
    ShopifyProduct,
    ShopifyRefund,
    ShopifyShop,
    Token,
    Touchpoint,
)
from metricx.services import audit
from metricx.sync import order_rollups, rollup
from metricx.sync.runs import connection_lock

REDACTED = "redacted"
ID_LENGTH = 64  # Shopify ids as stored (external_id columns)
UTM_PARAMETERS = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")
# Ad click ids: they identify one person's click to the ad platform; only their presence
# matters to us (metricx.attribution.channels reads fbclid/gclid/gbraid/wbraid/msclkid/ttclid).
CLICK_IDS = (
    "fbclid",
    "gclid",
    "gbraid",
    "wbraid",
    "msclkid",
    "ttclid",
    "dclid",
    "twclid",
    "li_fat_id",
    "epik",
    "sccid",
    "yclid",
)

KEEP, BLANK, PSEUDONYMISE, UNLINK, SCRUB_URL, ORIGIN = (
    "keep",
    "blank",
    "pseudonymise",
    "unlink",
    "scrub_url",
    "origin",
)
#: Every column of the tables that hold a shop customer's data, and what customers/redact
#: does to it (see the module's table for why).
COLUMN_POLICY: dict[str, dict[str, str]] = {
    "shopify_customers": {
        "id": KEEP,
        "workspace_id": KEEP,
        "shop_id": KEEP,
        "external_id": PSEUDONYMISE,
        "created_at": BLANK,
        "updated_at": BLANK,
        "orders_count": KEEP,
        "first_order_at": KEEP,
    },
    "shopify_orders": {
        "id": KEEP,
        "workspace_id": KEEP,
        "shop_id": KEEP,
        "external_id": KEEP,
        "name": KEEP,
        "customer_id": UNLINK,
        "customer_order_index": KEEP,
        "created_at": KEEP,
        "processed_at": KEEP,
        "updated_at": KEEP,
        "cancelled_at": KEEP,
        "test": KEEP,
        "currency": KEEP,
        "gross_sales": KEEP,
        "discounts": KEEP,
        "shipping": KEEP,
        "taxes": KEEP,
        "refunded": KEEP,
        "total_price": KEEP,
        "cogs": KEEP,
    },
    "customer_journeys": {
        "id": KEEP,
        "workspace_id": KEEP,
        "order_id": KEEP,
        "ready": KEEP,
        "days_to_conversion": KEEP,
        "customer_order_index": KEEP,
    },
    "touchpoints": {
        "id": KEEP,
        "workspace_id": KEEP,
        "journey_id": KEEP,
        "source_kind": KEEP,
        "position": KEEP,
        "occurred_at": KEEP,
        "landing_page": SCRUB_URL,
        "referrer": ORIGIN,
        "source": KEEP,
        "source_type": KEEP,
        "channel": KEEP,
        "utm_source": KEEP,
        "utm_medium": KEEP,
        "utm_campaign": KEEP,
        "utm_content": KEEP,
        "utm_term": KEEP,
        "entity_id": KEEP,
    },
    "pixel_events": {
        "id": KEEP,
        "workspace_id": KEEP,
        "event_id": KEEP,
        "anonymous_id": PSEUDONYMISE,
        "event": KEEP,
        "url": SCRUB_URL,
        "referrer": ORIGIN,
        "utm_source": KEEP,
        "utm_medium": KEEP,
        "utm_campaign": KEEP,
        "utm_content": KEEP,
        "utm_term": KEEP,
        "order_external_id": KEEP,
        "occurred_at": KEEP,
        "received_at": KEEP,
    },
}


# --- URLs --------------------------------------------------------------------------------------


def _origin(parts: Any) -> str | None:
    if not parts.scheme or not parts.hostname:
        return None
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}/"


def scrub_url(url: str | None) -> str | None:
    """A visited URL without what may identify the visitor: the site, its UTM parameters and
    the names of the click ids it carried (valued "redacted"). Applying it twice changes
    nothing; channel classification reads the same host, UTMs and click ids as before."""
    if not url:
        return url
    try:
        parts = urlsplit(url)
        query = parse_qsl(parts.query)
        origin = _origin(parts)
    except ValueError:  # not a URL we can read: keep nothing of it
        return "/"
    kept = [(k, v) for k, v in query if k in UTM_PARAMETERS]
    kept += [(k, REDACTED) for k in dict.fromkeys(k for k, _ in query if k in CLICK_IDS)]
    base = origin or "/"
    return f"{base}?{urlencode(kept)}" if kept else base


def origin_of(url: str | None) -> str | None:
    """A referrer reduced to the referring site."""
    if not url:
        return url
    try:
        return _origin(urlsplit(url))
    except ValueError:
        return None


def _token() -> str:
    return f"{REDACTED}:{uuid.uuid4().hex}"


# --- ids ---------------------------------------------------------------------------------------


def shopify_keys(ids: Iterable[str | int | None], kind: str) -> list[str]:
    """Shopify ids as webhooks send them (numbers) and as the sync stores them (GraphQL gids):
    both spellings, so either matches."""
    keys: set[str] = set()
    for raw in ids:
        if raw is None or str(raw).strip() == "":
            continue
        value = str(raw).strip()
        number = value.rsplit("/", 1)[-1]
        keys.update({value, number, f"gid://shopify/{kind}/{number}"})
    return sorted(keys)


def _shop(session: Session, workspace_id: int, connection_id: int) -> ShopifyShop | None:
    return session.scalar(
        select(ShopifyShop).where(
            ShopifyShop.workspace_id == workspace_id, ShopifyShop.connection_id == connection_id
        )
    )


def _customer_rows(session: Session, shop: ShopifyShop, customer_id: str | None) -> list[int]:
    keys = shopify_keys([customer_id], "Customer")
    if not keys:
        return []
    return list(
        session.scalars(
            select(ShopifyCustomer.id).where(
                ShopifyCustomer.workspace_id == shop.workspace_id,
                ShopifyCustomer.shop_id == shop.id,
                ShopifyCustomer.external_id.in_(keys),
            )
        )
    )


def _order_rows(
    session: Session, shop: ShopifyShop, customers: list[int], order_ids: Sequence[str]
) -> list[int]:
    keys = shopify_keys(order_ids, "Order")
    match = [ShopifyOrder.external_id.in_(keys)] if keys else []
    if customers:
        match.append(ShopifyOrder.customer_id.in_(customers))
    if not match:
        return []
    return list(
        session.scalars(
            select(ShopifyOrder.id)
            .where(
                ShopifyOrder.workspace_id == shop.workspace_id,
                ShopifyOrder.shop_id == shop.id,
                or_(*match),
            )
            .order_by(ShopifyOrder.id)
        )
    )


def _owners(session: Session, workspace_id: int, orders: list[int]) -> list[int]:
    """The customers of these orders (their cohorts lose the orders detached from them)."""
    return list(
        session.scalars(
            select(ShopifyOrder.customer_id)
            .where(
                ShopifyOrder.workspace_id == workspace_id,
                ShopifyOrder.id.in_(orders),
                ShopifyOrder.customer_id.is_not(None),
            )
            .distinct()
        )
    )


def _detach(session: Session, workspace_id: int, customers: list[int], orders: list[int]) -> None:
    """The customers' Shopify ids replaced, and the orders no longer linked to anyone."""
    if customers:
        session.execute(
            update(ShopifyCustomer)
            .where(ShopifyCustomer.workspace_id == workspace_id, ShopifyCustomer.id.in_(customers))
            .values(
                external_id=func.concat(f"{REDACTED}:", func.gen_random_uuid()),
                created_at=None,
                updated_at=None,
            )
        )
    if orders:
        session.execute(
            update(ShopifyOrder)
            .where(ShopifyOrder.workspace_id == workspace_id, ShopifyOrder.id.in_(orders))
            .values(customer_id=None)
        )


def _browsers(session: Session, workspace_id: int, orders: list[int]) -> list[str]:
    """Anonymous ids of the browsers that sent a purchase of one of these orders."""
    if not orders:
        return []
    return sorted(
        session.scalars(
            select(PixelEvent.anonymous_id)
            .distinct()
            .join(
                ShopifyOrder,
                and_(
                    ShopifyOrder.workspace_id == workspace_id,
                    ShopifyOrder.id.in_(orders),
                    PixelEvent.order_external_id.in_(pixel_order_keys()),
                ),
            )
            .where(PixelEvent.workspace_id == workspace_id, PixelEvent.event == "purchase")
        )
    )


# --- customers/redact --------------------------------------------------------------------------


@dataclass(frozen=True)
class Redaction:
    """What one customers/redact found and redacted (row counts)."""

    customers: int
    orders: int
    touchpoints: int
    pixel_events: int
    browsers: int


def _scrub_touchpoints(session: Session, workspace_id: int, orders: list[int]) -> int:
    if not orders:
        return 0
    points = session.execute(
        select(Touchpoint.id, Touchpoint.landing_page, Touchpoint.referrer)
        .join(CustomerJourney, CustomerJourney.id == Touchpoint.journey_id)
        .where(Touchpoint.workspace_id == workspace_id, CustomerJourney.order_id.in_(orders))
    ).all()
    changes = []
    for point in points:
        landing, referrer = scrub_url(point.landing_page), origin_of(point.referrer)
        if (landing, referrer) != (point.landing_page, point.referrer):
            changes.append({"tid": point.id, "lp": landing, "rf": referrer})
    if changes:
        table = cast(Table, Touchpoint.__table__)  # a declarative class's table is a Table
        session.connection().execute(
            update(table)
            .where(table.c.id == bindparam("tid"))
            .values(landing_page=bindparam("lp"), referrer=bindparam("rf")),
            changes,
        )
    return len(points)


def _scrub_pixel_events(
    session: Session, workspace_id: int, browsers: list[str]
) -> tuple[int, int]:
    """Events of these browsers: a new anonymous id per browser, URLs scrubbed. Returns
    (events, browsers given a new id); ids redacted earlier keep theirs."""
    if not browsers:
        return 0, 0
    tokens = {b: _token() for b in browsers if not b.startswith(f"{REDACTED}:")}
    events = session.execute(
        select(PixelEvent.id, PixelEvent.anonymous_id, PixelEvent.url, PixelEvent.referrer).where(
            PixelEvent.workspace_id == workspace_id, PixelEvent.anonymous_id.in_(browsers)
        )
    ).all()
    changes = [
        {
            "eid": e.id,
            "anon": tokens.get(e.anonymous_id, e.anonymous_id),
            "url": scrub_url(e.url),
            "ref": origin_of(e.referrer),
        }
        for e in events
    ]
    if changes:
        table = cast(Table, PixelEvent.__table__)
        session.connection().execute(
            update(table)
            .where(table.c.id == bindparam("eid"))
            .values(
                anonymous_id=bindparam("anon"), url=bindparam("url"), referrer=bindparam("ref")
            ),
            changes,
        )
    return len(events), len(tokens)


def redact_customer(
    actor: Actor,
    connection_id: int,
    customer_id: str | None,
    order_ids: Sequence[str],
    request: dict[str, Any],
) -> Redaction:
    """customers/redact for one shop connection of the actor's workspace: the customer's row
    made anonymous, their orders (and `order_ids`) unlinked from it, and the visits that led
    to those orders scrubbed (see the module's table). Idempotent: a second run finds nothing
    left to change. Holds the connection's sync lock, so no sync writes the rows meanwhile."""
    workspace_id = actor.workspace_id
    with connection_lock(connection_id), transaction() as session:
        shop = _shop(session, workspace_id, connection_id)
        result = Redaction(0, 0, 0, 0, 0)
        if shop is not None:
            customers = _customer_rows(session, shop, customer_id)
            orders = _order_rows(session, shop, customers, order_ids)
            browsers = _browsers(session, workspace_id, orders)
            owners = _owners(session, workspace_id, orders)
            with order_rollups.rewriting(session, workspace_id, [*customers, *owners], orders):
                _detach(session, workspace_id, customers, orders)
            touchpoints = _scrub_touchpoints(session, workspace_id, orders)
            events, renamed = _scrub_pixel_events(session, workspace_id, browsers)
            result = Redaction(len(customers), len(orders), touchpoints, events, renamed)
        audit.record(
            session,
            actor,
            "privacy.customers_redact",
            _target(request),
            **request,
            customer_id=customer_id,
            orders_requested=len(order_ids),
            redacted=asdict(result),
        )
    return result


def _target(request: dict[str, Any]) -> str:
    return f"shopify:{request.get('shop', '?')}"


# --- shop/redact -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShopRedaction:
    """What one shop/redact erased (row counts); `skipped` says why nothing was."""

    orders: int
    customers: int
    products: int
    pixel_events: int
    tokens: int
    skipped: str | None = None


def reconnected_since(session: Session, connection_id: int, moment: datetime) -> bool:
    """Was a token stored (a reinstall, a reconnect) after `moment`? Then a shop/redact or an
    app/uninstalled triggered at `moment` speaks of an installation that is gone."""
    latest = session.scalar(
        select(func.max(func.coalesce(Token.rotated_at, Token.created_at))).where(
            Token.connection_id == connection_id
        )
    )
    return latest is not None and latest > moment


def _shop_days(session: Session, shop: ShopifyShop, tz: str) -> set[Any]:
    """Workspace-local days whose store rollup the shop's rows feed."""
    return set(
        session.scalars(
            text("""
        SELECT DISTINCT (at AT TIME ZONE :tz)::date FROM (
            SELECT processed_at AS at FROM shopify_orders WHERE shop_id = :shop
            UNION ALL SELECT cancelled_at FROM shopify_orders WHERE shop_id = :shop
            UNION ALL SELECT r.created_at FROM shopify_refunds r
                      JOIN shopify_orders o ON o.id = r.order_id WHERE o.shop_id = :shop
            UNION ALL SELECT first_order_at FROM shopify_customers WHERE shop_id = :shop
        ) AS moments WHERE at IS NOT NULL"""),
            {"shop": shop.id, "tz": tz},
        )
    )


def _count(
    session: Session,
    model: type[ShopifyOrder] | type[ShopifyCustomer] | type[ShopifyProduct],
    shop: ShopifyShop,
) -> int:
    return (
        session.scalar(select(func.count()).select_from(model).where(model.shop_id == shop.id)) or 0
    )


def _deleted(result: Result[Any]) -> int:
    """The rows a DELETE removed: Session.execute is typed as returning any Result, but a
    DELETE's is a CursorResult, which counts them."""
    return cast(CursorResult[Any], result).rowcount


def _delete_shop_pixel_events(session: Session, shop: ShopifyShop) -> int:
    workspace_id = shop.workspace_id
    other_shops = (
        session.scalar(
            select(func.count())
            .select_from(Connection)
            .where(
                Connection.workspace_id == workspace_id,
                Connection.provider == "shopify",
                Connection.id != shop.connection_id,
            )
        )
        or 0
    )
    query = delete(PixelEvent).where(PixelEvent.workspace_id == workspace_id)
    if other_shops:
        orders = list(
            session.scalars(select(ShopifyOrder.id).where(ShopifyOrder.shop_id == shop.id))
        )
        browsers = _browsers(session, workspace_id, orders)
        if not browsers:
            return 0
        query = query.where(PixelEvent.anonymous_id.in_(browsers))
    return _deleted(session.execute(query))


def redact_shop(
    actor: Actor, connection_id: int, requested_at: datetime | None, request: dict[str, Any]
) -> ShopRedaction:
    """shop/redact for one connection of the actor's workspace (see the module doc)."""
    workspace_id = actor.workspace_id
    with connection_lock(connection_id), transaction() as session:
        connection = session.scalar(
            select(Connection)
            .where(Connection.id == connection_id, Connection.workspace_id == workspace_id)
            .with_for_update()
        )
        if connection is None:
            return ShopRedaction(0, 0, 0, 0, 0, skipped="the connection no longer exists")
        if requested_at is not None and reconnected_since(session, connection_id, requested_at):
            result = ShopRedaction(
                0, 0, 0, 0, 0, skipped="the shop was reconnected after the request"
            )
            audit.record(
                session,
                actor,
                "privacy.shop_redact",
                _target(request),
                **request,
                erased=asdict(result),
            )
            return result
        shop = _shop(session, workspace_id, connection_id)
        orders = customers = products = events = 0
        if shop is not None:
            tz = rollup.workspace_timezone(session, workspace_id)
            days = _shop_days(session, shop, tz)
            orders = _count(session, ShopifyOrder, shop)
            customers = _count(session, ShopifyCustomer, shop)
            products = _count(session, ShopifyProduct, shop)
            events = _delete_shop_pixel_events(session, shop)
            session.execute(delete(ShopifyShop).where(ShopifyShop.id == shop.id))
            rollup.refresh_store(session, workspace_id, days, tz)
            order_rollups.rebuild(session, workspace_id)
        tokens = _deleted(
            session.execute(delete(Token).where(Token.connection_id == connection_id))
        )
        connection.status = "disconnected"
        connection.last_error = "the shop's data was erased at Shopify's request (shop/redact)"
        result = ShopRedaction(orders, customers, products, events, tokens)
        audit.record(
            session,
            actor,
            "privacy.shop_redact",
            _target(request),
            **request,
            erased=asdict(result),
        )
    return result


# --- customers/data_request --------------------------------------------------------------------


def _json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _rows(session: Session, query: Any) -> list[dict[str, Any]]:
    return [{k: _json(v) for k, v in row._mapping.items()} for row in session.execute(query)]


def customer_data(
    workspace_id: int, connection_id: int, customer_id: str | None, order_ids: Sequence[str] = ()
) -> dict[str, Any]:
    """Everything we hold about one customer of one shop connection (and about `order_ids`),
    as plain JSON-ready data: their customer row, orders with lines and refunds, the visits
    that led to them, and the pixel events of the browsers that bought them."""
    with new_session() as session:
        shop = _shop(session, workspace_id, connection_id)
        held: dict[str, Any] = {
            "shop": shop.domain if shop else None,
            "customer_id": customer_id,
            "customers": [],
            "orders": [],
            "touchpoints": [],
            "pixel_events": [],
        }
        if shop is None:
            return held
        customers = _customer_rows(session, shop, customer_id)
        orders = _order_rows(session, shop, customers, order_ids)
        c, o = ShopifyCustomer, ShopifyOrder
        held["customers"] = _rows(
            session,
            select(c.external_id, c.created_at, c.updated_at, c.orders_count, c.first_order_at)
            .where(c.id.in_(customers or [0]))
            .order_by(c.id),
        )
        held["orders"] = _rows(
            session,
            select(
                o.id,
                o.external_id,
                o.name,
                o.created_at,
                o.processed_at,
                o.updated_at,
                o.cancelled_at,
                o.test,
                o.currency,
                o.gross_sales,
                o.discounts,
                o.shipping,
                o.taxes,
                o.refunded,
                o.total_price,
            )
            .where(o.id.in_(orders or [0]))
            .order_by(o.id),
        )
        lines = _rows(
            session,
            select(
                ShopifyOrderLine.order_id,
                ShopifyOrderLine.sku,
                ShopifyOrderLine.quantity,
                ShopifyOrderLine.unit_price,
                ShopifyOrderLine.product_external_id,
                ShopifyOrderLine.variant_external_id,
            )
            .where(ShopifyOrderLine.order_id.in_(orders or [0]))
            .order_by(ShopifyOrderLine.id),
        )
        refunds = _rows(
            session,
            select(ShopifyRefund.order_id, ShopifyRefund.created_at, ShopifyRefund.amount)
            .where(ShopifyRefund.order_id.in_(orders or [0]))
            .order_by(ShopifyRefund.id),
        )
        for order in held["orders"]:
            order["lines"] = [
                {k: v for k, v in line.items() if k != "order_id"}
                for line in lines
                if line["order_id"] == order["id"]
            ]
            order["refunds"] = [
                {k: v for k, v in r.items() if k != "order_id"}
                for r in refunds
                if r["order_id"] == order["id"]
            ]
        t = Touchpoint
        held["touchpoints"] = _rows(
            session,
            select(
                CustomerJourney.order_id,
                t.source_kind,
                t.occurred_at,
                t.landing_page,
                t.referrer,
                t.source,
                t.source_type,
                t.channel,
                t.utm_source,
                t.utm_medium,
                t.utm_campaign,
                t.utm_content,
                t.utm_term,
            )
            .join(CustomerJourney, CustomerJourney.id == t.journey_id)
            .where(t.workspace_id == workspace_id, CustomerJourney.order_id.in_(orders or [0]))
            .order_by(CustomerJourney.order_id, t.source_kind, t.position),
        )
        browsers = _browsers(session, workspace_id, orders)
        p = PixelEvent
        held["pixel_events"] = _rows(
            session,
            select(
                p.event_id,
                p.anonymous_id,
                p.event,
                p.occurred_at,
                p.url,
                p.referrer,
                p.utm_source,
                p.utm_medium,
                p.utm_campaign,
                p.utm_content,
                p.utm_term,
                p.order_external_id,
            )
            .where(p.workspace_id == workspace_id, p.anonymous_id.in_(browsers or [""]))
            .order_by(p.occurred_at, p.id),
        )
    for order in held["orders"]:
        order.pop("id")
    for point in held["touchpoints"]:
        point.pop("order_id")
    return held


def summary(held: dict[str, Any]) -> dict[str, int]:
    """Counts of an export (what the audit log may say about it)."""
    return {key: len(held[key]) for key in ("customers", "orders", "touchpoints", "pixel_events")}


def record_data_request(
    actor: Actor,
    connection_id: int,
    customer_id: str | None,
    order_ids: Sequence[str],
    request: dict[str, Any],
) -> dict[str, int]:
    """customers/data_request: log the request and what we hold (counts only) for an admin to
    export with `export_customer_data`."""
    held = summary(customer_data(actor.workspace_id, connection_id, customer_id, order_ids))
    with transaction() as session:
        audit.record(
            session,
            actor,
            "privacy.customers_data_request",
            _target(request),
            **request,
            customer_id=customer_id,
            orders_requested=len(order_ids),
            held=held,
            export="metricx.services.privacy.export_customer_data",
        )
    return held


def export_customer_data(
    actor: Actor, connection_id: int, customer_id: str | None, order_ids: Sequence[str] = ()
) -> dict[str, Any]:
    """An admin's export of one customer's data (to answer a customers/data_request);
    the export itself is audited."""
    actor.require_admin("export a customer's personal data")
    if customer_id is not None:
        customer_id = validation.plain_text(customer_id, "the customer id", ID_LENGTH)
    order_ids = [validation.plain_text(o, "an order id", ID_LENGTH) for o in order_ids]
    get_connection(actor.workspace_id, connection_id)  # NotFoundError outside the workspace
    held = customer_data(actor.workspace_id, connection_id, customer_id, order_ids)
    with transaction() as session:
        audit.record(
            session,
            actor,
            "privacy.export",
            f"connection:{connection_id}",
            customer_id=customer_id,
            orders_requested=len(order_ids),
            exported=summary(held),
        )
    return held
