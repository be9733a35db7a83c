"""Metricx: log in, then show the pages this user's role may see, each at its own URL."""

import streamlit as st

from metricx.services.workspaces import find_workspace
from ui.navigation import every_page, run_page
from ui.session import require_login

st.set_page_config(page_title="Metricx", page_icon="📈", layout="wide")
# Resolve the requested page before anything else: the login's cookie component reruns the
# script once it loads, and a rerun that starts before the page is known lands on the
# Dashboard. Hidden, so nothing is listed before login.
st.navigation(every_page(), position="hidden")
# The period picker goes right under the menu, above who is signed in: it is used far more,
# and lower down a long menu pushes it to the bottom of a laptop's screen.
period_area = st.sidebar.container()
actor = require_login()
if actor is None:
    st.stop()
st.session_state["actor"] = actor
workspace = find_workspace(actor.workspace_id)
st.session_state["metricx_workspace"] = workspace
run_page(actor, workspace, period_area=period_area)
