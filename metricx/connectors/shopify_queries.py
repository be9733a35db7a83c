"""The Admin GraphQL queries the Shopify connector sends, built as priced `Field` trees.

Each resource (orders, products, customers) is one node selection used three ways: pages of the
root connection (sized to cost at most 1,000 points), follow-up reads of a node's nested list
when it has more items than a page held, and bulk operations (the same selection, read whole).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache

from metricx.connectors.shopify_cost import (
    MAX_QUERY_COST,
    Field,
    Query,
    connection,
    largest_first,
    obj,
    render,
    scalars,
    sized_list,
)


def money_bag(name: str) -> Field:
    return obj(name, obj("shopMoney", *scalars("amount currencyCode")))


def money(name: str) -> Field:
    return obj(name, *scalars("amount currencyCode"))


def _visit(name: str) -> Field:
    return obj(
        name,
        *scalars("occurredAt landingPage referrerUrl source sourceType"),
        obj("utmParameters", *scalars("source medium campaign content term")),
    )


LINE_ITEM = (
    *scalars("id quantity sku"),
    money_bag("originalUnitPriceSet"),
    obj(
        "variant", Field("id"), obj("product", Field("id")), obj("inventoryItem", money("unitCost"))
    ),
)
REFUND = (*scalars("id createdAt"), money_bag("totalRefundedSet"))
# What a refund gave back, tax apart (shopify.dev admin-graphql "Refund"): the lines' price
# after discounts and their tax, refunded shipping and its tax (RefundShippingLine, where
# shipping refunds live from 2024-10), and order adjustments, "the difference between a
# calculated and actual refund amount" (amount and tax, negative when more was given back).
# They are connections inside the Order.refunds list, which a bulk query refuses ("Queries
# that contain a connection field within a list field are not currently supported.") and
# which would make every page of orders four times dearer: they are read for the orders that
# have refunds, several orders a query (`refunds_of`). Each refund line names its order line
# (RefundLineItem.lineItem, non-null) and quantity, so refunds can be told apart by product.
REFUND_PARTS = {
    "refundLineItems": (
        Field("quantity"),
        obj("lineItem", Field("id")),
        money_bag("subtotalSet"),
        money_bag("totalTaxSet"),
    ),
    "refundShippingLines": (money_bag("subtotalAmountSet"), money_bag("taxAmountSet")),
    "orderAdjustments": (money_bag("amountSet"), money_bag("taxAmountSet")),
}
#: The size variable of each part in `refunds_of`.
PART_SIZES = {
    "refundLineItems": "items",
    "refundShippingLines": "shipping",
    "orderAdjustments": "adjustments",
}
SPLIT_REFUND = (
    *REFUND,
    *(connection(name, f"${PART_SIZES[name]}", *fields) for name, fields in REFUND_PARTS.items()),
)
ORDER = (
    *scalars("id name createdAt processedAt updatedAt cancelledAt test currencyCode"),
    *(
        money_bag(name)
        for name in (
            "currentTotalPriceSet",
            "totalDiscountsSet",
            "totalShippingPriceSet",
            "totalTaxSet",
            "totalRefundedSet",
        )
    ),
    obj("customer", Field("id")),
    obj(
        "customerJourneySummary",
        *scalars("ready daysToConversion customerOrderIndex"),
        _visit("firstVisit"),
        _visit("lastVisit"),
    ),
    sized_list("refunds", "$refunds", *REFUND),
    connection("lineItems", "$lines", *LINE_ITEM),
)
VARIANT = (*scalars("id title sku price"), obj("inventoryItem", money("unitCost")))
PRODUCT = (
    *scalars("id title status productType vendor createdAt updatedAt"),
    connection("variants", "$variants", *VARIANT),
)
# Only what the sync stores: names and e-mail addresses are protected customer data (level 2)
# that Metricx never needs (shopify.dev "Protected customer data"); `email` is deprecated too.
CUSTOMER = (*scalars("id createdAt updatedAt numberOfOrders"), money("amountSpent"))


@dataclass(frozen=True)
class Resource:
    """One root connection and how its nodes are read.

    `inner` holds the default sizes of the nested lists ($lines, $refunds, $variants): big
    enough for almost every node (the sandbox's orders have 1-5 lines, at most 2 refunds), small
    enough to leave room for many nodes per page; a longer list is completed by follow-ups.
    """

    root: str
    single: str
    node: tuple[Field, ...]
    inner: dict[str, int] = field(default_factory=dict)
    nested: str | None = None  # the nested connection completed by follow-up queries
    count: str = ""  # the root's count query (ordersCount)

    def page_query(self) -> Query:
        sizes = "".join(f", ${name}: Int!" for name in self.inner)
        return Query(
            "Page",
            f"($first: Int!, $cursor: String, $q: String{sizes})",
            (
                connection(
                    self.root,
                    "$first",
                    *self.node,
                    after="$cursor",
                    query="$q",
                    sortKey="UPDATED_AT",
                ),
            ),
        )

    def page_size(self, inner: dict[str, int], limit: int = MAX_QUERY_COST, most: int = 250) -> int:
        """Nodes per page so that the page query costs at most `limit`."""
        query = self.page_query()
        return largest_first(lambda n: query.cost({"first": n, **inner}), limit=limit, most=most)

    def nested_fields(self) -> tuple[Field, ...]:
        nested = next(f for f in self.node if f.name == self.nested)
        return nested.fields

    def rest_query(self) -> Query:
        """The rest of one node's nested connection, after a cursor."""
        return Query(
            "Rest",
            "($id: ID!, $cursor: String, $first: Int!)",
            (
                obj(
                    self.single,
                    connection(self.nested or "", "$first", *self.nested_fields(), after="$cursor"),
                    id="$id",
                ),
            ),
        )

    def count_query(self) -> Query:
        return Query(
            "Count", "($q: String)", (obj(self.count, *scalars("count precision"), query="$q"),)
        )

    def bulk_text(self, search: str | None) -> str:
        """The selection as a bulk query: one root connection, nested lists read whole."""
        args = {"sortKey": "UPDATED_AT"}
        if search:
            args["query"] = json.dumps(search)
        root = connection(self.root, None, *self.node, **args)
        return f"{{ {render(root, bulk=True)} }}"


ORDERS = Resource("orders", "order", ORDER, {"lines": 5, "refunds": 3}, "lineItems", "ordersCount")
PRODUCTS = Resource("products", "product", PRODUCT, {"variants": 25}, "variants", "productsCount")
CUSTOMERS = Resource("customers", "customer", CUSTOMER, {}, None, "customersCount")
RESOURCES = {r.root: r for r in (ORDERS, PRODUCTS, CUSTOMERS)}

SHOP = Query("Shop", "", (obj("shop", *scalars("name currencyCode ianaTimezone myshopifyDomain")),))


@lru_cache(maxsize=64)
def refunds_of(orders: int) -> Query:
    """The split refunds of `orders` orders in one query: `o0: order(id: $id0) { id
    refunds(first: $refunds) { ... } }` and so on, sizes shared ($refunds, $items, $shipping,
    $adjustments)."""
    ids = "".join(f"$id{i}: ID!, " for i in range(orders))
    return Query(
        "Refunds",
        f"({ids}$refunds: Int!, $items: Int!, $shipping: Int!, $adjustments: Int!)",
        tuple(
            Field(
                "order",
                (Field("id"), sized_list("refunds", "$refunds", *SPLIT_REFUND)),
                (("id", f"$id{i}"),),
                alias=f"o{i}",
            )
            for i in range(orders)
        ),
    )


def refund_rest(part: str) -> Query:
    """The rest of one refund's part (a REFUND_PARTS connection), after a cursor."""
    return Query(
        "RefundRest",
        "($id: ID!, $cursor: String, $first: Int!)",
        (
            obj(
                "refund", connection(part, "$first", *REFUND_PARTS[part], after="$cursor"), id="$id"
            ),
        ),
    )


BULK_RUN = Query(
    "BulkRun",
    "($query: String!)",
    (
        obj(
            "bulkOperationRunQuery",
            obj("bulkOperation", *scalars("id status")),
            obj("userErrors", *scalars("field message")),
            query="$query",
        ),
    ),
    mutation=True,
)
# bulkOperation(id:) is the way to follow one operation from 2026-01 on, when an app may run
# up to five bulk queries at once (shopify.dev changelog "New Queries for Bulk Operations").
BULK_STATUS = Query(
    "BulkStatus",
    "($id: ID!)",
    (
        obj(
            "bulkOperation",
            *scalars("id status errorCode objectCount rootObjectCount url partialDataUrl"),
            id="$id",
        ),
    ),
)
