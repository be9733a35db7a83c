"""Shopify Admin GraphQL client: shop, orders (with journeys), products (with COGS), customers.

Incremental by updated_at, sorted by UPDATED_AT, paged by endCursor until hasNextPage is
false. Throttling is read from the body (THROTTLED at HTTP 200) and waited out exactly:
(requested - currentlyAvailable) / restoreRate seconds. A query Shopify prices above its
single-query limit is retried with smaller pages; nested lists longer than one page
(line items, variants) are completed with follow-up queries.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx

from metricx.connectors.errors import AuthError, InvalidRequestError, MalformedResponseError
from metricx.connectors.http import (
    BaseClient,
    HttpSession,
    RetryPolicy,
    Sleep,
    expect,
    parse_json,
    rate_limited,
    retry_after_header,
    server_error,
)
from metricx.connectors.records import (
    CustomerRecord,
    JourneyRecord,
    LineItemRecord,
    OrderRecord,
    ProductRecord,
    RefundRecord,
    ShopInfo,
    TokenGrant,
    VariantRecord,
    VisitRecord,
)
from metricx.connectors.values import decimal, integer
from metricx.connectors.versions import DEFAULT_VERSIONS

PROVIDER = "shopify"
DEFAULT_TEMPLATE = "https://{shop}/admin/api/{version}/graphql.json"
MONEY = "shopMoney { amount currencyCode }"
VISIT = ("occurredAt landingPage referrerUrl source sourceType "
         "utmParameters { source medium campaign content term }")
LINE_ITEM = (f"id quantity sku originalUnitPriceSet {{ {MONEY} }} "
             "variant { id product { id } inventoryItem { unitCost { amount currencyCode } } }")
ORDER = (
    "id name createdAt processedAt updatedAt cancelledAt test currencyCode "
    f"currentTotalPriceSet {{ {MONEY} }} totalDiscountsSet {{ {MONEY} }} "
    f"totalShippingPriceSet {{ {MONEY} }} totalTaxSet {{ {MONEY} }} "
    f"totalRefundedSet {{ {MONEY} }} customer {{ id }} "
    "customerJourneySummary { ready daysToConversion customerOrderIndex "
    f"firstVisit {{ {VISIT} }} lastVisit {{ {VISIT} }} }} "
    f"refunds(first: 100) {{ id createdAt totalRefundedSet {{ {MONEY} }} }} "
    f"lineItems(first: $inner) {{ pageInfo {{ hasNextPage endCursor }} nodes {{ {LINE_ITEM} }} }}")
VARIANT = "id title sku price inventoryItem { unitCost { amount currencyCode } }"
PRODUCT = ("id title status productType vendor createdAt updatedAt "
           "variants(first: $inner) { pageInfo { hasNextPage endCursor } "
           f"nodes {{ {VARIANT} }} }}")
CUSTOMER = ("id email firstName lastName createdAt updatedAt numberOfOrders "
            "amountSpent { amount currencyCode }")
SHOP_QUERY = "query { shop { name currencyCode ianaTimezone myshopifyDomain } }"
NESTED = {  # root -> (single-node root, nested connection, its node selection)
    "orders": ("order", "lineItems", LINE_ITEM),
    "products": ("product", "variants", VARIANT),
}


def _list_query(root: str, node: str) -> str:
    return (f"query Page($first: Int!, $cursor: String, $q: String, $inner: Int!) {{ "
            f"{root}(first: $first, after: $cursor, query: $q, sortKey: UPDATED_AT) {{ "
            f"pageInfo {{ hasNextPage endCursor }} nodes {{ {node} }} }} }}")


def _rest_query(single: str, nested: str, node: str) -> str:
    return (f"query Rest($id: ID!, $cursor: String) {{ {single}(id: $id) {{ "
            f"{nested}(first: 100, after: $cursor) {{ pageInfo {{ hasNextPage endCursor }} "
            f"nodes {{ {node} }} }} }} }}")


class _TooCostly(Exception):
    """MAX_COST_EXCEEDED: the same query with smaller pages will pass."""

    def __init__(self, cost: int, maximum: int) -> None:
        super().__init__(f"query cost {cost} > {maximum}")
        self.cost, self.maximum = cost, maximum


def _classify_errors(body: dict[str, Any]) -> None:
    """Raise for a GraphQL `errors` answer (which Shopify sends with HTTP 200)."""
    errors = body.get("errors")
    if not errors:
        return
    if isinstance(errors, str):
        raise InvalidRequestError(PROVIDER, f"Shopify rejected the request: {errors}")
    codes = [((e.get("extensions") or {}).get("code"), e) for e in errors if isinstance(e, dict)]
    for code, error in codes:
        if code == "THROTTLED":
            cost = (body.get("extensions") or {}).get("cost") or {}
            status = cost.get("throttleStatus") or {}
            requested = float(cost.get("requestedQueryCost") or 0)
            available = float(status.get("currentlyAvailable") or 0)
            restore = float(status.get("restoreRate") or 0) or 1.0
            wait = round(max(requested - available, 0.0) / restore, 3) or 1.0
            raise rate_limited(PROVIDER, "THROTTLED", wait, status=200, code="THROTTLED")
        if code == "MAX_COST_EXCEEDED":
            ext = error.get("extensions") or {}
            raise _TooCostly(int(ext.get("cost") or 0), int(ext.get("maxCost") or 1000))
    messages = "; ".join(str(e.get("message")) for _, e in codes) or str(errors)
    raise InvalidRequestError(PROVIDER, f"Shopify rejected the query: {messages}",
                              status=200, code=codes[0][0] if codes else None)


def admin_base(shop_domain: str, url_template: str = DEFAULT_TEMPLATE) -> str:
    """The shop's admin root (`https://{shop}`), derived from the GraphQL URL template so a
    template pointed at the sandbox points the OAuth endpoints there too."""
    return url_template.split("/admin/api/", 1)[0].format(shop=shop_domain)


class ShopifyClient(BaseClient):
    """Reads one shop with an Admin API access token; money in the shop currency."""

    provider = PROVIDER

    def __init__(self, shop_domain: str, access_token: str, *,
                 url_template: str = DEFAULT_TEMPLATE,
                 api_version: str = DEFAULT_VERSIONS["shopify"],
                 page_size: int = 50, inner_page_size: int = 25, timeout: float = 30.0,
                 retry: RetryPolicy | None = None, sleep: Sleep | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        super().__init__(timeout=timeout, retry=retry, sleep=sleep, transport=transport,
                         headers={"X-Shopify-Access-Token": access_token})
        self.shop_domain = shop_domain
        self.url = url_template.format(shop=shop_domain, version=api_version)
        self.page_size = page_size
        self.inner_page_size = inner_page_size
        self._first: dict[str, int] = {}  # page sizes learnt from MAX_COST_EXCEEDED

    # ---- public API ---------------------------------------------------------------------
    def shop_info(self) -> ShopInfo:
        shop = self._graphql(SHOP_QUERY, {}).get("shop")
        expect(PROVIDER, isinstance(shop, dict) and "currencyCode" in shop
               and "ianaTimezone" in shop, "shop (currencyCode, ianaTimezone)")
        return ShopInfo(str(shop.get("myshopifyDomain") or self.shop_domain),
                        str(shop.get("name") or ""), str(shop["currencyCode"]),
                        str(shop["ianaTimezone"]))

    def orders(self, updated_since: datetime | None = None) -> Iterator[OrderRecord]:
        """Orders updated at or after `updated_since` (all when None), oldest update first."""
        for node in self._nodes("orders", ORDER, updated_since):
            yield _order(node)

    def products(self, updated_since: datetime | None = None) -> Iterator[ProductRecord]:
        for node in self._nodes("products", PRODUCT, updated_since):
            yield _product(node)

    def customers(self, updated_since: datetime | None = None) -> Iterator[CustomerRecord]:
        for node in self._nodes("customers", CUSTOMER, updated_since):
            yield _customer(node)

    @staticmethod
    def exchange_code(shop_domain: str, code: str, *, client_id: str, client_secret: str,
                      url_template: str = DEFAULT_TEMPLATE, timeout: float = 30.0,
                      transport: httpx.BaseTransport | None = None) -> TokenGrant:
        """OAuth install: trade the `code` from the redirect for an offline access token."""
        base = admin_base(shop_domain, url_template)
        session = HttpSession(PROVIDER, timeout=timeout, transport=transport)
        try:
            response = session.request("POST", f"{base}/admin/oauth/access_token",
                                       json={"client_id": client_id,
                                             "client_secret": client_secret, "code": code})
        finally:
            session.close()
        if response.status_code >= 500:
            raise server_error(PROVIDER, response)
        body = parse_json(PROVIDER, response)
        if response.status_code >= 400 or not isinstance(body, dict) or \
                "access_token" not in body:
            detail = body.get("error_description") if isinstance(body, dict) else None
            raise AuthError(PROVIDER, "Shopify refused the install code "
                            f"({detail or f'HTTP {response.status_code}'}); start the install "
                            "again", status=response.status_code,
                            code=body.get("error") if isinstance(body, dict) else None)
        return TokenGrant(str(body["access_token"]), None, None, body.get("scope"))

    # ---- transport ----------------------------------------------------------------------
    def _graphql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        def attempt() -> dict[str, Any]:
            response = self.http.request("POST", self.url,
                                         json={"query": query, "variables": variables})
            status = response.status_code
            if status in (401, 403):
                raise AuthError(PROVIDER, f"Shopify rejected the access token (HTTP {status}); "
                                "reinstall the app on the shop", status=status)
            if status == 429:
                raise rate_limited(PROVIDER, "HTTP 429", retry_after_header(response) or 2.0,
                                   status=429)
            if status >= 500:
                raise server_error(PROVIDER, response)
            if status >= 400:
                raise InvalidRequestError(PROVIDER, f"Shopify answered HTTP {status} for "
                                          f"{self.shop_domain}", status=status)
            body = parse_json(PROVIDER, response)
            expect(PROVIDER, isinstance(body, dict), "GraphQL response object")
            _classify_errors(body)
            expect(PROVIDER, isinstance(body.get("data"), dict), "data")
            return body["data"]

        return self._retrying(attempt)

    def _nodes(self, root: str, node: str, since: datetime | None,
               ) -> Iterator[dict[str, Any]]:
        """Every node of a root connection, nested lists completed."""
        query = _list_query(root, node)
        search = None if since is None else f"updated_at:>='{_search_time(since)}'"
        cursor: str | None = None
        first = self._first.get(root, self.page_size)
        while True:
            variables = {"first": first, "cursor": cursor, "q": search,
                         "inner": self.inner_page_size}
            try:
                connection = self._graphql(query, variables).get(root)
            except _TooCostly as too:
                if first == 1:
                    raise InvalidRequestError(PROVIDER, f"Shopify prices even a one-{root[:-1]} "
                                              f"page above its limit ({too})") from None
                first = max(1, min(first // 2, first * too.maximum // max(too.cost, 1)))
                self._first[root] = first
                continue
            expect(PROVIDER, isinstance(connection, dict) and "nodes" in connection
                   and "pageInfo" in connection, f"{root} connection")
            for item in connection["nodes"]:
                if root in NESTED:
                    self._complete(root, item)
                yield item
            info = connection["pageInfo"]
            if not info.get("hasNextPage"):
                return
            cursor = info.get("endCursor")
            expect(PROVIDER, bool(cursor), "pageInfo.endCursor")

    def _complete(self, root: str, item: dict[str, Any]) -> None:
        """Fetch the rest of a nested connection (line items, variants) beyond its first page."""
        single, nested, node = NESTED[root]
        connection = item.get(nested) or {}
        info = connection.get("pageInfo") or {}
        while info.get("hasNextPage"):
            data = self._graphql(_rest_query(single, nested, node),
                                 {"id": item["id"], "cursor": info.get("endCursor")})
            more = ((data.get(single) or {}).get(nested)) or {}
            expect(PROVIDER, "nodes" in more, f"{single}.{nested}")
            connection["nodes"] = [*connection.get("nodes", []), *more["nodes"]]
            info = more.get("pageInfo") or {}


def _search_time(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("updated_since must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _time(value: Any, what: str, required: bool = True) -> datetime | None:
    if value is None and not required:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise MalformedResponseError(PROVIDER, f"Shopify sent {what}={value!r}") from exc
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _req_time(value: Any, what: str) -> datetime:
    moment = _time(value, what)
    assert moment is not None
    return moment


def _amount(node: Any, what: str) -> Decimal:
    """MoneyBag {shopMoney {amount}} or MoneyV2 {amount} -> Decimal (missing -> 0)."""
    if isinstance(node, dict) and "shopMoney" in node:
        node = node["shopMoney"]
    return decimal(PROVIDER, node.get("amount") if isinstance(node, dict) else None, what)


def _visit(node: Any) -> VisitRecord | None:
    if not isinstance(node, dict):
        return None
    utm = node.get("utmParameters") or {}
    return VisitRecord(_time(node.get("occurredAt"), "occurredAt", required=False),
                       node.get("landingPage"), node.get("referrerUrl"), node.get("source"),
                       node.get("sourceType"), utm.get("source"), utm.get("medium"),
                       utm.get("campaign"), utm.get("content"), utm.get("term"))


def _journey(node: Any) -> JourneyRecord | None:
    if not isinstance(node, dict):
        return None
    index = node.get("customerOrderIndex")
    return JourneyRecord(bool(node.get("ready")), node.get("daysToConversion"),
                         int(index) if index is not None else None,
                         _visit(node.get("firstVisit")), _visit(node.get("lastVisit")))


def _line_item(node: dict[str, Any]) -> LineItemRecord:
    variant = node.get("variant") or {}
    cost = (variant.get("inventoryItem") or {}).get("unitCost")
    return LineItemRecord(
        external_id=str(node.get("id")),
        quantity=integer(PROVIDER, node.get("quantity"), "quantity"),
        sku=node.get("sku"),
        unit_price=_amount(node.get("originalUnitPriceSet"), "originalUnitPrice"),
        variant_id=variant.get("id"), product_id=(variant.get("product") or {}).get("id"),
        unit_cost=_amount(cost, "unitCost") if cost else None)


def _order(node: dict[str, Any]) -> OrderRecord:
    expect(PROVIDER, "id" in node and "createdAt" in node and "updatedAt" in node,
           "order (id, createdAt, updatedAt)")
    lines = tuple(_line_item(n) for n in (node.get("lineItems") or {}).get("nodes") or ())
    refunds = tuple(RefundRecord(str(r.get("id")), _req_time(r.get("createdAt"), "refund"),
                                 _amount(r.get("totalRefundedSet"), "totalRefunded"))
                    for r in node.get("refunds") or ())
    total_set = node.get("currentTotalPriceSet") or {}
    currency = (total_set.get("shopMoney") or {}).get("currencyCode") or node.get("currencyCode")
    return OrderRecord(
        external_id=str(node["id"]), name=str(node.get("name") or ""),
        currency=str(currency or ""),
        created_at=_req_time(node["createdAt"], "createdAt"),
        processed_at=_time(node.get("processedAt"), "processedAt", required=False),
        updated_at=_req_time(node["updatedAt"], "updatedAt"),
        cancelled_at=_time(node.get("cancelledAt"), "cancelledAt", required=False),
        test=bool(node.get("test")), customer_id=(node.get("customer") or {}).get("id"),
        gross=sum((line.unit_price * line.quantity for line in lines), Decimal(0)),
        discounts=_amount(node.get("totalDiscountsSet"), "totalDiscounts"),
        shipping=_amount(node.get("totalShippingPriceSet"), "totalShippingPrice"),
        tax=_amount(node.get("totalTaxSet"), "totalTax"),
        refunded=_amount(node.get("totalRefundedSet"), "totalRefunded"),
        total=_amount(total_set, "currentTotalPrice"),
        line_items=lines, refunds=refunds, journey=_journey(node.get("customerJourneySummary")))


def _product(node: dict[str, Any]) -> ProductRecord:
    expect(PROVIDER, "id" in node, "product id")
    variants = tuple(
        VariantRecord(str(v.get("id")), str(node["id"]), str(v.get("title") or ""),
                      v.get("sku"), decimal(PROVIDER, v.get("price"), "price"),
                      _amount(cost, "unitCost") if (cost := (v.get("inventoryItem") or {})
                                                    .get("unitCost")) else None)
        for v in (node.get("variants") or {}).get("nodes") or ())
    return ProductRecord(str(node["id"]), str(node.get("title") or ""), node.get("status"),
                         node.get("productType"), node.get("vendor"),
                         _req_time(node.get("createdAt"), "createdAt"),
                         _req_time(node.get("updatedAt"), "updatedAt"), variants)


def _customer(node: dict[str, Any]) -> CustomerRecord:
    expect(PROVIDER, "id" in node, "customer id")
    return CustomerRecord(str(node["id"]), node.get("email"), node.get("firstName"),
                          node.get("lastName"), _req_time(node.get("createdAt"), "createdAt"),
                          _req_time(node.get("updatedAt"), "updatedAt"),
                          integer(PROVIDER, node.get("numberOfOrders"), "numberOfOrders"),
                          _amount(node.get("amountSpent"), "amountSpent"))
