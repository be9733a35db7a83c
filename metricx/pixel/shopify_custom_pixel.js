// Metricx custom pixel for Shopify. Paste it whole under Settings → Customer events →
// Add custom pixel, then Save and Connect. It sends page views, add-to-carts and purchases
// to the Metricx pixel collector under this workspace's key.
//
// Shopify runs it in its pixel sandbox, not in the page (Web Pixels API,
// https://shopify.dev/docs/api/web-pixels-api): it is handed `analytics`, `browser` and
// `init`; the store's own window, document and location are out of its reach. Its own
// `location` is the sandbox's address (https://<shop>/wpm@…/custom/web-pixel-…/sandbox/…),
// so the page it reports is taken from each event's context instead.
const METRICX_ENDPOINT = __METRICX_ENDPOINT__;
const METRICX_KEY = __METRICX_KEY__;
const METRICX_ANON_KEY = "metricx_anon"; // the theme snippet's key too: one id per browser

function metricxRandomId() {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// The browser's anonymous id, looked up once per page and shared by all of its events, so two
// events arriving together never make two ids. browser.localStorage is the top frame's
// localStorage (the store's domain, which serves its checkout pages too), reached
// asynchronously: getItem and setItem return promises
// (https://shopify.dev/docs/api/web-pixels-api/standard-api/browser). Where storage is
// refused, null here makes each event fall back to its clientId, Shopify's own id of the
// browser (a property of every event, e.g.
// https://shopify.dev/docs/api/web-pixels-api/standard-events/page_viewed).
const metricxAnonymousId = (async () => {
  let known = null;
  try {
    known = await browser.localStorage.getItem(METRICX_ANON_KEY);
  } catch (error) {
    return null;
  }
  if (known) return known;
  const made = metricxRandomId();
  try {
    await browser.localStorage.setItem(METRICX_ANON_KEY, made);
  } catch (error) {
    return null;
  }
  return made;
})();

// The page as the event's context describes the top frame: context.document.location.href
// (with the landing page's UTMs and click ids in its query string, which the collector reads)
// and context.document.referrer (https://shopify.dev/docs/api/web-pixels-api/standard-api/init
// gives the same context for the page as rendered).
function metricxPage(event) {
  const page = (event.context && event.context.document)
    || (typeof init !== "undefined" && init.context && init.context.document) || {};
  return {url: (page.location && page.location.href) || null, referrer: page.referrer || null};
}

// event.timestamp is ISO 8601; rewritten as UTC with a "Z", the form the collector requires.
function metricxTime(event) {
  const at = new Date(event.timestamp);
  return Number.isNaN(at.getTime()) ? new Date().toISOString() : at.toISOString();
}

// One event, one request: an event may be the last thing a page does (the Thank you page),
// so nothing waits to be batched. The body is a string, which sendBeacon and fetch both send
// as text/plain;charset=UTF-8, a CORS-safelisted type: no preflight, from any origin
// (https://w3c.github.io/beacon/#sec-sendBeacon-method). browser.sendBeacon runs
// navigator.sendBeacon in the top frame and resolves to whether the browser queued the
// request; Shopify has deprecated it in favour of fetch with keepalive, so when it is
// missing, fails or answers false, fetch with keepalive (which also outlives the page) sends
// it from the sandbox, and a refusal by the collector is reported in the console.
async function metricxSend(body) {
  if (typeof browser !== "undefined" && typeof browser.sendBeacon === "function") {
    try {
      if (await browser.sendBeacon(METRICX_ENDPOINT, body)) return;
    } catch (error) {
      // fall back to fetch
    }
  }
  const answer = await fetch(METRICX_ENDPOINT, {
    method: "POST", body: body, keepalive: true, credentials: "omit",
  });
  if (!answer.ok) {
    console.warn("Metricx pixel: the collector refused an event:", answer.status,
                 await answer.text());
  }
}

async function metricxTrack(name, event, extra) {
  try {
    const page = metricxPage(event);
    if (!page.url) return; // nothing to file the event under
    const anonymousId = (await metricxAnonymousId) || event.clientId;
    if (!anonymousId) return;
    // Shopify's id of the customer event: an event delivered twice is stored once.
    const eventId = typeof event.id === "string" && event.id && event.id.length <= 64
      ? event.id : metricxRandomId();
    await metricxSend(JSON.stringify(Object.assign({
      workspace_key: METRICX_KEY, event_id: eventId, anonymous_id: anonymousId, event: name,
      url: page.url, referrer: page.referrer, timestamp: metricxTime(event),
    }, extra)));
  } catch (error) {
    console.warn("Metricx pixel: the event could not be sent:", error);
  }
}

// https://shopify.dev/docs/api/web-pixels-api/standard-events/page_viewed
analytics.subscribe("page_viewed", (event) => metricxTrack("page_view", event));

// https://shopify.dev/docs/api/web-pixels-api/standard-events/product_added_to_cart
analytics.subscribe("product_added_to_cart", (event) => metricxTrack("add_to_cart", event));

// https://shopify.dev/docs/api/web-pixels-api/standard-events/checkout_completed: once per
// checkout, on the Thank you page (or the first upsell page). event.data.checkout.order.id
// is the order's id (null on every other event); it is sent as given, a number or a
// gid://shopify/Order(Identity)/… id, all of which the attribution join accepts.
analytics.subscribe("checkout_completed", (event) => {
  const checkout = (event.data && event.data.checkout) || {};
  const orderId = checkout.order && checkout.order.id;
  if (orderId === null || orderId === undefined || orderId === "") {
    console.warn("Metricx pixel: checkout_completed carried no order id; purchase not sent");
    return;
  }
  return metricxTrack("purchase", event, {order_id: String(orderId)});
});
