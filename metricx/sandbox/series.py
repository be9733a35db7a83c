"""Per-ad daily and hourly delivery, and what the platform reports for it at a given moment.

Two layers: a cached *final* series (what the day ends up as, a pure function of seed, ad and
day) and a cheap *view* at `as_of` on top (running totals for the day in progress, restated
conversions for recent days). All arithmetic is on integers, so hours always sum exactly to
the day they belong to.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime

from metricx.sandbox import rand
from metricx.sandbox.calendar import SECONDS_PER_HOUR, day_bounds, missing_hours, progress
from metricx.sandbox.creatives import FATIGUE_PURCHASE_POWER, fatigue_factor
from metricx.sandbox.entities import GOOGLE, TIKTOK, Ad, Campaign, Tree
from metricx.sandbox.patterns import (
    DELIVERY_SHAPE,
    PURCHASE_SHAPE,
    WEEKDAY_CONVERSION,
    WEEKDAY_SPEND,
    ramp,
    season,
)
from metricx.sandbox.restatement import (
    SETTLED,
    Adjustment,
    RestatementPolicy,
    factor,
    restate,
    step,
)
from metricx.sandbox.totals import ZERO_CELLS, Cells, add_cells

PURCHASES_PER_SPEND = 0.045  # purchases = efficiency * k * spend ** 0.8 (diminishing returns)
HOURS = range(24)
_HOURLY_CACHE_LIMIT = 50_000


def allocate(total: int, cumulative: Sequence[int]) -> list[int]:
    """Split an integer over 24 hours by cumulative weights; parts sum exactly to total."""
    weight = cumulative[-1]
    if not total or not weight:
        return [0] * 24
    out, prev = [], 0
    for c in cumulative[1:]:
        cur = total * c // weight
        out.append(cur - prev)
        prev = cur
    return out


def cumulate(values: Sequence[int]) -> list[int]:
    """Prefix sums with a leading 0 (the shape `allocate` takes)."""
    out = [0]
    for v in values:
        out.append(out[-1] + v)
    return out


class AdSeries:
    """Delivery of every ad of a tree; thread-safe enough (caches only ever add equal values).

    `fatigue` maps the ads of fatiguing creatives to their onset: from then on their clicks
    (and so leads) scale by `creatives.fatigue_factor` and their purchases (and so value) by
    its FATIGUE_PURCHASE_POWER, in the final day, so hours, restatements and running totals
    follow from it as from any other day.
    """

    def __init__(
        self,
        seed: int,
        tree: Tree,
        policies: dict[str, RestatementPolicy],
        fatigue: Mapping[str, date] | None = None,
    ) -> None:
        self.seed = seed
        self.fatigue = dict(fatigue or {})
        self.tree = tree
        self.policies = policies
        self._tz = {a.external_id: a.timezone for a in tree.accounts}
        self._final: dict[tuple[str, int], Cells] = {}
        self._hourly: dict[tuple[str, int], tuple[Cells, ...]] = {}
        self._profiles: dict[tuple[str, frozenset[int]], tuple[list[int], list[int]]] = {}
        self._spend_cap = _tiktok_spend_caps(tree)

    def timezone(self, ad: Ad) -> str:
        return self._tz[ad.account_id]

    def conversion_unit(self, ad: Ad) -> int:
        """Hundredths per reported conversion step: Google reports fractions, Meta whole ones."""
        return 1 if ad.provider == GOOGLE else 100

    # ---- final series -------------------------------------------------------------------
    def final_cells(self, ad: Ad, day: date) -> Cells:
        """The day once it is over and final (conversions counted in steps, see conversion_unit)."""
        key = (ad.external_id, day.toordinal())
        cells = self._final.get(key)
        if cells is None:
            cells = self._generate_day(ad, day)
            self._final[key] = cells
        return cells

    def _live(self, ad: Ad, camp: Campaign, day: date) -> bool:
        if day < camp.start_day:
            return False
        start = day_bounds(day, self._tz[ad.account_id])[0]
        adset = self.tree.adset(ad.adset_id)
        return all(node.paused_at is None or start < node.paused_at for node in (ad, adset, camp))

    def _generate_day(self, ad: Ad, day: date) -> Cells:
        camp = self.tree.campaign(ad.campaign_id)
        if not self._live(ad, camp, day):
            return ZERO_CELLS
        u = rand.uniforms(self.seed, "day", ad.external_id, day.toordinal())
        wd = day.weekday()
        spend = (
            camp.planned_daily
            * ad.share
            * 0.93
            * WEEKDAY_SPEND[wd]
            * season(day)
            * ramp((day - camp.start_day).days)
            * (0.8 + 0.4 * u[0])
        )
        spend_cents = int(spend * 100)
        cap = self._spend_cap.get(ad.external_id)
        if cap is not None and spend_cents > cap:
            spend_cents = cap
            spend = cap / 100
        impressions = int(spend / (camp.cpm * (0.9 + 0.2 * u[1])) * 1000)
        # exactly 1.0 unless the ad's creative is past its fatigue onset
        fade = fatigue_factor(self.fatigue.get(ad.external_id), day)
        clicks = rand.stochastic_round(
            impressions * camp.ctr * ad.ctr_factor * (0.85 + 0.3 * u[2]) * fade, u[3]
        )
        clicks = min(clicks, impressions)
        steps = 0
        value = 0
        if clicks:
            expected = (
                camp.efficiency
                * PURCHASES_PER_SPEND
                * spend**0.8
                * WEEKDAY_CONVERSION[wd]
                * fade**FATIGUE_PURCHASE_POWER
            )
            if self.conversion_unit(ad) == 1:
                steps = int(expected * 100 * (0.85 + 0.3 * u[4]))
            else:
                steps = rand.stochastic_round(expected, u[4])
            conversions = steps * self.conversion_unit(ad) / 100
            value = int(conversions * camp.aov * (0.85 + 0.3 * u[5]) * 100)
        lead_rate = 0.12 if camp.kind == "leads" else 0.004
        leads = 0 if ad.provider == GOOGLE else rand.stochastic_round(clicks * lead_rate, u[6])
        return (spend_cents, impressions, clicks, steps, value, leads)

    def _profile(self, ad: Ad, day: date) -> tuple[list[int], list[int]]:
        """Cumulative hour weights (delivery, purchases); hours skipped by DST weigh 0."""
        missing = missing_hours(day, self._tz[ad.account_id])
        key = (ad.external_id, missing)
        profile = self._profiles.get(key)
        if profile is None:
            tilt = ad.hour_tilt
            delivery = [
                0 if h in missing else int(DELIVERY_SHAPE[h] * tilt[h] * 100) for h in HOURS
            ]
            purchases = [
                0 if h in missing else int(PURCHASE_SHAPE[h] * tilt[(h + 5) % 24] * 100)
                for h in HOURS
            ]
            profile = (cumulate(delivery), cumulate(purchases))
            self._profiles[key] = profile
        return profile

    def final_hours(self, ad: Ad, day: date) -> tuple[Cells, ...]:
        """The final day split into 24 local hours (conversion counts in steps)."""
        key = (ad.external_id, day.toordinal())
        hours = self._hourly.get(key)
        if hours is not None:
            return hours
        spend, impressions, clicks, steps, value, leads = self.final_cells(ad, day)
        delivery, purchases = self._profile(ad, day)
        conv = allocate(steps, purchases)
        hours = tuple(
            zip(
                allocate(spend, delivery),
                allocate(impressions, delivery),
                allocate(clicks, delivery),
                conv,
                allocate(value, cumulate(conv)),
                allocate(leads, delivery),
                strict=True,
            )
        )
        if len(self._hourly) >= _HOURLY_CACHE_LIMIT:
            self._hourly.clear()
        self._hourly[key] = hours
        return hours

    # ---- views at a moment --------------------------------------------------------------
    def day_cells(self, ad: Ad, day: date, as_of: datetime) -> Cells:
        """Day total reported at as_of (conversions in hundredths)."""
        tz = self._tz[ad.account_id]
        if progress(day, tz, as_of)[0] < 24:
            return _sum_cells(self.hour_cells(ad, day, as_of))
        spend, impressions, clicks, steps, value, leads = self.final_cells(ad, day)
        adjustment = self._factor(ad, day, as_of)
        if adjustment != SETTLED:
            steps, value = restate(steps, value, adjustment)
        return (spend, impressions, clicks, steps * self.conversion_unit(ad), value, leads)

    def hour_cells(self, ad: Ad, day: date, as_of: datetime) -> list[Cells]:
        """The 24 local hours reported at as_of; they sum exactly to `day_cells`."""
        tz = self._tz[ad.account_id]
        full, seconds = progress(day, tz, as_of)
        if full == 0 and seconds == 0:
            return [ZERO_CELLS] * 24
        hours = list(self.final_hours(ad, day))
        if full < 24:
            hours = _accrued(hours, full, seconds)
        adjustment = self._factor(ad, day, as_of)
        conv = [h[3] for h in hours]
        values = [h[4] for h in hours]
        if adjustment != SETTLED or full < 24:
            steps, value = restate(sum(conv), sum(values), adjustment)
            conv = allocate(steps, cumulate(conv))
            values = allocate(value, cumulate(conv))
        unit = self.conversion_unit(ad)
        return [
            (h[0], h[1], h[2], c * unit, v, h[5])
            for h, c, v in zip(hours, conv, values, strict=True)
        ]

    def _factor(self, ad: Ad, day: date, as_of: datetime) -> Adjustment:
        k = step(day, self._tz[ad.account_id], as_of)
        return factor(self.seed, ad.external_id, day, k, self.policies[ad.provider])


def _tiktok_spend_caps(tree: Tree) -> dict[str, int]:
    """Cents each TikTok ad may spend in a day: its share of the daily budget over it.

    TikTok documents overdelivery only for the opt-in Dynamic Daily Budget (up to 125% of the
    budget on a day: ads.tiktok.com/help/article/how-to-set-up-a-daily-budget-in-tiktok-ads-
    manager); for standard budgets its help ("About budgets for ads in TikTok Ads Manager")
    only says a lifetime budget is never exceeded. Read as "a daily budget is a ceiling" (as
    agencies do), spend stays within it. The shares of the ads under one budget sum to 1.
    """
    ads = [ad for ad in tree.ads if ad.provider == TIKTOK]
    in_group: dict[str, float] = {}
    for ad in ads:
        in_group[ad.adset_id] = in_group.get(ad.adset_id, 0.0) + ad.share
    caps = {}
    for ad in ads:
        camp = tree.campaign(ad.campaign_id)
        if camp.budget is not None:
            cap = float(camp.budget) * ad.share
        else:
            budget = tree.adset(ad.adset_id).budget or 0
            cap = float(budget) * ad.share / in_group[ad.adset_id]
        caps[ad.external_id] = int(cap * 100)
    return caps


def _accrued(hours: list[Cells], full: int, seconds: int) -> list[Cells]:
    """Hours of a day in progress: finished hours whole, the current one pro rata, rest empty."""
    out = hours[:full]
    if full < 24:
        spend, impressions, clicks, steps, value, leads = hours[full]
        done = [x * seconds // SECONDS_PER_HOUR for x in (spend, impressions, clicks, steps, leads)]
        # value accrues with the purchases it belongs to
        accrued_value = value * done[3] // steps if steps else 0
        out.append((done[0], done[1], done[2], done[3], accrued_value, done[4]))
        out.extend([ZERO_CELLS] * (23 - full))
    return out


def _sum_cells(hours: Sequence[Cells]) -> Cells:
    total = ZERO_CELLS
    for cells in hours:
        total = add_cells(total, cells)
    return total
