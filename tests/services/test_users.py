from datetime import UTC, datetime, timedelta

import pytest

from metricx.errors import InvalidInputError, PermissionDeniedError
from metricx.services import users


def test_a_password_is_stored_as_a_bcrypt_hash(workspace):
    created = users.add_user(workspace.id, "Eve@Acme.test", "long enough")
    stored = users.get_user("eve@acme.test")
    assert created.email == "eve@acme.test"
    assert stored.password_hash.startswith("$2") and "long enough" not in stored.password_hash


@pytest.mark.parametrize("email, password, role, message", [
    ("not-an-email", "long enough", "member", "not an email"),
    ("a@b.test", "short", "member", "at least 8"),
    ("a@b.test", "long enough", "owner", "role must be one of"),
])
def test_bad_user_input_is_refused(workspace, email, password, role, message):
    with pytest.raises(InvalidInputError, match=message):
        users.add_user(workspace.id, email, password, role=role)
    assert users.list_users(workspace.id) == []


def test_an_email_is_unique_across_workspaces(workspace, other_workspace):
    users.add_user(workspace.id, "sam@x.test", "long enough")
    with pytest.raises(InvalidInputError, match="already exists"):
        users.add_user(other_workspace.id, "SAM@x.test", "long enough")


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
