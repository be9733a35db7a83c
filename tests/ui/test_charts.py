"""Shared charts: two scales when two metrics differ in size, a waterfall that labels its
bars and skips empty steps, legends that are never cut short."""

from datetime import date

import pandas as pd
import pytest

from ui.charts import metric_lines, two_axis_lines, waterfall


def test_spend_and_revenue_each_get_their_own_axis():
    frame = pd.DataFrame(
        {
            "day": [date(2026, 11, 1), date(2026, 11, 2)],
            "spend": [120.0, 130.0],
            "store_revenue": [9000.0, 9500.0],
        }
    )
    spec = two_axis_lines(frame, "day", "spend", "store_revenue", "USD").to_dict()
    assert spec["resolve"]["scale"]["y"] == "independent"
    axes = [layer["encoding"]["y"]["axis"] for layer in spec["layer"]]
    assert [a["orient"] for a in axes] == ["left", "right"]
    assert [layer["encoding"]["y"]["title"] for layer in spec["layer"]] == [
        "Ad spend (USD)",
        "Store revenue (USD)",
    ]
    assert spec["layer"][0]["encoding"]["color"]["legend"]["labelLimit"] == 0


def test_the_waterfall_labels_each_bar_and_leaves_out_zero_steps():
    steps = pd.DataFrame(
        [
            {
                "line": "store_revenue",
                "step": "Revenue",
                "amount": 1000.0,
                "start": 0.0,
                "end": 1000.0,
            },
            {"line": "cogs", "step": "COGS", "amount": -400.0, "start": 1000.0, "end": 600.0},
            {"line": "handling", "step": "Handling", "amount": 0.0, "start": 600.0, "end": 600.0},
            {
                "line": "net_profit",
                "step": "Net profit",
                "amount": 600.0,
                "start": 0.0,
                "end": 600.0,
            },
        ]
    )
    spec = waterfall(steps, "USD").to_dict()
    shown = next(iter(spec["datasets"].values()))
    assert [row["step"] for row in shown] == ["Revenue", "COGS", "Net profit"]
    assert [row["label"] for row in shown] == ["$1,000.00", "-$400.00", "$600.00"]
    assert spec["layer"][1]["mark"]["type"] == "text"


def test_each_metric_gets_its_own_small_chart():
    frame = pd.DataFrame(
        {
            "week": [date(2026, 11, 2), date(2026, 11, 9)] * 2,
            "provider": ["meta", "meta", "google", "google"],
            "spend": [1.0, 2.0, 3.0, 4.0],
            "ctr": [0.01, 0.02, 0.03, 0.04],
        }
    )
    spec = metric_lines(frame, "week", ["spend", "ctr"], "USD", color="provider").to_dict()
    assert [c["encoding"]["y"]["title"] for c in spec["vconcat"]] == ["Ad spend (USD)", "CTR"]
    assert spec["vconcat"][1]["encoding"]["y"]["axis"]["format"] == ".1%"


def test_a_week_of_days_gets_one_tick_per_day_and_never_a_repeated_date():
    # Given seven days of spend and revenue
    days = pd.date_range("2026-11-19", periods=7).date
    frame = pd.DataFrame({"day": days, "spend": range(7), "store_revenue": range(7)})
    # When they are drawn
    axis = two_axis_lines(frame, "day", "spend", "store_revenue", "USD").to_dict()["layer"][0][
        "encoding"
    ]["x"]["axis"]
    # Then each day is one tick, labelled like "Nov 19"
    assert [(v["month"], v["date"]) for v in axis["values"]] == [(11, d) for d in range(19, 26)]
    assert axis["format"] == "%b %-d"


@pytest.mark.parametrize(
    ("labels", "shown"),
    [
        (["2026-11-26", "2026-11-27", "2026-11-28"], "%b %-d"),
        (["2026-11-26 13:00", "2026-11-26 14:00"], "%H:%M"),
    ],
)
def test_the_engines_bucket_labels_are_drawn_as_dates_not_as_text(labels, shown):
    # Given buckets as the engine labels them (text), as the Dashboard passes them on
    frame = pd.DataFrame({"day": labels, "spend": 1.0, "store_revenue": 2.0})
    # When they are drawn
    x = two_axis_lines(frame, "day", "spend", "store_revenue", "USD").to_dict()["layer"][0][
        "encoding"
    ]["x"]
    # Then the axis is a time axis that writes them as dates or clock times
    assert x["type"] == "temporal"
    assert x["axis"]["format"] == shown


def test_hours_of_one_day_are_labelled_by_clock_time():
    frame = pd.DataFrame(
        {
            "hour": pd.date_range("2026-11-25 00:00", periods=5, freq="h"),
            "spend": range(5),
            "ctr": [0.1] * 5,
        }
    )
    spec = metric_lines(frame, "hour", ["spend"], "USD").to_dict()
    assert spec["vconcat"][0]["encoding"]["x"]["axis"]["format"] == "%H:%M"
