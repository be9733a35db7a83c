"""The page list per role, each page at a stable URL path. A page left out here cannot be
reached, not even by URL."""

from __future__ import annotations

import logging
import secrets

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from metricx.actor import Actor
from metricx.services.workspaces import Workspace
from ui.links import reopen_with_labels
from ui.period import period_picker

log = logging.getLogger(__name__)


def _page(file: str, title: str, icon: str) -> st.Page:
    # Relative to app.py, which is how AppTest.switch_page names pages too. The path is the
    # file's name: /analytics, /campaigns, ...; / forwards to /dashboard (HOME).
    return st.Page(f"views/{file}", title=title, icon=icon, url_path=file.removesuffix(".py"))


def _home() -> None:
    """/ opens the Dashboard at its own path, /dashboard, with the query it came with (the
    default page has no path of its own: Streamlit serves it at / only)."""
    # A list per name: pairs would keep only the last value of a repeated parameter.
    query = {name: st.query_params.get_all(name) for name in st.query_params}
    st.switch_page(_page(*INSIGHTS[0]), query_params=query)


HOME = st.Page(_home, title="Home", url_path="home", default=True, visibility="hidden")


INSIGHTS = [
    ("dashboard.py", "Dashboard", ":material/dashboard:"),
    ("analytics.py", "Analytics", ":material/query_stats:"),
    ("campaigns.py", "Campaigns", ":material/account_tree:"),
    ("creatives.py", "Creatives", ":material/photo_library:"),
    ("finance.py", "Finance", ":material/account_balance:"),
    ("retention.py", "Retention", ":material/group:"),
    ("products.py", "Products", ":material/inventory_2:"),
    ("attribution.py", "Attribution", ":material/conversion_path:"),
    ("copilot.py", "Copilot", ":material/chat:"),
    ("alerts.py", "Alerts", ":material/notifications:"),
]
ADMIN = [
    ("connections.py", "Connections", ":material/cable:"),
    ("operations.py", "Operations", ":material/monitoring:"),
    ("settings.py", "Settings", ":material/settings:"),
]
YOU = [("account.py", "Account", ":material/person:")]
#: Pages that read the app-wide period (ui/period.py): app.py shows its picker there.
#: Retention is not one of them: it picks its own range of cohorts.
PERIOD_PAGES = frozenset(
    {"dashboard", "analytics", "campaigns", "creatives", "finance", "products", "attribution"}
)


def pages_for(actor: Actor) -> dict[str, list[st.Page]]:
    """Sections in display order; the first page is where a login without a deep link lands."""
    sections = {"Insights": [HOME, *(_page(*spec) for spec in INSIGHTS)]}
    if actor.is_admin:
        sections["Admin"] = [_page(*spec) for spec in ADMIN]
    sections["You"] = [_page(*spec) for spec in YOU]
    return sections


def every_page() -> list[st.Page]:
    """All pages, for the hidden navigation before login: Streamlit then keeps the requested
    path and its query parameters through the login form instead of falling back to /."""
    return [HOME, *(_page(*spec) for spec in (*INSIGHTS, *ADMIN, *YOU))]


def run_page(
    actor: Actor,
    workspace: Workspace,
    *,
    menu: bool = True,
    period_area: DeltaGenerator | None = None,
) -> None:
    """Run the page the URL names (or the Dashboard) among this actor's pages, with the
    period picker in the sidebar on the pages that read it. A page that fails shows a short
    message and an error id; the log has the rest (tracebacks can hold SQL and values)."""
    # expanded: past 10 pages Streamlit folds the rest behind "View more" (the admin pages)
    page = st.navigation(pages_for(actor), position="sidebar" if menu else "hidden", expanded=True)
    reopen_with_labels(page)
    try:
        if page.url_path in PERIOD_PAGES:
            period_picker(workspace, period_area or st.sidebar)
        page.run()
    except Exception:  # st.stop, st.rerun and st.switch_page raise BaseExceptions: they pass
        error_id = secrets.token_hex(4)
        log.exception("page /%s failed for %s (error id %s)", page.url_path, actor.label, error_id)
        st.error(
            f"Something went wrong on this page (error id {error_id}). "
            "The details are in the server log."
        )
