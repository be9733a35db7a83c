"""The topics we subscribe to, and what of each payload processing needs.

Only Shopify's ids are kept from a payload (order, refund, customer, data request); emails,
phones and names in it are never stored or logged, so a later redaction has nothing to chase.

Because the signature covers the body and not the headers (verify.py), a body that names its
shop (every compliance payload's `shop_domain`, the Shop resource of app/uninstalled) must name
the shop of X-Shopify-Shop-Domain, and must have the shape of its topic: a captured signed body
replayed under another topic or shop is refused instead of acted on.

Payloads: orders/* carry the REST order, refunds/create the REST refund (`order_id`),
app/uninstalled the REST Shop (https://shopify.dev/docs/api/webhooks); the compliance topics
https://shopify.dev/docs/apps/build/compliance/privacy-law-compliance:
  customers/data_request {shop_id, shop_domain, orders_requested: [id], customer: {id, email,
                          phone}, data_request: {id}}
  customers/redact       {shop_id, shop_domain, customer: {id, email, phone},
                          orders_to_redact: [id]}
  shop/redact            {shop_id, shop_domain}  (48 hours after the app was uninstalled)
"""

from __future__ import annotations

from typing import Any

from metricx.asgi import Rejected

ORDER_TOPICS = frozenset({"orders/create", "orders/updated", "refunds/create"})
UNINSTALLED = "app/uninstalled"
DATA_REQUEST = "customers/data_request"
CUSTOMERS_REDACT = "customers/redact"
SHOP_REDACT = "shop/redact"
COMPLIANCE_TOPICS = frozenset({DATA_REQUEST, CUSTOMERS_REDACT, SHOP_REDACT})
HANDLED = ORDER_TOPICS | {UNINSTALLED} | COMPLIANCE_TOPICS
MAX_IDS = 10_000  # orders in one compliance request; far above any real customer


def _id(value: Any, what: str) -> str:
    """A Shopify id as text ("123"): REST payloads carry numbers."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | str)
        or not str(value).strip().isdigit()
    ):
        raise Rejected(400, f"{what} must be a Shopify id (a number), got {value!r}"[:200])
    return str(value).strip()


def _optional_id(value: Any, what: str) -> str | None:
    return None if value is None else _id(value, what)


def _ids(value: Any, what: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_IDS:
        raise Rejected(400, f"{what} must be a list of at most {MAX_IDS:,} order ids")
    return sorted({_id(item, f"{what}[]") for item in value}, key=lambda v: (len(v), v))


def _same_shop(payload: dict[str, Any], key: str, domain: str) -> None:
    named = str(payload.get(key) or "").strip().lower()
    if named != domain:
        raise Rejected(
            400, f"the body's {key} does not name the shop of X-Shopify-Shop-Domain ({domain})"
        )


def _customer_id(payload: dict[str, Any]) -> str | None:
    customer = payload.get("customer")
    if customer is None:
        return None
    if not isinstance(customer, dict):
        raise Rejected(400, "customer must be an object")
    return _optional_id(customer.get("id"), "customer.id")


def details_of(topic: str, payload: Any, domain: str) -> dict[str, Any]:
    """What processing `topic` needs from its payload, checked; 400 when it is not there."""
    if not isinstance(payload, dict):
        raise Rejected(400, "the body must be a JSON object")
    if topic in ("orders/create", "orders/updated"):
        return {"order_id": _id(payload.get("id"), "id")}
    if topic == "refunds/create":
        return {
            "order_id": _id(payload.get("order_id"), "order_id"),
            "refund_id": _id(payload.get("id"), "id"),
        }
    if topic == UNINSTALLED:
        _same_shop(payload, "myshopify_domain", domain)
        return {}
    _same_shop(payload, "shop_domain", domain)
    if topic == CUSTOMERS_REDACT:
        details = {
            "customer_id": _customer_id(payload),
            "orders": _ids(payload.get("orders_to_redact"), "orders_to_redact"),
        }
        if details["customer_id"] is None and not details["orders"]:
            raise Rejected(400, "customers/redact names neither a customer nor orders")
        return details
    if topic == DATA_REQUEST:
        request = payload.get("data_request")
        return {
            "customer_id": _customer_id(payload),
            "orders": _ids(payload.get("orders_requested"), "orders_requested"),
            "data_request_id": _optional_id(request.get("id"), "data_request.id")
            if isinstance(request, dict)
            else None,
        }
    if topic == SHOP_REDACT:
        return {"shop_id": _optional_id(payload.get("shop_id"), "shop_id")}
    raise ValueError(f"no payload rule for topic {topic!r}")
