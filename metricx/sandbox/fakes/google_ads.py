"""Fake Google Ads REST API (googleAds:search / :searchStream), Google's OAuth endpoints
(the consent screen that hands out codes, and the token endpoint) and the host that serves
image assets' full-size files.

Checks the three headers a real call needs (Authorization, developer-token, login-customer-id),
answers errors as google.rpc.Status with a GoogleAdsFailure inside, and streams as a JSON
array of batches in which an error object can also appear (after some batches were sent).

A sunset API version is not served at all: every request to it gets Google's front end's
404 page (see SUNSET below). Faults script the setup errors an admin must fix
(`faults.add("google", "auth", code="CUSTOMER_NOT_ENABLED")`) and the quota answers
(`faults.add("google", "throttle", code="ACCESS_PROHIBITED")`).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import date, timedelta
from hashlib import sha1
from typing import Any

from metricx.sandbox.ad_copy import GoogleAsset, google_assets, image_png
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
from metricx.sandbox.fakes.google_report import (
    ConversionAction,
    Report,
    default_conversion_actions,
    field_mask,
)
from metricx.sandbox.fakes.paging import decode_cursor, encode_cursor, page_size
from metricx.sandbox.fakes.tokens import AuthCodes, TokenStore
from metricx.sandbox.merchant import Merchant

ACCESS_TOKEN_SECONDS = 3599
SCOPE = "https://www.googleapis.com/auth/adwords"
SEARCH_PATH = re.compile(r"^/(v\d+)/customers/(\d+)/googleAds:(search|searchStream)$")
IMAGE_PATH = re.compile(r"^/simgad/(\d+)$")  # the ad-image host's path (see `_image`)
TOKEN_PATH = "/token"
AUTHORIZE_PATH = "/o/oauth2/v2/auth"
STATUS_BY_HTTP = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
LIVE_VERSION = "v26"  # what error details name when the request's own version is not served

# The fake's own claim about the world (kept apart from metricx.connectors.versions on
# purpose: the connector's table is what Metricx believes, this is what Google does).
# Sunset dates: developers.google.com/google-ads/api/docs/sunset-dates and the sunset
# reminders on the Google Ads developer blog ("Starting on this date, all v20 API requests
# will begin to fail", developers.google.com/ads/blog/posts/2026/04/google-ads-api-v20-sunset-
# reminder). None = served, no sunset announced. A version missing from the table (v17 and
# older, or one not released yet) is not served either.
SUNSET: dict[str, date | None] = {
    "v18": date(2025, 8, 20),
    "v19": date(2026, 2, 11),
    "v20": date(2026, 6, 10),
    "v21": date(2026, 8, 5),
    "v22": date(2026, 10, 7),
    "v23": None,
    "v24": None,
    "v25": None,
    "v26": None,
}
# What a request to a version that is not served gets: not a google.rpc.Status but the Google
# front end's generic 404 page, for every path under the version (observed after the v18 and
# v19 sunsets: "returned the standard Google 404 HTML body", github.com/cohnen/mcp-google-ads
# pull 24; "all endpoints return 404", github.com/AceDataCloud/Skills pull 721). Some Google
# front ends answer JSON instead ({"error": {"code": 404, "message": "Method not found.",
# "status": "NOT_FOUND"}}): `GoogleAdsFake.sunset_answer = "json"` serves that variant.
NOT_FOUND_PAGE = """<!DOCTYPE html>
<html lang=en>
  <meta charset=utf-8>
  <meta name=viewport content="initial-scale=1, minimum-scale=1, width=device-width">
  <title>Error 404 (Not Found)!!1</title>
  <a href=//www.google.com/><span id=logo aria-label=Google></span></a>
  <p><b>404.</b> <ins>That\u2019s an error.</ins>
  <p>The requested URL <code>{path}</code> was not found on this server.
  <ins>That\u2019s all we know.</ins>
"""

# Setup errors a Google Ads call can answer with, by enum value: (HTTP status, error family,
# message). Messages are the enum descriptions of AuthorizationErrorEnum and
# AuthenticationErrorEnum (developers.google.com/google-ads/api/reference/rpc/v26/
# AuthorizationErrorEnum.AuthorizationError, .../AuthenticationErrorEnum.AuthenticationError);
# the HTTP statuses are those of the rpc codes they travel with (UNAUTHENTICATED = 401,
# PERMISSION_DENIED = 403, google.rpc.Code). Since v25 DEVELOPER_TOKEN_NOT_APPROVED is
# deprecated ("Developer tokens have been sunset"), superseded by
# CLOUD_PROJECT_NOT_APPROVED_FOR_PRODUCTION (developers.google.com/google-ads/api/diff-tool/
# v25/versus-v24/diffs/errors/authorization_error); the fake can answer either.
AUTH_ERRORS: dict[str, tuple[int, str, str]] = {
    "OAUTH_TOKEN_INVALID": (401, "authenticationError", "OAuth token in the header is not valid."),
    "OAUTH_TOKEN_EXPIRED": (401, "authenticationError", "OAuth token in the header has expired."),
    "OAUTH_TOKEN_REVOKED": (
        401,
        "authenticationError",
        "OAuth token in the header has been revoked.",
    ),
    "NOT_ADS_USER": (
        401,
        "authenticationError",
        "The Google account that generated the OAuth "
        "access token is not associated with a Google Ads account. Create a new "
        "account, or add the Google account to an existing Google Ads account.",
    ),
    "DEVELOPER_TOKEN_INVALID": (401, "authenticationError", "The developer token is not valid."),
    "CUSTOMER_NOT_FOUND": (
        401,
        "authenticationError",
        "No customer found for the provided customer ID.",
    ),
    "USER_PERMISSION_DENIED": (
        403,
        "authorizationError",
        "User doesn't have permission to "
        "access customer. Note: If you're accessing a client customer, "
        "the manager's customer id must be set in the "
        "'login-customer-id' header.",
    ),
    "DEVELOPER_TOKEN_NOT_APPROVED": (
        403,
        "authorizationError",
        "The developer token is only "
        "approved for use with test accounts. To access non-test "
        "accounts, apply for Basic or Standard access.",
    ),
    "CLOUD_PROJECT_NOT_APPROVED_FOR_PRODUCTION": (
        403,
        "authorizationError",
        "The Google Cloud project is only approved for use with "
        "test accounts. To access non-test accounts, apply for Explorer, Basic or Standard "
        "access.",
    ),
    "DEVELOPER_TOKEN_PROHIBITED": (
        403,
        "authorizationError",
        "The developer token is not allowed with the project sent in the request.",
    ),
    "PROJECT_DISABLED": (
        403,
        "authorizationError",
        "The Google Cloud project sent in the request does not have permission to access the api.",
    ),
    "MISSING_TOS": (403, "authorizationError", "The developer must sign the terms of service."),
    "CUSTOMER_NOT_ENABLED": (
        403,
        "authorizationError",
        "The customer account can't be "
        "accessed because it is not yet enabled or has been "
        "deactivated.",
    ),
    "ACTION_NOT_PERMITTED_FOR_SUSPENDED_ACCOUNT": (
        403,
        "authorizationError",
        "The user does not have permission to perform this action "
        "on the resource or method because the Google Ads account is suspended.",
    ),
}
# QuotaErrorEnum (developers.google.com/google-ads/api/reference/rpc/v26/
# QuotaErrorEnum.QuotaError): the two rate answers carry a retryDelay in quotaErrorDetails;
# ACCESS_PROHIBITED ("Access is prohibited.") is not a rate and carries none. All arrive as
# 429 RESOURCE_EXHAUSTED here (Google does not document the status of ACCESS_PROHIBITED), so
# the connector must decide on the errorCode, not the status.
QUOTA_MESSAGES = {
    "RESOURCE_TEMPORARILY_EXHAUSTED": "Too many requests in a short amount of time.",
    "RESOURCE_EXHAUSTED": "Too many requests.",
    "ACCESS_PROHIBITED": "Access is prohibited.",
}


class GoogleError(Exception):
    """Raised inside the fake to answer with a google.rpc.Status body."""

    def __init__(
        self,
        http: int,
        message: str,
        error_code: dict[str, str] | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.http, self.message, self.error_code, self.details = http, message, error_code, details

    def body(self, version: str) -> dict[str, Any]:
        status: dict[str, Any] = {
            "code": self.http,
            "message": self.message,
            "status": STATUS_BY_HTTP.get(self.http, "UNKNOWN"),
        }
        if self.error_code is not None:
            error: dict[str, Any] = {"errorCode": self.error_code, "message": self.message}
            if self.details:
                error["details"] = self.details
            status["details"] = [
                {
                    "@type": f"type.googleapis.com/google.ads.googleads.{version}.errors."
                    "GoogleAdsFailure",
                    "errors": [error],
                    "requestId": "sandbox-request-0001",
                }
            ]
        return {"error": status}


def _quota_error(code: str, retry_delay: str) -> GoogleError:
    """A quotaError; only the rate errors say when to come back."""
    details = None
    if code != "ACCESS_PROHIBITED":
        details = {
            "quotaErrorDetails": {
                "rateScope": "ACCOUNT",
                "rateName": "Number of operations for basic access",
                "retryDelay": retry_delay,
            }
        }
    return GoogleError(429, QUOTA_MESSAGES[code], {"quotaError": code}, details)


def _auth_error(code: str) -> GoogleError:
    http, family, message = AUTH_ERRORS[code]
    return GoogleError(http, message, {family: code})


def _fault_error(fault: Fault) -> GoogleError:
    p = fault.params
    if fault.kind == "throttle":
        return _quota_error(
            p.get("code", "RESOURCE_TEMPORARILY_EXHAUSTED"), p.get("retry_delay", "30s")
        )
    if fault.kind == "auth":
        return _auth_error(p.get("code", "OAUTH_TOKEN_INVALID"))
    if fault.kind == "bad_request":
        return GoogleError(
            400,
            "Request contains an invalid argument.",
            {"queryError": p.get("code", "UNEXPECTED_INPUT")},
        )
    status = int(p.get("status", 500))
    return GoogleError(
        status,
        "Internal error encountered." if status == 500 else "The service is currently unavailable.",
        {"internalError": "INTERNAL_ERROR"} if status == 500 else None,
    )


class GoogleAdsFake(FakeApp):
    """Routes search, searchStream and token requests against the merchant's Google accounts."""

    provider = "google"
    search_page_size = 10_000
    stream_batch_size = 10_000
    sunset_answer = "html"  # or "json": the two shapes a version that is not served gets
    image_ttl: timedelta | None = None  # how long image asset URLs work (see `image_url`)

    def __init__(
        self,
        merchant: Merchant,
        clock: SandboxClock,
        faults: FaultPlan,
        credentials: SandboxCredentials,
    ) -> None:
        super().__init__(merchant, clock, faults)
        self.credentials = credentials
        self.access_tokens = TokenStore(clock, "ya29.sandbox-")
        self.refresh_tokens = TokenStore(clock, "1//sandbox-refresh-")
        self.refresh_tokens.accept(credentials.google_refresh_token)
        self.codes = AuthCodes(clock, "4/0Asandbox-google-", credentials.google_auth_code)
        # Each customer's conversion actions; tests may replace an entry.
        self.conversion_actions: dict[str, tuple[ConversionAction, ...]] = {
            a.external_id: default_conversion_actions(a.external_id)
            for a in merchant.accounts_of("google")
        }

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
            return json_response(
                400,
                {
                    "error": "invalid_grant",
                    "error_description": "Token has been expired or revoked.",
                },
            )
        if fault.kind in ("stream_error", "short_page"):
            return None
        match = SEARCH_PATH.match(request.path)
        version = match.group(1) if match else LIVE_VERSION
        error = _fault_error(fault)
        return json_response(error.http, error.body(version))

    # ---- routing ------------------------------------------------------------------------
    def handle(self, request: FakeRequest, fault: Fault | None) -> FakeResponse:
        if request.path == TOKEN_PATH and request.method == "POST":
            return self._token(request.params)
        if request.path == AUTHORIZE_PATH and request.method == "GET":
            return self._consent(request.params)
        image = IMAGE_PATH.match(request.path)
        if image is not None and request.method == "GET":
            return self._image(image.group(1), request.params)
        match = SEARCH_PATH.match(request.path)
        if match is None or request.method != "POST" or not self.serves(match.group(1)):
            return self._not_found(request.path)
        version, customer_id, method = match.groups()
        try:
            customer = self._authorize(request, customer_id)
            body = request.json()
            if not isinstance(body, dict) or not isinstance(body.get("query"), str):
                raise GoogleError(
                    400,
                    'Invalid JSON payload: expected {"query": "..."}.',
                    {"requestError": "INVALID_INPUT"},
                )
            try:
                query = parse(body["query"])
                report = Report(
                    self.merchant,
                    customer,
                    query,
                    self.clock.now(),
                    self.conversion_actions.get(customer_id, ()),
                    image_url=self.image_url,
                )
            except GaqlError as exc:
                raise GoogleError(
                    400, "Request contains an invalid argument.", {"queryError": exc.code}, None
                ) from exc
            if method == "searchStream":
                return self._stream(report, version, fault)
            return self._search(report, body, fault)
        except GoogleError as error:
            return json_response(error.http, error.body(version))

    def image_url(self, asset: GoogleAsset) -> str:
        """An image asset's full-size URL (ImageDimension.url): a link on Google's ad-image
        host (tpc.googlesyndication.com/simgad/{id} in public examples). How long such a link
        works is not documented (research19 google_tiktok.md A3, UNCONFIRMED): with
        `image_ttl` None it works for ever, else it carries a signed expiry like a CDN's."""
        url = f"{self.base_url}/simgad/{asset.external_id}"
        if self.image_ttl is None:
            return url
        expires = int((self.clock.now() + self.image_ttl).timestamp())
        return f"{url}?expires={expires}&sig={self._image_signature(asset.external_id, expires)}"

    def _image_signature(self, asset_id: str, expires: int) -> str:
        key = f"simgad|{self.merchant.seed}|{self.credentials.google_client_secret}".encode()
        return hmac.new(key, f"{asset_id}|{expires}".encode(), hashlib.sha256).hexdigest()[:24]

    def _image(self, asset_id: str, params: dict[str, str]) -> FakeResponse:
        """The image asset's file, without credentials; 403 for a link past its expiry or
        with a wrong signature when links expire (`image_ttl`), 404 for an image no customer
        has (the sandbox's answers: the host's are not documented)."""
        if self.image_ttl is not None:
            expires = params.get("expires", "")
            expected = self._image_signature(asset_id, int(expires)) if expires.isdigit() else ""
            if not expected or not hmac.compare_digest(params.get("sig", ""), expected):
                return FakeResponse(403, b"Forbidden", {"content-type": "text/plain"})
            if self.clock.now().timestamp() > int(expires):
                return FakeResponse(403, b"Forbidden", {"content-type": "text/plain"})
        for customer in self.merchant.accounts_of("google"):
            asset = google_assets(self.merchant, customer.external_id).get(asset_id)
            if asset is not None and asset.type == "IMAGE":
                return FakeResponse(200, image_png(asset), {"content-type": "image/png"})
        return FakeResponse(404, b"Not Found", {"content-type": "text/plain"})

    def serves(self, version: str) -> bool:
        """Whether `version` is answered at the sandbox clock (released and not yet sunset)."""
        if version not in SUNSET:
            return False
        sunset = SUNSET[version]
        return sunset is None or self.clock.now().date() < sunset

    def _not_found(self, path: str) -> FakeResponse:
        if self.sunset_answer == "json":
            return json_response(
                404, {"error": {"code": 404, "message": "Method not found.", "status": "NOT_FOUND"}}
            )
        return FakeResponse(
            404,
            NOT_FOUND_PAGE.format(path=path).encode(),
            {"content-type": "text/html; charset=UTF-8"},
        )

    def _authorize(self, request: FakeRequest, customer_id: str) -> Account:
        auth = request.headers.get("authorization", "")
        token = auth[7:] if auth.lower().startswith("bearer ") else None
        if not self.access_tokens.valid(token):
            raise GoogleError(
                401,
                "Request had invalid authentication credentials. Expected "
                "OAuth 2 access token, login cookie or other valid authentication "
                "credential.",
                {"authenticationError": "OAUTH_TOKEN_INVALID" if token else "NOT_ADS_USER"},
            )
        if request.headers.get("developer-token") != self.credentials.google_developer_token:
            raise GoogleError(
                401,
                "The developer token is not valid.",
                {"authenticationError": "DEVELOPER_TOKEN_INVALID"},
            )
        login = request.headers.get("login-customer-id")
        if login is not None and not login.isdigit():
            raise GoogleError(
                400,
                "Invalid login-customer-id header: use 10 digits, no dashes.",
                {"requestError": "INVALID_CUSTOMER_ID"},
            )
        accounts = {a.external_id: a for a in self.merchant.accounts_of("google")}
        allowed_login = (None, customer_id, self.credentials.google_login_customer_id)
        if customer_id not in accounts or login not in allowed_login:
            raise GoogleError(
                403,
                "User doesn't have permission to access customer. Note: If "
                "you're accessing a client customer, the manager's customer id "
                "must be set in the 'login-customer-id' header.",
                {"authorizationError": "USER_PERMISSION_DENIED"},
            )
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
            head = {
                "results": [report.render(r) for r in rows[:after]],
                "fieldMask": mask,
                "requestId": "sandbox-stream-0",
            }
            # the error a stream carries: server_error (default), throttle, auth, bad_request
            kind = fault.params.get("error", "server_error")
            batches = [head, _fault_error(Fault("google", kind, params=fault.params)).body(version)]
        return json_response(200, batches)

    def _search(
        self,
        report: Report,
        body: dict[str, Any],
        fault: Fault | None,
    ) -> FakeResponse:
        digest = sha1(repr(report.query).encode()).hexdigest()[:12]
        try:
            cursor = decode_cursor(body.get("pageToken"), {"o": 0, "q": digest})
            offset = int(cursor["o"])
            if cursor["q"] != digest:
                raise ValueError("query changed")
        except (ValueError, KeyError, TypeError) as exc:
            raise GoogleError(
                400, "Page token is invalid.", {"requestError": "INVALID_PAGE_TOKEN"}
            ) from exc
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
        if (
            params.get("client_id") != c.google_client_id
            or params.get("client_secret") != c.google_client_secret
        ):
            return json_response(
                401,
                {"error": "invalid_client", "error_description": "The OAuth client was not found."},
            )
        grant = params.get("grant_type")
        ttl = timedelta(seconds=ACCESS_TOKEN_SECONDS)
        if grant == "refresh_token":
            if not self.refresh_tokens.valid(params.get("refresh_token")):
                return json_response(
                    400,
                    {
                        "error": "invalid_grant",
                        "error_description": "Token has been expired or revoked.",
                    },
                )
            return json_response(
                200,
                {
                    "access_token": self.access_tokens.issue(ttl),
                    "expires_in": ACCESS_TOKEN_SECONDS,
                    "scope": SCOPE,
                    "token_type": "Bearer",
                },
            )
        if grant == "authorization_code":
            verdict = self.codes.redeem(params.get("code"), params.get("redirect_uri"))
            if verdict == "redirect_mismatch":
                return json_response(
                    400, {"error": "redirect_uri_mismatch", "error_description": "Bad Request"}
                )
            if verdict != "ok":
                return json_response(
                    400,
                    {
                        "error": "invalid_grant",
                        "error_description": {
                            "unknown": "Malformed auth code.",
                            "used": "Code was already redeemed.",
                            "expired": "Bad Request",
                        }[verdict],
                    },
                )
            return json_response(
                200,
                {
                    "access_token": self.access_tokens.issue(ttl),
                    "expires_in": ACCESS_TOKEN_SECONDS,
                    "refresh_token": self.refresh_tokens.issue(),
                    "scope": SCOPE,
                    "token_type": "Bearer",
                },
            )
        return json_response(
            400,
            {
                "error": "unsupported_grant_type",
                "error_description": f"Invalid grant_type: {grant}",
            },
        )

    def _consent(self, params: dict[str, str]) -> FakeResponse:
        """The consent screen, consent already given: back to redirect_uri with a code."""
        redirect_uri = params.get("redirect_uri")
        if params.get("client_id") != self.credentials.google_client_id or not redirect_uri:
            return json_response(
                401,
                {"error": "invalid_client", "error_description": "The OAuth client was not found."},
            )
        if params.get("response_type") != "code":
            return redirect_back(
                redirect_uri,
                {"error": "unsupported_response_type", "state": params.get("state", "")},
            )
        return redirect_back(
            redirect_uri,
            {
                "code": self.codes.issue(redirect_uri),
                "scope": SCOPE,
                "state": params.get("state", ""),
            },
        )
