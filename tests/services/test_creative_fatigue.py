"""The fatigue rule (docs/design.md "Creatives"), on weekly rows built here: the best week,
the last whole week, the thresholds exactly on their boundaries, and the invariants — steady
performance is never fatigue, and the verdict does not depend on the scale of the counts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sandbox_fixtures import SECRETS

from metricx.db import transaction
from metricx.models import FxRate
from metricx.sandbox.servers import SandboxServers
from metricx.services import creative_report
from metricx.services.connections import add_connection
from metricx.services.creative_fatigue import (
    MIN_WEEK_IMPRESSIONS,
    CreativeWeek,
    judge,
    with_cumulative_impressions,
)
from metricx.sync.pipeline import sync_connection

LAUNCH = date(2026, 9, 7)  # a Monday
TODAY = date(2026, 10, 14)  # a Wednesday: the last whole week is that of Oct 5


def weeks(*rows: tuple[int, int, int, int, int]) -> list[CreativeWeek]:
    """Weeks from LAUNCH on, each (impressions, clicks, spend, conversions, 3-s plays)."""
    return with_cumulative_impressions(
        CreativeWeek(LAUNCH + timedelta(weeks=n), i, c, Decimal(s), Decimal(v), p, 0)
        for n, (i, c, s, v, p) in enumerate(rows)
    )


def today_after(rows: list[CreativeWeek]) -> date:
    """A day in the week after the last row's: that row is the last whole week."""
    return rows[-1].week + timedelta(days=9)


BEST = (20_000, 400, 1_000, 50, 6_000)  # CTR 2 %, thumb-stop 30 %, CPA 20


def test_a_creative_whose_ctr_and_hook_fell_is_fatigued_with_the_evidence():
    # given a video launched with a small week, best in its second week, decaying since
    rows = weeks(
        (3_000, 90, 200, 5, 900),  # launch week: best CTR of all, but it does not count
        BEST,
        (20_000, 360, 1_000, 48, 5_400),
        (20_000, 280, 1_000, 45, 4_200),  # CTR 1.4 % = 70 %, thumb-stop 21 % = 70 %
    )
    # when it is judged the week after
    verdict = judge(rows, today_after(rows), video=True)
    # then it is fatigued, against its second week, with the three ratios
    assert verdict.status == "fatigued"
    assert verdict.best_week == rows[1] and verdict.last_week == rows[3]
    assert verdict.ctr_ratio == pytest.approx(0.7)
    assert verdict.thumb_stop_ratio == pytest.approx(0.7)
    assert verdict.cpa_ratio == pytest.approx((1_000 / 45) / 20)
    assert verdict.cumulative_impressions == 63_000
    assert "CTR at 70%" in verdict.reason and "thumb-stop at 70%" in verdict.reason
    assert "week of 14 Sep 2026" in verdict.reason and "63,000 impressions" in verdict.reason


def test_a_falling_ctr_alone_is_not_fatigue():
    # given an image whose CTR fell to 70 % while each conversion costs what it did
    rows = weeks(BEST, BEST, (20_000, 280, 1_000, 50, 0))
    verdict = judge(rows, today_after(rows), video=False)
    # then it holds up: the CTR fell, the cost did not rise
    assert verdict.status == "healthy"
    assert verdict.ctr_ratio == pytest.approx(0.7) and verdict.cpa_ratio == pytest.approx(1)
    assert verdict.thumb_stop_ratio is None
    assert verdict.reason.startswith("Holding up")


def test_thumb_stop_counts_for_videos_only():
    # given the same numbers, CTR and thumb-stop at 70 %, CPA unchanged
    rows = weeks((3_000, 9, 20, 1, 900), BEST, (20_000, 280, 1_000, 50, 4_200))
    # then a video is fatigued, while an image (whose "plays" mean nothing) is not
    assert judge(rows, today_after(rows), video=True).fatigued
    assert not judge(rows, today_after(rows), video=False).fatigued


@pytest.mark.parametrize(
    ("last_conversions", "fatigued"),
    [(50, False), (37, True)],  # CPA unchanged; CPA 1,000 / 37 = 135 % of 20
)
def test_a_ctr_on_its_floor_needs_a_dearer_conversion_too(last_conversions, fatigued):
    # given an image whose CTR is exactly 75 % of its best week's
    rows = weeks(BEST, BEST, (20_000, 300, 1_000, last_conversions, 0))
    verdict = judge(rows, today_after(rows), video=False)
    assert verdict.ctr_ratio == pytest.approx(0.75)
    # then it is fatigued only if each conversion also costs a third more
    assert verdict.fatigued is fatigued


@pytest.mark.parametrize(
    ("last_clicks", "fatigued"),
    [(300, True), (301, False)],  # 300/20,000 = 75 % of 2 % exactly; one click more is above
)
def test_the_ctr_floor_is_inclusive(last_clicks, fatigued):
    # given CPA at exactly 133 % (spend 1,330 for 50 conversions against 1,000 for 50)
    rows = weeks(BEST, BEST, (20_000, last_clicks, 1_330, 50, 0))
    verdict = judge(rows, today_after(rows), video=False)
    assert verdict.cpa_ratio == pytest.approx(1.33)
    assert verdict.fatigued is fatigued


@pytest.mark.parametrize(("last_spend", "fatigued"), [(1_330, True), (1_329, False)])
def test_the_cpa_ceiling_is_inclusive(last_spend, fatigued):
    rows = weeks(BEST, BEST, (20_000, 300, last_spend, 50, 0))
    assert judge(rows, today_after(rows), video=False).fatigued is fatigued


@pytest.mark.parametrize(("last_plays", "fatigued"), [(4_500, True), (4_501, False)])
def test_the_thumb_stop_floor_is_inclusive(last_plays, fatigued):
    # 4,500 / 20,000 = 22.5 % = 75 % of 30 %; CPA unchanged, so only the hook decides
    rows = weeks(BEST, BEST, (20_000, 300, 1_000, 50, last_plays))
    assert judge(rows, today_after(rows), video=True).fatigued is fatigued


def test_a_week_that_spent_without_converting_is_over_the_cpa_ceiling():
    rows = weeks(BEST, BEST, (20_000, 200, 900, 0, 0))
    verdict = judge(rows, today_after(rows), video=False)
    assert verdict.fatigued and verdict.cpa_ratio is None
    assert "no conversion for its spend" in verdict.reason


@pytest.mark.parametrize(
    ("impressions", "counts"),
    [(MIN_WEEK_IMPRESSIONS, True), (MIN_WEEK_IMPRESSIONS - 1, False)],
)
def test_a_best_week_needs_the_minimum_of_impressions(impressions, counts):
    # given a small week with the best CTR of all, after a launch week and before a decline
    small = (impressions, impressions // 10, 100, 10, 0)  # CTR 10 %
    rows = weeks(BEST, small, BEST, (20_000, 300, 2_000, 50, 0))
    verdict = judge(rows, today_after(rows), video=False)
    # then it is the best week only with the minimum of impressions
    assert (verdict.best_week == rows[1]) is counts
    assert verdict.best_week == (rows[1] if counts else rows[2])


def test_the_week_in_progress_is_not_judged():
    # given a collapse in the week still running (today is its Wednesday)
    rows = weeks(BEST, BEST, BEST, (20_000, 10, 1_000, 1, 0))
    verdict = judge(rows, rows[-1].week + timedelta(days=2), video=False)
    # then the last whole week (steady) is what counts
    assert verdict.status == "healthy" and verdict.last_week == rows[2]


def test_too_little_to_judge_is_said():
    assert judge([], TODAY, video=True).status == "not_enough_data"
    # launch week only: nothing after it
    only_launch = weeks(BEST)
    assert judge(only_launch, today_after(only_launch), video=False).status == "not_enough_data"
    # a quiet last week: no judgement, the best week still shown
    quiet = weeks(BEST, BEST, (4_000, 10, 100, 1, 0))
    verdict = judge(quiet, today_after(quiet), video=False)
    assert verdict.status == "not_enough_data" and verdict.best_week == quiet[1]
    # stopped: no row in the last whole week
    stopped = weeks(BEST, BEST)
    assert judge(stopped, today_after(stopped) + timedelta(weeks=2), video=False).status == (
        "not_enough_data"
    )


# --- invariants ----------------------------------------------------------------------------

week_counts = st.tuples(
    st.integers(MIN_WEEK_IMPRESSIONS, 200_000),  # impressions
    st.floats(0, 0.1),  # CTR
    st.integers(0, 50_000),  # spend
    st.floats(0, 0.2),  # conversions per click
    st.floats(0, 0.6),  # thumb-stop
)


def as_rows(
    raw: list[tuple[int, float, int, float, float]],
) -> list[tuple[int, int, int, int, int]]:
    out = []
    for impressions, ctr, spend, conversion_rate, thumb_stop in raw:
        clicks = int(impressions * ctr)
        out.append(
            (
                impressions,
                clicks,
                spend,
                int(clicks * conversion_rate),
                int(impressions * thumb_stop),
            )
        )
    return out


@given(
    base=week_counts,
    volumes=st.lists(st.integers(1, 20), min_size=1, max_size=12),
    video=st.booleans(),
)
def test_steady_performance_is_never_fatigue(base, volumes, video):
    # given every week the same rates (each week's counts a multiple of one week's)
    (row,) = as_rows([base])
    rows = weeks(*[tuple(n * x for x in row) for n in volumes])
    # then, whatever the volumes, the creative is never fatigued
    assert not judge(rows, today_after(rows), video=video).fatigued


@given(
    raw=st.lists(week_counts, min_size=1, max_size=10),
    scale=st.integers(1, 1_000),
    video=st.booleans(),
)
def test_the_verdict_does_not_depend_on_the_scale_of_the_counts(raw, scale, video):
    # given any weeks, each above the minimum of impressions, and the same weeks k times over
    rows = weeks(*as_rows(raw))
    scaled = weeks(*[tuple(scale * x for x in row) for row in as_rows(raw)])
    # then the verdicts and their ratios are the same
    one, other = (
        judge(rows, today_after(rows), video=video),
        judge(scaled, today_after(rows), video=video),
    )
    assert one.status == other.status
    assert (one.ctr_ratio, one.thumb_stop_ratio, one.cpa_ratio) == (
        other.ctr_ratio,
        other.thumb_stop_ratio,
        other.cpa_ratio,
    )
    assert one.best_week is None or other.best_week is not None
    assert (one.best_week and one.best_week.week) == (other.best_week and other.best_week.week)


# --- against the sandbox merchant, whose fatigue is known ----------------------------------

FATIGUE_NOW = datetime(2026, 11, 20, 15, 7, tzinfo=UTC)
#: A merchant with four months of history: long enough for some creatives to tire (their
#: onset is 5 to 8 weeks after launch) and be seen tiring (two weeks later).
FATIGUE_KNOBS = {"seed": 5, "ads": 18, "campaigns": 4, "days": 120, "orders_per_day": 5}


@pytest.fixture
def long_running(admin, setenv, monkeypatch):
    """The four-month merchant's Meta accounts connected and synced over their whole life;
    EUR rates in place. Yields (workspace id, the merchant)."""
    with SandboxServers(now=FATIGUE_NOW, today=FATIGUE_NOW.date(), **FATIGUE_KNOBS) as fakes:
        setenv(**fakes.env)
        monkeypatch.setattr("metricx.connectors.http.time.sleep", lambda seconds: None)
        merchant = fakes.merchant
        yesterday = FATIGUE_NOW.date() - timedelta(days=1)
        with transaction() as session:
            for offset in range(-2, (yesterday - merchant.start_day).days + 3):
                session.add(
                    FxRate(
                        workspace_id=admin.workspace_id,
                        day=merchant.start_day + timedelta(days=offset),
                        from_currency="EUR",
                        to_currency="USD",
                        rate=Decimal("1.08"),
                    )
                )
        for account in merchant.accounts_of("meta"):
            connection = add_connection(admin, "meta", account.external_id, SECRETS["meta"])
            outcome = sync_connection(
                admin.workspace_id,
                connection.id,
                "range",
                start=merchant.start_day,
                end=yesterday,
                now=FATIGUE_NOW,
            )
            assert outcome.status == "success", outcome.error
        yield admin.workspace_id, merchant


def test_exactly_the_sandbox_creatives_that_tire_are_flagged(long_running):
    workspace_id, merchant = long_running
    today = FATIGUE_NOW.date()
    last_week = today - timedelta(days=today.weekday() + 7)
    # given the merchant's creatives, some of which tire from a known onset
    known = {
        c.name: c
        for account in merchant.accounts_of("meta")
        for c in merchant.creatives_of(account.external_id)
    }
    tiring = {name for name, c in known.items() if c.fatigued_by(last_week)}
    assert tiring, "the merchant should have a creative seen tiring by last week"
    # when the Creatives page reads them through the engine, over their whole life
    table = creative_report.fatigue_table(workspace_id, today)
    # then exactly those are fatigued, listed first
    flagged = table[table["fatigue"] == "fatigued"]
    assert set(flagged["name"]) == tiring
    assert list(flagged.index) == list(range(len(tiring)))
    # each against a best week before its onset, with last week's CTR under the floor
    for row in flagged.itertuples():
        onset = known[row.name].fatigue_onset
        assert onset is not None and row.best_week <= onset
        assert row.last_week == last_week and row.ctr_ratio <= 0.75
        assert row.cumulative_impressions > 0 and row.fatigue_reason.startswith("Fatigued")
