"""Video plays and creative fatigue in the sandbox: the watch funnel of the video model, the
fake Meta API's video fields (daily rows only), and the known fatigue stories a detector should
find."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metricx.connectors.meta import MetaClient
from metricx.connectors.versions import DEFAULT_VERSIONS
from metricx.sandbox.creatives import (
    FATIGUE_ONSET_DAYS,
    SandboxCreative,
)
from metricx.sandbox.entities import META, Ad
from metricx.sandbox.merchant import Merchant
from metricx.sandbox.series import AdSeries
from metricx.sandbox.servers import SandboxServers
from metricx.sandbox.video import ZERO_VIDEO, VideoFacts, video_facts, video_profile
from metricx.services.creative_fatigue import CreativeWeek, judge, with_cumulative_impressions
from metricx.totals import VIDEO, Totals

META_VERSION = DEFAULT_VERSIONS["meta"]
VIDEO_FIELDS = (
    "video_play_actions",
    "video_thruplay_watched_actions",
    "video_p25_watched_actions",
    "video_p50_watched_actions",
    "video_p75_watched_actions",
    "video_p95_watched_actions",
    "video_p100_watched_actions",
    "video_avg_time_watched_actions",
)
HOURLY = "hourly_stats_aggregated_by_advertiser_time_zone"
#: The merchant tests/sandbox_fixtures.py builds for the sync tests.
FIXTURE_KNOBS = {
    "seed": 5,
    "ads": 9,
    "campaigns": 3,
    "days": 20,
    "orders_per_day": 15,
    "today": date(2026, 11, 20),
    "tiktok_accounts": 1,
    "tiktok_campaigns": 2,
}
DEMO_ANCHOR = date(2026, 12, 5)


def _creatives(merchant: Merchant) -> list[SandboxCreative]:
    return [c for a in merchant.accounts_of(META) for c in merchant.creatives_of(a.external_id)]


def _video_ads(merchant: Merchant) -> list[Ad]:
    return [
        ad
        for ad in merchant.tree.ads
        if (c := merchant.creative_of(ad.external_id)) is not None and c.format == "video"
    ]


def _video_account(merchant: Merchant) -> str:
    """The first Meta account that runs a video creative."""
    return next(
        a.external_id
        for a in merchant.accounts_of(META)
        if any(c.format == "video" for c in merchant.creatives_of(a.external_id))
    )


def _insights(sandbox: SandboxServers, http: httpx.Client, account: str, **params: str):
    return http.get(
        f"{sandbox.env['META_GRAPH_URL']}/{META_VERSION}/act_{account}/insights",
        params=params,
        headers={"Authorization": f"Bearer {sandbox.credentials.meta_access_token}"},
    )


def _counts(facts: VideoFacts) -> tuple[int, ...]:
    return (
        facts.plays,
        facts.plays_3s,
        facts.thruplays,
        facts.p25,
        facts.p50,
        facts.p75,
        facts.p95,
        facts.p100,
    )


# ---- the video model ----------------------------------------------------------------------
@settings(max_examples=200, deadline=None)
@given(data=st.data(), offset=st.integers(-30, 400), impressions=st.integers(0, 5_000_000))
def test_the_watch_funnel_only_narrows(
    merchant: Merchant, data: st.DataObject, offset: int, impressions: int
) -> None:
    # given any video creative, any day and any number of impressions
    creative = data.draw(st.sampled_from([c for c in _creatives(merchant) if c.format == "video"]))
    day = merchant.today - timedelta(days=offset)
    # when its plays are worked out
    facts = video_facts(creative, day, impressions)
    # then every step of the funnel keeps at most the plays of the step before
    assert impressions >= facts.plays >= facts.plays_3s >= facts.p25 >= facts.p50
    assert facts.p50 >= facts.p75 >= facts.p95 >= facts.p100 >= 0
    # and ThruPlays lie between the 3-second plays and the completions
    assert facts.plays_3s >= facts.thruplays >= facts.p100
    # and seconds watched are the average per play times the plays, the average no longer
    # than the video
    profile = video_profile(creative)
    assert profile is not None
    assert facts.seconds == facts.average_seconds * facts.plays
    assert 0 <= facts.average_seconds <= profile.length_seconds
    # and asking again gives the same answer
    assert video_facts(creative, day, impressions) == facts


def test_each_video_hooks_and_holds_like_a_real_one() -> None:
    # given the video creatives of the demo merchant and of two other seeds
    merchants = [Merchant.demo(42, DEMO_ANCHOR), Merchant(seed=3, days=10, today=DEMO_ANCHOR)]
    merchants.append(Merchant(seed=8, days=10, today=DEMO_ANCHOR))
    videos = [c for m in merchants for c in _creatives(m) if c.format == "video"]
    assert len(videos) > 20
    profiles = [video_profile(c) for c in videos]
    # then each hooks 15-40 % of impressions and holds 15-45 % of its 3-second plays
    for profile in profiles:
        assert profile is not None
        assert 0.15 <= profile.hook_rate < 0.40
        assert 0.15 <= profile.hold_rate < 0.45
    # and they differ: a spread, not one number
    hooks = sorted(p.hook_rate for p in profiles if p is not None)
    assert hooks[-1] - hooks[0] > 0.1
    # and a day of a million impressions of one shows those rates, give or take the wobble
    creative, profile = videos[0], profiles[0]
    assert profile is not None
    facts = video_facts(creative, creative.launch_day, 1_000_000)
    assert abs(facts.plays_3s / 1_000_000 - profile.hook_rate) <= 0.07 * profile.hook_rate
    assert abs(facts.thruplays / facts.plays_3s - profile.hold_rate) <= 0.07 * profile.hold_rate


@settings(max_examples=40, deadline=None)
@given(
    data=st.data(),
    offset=st.integers(0, 40),
    first=st.integers(0, 86_399),
    later=st.integers(0, 5 * 86_400),
)
def test_video_facts_follow_the_impressions_reported_at_each_moment(
    merchant: Merchant, data: st.DataObject, offset: int, first: int, later: int
) -> None:
    # given a video ad, one of its days and two moments from the start of that day on
    ad = data.draw(st.sampled_from(_video_ads(merchant)))
    creative = merchant.creative_of(ad.external_id)
    assert creative is not None
    day = merchant.today - timedelta(days=offset)
    start = datetime.combine(day, datetime.min.time(), UTC) - timedelta(hours=14)
    moments = (start + timedelta(seconds=first), start + timedelta(seconds=first + later))
    # when the merchant is asked for the day's video facts at each moment
    seen = [merchant.video_facts(ad.external_id, day, as_of) for as_of in moments]
    # then each is the plays of the impressions reported at that moment
    for facts, as_of in zip(seen, moments, strict=True):
        impressions = merchant.ad_totals(ad.external_id, day, as_of).impressions
        assert facts == video_facts(creative, day, impressions)
    # and, as impressions only grow while the day runs, so does every count
    assert all(a <= b for a, b in zip(_counts(seen[0]), _counts(seen[1]), strict=True))


def test_ads_without_a_video_have_no_video_facts(merchant: Merchant, now: datetime) -> None:
    # given every ad whose creative is no video (images, carousels, Google and TikTok ads)
    others = [
        ad
        for ad in merchant.tree.ads
        if (c := merchant.creative_of(ad.external_id)) is None or c.format != "video"
    ]
    assert any(ad.provider == META for ad in others)
    for ad in others:
        for back in (0, 1, 9):
            day = merchant.today - timedelta(days=back)
            # then they report no video plays, whatever their impressions
            assert merchant.video_facts(ad.external_id, day, now) == ZERO_VIDEO


# ---- the fake Graph API -------------------------------------------------------------------
def test_daily_rows_carry_the_video_fields_of_video_ads_only(
    sandbox: SandboxServers, http: httpx.Client, now: datetime
) -> None:
    # given an account that runs video and other creatives, asked for ad-level days
    merchant = sandbox.merchant
    account = _video_account(merchant)
    since, until = merchant.today - timedelta(days=3), merchant.today - timedelta(days=1)
    fields = ",".join(("ad_id", "impressions", "actions", *VIDEO_FIELDS))
    time_range = f'{{"since":"{since}","until":"{until}"}}'
    response = _insights(
        sandbox, http, account, level="ad", time_increment="1", fields=fields,
        time_range=time_range, limit="500",
    )  # fmt: skip
    # then the request is answered
    assert response.status_code == 200, response.text
    rows = response.json()["data"]
    kinds = set()
    for row in rows:
        day = date.fromisoformat(row["date_start"])
        facts = merchant.video_facts(row["ad_id"], day, now)
        actions = {a["action_type"]: a["value"] for a in row.get("actions", [])}
        if facts.plays:
            kinds.add("video")
            # and a video ad's row has each count as [{"action_type": "video_view", ...}]
            expected = {
                "video_play_actions": facts.plays,
                "video_thruplay_watched_actions": facts.thruplays,
                "video_p25_watched_actions": facts.p25,
                "video_p50_watched_actions": facts.p50,
                "video_p75_watched_actions": facts.p75,
                "video_p95_watched_actions": facts.p95,
                "video_p100_watched_actions": facts.p100,
            }
            for field, count in expected.items():
                if count:
                    assert row[field] == [{"action_type": "video_view", "value": str(count)}]
                else:
                    assert field not in row
            average = row["video_avg_time_watched_actions"]
            assert average == [{"action_type": "video_view", "value": str(facts.average_seconds)}]
            # and its 3-second plays are the `actions` entry video_view
            assert actions["video_view"] == str(facts.plays_3s)
        else:
            kinds.add("other")
            # and any other ad's row has none of them, not even as zero
            assert not set(VIDEO_FIELDS) & set(row)
            assert "video_view" not in actions
    assert kinds == {"video", "other"}


def test_video_view_is_only_in_actions_when_actions_are_asked(
    sandbox: SandboxServers, http: httpx.Client
) -> None:
    # given a day of the video account asked without `actions`
    account = _video_account(sandbox.merchant)
    day = sandbox.merchant.today - timedelta(days=1)
    response = _insights(
        sandbox, http, account, level="ad", time_increment="1",
        fields="ad_id,video_play_actions", time_range=f'{{"since":"{day}","until":"{day}"}}',
    )  # fmt: skip
    # then the rows have video plays but no actions list at all
    rows = response.json()["data"]
    assert any("video_play_actions" in row for row in rows)
    assert all("actions" not in row for row in rows)


def test_an_account_row_sums_the_video_facts_of_its_ads_and_days(
    sandbox: SandboxServers, http: httpx.Client, now: datetime
) -> None:
    # given a week of the video account in one account-level row
    merchant = sandbox.merchant
    account = _video_account(merchant)
    since, until = merchant.today - timedelta(days=7), merchant.today - timedelta(days=1)
    response = _insights(
        sandbox, http, account, level="account", fields="actions," + ",".join(VIDEO_FIELDS),
        time_range=f'{{"since":"{since}","until":"{until}"}}',
    )  # fmt: skip
    (row,) = response.json()["data"]
    # then each count is the exact sum over its ads and days
    total = ZERO_VIDEO
    for ad in merchant.ads_of(account):
        for offset in range(7):
            total = total + merchant.video_facts(ad.external_id, since + timedelta(offset), now)
    assert row["video_p25_watched_actions"][0]["value"] == str(total.p25)
    assert row["video_thruplay_watched_actions"][0]["value"] == str(total.thruplays)
    actions = {a["action_type"]: a["value"] for a in row["actions"]}
    assert actions["video_view"] == str(total.plays_3s)
    # and the average is the seconds of all of them over all plays started
    assert Decimal(row["video_avg_time_watched_actions"][0]["value"]) == total.average_seconds


def test_hourly_requests_naming_a_video_field_are_refused(
    sandbox: SandboxServers, http: httpx.Client
) -> None:
    # given the hourly breakdown asked with a video_* field (Meta's Breakdowns page: "video_*
    # fields cannot be requested with any hourly stats breakdowns")
    account = _video_account(sandbox.merchant)
    response = _insights(
        sandbox, http, account, level="ad", time_increment="1", breakdowns=HOURLY,
        fields="ad_id,impressions,video_p25_watched_actions", date_preset="yesterday",
    )  # fmt: skip
    # then it is an invalid-parameter error naming the rule
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == 100
    assert "cannot be requested with any hourly stats breakdowns" in error["message"]


def test_hourly_rows_omit_video_when_the_fake_is_told_to(
    sandbox: SandboxServers, http: httpx.Client
) -> None:
    # given the fake configured to read the current Breakdowns page (silent on video): omit
    account = _video_account(sandbox.merchant)
    sandbox.meta.hourly_video = "omit"
    try:
        response = _insights(
            sandbox, http, account, level="ad", time_increment="1", breakdowns=HOURLY,
            fields="ad_id,impressions,actions," + ",".join(VIDEO_FIELDS),
            date_preset="yesterday", limit="500",
        )  # fmt: skip
    finally:
        sandbox.meta.hourly_video = "refuse"
    # then hours come, with impressions but no video field and no video_view action
    assert response.status_code == 200, response.text
    rows = response.json()["data"]
    assert rows and all(HOURLY in row for row in rows)
    assert all(not set(VIDEO_FIELDS) & set(row) for row in rows)
    actions = {a["action_type"] for row in rows for a in row.get("actions", [])}
    assert "video_view" not in actions


def test_the_meta_connector_reads_the_video_facts_the_fake_serves(
    sandbox: SandboxServers, now: datetime
) -> None:
    # given the Meta connector pointed at the fake, reading days of the video account
    merchant = sandbox.merchant
    account = _video_account(merchant)
    since, until = merchant.today - timedelta(days=4), merchant.today
    c = sandbox.credentials
    with MetaClient(
        c.meta_access_token,
        base_url=sandbox.env["META_GRAPH_URL"],
        app_id=c.meta_app_id,
        app_secret=c.meta_app_secret,
        sleep=lambda _: None,
        now=lambda: now,
    ) as client:
        daily = client.insights(account, since, until)
        hours = client.insights(account, until, until, hourly=True)
    # then every ad-day's video facts are the merchant's, seconds included, to the hundredth
    assert daily
    for record in daily:
        facts = merchant.video_facts(record.ad_external_id, record.day, now)
        assert Totals.of(record).only(VIDEO) == facts.as_totals()
    assert any(record.video_3s_plays for record in daily)
    # and its hourly reads (which ask no video field) are not refused and carry none
    assert hours and all(Totals.of(h).only(VIDEO).is_zero for h in hours)


# ---- fatigue ------------------------------------------------------------------------------
@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 10_000), days=st.integers(1, FATIGUE_ONSET_DAYS[0]))
def test_a_history_shorter_than_five_weeks_delivers_as_if_nothing_fatigued(
    seed: int, days: int
) -> None:
    # given a merchant of any seed whose history is shorter than the earliest onset
    merchant = Merchant(seed, ads=24, campaigns=6, days=days, orders_per_day=2, today=DEMO_ANCHOR)
    plain = AdSeries(seed, merchant.tree, merchant.policies)
    # then no onset falls inside it
    onsets = [c.fatigue_onset for c in _creatives(merchant) if c.fatigue_onset is not None]
    assert all(onset >= merchant.today for onset in onsets)
    # and every ad-day is exactly what it is without any fatigue
    for ad in merchant.tree.ads:
        for offset in range(days):
            day = merchant.start_day + timedelta(days=offset)
            assert merchant.series.final_cells(ad, day) == plain.final_cells(ad, day)


def test_the_fixture_merchants_and_the_demo_have_a_video_and_another_fatiguing() -> None:
    # given the sync tests' merchant, the sandbox tests' and the demo
    for merchant in (
        Merchant(**FIXTURE_KNOBS),
        Merchant(seed=7, ads=36, campaigns=12, days=45, today=date(2025, 11, 25)),
        Merchant.demo(42, DEMO_ANCHOR),
    ):
        fatiguing = [c for c in _creatives(merchant) if c.fatigue_onset is not None]
        # then at least one video and one other creative fatigue
        assert {c.format == "video" for c in fatiguing} == {True, False}
        # and each onset falls 5 to 8 weeks after its launch
        earliest, spread = FATIGUE_ONSET_DAYS
        for c in fatiguing:
            assert c.fatigue_onset is not None
            assert earliest <= (c.fatigue_onset - c.launch_day).days < earliest + spread
        # and about one in four creatives fatigues, never most of them
        assert len(fatiguing) <= len(_creatives(merchant)) // 2


@settings(max_examples=4, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_fatigue_takes_clicks_and_purchases_after_its_onset_and_nothing_else(seed: int) -> None:
    # given a merchant with four months of history, and the same one without any fatigue
    merchant = Merchant(seed, ads=30, campaigns=6, days=120, orders_per_day=2, today=DEMO_ANCHOR)
    plain = AdSeries(seed, merchant.tree, merchant.policies)
    fell: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for ad in merchant.tree.ads:
        creative = merchant.creative_of(ad.external_id)
        onset = creative.fatigue_onset if creative is not None else None
        for offset in range(120):
            day = merchant.start_day + timedelta(days=offset)
            tired, fresh = merchant.series.final_cells(ad, day), plain.final_cells(ad, day)
            # then spend and impressions never change
            assert tired[:2] == fresh[:2]
            if onset is None or day <= onset:
                # and no ad-day changes but those of fatiguing creatives after their onset
                assert tired == fresh
            elif creative is not None and day >= onset + timedelta(days=14):
                sums = fell[creative.external_id]
                sums[0] += tired[2]
                sums[1] += fresh[2]
                sums[2] += tired[3]
                sums[3] += fresh[3]
    # and from two weeks after the onset, a creative's CTR is at most 75 % of what it would
    # have been, its purchases (at the same spend) at most 60 %
    for clicks, fresh_clicks, purchases, fresh_purchases in fell.values():
        if fresh_clicks >= 200:
            assert clicks <= 0.75 * fresh_clicks
        if fresh_purchases >= 30:
            assert purchases <= 0.6 * fresh_purchases


def test_the_fatigue_rule_finds_the_demo_creatives_that_fatigued() -> None:
    # given the demo merchant synced at an afternoon of its anchor day, its creatives' weeks
    merchant = Merchant.demo(42, DEMO_ANCHOR)
    as_of = datetime.combine(DEMO_ANCHOR, datetime.min.time(), UTC) + timedelta(hours=15)
    found: dict[str, bool] = {}
    marked: dict[str, bool] = {}
    last_clicks: dict[str, int] = {}
    for account in merchant.accounts_of(META):
        today = merchant.account_today(account.external_id, as_of)
        last_week = today - timedelta(days=today.weekday() + 7)
        for creative in merchant.creatives_of(account.external_id):
            weeks: dict[date, list] = defaultdict(lambda: [0, 0, Decimal(0), Decimal(0), 0])
            for ad in merchant.ads_of(account.external_id):
                if merchant.creative_of(ad.external_id) != creative:
                    continue
                for day in merchant.days(account.external_id, as_of):
                    totals = merchant.ad_totals(ad.external_id, day, as_of)
                    plays = merchant.video_facts(ad.external_id, day, as_of).plays_3s
                    week = weeks[day - timedelta(days=day.weekday())]
                    week[0] += totals.impressions
                    week[1] += totals.clicks
                    week[2] += totals.spend
                    week[3] += totals.conversions
                    week[4] += plays
            rows = [CreativeWeek(w, *sums, 0) for w, sums in weeks.items()]
            # when the fatigue rule judges it
            verdict = judge(
                with_cumulative_impressions(rows), today, video=creative.format == "video"
            )
            found[creative.external_id] = verdict.fatigued
            marked[creative.external_id] = creative.fatigued_by(last_week)
            last_clicks[creative.external_id] = weeks[last_week][1] if last_week in weeks else 0
    # then every creative whose fatigue is two weeks old is found, videos and others alike
    tired = {cid for cid, yes in marked.items() if yes}
    assert len(tired) >= 6
    assert tired <= {cid for cid, yes in found.items() if yes}
    # and no other is, except one whose last week got no click at all: a copy that never gets
    # a click (Ad.ctr_factor 0) left running after the one that did was paused
    others = {cid for cid, yes in found.items() if yes} - tired
    assert all(last_clicks[cid] == 0 for cid in others)


@pytest.mark.parametrize("offset", [0, 14, 28, 70, 400])
def test_the_decay_is_known_ahead(offset: int) -> None:
    # given a fatiguing creative of the demo
    merchant = Merchant.demo(42, DEMO_ANCHOR)
    creative = next(c for c in _creatives(merchant) if c.fatigue_onset is not None)
    assert creative.fatigue_onset is not None
    day = creative.fatigue_onset + timedelta(days=offset)
    # then its factor is 0.8 a week from the onset, never under the floor of 45 %
    expected = max(0.45, 0.8 ** (offset / 7))
    assert creative.fatigue_factor(day) == pytest.approx(expected)
    assert creative.fatigue_factor(creative.fatigue_onset - timedelta(days=1)) == 1.0
