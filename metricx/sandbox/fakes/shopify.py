"""Fake Shopify Admin GraphQL API (shop, orders, products, customers) and the OAuth install
(the grant screen that redirects back with a signed code, and the code exchange).

URL shape: /{shop}/admin/api/{version}/graphql.json, so a client's URL template is
`http://127.0.0.1:PORT/{shop}/admin/api/{version}/graphql.json`. Every answer carries
`extensions.cost` with a leaky-bucket throttleStatus; throttling arrives as HTTP 200 with a
THROTTLED error, as Shopify does.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from threading import Lock
from typing import Any

from metricx.sandbox.clock import SandboxClock
from metricx.sandbox.credentials import SandboxCredentials
from metricx.sandbox.fakes.base import (
    FakeApp,
    FakeRequest,
    FakeResponse,
    json_response,
    redirect_back,
)
from metricx.sandbox.fakes.faults import Fault, FaultPlan
from metricx.sandbox.fakes.graphql import Field, GraphQLError, cost, parse, project
from metricx.sandbox.fakes.paging import decode_cursor, page_size
from metricx.sandbox.fakes.shopify_nodes import (
    connection_page,
    customer_node,
    first_arg,
    order_node,
    product_node,
    shop_node,
)
from metricx.sandbox.fakes.tokens import AuthCodes, TokenStore
from metricx.sandbox.merchant import Merchant

GRAPHQL_PATH = re.compile(r"^/([^/]+)/admin/api/([^/]+)/graphql\.json$")
OAUTH_PATH = re.compile(r"^/([^/]+)/admin/oauth/access_token$")
AUTHORIZE_PATH = re.compile(r"^/([^/]+)/admin/oauth/authorize$")
SEARCH_TERM = re.compile(r"(updated_at|created_at):(>=|<=|>|<)?'?([^'\s]+)'?")
SORT_KEYS = {"orders": ("UPDATED_AT", "CREATED_AT", "PROCESSED_AT", "ID"),
             "products": ("UPDATED_AT", "CREATED_AT", "ID", "TITLE"),
             "customers": ("UPDATED_AT", "CREATED_AT", "ID")}
MAX_AVAILABLE, RESTORE_RATE = 2000.0, 100.0
SCOPES = "read_orders,read_all_orders,read_products,read_customers"


def _ts(moment: datetime) -> int:
    return int(moment.timestamp())


def _gid_number(gid: str) -> int:
    return int(gid.rsplit("/", 1)[1])


def _parse_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _search(query: str | None) -> tuple[tuple[str, str, int], ...]:
    """updated_at / created_at comparisons of a search query string as (field, op, unix ts)."""
    terms = []
    for name, op, value in SEARCH_TERM.findall(query or ""):
        try:
            terms.append((name, op or "=", _ts(_parse_time(value))))
        except ValueError:
            continue  # Shopify ignores terms it cannot read
    return tuple(terms)


def _passes(values: dict[str, int], terms: tuple[tuple[str, str, int], ...]) -> bool:
    ops: dict[str, Callable[[int, int], bool]] = {
        ">": int.__gt__, ">=": int.__ge__, "<": int.__lt__, "<=": int.__le__, "=": int.__eq__}
    return all(ops[op](values[name], ts) for name, op, ts in terms)


class ShopifyFake(FakeApp):
    """Answers Admin GraphQL queries against the merchant's shop."""

    provider = "shopify"
    max_query_cost: int | None = None  # set to 1000 to enforce Shopify's single-query limit

    def __init__(self, merchant: Merchant, clock: SandboxClock, faults: FaultPlan,
                 credentials: SandboxCredentials) -> None:
        super().__init__(merchant, clock, faults)
        self.credentials = credentials
        self.shop = merchant.shop
        self.tokens = TokenStore(clock, "shpat_sandbox_")
        self.tokens.accept(credentials.shopify_access_token)
        self.codes = AuthCodes(clock, "sandbox-shopify-code-", credentials.shopify_auth_code)
        self._lock = Lock()
        self._indexes: OrderedDict[tuple[Any, ...], tuple[list[tuple[int, ...]], list[Any]]] = (
            OrderedDict())

    # ---- faults -------------------------------------------------------------------------
    def fault_applies(self, kind: str, request: FakeRequest) -> bool:
        if not GRAPHQL_PATH.match(request.path):
            return False
        if kind == "short_page":
            body = request.json() or {}
            return any(root in str(body.get("query", ""))
                       for root in ("orders", "products", "customers"))
        return True

    def render_fault(self, fault: Fault, request: FakeRequest) -> FakeResponse | None:
        p = fault.params
        if fault.kind == "auth":
            return json_response(401, {"errors": "[API] Invalid API key or access token "
                                                 "(unrecognized login or wrong password)"})
        if fault.kind == "server_error":
            return json_response(int(p.get("status", 500)), {"errors": "Internal Server Error"})
        if fault.kind == "throttle":
            requested = p.get("requested", 752)
            throttle = {"maximumAvailable": float(p.get("maximum", 1000.0)),
                        "currentlyAvailable": p.get("available", 666),
                        "restoreRate": float(p.get("restore", 50.0))}
            return json_response(int(p.get("http", 200)), {
                "errors": [{"message": "Throttled", "extensions": {
                    "code": "THROTTLED",
                    "documentation": "https://shopify.dev/api/usage/rate-limits"}}],
                "extensions": {"cost": {"requestedQueryCost": requested,
                                        "actualQueryCost": None, "throttleStatus": throttle}}})
        if fault.kind == "max_cost":
            return self._graphql_errors([self._max_cost_error(int(p.get("cost", 5202)),
                                                              int(p.get("max", 1000)))],
                                        int(p.get("cost", 5202)))
        if fault.kind == "bad_request":
            return self._graphql_errors([GraphQLError(
                "Field 'bogus' doesn't exist on type 'Order'", "undefinedField",
                typeName="Order", fieldName="bogus")], 0)
        return None

    # ---- routing ------------------------------------------------------------------------
    def handle(self, request: FakeRequest, fault: Fault | None) -> FakeResponse:
        oauth = OAUTH_PATH.match(request.path)
        if oauth and request.method == "POST":
            return self._oauth(oauth.group(1), request)
        grant = AUTHORIZE_PATH.match(request.path)
        if grant and request.method == "GET":
            return self._grant(grant.group(1), request.params)
        match = GRAPHQL_PATH.match(request.path)
        if match is None or match.group(1) != self.shop.profile.domain:
            return json_response(404, {"errors": "Not Found"})
        if request.method != "POST":
            return json_response(405, {"errors": "Method Not Allowed"})
        token = request.headers.get("x-shopify-access-token")
        if not self.tokens.valid(token):
            return json_response(401, {"errors": "[API] Invalid API key or access token "
                                                 "(unrecognized login or wrong password)"})
        headers = {"x-shopify-api-version": match.group(2)}
        body = request.json()
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            return json_response(400, {"errors": {"query": "Required parameter missing or "
                                                           "invalid"}}, headers)
        short = fault.params if fault is not None and fault.kind == "short_page" else None
        try:
            fields = parse(body["query"], body.get("variables") or {})
            requested = cost(fields)
            if self.max_query_cost is not None and requested > self.max_query_cost:
                return self._graphql_errors([self._max_cost_error(requested,
                                                                  self.max_query_cost)],
                                            requested)
            data, returned = self._execute(fields, short)
        except GraphQLError as error:
            return self._graphql_errors([error], 0)
        actual = cost(fields, lambda f: returned.get(id(f), int(f.args.get("first") or 0)))
        return json_response(200, {"data": data, "extensions": self._cost(requested, actual)},
                             headers)

    def _cost(self, requested: int, actual: int | None) -> dict[str, Any]:
        used = actual if actual is not None else 0
        return {"cost": {"requestedQueryCost": requested, "actualQueryCost": actual,
                         "throttleStatus": {"maximumAvailable": MAX_AVAILABLE,
                                            "currentlyAvailable": max(0, MAX_AVAILABLE - used),
                                            "restoreRate": RESTORE_RATE}}}

    def _graphql_errors(self, errors: list[GraphQLError], requested: int) -> FakeResponse:
        return json_response(200, {"errors": [e.as_dict() for e in errors],
                                   "extensions": self._cost(requested, None)})

    @staticmethod
    def _max_cost_error(requested: int, maximum: int) -> GraphQLError:
        return GraphQLError(f"Query cost is {requested}, which exceeds the single query max "
                            f"cost limit ({maximum}).", "MAX_COST_EXCEEDED", cost=requested,
                            maxCost=maximum)

    # ---- execution ----------------------------------------------------------------------
    def _execute(self, fields: list[Field], short: dict[str, Any] | None,
                 ) -> tuple[dict[str, Any], dict[int, int]]:
        as_of = self.clock.now().replace(microsecond=0)  # Shopify times have whole seconds
        data: dict[str, Any] = {}
        returned: dict[int, int] = {}
        for fld in fields:
            if fld.name == "shop":
                value: Any = shop_node(self.shop)
            elif fld.name in SORT_KEYS:
                value = self._connection(fld, as_of, short)
                returned[id(fld)] = len(value["nodes"])
            elif fld.name in ("order", "product", "customer"):
                value = self._node(fld.name, str(fld.args.get("id")), as_of)
            else:
                raise GraphQLError(f"Field '{fld.name}' doesn't exist on type 'QueryRoot'",
                                   "undefinedField", typeName="QueryRoot", fieldName=fld.name)
            if fld.selections is not None:
                value = project(value, fld, "QueryRoot")
            data[fld.key] = value
        return data, returned

    def _node(self, kind: str, gid: str, as_of: datetime) -> dict[str, Any] | None:
        currency = self.shop.profile.currency
        if kind == "order":
            order = self.shop.order(gid, as_of)
            return order_node(order, self.shop, as_of) if order else None
        if kind == "product":
            product = self.shop.product(gid)
            return product_node(product, currency, as_of) if product else None
        customer = self.shop.customer(gid)
        if customer is None or customer.created_at > as_of:
            return None
        return customer_node(customer, as_of, currency)

    def _connection(self, fld: Field, as_of: datetime, short: dict[str, Any] | None,
                    ) -> dict[str, Any]:
        args = fld.args
        first = page_size(first_arg(args), short)
        sort_key = str(args.get("sortKey", "ID"))
        if sort_key not in SORT_KEYS[fld.name]:
            raise GraphQLError(f"Argument 'sortKey' on Field '{fld.name}' has an invalid value "
                               f"({sort_key}).", "argumentLiteralsIncompatible")
        reverse = bool(args.get("reverse"))
        keys, items = self._index(fld.name, as_of, _search(args.get("query")), sort_key, reverse)
        try:
            after = decode_cursor(args.get("after"))
        except ValueError as exc:
            raise GraphQLError("Invalid cursor for the after argument", "argumentError") from exc
        start = bisect_right(keys, tuple(after)) if after is not None else 0
        chunk = list(range(start, min(start + first, len(keys))))
        render = self._renderer(fld.name, as_of)
        entries = [(list(keys[i]), render(items[i])) for i in chunk]
        return connection_page(entries, has_next=start + len(chunk) < len(keys),
                               has_previous=start > 0)

    def _renderer(self, kind: str, as_of: datetime) -> Callable[[Any], dict[str, Any]]:
        currency = self.shop.profile.currency
        if kind == "orders":
            return lambda o: order_node(o, self.shop, as_of)
        if kind == "products":
            return lambda p: product_node(p, currency, as_of)
        return lambda c: customer_node(c, as_of, currency)

    def _index(self, kind: str, as_of: datetime, terms: tuple[tuple[str, str, int], ...],
               sort_key: str, reverse: bool) -> tuple[list[tuple[int, ...]], list[Any]]:
        """Items matching the search, sorted by (sort key, id); cached per moment."""
        cache_key = (kind, as_of, terms, sort_key, reverse)
        with self._lock:
            if cache_key in self._indexes:
                self._indexes.move_to_end(cache_key)
                return self._indexes[cache_key]
        rows = []
        for item, created, updated, title in self._items(kind, as_of):
            values = {"created_at": created, "updated_at": updated}
            if not _passes(values, terms):
                continue
            ident = _gid_number(item.external_id)
            primary = {"UPDATED_AT": updated, "CREATED_AT": created, "PROCESSED_AT": created,
                       "ID": ident, "TITLE": title}[sort_key]
            key = (primary, ident)
            rows.append((tuple(-k for k in key) if reverse else key, item))
        rows.sort(key=lambda r: r[0])
        index = ([k for k, _ in rows], [i for _, i in rows])
        with self._lock:
            self._indexes[cache_key] = index
            while len(self._indexes) > 6:
                self._indexes.popitem(last=False)
        return index

    def _items(self, kind: str, as_of: datetime) -> list[tuple[Any, int, int, int]]:
        """(item, created ts, updated ts, title rank) of what exists at as_of."""
        if kind == "orders":
            return [(o, _ts(o.created_at), _ts(o.updated_at(as_of)), 0)
                    for o in self.shop.orders_until(as_of)]
        if kind == "customers":
            return [(c, _ts(c.created_at), _ts(c.updated_at(as_of)), 0)
                    for c in self.shop.customers_until(as_of)]
        titles = {p.external_id: i for i, p in enumerate(sorted(self.shop.products,
                                                                key=lambda p: p.title))}
        return [(p, _ts(p.created_at),
                 _ts(p.updated_at if p.updated_at <= as_of else p.created_at),
                 titles[p.external_id])
                for p in self.shop.products if p.created_at <= as_of]

    # ---- oauth --------------------------------------------------------------------------
    def _oauth(self, shop: str, request: FakeRequest) -> FakeResponse:
        c = self.credentials
        params = request.json() if "json" in request.headers.get("content-type", "") else None
        params = params if isinstance(params, dict) else request.params
        if shop != self.shop.profile.domain:
            return json_response(404, {"errors": "Not Found"})
        if params.get("client_id") != c.shopify_client_id or \
                params.get("client_secret") != c.shopify_client_secret:
            return json_response(400, {"error": "invalid_client",
                                       "error_description": "Client credentials are invalid"})
        if self.codes.redeem(params.get("code"), self.code_binding(shop)) != "ok":
            return json_response(400, {"error": "invalid_request",
                                       "error_description": "The authorization code was not "
                                                            "found or was already used"})
        return json_response(200, {"access_token": self.tokens.issue(), "scope": SCOPES})

    @staticmethod
    def code_binding(shop: str) -> str:
        """What a code is bound to: Shopify's exchange sends no redirect_uri, so the shop."""
        return f"shop:{shop}"

    def _grant(self, shop: str, params: dict[str, str]) -> FakeResponse:
        """The install grant screen, already accepted: back to redirect_uri with a code and
        Shopify's signature (hmac over the other parameters, keyed by the client secret)."""
        redirect_uri = params.get("redirect_uri")
        if shop != self.shop.profile.domain:
            return json_response(404, {"errors": "Not Found"})
        if params.get("client_id") != self.credentials.shopify_client_id or not redirect_uri:
            return json_response(400, {"errors": "Oauth error invalid_request: The "
                                                 "redirect_uri and application url must have "
                                                 "matching hosts"})
        answer = {"code": self.codes.issue(self.code_binding(shop)),
                  "host": base64.b64encode(f"{shop}/admin".encode()).decode(),
                  "shop": shop, "state": params.get("state", ""),
                  "timestamp": str(int(self.clock.now().timestamp()))}
        message = "&".join(f"{k}={v}" for k, v in sorted(answer.items()))
        answer["hmac"] = hmac.new(self.credentials.shopify_client_secret.encode(),
                                  message.encode(), hashlib.sha256).hexdigest()
        return redirect_back(redirect_uri, answer)
