"""Platform notices on pages (Connections, Operations): API versions ending, platform warnings
and Meta tokens about to expire, each with what to do."""

from __future__ import annotations

import streamlit as st

from metricx.services.platform_notices import notices


def show_platform_notices(workspace_id: int) -> None:
    """One line per notice: an error when the platform already refuses, else a warning."""
    for notice in notices(workspace_id):
        (st.error if notice.urgent else st.warning)(notice.text)
