"""The Dashboard on synced sandbox data: tiles equal the metric service, charts render."""

from datetime import date

from apptest import log_in, texts

from metricx.semantic.catalogue import format_value
from metricx.semantic.dates import compare_range_for, resolve_phrase
from metricx.services.metrics import run_query

TODAY = date(2026, 11, 20)


def test_an_empty_workspace_says_how_to_get_data(admin):
    at = log_in(admin.label, "correct horse")
    at.switch_page("pages/dashboard.py").run()
    assert not at.exception
    assert "No data yet" in texts(at)


def test_kpi_tiles_match_the_metric_service_and_charts_render(synced, admin, monkeypatch):
    # Given the synced days end yesterday: the page's "today" is pinned to Nov 20, 2026
    workspace_id, _ = synced
    monkeypatch.setattr("metricx.semantic.dates.today_in", lambda tz, now=None: TODAY)
    at = log_in(admin.label, "correct horse")
    at.switch_page("pages/dashboard.py").run()
    assert not at.exception, at.exception
    period = resolve_phrase("last 7 days", TODAY)
    expected = run_query(workspace_id, {
        "metrics": ["spend", "orders"], "time_range": period.model_dump(mode="json"),
        "compare_range": compare_range_for("previous_period", period).model_dump(mode="json")})
    tiles = {m.label: m.value for m in at.metric}
    assert tiles["Ad spend"] == format_value("spend", expected.frame["spend"].iloc[0], "USD")
    assert tiles["Orders"] == format_value("orders", expected.frame["orders"].iloc[0], "USD")
    assert len(at.get("vega_lite_chart")) >= 2  # spend vs revenue, and platforms
    assert [h.value for h in at.subheader] == ["Ad spend and store revenue", "By platform",
                                               "Top campaigns by spend", "Data freshness"]
    assert 0 < len(at.dataframe[0].value) <= 10
