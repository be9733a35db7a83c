"""Connections (admin): the workspace's ad accounts and shops, their health, and adding one."""

import pandas as pd
import streamlit as st

from metricx.errors import MetricxError
from metricx.models import PROVIDERS
from metricx.services import connections
from ui.format import ago, status_badge
from ui.session import current_actor

actor = current_actor()
actor.require_admin("manage connections")
st.title("Connections")
st.caption("Ad accounts and shops this workspace syncs from.")

rows = connections.list_connections(actor.workspace_id)
if not rows:
    st.info(
        "**No connections yet.** Add a Meta ad account, a Google Ads customer or a Shopify "
        "shop below with an access token, or from a terminal:\n\n"
        "`metricx connection add --workspace <name> --provider meta --account act_123 "
        "< token.txt`"
    )
else:
    table = pd.DataFrame([{
        "Provider": c.provider.title(),
        "Account": c.external_account_id,
        "Name": c.name,
        "Status": status_badge(c.status),
        "Last sync": ago(c.last_synced_at),
        "Last error": c.last_error or "",
    } for c in rows])
    st.dataframe(table, hide_index=True, width="stretch")
    failing = [c for c in rows if c.status in ("needs_reauth", "error")]
    for c in failing:
        st.warning(f"**{c.name}** ({c.provider}) is {status_badge(c.status)}: "
                   f"{c.last_error or 'no details recorded'}")

    with st.expander("Pause or resume a connection"):
        chosen = st.selectbox("Connection", rows, format_func=lambda c: f"{c.name} ({c.status})")
        target = "active" if chosen.status == "paused" else "paused"
        if st.button("Resume" if target == "active" else "Pause", key="toggle"):
            connections.set_status(actor, chosen.id, target)
            st.rerun()

st.subheader("Add a connection")
with st.form("add_connection", clear_on_submit=True):
    provider = st.selectbox("Provider", PROVIDERS, format_func=str.title, key="new_provider")
    account = st.text_input("Account", key="new_account",
                            placeholder="act_123456 · 123-456-7890 · shop.myshopify.com")
    name = st.text_input("Name (optional)", key="new_name")
    token = st.text_input("Access token", type="password", key="new_token",
                          help="Encrypted (AES-256-GCM) as soon as it is saved; never shown again.")
    submitted = st.form_submit_button("Add connection", key="add_connection_submit")
if submitted:
    try:
        added = connections.add_connection(actor, provider, account, token, name=name or None)
    except MetricxError as error:
        st.error(str(error))
    else:
        st.success(f"Added {added.name}.")
        st.rerun()
