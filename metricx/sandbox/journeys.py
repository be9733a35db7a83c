"""Customer journeys: the visits before an order and the UTMs that tie them to ads.

Paid visits point at real campaigns, ad sets and ads of the merchant (by id or by name, as the
campaign's links are tagged), in proportion to what each ad delivered that day, so attribution
in the app has something true to find. A few big product-led campaigns feature one product:
all their ads link to its page (see featured_campaigns).
"""

from __future__ import annotations

import random
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cached_property
from threading import Lock
from urllib.parse import urlencode

from metricx.sandbox.entities import GOOGLE, META, TIKTOK, Ad, Tree
from metricx.sandbox.series import AdSeries

# "meta" is the paid-social draw: Meta's ads, and TikTok's when the merchant has any
# (AdPicker weighs both by delivery), so TikTok visits take nothing from the other draws.
CHANNELS = ("meta", "google", "direct", "organic", "email", "social")
CHANNEL_WEIGHTS = (0.33, 0.22, 0.17, 0.13, 0.10, 0.05)
_CUM_CHANNELS = [sum(CHANNEL_WEIGHTS[: i + 1]) for i in range(len(CHANNEL_WEIGHTS))]
EMAIL_CAMPAIGNS = ("Weekly Newsletter", "Abandoned Cart Flow", "Welcome Series", "Winback 60d")
PRODUCT_LED_KINDS = ("prospecting", "generic", "testing")


@dataclass(frozen=True)
class Utm:
    source: str | None
    medium: str | None
    campaign: str | None
    content: str | None
    term: str | None


@dataclass(frozen=True)
class Visit:
    """One session; `channel` and `ad_id` are the sandbox's ground truth (not served)."""

    occurred_at: datetime
    page: str
    referrer_url: str | None
    source: str | None
    source_type: str | None
    utm: Utm | None
    channel: str
    ad_id: str | None
    click: tuple[tuple[str, str], ...] = ()

    @cached_property
    def landing_page(self) -> str:
        """The URL as Shopify shows it: the page with its UTM and click-id query string."""
        params = []
        if self.utm is not None:
            params = [
                (f"utm_{k}", v)
                for k, v in (
                    ("source", self.utm.source),
                    ("medium", self.utm.medium),
                    ("campaign", self.utm.campaign),
                    ("content", self.utm.content),
                    ("term", self.utm.term),
                )
                if v is not None
            ]
        params.extend(self.click)
        return f"{self.page}?{urlencode(params)}" if params else self.page


@dataclass(frozen=True)
class Journey:
    """Shopify's customerJourneySummary; not `ready` until ready_at."""

    ready_at: datetime
    days_to_conversion: int | None
    first_visit: Visit | None
    last_visit: Visit | None

    def ready(self, as_of: datetime) -> bool:
        return as_of >= self.ready_at


def acquisition_channel(journey: Journey | None) -> str:
    """The channel of an order's first visit (first click); "direct" when there is none."""
    return journey.first_visit.channel if journey and journey.first_visit else "direct"


def featured_campaigns(tree: Tree, handles: Sequence[str]) -> dict[str, str]:
    """Campaign id -> the product page (handle) all its ads link to, one campaign per handle:
    the biggest spenders among the product-led campaigns that are never paused, biggest
    first. Other campaigns link to whatever their buyer ends up buying, and so do TikTok's
    (so a merchant's featured products are the same with or without TikTok)."""
    steady = sorted(
        (
            c
            for c in tree.campaigns
            if c.kind in PRODUCT_LED_KINDS and c.paused_at is None and c.provider != TIKTOK
        ),
        key=lambda c: -c.planned_daily,
    )
    return {c.external_id: handle for c, handle in zip(steady, handles, strict=False)}


class AdPicker:
    """Chooses the ad behind a paid visit, weighted by that ad's delivery on the day, and knows
    which campaigns link to one featured product (`landings`: campaign id -> handle)."""

    def __init__(
        self,
        series: AdSeries,
        tree: Tree,
        first_day: date,
        landings: Mapping[str, str] | None = None,
    ) -> None:
        self._series = series
        self._tree = tree
        self._first_day = first_day
        self.landings = dict(landings or {})
        self._cache: dict[tuple[str, int], tuple[list[float], list[Ad]]] = {}
        self._lock = Lock()

    def pick(self, provider: str, day: date, u: float) -> Ad | None:
        """The ad behind a visit of the `provider` draw (the "meta" draw covers TikTok too)."""
        day = max(day, self._first_day)
        key = (provider, day.toordinal())
        with self._lock:
            entry = self._cache.get(key)
            if entry is None:
                entry = self._weights(provider, day)
                self._cache[key] = entry
        cumulative, ads = entry
        if not ads:
            return None
        return ads[min(bisect_right(cumulative, u * cumulative[-1]), len(ads) - 1)]

    def landing(self, ad: Ad, handle: str) -> str:
        """The product page an ad's click lands on: its campaign's featured one, or `handle`."""
        return self.landings.get(ad.campaign_id, handle)

    def _weights(self, provider: str, day: date) -> tuple[list[float], list[Ad]]:
        cumulative: list[float] = []
        ads: list[Ad] = []
        total = 0.0
        providers = (META, TIKTOK) if provider == META else (provider,)
        for ad in self._tree.ads:
            if ad.provider not in providers:
                continue
            cells = self._series.final_cells(ad, day)
            # spend in cents plus $40 per conversion (final cells count conversions in steps)
            weight = cells[0] + 40 * cells[3] * self._series.conversion_unit(ad)
            if weight > 0:
                total += weight
                cumulative.append(total)
                ads.append(ad)
        return cumulative, ads


def pick_channel(u: float) -> str:
    return CHANNELS[min(bisect_right(_CUM_CHANNELS, u), len(CHANNELS) - 1)]


def make_visit(
    r: random.Random,
    channel: str,
    at: datetime,
    host: str,
    handle: str,
    picker: AdPicker,
    tree: Tree,
    local_day: date,
) -> Visit:
    """A visit through `channel` at `at`, landing on a product page."""
    page = f"https://{host}/products/{handle}"
    if channel in (META, GOOGLE):
        ad = picker.pick(channel, local_day, r.random())
        if ad is not None:
            return _paid_visit(
                r, ad, tree, at, f"https://{host}/products/{picker.landing(ad, handle)}"
            )
        channel = "direct"
    if channel == "direct":
        return Visit(at, f"https://{host}/", None, "direct", None, None, channel, None)
    if channel == "organic":
        engine = "bing" if r.random() < 0.12 else "google"
        return Visit(at, page, f"https://www.{engine}.com/", engine, "SEO", None, channel, None)
    if channel == "social":
        return Visit(
            at, page, "https://www.instagram.com/", "instagram", "POST", None, channel, None
        )
    name = EMAIL_CAMPAIGNS[int(r.random() * len(EMAIL_CAMPAIGNS))]
    utm = Utm("klaviyo", "email", name, None, None)
    return Visit(at, page, None, "klaviyo", "NEWSLETTER", utm, channel, None)


def _paid_visit(r: random.Random, ad: Ad, tree: Tree, at: datetime, page: str) -> Visit:
    camp = tree.campaign(ad.campaign_id)
    adset = tree.adset(ad.adset_id)
    if ad.provider == META:
        platform = "instagram" if r.random() < 0.3 else "facebook"
        referrer = f"https://l.{platform}.com/"
        click = (("fbclid", f"IwAR{int(r.random() * 1e12):012d}"),)
        utm_source, medium, source_type = platform, "paid_social", "DISPLAY"
    elif ad.provider == TIKTOK:
        # TikTok appends ttclid to every landing URL ("TikTok Click ID", ads.tiktok.com/help/
        # article/tiktok-click-id); UTMs are the advertiser's, filled by TikTok's URL macros
        # __CAMPAIGN_ID__/__CAMPAIGN_NAME__, __AID__/__AID_NAME__ (ad group), __CID__/
        # __CID_NAME__ (ad) ("Track offsite web events with UTM parameters", ads.tiktok.com/
        # help/article/track-offsite-web-events-with-utm-parameters). TikTok's help shows
        # utm_medium=cpc, tools also use paid/paid_social: the sandbox uses paid_social.
        # TikTok documents the click id only as `ttclid=_CLICKID_`; its shape here is made up.
        platform, referrer = "tiktok", "https://www.tiktok.com/"
        click = (("ttclid", f"E.C.P.{int(r.random() * 1e18):018d}"),)
        utm_source, medium, source_type = "tiktok", "paid_social", "DISPLAY"
    else:
        platform, referrer = "google", "https://www.google.com/"
        click = (("gclid", f"Cj0KCQ{int(r.random() * 1e12):012d}"),)
        utm_source, medium, source_type = "google", "cpc", "SEARCH"
    if camp.utm_style == "none":
        return Visit(
            at, page, referrer, platform, source_type, None, ad.provider, ad.external_id, click
        )
    by_id = camp.utm_style == "id"
    utm = Utm(
        utm_source,
        medium,
        camp.external_id if by_id else camp.name,
        ad.external_id if by_id else ad.name,
        adset.external_id if by_id else adset.name,
    )
    return Visit(at, page, referrer, platform, source_type, utm, ad.provider, ad.external_id, click)


def make_journey(
    r: random.Random,
    created_at: datetime,
    host: str,
    handle: str,
    picker: AdPicker,
    tree: Tree,
    local_day: date,
) -> Journey | None:
    """The summary Shopify computes for an order (None for the few orders without one)."""
    roll = r.random()
    if roll < 0.005:
        return None
    ready_at = created_at + (timedelta(hours=3) if r.random() < 0.04 else timedelta(0))
    if roll < 0.025:
        return Journey(ready_at, None, None, None)
    channel = pick_channel(r.random())
    last_at = created_at - timedelta(minutes=3 + int(r.random() * 117))
    last = make_visit(r, channel, last_at, host, handle, picker, tree, local_day)
    first = last
    if r.random() < 0.45:
        back = timedelta(days=1 + int(r.random() * 19), minutes=int(r.random() * 600))
        first_at = last_at - back
        first = make_visit(
            r,
            pick_channel(r.random()),
            first_at,
            host,
            handle,
            picker,
            tree,
            local_day - timedelta(days=back.days),
        )
    return Journey(ready_at, (created_at - first.occurred_at).days, first, last)
