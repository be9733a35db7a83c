"""The storefront's requests are byte for byte what the real custom pixel sends: the
JavaScript of metricx/pixel/shopify_custom_pixel.js, as Settings renders it, runs in Node
with stand-ins for Shopify's `analytics`, `browser` and `init`, and is handed the same
Shopify customer events the storefront made."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from metricx.config import load
from metricx.pixel.snippet import shopify_custom_pixel
from metricx.sandbox.calendar import local_date
from metricx.sandbox.merchant import Merchant
from metricx.sandbox.storefront import Storefront

NODE = shutil.which("node")
if NODE is None:
    pytest.skip("node is not installed", allow_module_level=True)

KEY = "demo-pixel-key-0123456789abcdef"
ENDPOINT = "https://pixel.example.com"
LATER = datetime(2030, 1, 1, tzinfo=UTC)

# One fresh script context per browser (Shopify's sandbox for the pixel), its localStorage
# holding the browser's id; browser.sendBeacon records what the pixel sends. The events are
# published one after another, each awaited, as Shopify delivers them in order.
HARNESS = r"""
const fs = require("node:fs");
const vm = require("node:vm");
const code = fs.readFileSync(process.argv[2], "utf8");
const browsers = JSON.parse(fs.readFileSync(process.argv[3], "utf8"));
(async () => {
  const out = [];
  for (const b of browsers) {
    const subscribers = {};
    const storage = {metricx_anon: b.anonymous_id};
    const sent = [];
    const warnings = [];
    const context = vm.createContext({
      analytics: {subscribe: (name, handler) => { subscribers[name] = handler; }},
      browser: {
        localStorage: {getItem: async (k) => storage[k] ?? null,
                       setItem: async (k, v) => { storage[k] = v; }},
        sendBeacon: async (url, body) => { sent.push({url, body}); return true; },
      },
      init: {context: {}},
      crypto: globalThis.crypto,
      console: {warn: (...args) => warnings.push(args.join(" ")), log: () => {}},
      fetch: async () => { throw new Error("fetch is the fallback; the beacon was queued"); },
    });
    vm.runInContext(code, context);
    for (const event of b.events) await subscribers[event.name](event);
    out.push({sent, warnings});
  }
  process.stdout.write(JSON.stringify(out));
})();
"""


def test_the_custom_pixel_sends_exactly_the_storefronts_requests(tmp_path: Path) -> None:
    # Given a day of the storefront: buyers (one with a return visit) and browsers who left
    merchant = Merchant(
        seed=11,
        ads=12,
        campaigns=4,
        days=10,
        orders_per_day=12,
        today=datetime(2026, 11, 20).date(),
    )
    front = Storefront(merchant)
    day = local_date(datetime(2026, 11, 19, 18, tzinfo=UTC), "America/New_York")
    browsers = list(front.browsers(day, day, LATER))
    assert any(b.order is None for b in browsers)
    assert any(b.order is not None and len(b.visits) > 1 for b in browsers)
    # When the real pixel, with the workspace's key, is handed the same Shopify events
    pixel = tmp_path / "pixel.js"
    pixel.write_text(shopify_custom_pixel(load({"PIXEL_PUBLIC_URL": ENDPOINT}), KEY))
    harness = tmp_path / "harness.js"
    harness.write_text(HARNESS)
    events = tmp_path / "events.json"
    events.write_text(
        json.dumps(
            [
                {"anonymous_id": b.anonymous_id, "events": [e.standard_event() for e in b.events]}
                for b in browsers
            ]
        )
    )
    answer = subprocess.run(
        [NODE, str(harness), str(pixel), str(events)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    ran = json.loads(answer.stdout)
    # Then it sent the storefront's bodies, byte for byte, one beacon per event, to the
    # collector, and complained about nothing
    assert len(ran) == len(browsers)
    for browser, result in zip(browsers, ran, strict=True):
        assert result["warnings"] == []
        assert [s["url"] for s in result["sent"]] == [f"{ENDPOINT}/v1/pixel-events"] * len(
            browser.events
        )
        assert [s["body"] for s in result["sent"]] == [
            r.body for r in front.requests(KEY, browser, LATER)
        ]


def test_standard_events_carry_what_the_pixel_reads() -> None:
    merchant = Merchant(
        seed=11,
        ads=12,
        campaigns=4,
        days=10,
        orders_per_day=12,
        today=datetime(2026, 11, 20).date(),
    )
    front = Storefront(merchant)
    order = merchant.shop.orders_until(datetime(2026, 11, 20, tzinfo=UTC))[-1]
    buyer = front.buyer(order)
    *_, completed = [e.standard_event() for e in buyer.events]
    assert completed["name"] == "checkout_completed"
    assert completed["data"]["checkout"]["order"]["id"].startswith("gid://shopify/OrderIdentity/")
    assert completed["context"]["document"]["location"]["href"].endswith("/thank-you")
    assert datetime.fromisoformat(completed["timestamp"]) - order.created_at < timedelta(seconds=5)
