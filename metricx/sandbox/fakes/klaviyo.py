"""Fake Klaviyo API (a.klaviyo.com/api): account, campaigns, flows, metrics and the Reporting
API, serving the sandbox merchant's email program (metricx.sandbox.email_program).

Answers as Klaviyo's JSON:API does (developers.klaviyo.com/en/reference/api_overview and the
OpenAPI spec github.com/klaviyo/openapi, openapi/stable/apis/*.json): every request needs
`Authorization: Klaviyo-API-Key pk_...` and a `revision` header; lists page with an absolute
`links.next` URL carrying `page[cursor]`; errors are an `errors` array of {id, status, code,
title, detail, source}; 429 comes with Retry-After and other answers with the RateLimit-*
headers of the steady window. The reporting endpoints have their own tight limits (burst
1/s, steady 2/m, daily 225/d), enforced here on a ticker a test can drive.

Failures on demand go through the shared FaultPlan, provider "klaviyo":

    faults.add("klaviyo", "throttle", retry_after=7)   # 429 + Retry-After: 7
    faults.add("klaviyo", "server_error")              # 500 (status=503 for unavailable)
    faults.add("klaviyo", "auth")                      # 401 authentication_failed
    faults.add("klaviyo", "forbidden")                 # 403 permission_denied
    faults.add("klaviyo", "bad_request")               # 400 invalid
    faults.add("klaviyo", "malformed")                 # a truncated 200 body
    faults.add("klaviyo", "short_page", rows=2)        # a list page shorter than asked
"""

from __future__ import annotations

import math
import re
import time as clock_time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from threading import Lock
from typing import Any
from urllib.parse import urlencode

from metricx.sandbox.calendar import zone
from metricx.sandbox.clock import SandboxClock
from metricx.sandbox.credentials import SandboxCredentials
from metricx.sandbox.email_program import (
    Campaign,
    EmailProgram,
    Flow,
    MetricDef,
    Stats,
    short_id,
)
from metricx.sandbox.fakes.base import FakeApp, FakeRequest, FakeResponse, json_response
from metricx.sandbox.fakes.faults import Fault, FaultPlan
from metricx.sandbox.fakes.paging import decode_cursor, encode_cursor, page_size
from metricx.sandbox.merchant import Merchant

#: FaultPlan kinds of this fake -> (HTTP status, JSON:API error code, title). Codes and
#: titles as Klaviyo sends them ("Rate limits, status codes, and errors",
#: developers.klaviyo.com/en/docs/rate_limits_and_error_handling; a 401 body quoted in the
#: Klaviyo community thread "Authentication Problem for new API", community.klaviyo.com/
#: marketing-30/authentication-problem-for-new-api-i-am-using-correct-api-7403).
#: "malformed" and "short_page" are applied by the server and the list pages themselves.
FAULT_KINDS: dict[str, tuple[int, str, str]] = {
    "throttle": (429, "throttled", "Request was throttled."),
    "server_error": (500, "error", "A server error occurred."),
    "auth": (401, "authentication_failed", "Incorrect authentication credentials."),
    "forbidden": (403, "permission_denied", "You do not have permission to perform this action."),
    "bad_request": (400, "invalid", "Invalid input."),
    "malformed": (200, "", ""),
    "short_page": (200, "", ""),
}
JSONAPI = "application/vnd.api+json"


@dataclass(frozen=True)
class Limit:
    """A fixed-window rate limit: per second (burst), per minute (steady), per day."""

    burst: int
    steady: int
    daily: int | None = None


# "Rate limits, status codes, and errors": per-account fixed windows, burst (1 s) and steady
# (1 min); each endpoint's tier is on its reference page (x-klaviyo-ratelimit in the OpenAPI
# spec): Get Accounts 1/s 15/m, Get Campaigns 10/s 150/m, Get Flows 3/s 60/m, Get Metrics
# 10/s 150/m, Query Campaign Values / Flow Values / Flow Series 1/s 2/m 225/d.
REPORTING_LIMIT = Limit(1, 2, 225)
LIMITS = {
    "accounts": Limit(1, 15),
    "campaigns": Limit(10, 150),
    "flows": Limit(3, 60),
    "metrics": Limit(10, 150),
    "campaign-values-reports": REPORTING_LIMIT,
    "flow-values-reports": REPORTING_LIMIT,
    "flow-series-reports": REPORTING_LIMIT,
}
# The private-key scope each endpoint needs (x-klaviyo-scopes in the OpenAPI spec).
SCOPES = {
    "accounts": "accounts:read",
    "campaigns": "campaigns:read",
    "flows": "flows:read",
    "metrics": "metrics:read",
    "campaign-values-reports": "campaigns:read",
    "flow-values-reports": "flows:read",
    "flow-series-reports": "flows:read",
}
ROUTE = re.compile(
    r"^/api/(accounts|campaigns|flows|metrics|campaign-values-reports|flow-values-reports|"
    r"flow-series-reports)/?$"
)
REPORTS = {"campaign-values-reports", "flow-values-reports", "flow-series-reports"}
# Revisions released (the API changelog, developers.klaviyo.com/en/docs/changelog_, and the
# klaviyo-api SDK's CHANGELOG.md). "API versioning and deprecation policy": a revision is
# stable 1 year, deprecated 1 year, then retired, 2 years after its release.
REVISIONS = tuple(
    date.fromisoformat(r)
    for r in (
        "2023-02-22",
        "2023-06-15",
        "2023-10-15",
        "2024-02-15",
        "2024-05-15",
        "2024-06-15",
        "2024-07-15",
        "2024-10-15",
        "2025-01-15",
        "2025-04-15",
        "2025-07-15",
        "2025-10-15",
        "2026-01-15",
        "2026-04-15",
        "2026-07-15",
        "2026-10-15",
    )
)
REVISION = re.compile(r"^(\d{4}-\d{2}-\d{2})(\.[a-z]+)?$")
# Statistics a report may ask for (the `statistics` enum of the Reporting API requests).
STATISTICS = frozenset(
    {
        "average_order_value",
        "bounce_rate",
        "bounced",
        "bounced_or_failed",
        "bounced_or_failed_rate",
        "click_rate",
        "click_to_open_rate",
        "clicks",
        "clicks_unique",
        "conversion_rate",
        "conversion_uniques",
        "conversion_value",
        "conversions",
        "delivered",
        "delivery_rate",
        "failed",
        "failed_rate",
        "message_segment_count_sum",
        "open_rate",
        "opens",
        "opens_unique",
        "recipients",
        "revenue_per_recipient",
        "spam_complaint_rate",
        "spam_complaints",
        "text_message_credit_usage_amount",
        "text_message_roi",
        "text_message_spend",
        "unsubscribe_rate",
        "unsubscribe_uniques",
        "unsubscribes",
    }
)
# group_by of each report: allowed, required, and the default when none is given ("If not
# passed in, the data will be grouped by flow_id, flow_message_id, send_channel").
# Tags, variations and groups are allowed by Klaviyo but the sandbox has none: refused here.
GROUPINGS = {
    "campaign": (
        ("campaign_id", "campaign_message_id", "campaign_message_name", "send_channel"),
        ("campaign_id", "campaign_message_id"),
        ("campaign_id", "campaign_message_id", "send_channel"),
    ),
    "flow": (
        ("flow_id", "flow_message_id", "flow_message_name", "flow_name", "send_channel"),
        ("flow_id", "flow_message_id"),
        ("flow_id", "flow_message_id", "send_channel"),
    ),
}
# The series `interval` limits ("If daily is used, the timeframe cannot be longer than 60
# days", hourly 7 days, monthly 52 weeks); every timeframe is at most 1 year.
INTERVAL_DAYS = {"daily": 60, "weekly": 366, "monthly": 364}
MAX_TIMEFRAME_DAYS = 366
# Filterable fields and operators of the list endpoints (the `filter` parameter's
# "Allowed field(s)/operator(s)" in the reference of Get Campaigns, Get Flows, Get Metrics).
LIST_FILTERS = {
    "campaigns": {
        "id": {"any"},
        "messages.channel": {"equals"},
        "name": {"contains"},
        "status": {"any", "equals"},
        "archived": {"equals"},
        "created_at": {"greater-or-equal", "greater-than", "less-or-equal", "less-than"},
        "scheduled_at": {"greater-or-equal", "greater-than", "less-or-equal", "less-than"},
        "updated_at": {"greater-or-equal", "greater-than", "less-or-equal", "less-than"},
    },
    "flows": {
        "id": {"any"},
        "name": {"contains", "ends-with", "equals", "starts-with"},
        "status": {"equals"},
        "archived": {"equals"},
        "created": {"equals", "greater-or-equal", "greater-than", "less-or-equal", "less-than"},
        "updated": {"equals", "greater-or-equal", "greater-than", "less-or-equal", "less-than"},
        "trigger_type": {"equals"},
    },
    "metrics": {"integration.name": {"equals"}, "integration.category": {"equals"}},
}
# Page sizes: Get Campaigns page[size] default and max 100, Get Flows 50 ("Returns a maximum
# of 50 flows per request"), Get Metrics 200 ("Returns a maximum of 200 results per page",
# no page[size] parameter).
PAGE_SIZES = {"campaigns": 100, "flows": 50, "metrics": 200, "accounts": 1}
SIZEABLE = {"campaigns", "flows"}
# Campaign channels (Get Campaigns: "A channel filter is required to list campaigns. Please
# provide either equals(messages.channel,'email') ... 'sms' ... 'mobile_push'").
CAMPAIGN_CHANNELS = {"email", "sms", "mobile_push"}


class KlaviyoError(Exception):
    """An error answer: HTTP status and one JSON:API error object."""

    def __init__(
        self,
        status: int,
        code: str,
        title: str,
        detail: str,
        *,
        pointer: str | None = None,
        parameter: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.code, self.title, self.detail = status, code, title, detail
        self.source = (
            {"pointer": pointer} if pointer else {"parameter": parameter} if parameter else {}
        )
        self.headers = headers or {}

    def response(self) -> FakeResponse:
        error: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "status": self.status,
            "code": self.code,
            "title": self.title,
            "detail": self.detail,
            "source": self.source,
        }
        return json_response(
            self.status, {"errors": [error]}, {"content-type": JSONAPI, **self.headers}
        )


def invalid(
    detail: str, *, pointer: str | None = None, parameter: str | None = None
) -> KlaviyoError:
    return KlaviyoError(
        400, "invalid", "Invalid input.", detail, pointer=pointer, parameter=parameter
    )


class Ticker:
    """Seconds for the rate limiter: real monotonic time, or a test's own that its
    client's sleep advances (`advance`)."""

    def __init__(self, start: float | None = None) -> None:
        self._manual = start is not None
        self._now = start or 0.0
        self._lock = Lock()

    def __call__(self) -> float:
        if not self._manual:
            return clock_time.monotonic()
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds


class FixedWindows:
    """Klaviyo's per-account fixed-window counters ("fixed-window rate limiting algorithm
    with two distinct windows: burst (1-second window) and steady (1-minute window)"; the
    reporting endpoints add a daily one)."""

    def __init__(self, ticker: Callable[[], float]) -> None:
        self.ticker = ticker
        self._counts: dict[tuple[str, int, int], int] = {}
        self._lock = Lock()

    def take(self, bucket: str, limit: Limit) -> tuple[float | None, dict[str, str]]:
        """(seconds to wait, None when allowed) and the RateLimit-* headers of the steady
        window to send with an allowed answer."""
        now = self.ticker()
        windows = [(1, limit.burst), (60, limit.steady)]
        if limit.daily is not None:
            windows.append((86400, limit.daily))
        with self._lock:
            for seconds, allowed in windows:
                index = int(now // seconds)
                if self._counts.get((bucket, seconds, index), 0) >= allowed:
                    return max(1.0, math.ceil((index + 1) * seconds - now)), {}
            for seconds, _ in windows:
                key = (bucket, seconds, int(now // seconds))
                self._counts[key] = self._counts.get(key, 0) + 1
            used = self._counts[(bucket, 60, int(now // 60))]
        # "All non-rate-limited responses will contain ... RateLimit-Limit, RateLimit-Remaining,
        # RateLimit-Reset" for the steady window.
        return None, {
            "ratelimit-limit": str(limit.steady),
            "ratelimit-remaining": str(max(0, limit.steady - used)),
            "ratelimit-reset": str(int(60 - now % 60)),
        }


class KlaviyoFake(FakeApp):
    """Routes Klaviyo API requests against the merchant's email program.

    Knobs a test may turn: `scopes` (what the sandbox key may read), `limits` (per route,
    the documented ones by default; set a route to None to lift its limit), `ticker` (the
    rate limiter's clock), `retired_status` and `shared_report_quota` (where the docs are
    ambiguous, see below)."""

    provider = "klaviyo"

    def __init__(
        self,
        merchant: Merchant,
        clock: SandboxClock,
        faults: FaultPlan,
        credentials: SandboxCredentials,
        *,
        ticker: Callable[[], float] | None = None,
    ) -> None:
        super().__init__(merchant, clock, faults)
        self.credentials = credentials
        self.program = EmailProgram(merchant)
        self.scopes = set(SCOPES.values())
        self.limits: dict[str, Limit | None] = dict(LIMITS)
        self.windows = FixedWindows(ticker or Ticker())
        # A retired revision: the policy says access is removed 2 years after release but not
        # which status a request then gets. The v1/v2 APIs answered 410 Gone when they were
        # retired (developers.klaviyo.com "Migration FAQ: v1/v2 API retirement"); the same
        # is assumed here.
        self.retired_status = 410
        # Whether the three reporting endpoints share one quota. The reference lists the
        # limits per endpoint, so each has its own by default.
        self.shared_report_quota = False

    # ---- faults -------------------------------------------------------------------------
    def fault_applies(self, kind: str, request: FakeRequest) -> bool:
        route = self._route(request.path)
        if route is None or kind not in FAULT_KINDS:
            return False
        if kind == "short_page":
            return request.method == "GET" and route in SIZEABLE | {"metrics"}
        return True

    def render_fault(self, fault: Fault, request: FakeRequest) -> FakeResponse | None:
        if fault.kind in ("short_page", "malformed"):
            return None
        status, code, title = FAULT_KINDS[fault.kind]
        if fault.kind == "throttle":
            wait = int(fault.params.get("retry_after", 7))
            return KlaviyoError(
                429,
                code,
                title,
                f"Request was throttled. Expected available in {wait} seconds.",
                headers={"retry-after": str(wait)},
            ).response()
        status = int(fault.params.get("status", status))
        return KlaviyoError(status, code, title, str(fault.params.get("detail", title))).response()

    # ---- routing ------------------------------------------------------------------------
    @staticmethod
    def _route(path: str) -> str | None:
        match = ROUTE.match(path)
        return match.group(1) if match else None

    def handle(self, request: FakeRequest, fault: Fault | None) -> FakeResponse:
        route = self._route(request.path)
        try:
            if route is None:
                raise KlaviyoError(404, "not_found", "Not found.", f"{request.path} does not exist")
            self._authenticate(request)
            self._check_revision(request)
            if SCOPES[route] not in self.scopes:
                raise KlaviyoError(
                    403,
                    "permission_denied",
                    "You do not have permission to perform this action.",
                    f"This API key is missing the scope {SCOPES[route]}",
                )
            is_report = route in REPORTS
            if request.method != ("POST" if is_report else "GET"):
                raise KlaviyoError(405, "method_not_allowed", "Method not allowed.", request.method)
            headers = self._rate_limit(route)
            short = fault.params if fault is not None and fault.kind == "short_page" else None
            body = self._report(route, request) if is_report else self._list(route, request, short)
            return json_response(200, body, {"content-type": JSONAPI, **headers})
        except KlaviyoError as error:
            return error.response()

    def _authenticate(self, request: FakeRequest) -> None:
        """Private keys go in `Authorization: Klaviyo-API-Key <key>` ("Authenticate API
        requests", developers.klaviyo.com/en/docs/authenticate_)."""
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        if scheme != "Klaviyo-API-Key" or not key.strip():
            raise KlaviyoError(
                401,
                "not_authenticated",
                "Authentication credentials were not provided.",
                "Missing or invalid authorization scheme. Please use Klaviyo-API-Key.",
            )
        if key.strip() != self.credentials.klaviyo_private_key:
            raise KlaviyoError(
                401,
                "authentication_failed",
                "Incorrect authentication credentials.",
                "Incorrect authentication credentials.",
            )

    def _check_revision(self, request: FakeRequest) -> None:
        """The `revision` header is required (revisionHeader required: true on every
        endpoint). A date between revisions gets the latest revision before it ("API
        versioning and deprecation policy"); a revision 2 years old is retired."""
        raw = request.headers.get("revision", "").strip()
        match = REVISION.match(raw)
        if match is None:
            raise invalid(
                "A valid revision header is required (format YYYY-MM-DD[.suffix])"
                if raw
                else "The revision header is required",
                parameter="revision",
            )
        today = self.clock.now().date()
        asked = date.fromisoformat(match.group(1))
        released = [r for r in REVISIONS if r <= min(asked, today)]
        served = released[-1] if released else None
        if served is None or date(served.year + 2, served.month, served.day) <= today:
            raise KlaviyoError(
                self.retired_status,
                "gone",
                "This revision has been retired.",
                f"Revision {raw} is retired; use a supported revision",
                parameter="revision",
            )

    def _rate_limit(self, route: str) -> dict[str, str]:
        limit = self.limits.get(route)
        if limit is None:
            return {}
        bucket = "reports" if route in REPORTS and self.shared_report_quota else route
        wait, headers = self.windows.take(bucket, limit)
        if wait is not None:
            # "When you hit the error, those headers are replaced with a Retry-After header
            # that returns an int indicating the number of seconds before you can start
            # making requests."
            raise KlaviyoError(
                429,
                "throttled",
                "Request was throttled.",
                f"Request was throttled. Expected available in {int(wait)} seconds.",
                headers={"retry-after": str(int(wait))},
            )
        return headers

    # ---- lists --------------------------------------------------------------------------
    def _list(
        self, route: str, request: FakeRequest, short: dict[str, Any] | None
    ) -> dict[str, Any]:
        now = self.clock.now()
        items = self._resources(route, request.query.get("filter"), now)
        size = PAGE_SIZES[route]
        if route in SIZEABLE and "page[size]" in request.query:
            try:
                size = int(request.query["page[size]"])
            except ValueError:
                raise invalid("page[size] must be an integer", parameter="page[size]") from None
            if not 1 <= size <= PAGE_SIZES[route]:
                raise invalid(
                    f"page[size] must be between 1 and {PAGE_SIZES[route]}", parameter="page[size]"
                )
        try:
            offset = int(decode_cursor(request.query.get("page[cursor]"), 0))
        except ValueError:
            raise invalid("Invalid page cursor", parameter="page[cursor]") from None
        rows = items[offset : offset + page_size(size, short)]
        end = offset + len(rows)
        links = {"self": self._url(request, None), "next": None, "prev": None}
        if end < len(items):
            links["next"] = self._url(request, encode_cursor(end))
        if offset > 0:
            links["prev"] = self._url(request, encode_cursor(max(0, offset - size)))
        return {"data": rows, "links": {k: v for k, v in links.items() if v is not None}}

    def _url(self, request: FakeRequest, cursor: str | None) -> str:
        query = {k: v for k, v in request.query.items() if k != "page[cursor]"}
        if cursor is not None:
            query["page[cursor]"] = cursor
        return f"{self.base_url}{request.path}" + (f"?{urlencode(query)}" if query else "")

    def _resources(self, route: str, raw_filter: str | None, now: datetime) -> list[dict[str, Any]]:
        program = self.program
        if route == "accounts":
            return [self._account()]
        terms = parse_filter(raw_filter, LIST_FILTERS[route]) if raw_filter else []
        if route == "campaigns":
            channels = [v for f, op, v in terms if f == "messages.channel"]
            if not channels:
                raise invalid(
                    "A channel filter is required to list campaigns. Please provide either "
                    "`?filter=equals(messages.channel,'email')` to list email campaigns, or "
                    "`?filter=equals(messages.channel,'sms')` to list SMS campaigns.",
                    parameter="filter",
                )
            if channels[0] not in CAMPAIGN_CHANNELS:
                raise invalid(f"Unknown channel {channels[0]!r}", parameter="filter")
            # (resource, the filterable fields that are not plain attributes)
            rows = [
                (self._campaign(c, now), {"messages.channel": c.channel})
                for c in program.campaigns_until(now)
            ]
        elif route == "flows":
            rows = [(self._flow(f), {}) for f in program.flows_until(now)]
        else:
            rows = [
                (
                    metric := self._metric(m),
                    {
                        "integration.name": metric["attributes"]["integration"]["name"],
                        "integration.category": metric["attributes"]["integration"]["category"],
                    },
                )
                for m in program.metrics
            ]
        return [
            row
            for row, extra in rows
            if all(matches({**row["attributes"], "id": row["id"], **extra}, term) for term in terms)
        ]

    def _account(self) -> dict[str, Any]:
        """GET /api/accounts: the key's one account (AccountResponseObjectResource)."""
        program = self.program
        return {
            "type": "account",
            "id": program.account_id,
            "attributes": {
                "test_account": False,
                "contact_information": {
                    "default_sender_name": program.name,
                    "default_sender_email": f"hello@{self.merchant.shop.profile.host}",
                    "website_url": f"https://{self.merchant.shop.profile.host}",
                    "organization_name": program.name,
                    "street_address": {
                        "address1": "125 Summer St",
                        "address2": "",
                        "city": "Boston",
                        "region": "MA",
                        "country": "United States",
                        "zip": "02110",
                    },
                },
                "industry": "Apparel & Accessories",
                "timezone": program.timezone,
                "preferred_currency": program.currency,
                "public_api_key": program.account_id,
                "locale": "en-US",
            },
            "links": {"self": f"{self.base_url}/api/accounts/{program.account_id}/"},
        }

    def _campaign(self, campaign: Campaign, now: datetime) -> dict[str, Any]:
        """A CampaignResponseObjectResource (attributes of Get Campaigns)."""
        sent = campaign.send_time <= now
        return {
            "type": "campaign",
            "id": campaign.external_id,
            "attributes": {
                "name": campaign.name,
                "status": campaign.status(now),
                "archived": False,
                "audiences": {
                    "included": [short_id(self.program.seed, "list", campaign.channel)],
                    "excluded": [],
                },
                "send_options": {"use_smart_sending": True},
                "tracking_options": None,
                "send_strategy": {
                    "method": "static",
                    "datetime": _iso(campaign.send_time),
                    "options": {"is_local": False},
                },
                "created_at": _iso(campaign.created_at),
                "scheduled_at": _iso(campaign.created_at + timedelta(hours=2)),
                "updated_at": _iso(campaign.send_time if sent else campaign.created_at),
                "send_time": _iso(campaign.send_time),
            },
            "relationships": {
                "campaign-messages": {
                    "data": [{"type": "campaign-message", "id": campaign.message.external_id}]
                }
            },
            "links": {"self": f"{self.base_url}/api/campaigns/{campaign.external_id}/"},
        }

    def _flow(self, flow: Flow) -> dict[str, Any]:
        """A flow of Get Flows (attributes name, status, archived, created, updated,
        trigger_type)."""
        return {
            "type": "flow",
            "id": flow.external_id,
            "attributes": {
                "name": flow.name,
                "status": flow.status,
                "archived": False,
                "created": _iso(flow.created),
                "updated": _iso(flow.created + timedelta(days=3)),
                "trigger_type": flow.trigger_type,
            },
            "links": {"self": f"{self.base_url}/api/flows/{flow.external_id}/"},
        }

    def _metric(self, metric: MetricDef) -> dict[str, Any]:
        """A metric of Get Metrics with the integration that sends it."""
        shopify = metric.integration == "Shopify"
        created = datetime.combine(
            self.merchant.start_day - timedelta(days=400), time(15), tzinfo=UTC
        )
        return {
            "type": "metric",
            "id": metric.external_id,
            "attributes": {
                "name": metric.name,
                # "Creation time in ISO 8601 format (YYYY-MM-DDTHH:MM:SS.mmmmmm)": no offset
                "created": created.strftime("%Y-%m-%dT%H:%M:%S.%f"),
                "updated": created.strftime("%Y-%m-%dT%H:%M:%S.%f"),
                "integration": {
                    "object": "integration",
                    "id": "0eMvjm" if shopify else "0rG4eQ",
                    "key": "shopify" if shopify else "klaviyo",
                    "name": metric.integration,
                    "category": "eCommerce" if shopify else "Internal",
                },
            },
            "links": {"self": f"{self.base_url}/api/metrics/{metric.external_id}/"},
        }

    # ---- reports ------------------------------------------------------------------------
    def _report(self, route: str, request: FakeRequest) -> dict[str, Any]:
        """Query Campaign Values / Flow Values / Flow Series: JSON:API body {data: {type,
        attributes: {statistics, timeframe, conversion_metric_id, group_by, filter,
        interval}}}; results are one object per grouping."""
        content_type = request.headers.get("content-type", "").split(";")[0].strip()
        if content_type not in (JSONAPI, "application/json"):
            raise KlaviyoError(
                415, "unsupported_media_type", "Unsupported media type.", content_type or "none"
            )
        body = request.json()
        kind = "campaign" if route.startswith("campaign") else "flow"
        series = route == "flow-series-reports"
        report_type = route.removesuffix("s")
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict) or data.get("type") != report_type:
            raise invalid(f"data.type must be {report_type!r}", pointer="/data/type")
        attributes = data.get("attributes")
        if not isinstance(attributes, dict):
            raise invalid("data.attributes is required", pointer="/data/attributes")
        statistics = attributes.get("statistics")
        if (
            not isinstance(statistics, list)
            or not statistics
            or any(s not in STATISTICS for s in statistics)
        ):
            raise invalid(
                "statistics must be a list of reporting statistics",
                pointer="/data/attributes/statistics",
            )
        metric = attributes.get("conversion_metric_id")
        if metric not in {m.external_id for m in self.program.metrics}:
            raise invalid(
                f"Metric {metric!r} was not found", pointer="/data/attributes/conversion_metric_id"
            )
        days = self._timeframe(attributes.get("timeframe"))
        allowed, required, default = GROUPINGS[kind]
        group_by = attributes.get("group_by") or list(default)
        if not isinstance(group_by, list) or any(g not in allowed for g in group_by):
            raise invalid(
                f"group_by must be among {', '.join(allowed)}", pointer="/data/attributes/group_by"
            )
        if any(g not in group_by for g in required):
            raise invalid(
                f"The following group by attributes are required: {', '.join(required)}",
                pointer="/data/attributes/group_by",
            )
        report_filter = attributes.get("filter")
        terms = (
            parse_filter(report_filter, REPORT_FILTERS[kind], pointer="/data/attributes/filter")
            if report_filter
            else []
        )
        buckets: list[list[date]] = [days]
        if series:
            interval = attributes.get("interval")
            if interval not in INTERVAL_DAYS:
                # Hourly series exist in Klaviyo; the sandbox models days, not hours.
                raise invalid(
                    "interval must be daily, weekly or monthly in the sandbox",
                    pointer="/data/attributes/interval",
                )
            if len(days) > INTERVAL_DAYS[interval]:
                raise invalid(
                    f"If {interval} is used, the timeframe cannot be longer than "
                    f"{INTERVAL_DAYS[interval]} days",
                    pointer="/data/attributes/timeframe",
                )
            buckets = _buckets(days, interval)
        now = self.clock.now()
        groups = self._groups(kind, buckets, now)
        results = []
        for grouping, per_bucket in groups:
            if not all(matches(grouping, term) for term in terms):
                continue
            values = [_statistics(stats, statistics) for stats in per_bucket]
            results.append(
                {
                    "groupings": {g: grouping[g] for g in group_by},
                    "statistics": {
                        s: [v[s] for v in values] if series else values[0][s] for s in statistics
                    },
                }
            )
        # group_by always holds the message id, so each result is one message's.
        attributes_out: dict[str, Any] = {"results": results}
        if series:
            tz = zone(self.program.timezone)
            attributes_out["date_times"] = [
                datetime.combine(b[0], time(0), tzinfo=tz).isoformat() for b in buckets
            ]
        return {
            "data": {"type": report_type, "id": str(uuid.uuid4()), "attributes": attributes_out},
            "links": {"self": f"{self.base_url}{request.path}"},
        }

    def _timeframe(self, timeframe: Any) -> list[date]:
        """The local days of a timeframe: a predefined {key} relative to the account's today,
        or a custom {start, end} ("Offset is ignored and the company timezone is used")."""
        today = self.program.local_day(self.clock.now())
        pointer = "/data/attributes/timeframe"
        if not isinstance(timeframe, dict):
            raise invalid("timeframe is required", pointer=pointer)
        if "key" in timeframe:
            span = predefined(str(timeframe["key"]), today)
            if span is None:
                raise invalid(f"Unknown timeframe key {timeframe['key']!r}", pointer=pointer)
            first, last = span
        else:
            try:
                start = datetime.fromisoformat(str(timeframe["start"])).replace(tzinfo=None)
                end = datetime.fromisoformat(str(timeframe["end"])).replace(tzinfo=None)
            except (KeyError, ValueError):
                raise invalid("timeframe needs start and end datetimes", pointer=pointer) from None
            if end <= start:
                raise invalid("timeframe end must be after its start", pointer=pointer)
            # The docs do not say whether `end` is inclusive; the sandbox reads [start, end).
            first, last = start.date(), (end - timedelta(microseconds=1)).date()
        if (last - first).days + 1 > MAX_TIMEFRAME_DAYS:
            raise invalid("The timeframe cannot be longer than 1 year", pointer=pointer)
        return [first + timedelta(days=i) for i in range((last - first).days + 1)]

    def _groups(
        self, kind: str, buckets: list[list[date]], now: datetime
    ) -> list[tuple[dict[str, str], list[Stats]]]:
        """Each message's groupings and its Stats per bucket of days (sends on those days,
        as known now).

        Reporting follows the send date ("performance in the Klaviyo UI is calculated based
        on send date", Reporting API overview), so a campaign counts whole (its conversions
        so far included) when it was sent within the timeframe. The docs do not say whether
        a values report cuts off conversions that happen after the timeframe's end; the
        sandbox does not, like the campaign report in Klaviyo's UI."""
        program = self.program
        out: list[tuple[dict[str, str], list[Stats]]] = []
        if kind == "campaign":
            for campaign in program.campaigns_until(now):
                if campaign.send_time > now:
                    continue
                send_day = program.local_day(campaign.send_time)
                if not any(send_day in b for b in buckets):
                    continue
                stats = program.campaign_stats(campaign, now)
                grouping = {
                    "campaign_id": campaign.external_id,
                    "campaign_message_id": campaign.message.external_id,
                    "campaign_message_name": campaign.name,
                    "send_channel": campaign.channel,
                }
                out.append((grouping, [stats if send_day in b else Stats() for b in buckets]))
            return out
        for flow in program.flows_until(now):
            for message in flow.messages:
                grouping = {
                    "flow_id": flow.external_id,
                    "flow_message_id": message.external_id,
                    "flow_message_name": message.name,
                    "flow_name": flow.name,
                    "send_channel": message.channel,
                }
                per_bucket = []
                for bucket in buckets:
                    total = Stats()
                    for day in bucket:
                        total = total + program.flow_message_day(message, day, now)
                    per_bucket.append(total)
                out.append((grouping, per_bucket))
        return out


REPORT_FILTERS = {
    "campaign": {
        "send_channel": {"equals", "contains-any"},
        "campaign_id": {"equals", "contains-any"},
        "campaign_message_id": {"equals", "contains-any"},
        "campaign_message_name": {"equals", "contains-any"},
    },
    "flow": {
        "send_channel": {"equals", "contains-any"},
        "flow_id": {"equals", "contains-any"},
        "flow_message_id": {"equals", "contains-any"},
        "flow_name": {"equals", "contains-any"},
        "flow_message_name": {"equals", "contains-any"},
    },
}


def predefined(key: str, today: date) -> tuple[date, date] | None:
    """First and last day of a predefined timeframe key ("Available time frames" of the
    Reporting API overview). The docs do not say whether the "last N days" include today;
    the sandbox reads them as the N whole days before today."""
    month_start = today.replace(day=1)
    last_month_end = month_start - timedelta(days=1)
    week_start = today - timedelta(days=today.weekday())
    spans = {
        "today": (today, today),
        "yesterday": (today - timedelta(days=1), today - timedelta(days=1)),
        "last_7_days": (today - timedelta(days=7), today - timedelta(days=1)),
        "last_30_days": (today - timedelta(days=30), today - timedelta(days=1)),
        "last_90_days": (today - timedelta(days=90), today - timedelta(days=1)),
        "last_365_days": (today - timedelta(days=365), today - timedelta(days=1)),
        "last_3_months": (today - timedelta(days=91), today - timedelta(days=1)),
        "last_12_months": (today - timedelta(days=365), today - timedelta(days=1)),
        "this_week": (week_start, today),
        "last_week": (week_start - timedelta(days=7), week_start - timedelta(days=1)),
        "this_month": (month_start, today),
        "last_month": (last_month_end.replace(day=1), last_month_end),
        "this_year": (today.replace(month=1, day=1), today),
        "last_year": (date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)),
    }
    return spans.get(key)


def _buckets(days: list[date], interval: str) -> list[list[date]]:
    """Days split into series buckets: one per day, per 7 days from the start, per month."""
    if interval == "daily":
        return [[d] for d in days]
    buckets: list[list[date]] = []
    for day in days:
        new = (
            (day - days[0]).days % 7 == 0
            if interval == "weekly"
            else not buckets or day.month != buckets[-1][0].month
        )
        if new or not buckets:
            buckets.append([])
        buckets[-1].append(day)
    return buckets


def _statistics(stats: Stats, wanted: list[str]) -> dict[str, Any]:
    """The requested statistics of some sends; rates as fractions in [0, 1] ("All rate
    statistics will be returned in fractional form"); money in the account currency."""
    value = Decimal(stats.conversion_cents) / 100

    def rate(part: float, whole: float) -> float:
        return round(part / whole, 4) if whole else 0.0

    known: dict[str, Any] = {
        "recipients": stats.recipients,
        "delivered": stats.delivered,
        "bounced": stats.recipients - stats.delivered,
        "bounced_or_failed": stats.recipients - stats.delivered,
        "opens_unique": stats.opens,
        "opens": stats.opens * 13 // 10,
        "clicks_unique": stats.clicks,
        "clicks": stats.clicks * 12 // 10,
        "conversions": stats.conversions,
        "conversion_uniques": stats.conversions,
        "conversion_value": value,
        "delivery_rate": rate(stats.delivered, stats.recipients),
        "bounce_rate": rate(stats.recipients - stats.delivered, stats.recipients),
        "bounced_or_failed_rate": rate(stats.recipients - stats.delivered, stats.recipients),
        "open_rate": rate(stats.opens, stats.delivered),
        "click_rate": rate(stats.clicks, stats.delivered),
        "click_to_open_rate": rate(stats.clicks, stats.opens),
        "conversion_rate": rate(stats.conversions, stats.delivered),
        "revenue_per_recipient": float(round(value / stats.delivered, 2))
        if stats.delivered
        else 0.0,
        "average_order_value": float(round(value / stats.conversions, 2))
        if stats.conversions
        else 0.0,
    }
    return {s: known.get(s, 0) for s in wanted}


FILTER_TERM = re.compile(r"^([a-z-]+)\(([\w.]+),(.*)\)$")


def parse_filter(
    raw: str, allowed: dict[str, set[str]], *, pointer: str | None = None
) -> list[tuple[str, str, Any]]:
    """Klaviyo's filter syntax ("Filtering" in the API overview): `op(field,value)` terms,
    combined with `and(...)`; strings in single or double quotes, lists in brackets,
    booleans and ISO datetimes bare. Returns (field, operator, value) terms."""
    text = raw.strip()
    parts = _split_args(text[4:-1]) if text.startswith("and(") and text.endswith(")") else [text]
    terms = []
    for part in parts:
        match = FILTER_TERM.match(part.strip())
        if match is None:
            raise _filter_error(f"Invalid filter term {part!r}", pointer)
        op, field, value = match.groups()
        if field not in allowed or op not in allowed[field]:
            raise _filter_error(f"'{op}' operator on field '{field}' is not supported", pointer)
        terms.append((field, op, _filter_value(value.strip(), pointer)))
    return terms


def _filter_error(detail: str, pointer: str | None) -> KlaviyoError:
    return invalid(detail, pointer=pointer) if pointer else invalid(detail, parameter="filter")


def _split_args(text: str) -> list[str]:
    """Split on commas outside parentheses, brackets and quotes."""
    parts: list[str] = []
    current: list[str] = []
    depth, quote = 0, ""
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return parts


def _filter_value(text: str, pointer: str | None) -> Any:
    if text.startswith("[") and text.endswith("]"):
        return [_filter_value(v.strip(), pointer) for v in _split_args(text[1:-1]) if v.strip()]
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    if text in ("true", "false"):
        return text == "true"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _filter_error(f"Invalid filter value {text}", pointer) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def matches(fields: dict[str, Any], term: tuple[str, str, Any]) -> bool:
    """Whether a resource's fields satisfy one filter term."""
    field, op, value = term
    actual = fields.get(field)
    if isinstance(actual, str) and isinstance(value, datetime):
        actual = datetime.fromisoformat(actual)
    if op == "equals":
        return bool(actual == value)
    if op in ("any", "contains-any"):
        return actual in (value if isinstance(value, list) else [value])
    if op == "contains":
        return isinstance(actual, str) and str(value) in actual
    if op == "starts-with":
        return isinstance(actual, str) and actual.startswith(str(value))
    if op == "ends-with":
        return isinstance(actual, str) and actual.endswith(str(value))
    if actual is None:
        return False
    return {
        "greater-than": actual > value,
        "greater-or-equal": actual >= value,
        "less-than": actual < value,
        "less-or-equal": actual <= value,
    }[op]


def _iso(moment: datetime) -> str:
    """Klaviyo's datetimes: ISO 8601 with offset ("2022-11-08T00:00:00+00:00")."""
    return moment.astimezone(UTC).isoformat()
