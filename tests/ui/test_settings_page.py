"""Settings (admin): a new zone rebuilds the daily rollup; bad input changes nothing."""

import pytest
from apptest import texts
from sqlalchemy import text

from metricx.db import get_engine
from metricx.services import settings, users
from metricx.services.workspaces import find_workspace


@pytest.fixture
def settings_page(admin_app):
    admin_app.switch_page("pages/settings.py").run()
    assert not admin_app.exception, admin_app.exception
    return admin_app


def test_a_new_time_zone_moves_every_hour_to_its_new_local_day(synced, admin, settings_page):
    workspace_id, _ = synced
    with get_engine().connect() as conn:
        before = conn.execute(text("SELECT sum(spend) FROM metric_daily WHERE workspace_id = :w "
                                   "AND day = '2026-11-12'"), {"w": workspace_id}).scalar_one()
    settings_page.text_input(key="ws_timezone").input("Asia/Tokyo")
    settings_page.button(key="ws_save").click().run()
    assert find_workspace(workspace_id).timezone == "Asia/Tokyo"
    with get_engine().connect() as conn:
        after = conn.execute(text("SELECT sum(spend) FROM metric_daily WHERE workspace_id = :w "
                                  "AND day = '2026-11-12'"), {"w": workspace_id}).scalar_one()
        totals = conn.execute(text(
            "SELECT (SELECT sum(spend) FROM metric_daily WHERE workspace_id = :w), "
            "(SELECT sum(spend) FROM metric_snapshots WHERE workspace_id = :w)"),
            {"w": workspace_id}).one()
    assert after != before and totals[0] == totals[1]


@pytest.mark.parametrize("key, value, message", [
    ("ws_timezone", "Mars/Olympus", "unknown time zone"),
    ("ws_currency", "dollars", "3-letter ISO code"),
])
def test_bad_workspace_input_says_why_and_changes_nothing(admin, settings_page, key, value,
                                                         message):
    settings_page.text_input(key=key).input(value)
    settings_page.button(key="ws_save").click().run()
    assert message in texts(settings_page)
    workspace = find_workspace(admin.workspace_id)
    assert (workspace.timezone, workspace.currency) == ("America/New_York", "USD")


def test_fx_rates_and_costs_are_validated_then_saved(admin, settings_page):
    settings_page.text_input(key="fx_rate").input("abc")
    settings_page.button(key="fx_save").click().run()
    assert "must be a number" in texts(settings_page)
    assert settings.fx_rates(admin.workspace_id) == []
    settings_page.text_input(key="fx_rate").input("1.0812")
    settings_page.button(key="fx_save").click().run()
    assert [float(r.rate) for r in settings.fx_rates(admin.workspace_id)] == [1.0812]


def test_an_admin_adds_and_removes_a_user(admin, settings_page):
    settings_page.text_input(key="invite_email").input("new@acme.test")
    settings_page.text_input(key="invite_password").input("a fine password")
    settings_page.button(key="invite_save").click().run()
    assert users.get_user("new@acme.test").role == "member"
    settings_page.button(key="remove_user").click().run()
    assert [u.email for u in users.list_users(admin.workspace_id)] == [admin.label]


def test_the_pixel_section_shows_the_snippet_and_rotates_the_key_only_when_confirmed(
        admin, settings_page):
    # Given the page open, it shows the workspace's key inside a ready-to-paste snippet
    old = find_workspace(admin.workspace_id).pixel_key
    codes = [c.value for c in settings_page.code]
    assert old in codes
    assert any(f'var KEY = "{old}"' in c and "/v1/pixel-events" in c for c in codes)
    # And rotating needs a confirmation first
    assert settings_page.button(key="pixel_rotate").disabled
    settings_page.checkbox(key="pixel_rotate_confirm").check().run()
    settings_page.button(key="pixel_rotate").click().run()
    # Then the new key is stored and shown at once
    new = find_workspace(admin.workspace_id).pixel_key
    assert new != old and new in [c.value for c in settings_page.code]
    assert "New key made" in texts(settings_page)
