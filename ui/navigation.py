"""The page list per role, each page at a stable URL path. A page left out here cannot be
reached, not even by URL."""

from __future__ import annotations

import streamlit as st

from metricx.actor import Actor
from metricx.models import Workspace
from ui.period import period_picker


def _page(file: str, title: str, icon: str) -> st.Page:
    # Relative to app.py, which is how AppTest.switch_page names pages too. The path is the
    # file's name: /analytics, /campaigns, ... (the Dashboard is also /).
    name = file.removesuffix(".py")
    return st.Page(f"views/{file}", title=title, icon=icon, url_path=name,
                   default=name == "dashboard")


INSIGHTS = [("dashboard.py", "Dashboard", ":material/dashboard:"),
            ("analytics.py", "Analytics", ":material/query_stats:"),
            ("campaigns.py", "Campaigns", ":material/account_tree:"),
            ("finance.py", "Finance", ":material/account_balance:"),
            ("attribution.py", "Attribution", ":material/conversion_path:"),
            ("copilot.py", "Copilot", ":material/chat:")]
ADMIN = [("connections.py", "Connections", ":material/cable:"),
         ("operations.py", "Operations", ":material/monitoring:"),
         ("settings.py", "Settings", ":material/settings:")]
YOU = [("account.py", "Account", ":material/person:")]
#: Pages that read the app-wide period (ui/period.py): app.py shows its picker there.
#: (The Dashboard is the default page, whose url_path Streamlit reports as "".)
PERIOD_PAGES = frozenset({"dashboard", "analytics", "campaigns", "finance", "attribution"})


def pages_for(actor: Actor) -> dict[str, list[st.Page]]:
    """Sections in display order; the first page is where a login without a deep link lands."""
    sections = {"Insights": [_page(*spec) for spec in INSIGHTS]}
    if actor.is_admin:
        sections["Admin"] = [_page(*spec) for spec in ADMIN]
    sections["You"] = [_page(*spec) for spec in YOU]
    return sections


def every_page() -> list[st.Page]:
    """All pages, for the hidden navigation before login: Streamlit then keeps the requested
    path and its query parameters through the login form instead of falling back to /."""
    return [_page(*spec) for spec in (*INSIGHTS, *ADMIN, *YOU)]


def run_page(actor: Actor, workspace: Workspace, *, menu: bool = True) -> None:
    """Run the page the URL names (or the Dashboard) among this actor's pages, with the
    period picker in the sidebar on the pages that read it."""
    page = st.navigation(pages_for(actor), position="sidebar" if menu else "hidden")
    if page.url_path in PERIOD_PAGES or page.url_path == "":  # "" is the Dashboard, at /
        period_picker(workspace)
    page.run()
