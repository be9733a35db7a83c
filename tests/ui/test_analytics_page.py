"""The Analytics explorer: the URL holds the view, the table matches the service, bad
combinations explain themselves."""

from datetime import date

import pytest
from apptest import log_in, texts

from metricx.semantic.dates import resolve_phrase
from metricx.services.metrics import run_query

TODAY = date(2026, 11, 20)


@pytest.fixture
def analytics(synced, member, monkeypatch):
    monkeypatch.setattr("metricx.semantic.dates.today_in", lambda tz, now=None: TODAY)

    def open_with(**params: str):
        at = log_in(member.label, "battery staple")
        for key, value in params.items():
            at.query_params[key] = value
        at.switch_page("pages/analytics.py").run()
        assert not at.exception, at.exception
        return at

    return open_with


def test_a_link_reproduces_the_view_and_the_numbers_match_the_service(synced, analytics):
    workspace_id, _ = synced
    at = analytics(metrics="spend,cpc", dims="provider", period="last 7 days")
    table = at.dataframe[0].value
    expected = run_query(workspace_id, {
        "metrics": ["spend", "cpc"], "dimensions": ["provider"],
        "time_range": resolve_phrase("last 7 days", TODAY).model_dump(mode="json")}).frame
    assert sorted(table["provider"]) == sorted(expected["provider"])
    assert sorted(table["spend"].round(6)) == sorted(expected["spend"].round(6))
    assert len(at.get("vega_lite_chart")) == 1
    assert at.get("download_button")


def test_store_metrics_split_by_campaign_say_why_they_cannot(analytics):
    at = analytics(metrics="orders", dims="campaign")
    assert "cannot be split by platform or campaign" in texts(at)
