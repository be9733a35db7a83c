"""Users, passwords and login bookkeeping (failed attempts, lockout and session versions live
in the database).

A password is kept as typed minus surrounding whitespace, because the login form
(streamlit-authenticator) strips what is typed before checking it: stripping at every set and
check too means a password typed with a stray space logs in either way.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import bcrypt
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from metricx import validation
from metricx.actor import Actor
from metricx.config import get_config
from metricx.db import new_session, transaction
from metricx.errors import InvalidInputError, NotFoundError
from metricx.models import User as User  # the type pages get, named here for them
from metricx.services import audit
from metricx.vocabulary import ROLES


def hash_password(password: str) -> str:
    """The bcrypt hash of a new password (checked, surrounding whitespace stripped)."""
    salt = bcrypt.gensalt(rounds=get_config().bcrypt_rounds)
    return bcrypt.hashpw(validation.password(password.strip()).encode(), salt).decode()


def _password_matches(password: str, password_hash: str) -> bool:
    typed = password.strip().encode()
    # bcrypt refuses more than 72 bytes, and no password that long can be set
    return len(typed) <= 72 and bcrypt.checkpw(typed, password_hash.encode())


@cache
def _unmatchable_hash(rounds: int) -> str:
    return bcrypt.hashpw(secrets.token_bytes(32), bcrypt.gensalt(rounds=rounds)).decode()


def refuse_unknown_email() -> None:
    """A login for an email no user has is refused as slowly as a wrong password: one bcrypt
    check (at the configured cost) against a hash no password matches, so timing does not
    tell which emails have an account."""
    _password_matches("not a password", _unmatchable_hash(get_config().bcrypt_rounds))


def add_user(
    workspace_id: int,
    email: str,
    password: str,
    *,
    role: str = "member",
    name: str | None = None,
    actor: Actor | None = None,
) -> User:
    """Create a user. `actor` (an admin) is required except for the bootstrap admin."""
    if actor is not None:
        actor.require_admin("add users")
    if role not in ROLES:
        raise InvalidInputError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    address = validation.email(email)
    user = User(
        workspace_id=workspace_id,
        email=address,
        name=validation.name(name or address.split("@")[0], "name"),
        password_hash=hash_password(password),
        role=role,
    )
    try:
        with transaction() as session:
            session.add(user)
            session.flush()
            audit.record(
                session, actor or Actor.system(workspace_id), "user.add", address, role=role
            )
    except IntegrityError:
        raise InvalidInputError(_taken_email_message(workspace_id, address)) from None
    return user


def _taken_email_message(workspace_id: int, address: str) -> str:
    """Emails are unique across workspaces (they are the login), but whether another
    workspace has an address is not this workspace's business: the message only says so for
    its own users, whom its admins can list anyway."""
    with new_session() as session:
        own = session.scalar(
            select(User.id).where(User.email == address, User.workspace_id == workspace_id)
        )
    if own is not None:
        return f"{address} is already a user of this workspace"
    return f"{address} cannot be added: ask the person for another email address"


def list_users(workspace_id: int) -> list[User]:
    with new_session() as session:
        return list(
            session.scalars(
                select(User).where(User.workspace_id == workspace_id).order_by(User.email)
            )
        )


def get_user(email: str) -> User:
    with new_session() as session:
        user = session.scalar(select(User).where(User.email == email.strip().lower()))
        if user is None:
            raise NotFoundError(f"no user {email!r}")
        return user


def actor_for(user: User) -> Actor:
    return Actor(workspace_id=user.workspace_id, role=user.role, label=user.email, user_id=user.id)


def is_locked(user: User, now: datetime | None = None) -> bool:
    return user.locked_until is not None and user.locked_until > (now or datetime.now(UTC))


def login_credentials(now: datetime | None = None) -> dict[str, Any]:
    """Every user in the shape streamlit-authenticator takes, read fresh from the database.

    A locked user is given `failed_login_attempts` at the maximum, so the authenticator
    refuses them before even checking the password. `user_id` and `session_version` are ours:
    they make the key that signs the user's login cookie (ui/session.py).
    """
    max_failures = get_config().login_max_failures
    with new_session() as session:
        users = session.scalars(select(User)).all()
    return {
        "usernames": {
            u.email: {
                "email": u.email,
                "first_name": u.name,
                "last_name": "",
                "name": u.name,
                "password": u.password_hash,
                "roles": [u.role],
                "failed_login_attempts": max_failures if is_locked(u, now) else 0,
                "user_id": u.id,
                "session_version": u.session_version,
            }
            for u in users
        }
    }


def _end_sessions(user: User) -> None:
    user.session_version += 1


def end_sessions(email: str) -> None:
    """End every open session of this user (logging out does): each shows the login form at
    its next rerun, and their login cookies no longer verify."""
    with transaction() as session:
        session.execute(
            update(User)
            .where(User.email == email.strip().lower())
            .values(session_version=User.session_version + 1)
        )


def record_failed_login(email: str, now: datetime | None = None) -> User | None:
    """Count a failure; the LOGIN_MAX_FAILURES-th in a row locks the user for a while."""
    config = get_config()
    now = now or datetime.now(UTC)
    with transaction() as session:
        user = session.scalar(
            select(User).where(User.email == email.strip().lower()).with_for_update()
        )
        if user is None:
            return None
        user.failed_logins += 1
        if user.failed_logins >= config.login_max_failures:
            user.locked_until = now + timedelta(minutes=config.login_lock_minutes)
            user.failed_logins = 0
            _end_sessions(user)
            audit.record(session, actor_for(user), "user.locked", user.email)
        return user


def record_successful_login(email: str, now: datetime | None = None) -> None:
    with transaction() as session:
        session.execute(
            update(User)
            .where(User.email == email.strip().lower())
            .values(failed_logins=0, locked_until=None, last_login_at=now or func.now())
        )


def set_password(email: str, password: str, actor: Actor) -> None:
    actor.require_admin("reset passwords")
    with transaction() as session:
        user = session.scalar(
            select(User).where(
                User.email == email.strip().lower(), User.workspace_id == actor.workspace_id
            )
        )
        if user is None:
            raise NotFoundError(f"no user {email!r} in this workspace")
        user.password_hash = hash_password(password)
        user.failed_logins, user.locked_until = 0, None
        _end_sessions(user)
        audit.record(session, actor, "user.password_reset", user.email)


def change_own_password(actor: Actor, current: str, new: str) -> None:
    """Any user may change their own password, given the current one. Every session of the
    user ends, this one included: the next page asks for the new password."""
    with transaction() as session:
        user = session.get(User, actor.user_id)
        if user is None or user.workspace_id != actor.workspace_id:
            raise NotFoundError("this user no longer exists")
        if not _password_matches(current, user.password_hash):
            raise InvalidInputError("the current password is not right")
        user.password_hash = hash_password(new)
        _end_sessions(user)
        audit.record(session, actor, "user.password_change", user.email)


def remove_user(actor: Actor, email: str) -> None:
    """Remove a user of the actor's workspace (never yourself: a workspace keeps an admin)."""
    actor.require_admin("remove users")
    address = email.strip().lower()
    if address == actor.label:
        raise InvalidInputError("you cannot remove yourself")
    with transaction() as session:
        user = session.scalar(
            select(User).where(User.email == address, User.workspace_id == actor.workspace_id)
        )
        if user is None:
            raise NotFoundError(f"no user {email!r} in this workspace")
        session.delete(user)
        audit.record(session, actor, "user.remove", address)
