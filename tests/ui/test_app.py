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


# Hardening (#13): sessions end with the session version, page errors show an id only, and a
# login reveals nothing about which emails exist.


def browser_sends(monkeypatch, cookies: dict[str, str]) -> None:
    """The cookies every new session's first request carries (AppTest cannot send any)."""
    from streamlit.runtime.context import ContextProxy

    monkeypatch.setattr(ContextProxy, "cookies", property(lambda _: cookies))


def signed_cookie(email: str, key: str) -> dict[str, str]:
    """A login cookie as streamlit-authenticator writes it: the email and an expiry, signed."""
    from datetime import datetime, timedelta

    import jwt

    from ui.session import COOKIE_NAME

    expiry = (datetime.now() + timedelta(days=1)).timestamp()
    return {COOKIE_NAME: jwt.encode({"username": email, "exp_date": expiry}, key, "HS256")}


def test_a_password_change_elsewhere_ends_an_open_session(member, admin):
    # Given a member logged in
    at = log_in(member.label, "battery staple")
    assert at.title[0].value == "Dashboard"
    # When an admin resets their password from another session
    users.set_password(member.label, "a brand new one", admin)
    # Then the member's next run shows the login form, and says why
    at.run()
    assert [t.label for t in at.text_input] == ["Email", "Password"]
    assert not at.title and not at.exception
    assert "Your session has ended" in texts(at)


def test_changing_your_own_password_asks_you_to_log_in_with_the_new_one(member):
    # Given a member on their account page
    at = log_in(member.label, "battery staple")
    at.switch_page("views/account.py").run()
    # When they change their password
    at.text_input(key="pw_current").input("battery staple")
    at.text_input(key="pw_new").input("a brand new one")
    at.text_input(key="pw_again").input("a brand new one")
    at.button(key="pw_save").click().run()
    # Then the login form is back and says why, and only the new password logs in
    assert [t.label for t in at.text_input] == ["Email", "Password"]
    assert not at.exception
    assert "Password changed: log in with your new password." in texts(at)
    assert log_in(member.label, "a brand new one").title[0].value == "Dashboard"


def test_logging_out_ends_the_users_other_sessions(member):
    first, second = (log_in(member.label, "battery staple") for _ in range(2))
    second.sidebar.button[0].click().run()  # Log out
    first.run()
    assert [t.label for t in first.text_input] == ["Email", "Password"]


def test_a_login_cookie_works_until_the_users_sessions_end(member, monkeypatch):
    from ui.session import login_cookie_key

    # Given a browser holding the login cookie the member got at login
    key = login_cookie_key(users.login_credentials(), member.label)
    browser_sends(monkeypatch, signed_cookie(member.label, key))
    # Then a new session opens logged in
    assert fresh_app().run().title[0].value == "Dashboard"
    # When the member's sessions end (a logout, a password change or a lockout)
    users.end_sessions(member.label)
    # Then the same cookie opens the login form
    at = fresh_app().run()
    assert [t.label for t in at.text_input] == ["Email", "Password"] and not at.title


@pytest.mark.parametrize(
    "key", ["metricx-dev-cookie-key-change-me", "another install's own secret cookie key"]
)
def test_a_cookie_signed_with_any_other_key_logs_nobody_in(admin, monkeypatch, key):
    # The published default key (any `make run` until #13) and a key of another install
    browser_sends(monkeypatch, signed_cookie(admin.label, key))
    at = fresh_app().run()
    assert [t.label for t in at.text_input] == ["Email", "Password"] and not at.title


@pytest.mark.page_fails
def test_a_failing_page_shows_an_error_id_and_the_log_has_the_rest(member, monkeypatch, caplog):
    import ui.session

    # Given a page that fails with SQL in its error
    at = log_in(member.label, "battery staple")

    def failing() -> None:
        raise RuntimeError("SELECT password_hash FROM users WHERE email = 'x'")

    monkeypatch.setattr(ui.session, "current_actor", failing)
    # When it runs
    at.run()
    # Then the reader sees a short message with an error id, not the exception
    assert not at.exception
    shown = texts(at)
    assert "Something went wrong on this page (error id " in shown
    assert "SELECT" not in shown and "RuntimeError" not in shown
    # And the server log has the exception under the same id
    error_id = shown.split("error id ")[1].split(")")[0]
    logged = [r for r in caplog.records if error_id in r.getMessage()]
    assert logged and "SELECT password_hash" in str(logged[0].exc_info[1])


def test_an_unknown_email_costs_the_same_password_check_as_a_known_one(member, monkeypatch):
    import bcrypt

    checks: list[int] = []
    check = bcrypt.checkpw

    def counted(password: bytes, hashed: bytes) -> bool:
        checks.append(int(hashed.split(b"$")[2]))  # the cost factor of the hash checked
        return check(password, hashed)

    monkeypatch.setattr(bcrypt, "checkpw", counted)
    log_in(member.label, "wrong password")
    known = list(checks)
    checks.clear()
    at = log_in("nobody@acme.test", "wrong password")
    assert checks == known and len(known) == 1
    assert "Email or password is incorrect." in texts(at)


@pytest.mark.parametrize("typed", ["  spaced out  ", "spaced out"])
def test_a_password_set_with_surrounding_spaces_logs_in(workspace, typed):
    users.add_user(workspace.id, "sam@acme.test", "  spaced out  ")
    at = log_in("sam@acme.test", typed)
    assert at.title[0].value == "Dashboard"
