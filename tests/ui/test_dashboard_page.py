"""The Dashboard on synced sandbox data: tiles equal the metric service, charts render,
a custom range is validated, and today's pacing equals the pacing service."""

from datetime import UTC, date, datetime

import pandas as pd
import pytest
from apptest import log_in, texts
from sandbox_fixtures import NOW
from streamlit import dataframe_util

from metricx.attribution.compute import attribute_workspace
from metricx.semantic.catalogue import format_value
from metricx.semantic.dates import compare_range_for, resolve_phrase
from metricx.services.attribution import reconciliation
from metricx.services.connections import list_connections
from metricx.services.metrics import run_query
from metricx.services.pacing import pacing
from metricx.sync.pipeline import sync_connection

TODAY = date(2026, 11, 20)


def chart_data(chart) -> pd.DataFrame:
    """The rows a chart plots (AppTest holds them as Arrow datasets)."""
    return pd.concat(dataframe_util.convert_arrow_bytes_to_pandas_df(d.data.data)
                     for d in chart.proto.datasets)


class PinnedClock(datetime):
    """datetime whose now() is the sandbox's NOW (10:07 in New York on TODAY)."""

    @classmethod
    def now(cls, tz=None):
        return NOW.astimezone(tz or UTC)


@pytest.fixture
def dashboard(synced, admin, monkeypatch):
    """The Dashboard of the synced workspace, its "today" pinned to Nov 20, 2026 10:07."""
    monkeypatch.setattr("metricx.semantic.dates.today_in", lambda tz, now=None: TODAY)
    monkeypatch.setattr("metricx.services.pacing.datetime", PinnedClock)
    at = log_in(admin.label, "correct horse")
    at.switch_page("pages/dashboard.py").run()
    assert not at.exception, at.exception
    return at


def test_an_empty_workspace_says_how_to_get_data(admin):
    at = log_in(admin.label, "correct horse")
    at.switch_page("pages/dashboard.py").run()
    assert not at.exception
    assert "No data yet" in texts(at)


def test_kpi_tiles_match_the_metric_service_and_charts_render(synced, dashboard):
    # Given the synced days end yesterday: the page's "today" is pinned to Nov 20, 2026
    workspace_id, _ = synced
    at = dashboard
    period = resolve_phrase("last 7 days", TODAY)
    expected = run_query(workspace_id, {
        "metrics": ["spend", "orders"], "time_range": period.model_dump(mode="json"),
        "compare_range": compare_range_for("previous_period", period).model_dump(mode="json")})
    tiles = {m.label: m.value for m in at.metric}
    assert tiles["Ad spend"] == format_value("spend", expected.frame["spend"].iloc[0], "USD")
    assert tiles["Orders"] == format_value("orders", expected.frame["orders"].iloc[0], "USD")
    assert len(at.get("vega_lite_chart")) == 4  # spend vs revenue, platforms, pacing x2
    assert [h.value for h in at.subheader] == ["Ad spend and store revenue", "By platform",
                                               "Top campaigns by spend", "Platforms vs Shopify",
                                               "Today's pacing", "Data freshness"]
    assert 0 < len(at.dataframe[0].value) <= 10


def test_a_custom_range_shows_its_dates_and_an_inverted_one_is_refused(synced, dashboard):
    workspace_id, _ = synced
    # When a custom range of Nov 10-12 is picked
    dashboard.selectbox(key="dash_period").select("custom").run()
    dashboard.date_input(key="dash_start").set_value(date(2026, 11, 10))
    dashboard.date_input(key="dash_end").set_value(date(2026, 11, 12)).run()
    # Then the tiles cover those days
    assert not dashboard.exception, dashboard.exception
    assert "Nov 10, 2026 – Nov 12, 2026" in texts(dashboard)
    spend = run_query(workspace_id, {"metrics": ["spend"],
                                     "time_range": {"start": "2026-11-10", "end": "2026-11-12"}})
    tiles = {m.label: m.value for m in dashboard.metric}
    assert tiles["Ad spend"] == format_value("spend", spend.frame["spend"].iloc[0], "USD")
    # And an end before the start is refused with a message, and nothing is computed
    dashboard.date_input(key="dash_end").set_value(date(2026, 11, 9)).run()
    assert not dashboard.exception
    assert "is before the start" in dashboard.error[0].value
    assert not dashboard.metric


def test_todays_pacing_equals_the_pacing_service(synced, fakes, admin, monkeypatch):
    # Given intraday syncs of today's morning on top of the synced days
    workspace_id, _ = synced
    fakes.now = NOW
    for connection in list_connections(workspace_id):
        if connection.provider != "shopify":
            assert sync_connection(workspace_id, connection.id, "intraday",
                                   now=NOW).status == "success"
    monkeypatch.setattr("metricx.semantic.dates.today_in", lambda tz, now=None: TODAY)
    monkeypatch.setattr("metricx.services.pacing.datetime", PinnedClock)
    # When the Dashboard opens
    at = log_in(admin.label, "correct horse")
    at.switch_page("pages/dashboard.py").run()
    assert not at.exception, at.exception
    # Then the pacing caption gives today's and last week's totals by 10:07 / 10:00
    expected = pacing(workspace_id, now=NOW)
    today, then = expected.today.points.iloc[-1], expected.last_week.points.iloc[10]
    assert today["spend"] > 0
    shown = texts(at)
    assert (f"By 10:07: spend \\{format_value('spend', today['spend'], 'USD')} vs "
            f"\\{format_value('spend', then['spend'], 'USD')} by 10:00 last week") in shown
    assert "Friday Nov 13 in hourly buckets" in shown
    # And its two charts plot both lines, each named with its resolution
    pacing_charts = [chart_data(c) for c in at.get("vega_lite_chart")
                     if "cumulative" in c.proto.spec]
    assert [set(data["metric"]) for data in pacing_charts] == [{"spend"}, {"conversions"}]
    for data in pacing_charts:
        assert set(data["line"]) == {f"Today ({expected.today.resolution})",
                                     "Same weekday last week (hourly)"}
    assert pacing_charts[0]["cumulative"].max() == pytest.approx(
        max(today["spend"], expected.last_week.points["spend"].max()))


def test_platform_claims_sit_beside_the_orders_attribution_credits(synced, monkeypatch,
                                                                   admin):
    # Given the synced shop attributed
    workspace_id, _ = synced
    attribute_workspace(workspace_id)
    monkeypatch.setattr("metricx.semantic.dates.today_in", lambda tz, now=None: TODAY)
    monkeypatch.setattr("metricx.services.pacing.datetime", PinnedClock)
    # When the Dashboard opens on the last 7 days
    at = log_in(admin.label, "correct horse")
    at.switch_page("pages/dashboard.py").run()
    assert not at.exception, at.exception
    # Then the reconciliation shows each platform's claim and its credited orders
    expected = reconciliation(workspace_id, resolve_phrase("last 7 days", TODAY)).platforms
    [shown] = [df.value for df in at.dataframe if "platform_conversions" in df.value]
    assert list(shown["platform_conversions"]) == pytest.approx(
        list(expected["platform_conversions"]))
    assert list(shown["attributed_orders"]) == pytest.approx(list(expected["attributed_orders"]))
