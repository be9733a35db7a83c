"""Login (streamlit-authenticator fed from the users table) and the current actor.

A login lasts while the user's session version in the database is the one it began under:
logging out, a password change and a lockout bump it (metricx.services.users). Every run
compares the two, so each open session of that user shows the login form at its next rerun;
and the key that signs a user's login cookie is derived from the version, so the cookies
issued before the bump no longer verify.
"""

from __future__ import annotations

import hashlib
import hmac

import jwt
import streamlit as st
import streamlit_authenticator as stauth
from streamlit_authenticator.utilities.exceptions import LoginError

from metricx.actor import Actor
from metricx.config import get_config
from metricx.errors import NotFoundError
from metricx.services import users
from metricx.services.users import User

COOKIE_NAME = "metricx_auth"
SESSION_VERSION = "metricx_session_version"  # the version this session's login began under
SESSION_ENDED = "metricx_session_ended"  # says why the login form is back, once
COOKIE_AGAIN = "metricx_cookie_again"  # write the login cookie again in the next run


def login_cookie_key(credentials: dict, email: str | None) -> str:
    """The key signing `email`'s login cookie: the install's cookie key bound to the user's
    id and session version (a bumped version, or an email given to a new user, changes it)."""
    entry = credentials["usernames"].get(email or "", {})
    subject = f"{entry.get('user_id')}\n{email}\n{entry.get('session_version')}"
    secret = get_config().login_cookie_key().encode()
    return hmac.new(secret, subject.encode(), hashlib.sha256).hexdigest()


def _cookie_owner() -> str | None:
    """Whose login cookie this browser sent, unverified: it only picks the key the
    authenticator verifies the cookie with."""
    token = st.context.cookies.get(COOKIE_NAME)
    if not token:
        return None
    try:
        owner = jwt.decode(token, options={"verify_signature": False}).get("username")
    except jwt.PyJWTError:
        return None
    return owner if isinstance(owner, str) else None


def _use_cookie_key_of(authenticator: stauth.Authenticate, credentials: dict, email: str) -> None:
    # The key the authenticator holds was picked for the cookie the browser sent, if any; the
    # cookie it writes for `email` must be signed with `email`'s own (streamlit-authenticator
    # 0.4.2 keeps it on its cookie model).
    authenticator.cookie_controller.cookie_model.cookie_key = login_cookie_key(credentials, email)


def _note_refusal(credentials: dict, before: dict[str, int]) -> None:
    """Mirror a refused login into the database (failures, lockout)."""
    refused = [
        address
        for address, entry in credentials["usernames"].items()
        if entry.get("failed_login_attempts", 0) > before.get(address, 0)
    ]
    if not refused:  # an email no user has: the authenticator checked no password
        users.refuse_unknown_email()
    for address in refused:
        user = users.record_failed_login(address)
        if user is not None and users.is_locked(user):
            st.error(
                "Too many failed attempts: this account is locked for "
                f"{get_config().login_lock_minutes} minutes."
            )


def _current_user(email: str) -> User | None:
    try:
        return users.get_user(email)
    except NotFoundError:
        return None


def say_at_login(message: str) -> None:
    """What the login form says once, when this session has just been ended on purpose."""
    st.session_state[SESSION_ENDED] = message


def require_login() -> Actor | None:
    """Who is logged in; None while the login form (or why it refused) is shown instead."""
    config = get_config()
    credentials = users.login_credentials()
    before = {u: e["failed_login_attempts"] for u, e in credentials["usernames"].items()}
    authenticator = stauth.Authenticate(
        credentials,
        COOKIE_NAME,
        login_cookie_key(credentials, _cookie_owner()),
        config.cookie_expiry_days,
        auto_hash=False,
    )

    def sign_cookie_for(login: dict) -> None:  # called between the password check and the write
        _use_cookie_key_of(authenticator, credentials, login["username"])
        st.session_state[COOKIE_AGAIN] = True

    # The cookie is written by a component in the browser, and a run that ends early (the Home
    # page forwards at once) can drop it before it ran: the run after a login writes it again.
    write_cookie_again = st.session_state.pop(COOKIE_AGAIN, False)
    if not st.session_state.get("authentication_status"):
        st.session_state["authentication_status"] = None  # False below: refused in this run
    if SESSION_ENDED in st.session_state and not st.session_state["authentication_status"]:
        st.info(st.session_state.pop(SESSION_ENDED))  # once the session has really ended
    try:
        authenticator.login(
            location="main",
            max_login_attempts=config.login_max_failures,
            fields={
                "Form name": "Log in to Metricx",
                "Username": "Email",
                "Password": "Password",
                "Login": "Log in",
            },
            callback=sign_cookie_for,
        )
    except LoginError as error:
        message = str(error)
        if "attempts" in message:
            message = "This account is locked after too many failed attempts; try again later."
        st.error(message)
        return None
    status = st.session_state.get("authentication_status")
    if not status:
        st.session_state.pop(SESSION_VERSION, None)
        if status is False:
            _note_refusal(credentials, before)
            st.error("Email or password is incorrect.")
        return None
    email = st.session_state["username"]
    if SESSION_VERSION not in st.session_state:  # logged in during this run: form or cookie
        users.record_successful_login(email)
        st.session_state[SESSION_VERSION] = credentials["usernames"][email]["session_version"]
    user = _current_user(email)
    if user is None or user.session_version != st.session_state[SESSION_VERSION]:
        authenticator.logout(location="unrendered")
        st.session_state.pop(SESSION_VERSION)
        st.session_state.setdefault(SESSION_ENDED, "Your session has ended: please log in again.")
        st.rerun()
    if write_cookie_again:
        _use_cookie_key_of(authenticator, credentials, email)
        authenticator.cookie_controller.set_cookie()
    with st.sidebar:
        st.caption(f"Signed in as **{user.email}** ({user.role})")
        authenticator.logout(
            "Log out",
            location="sidebar",
            callback=lambda logout: users.end_sessions(logout["username"]),
        )
    if not st.session_state.get("authentication_status"):
        st.session_state.pop(SESSION_VERSION)
        st.rerun()  # logged out just now: the next run shows the login form without the menu
    return users.actor_for(user)


def current_actor() -> Actor:
    """The actor app.py put in the session; pages call this."""
    actor = st.session_state.get("actor")
    if actor is None:
        st.error("Please log in.")
        st.stop()
    return actor
