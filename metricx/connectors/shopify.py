"""Shopify Admin GraphQL client: shop, orders (with journeys), products (with COGS), customers.

Incremental by updated_at, sorted by UPDATED_AT. Small reads are paged by endCursor; page sizes
are chosen before sending so every query costs at most 1,000 points (shopify_cost), and each
query waits until the bucket holds its cost (throttleStatus pacing), so THROTTLED is rare and,
when it comes, waited out exactly. A first sync or a backfill larger than `bulk_threshold`
(measured with the root's count query) runs as one bulk operation instead of hundreds of pages
(shopify_bulk). Nested lists longer than a page (line items, refunds, variants) are completed
with follow-up queries. What each refund gave back (its lines' subtotals and tax, shipping,
order adjustments) sits in connections inside the Order.refunds list, which a bulk query
refuses: the orders that have refunds get them split by follow-up queries, several orders a
query, on either path (`_split_refunds`).

Shopify answers problems in three places: the HTTP status (401 token, 402 shop frozen, 423
shop locked), `errors[].extensions.code` at HTTP 200 (THROTTLED, MAX_COST_EXCEEDED,
INTERNAL_SERVER_ERROR, ACCESS_DENIED), and the `X-Shopify-API-Version` header, which names the
version that actually answered: a version past support "falls forward" to the oldest supported
one (shopify.dev "API versioning"), and we refuse data read under semantics we did not ask for.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import islice
from typing import Any

import httpx

from metricx.connectors import shopify_bulk
from metricx.connectors.errors import (
    AccountBlockedError,
    AuthError,
    InvalidRequestError,
    MalformedResponseError,
    RateLimitedError,
    TransientError,
    VersionExpiredError,
)
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
    RefundLineRecord,
    RefundRecord,
    ShopInfo,
    VariantRecord,
    VisitRecord,
)
from metricx.connectors.shopify_auth import (
    REFRESH_MARGIN,
    ShopifyGrant,
    refresh_form,
    request_grant,
    token_url,
)
from metricx.connectors.shopify_cost import MAX_QUERY_COST, Pacer, Query, largest_first
from metricx.connectors.shopify_queries import (
    CUSTOMERS,
    ORDERS,
    PRODUCTS,
    REFUND_PARTS,
    SHOP,
    Resource,
    refund_rest,
    refunds_of,
)
from metricx.connectors.values import decimal, integer
from metricx.connectors.versions import DEFAULT_VERSIONS

PROVIDER = "shopify"
DEFAULT_TEMPLATE = "https://{shop}/admin/api/{version}/graphql.json"
# Reads counted above this run as a bulk operation. A page holds 15 orders and, once the
# 2,000-point bucket is spent, the standard plan's 100 points/s lets one through every ~5 s
# (about 3 orders/s); a bulk query costs 10 points and a few polls whatever its size, but
# Shopify queues it for seconds to minutes. Below ~500 orders pages end about as soon and
# start at once. Measured on the demo shop (180 days: 26,160 orders, 19,076 customers):
# pages 1,824 requests and 4.7 h of waiting on the bucket; bulk 12 requests, 2 downloads.
# Either way the ~1,800 orders with refunds then have them split (`_split_refunds`): about
# 190 queries and 37,000 points, 6 minutes of the standard plan's bucket.
BULK_THRESHOLD = 500
# A sync whose high-water mark is younger than this reads pages without counting first: the
# 15-minute schedule never pays for the count query.
COUNT_AFTER = timedelta(hours=1)
COUNT_PRECISIONS = frozenset({"EXACT", "AT_LEAST"})
THROTTLE_RETRY_LIMIT = 5

OnRefresh = Callable[[ShopifyGrant], None]
# Orders read before their refunds are split (the sync's page), and orders whose refunds are
# split per follow-up query (at most: the cost limit may take fewer).
SPLIT_CHUNK = 250
MAX_ALIASES = 50
# The parts of a refund asked for at first (more come by follow-ups): its lines (no more
# than the order has), shipping lines and order adjustments (rarely more than one).
ITEMS_PAGE = 10
PART_PAGE = {"shipping": 2, "adjustments": 2}


def _line_count(order: dict[str, Any]) -> int:
    return len((order.get("lineItems") or {}).get("nodes") or ())


def _refund_sizes(orders: int, lines: int, refunds: int) -> dict[str, int] | None:
    """Sizes for `refunds_of(orders)` holding `refunds` refunds an order, whose longest line
    list is `lines` long (a refund's lines beyond ITEMS_PAGE come by follow-ups), or None when
    that costs more than MAX_QUERY_COST."""
    sizes = {"items": max(1, min(lines, ITEMS_PAGE)), **PART_PAGE, "refunds": refunds}
    return sizes if refunds_of(orders).cost(sizes) <= MAX_QUERY_COST else None


def _most_refunds(lines: int) -> dict[str, int]:
    """Sizes for `refunds_of(1)` holding as many refunds as one query can."""
    sizes = {"items": max(1, min(lines, ITEMS_PAGE)), **PART_PAGE}
    query = refunds_of(1)
    return {**sizes, "refunds": largest_first(lambda n: query.cost({**sizes, "refunds": n}))}


class _TooCostly(Exception):
    """MAX_COST_EXCEEDED: the same query with smaller pages will pass."""

    def __init__(self, cost: int, maximum: int) -> None:
        super().__init__(f"query cost {cost} > {maximum}")
        self.cost, self.maximum = cost, maximum


def _access_denied(errors: list[dict[str, Any]]) -> AccountBlockedError:
    first = errors[0]
    required = (first.get("extensions") or {}).get("requiredAccess")
    where = ".".join(str(p) for p in first.get("path") or ()) or "the data"
    need = f" ({required})" if required else ""
    return AccountBlockedError(
        PROVIDER,
        f"Shopify denied access to {where}{need}: the merchant must approve the app's "
        "access scopes (reinstall the app from Connections), and customer fields need the "
        "app's protected customer data access approved by Shopify",
        status=200,
        code="ACCESS_DENIED",
    )


def _classify_errors(body: dict[str, Any], requested: int) -> None:
    """Raise for a GraphQL `errors` answer (which Shopify sends with HTTP 200)."""
    errors = body.get("errors")
    if not errors:
        return
    if not isinstance(errors, list):
        raise InvalidRequestError(PROVIDER, f"Shopify rejected the request: {errors}")
    errors = [e for e in errors if isinstance(e, dict)]
    codes = {(e.get("extensions") or {}).get("code") for e in errors}
    if "THROTTLED" in codes:
        raise _throttled(body, requested)
    if "MAX_COST_EXCEEDED" in codes:
        ext = next(
            e.get("extensions") or {}
            for e in errors
            if (e.get("extensions") or {}).get("code") == "MAX_COST_EXCEEDED"
        )
        raise _TooCostly(int(ext.get("cost") or requested), int(ext.get("maxCost") or 1000))
    if "INTERNAL_SERVER_ERROR" in codes:
        raise TransientError(
            PROVIDER,
            "Shopify had an internal error answering the query (INTERNAL_SERVER_ERROR); will retry",
            status=200,
            code="INTERNAL_SERVER_ERROR",
        )
    if "ACCESS_DENIED" in codes:
        raise _access_denied(
            [e for e in errors if (e.get("extensions") or {}).get("code") == "ACCESS_DENIED"]
        )
    messages = "; ".join(str(e.get("message")) for e in errors) or str(errors)
    raise InvalidRequestError(
        PROVIDER,
        f"Shopify rejected the query: {messages}",
        status=200,
        code=next(iter(codes - {None}), None),
    )


def _throttled(body: dict[str, Any], requested: int) -> Exception:
    """THROTTLED: wait (requested - currentlyAvailable) / restoreRate, exactly."""
    cost = (body.get("extensions") or {}).get("cost") or {}
    status = cost.get("throttleStatus") or {}
    need = float(cost.get("requestedQueryCost") or requested)
    available = float(status.get("currentlyAvailable") or 0)
    restore = float(status.get("restoreRate") or 0) or 1.0
    wait = round(max(need - available, 0.0) / restore, 3) or 0.001
    return rate_limited(PROVIDER, "THROTTLED", wait, status=200, code="THROTTLED")


def _http_error(response: httpx.Response, shop: str) -> Exception | None:
    """The error an HTTP status stands for (None when the body must be read)."""
    status = response.status_code
    if status in (401, 403):
        return AuthError(
            PROVIDER,
            f"Shopify rejected the access token (HTTP {status}); reinstall the app on the shop",
            status=status,
        )
    if status == 402:
        # shopify.dev "API response status and error codes": 402 = the shop is frozen.
        return AccountBlockedError(
            PROVIDER,
            f"Shopify has frozen {shop} for an unpaid bill "
            "(HTTP 402): the merchant must pay the outstanding balance "
            "in the Shopify admin to unfreeze the shop",
            status=402,
        )
    if status == 423:
        return AccountBlockedError(
            PROVIDER,
            f"Shopify has locked {shop} (HTTP 423): the "
            "merchant must contact Shopify Support to unlock the shop",
            status=423,
        )
    if status == 429:
        return rate_limited(PROVIDER, "HTTP 429", retry_after_header(response) or 2.0, status=429)
    if status >= 500:
        return server_error(PROVIDER, response)
    if status >= 400:
        return InvalidRequestError(
            PROVIDER, f"Shopify answered HTTP {status} for {shop}", status=status
        )
    return None


def admin_base(shop_domain: str, url_template: str = DEFAULT_TEMPLATE) -> str:
    """The shop's admin root (`https://{shop}`), derived from the GraphQL URL template so a
    template pointed at the sandbox points the OAuth endpoints there too."""
    return url_template.split("/admin/api/", 1)[0].format(shop=shop_domain)


class ShopifyClient(BaseClient):
    """Reads one shop with an Admin API access token; money in the shop currency.

    An expiring offline token comes with `refresh_token`, `access_expires_at` and the app's
    credentials; the client refreshes it REFRESH_MARGIN before expiry (or on a 401) and hands
    the rotated pair to `on_refresh` before using it, so the caller can persist it first.
    `requests_made` counts HTTP calls to the GraphQL endpoint (`downloads_made` bulk files).

    `page_size` caps the nodes per page (the cost limit usually decides first);
    `inner_page_size` replaces the default sizes of nested lists; `bulk_threshold=None` never
    uses bulk. `clock` (seconds) paces on the bucket, `now` judges token expiry and the age of
    a high-water mark; tests inject both, and `sleep`.
    """

    provider = PROVIDER

    def __init__(
        self,
        shop_domain: str,
        access_token: str,
        *,
        url_template: str = DEFAULT_TEMPLATE,
        api_version: str = DEFAULT_VERSIONS["shopify"],
        refresh_token: str | None = None,
        access_expires_at: datetime | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        on_refresh: OnRefresh | None = None,
        page_size: int = 250,
        inner_page_size: int | None = None,
        bulk_threshold: int | None = BULK_THRESHOLD,
        bulk_policy: shopify_bulk.BulkPolicy | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        sleep: Sleep | None = None,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__(
            timeout=timeout,
            retry=retry,
            sleep=sleep,
            transport=transport,
            headers={"X-Shopify-Access-Token": access_token},
        )
        self.shop_domain = shop_domain
        self.api_version = api_version
        self.url = url_template.format(shop=shop_domain, version=api_version)
        self.admin_root = admin_base(shop_domain, url_template)
        self.refresh_token = refresh_token
        self.access_expires_at = access_expires_at
        self.client_id, self.client_secret = client_id, client_secret
        self.on_refresh = on_refresh
        self.page_size = page_size
        self.inner_page_size = inner_page_size
        self.bulk_threshold = bulk_threshold
        self.bulk_policy = bulk_policy or shopify_bulk.BulkPolicy()
        self.now = now or (lambda: datetime.now(UTC))
        self.pacer = Pacer(clock)
        self.requests_made = 0
        self.downloads_made = 0
        self._timeout, self._transport = timeout, transport
        self._downloads: HttpSession | None = None
        self._first: dict[str, int] = {}  # page sizes learnt from MAX_COST_EXCEEDED

    # ---- public API ---------------------------------------------------------------------
    def shop_info(self) -> ShopInfo:
        shop: Any = self._graphql(SHOP, {}).get("shop")
        expect(
            PROVIDER,
            isinstance(shop, dict) and "currencyCode" in shop and "ianaTimezone" in shop,
            "shop (currencyCode, ianaTimezone)",
        )
        return ShopInfo(
            str(shop.get("myshopifyDomain") or self.shop_domain),
            str(shop.get("name") or ""),
            str(shop["currencyCode"]),
            str(shop["ianaTimezone"]),
        )

    def orders(self, updated_since: datetime | None = None) -> Iterator[OrderRecord]:
        """Orders updated at or after `updated_since` (all when None), oldest update first,
        their refunds split (`_split_refunds`, SPLIT_CHUNK orders at a time)."""
        nodes = self._read(ORDERS, updated_since)
        while chunk := list(islice(nodes, SPLIT_CHUNK)):
            self._split_refunds(chunk)
            for node in chunk:
                yield _order(node)

    def products(self, updated_since: datetime | None = None) -> Iterator[ProductRecord]:
        for node in self._read(PRODUCTS, updated_since):
            yield _product(node)

    def customers(self, updated_since: datetime | None = None) -> Iterator[CustomerRecord]:
        for node in self._read(CUSTOMERS, updated_since):
            yield _customer(node)

    def refresh(self) -> ShopifyGrant:
        """Trade the refresh token for a new pair; the old refresh token is used up."""
        if not self.refresh_token:
            raise AuthError(
                PROVIDER,
                "The Shopify access token expired and there is no refresh "
                "token; reinstall the app on the shop",
            )
        form = refresh_form(self.refresh_token, self.client_id, self.client_secret)
        grant = self._retrying(
            lambda: request_grant(
                self.http, token_url(self.admin_root), form, self.now, "refresh token"
            )
        )
        # Persist first: if saving fails we never use the new pair, and Shopify keeps the old
        # refresh token valid until its replacement is used (changelog 2026-08-28).
        if self.on_refresh is not None:
            self.on_refresh(grant)
        self.refresh_token = grant.refresh_token or self.refresh_token
        self.access_expires_at = grant.expires_at
        self.http.client.headers["X-Shopify-Access-Token"] = grant.access_token
        return grant

    @staticmethod
    def exchange_code(
        shop_domain: str,
        code: str,
        *,
        client_id: str,
        client_secret: str,
        url_template: str = DEFAULT_TEMPLATE,
        timeout: float = 30.0,
        expiring: bool = True,
        transport: httpx.BaseTransport | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> ShopifyGrant:
        """OAuth install: trade the `code` from the redirect for an offline access token,
        expiring (with a refresh token) unless `expiring` is False."""
        session = HttpSession(PROVIDER, timeout=timeout, transport=transport)
        form = {"client_id": client_id, "client_secret": client_secret, "code": code}
        if expiring:
            form["expiring"] = "1"
        try:
            return request_grant(
                session,
                token_url(admin_base(shop_domain, url_template)),
                form,
                now or (lambda: datetime.now(UTC)),
                "install code",
            )
        finally:
            session.close()

    def close(self) -> None:
        if self._downloads is not None:
            self._downloads.close()
        super().close()

    # ---- transport ----------------------------------------------------------------------
    def _graphql(self, query: Query, variables: dict[str, Any]) -> dict[str, Any]:
        requested = query.cost(variables)
        refreshed = False

        def attempt() -> dict[str, Any]:
            nonlocal refreshed
            self._fresh_token()
            self._pace(requested)
            try:
                return self._send(query.text, variables, requested)
            except AuthError:
                # An access token may die before its announced expiry (revoked, clock skew):
                # one refresh, then the same query again.
                if refreshed or not self.refresh_token:
                    raise
                refreshed = True
                self.refresh()
                return self._send(query.text, variables, requested)

        return self._retrying(attempt)

    def _fresh_token(self) -> None:
        if self.access_expires_at is None or not self.refresh_token:
            return
        if self.now() >= self.access_expires_at - REFRESH_MARGIN:
            self.refresh()

    def _pace(self, requested: int) -> None:
        wait = self.pacer.wait_before(requested)
        if wait > self.retry.max_wait:  # a stranger bucket than any plan has: leave it to RQ
            raise rate_limited(PROVIDER, "bucket nearly empty", wait)
        if wait > 0:
            self.sleep(wait)

    def _send(self, text: str, variables: dict[str, Any], requested: int) -> dict[str, Any]:
        self.requests_made += 1
        response = self.http.request("POST", self.url, json={"query": text, "variables": variables})
        error = _http_error(response, self.shop_domain)
        if error is not None:
            raise error
        self._check_version(response)
        body = parse_json(PROVIDER, response)
        expect(PROVIDER, isinstance(body, dict), "GraphQL response object")
        self.pacer.observe(((body.get("extensions") or {}).get("cost") or {}).get("throttleStatus"))
        try:
            _classify_errors(body, requested)
        except RateLimitedError:
            # THROTTLED: the retry sleeps exactly the announced wait, after which the bucket
            # holds the query's cost; pacing must not wait for it a second time.
            self.pacer.refilled_to(requested)
            raise
        expect(PROVIDER, isinstance(body.get("data"), dict), "data")
        return body["data"]

    def _check_version(self, response: httpx.Response) -> None:
        served = response.headers.get("x-shopify-api-version")
        if served and served != self.api_version:
            raise VersionExpiredError(
                PROVIDER,
                f"Shopify answered with API version {served} instead of "
                f"{self.api_version}, which is past its support; set SHOPIFY_API_VERSION to a "
                f"supported version (default {DEFAULT_VERSIONS['shopify']})",
                status=200,
                code="version_fell_forward",
            )

    # ---- reading a resource -------------------------------------------------------------
    def _read(self, resource: Resource, since: datetime | None) -> Iterator[dict[str, Any]]:
        search = None if since is None else f"updated_at:>='{_search_time(since)}'"
        if self._bulk_pays(resource, since, search):
            yield from self._bulk(resource, search)
        else:
            yield from self._pages(resource, search)

    def _bulk_pays(
        self,
        resource: Resource,
        since: datetime | None,
        search: str | None,
    ) -> bool:
        """A read counted above the threshold goes through bulk: a first sync or a backfill
        of a big shop, not a small shop's (pages start at once and end about as soon)."""
        if self.bulk_threshold is None:
            return False
        if since is not None and self.now() - since < COUNT_AFTER:
            return False
        return self._count(resource, search) > self.bulk_threshold

    def _count(self, resource: Resource, search: str | None) -> int:
        data: Any = self._graphql(resource.count_query(), {"q": search}).get(resource.count)
        expect(PROVIDER, isinstance(data, dict) and "count" in data, resource.count)
        if data.get("precision") not in COUNT_PRECISIONS:
            raise MalformedResponseError(
                PROVIDER, f"Shopify sent an unknown count precision {data.get('precision')!r}"
            )
        return integer(PROVIDER, data["count"], f"{resource.count}.count")

    def _bulk(self, resource: Resource, search: str | None) -> Iterator[dict[str, Any]]:
        operation = shopify_bulk.start(self._graphql, resource.bulk_text(search))
        url = shopify_bulk.wait(self._graphql, operation, self.bulk_policy, self.sleep)
        if url is None:
            return
        if self._downloads is None:
            self._downloads = HttpSession(
                PROVIDER, timeout=self._timeout, transport=self._transport
            )
        self.downloads_made += 1
        nodes = shopify_bulk.rebuild(shopify_bulk.download(self._downloads, url), resource.nested)
        # Bulk files come in no promised order; the sync's high-water mark needs oldest first.
        nodes.sort(key=lambda n: (_req_time(n.get("updatedAt"), "updatedAt"), str(n["id"])))
        yield from nodes

    def _inner(self, resource: Resource) -> dict[str, int]:
        if self.inner_page_size is None:
            return dict(resource.inner)
        return {name: self.inner_page_size for name in resource.inner}

    def _pages(self, resource: Resource, search: str | None) -> Iterator[dict[str, Any]]:
        """Every node of a root connection, nested lists completed."""
        query, inner, root = resource.page_query(), self._inner(resource), resource.root
        first = self._first.get(root) or resource.page_size(inner, MAX_QUERY_COST, self.page_size)
        if first < 1:
            raise InvalidRequestError(
                PROVIDER,
                f"even one {resource.single} costs more than "
                f"{MAX_QUERY_COST} points with nested pages {inner}",
            )
        cursor: str | None = None
        while True:
            variables = {"first": first, "cursor": cursor, "q": search, **inner}
            try:
                connection: Any = self._graphql(query, variables).get(root)

            except _TooCostly as too:  # our price was lower than Shopify's: learn and shrink
                if first == 1:
                    raise InvalidRequestError(
                        PROVIDER,
                        f"Shopify prices even a one-{resource.single} page above its limit ({too})",
                    ) from None
                first = max(1, min(first // 2, first * too.maximum // max(too.cost, 1)))
                self._first[root] = first
                continue
            expect(
                PROVIDER,
                isinstance(connection, dict)
                and isinstance(connection.get("nodes"), list)
                and isinstance(connection.get("pageInfo"), dict),
                f"{root} connection",
            )
            for item in connection["nodes"]:
                expect(PROVIDER, isinstance(item, dict) and "id" in item, f"{root} node id")
                self._complete(resource, item, inner)
                yield item
            info = connection["pageInfo"]
            if not info.get("hasNextPage"):
                return
            cursor = info.get("endCursor")
            expect(PROVIDER, bool(cursor), "pageInfo.endCursor")

    def _complete(self, resource: Resource, item: dict[str, Any], inner: dict[str, int]) -> None:
        """Fetch what a page cut off: the rest of a nested connection, and an order's refunds
        when the list came back full (a plain list has no cursor to tell us): read again,
        split, as many as one query holds."""
        if resource.nested:
            self._complete_nested(resource, item)
        refunds = item.get("refunds")
        if "refunds" in inner and isinstance(refunds, list) and len(refunds) >= inner["refunds"]:
            self._read_refunds([item], _most_refunds(_line_count(item)))

    def _split_refunds(self, orders: list[dict[str, Any]]) -> None:
        """Give the orders whose refunds are not split yet their split refunds (REFUND_PARTS,
        `refunds_of`), several orders a query within the cost limit."""
        batch: list[dict[str, Any]] = []
        sizes: dict[str, int] = {}
        for order in orders:
            refunds = order.get("refunds")
            expect(PROVIDER, isinstance(refunds, list), "order refunds")
            if not refunds or all("refundLineItems" in r for r in refunds):
                continue
            lines = _line_count(order)
            wanted = max(len(refunds), sizes.get("refunds", 0))
            fitting = _refund_sizes(len(batch) + 1, max(lines, sizes.get("items", 0)), wanted)
            if batch and (fitting is None or len(batch) == MAX_ALIASES):
                self._read_refunds(batch, sizes)
                batch, fitting = [], _refund_sizes(1, lines, len(refunds))
            if fitting is None:  # more refunds than one query holds: as many as it holds
                self._read_refunds([order], _most_refunds(lines))
                continue
            batch.append(order)
            sizes = fitting
        if batch:
            self._read_refunds(batch, sizes)

    def _read_refunds(self, orders: list[dict[str, Any]], sizes: dict[str, int]) -> None:
        """Read the split refunds of `orders` in one query; refunds it could not hold (a
        list longer than `sizes` allows) keep what the order's page said of them."""
        data = self._graphql(
            refunds_of(len(orders)),
            {**{f"id{i}": order["id"] for i, order in enumerate(orders)}, **sizes},
        )
        for i, order in enumerate(orders):
            found = data.get(f"o{i}")
            if found is None:  # deleted since it was listed: its refunds stay as listed
                continue
            expect(
                PROVIDER,
                isinstance(found, dict) and isinstance(found.get("refunds"), list),
                "order.refunds",
            )
            for refund in found["refunds"]:
                self._complete_parts(refund)
            split = {refund["id"] for refund in found["refunds"]}
            order["refunds"] = [
                *found["refunds"],
                *(r for r in order["refunds"] if r.get("id") not in split),
            ]

    def _complete_parts(self, refund: dict[str, Any]) -> None:
        """The rest of a refund's parts when a page of them came back full."""
        expect(PROVIDER, isinstance(refund, dict) and "id" in refund, "refund id")
        for part in REFUND_PARTS:
            connection: Any = refund.get(part)
            expect(
                PROVIDER,
                isinstance(connection, dict) and isinstance(connection.get("nodes"), list),
                f"refund {part}",
            )
            info = connection.get("pageInfo") or {}
            query = refund_rest(part)
            size = _largest_page(query)
            while info.get("hasNextPage"):
                more: Any = (
                    self._graphql(
                        query, {"id": refund["id"], "cursor": info.get("endCursor"), "first": size}
                    ).get("refund")
                    or {}
                ).get(part)
                expect(
                    PROVIDER,
                    isinstance(more, dict) and isinstance(more.get("nodes"), list),
                    f"refund.{part}",
                )
                connection["nodes"] = [*connection["nodes"], *more["nodes"]]
                info = more.get("pageInfo") or {}

    def _complete_nested(self, resource: Resource, item: dict[str, Any]) -> None:
        nested = resource.nested or ""
        connection: Any = item.get(nested)
        expect(
            PROVIDER,
            isinstance(connection, dict) and isinstance(connection.get("nodes"), list),
            nested,
        )
        info = connection.get("pageInfo") or {}
        query = resource.rest_query()
        size = _largest_page(query)
        while info.get("hasNextPage"):
            data = self._graphql(
                query, {"id": item["id"], "cursor": info.get("endCursor"), "first": size}
            )
            more: Any = (data.get(resource.single) or {}).get(nested)

            expect(
                PROVIDER,
                isinstance(more, dict) and isinstance(more.get("nodes"), list),
                f"{resource.single}.{nested}",
            )
            connection["nodes"] = [*connection["nodes"], *more["nodes"]]
            info = more.get("pageInfo") or {}


def _largest_page(query: Query) -> int:
    """The largest `first` a rest-of-a-connection query may ask for within the cost limit."""
    return largest_first(lambda n: query.cost({"first": n}))


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


def _amount(node: Any, what: str, required: bool = True) -> Decimal | None:
    """MoneyBag {shopMoney {amount}} or MoneyV2 {amount} -> Decimal. The schema makes most of
    them non-null: a missing one means the answer is not what we asked for."""
    if node is None and not required:
        return None
    if isinstance(node, dict) and "shopMoney" in node:
        node = node["shopMoney"]
    expect(PROVIDER, isinstance(node, dict) and node.get("amount") is not None, what)
    return decimal(PROVIDER, node["amount"], what)


def _money(node: Any, what: str) -> Decimal:
    amount = _amount(node, what)
    assert amount is not None
    return amount


def _visit(node: Any) -> VisitRecord | None:
    if not isinstance(node, dict):
        return None
    utm = node.get("utmParameters") or {}
    return VisitRecord(
        _time(node.get("occurredAt"), "occurredAt", required=False),
        node.get("landingPage"),
        node.get("referrerUrl"),
        node.get("source"),
        node.get("sourceType"),
        utm.get("source"),
        utm.get("medium"),
        utm.get("campaign"),
        utm.get("content"),
        utm.get("term"),
    )


def _journey(node: Any) -> JourneyRecord | None:
    if not isinstance(node, dict):
        return None
    expect(PROVIDER, isinstance(node.get("ready"), bool), "customerJourneySummary.ready")
    index = node.get("customerOrderIndex")
    return JourneyRecord(
        node["ready"],
        node.get("daysToConversion"),
        int(index) if index is not None else None,
        _visit(node.get("firstVisit")),
        _visit(node.get("lastVisit")),
    )


def _line_item(node: dict[str, Any]) -> LineItemRecord:
    expect(
        PROVIDER,
        isinstance(node, dict) and "id" in node and "quantity" in node,
        "line item (id, quantity)",
    )
    variant = node.get("variant") or {}
    return LineItemRecord(
        external_id=str(node["id"]),
        quantity=integer(PROVIDER, node["quantity"], "quantity"),
        sku=node.get("sku"),
        unit_price=_money(node.get("originalUnitPriceSet"), "originalUnitPriceSet"),
        variant_id=variant.get("id"),
        product_id=(variant.get("product") or {}).get("id"),
        unit_cost=_amount(
            (variant.get("inventoryItem") or {}).get("unitCost"), "unitCost", required=False
        ),
    )


def _part_sum(node: dict[str, Any], part: str, field: str) -> Decimal:
    return sum((_money(n.get(field), f"{part} {field}") for n in node[part]["nodes"]), Decimal(0))


def _refund_line(node: Any) -> RefundLineRecord:
    """A RefundLineItem (shopify.dev admin-graphql "RefundLineItem"): `lineItem` (LineItem!,
    the refunded order line), `quantity` (Int!) and `subtotalSet` (MoneyBag!, the refunded
    price after discounts, tax apart)."""
    expect(
        PROVIDER,
        isinstance(node, dict)
        and isinstance(node.get("lineItem"), dict)
        and "id" in node["lineItem"]
        and "quantity" in node,
        "refund line item (lineItem id, quantity)",
    )
    return RefundLineRecord(
        str(node["lineItem"]["id"]),
        integer(PROVIDER, node["quantity"], "refund line quantity"),
        _money(node.get("subtotalSet"), "refundLineItems subtotalSet"),
    )


def _refund(node: Any) -> RefundRecord:
    """A refund, split when its parts were read (REFUND_PARTS): sales = the lines' subtotals
    less the order adjustments, shipping = the shipping lines' subtotals, taxes = the tax of
    all three (an adjustment's amounts are negative when more was given back), and the lines
    it gave back."""
    expect(PROVIDER, isinstance(node, dict) and "id" in node, "refund id")
    external_id = str(node["id"])
    at = _req_time(node.get("createdAt"), "refund createdAt")
    amount = _money(node.get("totalRefundedSet"), "refund totalRefundedSet")
    if "refundLineItems" not in node:  # an order deleted before its refunds were split
        return RefundRecord(external_id, at, amount)
    return RefundRecord(
        external_id,
        at,
        amount,
        sales=_part_sum(node, "refundLineItems", "subtotalSet")
        - _part_sum(node, "orderAdjustments", "amountSet"),
        shipping=_part_sum(node, "refundShippingLines", "subtotalAmountSet"),
        taxes=_part_sum(node, "refundLineItems", "totalTaxSet")
        + _part_sum(node, "refundShippingLines", "taxAmountSet")
        - _part_sum(node, "orderAdjustments", "taxAmountSet"),
        lines=tuple(_refund_line(n) for n in node["refundLineItems"]["nodes"]),
    )


def _order(node: dict[str, Any]) -> OrderRecord:
    expect(
        PROVIDER,
        "id" in node and "createdAt" in node and "updatedAt" in node,
        "order (id, createdAt, updatedAt)",
    )
    lines = tuple(_line_item(n) for n in (node.get("lineItems") or {}).get("nodes") or ())
    refunds: Any = node.get("refunds")
    expect(PROVIDER, isinstance(refunds, list), "order refunds")

    total_set = node.get("currentTotalPriceSet")
    currency = ((total_set or {}).get("shopMoney") or {}).get("currencyCode") or node.get(
        "currencyCode"
    )
    return OrderRecord(
        external_id=str(node["id"]),
        name=str(node.get("name") or ""),
        currency=str(currency or ""),
        created_at=_req_time(node["createdAt"], "createdAt"),
        processed_at=_time(node.get("processedAt"), "processedAt", required=False),
        updated_at=_req_time(node["updatedAt"], "updatedAt"),
        cancelled_at=_time(node.get("cancelledAt"), "cancelledAt", required=False),
        test=bool(node.get("test")),
        customer_id=(node.get("customer") or {}).get("id"),
        gross=sum((line.unit_price * line.quantity for line in lines), Decimal(0)),
        discounts=_money(node.get("totalDiscountsSet"), "totalDiscountsSet"),
        shipping=_money(node.get("totalShippingPriceSet"), "totalShippingPriceSet"),
        tax=_money(node.get("totalTaxSet"), "totalTaxSet"),
        refunded=_money(node.get("totalRefundedSet"), "totalRefundedSet"),
        total=_money(total_set, "currentTotalPriceSet"),
        line_items=lines,
        refunds=tuple(_refund(r) for r in refunds),
        journey=_journey(node.get("customerJourneySummary")),
    )


def _product(node: dict[str, Any]) -> ProductRecord:
    expect(PROVIDER, "id" in node, "product id")
    variants = tuple(
        VariantRecord(
            str(v.get("id")),
            str(node["id"]),
            str(v.get("title") or ""),
            v.get("sku"),
            decimal(PROVIDER, v.get("price"), "price"),
            _amount((v.get("inventoryItem") or {}).get("unitCost"), "unitCost", required=False),
        )
        for v in (node.get("variants") or {}).get("nodes") or ()
    )
    return ProductRecord(
        str(node["id"]),
        str(node.get("title") or ""),
        node.get("status"),
        node.get("productType"),
        node.get("vendor"),
        _req_time(node.get("createdAt"), "createdAt"),
        _req_time(node.get("updatedAt"), "updatedAt"),
        variants,
    )


def _customer(node: dict[str, Any]) -> CustomerRecord:
    expect(PROVIDER, "id" in node, "customer id")
    return CustomerRecord(
        str(node["id"]),
        None,
        None,
        None,
        _req_time(node.get("createdAt"), "createdAt"),
        _req_time(node.get("updatedAt"), "updatedAt"),
        integer(PROVIDER, node.get("numberOfOrders"), "numberOfOrders"),
        _money(node.get("amountSpent"), "amountSpent"),
    )
