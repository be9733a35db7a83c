"""Fake TikTok API for Business (Marketing API v1.3): advertiser info, campaign tree (ads with
their creative fields), File: video info and the CDN behind its signed cover links, the
synchronous and asynchronous BASIC reports, the OAuth token exchange, and the portal page
that hands out auth codes.

Answers like business-api.tiktok.com: every answer is HTTP 200 with an envelope {code,
message, request_id, data}, errors included (Appendix "Return Codes", business-api.tiktok.com/
portal/docs?id=1737172488964097); the token comes in the `Access-Token` header (official SDK,
python_sdk/business_api_client/api/*.py); list parameters of GET requests are JSON arrays
(yml_files/report_integrated_get.yml); lists page with page/page_size and
`data.page_info` {page, page_size, total_number, total_page}.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from itertools import count
from threading import Lock
from typing import Any

from metricx.sandbox.ad_copy import (
    TikTokAdCopy,
    TikTokVideo,
    cover_png,
    tiktok_ad_copy,
    tiktok_videos,
)
from metricx.sandbox.clock import SandboxClock
from metricx.sandbox.credentials import SandboxCredentials
from metricx.sandbox.entities import Account, Ad, AdSet, Campaign, Node
from metricx.sandbox.fakes.base import (
    FakeApp,
    FakeRequest,
    FakeResponse,
    json_response,
    redirect_back,
)
from metricx.sandbox.fakes.faults import Fault, FaultPlan
from metricx.sandbox.fakes.tiktok_report import ReportError, ReportQuery, ReportTable, parse_query
from metricx.sandbox.fakes.tokens import AuthCodes, TokenStore
from metricx.sandbox.merchant import Merchant

PROVIDER = "tiktok"
VERSION = "v1.3"
# What each fault kind answers (Return Codes appendix, docs?id=1737172488964097):
FAULT_KINDS = frozenset(
    {
        "throttle",  # 40100 "Too many requests"
        "server_error",  # HTTP 5xx from the gateway
        "system_error",  # HTTP 200, code 50000 "System error"
        "expired_token",  # 40102 access token expired
        "revoked_token",  # 40105 access token invalid or revoked
        "no_permission",  # 40001 no permission for the advertiser
        "bad_request",  # 40002 invalid parameter
        "malformed",  # the answer cut in the middle
        "task_failed",  # an async report task ends FAILED
    }
)
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
# page_size: 1-1000, default 10; page: from 1 (yml_files/report_integrated_get.yml; the
# campaign/adgroup/ad get endpoints page the same way).
MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE = 1000, 10
# Permission scope ids an authorized app receives (Authentication: `scope` is a list of
# permission ids); the sandbox grants Ads Management (4) and Reporting (5).
SANDBOX_SCOPE = (4, 5)
# Report Task Check statuses (docs?id=1740302781443073): QUEUING, PROCESSING, then SUCCESS,
# FAILED or CANCELED.
QUEUING, PROCESSING, SUCCESS, FAILED, CANCELED = (
    "QUEUING",
    "PROCESSING",
    "SUCCESS",
    "FAILED",
    "CANCELED",
)
ROUTES = {
    ("GET", "advertiser/info/"): "advertiser",
    ("GET", "campaign/get/"): "campaigns",
    ("GET", "adgroup/get/"): "adgroups",
    ("GET", "ad/get/"): "ads",
    ("GET", "report/integrated/get/"): "report",
    ("POST", "report/task/create/"): "task_create",
    ("GET", "report/task/check/"): "task_check",
    ("GET", "report/task/download/"): "task_download",
    ("POST", "report/task/cancel/"): "task_cancel",
    ("GET", "file/video/ad/info/"): "video_info",
    ("POST", "oauth2/access_token/"): "oauth",
}
API_PATH = re.compile(r"^/open_api/(v\d+\.\d+)/(.+)$")
# The CDN behind `video_cover_url` (p16-sign-*.tiktokcdn.com/...~tplv-noop.image?x-expires=
# <unix seconds>&x-signature=..., research19 google_tiktok.md B2); served by this fake.
COVER_PATH = re.compile(r"^/covers/(v[0-9a-z]+)~tplv-noop\.image$")
# File: video info (FileApi.md, GET /file/video/ad/info/): "Video ID list. Up to 60 IDs per
# request."
MAX_VIDEO_IDS = 60


class TikTokError(Exception):
    """An error envelope: HTTP 200 (unless `status` says otherwise) with a non-zero code."""

    def __init__(self, code: int, message: str, status: int = 200) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def _bad(message: str) -> TikTokError:
    return TikTokError(40002, message)


@dataclass
class ReportTask:
    id: str
    advertiser_id: str
    table: ReportTable
    output_format: str
    polls: int = 0
    state: str = QUEUING


class TikTokFake(FakeApp):
    """Routes /open_api/v1.3/ requests against the merchant's TikTok advertisers."""

    provider = PROVIDER
    polls_to_complete = 2  # checks before a task reports SUCCESS (QUEUING, PROCESSING, ...)
    # Whether hourly reports carry page-event conversions (tiktok_report.PAGE_EVENT_METRICS:
    # ambiguous in the docs, served by default).
    hourly_conversions = True
    # How long a `video_cover_url` lives: "valid for 6 hours" (video_cover_url, File: video
    # info; bububa/tiktok-business model/file/video/video.go). What TikTok's CDN answers
    # after that is not documented: the sandbox answers 403, as signed CDN links do.
    cover_ttl = timedelta(hours=6)

    def __init__(
        self,
        merchant: Merchant,
        clock: SandboxClock,
        faults: FaultPlan,
        credentials: SandboxCredentials,
    ) -> None:
        super().__init__(merchant, clock, faults)
        self.credentials = credentials
        self.tokens = TokenStore(clock, "act.sandbox-tiktok-")
        self.tokens.accept(credentials.tiktok_access_token)
        # The exchange takes no redirect_uri, so codes are bound to none.
        self.codes = AuthCodes(clock, "sandbox-tiktok-code-", credentials.tiktok_auth_code)
        self._lock = Lock()
        self._serial = count(1)
        self._tasks: dict[str, ReportTask] = {}
        self._tables: OrderedDict[tuple[ReportQuery, datetime], ReportTable] = OrderedDict()

    # ---- faults -------------------------------------------------------------------------
    def _route(self, request: FakeRequest) -> str | None:
        if request.path == "/portal/auth":
            return "portal"
        if request.path.startswith("/files/"):
            return "file"
        if COVER_PATH.match(request.path):
            return "cover"
        match = API_PATH.match(request.path)
        return ROUTES.get((request.method, match.group(2))) if match else None

    def fault_applies(self, kind: str, request: FakeRequest) -> bool:
        route = self._route(request)
        if route in (None, "portal", "file", "cover"):
            return False
        if route == "oauth":
            return kind in ("throttle", "server_error", "system_error", "malformed")
        if kind == "task_failed":
            return route == "task_check"
        if kind == "malformed":
            # A CSV cut between lines reads as a shorter report: nothing in the file says how
            # long it should be, so only JSON answers are cut.
            return route != "task_download"
        return True

    def render_fault(self, fault: Fault, request: FakeRequest) -> FakeResponse | None:
        p = fault.params
        errors = {
            "throttle": TikTokError(40100, "Too many requests. Please retry in some time."),
            "server_error": TikTokError(50000, "System error", status=int(p.get("status", 500))),
            "system_error": TikTokError(50000, "System error"),
            "expired_token": TikTokError(40102, "Access token has expired."),
            "revoked_token": TikTokError(40105, "Access token is incorrect or has been revoked."),
            "no_permission": TikTokError(40001, "No permission to operate this advertiser."),
            "bad_request": _bad(p.get("message", "Invalid parameter.")),
        }
        error = errors.get(fault.kind)
        return self._envelope(None, error) if error else None

    # ---- routing ------------------------------------------------------------------------
    def handle(self, request: FakeRequest, fault: Fault | None) -> FakeResponse:
        route = self._route(request)
        if route == "portal":
            return self._portal(request.query)
        if route == "file":
            return self._file(request.path)
        if route == "cover":
            return self._cover(request.path, request.query)
        match = API_PATH.match(request.path)
        if route is None or match is None or match.group(1) != VERSION:
            # The sandbox's answer for a path the API does not have (no documented shape).
            return json_response(404, {"code": 40400, "message": "Not found", "data": {}})
        try:
            if route == "oauth":
                return self._envelope(self._exchange(request.json() or {}))
            params = (request.json() or {}) if request.method == "POST" else request.query
            self._authenticate(request)
            if route == "advertiser":
                return self._envelope(self._advertisers(params))
            advertiser = self._advertiser(str(params.get("advertiser_id", "")))
            if route in ("campaigns", "adgroups", "ads"):
                return self._envelope(self._entities(route, advertiser, params))
            if route == "video_info":
                return self._envelope(self._video_info(advertiser, params))
            if route == "report":
                return self._envelope(self._report(advertiser, params))
            if route == "task_create":
                return self._envelope(self._create_task(advertiser, params))
            failed = fault is not None and fault.kind == "task_failed"
            task = self._task(advertiser, str(params.get("task_id", "")))
            if route == "task_check":
                return self._envelope(self._check(task, failed))
            if route == "task_cancel":
                task.state = CANCELED
                return self._envelope({"task_id": task.id, "status": CANCELED})
            return self._download(task)
        except TikTokError as error:
            return self._envelope(None, error)

    def _envelope(self, data: Any, error: TikTokError | None = None) -> FakeResponse:
        """{code, message, request_id, data}; OK is code 0 and message "OK"."""
        request_id = f"{self.clock.now():%Y%m%d%H%M%S}{next(self._serial):018X}"
        if error is None:
            return json_response(
                200, {"code": 0, "message": "OK", "request_id": request_id, "data": data}
            )
        body = {"code": error.code, "message": error.message, "request_id": request_id}
        return json_response(error.status, {**body, "data": {}})

    def _authenticate(self, request: FakeRequest) -> None:
        token = request.headers.get("access-token")
        if not token:
            raise TikTokError(40104, "Access token is null, please check your request.")
        if not self.tokens.valid(token):
            if self.tokens.known(token):
                raise TikTokError(40102, "Access token has expired.")
            raise TikTokError(40105, "Access token is incorrect or has been revoked.")

    def _advertiser(self, advertiser_id: str) -> Account:
        """The advertiser if the token was authorized for it (every sandbox token is
        authorized for all of the merchant's TikTok advertisers), else 40001."""
        if not advertiser_id:
            raise _bad("advertiser_id: Missing data for required field.")
        found = [a for a in self.merchant.accounts_of(PROVIDER) if a.external_id == advertiser_id]
        if not found:
            raise TikTokError(
                40001, f"No permission to operate advertiser {advertiser_id}, please check."
            )
        return found[0]

    # ---- advertiser and entities --------------------------------------------------------
    def _advertisers(self, params: dict[str, Any]) -> dict[str, Any]:
        ids = _json_list(params.get("advertiser_ids"), "advertiser_ids")
        accounts = [self._advertiser(i) for i in ids]
        # Advertiser Info (docs?id=1739593083610113): `timezone` is the account's time zone
        # as a GMT offset zone, `display_timezone` the region's IANA name. The sandbox's
        # zones are regional, so both carry it (a real account may show "Etc/GMT+5").
        full = [
            {
                "advertiser_id": a.external_id,
                "name": a.name,
                "currency": a.currency,
                "timezone": a.timezone,
                "display_timezone": a.timezone,
                "status": "STATUS_ENABLE",
                "role": "ROLE_ADVERTISER",
                "create_time": int(
                    datetime.combine(self.merchant.start_day, time(), UTC).timestamp()
                ),
            }
            for a in accounts
        ]
        wanted = params.get("fields")
        if wanted is None:
            return {"list": full}
        fields = set(_json_list(wanted, "fields"))
        unknown = fields - set(full[0] if full else fields)
        if unknown:
            raise _bad(f"fields: Invalid field(s) {sorted(unknown)}.")
        return {"list": [{k: v for k, v in row.items() if k in fields} for row in full]}

    def _entities(self, route: str, account: Account, params: dict[str, Any]) -> dict[str, Any]:
        """Campaign Get / Ad Group Get / Ad Get: nodes that exist by now, by ID."""
        now = self.clock.now()
        sources: dict[str, Sequence[Node]] = {
            "campaigns": self.merchant.campaigns_of(account.external_id),
            "adgroups": self.merchant.adsets_of(account.external_id),
            "ads": self.merchant.ads_of(account.external_id),
        }
        nodes = [
            _node(n, now, tiktok_ad_copy(self.merchant, n) if isinstance(n, Ad) else None)
            for n in sources[route]
            if n.created_at <= now
        ]
        id_field = {"campaigns": "campaign_id", "adgroups": "adgroup_id", "ads": "ad_id"}[route]
        nodes.sort(key=lambda n: n[id_field])
        if "fields" in params:
            fields = set(_json_list(params["fields"], "fields"))
            unknown = fields - set(nodes[0] if nodes else fields)
            if unknown:
                raise _bad(f"fields: Invalid field(s) {sorted(unknown)}.")
            nodes = [{k: v for k, v in n.items() if k in fields} for n in nodes]
        return self._page(params, nodes)

    # ---- the asset library: videos and their covers -----------------------------------
    def _video_info(self, account: Account, params: dict[str, Any]) -> dict[str, Any]:
        """File: video info (GET /file/video/ad/info/; FileApi.md; fields of
        bububa/tiktok-business model/file/video/video.go). `video_ids` is required, 1-60
        ids; an id the advertiser's library does not hold (yet) is left out of `list`
        without an error ("if a video cannot be used for ads, its id is ignored",
        model/file/video/ad_info.go)."""
        if "video_ids" not in params:
            raise _bad("video_ids: Missing data for required field.")
        ids = _json_list(params["video_ids"], "video_ids")
        if not 1 <= len(ids) <= MAX_VIDEO_IDS:
            raise _bad(f"video_ids: Length must be between 1 and {MAX_VIDEO_IDS}.")
        now = self.clock.now()
        library = tiktok_videos(self.merchant, account.external_id)
        found = [library[i] for i in dict.fromkeys(ids) if i in library]
        return {"list": [self._video(v) for v in found if v.created_at <= now]}

    def _video(self, video: TikTokVideo) -> dict[str, Any]:
        """One video as File: video info returns it. `preview_url` (the playable file) is
        left out: the sandbox serves no video files."""
        created = video.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        return {
            "video_id": video.video_id,
            "material_id": str(int(hashlib.md5(video.video_id.encode()).hexdigest()[:15], 16)),
            "file_name": video.file_name,
            "format": "mp4",
            "duration": video.duration,
            "width": video.width,
            "height": video.height,
            "bit_rate": int(video.size * 8 / video.duration),
            "size": video.size,
            "signature": hashlib.md5(f"video|{video.video_id}".encode()).hexdigest(),
            "video_cover_url": self.cover_url(video.video_id),
            "allowed_placements": ["PLACEMENT_TIKTOK"],
            "allow_download": True,
            "displayable": True,
            "create_time": created,
            "modify_time": created,
        }

    def cover_url(self, video_id: str) -> str:
        """A signed cover link: `x-expires` is its expiry in Unix seconds and
        `x-signature` signs the path and expiry, so no Access-Token is needed to fetch it."""
        expires = int((self.clock.now() + self.cover_ttl).timestamp())
        signature = self._cover_signature(video_id, expires)
        return (
            f"{self.base_url}/covers/{video_id}~tplv-noop.image"
            f"?x-expires={expires}&x-signature={signature}"
        )

    def _cover_signature(self, video_id: str, expires: int) -> str:
        key = f"tiktokcdn|{self.merchant.seed}|{self.credentials.tiktok_app_secret}".encode()
        return hmac.new(key, f"{video_id}|{expires}".encode(), hashlib.sha256).hexdigest()[:28]

    def _cover(self, path: str, params: dict[str, str]) -> FakeResponse:
        """The cover image; 403 for a link whose signature does not match or whose
        `x-expires` has passed (the CDN's wording is not documented)."""
        match = COVER_PATH.match(path)
        video_id = match.group(1) if match else ""
        expires = params.get("x-expires", "")
        expected = self._cover_signature(video_id, int(expires)) if expires.isdigit() else ""
        if not expected or not hmac.compare_digest(params.get("x-signature", ""), expected):
            return FakeResponse(403, b"Forbidden: bad signature", {"content-type": "text/plain"})
        if self.clock.now().timestamp() > int(expires):
            return FakeResponse(403, b"Forbidden: link expired", {"content-type": "text/plain"})
        for account in self.merchant.accounts_of(PROVIDER):
            video = tiktok_videos(self.merchant, account.external_id).get(video_id)
            if video is not None:
                return FakeResponse(200, cover_png(video), {"content-type": "image/png"})
        return FakeResponse(404, b"Not Found", {"content-type": "text/plain"})

    # ---- reports ------------------------------------------------------------------------
    def _query(self, account: Account, params: dict[str, Any], *, limit_span: bool) -> Any:
        try:
            return parse_query(
                {**params, "advertiser_id": account.external_id},
                limit_span=limit_span,
                hourly_conversions=self.hourly_conversions,
            )
        except ReportError as error:
            raise _bad(str(error)) from None

    def _report(self, account: Account, params: dict[str, Any]) -> dict[str, Any]:
        query = self._query(account, params, limit_span=True)
        # Rows computed once per second of sandbox time so that pages of one read agree.
        as_of = self.clock.now().replace(microsecond=0)
        key = (query, as_of)
        with self._lock:
            table = self._tables.get(key)
        if table is None:
            table = ReportTable(self.merchant, query, as_of)
            with self._lock:
                self._tables[key] = table
                while len(self._tables) > 8:
                    self._tables.popitem(last=False)
        rows = [{"dimensions": d, "metrics": m} for d, m in table.rows]
        return self._page(params, rows)

    def _create_task(self, account: Account, params: dict[str, Any]) -> dict[str, Any]:
        """Report Task Create (docs?id=1740302766489602): the same query as a sync report,
        any time frame, computed as of the moment the task was created."""
        query = self._query(account, params, limit_span=False)
        output = params.get("output_format", "CSV_STRING")
        if output not in ("CSV_STRING", "CSV_DOWNLOAD"):
            raise _bad(
                f"output_format: the sandbox serves CSV_STRING and CSV_DOWNLOAD, not {output}."
            )
        if params.get("enable_report_title_translation", True) is not False:
            # Translated titles ("Cost", "Ad ID") are not modelled: the sandbox insists.
            raise _bad("enable_report_title_translation: the sandbox serves raw field names only.")
        task_id = str(7_310_000_000_000_000_000 + next(self._serial) * 7919)
        table = ReportTable(self.merchant, query, self.clock.now())
        with self._lock:
            self._tasks[task_id] = ReportTask(task_id, account.external_id, table, output)
        return {"task_id": task_id}

    def _task(self, account: Account, task_id: str) -> ReportTask:
        with self._lock:
            task = self._tasks.get(task_id)
        if task is None or task.advertiser_id != account.external_id:
            raise _bad(f"task_id: Task {task_id} does not exist.")
        return task

    def _check(self, task: ReportTask, failed: bool) -> dict[str, Any]:
        """Report Task Check: {status, message}; QUEUING, then PROCESSING, then SUCCESS."""
        with self._lock:
            if task.state not in (SUCCESS, FAILED, CANCELED):
                task.polls += 1
                task.state = (
                    FAILED
                    if failed
                    else SUCCESS
                    if task.polls >= self.polls_to_complete
                    else PROCESSING
                )
        return {"status": task.state, "message": "" if task.state != FAILED else "Task failed"}

    def _download(self, task: ReportTask) -> FakeResponse:
        """Report Task Download (docs?id=1740302808815618). Ambiguous in the docs and absent
        from the SDK: the sandbox answers CSV_STRING tasks with the CSV itself and
        CSV_DOWNLOAD tasks with an envelope holding a pre-signed `download_url`."""
        if task.state != SUCCESS:
            raise _bad(f"task_id: Task {task.id} is {task.state}, not SUCCESS.")
        if task.output_format == "CSV_STRING":
            return FakeResponse(
                200, task.table.csv().encode(), {"content-type": "text/csv; charset=utf-8"}
            )
        url = f"{self.base_url}/files/{task.id}.csv?x-expires=3600&x-signature=sandbox"
        return self._envelope({"download_url": url})

    def _file(self, path: str) -> FakeResponse:
        """The file behind a pre-signed download URL (no Access-Token: the URL is the key)."""
        task_id = path.removeprefix("/files/").removesuffix(".csv")
        with self._lock:
            task = self._tasks.get(task_id)
        if task is None or task.state != SUCCESS:
            return FakeResponse(404, b"NoSuchKey", {"content-type": "text/plain"})
        return FakeResponse(200, task.table.csv().encode(), {"content-type": "text/csv"})

    # ---- oauth --------------------------------------------------------------------------
    def _portal(self, params: dict[str, str]) -> FakeResponse:
        """The authorization page, consent given: back to redirect_uri with auth_code (and
        `code`, the same value) and state (Authentication, docs?id=1738373164380162)."""
        redirect_uri = params.get("redirect_uri")
        if params.get("app_id") != self.credentials.tiktok_app_id or not redirect_uri:
            return FakeResponse(
                400, b"Invalid app_id or redirect_uri", {"content-type": "text/plain"}
            )
        code = self.codes.issue("")
        return redirect_back(
            redirect_uri, {"auth_code": code, "code": code, "state": params.get("state", "")}
        )

    def _exchange(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST oauth2/access_token/ {app_id, secret, auth_code}: a long-term token (no
        expires_in: it lasts until revoked) and the advertisers it may read."""
        c = self.credentials
        if str(body.get("app_id")) != c.tiktok_app_id or body.get("secret") != c.tiktok_app_secret:
            raise TikTokError(40001, "The app_id or secret is invalid.")
        verdict = self.codes.redeem(body.get("auth_code"), "")
        if verdict == "used":
            raise _bad("auth_code has been used.")
        if verdict != "ok":
            raise _bad("auth_code is invalid or has expired.")
        return {
            "access_token": self.tokens.issue(),
            "advertiser_ids": [a.external_id for a in self.merchant.accounts_of(PROVIDER)],
            "scope": list(SANDBOX_SCOPE),
        }

    # ---- paging -------------------------------------------------------------------------
    def _page(self, params: dict[str, Any], items: list[Any]) -> dict[str, Any]:
        try:
            page = int(params.get("page", 1))
            size = int(params.get("page_size", DEFAULT_PAGE_SIZE))
        except (TypeError, ValueError):
            raise _bad("page/page_size: Not a valid integer.") from None
        if page < 1:
            raise _bad("page: Must be greater than or equal to 1.")
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise _bad(f"page_size: Must be between 1 and {MAX_PAGE_SIZE}.")
        chunk = items[(page - 1) * size : page * size]
        info = {
            "page": page,
            "page_size": size,
            "total_number": len(items),
            "total_page": math.ceil(len(items) / size),
        }
        return {"list": chunk, "page_info": info}


def _json_list(value: Any, name: str) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    try:
        parsed = json.loads(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if not isinstance(parsed, list):
        raise _bad(f"{name}: Not a valid list.")
    return [str(v) for v in parsed]


def _node(node: Node, now: datetime, copy: TikTokAdCopy | None = None) -> dict[str, Any]:
    """A campaign, ad group or ad as the get endpoints return it. `operation_status` is the
    merchant's switch (ENABLE/DISABLE); `secondary_status` the delivery state; times are
    UTC "YYYY-MM-DD HH:MM:SS"; budgets are numbers in the account currency, major units.
    An ad carries its creative fields (`copy`)."""
    status = node.status_at(now)
    on = status == "ENABLE"
    out: dict[str, Any] = {
        "advertiser_id": node.account_id,
        "operation_status": status,
        "create_time": node.created_at.strftime(TIME_FORMAT),
        "modify_time": node.updated_at(now).strftime(TIME_FORMAT),
    }
    if isinstance(node, Campaign):
        out.update(
            campaign_id=node.external_id,
            campaign_name=node.name,
            objective_type=node.objective,
            secondary_status="CAMPAIGN_STATUS_ENABLE" if on else "CAMPAIGN_STATUS_DISABLE",
            budget_mode=node.budget_mode,
            budget=node.budget if node.budget is not None else 0.0,
        )
    elif isinstance(node, AdSet):
        out.update(
            adgroup_id=node.external_id,
            adgroup_name=node.name,
            campaign_id=node.campaign_id,
            secondary_status="ADGROUP_STATUS_DELIVERY_OK" if on else "ADGROUP_STATUS_DISABLE",
            budget_mode=node.budget_mode,
            budget=node.budget if node.budget is not None else 0.0,
        )
    elif isinstance(node, Ad):
        out.update(
            ad_id=node.external_id,
            ad_name=node.name,
            adgroup_id=node.adset_id,
            campaign_id=node.campaign_id,
            secondary_status="AD_STATUS_DELIVERY_OK" if on else "AD_STATUS_DISABLE",
        )
        if copy is not None:
            out.update(_creative_fields(copy))
    return out


def _creative_fields(copy: TikTokAdCopy) -> dict[str, Any]:
    """Ad Get's creative fields (AdApi.md; bububa/tiktok-business model/ad/ad.go): a Spark Ad
    has `tiktok_item_id` and a null `video_id`, and is shown under the creator's identity
    (AUTH_CODE); other ads under the advertiser's custom identity (CUSTOMIZED_USER).
    `image_ids` of a video ad is its cover. Unset fields come back as null (without
    exclude_field_types_in_response=["NULL_FIELD"])."""
    return {
        "ad_format": copy.ad_format,
        "video_id": copy.video.video_id if copy.video is not None else None,
        "image_ids": list(copy.image_ids),
        "tiktok_item_id": copy.tiktok_item_id,
        "ad_text": copy.ad_text,
        "call_to_action": copy.call_to_action,
        "display_name": "Northwind Outfitters",
        "identity_type": "AUTH_CODE" if copy.tiktok_item_id else "CUSTOMIZED_USER",
    }
