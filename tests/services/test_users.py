from datetime import UTC, datetime, timedelta

import pytest

from metricx.errors import InvalidInputError, PermissionDeniedError
from metricx.services import users


def test_a_password_is_stored_as_a_bcrypt_hash(workspace):
    created = users.add_user(workspace.id, "Eve@Acme.test", "long enough")
    stored = users.get_user("eve@acme.test")
    assert created.email == "eve@acme.test"
    assert stored.password_hash.startswith("$2") and "long enough" not in stored.password_hash


@pytest.mark.parametrize(
    "email, password, role, message",
    [
        ("not-an-email", "long enough", "member", "not an email"),
        ("a@b.test", "short", "member", "at least 8"),
        ("a@b.test", "long enough", "owner", "role must be one of"),
    ],
)
def test_bad_user_input_is_refused(workspace, email, password, role, message):
    with pytest.raises(InvalidInputError, match=message):
        users.add_user(workspace.id, email, password, role=role)
    assert users.list_users(workspace.id) == []


def test_an_email_is_unique_across_workspaces_without_saying_where_it_is_used(
    workspace, other_workspace
):
    # Given an email in use in one workspace
    users.add_user(workspace.id, "sam@x.test", "long enough")
    # When another workspace's admin adds it, it is refused without telling them it exists
    with pytest.raises(InvalidInputError) as refused:
        users.add_user(other_workspace.id, "SAM@x.test", "long enough")
    assert str(refused.value) == (
        "sam@x.test cannot be added: ask the person for another email address"
    )
    # While an admin adding one of their own users again is told just that
    with pytest.raises(InvalidInputError, match="already a user of this workspace"):
        users.add_user(workspace.id, "sam@x.test", "long enough")
    assert [u.email for u in users.list_users(other_workspace.id)] == []


def test_a_member_cannot_add_users(member):
    with pytest.raises(PermissionDeniedError):
        users.add_user(member.workspace_id, "new@acme.test", "long enough", actor=member)


def test_five_failures_in_a_row_lock_the_user_for_a_while(admin):
    # Given four failures, the user is not locked yet
    now = datetime.now(UTC)
    for _ in range(4):
        users.record_failed_login(admin.label, now)
    assert not users.is_locked(users.get_user(admin.label), now)
    # When the fifth fails
    users.record_failed_login(admin.label, now)
    # Then the lock is in the database, and the credentials handed to the login form say so
    locked = users.get_user(admin.label)
    assert users.is_locked(locked, now)
    entry = users.login_credentials(now)["usernames"][admin.label]
    assert entry["failed_login_attempts"] == 5
    # And after the lock period the user may try again
    later = now + timedelta(minutes=16)
    assert not users.is_locked(locked, later)
    assert users.login_credentials(later)["usernames"][admin.label]["failed_login_attempts"] == 0


def test_a_success_resets_the_failure_count(admin):
    for _ in range(4):
        users.record_failed_login(admin.label)
    users.record_successful_login(admin.label)
    users.record_failed_login(admin.label)
    stored = users.get_user(admin.label)
    assert stored.failed_logins == 1 and stored.last_login_at is not None


def test_a_user_changes_their_own_password_only_with_the_current_one(member):
    with pytest.raises(InvalidInputError, match="current password"):
        users.change_own_password(member, "wrong one", "brand new pass")
    users.change_own_password(member, "battery staple", "brand new pass")
    import bcrypt

    stored = users.get_user(member.label).password_hash.encode()
    assert bcrypt.checkpw(b"brand new pass", stored)


def session_version(email: str) -> int:
    return users.get_user(email).session_version


def test_what_ends_a_users_sessions_bumps_their_session_version(admin, member):
    # Logging in and a failed attempt leave open sessions alone
    users.record_successful_login(member.label)
    users.record_failed_login(member.label)
    assert session_version(member.label) == 0
    # Each of these ends them: logging out, a reset, a change, a lockout
    users.end_sessions(member.label)
    assert session_version(member.label) == 1
    users.set_password(member.label, "reset by admin", admin)
    assert session_version(member.label) == 2
    users.change_own_password(member, "reset by admin", "changed by me")
    assert session_version(member.label) == 3
    for _ in range(5):
        users.record_failed_login(member.label)
    assert session_version(member.label) == 4
    # And nobody else's
    assert session_version(admin.label) == 0


@pytest.mark.parametrize("typed", ["  with spaces  ", "with spaces"])
def test_a_password_is_kept_without_its_surrounding_spaces(member, typed):
    # (the login form strips what is typed; a password kept with spaces could never log in)
    import bcrypt

    users.change_own_password(member, "  battery staple  ", "  with spaces  ")
    stored = users.get_user(member.label).password_hash.encode()
    assert bcrypt.checkpw(b"with spaces", stored)
    users.change_own_password(member, typed, "another one")


def test_spaces_do_not_count_towards_a_passwords_length(workspace):
    with pytest.raises(InvalidInputError, match="at least 8"):
        users.add_user(workspace.id, "pad@acme.test", "   short   ")
