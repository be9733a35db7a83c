"""Login (streamlit-authenticator fed from the users table) and the current actor."""

from __future__ import annotations

import streamlit as st
import streamlit_authenticator as stauth
from streamlit_authenticator.utilities.exceptions import LoginError

from metricx.actor import Actor
from metricx.config import get_config
from metricx.errors import NotFoundError
from metricx.services import users

COOKIE_NAME = "metricx_auth"


def _authenticator(credentials: dict) -> stauth.Authenticate:
    config = get_config()
    return stauth.Authenticate(credentials, COOKIE_NAME, config.cookie_key,
                               config.cookie_expiry_days, auto_hash=False)


def _note_login_result(credentials: dict, before: dict[str, int]) -> None:
    """Mirror the authenticator's verdict into the database (failures, lockout, last login)."""
    email = st.session_state.get("username")
    if st.session_state.get("authentication_status"):
        if st.session_state.get("login_recorded") != email:
            users.record_successful_login(email)
            st.session_state["login_recorded"] = email
        return
    for address, entry in credentials["usernames"].items():
        if entry.get("failed_login_attempts", 0) > before.get(address, 0):
            user = users.record_failed_login(address)
            if user is not None and users.is_locked(user):
                st.error("Too many failed attempts: this account is locked for "
                         f"{get_config().login_lock_minutes} minutes.")


def require_login() -> Actor | None:
    """Who is logged in; None while the login form (or why it refused) is shown instead."""
    credentials = users.login_credentials()
    before = {u: e["failed_login_attempts"] for u, e in credentials["usernames"].items()}
    authenticator = _authenticator(credentials)
    try:
        authenticator.login(location="main", max_login_attempts=get_config().login_max_failures,
                            fields={"Form name": "Log in to Metricx", "Username": "Email",
                                    "Password": "Password", "Login": "Log in"})
    except LoginError as error:
        message = str(error)
        if "attempts" in message:
            message = "This account is locked after too many failed attempts; try again later."
        st.error(message)
        return None
    _note_login_result(credentials, before)
    status = st.session_state.get("authentication_status")
    if status is False:
        st.error("Email or password is incorrect.")
    if not status:
        return None
    try:
        user = users.get_user(st.session_state["username"])
    except NotFoundError:
        authenticator.logout(location="unrendered")
        st.error("This user no longer exists.")
        return None
    with st.sidebar:
        st.caption(f"Signed in as **{user.email}** ({user.role})")
        authenticator.logout("Log out", location="sidebar")
    if not st.session_state.get("authentication_status"):
        st.rerun()  # logged out just now: the next run shows the login form without the menu
    return users.actor_for(user)


def current_actor() -> Actor:
    """The actor app.py put in the session; pages call this."""
    actor = st.session_state.get("actor")
    if actor is None:
        st.error("Please log in.")
        st.stop()
    return actor
