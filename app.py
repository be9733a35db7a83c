"""Metricx: log in, then show the pages this user's role may see."""

import streamlit as st

from metricx.services.workspaces import find_workspace
from ui.navigation import pages_for
from ui.session import require_login

st.set_page_config(page_title="Metricx", page_icon="📈", layout="wide")
actor = require_login()
st.session_state["actor"] = actor
st.session_state["metricx_workspace"] = find_workspace(actor.workspace_id)
st.navigation(pages_for(actor)).run()
