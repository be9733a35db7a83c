"""Meta Marketing API (Graph) client: ad account, campaign tree, ad-level insights, tokens.

Graph API quirks handled here: throttling arrives as HTTP 400 with codes 4/17/32/613/80000+,
the wait comes from the usage headers; code 1 "reduce the amount of data" means halve `limit`;
100/1487534 (too much data for one request) means split the window, then the level, then go
async; purchases and leads appear under several action types at once and exactly one is
taken, by priority; hourly rows carry no off-Meta actions, so hourly requests ask for delivery
only; big requests go through async report runs (split in halves if a run fails); an expired
version (#2635) is VersionExpiredError and `X-Ad-Api-Version-Warning` is kept in `warnings`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from metricx.connectors.errors import (
    AuthError,
    ConnectorError,
    InvalidRequestError,
    MalformedResponseError,
    RateLimitedError,
    TransientError,
    VersionExpiredError,
)
from metricx.connectors.http import BaseClient, RetryPolicy, Sleep, expect, parse_json, rate_limited
from metricx.connectors.meta_creatives import CREATIVE_EXPANSION, creative_record
from metricx.connectors.records import AccountInfo, EntityRecord, MetricRecord, TokenGrant
from metricx.connectors.values import decimal, from_minor_units, integer
from metricx.connectors.versions import DEFAULT_VERSIONS

PROVIDER = "meta"
PURCHASE_PRIORITY = ("omni_purchase", "purchase", "offsite_conversion.fb_pixel_purchase")
LEAD_PRIORITY = ("lead", "onsite_conversion.lead_grouped", "offsite_conversion.fb_pixel_lead")
HOURLY = "hourly_stats_aggregated_by_advertiser_time_zone"
THROTTLE_CODES = frozenset({4, 17, 32, 613, *range(80000, 80015)})
AUTH_CODES = frozenset({102, 190, 10, *range(200, 300)})
DELIVERY_FIELDS = (
    "account_id,campaign_id,adset_id,ad_id,spend,impressions,clicks,inline_link_clicks"
)
# Video plays per watched share (AdsInsights fields of the v25 SDK, adsinsights.py); each is
# a list of {"action_type": "video_view", "value": "<count>"}. The 3-second plays are the
# `actions` entry `video_view` (no `video_3_sec_watched_actions` field exists); plays started
# are `video_play_actions`, and the average seconds watched is per play started.
VIDEO_FIELDS = {
    "thruplays": "video_thruplay_watched_actions",
    "video_p25": "video_p25_watched_actions",
    "video_p50": "video_p50_watched_actions",
    "video_p75": "video_p75_watched_actions",
    "video_p100": "video_p100_watched_actions",
}
VIDEO_VIEW = ("video_view",)
# Off-Meta actions (pixel/CAPI purchases, leads, their values) are not returned with hourly
# ("Type 1") breakdowns, nor are video_* fields ("cannot be requested with any hourly stats
# breakdowns", Insights API Breakdowns): they are only asked for on daily rows.
INSIGHT_FIELDS = (
    f"{DELIVERY_FIELDS},actions,action_values,{','.join(VIDEO_FIELDS.values())},"
    "video_play_actions,video_avg_time_watched_actions"
)
TOO_MUCH_DATA_SUBCODE = 1487534
RESTATEMENT_DAYS = 28
EXPIRED_VERSION_CODE = 2635
EDGE_FIELDS = {
    "campaigns": "id,name,status,effective_status,objective,daily_budget,lifetime_budget,"
    "updated_time",
    "adsets": "id,name,status,effective_status,campaign_id,daily_budget,lifetime_budget,"
    "updated_time",
    "ads": "id,name,status,effective_status,adset_id,campaign_id,updated_time,"
    + CREATIVE_EXPANSION,
}
DEFAULT_THROTTLE_WAIT = 60.0


class ReduceDataError(TransientError):
    """Graph API code 1 "Please reduce the amount of data": retry with a smaller page."""

    retryable = False  # not by waiting: the pager halves `limit` instead


class TooMuchDataError(TransientError):
    """Graph API 100/1487534: the request covers too much data; ask for less at a time."""

    retryable = False  # not by waiting: the window, then the level, is split instead


def pick_action(provider: str, actions: Any, priority: tuple[str, ...]) -> Decimal:
    """The value of the first action type present in priority order (never a sum)."""
    if actions is None:
        return Decimal(0)
    expect(provider, isinstance(actions, list), "actions list")
    by_type = {a.get("action_type"): a.get("value") for a in actions if isinstance(a, dict)}
    for action_type in priority:
        if action_type in by_type:
            return decimal(provider, by_type[action_type], action_type)
    return Decimal(0)


def usage_wait(headers: httpx.Headers) -> tuple[float, float]:
    """(highest usage percent, seconds until access is regained) from the three usage headers."""
    pct, wait = 0.0, 0.0
    for name in ("x-app-usage", "x-ad-account-usage", "x-business-use-case-usage"):
        try:
            value = json.loads(headers.get(name) or "null")
        except ValueError:
            continue
        entries = (
            [value]
            if isinstance(value, dict) and name != "x-business-use-case-usage"
            else [e for v in (value or {}).values() if isinstance(v, list) for e in v]
        )
        for entry in entries:
            if not isinstance(entry, dict):
                continue
            for key in ("call_count", "total_time", "total_cputime", "acc_id_util_pct"):
                if isinstance(entry.get(key), int | float):
                    pct = max(pct, float(entry[key]))
            if isinstance(entry.get("estimated_time_to_regain_access"), int | float):
                wait = max(wait, 60.0 * entry["estimated_time_to_regain_access"])
            if isinstance(entry.get("reset_time_duration"), int | float):
                wait = max(wait, float(entry["reset_time_duration"]))
    return pct, wait


def classify(response: httpx.Response, body: Any) -> ConnectorError | None:
    """The ConnectorError a Graph API answer stands for, or None when it is a success."""
    error = body.get("error") if isinstance(body, dict) else None
    if response.status_code < 400 and error is None:
        return None
    if not isinstance(error, dict):
        if response.status_code >= 500:
            return TransientError(
                PROVIDER,
                f"Meta had a server error (HTTP {response.status_code}); will retry",
                status=response.status_code,
            )
        return InvalidRequestError(
            PROVIDER, f"Meta answered HTTP {response.status_code}", status=response.status_code
        )
    code, subcode = error.get("code"), error.get("error_subcode")
    message = str(error.get("error_user_msg") or error.get("message") or "unknown error")
    label = f"code {code}" + (f"/{subcode}" if subcode else "")
    status = response.status_code
    if code == EXPIRED_VERSION_CODE:
        return VersionExpiredError(
            PROVIDER,
            f"Meta no longer serves this API version "
            f"({label}: {message}); set META_API_VERSION to a live "
            "version",
            status=status,
            code=code,
        )
    if code == 100 and subcode == TOO_MUCH_DATA_SUBCODE:
        return TooMuchDataError(
            PROVIDER, f"Meta asked for less data per request ({label})", status=status, code=code
        )
    if code in THROTTLE_CODES:
        wait = usage_wait(response.headers)[1] or DEFAULT_THROTTLE_WAIT
        return rate_limited(PROVIDER, f"code {code}", wait, status=status, code=code)
    if code in AUTH_CODES:
        return AuthError(
            PROVIDER,
            f"Meta access token is no longer valid ({label}: {message}); "
            "reconnect the Meta account",
            status=status,
            code=code,
        )
    if code == 1 and "reduce the amount of data" in message.lower():
        return ReduceDataError(
            PROVIDER, "Meta asked for less data per request (code 1)", status=status, code=code
        )
    if code in (1, 2) or error.get("is_transient") or status >= 500:
        return TransientError(
            PROVIDER,
            f"Meta had a temporary problem ({label}: {message}); will retry",
            status=status,
            code=code,
        )
    return InvalidRequestError(
        PROVIDER, f"Meta rejected the request ({label}: {message})", status=status, code=code
    )


class MetaClient(BaseClient):
    """Reads one Meta user's ad accounts. Records are in the ad account's currency and zone."""

    provider = PROVIDER

    def __init__(
        self,
        access_token: str,
        *,
        base_url: str = "https://graph.facebook.com",
        api_version: str = DEFAULT_VERSIONS["meta"],
        app_id: str | None = None,
        app_secret: str | None = None,
        page_limit: int = 500,
        async_after_days: int = 14,
        async_after_rows: int = 50_000,
        poll_interval: float = 5.0,
        max_polls: int = 120,
        usage_threshold: float = 95.0,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        sleep: Sleep | None = None,
        now: Callable[[], datetime] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(timeout=timeout, retry=retry, sleep=sleep, transport=transport)
        self.access_token = access_token
        self.root = f"{base_url.rstrip('/')}/{api_version}"
        self.app_id, self.app_secret = app_id, app_secret
        self.page_limit = page_limit
        self.async_after_days = async_after_days
        # Synchronous reads of big accounts time out or get 1487534 (Insights API best
        # practices): above this many possible rows (ads x days x hours) we go async.
        self.async_after_rows = async_after_rows
        self.warnings: set[str] = set()  # X-Ad-Api-Version-Warning texts seen
        self.requests_made = 0
        self._ad_counts: dict[str, int] = {}
        self.poll_interval, self.max_polls = poll_interval, max_polls
        self.usage_threshold = usage_threshold
        self.now = now or (lambda: datetime.now(UTC))

    # ---- public API ---------------------------------------------------------------------
    def account_info(self, account_id: str) -> AccountInfo:
        """Name, currency and IANA time zone of an ad account ("act_123" or "123")."""
        ident = _account_id(account_id)
        body = self._call(
            "GET",
            f"{self.root}/act_{ident}",
            {"fields": "id,account_id,name,currency,timezone_name"},
        )
        expect(
            PROVIDER,
            all(k in body for k in ("currency", "timezone_name")),
            "ad account (currency, timezone_name)",
        )
        return AccountInfo(
            str(body.get("account_id") or ident),
            str(body.get("name") or ""),
            str(body["currency"]),
            str(body["timezone_name"]),
        )

    def entities(
        self,
        account_id: str,
        *,
        updated_since: datetime | None = None,
        account: AccountInfo | None = None,
    ) -> list[EntityRecord]:
        """The account and its campaigns, ad sets and ads (status = effective_status).

        With `updated_since`, only the nodes Meta changed after that moment (edge filtering on
        updated_time), for cheap incremental reads; `account` saves re-reading the account."""
        account = account or self.account_info(account_id)
        out = [EntityRecord("account", account.external_id, None, account.name, None, None, None)]
        parents = {
            "campaigns": lambda n: account.external_id,
            "adsets": lambda n: n.get("campaign_id"),
            "ads": lambda n: n.get("adset_id"),
        }
        levels = {"campaigns": "campaign", "adsets": "adset", "ads": "ad"}
        for edge, fields in EDGE_FIELDS.items():
            url = f"{self.root}/act_{account.external_id}/{edge}"
            params: dict[str, Any] = {"fields": fields, "limit": self.page_limit}
            if updated_since is not None:
                params["filtering"] = json.dumps(
                    [
                        {
                            "field": f"{levels[edge]}.updated_time",
                            "operator": "GREATER_THAN",
                            "value": int(updated_since.timestamp()),
                        }
                    ]
                )
            for node in self._paged(url, params):
                expect(PROVIDER, "id" in node, f"{edge} id")
                budget = node.get("daily_budget") or node.get("lifetime_budget")
                out.append(
                    EntityRecord(
                        levels[edge],
                        str(node["id"]),
                        _str(parents[edge](node)),
                        str(node.get("name") or ""),
                        _str(node.get("effective_status") or node.get("status")),
                        _str(node.get("objective")),
                        from_minor_units(PROVIDER, budget, account.currency, f"{edge} budget"),
                        creative_record(node) if edge == "ads" else None,
                    )
                )
        if updated_since is None:
            self._ad_counts[account.external_id] = sum(1 for e in out if e.level == "ad")
        return out

    def insights(
        self,
        account_id: str,
        since: date,
        until: date,
        hourly: bool = False,
    ) -> list[MetricRecord]:
        """Ad-level metrics per account-local day (or hour) between since and until inclusive.

        Hourly rows carry delivery only (spend, impressions, clicks): Meta does not return
        purchases and leads with hourly breakdowns, so their fields are zero there."""
        if since > until:
            raise ValueError(f"since {since} is after until {until}")
        params = {
            "level": "ad",
            "fields": DELIVERY_FIELDS if hourly else INSIGHT_FIELDS,
            "time_increment": "1",
            "limit": self.page_limit,
        }
        if hourly:
            params["breakdowns"] = HOURLY
        account = _account_id(account_id)
        rows = self._window_rows(account, params, since, until)
        return [_metric(row, hourly) for row in rows]

    def metrics(
        self, account_id: str, since: date, until: date, *, hourly: bool = False
    ) -> list[MetricRecord]:
        """The kit's name for `insights` (metricx.connectors.kit.AdPlatformClient)."""
        return self.insights(account_id, since, until, hourly=hourly)

    def restatement_days(self, account_id: str) -> int:
        """Meta restates insights for 28 days (reference/external-apis.md), whatever the
        account."""
        return RESTATEMENT_DAYS

    def _wants_async(self, account: str, params: dict[str, Any], since: date, until: date) -> bool:
        days = (until - since).days + 1
        ads = self._ad_counts.get(account, 0)
        possible_rows = ads * days * (24 if "breakdowns" in params else 1)
        return days > self.async_after_days or possible_rows > self.async_after_rows

    def _window_rows(
        self, account: str, params: dict[str, Any], since: date, until: date
    ) -> list[dict[str, Any]]:
        """The rows of one window. When Meta says it is too much, the window is split in
        halves down to single days, then a day is read campaign by campaign, and a campaign
        that is still too much goes async."""
        url = f"{self.root}/act_{account}/insights"
        if self._wants_async(account, params, since, until):
            return self._async_rows(url, params, since, until)
        try:
            return list(self._paged(url, _in_window(params, since, until)))
        except TooMuchDataError:
            pass  # the rows read so far are dropped with the list: nothing is counted twice
        if since < until:
            middle = since + timedelta(days=(until - since).days // 2)
            return [
                *self._window_rows(account, params, since, middle),
                *self._window_rows(account, params, middle + timedelta(days=1), until),
            ]
        return self._campaign_by_campaign(account, params, since)

    def _campaign_by_campaign(
        self,
        account: str,
        params: dict[str, Any],
        day: date,
    ) -> list[dict[str, Any]]:
        """One day still too much: the campaigns that delivered that day (deleted ones too,
        from a campaign-level read), each read on its own, async if need be."""
        url = f"{self.root}/act_{account}/insights"
        by_campaign = {
            "level": "campaign",
            "fields": "campaign_id",
            "time_increment": "1",
            "limit": self.page_limit,
        }
        campaigns = sorted(
            {
                str(row.get("campaign_id"))
                for row in self._paged(url, _in_window(by_campaign, day, day))
            }
        )
        rows: list[dict[str, Any]] = []
        for campaign in campaigns:
            one = {
                **params,
                "filtering": json.dumps(
                    [{"field": "campaign.id", "operator": "IN", "value": [campaign]}]
                ),
            }
            try:
                rows.extend(self._paged(url, _in_window(one, day, day)))
            except TooMuchDataError:
                rows.extend(self._async_rows(url, one, day, day))
        return rows

    def exchange_token(
        self,
        short_lived_token: str | None = None,
        *,
        code: str | None = None,
        redirect_uri: str | None = None,
    ) -> TokenGrant:
        """A long-lived user token, from a short-lived one or from an OAuth `code`."""
        if not (self.app_id and self.app_secret):
            raise ValueError("exchange_token needs app_id and app_secret")
        params: dict[str, Any] = {"client_id": self.app_id, "client_secret": self.app_secret}
        if code is not None:
            params.update(code=code, redirect_uri=redirect_uri or "")
        else:
            params.update(
                grant_type="fb_exchange_token",
                fb_exchange_token=short_lived_token or self.access_token,
            )
        body = self._call("GET", f"{self.root}/oauth/access_token", params, oauth=True)
        expect(PROVIDER, isinstance(body.get("access_token"), str), "access_token")
        expires = body.get("expires_in")
        return TokenGrant(
            body["access_token"],
            None,
            self.now() + timedelta(seconds=int(expires)) if expires else None,
        )

    # ---- transport ----------------------------------------------------------------------
    def _call(
        self,
        method: str,
        url: str | httpx.URL,
        params: dict[str, Any] | None = None,
        *,
        oauth: bool = False,
        form: bool = False,
    ) -> dict[str, Any]:
        """One Graph API call with retries; OAuth endpoint refusals are AuthErrors."""
        headers = {} if oauth else {"Authorization": f"Bearer {self.access_token}"}
        if not oauth and self.app_secret and params is not None:
            params = {**params, "appsecret_proof": self._appsecret_proof()}

        def attempt() -> dict[str, Any]:
            kwargs: dict[str, Any] = {"headers": headers}
            if form:
                kwargs["data"] = params
            elif params is not None:
                kwargs["params"] = params
            self.requests_made += 1
            response = self.http.request(method, url, **kwargs)
            if warning := response.headers.get("x-ad-api-version-warning"):
                self.warnings.add(warning)
            if response.status_code >= 500 and not response.content.strip().startswith(b"{"):
                raise TransientError(
                    PROVIDER,
                    f"Meta had a server error (HTTP {response.status_code}); will retry",
                    status=response.status_code,
                )
            body = parse_json(PROVIDER, response)
            error = classify(response, body)
            if (
                error is not None
                and oauth
                and response.status_code < 500
                and not isinstance(error, RateLimitedError)
            ):
                raise AuthError(
                    PROVIDER,
                    f"Meta refused the token exchange: {error.message}",
                    status=error.status,
                    code=error.code,
                )
            if error is not None:
                raise error
            expect(PROVIDER, isinstance(body, dict), "JSON object")
            self._respect_usage(response.headers)
            return body

        return self._retrying(attempt)

    def _appsecret_proof(self) -> str:
        """Graph API "Securing requests": HMAC-SHA256 of the token keyed with the app secret."""
        assert self.app_secret is not None
        return hmac.new(
            self.app_secret.encode(), self.access_token.encode(), hashlib.sha256
        ).hexdigest()

    def _respect_usage(self, headers: httpx.Headers) -> None:
        """Slow down before Meta throttles us: usage near 100% means wait for the reset."""
        pct, wait = usage_wait(headers)
        if pct >= self.usage_threshold:
            self.sleep(min(wait or 30.0, self.retry.max_wait))

    def _paged(self, url: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Every row of a paged edge: follow `paging.next` until it is absent."""
        limit = int(params.get("limit", self.page_limit))
        target: str | httpx.URL = url
        query: dict[str, Any] | None = params
        while True:
            try:
                body = self._call("GET", target, query)
            except ReduceDataError:
                if limit <= 1:
                    raise TransientError(
                        PROVIDER,
                        "Meta keeps asking for less data even one "
                        "row at a time; try a shorter date range",
                    ) from None
                limit = max(1, limit // 2)
                if query is not None:
                    query = {**query, "limit": limit}
                else:
                    target = httpx.URL(str(target)).copy_set_param("limit", str(limit))
                continue
            data: Any = body.get("data")
            expect(PROVIDER, isinstance(data, list), "data list")
            yield from data
            next_url = (body.get("paging") or {}).get("next")
            if not next_url:
                return
            target = httpx.URL(next_url).copy_set_param("limit", str(limit))
            query = None

    def _async_rows(
        self,
        url: str,
        params: dict[str, Any],
        since: date,
        until: date,
    ) -> list[dict[str, Any]]:
        """Run an async report (AdReportRun); if Meta fails it, split the window in halves
        and try again; a single day that fails is given up on until the next retry."""
        run = self._call("POST", url, _in_window(params, since, until), form=True)
        run_id = run.get("report_run_id")
        expect(PROVIDER, isinstance(run_id, str) and run_id != "", "report_run_id")
        for _ in range(self.max_polls):
            status = self._call(
                "GET",
                f"{self.root}/{run_id}",
                {"fields": "async_status,async_percent_completion,error_code,error_message"},
            )
            state = status.get("async_status")
            if state == "Job Completed" and status.get("async_percent_completion") == 100:
                return list(
                    self._paged(f"{self.root}/{run_id}/insights", {"limit": self.page_limit})
                )
            if state in ("Job Failed", "Job Skipped"):
                reason = status.get("error_message") or state
                break
            self.sleep(self.poll_interval)
        else:
            raise TransientError(
                PROVIDER,
                f"Meta report {run_id} did not finish after {self.max_polls} polls; will retry",
            )
        if since == until:
            raise TransientError(
                PROVIDER, f"Meta could not build the report for {since} ({reason}); will retry"
            )
        middle = since + timedelta(days=(until - since).days // 2)
        return [
            *self._async_rows(url, params, since, middle),
            *self._async_rows(url, params, middle + timedelta(days=1), until),
        ]


def _in_window(params: dict[str, Any], since: date, until: date) -> dict[str, Any]:
    return {
        **params,
        "time_range": json.dumps({"since": since.isoformat(), "until": until.isoformat()}),
    }


def _account_id(account_id: str) -> str:
    return account_id.removeprefix("act_")


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def _metric(row: dict[str, Any], hourly: bool) -> MetricRecord:
    expect(
        PROVIDER,
        isinstance(row, dict) and "ad_id" in row and "date_start" in row,
        "insights row (ad_id, date_start)",
    )
    hour = None
    if hourly:
        bucket: Any = row.get(HOURLY)

        expect(PROVIDER, isinstance(bucket, str) and bucket[:2].isdigit(), HOURLY)
        hour = int(bucket[:2])
    try:
        day = date.fromisoformat(row["date_start"])
    except (TypeError, ValueError) as exc:
        raise MalformedResponseError(
            PROVIDER, f"Meta sent date_start={row['date_start']!r}"
        ) from exc
    return MetricRecord(
        ad_external_id=str(row["ad_id"]),
        day=day,
        hour=hour,
        spend=decimal(PROVIDER, row.get("spend"), "spend"),
        impressions=integer(PROVIDER, row.get("impressions"), "impressions"),
        clicks=integer(PROVIDER, row.get("inline_link_clicks"), "inline_link_clicks"),
        conversions=pick_action(PROVIDER, row.get("actions"), PURCHASE_PRIORITY),
        conversion_value=pick_action(PROVIDER, row.get("action_values"), PURCHASE_PRIORITY),
        leads=pick_action(PROVIDER, row.get("actions"), LEAD_PRIORITY),
        **_video(row),
    )


def _video(row: dict[str, Any]) -> dict[str, Any]:
    """The video facts of a daily row (all 0 for an ad without video). Seconds watched are
    the average per play times the plays, so averages stay ratios of sums."""
    plays = {
        name: int(pick_action(PROVIDER, row.get(field), VIDEO_VIEW))
        for name, field in VIDEO_FIELDS.items()
    }
    started = pick_action(PROVIDER, row.get("video_play_actions"), VIDEO_VIEW)
    average = pick_action(PROVIDER, row.get("video_avg_time_watched_actions"), VIDEO_VIEW)
    return {
        "video_plays": int(started),
        "video_3s_plays": int(pick_action(PROVIDER, row.get("actions"), VIDEO_VIEW)),
        **plays,
        "video_seconds": started * average,
    }
