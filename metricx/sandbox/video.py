"""How people watch the sandbox merchant's Meta video ads: plays, ThruPlays and the watch funnel.

Each video creative has a hook rate (3-second plays ÷ impressions, 15-40 %), a hold rate
(ThruPlays ÷ 3-second plays, 15-45 %) and a length, all drawn from its id (itself a function of
the seed). Past the first 3 seconds its viewers drop off exponentially, at the pace that leaves
exactly the hold rate at the ThruPlay mark (15 s, or the whole of a shorter video); the 25 /
50 / 75 / 95 / 100 % counts are that curve read at those points of the video. So the funnel is
ordered by construction: plays started ≥ 3-second plays ≥ 25 % ≥ 50 % ≥ 75 % ≥ 95 % ≥ 100 %,
and ThruPlays ≥ 100 %.

The video facts of an ad-day are a pure function of (creative, day, impressions reported for
it): whatever moment the platform is asked at, the plays follow the impressions it reports
then. A fatiguing creative's hook rate decays with its CTR (creatives.fatigue_factor).

Meta's definitions (research19 meta.md §3.2): plays started are `video_play_actions` ("the
number of times your video starts to play ... excludes replays"); 3-second plays the `actions`
entry `video_view` ("views a video for 3 seconds or views 97% of a video that is less than 3
seconds long"); ThruPlays `video_thruplay_watched_actions` (15 seconds or to completion);
`video_avg_time_watched_actions` the average seconds watched per play started.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from metricx.sandbox import rand
from metricx.sandbox.creatives import SandboxCreative
from metricx.totals import Totals

HOOK_RATE = (0.15, 0.25)  # lowest, spread: 3-second plays per impression
HOLD_RATE = (0.15, 0.30)  # lowest, spread: ThruPlays per 3-second play
#: Of the impressions that do not hook, the share whose autoplay starts anyway (a play that
#: stops before 3 seconds): feeds autoplay most videos that come on screen.
START_RATE = (0.45, 0.30)
LENGTH_SECONDS = (10, 36)  # shortest, spread
THRUPLAY_SECONDS = 15
HOOK_SECONDS = 3
#: How long, on average, a play that stops before 3 seconds lasts.
SHORT_PLAY_SECONDS = 1.4
#: A day's hook and hold rates wobble this much around the creative's (plus-or-minus half).
DAILY_WOBBLE = 0.12
WATCHED_SHARES = (25, 50, 75, 95, 100)  # percent of the video, Meta's video_pNN fields
CENTS = Decimal("0.01")


@dataclass(frozen=True)
class VideoProfile:
    """A video creative's viewing habits: rates per impression / per 3-second play."""

    hook_rate: float
    hold_rate: float
    start_rate: float
    length_seconds: int

    @property
    def decay_per_second(self) -> float:
        """The drop-off rate past 3 seconds that leaves hold_rate at the ThruPlay mark."""
        mark = min(THRUPLAY_SECONDS, self.length_seconds) - HOOK_SECONDS
        return -math.log(self.hold_rate) / mark

    def still_watching(self, second: float) -> float:
        """Share of 3-second plays still playing at `second` (1 up to 3 s)."""
        return math.exp(-self.decay_per_second * max(0.0, second - HOOK_SECONDS))


@dataclass(frozen=True)
class VideoFacts:
    """What Meta reports about an ad's video for a day (or a sum of days/ads): counts of
    plays, and the average seconds watched per play started (2 decimals, as Meta's string
    value is read). `seconds` = plays × average, so sums of it stay exact."""

    plays: int
    plays_3s: int
    thruplays: int
    p25: int
    p50: int
    p75: int
    p95: int
    p100: int
    seconds: Decimal

    @property
    def average_seconds(self) -> Decimal:
        """Seconds watched per play started, to the hundredth (0 without plays)."""
        if not self.plays:
            return Decimal(0)
        return (self.seconds / self.plays).quantize(CENTS, ROUND_HALF_UP)

    def as_totals(self) -> Totals:
        """The video facts in the Totals the sync stores (the rest zero): what a daily Meta
        row reports on top of `Merchant.ad_totals`, whose hours carry no video."""
        return Totals(
            video_plays=self.plays,
            video_3s_plays=self.plays_3s,
            thruplays=self.thruplays,
            video_p25=self.p25,
            video_p50=self.p50,
            video_p75=self.p75,
            video_p100=self.p100,
            video_seconds=self.seconds,
        )

    def __add__(self, other: VideoFacts) -> VideoFacts:
        return VideoFacts(
            self.plays + other.plays,
            self.plays_3s + other.plays_3s,
            self.thruplays + other.thruplays,
            self.p25 + other.p25,
            self.p50 + other.p50,
            self.p75 + other.p75,
            self.p95 + other.p95,
            self.p100 + other.p100,
            self.seconds + other.seconds,
        )


ZERO_VIDEO = VideoFacts(0, 0, 0, 0, 0, 0, 0, 0, Decimal(0))


def video_profile(creative: SandboxCreative) -> VideoProfile | None:
    """The creative's viewing habits; None unless it is a video."""
    if creative.format != "video":
        return None
    u = rand.uniforms(0, "video-profile", creative.external_id)
    length = LENGTH_SECONDS[0] + int(u[3] * LENGTH_SECONDS[1])
    if "30s" in creative.name:  # "Founder | Story 30s" says how long it is
        length = 30
    return VideoProfile(
        hook_rate=HOOK_RATE[0] + HOOK_RATE[1] * u[0],
        hold_rate=HOLD_RATE[0] + HOLD_RATE[1] * u[1],
        start_rate=START_RATE[0] + START_RATE[1] * u[2],
        length_seconds=length,
    )


def video_facts(creative: SandboxCreative, day: date, impressions: int) -> VideoFacts:
    """The plays of `impressions` impressions of the creative's ads on `day` (zero for a
    creative that is no video, or no impressions)."""
    profile = video_profile(creative)
    if profile is None or impressions <= 0:
        return ZERO_VIDEO
    u = rand.uniforms(0, "video-day", creative.external_id, day.toordinal())
    hook = profile.hook_rate * (1 + DAILY_WOBBLE * (u[0] - 0.5)) * creative.fatigue_factor(day)
    hold = profile.hold_rate * (1 + DAILY_WOBBLE * (u[1] - 0.5))
    day_profile = VideoProfile(hook, hold, profile.start_rate, profile.length_seconds)
    plays_3s = int(impressions * hook)
    plays = plays_3s + int((impressions - plays_3s) * profile.start_rate)
    length = profile.length_seconds
    watched = [
        int(plays_3s * day_profile.still_watching(length * share / 100)) for share in WATCHED_SHARES
    ]
    p25, p50, p75, p95, p100 = watched
    thruplays = max(p100, int(plays_3s * day_profile.still_watching(min(THRUPLAY_SECONDS, length))))
    # seconds a 3-second play lasts on average: 3, plus the area under the curve after it
    rate = day_profile.decay_per_second
    per_hooked = HOOK_SECONDS + (1 - math.exp(-rate * (length - HOOK_SECONDS))) / rate
    total = (plays - plays_3s) * SHORT_PLAY_SECONDS + plays_3s * per_hooked
    average = (Decimal(total) / plays).quantize(CENTS, ROUND_HALF_UP) if plays else Decimal(0)
    return VideoFacts(plays, plays_3s, thruplays, p25, p50, p75, p95, p100, average * plays)
