"""Fake Meta Graph API (Marketing API insights, entity edges, async reports, token exchange)
and the Facebook Login dialog that hands out authorization codes.

Answers like graph.facebook.com: errors are HTTP 400 with an `error` object (throttling too),
numbers are strings, lists page with `paging.cursors` and an absolute `paging.next` URL, and
every answer carries the three usage headers.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from threading import Lock
from typing import Any, Literal
from urllib.parse import urlencode

from metricx.sandbox.clock import SandboxClock
from metricx.sandbox.creatives import SandboxCreative, preview_png
from metricx.sandbox.credentials import SandboxCredentials
from metricx.sandbox.entities import Node
from metricx.sandbox.fakes.base import (
    FakeApp,
    FakeRequest,
    FakeResponse,
    json_response,
    redirect_back,
)
from metricx.sandbox.fakes.faults import Fault, FaultPlan
from metricx.sandbox.fakes.meta_edges import (
    ENTITY_FIELDS,
    NODE_TYPES,
    CreativeOptions,
    FieldRequest,
    creative_node,
    entity_node,
    expansion,
    filters,
    id_filter,
    matches,
    requested_fields,
)
from metricx.sandbox.fakes.meta_graph import (
    THROTTLE_MESSAGES,
    MetaError,
    Usage,
    usage_headers,
    version_refusal,
    version_warning,
)
from metricx.sandbox.fakes.meta_insights import (
    FIELDS,
    HOURLY,
    LEVELS,
    VIDEO_FIELDS,
    InsightsQuery,
    InsightsTable,
)
from metricx.sandbox.fakes.paging import decode_cursor, encode_cursor, page_size
from metricx.sandbox.fakes.tokens import AuthCodes, TokenStore
from metricx.sandbox.merchant import Merchant

LONG_LIVED_SECONDS = 5183944
# "Short-lived tokens usually have a lifetime of about an hour or two" (Facebook Login, Access
# Tokens); the code exchange gives one, fb_exchange_token turns it into a ~60-day token.
SHORT_LIVED_SECONDS = 5400
# Synchronous insights that would return more rows than this fail with 100/1487534 "Please
# reduce the amount of data you're asking for" (Insights API best practices: large requests
# time out; use async report runs). Meta publishes no number; this one is the sandbox's.
SYNC_ROW_LIMIT = 20_000
VERSION = r"/(v\d+\.\d+)"
ROUTES = (
    ("oauth", re.compile(rf"^(?:{VERSION})?/oauth/access_token$")),
    ("dialog", re.compile(rf"^(?:{VERSION})?/dialog/oauth$")),
    ("account", re.compile(rf"^{VERSION}/act_(\d+)$")),
    ("insights", re.compile(rf"^{VERSION}/act_(\d+)/insights$")),
    ("edge", re.compile(rf"^{VERSION}/act_(\d+)/(campaigns|adsets|ads)$")),
    ("report", re.compile(rf"^{VERSION}/(\d+)$")),
    ("report_insights", re.compile(rf"^{VERSION}/(\d+)/insights$")),
    # The CDN that creative thumbnail_url points at (scontent.xx.fbcdn.net on Meta); served by
    # the fake itself so the sandbox is one host.
    ("thumbnail", re.compile(r"^/thumbnails/(\d+)\.png$")),
)


TOO_MUCH_DATA = MetaError(
    100,
    "Please reduce the amount of data you're asking for, then retry your request",
    subcode=1487534,
)


@dataclass
class ReportRun:
    id: str
    table: InsightsTable
    created: datetime
    polls: int = 0
    failed: bool = False


class MetaFake(FakeApp):
    """Routes Graph API requests against the merchant's Meta ad accounts."""

    provider = "meta"
    polls_to_complete = 2
    sync_row_limit = SYNC_ROW_LIMIT
    # How long a creative's signed thumbnail_url lives. Meta documents no lifetime: a public
    # schema comment says "about four days after it is fetched" and fbcdn URLs carry the
    # expiry as `oe=<hex unix time>` (research19 meta.md §2.5, UNCONFIRMED), hence a knob.
    thumbnail_ttl = timedelta(days=4)
    creative_options = CreativeOptions()
    # video_* fields with an hourly breakdown. An older text of Meta's Insights API Breakdowns
    # page (developers.facebook.com/docs/marketing-api/insights/breakdowns, "Combining
    # Breakdowns") says "video_* fields cannot be requested with any hourly stats
    # breakdowns"; the current page (May 2026) neither repeats nor withdraws it and only
    # restricts off-Meta actions (research19 meta.md §4). "refuse": error 100, as the old text
    # reads; "omit": the rows come without them.
    hourly_video: Literal["refuse", "omit"] = "refuse"

    def __init__(
        self,
        merchant: Merchant,
        clock: SandboxClock,
        faults: FaultPlan,
        credentials: SandboxCredentials,
    ) -> None:
        super().__init__(merchant, clock, faults)
        self.credentials = credentials
        self.tokens = TokenStore(clock, "EAAsandboxLL")
        self.tokens.accept(credentials.meta_access_token)
        self.codes = AuthCodes(clock, "AQsandbox-meta-", credentials.meta_auth_code)
        self._usage = Usage()
        self._lock = Lock()
        self._reports: dict[str, ReportRun] = {}
        self._tables: OrderedDict[tuple[Any, ...], InsightsTable] = OrderedDict()
        self._serial = 0

    # ---- faults -------------------------------------------------------------------------
    def fault_applies(self, kind: str, request: FakeRequest) -> bool:
        route = self._route(request.path)[0]
        if route in ("dialog", "thumbnail"):  # the CDN is another service than the Graph API
            return False
        if route == "oauth":
            return kind in ("server_error", "malformed")
        if kind == "short_page":
            return request.method == "GET" and route in ("insights", "edge", "report_insights")
        if kind == "reduce_data":
            return request.method == "GET" and route in ("insights", "report_insights")
        if kind == "too_much_data":
            return route == "insights"
        if kind == "job_failed":
            return route == "report"
        return True

    def render_fault(self, fault: Fault, request: FakeRequest) -> FakeResponse | None:
        p = fault.params
        account = self._account_in(request.path)
        if fault.kind == "throttle":
            code = int(p.get("code", 17))
            regain = int(p.get("regain_minutes", 5))
            headers = usage_headers(100, regain, int(p.get("reset_seconds", regain * 60)), account)
            return MetaError(
                code,
                THROTTLE_MESSAGES.get(code, f"(#{code}) Rate limited"),
                subcode=2446079,
                transient=True,
            ).response(headers)
        headers = usage_headers(self._usage.record(), account_id=account)
        simple = {
            "server_error": MetaError(
                1, "An unknown error occurred", subcode=99, status=int(p.get("status", 500))
            ),
            "transient": MetaError(
                2,
                "An unexpected error has occurred. Please retry your request later.",
                status=500,
                transient=True,
            ),
            "reduce_data": MetaError(
                1,
                "Please reduce the amount of data you're asking for, then retry your request",
                status=500,
                subcode=99,
            ),
            "auth": MetaError(
                int(p.get("code", 190)),
                p.get(
                    "message",
                    "Error validating access token: Session has expired on Monday, "
                    "24-Nov-25 10:00:00 PST.",
                ),
                subcode=int(p.get("subcode", 463)),
            ),
            "bad_request": MetaError(100, "(#100) Invalid parameter"),
            "too_much_data": TOO_MUCH_DATA,
        }
        error = simple.get(fault.kind)
        return error.response(headers) if error else None

    # ---- routing ------------------------------------------------------------------------
    @staticmethod
    def _route(path: str) -> tuple[str | None, tuple[str, ...]]:
        for name, pattern in ROUTES:
            match = pattern.match(path)
            if match:
                return name, tuple(g for g in match.groups())
        return None, ()

    @staticmethod
    def _account_in(path: str) -> str | None:
        match = re.search(r"/act_(\d+)", path)
        return match.group(1) if match else None

    def handle(self, request: FakeRequest, fault: Fault | None) -> FakeResponse:
        route, groups = self._route(request.path)
        account = self._account_in(request.path)
        usage = self._usage.record()
        high = fault.params if fault is not None and fault.kind == "usage_high" else {}
        headers = usage_headers(
            int(high.get("pct", usage)),
            int(high.get("regain_minutes", 0)),
            int(high.get("reset_seconds", 0)),
            account,
        )
        # Marketing API versions expire sooner than Graph API ones (the Login dialog and the
        # token endpoint follow the Graph API's table), so only ads routes are refused.
        version = groups[0] if groups and route not in ("oauth", "dialog", "thumbnail") else None
        today = self.clock.now().date()
        headers.update(version_warning(version, today))
        try:
            refusal = version_refusal(version, today)
            if refusal is not None:
                raise refusal
            if route == "thumbnail" and request.method == "GET":
                return self._thumbnail(groups[0], request.params)
            if route == "oauth":
                return json_response(200, self._oauth(request.params))
            if route == "dialog" and request.method == "GET":
                return self._dialog(request.params)
            self._authenticate(request)
            short = fault.params if fault is not None and fault.kind == "short_page" else None
            if route == "account" and request.method == "GET":
                return json_response(200, self._account(groups[1], request.params), headers)
            if route == "insights":
                return json_response(200, self._insights(request, groups[1], short), headers)
            if route == "edge" and request.method == "GET":
                return json_response(200, self._edge(request, groups[1], groups[2], short), headers)
            if route == "report" and request.method == "GET":
                failed = fault is not None and fault.kind == "job_failed"
                return json_response(200, self._report_status(groups[1], failed), headers)
            if route == "report_insights" and request.method == "GET":
                return json_response(200, self._report_rows(request, groups[1], short), headers)
            raise MetaError(100, f"Unknown path components: {request.path}", subcode=2500)
        except MetaError as error:
            return error.response(headers)

    def _authenticate(self, request: FakeRequest) -> None:
        token = request.params.get("access_token")
        auth = request.headers.get("authorization", "")
        if not token and " " in auth:
            scheme, _, value = auth.partition(" ")
            token = value if scheme.lower() in ("bearer", "oauth") else None
        if not token:
            raise MetaError(104, "An access token is required to request this resource.")
        if not self.tokens.valid(token):
            if self.tokens.known(token) or token == self.credentials.meta_access_token:
                raise MetaError(
                    190,
                    "Error validating access token: The session has been "
                    "invalidated because the user changed their password or "
                    "Facebook has changed the session for security reasons.",
                    subcode=460,
                )
            raise MetaError(190, "Invalid OAuth access token - Cannot parse access token")
        # Graph API "Securing requests": appsecret_proof = HMAC-SHA256 of the access token
        # keyed with the app secret, hex; a wrong one is refused.
        proof = request.params.get("appsecret_proof")
        if proof is not None:
            expected = hmac.new(
                self.credentials.meta_app_secret.encode(), token.encode(), hashlib.sha256
            ).hexdigest()
            if not hmac.compare_digest(proof, expected):
                raise MetaError(
                    100,
                    "Invalid appsecret_proof provided in the API argument",
                    kind="GraphMethodException",
                )

    # ---- oauth --------------------------------------------------------------------------
    def _oauth(self, params: dict[str, str]) -> dict[str, Any]:
        c = self.credentials
        if params.get("client_id") != c.meta_app_id:
            raise MetaError(101, "Error validating application. Invalid application ID.")
        if params.get("client_secret") != c.meta_app_secret:
            raise MetaError(1, "Error validating client secret.")
        if params.get("grant_type") == "fb_exchange_token":
            if not self.tokens.valid(params.get("fb_exchange_token")):
                raise MetaError(
                    190, "Error validating access token: Session has expired.", subcode=463
                )
        else:
            self._redeem(params.get("code"), params.get("redirect_uri"))
            token = self.tokens.issue(timedelta(seconds=SHORT_LIVED_SECONDS))
            return {
                "access_token": token,
                "token_type": "bearer",
                "expires_in": SHORT_LIVED_SECONDS,
            }
        token = self.tokens.issue(timedelta(seconds=LONG_LIVED_SECONDS))
        return {"access_token": token, "token_type": "bearer", "expires_in": LONG_LIVED_SECONDS}

    def _redeem(self, code: str | None, redirect_uri: str | None) -> None:
        verdict = self.codes.redeem(code, redirect_uri)
        errors = {
            "unknown": MetaError(100, "Invalid verification code format.", subcode=36007),
            "used": MetaError(100, "This authorization code has been used.", subcode=36009),
            "expired": MetaError(100, "This authorization code has expired.", subcode=36007),
            "redirect_mismatch": MetaError(
                100,
                "Error validating verification code. Please make sure your redirect_uri "
                "is identical to the one you used in the OAuth dialog request",
                subcode=36008,
            ),
        }
        if verdict in errors:
            raise errors[verdict]

    def _dialog(self, params: dict[str, str]) -> FakeResponse:
        """The Login dialog, consent already given: back to redirect_uri with a code."""
        redirect_uri = params.get("redirect_uri")
        if params.get("client_id") != self.credentials.meta_app_id or not redirect_uri:
            raise MetaError(101, "Error validating application. Invalid application ID.")
        return redirect_back(
            redirect_uri, {"code": self.codes.issue(redirect_uri), "state": params.get("state", "")}
        )

    # ---- account and entities -----------------------------------------------------------
    def _meta_account(self, account_id: str) -> Any:
        try:
            account = self.merchant.account(account_id)
        except KeyError:
            account = None
        if account is None or account.provider != "meta":
            raise MetaError(
                100,
                f"Unsupported get request. Object with ID 'act_{account_id}' "
                "does not exist, cannot be loaded due to missing permissions, or "
                "does not support this operation.",
                subcode=33,
            )
        return account

    def _account(self, account_id: str, params: dict[str, str]) -> dict[str, Any]:
        account = self._meta_account(account_id)
        full = {
            "id": f"act_{account_id}",
            "account_id": account_id,
            "name": account.name,
            "currency": account.currency,
            "timezone_name": account.timezone,
            "account_status": 1,
        }
        wanted = requested_fields(params, {"id"}, set(full), "AdAccount") | {"id"}
        return {k: full[k] for k in full if k in wanted}

    def _edge(
        self, request: FakeRequest, account_id: str, edge: str, short: dict[str, Any] | None
    ) -> dict[str, Any]:
        self._meta_account(account_id)
        params = request.params
        objects = frozenset({"creative"}) if edge == "ads" else frozenset()
        wanted = requested_fields(
            params, {"id"}, ENTITY_FIELDS[edge], NODE_TYPES[edge], objects
        ) | {"id"}
        creative = expansion(params, "creative") if edge == "ads" else None
        now = self.clock.now()
        sources: dict[str, Callable[[str], Sequence[Node]]] = {
            "campaigns": self.merchant.campaigns_of,
            "adsets": self.merchant.adsets_of,
            "ads": self.merchant.ads_of,
        }
        source = sources[edge](account_id)
        nodes = [entity_node(self.merchant, n, now) for n in source if n.created_at <= now]
        nodes = [n for n in nodes if matches(n, filters(params))]
        nodes.sort(key=lambda n: n["id"])
        page = self._page(request, nodes, short, lambda n: self._entity(n, wanted, creative))
        return page

    def _entity(
        self, node: dict[str, Any], wanted: set[str], creative: FieldRequest | None
    ) -> dict[str, Any]:
        out = {k: node[k] for k in node if k in wanted}
        sandbox_creative = self.merchant.creative_of(node["id"]) if creative else None
        if creative is not None and sandbox_creative is not None:
            out["creative"] = creative_node(
                sandbox_creative, creative, self.thumbnail_url, self.creative_options
            )
        return out

    # ---- creative thumbnails (the CDN) --------------------------------------------------
    def thumbnail_url(self, creative: SandboxCreative, width: int, height: int) -> str:
        """A signed, expiring preview URL like fbcdn's: `oe` is the expiry in hex unix time
        (research19 meta.md §2.5, example in github.com/qsniyg/maxurl issue #1364) and
        `_nc_sig` signs the rest, so no Graph access token is needed to fetch it."""
        expiry = format(int((self.clock.now() + self.thumbnail_ttl).timestamp()), "x")
        sig = self._thumbnail_signature(creative.external_id, width, height, expiry)
        query = urlencode({"w": width, "h": height, "oe": expiry, "_nc_sig": sig})
        return f"{self.base_url}/thumbnails/{creative.external_id}.png?{query}"

    def _thumbnail_signature(self, creative_id: str, width: int, height: int, expiry: str) -> str:
        key = f"fbcdn|{self.merchant.seed}|{self.credentials.meta_app_secret}".encode()
        text = f"{creative_id}|{width}|{height}|{expiry}".encode()
        return hmac.new(key, text, hashlib.sha256).hexdigest()[:32]

    def _creative_by_id(self, creative_id: str) -> SandboxCreative | None:
        for account in self.merchant.accounts_of("meta"):
            for creative in self.merchant.creatives_of(account.external_id):
                if creative.external_id == creative_id:
                    return creative
        return None

    def _thumbnail(self, creative_id: str, params: dict[str, str]) -> FakeResponse:
        """The preview PNG, or 403 with fbcdn's plain-text reasons: "URL signature expired"
        once the clock passes `oe` (research19 meta.md §2.5), "Bad URL hash" for a tampered
        URL (fbcdn's observed text; UNCONFIRMED in Meta docs)."""
        width, height, expiry = params.get("w", ""), params.get("h", ""), params.get("oe", "")
        signed = width.isdigit() and height.isdigit() and bool(re.fullmatch(r"[0-9a-f]+", expiry))
        expected = (
            self._thumbnail_signature(creative_id, int(width), int(height), expiry)
            if signed
            else ""
        )
        if not signed or not hmac.compare_digest(params.get("_nc_sig", ""), expected):
            return FakeResponse(403, b"Bad URL hash", {"content-type": "text/plain"})
        if self.clock.now().timestamp() > int(expiry, 16):
            return FakeResponse(403, b"URL signature expired", {"content-type": "text/plain"})
        creative = self._creative_by_id(creative_id)
        if creative is None:
            return FakeResponse(404, b"Not Found", {"content-type": "text/plain"})
        return FakeResponse(
            200, preview_png(creative, int(width), int(height)), {"content-type": "image/png"}
        )

    # ---- insights -----------------------------------------------------------------------
    def _insights(
        self, request: FakeRequest, account_id: str, short: dict[str, Any] | None
    ) -> dict[str, Any]:
        self._meta_account(account_id)
        as_of = self.clock.now().replace(microsecond=0)  # lets pages share one computed table
        query = self._query(account_id, request.params, as_of)
        if request.method == "POST":
            with self._lock:
                self._serial += 1
                run_id = f"{6_020_000_000_000_000 + self._serial * 7919}"
                self._reports[run_id] = ReportRun(
                    run_id, InsightsTable(self.merchant, query, as_of), as_of
                )
            return {"report_run_id": run_id}
        table = self._table(query, as_of)
        if len(table.keys) > self.sync_row_limit:
            raise TOO_MUCH_DATA
        return self._page(request, table.keys, short, table.row)

    def _table(self, query: InsightsQuery, as_of: datetime) -> InsightsTable:
        key = (query, as_of)
        with self._lock:
            table = self._tables.get(key)
            if table is not None:
                self._tables.move_to_end(key)
                return table
        table = InsightsTable(self.merchant, query, as_of)
        with self._lock:
            self._tables[key] = table
            while len(self._tables) > 8:
                self._tables.popitem(last=False)
        return table

    def _query(self, account_id: str, params: dict[str, str], as_of: datetime) -> InsightsQuery:
        level = params.get("level", "account")
        if level not in LEVELS:
            raise MetaError(
                100, f"(#100) level must be one of the following values: {', '.join(LEVELS)}"
            )
        fields = tuple(f for f in params.get("fields", "spend,impressions").split(",") if f)
        for i, name in enumerate(fields):
            if name not in FIELDS:
                raise MetaError(
                    100,
                    f"(#100) fields[{i}] must be one of the following values: "
                    f"{', '.join(sorted(FIELDS))}",
                )
        breakdowns = [b for b in params.get("breakdowns", "").split(",") if b]
        if any(b != HOURLY for b in breakdowns):
            raise MetaError(
                100, f"(#100) breakdowns[0] is not supported by the sandbox: {breakdowns}"
            )
        hourly = HOURLY in breakdowns
        if hourly and "reach" in fields:
            raise MetaError(100, "Reach-related metric breakdowns are unavailable.", subcode=1487)
        video = [f for f in fields if f in VIDEO_FIELDS]
        if hourly and video and self.hourly_video == "refuse":
            # the message is the Breakdowns page's sentence (Meta's exact error text unknown)
            raise MetaError(
                100,
                f"(#100) video_* fields cannot be requested with any hourly stats breakdowns: "
                f"{', '.join(video)}",
            )
        increment = params.get("time_increment", "all_days")
        if increment not in ("1", "all_days"):
            raise MetaError(100, "(#100) the sandbox supports time_increment 1 or all_days")
        since, until = self._range(account_id, params, as_of)
        return InsightsQuery(
            account_id, level, fields, since, until, increment == "1", hourly, id_filter(params)
        )

    def _range(
        self,
        account_id: str,
        params: dict[str, str],
        as_of: datetime,
    ) -> tuple[date, date]:
        today = self.merchant.account_today(account_id, as_of)
        if "time_range" in params:
            try:
                raw = json.loads(params["time_range"])
                since, until = date.fromisoformat(raw["since"]), date.fromisoformat(raw["until"])
            except (ValueError, KeyError, TypeError) as exc:
                raise MetaError(
                    100, "(#100) param time_range must be a JSON object with since and until dates"
                ) from exc
        else:
            preset = params.get("date_preset", "last_30d")
            presets = {
                "today": (0, 0),
                "yesterday": (1, 1),
                "last_7d": (7, 1),
                "last_14d": (14, 1),
                "last_30d": (30, 1),
                "last_90d": (90, 1),
            }
            if preset not in presets:
                raise MetaError(100, f"(#100) date_preset {preset} is not supported")
            back, end = presets[preset]
            since, until = today - timedelta(days=back), today - timedelta(days=end)
        if since > until:
            raise MetaError(100, "(#100) The time range's since must be before its until")
        if since < today - timedelta(days=37 * 31):
            raise MetaError(
                3018,
                "(#3018) The start date of the time range cannot be beyond "
                "37 months from the current date",
            )
        return since, until

    def _report_status(self, run_id: str, failed: bool) -> dict[str, Any]:
        report = self._report(run_id)
        with self._lock:
            report.polls += 1
            report.failed = report.failed or failed
        done = report.polls >= self.polls_to_complete
        status = (
            "Job Failed"
            if report.failed
            else "Job Completed"
            if done
            else "Job Running"
            if report.polls > 1
            else "Job Started"
        )
        pct = 100 if done and not report.failed else 0 if report.failed else 50
        q = report.table.query
        body = {
            "id": run_id,
            "account_id": q.account_id,
            "async_status": status,
            "async_percent_completion": pct,
            "date_start": q.since.isoformat(),
            "date_stop": q.until.isoformat(),
            "time_ref": int(report.created.timestamp()),
        }
        if report.failed:
            # From v25.0 a failed AdReportRun says why (Marketing API changelog, 2026-01-08
            # async errors post); the sandbox fails runs for their size.
            body.update(error_code=TOO_MUCH_DATA.subcode, error_message=TOO_MUCH_DATA.message)
        return body

    def _report(self, run_id: str) -> ReportRun:
        report = self._reports.get(run_id)
        if report is None:
            raise MetaError(
                100,
                f"Unsupported get request. Object with ID '{run_id}' does not "
                "exist, cannot be loaded due to missing permissions, or does not "
                "support this operation.",
                subcode=33,
            )
        return report

    def _report_rows(
        self, request: FakeRequest, run_id: str, short: dict[str, Any] | None
    ) -> dict[str, Any]:
        report = self._report(run_id)
        if report.failed or report.polls < self.polls_to_complete:
            raise MetaError(100, "(#100) The report is not ready yet; poll its async_status")
        return self._page(request, report.table.keys, short, report.table.row)

    # ---- paging -------------------------------------------------------------------------
    def _page(
        self, request: FakeRequest, items: list[Any], short: dict[str, Any] | None, render: Any
    ) -> dict[str, Any]:
        params = request.params
        try:
            offset = int(decode_cursor(params.get("after"), 0))
            limit = int(params.get("limit", 25))
        except ValueError as exc:
            raise MetaError(100, "(#100) Invalid paging cursor or limit") from exc
        size = page_size(limit, short)
        chunk = items[offset : offset + size]
        body: dict[str, Any] = {"data": [render(item) for item in chunk]}
        if not chunk:
            return body
        end = offset + len(chunk)
        body["paging"] = {"cursors": {"before": encode_cursor(offset), "after": encode_cursor(end)}}
        rest = {k: v for k, v in request.query.items() if k not in ("after", "before")}
        link = f"{self.base_url}{request.path}?"
        if end < len(items):
            body["paging"]["next"] = link + urlencode({**rest, "after": encode_cursor(end)})
        if offset:
            body["paging"]["previous"] = link + urlencode({**rest, "before": encode_cursor(offset)})
        return body
