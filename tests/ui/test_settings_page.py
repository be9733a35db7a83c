"""Settings (admin): a new zone rebuilds the daily rollup; bad input changes nothing and keeps
what was typed; a save is recorded (costs reviewed, zone and currency confirmed) and shown."""

from decimal import Decimal

import pytest
from apptest import texts
from sqlalchemy import text

from metricx.db import get_engine
from metricx.services import settings, users
from metricx.services.workspaces import find_workspace


@pytest.fixture
def settings_page(admin_app):
    admin_app.switch_page("views/settings.py").run()
    assert not admin_app.exception, admin_app.exception
    return admin_app


def test_a_new_time_zone_moves_every_hour_to_its_new_local_day(synced, admin, settings_page):
    workspace_id, _ = synced
    with get_engine().connect() as conn:
        before = conn.execute(
            text(
                "SELECT sum(spend) FROM metric_daily WHERE workspace_id = :w AND day = '2026-11-12'"
            ),
            {"w": workspace_id},
        ).scalar_one()
    settings_page.text_input(key="ws_timezone").input("Asia/Tokyo")
    settings_page.button(key="ws_save").click().run()
    assert find_workspace(workspace_id).timezone == "Asia/Tokyo"
    with get_engine().connect() as conn:
        after = conn.execute(
            text(
                "SELECT sum(spend) FROM metric_daily WHERE workspace_id = :w AND day = '2026-11-12'"
            ),
            {"w": workspace_id},
        ).scalar_one()
        totals = conn.execute(
            text(
                "SELECT (SELECT sum(spend) FROM metric_daily WHERE workspace_id = :w), "
                "(SELECT sum(spend) FROM metric_snapshots WHERE workspace_id = :w)"
            ),
            {"w": workspace_id},
        ).one()
    assert after != before and totals[0] == totals[1]


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("ws_timezone", "Mars/Olympus", "unknown time zone"),
        ("ws_currency", "dollars", "3-letter ISO code"),
    ],
)
def test_bad_workspace_input_says_why_and_changes_nothing(
    admin, settings_page, key, value, message
):
    settings_page.text_input(key=key).input(value)
    settings_page.button(key="ws_save").click().run()
    assert message in texts(settings_page)
    assert settings_page.text_input(key=key).value == value  # to be corrected, not retyped
    workspace = find_workspace(admin.workspace_id)
    assert (workspace.timezone, workspace.currency) == ("America/New_York", "USD")
    assert workspace.settings_confirmed_at is None


def test_saving_the_workspace_confirms_zone_and_currency(admin, settings_page):
    # Given zone and currency never confirmed
    assert "Not confirmed yet" in texts(settings_page)
    # When the admin saves them, the currency typed in lower case
    settings_page.text_input(key="ws_currency").input("eur")
    settings_page.button(key="ws_save").click().run()
    # Then they are stored and confirmed, and the inputs show what is stored now
    workspace = find_workspace(admin.workspace_id)
    assert workspace.currency == "EUR" and workspace.settings_confirmed_at is not None
    assert settings_page.text_input(key="ws_currency").value == "EUR"
    assert "time zone and currency confirmed" in texts(settings_page)
    assert "Not confirmed yet" not in texts(settings_page)


def test_saving_costs_of_0_records_the_review(admin, settings_page):
    # Given costs never saved: the page says they all count as 0
    assert "Not reviewed yet" in texts(settings_page)
    assert settings_page.text_input(key="cost_handling_per_order").value == "0"
    # When the admin enters shipping and fees and leaves handling at 0
    settings_page.text_input(key="cost_shipping_cost_per_order").input("4.90")
    settings_page.text_input(key="cost_payment_fee_pct").input("0.029")
    settings_page.button(key="costs_save").click().run()
    # Then the costs are stored, 0 included, and no longer called unreviewed
    assert not settings_page.exception, settings_page.exception
    saved = settings.costs(admin.workspace_id)
    assert (saved.shipping_cost_per_order, saved.payment_fee_pct, saved.handling_per_order) == (
        Decimal("4.9"),
        Decimal("0.029"),
        0,
    )
    assert "Costs saved." in texts(settings_page)
    assert "Not reviewed yet" not in texts(settings_page)
    assert settings_page.text_input(key="cost_shipping_cost_per_order").value == "4.9"


@pytest.mark.parametrize(
    "typed, message",
    [
        ("NaN", "the payment fee per order must be a number, got 'NaN'"),
        ("1e30", "the payment fee per order must be 0 or more and at most 1,000,000,000,000"),
    ],
)
def test_a_cost_no_one_can_mean_is_refused_in_words(admin, settings_page, typed, message):
    settings_page.text_input(key="cost_shipping_cost_per_order").input("4.90")
    settings_page.text_input(key="cost_payment_fee_fixed").input(typed)
    settings_page.button(key="costs_save").click().run()
    assert not settings_page.exception, settings_page.exception
    assert message in texts(settings_page)
    # And nothing was saved, while both typed values wait to be corrected
    assert settings_page.text_input(key="cost_payment_fee_fixed").value == typed
    assert settings_page.text_input(key="cost_shipping_cost_per_order").value == "4.90"
    assert settings.costs(admin.workspace_id).shipping_cost_per_order == 0
    assert "Not reviewed yet" in texts(settings_page)


def test_fx_rates_and_costs_are_validated_then_saved(admin, settings_page):
    settings_page.text_input(key="fx_rate").input("abc")
    settings_page.button(key="fx_save").click().run()
    assert "must be a number" in texts(settings_page)
    assert settings.fx_rates(admin.workspace_id) == []
    settings_page.text_input(key="fx_rate").input("1.0812")
    settings_page.button(key="fx_save").click().run()
    assert [float(r.rate) for r in settings.fx_rates(admin.workspace_id)] == [1.0812]


def listed_users(page) -> list[str]:
    [table] = [frame.value for frame in page.dataframe if "Email" in frame.value.columns]
    return list(table["Email"])


def test_an_admin_adds_and_removes_a_user(admin, settings_page):
    # Given a password too short for the new user
    settings_page.text_input(key="invite_email").input("New@acme.test")
    settings_page.text_input(key="invite_password").input("short")
    settings_page.button(key="invite_save").click().run()
    # Then the refusal says why, and the email and password wait to be corrected
    assert "at least 8 characters" in texts(settings_page)
    assert settings_page.text_input(key="invite_email").value == "New@acme.test"
    assert settings_page.text_input(key="invite_password").value == "short"
    assert listed_users(settings_page) == [admin.label]
    # When the password is made longer
    settings_page.text_input(key="invite_password").input("a fine password")
    settings_page.button(key="invite_save").click().run()
    # Then the Users table lists the new user at once, and the form is empty again
    assert users.get_user("new@acme.test").role == "member"
    assert listed_users(settings_page) == [admin.label, "new@acme.test"]
    assert "Added new@acme.test." in texts(settings_page)
    assert settings_page.text_input(key="invite_email").value == ""
    # And removing them takes them off the table as well
    settings_page.button(key="remove_user").click().run()
    assert [u.email for u in users.list_users(admin.workspace_id)] == [admin.label]
    assert listed_users(settings_page) == [admin.label]


def test_the_pixel_section_shows_the_snippet_and_rotates_the_key_only_when_confirmed(
    admin, settings_page
):
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
