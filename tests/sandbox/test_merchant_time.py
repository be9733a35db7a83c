"""What a platform reports depends on when you ask: running totals today, restated
conversions for recent days, final numbers after the restatement window."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from metricx.sandbox.calendar import day_bounds
from metricx.sandbox.merchant import Merchant
from metricx.sandbox.totals import Totals

SUMMED = ("spend", "impressions", "clicks", "conversions", "conversion_value", "leads")


def _sum(hours: dict[int, Totals]) -> Totals:
    total = Totals(Decimal(0), 0, 0, Decimal(0), Decimal(0), Decimal(0))
    for value in hours.values():
        total = total + value
    return total


def _bounds(merchant: Merchant, ad_id: str, day: date) -> tuple[datetime, datetime]:
    tz = merchant.account(merchant.ad(ad_id).account_id).timezone
    return day_bounds(day, tz)


@settings(max_examples=80, deadline=None)
@given(data=st.data(), offset=st.integers(0, 44), seconds=st.integers(-3 * 3600, 40 * 86400))
def test_hours_always_sum_exactly_to_the_day(
    merchant: Merchant, today: date, data: st.DataObject, offset: int, seconds: int
) -> None:
    # given any ad, any day of its history and any moment around or after that day
    ad = data.draw(st.sampled_from(merchant.tree.ads))
    day = today - timedelta(days=offset)
    as_of = _bounds(merchant, ad.external_id, day)[0] + timedelta(seconds=seconds)
    # when the day and its hours are asked for at that moment
    total = merchant.ad_totals(ad.external_id, day, as_of)
    hours = merchant.ad_hourly(ad.external_id, day, as_of)
    # then the 24 hours add up to the day, to the cent, and asking again changes nothing
    assert sorted(hours) == list(range(24))
    assert _sum(hours) == total
    assert merchant.ad_totals(ad.external_id, day, as_of) == total


@settings(max_examples=40, deadline=None)
@given(data=st.data(), moments=st.lists(st.integers(0, 86399), min_size=2, max_size=6))
def test_today_is_a_running_total_that_only_grows(
    merchant: Merchant, today: date, data: st.DataObject, moments: list[int]
) -> None:
    # given an ad and several moments during "today" in its account's time zone
    ad = data.draw(st.sampled_from(merchant.tree.ads))
    start, end = _bounds(merchant, ad.external_id, today)
    seen = [
        merchant.ad_totals(ad.external_id, today, start + timedelta(seconds=s))
        for s in sorted(moments)
    ]
    # then spend, impressions and clicks never go down within the day
    for before, after in itertools.pairwise(seen):
        assert before.spend <= after.spend
        assert before.impressions <= after.impressions
        assert before.clicks <= after.clicks
    # and once the day is over they are the whole day, whenever asked
    closed = merchant.ad_totals(ad.external_id, today, end)
    later = merchant.ad_totals(ad.external_id, today, end + timedelta(days=60))
    assert (closed.spend, closed.impressions, closed.clicks) == (
        later.spend,
        later.impressions,
        later.clicks,
    )
    assert seen[-1].spend <= closed.spend


def test_nothing_is_reported_before_the_day_starts(merchant: Merchant, today: date) -> None:
    ad = merchant.tree.ads[0]
    start = _bounds(merchant, ad.external_id, today)[0]
    assert merchant.ad_totals(ad.external_id, today, start - timedelta(seconds=1)).is_zero


@settings(max_examples=60, deadline=None)
@given(data=st.data(), offset=st.integers(1, 40), extra=st.integers(0, 30 * 86400))
def test_conversions_are_final_after_the_window(
    merchant: Merchant, today: date, data: st.DataObject, offset: int, extra: int
) -> None:
    # given an ad-day and the moment its restatement window closes (7 days Google, 28 Meta)
    ad = data.draw(st.sampled_from(merchant.tree.ads))
    day = today - timedelta(days=offset)
    final_at = merchant.final_after(ad.external_id, day)
    end = _bounds(merchant, ad.external_id, day)[1]
    window = 7 if ad.provider == "google" else 28
    assert final_at == end + timedelta(days=window)
    # then from that moment on every answer is the same and is_final says so
    settled = merchant.ad_totals(ad.external_id, day, final_at)
    assert merchant.ad_totals(ad.external_id, day, final_at + timedelta(seconds=extra)) == settled
    assert merchant.is_final(ad.external_id, day, final_at)
    assert not merchant.is_final(ad.external_id, day, final_at - timedelta(seconds=1))


def test_conversions_move_up_and_down_inside_the_window(merchant: Merchant, today: date) -> None:
    # given every ad's conversions for one past day, asked once per day after it ended
    day = today - timedelta(days=30)
    ups = downs = changed_after_final = 0
    for ad in merchant.tree.ads:
        end = _bounds(merchant, ad.external_id, day)[1]
        series = [
            merchant.ad_totals(ad.external_id, day, end + timedelta(days=k, hours=1))
            for k in range(0, 31)
        ]
        values = [t.conversions for t in series]
        ups += sum(b > a for a, b in itertools.pairwise(values))
        downs += sum(b < a for a, b in itertools.pairwise(values))
        window = 7 if ad.provider == "google" else 28
        changed_after_final += len(set(values[window:])) - 1
        # spend never restates
        assert len({t.spend for t in series}) == 1
        # value follows conversions: no value without a conversion
        assert all(t.conversion_value == 0 for t in series if t.conversions == 0)
    # then restatement happens in both directions, and never after the window
    assert ups > 0 and downs > 0
    assert changed_after_final == 0


def test_meta_keeps_adjusting_after_a_week_but_google_does_not(
    merchant: Merchant, today: date
) -> None:
    day = today - timedelta(days=40)
    moved = {"meta": 0, "google": 0}
    for ad in merchant.tree.ads:
        end = _bounds(merchant, ad.external_id, day)[1]
        values = {
            merchant.ad_totals(ad.external_id, day, end + timedelta(days=k, hours=2)).conversions
            for k in range(8, 28)
        }
        moved[ad.provider] += len(values) - 1
    assert moved["google"] == 0
    assert moved["meta"] > 0


def test_daylight_saving_days_have_no_delivery_in_the_skipped_hour() -> None:
    # given a merchant whose history spans the spring-forward days of Europe and the US
    merchant = Merchant(seed=4, ads=24, days=40, orders_per_day=5, today=date(2025, 4, 5))
    later = datetime(2025, 5, 30, tzinfo=UTC)
    for ad in merchant.tree.ads:
        tz = merchant.account(ad.account_id).timezone
        day = date(2025, 3, 30) if tz.startswith("Europe") else date(2025, 3, 9)
        start, end = day_bounds(day, tz)
        assert end - start == timedelta(hours=23)
        # then the hour that does not exist (02:00) carries nothing, and hours still add up
        for as_of in (start + timedelta(hours=5, minutes=30), later):
            hours = merchant.ad_hourly(ad.external_id, day, as_of)
            assert hours[2].is_zero
            assert _sum(hours) == merchant.ad_totals(ad.external_id, day, as_of)
