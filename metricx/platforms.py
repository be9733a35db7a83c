"""The platforms Metricx reads, declared once: what each is called, what it is, how its clicks
and links are recognised and what its campaign tree's levels are named there.

Pages, the semantic layer, attribution, settings, alerts and the copilot's vocabulary all
read this registry, so adding a platform is one entry here plus its connector and its fake
(docs/design.md "Connector kit"); no page names a platform. It is a leaf module (it imports
nothing from metricx) so the connectors may read the display names too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

PlatformKind = Literal["ads", "store", "email"]

#: The campaign tree's levels as each platform calls them, unless it names them otherwise.
LEVEL_NOUNS: Mapping[str, str] = MappingProxyType(
    {"account": "ad account", "campaign": "campaign", "adset": "ad set", "ad": "ad"}
)


@dataclass(frozen=True)
class Platform:
    """One source of data a workspace connects.

    `key` is what connections.provider stores; `name` is the product's name in messages
    ("Google Ads"), `short_name` the word on charts and filters ("Google"). For ad platforms,
    `channel` is the marketing channel its paid visits belong to, and `click_ids`,
    `utm_sources` and `referrer_hosts` are how a visit is recognised as coming from it.
    """

    key: str
    name: str
    short_name: str
    kind: PlatformKind
    api_name: str
    #: What identifies an account in a form ("act_123456").
    account_example: str
    #: The account id as the API wants it: after lowering (`account_lower`), removing
    #: `account_prefixes` and the `account_drop` characters, it matches `account_pattern`;
    #: `account_rule` says so to someone who typed something else.
    account_pattern: str
    account_rule: str
    #: The OAuth app settings, for the "set these to connect by signing in" hint; empty for a
    #: platform connected with a key only (Klaviyo's private API key).
    app_settings: str
    account_prefixes: tuple[str, ...] = ()
    account_drop: str = ""
    account_lower: bool = False
    #: Which stored secret a sync needs: an access token or a refresh token.
    secret_kind: Literal["access", "refresh"] = "access"
    channel: str | None = None
    click_ids: tuple[str, ...] = ()
    utm_sources: frozenset[str] = frozenset()
    referrer_hosts: tuple[str, ...] = ()
    #: Words merchants use for it (the copilot's vocabulary), besides the key.
    aliases: tuple[str, ...] = ()
    #: Level nouns where the platform's differ from LEVEL_NOUNS (Google's "ad group").
    level_names: Mapping[str, str] = field(default_factory=dict)
    #: Conversions come only on daily rows, never hourly (Meta's Type 1 breakdowns).
    daily_conversions: bool = False
    #: Metricx reads its video plays (metricx.totals.VIDEO): Meta's only, so far.
    video_facts: bool = False
    #: How far past a daily budget the platform itself may spend on one day, in percent.
    daily_overdelivery_percent: float | None = None

    def account_id(self, raw: str) -> str | None:
        """`raw` as the API's account id, or None when it is not one."""
        value = raw.lower() if self.account_lower else raw
        for prefix in self.account_prefixes:
            value = value.removeprefix(prefix)
        value = value.translate({ord(c): None for c in self.account_drop}).rstrip("/")
        return value if value.isascii() and re.fullmatch(self.account_pattern, value) else None

    def level_noun(self, level: str) -> str:
        """What this platform calls a level of the campaign tree ("ad group")."""
        return self.level_names.get(level, LEVEL_NOUNS[level])


PLATFORMS: Mapping[str, Platform] = MappingProxyType(
    {
        platform.key: platform
        for platform in (
            Platform(
                key="meta",
                name="Meta",
                short_name="Meta",
                kind="ads",
                api_name="Meta Marketing API",
                account_example="act_123456",
                account_pattern=r"[0-9]+",
                account_rule="a Meta ad account id is digits (act_ optional)",
                account_prefixes=("act_",),
                app_settings="META_APP_ID / META_APP_SECRET",
                channel="paid_social",
                click_ids=("fbclid",),
                utm_sources=frozenset(
                    {"facebook", "fb", "instagram", "ig", "meta", "messenger", "audience_network"}
                ),
                referrer_hosts=("facebook.", "instagram."),
                aliases=("facebook", "fb", "instagram", "ig", "insta"),
                # Hourly breakdowns are "Type 1": the Insights API does not return off-Meta
                # actions with them (Insights API Breakdowns, "Restrictions for off-Meta
                # action metrics"); conversions come from daily reports.
                daily_conversions=True,
                video_facts=True,
                # "up to 75% more than your daily budget on some days" (Meta Business Help
                # Center, "About daily budgets").
                daily_overdelivery_percent=75.0,
            ),
            Platform(
                key="google",
                name="Google Ads",
                short_name="Google",
                kind="ads",
                api_name="Google Ads API",
                account_example="123-456-7890",
                account_pattern=r"[0-9]{10}",
                account_rule="a Google Ads customer id has 10 digits (123-456-7890)",
                account_drop="-",
                app_settings="GOOGLE_CLIENT_ID / GOOGLE_CLIENT_SECRET",
                secret_kind="refresh",
                channel="paid_search",
                click_ids=("gclid", "gbraid", "wbraid"),
                utm_sources=frozenset({"google", "youtube", "adwords", "google_ads", "googleads"}),
                aliases=("adwords", "youtube", "gads"),
                level_names={"account": "customer", "adset": "ad group"},
                # "you could be charged up to 2 times your average daily budget on any one
                # day" (Google Ads Help, "About average daily budgets").
                daily_overdelivery_percent=100.0,
            ),
            Platform(
                key="tiktok",
                name="TikTok Ads",
                short_name="TikTok",
                kind="ads",
                api_name="TikTok API for Business",
                account_example="7123456789012345678",
                account_pattern=r"[0-9]{10,20}",
                account_rule="a TikTok advertiser id is digits (7123456789012345678)",
                app_settings="TIKTOK_APP_ID / TIKTOK_APP_SECRET",
                channel="paid_social",
                # TikTok appends ttclid to every ad click's landing URL (TikTok Ads Help,
                # "About TikTok Click ID").
                click_ids=("ttclid",),
                utm_sources=frozenset({"tiktok", "tiktok_ads", "tiktokads", "tt"}),
                aliases=("tt", "tik tok", "tiktok ads"),
                level_names={"account": "advertiser", "adset": "ad group"},
                # Hourly integrated reports return page-event conversions (complete_payment);
                # only unique-user metrics are refused with stat_time_hour (connectors.tiktok).
                daily_conversions=False,
                # A standard daily budget is a ceiling; only the opt-in Dynamic Daily Budget
                # may spend up to 125 % on a day (TikTok Ads Help, "How to set up a daily
                # budget"), so pacing allows TikTok nothing over.
                daily_overdelivery_percent=0.0,
            ),
            Platform(
                key="shopify",
                name="Shopify",
                short_name="Shopify",
                kind="store",
                api_name="Shopify Admin API",
                account_example="shop.myshopify.com",
                account_pattern=r"[a-z0-9][a-z0-9-]*\.myshopify\.com",
                account_rule="a Shopify shop is like my-store.myshopify.com",
                account_prefixes=("https://",),
                account_lower=True,
                app_settings="SHOPIFY_CLIENT_ID / SHOPIFY_CLIENT_SECRET",
            ),
            Platform(
                key="klaviyo",
                name="Klaviyo",
                short_name="Klaviyo",
                kind="email",
                api_name="Klaviyo API",
                # The account's public API key ("site id"), shown beside the private keys in
                # Klaviyo's Settings > API keys; the Get Accounts endpoint returns it as the id.
                account_example="AbC123",
                account_pattern=r"[A-Za-z0-9]{6}",
                account_rule="a Klaviyo account id is its 6-character public API key (AbC123)",
                # Private API keys only: Klaviyo's OAuth is for apps listed in its marketplace
                # (developers.klaviyo.com "Set up OAuth"), which a merchant's own install is not.
                app_settings="",
                # Email and SMS, as Metricx's attribution channels name them (a Klaviyo link's
                # utm_source=klaviyo is the "email" channel: metricx.attribution.channels).
                utm_sources=frozenset({"klaviyo"}),
                aliases=("email", "sms", "newsletter", "flows"),
            ),
        )
    }
)

#: Every platform a workspace connects, and those that spend (in registry order).
PROVIDERS: tuple[str, ...] = tuple(PLATFORMS)
AD_PROVIDERS: tuple[str, ...] = tuple(k for k, p in PLATFORMS.items() if p.kind == "ads")
#: Platforms a workspace connects by signing in (an OAuth app), and email platforms.
OAUTH_PROVIDERS: tuple[str, ...] = tuple(k for k, p in PLATFORMS.items() if p.app_settings)
EMAIL_PROVIDERS: tuple[str, ...] = tuple(k for k, p in PLATFORMS.items() if p.kind == "email")
#: Platforms whose hourly rows carry no conversions: they come from daily reports, and the
#: engine places them on days only (metricx.semantic.compiler).
DAILY_CONVERSIONS: tuple[str, ...] = tuple(k for k, p in PLATFORMS.items() if p.daily_conversions)
#: Platforms whose video plays Metricx reads; a video ad elsewhere has impressions but no
#: plays in Metricx, so per-impression video rates leave it out (metricx.semantic.compiler).
VIDEO_FACTS: tuple[str, ...] = tuple(k for k, p in PLATFORMS.items() if p.video_facts)


def platform(key: str) -> Platform | None:
    """The registered platform `key`, or None for a word that names none."""
    return PLATFORMS.get(key)


def display_name(key: str) -> str:
    """The platform's name in messages ("Google Ads"); an unknown key as it is."""
    found = PLATFORMS.get(key)
    return found.name if found else key


def short_name(key: str) -> str:
    """The platform's word on charts and filters ("Google"); an unknown key as it is."""
    found = PLATFORMS.get(key)
    return found.short_name if found else key


def listing(keys: tuple[str, ...], conjunction: str = "or", *, short: bool = False) -> str:
    """ "Meta, Google Ads or Shopify" (short: "Meta, Google or Shopify"): names for a
    sentence."""
    names = [short_name(k) if short else display_name(k) for k in keys]
    if len(names) < 2:
        return "".join(names)
    return f"{', '.join(names[:-1])} {conjunction} {names[-1]}"


def account_examples(keys: tuple[str, ...] = PROVIDERS) -> str:
    """ "act_123456 · 123-456-7890 · shop.myshopify.com": the form's placeholder."""
    return " · ".join(PLATFORMS[k].account_example for k in keys)
