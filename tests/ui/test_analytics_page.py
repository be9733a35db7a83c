"""Analytics as an analyst's tool: a link reproduces the view with the service's numbers under
human headers, rows rank by the first metric, the comparison sits beside each metric with its
change, the CSV is clean, every change of a widget holds, a row opens in Campaigns, and the
workspace's custom metrics and dimensions are offered beside the catalogue's."""

from __future__ import annotations

import io
import json
from datetime import date

import pandas as pd
import pytest
from apptest import fresh_app, texts
from pinned import TODAY, pin_the_period_clock
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from metricx.platforms import short_name
from metricx.semantic.catalogue import format_value
from metricx.semantic.dates import compare_range_for, resolve_phrase
from metricx.semantic.engine import run_query
from metricx.semantic.query import TimeRange
from metricx.services import custom_definitions
from ui import format as fmt

WEEK = resolve_phrase("last 7 days", TODAY)
WEEK_BEFORE = compare_range_for("previous_period", WEEK)
NO_COMPARISON = {"compare": "no comparison"}


@pytest.fixture
def analytics(synced, member, monkeypatch):
    """Opens Analytics from a link (its query parameters), logging in on the way as a browser
    would; "now" is Nov 20, 2026 10:07 in New York, the synced days being Nov 8 - 19."""
    pin_the_period_clock(monkeypatch)

    def open_with(**params: str | list[str]) -> AppTest:
        at = fresh_app()
        at.query_params.update(params)
        at.run()
        at.switch_page("views/analytics.py").run()  # the link's page, before logging in
        at.text_input[0].input(member.label)
        at.text_input[1].input("battery staple")
        at.button[0].click().run()
        assert not at.exception, at.exception
        assert at.title[0].value == "Analytics"
        return at

    return open_with


@pytest.fixture
def downloads(monkeypatch) -> dict[str, bytes]:
    """The files the page offers for download, by file name."""
    offered: dict[str, bytes] = {}
    keep = MemoryMediaFileStorage.load_and_get_id

    def recorded(self, data, mimetype, kind, filename=None):
        offered[filename] = data
        return keep(self, data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", recorded)
    return offered


def service(workspace_id: int, span: TimeRange, **query) -> pd.DataFrame:
    return run_query(workspace_id, {"time_range": span.model_dump(mode="json"), **query}).frame


def headers(at: AppTest) -> list[str]:
    """The table's column headers, left to right, as a reader sees them."""
    table = at.dataframe[0].proto
    config = json.loads(table.columns)
    return [config[column]["label"] for column in table.column_order]


def cents(values) -> list[float]:
    return [round(float(v), 2) for v in values]


def test_a_link_reproduces_the_view_with_the_services_numbers(synced, analytics):
    workspace_id, _ = synced
    # Given a shared link: spend and CPC per platform over the last 7 days
    at = analytics(
        metrics=["Ad spend", "CPC"], dims="Platform", period="last 7 days", **NO_COMPARISON
    )
    # Then the widgets show that view, and the address still holds it
    assert at.multiselect(key="metrics").value == ["spend", "cpc"]
    assert at.multiselect(key="dims").value == ["provider"]
    assert at.query_params["metrics"] == ["Ad spend", "CPC"]
    # And the table is the service's, to the cent, largest spend first, under human headers
    expected = service(
        workspace_id, WEEK, metrics=["spend", "cpc"], dimensions=["provider"]
    ).sort_values("spend", ascending=False)
    table = at.dataframe[0].value
    assert headers(at) == ["Platform", "Ad spend", "CPC"]
    assert list(table["provider"]) == [short_name(p) for p in expected["provider"]]
    assert cents(table["spend"]) == cents(expected["spend"])
    assert cents(table["cpc"]) == cents(expected["cpc"])
    assert len(at.get("vega_lite_chart")) == 1
    assert "Nov 13 – 19, 2026" in texts(at)


def test_email_figures_split_by_channel_show_an_email_and_an_sms_row(
    synced, email_synced, analytics
):
    workspace_id, _ = synced
    # Given Klaviyo's revenue and open rate split by email channel over the last 7 days
    at = analytics(
        metrics=["Email & SMS revenue", "Email open rate"],
        dims="Email channel",
        period="last 7 days",
        **NO_COMPARISON,
    )
    # Then one row per channel, named as a reader says them, with the service's numbers
    expected = service(
        workspace_id,
        WEEK,
        metrics=["email_revenue", "email_open_rate"],
        dimensions=["email_channel"],
    ).sort_values("email_revenue", ascending=False)
    table = at.dataframe[0].value
    assert headers(at)[0] == "Email channel"
    assert list(table["email_channel"]) == [
        {"email": "Email", "sms": "SMS"}[c] for c in expected["email_channel"]
    ]
    assert cents(table["email_revenue"]) == cents(expected["email_revenue"])
    # and texts have no open rate: the SMS row's is empty, not 0
    sms = table[table["email_channel"] == "SMS"]
    assert sms["email_open_rate"].isna().all()


def test_a_link_that_names_metrics_by_id_opens_the_same_view(analytics):
    # Given a hand-written link with ids instead of labels
    at = analytics(
        metrics=["spend", "cpc"],
        dims="provider",
        providers="meta",
        period="last 14 days",
        **NO_COMPARISON,
    )
    # Then the widgets hold that view, and the address now reads in labels
    assert at.multiselect(key="metrics").value == ["spend", "cpc"]
    assert at.query_params["metrics"] == ["Ad spend", "CPC"]
    assert at.multiselect(key="dims").value == ["provider"]
    assert at.multiselect(key="providers").value == ["meta"]
    assert (at.query_params["period"], at.query_params["compare"]) == (
        "last 14 days",
        "no comparison",
    )
    assert headers(at) == ["Platform", "Ad spend", "CPC"]
    assert list(at.dataframe[0].value["provider"]) == ["Meta"]


def test_ads_rank_by_the_first_metric_and_show_their_campaign_and_ad_set(synced, analytics):
    workspace_id, reference = synced
    # When CPC then spend are split by ad
    at = analytics(metrics=["CPC", "Ad spend"], dims="Ad", period="last 7 days", **NO_COMPARISON)
    table = at.dataframe[0].value
    # Then the highest CPC comes first and every ad names its campaign and ad set (no ids),
    # beside its creative's preview, served from the local store (never a platform's link)
    assert headers(at) == ["Preview", "Campaign", "Ad set", "Ad", "CPC", "Ad spend"]
    previews = table["preview"].dropna()
    assert len(previews) > 0 and previews.str.startswith("data:image/").all()
    assert list(table["cpc"].dropna()) == sorted(table["cpc"].dropna(), reverse=True)
    parents = reference["ads"].drop_duplicates("ad_id").set_index("ad_id")
    for row in table.itertuples():
        assert (row.campaign, row.adset) == tuple(parents.loc[row.ad_id, ["campaign", "adset"]])
    assert not table.duplicated(["campaign", "adset", "ad"]).any()
    # And the spend is the service's
    expected = service(workspace_id, WEEK, metrics=["spend"], dimensions=["ad"])
    assert cents(sorted(table["spend"])) == cents(sorted(expected["spend"]))


def test_the_comparison_sits_beside_each_metric_with_its_change(synced, analytics):
    workspace_id, _ = synced
    # When campaigns are compared with the previous 7 days
    at = analytics(
        metrics=["Ad spend", "ROAS (platform-reported)"],
        dims="Campaign",
        period="last 7 days",
        compare="previous period",
    )
    # Then each metric has its previous value and change beside it
    assert headers(at) == [
        "Campaign",
        "Ad spend",
        "Ad spend (previous)",
        "Ad spend change",
        "ROAS (platform-reported)",
        "ROAS (platform-reported) (previous)",
        "ROAS (platform-reported) change",
    ]
    query = {"metrics": ["spend", "roas"], "dimensions": ["campaign"]}
    expected = service(workspace_id, WEEK, **query).merge(
        service(workspace_id, WEEK_BEFORE, **query), on="campaign_id", suffixes=("", "_before")
    )
    table = at.dataframe[0].value.merge(expected, on="campaign_id", suffixes=("", "_expected"))
    assert len(table) == len(expected) > 0
    assert cents(table["spend_previous"]) == cents(table["spend_before"])
    assert list(table["roas_previous"].round(6)) == list(table["roas_before"].round(6))
    change = (table["spend_expected"] - table["spend_before"]) / table["spend_before"]
    assert list(table["spend_change"].round(4)) == list((change * 100).round(4))  # in percent
    config = json.loads(at.dataframe[0].proto.columns)["spend_change"]
    assert config["type_config"]["format"] == "%+.1f%%"  # a rise reads "+2.6%", signed
    assert "matched on Campaign across both periods" in texts(at)


def test_rows_of_only_one_period_still_show(synced, analytics):
    workspace_id, _ = synced
    # Given ads that spent in the previous 7 days but not in the last 7 (and the reverse)
    now = service(workspace_id, WEEK, metrics=["spend"], dimensions=["ad"])
    then = service(workspace_id, WEEK_BEFORE, metrics=["spend"], dimensions=["ad"])
    gone = set(then["ad_id"]) - set(now["ad_id"])
    new = set(now["ad_id"]) - set(then["ad_id"])
    assert gone or new
    # When ads are compared over those periods
    at = analytics(metrics=["Ad spend"], dims="Ad", period="last 7 days", compare="previous period")
    # Then every ad of either period has its row, 0 where it did not spend, no change to show
    table = at.dataframe[0].value.set_index("ad_id")
    assert set(table.index) == set(now["ad_id"]) | set(then["ad_id"])
    assert (table.loc[list(gone), "spend"] == 0).all()
    assert (table.loc[list(new), "spend_previous"] == 0).all()
    assert table.loc[list(new), "spend_change"].isna().all()
    spent = then.set_index("ad_id")["spend"]
    assert cents(table.loc[list(gone), "spend_previous"]) == cents(spent.loc[list(gone)])


def test_over_time_each_day_is_compared_with_the_same_day_of_the_previous_period(synced, analytics):
    workspace_id, _ = synced
    # When spend and ROAS are shown per day, compared with the 7 days before
    at = analytics(
        metrics=["Ad spend", "ROAS (platform-reported)"],
        grain="Day",
        period="last 7 days",
        compare="previous period",
    )
    table = at.dataframe[0].value
    before = service(workspace_id, WEEK_BEFORE, metrics=["spend"], grain="day")
    # Then the days run in order, each beside the day at the same place a week earlier
    assert [d.date() for d in table["day"]] == [date(2026, 11, d) for d in range(13, 20)]
    assert [d.date() for d in table["day_previous"]] == [date(2026, 11, d) for d in range(6, 13)]
    assert cents(table["spend_previous"]) == cents(before["spend"])
    assert headers(at)[:2] == ["Day", "Compared with"]
    assert "compared with the one at the same place" in texts(at)
    # And both metrics are charted, each on its own axis
    spec = at.get("vega_lite_chart")[0].proto.spec
    assert '"orient":"left"' in spec.replace(" ", "") and '"orient":"right"' in spec.replace(
        " ", ""
    )


def test_the_csv_has_human_headers_clean_decimals_and_the_comparison(synced, analytics, downloads):
    workspace_id, _ = synced
    # When campaigns compared with the previous 7 days are downloaded
    analytics(
        metrics=["Ad spend", "ROAS (platform-reported)"],
        dims="Campaign",
        period="last 7 days",
        compare="previous period",
    )
    text = downloads["metricx-analytics.csv"].decode()
    csv = pd.read_csv(io.StringIO(text))
    # Then the headers are a reader's, money naming its currency
    assert list(csv.columns) == [
        "Campaign",
        "Ad spend (USD)",
        "Ad spend (previous, USD)",
        "Ad spend change",
        "ROAS (platform-reported)",
        "ROAS (platform-reported) (previous)",
        "ROAS (platform-reported) change",
    ]
    # And amounts have cents, ratios 4 decimals, changes 6: no float noise
    for column, places in (
        ("Ad spend (USD)", 2),
        ("Ad spend (previous, USD)", 2),
        ("ROAS (platform-reported)", 4),
        ("Ad spend change", 6),
    ):
        assert all(len(v.partition(".")[2]) <= places for v in csv[column].dropna().astype(str)), (
            column
        )
    # And the numbers are the service's
    expected = service(workspace_id, WEEK, metrics=["spend"], dimensions=["campaign"])
    assert sorted(csv["Ad spend (USD)"]) == cents(sorted(expected["spend"]))


def test_every_change_of_the_same_widget_holds(synced, analytics):
    workspace_id, _ = synced
    # Given the default view: spend and ROAS of the last 7 days as tiles, vs the 7 days before
    at = analytics()
    spend = service(workspace_id, WEEK, metrics=["spend"])["spend"].iloc[0]
    assert [m.label for m in at.metric] == ["Ad spend", "ROAS (platform-reported)"]
    assert at.metric[0].value == fmt.money(spend, "USD")
    # When metrics are changed four times in a row, each change stays
    metrics = at.multiselect(key="metrics")
    for change, expected in (
        (lambda w: w.select("cpc"), ["spend", "roas", "cpc"]),
        (lambda w: w.select("ctr"), ["spend", "roas", "cpc", "ctr"]),
        (lambda w: w.unselect("roas"), ["spend", "cpc", "ctr"]),
        (lambda w: w.unselect("spend"), ["cpc", "ctr"]),
    ):
        change(metrics).run()
        metrics = at.multiselect(key="metrics")
        assert metrics.value == expected
        assert [c for c in at.dataframe[0].value.columns if c in expected] == expected
    # And so does the time grain, changed four times
    for grain in ("week", "day", "month", "total"):
        at.selectbox(key="grain").select(grain).run()
        assert at.selectbox(key="grain").value == grain
        table = at.dataframe[0].value
        assert len(table) == 1 if grain == "total" else grain in table.columns
    assert not at.exception


def test_a_selected_ad_opens_in_campaigns(synced, analytics):
    # Given ads split over the last 7 days
    at = analytics(metrics=["Ad spend"], dims="Ad", period="last 7 days")
    top = at.dataframe[0].value.iloc[0]
    assert "Select a row to open it in Campaigns." in texts(at)
    # When its first row is selected
    at.session_state["analytics_rows"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    # Then its campaign, ad set and ad can each be opened
    assert [b.key for b in at.button if b.key.startswith("analytics_open_")] == [
        "analytics_open_campaign",
        "analytics_open_adset",
        "analytics_open_ad",
    ]
    # And opening the ad lands on Campaigns at that ad (/campaigns?level=ad&node=<id>)
    at.button(key="analytics_open_ad").click().run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Campaigns"
    assert at.query_params["level"] == "ad"
    assert at.query_params["node"] == str(top["ad_id"])


def test_a_period_without_data_says_what_to_do(analytics):
    at = analytics(
        metrics=["Ad spend"],
        dims="Campaign",
        period="custom",
        **{"from": "2026-10-01", "to": "2026-10-07"},
    )
    assert "Oct 1 – 7, 2026" in texts(at)
    assert "Pick a longer period in the sidebar" in texts(at)
    assert not at.get("vega_lite_chart") and not at.dataframe


def test_store_metrics_split_by_ad_say_why_they_cannot(analytics):
    # When orders are split by ad, the message names the split asked for, not the ad's parents
    at = analytics(metrics="Orders", dims="Ad")
    assert "incompatible with ad dimensions (ad): Shopify figures cannot be split" in texts(at)
    assert not at.dataframe


@pytest.mark.parametrize(
    ("link", "says"),
    [
        ({"period": "today", "dims": "Campaign"}, "not available for part of a day"),
        ({"period": "yesterday", "grain": "Hour", "dims": "Ad"}, "Each hour is compared"),
        ({"period": "this month", "grain": "Week", "dims": "Platform"}, "Each week is compared"),
        (
            {"period": "last 30 days", "dims": "Ad", "name_contains": "zzz"},
            "Nothing named like “zzz”",
        ),
        ({"metrics": "Orders", "providers": "Google"}, "incompatible with ad filters"),
    ],
)
def test_every_combination_answers_with_a_table_or_a_sentence(analytics, link, says):
    at = analytics(**link)  # the fixture asserts no traceback
    assert says in texts(at)


# --- custom metrics and dimensions ----------------------------------------------------------

META_SHARE = {"label": "Meta share", "formula": "spend[provider=meta] / spend", "unit": "percent"}
STAGE = {
    "label": "Funnel stage",
    "rules": [{"field": "campaign", "op": "contains", "value": "Retargeting", "then": "BOFU"}],
    "otherwise": "TOFU",
}


def test_a_custom_metric_shows_its_value_formatted_by_its_unit(synced, admin, analytics):
    workspace_id, _ = synced
    # Given Meta's share of spend, a custom metric in percent
    custom_definitions.save_metric(admin, "meta_share", META_SHARE)
    # When a link names it by id
    at = analytics(metrics="meta_share", period="last 7 days", **NO_COMPARISON)
    # Then it is picked, and the address names it by its label, marked as custom
    assert at.multiselect(key="metrics").value == ["meta_share"]
    assert at.query_params["metrics"] == "Meta share (custom)"
    # And its tile shows the service's value as a percent
    expected = run_query(
        workspace_id, {"metrics": ["meta_share"], "time_range": WEEK.model_dump(mode="json")}
    )
    share = expected.frame["meta_share"].iloc[0]
    [tile] = at.metric
    assert tile.label == "Meta share"
    assert tile.value == format_value(expected.metric("meta_share"), share) and "%" in tile.value
    assert "Meta share = spend[provider=meta] / spend." in texts(at)


def test_spend_splits_and_filters_by_a_custom_dimension(synced, admin, analytics):
    workspace_id, _ = synced
    # Given a funnel stage: retargeting campaigns are BOFU, the rest TOFU
    custom_definitions.save_dimension(admin, "stage", STAGE)
    # When spend is split by it, compared with the 7 days before
    at = analytics(
        metrics="Ad spend", dims="stage", period="last 7 days", compare="previous period"
    )
    # Then each stage has the service's spend in both periods, under the dimension's label
    assert at.query_params["dims"] == "Funnel stage"
    assert headers(at)[:3] == ["Funnel stage", "Ad spend", "Ad spend (previous)"]
    query = {"metrics": ["spend"], "dimensions": ["stage"]}
    now = service(workspace_id, WEEK, **query).set_index("stage")["spend"]
    then = service(workspace_id, WEEK_BEFORE, **query).set_index("stage")["spend"]
    table = at.dataframe[0].value.set_index("stage")
    assert sorted(table.index) == ["BOFU", "TOFU"]
    assert cents(table["spend"]) == cents(now[table.index])
    assert cents(table["spend_previous"]) == cents(then[table.index])
    # When only BOFU is kept
    at.multiselect(key="values").select("stage=BOFU").run()
    # Then its row alone remains
    assert list(at.dataframe[0].value["stage"]) == ["BOFU"]
    # And a link that keeps it by id opens that view, its address then in labels
    at = analytics(metrics="Ad spend", values="stage=BOFU", **NO_COMPARISON)
    assert at.multiselect(key="values").value == ["stage=BOFU"]
    assert at.query_params["values"] == "Funnel stage: BOFU"
    assert at.metric[0].value == fmt.money(now["BOFU"], "USD")


def test_a_store_level_custom_metric_split_by_ad_says_why(synced, admin, analytics):
    custom_definitions.save_metric(
        admin, "margin_x", {"label": "Margin", "formula": "(store_revenue - spend) / store_revenue"}
    )
    at = analytics(metrics="Margin (custom)", dims="Campaign", **NO_COMPARISON)
    assert "store-level metrics (margin_x) are incompatible with ad dimensions (campaign)" in texts(
        at
    )
    assert not at.dataframe
