"""Google Ads API (REST) client: customer, campaign tree and metrics via GAQL.

Handles OAuth refresh (and one forced re-refresh when a call says 401), the required headers,
`search` paging by pageToken, `searchStream` arrays that can carry an error object after good
batches, retryDelay hints, and exact money: micros become Decimal, doubles are parsed as
Decimal straight from the JSON text (never through float).

Campaign rows are the truth for an account's totals: Performance Max campaigns have no ad
groups or ads, so `FROM ad_group_ad` never shows their spend
(developers.google.com/google-ads/api/performance-max/reporting). Facts are stored on ad
leaves, so every campaign gets a synthetic ad set and ad (`campaign_leaf_id`) that carries
what the campaign reported beyond its ads' rows.

Errors say who must act: a sunset API version (HTTP 404 for every request) is a
VersionExpiredError; authorization problems (developer token or Cloud project not approved,
wrong manager account, account not enabled) are ConfigurationError, not "reconnect"; an
expired or revoked login is an AuthError; quota answers are rate limits except
ACCESS_PROHIBITED, which no amount of waiting lifts.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from metricx.connectors.errors import (
    AccountBlockedError,
    AuthError,
    ConfigurationError,
    ConnectorError,
    InvalidRequestError,
    TransientError,
    VersionExpiredError,
)
from metricx.connectors.google_creatives import (
    ASSETS_PER_QUERY,
    CREATIVE_FIELDS,
    Asset,
    asset_names,
    asset_query,
    creative_record,
    read_assets,
)
from metricx.connectors.http import (
    BaseClient,
    RetryPolicy,
    Sleep,
    expect,
    parse_json,
    rate_limited,
    retry_after_header,
    server_error,
)
from metricx.connectors.records import AccountInfo, EntityRecord, MetricRecord, TokenGrant
from metricx.connectors.values import decimal, from_micros, integer
from metricx.connectors.versions import DEFAULT_VERSIONS, version_status
from metricx.totals import ZERO, Totals

PROVIDER = "google"
DEFAULT_QUOTA_WAIT = 30.0
REFRESH_MARGIN = timedelta(seconds=60)
PERFORMANCE_MAX = "PERFORMANCE_MAX"
# Google's conversion windows: click-through 1-90 days (30 by default), view-through 1-30
# (support.google.com/google-ads/answer/3123169, "About conversion windows").
DEFAULT_LOOKBACK_DAYS = 30
MAX_LOOKBACK_DAYS = 90
CUSTOMER_QUERY = (
    "SELECT customer.id, customer.descriptive_name, customer.currency_code, "
    "customer.time_zone FROM customer"
)
# Removed campaigns too: their spend may still be inside the re-fetch window, and their
# campaign-level leaf should sit under them rather than under nothing.
CAMPAIGN_QUERY = (
    "SELECT campaign.id, campaign.name, campaign.status, "
    "campaign.advertising_channel_type, campaign_budget.amount_micros "
    "FROM campaign"
)
ENTITY_QUERIES = (
    (
        "adset",
        "SELECT ad_group.id, ad_group.name, ad_group.status, campaign.id "
        "FROM ad_group WHERE ad_group.status != 'REMOVED'",
    ),
    (
        "ad",
        "SELECT ad_group_ad.ad.id, ad_group_ad.ad.name, ad_group_ad.status, ad_group.id, "
        f"{', '.join(CREATIVE_FIELDS)} "
        "FROM ad_group_ad WHERE ad_group_ad.status != 'REMOVED'",
    ),
)
METRICS = (
    "metrics.cost_micros, metrics.impressions, metrics.clicks, metrics.conversions, "
    "metrics.conversions_value"
)
LOOKBACK_QUERY = (
    "SELECT conversion_action.id, "
    "conversion_action.click_through_lookback_window_days, "
    "conversion_action.view_through_lookback_window_days "
    "FROM conversion_action WHERE conversion_action.status = 'ENABLED'"
)

# What the admin must fix for each setup error (AuthorizationErrorEnum and the
# authentication errors that a new OAuth consent would not cure). Any other
# authorizationError is a ConfigurationError too, with a generic hint.
SETUP_FIXES = {
    "USER_PERMISSION_DENIED": "the Google login that connected this account cannot reach it; "
    "set the manager account id (login-customer-id) of the manager that owns the account, or "
    "connect with a Google login that has access to it",
    "INVALID_LOGIN_CUSTOMER_ID_SERVING_CUSTOMER_ID_COMBINATION": "the manager account set as "
    "login-customer-id does not manage this account; set the right manager account id",
    "DEVELOPER_TOKEN_NOT_APPROVED": "the developer token only has test-account access; apply "
    "for Basic or Standard access in the Google Ads API Center",
    "CLOUD_PROJECT_NOT_APPROVED_FOR_PRODUCTION": "the Google Cloud project of the OAuth client "
    "is only approved for test accounts; apply for Explorer, Basic or Standard access",
    "DEVELOPER_TOKEN_PROHIBITED": "the developer token is paired with another Google Cloud "
    "project; use the OAuth client (GOOGLE_CLIENT_ID) of the project the token was first used "
    "with",
    "DEVELOPER_TOKEN_NOT_ON_ALLOWLIST": "the developer token is not on Google's allow-list for "
    "this API; ask Google Ads API support to add it",
    "DEVELOPER_TOKEN_INVALID": "GOOGLE_DEVELOPER_TOKEN is not a valid developer token; copy it "
    "again from the API Center of the manager account",
    "PROJECT_DISABLED": "the Google Cloud project of the OAuth client may not use the Google "
    "Ads API; enable the API for that project in the Cloud console",
    "MISSING_TOS": "the Google Ads API terms of service were never accepted; accept them in the "
    "API Center",
    "CUSTOMER_NOT_ENABLED": "the Google Ads account is not enabled yet or was deactivated; "
    "finish its setup or reactivate it in Google Ads, or remove this connection",
    "INCOMPLETE_SIGNUP": "the Google Ads account's signup is not finished; complete it in "
    "Google Ads",
    "ACCESS_DENIED_FOR_ACCOUNT_TYPE": "this id belongs to another Google ads system, not Google "
    "Ads; check the account id",
    "CLIENT_CUSTOMER_ID_INVALID": "the account id is not a Google Ads customer id; use its 10 "
    "digits",
    "CUSTOMER_NOT_FOUND": "no Google Ads account has this id (a new account takes a few minutes "
    "to appear); check the account id",
    "TWO_STEP_VERIFICATION_NOT_ENROLLED": "the account requires 2-Step Verification; turn it on "
    "for the Google login that connected it",
    "ADVANCED_PROTECTION_NOT_ENROLLED": "the account requires Advanced Protection; turn it on "
    "for the Google login that connected it",
    "ORGANIZATION_NOT_RECOGNIZED": "the Cloud organization of the OAuth client's project is not "
    "recognized by the Google Ads API; use a project Google approved",
    "ORGANIZATION_NOT_APPROVED": "the Cloud organization of the OAuth client's project is not "
    "approved for production access; apply for access",
    "ORGANIZATION_NOT_ASSOCIATED_WITH_DEVELOPER_TOKEN": "the Cloud organization of the OAuth "
    "client's project is not associated with the developer token",
}
# Refusals the platform lifts only when someone acts there; retrying cannot help.
BLOCKED = {
    # QuotaErrorEnum: "Access is prohibited." It sits beside the rate errors but is no rate:
    # it comes with no retryDelay and waiting does not lift it (Google has barred API access
    # for the token or project), so it is not retried.
    "ACCESS_PROHIBITED": "Google prohibits API access for this app or account; contact Google "
    "Ads API support (retrying will not help)",
    "ACTION_NOT_PERMITTED_FOR_SUSPENDED_ACCOUNT": "the Google Ads account is suspended; resolve "
    "the suspension in Google Ads",
}
REAUTH_HINTS = {
    "NOT_ADS_USER": "the Google login used has no Google Ads account; reconnect with a login "
    "that has access to this account",
    "GOOGLE_ACCOUNT_USER_AND_ADS_USER_MISMATCH": "reconnect with the Google login that has "
    "access to this account",
}


def campaign_leaf_id(campaign_id: str) -> str:
    """External id of the synthetic ad set and ad holding a campaign's facts without ad detail
    (never a number, so it cannot clash with a Google ad group or ad id)."""
    return f"c{campaign_id}"


def parse_duration(text: Any) -> float | None:
    """google.protobuf.Duration JSON ("30s", "1.5s") -> seconds."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)s", str(text or ""))
    return float(match.group(1)) if match else None


def _error_codes(error: dict[str, Any]) -> tuple[list[dict[str, Any]], set[str], float | None]:
    """GoogleAdsFailure error codes, google.rpc.ErrorInfo reasons and the retryDelay hint
    inside an rpc Status."""
    codes: list[dict[str, Any]] = []
    reasons: set[str] = set()
    delay = None
    for detail in error.get("details") or ():
        if not isinstance(detail, dict):
            continue
        delay = parse_duration(detail.get("retryDelay")) or delay  # google.rpc.RetryInfo
        if detail.get("reason"):
            reasons.add(str(detail["reason"]))  # google.rpc.ErrorInfo
        for failure in detail.get("errors") or ():
            if isinstance(failure, dict):
                codes.append(failure.get("errorCode") or {})
                quota = (failure.get("details") or {}).get("quotaErrorDetails") or {}
                delay = parse_duration(quota.get("retryDelay")) or delay
    return codes, reasons, delay


def _setup_problem(family: str, value: str, code: int) -> ConnectorError | None:
    """The error for an authorizationError/authenticationError/quotaError value, if it is one
    a person must fix outside Metricx (AuthorizationErrorEnum, AuthenticationErrorEnum,
    QuotaErrorEnum; developers.google.com/google-ads/api/docs/get-started/common-errors)."""
    detail = f"{family}={value}"
    if value in BLOCKED:
        return AccountBlockedError(
            PROVIDER,
            f"Google Ads refused this account ({detail}): {BLOCKED[value]}",
            status=code,
            code=value,
        )
    if value in SETUP_FIXES or family == "authorizationError":
        fix = SETUP_FIXES.get(
            value,
            "the Google Ads account or the app's Google setup does "
            "not allow this access; check both in Google Ads and Cloud console",
        )
        return ConfigurationError(
            PROVIDER, f"Google Ads setup problem ({detail}): {fix}", status=code, code=value
        )
    if family == "authenticationError":
        fix = REAUTH_HINTS.get(value, "reconnect the Google Ads account")
        return AuthError(
            PROVIDER,
            f"Google Ads refused the credentials ({detail}); {fix}",
            status=code,
            code=value,
        )
    return None


def classify(
    error: Any,
    http_status: int,
    *,
    version: str = DEFAULT_VERSIONS["google"],
    today: date | None = None,
) -> ConnectorError:
    """The ConnectorError for a google.rpc.Status (from the body or inside a stream)."""
    if not isinstance(error, dict):
        if http_status == 404:
            return version_gone(version, today)
        return (
            TransientError(
                PROVIDER,
                f"Google Ads failed with HTTP {http_status}; will retry",
                status=http_status,
            )
            if http_status >= 500
            else InvalidRequestError(
                PROVIDER, f"Google Ads answered HTTP {http_status}", status=http_status
            )
        )
    codes, reasons, delay = _error_codes(error)
    code = int(error.get("code") or http_status)
    # The most specific word first: GoogleAdsFailure codes, then ErrorInfo reasons, then the
    # rpc status (which alone cannot tell a setup problem from a rate limit).
    return (
        _by_failure_codes(codes, code)
        or _by_reasons(reasons, error, code)
        or _by_status(error, code, codes, delay, version, today)
    )


def _by_failure_codes(codes: list[dict[str, Any]], code: int) -> ConnectorError | None:
    for family, value in ((k, str(v)) for c in codes for k, v in c.items()):
        if family in ("authorizationError", "authenticationError") or value in BLOCKED:
            problem = _setup_problem(family, value, code)
            if problem is not None:
                return problem
    return None


def _by_reasons(reasons: set[str], error: dict[str, Any], code: int) -> ConnectorError | None:
    """google.rpc.ErrorInfo reasons the common-errors guide lists (developers.google.com/
    google-ads/api/docs/get-started/common-errors)."""
    if "SERVICE_DISABLED" in reasons:  # the Cloud project never enabled the Google Ads API
        return ConfigurationError(
            PROVIDER,
            f"Google Ads setup problem ({error.get('message')})"
            ": enable the Google Ads API in the Google Cloud project of "
            "the OAuth client",
            status=code,
            code="SERVICE_DISABLED",
        )
    if "ACCESS_TOKEN_SCOPE_INSUFFICIENT" in reasons:  # a consent without the adwords scope
        return AuthError(
            PROVIDER,
            "Google Ads needs the adwords scope the current consent "
            "lacks; reconnect the Google Ads account",
            status=code,
            code="ACCESS_TOKEN_SCOPE_INSUFFICIENT",
        )
    return None


def _by_status(
    error: dict[str, Any],
    code: int,
    codes: list[dict[str, Any]],
    delay: float | None,
    version: str,
    today: date | None,
) -> ConnectorError:
    status = str(error.get("status") or "")
    message = str(error.get("message") or status or "unknown error")
    detail = ", ".join(f"{k}={v}" for c in codes for k, v in c.items()) or status
    if status == "RESOURCE_EXHAUSTED" or code == 429 or any("quotaError" in c for c in codes):
        return rate_limited(PROVIDER, detail, delay or DEFAULT_QUOTA_WAIT, status=code, code=status)
    if status == "UNIMPLEMENTED" or code == 501 or (code == 404 and not codes):
        # The version is not served: no route under it exists any more (or yet).
        return version_gone(version, today)
    if status == "UNAUTHENTICATED" or code == 401:
        return AuthError(
            PROVIDER,
            f"Google Ads refused the credentials ({detail}: {message}); "
            "reconnect the Google Ads account",
            status=code,
            code=status,
        )
    if status == "PERMISSION_DENIED" or code == 403:
        return ConfigurationError(
            PROVIDER,
            f"Google Ads denied access ({detail}: {message}); "
            "check the account's access and the app's Google setup",
            status=code,
            code=status,
        )
    if (
        status in ("INTERNAL", "UNAVAILABLE", "DEADLINE_EXCEEDED", "UNKNOWN")
        or code >= 500
        or any("internalError" in c for c in codes)
    ):
        return TransientError(
            PROVIDER,
            f"Google Ads had a temporary problem ({detail}); will retry",
            status=code,
            code=status,
            retry_after=delay,
        )
    return InvalidRequestError(
        PROVIDER, f"Google Ads rejected the request ({detail}: {message})", status=code, code=status
    )


def version_gone(version: str, today: date | None = None) -> VersionExpiredError:
    """The error for an API version Google no longer (or not yet) serves."""
    known = version_status(PROVIDER, version, today or datetime.now(UTC).date())
    live = DEFAULT_VERSIONS[PROVIDER]
    if known.state == "dead":
        reason = (
            f"Google Ads API {version} stopped working on {known.end_of_life:%Y-%m-%d}; "
            f"set GOOGLE_ADS_API_VERSION to a live version (default {live})"
        )
    else:
        reason = (
            f"Google Ads API {version} is not served (HTTP 404 for every request: the "
            f"version is sunset or not released, or GOOGLE_ADS_URL is wrong); set "
            f"GOOGLE_ADS_API_VERSION to a live version (default {live})"
        )
    return VersionExpiredError(PROVIDER, reason, status=404, code=version)


class _Unauthenticated(Exception):
    """A 401 from the API: refresh the access token once and try again."""

    def __init__(self, error: ConnectorError) -> None:
        super().__init__(str(error))
        self.error = error


class GoogleAdsClient(BaseClient):
    """Reads Google Ads customers with a refresh token; amounts in customer.currency_code."""

    provider = PROVIDER

    def __init__(
        self,
        *,
        refresh_token: str | None,
        client_id: str,
        client_secret: str,
        developer_token: str,
        base_url: str = "https://googleads.googleapis.com",
        token_url: str = "https://oauth2.googleapis.com/token",
        api_version: str = DEFAULT_VERSIONS["google"],
        login_customer_id: str | None = None,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        sleep: Sleep | None = None,
        now: Callable[[], datetime] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(timeout=timeout, retry=retry, sleep=sleep, transport=transport)
        self.refresh_token = refresh_token
        self.client_id, self.client_secret = client_id, client_secret
        self.developer_token = developer_token
        self.api_version = api_version
        self.root = f"{base_url.rstrip('/')}/{api_version}"
        self.token_url = token_url
        self.login_customer_id = _customer_id(login_customer_id) if login_customer_id else None
        self.now = now or (lambda: datetime.now(UTC))
        self._access_token: str | None = None
        self._expires_at: datetime | None = None
        # HTTP calls to the Ads API (token refreshes excluded): what a day of polling costs
        # against the access level's daily budget.
        self.requests_made = 0
        self.warnings: set[str] = set()  # Google sends none: a sunset version fails instead

    # ---- public API ---------------------------------------------------------------------
    def account_info(self, customer_id: str) -> AccountInfo:
        rows = self.search_stream(customer_id, CUSTOMER_QUERY)
        expect(PROVIDER, len(rows) == 1 and "customer" in rows[0], "customer row")
        customer = rows[0]["customer"]
        expect(
            PROVIDER,
            "currencyCode" in customer and "timeZone" in customer,
            "customer currencyCode/timeZone",
        )
        return AccountInfo(
            str(customer.get("id") or _customer_id(customer_id)),
            str(customer.get("descriptiveName") or ""),
            str(customer["currencyCode"]),
            str(customer["timeZone"]),
        )

    def entities(
        self,
        customer_id: str,
        *,
        updated_since: datetime | None = None,
        account: AccountInfo | None = None,
    ) -> list[EntityRecord]:
        """The customer and its campaigns (removed ones too), ad groups (level adset) and ads
        (not REMOVED) with their creatives (connectors.google_creatives), and for every
        campaign a synthetic ad set + ad (`campaign_leaf_id`, no creative) for its facts that
        no ad reports (all of a Performance Max campaign's); `account` saves
        re-reading the customer. Always the whole tree: `updated_since` is accepted for the
        kit's interface, and the tree is small enough to read whole each time."""
        account = account or self.account_info(customer_id)
        out = [EntityRecord("account", account.external_id, None, account.name, None, None, None)]
        campaigns = [
            _entity("campaign", row, account.external_id)
            for row in self.search(customer_id, CAMPAIGN_QUERY)
        ]
        out.extend(campaigns)
        for level, query in ENTITY_QUERIES:
            rows = list(self.search(customer_id, query))
            if level == "ad":
                out.extend(self._ads_with_creatives(customer_id, rows, account.external_id))
            else:
                out.extend(_entity(level, row, account.external_id) for row in rows)
        for campaign in campaigns:
            out.extend(_campaign_leaves(campaign))
        return out

    def _ads_with_creatives(
        self, customer_id: str, rows: list[dict[str, Any]], account_id: str
    ) -> list[EntityRecord]:
        """The ads of `rows` with their creatives; the images and videos they name are
        resolved `FROM asset` (one more query per ASSETS_PER_QUERY names, none without)."""
        ads = [(row.get("adGroupAd") or {}).get("ad") or {} for row in rows]
        names = asset_names(ads)
        assets: dict[str, Asset] = {}
        for start in range(0, len(names), ASSETS_PER_QUERY):
            query = asset_query(names[start : start + ASSETS_PER_QUERY])
            assets.update(read_assets(self.search_stream(customer_id, query)))
        return [
            replace(_entity("ad", row, account_id), creative=creative_record(ad, assets))
            for row, ad in zip(rows, ads, strict=True)
        ]

    def metrics(
        self,
        customer_id: str,
        since: date,
        until: date,
        hourly: bool = False,
    ) -> list[MetricRecord]:
        """Facts per account-local day (or hour), since..until inclusive, such that for every
        day (hour) their sum is exactly what the account's campaign rows report.

        Ads with rows report on their own ids; what each campaign reports beyond its ads'
        rows goes on the campaign's synthetic leaf. Campaigns are not filtered by status: a
        campaign removed since may have spent in the window.
        """
        if since > until:
            raise ValueError(f"since {since} is after until {until}")
        segments = "segments.date, segments.hour" if hourly else "segments.date"
        window = f"segments.date BETWEEN '{since.isoformat()}' AND '{until.isoformat()}'"
        # Ads first, campaigns second: the later read is the newer truth, and the synthetic
        # leaf absorbs whatever accrued between the two reads.
        ad_rows = self.search_stream(
            customer_id,
            f"SELECT campaign.id, ad_group_ad.ad.id, "
            f"{segments}, {METRICS} FROM ad_group_ad WHERE {window}",
        )
        campaign_rows = self.search_stream(
            customer_id, f"SELECT campaign.id, {segments}, {METRICS} FROM campaign WHERE {window}"
        )
        return _with_campaign_remainders(ad_rows, campaign_rows, hourly)

    def restatement_days(self, customer_id: str) -> int:
        """Google credits conversions to the click's day within the account's longest
        conversion lookback window: that many days may still change."""
        return self.max_lookback_days(customer_id)

    def max_lookback_days(self, customer_id: str) -> int:
        """The longest conversion window (click-through or view-through, in days) of the
        customer's enabled conversion actions: how far back conversions can still be credited
        to a click's or impression's day. 30 (Google's default window) when there are none;
        never more than 90 (Google's longest window)."""
        longest = 0
        for row in self.search_stream(customer_id, LOOKBACK_QUERY):
            action = row.get("conversionAction") or {}
            for field in ("clickThroughLookbackWindowDays", "viewThroughLookbackWindowDays"):
                longest = max(longest, integer(PROVIDER, action.get(field), field))
        return min(longest or DEFAULT_LOOKBACK_DAYS, MAX_LOOKBACK_DAYS)

    def search_stream(self, customer_id: str, query: str) -> list[dict[str, Any]]:
        """All rows of a GAQL query via searchStream (re-run whole if the stream fails)."""
        url = f"{self.root}/customers/{_customer_id(customer_id)}/googleAds:searchStream"
        batches = self._api(url, {"query": query})
        expect(PROVIDER, isinstance(batches, list), "searchStream array")
        rows: list[dict[str, Any]] = []
        for batch in batches:
            rows.extend(batch.get("results") or ())
        return rows

    def search(self, customer_id: str, query: str) -> Iterator[dict[str, Any]]:
        """All rows of a GAQL query via paged search (follows nextPageToken to the end)."""
        url = f"{self.root}/customers/{_customer_id(customer_id)}/googleAds:search"
        token: str | None = None
        while True:
            body: dict[str, Any] = {"query": query}
            if token:
                body["pageToken"] = token
            page = self._api(url, body)
            expect(PROVIDER, isinstance(page, dict), "search page")
            yield from page.get("results") or ()
            token = page.get("nextPageToken")
            if not token:
                return

    def exchange_code(self, code: str, redirect_uri: str) -> TokenGrant:
        """Trade an OAuth authorization code for a refresh token (kept by this client too)."""
        grant = self._retrying(
            lambda: self._token_request(
                {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
            )
        )
        self.refresh_token = grant.refresh_token or self.refresh_token
        return grant

    def refresh_access_token(self) -> TokenGrant:
        """A fresh access token from the refresh token (done automatically by every call)."""
        if not self.refresh_token:
            raise AuthError(PROVIDER, "No Google refresh token; connect the Google Ads account")
        grant = self._token_request(
            {"grant_type": "refresh_token", "refresh_token": self.refresh_token}
        )
        self._access_token, self._expires_at = grant.access_token, grant.expires_at
        return grant

    # ---- transport ----------------------------------------------------------------------
    def _token(self, force: bool) -> str:
        stale = self._expires_at is not None and self._expires_at - REFRESH_MARGIN <= self.now()
        if force or self._access_token is None or stale:
            self.refresh_access_token()
        assert self._access_token is not None
        return self._access_token

    def _api(self, url: str, body: dict[str, Any]) -> Any:
        """POST a GAQL request with retries; a 401 gets one token refresh before AuthError."""

        def attempt() -> Any:
            try:
                return self._post(url, body, force_refresh=False)
            except _Unauthenticated:
                try:
                    return self._post(url, body, force_refresh=True)
                except _Unauthenticated as again:
                    raise again.error from None

        return self._retrying(attempt)

    def _post(self, url: str, body: dict[str, Any], *, force_refresh: bool) -> Any:
        headers = {
            "Authorization": f"Bearer {self._token(force_refresh)}",
            "developer-token": self.developer_token,
        }
        if self.login_customer_id:
            headers["login-customer-id"] = self.login_customer_id
        self.requests_made += 1
        response = self.http.request("POST", url, json=body, headers=headers)
        is_json = response.content.strip()[:1] in (b"{", b"[")
        if response.status_code == 404 and not is_json:
            # Google's front end answers a sunset (or unreleased) version with its HTML 404
            # page for every path, before any Ads API code runs.
            raise version_gone(self.api_version, self.now().date())
        if response.status_code >= 500 and not is_json:
            raise server_error(PROVIDER, response)
        payload = parse_json(PROVIDER, response)
        if response.status_code >= 400:
            error = self._classify(
                payload.get("error") if isinstance(payload, dict) else None, response.status_code
            )
            if isinstance(error, TransientError) and error.retry_after is None:
                error.retry_after = retry_after_header(response)
            if response.status_code == 401 and isinstance(error, AuthError):
                raise _Unauthenticated(error)  # maybe just a stale access token: refresh once
            raise error
        if isinstance(payload, list):  # searchStream: an error may follow good batches
            for item in payload:
                expect(PROVIDER, isinstance(item, dict), "searchStream batch")
                if "error" in item:
                    raise self._classify(item["error"], int(item["error"].get("code") or 500))
        return payload

    def _classify(self, error: Any, http_status: int) -> ConnectorError:
        return classify(error, http_status, version=self.api_version, today=self.now().date())

    def _token_request(self, form: dict[str, str]) -> TokenGrant:
        data = {**form, "client_id": self.client_id, "client_secret": self.client_secret}
        response = self.http.request("POST", self.token_url, data=data)
        if response.status_code >= 500:
            raise server_error(PROVIDER, response)
        body = parse_json(PROVIDER, response)
        expect(PROVIDER, isinstance(body, dict), "token response")
        if response.status_code == 429:
            raise rate_limited(
                PROVIDER,
                "token endpoint",
                retry_after_header(response) or DEFAULT_QUOTA_WAIT,
                status=429,
            )
        if response.status_code >= 400 or "access_token" not in body:
            reason = body.get("error", f"HTTP {response.status_code}")
            raise AuthError(
                PROVIDER,
                f"Google refused the OAuth grant ({reason}: "
                f"{body.get('error_description', 'no description')}); reconnect "
                "the Google Ads account",
                status=response.status_code,
                code=reason,
            )
        expires = body.get("expires_in")
        return TokenGrant(
            str(body["access_token"]),
            body.get("refresh_token"),
            self.now() + timedelta(seconds=int(expires)) if expires else None,
            body.get("scope"),
        )


def _customer_id(value: str) -> str:
    return value.replace("-", "").strip()


def _entity(level: str, row: dict[str, Any], account_id: str) -> EntityRecord:
    if level == "campaign":
        node = row.get("campaign") or {}
        expect(PROVIDER, "id" in node, "campaign.id")
        micros = (row.get("campaignBudget") or {}).get("amountMicros")
        return EntityRecord(
            "campaign",
            str(node["id"]),
            account_id,
            str(node.get("name") or ""),
            node.get("status"),
            node.get("advertisingChannelType"),
            from_micros(PROVIDER, micros, "amountMicros") if micros else None,
        )
    if level == "adset":
        node = row.get("adGroup") or {}
        parent = (row.get("campaign") or {}).get("id")
        expect(PROVIDER, "id" in node and parent is not None, "adGroup.id / campaign.id")
        return EntityRecord(
            "adset",
            str(node["id"]),
            str(parent),
            str(node.get("name") or ""),
            node.get("status"),
            None,
            None,
        )
    ad_group_ad = row.get("adGroupAd") or {}
    ad = ad_group_ad.get("ad") or {}
    parent = (row.get("adGroup") or {}).get("id")
    expect(PROVIDER, "id" in ad and parent is not None, "adGroupAd.ad.id / adGroup.id")
    return EntityRecord(
        "ad",
        str(ad["id"]),
        str(parent),
        str(ad.get("name") or f"Ad {ad['id']}"),
        ad_group_ad.get("status"),
        None,
        None,
    )


def _campaign_leaves(campaign: EntityRecord) -> list[EntityRecord]:
    """The synthetic ad set and ad under `campaign` that carry its facts without ad detail."""
    leaf = campaign_leaf_id(campaign.external_id)
    if campaign.objective == PERFORMANCE_MAX:
        name = "Performance Max (all asset groups)"
    else:
        name = f"{campaign.name} · campaign level"
    return [
        EntityRecord("adset", leaf, campaign.external_id, name, campaign.status, None, None),
        EntityRecord("ad", leaf, leaf, name, campaign.status, None, None),
    ]


Bucket = tuple[str, date, int | None]  # campaign id, local day, local hour (None: whole day)


def _with_campaign_remainders(
    ad_rows: list[dict[str, Any]], campaign_rows: list[dict[str, Any]], hourly: bool
) -> list[MetricRecord]:
    """The ads' records plus, per campaign bucket, campaign row - Σ its ads' rows on the
    campaign's synthetic leaf (only where that is not zero)."""
    records: list[MetricRecord] = []
    detail: dict[Bucket, Totals] = defaultdict(Totals)
    for row in ad_rows:
        ad = (row.get("adGroupAd") or {}).get("ad") or {}
        expect(PROVIDER, "id" in ad, "adGroupAd.ad.id")
        bucket, totals = _bucket(row, hourly), _totals(row)
        records.append(_record(str(ad["id"]), bucket, totals))
        detail[bucket] += totals
    for row in campaign_rows:
        bucket = _bucket(row, hourly)
        rest = _totals(row) - detail.pop(bucket, ZERO)
        if not rest.is_zero:
            records.append(_record(campaign_leaf_id(bucket[0]), bucket, rest))
    # Ad rows in a bucket the campaign rows leave out: the campaign says it had nothing, so
    # the leaf takes the opposite and the bucket still sums to the campaign's (zero) total.
    for bucket, totals in detail.items():
        if not totals.is_zero:
            records.append(_record(campaign_leaf_id(bucket[0]), bucket, ZERO - totals))
    return records


def _bucket(row: dict[str, Any], hourly: bool) -> Bucket:
    campaign = row.get("campaign") or {}
    segments = row.get("segments") or {}
    expect(PROVIDER, "id" in campaign and "date" in segments, "campaign.id / segments.date")
    hour = integer(PROVIDER, segments.get("hour"), "segments.hour") if hourly else None
    return str(campaign["id"]), date.fromisoformat(segments["date"]), hour


def _totals(row: dict[str, Any]) -> Totals:
    metrics = row.get("metrics") or {}  # proto3 JSON leaves zero metrics out
    return Totals(
        spend=from_micros(PROVIDER, metrics.get("costMicros"), "costMicros"),
        impressions=integer(PROVIDER, metrics.get("impressions"), "impressions"),
        clicks=integer(PROVIDER, metrics.get("clicks"), "clicks"),
        conversions=decimal(PROVIDER, metrics.get("conversions"), "conversions"),
        conversion_value=decimal(PROVIDER, metrics.get("conversionsValue"), "conversionsValue"),
    )


def _record(ad_id: str, bucket: Bucket, totals: Totals) -> MetricRecord:
    return MetricRecord(
        ad_external_id=ad_id,
        day=bucket[1],
        hour=bucket[2],
        spend=totals.spend,
        impressions=totals.impressions,
        clicks=totals.clicks,
        conversions=totals.conversions,
        conversion_value=totals.conversion_value,
        leads=Decimal(0),
    )
