"""The setup checklist, and the note beside every profit figure while costs are missing."""

from __future__ import annotations

import streamlit as st

from metricx.actor import Actor
from metricx.platforms import AD_PROVIDERS, listing
from metricx.services import setup
from metricx.services.workspaces import Workspace
from ui.queries import CACHE_SECONDS

#: step id -> (the page that fixes it, the link's words)
FIXES = {
    "ad_account": (
        "views/connections.py",
        f"Connections → add a {listing(AD_PROVIDERS, short=True)} account",
    ),
    "store": ("views/connections.py", "Connections → add your Shopify store"),
    "costs": ("views/settings.py", "Settings → Costs"),
    "unit_costs": ("views/connections.py", "Enter costs in Shopify, then resync the store"),
    "zone_currency": ("views/settings.py", "Settings → Workspace"),
    "pixel": ("views/settings.py", "Settings → Pixel"),
}
_SEEN = "setup_checklist_seen"  # the checklist opens by itself on a session's first page


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def setup_checklist(workspace_id: int) -> setup.Checklist:
    # The workspace id is the cache key: tenants never share an entry.
    return setup.checklist(workspace_id)


def forget_setup(workspace_id: int) -> None:
    """Drop the cached checklist after a change that moves a step (saved costs, a new
    connection), so every page shows it at once."""
    setup_checklist.clear(workspace_id)


def _lowered(title: str) -> str:
    return title[0].lower() + title[1:]


def show_setup_checklist(actor: Actor, workspace: Workspace) -> None:
    """Admins: the open steps with why each matters and a link to where it is done, opened
    on a session's first page and while costs are unset. Members: a one-line note while a
    step that changes the numbers is open (they cannot fix it themselves)."""
    checklist = setup_checklist(workspace.id)
    if checklist.complete:
        return
    if not actor.is_admin:
        pending = [_lowered(s.title) for s in checklist.open_steps if s.affects_profit]
        if pending:
            st.caption(
                f"An admin still has to finish setting up this workspace "
                f"({'; '.join(pending)}): profit figures are not final until then."
            )
        return
    first_page = _SEEN not in st.session_state
    st.session_state[_SEEN] = True
    title = f"Finish setting up: {checklist.done} of {len(checklist.steps)} done"
    with st.expander(
        title, expanded=first_page or not checklist.costs_reviewed, icon=":material/checklist:"
    ):
        for step in checklist.steps:
            st.markdown(f"{'✅' if step.done else '⬜'} **{step.title}** · {step.status}")
            if not step.done:
                st.caption(step.why)
                page, words = FIXES[step.id]
                st.page_link(page, label=words, icon=":material/arrow_forward:")


def _percent(share: float) -> str:
    return "less than 1 %" if share < 0.01 else f"{share * 100:.0f} %"


def profit_note(workspace_id: int) -> str | None:
    """What profit leaves out, in one sentence, while costs are unset or units sold lack a unit
    cost; None once both are in place."""
    checklist = setup_checklist(workspace_id)
    gaps = []
    if not checklist.costs_reviewed:
        gaps.append("shipping, payment fees and handling are not set (Settings → Costs)")
    missing = checklist.unit_costs.missing_share
    if missing:
        gaps.append(
            f"{_percent(missing)} of units sold in the last {setup.UNIT_COST_DAYS} "
            "days have no unit cost (Shopify → Products → Cost per item)"
        )
    return f"Net profit is overstated: {'; '.join(gaps)}." if gaps else None
