"""Insights rows as the Graph API shapes them: strings for numbers, actions as typed lists.

Purchases and leads are reported under several action types at once (as Meta does), with the
true value under the highest-priority type present and smaller numbers under the others, so a
client that adds them up or picks the wrong one gets a visibly wrong answer.

Video ads' plays come on daily rows only (metricx.sandbox.video): the 3-second plays as the
`actions` entry `video_view`, the rest as video_* fields.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache

from metricx.sandbox import rand
from metricx.sandbox.entities import Ad
from metricx.sandbox.merchant import Merchant
from metricx.sandbox.totals import ZERO_CELLS, Cells, add_cells
from metricx.sandbox.video import ZERO_VIDEO, VideoFacts, video_facts

HOURLY = "hourly_stats_aggregated_by_advertiser_time_zone"
PURCHASE_TYPES = ("omni_purchase", "purchase", "offsite_conversion.fb_pixel_purchase")
LEAD_TYPES = ("lead", "onsite_conversion.lead_grouped", "offsite_conversion.fb_pixel_lead")
LEVELS = ("account", "campaign", "adset", "ad")
# Insights API Breakdowns, "Restrictions for off-Meta action metrics": hourly breakdowns are
# Type 1, and "the Insights API will not return unsupported off-Meta metrics (for example, an
# actions metric with Type 1 breakdowns)" for data after 2021-04-27; on-Meta actions (link
# clicks, on-Facebook lead forms) still come.
# developers.facebook.com/docs/marketing-api/insights/breakdowns
TYPE_1_SINCE = date(2021, 4, 27)
ON_META_ACTIONS = frozenset({"link_click", "onsite_conversion.lead_grouped"})
# Video fields of AdsInsights (facebook-python-business-sdk adsinsights.py, v25: each a
# list<AdsActionStats>) and the VideoFacts count each one reports. There is no 3-second field:
# those plays are the `actions` entry `video_view` (research19 meta.md §3.2, §3.4).
VIDEO_COUNTS = {
    "video_play_actions": "plays",
    "video_thruplay_watched_actions": "thruplays",
    "video_p25_watched_actions": "p25",
    "video_p50_watched_actions": "p50",
    "video_p75_watched_actions": "p75",
    "video_p95_watched_actions": "p95",
    "video_p100_watched_actions": "p100",
}
VIDEO_AVERAGE = "video_avg_time_watched_actions"
VIDEO_FIELDS = frozenset({*VIDEO_COUNTS, VIDEO_AVERAGE})
# The action type inside every video_* list, and the `actions` entry of 3-second plays.
VIDEO_VIEW = "video_view"
FIELDS = frozenset(
    {
        "account_id",
        "account_name",
        "account_currency",
        "campaign_id",
        "campaign_name",
        "adset_id",
        "adset_name",
        "ad_id",
        "ad_name",
        "spend",
        "impressions",
        "clicks",
        "inline_link_clicks",
        "actions",
        "action_values",
        "purchase_roas",
        "cpc",
        "cpm",
        "ctr",
        "reach",
        "objective",
        "date_start",
        "date_stop",
        *VIDEO_FIELDS,
    }
)
_DERIVED = frozenset(
    {
        "account_name",
        "account_currency",
        "campaign_name",
        "adset_name",
        "ad_name",
        "objective",
        "reach",
        "cpm",
        "ctr",
        "cpc",
        "purchase_roas",
    }
)
Key = tuple[date | None, str, int | None]  # (day or None for all_days, entity id, hour)


@dataclass(frozen=True)
class InsightsQuery:
    """A validated insights request: what to group by and over which local days."""

    account_id: str
    level: str
    fields: tuple[str, ...]
    since: date
    until: date
    daily: bool
    hourly: bool
    ids: frozenset[str] | None  # filtering on campaign.id / adset.id / ad.id


def _entity_of(ad: Ad, level: str) -> str:
    return {
        "account": ad.account_id,
        "campaign": ad.campaign_id,
        "adset": ad.adset_id,
        "ad": ad.external_id,
    }[level]


def _in_filter(ad: Ad, ids: frozenset[str] | None) -> bool:
    return ids is None or bool({ad.campaign_id, ad.adset_id, ad.external_id} & ids)


class InsightsTable:
    """Computes the rows of one query at one moment; formats only the rows asked for."""

    def __init__(self, merchant: Merchant, query: InsightsQuery, as_of: datetime) -> None:
        self.merchant = merchant
        self.query = query
        self.as_of = as_of
        groups: dict[str, list[Ad]] = {}
        for ad in merchant.ads_of(query.account_id):
            if _in_filter(ad, query.ids):
                groups.setdefault(_entity_of(ad, query.level), []).append(ad)
        self.groups = dict(sorted(groups.items()))
        self._wanted = frozenset(query.fields)
        self._last: tuple[tuple[str, date], list[Cells]] | None = None
        self.keys = self._keys()

    def _ad_hours(self, ad: Ad, day: date) -> list[Cells]:
        """Hour cells of one ad-day, remembered for the next row (rows come hour by hour)."""
        key = (ad.external_id, day)
        if self._last is None or self._last[0] != key:
            self._last = (key, self.merchant.series.hour_cells(ad, day, self.as_of))
        return self._last[1]

    def _days(self) -> list[date]:
        q = self.query
        last = min(q.until, self.merchant.account_today(q.account_id, self.as_of))
        first = max(q.since, self.merchant.start_day)
        return [first + timedelta(days=i) for i in range((last - first).days + 1)]

    def _cells(self, ads: Iterable[Ad], day: date) -> Cells:
        series = self.merchant.series
        total = ZERO_CELLS
        for ad in ads:
            total = add_cells(total, series.day_cells(ad, day, self.as_of))
        return total

    def _hours(self, ads: Iterable[Ad], day: date) -> list[Cells]:
        series = self.merchant.series
        hours = [ZERO_CELLS] * 24
        for ad in ads:
            hours = [
                add_cells(a, b)
                for a, b in zip(hours, series.hour_cells(ad, day, self.as_of), strict=True)
            ]
        return hours

    def _keys(self) -> list[Key]:
        keys: list[Key] = []
        days = self._days()
        for entity, ads in self.groups.items():
            if not self.query.daily:
                if self.query.hourly:
                    merged = [ZERO_CELLS] * 24
                    for day in days:
                        merged = [
                            add_cells(a, b)
                            for a, b in zip(merged, self._hours(ads, day), strict=True)
                        ]
                    keys.extend((None, entity, h) for h, c in enumerate(merged) if any(c))
                elif any(any(self._cells(ads, day)) for day in days):
                    keys.append((None, entity, None))
                continue
            for day in days:
                if self.query.hourly:
                    keys.extend(
                        (day, entity, h) for h, c in enumerate(self._hours(ads, day)) if any(c)
                    )
                elif any(self._cells(ads, day)):
                    keys.append((day, entity, None))
        keys.sort(key=lambda k: (k[0] or date.min, k[1], -1 if k[2] is None else k[2]))
        return keys

    def _derived(
        self, ad: Ad, spend: int, impressions: int, clicks: int, values: dict[str, int]
    ) -> dict[str, object]:
        m, level = self.merchant, self.query.level
        out: dict[str, object] = {
            "account_name": m.account(ad.account_id).name,
            "account_currency": m.account(ad.account_id).currency,
            "reach": str(impressions * 10 // 13),
            "cpm": ratio(spend * 10, impressions),
            "ctr": ratio(clicks * 100, impressions),
            "cpc": ratio(spend, clicks * 100),
        }
        if level != "account":
            camp = m.campaign(ad.campaign_id)
            out.update(campaign_name=camp.name, objective=camp.objective)
        if level in ("adset", "ad"):
            out["adset_name"] = m.adset(ad.adset_id).name
        if level == "ad":
            out["ad_name"] = ad.name
        top = next((t for t in PURCHASE_TYPES if t in values), None)
        if top and spend:
            out["purchase_roas"] = [{"action_type": top, "value": ratio(values[top], spend)}]
        return out

    def row(self, key: Key) -> dict[str, object]:
        """One insights row in Graph API shape, restricted to the requested fields."""
        day, entity, hour = key
        ads = self.groups[entity]
        days = [day] if day is not None else self._days()
        cells = ZERO_CELLS
        counts: dict[str, int] = {}
        values: dict[str, int] = {}
        video = ZERO_VIDEO
        for ad in ads:
            creative = self.merchant.creative_of(ad.external_id)
            for d in days:
                c = (
                    self._ad_hours(ad, d)[hour]
                    if hour is not None
                    else self.merchant.series.day_cells(ad, d, self.as_of)
                )
                cells = add_cells(cells, c)
                _add_actions(self.merchant, ad, c, counts, values)
                # Video plays are daily facts: "video_* fields cannot be requested with any
                # hourly stats breakdowns" (Insights API Breakdowns, older text), and the
                # 3-second `video_view` action is not on hourly rows either (same reading).
                if hour is None and creative is not None:
                    video = video + video_facts(creative, d, c[1])
        if hour is not None and (day or self.query.until) >= TYPE_1_SINCE:
            counts = {t: n for t, n in counts.items() if t in ON_META_ACTIONS}
            values = {}  # every action value here is a purchase: off-Meta
        if video.plays_3s:
            counts[VIDEO_VIEW] = video.plays_3s
        return self._shape(ads[0], cells, counts, values, day, hour, video)

    def _shape(
        self,
        ad: Ad,
        cells: Cells,
        counts: dict[str, int],
        values: dict[str, int],
        day: date | None,
        hour: int | None,
        video: VideoFacts = ZERO_VIDEO,
    ) -> dict[str, object]:
        """The requested fields of one row; derived ones are only computed when asked."""
        q, wanted = self.query, self._wanted
        spend, impressions, link_clicks = cells[0], cells[1], cells[2]
        all_clicks = link_clicks + link_clicks // 4 + impressions // 900
        full: dict[str, object] = {
            "account_id": ad.account_id,
            "spend": money(spend),
            "impressions": str(impressions),
            "clicks": str(all_clicks),
            "inline_link_clicks": str(link_clicks),
        }
        if q.level != "account":
            full["campaign_id"] = ad.campaign_id
        if q.level in ("adset", "ad"):
            full["adset_id"] = ad.adset_id
        if q.level == "ad":
            full["ad_id"] = ad.external_id
        if counts and "actions" in wanted:
            full["actions"] = [{"action_type": t, "value": str(v)} for t, v in counts.items()]
        if values and "action_values" in wanted:
            full["action_values"] = [
                {"action_type": t, "value": money(v)} for t, v in values.items()
            ]
        if wanted & VIDEO_FIELDS:
            full.update(_video_fields(video))
        if wanted & _DERIVED:
            full.update(self._derived(ad, spend, impressions, all_clicks, values))
        row = {f: full[f] for f in q.fields if f in full}
        row["date_start"] = (day or q.since).isoformat()
        row["date_stop"] = (day or q.until).isoformat()
        if hour is not None:
            row[HOURLY] = f"{hour:02d}:00:00 - {hour:02d}:59:59"
        return row


@lru_cache(maxsize=4096)
def _types(merchant: Merchant, ad: Ad) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Which purchase and lead action types this ad's pixel/app setup reports."""
    u = rand.uniform(merchant.seed, "meta-action-types", ad.external_id)
    purchases = PURCHASE_TYPES if u < 0.7 else PURCHASE_TYPES[1:] if u < 0.9 else PURCHASE_TYPES[2:]
    leads = LEAD_TYPES if merchant.campaign(ad.campaign_id).kind == "leads" else LEAD_TYPES[2:]
    return purchases, leads


def _add_actions(
    merchant: Merchant, ad: Ad, cells: Cells, counts: dict[str, int], values: dict[str, int]
) -> None:
    """Add one ad-cell's actions; lower-priority duplicates report 3/4 of the true number."""
    purchases, lead_types = _types(merchant, ad)
    conversions, value, leads, link = cells[3] // 100, cells[4], cells[5], cells[2]
    entries = [
        ("link_click", link),
        ("landing_page_view", link * 4 // 5),
        ("add_to_cart", link // 7 + conversions),
    ]
    # listed lowest priority first, as Meta often does: the order must not matter
    entries += [
        (t, conversions if t == purchases[0] else conversions * 3 // 4) for t in reversed(purchases)
    ]
    entries += [(t, leads if t == lead_types[0] else leads * 3 // 4) for t in reversed(lead_types)]
    for action, n in entries:
        if n:
            counts[action] = counts.get(action, 0) + n
    for t in reversed(purchases):
        v = value if t == purchases[0] else value * 3 // 4
        if v:
            values[t] = values.get(t, 0) + v


def _video_fields(video: VideoFacts) -> dict[str, object]:
    """The video_* fields of a row, each `[{"action_type": "video_view", "value": "<n>"}]`
    (AdsActionStats: numbers as strings, SDK adsactionstats.py). A count of 0 (every count of
    an image or carousel ad) is left out, not sent as 0 or []: what Graph is observed to do
    (research19 meta.md §3.3, undocumented). The average watch time is seconds per play
    started as a decimal string ("4.21"); Meta's value is a string (AdsActionStats.value)
    that integrations read as a float."""
    out: dict[str, object] = {
        field: [{"action_type": VIDEO_VIEW, "value": str(getattr(video, name))}]
        for field, name in VIDEO_COUNTS.items()
        if getattr(video, name)
    }
    if video.plays:
        out[VIDEO_AVERAGE] = [{"action_type": VIDEO_VIEW, "value": str(video.average_seconds)}]
    return out


def money(cents: int) -> str:
    """Graph API money: a decimal string with two places."""
    return str(Decimal(cents).scaleb(-2))


def ratio(numerator: int, denominator: int) -> str:
    if not denominator:
        return "0"
    return f"{numerator / denominator:.6f}".rstrip("0").rstrip(".")
