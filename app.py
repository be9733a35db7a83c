"""Metricx: log in, then show the pages this user's role may see, each at its own URL."""

import streamlit as st

from metricx.services.workspaces import find_workspace
from ui.navigation import every_page, run_page
from ui.session import require_login

st.set_page_config(page_title="Metricx", page_icon="📈", layout="wide")
actor = require_login()
if actor is None:
    # Still name every page (hidden): the requested path and its query parameters survive the
    # login form, so a reload, a bookmark or an OAuth return lands where it pointed.
    st.navigation(every_page(), position="hidden")
    st.stop()
st.session_state["actor"] = actor
workspace = find_workspace(actor.workspace_id)
st.session_state["metricx_workspace"] = workspace
run_page(actor, workspace)
