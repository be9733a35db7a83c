"""One way to write money, ratios, changes and dates on every page."""

from datetime import date

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ui import format as fmt


def test_values_are_written_as_the_tiles_write_them():
    assert fmt.value("spend", 24019.781, "USD") == "$24,019.78"
    assert fmt.value("spend", 1234.5, "SEK") == "SEK 1,234.50"
    assert fmt.value("roas", 3.4167, "USD") == "3.42x"
    assert fmt.value("ctr", 0.01234, "USD") == "1.23%"
    assert fmt.value("orders", 1767.0, "USD") == "1,767"
    assert fmt.value("net_profit", -12.5, "EUR") == "-€12.50"  # a P&L line, by id
    assert fmt.value("spend", float("nan"), "USD") == fmt.value("spend", None, "USD") == "—"


def test_a_change_is_coloured_by_what_is_good_for_the_metric_not_by_its_sign():
    # given a cost per acquisition that went up, revenue that went up, and spend
    assert fmt.delta("cpa", 26.0, 20.0) == ("+30.0%", "inverse")  # up is bad: shown red
    assert fmt.delta("store_revenue", 110.0, 100.0) == ("+10.0%", "normal")
    assert fmt.delta("spend", 90.0, 100.0) == ("-10.0%", "off")  # neither way is good
    # and nothing to compare with gives no change rather than +inf or -100 %
    assert fmt.delta("roas", 2.0, 0.0)[0] is None
    assert fmt.delta("roas", 2.0, None)[0] is None
    assert fmt.change(2.0, float("nan")) is None


@given(st.floats(-1e9, 1e9), st.floats(-1e9, 1e9).filter(lambda b: abs(b) > 1e-6))
def test_a_change_is_relative_to_the_size_of_the_previous_value(now, before):
    moved = fmt.change(now, before)
    assert moved == pytest.approx((now - before) / abs(before))
    assert (moved > 0) == (now > before) or now == before


@pytest.mark.parametrize(
    ("start", "end", "shown"),
    [
        (date(2026, 11, 3), date(2026, 11, 3), "Nov 3, 2026"),
        (date(2026, 11, 3), date(2026, 11, 9), "Nov 3 – 9, 2026"),
        (date(2026, 10, 27), date(2026, 11, 2), "Oct 27 – Nov 2, 2026"),
        (date(2025, 12, 28), date(2026, 1, 3), "Dec 28, 2025 – Jan 3, 2026"),
    ],
)
def test_dates_and_ranges_read_one_way(start, end, shown):
    assert fmt.span(start, end) == shown


def test_a_csv_has_no_float_noise_and_whole_counts_stay_whole():
    # given engine output with binary float noise
    frame = pd.DataFrame(
        {
            "campaign": ["A", "B"],
            "spend": [130029.26030000001, 0.1 + 0.2],
            "roas": [2.123456789, 1.0],
            "orders": [3.0, 4.0],
            "Spend (previous)": [99.999999, 1.0],
        }
    )
    # when written as CSV
    text = fmt.clean_csv(frame, {"Spend (previous)": "spend"}).decode()
    # then money has cents, ratios four places, counts no decimals
    assert text.splitlines() == [
        "campaign,spend,roas,orders,Spend (previous)",
        "A,130029.26,2.1235,3,100.0",
        "B,0.3,1.0,4,1.0",
    ]
