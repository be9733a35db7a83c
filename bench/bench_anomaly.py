"""Anomaly detection benchmark (issue #16): recall of injected incidents and false alerts per
workspace per week, for the detector the alert rules use and for a naive one on the same data.

    .venv/bin/python bench/bench_anomaly.py [--weeks 12] [--seed 7] [--sensitivity 4]

Without --seed it runs the tuning seeds 1-3, then the held-out seeds 4-6 (parameters were
chosen on 1-3 only). About 45 s per seed (most of it the storefront's pixel events).

A pure-series harness: the sandbox merchant's own hourly series (metricx.sandbox: ad delivery
per campaign with its weekday and hour shapes, orders with theirs, the Q4 season with Black
Friday / Cyber Monday and the December period; campaigns launched and paused) summed per
local hour of each day, cut at every hourly evaluation, fed to the SAME functions the rules
call (`metricx.alerts.anomaly.detect`, and `data_cut` for freshness). Not through the DB and
the engine (that would take hours); ad hours are each account's local hours, orders New
York's; the data is taken as synced through each evaluation except in a stale incident.

The default rules it plays (metricx/alerts/anomaly_defaults.py): spend per campaign
(relative to the other campaigns), store revenue, orders and attributed orders (the pixel's)
judged today so far and over their recent windows (`anomaly.recent_windows`: spend's last
hour and last 3 hours, the others' last 3 hours), every hour; ROAS, CPA and conversion rate
judged on yesterday, daily at 07:00 (Meta reports conversions per day only: the engine
leaves a cut day's conversion metrics empty). Cool-down 6 hours. And the tracking_drop
monitor's pixel silence (`anomaly.pixel_silence`, what metricx.alerts.monitors.pixel_silence
calls) every 15 minutes on the storefront's pixel events (metricx.sandbox.storefront: every
page view, cart and purchase the sandbox's browsers send, per local quarter hour), cool-down
6 hours: a pixel incident silences them too, and counts as caught strictly when the silence
fires within the hour of its onset.

Incidents, 8 per kind per seed on distinct random days of the evaluated weeks, each from a
random hour to the end of its day (a stale connection: 6 hours): one campaign's spend ×3;
the pixel stops (its events and the attributed orders to 0); platform conversions (and
their value) ×0.5; a connection (Meta, Google or the shop) that stops syncing. Detected
"strict" = a rule of a family the incident moves fires at the first evaluation of that rule
whose cut includes ≥ 1 h of the incident (the pixel silence: within the hour of the
onset); "by next morning" = at any of its evaluations up to the end of the incident's day,
or the next morning's run for yesterday rules. A stale connection is
detected when the freshness rule withholds the verdict ("no data: the data is stale") by
the third hourly run after the last sync (the first more than 2 h behind). A false alert
is a firing outside every incident window, one per rule (and split value) per cool-down.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from metricx.alerts import anomaly
from metricx.sandbox.merchant import Merchant
from metricx.sandbox.patterns import season
from metricx.sandbox.storefront import Storefront

#: The last evaluated day: the weeks before it hold the Q4 season and Black Friday.
LAST_DAY = date(2025, 12, 31)
COOLDOWN_HOURS = 6
YESTERDAY_HOUR = 7
KINDS = ("spend_x3", "pixel_stops", "conversions_half", "connection_stale")
INCIDENTS_PER_KIND = 8
STALE_HOURS = 6
#: family -> (unit, period, feeding connections)
FAMILIES = {
    "spend": ("currency", "today", ("meta", "google")),
    "store_revenue": ("currency", "today", ("shopify",)),
    "orders": ("count", "today", ("shopify",)),
    "attributed_orders": ("count", "today", ("shopify", "meta", "google")),
    "roas": ("ratio", "yesterday", ("meta", "google")),
    "cpa": ("currency", "yesterday", ("meta", "google")),
    "cvr": ("percent", "yesterday", ("meta", "google")),
}
MOVES = {
    "spend_x3": {"spend", "roas", "cpa"},
    "pixel_stops": {"attributed_orders"},
    "conversions_half": {"roas", "cpa", "cvr"},
    "connection_stale": set(),
}
HIGHER_IS_BETTER = {
    "spend": None,
    "store_revenue": True,
    "orders": True,
    "attributed_orders": True,
    "roas": True,
    "cpa": False,
    "cvr": True,
}


@dataclass
class History:
    """Per day (index from `first`), per local hour: the sums the families are made of."""

    first: date
    spend: np.ndarray  # (days, campaigns, 24) in currency
    clicks: np.ndarray  # (days, 24)
    conversions: np.ndarray  # (days, 24)
    value: np.ndarray  # (days, 24)
    orders: np.ndarray  # (days, 24)
    revenue: np.ndarray  # (days, 24)
    attributed: np.ndarray  # (days, 24)
    events: np.ndarray  # (days, 96): the pixel's events per local quarter hour
    campaign_provider: list[str]

    def copy(self) -> History:
        """A copy whose arrays can be changed (an incident injected, a feed cut off)."""
        return dataclasses.replace(
            self,
            **{f: getattr(self, f).copy() for f in ARRAYS},
            campaign_provider=list(self.campaign_provider),
        )


ARRAYS = ("spend", "clicks", "conversions", "value", "orders", "revenue", "attributed", "events")
QUARTERS = 96  # a day's quarter hours: the monitors run every 15 minutes


def build_history(seed: int, days: int) -> History:
    """The sandbox merchant's hourly sums over `days` days ending LAST_DAY."""
    merchant = Merchant(seed=seed, days=days, today=LAST_DAY)
    first = merchant.start_day
    campaigns = list(merchant.tree.campaigns)
    index = {c.external_id: i for i, c in enumerate(campaigns)}
    spend = np.zeros((days, len(campaigns), 24))
    clicks, conversions, value = (np.zeros((days, 24)) for _ in range(3))
    for ad in merchant.tree.ads:
        unit = merchant.series.conversion_unit(ad)
        c = index[ad.campaign_id]
        for d in range(days):
            for h, cells in enumerate(merchant.series.final_hours(ad, first + timedelta(days=d))):
                spend[d, c, h] += cells[0] / 100
                clicks[d, h] += cells[2]
                conversions[d, h] += cells[3] * unit / 100
                value[d, h] += cells[4] / 100
    orders, revenue, attributed = (np.zeros((days, 24)) for _ in range(3))
    tz = ZoneInfo(merchant.shop.profile.timezone)
    end = datetime.combine(LAST_DAY + timedelta(days=1), datetime.min.time(), tz)
    for order in merchant.shop.orders_until(end.astimezone(UTC)):
        if order.test:
            continue
        local = order.created_at.astimezone(tz)
        d = (local.date() - first).days
        if not 0 <= d < days:
            continue
        orders[d, local.hour] += 1
        revenue[d, local.hour] += (
            order.gross_cents - order.discount_cents + order.shipping_cents
        ) / 100
        journey = order.journey
        if journey is not None and journey.last_visit is not None and journey.last_visit.ad_id:
            attributed[d, local.hour] += 1
    # every event the storefront's pixel sends (page views, carts, purchases), at the
    # sandbox's BROWSERS_PER_ORDER (a real store sees dozens of browsers per order: more)
    events = np.zeros((days, QUARTERS))
    storefront = Storefront(merchant)
    for _, browsers in storefront.days(first, LAST_DAY, end.astimezone(UTC)):
        for browser in browsers:
            for event in browser.events:
                local = event.timestamp.astimezone(tz)
                d = (local.date() - first).days
                if 0 <= d < days:
                    events[d, local.hour * 4 + local.minute // 15] += 1
    return History(
        first,
        spend,
        clicks,
        conversions,
        value,
        orders,
        revenue,
        attributed,
        events,
        [c.provider for c in campaigns],
    )


def family_value(
    h: History, family: str, day: int, start: int, end: int, campaign: int | None = None
) -> float | None:
    """A family's value for `day` over local hours [start, end): a ratio of sums; with a
    campaign, spend is that campaign's spend relative to the other campaigns' (a lift of the
    whole workspace, a holiday, cancels out; a runaway campaign does not)."""
    cut = slice(start, end)
    spend = float(h.spend[day, :, cut].sum())
    conversions = float(h.conversions[day, cut].sum())
    if family == "spend":
        if campaign is None:
            return spend
        own = float(h.spend[day, campaign, cut].sum())
        return own / (spend - own) if spend - own > 0 else None
    if family == "store_revenue":
        return float(h.revenue[day, cut].sum())
    if family == "orders":
        return float(h.orders[day, cut].sum())
    if family == "attributed_orders":
        return float(h.attributed[day, cut].sum())
    if family == "roas":
        return float(h.value[day, cut].sum()) / spend if spend else None
    if family == "cpa":
        return spend / conversions if conversions else None
    clicks = float(h.clicks[day, cut].sum())
    return conversions / clicks if clicks else None


#: (history, family, campaign or None, judged day, hours of it) -> fires
Detector = Callable[[History, str, int | None, int, int], bool]


def seasonal(sensitivity: float, recent: tuple[int, ...] | None) -> Detector:
    """The rules' detector: `anomaly.detect` against the same cut of the last 8 weekdays, on
    the day so far and on its last hours (each window of `recent`, or of the metric's
    `anomaly.recent_windows`); a campaign's spend relative to the other campaigns', material
    when the campaign spent MIN_VOLUME in the day so far, RECENT_MIN_VOLUME in a window."""

    def judged(
        h: History, family: str, campaign: int | None, day: int, start: int, end: int
    ) -> bool:
        unit = "ratio" if campaign is not None else FAMILIES[family][0]
        history = [
            family_value(h, family, day - 7 * k, start, end, campaign) if day - 7 * k >= 0 else None
            for k in range(1, anomaly.WEEKS + 1)
        ]
        volume = float(h.spend[day, campaign, start:end].sum()) if campaign is not None else None
        return anomaly.detect(
            family_value(h, family, day, start, end, campaign),
            history,
            unit=unit,  # type: ignore[arg-type]
            direction=anomaly.harmful_direction(family, HIGHER_IS_BETTER[family]),
            sensitivity=sensitivity,
            min_change=anomaly.min_change_for(family),
            volume=volume,
            min_volume=None
            if volume is None
            else anomaly.MIN_VOLUME["currency"]
            if start == 0
            else anomaly.RECENT_MIN_VOLUME["currency"],
        ).fires

    def fires(h: History, family: str, campaign: int | None, day: int, hours: int) -> bool:
        if judged(h, family, campaign, day, 0, hours):
            return True
        return any(
            0 < window < hours and judged(h, family, campaign, day, hours - window, hours)
            for window in (anomaly.recent_windows(family) if recent is None else recent)
        )

    return fires


def naive(h: History, family: str, campaign: int | None, day: int, hours: int) -> bool:
    """The naive baseline: ±50 % against yesterday at the same cut, either direction."""
    now = family_value(h, family, day, 0, hours, campaign)
    before = family_value(h, family, day - 1, 0, hours, campaign)
    if now is None or not before:
        return False
    return abs(now - before) / abs(before) >= 0.5


@dataclass(frozen=True)
class Incident:
    kind: str
    day: int  # index into the history
    hour: int  # onset: local hour
    target: str  # campaign index, connection, or ""


def inject(h: History, incident: Incident) -> None:
    d, start = incident.day, incident.hour
    if incident.kind == "spend_x3":
        h.spend[d, int(incident.target), start:] *= 3
    elif incident.kind == "pixel_stops":
        h.attributed[d, start:] = 0
        h.events[d, start * 4 :] = 0
    elif incident.kind == "conversions_half":
        h.conversions[d, start:] *= 0.5
        h.value[d, start:] *= 0.5


def draw_incidents(rng: random.Random, h: History, first_eval: int, days: int) -> list[Incident]:
    """INCIDENTS_PER_KIND of each kind (fewer when the weeks are too few) on distinct days
    of the evaluated weeks."""
    free = list(range(first_eval, days - 1))
    rng.shuffle(free)
    incidents = []
    each = min(INCIDENTS_PER_KIND, len(free) // len(KINDS))
    for kind in KINDS:
        for _ in range(each):
            day = free.pop()
            target = ""
            if kind == "spend_x3":
                live = [c for c in range(h.spend.shape[1]) if h.spend[day, c].sum() > 0]
                target = str(rng.choice(live))
            elif kind == "connection_stale":
                target = rng.choice(("meta", "google", "shopify"))
            incidents.append(Incident(kind, day, rng.randrange(24), target))
    return incidents


Rule = tuple[str, int | None]  # family, campaign split (None: unsplit)


def rules_of(h: History, split_spend: bool) -> list[Rule]:
    """The default rules: spend split by campaign (relative to the other campaigns) or
    unsplit, the rest unsplit."""
    out: list[Rule] = []
    for family in FAMILIES:
        if family == "spend" and split_spend:
            out.extend((family, c) for c in range(h.spend.shape[1]))
        else:
            out.append((family, None))
    return out


def runs(first_eval: int, days: int, rules: list[Rule]) -> list[tuple[int, int, Rule]]:
    """Every rule run: (day, hour of the run, rule). Today rules run each hour (the cut is
    the hour; 00:00 has nothing of today), yesterday rules at 07:00."""
    out = []
    for day in range(first_eval, days):
        for hour in range(24):
            for rule in rules:
                period = FAMILIES[rule[0]][1]
                if (period == "today" and hour > 0) or (
                    period == "yesterday" and hour == YESTERDAY_HOUR
                ):
                    out.append((day, hour, rule))
    return out


def stale_at(incident: Incident, family: str, clock: int) -> bool | None:
    """What the freshness rule says at a run (`clock`: hours from the history's start)
    during a stale incident: True = withheld as stale, False = judged (the cut behind, by
    at most 2 h), None = the connection is not stale then or does not feed the family."""
    if incident.kind != "connection_stale" or incident.target not in FAMILIES[family][2]:
        return None
    origin = datetime(2000, 1, 1, tzinfo=UTC)
    synced = origin + timedelta(hours=incident.day * 24 + incident.hour)
    now = origin + timedelta(hours=clock)
    if not synced <= now <= synced + timedelta(hours=STALE_HOURS):
        return None
    return anomaly.data_cut(now, [synced]) is None


#: The pixel-silence check's settings (--silence-sensitivity, --silence-min-events).
SILENCE = {
    "sensitivity": anomaly.SILENCE_SENSITIVITY,
    "min_events": anomaly.SILENCE_MIN_EVENTS,
}


def silence_fires(events: np.ndarray, end: int) -> bool:
    """The tracking_drop monitor's pixel-silence check at quarter `end` (of the flattened
    quarter-hour series): `anomaly.pixel_silence` over its trailing windows, each against the
    same window of the same weekday in the last `anomaly.WEEKS` weeks."""
    week = 7 * QUARTERS

    def window(stop: int, hours: int) -> float | None:
        start = stop - hours * 4
        return float(events[start:stop].sum()) if start >= 0 else None

    windows = []
    for hours in anomaly.SILENCE_WINDOWS:
        value = window(end, hours)
        assert value is not None
        history = [window(end - k * week, hours) for k in range(1, anomaly.WEEKS + 1)]
        windows.append((value, history))
    latest = float(events[end - 1])
    return anomaly.pixel_silence(windows, latest, **SILENCE)[1].fires


def score_silence(
    h: History, incidents: list[Incident], first_eval: int, days: int
) -> tuple[set[int], set[int], int]:
    """The pixel-silence check run every 15 minutes (cool-down 6 h): the pixel incidents
    (their days) it caught within the hour of the onset and by the end of the day, and its
    firings outside every pixel incident."""
    events = h.events.reshape(-1)
    stops = {i.day * QUARTERS + i.hour * 4: i.day for i in incidents if i.kind == "pixel_stops"}
    strict: set[int] = set()
    late: set[int] = set()
    false_alerts = 0
    quiet_until = -1
    for end in range(first_eval * QUARTERS + 1, days * QUARTERS + 1):
        if end < quiet_until or not silence_fires(events, end):
            continue
        quiet_until = end + COOLDOWN_HOURS * 4
        caught = [
            (onset, day)
            for onset, day in stops.items()
            if onset < end <= (day + 1) * QUARTERS + anomaly.SILENCE_WINDOWS[-1] * 4
        ]
        for onset, day in caught:
            if end <= onset + 4:
                strict.add(day)
            late.add(day)
        if not caught:
            false_alerts += 1
    return strict, late, false_alerts


def score(
    h: History,
    incidents: list[Incident],
    detector: Detector,
    first_eval: int,
    days: int,
    freshness: bool,
    split_spend: bool,
) -> dict[str, object]:
    """Recall per kind (strict and by next morning) and false alerts, over the runs."""
    stale = [i for i in incidents if i.kind == "connection_stale"]
    quiet_until: dict[Rule, int] = {}
    strict: set[tuple[str, int]] = set()
    late: set[tuple[str, int]] = set()
    false_alerts: Counter[str] = Counter()
    for day, hour, rule in runs(first_eval, days, rules_of(h, split_spend)):
        family, campaign = rule
        clock = day * 24 + hour
        period = FAMILIES[family][1]
        judged_day, hours = (day, hour) if period == "today" else (day - 1, 24)
        # a stale connection: the rules cut at its last sync (for at most 2 h), then
        # withhold; the naive detector reads what has arrived (the stale feed's hours missing)
        view, withheld = h, False
        for incident in stale:
            state = stale_at(incident, family, clock)
            if state is None or incident.day != day:
                continue
            if freshness:
                withheld = withheld or state
                if period == "today":
                    hours = min(hours, incident.hour)
            else:
                view = h.copy() if view is h else view
                stop = incident.hour
                if incident.target == "shopify":
                    view.orders[day, stop:] = 0
                    view.revenue[day, stop:] = 0
                    view.attributed[day, stop:] = 0
                else:
                    gone = [i for i, p in enumerate(h.campaign_provider) if p == incident.target]
                    view.spend[day, gone, stop:] = 0
        if withheld or hours == 0:
            continue
        if quiet_until.get(rule, -1) > clock:
            continue
        if not detector(view, family, campaign, judged_day, hours):
            continue
        quiet_until[rule] = clock + COOLDOWN_HOURS
        explained = False
        for incident in incidents:
            if family not in MOVES[incident.kind] or incident.day != judged_day:
                continue
            if period == "today" and hours <= incident.hour:
                continue
            if family == "spend" and campaign is not None and str(campaign) != incident.target:
                continue
            explained = True
            if period == "yesterday" or hours == incident.hour + 1:
                strict.add((incident.kind, incident.day))
            late.add((incident.kind, incident.day))
        in_window = any(
            i.day == judged_day and (period == "yesterday" or hours > i.hour)
            for i in incidents
            if i.kind != "connection_stale"
        ) or any(i.day * 24 + i.hour <= clock <= i.day * 24 + i.hour + STALE_HOURS for i in stale)
        if not explained and not in_window:
            false_alerts[family] += 1
    if freshness:  # the built-in monitor runs beside the rules
        silent_strict, silent_late, silent_false = score_silence(h, incidents, first_eval, days)
        strict |= {("pixel_stops", d) for d in silent_strict}
        late |= {("pixel_stops", d) for d in silent_late}
        if silent_false:
            false_alerts["pixel_silence"] += silent_false
    recall: dict[str, tuple[int, int, int]] = {}
    for kind in KINDS:
        of_kind = [i for i in incidents if i.kind == kind]
        if kind == "connection_stale":
            # the first hourly run more than 2 h after the last sync says "stale"
            caught = sum(
                1
                for i in of_kind
                if freshness
                and any(
                    stale_at(i, f, i.day * 24 + i.hour + after)
                    for f in FAMILIES
                    for after in range(1, 4)
                )
            )
            recall[kind] = (len(of_kind), caught, caught)
        else:
            recall[kind] = (
                len(of_kind),
                sum(1 for i in of_kind if (kind, i.day) in strict),
                sum(1 for i in of_kind if (kind, i.day) in late),
            )
    return {"recall": recall, "false": false_alerts}


def holidays(h: History, first_eval: int, days: int) -> list[str]:
    """The evaluated days whose demand (metricx.sandbox.patterns.season) is more than 15 %
    off the same weekday a week before, as ranges: Black Friday / Cyber Monday, the
    December peak and its end."""
    ranges: list[list[date]] = []
    for d in range(first_eval, days):
        day = h.first + timedelta(days=d)
        if abs(season(day) / season(day - timedelta(days=7)) - 1) <= 0.15:
            continue
        if ranges and (day - ranges[-1][-1]).days == 1:
            ranges[-1].append(day)
        else:
            ranges.append([day])
    return [
        f"{r[0]:%b %d}–{r[-1]:%b %d} (demand ×{min(map(season, r)):.2f}–×{max(map(season, r)):.2f})"
        for r in ranges
    ]


def run(
    seeds: list[int],
    weeks: int,
    sensitivity: float,
    recent: tuple[int, ...] | None,
    split_spend: bool,
    verbose: bool,
) -> dict[str, dict]:
    totals: dict[str, dict] = {}
    for seed in seeds:
        started = time.monotonic()
        days = (weeks + anomaly.WEEKS) * 7 + 1
        base = build_history(seed, days)
        first_eval = days - weeks * 7
        rng = random.Random(seed)
        incidents = draw_incidents(rng, base, first_eval, days)
        data = base.copy()
        for incident in incidents:
            inject(data, incident)
        if verbose:
            shown = holidays(base, first_eval, days)
            print(
                f"seed {seed}: {days} days of history ({base.first} .. {LAST_DAY}), "
                f"{weeks} evaluated weeks; holidays/promotions vs the week before: "
                + (", ".join(shown) if shown else "none")
            )
        for name, detector, fresh in (
            (f"seasonal z≥{sensitivity:g}", seasonal(sensitivity, recent), True),
            ("naive ±50% vs yesterday", naive, False),
        ):
            result = score(data, incidents, detector, first_eval, days, fresh, split_spend)
            into = totals.setdefault(name, {"recall": Counter(), "false": Counter(), "weeks": 0.0})
            for kind, (n, s, late) in result["recall"].items():  # type: ignore[attr-defined]
                into["recall"][(kind, "n")] += n
                into["recall"][(kind, "strict")] += s
                into["recall"][(kind, "late")] += late
            into["false"] += result["false"]
            into["weeks"] += weeks
        if verbose:
            print(f"  ({time.monotonic() - started:.1f} s)")
    return totals


def report(title: str, totals: dict[str, dict]) -> None:
    print(f"\n== {title}")
    for name, t in totals.items():
        r = t["recall"]
        print(f"  {name}")
        all_n = all_s = all_l = 0
        for kind in KINDS:
            n, s, late = r[(kind, "n")], r[(kind, "strict")], r[(kind, "late")]
            all_n, all_s, all_l = all_n + n, all_s + s, all_l + late
            print(
                f"    {kind:<18} injected {n:3d}  recall strict {pct(s, n)}  "
                f"by next morning {pct(late, n)}"
            )
        print(
            f"    {'overall':<18} injected {all_n:3d}  recall strict {pct(all_s, all_n)}  "
            f"by next morning {pct(all_l, all_n)}"
        )
        false = sum(t["false"].values())
        by_family = ", ".join(f"{k} {v}" for k, v in t["false"].most_common()) or "none"
        print(
            f"    false alerts: {false} over {t['weeks']:.0f} workspace-weeks = "
            f"{false / t['weeks']:.2f} per workspace per week ({by_family})"
        )


def pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:5.1f}%" if whole else "   - "


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weeks", type=int, default=12)
    parser.add_argument("--seed", type=int, default=None, help="one seed (else 1-3 and 4-6)")
    parser.add_argument("--sensitivity", type=float, default=anomaly.DEFAULT_SENSITIVITY)
    parser.add_argument(
        "--recent",
        type=lambda text: tuple(int(h) for h in text.split(",") if h),
        default=None,
        help="hours of the recent windows for every metric, comma-separated (e.g. 1,3; "
        "empty: none); default: each metric's anomaly.recent_windows",
    )
    parser.add_argument(
        "--unsplit-spend", action="store_true", help="one spend rule instead of one per campaign"
    )
    parser.add_argument("--silence-sensitivity", type=float, default=anomaly.SILENCE_SENSITIVITY)
    parser.add_argument("--silence-min-events", type=float, default=anomaly.SILENCE_MIN_EVENTS)
    args = parser.parse_args()
    SILENCE.update(sensitivity=args.silence_sensitivity, min_events=args.silence_min_events)
    if args.weeks < 2:
        parser.error("--weeks must be at least 2")
    print(
        "Harness: pure series (the sandbox merchant's hourly sums) fed to "
        "metricx.alerts.anomaly.detect / data_cut, the functions the rules call; not the DB."
    )
    print(
        f"Parameters: sensitivity {args.sensitivity:g}, min change {anomaly.MIN_CHANGE:.0%}, "
        f"{anomaly.WEEKS} weeks (≥ {anomaly.MIN_WEEKS}), spread floor {anomaly.REL_FLOOR:.0%} "
        f"of the median (and √median for counts), volume floors {anomaly.MIN_VOLUME} "
        f"(a campaign in a recent window: {anomaly.RECENT_MIN_VOLUME['currency']:g}), "
        "recent windows "
        + (
            f"{anomaly.RECENT_WINDOWS_BY_METRIC} else {anomaly.RECENT_WINDOWS}"
            if args.recent is None
            else ", ".join(map(str, args.recent)) or "none"
        )
        + f" h, cool-down {COOLDOWN_HOURS} h, spend "
        + ("unsplit" if args.unsplit_spend else "per campaign (relative to the other campaigns)")
        + f"; pixel silence every 15 min over the trailing {anomaly.SILENCE_WINDOWS} h "
        f"(the first whose usual count reaches {args.silence_min_events:g} events), "
        f"z ≥ {args.silence_sensitivity:g} and a fall of {anomaly.SILENCE_DROP:.0%}"
    )
    seeds = [[args.seed]] if args.seed is not None else [[1, 2, 3], [4, 5, 6]]
    titles = (
        [f"seed {args.seed}"]
        if args.seed is not None
        else ["tuning seeds 1-3", "held-out seeds 4-6"]
    )
    for title, group in zip(titles, seeds, strict=True):
        totals = run(group, args.weeks, args.sensitivity, args.recent, not args.unsplit_spend, True)
        report(title, totals)


if __name__ == "__main__":
    main()
