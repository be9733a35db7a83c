"""Custom metrics, custom dimensions and the Dashboard's tiles from the `metricx` command, on
the synced sandbox merchant (workspace "Acme", Nov 8 - 19, 2026): added, listed, previewed,
queried and deleted as a script would; bad definitions refused in one line; another
workspace neither sees nor uses them."""

from __future__ import annotations

import json
from datetime import date

import pytest
from plain_errors import assert_plain
from sandbox_fixtures import FIRST, LAST

from metricx.services import custom_definitions

PERIOD = {"start": str(FIRST), "end": str(LAST)}
META_SHARE = (
    "meta_share",
    "--label",
    "Meta share",
    "--formula",
    "spend[provider=meta] / spend",
    "--format",
    "percent",
    "--direction",
    "neither",
    "--description",
    "How much of the spend went to Meta.",
)
STAGE = (
    "stage",
    "--label",
    "Funnel stage",
    "--rule",
    "campaign contains Retargeting => BOFU",
    "--rule",
    "campaign starts_with Brand => MOFU",
    "--otherwise",
    "TOFU",
)


@pytest.fixture
def pinned(monkeypatch):
    """Today is Nov 20, 2026: a preview's "last week" is Nov 13 - 19, synced days."""
    monkeypatch.setattr(
        "metricx.services.custom_definitions.today_in", lambda tz, now=None: date(2026, 11, 20)
    )


def query(ok, workspace: str, **asked) -> dict:
    return json.loads(ok("query", "-w", workspace, "--json", json.dumps(asked)))


def in_period(ads):
    return ads[(ads["day"] >= FIRST) & (ads["day"] <= LAST)]


def test_a_custom_metric_is_added_listed_previewed_queried_and_deleted(run, ok, synced, pinned):
    _, reference = synced
    # Given Meta's share of spend, added from the command line
    assert "Saved custom metric 'meta_share'" in ok(
        "custom", "metric", "add", "-w", "Acme", *META_SHARE
    )
    # Then it is listed in the words it was given in
    assert json.loads(ok("custom", "metric", "list", "-w", "Acme", "--json")) == [
        {
            "key": "meta_share",
            "label": "Meta share",
            "formula": "spend[provider=meta] / spend",
            "format": "percent",
            "direction": "neither",
            "description": "How much of the spend went to Meta.",
        }
    ]
    # And its preview shows last week (before Nov 20) day by day, as a percent, with spend
    preview = ok("custom", "metric", "preview", "-w", "Acme", "meta_share")
    assert "meta_share from 2026-11-13 to 2026-11-19 (USD):" in preview
    assert "Meta share" in preview and "Ad spend" in preview
    assert preview.count("%") == 7
    # And `metricx query` answers it by name: Meta's spend over all spend, from the raw rows
    ads = in_period(reference["ads"])
    want = ads.loc[ads["provider"] == "meta", "spend"].sum() / ads["spend"].sum()
    answer = query(ok, "Acme", metrics=["meta_share"], time_range=PERIOD)
    assert answer["columns"] == ["meta_share"]
    assert answer["rows"][0][0] == pytest.approx(want, rel=1e-9)
    assert answer["meta"]["definitions"]["meta_share"].startswith("Meta share = spend[provider=")
    # When it is deleted, it is gone from the list and from queries
    assert "Deleted custom metric 'meta_share'" in ok(
        "custom", "metric", "delete", "-w", "Acme", "meta_share"
    )
    assert json.loads(ok("custom", "metric", "list", "-w", "Acme", "--json")) == []
    gone = run(
        "query",
        "-w",
        "Acme",
        "--json",
        json.dumps({"metrics": ["meta_share"], "time_range": PERIOD}),
    )
    assert gone.exit_code == 1 and "unknown metric 'meta_share'" in gone.output
    assert_plain(gone.output)


def test_a_draft_is_previewed_without_being_saved(ok, synced, pinned):
    preview = ok(
        "custom",
        "metric",
        "preview",
        "-w",
        "Acme",
        "cpm_x",
        "--formula",
        "cpm / 2",
        "--format",
        "money",
    )
    assert "from 2026-11-13 to 2026-11-19" in preview and preview.count("$") == 14
    assert custom_definitions.definitions(synced[0]).metrics == {}


def test_a_custom_dimension_splits_a_query_by_its_rules_in_order(ok, synced):
    _, reference = synced
    # Given a funnel stage from campaign names (the first matching rule wins)
    assert "Saved custom dimension 'stage': BOFU, MOFU, TOFU." in ok(
        "custom", "dimension", "add", "-w", "Acme", *STAGE
    )
    assert ok("custom", "dimension", "list", "-w", "Acme").strip() == (
        "stage  Funnel stage: campaign contains Retargeting => BOFU; "
        "campaign starts_with Brand => MOFU; otherwise TOFU"
    )
    [listed] = json.loads(ok("custom", "dimension", "list", "-w", "Acme", "--json"))
    assert (listed["key"], listed["values"]) == ("stage", ["BOFU", "MOFU", "TOFU"])
    # When spend is split by it
    answer = query(ok, "Acme", metrics=["spend"], time_range=PERIOD, dimensions=["stage"])
    # Then each stage has the spend of its campaigns, from the raw rows
    ads = in_period(reference["ads"])
    name = ads["campaign"].str.lower()
    stage = name.str.contains("retargeting").map({True: "BOFU", False: None})
    stage = stage.fillna(name.str.startswith("brand").map({True: "MOFU", False: "TOFU"}))
    want = ads.groupby(stage)["spend"].sum()
    got = dict(answer["rows"])
    assert set(got) == set(want.index) == {"BOFU", "MOFU", "TOFU"}
    for value, spend in want.items():
        assert got[value] == pytest.approx(spend, rel=1e-9)
    # And it is deleted like a metric
    ok("custom", "dimension", "delete", "-w", "Acme", "stage")
    assert json.loads(ok("custom", "dimension", "list", "-w", "Acme", "--json")) == []


def test_a_store_metric_cannot_be_split_by_a_custom_dimension(run, ok, synced):
    ok("custom", "dimension", "add", "-w", "Acme", *STAGE)
    ok(
        "custom",
        "metric",
        "add",
        "-w",
        "Acme",
        "margin_x",
        "--formula",
        "(store_revenue - spend) / store_revenue",
    )
    result = run(
        "query",
        "-w",
        "Acme",
        "--json",
        json.dumps({"metrics": ["margin_x"], "time_range": PERIOD, "dimensions": ["stage"]}),
    )
    assert result.exit_code == 1
    assert (
        "store-level metrics (margin_x) are incompatible with ad dimensions (stage)"
        in result.output
    )
    assert_plain(result.output)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("metric", "add", "bad", "--formula", "spend +"), "the formula cannot be read"),
        (("metric", "add", "bad", "--formula", "spned / clicks"), "did you mean 'spend'"),
        (
            ("metric", "add", "bad", "--formula", "orders[provider=meta]"),
            "only ad-platform metrics",
        ),
        (("metric", "add", "spend", "--formula", "spend * 2"), "is a built-in name"),
        (("metric", "add", "bad", "--label", "x"), "give the metric's --formula"),
        (("metric", "delete", "nothing"), "there is no custom metric 'nothing'"),
        (
            ("dimension", "add", "bad", "--rule", "campaign Retargeting BOFU"),
            "FIELD OP VALUE => THEN",
        ),
        (("dimension", "add", "bad", "--rule", "country is US => A"), "unknown field 'country'"),
    ],
)
def test_a_bad_definition_is_refused_in_one_line(run, workspace, args, says):
    result = run("custom", *args[:2], "-w", "Acme", *args[2:])
    assert result.exit_code == 1
    assert result.output.startswith("Error:") and says in result.output, result.output
    assert_plain(result.output)
    assert not custom_definitions.definitions(workspace.id)


def test_the_dashboard_tiles_are_chosen_and_reset(run, ok, synced):
    ok("custom", "metric", "add", "-w", "Acme", *META_SHARE)
    ok("dashboard", "tiles", "-w", "Acme", "spend", "meta_share")
    assert json.loads(ok("dashboard", "tiles", "-w", "Acme", "--json")) == [
        {"metric": "spend", "label": "Ad spend"},
        {"metric": "meta_share", "label": "Meta share"},
    ]
    refused = run("dashboard", "tiles", "-w", "Acme", "spend", "nope")
    assert refused.exit_code == 1 and "unknown metric 'nope' for a tile" in refused.output
    ok("dashboard", "tiles", "-w", "Acme", "--reset")
    shown = json.loads(ok("dashboard", "tiles", "-w", "Acme", "--json"))
    assert [t["metric"] for t in shown] == list(custom_definitions.DEFAULT_TILES)


def test_another_workspace_neither_sees_nor_uses_them(run, ok, synced, other_workspace):
    # Given a custom metric and dimension of Acme
    ok("custom", "metric", "add", "-w", "Acme", *META_SHARE)
    ok("custom", "dimension", "add", "-w", "Acme", *STAGE)
    # Then Globex lists none of them
    assert json.loads(ok("custom", "metric", "list", "-w", "Globex", "--json")) == []
    assert json.loads(ok("custom", "dimension", "list", "-w", "Globex", "--json")) == []
    # And cannot query, split by, delete or show them as tiles
    for asked in (
        {"metrics": ["meta_share"], "time_range": PERIOD},
        {"metrics": ["spend"], "time_range": PERIOD, "dimensions": ["stage"]},
    ):
        result = run("query", "-w", "Globex", "--json", json.dumps(asked))
        assert result.exit_code == 1 and "unknown" in result.output, result.output
        assert_plain(result.output)
    assert run("custom", "metric", "delete", "-w", "Globex", "meta_share").exit_code == 1
    assert run("dashboard", "tiles", "-w", "Globex", "meta_share").exit_code == 1
    # While Acme still has them
    assert [
        m["key"] for m in json.loads(ok("custom", "metric", "list", "-w", "Acme", "--json"))
    ] == ["meta_share"]
