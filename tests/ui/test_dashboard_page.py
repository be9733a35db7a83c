"""The Dashboard on synced sandbox data, for the app's one period: tiles in reading order equal
the metric service, custom metrics among them when the workspace chose them, today compares
like for like, an empty period says so, the reconciliation sentence matches its table, and
today's pacing equals the pacing service."""

from datetime import time

import pandas as pd
import pytest
from apptest import fresh_app, log_in, texts
from pinned import TODAY, PinnedClock, pin_the_period_clock
from sandbox_fixtures import NOW
from streamlit import dataframe_util
from streamlit.proto.Metric_pb2 import Metric as MetricProto

from metricx.attribution.compute import attribute_workspace
from metricx.platforms import AD_PROVIDERS, display_name
from metricx.semantic.catalogue import format_value
from metricx.semantic.dates import compare_range_for, resolve_phrase
from metricx.semantic.engine import run_query
from metricx.semantic.query import TimeRange
from metricx.services.attribution import reconciliation
from metricx.services.connections import list_connections
from metricx.services.custom_definitions import DEFAULT_TILES, save_metric, set_dashboard_tiles
from metricx.services.pacing import pacing
from metricx.sync.pipeline import sync_connection
from ui import format as fmt

WEEK = resolve_phrase("last 7 days", TODAY)  # the app's default period
KPIS = list(DEFAULT_TILES)  # a workspace that chose no tiles


def chart_data(chart) -> pd.DataFrame:
    """The rows a chart plots (AppTest holds them as Arrow datasets)."""
    return pd.concat(
        dataframe_util.convert_arrow_bytes_to_pandas_df(d.data.data) for d in chart.proto.datasets
    )


@pytest.fixture
def pinned(monkeypatch):
    """The app's "now" is Nov 20, 2026 10:07 in New York."""
    pin_the_period_clock(monkeypatch)
    monkeypatch.setattr("metricx.services.pacing.datetime", PinnedClock)


@pytest.fixture
def intraday_today(synced, fakes):
    """Intraday syncs of today's morning (to NOW) on top of the synced days."""
    workspace_id, _ = synced
    fakes.now = NOW
    for connection in list_connections(workspace_id):
        if connection.provider != "shopify":
            assert (
                sync_connection(workspace_id, connection.id, "intraday", now=NOW).status
                == "success"
            )


@pytest.fixture
def dashboard(synced, admin, pinned):
    """Opens the Dashboard from a link (with the period's query parameters, if any), logging
    in on the way as a browser would."""

    def open_with(**params: str):
        at = fresh_app()
        at.query_params.update(params)
        at.run()
        at.text_input[0].input(admin.label)
        at.text_input[1].input("correct horse")
        at.button[0].click().run()
        at.run()  # AppTest keeps the login form's elements in the tree of the login's run
        assert not at.exception, at.exception
        assert at.title[0].value == "Dashboard"
        return at

    return open_with


def tiles(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def colour_of(tile) -> str:
    return MetricProto.MetricColor.Name(tile.proto.color)


def expected_colour(change: str, direction: str) -> str:
    """Green when the metric moved the good way, red the bad way, grey when neutral."""
    if direction == "off":
        return "GRAY"
    rose = not change.startswith("-")
    return "GREEN" if rose == (direction == "normal") else "RED"


def test_an_empty_workspace_says_how_to_get_data(admin):
    at = log_in(admin.label, "correct horse")
    at.switch_page("views/dashboard.py").run()
    assert not at.exception
    assert "No data yet" in texts(at)


def test_kpi_tiles_read_in_order_and_match_the_metric_service(synced, dashboard):
    # Given the synced days end yesterday
    workspace_id, _ = synced
    # When the Dashboard opens on the app's default period (last 7 days vs the 7 before)
    at = dashboard()
    # Then the tiles read row by row in the KPI order (on a phone the columns stack)
    assert [m.label for m in at.metric][: len(KPIS) + 1] == [
        *(fmt.label(m) for m in KPIS),
        "Net profit",
    ]
    # And they show the service's values, with changes coloured by each metric's direction
    expected = run_query(
        workspace_id,
        {
            "metrics": KPIS,
            "time_range": WEEK.model_dump(mode="json"),
            "compare_range": compare_range_for("previous_period", WEEK).model_dump(mode="json"),
        },
    )
    now, before = expected.frame.iloc[0], expected.compare_frame.iloc[0]
    for metric_id, tile in zip(KPIS, at.metric, strict=False):
        assert tile.value == fmt.value(metric_id, now[metric_id], "USD")
        text, direction = fmt.delta(metric_id, now[metric_id], before[metric_id])
        assert (tile.delta or None) == text
        if text is not None:
            assert colour_of(tile) == expected_colour(text, direction), metric_id
    assert "Nov 13 – 19, 2026 vs Nov 6 – 12, 2026" in texts(at)
    # And the charts and tables are there, platforms named as people say them
    assert len(at.get("vega_lite_chart")) == 3  # spend vs revenue, pacing x2
    assert [h.value for h in at.subheader] == [
        "Ad spend and store revenue",
        "By platform",
        "Top campaigns by spend",
        "Platforms vs Shopify",
        "Today's pacing",
        "Data freshness",
    ]
    by_platform = at.dataframe[0].value
    assert set(by_platform["provider"]) == {display_name(p) for p in AD_PROVIDERS}
    assert 0 < len(at.dataframe[1].value) <= 10


def test_the_workspace_chooses_its_tiles_custom_metrics_among_them(synced, admin, dashboard):
    # Given a custom metric where lower is better, chosen as a tile after spend
    workspace_id, _ = synced
    save_metric(
        admin,
        "meta_share",
        {
            "label": "Meta share",
            "formula": "spend[provider=meta] / spend",
            "unit": "percent",
            "higher_is_better": False,
        },
    )
    set_dashboard_tiles(admin, ["spend", "meta_share"])
    # When the Dashboard opens
    at = dashboard()
    # Then those tiles show, in that order, before net profit
    assert [m.label for m in at.metric][:3] == ["Ad spend", "Meta share", "Net profit"]
    # And the custom one has the service's value as a percent, its change coloured the
    # way lower-is-better reads, and its definition as help
    expected = run_query(
        workspace_id,
        {
            "metrics": ["meta_share"],
            "time_range": WEEK.model_dump(mode="json"),
            "compare_range": compare_range_for("previous_period", WEEK).model_dump(mode="json"),
        },
    )
    metric = expected.metric("meta_share")
    now, before = expected.frame["meta_share"].iloc[0], expected.compare_frame["meta_share"].iloc[0]
    tile = at.metric[1]
    assert tile.value == format_value(metric, now) and tile.value.endswith("%")
    text, direction = fmt.delta(metric, now, before)
    assert direction == "inverse" and tile.delta == text
    assert colour_of(tile) == expected_colour(text, direction)
    assert "spend[provider=meta] / spend" in tile.proto.help


def test_spend_and_store_revenue_are_drawn_on_two_axes(dashboard):
    at = dashboard()
    [chart] = [c for c in at.get("vega_lite_chart") if "Store revenue" in c.proto.spec]
    spec = chart.proto.spec
    assert '"independent"' in spec  # each metric on its own y axis
    assert '"labelLimit": 0' in spec  # the legend is never cut short


def test_the_sidebar_period_drives_the_tiles(synced, dashboard):
    workspace_id, _ = synced
    # When a link picks Nov 10 - 12 in the app's period
    at = dashboard(period="custom", **{"from": "2026-11-10", "to": "2026-11-12"})
    # Then the caption names those days and the tiles cover them
    assert "Nov 10 – 12, 2026" in texts(at)
    spend = run_query(
        workspace_id,
        {"metrics": ["spend"], "time_range": {"start": "2026-11-10", "end": "2026-11-12"}},
    )
    assert tiles(at)["Ad spend"] == format_value("spend", spend.frame["spend"].iloc[0], "USD")


def test_a_period_without_data_says_so_instead_of_zero_tiles(dashboard):
    # When a link picks days before anything was synced
    at = dashboard(period="custom", **{"from": "2026-10-01", "to": "2026-10-05"})
    # Then the page says there is nothing there and what to do, with no $0.00 tiles or charts
    assert (
        "No spend or orders between Oct 1, 2026 and Oct 5, 2026: pick another period, or "
        "check Connections."
    ) in texts(at)
    assert not at.metric
    assert [h.value for h in at.subheader] == ["Today's pacing", "Data freshness"]
    assert "0.000000" not in "".join(c.proto.spec for c in at.get("vega_lite_chart"))


def test_today_so_far_is_compared_with_yesterday_at_the_same_hour(
    synced, intraday_today, dashboard
):
    # Given intraday syncs of today's morning on top of the synced days
    workspace_id, _ = synced
    # When the Dashboard shows today (10:07 in New York)
    at = dashboard(period="today")
    # Then the caption says what is compared
    assert "Today so far vs yesterday at the same hour" in texts(at)
    assert "Nov 20, 2026 until 10:07 vs Nov 19, 2026 until 10:07" in texts(at)
    # And each tile compares today until 10:07 with yesterday until 10:07, like for like
    today = TimeRange(start=TODAY, end=TODAY, until=time(10, 7))
    expected = run_query(
        workspace_id,
        {
            "metrics": KPIS,
            "time_range": today.model_dump(mode="json"),
            "compare_range": compare_range_for("previous_period", today).model_dump(mode="json"),
        },
    )
    now, before = expected.frame.iloc[0], expected.compare_frame.iloc[0]
    assert now["spend"] > 0
    shown = {m.label: m for m in at.metric}
    for metric_id in KPIS:
        tile = shown[fmt.label(metric_id)]
        assert tile.value == fmt.value(metric_id, now[metric_id], "USD")
        assert (tile.delta or None) == fmt.delta(metric_id, now[metric_id], before[metric_id])[0]
        # A value the engine cannot cut at a clock time is left out ("—", or no change) and
        # the tile says why: never a −93 % against a whole day
        if metric_id in expected.withheld:
            assert expected.withheld[metric_id] in tile.proto.help
    # And net profit, kept by whole days, is not compared with a whole day either
    assert shown["Net profit"].value == "—"
    assert "whole days" in shown["Net profit"].proto.help


def test_the_profit_note_sits_beside_net_profit_while_costs_are_unset(dashboard):
    at = dashboard()
    assert "Net profit is overstated: shipping, payment fees and handling are not set" in texts(at)


def test_todays_pacing_equals_the_pacing_service(synced, intraday_today, dashboard):
    # Given intraday syncs of today's morning on top of the synced days
    workspace_id, _ = synced
    # When the Dashboard opens
    at = dashboard()
    # Then the pacing caption gives today's and last week's totals by 10:07 / 10:00
    expected = pacing(workspace_id, now=NOW)
    today, then = expected.today.points.iloc[-1], expected.last_week.points.iloc[10]
    assert today["spend"] > 0
    shown = texts(at)
    assert (
        f"By 10:07: spend \\{format_value('spend', today['spend'], 'USD')} vs "
        f"\\{format_value('spend', then['spend'], 'USD')} by 10:00 last week"
    ) in shown
    assert "Friday Nov 13 in hourly buckets" in shown
    # And its two charts plot both lines, each named with its resolution
    pacing_charts = [
        chart_data(c) for c in at.get("vega_lite_chart") if "cumulative" in c.proto.spec
    ]
    assert [set(data["metric"]) for data in pacing_charts] == [{"spend"}, {"conversions"}]
    for data in pacing_charts:
        assert set(data["line"]) == {
            f"Today ({expected.today.resolution})",
            "Same weekday last week (hourly)",
        }
    assert pacing_charts[0]["cumulative"].max() == pytest.approx(
        max(today["spend"], expected.last_week.points["spend"].max())
    )


def test_platform_claims_sit_beside_the_orders_with_a_sentence_from_the_data(synced, dashboard):
    # Given the synced shop attributed
    workspace_id, _ = synced
    attribute_workspace(workspace_id)
    # When the Dashboard opens on the last 7 days
    at = dashboard()
    # Then the reconciliation shows each platform's claim and its credited orders
    expected = reconciliation(workspace_id, WEEK)
    [shown] = [df.value for df in at.dataframe if "platform_conversions" in df.value]
    assert list(shown["platform"]) == [display_name(p) for p in expected.platforms.platform]
    assert list(shown["platform_conversions"]) == pytest.approx(
        list(expected.platforms["platform_conversions"])
    )
    assert list(shown["attributed_orders"]) == pytest.approx(
        list(expected.platforms["attributed_orders"])
    )
    # And the sentence under it is the one its numbers call for
    assert expected.summary() in texts(at)
    assert (
        f"({expected.claimed:,.0f} against {expected.store_orders:,.0f} Shopify orders)"
        in texts(at)
    )
