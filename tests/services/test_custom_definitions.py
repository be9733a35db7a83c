"""A workspace's custom metrics and dimensions, and the Dashboard's tiles: saved by admins,
validated as a whole, previewed on last week's data, audited."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sandbox_fixtures import NOW

from metricx.db import transaction
from metricx.errors import InvalidInputError, PermissionDeniedError
from metricx.models import CustomDefinition
from metricx.semantic.custom import MAX_DEFINITIONS, CustomDefinitionError
from metricx.services import audit, custom_definitions
from metricx.services.custom_definitions import (
    DEFAULT_TILES,
    dashboard_tiles,
    definitions,
    delete_definition,
    preview_metric,
    save_dimension,
    save_metric,
    set_dashboard_tiles,
)

META_SPEND = {"label": "Meta spend", "formula": "spend[provider=meta]", "unit": "currency"}
META_SHARE = {"label": "Meta share", "formula": "meta_spend / spend", "unit": "percent"}
STAGE = {
    "label": "Funnel stage",
    "rules": [{"field": "campaign", "op": "contains", "value": "retarget", "then": "BOFU"}],
    "otherwise": "TOFU",
}


def actions(workspace_id: int) -> list[tuple[str, str | None]]:
    """The audit log's (action, target) of definitions and tiles, oldest first."""
    return [
        (row.action, row.target)
        for row in reversed(audit.recent(workspace_id))
        if row.action.startswith(("custom_", "dashboard."))
    ]


# --- saving, replacing, deleting ---------------------------------------------------------


def test_an_admin_saves_replaces_and_deletes_a_custom_metric(admin):
    # Given a metric saved, then saved again under the same id with another formula
    save_metric(admin, "meta_spend", META_SPEND)
    save_metric(admin, "meta_spend", {**META_SPEND, "formula": "spend[provider=google]"})
    # Then one definition is kept, the last
    saved = definitions(admin.workspace_id)
    assert list(saved.metrics) == ["meta_spend"]
    assert saved.metrics["meta_spend"].formula == "spend[provider=google]"
    # When it is deleted, it is gone, and a second delete says there is nothing to delete
    delete_definition(admin, "metric", "meta_spend")
    assert not definitions(admin.workspace_id)
    with pytest.raises(InvalidInputError, match="there is no custom metric 'meta_spend'"):
        delete_definition(admin, "metric", "meta_spend")
    # And every change is in the audit log, with what was saved
    assert actions(admin.workspace_id) == [
        ("custom_metric.save", "meta_spend"),
        ("custom_metric.save", "meta_spend"),
        ("custom_metric.delete", "meta_spend"),
    ]
    saves = [r for r in audit.recent(admin.workspace_id) if r.action == "custom_metric.save"]
    assert [r.details["formula"] for r in saves] == [
        "spend[provider=google]",
        "spend[provider=meta]",
    ]


def test_a_dimension_is_saved_and_its_save_and_delete_audited(admin):
    saved = save_dimension(admin, "stage", STAGE)
    assert saved.values == ("BOFU", "TOFU")
    assert definitions(admin.workspace_id).dimensions["stage"] == saved
    delete_definition(admin, "dimension", "stage")
    assert not definitions(admin.workspace_id)
    assert actions(admin.workspace_id) == [
        ("custom_dimension.save", "stage"),
        ("custom_dimension.delete", "stage"),
    ]


@pytest.mark.parametrize(
    "change",
    [
        lambda actor: save_metric(actor, "meta_spend", META_SPEND),
        lambda actor: save_dimension(actor, "stage", STAGE),
        lambda actor: delete_definition(actor, "metric", "meta_spend"),
        lambda actor: set_dashboard_tiles(actor, ["spend"]),
    ],
)
def test_a_member_cannot_change_definitions_or_tiles(admin, member, change):
    save_metric(admin, "meta_spend", META_SPEND)
    with pytest.raises(PermissionDeniedError, match="only an admin can"):
        change(member)
    assert definitions(admin.workspace_id).metrics["meta_spend"].formula == META_SPEND["formula"]
    assert dashboard_tiles(admin.workspace_id) == list(DEFAULT_TILES)


def test_deleting_an_unknown_kind_is_refused_and_not_audited(admin):
    save_dimension(admin, "stage", STAGE)
    with pytest.raises(InvalidInputError):
        delete_definition(admin, "widget", "stage")
    assert actions(admin.workspace_id) == [("custom_dimension.save", "stage")]


# --- what a save or a delete may not break -----------------------------------------------


def test_a_metric_another_uses_cannot_be_deleted(admin):
    save_metric(admin, "meta_spend", META_SPEND)
    save_metric(admin, "meta_share", META_SHARE)
    with pytest.raises(
        InvalidInputError,
        match="'meta_spend' is used by the custom metric 'meta_share'; change or delete those",
    ):
        delete_definition(admin, "metric", "meta_spend")
    delete_definition(admin, "metric", "meta_share")
    delete_definition(admin, "metric", "meta_spend")
    assert not definitions(admin.workspace_id)


def test_a_dimension_a_restriction_uses_cannot_be_deleted_or_lose_the_value(admin):
    # Given BOFU spend, restricted by the funnel stage
    save_dimension(admin, "stage", STAGE)
    save_metric(admin, "bofu_spend", {"label": "BOFU spend", "formula": "spend[stage=BOFU]"})
    # Then the stage cannot be deleted, nor changed so that BOFU is no longer a value
    with pytest.raises(InvalidInputError, match="used by the custom metric 'bofu_spend'"):
        delete_definition(admin, "dimension", "stage")
    renamed = {**STAGE, "rules": [{**STAGE["rules"][0], "then": "Bottom"}]}
    with pytest.raises(CustomDefinitionError, match="stage takes the values 'Bottom', 'TOFU'"):
        save_dimension(admin, "stage", renamed)
    assert definitions(admin.workspace_id).dimensions["stage"].values == ("BOFU", "TOFU")


def test_a_save_that_would_break_the_definitions_is_refused_and_nothing_is_stored(admin):
    save_metric(admin, "meta_spend", META_SPEND)
    save_metric(admin, "meta_share", META_SHARE)
    # A circle through a saved metric, an unknown name, a restricted store metric
    for formula, problem in [
        ("meta_share * 2", "circle: meta_spend → meta_share → meta_spend"),
        ("spnd[provider=meta]", "did you mean 'spend'"),
        ("orders[provider=meta]", "only ad-platform metrics can be restricted"),
    ]:
        with pytest.raises(CustomDefinitionError, match=problem):
            save_metric(admin, "meta_spend", {**META_SPEND, "formula": formula})
    assert definitions(admin.workspace_id).metrics["meta_spend"].formula == META_SPEND["formula"]
    assert len(actions(admin.workspace_id)) == 2


def test_one_id_cannot_name_both_a_metric_and_a_dimension(admin):
    save_dimension(admin, "stage", STAGE)
    with pytest.raises(
        CustomDefinitionError, match="'stage' would name both a custom metric and a custom"
    ):
        save_metric(admin, "stage", META_SPEND)
    save_metric(admin, "meta_spend", META_SPEND)
    with pytest.raises(CustomDefinitionError, match="'meta_spend' would name both"):
        save_dimension(admin, "meta_spend", STAGE)
    saved = definitions(admin.workspace_id)
    assert (list(saved.metrics), list(saved.dimensions)) == (["meta_spend"], ["stage"])


@pytest.mark.parametrize("key", ["spend", "Meta", "meta-share", "x" * 41, "a\x00"])
def test_a_bad_id_is_refused(admin, key):
    with pytest.raises(CustomDefinitionError, match="metric id"):
        save_metric(admin, key, META_SPEND)
    assert not definitions(admin.workspace_id)


def test_the_hundred_and_first_metric_is_refused_with_a_sentence(admin):
    # Given a workspace holding the most custom metrics it may (stored directly: quicker)
    with transaction() as session:
        session.add_all(
            CustomDefinition(
                workspace_id=admin.workspace_id,
                kind="metric",
                key=f"metric_{i}",
                definition={"label": f"Metric {i}", "formula": "spend"},
            )
            for i in range(MAX_DEFINITIONS)
        )
    assert len(definitions(admin.workspace_id).metrics) == MAX_DEFINITIONS
    # Then one more is refused with one sentence
    with pytest.raises(InvalidInputError, match="at most 100"):
        save_metric(admin, "one_more", META_SPEND)


# --- hostile text ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "sentence"),
    [
        ({"label": "Meta\x00share"}, "label: the text contains a NUL character"),
        ({"label": "x" * 5000}, "label: string should have at most 80 characters"),
        ({"label": "red\x1b[31m"}, "label: the text contains a control character"),
        ({"description": "\ud800"}, "description: input should be a valid string"),
        ({"description": "y" * 501}, "description: string should have at most 500"),
        ({"formula": "spend\x00"}, "formula: the formula cannot be read: unexpected"),
        ({"formula": "spend + " * 80}, "formula: string should have at most 500 characters"),
        ({"unit": "euros"}, "unit: unknown unit 'euros'"),
        ({"higher_is_better": "maybe"}, "higher_is_better: input should be a valid boolean"),
        ({"script": "<x>"}, "unknown field 'script'"),
    ],
)
def test_hostile_metric_text_is_refused_with_one_sentence(admin, given, sentence):
    with pytest.raises(CustomDefinitionError) as refused:
        save_metric(admin, "meta_spend", {**META_SPEND, **given})
    message = str(refused.value)
    assert message.startswith("invalid custom metric: ") and sentence in message
    assert "\n" not in message and len(message) < 300
    assert not definitions(admin.workspace_id)


@pytest.mark.parametrize(
    ("rule", "sentence"),
    [
        ({"value": "retarget\x00"}, "rules[0].value: the text contains a NUL character"),
        ({"then": "B" * 81}, "rules[0].then: string should have at most 80 characters"),
        ({"field": "utm_source"}, "rules[0].field: unknown field 'utm_source'"),
        ({"op": "regex"}, "rules[0].op:"),
    ],
)
def test_a_hostile_rule_is_refused(admin, rule, sentence):
    hostile = {**STAGE, "rules": [{**STAGE["rules"][0], **rule}]}
    with pytest.raises(CustomDefinitionError, match="invalid custom dimension: ") as refused:
        save_dimension(admin, "stage", hostile)
    assert sentence in str(refused.value)
    assert not definitions(admin.workspace_id)


def test_a_hostile_rule_is_one_problem_not_two(admin):
    hostile = {**STAGE, "rules": [{**STAGE["rules"][0], "value": "retarget\x00"}]}
    with pytest.raises(CustomDefinitionError) as refused:
        save_dimension(admin, "stage", hostile)
    assert "at least 1 item" not in str(refused.value)


def test_text_around_a_label_is_trimmed_and_percent_and_underscore_match_literally(admin):
    saved = save_dimension(
        admin,
        "offer",
        {"label": "  Offer\n", "rules": [{"field": "ad", "value": "5%_off", "then": "Promo"}]},
    )
    assert saved.label == "Offer"
    assert saved.rules[0].value == "5%_off"


# --- the preview -------------------------------------------------------------------------


def test_the_preview_shows_a_draft_on_last_week_by_day_and_saves_nothing(synced):
    # Given the synced sandbox, "now" the day after its last day
    workspace_id, reference = synced
    draft = {"label": "Meta share", "formula": "spend[provider=meta] ÷ spend", "unit": "percent"}
    # When a draft of Meta's share is previewed
    result = preview_metric(workspace_id, "meta_share", draft, now=NOW)
    # Then it is last week's seven days, with the catalogue metric it is built from
    frame = result.frame.set_index("day")
    first = NOW.date() - timedelta(days=7)
    assert list(frame.index) == [str(first + timedelta(days=i)) for i in range(7)]
    assert list(frame.columns) == ["meta_share", "spend"]
    ads = reference["ads"]
    for day, row in frame.iterrows():
        rows = ads[ads["day"] == date.fromisoformat(day)]
        meta = rows.loc[rows["provider"] == "meta", "spend"].sum()
        assert abs(row["spend"] - rows["spend"].sum()) < 1e-6
        assert abs(row["meta_share"] - meta / rows["spend"].sum()) < 1e-9
    assert result.metric("meta_share").unit == "percent"
    # And nothing was saved
    assert not definitions(workspace_id)


def test_the_preview_can_split_and_reads_saved_metrics_the_draft_names(synced, admin):
    workspace_id, _ = synced
    save_dimension(admin, "stage", STAGE)
    save_metric(admin, "meta_spend", META_SPEND)
    result = preview_metric(
        workspace_id, "meta_share", META_SHARE, split="stage", now=NOW
    ).frame.set_index("stage")
    assert set(result.index) == {"BOFU", "TOFU"}
    assert list(result.columns) == ["meta_share", "meta_spend", "spend"]
    for _, row in result.iterrows():
        assert row["meta_share"] == pytest.approx(row["meta_spend"] / row["spend"])
    assert "meta_share" not in definitions(workspace_id).metrics


def test_a_draft_dimension_previews_its_split_of_last_week_and_saves_nothing(synced):
    # Given the synced sandbox, and a draft funnel stage
    workspace_id, reference = synced
    # When it is previewed
    frame = custom_definitions.preview_dimension(workspace_id, "stage", STAGE, now=NOW).frame
    # Then last week's spend is split by its rules, as the raw rows say
    ads = reference["ads"]
    first = NOW.date() - timedelta(days=7)
    week = ads[(ads["day"] >= first) & (ads["day"] < NOW.date())]
    bofu = week["campaign"].str.lower().str.contains("retarget")
    got = frame.set_index("stage")["spend"]
    assert got["BOFU"] == pytest.approx(week.loc[bofu, "spend"].sum())
    assert got["TOFU"] == pytest.approx(week.loc[~bofu, "spend"].sum())
    assert not definitions(workspace_id)


def test_a_draft_that_cannot_be_saved_cannot_be_previewed(synced):
    workspace_id, _ = synced
    with pytest.raises(CustomDefinitionError, match="which is no metric"):
        preview_metric(workspace_id, "mine", {"label": "x", "formula": "spnd"}, now=NOW)


def test_a_preview_without_spend_shows_empty_values_not_an_error(admin):
    # Given a workspace with nothing synced, a share of spend is x / 0 on every day
    draft = {"label": "Meta share", "formula": "spend[provider=meta] / spend"}
    frame = preview_metric(admin.workspace_id, "meta_share", draft, now=NOW).frame
    assert len(frame) == 7
    assert (frame["spend"] == 0).all() and frame["meta_share"].isna().all()


# --- the Dashboard's tiles ---------------------------------------------------------------


def test_the_dashboard_tiles_default_chosen_refused_and_left_by_a_deleted_metric(admin):
    workspace_id = admin.workspace_id
    # Given no choice, the defaults
    assert dashboard_tiles(workspace_id) == list(DEFAULT_TILES)
    # When an admin chooses a custom metric among catalogue ones (a repeat counts once)
    save_metric(admin, "meta_spend", META_SPEND)
    chosen = set_dashboard_tiles(admin, ["roas", "meta_spend", "roas", "spend"])
    # Then they are the tiles, in that order
    assert chosen == dashboard_tiles(workspace_id) == ["roas", "meta_spend", "spend"]
    # And an unknown metric, or too many, are refused, the choice kept
    with pytest.raises(InvalidInputError, match="unknown metric 'nope' for a tile"):
        set_dashboard_tiles(admin, ["spend", "nope"])
    with pytest.raises(InvalidInputError, match="at most 12 tiles; 13 were chosen"):
        set_dashboard_tiles(admin, [*DEFAULT_TILES, "cpm", "cpl", "cvr"])
    assert dashboard_tiles(workspace_id) == ["roas", "meta_spend", "spend"]
    # When the custom metric is deleted, it leaves the tiles
    delete_definition(admin, "metric", "meta_spend")
    assert dashboard_tiles(workspace_id) == ["roas", "spend"]
    # And an empty choice restores the defaults
    assert set_dashboard_tiles(admin, []) == list(DEFAULT_TILES)
    assert dashboard_tiles(workspace_id) == list(DEFAULT_TILES)
    assert [a for a in actions(workspace_id) if a[0] == "dashboard.tiles"] == [
        ("dashboard.tiles", "roas,meta_spend,spend"),
        ("dashboard.tiles", "default"),
    ]


def test_tiles_of_one_workspace_are_not_another_s(admin, other_workspace):
    save_metric(admin, "meta_spend", META_SPEND)
    set_dashboard_tiles(admin, ["meta_spend"])
    assert dashboard_tiles(other_workspace.id) == list(DEFAULT_TILES)
    assert not custom_definitions.definitions(other_workspace.id)
