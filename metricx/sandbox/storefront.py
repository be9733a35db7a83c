"""The sandbox shop's storefront as Metricx's Shopify custom pixel sees it.

Shopify hands the custom pixel (metricx/pixel/shopify_custom_pixel.js) standard customer
events: page_viewed, product_added_to_cart and checkout_completed. This module makes those
events for the sandbox shop's browsers, and turns each one into the request the pixel sends
for it, so the demo's pixel data is what a real store running the pixel would collect.

- Every order's buyer browses the visits of the order's Shopify customer journey
  (metricx.sandbox.journeys): the same landing pages, UTMs, click ids, referrers and times,
  so the pixel and Shopify tell one story and attribution can be checked against the
  sandbox's ground truth (`Visit.channel`, `Visit.ad_id`). The pixel sees more than the
  journey's first and last visit: some buyers come back in between (a retargeting ad, an
  email), and a buyer Shopify has no journey for still arrived somehow (direct).
- The buyer adds to cart in the visit that buys, and the Thank you page sends the purchase
  with the order's id as the checkout names it (gid://shopify/OrderIdentity/N).
- One browser id per buyer: a customer's browser keeps the pixel's localStorage id across
  orders; a guest checkout is a browser of its own.
- Browsers that leave without buying (from the same channels and ads) land, look around,
  sometimes add to cart. Real stores see dozens of them per order; the sandbox makes
  BROWSERS_PER_ORDER to keep the demo fast (attribution never reads them).

Everything is a pure function of the merchant's seed and history start, so a replay sends
the same events with the same ids, which the collector stores once.
"""

from __future__ import annotations

import json
import random
import uuid
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import accumulate
from typing import Any
from urllib.parse import urlsplit

from metricx.sandbox import rand
from metricx.sandbox.calendar import day_bounds, local_date, zone
from metricx.sandbox.journeys import AdPicker, Visit, make_visit, pick_channel
from metricx.sandbox.merchant import Merchant
from metricx.sandbox.orders import Order
from metricx.sandbox.patterns import PURCHASE_SHAPE

# The standard events the custom pixel subscribes to, and the name it sends each under.
PIXEL_EVENT_NAMES = {
    "page_viewed": "page_view",
    "product_added_to_cart": "add_to_cart",
    "checkout_completed": "purchase",
}
BROWSERS_PER_ORDER = 0.5
RETURN_VISIT_SHARE = 0.35  # buyers with a first visit who also came back in between
_HOUR_CUM = list(accumulate(PURCHASE_SHAPE))


@dataclass(frozen=True)
class CustomerEvent:
    """A Shopify standard customer event, reduced to what the custom pixel reads of it: its
    id, timestamp, clientId, the top frame's location.href and referrer from its context,
    and on checkout_completed data.checkout.order.id."""

    name: str
    id: str
    client_id: str
    timestamp: datetime
    url: str
    referrer: str | None
    order_id: str | None = None

    def standard_event(self) -> dict[str, Any]:
        """The event as the Web Pixels API publishes it (the properties the pixel reads;
        https://shopify.dev/docs/api/web-pixels-api/standard-events/page_viewed)."""
        parts = urlsplit(self.url)
        location = {
            "href": self.url,
            "host": parts.netloc,
            "hostname": parts.hostname or "",
            "origin": f"{parts.scheme}://{parts.netloc}",
            "pathname": parts.path or "/",
            "search": f"?{parts.query}" if parts.query else "",
            "protocol": "https:",
        }
        data: dict[str, Any] = {}
        if self.name == "checkout_completed":
            data = {"checkout": {"order": {"id": self.order_id}}}
        return {
            "clientId": self.client_id,
            "id": self.id,
            "name": self.name,
            "timestamp": iso_millis(self.timestamp),
            "type": "standard",
            "data": data,
            "context": {"document": {"location": location, "referrer": self.referrer or ""}},
        }


@dataclass(frozen=True)
class Browser:
    """One browser's visit(s) to the store: the pixel's id for it (kept in the store's
    localStorage), its customer events oldest first, the sessions it started (ground truth:
    each `Visit` says its channel and ad) and the order it placed (None: it left)."""

    anonymous_id: str
    client_id: str
    events: tuple[CustomerEvent, ...]
    visits: tuple[Visit, ...]
    order: Order | None


@dataclass(frozen=True)
class PixelRequest:
    """One request of the custom pixel: its text/plain body, and when it reached the
    collector (a moment after the event: the replay validates it as of then)."""

    body: str
    received_at: datetime


def iso_millis(moment: datetime) -> str:
    """`Date.prototype.toISOString()`: UTC, milliseconds, "Z" (what the pixel sends)."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def pixel_payload(event: CustomerEvent, workspace_key: str, anonymous_id: str) -> dict[str, Any]:
    """What shopify_custom_pixel.js's metricxTrack sends for `event` from a browser whose
    localStorage holds `anonymous_id`: the same fields, in the same order, with the same
    fallbacks (an empty referrer is null; a purchase appends order_id as a string)."""
    payload: dict[str, Any] = {
        "workspace_key": workspace_key,
        "event_id": event.id if event.id and len(event.id) <= 64 else str(uuid.uuid4()),
        "anonymous_id": anonymous_id,
        "event": PIXEL_EVENT_NAMES[event.name],
        "url": event.url,
        "referrer": event.referrer or None,
        "timestamp": iso_millis(event.timestamp),
    }
    if event.name == "checkout_completed":
        payload["order_id"] = str(event.order_id)
    return payload


# JSON.stringify's text: no spaces, non-ASCII left as is. One encoder for every body
# (json.dumps with options builds a new one per call, a third of the time of a body).
_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def pixel_body(payload: dict[str, Any]) -> str:
    """The request body: the payload as JSON.stringify writes it."""
    return _JSON.encode(payload)


def order_identity(order: Order) -> str:
    """The order's id as checkout_completed carries it (data.checkout.order.id): the
    checkout's OrderIdentity of the order's number, not the Admin API's Order id."""
    return "gid://shopify/OrderIdentity/" + order.external_id.rsplit("/", 1)[-1]


_UUID_VERSION_MASK = ~((0xF000 << 64) | (0xC000 << 48))
_UUID_V4 = (0x4000 << 64) | (0x8000 << 48)


def _uuid(r: random.Random) -> str:
    """A version 4 UUID, as crypto.randomUUID() makes them, from a seeded stream (the same
    text as str(uuid.UUID(int=..., version=4)), made without the object: there are many)."""
    h = f"{(r.getrandbits(128) & _UUID_VERSION_MASK) | _UUID_V4:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _millis(
    r: random.Random, low: float, high: float, *, cap: timedelta | None = None
) -> timedelta:
    """A random duration between low and high seconds (at most `cap`), in whole
    milliseconds: Shopify's event timestamps, like the pixel's, stop at milliseconds."""
    seconds = low + r.random() * (high - low)
    if cap is not None:
        seconds = min(seconds, cap.total_seconds())
    return timedelta(milliseconds=int(seconds * 1000))


class Storefront:
    """The storefront of `merchant`'s shop, browsed by its buyers and by people who leave."""

    def __init__(
        self, merchant: Merchant, *, browsers_per_order: float = BROWSERS_PER_ORDER
    ) -> None:
        self.merchant = merchant
        self.shop = merchant.shop
        self.host = merchant.shop.profile.host
        self.timezone = merchant.shop.profile.timezone
        self.browsers_per_order = browsers_per_order
        # Keys of every random stream start with the history's first day: another anchor is
        # another merchant, whose order numbers repeat but whose events must not collide.
        self._keys = (merchant.seed, "storefront", merchant.start_day.toordinal())
        # A featured campaign's ads land on the product it advertises, as the orders' do.
        self._picker = AdPicker(
            merchant.series,
            merchant.tree,
            merchant.start_day,
            {c: p.handle for c, p in merchant.shop.featured.items()},
        )
        self._products = merchant.shop.products
        self._product_weights = list(accumulate(p.popularity for p in self._products))

    # ---- browsers -----------------------------------------------------------------------
    def buyer(self, order: Order) -> Browser:
        """The browser that placed `order`: its journey's visits, the cart, the purchase."""
        r = rand.rng(*self._keys, "order", order.external_id)
        owner = order.customer_id or order.external_id  # a guest's browser is its own
        ids = rand.rng(*self._keys, "browser", owner)
        anonymous_id, client_id = _uuid(ids), _uuid(ids)
        visits = self._buyer_visits(r, order)
        events: list[CustomerEvent] = []
        for index, visit in enumerate(visits):
            buying = index == len(visits) - 1
            until = order.created_at if buying else visits[index + 1].occurred_at
            events += self._session(r, client_id, visit, until, buying=buying)
        token = f"{r.getrandbits(128):032x}"
        checkout = f"https://{self.host}/checkouts/cn/{token}"
        thanked = order.created_at + _millis(r, 0.8, 3.0)
        events.append(
            CustomerEvent(
                "page_viewed",
                self._event_id(r),
                client_id,
                thanked,
                f"{checkout}/thank-you",
                checkout,
            )
        )
        events.append(
            CustomerEvent(
                "checkout_completed",
                self._event_id(r),
                client_id,
                thanked + _millis(r, 0.05, 0.9),
                f"{checkout}/thank-you",
                checkout,
                order_identity(order),
            )
        )
        return Browser(anonymous_id, client_id, tuple(events), tuple(visits), order)

    def passers_by(self, day: date, orders: int) -> list[Browser]:
        """Browsers that visit on local `day` and leave without buying (about
        browsers_per_order for each of the day's `orders`)."""
        r = rand.rng(*self._keys, "browsing", day.toordinal())
        count = rand.stochastic_round(orders * self.browsers_per_order, r.random())
        browsers = []
        for _ in range(count):
            anonymous_id, client_id = _uuid(r), _uuid(r)
            hour = min(bisect_right(_HOUR_CUM, r.random() * _HOUR_CUM[-1]), 23)
            seconds = int(r.random() * 3600)
            at = datetime.combine(
                day, time(hour, seconds // 60, seconds % 60), tzinfo=zone(self.timezone)
            ).astimezone(UTC)
            visit = make_visit(
                r,
                pick_channel(r.random()),
                at,
                self.host,
                self._handle(r),
                self._picker,
                self.merchant.tree,
                day,
            )
            events = self._session(r, client_id, visit, at + timedelta(hours=1), buying=False)
            browsers.append(Browser(anonymous_id, client_id, tuple(events), (visit,), None))
        return browsers

    def browsers(self, start: date, end: date, as_of: datetime) -> Iterator[Browser]:
        """Every browser of the local days start..end whose visit began by as_of."""
        for _, browsers in self.days(start, end, as_of):
            yield from browsers

    def days(self, start: date, end: date, as_of: datetime) -> Iterator[tuple[date, list[Browser]]]:
        """Day by day (local days start..end): the buyer of each order placed by as_of, then
        those who left without buying whose visit began by as_of."""
        # Whole days of orders (the shop makes a day at once): how many leave without buying
        # follows the day's orders, so it must not depend on how much of the day is over.
        last_moment = day_bounds(end, self.timezone)[1] - timedelta(microseconds=1)
        by_day: dict[date, list[Order]] = {}
        for order in self.shop.orders_until(max(as_of, last_moment)):
            by_day.setdefault(local_date(order.created_at, self.timezone), []).append(order)
        day = start
        while day <= end:
            placed = by_day.get(day, [])
            browsers = [self.buyer(order) for order in placed if order.created_at <= as_of]
            browsers += [
                b for b in self.passers_by(day, len(placed)) if b.visits[0].occurred_at <= as_of
            ]
            yield day, browsers
            day += timedelta(days=1)

    def requests(self, workspace_key: str, browser: Browser, as_of: datetime) -> list[PixelRequest]:
        """The pixel's requests for the browser's events that reached the collector by
        as_of (each goes out on its own, the moment it happens: 30 to 600 ms on the way)."""
        sent = []
        for event in browser.events:
            # The time on the way, 30 to 599 ms, read off the event's random id: as
            # deterministic as a seeded stream, without making one per browser.
            received = event.timestamp + timedelta(milliseconds=30 + int(event.id[3:11], 16) % 570)
            if received > as_of:
                break
            payload = pixel_payload(event, workspace_key, browser.anonymous_id)
            sent.append(PixelRequest(pixel_body(payload), received))
        return sent

    # ---- making them --------------------------------------------------------------------
    def _buyer_visits(self, r: random.Random, order: Order) -> list[Visit]:
        """The sessions of the buyer, oldest first: the journey's first and last visit (one
        visit when they are the same), sometimes a return in between."""
        journey = order.journey
        first = journey.first_visit if journey else None
        last = journey.last_visit if journey else None
        if last is None:
            # Shopify has no journey for the order, but the buyer came from somewhere: the
            # pixel sees a visit with no referrer and no tags, direct.
            at = order.created_at - timedelta(minutes=5 + int(r.random() * 55))
            return [Visit(at, f"https://{self.host}/", None, "direct", None, None, "direct", None)]
        if first is None or first is last or first.occurred_at >= last.occurred_at:
            return [last]
        visits = [first]
        room = last.occurred_at - first.occurred_at - timedelta(hours=2)
        if room > timedelta(0) and r.random() < RETURN_VISIT_SHARE:
            at = first.occurred_at + timedelta(hours=1) + room * r.random()
            at = at.replace(microsecond=0)
            visits.append(
                make_visit(
                    r,
                    pick_channel(r.random()),
                    at,
                    self.host,
                    self._handle(r),
                    self._picker,
                    self.merchant.tree,
                    local_date(at, self.timezone),
                )
            )
        visits.append(last)
        return visits

    def _session(
        self, r: random.Random, client_id: str, visit: Visit, until: datetime, *, buying: bool
    ) -> list[CustomerEvent]:
        """The page views (and add to cart) of one session that starts with `visit`, all
        before `until`. A buying session ends in the cart; the checkout's pages follow."""
        span = until - visit.occurred_at
        url, referrer = visit.landing_page, visit.referrer_url
        events = [
            CustomerEvent(
                "page_viewed", self._event_id(r), client_id, visit.occurred_at, url, referrer
            )
        ]
        at = visit.occurred_at
        product_page = urlsplit(url).path.startswith("/products/")
        looks_around = not product_page or r.random() < (0.3 if buying else 0.55)
        if looks_around:
            # Another product page, reached from the landing page (the store's own referrer:
            # not a new visit for attribution).
            at += _millis(r, 15, 240, cap=span * 0.3)
            url, referrer = f"https://{self.host}/products/{self._handle(r)}", url
            events.append(
                CustomerEvent("page_viewed", self._event_id(r), client_id, at, url, referrer)
            )
        if buying or r.random() < 0.2:
            # On the page in view: context.document is that page, its URL and referrer.
            at += _millis(r, 10, 180, cap=span * 0.3)
            events.append(
                CustomerEvent(
                    "product_added_to_cart", self._event_id(r), client_id, at, url, referrer
                )
            )
        return events

    def _handle(self, r: random.Random) -> str:
        return r.choices(self._products, cum_weights=self._product_weights)[0].handle

    @staticmethod
    def _event_id(r: random.Random) -> str:
        """Shopify's id of a customer event ("sh-" and a UUID), which the pixel sends as the
        event_id: a redelivered event keeps it."""
        return f"sh-{_uuid(r)}"
