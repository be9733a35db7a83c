"""The JavaScript a store pastes into its pages (shown on Settings → Pixel)."""

from __future__ import annotations

from metricx.config import Config
from metricx.pixel.app import EVENTS_PATH

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
<!-- On the order confirmation page, after the snippet above (Shopify Liquid shown): -->
<script>window.metricx("purchase", {order_id: "{{ order.id }}"});</script>"""


def collector_url(config: Config) -> str:
    """Where browsers reach the collector."""
    return (config.pixel_public_url or f"http://localhost:{config.pixel_port}").rstrip("/")


def snippet(config: Config, key: str) -> str:
    return TEMPLATE.replace("{endpoint}", collector_url(config) + EVENTS_PATH).replace("{key}", key)
