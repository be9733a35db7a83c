"""The merchant's ad accounts and campaign trees (account -> campaign -> adset -> ad).

Everything here is fixed at build time from the seed; only statuses depend on the clock
(an entity paused on a date in the history reads ACTIVE before that date, PAUSED after; on
TikTok ENABLE and DISABLE).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from metricx.sandbox import rand
from metricx.sandbox.calendar import day_bounds

META, GOOGLE, TIKTOK = "meta", "google", "tiktok"

# (currency, time zone) per account, in order; more accounts cycle through the list.
META_LOCALES = (("EUR", "Europe/Berlin"), ("USD", "America/New_York"), ("GBP", "Europe/London"))
GOOGLE_LOCALES = (("USD", "America/Los_Angeles"), ("USD", "America/Chicago"))
TIKTOK_LOCALES = (("USD", "America/New_York"), ("USD", "America/Los_Angeles"))

# (name, objective, kind) — kind drives efficiency: brand/retargeting convert best.
META_CAMPAIGNS = (
    ("Prospecting | Broad | US", "OUTCOME_SALES", "prospecting"),
    ("Retargeting | Website Visitors 30d", "OUTCOME_SALES", "retargeting"),
    ("Advantage+ Shopping | Catalog", "OUTCOME_SALES", "advantage"),
    ("Lead Gen | Newsletter Signup", "OUTCOME_LEADS", "leads"),
    ("Prospecting | Lookalike 1% | Purchasers", "OUTCOME_SALES", "prospecting"),
    ("Creative Testing | UGC Hooks", "OUTCOME_SALES", "testing"),
    ("Retargeting | Cart Abandoners 7d", "OUTCOME_SALES", "retargeting"),
    ("Brand Awareness | Video Views", "OUTCOME_AWARENESS", "awareness"),
    ("Prospecting | Interests | Outdoor", "OUTCOME_SALES", "prospecting"),
    ("Prospecting | Broad | DE", "OUTCOME_SALES", "prospecting"),
)
GOOGLE_CAMPAIGNS = (
    ("Brand Search", "SEARCH", "brand"),
    ("Shopping | All Products", "SHOPPING", "shopping"),
    ("Performance Max | Best Sellers", "PERFORMANCE_MAX", "pmax"),
    ("Non-Brand Search | Jackets", "SEARCH", "generic"),
    ("Search | Competitors", "SEARCH", "generic"),
    ("YouTube | Remarketing", "VIDEO", "awareness"),
)
# objective_type values of TikTok Marketing API v1.3 (business-api.tiktok.com/portal/docs,
# "Create a campaign": PRODUCT_SALES, WEB_CONVERSIONS, TRAFFIC, REACH, VIDEO_VIEWS, ...).
TIKTOK_CAMPAIGNS = (
    ("Spark Ads | UGC | US", "WEB_CONVERSIONS", "spark"),
    ("Smart+ Catalog | Best Sellers", "WEB_CONVERSIONS", "catalog"),
    ("Video Shopping | Product Catalog", "PRODUCT_SALES", "catalog"),
    ("Retargeting | Video Viewers 15d", "WEB_CONVERSIONS", "retargeting"),
    ("Conversions | Lookalike | Purchasers", "WEB_CONVERSIONS", "prospecting"),
    ("Traffic | Creator Collab", "TRAFFIC", "traffic"),
    ("Reach | New Season Launch", "REACH", "awareness"),
)
META_ADSETS = (
    "US | 25-44 | Broad",
    "Lookalike 1% | Purchasers 180d",
    "Advantage+ Audience",
    "Women 25-54 | Interests",
    "Men 25-54 | Interests",
    "Website Visitors 30d",
    "Engaged Shoppers",
    "DE | 25-54 | Broad",
)
GOOGLE_ADGROUPS = (
    "Brand | Exact",
    "Brand | Phrase",
    "All Products",
    "Jackets",
    "Rain Shells",
    "Competitor Terms",
    "Best Sellers",
    "Remarketing Viewers",
)
TIKTOK_ADGROUPS = (
    "US | 18-34 | Broad",
    "Lookalike | Purchasers 180d",
    "Interests | Hiking & Camping",
    "Video Viewers 15d",
    "Smart+ Audience",
    "TikTok Pangle | Broad",
    "Engaged Shoppers 30d",
)
META_CREATIVES = (
    "UGC Video | Hook A",
    "UGC Video | Hook B",
    "Static | Bestseller Bundle",
    "Carousel | New Arrivals",
    "Founder Story | 30s",
    "Static | Free Shipping",
    "Reel | Trail Test",
    "Testimonial | 5 Stars",
    "Catalog | Dynamic",
)
GOOGLE_CREATIVES = (
    "RSA | Brand | Official Store",
    "RSA | Free Returns",
    "Shopping | Product Group",
    "PMax | Asset Group",
    "RSA | Waterproof Jackets",
    "Video | 15s Bumper",
)
TIKTOK_CREATIVES = (
    "UGC | Unboxing",
    "UGC | Trail Test",
    "Spark | Creator Review",
    "Green Screen | Founder",
    "Catalog | Video Template",
    "Hook | POV Rainy Day",
    "Carousel | Bestsellers",
)
KIND_EFFICIENCY = {
    "brand": 2.6,
    "retargeting": 2.0,
    "advantage": 1.5,
    "shopping": 1.5,
    "pmax": 1.4,
    "prospecting": 1.0,
    "generic": 0.9,
    "testing": 0.75,
    "leads": 0.3,
    "awareness": 0.15,
    "catalog": 1.2,
    "spark": 0.9,
    "traffic": 0.35,
}
# TikTok converts less per dollar than the same kind of campaign on Meta (colder, younger
# audiences, in-app browser drop-off); its clicks are cheap: CPM ~$6-10, CTR ~1%.
TIKTOK_EFFICIENCY = 0.8
TIKTOK_CPM = (6.0, 4.0)  # low, spread
TIKTOK_CTR = {"awareness": 0.003, "traffic": 0.014}
TIKTOK_SHARE_OF_META = (0.15, 0.10)  # TikTok plans to spend 15-25% of what Meta plans
# Minimum daily budgets in USD: $50 per campaign, $20 per ad group ("About budgets for ads in
# TikTok Ads Manager", ads.tiktok.com/help/article/budget; "Budget and Bidding FAQs").
TIKTOK_MIN_CAMPAIGN_BUDGET = 50
TIKTOK_MIN_ADGROUP_BUDGET = 20
KIND_CPM = {
    "brand": 55.0,
    "generic": 48.0,
    "shopping": 18.0,
    "pmax": 14.0,
    "retargeting": 16.0,
    "awareness": 5.5,
    "leads": 9.0,
}
KIND_CTR = {"brand": 0.11, "generic": 0.045, "shopping": 0.012, "awareness": 0.003}


@dataclass(frozen=True)
class Account:
    """An ad account (Meta act id without the `act_` prefix, or a Google customer id)."""

    provider: str
    external_id: str
    name: str
    currency: str
    timezone: str


@dataclass(frozen=True)
class Node:
    provider: str
    account_id: str
    external_id: str
    name: str
    created_at: datetime
    paused_at: datetime | None

    def status_at(self, as_of: datetime) -> str:
        """Platform-native status at a moment: ACTIVE/PAUSED on Meta, ENABLED/PAUSED on Google,
        ENABLE/DISABLE on TikTok (its `operation_status`, TikTok Marketing API v1.3)."""
        paused = self.paused_at is not None and as_of >= self.paused_at
        if self.provider == TIKTOK:
            return "DISABLE" if paused else "ENABLE"
        if paused:
            return "PAUSED"
        return "ACTIVE" if self.provider == META else "ENABLED"

    def updated_at(self, as_of: datetime) -> datetime:
        """Last status change visible at as_of (the platform's updated_time)."""
        if self.paused_at is not None and as_of >= self.paused_at:
            return self.paused_at
        return self.created_at


@dataclass(frozen=True)
class Campaign(Node):
    """A campaign with the economics its ads inherit."""

    objective: str
    kind: str
    budget: Decimal | None  # daily, account currency; None when the budget sits on ad sets
    planned_daily: float  # what the campaign aims to spend per day, budget or not
    start_day: date
    efficiency: float
    aov: float
    cpm: float
    ctr: float
    utm_style: str  # how its links are tagged: "id", "name" or "none" (untagged)

    @property
    def budget_mode(self) -> str:
        """TikTok's budget_mode: a daily budget here or none (the ad groups carry them)."""
        return "BUDGET_MODE_DAY" if self.budget is not None else "BUDGET_MODE_INFINITE"


@dataclass(frozen=True)
class AdSet(Node):
    """An ad set (Meta) or ad group (Google, TikTok)."""

    campaign_id: str
    budget: Decimal | None

    @property
    def budget_mode(self) -> str:
        """TikTok's budget_mode: a daily budget here or none (its campaign carries one)."""
        return "BUDGET_MODE_DAY" if self.budget is not None else "BUDGET_MODE_INFINITE"


@dataclass(frozen=True)
class Ad(Node):
    """The leaf that metrics are reported for."""

    campaign_id: str
    adset_id: str
    share: float  # share of the campaign's planned spend
    ctr_factor: float  # 0 for ads that never get a link click
    hour_tilt: tuple[float, ...] = field(default=(), repr=False)


@dataclass(frozen=True)
class Tree:
    """All ad entities of the merchant with lookups by external id (KeyError if unknown)."""

    accounts: tuple[Account, ...]
    campaigns: tuple[Campaign, ...]
    adsets: tuple[AdSet, ...]
    ads: tuple[Ad, ...]
    _by_id: dict[str, Account | Node] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        items: tuple[Account | Node, ...] = (
            *self.accounts,
            *self.campaigns,
            *self.adsets,
            *self.ads,
        )
        object.__setattr__(self, "_by_id", {i.external_id: i for i in items})

    def _get(self, external_id: str, kind: type) -> Any:
        found = self._by_id[external_id]
        if not isinstance(found, kind):
            raise KeyError(external_id)
        return found

    def account(self, external_id: str) -> Account:
        return self._get(external_id, Account)

    def campaign(self, external_id: str) -> Campaign:
        return self._get(external_id, Campaign)

    def adset(self, external_id: str) -> AdSet:
        return self._get(external_id, AdSet)

    def ad(self, external_id: str) -> Ad:
        return self._get(external_id, Ad)


def build_tree(
    seed: int,
    *,
    meta_accounts: int,
    google_accounts: int,
    campaigns: int,
    ads: int,
    start_day: date,
    anchor: date,
    tiktok_accounts: int = 0,
    tiktok_campaigns: int = 4,
) -> Tree:
    """Build accounts, campaigns, ad sets and ads; history runs from start_day to anchor.

    `campaigns` and `ads` are spread over the Meta and Google accounts; TikTok advertisers get
    `tiktok_campaigns` more on top, from draws of their own, so adding TikTok changes nothing
    that was there before.
    """
    accounts = _accounts(seed, meta_accounts, google_accounts)
    if not accounts:
        raise ValueError("the sandbox merchant needs at least one Meta or Google account")
    tz_of = {a.external_id: a.timezone for a in accounts}
    camps: list[Campaign] = []
    per_provider: dict[str, int] = {}
    for i in range(campaigns):
        account = accounts[i % len(accounts)]
        k = per_provider.get(account.provider, 0)
        per_provider[account.provider] = k + 1
        camps.append(_campaign(seed, i, k, account, start_day, anchor))
    adsets: list[AdSet] = []
    for camp in camps:
        count = 2 + int(rand.uniform(seed, "adsets", camp.external_id) * 3)
        adsets.extend(_adset(seed, camp, j, anchor, tz_of[camp.account_id]) for j in range(count))
    if ads < len(adsets):
        adsets = adsets[: max(ads, 1)]
    leaves = _ads(seed, ads, camps, adsets, anchor, tz_of)
    if tiktok_accounts:
        tiktok = build_tiktok(seed, tiktok_accounts, tiktok_campaigns, camps, start_day, anchor)
        accounts.extend(tiktok.accounts)
        camps.extend(tiktok.campaigns)
        adsets.extend(tiktok.adsets)
        leaves.extend(tiktok.ads)
    return Tree(tuple(accounts), tuple(camps), tuple(adsets), tuple(leaves))


def _accounts(seed: int, meta: int, google: int) -> list[Account]:
    out = []
    for i in range(meta):
        currency, tz = META_LOCALES[i % len(META_LOCALES)]
        suffix = f" {currency}" if i < len(META_LOCALES) else f" {i + 1}"
        out.append(
            Account(
                META,
                rand.digits(seed, 16, "meta-account", i),
                f"Northwind Outfitters{suffix}",
                currency,
                tz,
            )
        )
    for i in range(google):
        currency, tz = GOOGLE_LOCALES[i % len(GOOGLE_LOCALES)]
        name = "Northwind Outfitters - Google" + ("" if i == 0 else f" {i + 1}")
        out.append(Account(GOOGLE, rand.digits(seed, 10, "google-account", i), name, currency, tz))
    return out


def _midnight(day: date, tz: str) -> datetime:
    return day_bounds(day, tz)[0]


def _campaign(
    seed: int, i: int, k: int, account: Account, start_day: date, anchor: date
) -> Campaign:
    """The i-th campaign overall, k-th of its platform."""
    u = rand.uniforms(seed, "campaign", i)
    templates = META_CAMPAIGNS if account.provider == META else GOOGLE_CAMPAIGNS
    name, objective, kind = templates[k % len(templates)]
    if k >= len(templates):
        name = f"{name} | {k // len(templates) + 1}"
    history = (anchor - start_day).days
    begins = start_day
    if kind == "testing" or u[0] < 0.12:
        begins = start_day + timedelta(days=int(history * (0.4 + 0.4 * u[1])))
    paused_at = None
    if i % 6 == 5 and history > 20:
        paused_day = start_day + timedelta(days=int(history * (0.35 + 0.45 * u[2])))
        paused_at = _midnight(max(paused_day, begins + timedelta(days=5)), account.timezone)
    planned = 150.0 + 650.0 * u[3]
    if account.currency == "EUR":
        planned *= 0.9
    cbo = account.provider == GOOGLE or u[4] < 0.7
    id_len = 18 if account.provider == META else 11
    return Campaign(
        provider=account.provider,
        account_id=account.external_id,
        external_id=rand.digits(seed, id_len, "campaign-id", i),
        name=name,
        created_at=_midnight(begins, account.timezone) - timedelta(hours=6),
        paused_at=paused_at,
        objective=objective,
        kind=kind,
        budget=Decimal(int(planned * 1.15)) if cbo else None,
        planned_daily=planned,
        start_day=begins,
        efficiency=KIND_EFFICIENCY[kind] * (0.8 + 0.45 * u[5]),
        aov=(70.0 + 45.0 * u[6]) * (0.92 if account.currency == "EUR" else 1.0),
        cpm=KIND_CPM.get(kind, 11.0) * (0.8 + 0.4 * u[7]),
        ctr=KIND_CTR.get(kind, 0.011) * (0.8 + 0.4 * u[0]),
        utm_style=_utm_style(i, account.provider),
    )


def _utm_style(i: int, provider: str) -> str:
    """Most links carry ids ({{campaign.id}} macros), a few carry names, one is untagged."""
    if i == 7:
        return "none"
    if provider == GOOGLE or i % 4 == 3:
        return "name"
    return "id"


def _adset(seed: int, camp: Campaign, j: int, anchor: date, tz: str) -> AdSet:
    u = rand.uniforms(seed, "adset", camp.external_id, j)
    names = META_ADSETS if camp.provider == META else GOOGLE_ADGROUPS
    name = names[(j + int(u[0] * len(names))) % len(names)]
    if j:
        name = f"{name} | {j + 1}"
    paused_at = None
    if j > 0 and u[1] < 0.12 and camp.paused_at is None:
        days = (anchor - camp.start_day).days
        paused_at = _midnight(camp.start_day + timedelta(days=max(3, int(days * u[2]))), tz)
    budget = None
    if camp.budget is None:
        budget = Decimal(int(camp.planned_daily / 2 * (0.7 + 0.6 * u[3])))
    return AdSet(
        provider=camp.provider,
        account_id=camp.account_id,
        external_id=rand.digits(
            seed, 18 if camp.provider == META else 12, "adset-id", camp.external_id, j
        ),
        name=name,
        created_at=camp.created_at + timedelta(minutes=5 + j),
        paused_at=paused_at,
        campaign_id=camp.external_id,
        budget=budget,
    )


def _ads(
    seed: int,
    count: int,
    camps: list[Campaign],
    adsets: list[AdSet],
    anchor: date,
    tz_of: dict[str, str],
) -> list[Ad]:
    """Spread `count` ads over the ad sets (each gets one before any gets two)."""
    by_id = {c.external_id: c for c in camps}
    order = sorted(adsets, key=lambda a: rand.uniform(seed, "adset-order", a.external_id))
    placed = [order[n % len(order)] for n in range(count)]
    raw_share = [0.4 + 1.2 * rand.uniform(seed, "share", n) for n in range(count)]
    campaign_total: dict[str, float] = {}
    for adset, share in zip(placed, raw_share, strict=True):
        campaign_total[adset.campaign_id] = campaign_total.get(adset.campaign_id, 0.0) + share
    out: list[Ad] = []
    per_set: dict[str, int] = {}
    for n, adset in enumerate(placed):
        camp = by_id[adset.campaign_id]
        k = per_set.get(adset.external_id, 0)
        per_set[adset.external_id] = k + 1
        u = rand.uniforms(seed, "ad", n)
        creatives = META_CREATIVES if camp.provider == META else GOOGLE_CREATIVES
        name = f"{rand.pick(u[0], creatives)} | v{k + 1}"
        zero_click = n % 37 == 11 or (camp.kind == "awareness" and u[1] < 0.5)
        paused_at = adset.paused_at
        if paused_at is None and camp.paused_at is None and u[3] < 0.08:
            days = (anchor - camp.start_day).days
            paused_at = _midnight(
                camp.start_day + timedelta(days=max(2, int(days * u[4]))), tz_of[camp.account_id]
            )
        tilt = tuple(
            0.85 + 0.3 * x for part in range(3) for x in rand.uniforms(seed, "tilt", n, part)
        )
        out.append(
            Ad(
                provider=camp.provider,
                account_id=camp.account_id,
                external_id=rand.digits(seed, 18 if camp.provider == META else 12, "ad-id", n),
                name=name,
                created_at=adset.created_at + timedelta(minutes=k + 1),
                paused_at=paused_at,
                campaign_id=camp.external_id,
                adset_id=adset.external_id,
                share=raw_share[n] / campaign_total[adset.campaign_id],
                ctr_factor=0.0 if zero_click else 0.6 + 0.8 * u[2],
                hour_tilt=tilt,
            )
        )
    return out


def build_tiktok(
    seed: int,
    accounts: int,
    campaigns: int,
    others: list[Campaign],
    start_day: date,
    anchor: date,
) -> Tree:
    """TikTok advertisers and their campaigns, ad groups and ads (all draws keyed "tiktok-...").

    Together the campaigns plan to spend 15-25% of what the Meta campaigns in `others` plan
    (of all of them when there is no Meta account).
    """
    advertisers = [
        Account(
            TIKTOK,
            "7" + rand.digits(seed, 18, "tiktok-advertiser", i),  # 19 digits, like 7012...
            "Northwind Outfitters - TikTok" + ("" if i == 0 else f" {i + 1}"),
            *TIKTOK_LOCALES[i % len(TIKTOK_LOCALES)],
        )
        for i in range(accounts)
    ]
    meta = [c.planned_daily for c in others if c.provider == META] or [
        c.planned_daily for c in others
    ]
    low, spread = TIKTOK_SHARE_OF_META
    total = sum(meta) * (low + spread * rand.uniform(seed, "tiktok-share"))
    weights = [0.5 + rand.uniform(seed, "tiktok-weight", i) for i in range(campaigns)]
    camps = [
        _tiktok_campaign(
            seed,
            i,
            advertisers[i % len(advertisers)],
            max(total * w / sum(weights), TIKTOK_MIN_CAMPAIGN_BUDGET * 1.2),
            start_day,
            anchor,
        )
        for i, w in enumerate(weights)
    ]
    tz_of = {a.external_id: a.timezone for a in advertisers}
    adsets: list[AdSet] = []
    ads: list[Ad] = []
    for camp in camps:
        count = 2 + int(rand.uniform(seed, "tiktok-adgroups", camp.external_id) * 2)
        tz = tz_of[camp.account_id]
        groups = [_tiktok_adgroup(seed, camp, j, count, anchor, tz) for j in range(count)]
        adsets.extend(groups)
        ads.extend(_tiktok_ads(seed, camp, groups, anchor, tz))
    return Tree(tuple(advertisers), tuple(camps), tuple(adsets), tuple(ads))


def _tiktok_campaign(
    seed: int, i: int, account: Account, planned: float, start_day: date, anchor: date
) -> Campaign:
    u = rand.uniforms(seed, "tiktok-campaign", i)
    name, objective, kind = TIKTOK_CAMPAIGNS[i % len(TIKTOK_CAMPAIGNS)]
    if i >= len(TIKTOK_CAMPAIGNS):
        name = f"{name} | {i // len(TIKTOK_CAMPAIGNS) + 1}"
    history = (anchor - start_day).days
    begins = start_day
    if u[0] < 0.2:
        begins = start_day + timedelta(days=int(history * (0.3 + 0.4 * u[1])))
    paused_at = None
    if i % 4 == 3 and history > 20:
        paused_day = start_day + timedelta(days=int(history * (0.45 + 0.4 * u[2])))
        paused_at = _midnight(max(paused_day, begins + timedelta(days=5)), account.timezone)
    # TikTok advises leaving the campaign budget open and budgeting ad groups ("Budget and
    # Bidding FAQs", ads.tiktok.com/help/article/budget-and-bidding-faq); Smart+ and catalog
    # campaigns here always carry one.
    campaign_budget = kind == "catalog" or u[3] < 0.35
    budget = None
    if campaign_budget:
        budget = Decimal(max(TIKTOK_MIN_CAMPAIGN_BUDGET, int(planned * 1.3)))
    low, spread = TIKTOK_CPM
    return Campaign(
        provider=TIKTOK,
        account_id=account.external_id,
        external_id=rand.digits(seed, 19, "tiktok-campaign-id", i),
        name=name,
        created_at=_midnight(begins, account.timezone) - timedelta(hours=5),
        paused_at=paused_at,
        objective=objective,
        kind=kind,
        budget=budget,
        planned_daily=planned,
        start_day=begins,
        efficiency=KIND_EFFICIENCY[kind] * TIKTOK_EFFICIENCY * (0.8 + 0.45 * u[4]),
        aov=65.0 + 40.0 * u[5],
        cpm=low + spread * u[6],
        ctr=TIKTOK_CTR.get(kind, 0.01) * (0.8 + 0.4 * u[7]),
        # links carry __CAMPAIGN_ID__/__AID__/__CID__ macros, every third campaign the names
        utm_style="name" if i % 3 == 2 else "id",
    )


def _tiktok_adgroup(seed: int, camp: Campaign, j: int, count: int, anchor: date, tz: str) -> AdSet:
    u = rand.uniforms(seed, "tiktok-adgroup", camp.external_id, j)
    name = TIKTOK_ADGROUPS[(j + int(u[0] * len(TIKTOK_ADGROUPS))) % len(TIKTOK_ADGROUPS)]
    if j:
        name = f"{name} | {j + 1}"
    paused_at = None
    if j > 0 and u[1] < 0.15 and camp.paused_at is None:
        days = (anchor - camp.start_day).days
        paused_at = _midnight(camp.start_day + timedelta(days=max(3, int(days * u[2]))), tz)
    budget = None
    if camp.budget is None:
        share = camp.planned_daily / count * (0.9 + 0.4 * u[3])
        budget = Decimal(max(TIKTOK_MIN_ADGROUP_BUDGET, int(share * 1.3)))
    return AdSet(
        provider=TIKTOK,
        account_id=camp.account_id,
        external_id=rand.digits(seed, 19, "tiktok-adgroup-id", camp.external_id, j),
        name=name,
        created_at=camp.created_at + timedelta(minutes=7 + j),
        paused_at=paused_at,
        campaign_id=camp.external_id,
        budget=budget,
    )


def _tiktok_ads(seed: int, camp: Campaign, groups: list[AdSet], anchor: date, tz: str) -> list[Ad]:
    """One to three ads per ad group; their shares of the campaign's spend sum to 1."""
    placed = [
        (group, k)
        for group in groups
        for k in range(1 + int(rand.uniform(seed, "tiktok-ads", group.external_id) * 3))
    ]
    raw = [0.4 + 1.2 * rand.uniform(seed, "tiktok-share", g.external_id, k) for g, k in placed]
    total = sum(raw)
    out = []
    for (group, k), weight in zip(placed, raw, strict=True):
        u = rand.uniforms(seed, "tiktok-ad", group.external_id, k)
        paused_at = group.paused_at
        if paused_at is None and camp.paused_at is None and u[1] < 0.1:
            days = (anchor - camp.start_day).days
            paused_at = _midnight(camp.start_day + timedelta(days=max(2, int(days * u[2]))), tz)
        out.append(
            Ad(
                provider=TIKTOK,
                account_id=camp.account_id,
                external_id=rand.digits(seed, 19, "tiktok-ad-id", group.external_id, k),
                name=f"{rand.pick(u[0], TIKTOK_CREATIVES)} | v{k + 1}",
                created_at=group.created_at + timedelta(minutes=k + 1),
                paused_at=paused_at,
                campaign_id=camp.external_id,
                adset_id=group.external_id,
                share=weight / total,
                ctr_factor=0.0 if camp.kind == "awareness" and u[3] < 0.3 else 0.6 + 0.8 * u[4],
                hour_tilt=tuple(
                    0.85 + 0.3 * x
                    for part in range(3)
                    for x in rand.uniforms(seed, "tiktok-tilt", group.external_id, k, part)
                ),
            )
        )
    return out
