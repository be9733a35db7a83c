"""Fake Google Ads REST API (googleAds:search / :searchStream) and Google's OAuth endpoints
(the consent screen that hands out codes, and the token endpoint).

Checks the three headers a real call needs (Authorization, developer-token, login-customer-id),
answers errors as google.rpc.Status with a GoogleAdsFailure inside, and streams as a JSON
array of batches in which an error object can also appear (after some batches were sent).
"""

from __future__ import annotations

import re
from datetime import timedelta
from hashlib import sha1
from typing import Any

from metricx.sandbox.clock import SandboxClock
from metricx.sandbox.credentials import SandboxCredentials
from metricx.sandbox.entities import Account
from metricx.sandbox.fakes.base import (
    FakeApp,
    FakeRequest,
    FakeResponse,
    json_response,
    redirect_back,
)
from metricx.sandbox.fakes.faults import Fault, FaultPlan
from metricx.sandbox.fakes.gaql import GaqlError, parse
from metricx.sandbox.fakes.google_report import Report, field_mask
from metricx.sandbox.fakes.paging import decode_cursor, encode_cursor, page_size
from metricx.sandbox.fakes.tokens import AuthCodes, TokenStore
from metricx.sandbox.merchant import Merchant

ACCESS_TOKEN_SECONDS = 3599
SCOPE = "https://www.googleapis.com/auth/adwords"
SEARCH_PATH = re.compile(r"^/(v\d+)/customers/(\d+)/googleAds:(search|searchStream)$")
TOKEN_PATH = "/token"
AUTHORIZE_PATH = "/o/oauth2/v2/auth"
STATUS_BY_HTTP = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                  404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL",
                  503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}


class GoogleError(Exception):
    """Raised inside the fake to answer with a google.rpc.Status body."""

    def __init__(self, http: int, message: str, error_code: dict[str, str] | None = None,
                 details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.http, self.message, self.error_code, self.details = http, message, error_code, details

    def body(self, version: str) -> dict[str, Any]:
        status: dict[str, Any] = {"code": self.http, "message": self.message,
                                  "status": STATUS_BY_HTTP.get(self.http, "UNKNOWN")}
        if self.error_code is not None:
            error: dict[str, Any] = {"errorCode": self.error_code, "message": self.message}
            if self.details:
                error["details"] = self.details
            status["details"] = [{
                "@type": f"type.googleapis.com/google.ads.googleads.{version}.errors."
                         "GoogleAdsFailure",
                "errors": [error], "requestId": "sandbox-request-0001"}]
        return {"error": status}


def _fault_error(fault: Fault) -> GoogleError:
    p = fault.params
    if fault.kind == "throttle":
        return GoogleError(429, "Resource has been exhausted (e.g. check quota).",
                           {"quotaError": "RESOURCE_TEMPORARILY_EXHAUSTED"},
                           {"quotaErrorDetails": {"rateScope": "ACCOUNT",
                                                  "rateName": "Number of operations for basic "
                                                              "access",
                                                  "retryDelay": p.get("retry_delay", "30s")}})
    if fault.kind == "auth":
        return GoogleError(401, "Request had invalid authentication credentials. Expected OAuth "
                           "2 access token, login cookie or other valid authentication "
                           "credential.", {"authenticationError": "OAUTH_TOKEN_INVALID"})
    if fault.kind == "bad_request":
        return GoogleError(400, "Request contains an invalid argument.",
                           {"queryError": p.get("code", "UNEXPECTED_INPUT")})
    status = int(p.get("status", 500))
    return GoogleError(status, "Internal error encountered." if status == 500 else
                       "The service is currently unavailable.",
                       {"internalError": "INTERNAL_ERROR"} if status == 500 else None)


class GoogleAdsFake(FakeApp):
    """Routes search, searchStream and token requests against the merchant's Google accounts."""

    provider = "google"
    search_page_size = 10_000
    stream_batch_size = 10_000

    def __init__(self, merchant: Merchant, clock: SandboxClock, faults: FaultPlan,
                 credentials: SandboxCredentials) -> None:
        super().__init__(merchant, clock, faults)
        self.credentials = credentials
        self.access_tokens = TokenStore(clock, "ya29.sandbox-")
        self.refresh_tokens = TokenStore(clock, "1//sandbox-refresh-")
        self.refresh_tokens.accept(credentials.google_refresh_token)
        self.codes = AuthCodes(clock, "4/0Asandbox-google-", credentials.google_auth_code)

    # ---- faults -------------------------------------------------------------------------
    def fault_applies(self, kind: str, request: FakeRequest) -> bool:
        if request.path == TOKEN_PATH:
            return kind == "invalid_grant"
        match = SEARCH_PATH.match(request.path)
        if kind == "invalid_grant" or match is None:
            return False
        if kind == "stream_error":
            return match.group(3) == "searchStream"
        if kind == "short_page":
            return match.group(3) == "search"
        return True

    def render_fault(self, fault: Fault, request: FakeRequest) -> FakeResponse | None:
        if fault.kind == "invalid_grant":
            return json_response(400, {"error": "invalid_grant",
                                       "error_description": "Token has been expired or revoked."})
        if fault.kind in ("stream_error", "short_page"):
            return None
        match = SEARCH_PATH.match(request.path)
        version = match.group(1) if match else "v18"
        error = _fault_error(fault)
        return json_response(error.http, error.body(version))

    # ---- routing ------------------------------------------------------------------------
    def handle(self, request: FakeRequest, fault: Fault | None) -> FakeResponse:
        if request.path == TOKEN_PATH and request.method == "POST":
            return self._token(request.params)
        if request.path == AUTHORIZE_PATH and request.method == "GET":
            return self._consent(request.params)
        match = SEARCH_PATH.match(request.path)
        if match is None or request.method != "POST":
            return json_response(404, GoogleError(404, f"Not found: {request.path}").body("v18"))
        version, customer_id, method = match.groups()
        try:
            customer = self._authorize(request, customer_id)
            body = request.json()
            if not isinstance(body, dict) or not isinstance(body.get("query"), str):
                raise GoogleError(400, "Invalid JSON payload: expected {\"query\": \"...\"}.",
                                  {"requestError": "INVALID_INPUT"})
            try:
                query = parse(body["query"])
                report = Report(self.merchant, customer, query, self.clock.now())
            except GaqlError as exc:
                raise GoogleError(400, "Request contains an invalid argument.",
                                  {"queryError": exc.code}, None) from exc
            if method == "searchStream":
                return self._stream(report, version, fault)
            return self._search(report, body, fault)
        except GoogleError as error:
            return json_response(error.http, error.body(version))

    def _authorize(self, request: FakeRequest, customer_id: str) -> Account:
        auth = request.headers.get("authorization", "")
        token = auth[7:] if auth.lower().startswith("bearer ") else None
        if not self.access_tokens.valid(token):
            raise GoogleError(401, "Request had invalid authentication credentials. Expected "
                              "OAuth 2 access token, login cookie or other valid authentication "
                              "credential.", {"authenticationError": "OAUTH_TOKEN_INVALID"
                                              if token else "NOT_ADS_USER"})
        if request.headers.get("developer-token") != self.credentials.google_developer_token:
            raise GoogleError(401, "The developer token is not valid.",
                              {"authenticationError": "DEVELOPER_TOKEN_INVALID"})
        login = request.headers.get("login-customer-id")
        if login is not None and not login.isdigit():
            raise GoogleError(400, "Invalid login-customer-id header: use 10 digits, no dashes.",
                              {"requestError": "INVALID_CUSTOMER_ID"})
        accounts = {a.external_id: a for a in self.merchant.accounts_of("google")}
        allowed_login = (None, customer_id, self.credentials.google_login_customer_id)
        if customer_id not in accounts or login not in allowed_login:
            raise GoogleError(403, "User doesn't have permission to access customer. Note: If "
                              "you're accessing a client customer, the manager's customer id "
                              "must be set in the 'login-customer-id' header.",
                              {"authorizationError": "USER_PERMISSION_DENIED"})
        return accounts[customer_id]

    # ---- answers ------------------------------------------------------------------------
    def _stream(self, report: Report, version: str, fault: Fault | None) -> FakeResponse:
        mask = field_mask(report.query.select)
        rows = report.rows
        size = self.stream_batch_size
        batches: list[dict[str, Any]] = []
        for start in range(0, max(len(rows), 1), size):
            batch: dict[str, Any] = {}
            chunk = rows[start : start + size]
            if chunk:
                batch["results"] = [report.render(r) for r in chunk]
            batch.update(fieldMask=mask, requestId=f"sandbox-stream-{start}")
            batches.append(batch)
        batches[-1]["queryResourceConsumption"] = str(10 * len(rows) + 1)
        if fault is not None and fault.kind == "stream_error":
            after = int(fault.params.get("after", max(1, len(rows) // 2)))
            head = {"results": [report.render(r) for r in rows[:after]], "fieldMask": mask,
                    "requestId": "sandbox-stream-0"}
            # the error a stream carries: server_error (default), throttle, auth, bad_request
            kind = fault.params.get("error", "server_error")
            batches = [head, _fault_error(Fault("google", kind, params=fault.params)).body(version)]
        return json_response(200, batches)

    def _search(self, report: Report, body: dict[str, Any], fault: Fault | None,
                ) -> FakeResponse:
        digest = sha1(repr(report.query).encode()).hexdigest()[:12]
        try:
            cursor = decode_cursor(body.get("pageToken"), {"o": 0, "q": digest})
            offset = int(cursor["o"])
            if cursor["q"] != digest:
                raise ValueError("query changed")
        except (ValueError, KeyError, TypeError) as exc:
            raise GoogleError(400, "Page token is invalid.",
                              {"requestError": "INVALID_PAGE_TOKEN"}) from exc
        short = fault.params if fault is not None and fault.kind == "short_page" else None
        size = page_size(self.search_page_size, short)
        chunk = report.rows[offset : offset + size]
        answer: dict[str, Any] = {}
        if chunk:
            answer["results"] = [report.render(r) for r in chunk]
        if offset + len(chunk) < len(report.rows):
            answer["nextPageToken"] = encode_cursor({"o": offset + len(chunk), "q": digest})
        if body.get("returnTotalResultsCount"):
            answer["totalResultsCount"] = str(len(report.rows))
        answer["fieldMask"] = field_mask(report.query.select)
        return json_response(200, answer)

    def _token(self, params: dict[str, str]) -> FakeResponse:
        c = self.credentials
        if params.get("client_id") != c.google_client_id or \
                params.get("client_secret") != c.google_client_secret:
            return json_response(401, {"error": "invalid_client",
                                       "error_description": "The OAuth client was not found."})
        grant = params.get("grant_type")
        ttl = timedelta(seconds=ACCESS_TOKEN_SECONDS)
        if grant == "refresh_token":
            if not self.refresh_tokens.valid(params.get("refresh_token")):
                return json_response(400, {"error": "invalid_grant",
                                           "error_description": "Token has been expired or "
                                                                "revoked."})
            return json_response(200, {"access_token": self.access_tokens.issue(ttl),
                                       "expires_in": ACCESS_TOKEN_SECONDS, "scope": SCOPE,
                                       "token_type": "Bearer"})
        if grant == "authorization_code":
            verdict = self.codes.redeem(params.get("code"), params.get("redirect_uri"))
            if verdict == "redirect_mismatch":
                return json_response(400, {"error": "redirect_uri_mismatch",
                                           "error_description": "Bad Request"})
            if verdict != "ok":
                return json_response(400, {"error": "invalid_grant", "error_description": {
                    "unknown": "Malformed auth code.", "used": "Code was already redeemed.",
                    "expired": "Bad Request"}[verdict]})
            return json_response(200, {"access_token": self.access_tokens.issue(ttl),
                                       "expires_in": ACCESS_TOKEN_SECONDS,
                                       "refresh_token": self.refresh_tokens.issue(),
                                       "scope": SCOPE, "token_type": "Bearer"})
        return json_response(400, {"error": "unsupported_grant_type",
                                   "error_description": f"Invalid grant_type: {grant}"})

    def _consent(self, params: dict[str, str]) -> FakeResponse:
        """The consent screen, consent already given: back to redirect_uri with a code."""
        redirect_uri = params.get("redirect_uri")
        if params.get("client_id") != self.credentials.google_client_id or not redirect_uri:
            return json_response(401, {"error": "invalid_client",
                                       "error_description": "The OAuth client was not found."})
        if params.get("response_type") != "code":
            return redirect_back(redirect_uri, {"error": "unsupported_response_type",
                                                "state": params.get("state", "")})
        return redirect_back(redirect_uri, {"code": self.codes.issue(redirect_uri),
                                            "scope": SCOPE, "state": params.get("state", "")})
