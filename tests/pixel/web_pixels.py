"""A Shopify Web Pixels sandbox for running the custom pixel's real JavaScript in a browser.

`SandboxServer` serves a store page (the top frame) and the sandboxed iframe the pixel runs
in (web_pixels_sandbox/); `Storefront` opens such pages in Playwright's chromium and
publishes customer events into them. The events are built field by field as Shopify's Web
Pixels API documents them (https://shopify.dev/docs/api/web-pixels-api/standard-events/...,
whose types are also published as TypeScript, e.g. PixelEventsCheckoutCompleted).
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:  # imported only where chromium is there to run (the tests skip otherwise)
    from playwright.sync_api import Browser, Page

HERE = Path(__file__).with_name("web_pixels_sandbox")
SHOP = "acme-boots.myshopify.com"
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)"


class SandboxServer:
    """GET /store: the top frame; GET /sandbox: the iframe, with the pixel's code in it."""

    def __init__(self, pixel_code: str) -> None:
        sandbox = (
            '<!doctype html>\n<meta charset="utf-8">\n<link rel="icon" href="data:,">\n'
            f"<script>\n{(HERE / 'sandbox_runtime.js').read_text()}</script>\n"
            # The pixel's code runs with the API's three names in scope.
            f"<script>\nwindow.metricxPixel = function (analytics, browser, init) {{\n"
            f"{pixel_code}\n}};\n</script>\n"
        )
        pages = {"/store": (HERE / "top_frame.html").read_text(), "/sandbox": sandbox}

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = pages.get(urlsplit(self.path).path)
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write((body or "not found").encode())

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.origin = f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


@dataclass
class StorePage:
    """One page load of the store: a top frame and a fresh pixel sandbox in it."""

    page: Page
    url: str
    referrer: str
    client_id: str
    browser_console: list[tuple[str, str]] = field(default_factory=list)
    seq: int = 0

    def publish(self, name: str, data: dict[str, Any], at: datetime) -> dict[str, Any]:
        """Shopify publishes a standard customer event of this page; returns the event."""
        self.seq += 1
        event = standard_event(name, data, self.url, self.referrer, at, self.client_id, self.seq)
        self.page.evaluate("([name, event]) => metricxHarness.publish(name, event)", [name, event])
        return event

    def beacons(self) -> list[dict[str, Any]]:
        """What browser.sendBeacon was asked to send (from the top frame)."""
        return self.page.evaluate("metricxHarness.beacons")

    def console(self) -> list[tuple[str, str]]:
        """(level, text) of what the pixel wrote to the console or left uncaught, and of the
        browser's own errors on this page (a blocked request, say)."""
        sandbox = [tuple(m) for m in self.page.evaluate("metricxHarness.console")]
        return sandbox + [m for m in self.browser_console if m[0] == "error"]

    def local_storage(self, key: str) -> str | None:
        """The top frame's localStorage, as the store's own scripts would read it."""
        return self.page.evaluate("(key) => localStorage.getItem(key)", key)


@dataclass
class Storefront:
    """A buyer's browser on the store: its pages share one profile (localStorage)."""

    browser: Browser
    server: SandboxServer
    client_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def __post_init__(self) -> None:
        self.context = self.browser.new_context()

    def open(self, url: str, referrer: str, beacon: str = "send") -> StorePage:
        """Load a store page at `url` (as the pixel is told it is); beacon: send, refuse (the
        browser does not queue it) or missing (no browser.sendBeacon)."""
        page = self.context.new_page()
        store_page = StorePage(page, url, referrer, self.client_id)
        page.on(
            "console",
            lambda message: store_page.browser_console.append((message.type, message.text)),
        )
        page.goto(f"{self.server.origin}/store?beacon={beacon}")
        page.wait_for_function("metricxHarness.loaded")
        page.evaluate("(init) => metricxHarness.start(init)", init_for(url, referrer))
        page.wait_for_function("metricxHarness.ready")
        return store_page

    def close(self) -> None:
        self.context.close()


def wait_until(found: Any, what: str, timeout: float = 15.0) -> Any:
    """Poll `found()` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while not (result := found()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return result


def _location(url: str) -> dict[str, str]:
    """Location, as the Web Pixels API snapshots it (the fields of the DOM's Location)."""
    parts = urlsplit(url)
    return {
        "hash": f"#{parts.fragment}" if parts.fragment else "",
        "host": parts.netloc,
        "hostname": parts.hostname or "",
        "href": url,
        "origin": f"{parts.scheme}://{parts.netloc}",
        "pathname": parts.path or "/",
        "port": str(parts.port or ""),
        "protocol": f"{parts.scheme}:",
        "search": f"?{parts.query}" if parts.query else "",
    }


def context(url: str, referrer: str) -> dict[str, Any]:
    """Context: snapshots of the top frame's document, navigator and window
    (https://shopify.dev/docs/api/web-pixels-api/standard-api/init, "context")."""
    location = _location(url)
    return {
        "document": {
            "characterSet": "UTF-8",
            "location": location,
            "referrer": referrer,
            "title": "Acme Boots",
        },
        "navigator": {
            "cookieEnabled": True,
            "language": "en-US",
            "languages": ["en-US", "en"],
            "userAgent": USER_AGENT,
        },
        "window": {
            "innerHeight": 900,
            "innerWidth": 1400,
            "location": location,
            "origin": location["origin"],
            "outerHeight": 1000,
            "outerWidth": 1400,
            "pageXOffset": 0,
            "pageYOffset": 0,
            "screen": {"height": 1080, "width": 1920},
            "screenX": 0,
            "screenY": 0,
            "scrollX": 0,
            "scrollY": 0,
        },
    }


def init_for(url: str, referrer: str) -> dict[str, Any]:
    """`init`: the page at render time (context, data, customerPrivacy)."""
    return {
        "context": context(url, referrer),
        "data": {
            "customer": None,
            "cart": None,
            "purchasingCompany": None,
            "shop": {
                "countryCode": "US",
                "myshopifyDomain": SHOP,
                "name": "Acme Boots",
                "paymentSettings": {"currencyCode": "USD"},
                "storefrontUrl": f"https://{SHOP}",
            },
        },
        "customerPrivacy": {
            "analyticsProcessingAllowed": True,
            "marketingAllowed": True,
            "preferencesProcessingAllowed": True,
            "saleOfDataAllowed": True,
        },
    }


def standard_event(
    name: str, data: dict[str, Any], url: str, referrer: str, at: datetime, client_id: str, seq: int
) -> dict[str, Any]:
    """A standard customer event: clientId, context, data, id, name, seq, timestamp (ISO
    8601), type "standard" (e.g. the Properties of
    https://shopify.dev/docs/api/web-pixels-api/standard-events/page_viewed)."""
    return {
        "clientId": client_id,
        "context": context(url, referrer),
        "data": data,
        "id": f"sh-{uuid.uuid4()}",
        "name": name,
        "seq": seq,
        "timestamp": at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "type": "standard",
    }


def _money(amount: float) -> dict[str, Any]:
    return {"amount": amount, "currencyCode": "USD"}


BOOTS = {  # ProductVariant
    "id": "44713544941846",
    "image": {"src": f"https://{SHOP}/cdn/boots.jpg"},
    "price": _money(129.0),
    "sku": "BOOT-42",
    "title": "42",
    "untranslatedTitle": "42",
    "product": {
        "id": "8214368010518",
        "title": "Trail boots",
        "type": "Boots",
        "untranslatedTitle": "Trail boots",
        "url": "/products/boots",
        "vendor": "Acme",
    },
}


def product_added_to_cart() -> dict[str, Any]:
    """data of product_added_to_cart: {cartLine: CartLine}
    (https://shopify.dev/docs/api/web-pixels-api/standard-events/product_added_to_cart)."""
    return {
        "cartLine": {"cost": {"totalAmount": _money(129.0)}, "merchandise": BOOTS, "quantity": 1}
    }


def checkout_completed(order_id: str | None, token: str) -> dict[str, Any]:
    """data of checkout_completed: {checkout: Checkout}, whose order.id is the order's id
    (null on every other event)
    (https://shopify.dev/docs/api/web-pixels-api/standard-events/checkout_completed)."""
    order = (
        None
        if order_id is None
        else {"id": order_id, "customer": {"id": "7261839196438", "isFirstOrder": True}}
    )
    return {
        "checkout": {
            "attributes": [],
            "billingAddress": None,
            "buyerAcceptsEmailMarketing": False,
            "buyerAcceptsSmsMarketing": False,
            "currencyCode": "USD",
            "delivery": None,
            "discountApplications": [],
            "discountsAmount": _money(0.0),
            "email": "buyer@example.com",
            "lineItems": [
                {
                    "discountAllocations": [],
                    "finalLinePrice": _money(129.0),
                    "id": "gid://shopify/CheckoutLineItem/1",
                    "properties": [],
                    "quantity": 1,
                    "sellingPlanAllocation": None,
                    "title": "Trail boots",
                    "variant": BOOTS,
                }
            ],
            "localization": {
                "country": {"isoCode": "US"},
                "language": {"isoCode": "en"},
                "market": {"handle": "us", "id": "gid://shopify/Market/1"},
            },
            "order": order,
            "phone": None,
            "shippingAddress": None,
            "shippingLine": {"price": _money(6.0)},
            "smsMarketingPhone": None,
            "subtotalPrice": _money(129.0),
            "token": token,
            "totalPrice": _money(135.0),
            "totalTax": _money(0.0),
            "transactions": [],
        }
    }
