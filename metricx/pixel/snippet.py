"""The JavaScript a store pastes (shown on Settings → Pixel): the theme snippet for any
storefront, and the custom pixel for Shopify's Customer events.

Shopify no longer runs scripts on its Thank you and Order status pages (Plus stores since
2025-08-28, all stores since 2026-08-26), so a Shopify store reports purchases through a
custom pixel in Shopify's pixel sandbox (https://shopify.dev/docs/api/web-pixels-api).
"""

from __future__ import annotations

import json
from pathlib import Path

from metricx.config import Config
from metricx.pixel.app import EVENTS_PATH

SHOPIFY_CUSTOM_PIXEL = Path(__file__).with_name("shopify_custom_pixel.js")

# sendBeacon survives the page unloading and posts text/plain, which needs no CORS preflight;
# fetch with keepalive is the fallback. crypto.randomUUID gives each event its id, which is
# what makes a resent event count once.
TEMPLATE = """<script>
(function () {
  var ENDPOINT = "{endpoint}";
  var KEY = "{key}";
  var anon = localStorage.getItem("metricx_anon") || crypto.randomUUID();
  localStorage.setItem("metricx_anon", anon);
  window.metricx = function (event, extra) {
    var body = JSON.stringify(Object.assign({
      workspace_key: KEY, event_id: crypto.randomUUID(), anonymous_id: anon, event: event,
      url: location.href, referrer: document.referrer, timestamp: new Date().toISOString()
    }, extra));
    if (!(navigator.sendBeacon && navigator.sendBeacon(ENDPOINT, body))) {
      fetch(ENDPOINT, {method: "POST", body: body, keepalive: true, credentials: "omit"});
    }
  };
  window.metricx("page_view");
})();
</script>
<!-- On the order confirmation page, after the snippet above, with your platform's order id:
     <script>window.metricx("purchase", {order_id: "1001"});</script>
     Shopify runs no scripts there any more: on Shopify use the custom pixel instead. -->"""


def collector_url(config: Config) -> str:
    """Where browsers reach the collector."""
    return (config.pixel_public_url or f"http://localhost:{config.pixel_port}").rstrip("/")


def snippet(config: Config, key: str) -> str:
    """The theme snippet (HTML), for storefronts that run scripts on every page."""
    return TEMPLATE.replace("{endpoint}", collector_url(config) + EVENTS_PATH).replace("{key}", key)


def shopify_custom_pixel(config: Config, key: str) -> str:
    """The custom pixel (JavaScript) for Shopify's Settings → Customer events, with the
    collector's URL and the key written in as JavaScript string literals."""
    return (
        SHOPIFY_CUSTOM_PIXEL.read_text(encoding="utf-8")
        .replace("__METRICX_ENDPOINT__", json.dumps(collector_url(config) + EVENTS_PATH))
        .replace("__METRICX_KEY__", json.dumps(key))
    )
