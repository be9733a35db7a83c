"""The app's one period: presets resolve to the workspace's days, "today" compares like for
like, and a custom range needs both ends."""

from datetime import UTC, date, datetime, time

import pytest

from ui.period import PRESETS, resolve

# 14:37 in Berlin on Wednesday Nov 18, 2026 (UTC+1)
NOW = datetime(2026, 11, 18, 13, 37, 12, tzinfo=UTC)
BERLIN = "Europe/Berlin"


def test_today_so_far_is_compared_with_yesterday_until_the_same_minute():
    period = resolve("today", "previous period", None, None, BERLIN, NOW)
    assert period.partial
    assert (period.range.start, period.range.end, period.range.until) == (
        date(2026, 11, 18),
        date(2026, 11, 18),
        time(14, 37),
    )
    assert (period.compare.start, period.compare.end, period.compare.until) == (
        date(2026, 11, 17),
        date(2026, 11, 17),
        time(14, 37),
    )


def test_whole_days_are_compared_with_the_same_number_of_days_before():
    period = resolve("last 7 days", "previous period", None, None, BERLIN, NOW)
    assert not period.partial
    assert (period.range.start, period.range.end) == (date(2026, 11, 11), date(2026, 11, 17))
    assert (period.compare.start, period.compare.end) == (date(2026, 11, 4), date(2026, 11, 10))


def test_no_comparison_means_none():
    assert resolve("last month", "no comparison", None, None, BERLIN, NOW).compare is None


def test_the_day_is_the_workspace_day_not_the_servers():
    # 23:30 UTC on Nov 17 is already Nov 18 in Tokyo
    late = datetime(2026, 11, 17, 23, 30, tzinfo=UTC)
    assert resolve(
        "yesterday", "no comparison", None, None, "Asia/Tokyo", late
    ).range.start == date(2026, 11, 17)


def test_a_custom_range_uses_its_dates_in_either_order_and_needs_both():
    period = resolve("custom", "no comparison", date(2026, 11, 9), date(2026, 11, 3), BERLIN, NOW)
    assert (period.range.start, period.range.end) == (date(2026, 11, 3), date(2026, 11, 9))
    half = resolve("custom", "no comparison", date(2026, 11, 3), None, BERLIN, NOW)
    assert half.range == resolve("last 7 days", "no comparison", None, None, BERLIN, NOW).range


@pytest.mark.parametrize("preset", [p for p in PRESETS if p != "custom"])
def test_every_preset_resolves_to_days_that_have_begun(preset):
    period = resolve(preset, "previous year", None, None, BERLIN, NOW)
    assert period.range.start <= period.range.end <= date(2026, 11, 18)
    assert period.compare.end < period.range.start
