"""The six models on hand-computed journeys, and the credit invariant as a property."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metricx.attribution.models import MODELS, WINDOWS, Touch, credits

ORDER_AT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
# A: 19 days before (inside 28 days, outside 7 and 14); B: 5 days before; C: direct, 1 h before.
A = Touch(1, ORDER_AT - timedelta(days=19), direct=False)
B = Touch(2, ORDER_AT - timedelta(days=5), direct=False)
C = Touch(3, ORDER_AT - timedelta(hours=1), direct=True)
JOURNEY = [C, A, B]  # any order in, oldest first out


def shares(model: str, window: int, touches=JOURNEY) -> dict[int, Decimal]:
    return {touch.key: credit for touch, credit in credits(model, touches, ORDER_AT, window)}


@pytest.mark.parametrize(
    ("model", "window", "expected"),
    [
        ("first_click", 7, {2: 1}),
        ("first_click", 28, {1: 1}),
        ("first_click", 0, {1: 1}),
        ("last_click", 7, {3: 1}),
        ("last_click", 1, {3: 1}),
        ("last_non_direct", 7, {2: 1}),
        ("last_non_direct", 28, {2: 1}),
        ("position_based", 1, {3: 1}),
        ("position_based", 7, {2: Decimal("0.5"), 3: Decimal("0.5")}),
        ("position_based", 28, {1: Decimal("0.4"), 2: Decimal("0.2"), 3: Decimal("0.4")}),
        ("linear", 14, {2: Decimal("0.5"), 3: Decimal("0.5")}),
        # thirds rounded to 10 places; the remainder goes to one touch so the sum is exactly 1
        (
            "linear",
            0,
            {1: Decimal("0.3333333333"), 2: Decimal("0.3333333333"), 3: Decimal("0.3333333334")},
        ),
    ],
)
def test_each_model_credits_the_touches_a_person_would(model, window, expected):
    # Given the three-touch journey, when the model splits the order, then by hand:
    assert shares(model, window) == {k: Decimal(v) for k, v in expected.items()}


def test_time_decay_halves_the_weight_every_seven_days():
    # Given touches 19 days, 5 days and 1 hour before the order
    weights = {1: 2 ** (-19 / 7), 2: 2 ** (-5 / 7), 3: 2 ** (-1 / 168)}
    total = sum(weights.values())
    # When time decay splits it over the 28-day window
    got = shares("time_decay", 28)
    # Then each share is its weight over the sum, and the shares sum to exactly 1
    for key, weight in weights.items():
        assert float(got[key]) == pytest.approx(weight / total, abs=1e-9)
    assert sum(got.values()) == 1


def test_a_direct_last_touch_gets_last_click_but_not_last_non_direct_credit():
    assert shares("last_click", 28) == {3: 1}
    assert shares("last_non_direct", 28) == {2: 1}


def test_direct_is_credited_when_it_is_the_only_touch():
    assert shares("last_non_direct", 28, [C]) == {3: 1}


@pytest.mark.parametrize("model", MODELS)
def test_no_touch_in_the_window_leaves_the_order_unattributed(model):
    # Given only a touch 19 days before the order
    # When the window is 7 or 14 days, then nothing is credited; lifetime credits it whole
    assert shares(model, 7, [A]) == {}
    assert shares(model, 14, [A]) == {}
    assert shares(model, 0, [A]) == {1: 1}


def test_the_window_boundary_is_inclusive_and_later_touches_never_count():
    edge = Touch(4, ORDER_AT - timedelta(days=7), direct=False)
    after = Touch(5, ORDER_AT + timedelta(minutes=1), direct=False)
    assert shares("last_click", 7, [edge, after]) == {4: 1}


def test_an_unknown_model_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown attribution model 'u_shaped'"):
        credits("u_shaped", JOURNEY, ORDER_AT, 7)


touch_lists = st.lists(
    st.builds(
        Touch,
        key=st.integers(1, 10_000),
        at=st.integers(-90 * 24 * 60, 24 * 60).map(
            lambda minutes: ORDER_AT + timedelta(minutes=minutes)
        ),
        direct=st.booleans(),
    ),
    max_size=9,
    unique_by=lambda t: t.key,
)


@given(touches=touch_lists, model=st.sampled_from(MODELS), window=st.sampled_from(WINDOWS))
def test_credits_of_an_order_sum_to_one_or_it_is_unattributed(touches, model, window):
    # Given any touches (some after the order, some outside the window)
    # When a model credits the order
    given_credits = credits(model, touches, ORDER_AT, window)
    inside = [
        t
        for t in touches
        if t.at <= ORDER_AT and (window == 0 or t.at >= ORDER_AT - timedelta(days=window))
    ]
    # Then: unattributed exactly when no touch is inside; else exactly 1, all positive, inside
    if not inside:
        assert given_credits == []
    else:
        assert sum(c for _, c in given_credits) == 1
        assert all(c > 0 for _, c in given_credits)
        assert {t.key for t, _ in given_credits} <= {t.key for t in inside}
