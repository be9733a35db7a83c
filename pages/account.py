"""Account: who you are, and changing your own password."""

import streamlit as st

from metricx.errors import MetricxError
from metricx.services import users
from ui.session import current_actor

actor = current_actor()
st.title("Your account")
st.write(f"**{actor.label}** · role **{actor.role}**")

st.subheader("Change password")
with st.form("change_password", clear_on_submit=True):
    current = st.text_input("Current password", type="password")
    new = st.text_input("New password", type="password")
    again = st.text_input("New password again", type="password")
    submitted = st.form_submit_button("Change password")
if submitted:
    if new != again:
        st.error("The two new passwords differ.")
    else:
        try:
            users.change_own_password(actor, current, new)
        except MetricxError as error:
            st.error(str(error))
        else:
            st.success("Password changed.")
