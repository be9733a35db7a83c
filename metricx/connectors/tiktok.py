"""TikTok API for Business (Marketing API v1.3) client: advertiser, campaign tree, ad reports.

Every answer is an envelope {code, message, request_id, data}; HTTP 200 with a non-zero
`code` is an error (Appendix "Return Codes", business-api.tiktok.com/portal/docs
?id=1737172488964097). The token travels in the `Access-Token` header (official SDK,
python_sdk/business_api_client/api/reporting_api.py: header_params['Access-Token']), list
parameters of GET requests are JSON arrays (yml_files/report_integrated_get.yml: `content:
application/json` for dimensions, metrics, advertiser_ids), lists page with `page`/`page_size`
and `data.page_info.total_page`.

Reports: the synchronous integrated report (GET /report/integrated/get/, docs?id=
1740302848100353) covers at most 30 days per request with `stat_time_day` and one day with
`stat_time_hour`, so ranges are cut into compliant windows; long backfills go through an
asynchronous report task (POST /report/task/create/, GET /report/task/check/ until SUCCESS,
GET /report/task/download/; docs?id=1740302766489602, 1740302781443073, 1740302808815618),
which has no range limit. Money comes as decimal strings in the account currency, major units.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
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
from metricx.connectors.kit import date_windows
from metricx.connectors.records import AccountInfo, CreativeRecord, EntityRecord, MetricRecord
from metricx.connectors.tiktok_creatives import (
    AD_FIELDS,
    VIDEOS_PER_CALL,
    Video,
    creative_record,
    read_videos,
    video_ids,
)
from metricx.connectors.values import decimal, integer
from metricx.connectors.versions import DEFAULT_VERSIONS, version_status

PROVIDER = "tiktok"
# Report Integrated Get: page_size 1-1000 (yml_files/report_integrated_get.yml, maximum: 1000);
# campaign/adgroup/ad get page the same way.
MAX_PAGE_SIZE = 1000
# Report Integrated Get, start_date/end_date: "the time span ... can be up to 30 days" with
# stat_time_day and "one day" with stat_time_hour (airbyte source-tiktok-marketing reads in
# the same P30D / P1D steps). Async tasks take any span (Rate limits: "with asynchronous
# reports, you can get data for any time frame").
DAY_WINDOW_DAYS = 30
HOUR_WINDOW_DAYS = 1
# Return Codes appendix (docs?id=1737172488964097).
OK = 0
THROTTLED = 40100  # "Too many requests" (airbyte's manifest: code 40100 -> RATE_LIMITED)
DEFAULT_THROTTLE_WAIT = 5.0  # TikTok sends no Retry-After; limits are per second and minute
NO_PERMISSION = 40001  # the token may not act on this advertiser (or lacks the scope)
TOKEN_CODES = {
    40102: "the access token has expired",
    40104: "no access token was sent",
    40105: "the access token is invalid or was revoked",
}
SERVER_CODES = frozenset({50000, 50002})  # "System error" / "Service error": retry later
# "Complete Payment" page event (TikTok Pixel / Events API): its count and total value;
# `total_complete_payment_rate` is, despite its name, the total value of complete payments.
# Leads: web form submissions (`form`) and Instant Form submissions on TikTok (`onsite_form`)
# are distinct events, so they add up.
DELIVERY_METRICS = ("spend", "impressions", "clicks")
CONVERSION_METRICS = ("complete_payment", "total_complete_payment_rate", "form", "onsite_form")
REPORT_METRICS = DELIVERY_METRICS + CONVERSION_METRICS
# Page-event metrics are reported per hour as well: hourly BASIC reports carry the same
# conversion metric families as daily ones (Report Integrated Get, supported metrics; only
# unique-user metrics such as reach and frequency are refused with stat_time_hour). TikTok's
# page does not say so in one sentence, so a client can be told otherwise
# (`hourly_conversions=False`: hourly reads ask for delivery only, as Meta's do).
HOURLY_CONVERSIONS = True
# Default attribution window of web campaigns: 7-day click, 1-day view ("About attribution
# windows", ads.tiktok.com/help/article/attribution-window): a conversion can land on a day up
# to 7 days after it ended; after that the day stays as reported.
DEFAULT_ATTRIBUTION_DAYS = 7
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
ENTITY_LEVELS = (
    # (level, path, id field, name field, parent field, fields asked for)
    (
        "campaign",
        "campaign/get/",
        "campaign_id",
        "campaign_name",
        None,
        ("campaign_id", "campaign_name", "objective_type", "operation_status", "secondary_status",
         "budget", "budget_mode", "modify_time"),
    ),
    (
        "adset",
        "adgroup/get/",
        "adgroup_id",
        "adgroup_name",
        "campaign_id",
        ("adgroup_id", "adgroup_name", "campaign_id", "operation_status", "secondary_status",
         "budget", "budget_mode", "modify_time"),
    ),
    (
        "ad",
        "ad/get/",
        "ad_id",
        "ad_name",
        "adgroup_id",
        ("ad_id", "ad_name", "adgroup_id", "campaign_id", "operation_status",
         "secondary_status", "modify_time", *AD_FIELDS),
    ),
)  # fmt: skip
NO_BUDGET = "BUDGET_MODE_INFINITE"
TASK_DONE, TASK_FAILED = "SUCCESS", frozenset({"FAILED", "CANCELED"})


def classify(response: httpx.Response, body: Any) -> ConnectorError | None:
    """The ConnectorError an answer stands for, or None when it is a success (code 0)."""
    if response.status_code >= 500:
        return server_error(PROVIDER, response)
    expect(PROVIDER, isinstance(body, dict) and "code" in body, "response envelope (code)")
    code, message = body.get("code"), str(body.get("message") or "unknown error")
    status = response.status_code
    if code == OK and status < 400:
        return None
    label = f"code {code}: {message}"
    if code == THROTTLED or status == 429:
        wait = retry_after_header(response) or DEFAULT_THROTTLE_WAIT
        return rate_limited(PROVIDER, f"code {code}", wait, status=status, code=THROTTLED)
    if code in TOKEN_CODES:
        return AuthError(
            PROVIDER,
            f"TikTok refused the connection: {TOKEN_CODES[code]} ({label}); "
            "reconnect the TikTok account",
            status=status,
            code=code,
        )
    if code == NO_PERMISSION:
        # Re-authorizing is the fix either way: the advertiser was not ticked when the
        # merchant authorized the app, or the app's scope lacks the endpoint.
        return AuthError(
            PROVIDER,
            f"TikTok says this connection may not read the ad account ({label}); reconnect "
            "TikTok and authorize this advertiser",
            status=status,
            code=code,
        )
    if code in SERVER_CODES or (isinstance(code, int) and code >= 50000):
        return TransientError(
            PROVIDER,
            f"TikTok had a temporary problem ({label}); will retry",
            status=status,
            code=code,
        )
    return InvalidRequestError(
        PROVIDER, f"TikTok rejected the request ({label})", status=status, code=code
    )


class TikTokClient(BaseClient):
    """Reads TikTok advertisers (ad accounts). Records are in the advertiser's currency and
    time zone; `hourly_conversions` says hourly rows carry purchases and leads too."""

    provider = PROVIDER

    def __init__(
        self,
        access_token: str,
        *,
        base_url: str = "https://business-api.tiktok.com",
        api_version: str = DEFAULT_VERSIONS["tiktok"],
        page_size: int = MAX_PAGE_SIZE,
        async_after_days: int = DAY_WINDOW_DAYS,
        async_output: str = "CSV_STRING",
        poll_interval: float = 10.0,
        max_polls: int = 90,
        throttle_wait: float = DEFAULT_THROTTLE_WAIT,
        attribution_days: int = DEFAULT_ATTRIBUTION_DAYS,
        hourly_conversions: bool = HOURLY_CONVERSIONS,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        sleep: Sleep | None = None,
        now: Callable[[], datetime] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(
            timeout=timeout,
            retry=retry,
            sleep=sleep,
            transport=transport,
            headers={"Access-Token": access_token},
        )
        self.root = f"{base_url.rstrip('/')}/open_api/{api_version}"
        self.page_size = min(page_size, MAX_PAGE_SIZE)
        # Above this many days a backfill is one async task rather than many sync windows.
        self.async_after_days = async_after_days
        self.async_output = async_output  # CSV_STRING (the SDK's default) or CSV_DOWNLOAD
        self.poll_interval, self.max_polls = poll_interval, max_polls
        self.throttle_wait = throttle_wait
        self.attribution_days = attribution_days
        self.hourly_conversions = hourly_conversions
        self.requests_made = 0
        self._throttled = 0  # consecutive 40100 answers: the next wait doubles
        today = (now or (lambda: datetime.now(UTC)))().date()
        status = version_status(PROVIDER, api_version, today)
        # TikTok sends no deprecation header; the version table is the only warning source.
        self.warnings: set[str] = set() if status.state == "live" else {status.message}

    # ---- public API ---------------------------------------------------------------------
    def account_info(self, advertiser_id: str) -> AccountInfo:
        """Name, currency and IANA time zone of an advertiser. `display_timezone` is the
        region's zone (America/New_York); `timezone` can be a fixed offset (Etc/GMT+5)
        without daylight saving, so it is only the fallback (Advertiser Info, docs?id=
        1739593083610113)."""
        data = self._call(
            "GET",
            "advertiser/info/",
            {
                "advertiser_ids": json.dumps([advertiser_id]),
                "fields": json.dumps(
                    ["advertiser_id", "name", "currency", "timezone", "display_timezone"]
                ),
            },
        )
        rows: Any = data.get("list")
        expect(PROVIDER, isinstance(rows, list) and len(rows) == 1, "advertiser list")
        row = rows[0]
        expect(PROVIDER, isinstance(row, dict), "advertiser object")
        zone = row.get("display_timezone") or row.get("timezone")
        expect(PROVIDER, bool(row.get("currency")) and bool(zone), "advertiser currency/timezone")
        return AccountInfo(
            str(row.get("advertiser_id") or advertiser_id),
            str(row.get("name") or ""),
            str(row["currency"]),
            str(zone),
        )

    def entities(
        self,
        advertiser_id: str,
        *,
        updated_since: datetime | None = None,
        account: AccountInfo | None = None,
    ) -> list[EntityRecord]:
        """The advertiser and its campaigns, ad groups (level "adset") and ads with their
        creatives (connectors.tiktok_creatives); status is the merchant's switch
        (`operation_status` ENABLE/DISABLE), budgets in major units.

        The get endpoints filter on creation time only, so `updated_since` is applied to
        `modify_time` (UTC) here, after reading everything (as airbyte's client-side
        incremental streams do)."""
        account = account or self.account_info(advertiser_id)
        out = [EntityRecord("account", account.external_id, None, account.name, None, None, None)]
        ads: list[tuple[int, dict[str, Any]]] = []  # (index in out, Ad Get node)
        for level, path, id_field, name_field, parent_field, fields in ENTITY_LEVELS:
            params = {
                "advertiser_id": account.external_id,
                "fields": json.dumps(list(fields)),
            }
            for node in self._paged(path, params):
                expect(PROVIDER, isinstance(node, dict) and id_field in node, f"{level} id")
                if updated_since is not None and _modified(node) <= updated_since:
                    continue
                parent = account.external_id if parent_field is None else node.get(parent_field)
                out.append(
                    EntityRecord(
                        level,
                        str(node[id_field]),
                        None if parent is None else str(parent),
                        str(node.get(name_field) or ""),
                        _str(node.get("operation_status")),
                        _str(node.get("objective_type")),
                        _budget(node, level),
                    )
                )
                if level == "ad":
                    ads.append((len(out) - 1, node))
        videos = self._videos(account.external_id, video_ids(node for _, node in ads))
        made: dict[str, CreativeRecord] = {}
        for index, node in ads:
            creative = creative_record(node, videos)
            if creative is not None:
                # Ads sharing a creative get one record (the first ad's texts).
                creative = made.setdefault(creative.external_id, creative)
            out[index] = replace(out[index], creative=creative)
        return out

    def _videos(self, advertiser_id: str, ids: list[str]) -> dict[str, Video]:
        """Names and cover links of library videos, VIDEOS_PER_CALL ids a call (none without
        ids). A token that may not read the asset library (40001) or a refused id list
        leaves the creatives without covers, with a warning: a preview is not worth a
        failed sync."""
        out: dict[str, Video] = {}
        for start in range(0, len(ids), VIDEOS_PER_CALL):
            chunk = ids[start : start + VIDEOS_PER_CALL]
            params = {"advertiser_id": advertiser_id, "video_ids": json.dumps(chunk)}
            try:
                data = self._call("GET", "file/video/ad/info/", params)
            except (AuthError, InvalidRequestError) as error:
                if isinstance(error, AuthError) and error.code != NO_PERMISSION:
                    raise
                fix = (
                    "reconnect TikTok and grant the app access to the ad account's creative "
                    "library to see them"
                    if isinstance(error, AuthError)
                    else "the creatives are kept without them"
                )
                self.warnings.add(f"video previews could not be read ({error}); {fix}")
                continue
            out.update(read_videos(data.get("list")))
        return out

    def metrics(
        self, advertiser_id: str, since: date, until: date, *, hourly: bool = False
    ) -> list[MetricRecord]:
        """Ad-level facts per advertiser-local day (or hour), since..until inclusive.

        Up to `async_after_days` days are read synchronously in windows the API accepts
        (30 days daily, one day hourly); longer ranges are one asynchronous report task."""
        if since > until:
            raise ValueError(f"since {since} is after until {until}")
        dimensions = ["ad_id", "stat_time_hour" if hourly else "stat_time_day"]
        query = {
            "advertiser_id": advertiser_id,
            "report_type": "BASIC",
            "service_type": "AUCTION",
            "data_level": "AUCTION_AD",
            "dimensions": dimensions,
            "metrics": list(
                REPORT_METRICS if self.hourly_conversions or not hourly else DELIVERY_METRICS
            ),
        }
        if (until - since).days + 1 > self.async_after_days:
            rows = self._task_rows(query, since, until)
        else:
            width = HOUR_WINDOW_DAYS if hourly else DAY_WINDOW_DAYS
            rows = []
            for start, end in date_windows(since, until, width):
                rows.extend(self._report_rows(query, start, end))
        return [_metric(row, hourly) for row in rows]

    def restatement_days(self, advertiser_id: str) -> int:
        """Days back TikTok may still change a day's numbers: the attribution window
        (7-day click by default; configurable per client for accounts that use 28)."""
        return self.attribution_days

    # ---- reports ------------------------------------------------------------------------
    def _report_rows(self, query: dict[str, Any], start: date, end: date) -> Iterator[Any]:
        params = {
            **{k: json.dumps(v) if isinstance(v, list) else v for k, v in query.items()},
            "start_date": start.isoformat(),
            "end_date": end.isoformat(),
        }
        yield from self._paged("report/integrated/get/", params)

    def _task_rows(self, query: dict[str, Any], since: date, until: date) -> list[Any]:
        """One async report task: create, poll until SUCCESS, download the CSV."""
        body = {
            **query,
            "start_date": since.isoformat(),
            "end_date": until.isoformat(),
            "output_format": self.async_output,
            # Raw field names as CSV headers, not translated titles ("Cost", "Ad ID").
            "enable_report_title_translation": False,
        }
        created = self._call("POST", "report/task/create/", json_body=body)
        task_id = created.get("task_id")
        expect(PROVIDER, isinstance(task_id, str | int) and str(task_id) != "", "task_id")
        ids = {"advertiser_id": query["advertiser_id"], "task_id": str(task_id)}
        for _ in range(self.max_polls):
            status = self._call("GET", "report/task/check/", ids).get("status")
            if status == TASK_DONE:
                return self._download(ids, query["dimensions"])
            if status in TASK_FAILED:
                raise TransientError(
                    PROVIDER, f"TikTok report task {task_id} ended {status}; will retry"
                )
            self.sleep(self.poll_interval)
        raise TransientError(
            PROVIDER,
            f"TikTok report task {task_id} did not finish after {self.max_polls} polls; will retry",
        )

    def _download(self, ids: dict[str, str], dimensions: list[str]) -> list[Any]:
        """The task's rows. Report Task Download answers the CSV itself for CSV_STRING and
        a JSON envelope with a pre-signed `download_url` for CSV_DOWNLOAD (docs?id=
        1740302808815618; the SDK has no download operation to confirm the shape, so
        both are accepted)."""

        def attempt() -> str:
            self.requests_made += 1
            response = self.http.request("GET", f"{self.root}/report/task/download/", params=ids)
            if response.status_code >= 500:
                raise server_error(PROVIDER, response)
            if "json" not in response.headers.get("content-type", ""):
                return response.text
            body = parse_json(PROVIDER, response)
            self._raise_for(response, body)
            data = body.get("data") or {}
            url: Any = data.get("download_url") or data.get("url")
            expect(PROVIDER, isinstance(url, str) and url != "", "download_url")
            # A pre-signed URL needs no token, so the file host never sees it: a bare
            # request does not carry the session's Access-Token header.
            self.requests_made += 1
            try:
                file = self.http.client.send(httpx.Request("GET", url))
            except httpx.TransportError as exc:
                raise TransientError(
                    PROVIDER, f"TikTok report file could not be fetched ({exc}); will retry"
                ) from exc
            if file.status_code >= 400:
                raise TransientError(
                    PROVIDER,
                    f"TikTok report file could not be fetched (HTTP {file.status_code}); "
                    "will retry",
                    status=file.status_code,
                )
            return file.text

        text = self._retrying(attempt)
        return [_csv_row(row, dimensions) for row in csv.DictReader(io.StringIO(text))]

    # ---- transport ----------------------------------------------------------------------
    def _call(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        json_body: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """One API call with retries; returns the envelope's `data` object."""

        def attempt() -> dict[str, Any]:
            self.requests_made += 1
            response = self.http.request(
                method, f"{self.root}/{path}", params=params, json=json_body
            )
            if response.status_code >= 500 and not response.content.strip().startswith(b"{"):
                raise server_error(PROVIDER, response)
            body = parse_json(PROVIDER, response)
            self._raise_for(response, body)
            data = body.get("data")
            expect(PROVIDER, isinstance(data, dict), "data object")
            return data

        return self._retrying(attempt)

    def _raise_for(self, response: httpx.Response, body: Any) -> None:
        """Raise the error an answer stands for; 40100 waits longer each time in a row
        (TikTok sends no Retry-After; its limits are per second, minute and day)."""
        error = classify(response, body)
        if isinstance(error, RateLimitedError):
            self._throttled += 1
            if retry_after_header(response) is None:
                wait = min(self.retry.max_delay, self.throttle_wait * 2 ** (self._throttled - 1))
                error = rate_limited(
                    PROVIDER, f"code {THROTTLED}", wait, status=error.status, code=THROTTLED
                )
        if error is not None:
            raise error
        self._throttled = 0

    def _paged(self, path: str, params: dict[str, Any]) -> Iterator[Any]:
        """Every row of a paged list: page 1, 2, ... up to `page_info.total_page`."""
        page = 1
        while True:
            data = self._call("GET", path, {**params, "page": page, "page_size": self.page_size})
            rows: Any = data.get("list")
            info: Any = data.get("page_info")
            expect(PROVIDER, isinstance(rows, list), "data.list")
            expect(PROVIDER, isinstance(info, dict), "data.page_info")
            yield from rows
            total = integer(PROVIDER, info.get("total_page"), "page_info.total_page")
            if page >= total or not rows:
                return
            page += 1


def _str(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _budget(node: dict[str, Any], level: str) -> Decimal | None:
    """Campaign and ad group budgets are decimal amounts in the account currency, major units
    (Campaign Get / Ad Group Get `budget`, a float); BUDGET_MODE_INFINITE means none."""
    if level == "ad" or node.get("budget_mode") in (None, NO_BUDGET):
        return None
    amount = decimal(PROVIDER, node.get("budget"), f"{level} budget")
    return amount or None


def _modified(node: dict[str, Any]) -> datetime:
    """`modify_time` ("2025-11-24 10:00:00", UTC); a node without one counts as changed."""
    try:
        return datetime.strptime(str(node.get("modify_time")), TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return datetime.max.replace(tzinfo=UTC)


def _csv_row(row: dict[str, Any], dimensions: list[str]) -> dict[str, Any]:
    """A CSV line in the synchronous report's row shape (dimensions / metrics split); a line
    short of columns (a file cut mid-line) is malformed."""
    expect(PROVIDER, None not in row.values() and None not in row, "report CSV line")
    return {
        "dimensions": {k: row.get(k) for k in dimensions},
        "metrics": {k: v for k, v in row.items() if k not in dimensions},
    }


def _metric(row: Any, hourly: bool) -> MetricRecord:
    expect(
        PROVIDER,
        isinstance(row, dict)
        and isinstance(row.get("dimensions"), dict)
        and isinstance(row.get("metrics"), dict),
        "report row (dimensions, metrics)",
    )
    dims, values = row["dimensions"], row["metrics"]
    key = "stat_time_hour" if hourly else "stat_time_day"
    try:
        moment = datetime.strptime(str(dims.get(key)), TIME_FORMAT)
    except ValueError as exc:
        raise MalformedResponseError(PROVIDER, f"TikTok sent {key}={dims.get(key)!r}") from exc
    expect(PROVIDER, bool(dims.get("ad_id")), "report row ad_id")

    def number(name: str) -> Decimal:
        return decimal(PROVIDER, values.get(name), name)

    return MetricRecord(
        ad_external_id=str(dims["ad_id"]),
        day=moment.date(),
        hour=moment.hour if hourly else None,
        spend=number("spend"),
        impressions=integer(PROVIDER, values.get("impressions"), "impressions"),
        clicks=integer(PROVIDER, values.get("clicks"), "clicks"),
        conversions=number("complete_payment"),
        conversion_value=number("total_complete_payment_rate"),
        leads=number("form") + number("onsite_form"),
    )
