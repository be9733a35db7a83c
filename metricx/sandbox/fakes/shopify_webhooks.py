"""The fake shop's webhooks: signed POSTs exactly as Shopify delivers them, for the orders that
were created or changed in a clock interval, and the app lifecycle and compliance topics.

Shopify sends "an HTTP POST with a JSON body and a set of headers"; the body is "the full REST
resource payload for the topic" (https://shopify.dev/docs/apps/build/webhooks/delivery-structure),
so order topics carry the REST Admin API order (`id` numeric, `admin_graphql_api_id` the GraphQL
gid, money as strings, times with the shop's UTC offset; https://shopify.dev/docs/api/webhooks,
topics orders/create, orders/updated, refunds/create). Headers: X-Shopify-Topic,
X-Shopify-Hmac-Sha256 (base64 HMAC-SHA256 of the raw body keyed by the app's client secret),
X-Shopify-Shop-Domain, X-Shopify-API-Version, X-Shopify-Webhook-Id, X-Shopify-Triggered-At and
X-Shopify-Event-Id (same page, "Headers"). The compliance payloads follow
https://shopify.dev/docs/apps/build/compliance/privacy-law-compliance.

Deterministic: a delivery's webhook id is derived from its topic, resource and moment, so
sending an interval again re-sends the same ids, as Shopify's retries do ("retried webhooks ...
will be delivered with the original payload", changelog "Updates to webhook retry mechanism").

    sender = ShopifyWebhooks(merchant.shop)
    sender.send(url, sender.order_events(since, until))

`python -m metricx.sandbox.fakes.shopify_webhooks --url URL` keeps sending the demo merchant's
order webhooks as its clock (real time) moves on; `metricx up` runs it beside the receiver.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from metricx.connectors.versions import DEFAULT_VERSIONS
from metricx.sandbox.calendar import zone
from metricx.sandbox.credentials import SandboxCredentials
from metricx.sandbox.orders import Customer, Order, Refund
from metricx.sandbox.shop import Shop

log = logging.getLogger(__name__)

ORDER_TOPICS = ("orders/create", "orders/updated", "refunds/create")
# An order changes for at most ~4 weeks after it was placed (fulfilment within 60 h,
# cancellation within 30 h, refunds up to 25 days + 3; metricx/sandbox/shop.py _aftermath).
AFTERMATH = timedelta(days=31)
_NAMESPACE = uuid.UUID("8c0c6f1e-6a4b-4d8e-9a59-5b7f1a0e3d21")
SHOP_ID = 68700000001  # the fake's Shop gid number (shopify_nodes.shop_node)


@dataclass(frozen=True)
class WebhookDelivery:
    """One POST: what Shopify would send, byte for byte."""

    topic: str
    headers: dict[str, str]
    body: bytes
    triggered_at: datetime

    @property
    def webhook_id(self) -> str:
        return self.headers["X-Shopify-Webhook-Id"]

    def payload(self) -> Any:
        return json.loads(self.body)


def sign(secret: str, body: bytes) -> str:
    """X-Shopify-Hmac-Sha256: base64 of HMAC-SHA256(client secret, raw body)."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def numeric_id(gid: str) -> int:
    """gid://shopify/Order/123 -> 123 (REST payloads carry the number)."""
    return int(gid.rsplit("/", 1)[1])


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _triggered(moment: datetime) -> str:
    """Shopify writes nanoseconds and Z: 2026-11-20T15:07:00.123456000Z."""
    moment = moment.astimezone(UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond:06d}000Z"


class ShopifyWebhooks:
    """Builds (and sends) the deliveries of one fake shop, signed with `secret` (default: the
    sandbox app's client secret, which the receiver uses for sandbox connections)."""

    def __init__(
        self,
        shop: Shop,
        credentials: SandboxCredentials | None = None,
        *,
        secret: str | None = None,
        api_version: str = DEFAULT_VERSIONS["shopify"],
    ) -> None:
        self.shop = shop
        credentials = credentials or SandboxCredentials()
        self.secret = secret if secret is not None else credentials.shopify_client_secret
        self.api_version = api_version
        self.domain = shop.profile.domain

    # ---- order topics -------------------------------------------------------------------
    def order_events(self, since: datetime, until: datetime) -> list[WebhookDelivery]:
        """Deliveries for every order change in (since, until], oldest first: orders/create
        when an order is placed; orders/updated when it is fulfilled, cancelled or refunded;
        refunds/create (and orders/updated) for each refund."""
        found: list[tuple[datetime, str, Order, Refund | None]] = []
        for order in self.shop.orders_until(until):
            if order.created_at <= since - AFTERMATH:
                continue
            if since < order.created_at <= until:
                found.append((order.created_at, "orders/create", order, None))
            for moment in (order.fulfilled_at, order.cancelled_at):
                if moment is not None and since < moment <= until:
                    found.append((moment, "orders/updated", order, None))
            for refund in order.refunds:
                if since < refund.created_at <= until:
                    found.append((refund.created_at, "refunds/create", order, refund))
                    found.append((refund.created_at, "orders/updated", order, None))
        found.sort(key=lambda f: (f[0], f[2].seq, f[1]))
        deliveries = []
        for moment, topic, order, refund_or_none in found:
            if refund_or_none is not None:
                payload = self.refund_payload(order, refund_or_none)
                key = refund_or_none.external_id
            else:
                payload = self.order_payload(order, moment)
                key = order.external_id
            deliveries.append(self._delivery(topic, payload, moment, key))
        return deliveries

    def order_payload(self, order: Order, as_of: datetime) -> dict[str, Any]:
        """The REST Admin API order as it looks at `as_of`."""
        tz = zone(self.shop.profile.timezone)

        def local(moment: datetime | None) -> str | None:
            return moment.astimezone(tz).isoformat() if moment is not None else None

        currency = self.shop.profile.currency
        refunded = order.refunded_cents(as_of)
        cancelled = order.cancelled_at_view(as_of)
        fulfilled = order.fulfilled_at_view(as_of)
        customer = self.shop.customer(order.customer_id) if order.customer_id else None
        financial = (
            "refunded"
            if refunded and refunded >= order.total_cents
            else "partially_refunded"
            if refunded
            else "paid"
        )
        number = numeric_id(order.external_id)
        visit = order.journey.last_visit if order.journey else None
        first = order.journey.first_visit if order.journey else None
        return {
            "id": number,
            "admin_graphql_api_id": order.external_id,
            "name": order.name,
            "order_number": 1000 + order.seq,
            "number": order.seq,
            "email": customer.email if customer else None,
            "contact_email": customer.email if customer else None,
            "created_at": local(order.created_at),
            "processed_at": local(order.created_at),
            "updated_at": local(order.updated_at(as_of)),
            "cancelled_at": local(cancelled),
            "cancel_reason": "customer" if cancelled else None,
            "closed_at": local(fulfilled),
            "test": order.test,
            "source_name": "web",
            "currency": currency,
            "presentment_currency": currency,
            "financial_status": financial,
            "fulfillment_status": "fulfilled" if fulfilled else None,
            "subtotal_price": _money(order.gross_cents - order.discount_cents),
            "total_line_items_price": _money(order.gross_cents),
            "total_discounts": _money(order.discount_cents),
            "total_tax": _money(order.tax_cents),
            "total_price": _money(order.total_cents),
            "current_total_price": _money(order.total_cents - refunded),
            "landing_site": first.landing_page if first else None,
            "referring_site": visit.referrer_url if visit else None,
            "customer": self._customer(customer, as_of) if customer else None,
            "line_items": [
                {
                    "id": numeric_id(line.external_id),
                    "admin_graphql_api_id": line.external_id,
                    "product_id": numeric_id(line.variant.product_id),
                    "variant_id": numeric_id(line.variant.external_id),
                    "sku": line.variant.sku,
                    "quantity": line.quantity,
                    "price": _money(line.variant.price_cents),
                    "title": (self.shop.product(line.variant.product_id) or line.variant).title,
                    "variant_title": line.variant.title,
                }
                for line in order.lines
            ],
            "shipping_lines": [
                {"code": "Standard", "title": "Standard", "price": _money(order.shipping_cents)}
            ],
            "refunds": [self.refund_payload(order, r) for r in order.refunds_at(as_of)],
        }

    def refund_payload(self, order: Order, refund: Refund) -> dict[str, Any]:
        """The REST Admin API refund (the refunds/create body)."""
        tz = zone(self.shop.profile.timezone)
        number = numeric_id(refund.external_id)
        created = refund.created_at.astimezone(tz).isoformat()
        return {
            "id": number,
            "admin_graphql_api_id": refund.external_id,
            "order_id": numeric_id(order.external_id),
            "created_at": created,
            "processed_at": created,
            "note": None,
            "restock": False,
            "user_id": None,
            "refund_line_items": [],
            "order_adjustments": [],
            "duties": [],
            "transactions": [
                {
                    "id": number * 10,
                    "order_id": numeric_id(order.external_id),
                    "kind": "refund",
                    "status": "success",
                    "gateway": "shopify_payments",
                    "amount": _money(refund.amount_cents),
                    "currency": self.shop.profile.currency,
                }
            ],
        }

    def _customer(self, customer: Customer, as_of: datetime) -> dict[str, Any]:
        return {
            "id": numeric_id(customer.external_id),
            "admin_graphql_api_id": customer.external_id,
            "email": customer.email,
            "first_name": customer.first_name,
            "last_name": customer.last_name,
            "orders_count": customer.number_of_orders(as_of),
            "state": "enabled",
            "currency": self.shop.profile.currency,
        }

    # ---- lifecycle and compliance topics ----------------------------------------------------
    def app_uninstalled(self, at: datetime) -> WebhookDelivery:
        """app/uninstalled: the body is the Shop REST resource."""
        p = self.shop.profile
        payload = {
            "id": SHOP_ID,
            "name": p.name,
            "email": f"owner@{p.host}",
            "domain": p.host,
            "myshopify_domain": p.domain,
            "currency": p.currency,
            "iana_timezone": p.timezone,
            "plan_name": "basic",
        }
        return self._delivery("app/uninstalled", payload, at, self.domain)

    def customers_redact(
        self, customer_id: str | None, orders: Iterable[str], at: datetime
    ) -> WebhookDelivery:
        """customers/redact: delete what we hold about this customer and these orders."""
        customer = self.shop.customer(customer_id) if customer_id else None
        numbers = [numeric_id(o) for o in orders]
        payload = {
            "shop_id": SHOP_ID,
            "shop_domain": self.domain,
            "customer": self._requester(customer_id, customer),
            "orders_to_redact": numbers,
        }
        return self._delivery("customers/redact", payload, at, f"{customer_id}|{numbers}")

    def customers_data_request(
        self, customer_id: str, orders: Iterable[str], at: datetime, request_id: int = 9999
    ) -> WebhookDelivery:
        """customers/data_request: the customer asked the merchant for their data."""
        customer = self.shop.customer(customer_id)
        payload = {
            "shop_id": SHOP_ID,
            "shop_domain": self.domain,
            "orders_requested": [numeric_id(o) for o in orders],
            "customer": self._requester(customer_id, customer),
            "data_request": {"id": request_id},
        }
        return self._delivery("customers/data_request", payload, at, f"{request_id}")

    def shop_redact(self, at: datetime) -> WebhookDelivery:
        """shop/redact: sent 48 hours after the app was uninstalled."""
        payload = {"shop_id": SHOP_ID, "shop_domain": self.domain}
        return self._delivery("shop/redact", payload, at, self.domain)

    @staticmethod
    def _requester(customer_id: str | None, customer: Customer | None) -> dict[str, Any]:
        return {
            "id": numeric_id(customer_id) if customer_id else None,
            "email": customer.email if customer else None,
            "phone": None,
        }

    # ---- signing and sending --------------------------------------------------------------
    def _delivery(
        self, topic: str, payload: dict[str, Any], at: datetime, key: str
    ) -> WebhookDelivery:
        body = json.dumps(payload, separators=(",", ":")).encode()
        seed = f"{self.domain}|{topic}|{key}|{at.astimezone(UTC).isoformat()}"
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Shopify-Captain-Hook",
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": sign(self.secret, body),
            "X-Shopify-Shop-Domain": self.domain,
            "X-Shopify-API-Version": self.api_version,
            "X-Shopify-Webhook-Id": str(uuid.uuid5(_NAMESPACE, "webhook|" + seed)),
            "X-Shopify-Triggered-At": _triggered(at),
            "X-Shopify-Event-Id": str(uuid.uuid5(_NAMESPACE, "event|" + seed)),
        }
        return WebhookDelivery(topic, headers, body, at)

    @staticmethod
    def send(
        url: str, deliveries: Iterable[WebhookDelivery], client: httpx.Client | None = None
    ) -> list[int]:
        """POST each delivery (in order); returns the status codes. Shopify waits 5 s."""
        own = client is None
        client = client or httpx.Client(timeout=5)
        try:
            return [
                client.post(url, content=d.body, headers=d.headers).status_code for d in deliveries
            ]
        finally:
            if own:
                client.close()


def keep_sending(
    webhooks: ShopifyWebhooks,
    url: str,
    every_s: float,
    stop_requested: Callable[[], bool],
    now: Callable[[], datetime],
    sleep: Callable[[float], None],
) -> None:
    """Every `every_s`, send the order webhooks of what changed since the last round. A round
    that did not get through (receiver down, a non-2xx) is sent again next time with the same
    webhook ids, as Shopify retries; the receiver de-duplicates them."""
    last = now()
    while not stop_requested():
        sleep(every_s)
        moment = now()
        deliveries = webhooks.order_events(last, moment)
        try:
            statuses = webhooks.send(url, deliveries)
        except httpx.HTTPError as error:
            log.warning("sandbox webhooks: %s unreachable (%s); retrying next round", url, error)
            continue
        if all(200 <= s < 300 for s in statuses):
            last = moment
        else:
            log.warning(
                "sandbox webhooks: %s answered %s; retrying next round", url, sorted(set(statuses))
            )


def main(argv: list[str] | None = None) -> None:
    """`python -m metricx.sandbox.fakes.shopify_webhooks --url URL [--seed N --anchor DAY]`:
    the demo merchant's order webhooks, sent as real time passes (Ctrl-C stops it)."""
    import argparse
    import time
    from datetime import date

    from metricx.sandbox.merchant import Merchant
    from metricx.supervisor import StopSignal

    parser = argparse.ArgumentParser(
        prog="python -m metricx.sandbox.fakes.shopify_webhooks", description=main.__doc__
    )
    parser.add_argument("--url", required=True, help="The receiver's /webhooks/shopify URL.")
    parser.add_argument("--seed", type=int, default=42, help="The merchant's seed (demo: 42).")
    parser.add_argument(
        "--anchor",
        type=date.fromisoformat,
        default=None,
        help="The merchant's anchor day (the demo's creation day).",
    )
    parser.add_argument("--every", type=float, default=20.0, help="Seconds between rounds.")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    stop = StopSignal()
    merchant = Merchant.demo(args.seed, args.anchor)

    def nap(seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not stop.reason and time.monotonic() < deadline:
            time.sleep(0.2)

    keep_sending(
        ShopifyWebhooks(merchant.shop),
        args.url,
        args.every,
        lambda: stop.reason is not None,
        lambda: datetime.now(UTC),
        nap,
    )


if __name__ == "__main__":
    main()
