"""The anomaly detector as numbers in, verdict out (metricx.alerts.anomaly): a robust z-score
against the same cut of the same weekday of the last weeks, firing in the harmful
direction only, never without enough history, and never on stale data."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metricx.alerts import anomaly
from metricx.alerts.anomaly import data_cut, detect, harmful_direction

levels = st.floats(min_value=100, max_value=1e7, allow_nan=False)
wiggles = st.lists(st.floats(min_value=-0.02, max_value=0.02), min_size=4, max_size=8)


@given(
    history=st.lists(st.floats(min_value=0.5, max_value=5), min_size=4, max_size=8),
    value=st.floats(min_value=0, max_value=20),
    factor=st.floats(min_value=1e-3, max_value=1e3),
)
def test_a_ratio_verdict_does_not_depend_on_the_scale(history, value, factor):
    # Given a ratio's history and value, and the same numbers scaled by a factor
    plain = detect(value, history, unit="ratio")
    scaled = detect(value * factor, [h * factor for h in history], unit="ratio")
    # Then the verdict and the z-score are the same
    assert scaled.fires == plain.fires
    assert scaled.z == pytest.approx(plain.z, rel=1e-6, abs=1e-6)


@given(history=st.lists(st.floats(min_value=0, max_value=1e6), min_size=4, max_size=8))
def test_a_value_at_the_baseline_median_never_fires(history):
    # Given any history of at least four weeks, when today's value is its median
    value = statistics.median(history)
    verdict = detect(value, history, unit="currency")
    # Then it does not fire, whatever the direction
    assert not verdict.fires
    assert not detect(value, history, unit="currency", direction="up").fires


@given(level=levels, history=wiggles, today=st.floats(min_value=-0.02, max_value=0.02))
def test_a_steady_history_with_small_noise_does_not_fire(level, history, today):
    # Given a metric that moves by at most 2 % around its level, week after week
    weeks = [level * (1 + w) for w in history]
    # When today moves by as little
    verdict = detect(level * (1 + today), weeks, unit="count")
    # Then nothing fires, though there is a verdict
    assert verdict.has_verdict
    assert not verdict.fires


@given(level=levels, history=wiggles, jump=st.floats(min_value=2, max_value=100))
def test_a_big_enough_jump_always_fires_in_its_harmful_direction(level, history, jump):
    # Given a material metric steady within 2 %
    weeks = [level * (1 + w) for w in history]
    # When it jumps to twice its level or more, or falls to nothing
    up = detect(level * jump, weeks, unit="currency", direction="up")
    down = detect(0.0, weeks, unit="count", direction="down")
    # Then both fire, well beyond the default sensitivity
    assert up.fires and up.z >= anomaly.DEFAULT_SENSITIVITY
    assert down.fires and down.z <= -anomaly.DEFAULT_SENSITIVITY


@given(level=levels, history=wiggles)
def test_only_the_harmful_direction_fires(level, history):
    weeks = [level * (1 + w) for w in history]
    # Given spend (harmful up) and revenue (harmful down)
    assert harmful_direction("spend", None) == "up"
    assert harmful_direction("store_revenue", True) == "down"
    assert harmful_direction("cpa", False) == "up"
    # When spend falls to nothing and revenue triples
    assert not detect(0.0, weeks, unit="currency", direction="up").fires
    assert not detect(level * 3, weeks, unit="currency", direction="down").fires
    # Then neither fires; the reverse moves do
    assert detect(level * 3, weeks, unit="currency", direction="up").fires
    assert detect(0.0, weeks, unit="currency", direction="down").fires


@given(
    known=st.lists(st.floats(min_value=100, max_value=1e6), max_size=3),
    empty=st.integers(min_value=0, max_value=5),
)
def test_fewer_than_four_weeks_of_history_give_no_verdict(known, empty):
    # Given at most three weeks with a value (the rest empty, or zero before the data began)
    history = [*known, *[None] * empty, *[0.0] * empty]
    # When today is wildly off
    verdict = detect(1e9, history, unit="count")
    # Then there is no verdict, and nothing fires
    assert not verdict.has_verdict
    assert not verdict.fires
    assert "needed" in (verdict.reason or "")


def test_a_change_too_small_or_a_baseline_too_small_does_not_fire():
    # Given a very steady history, a 20 % rise is many spreads away but under the minimum
    steady = [1000.0, 1000.5, 999.5, 1000.2, 999.8]
    assert not detect(1200.0, steady, unit="currency").fires
    # And 2 orders against a baseline of 1 is not material
    assert not detect(2.0, [1.0, 1.0, 1.0, 1.0], unit="count", direction="up").fires
    assert detect(1400.0, steady, unit="currency").fires


def test_weeks_before_the_data_began_are_left_out():
    # Given four weeks of data then four weeks of zeros (before the first sync)
    history = [100.0, 102.0, 98.0, 101.0, 0.0, 0.0, 0.0, 0.0]
    # Then the baseline is the four weeks with data
    verdict = detect(100.0, history, unit="count")
    assert (verdict.weeks, verdict.median) == (4, 100.5)


NOW = datetime(2026, 12, 3, 19, 20, tzinfo=UTC)


def test_the_cut_is_the_last_sync_of_every_feed_floored_to_the_quarter_hour():
    # Given two feeds synced at 19:08 and 18:52
    cut = data_cut(NOW, [NOW - timedelta(minutes=12), NOW - timedelta(minutes=28)])
    # Then the data is complete through 18:45
    assert cut == datetime(2026, 12, 3, 18, 45, tzinfo=UTC)
    # And no feed at all: now, floored
    assert data_cut(NOW, []) == datetime(2026, 12, 3, 19, 15, tzinfo=UTC)


def test_stale_or_never_synced_data_gives_no_cut():
    # Given a feed last synced 2 h 30 ago, or one never synced
    assert data_cut(NOW, [NOW - timedelta(minutes=150)]) is None
    assert data_cut(NOW, [NOW, None]) is None
    # But 1 h 50 behind is still a cut
    assert data_cut(NOW, [NOW - timedelta(minutes=110)]) is not None


# -- pixel silence -----------------------------------------------------------------------------


@given(
    history=st.lists(st.floats(min_value=20, max_value=1e5), min_size=4, max_size=8),
    share=st.floats(min_value=1 - anomaly.SILENCE_DROP + 1e-6, max_value=10),
)
def test_a_pixel_that_kept_a_fifth_of_its_events_is_never_silent(history, share):
    # Given an hour with more than a fifth of its usual events
    value = share * statistics.median(history)
    # Then no silence, whatever the last quarter hour
    assert not anomaly.pixel_silence([(value, history)], 0)[1].fires


@given(
    level=st.floats(min_value=30, max_value=1e5),
    wiggle=st.lists(st.floats(min_value=0, max_value=0.1), min_size=4, max_size=8),
)
def test_no_events_at_all_against_a_steady_material_hour_is_silence(level, wiggle):
    # Given an hour that usually has `level` events (30 or more, within 10 %), and none now
    history = [level * (1 + w) for w in wiggle]
    # Then silence on the first window; and not while the last quarter hour still has some
    index, verdict = anomaly.pixel_silence([(0, history)], 0)
    assert index == 0 and verdict.fires
    assert not anomaly.pixel_silence([(0, history)], 1)[1].fires


def test_a_quiet_hour_widens_the_window_until_the_usual_count_is_material():
    # Given 8 usual events in the last hour, 16 in the last 2 and 24 in the last 3, none now
    windows = [(0.0, [8.0 * hours] * 8) for hours in (1, 2, 3)]
    # Then the 3-hour window is judged (the first whose usual count reaches 20) and fires
    index, verdict = anomaly.pixel_silence(windows, 0)
    assert (index, verdict.median, verdict.fires) == (2, 24, True)
    # And with none material, the longest's verdict stands, and never fires
    index, verdict = anomaly.pixel_silence(windows[:2], 0)
    assert (index, verdict.fires) == (1, False)
