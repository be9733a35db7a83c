"""Fake Shopify Admin GraphQL API (shop, orders, products, customers, counts, bulk queries) and
the OAuth install (the grant screen that redirects back with a signed code, the code exchange
and the refresh of expiring offline tokens).

URL shape: /{shop}/admin/api/{version}/graphql.json, so a client's URL template is
`http://127.0.0.1:PORT/{shop}/admin/api/{version}/graphql.json`. What it does as Shopify does,
each on by default (the attribute that turns it off or scripts it in brackets):

- prices every query by the published rules and refuses one over 1,000 points with
  MAX_COST_EXCEEDED [max_query_cost]; meters queries through a leaky bucket (2,000 points,
  100 points/s, the standard plan), answers THROTTLED at HTTP 200 when it lacks the
  requested cost [bucket] and keeps only the actual cost, what the answer returned at every
  depth -- shopify.dev "GraphQL Admin API rate limits";
- names the version that answered in `X-Shopify-API-Version`; a version past support falls
  forward to the oldest supported one [SUPPORTED_VERSIONS] -- shopify.dev "API versioning";
- answers 402 for a frozen shop and 423 for a locked one [shop_state], ACCESS_DENIED at HTTP
  200 for data the app's scopes do not cover [denied_scopes], and INTERNAL_SERVER_ERROR at
  HTTP 200 for `faults.add("shopify", "server_error", code="INTERNAL_SERVER_ERROR")` --
  shopify.dev "API response status and error codes";
- issues expiring offline tokens (an hour, with a rotating refresh token) from the code
  exchange, refreshes them, and refuses an expired one with 401 [expiring_required] --
  shopify.dev "About offline access tokens", changelog 2025-12-10;
- runs bulk query operations over the same shop and serves their JSONL from a local URL
  [bulk_polls, bulk_failure] -- shopify.dev "Perform bulk operations with the GraphQL Admin API";
  like Shopify it refuses a connection inside a list field (Order.refunds { refundLineItems })
  with the userError "Queries that contain a connection field within a list field are not
  currently supported.";
- serves each refund's lines, shipping lines and order adjustments as connections, also from
  the root `refund(id:)` -- shopify.dev admin-graphql "Refund", "RefundLineItem",
  "RefundShippingLine", "OrderAdjustment" (shopify_nodes.refund_node).

The sandbox's own token (SandboxCredentials.shopify_access_token) stands for a merchant-made
custom app's token, which Shopify still issues non-expiring; tokens from the OAuth install are
those of a public app, which expire.

The bucket runs on real time (a demo's clients really sleep). After a THROTTLED answer it
takes the client to have waited what it was told [trust_throttled_waits]: the many tests that
stub out `time.sleep` (and sandboxes whose clock is pinned) still get through on the retry,
at the price of a bucket that refills a little early after a refusal. Tests of pacing give the
bucket and the client one virtual clock (`bucket.now`) and count `bucket.refusals`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import count
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
from metricx.sandbox.fakes.graphql import (
    Field,
    GraphQLError,
    LeakyBucket,
    actual_cost,
    cost,
    parse,
    parse_operation,
    project,
)
from metricx.sandbox.fakes.paging import decode_cursor, page_size
from metricx.sandbox.fakes.shopify_nodes import (
    bulk_lines,
    connection_depth,
    connection_in_list,
    connection_page,
    customer_node,
    first_arg,
    iso,
    order_node,
    product_node,
    refund_node,
    shop_node,
)
from metricx.sandbox.fakes.tokens import AuthCodes, TokenStore
from metricx.sandbox.merchant import Merchant

GRAPHQL_PATH = re.compile(r"^/([^/]+)/admin/api/([^/]+)/graphql\.json$")
OAUTH_PATH = re.compile(r"^/([^/]+)/admin/oauth/access_token$")
AUTHORIZE_PATH = re.compile(r"^/([^/]+)/admin/oauth/authorize$")
BULK_FILE_PATH = re.compile(r"^/bulk/([A-Za-z0-9_-]+)\.jsonl$")
SEARCH_TERM = re.compile(r"(updated_at|created_at):(>=|<=|>|<)?'?([^'\s]+)'?")
SORT_KEYS = {
    "orders": ("UPDATED_AT", "CREATED_AT", "PROCESSED_AT", "ID"),
    "products": ("UPDATED_AT", "CREATED_AT", "ID", "TITLE"),
    "customers": ("UPDATED_AT", "CREATED_AT", "ID"),
}
COUNTS = {"ordersCount": "orders", "productsCount": "products", "customersCount": "customers"}
# The scope each root field needs (shopify.dev "Access scopes").
SCOPE_OF = {
    "orders": "read_orders",
    "order": "read_orders",
    "ordersCount": "read_orders",
    "refund": "read_orders",
    "products": "read_products",
    "product": "read_products",
    "productsCount": "read_products",
    "customers": "read_customers",
    "customer": "read_customers",
    "customersCount": "read_customers",
}
SCOPES = "read_orders,read_all_orders,read_products,read_customers"
MAX_QUERY_COST = 1000
# shopify.dev "API versioning": a stable version a quarter, each supported at least 12 months;
# as of December 2026, 2025-10 and older fall forward to 2026-01. 2027-01 is the release
# candidate, and `unstable` is always served.
SUPPORTED_VERSIONS = ("2026-01", "2026-04", "2026-07", "2026-10", "2027-01", "unstable")
ACCESS_TOKEN_TTL = timedelta(seconds=3600)  # "expires_in": 3600
REFRESH_TOKEN_TTL = timedelta(days=90)
INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"


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
        ">": int.__gt__,
        ">=": int.__ge__,
        "<": int.__lt__,
        "<=": int.__le__,
        "=": int.__eq__,
    }
    return all(ops[op](values[name], ts) for name, op, ts in terms)


def served_version(requested: str) -> str:
    """The version that answers: the requested one while supported, else the oldest one."""
    return requested if requested in SUPPORTED_VERSIONS else SUPPORTED_VERSIONS[0]


class ShopifyFake(FakeApp):
    """Answers Admin GraphQL queries against the merchant's shop."""

    provider = "shopify"
    max_query_cost: int | None = MAX_QUERY_COST  # None lifts Shopify's single-query limit

    def __init__(
        self,
        merchant: Merchant,
        clock: SandboxClock,
        faults: FaultPlan,
        credentials: SandboxCredentials,
    ) -> None:
        super().__init__(merchant, clock, faults)
        self.credentials = credentials
        self.shop = merchant.shop
        self.tokens = TokenStore(clock, "shpat_sandbox_")
        self.tokens.accept(credentials.shopify_access_token)
        self.refresh_tokens = TokenStore(clock, "shprt_sandbox_")
        self.codes = AuthCodes(clock, "sandbox-shopify-code-", credentials.shopify_auth_code)
        self.bucket = LeakyBucket()
        self.trust_throttled_waits = True
        self.shop_state = "active"  # "frozen" (402) | "locked" (423)
        self.denied_scopes: set[str] = set()
        self.expiring_required = True  # a public app created after 2026-04-01
        self.unit_costs: dict[str, int | None] = {}  # variant id -> current cost, in cents
        self.bulk_polls = 2  # status reads until an operation completes
        self.bulk_failure: str | None = None  # errorCode the next operations fail with
        self._bulk: dict[str, dict[str, Any]] = {}
        self._files: OrderedDict[str, bytes] = OrderedDict()
        self._bulk_serial = count(1)
        self._lock = Lock()
        self._indexes: OrderedDict[tuple[Any, ...], tuple[list[tuple[int, ...]], list[Any]]] = (
            OrderedDict()
        )

    # ---- faults -------------------------------------------------------------------------
    def fault_applies(self, kind: str, request: FakeRequest) -> bool:
        if not GRAPHQL_PATH.match(request.path):
            return False
        if kind == "short_page":
            body = request.json() or {}
            return any(
                root in str(body.get("query", "")) for root in ("orders", "products", "customers")
            )
        return True

    def render_fault(self, fault: Fault, request: FakeRequest) -> FakeResponse | None:
        p = fault.params
        if fault.kind == "auth":
            return json_response(401, {"errors": INVALID_TOKEN})
        if fault.kind == "server_error" and p.get("code") == "INTERNAL_SERVER_ERROR":
            # At HTTP 200, in errors[].extensions.code (shopify.dev "API response status and
            # error codes": "INTERNAL_SERVER_ERROR ... retry").
            return self._graphql_errors(
                [
                    GraphQLError(
                        "Internal error. Looks like something went wrong on our end.\nRequest ID: "
                        "sandbox-request (include this in support requests).",
                        "INTERNAL_SERVER_ERROR",
                        requestId="sandbox-request",
                    )
                ],
                0,
            )
        if fault.kind == "server_error":
            return json_response(int(p.get("status", 500)), {"errors": "Internal Server Error"})
        if fault.kind == "throttle":
            requested = p.get("requested", 752)
            throttle = {
                "maximumAvailable": float(p.get("maximum", 1000.0)),
                "currentlyAvailable": p.get("available", 666),
                "restoreRate": float(p.get("restore", 50.0)),
            }
            return json_response(int(p.get("http", 200)), self._throttled_body(requested, throttle))
        if fault.kind == "max_cost":
            return self._graphql_errors(
                [self._max_cost_error(int(p.get("cost", 5202)), int(p.get("max", 1000)))],
                int(p.get("cost", 5202)),
            )
        if fault.kind == "bad_request":
            return self._graphql_errors(
                [
                    GraphQLError(
                        "Field 'bogus' doesn't exist on type 'Order'",
                        "undefinedField",
                        typeName="Order",
                        fieldName="bogus",
                    )
                ],
                0,
            )
        return None

    # ---- routing ------------------------------------------------------------------------
    def handle(self, request: FakeRequest, fault: Fault | None) -> FakeResponse:
        oauth = OAUTH_PATH.match(request.path)
        if oauth and request.method == "POST":
            return self._oauth(oauth.group(1), request)
        grant = AUTHORIZE_PATH.match(request.path)
        if grant and request.method == "GET":
            return self._grant(grant.group(1), request.params)
        bulk_file = BULK_FILE_PATH.match(request.path)
        if bulk_file and request.method == "GET":
            return self._bulk_file(bulk_file.group(1))
        match = GRAPHQL_PATH.match(request.path)
        if match is None or match.group(1) != self.shop.profile.domain:
            return json_response(404, {"errors": "Not Found"})
        if request.method != "POST":
            return json_response(405, {"errors": "Method Not Allowed"})
        if not self.tokens.valid(request.headers.get("x-shopify-access-token")):
            return json_response(401, {"errors": INVALID_TOKEN})
        blocked = self._blocked()
        if blocked is not None:
            return blocked
        headers = {"x-shopify-api-version": served_version(match.group(2))}
        body = request.json()
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            return json_response(
                400, {"errors": {"query": "Required parameter missing or invalid"}}, headers
            )
        short = fault.params if fault is not None and fault.kind == "short_page" else None
        response = self._answer(body, short)
        response.headers.update(headers)
        return response

    def _blocked(self) -> FakeResponse | None:
        """A frozen shop answers 402, a locked one 423 (shopify.dev "API response status and
        error codes")."""
        if self.shop_state == "frozen":
            return json_response(402, {"errors": "Unavailable Shop"})
        if self.shop_state == "locked":
            return json_response(423, {"errors": "Locked"})
        return None

    def _answer(self, body: dict[str, Any], short: dict[str, Any] | None) -> FakeResponse:
        try:
            kind, fields = parse_operation(body["query"], body.get("variables") or {})
            requested = cost(fields, mutation=kind == "mutation")
            if self.max_query_cost is not None and requested > self.max_query_cost:
                return self._graphql_errors(
                    [self._max_cost_error(requested, self.max_query_cost)], requested
                )
            if not self.bucket.admit(requested):
                return self._throttled(requested)
            denied = self._denied(fields)
            if denied:
                self.bucket.refund(requested)
                return self._graphql_errors(denied, requested, data={f.key: None for f in fields})
            data = self._mutate(fields) if kind == "mutation" else self._execute(fields, short)
        except GraphQLError as error:
            return self._graphql_errors([error], 0)
        actual = requested if kind == "mutation" else actual_cost(fields, data)
        self.bucket.refund(requested - actual)
        return json_response(200, {"data": data, "extensions": self._cost(requested, actual)})

    def _throttled(self, requested: int) -> FakeResponse:
        status = self.bucket.status()
        if self.trust_throttled_waits:
            # A stubbed sleep (tests) or a pinned clock cannot refill a bucket by waiting: a
            # throttled client is taken to wait exactly what it was told.
            self.bucket.advance(self.bucket.wait_for(requested))
        return json_response(200, self._throttled_body(requested, status))

    @staticmethod
    def _throttled_body(requested: int, status: dict[str, Any]) -> dict[str, Any]:
        return {
            "errors": [
                {
                    "message": "Throttled",
                    "extensions": {
                        "code": "THROTTLED",
                        "documentation": "https://shopify.dev/api/usage/rate-limits",
                    },
                }
            ],
            "extensions": {
                "cost": {
                    "requestedQueryCost": requested,
                    "actualQueryCost": None,
                    "throttleStatus": status,
                }
            },
        }

    def _denied(self, fields: list[Field]) -> list[GraphQLError]:
        """ACCESS_DENIED for each root field whose scope the app was not granted."""
        errors = []
        for fld in fields:
            scope = SCOPE_OF.get(fld.name)
            if scope in self.denied_scopes:
                errors.append(
                    GraphQLError(
                        f"Access denied for {fld.name} field. Required access: `{scope}` access "
                        "scope.",
                        "ACCESS_DENIED",
                        path=[fld.key],
                        documentation="https://shopify.dev/api/usage/access-scopes",
                        requiredAccess=f"`{scope}` access scope.",
                    )
                )
        return errors

    def _cost(self, requested: int, actual: int | None) -> dict[str, Any]:
        return {
            "cost": {
                "requestedQueryCost": requested,
                "actualQueryCost": actual,
                "throttleStatus": self.bucket.status(),
            }
        }

    def _graphql_errors(
        self, errors: list[GraphQLError], requested: int, data: dict[str, Any] | None = None
    ) -> FakeResponse:
        payload: dict[str, Any] = {"errors": [e.as_dict() for e in errors]}
        if data is not None:
            payload["data"] = data
        payload["extensions"] = self._cost(requested, None)
        return json_response(200, payload)

    @staticmethod
    def _max_cost_error(requested: int, maximum: int) -> GraphQLError:
        return GraphQLError(
            f"Query cost is {requested}, which exceeds the single query max "
            f"cost limit ({maximum}).",
            "MAX_COST_EXCEEDED",
            cost=requested,
            maxCost=maximum,
        )

    # ---- execution ----------------------------------------------------------------------
    def _execute(self, fields: list[Field], short: dict[str, Any] | None) -> dict[str, Any]:
        as_of = self.clock.now().replace(microsecond=0)  # Shopify times have whole seconds
        data: dict[str, Any] = {}
        for fld in fields:
            if fld.name == "shop":
                value: Any = shop_node(self.shop)
            elif fld.name in SORT_KEYS:
                value = self._connection(fld, as_of, short)
            elif fld.name in ("order", "refund", "product", "customer"):
                value = self._node(fld.name, str(fld.args.get("id")), as_of)
            elif fld.name in COUNTS:
                value = self._count(COUNTS[fld.name], fld.args, as_of)
            elif fld.name in ("bulkOperation", "currentBulkOperation"):
                value = self._bulk_status(fld.args.get("id"))
            else:
                raise GraphQLError(
                    f"Field '{fld.name}' doesn't exist on type 'QueryRoot'",
                    "undefinedField",
                    typeName="QueryRoot",
                    fieldName=fld.name,
                )
            if fld.selections is not None:
                value = project(value, fld, "QueryRoot")
            data[fld.key] = value
        return data

    def _node(self, kind: str, gid: str, as_of: datetime) -> dict[str, Any] | None:
        currency = self.shop.profile.currency
        if kind == "order":
            order = self.shop.order(gid, as_of)
            return order_node(order, self.shop, as_of, self.unit_costs) if order else None
        if kind == "refund":
            found = self.shop.refund(gid, as_of)
            return refund_node(found[1], currency) if found else None
        if kind == "product":
            product = self.shop.product(gid)
            return product_node(product, currency, as_of, self.unit_costs) if product else None
        customer = self.shop.customer(gid)
        if customer is None or customer.created_at > as_of:
            return None
        return customer_node(customer, as_of, currency)

    def _count(self, kind: str, args: dict[str, Any], as_of: datetime) -> dict[str, Any]:
        """ordersCount & co: exact up to `limit` (default 10,000), then AT_LEAST."""
        keys, _ = self._index(kind, as_of, _search(args.get("query")), "ID", False)
        limit = args.get("limit", 10_000)
        capped = limit is not None and len(keys) > int(limit)
        return {
            "__typename": "Count",
            "count": int(limit) if capped else len(keys),
            "precision": "AT_LEAST" if capped else "EXACT",
        }

    def _connection(
        self,
        fld: Field,
        as_of: datetime,
        short: dict[str, Any] | None,
    ) -> dict[str, Any]:
        args = fld.args
        first = page_size(first_arg(args), short)
        keys, items = self._index(
            fld.name,
            as_of,
            _search(args.get("query")),
            self._sort_key(fld),
            bool(args.get("reverse")),
        )
        try:
            after = decode_cursor(args.get("after"))
        except ValueError as exc:
            raise GraphQLError("Invalid cursor for the after argument", "argumentError") from exc
        start = bisect_right(keys, tuple(after)) if after is not None else 0
        chunk = list(range(start, min(start + first, len(keys))))
        render = self._renderer(fld.name, as_of)
        entries = [(list(keys[i]), render(items[i])) for i in chunk]
        return connection_page(
            entries, has_next=start + len(chunk) < len(keys), has_previous=start > 0
        )

    @staticmethod
    def _sort_key(fld: Field) -> str:
        sort_key = str(fld.args.get("sortKey", "ID"))
        if sort_key not in SORT_KEYS[fld.name]:
            raise GraphQLError(
                f"Argument 'sortKey' on Field '{fld.name}' has an invalid value ({sort_key}).",
                "argumentLiteralsIncompatible",
            )
        return sort_key

    def _renderer(self, kind: str, as_of: datetime) -> Callable[[Any], dict[str, Any]]:
        currency = self.shop.profile.currency
        if kind == "orders":
            return lambda o: order_node(o, self.shop, as_of, self.unit_costs)
        if kind == "products":
            return lambda p: product_node(p, currency, as_of, self.unit_costs)
        return lambda c: customer_node(c, as_of, currency)

    def _index(
        self,
        kind: str,
        as_of: datetime,
        terms: tuple[tuple[str, str, int], ...],
        sort_key: str,
        reverse: bool,
    ) -> tuple[list[tuple[int, ...]], list[Any]]:
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
            primary = {
                "UPDATED_AT": updated,
                "CREATED_AT": created,
                "PROCESSED_AT": created,
                "ID": ident,
                "TITLE": title,
            }[sort_key]
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
            return [
                (o, _ts(o.created_at), _ts(o.updated_at(as_of)), 0)
                for o in self.shop.orders_until(as_of)
            ]
        if kind == "customers":
            return [
                (c, _ts(c.created_at), _ts(c.updated_at(as_of)), 0)
                for c in self.shop.customers_until(as_of)
            ]
        titles = {
            p.external_id: i
            for i, p in enumerate(sorted(self.shop.products, key=lambda p: p.title))
        }
        return [
            (
                p,
                _ts(p.created_at),
                _ts(p.updated_at if p.updated_at <= as_of else p.created_at),
                titles[p.external_id],
            )
            for p in self.shop.products
            if p.created_at <= as_of
        ]

    # ---- bulk operations ----------------------------------------------------------------
    def _mutate(self, fields: list[Field]) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for fld in fields:
            if fld.name != "bulkOperationRunQuery":
                raise GraphQLError(
                    f"Field '{fld.name}' doesn't exist on type 'Mutation'",
                    "undefinedField",
                    typeName="Mutation",
                    fieldName=fld.name,
                )
            value = self._bulk_run(str(fld.args.get("query") or ""))
            data[fld.key] = project(value, fld, "Mutation") if fld.selections else value
        return data

    def _bulk_run(self, text: str) -> dict[str, Any]:
        """Start an operation; its JSONL is the shop as of now, served once it completes."""
        try:
            fields = parse(text)
            lines = self._bulk_lines(fields)
        except GraphQLError as error:
            return {
                "bulkOperation": None,
                "userErrors": [
                    {"__typename": "UserError", "field": ["query"], "message": error.message}
                ],
            }
        number = next(self._bulk_serial)
        gid = f"gid://shopify/BulkOperation/{7000000 + number}"
        body = b"".join(json.dumps(line, separators=(",", ":")).encode() + b"\n" for line in lines)
        operation = {
            "__typename": "BulkOperation",
            "id": gid,
            "status": "CREATED",
            "type": "QUERY",
            "query": text,
            "errorCode": None,
            "createdAt": iso(self.clock.now()),
            "completedAt": None,
            "objectCount": "0",
            "rootObjectCount": "0",
            "fileSize": None,
            "url": None,
            "partialDataUrl": None,
            "_lines": lines,
            "_body": body,
            "_polls": 0,
            "_denied": [
                SCOPE_OF.get(f.name) for f in fields if SCOPE_OF.get(f.name) in self.denied_scopes
            ],
        }
        with self._lock:
            self._bulk[gid] = operation
            self._bulk["current"] = operation
        return {"bulkOperation": self._public(operation), "userErrors": []}

    def _bulk_lines(self, fields: list[Field]) -> list[dict[str, Any]]:
        """The JSONL objects of a bulk query: one root connection, at most five connections
        nested at most two levels below it (shopify.dev bulk operations, "Limitations")."""
        if len(fields) != 1 or fields[0].name not in SORT_KEYS:
            raise GraphQLError(
                "Bulk queries must contain exactly one top-level connection "
                "(orders, products or customers in the sandbox)",
                "bulkQueryInvalid",
            )
        root = fields[0]
        connections, depth = connection_depth(fields)
        if connections > 5 or depth > 3:
            raise GraphQLError(
                "Bulk queries allow at most five connections, nested at most two levels deep",
                "bulkQueryInvalid",
            )
        if connection_in_list(fields):  # the userError Shopify answers (Order.refunds is a
            # list: its refundLineItems & co. can be read by pages only)
            raise GraphQLError(
                "Queries that contain a connection field within a list field "
                "are not currently supported.",
                "bulkQueryInvalid",
            )
        as_of = self.clock.now().replace(microsecond=0)
        _, items = self._index(
            root.name,
            as_of,
            _search(root.args.get("query")),
            self._sort_key(root),
            bool(root.args.get("reverse")),
        )
        edges = root.child("edges")
        selection = root.child("nodes") or (edges.child("node") if edges else None)
        if selection is None:
            raise GraphQLError("Bulk queries need `edges { node }` or `nodes`", "bulkQueryInvalid")
        render = self._renderer(root.name, as_of)
        return [line for item in items for line in bulk_lines(render(item), selection)]

    def _bulk_status(self, gid: Any) -> dict[str, Any] | None:
        """Each read moves an operation on: CREATED -> RUNNING -> ... -> COMPLETED."""
        with self._lock:
            operation = self._bulk.get(str(gid) if gid else "current")
            if operation is None:
                return None
            if operation["status"] in ("CREATED", "RUNNING"):
                operation["_polls"] += 1
                operation["status"] = "RUNNING"
                if operation["_polls"] >= self.bulk_polls:
                    self._finish(operation)
            return self._public(operation)

    def _finish(self, operation: dict[str, Any]) -> None:
        failure = "ACCESS_DENIED" if operation["_denied"] else self.bulk_failure
        operation["completedAt"] = iso(self.clock.now())
        if failure:
            operation.update(status="FAILED", errorCode=failure)
            return
        lines = operation["_lines"]
        operation.update(
            status="COMPLETED",
            objectCount=str(len(lines)),
            rootObjectCount=str(sum("__parentId" not in x for x in lines)),
            fileSize=str(len(operation["_body"])),
        )
        if lines:  # no objects, no file: `url` stays null
            name = secrets.token_urlsafe(12)
            self._files[name] = operation["_body"]
            while len(self._files) > 20:
                self._files.popitem(last=False)
            operation["url"] = f"{self.base_url}/bulk/{name}.jsonl"

    @staticmethod
    def _public(operation: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in operation.items() if not k.startswith("_")}

    def _bulk_file(self, name: str) -> FakeResponse:
        """The result file, as pre-signed storage serves it: no Shopify token needed."""
        with self._lock:
            body = self._files.get(name)
        if body is None:
            return FakeResponse(404, b"NoSuchKey", {"content-type": "application/xml"})
        return FakeResponse(200, body, {"content-type": "application/jsonl"})

    # ---- oauth --------------------------------------------------------------------------
    def _oauth(self, shop: str, request: FakeRequest) -> FakeResponse:
        c = self.credentials
        params = request.json() if "json" in request.headers.get("content-type", "") else None
        params = params if isinstance(params, dict) else request.params
        if shop != self.shop.profile.domain:
            return json_response(404, {"errors": "Not Found"})
        if (
            params.get("client_id") != c.shopify_client_id
            or params.get("client_secret") != c.shopify_client_secret
        ):
            return json_response(
                400,
                {"error": "invalid_client", "error_description": "Client credentials are invalid"},
            )
        if params.get("grant_type") == "refresh_token":
            return self._refresh(params.get("refresh_token"))
        if self.codes.redeem(params.get("code"), self.code_binding(shop)) != "ok":
            return json_response(
                400,
                {
                    "error": "invalid_request",
                    "error_description": "The authorization code was not found or was already used",
                },
            )
        expiring = str(params.get("expiring", "0")) == "1" or self.expiring_required
        if not expiring:
            return json_response(200, {"access_token": self.tokens.issue(), "scope": SCOPES})
        return self._expiring_grant()

    def _expiring_grant(self) -> FakeResponse:
        return json_response(
            200,
            {
                "access_token": self.tokens.issue(ACCESS_TOKEN_TTL),
                "scope": SCOPES,
                "expires_in": int(ACCESS_TOKEN_TTL.total_seconds()),
                "refresh_token": self.refresh_tokens.issue(REFRESH_TOKEN_TTL),
                "refresh_token_expires_in": int(REFRESH_TOKEN_TTL.total_seconds()),
            },
        )

    def _refresh(self, token: str | None) -> FakeResponse:
        """A new pair for a live refresh token, which is used up: refresh tokens rotate."""
        if not self.refresh_tokens.valid(token):
            return json_response(
                400,
                {
                    "error": "invalid_grant",
                    "error_description": "The refresh token is invalid, expired or already used",
                },
            )
        self.refresh_tokens.revoke(token)
        return self._expiring_grant()

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
            return json_response(
                400,
                {
                    "errors": "Oauth error invalid_request: The "
                    "redirect_uri and application url must have "
                    "matching hosts"
                },
            )
        answer = {
            "code": self.codes.issue(self.code_binding(shop)),
            "host": base64.b64encode(f"{shop}/admin".encode()).decode(),
            "shop": shop,
            "state": params.get("state", ""),
            "timestamp": str(int(self.clock.now().timestamp())),
        }
        message = "&".join(f"{k}={v}" for k, v in sorted(answer.items()))
        answer["hmac"] = hmac.new(
            self.credentials.shopify_client_secret.encode(), message.encode(), hashlib.sha256
        ).hexdigest()
        return redirect_back(redirect_uri, answer)
