"""Logging in, the page list per role, and lockout, driven through app.py with AppTest."""

import pytest
from apptest import fresh_app, log_in, texts

from metricx.services import users


def test_a_visitor_sees_only_the_login_form(db):
    at = fresh_app().run()
    assert not at.exception
    assert [t.label for t in at.text_input] == ["Email", "Password"]
    assert not at.title


def test_an_admin_logs_in_and_lands_on_the_dashboard_with_an_empty_state(admin_app):
    assert not admin_app.exception
    assert admin_app.title[0].value == "Dashboard"
    assert "No data yet" in texts(admin_app)
    admin_app.switch_page("views/connections.py").run()
    assert admin_app.title[0].value == "Connections"
    assert "No connections yet" in texts(admin_app)


def test_a_member_gets_no_admin_page_even_by_asking_for_it(member_app):
    assert member_app.title[0].value == "Dashboard"
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        member_app.switch_page("views/connections.py")


def test_a_wrong_password_is_refused_and_counted_in_the_database(admin):
    at = log_in(admin.label, "wrong password")
    assert "Email or password is incorrect." in texts(at)
    assert users.get_user(admin.label).failed_logins == 1


def test_five_wrong_passwords_lock_the_account_even_with_the_right_one_after(admin):
    for _ in range(5):
        log_in(admin.label, "wrong password")
    at = log_in(admin.label, "correct horse")
    assert "locked" in texts(at)
    assert not at.title
    assert users.is_locked(users.get_user(admin.label))
