"""Where a visit came from: source / medium / referrer / click ids → a marketing channel.

The rules follow the common default channel grouping: a click id or a paid medium makes a
visit paid (social or search by its source); email by medium or a known email tool; organic
search and social by referrer; any other external referrer is a referral; nothing at all is
direct. A paid visit also names its ad platform when it can tell.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from metricx.platforms import PLATFORMS

CHANNELS = (
    "paid_social",
    "paid_search",
    "email",
    "organic_search",
    "organic_social",
    "referral",
    "direct",
)
CHANNEL_LABELS = {
    "paid_social": "Paid social",
    "paid_search": "Paid search",
    "email": "Email",
    "organic_search": "Organic search",
    "organic_social": "Organic social",
    "referral": "Referral",
    "direct": "Direct",
}
PAID_MEDIUMS = {
    "cpc",
    "ppc",
    "paid",
    "paid_social",
    "paidsocial",
    "paid-social",
    "cpm",
    "paid_search",
    "paidsearch",
    "display",
    "social_paid",
    "cpv",
}
EMAIL = {
    "email",
    "e-mail",
    "newsletter",
    "mailchimp",
    "omnisend",
    "sms",
    *(s for p in PLATFORMS.values() if p.kind == "email" for s in p.utm_sources),
}
SEARCH_ENGINES = ("google.", "bing.", "duckduckgo.", "yahoo.", "ecosia.", "baidu.", "yandex.")
SOCIAL_SITES = (
    "facebook.",
    "instagram.",
    "tiktok.",
    "twitter.",
    "x.com",
    "linkedin.",
    "pinterest.",
    "reddit.",
    "youtube.",
    "snapchat.",
    "t.co",
)
#: Click ids that make a visit paid, ours (metricx.platforms) and other networks' (Microsoft
#: Ads' msclkid; a paid visit is search on Microsoft, social by default elsewhere).
PAID_CLICK_IDS = frozenset({"msclkid", *(c for p in PLATFORMS.values() for c in p.click_ids)})
SEARCH_CLICK_IDS = frozenset({"msclkid"})
AD_PLATFORMS = tuple(p for p in PLATFORMS.values() if p.kind == "ads")


@dataclass(frozen=True)
class Visit:
    """The fields a touchpoint or a pixel event gives us about one visit."""

    utm_source: str | None = None
    utm_medium: str | None = None
    landing_page: str | None = None
    referrer: str | None = None
    source_type: str | None = None  # Shopify's (SEO, SEARCH, DISPLAY, NEWSLETTER, ...)


@dataclass(frozen=True)
class Classified:
    channel: str
    provider: str | None  # the ad platform (metricx.platforms key) of a paid visit on one


def _host(url: str | None) -> str:
    return (urlsplit(url).hostname or "") if url else ""


def _click_ids(url: str | None) -> set[str]:
    return set(parse_qs(urlsplit(url).query)) if url else set()


def _provider(source: str, referrer_host: str, clicks: set[str]) -> str | None:
    """The ad platform a visit names by its click id, utm_source or referrer (in that order:
    a click id is the platform's own mark, a source or referrer only the merchant's tag)."""
    for platform in AD_PLATFORMS:
        if clicks.intersection(platform.click_ids):
            return platform.key
    for platform in AD_PLATFORMS:
        if source in platform.utm_sources or any(
            host in referrer_host for host in platform.referrer_hosts
        ):
            return platform.key
    return None


def classify(visit: Visit) -> Classified:
    source = (visit.utm_source or "").strip().lower()
    medium = (visit.utm_medium or "").strip().lower()
    referrer = _host(visit.referrer)
    clicks = _click_ids(visit.landing_page)
    provider = _provider(source, referrer, clicks)
    paid = medium in PAID_MEDIUMS or bool(clicks & PAID_CLICK_IDS)
    if paid:
        # cpc on Meta is still social: the platform decides, the medium only breaks ties
        if provider is not None:
            return Classified(PLATFORMS[provider].channel or "paid_social", provider)
        search = (
            bool(clicks & SEARCH_CLICK_IDS)
            or medium in {"cpc", "ppc"}
            or (visit.source_type or "").upper() == "SEARCH"
        )
        return Classified("paid_search" if search else "paid_social", None)
    if medium in EMAIL or source in EMAIL:
        return Classified("email", None)
    if medium == "organic" or any(e in referrer for e in SEARCH_ENGINES):
        return Classified("organic_search", None)
    if medium == "social" or any(s in referrer for s in SOCIAL_SITES):
        return Classified("organic_social", None)
    if referrer or source:
        return Classified("referral", None)
    return Classified("direct", None)
