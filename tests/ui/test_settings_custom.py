"""Settings' custom metrics, custom dimensions and Dashboard tiles: a draft is previewed on
last week's data before it is saved, a formula that cannot be used says why in one sentence
and saves nothing, members edit none of it, and the tiles chosen are the ones stored.

"Today" is Nov 20, 2026 in New York, so last week is Nov 13-19 of the synced days."""

from __future__ import annotations

from datetime import date

import pytest
from apptest import texts
from streamlit.testing.v1 import AppTest

from metricx.errors import PermissionDeniedError
from metricx.semantic import catalogue
from metricx.semantic.custom import CustomDimension, CustomMetric
from metricx.semantic.engine import run_query
from metricx.services import custom_definitions

TODAY = date(2026, 11, 20)
LAST_WEEK = {"start": "2026-11-13", "end": "2026-11-19"}
META_SHARE = {
    "label": "Meta share of spend",
    "formula": "spend[provider=meta] / spend",
    "unit": "percent",
    "higher_is_better": None,
    "description": "",
}
STAGE = {
    "label": "Funnel stage",
    "rules": [
        {"field": "campaign", "op": "contains", "value": "Retargeting", "then": "BOFU"},
        {"field": "campaign", "op": "starts_with", "value": "Prospecting", "then": "MOFU"},
    ],
    "otherwise": "TOFU",
    "description": "",
}


@pytest.fixture
def settings_page(admin_app: AppTest, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setattr("metricx.services.custom_definitions.today_in", lambda tz, now=None: TODAY)
    admin_app.switch_page("views/settings.py").run()
    assert not admin_app.exception, admin_app.exception
    return admin_app


def listed(page: AppTest, column: str) -> list[str]:
    """The ids in the table that has `column` (the custom metrics' or dimensions')."""
    [table] = [frame.value for frame in page.dataframe if column in frame.value.columns]
    return list(table["Id"])


def type_metric(page: AppTest, key: str, label: str, formula: str, format_: str) -> None:
    page.text_input(key="cm_new_id").input(key)
    page.text_input(key="cm_new_label").input(label)
    page.selectbox(key="cm_new_format").select(format_)
    page.selectbox(key="cm_new_direction").select("Neither")
    page.text_input(key="cm_new_formula").input(formula).run()
    assert not page.exception, page.exception


def test_an_admin_previews_a_metric_on_last_week_then_saves_it(synced, settings_page):
    workspace_id, _ = synced
    # Given no custom metric: the section says how to make one
    assert "No custom metrics yet: define one below" in texts(settings_page)
    # When the admin types Meta's share of spend
    type_metric(
        settings_page, "meta_share", "Meta share of spend", META_SHARE["formula"], "Percent"
    )
    # Then the preview shows last week's share as the engine computes it, formatted as a percent
    expected = run_query(
        workspace_id,
        {
            "metrics": ["meta_share"],
            "time_range": LAST_WEEK,
            "custom": {"metrics": {"meta_share": META_SHARE}},
        },
    )
    share = expected.frame["meta_share"].iloc[0]
    assert 0 < share < 1
    [tile] = settings_page.metric
    assert tile.label == "Meta share of spend, Nov 13 – Nov 19"
    assert tile.value == catalogue.format_value(expected.metric("meta_share"), share, "USD")
    days = [f.value for f in settings_page.dataframe if "Meta share of spend" in f.value.columns]
    assert len(days[0]) == 7 and days[0]["Meta share of spend"].str.endswith("%").all()
    # And nothing is saved until the admin saves
    assert custom_definitions.definitions(workspace_id).metrics == {}
    settings_page.button(key="cm_save").click().run()
    assert custom_definitions.definitions(workspace_id).metrics == {
        "meta_share": CustomMetric(**META_SHARE)
    }
    assert "Saved the custom metric meta_share." in texts(settings_page)
    assert listed(settings_page, "Formula") == ["meta_share"]
    assert settings_page.text_input(key="cm_new_id").value == ""  # ready for the next one


@pytest.mark.parametrize(
    "formula, message",
    [
        ("spend / ordres", "names 'ordres', which is no metric (did you mean 'orders'?)"),
        ("store_revenue[provider=meta]", "only ad-platform metrics can be restricted"),
        ("spend / (orders", "the formula cannot be read"),
    ],
)
def test_a_formula_that_cannot_be_used_says_why_and_saves_nothing(
    admin, settings_page, formula, message
):
    # When the admin types a formula that cannot be used
    type_metric(settings_page, "broken", "Broken", formula, "Ratio")
    # Then the preview is one sentence saying why, not a traceback
    [error] = settings_page.error
    assert message in error.value and "\n" not in error.value
    # And saving it is refused alike: nothing stored, the formula waits to be corrected
    settings_page.button(key="cm_save").click().run()
    assert not settings_page.exception, settings_page.exception
    assert message in settings_page.error[0].value
    assert custom_definitions.definitions(admin.workspace_id).metrics == {}
    assert settings_page.text_input(key="cm_new_formula").value == formula


def test_a_member_cannot_edit_custom_definitions(member_app, member):
    # Settings is no page of a member's, not even by asking for it
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        member_app.switch_page("views/settings.py")
    # And the service refuses a member's save all the same
    with pytest.raises(PermissionDeniedError, match="only an admin"):
        custom_definitions.save_metric(member, "meta_share", META_SHARE)
    assert custom_definitions.definitions(member.workspace_id).metrics == {}


def test_a_dimension_with_two_rules_is_previewed_then_saved(synced, settings_page):
    workspace_id, _ = synced
    assert "No custom dimensions yet" in texts(settings_page)
    # When the admin names a funnel stage and types two rules (the table's edits)
    settings_page.session_state["cd_new_rules"] = {
        "edited_rows": {},
        "added_rows": STAGE["rules"],
        "deleted_rows": [],
    }
    settings_page.text_input(key="cd_new_id").input("stage")
    settings_page.text_input(key="cd_new_label").input("Funnel stage")
    settings_page.text_input(key="cd_new_otherwise").input("TOFU").run()
    assert not settings_page.exception, settings_page.exception
    # Then last week's spend is split by the draft as the engine splits it
    expected = run_query(
        workspace_id,
        {
            "metrics": ["spend", "roas"],
            "time_range": LAST_WEEK,
            "dimensions": ["stage"],
            "custom": {"dimensions": {"stage": STAGE}},
        },
    ).frame.set_index("stage")
    [preview] = [f.value for f in settings_page.dataframe if "Funnel stage" in f.value.columns]
    shown = preview.set_index("Funnel stage")
    assert set(shown.index) == {"BOFU", "MOFU", "TOFU"} == set(expected.index)
    assert shown["spend"].round(2).to_dict() == expected["spend"].round(2).to_dict()
    # When it is saved, it is stored with its rules in order and listed
    settings_page.button(key="cd_save").click().run()
    assert custom_definitions.definitions(workspace_id).dimensions == {
        "stage": CustomDimension(**STAGE)
    }
    assert "Saved the custom dimension stage." in texts(settings_page)
    assert listed(settings_page, "Otherwise") == ["stage"]


def test_the_tiles_chosen_are_stored_and_the_defaults_can_come_back(admin, settings_page):
    # Given a custom metric, and the default tiles chosen so far
    custom_definitions.save_metric(admin, "meta_share", META_SHARE)
    settings_page.run()
    picker = settings_page.multiselect(key="tiles")
    assert picker.value == list(custom_definitions.DEFAULT_TILES)
    assert "Meta share of spend (custom)" in picker.options
    # When the admin picks ROAS and the custom metric, in that order
    picker.set_value(["roas", "meta_share"])
    settings_page.button(key="tiles_save").click().run()
    # Then the Dashboard's tiles are those, and the picker shows them
    assert custom_definitions.dashboard_tiles(admin.workspace_id) == ["roas", "meta_share"]
    assert settings_page.multiselect(key="tiles").value == ["roas", "meta_share"]
    # And restoring the defaults brings them back
    settings_page.button(key="tiles_default").click().run()
    assert custom_definitions.dashboard_tiles(admin.workspace_id) == list(
        custom_definitions.DEFAULT_TILES
    )
    assert settings_page.multiselect(key="tiles").value == list(custom_definitions.DEFAULT_TILES)


def test_deleting_asks_first_and_keeps_what_another_metric_uses(admin, settings_page):
    # Given a funnel stage, and a custom metric restricted by it
    custom_definitions.save_dimension(admin, "stage", STAGE)
    custom_definitions.save_metric(
        admin,
        "bofu_spend",
        {"label": "BOFU spend", "formula": "spend[stage=BOFU]", "unit": "currency"},
    )
    settings_page.run()
    # When the admin picks the dimension: deleting it waits for a confirmation
    settings_page.selectbox(key="cd_pick").select("stage").run()
    assert settings_page.button(key="cd_delete").disabled
    settings_page.checkbox(key="cd_edit_stage_confirm_delete").check().run()
    settings_page.button(key="cd_delete").click().run()
    # Then it is kept, and the refusal says which metric uses it
    assert "'stage' is used by the custom metric 'bofu_spend'" in settings_page.error[0].value
    assert list(custom_definitions.definitions(admin.workspace_id).dimensions) == ["stage"]
    # When the metric is deleted first, it is gone from the list
    settings_page.selectbox(key="cm_pick").select("bofu_spend").run()
    settings_page.checkbox(key="cm_edit_bofu_spend_confirm_delete").check().run()
    settings_page.button(key="cm_delete").click().run()
    assert custom_definitions.definitions(admin.workspace_id).metrics == {}
    assert "Deleted the custom metric bofu_spend." in texts(settings_page)
    assert "No custom metrics yet" in texts(settings_page)
