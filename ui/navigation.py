"""The page list per role. A page left out here cannot be reached, not even by URL."""

from __future__ import annotations

import streamlit as st

from metricx.actor import Actor


def _page(file: str, title: str, icon: str) -> st.Page:
    # Relative to app.py, which is how AppTest.switch_page names pages too.
    return st.Page(f"pages/{file}", title=title, icon=icon)


def pages_for(actor: Actor) -> dict[str, list[st.Page]]:
    """Sections in display order; the first page is where a login lands."""
    sections: dict[str, list[st.Page]] = {
        "Insights": [_page("dashboard.py", "Dashboard", ":material/dashboard:"),
                     _page("analytics.py", "Analytics", ":material/query_stats:"),
                     _page("campaigns.py", "Campaigns", ":material/account_tree:"),
                     _page("finance.py", "Finance", ":material/account_balance:"),
                     _page("attribution.py", "Attribution", ":material/conversion_path:"),
                     _page("copilot.py", "Copilot", ":material/chat:")],
    }
    if actor.is_admin:
        sections["Admin"] = [_page("connections.py", "Connections", ":material/cable:"),
                             _page("operations.py", "Operations", ":material/monitoring:"),
                             _page("settings.py", "Settings", ":material/settings:")]
    sections["You"] = [_page("account.py", "Account", ":material/person:")]
    return sections
