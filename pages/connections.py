"""Connections (admin): the workspace's ad accounts and shops, their health, and adding one."""

from datetime import date, timedelta

import pandas as pd
import streamlit as st

from metricx.errors import MetricxError
from metricx.models import PROVIDERS
from metricx.services import connections, operations, resync
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

    st.subheader("Manual resync")
    with st.form("resync"):
        target = st.selectbox("Connection", rows, format_func=lambda c: c.name,
                              key="resync_connection")
        left, right = st.columns(2)
        today = date.today()
        start = left.date_input("From", today - timedelta(days=7), key="resync_start")
        end = right.date_input("To", today - timedelta(days=1), key="resync_end")
        st.caption("Shops sync everything updated since their last sync; the dates apply to "
                   "ad accounts.")
        if st.form_submit_button("Resync", key="resync_submit"):
            try:
                job_id = resync.request_resync(actor, target.id, start, end)
            except MetricxError as error:
                st.error(str(error))
            else:
                if job_id:
                    st.session_state["resync_job"] = job_id
                else:
                    st.info("That resync is already queued or running.")

    @st.fragment(run_every=1.0)
    def resync_progress() -> None:
        job_id = st.session_state.get("resync_job")
        if not job_id:
            return
        state = resync.job_progress(job_id)
        done, total = state.get("done", 0), max(state.get("total", 1), 1)
        st.progress(min(done / total, 1.0), text=f"{state['status']}: {state.get('stage', '')}")
        if state["status"] == "finished":
            st.success("Resync finished.")
        elif state["status"] == "failed":
            st.error(f"Resync failed: {state['error']}")

    resync_progress()

    with st.expander("Sync history"):
        history = operations.recent_sync_runs(actor.workspace_id)
        if history:
            st.dataframe(pd.DataFrame([{
                "Connection": r.connection_id, "Kind": r.kind, "Status": r.status,
                "Rows": r.rows_written, "Started": ago(r.started_at), "Error": r.error or ""}
                for r in history]), hide_index=True, width="stretch")
        else:
            st.caption("No sync has run yet.")

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
