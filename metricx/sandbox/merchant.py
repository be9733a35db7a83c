"""The sandbox merchant: a deterministic e-commerce business with ad accounts and a shop.

`Merchant(seed=...)` is the one object the fakes and the tests read from. Ad numbers are
viewed "as of" a UTC moment, so the same merchant answers like the platforms would at any
point in time: running totals today, restating conversions for recent days, final after that.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from metricx.sandbox.calendar import local_date
from metricx.sandbox.clock import as_utc
from metricx.sandbox.creatives import SandboxCreative, build_creatives
from metricx.sandbox.entities import (
    GOOGLE,
    META,
    TIKTOK,
    Account,
    Ad,
    AdSet,
    Campaign,
    build_tree,
)
from metricx.sandbox.restatement import RestatementPolicy, step
from metricx.sandbox.series import AdSeries
from metricx.sandbox.shop import Shop, ShopProfile
from metricx.sandbox.totals import totals_from_cells
from metricx.sandbox.video import ZERO_VIDEO, VideoFacts, video_facts
from metricx.totals import Totals


class Merchant:
    """A believable merchant built from a seed; `today` anchors the history (default: now).

    History starts `days - 1` days before `today`; the clock may run past `today` and the
    merchant keeps delivering (every day is a pure function of seed, ad and date).
    `tiktok_accounts` adds TikTok advertisers with `tiktok_campaigns` campaigns on top of the
    Meta and Google ones; with none (the default) the merchant is exactly what it was before.
    """

    def __init__(
        self,
        seed: int = 42,
        *,
        meta_accounts: int = 2,
        google_accounts: int = 1,
        campaigns: int = 12,
        ads: int = 120,
        days: int = 180,
        orders_per_day: int = 150,
        today: date | None = None,
        meta_restatement_days: int = 28,
        google_restatement_days: int = 7,
        shop: ShopProfile | None = None,
        tiktok_accounts: int = 0,
        tiktok_campaigns: int = 4,
        tiktok_restatement_days: int = 7,
    ) -> None:
        if days < 1 or ads < 1 or campaigns < 1:
            raise ValueError("days, ads and campaigns must be at least 1")
        self.seed = seed
        self.today = today or datetime.now(UTC).date()
        self.start_day = self.today - timedelta(days=days - 1)
        self.tree = build_tree(
            seed,
            meta_accounts=meta_accounts,
            google_accounts=google_accounts,
            campaigns=campaigns,
            ads=ads,
            start_day=self.start_day,
            anchor=self.today,
            tiktok_accounts=tiktok_accounts,
            tiktok_campaigns=tiktok_campaigns,
        )
        self.policies = {
            META: RestatementPolicy(meta_restatement_days),
            GOOGLE: RestatementPolicy(google_restatement_days),
            # TikTok's default attribution is 7-day click / 1-day view (TikTok Ads Manager help,
            # "How to create attribution windows for your ad group"): a day's conversions keep
            # arriving for 7 days after it, then freeze. Sandbox assumption: view-through ones
            # are all in after a day and most clicks convert soon, so the bulk settles in 3
            # days and the rest come as rare single corrections.
            TIKTOK: RestatementPolicy(
                tiktok_restatement_days, settle_days=max(1, min(3, tiktok_restatement_days))
            ),
        }
        profile = shop or ShopProfile()
        # Creatives come before delivery: the ads of a fatiguing creative deliver its decay.
        self._creatives = build_creatives(seed, self.tree, profile.host)
        onsets = {
            ad_id: creative.fatigue_onset
            for ad_id, creative in self._creatives.by_ad.items()
            if creative.fatigue_onset is not None
        }
        self.series = AdSeries(seed, self.tree, self.policies, fatigue=onsets)
        self.shop = Shop(
            seed,
            start_day=self.start_day,
            orders_per_day=orders_per_day,
            series=self.series,
            tree=self.tree,
            profile=profile,
        )
        self._ads_by_account: dict[str, list[Ad]] = {}
        for ad in self.tree.ads:
            self._ads_by_account.setdefault(ad.account_id, []).append(ad)

    @classmethod
    def demo(cls, seed: int, today: date) -> Merchant:
        """The demo merchant (`metricx up`): 180 days of two Meta accounts, a Google customer
        and a TikTok advertiser. Every process that serves or syncs the demo builds it here,
        so all see the same merchant."""
        return cls(seed, today=today, days=180, tiktok_accounts=1)

    # ---- entities -----------------------------------------------------------------------
    @property
    def accounts(self) -> tuple[Account, ...]:
        return self.tree.accounts

    def accounts_of(self, provider: str) -> list[Account]:
        return [a for a in self.tree.accounts if a.provider == provider]

    def account(self, external_id: str) -> Account:
        return self.tree.account(external_id)

    def campaigns_of(self, account_id: str) -> list[Campaign]:
        return [c for c in self.tree.campaigns if c.account_id == account_id]

    def adsets_of(self, account_id: str) -> list[AdSet]:
        return [s for s in self.tree.adsets if s.account_id == account_id]

    def ads_of(self, account_id: str) -> list[Ad]:
        return list(self._ads_by_account.get(account_id, ()))

    def campaign(self, external_id: str) -> Campaign:
        return self.tree.campaign(external_id)

    def adset(self, external_id: str) -> AdSet:
        return self.tree.adset(external_id)

    def ad(self, external_id: str) -> Ad:
        return self.tree.ad(external_id)

    # ---- creatives ----------------------------------------------------------------------
    def creative_of(self, ad_external_id: str) -> SandboxCreative | None:
        """The creative a Meta ad runs (shared by its copies); None for other platforms' ads."""
        return self._creatives.by_ad.get(ad_external_id)

    def creatives_of(self, account_id: str) -> list[SandboxCreative]:
        """The creatives the account's ads use, by id."""
        return list(self._creatives.by_account.get(account_id, ()))

    def video_facts(self, ad_id: str, day: date, as_of: datetime) -> VideoFacts:
        """The video plays Meta reports for (ad, local day) at as_of: those of the impressions
        `ad_totals` reports then (all zero for an ad whose creative is no video). They are on
        daily rows only, so `ad_totals` and `ad_hourly` leave them out: a daily Meta row is
        `ad_totals(...) + video_facts(...).as_totals()`."""
        creative = self.creative_of(ad_id)
        if creative is None or creative.format != "video":
            return ZERO_VIDEO
        impressions = self.series.day_cells(self.tree.ad(ad_id), day, as_utc(as_of))[1]
        return video_facts(creative, day, impressions)

    # ---- time ---------------------------------------------------------------------------
    def account_today(self, account_id: str, as_of: datetime) -> date:
        """The account's local date at as_of (what the platform calls "today")."""
        return local_date(as_utc(as_of), self.tree.account(account_id).timezone)

    def days(self, account_id: str, as_of: datetime) -> list[date]:
        """Every day with data for the account at as_of: history start .. local today."""
        last = self.account_today(account_id, as_of)
        return [self.start_day + timedelta(days=i) for i in range((last - self.start_day).days + 1)]

    def policy(self, provider: str) -> RestatementPolicy:
        return self.policies[provider]

    def final_after(self, ad_id: str, day: date) -> datetime:
        """The UTC moment after which the (ad, day) numbers never change again."""
        ad = self.tree.ad(ad_id)
        return self.policies[ad.provider].final_after(day, self.series.timezone(ad))

    def is_final(self, ad_id: str, day: date, as_of: datetime) -> bool:
        ad = self.tree.ad(ad_id)
        k = step(day, self.series.timezone(ad), as_utc(as_of))
        return k > self.policies[ad.provider].window_days

    # ---- numbers ------------------------------------------------------------------------
    def ad_totals(self, ad_id: str, day: date, as_of: datetime) -> Totals:
        """What the platform reports for (ad, local day) when asked at as_of."""
        ad = self.tree.ad(ad_id)
        return totals_from_cells(self.series.day_cells(ad, day, as_utc(as_of)))

    def ad_hourly(self, ad_id: str, day: date, as_of: datetime) -> dict[int, Totals]:
        """The same day by local hour label 0..23; the values sum exactly to `ad_totals`."""
        ad = self.tree.ad(ad_id)
        hours = self.series.hour_cells(ad, day, as_utc(as_of))
        return {h: totals_from_cells(cells) for h, cells in enumerate(hours)}
