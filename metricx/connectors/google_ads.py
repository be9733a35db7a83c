"""Google Ads API (REST) client: customer, campaign tree and ad-level metrics via GAQL.

Handles OAuth refresh (and one forced re-refresh when a call says 401), the required headers,
`search` paging by pageToken, `searchStream` arrays that can carry an error object after good
batches, retryDelay hints, and exact money: micros become Decimal, doubles are parsed as
Decimal straight from the JSON text (never through float).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from metricx.connectors.errors import (
    AuthError,
    ConnectorError,
    InvalidRequestError,
    TransientError,
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
from metricx.connectors.versions import DEFAULT_VERSIONS

PROVIDER = "google"
DEFAULT_QUOTA_WAIT = 30.0
REFRESH_MARGIN = timedelta(seconds=60)
CUSTOMER_QUERY = ("SELECT customer.id, customer.descriptive_name, customer.currency_code, "
                  "customer.time_zone FROM customer")
ENTITY_QUERIES = (
    ("campaign", "SELECT campaign.id, campaign.name, campaign.status, "
                 "campaign.advertising_channel_type, campaign_budget.amount_micros "
                 "FROM campaign WHERE campaign.status != 'REMOVED'"),
    ("adset", "SELECT ad_group.id, ad_group.name, ad_group.status, campaign.id "
              "FROM ad_group WHERE ad_group.status != 'REMOVED'"),
    ("ad", "SELECT ad_group_ad.ad.id, ad_group_ad.ad.name, ad_group_ad.status, ad_group.id "
           "FROM ad_group_ad WHERE ad_group_ad.status != 'REMOVED'"),
)
METRICS = ("metrics.cost_micros, metrics.impressions, metrics.clicks, metrics.conversions, "
           "metrics.conversions_value")


def parse_duration(text: Any) -> float | None:
    """google.protobuf.Duration JSON ("30s", "1.5s") -> seconds."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)s", str(text or ""))
    return float(match.group(1)) if match else None


def _error_codes(error: dict[str, Any]) -> tuple[list[dict[str, Any]], float | None]:
    """GoogleAdsFailure error codes and the retryDelay hint inside an rpc Status."""
    codes: list[dict[str, Any]] = []
    delay = None
    for detail in error.get("details") or ():
        if not isinstance(detail, dict):
            continue
        delay = parse_duration(detail.get("retryDelay")) or delay  # google.rpc.RetryInfo
        for failure in detail.get("errors") or ():
            if isinstance(failure, dict):
                codes.append(failure.get("errorCode") or {})
                quota = (failure.get("details") or {}).get("quotaErrorDetails") or {}
                delay = parse_duration(quota.get("retryDelay")) or delay
    return codes, delay


def classify(error: Any, http_status: int) -> ConnectorError:
    """The ConnectorError for a google.rpc.Status (from the body or inside a stream)."""
    if not isinstance(error, dict):
        return TransientError(PROVIDER, f"Google Ads failed with HTTP {http_status}; will retry",
                              status=http_status) if http_status >= 500 else InvalidRequestError(
            PROVIDER, f"Google Ads answered HTTP {http_status}", status=http_status)
    status = str(error.get("status") or "")
    code = int(error.get("code") or http_status)
    message = str(error.get("message") or status or "unknown error")
    codes, delay = _error_codes(error)
    kinds = {k for c in codes for k in c}
    detail = ", ".join(f"{k}={v}" for c in codes for k, v in c.items()) or status
    if status == "RESOURCE_EXHAUSTED" or code == 429 or "quotaError" in kinds:
        return rate_limited(PROVIDER, detail, delay or DEFAULT_QUOTA_WAIT, status=code,
                            code=status)
    if status in ("UNAUTHENTICATED", "PERMISSION_DENIED") or code in (401, 403) or \
            kinds & {"authenticationError", "authorizationError"}:
        return AuthError(PROVIDER, f"Google Ads refused the credentials ({detail}: {message}); "
                         "reconnect the Google Ads account", status=code, code=status)
    if status in ("INTERNAL", "UNAVAILABLE", "DEADLINE_EXCEEDED", "UNKNOWN") or code >= 500 \
            or "internalError" in kinds:
        return TransientError(PROVIDER, f"Google Ads had a temporary problem ({detail}); "
                              "will retry", status=code, code=status, retry_after=delay)
    return InvalidRequestError(PROVIDER, f"Google Ads rejected the request ({detail}: "
                               f"{message})", status=code, code=status)


class _Unauthenticated(Exception):
    """A 401 from the API: refresh the access token once and try again."""

    def __init__(self, error: ConnectorError) -> None:
        super().__init__(str(error))
        self.error = error


class GoogleAdsClient(BaseClient):
    """Reads Google Ads customers with a refresh token; amounts in customer.currency_code."""

    provider = PROVIDER

    def __init__(self, *, refresh_token: str | None, client_id: str, client_secret: str,
                 developer_token: str, base_url: str = "https://googleads.googleapis.com",
                 token_url: str = "https://oauth2.googleapis.com/token",
                 api_version: str = DEFAULT_VERSIONS["google"],
                 login_customer_id: str | None = None,
                 timeout: float = 60.0, retry: RetryPolicy | None = None,
                 sleep: Sleep | None = None, now: Callable[[], datetime] | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        super().__init__(timeout=timeout, retry=retry, sleep=sleep, transport=transport)
        self.refresh_token = refresh_token
        self.client_id, self.client_secret = client_id, client_secret
        self.developer_token = developer_token
        self.root = f"{base_url.rstrip('/')}/{api_version}"
        self.token_url = token_url
        self.login_customer_id = _customer_id(login_customer_id) if login_customer_id else None
        self.now = now or (lambda: datetime.now(UTC))
        self._access_token: str | None = None
        self._expires_at: datetime | None = None

    # ---- public API ---------------------------------------------------------------------
    def account_info(self, customer_id: str) -> AccountInfo:
        rows = self.search_stream(customer_id, CUSTOMER_QUERY)
        expect(PROVIDER, len(rows) == 1 and "customer" in rows[0], "customer row")
        customer = rows[0]["customer"]
        expect(PROVIDER, "currencyCode" in customer and "timeZone" in customer,
               "customer currencyCode/timeZone")
        return AccountInfo(str(customer.get("id") or _customer_id(customer_id)),
                           str(customer.get("descriptiveName") or ""),
                           str(customer["currencyCode"]), str(customer["timeZone"]))

    def entities(self, customer_id: str) -> list[EntityRecord]:
        """The customer and its campaigns, ad groups (level adset) and ads (not REMOVED)."""
        account = self.account_info(customer_id)
        out = [EntityRecord("account", account.external_id, None, account.name, None, None,
                            None)]
        for level, query in ENTITY_QUERIES:
            for row in self.search(customer_id, query):
                out.append(_entity(level, row, account.external_id))
        return out

    def metrics(self, customer_id: str, since: date, until: date, hourly: bool = False,
                ) -> list[MetricRecord]:
        """Ad-level metrics per account-local day (or hour), since..until inclusive."""
        if since > until:
            raise ValueError(f"since {since} is after until {until}")
        segments = "segments.date, segments.hour" if hourly else "segments.date"
        query = (f"SELECT ad_group_ad.ad.id, {segments}, {METRICS} FROM ad_group_ad "
                 f"WHERE segments.date BETWEEN '{since.isoformat()}' AND '{until.isoformat()}'")
        return [_metric(row, hourly) for row in self.search_stream(customer_id, query)]

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
        grant = self._retrying(lambda: self._token_request({
            "grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}))
        self.refresh_token = grant.refresh_token or self.refresh_token
        return grant

    def refresh_access_token(self) -> TokenGrant:
        """A fresh access token from the refresh token (done automatically by every call)."""
        if not self.refresh_token:
            raise AuthError(PROVIDER, "No Google refresh token; connect the Google Ads account")
        grant = self._token_request({"grant_type": "refresh_token",
                                     "refresh_token": self.refresh_token})
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
        headers = {"Authorization": f"Bearer {self._token(force_refresh)}",
                   "developer-token": self.developer_token}
        if self.login_customer_id:
            headers["login-customer-id"] = self.login_customer_id
        response = self.http.request("POST", url, json=body, headers=headers)
        if response.status_code >= 500 and response.content.strip()[:1] not in (b"{", b"["):
            raise server_error(PROVIDER, response)
        payload = parse_json(PROVIDER, response)
        if response.status_code >= 400:
            error = classify(payload.get("error") if isinstance(payload, dict) else None,
                             response.status_code)
            if isinstance(error, TransientError) and error.retry_after is None:
                error.retry_after = retry_after_header(response)
            if response.status_code == 401:
                raise _Unauthenticated(error)
            raise error
        if isinstance(payload, list):  # searchStream: an error may follow good batches
            for item in payload:
                expect(PROVIDER, isinstance(item, dict), "searchStream batch")
                if "error" in item:
                    raise classify(item["error"], int(item["error"].get("code") or 500))
        return payload

    def _token_request(self, form: dict[str, str]) -> TokenGrant:
        data = {**form, "client_id": self.client_id, "client_secret": self.client_secret}
        response = self.http.request("POST", self.token_url, data=data)
        if response.status_code >= 500:
            raise server_error(PROVIDER, response)
        body = parse_json(PROVIDER, response)
        expect(PROVIDER, isinstance(body, dict), "token response")
        if response.status_code == 429:
            raise rate_limited(PROVIDER, "token endpoint",
                               retry_after_header(response) or DEFAULT_QUOTA_WAIT, status=429)
        if response.status_code >= 400 or "access_token" not in body:
            reason = body.get("error", f"HTTP {response.status_code}")
            raise AuthError(PROVIDER, f"Google refused the OAuth grant ({reason}: "
                            f"{body.get('error_description', 'no description')}); reconnect "
                            "the Google Ads account", status=response.status_code, code=reason)
        expires = body.get("expires_in")
        return TokenGrant(str(body["access_token"]), body.get("refresh_token"),
                          self.now() + timedelta(seconds=int(expires)) if expires else None,
                          body.get("scope"))


def _customer_id(value: str) -> str:
    return value.replace("-", "").strip()


def _entity(level: str, row: dict[str, Any], account_id: str) -> EntityRecord:
    if level == "campaign":
        node = row.get("campaign") or {}
        expect(PROVIDER, "id" in node, "campaign.id")
        micros = (row.get("campaignBudget") or {}).get("amountMicros")
        return EntityRecord("campaign", str(node["id"]), account_id, str(node.get("name") or ""),
                            node.get("status"), node.get("advertisingChannelType"),
                            from_micros(PROVIDER, micros, "amountMicros") if micros else None)
    if level == "adset":
        node = row.get("adGroup") or {}
        parent = (row.get("campaign") or {}).get("id")
        expect(PROVIDER, "id" in node and parent is not None, "adGroup.id / campaign.id")
        return EntityRecord("adset", str(node["id"]), str(parent), str(node.get("name") or ""),
                            node.get("status"), None, None)
    ad_group_ad = row.get("adGroupAd") or {}
    ad = ad_group_ad.get("ad") or {}
    parent = (row.get("adGroup") or {}).get("id")
    expect(PROVIDER, "id" in ad and parent is not None, "adGroupAd.ad.id / adGroup.id")
    return EntityRecord("ad", str(ad["id"]), str(parent), str(ad.get("name") or f"Ad {ad['id']}"),
                        ad_group_ad.get("status"), None, None)


def _metric(row: dict[str, Any], hourly: bool) -> MetricRecord:
    ad = (row.get("adGroupAd") or {}).get("ad") or {}
    segments = row.get("segments") or {}
    expect(PROVIDER, "id" in ad and "date" in segments, "adGroupAd.ad.id / segments.date")
    metrics = row.get("metrics") or {}  # proto3 JSON leaves zero metrics out
    hour = None
    if hourly:
        hour = integer(PROVIDER, segments.get("hour"), "segments.hour")
    return MetricRecord(
        ad_external_id=str(ad["id"]), day=date.fromisoformat(segments["date"]), hour=hour,
        spend=from_micros(PROVIDER, metrics.get("costMicros"), "costMicros"),
        impressions=integer(PROVIDER, metrics.get("impressions"), "impressions"),
        clicks=integer(PROVIDER, metrics.get("clicks"), "clicks"),
        conversions=decimal(PROVIDER, metrics.get("conversions"), "conversions"),
        conversion_value=decimal(PROVIDER, metrics.get("conversionsValue"), "conversionsValue"),
        leads=Decimal(0),
    )
