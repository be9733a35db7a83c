"""Klaviyo API client: the account, its campaigns and flows, and their daily performance with
the revenue Klaviyo attributes to them, so email and SMS show as a channel beside the ads.

Klaviyo's JSON:API (developers.klaviyo.com/en/reference/api_overview): a private key in
`Authorization: Klaviyo-API-Key pk_...`, a dated `revision` header on every request, lists
paged by following `links.next`, errors as an `errors` array. Performance comes from the
Reporting API, the numbers Klaviyo's own UI shows (developers.klaviyo.com/en/reference/
reporting_api_overview): flows have a daily series report, campaigns only a values report
(there is no campaign series), so a campaign's numbers are put on its send day. Those
reports are limited to 1 request/s, 2/min and 225/day per account, so a whole window is read
in as few calls as their maximum timeframes allow, paced to stay under those limits, and a
429 waits the Retry-After Klaviyo sends.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx

from metricx.connectors.errors import (
    AuthError,
    ConfigurationError,
    ConnectorError,
    InvalidRequestError,
    MalformedResponseError,
    VersionExpiredError,
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
from metricx.connectors.records import AccountInfo, EmailMessageRecord, EmailMetricRecord
from metricx.connectors.values import decimal, integer
from metricx.connectors.versions import DEFAULT_VERSIONS

PROVIDER = "klaviyo"
BASE_URL = "https://a.klaviyo.com"
JSONAPI = "application/vnd.api+json"
# Get Campaigns refuses a request without a channel filter ("A channel filter is required to
# list campaigns": equals(messages.channel,'email') or 'sms').
CAMPAIGN_CHANNELS = ("email", "sms")
STATISTICS = (
    "recipients",
    "delivered",
    "opens_unique",
    "clicks_unique",
    "conversions",
    "conversion_value",
)
# Query Flow Series: "If daily is used, the timeframe cannot be longer than 60 days"; every
# report's timeframe: "Max length: 1 year".
SERIES_DAYS = 60
VALUES_DAYS = 365
# Reporting endpoints: burst 1/s, steady 2/m, daily 225/d (x-klaviyo-ratelimit of Query
# Campaign Values, Query Flow Values, Query Flow Series): calls at least a second apart and
# never more than 2 in any 60 s stay inside both fixed windows, and a sync's usual two
# reports go out at once.
REPORT_SPACING = 1.0
REPORT_WINDOW = 60.0
REPORTS_PER_WINDOW = 2
# Klaviyo's default message attribution (help.klaviyo.com "Understanding Klaviyo message
# attribution", article 1260804504250): 5 days after an email open or click or an SMS click
# (12 hours after an SMS delivery). Merchants can change it; the API does not expose it.
ATTRIBUTION_DAYS = 5
DEFAULT_THROTTLE_WAIT = 60.0  # a 429 without Retry-After: the steady window's length
SCOPES = "accounts:read, campaigns:read, flows:read, metrics:read"


def classify(response: httpx.Response) -> ConnectorError | None:
    """The ConnectorError a Klaviyo answer stands for, or None when it is a success.

    401 is a key Klaviyo does not accept (revoked, mistyped): reconnect. 403
    (permission_denied) is a valid key without a read scope Metricx needs: also an
    AuthError, because the remedy is the same, the merchant pastes a new key (created with
    the scopes) -- nothing on Klaviyo's side is misconfigured, the key is. A revision Klaviyo
    no longer serves (410 Gone, or 404 "No valid revisions found") is VersionExpiredError."""
    status = response.status_code
    if status < 400:
        return None
    if status >= 500:
        return server_error(PROVIDER, response)
    code, detail, parameter = _first_error(response)
    label = f"HTTP {status}" + (f" {code}" if code else "")
    if status == 429:
        wait = retry_after_header(response) or DEFAULT_THROTTLE_WAIT
        return rate_limited(PROVIDER, label, wait, status=status, code=code)
    if status == 401:
        return AuthError(
            PROVIDER,
            f"Klaviyo refused the private API key ({label}: {detail}); reconnect Klaviyo with "
            "a valid private key",
            status=status,
            code=code,
        )
    if status == 403:
        return AuthError(
            PROVIDER,
            f"The Klaviyo private API key may not read this ({label}: {detail}); reconnect "
            f"Klaviyo with a key that has the scopes {SCOPES}",
            status=status,
            code=code,
        )
    if status == 410 or (
        status == 404 and (parameter == "revision" or "revision" in detail.lower())
    ):
        return VersionExpiredError(
            PROVIDER,
            f"Klaviyo no longer serves this API revision ({label}: {detail}); set "
            "KLAVIYO_REVISION to a live revision",
            status=status,
            code=code,
        )
    return InvalidRequestError(
        PROVIDER, f"Klaviyo rejected the request ({label}: {detail})", status=status, code=code
    )


def _first_error(response: httpx.Response) -> tuple[str | None, str, str | None]:
    """(code, detail, source.parameter) of the first JSON:API error, as far as readable."""
    try:
        body = parse_json(PROVIDER, response)
    except MalformedResponseError:
        return None, response.reason_phrase or "no details", None
    errors = body.get("errors") if isinstance(body, dict) else None
    first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
    source: Any = first.get("source") if isinstance(first.get("source"), dict) else {}
    code = first.get("code")
    return (
        str(code) if code is not None else None,
        str(first.get("detail") or first.get("title") or response.reason_phrase or "no details"),
        source.get("parameter"),
    )


class KlaviyoClient(BaseClient):
    """Reads one Klaviyo account (the one the private key belongs to). Days are in the
    account's time zone, money in its currency."""

    provider = PROVIDER

    def __init__(
        self,
        private_key: str,
        *,
        base_url: str = BASE_URL,
        revision: str = DEFAULT_VERSIONS["klaviyo"],
        page_size: int | None = None,
        attribution_days: int = ATTRIBUTION_DAYS,
        report_spacing: float = REPORT_SPACING,
        report_window: float = REPORT_WINDOW,
        monotonic: Callable[[], float] | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        sleep: Sleep | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(
            timeout=timeout,
            retry=retry,
            sleep=sleep,
            transport=transport,
            headers={
                "Authorization": f"Klaviyo-API-Key {private_key}",
                "revision": revision,
                "accept": JSONAPI,
            },
        )
        self.root = base_url.rstrip("/")
        self.page_size = page_size
        self.attribution_days = attribution_days
        self.report_spacing = report_spacing
        self.report_window = report_window
        self.monotonic = monotonic or time.monotonic
        self.requests_made = 0
        self.report_calls = 0
        self._reports: list[float] = []  # when the reporting calls went out (monotonic)
        self._account: AccountInfo | None = None
        self._metric_id: str | None = None
        self._campaign_list: list[EmailMessageRecord] | None = None

    # ---- public API ---------------------------------------------------------------------
    def account_info(self) -> AccountInfo:
        """The key's account: id, organisation name, preferred currency, IANA time zone."""
        body = self._call("GET", f"{self.root}/api/accounts/")
        data: Any = body.get("data")
        expect(PROVIDER, isinstance(data, list) and len(data) == 1, "accounts data (one account)")
        account = data[0]
        attributes: Any = account.get("attributes") if isinstance(account, dict) else None
        expect(
            PROVIDER,
            isinstance(attributes, dict)
            and isinstance(account.get("id"), str)
            and all(k in attributes for k in ("timezone", "preferred_currency")),
            "account (id, timezone, preferred_currency)",
        )
        contact = attributes.get("contact_information") or {}
        self._account = AccountInfo(
            account["id"],
            str(contact.get("organization_name") or ""),
            str(attributes["preferred_currency"]),
            str(attributes["timezone"]),
        )
        return self._account

    def messages(self) -> list[EmailMessageRecord]:
        """Every campaign (email and SMS, one filtered list each) and every flow."""
        out = self._campaigns()
        for node in self._paged(f"{self.root}/api/flows/", {}):
            attributes = _attributes(node, "flow")
            out.append(
                EmailMessageRecord(
                    node["id"],
                    "flow",
                    str(attributes.get("name") or ""),
                    None,
                    _str(attributes.get("status")),
                    _datetime(attributes.get("created"), "flow created"),
                    None,
                )
            )
        return out

    def _campaigns(self) -> list[EmailMessageRecord]:
        """Every campaign, read once per client (a sync lists them, then places their
        reports on their send days)."""
        if self._campaign_list is None:
            self._campaign_list = self._read_campaigns()
        return list(self._campaign_list)

    def _read_campaigns(self) -> list[EmailMessageRecord]:
        out: list[EmailMessageRecord] = []
        for channel in CAMPAIGN_CHANNELS:
            params = {"filter": f"equals(messages.channel,'{channel}')"}
            for node in self._paged(f"{self.root}/api/campaigns/", params):
                attributes = _attributes(node, "campaign")
                out.append(
                    EmailMessageRecord(
                        node["id"],
                        "campaign",
                        str(attributes.get("name") or ""),
                        channel,
                        _str(attributes.get("status")),
                        _datetime(attributes.get("created_at"), "campaign created_at"),
                        _datetime(attributes.get("send_time"), "campaign send_time"),
                    )
                )
        return out

    def conversion_metric_id(self) -> str:
        """The id of the Shopify integration's "Placed Order" metric: the conversion metric
        of the reports (Klaviyo's revenue attribution counts that event)."""
        if self._metric_id is None:
            params = {"filter": "equals(integration.name,'Shopify')"}
            for node in self._paged(f"{self.root}/api/metrics/", params):
                if _attributes(node, "metric").get("name") == "Placed Order":
                    self._metric_id = str(node["id"])
                    break
            else:
                raise ConfigurationError(
                    PROVIDER,
                    'Klaviyo has no Shopify "Placed Order" metric: connect the Shopify '
                    "integration in Klaviyo so it can attribute orders",
                )
        return self._metric_id

    def daily_metrics(self, since: date, until: date) -> list[EmailMetricRecord]:
        """Per campaign or flow, channel and local day of sends between since and until
        inclusive: recipients, delivered, unique opens and clicks, and the conversions and
        revenue Klaviyo attributes to them.

        Attribution as Klaviyo documents it (help.klaviyo.com "Understanding Klaviyo message
        attribution"): the conversion metric is Shopify's Placed Order; an order counts for
        the last message the buyer interacted with while its window was open (by default 5
        days after an email open or click or an SMS click, 12 hours after an SMS delivery),
        and it is counted on that message's send date. Opens count, so Klaviyo credits orders
        whose last site visit came from elsewhere: its revenue overlaps other channels'.

        Calls: one campaign values report per 365 days and one daily flow series report per
        60 days (the reports' maximum timeframes), plus the account, the campaign list and
        the metric id."""
        if since > until:
            raise ValueError(f"since {since} is after until {until}")
        account = self._account or self.account_info()
        metric = self.conversion_metric_id()
        tz = _zone(account.timezone)
        send_days = {
            m.external_id: m.send_time.astimezone(tz).date()
            for m in self._campaigns()
            if m.send_time is not None
        }
        totals: dict[tuple[str, str, str, date], list[Any]] = {}
        for first, last in date_windows(since, until, VALUES_DAYS):
            rows = self._report(
                "campaign-values-report",
                metric,
                first,
                last,
                ["campaign_id", "campaign_message_id", "send_channel"],
            )
            for row in rows:
                groupings, statistics = _row(row)
                campaign = str(groupings.get("campaign_id"))
                day = send_days.get(campaign)
                if day is None or not since <= day <= until:
                    continue  # sent outside the window asked for (or unknown to the list)
                key = ("campaign", campaign, str(groupings.get("send_channel")), day)
                _accumulate(totals, key, statistics, None)
        for first, last in date_windows(since, until, SERIES_DAYS):
            body = self._report(
                "flow-series-report",
                metric,
                first,
                last,
                ["flow_id", "flow_message_id", "send_channel"],
                interval="daily",
                whole=True,
            )
            days = _series_days(body)
            for row in body["results"]:
                groupings, statistics = _row(row)
                flow, channel = str(groupings.get("flow_id")), str(groupings.get("send_channel"))
                for index, day in enumerate(days):
                    if since <= day <= until:
                        _accumulate(totals, ("flow", flow, channel, day), statistics, index)
        return [
            EmailMetricRecord(
                message_external_id=ident,
                kind=kind,
                channel=channel,
                day=day,
                recipients=values[0],
                delivered=values[1],
                opens=values[2],
                clicks=values[3],
                conversions=values[4],
                conversion_value=values[5],
            )
            for (kind, ident, channel, day), values in sorted(
                totals.items(), key=lambda item: (item[0][3], item[0][0], item[0][1], item[0][2])
            )
            if any(values)
        ]

    def restatement_days(self) -> int:
        """Days back Klaviyo's numbers for a send day keep changing: its attribution window
        (5 days by default, help.klaviyo.com article 1260804504250), since an order placed
        up to that long after a send is credited to the send's day."""
        return self.attribution_days

    # ---- transport ----------------------------------------------------------------------
    def _report(
        self,
        report_type: str,
        metric: str,
        first: date,
        last: date,
        group_by: list[str],
        *,
        interval: str | None = None,
        whole: bool = False,
    ) -> Any:
        """One reporting call over local days [first, last]: a custom timeframe from first's
        midnight to the midnight after last ("Offset is ignored and the company timezone is
        used"), spaced from the previous reporting call to stay under 2 per minute."""
        attributes: dict[str, Any] = {
            "statistics": list(STATISTICS),
            "timeframe": {
                "start": f"{first.isoformat()}T00:00:00",
                "end": f"{(last + timedelta(days=1)).isoformat()}T00:00:00",
            },
            "conversion_metric_id": metric,
            "group_by": group_by,
        }
        if interval is not None:
            attributes["interval"] = interval
        self._pace_report()
        try:
            body = self._call(
                "POST",
                f"{self.root}/api/{report_type}s/",
                json={"data": {"type": report_type, "attributes": attributes}},
            )
        finally:
            self._reports = [*self._reports[-REPORTS_PER_WINDOW + 1 :], self.monotonic()]
            self.report_calls += 1
        data: Any = body.get("data")
        report: Any = data.get("attributes") if isinstance(data, dict) else None
        expect(
            PROVIDER,
            isinstance(report, dict) and isinstance(report.get("results"), list),
            f"{report_type} results",
        )
        return report if whole else report["results"]

    def _pace_report(self) -> None:
        """Wait until a reporting call keeps both limits: `report_spacing` after the last
        one, and `report_window` after the one REPORTS_PER_WINDOW calls back."""
        if not self._reports:
            return
        now = self.monotonic()
        wait = self.report_spacing - (now - self._reports[-1])
        if len(self._reports) >= REPORTS_PER_WINDOW:
            wait = max(wait, self.report_window - (now - self._reports[-REPORTS_PER_WINDOW]))
        if wait > 0:
            self.sleep(wait)

    def _call(
        self, method: str, url: str | httpx.URL, params: dict[str, Any] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """One request with retries (429 after Retry-After, 5xx with backoff)."""

        def attempt() -> dict[str, Any]:
            self.requests_made += 1
            extra: dict[str, Any] = dict(kwargs)
            if "json" in extra:
                extra["headers"] = {"content-type": JSONAPI}
            response = self.http.request(method, url, params=params, **extra)
            error = classify(response)
            if error is not None:
                raise error
            body = parse_json(PROVIDER, response)
            expect(PROVIDER, isinstance(body, dict), "JSON:API document")
            return body

        return self._retrying(attempt)

    def _paged(self, url: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Every resource of a list: follow `links.next` (an absolute URL keeping the
        filter) until it is absent ("Pagination", cursor-based)."""
        query: dict[str, Any] | None = dict(params)
        if self.page_size is not None and "/metrics/" not in url:
            query = {**params, "page[size]": self.page_size}
        target: str = url
        while True:
            body = self._call("GET", target, query)
            data: Any = body.get("data")
            expect(PROVIDER, isinstance(data, list), "data list")
            for node in data:
                expect(PROVIDER, isinstance(node, dict) and isinstance(node.get("id"), str), "id")
                yield node
            next_url = (body.get("links") or {}).get("next")
            if not next_url:
                return
            target, query = str(next_url), None


def _row(row: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    expect(
        PROVIDER,
        isinstance(row, dict)
        and isinstance(row.get("groupings"), dict)
        and isinstance(row.get("statistics"), dict),
        "report result (groupings, statistics)",
    )
    return row["groupings"], row["statistics"]


def _series_days(report: dict[str, Any]) -> list[date]:
    """The local day of each series bucket. The date is read as written: Klaviyo's
    examples show local midnights ("2024-01-05T00:00:00+00:00"), whose offset may or may not
    be the account's, so converting to another zone could move the day."""
    stamps: Any = report.get("date_times")
    expect(PROVIDER, isinstance(stamps, list), "flow-series-report date_times")
    try:
        return [date.fromisoformat(str(stamp)[:10]) for stamp in stamps]
    except ValueError as exc:
        raise MalformedResponseError(PROVIDER, f"Klaviyo sent date_times={stamps!r}") from exc


def _accumulate(
    totals: dict[tuple[str, str, str, date], list[Any]],
    key: tuple[str, str, str, date],
    statistics: dict[str, Any],
    index: int | None,
) -> None:
    """Add one result's statistics (the `index`th of a series, or a value) to key's totals:
    five counts then the conversion value."""
    values = totals.setdefault(key, [0, 0, 0, 0, 0, Decimal(0)])
    for position, name in enumerate(STATISTICS):
        raw: Any = statistics.get(name)
        if index is not None:
            expect(PROVIDER, isinstance(raw, list) and len(raw) > index, f"{name} series")
            raw = raw[index]
        if name == "conversion_value":
            values[position] += decimal(PROVIDER, raw, name)
        else:
            values[position] += integer(PROVIDER, raw, name)


def _attributes(node: dict[str, Any], what: str) -> dict[str, Any]:
    attributes: Any = node.get("attributes")
    expect(PROVIDER, isinstance(attributes, dict), f"{what} attributes")
    return attributes


def _datetime(value: Any, what: str) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise MalformedResponseError(PROVIDER, f"Klaviyo sent {what}={value!r}") from exc
    expect(PROVIDER, moment.tzinfo is not None, f"{what} offset")
    return moment


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise MalformedResponseError(PROVIDER, f"Klaviyo sent timezone={name!r}") from exc


def _str(value: Any) -> str | None:
    return None if value is None else str(value)
