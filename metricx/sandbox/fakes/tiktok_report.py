"""TikTok BASIC reports against the merchant: request validation and rows in API shape.

A synchronous row is {"dimensions": {...}, "metrics": {...}} with every value a string
(Report Integrated Get, business-api.tiktok.com/portal/docs?id=1740302848100353); time
dimensions read "2025-11-24 00:00:00" (stat_time_day) or "2025-11-24 13:00:00"
(stat_time_hour) in the advertiser's time zone. An async task's CSV has one column per
dimension and metric, headed by the raw names when enable_report_title_translation is false
(official SDK yml_files/report_task_create.yml).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from metricx.sandbox.entities import Ad
from metricx.sandbox.merchant import Merchant
from metricx.totals import Totals

# Report Integrated Get: with stat_time_day the range may span 30 days, with stat_time_hour
# one day, without a time dimension 365 days (docs?id=1740302848100353, start_date/end_date).
SPAN_DAYS = {"stat_time_day": 30, "stat_time_hour": 1, None: 365}
# ReportDataLevel (yml_files/report_integrated_get.yml) and the ID dimension each groups by.
LEVEL_DIMENSION = {
    "AUCTION_AD": "ad_id",
    "AUCTION_ADGROUP": "adgroup_id",
    "AUCTION_CAMPAIGN": "campaign_id",
    "AUCTION_ADVERTISER": "advertiser_id",
}
TIME_DIMENSIONS = ("stat_time_day", "stat_time_hour")
# Unique-user metrics cannot be cut by hour: "reach", "frequency" and their costs are refused
# with stat_time_hour (Report Integrated Get, supported metrics).
UNIQUE_METRICS = frozenset({"reach", "frequency", "cost_per_1000_reached"})
# Page-event (conversion) metrics: served with stat_time_hour by default (the supported-metrics
# tables list no restriction for them). Ambiguous in TikTok's docs, so a fake built with
# `hourly_conversions` False (TikTokFake attribute) refuses them hourly, as Meta refuses
# off-Meta actions.
PAGE_EVENT_METRICS = frozenset(
    {
        "conversion",
        "cost_per_conversion",
        "complete_payment",
        "total_complete_payment_rate",
        "value_per_complete_payment",
        "complete_payment_roas",
        "form",
        "onsite_form",
    }
)
TWO = Decimal("0.01")


def _ratio(numerator: Decimal, denominator: Decimal | int) -> str:
    return str((numerator / denominator).quantize(TWO)) if denominator else "0.00"


def _form(t: Totals) -> int:
    """Web form submissions: a third of the merchant's leads (the rest are Instant Forms)."""
    return int(t.leads) // 3


# Metric name -> its value from the row's totals, as the API spells it (strings). Complete
# Payment is the TikTok Pixel purchase event; `total_complete_payment_rate` is its total value
# ("Total complete payment value", despite the name).
METRICS: dict[str, Callable[[Totals], str]] = {
    "spend": lambda t: str(t.spend.quantize(TWO)),
    "impressions": lambda t: str(t.impressions),
    "clicks": lambda t: str(t.clicks),
    "ctr": lambda t: _ratio(Decimal(t.clicks * 100), t.impressions),
    "cpc": lambda t: _ratio(t.spend, t.clicks),
    "cpm": lambda t: _ratio(t.spend * 1000, t.impressions),
    "reach": lambda t: str(t.impressions * 10 // 13),
    "frequency": lambda t: "1.30" if t.impressions else "0.00",
    "cost_per_1000_reached": lambda t: _ratio(t.spend * 1000, t.impressions * 10 // 13),
    "conversion": lambda t: str(t.conversions),
    "cost_per_conversion": lambda t: _ratio(t.spend, t.conversions),
    "complete_payment": lambda t: str(t.conversions),
    "total_complete_payment_rate": lambda t: str(t.conversion_value.quantize(TWO)),
    "value_per_complete_payment": lambda t: _ratio(t.conversion_value, t.conversions),
    "complete_payment_roas": lambda t: _ratio(t.conversion_value, t.spend),
    "form": lambda t: str(_form(t)),
    "onsite_form": lambda t: str(int(t.leads) - _form(t)),
}


class ReportError(Exception):
    """A request the API refuses with code 40002 (invalid parameter)."""


@dataclass(frozen=True)
class ReportQuery:
    """A validated BASIC report request."""

    advertiser_id: str
    level: str
    id_dimension: str
    time_dimension: str | None
    metrics: tuple[str, ...]
    since: date
    until: date

    @property
    def dimensions(self) -> tuple[str, ...]:
        return (self.id_dimension,) + ((self.time_dimension,) if self.time_dimension else ())


def string_list(value: Any, name: str) -> list[str]:
    """A list parameter: a JSON array in a query string (GET), a real array in a JSON body."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ReportError(f"{name}: Not a valid list.") from None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ReportError(f"{name}: Not a valid list.")
    return value


def parse_query(
    params: dict[str, Any], *, limit_span: bool, hourly_conversions: bool = True
) -> ReportQuery:
    """Validate as the API does; `limit_span` False for async tasks (any time frame);
    `hourly_conversions` False refuses page-event metrics with stat_time_hour."""
    if params.get("report_type") != "BASIC":
        raise ReportError("report_type: the sandbox serves BASIC reports only.")
    if params.get("service_type", "AUCTION") != "AUCTION":
        raise ReportError("service_type: the sandbox serves AUCTION reports only.")
    level = params.get("data_level", "AUCTION_ADVERTISER")
    if level not in LEVEL_DIMENSION:
        raise ReportError(f"data_level: Must be one of {', '.join(LEVEL_DIMENSION)}.")
    dimensions = string_list(params.get("dimensions", "[]"), "dimensions")
    ids = [d for d in dimensions if d in LEVEL_DIMENSION.values()]
    times = [d for d in dimensions if d in TIME_DIMENSIONS]
    unknown = [d for d in dimensions if d not in ids and d not in times]
    if unknown:
        raise ReportError(f"dimensions: Invalid dimension(s) {unknown}.")
    if ids != [LEVEL_DIMENSION[level]] or len(times) > 1:
        raise ReportError(
            f"dimensions: {dimensions} do not match data_level {level}; use one ID dimension "
            f"({LEVEL_DIMENSION[level]}) and at most one time dimension."
        )
    metrics = string_list(params.get("metrics", '["spend","impressions","clicks"]'), "metrics")
    bad = [m for m in metrics if m not in METRICS]
    if bad:
        raise ReportError(f"metrics: Invalid metric field(s) {bad}.")
    time = times[0] if times else None
    if time == "stat_time_hour" and UNIQUE_METRICS & set(metrics):
        raise ReportError(
            f"metrics: {sorted(UNIQUE_METRICS & set(metrics))} are not supported with "
            "stat_time_hour."
        )
    if time == "stat_time_hour" and not hourly_conversions and PAGE_EVENT_METRICS & set(metrics):
        raise ReportError(
            f"metrics: {sorted(PAGE_EVENT_METRICS & set(metrics))} are not supported with "
            "stat_time_hour."
        )
    try:
        since = date.fromisoformat(str(params.get("start_date")))
        until = date.fromisoformat(str(params.get("end_date")))
    except ValueError:
        raise ReportError("start_date/end_date: Must be dates in the format YYYY-MM-DD.") from None
    if since > until:
        raise ReportError("start_date: Must not be later than end_date.")
    span = SPAN_DAYS[time]
    if limit_span and (until - since).days + 1 > span:
        raise ReportError(
            f"end_date: The time range can be at most {span} days"
            + (f" when the dimensions include {time}." if time else ".")
        )
    return ReportQuery(
        str(params.get("advertiser_id")), level, ids[0], time, tuple(metrics), since, until
    )


Row = tuple[dict[str, str], dict[str, str]]


class ReportTable:
    """The rows of one query as of one moment, sorted by time then ID, zero rows left out."""

    def __init__(self, merchant: Merchant, query: ReportQuery, as_of: datetime) -> None:
        self.query = query
        groups: dict[str, list[Ad]] = {}
        for ad in merchant.ads_of(query.advertiser_id):
            groups.setdefault(_group(ad, query.id_dimension), []).append(ad)
        last = min(query.until, merchant.account_today(query.advertiser_id, as_of))
        first = max(query.since, merchant.start_day)
        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        cells: dict[tuple[str, str], Totals] = {}
        for key, ads in groups.items():
            for day in days:
                for ad in ads:
                    for moment, totals in _buckets(merchant, ad, day, as_of, query):
                        cells[(moment, key)] = cells.get((moment, key), Totals()) + totals
        self.rows: list[Row] = [
            self._row(moment, key, totals)
            for (moment, key), totals in sorted(cells.items())
            if not totals.is_zero
        ]

    def _row(self, moment: str, key: str, totals: Totals) -> Row:
        q = self.query
        dims = {q.id_dimension: key}
        if q.time_dimension:
            dims[q.time_dimension] = moment
        return dims, {m: METRICS[m](totals) for m in q.metrics}

    def csv(self) -> str:
        """The rows as an async task's CSV: dimension columns, then metric columns."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([*self.query.dimensions, *self.query.metrics])
        for dims, metrics in self.rows:
            writer.writerow([*dims.values(), *metrics.values()])
        return out.getvalue()


def _group(ad: Ad, dimension: str) -> str:
    return {
        "ad_id": ad.external_id,
        "adgroup_id": ad.adset_id,
        "campaign_id": ad.campaign_id,
        "advertiser_id": ad.account_id,
    }[dimension]


def _buckets(
    merchant: Merchant, ad: Ad, day: date, as_of: datetime, query: ReportQuery
) -> list[tuple[str, Totals]]:
    """(time label, totals) of one ad-day: one day row, or one row per local hour."""
    if query.time_dimension == "stat_time_hour":
        hours = merchant.ad_hourly(ad.external_id, day, as_of)
        return [(f"{day.isoformat()} {hour:02d}:00:00", t) for hour, t in hours.items()]
    label = f"{day.isoformat()} 00:00:00" if query.time_dimension else ""
    return [(label, merchant.ad_totals(ad.external_id, day, as_of))]
