"""Account: who you are, and changing your own password."""

import streamlit as st

from metricx.errors import MetricxError
from metricx.services import users
from ui.session import current_actor, say_at_login

INPUTS = ("pw_current", "pw_new", "pw_again")

actor = current_actor()
st.title("Your account")
st.write(f"**{actor.label}** · role **{actor.role}**")

st.subheader("Change password")
with st.form("change_password"):
    current = st.text_input("Current password", type="password", key="pw_current")
    new = st.text_input("New password", type="password", key="pw_new")
    again = st.text_input("New password again", type="password", key="pw_again")
    submitted = st.form_submit_button("Change password", key="pw_save")
if submitted and new != again:
    st.error("The two new passwords differ.")  # what was typed stays, to be corrected
elif submitted:
    try:
        users.change_own_password(actor, current, new)
    except MetricxError as error:
        st.error(str(error))
    else:
        for key in INPUTS:  # passwords do not stay in the form once they worked
            st.session_state.pop(key, None)
        # The change ends every session of this user, this one too (session_version).
        say_at_login("Password changed: log in with your new password.")
        st.rerun()
