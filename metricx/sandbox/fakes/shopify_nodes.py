"""Shopify Admin GraphQL objects built from the merchant's shop, as seen at `as_of`.

Each builder returns the full object as a dict (callables for fields with arguments); the
GraphQL projection then keeps what the query selected.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from metricx.sandbox.catalog import Product, Variant
from metricx.sandbox.fakes.graphql import (
    Field,
    GraphQLError,
    is_connection,
    node_selection,
    project,
)
from metricx.sandbox.fakes.paging import decode_cursor, encode_cursor
from metricx.sandbox.journeys import Journey, Visit
from metricx.sandbox.orders import Customer, Line, Order, Refund
from metricx.sandbox.shop import Shop

Node = dict[str, Any]
# Unit costs the merchant has changed since the catalogue was made: variant id -> cents (None:
# cost removed). Shopify's InventoryItem.unitCost is always the CURRENT cost, so a change shows
# on every order line that points at the variant, old orders included.
Costs = Mapping[str, int | None]


def money(cents: int) -> str:
    """Shopify's Decimal scalar: "29.99", "10.5", "100.0", "-5.0"."""
    if cents < 0:
        return "-" + money(-cents)
    whole, frac = divmod(cents, 100)
    if frac == 0:
        return f"{whole}.0"
    return f"{whole}.{frac:02d}".rstrip("0")


def money_v2(cents: int, currency: str) -> Node:
    return {"__typename": "MoneyV2", "amount": money(cents), "currencyCode": currency}


def money_bag(cents: int, currency: str) -> Node:
    return {
        "__typename": "MoneyBag",
        "shopMoney": money_v2(cents, currency),
        "presentmentMoney": money_v2(cents, currency),
    }


def iso(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment is not None else None


def first_arg(args: dict[str, Any], limit: int = 250) -> int:
    """Validate a connection's size argument the way the Admin API does."""
    first = args.get("first", args.get("last"))
    if first is None:
        raise GraphQLError("you must provide one of first or last", "argumentError")
    if not isinstance(first, int) or first < 0 or first > limit:
        raise GraphQLError(f"The 'first' argument must be between 0 and {limit}", "argumentError")
    return first


def nested_connection(
    items: list[Any],
    render: Callable[[Any], Node],
) -> Callable[[dict[str, Any]], Node]:
    """A connection field on a node (lineItems, variants), paged by first/after."""

    def resolve(args: dict[str, Any]) -> Node:
        first = first_arg(args)
        try:
            start = int(decode_cursor(args.get("after"), -1)) + 1
        except ValueError as exc:
            raise GraphQLError("Invalid cursor for the after argument", "argumentError") from exc
        chunk = items[start : start + first]
        return connection_page(
            [(start + i, render(x)) for i, x in enumerate(chunk)],
            has_next=start + len(chunk) < len(items),
            has_previous=start > 0,
        )

    return resolve


def connection_page(entries: list[tuple[Any, Node]], *, has_next: bool, has_previous: bool) -> Node:
    """{nodes, edges, pageInfo} from (cursor position, node) pairs."""
    cursors = [encode_cursor(pos) for pos, _ in entries]
    return {
        "nodes": [node for _, node in entries],
        "edges": [
            {"__typename": "Edge", "cursor": c, "node": node}
            for c, (_, node) in zip(cursors, entries, strict=True)
        ],
        "pageInfo": {
            "__typename": "PageInfo",
            "hasNextPage": has_next,
            "hasPreviousPage": has_previous,
            "startCursor": cursors[0] if cursors else None,
            "endCursor": cursors[-1] if cursors else None,
        },
    }


def shop_node(shop: Shop) -> Node:
    p = shop.profile
    return {
        "__typename": "Shop",
        "id": "gid://shopify/Shop/68700000001",
        "name": p.name,
        "email": f"owner@{p.host}",
        "currencyCode": p.currency,
        "ianaTimezone": p.timezone,
        "timezoneAbbreviation": "EST",
        "myshopifyDomain": p.domain,
        "primaryDomain": {"__typename": "Domain", "url": f"https://{p.host}", "host": p.host},
    }


def _variant_node(
    variant: Variant, product: Product | None, currency: str, costs: Costs | None = None
) -> Node:
    cents = (costs or {}).get(variant.external_id, variant.cost_cents)
    cost = None if cents is None else money_v2(cents, currency)
    item_id = variant.external_id.replace("ProductVariant", "InventoryItem")
    return {
        "__typename": "ProductVariant",
        "id": variant.external_id,
        "title": variant.title,
        "sku": variant.sku,
        "price": money(variant.price_cents),
        "displayName": f"{product.title if product else ''} - {variant.title}",
        "product": {
            "__typename": "Product",
            "id": variant.product_id,
            "title": product.title if product else None,
        },
        "inventoryItem": {"__typename": "InventoryItem", "id": item_id, "unitCost": cost},
    }


def product_node(
    product: Product, currency: str, as_of: datetime, costs: Costs | None = None
) -> Node:
    updated = product.updated_at if product.updated_at <= as_of else product.created_at
    return {
        "__typename": "Product",
        "id": product.external_id,
        "title": product.title,
        "handle": product.handle,
        "status": "ACTIVE",
        "productType": product.product_type,
        "vendor": product.vendor,
        "createdAt": iso(product.created_at),
        "updatedAt": iso(updated),
        "variants": nested_connection(
            list(product.variants), lambda v: _variant_node(v, product, currency, costs)
        ),
    }


def customer_node(customer: Customer, as_of: datetime, currency: str) -> Node:
    return {
        "__typename": "Customer",
        "id": customer.external_id,
        "email": customer.email,
        "firstName": customer.first_name,
        "lastName": customer.last_name,
        "displayName": f"{customer.first_name} {customer.last_name}",
        "createdAt": iso(customer.created_at),
        "updatedAt": iso(customer.updated_at(as_of)),
        "numberOfOrders": str(customer.number_of_orders(as_of)),
        "amountSpent": money_v2(customer.amount_spent_cents(as_of), currency),
        "state": "ENABLED",
        "verifiedEmail": True,
    }


def _visit_node(visit: Visit | None, serial: str) -> Node | None:
    if visit is None:
        return None
    utm = None
    if visit.utm is not None:
        u = visit.utm
        utm = {
            "__typename": "UTMParameters",
            "source": u.source,
            "medium": u.medium,
            "campaign": u.campaign,
            "content": u.content,
            "term": u.term,
        }
    return {
        "__typename": "CustomerVisit",
        "id": f"gid://shopify/CustomerVisit/{serial}",
        "occurredAt": iso(visit.occurred_at),
        "landingPage": visit.landing_page,
        "referrerUrl": visit.referrer_url,
        "referralCode": None,
        "source": visit.source,
        "sourceType": visit.source_type,
        "sourceDescription": None,
        "utmParameters": utm,
    }


def journey_node(journey: Journey | None, order: Order, as_of: datetime) -> Node | None:
    if journey is None:
        return None
    ready = journey.ready(as_of)
    node: Node = {
        "__typename": "CustomerJourneySummary",
        "ready": ready,
        "customerOrderIndex": order.customer_order_index,
        "daysToConversion": None,
        "firstVisit": None,
        "lastVisit": None,
    }
    if ready:
        node.update(
            daysToConversion=journey.days_to_conversion,
            firstVisit=_visit_node(journey.first_visit, f"{order.seq}1"),
            lastVisit=_visit_node(journey.last_visit, f"{order.seq}2"),
        )
    return node


def _line_node(line: Line, shop: Shop, currency: str, costs: Costs | None) -> Node:
    product = shop.product(line.variant.product_id)
    variant = _variant_node(line.variant, product, currency, costs)
    return {
        "__typename": "LineItem",
        "id": line.external_id,
        "quantity": line.quantity,
        "currentQuantity": line.quantity,
        "sku": line.variant.sku,
        "name": variant["displayName"],
        "title": product.title if product else None,
        "originalUnitPriceSet": money_bag(line.variant.price_cents, currency),
        "originalTotalSet": money_bag(line.amount_cents, currency),
        "variant": variant,
        "product": variant["product"],
    }


def order_node(order: Order, shop: Shop, as_of: datetime, costs: Costs | None = None) -> Node:
    currency = shop.profile.currency
    refunded = order.refunded_cents(as_of)
    refunds = order.refunds_at(as_of)
    cancelled = order.cancelled_at_view(as_of)
    fulfilled = order.fulfilled_at_view(as_of)
    customer = shop.customer(order.customer_id) if order.customer_id else None
    financial = (
        "REFUNDED"
        if refunded and refunded >= order.total_cents
        else "PARTIALLY_REFUNDED"
        if refunded
        else "PAID"
    )
    net = order.gross_cents - order.discount_cents
    return {
        "__typename": "Order",
        "id": order.external_id,
        "name": order.name,
        "email": customer.email if customer else None,
        "createdAt": iso(order.created_at),
        "processedAt": iso(order.created_at),
        "updatedAt": iso(order.updated_at(as_of)),
        "cancelledAt": iso(cancelled),
        "cancelReason": "CUSTOMER" if cancelled else None,
        "closed": fulfilled is not None,
        "test": order.test,
        "sourceName": "web",
        "tags": [],
        "currencyCode": currency,
        "presentmentCurrencyCode": currency,
        "displayFinancialStatus": financial,
        "displayFulfillmentStatus": "FULFILLED" if fulfilled else "UNFULFILLED",
        "subtotalPriceSet": money_bag(net, currency),
        "currentSubtotalPriceSet": money_bag(net, currency),
        "totalPriceSet": money_bag(order.total_cents, currency),
        "currentTotalPriceSet": money_bag(order.total_cents - refunded, currency),
        "totalDiscountsSet": money_bag(order.discount_cents, currency),
        "totalShippingPriceSet": money_bag(order.shipping_cents, currency),
        "totalTaxSet": money_bag(order.tax_cents, currency),
        "totalRefundedSet": money_bag(refunded, currency),
        "customer": lambda args: customer_node(customer, as_of, currency) if customer else None,
        "customerJourneySummary": lambda args: journey_node(order.journey, order, as_of),
        "lineItems": nested_connection(
            list(order.lines), lambda line: _line_node(line, shop, currency, costs)
        ),
        "refunds": lambda args: [
            refund_node(r, currency) for r in refunds[: args.get("first", len(refunds))]
        ],
    }


def refund_node(refund: Refund, currency: str) -> Node:
    """A Refund (shopify.dev admin-graphql Refund): the money given back (totalRefundedSet)
    and what for, in three connections: refundLineItems (RefundLineItem: quantity, subtotalSet
    = the lines' price after discounts, totalTaxSet), refundShippingLines (subtotalAmountSet,
    taxAmountSet; shipping refunds are no longer order adjustments from 2024-10, changelog
    "Exposing the order adjustments connection on a Refund") and orderAdjustments
    (OrderAdjustment: "the difference between a calculated and actual refund amount",
    amountSet and taxAmountSet negative when more was given back, as REST's
    order_adjustments[].amount "-5.00")."""
    number = int(refund.external_id.rsplit("/", 1)[1])
    lines = [
        {
            "__typename": "RefundLineItem",
            "id": f"gid://shopify/RefundLineItem/{number * 10 + i}",
            "quantity": r.quantity,
            "restockType": "RETURN",
            "restocked": True,
            "lineItem": {"__typename": "LineItem", "id": r.line.external_id},
            "priceSet": money_bag(r.line.variant.price_cents, currency),
            "subtotalSet": money_bag(r.subtotal_cents, currency),
            "totalTaxSet": money_bag(r.tax_cents, currency),
        }
        for i, r in enumerate(refund.lines)
    ]
    shipping = (
        [
            {
                "__typename": "RefundShippingLine",
                "id": f"gid://shopify/RefundShippingLine/{number}",
                "subtotalAmountSet": money_bag(refund.shipping_cents, currency),
                "taxAmountSet": money_bag(0, currency),
            }
        ]
        if refund.shipping_cents
        else []
    )
    adjustments = (
        [
            {
                "__typename": "OrderAdjustment",
                "id": f"gid://shopify/OrderAdjustment/{number}",
                "amountSet": money_bag(refund.adjustment_cents, currency),
                "taxAmountSet": money_bag(refund.adjustment_tax_cents, currency),
                "reason": "REFUND_DISCREPANCY",
            }
        ]
        if refund.adjustment_cents or refund.adjustment_tax_cents
        else []
    )
    return {
        "__typename": "Refund",
        "id": refund.external_id,
        "createdAt": iso(refund.created_at),
        "updatedAt": iso(refund.created_at),
        "note": None,
        "totalRefundedSet": money_bag(refund.amount_cents, currency),
        "refundLineItems": nested_connection(lines, lambda node: node),
        "refundShippingLines": nested_connection(shipping, lambda node: node),
        "orderAdjustments": nested_connection(adjustments, lambda node: node),
    }


def _every_node(resolve: Callable[[dict[str, Any]], Node]) -> list[Node]:
    """All nodes of a nested connection, page after page (bulk reads them whole)."""
    nodes: list[Node] = []
    after: str | None = None
    while True:
        page = resolve({"first": 250, "after": after})
        nodes.extend(page["nodes"])
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        after = page["pageInfo"]["endCursor"]


def bulk_lines(node: Node, selection: Field, parent: str | None = None) -> list[Node]:
    """One node as bulk JSONL objects (shopify.dev "Perform bulk operations with the GraphQL
    Admin API"): its own fields on one line (plain lists inline), each item of a nested
    connection on a line of its own after it, carrying `__parentId`."""
    nested = [f for f in selection.selections or () if is_connection(f)]
    own = replace(
        selection, selections=[f for f in selection.selections or () if not is_connection(f)]
    )
    line = project(node, own)
    if parent is not None:
        line["__parentId"] = parent
    lines = [line]
    for fld in nested:
        child_selection = node_selection(fld)
        if child_selection is None:
            raise GraphQLError(
                f"Bulk queries need `edges {{ node }}` or `nodes` on {fld.name}", "bulkQueryInvalid"
            )
        resolve = node.get(fld.name)
        if not callable(resolve):
            raise GraphQLError(f"Field '{fld.name}' is not a connection", "undefinedField")
        for child in _every_node(resolve):
            lines.extend(bulk_lines(child, child_selection, str(node["id"])))
    return lines


#: Fields the fake serves that are lists of objects, not connections (Order.refunds).
LIST_FIELDS = frozenset({"refunds"})


def connection_in_list(fields: list[Field] | None, in_list: bool = False) -> bool:
    """Does the selection ask for a connection inside a list field (Order.refunds {
    refundLineItems })? A bulk query may not."""
    return any(
        (in_list and is_connection(fld))
        or connection_in_list(fld.selections, in_list or fld.name in LIST_FIELDS)
        for fld in fields or ()
    )


def connection_depth(fields: list[Field] | None) -> tuple[int, int]:
    """(connections in the selection, deepest nesting of connections) of a bulk query."""
    count = depth = 0
    for fld in fields or ():
        inner_count, inner_depth = connection_depth(fld.selections)
        count += inner_count + (1 if is_connection(fld) else 0)
        depth = max(depth, inner_depth + (1 if is_connection(fld) else 0))
    return count, depth
