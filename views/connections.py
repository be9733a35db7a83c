"""Connections (admin): the workspace's ad accounts and shops, their health, and adding one.

A refused form keeps what was typed (a pasted token included); after a change the inputs are
cleared, the page reruns so the list shows it, and a flash message says what happened."""

from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import TypeVar

import pandas as pd
import streamlit as st

from metricx.errors import MetricxError
from metricx.platforms import (
    EMAIL_PROVIDERS,
    OAUTH_PROVIDERS,
    PLATFORMS,
    PROVIDERS,
    account_examples,
    display_name,
    listing,
)
from metricx.semantic.dates import today_in
from metricx.services import connections, oauth, operations, resync
from ui.checklist import forget_setup
from ui.format import ATTENTION_STATUSES, ago, status_badge
from ui.jobs import requeue_button
from ui.notices import show_platform_notices
from ui.session import current_actor

FLASH = "connections_flash"  # what the last change did, shown on the run after it
NEW_INPUTS = ("new_provider", "new_account", "new_name", "new_token")

actor = current_actor()
actor.require_admin("manage connections")
st.title("Connections")
st.caption("Ad accounts and shops this workspace syncs from.")


Result = TypeVar("Result")


def change(
    action: Callable[[], Result], success: Callable[[Result], str], inputs: Iterable[str] = ()
) -> None:
    """Run a change. Refused: say why and keep every input. Done: clear `inputs`, rerun so the
    list and the setup checklist show it, and say `success(result)` there."""
    try:
        result = action()
    except MetricxError as error:
        st.error(str(error))
        return
    for key in inputs:
        st.session_state.pop(key, None)
    forget_setup(actor.workspace_id)
    st.session_state[FLASH] = success(result)
    st.rerun()


if FLASH in st.session_state:
    st.success(st.session_state.pop(FLASH))

# Back from a provider's consent screen: finish the sign-in once, then drop code and state
# from the URL so a reload cannot replay them.
callback = st.query_params.to_dict()
if "state" in callback and ("code" in callback or "error" in callback):
    try:
        with st.spinner("Finishing the sign-in…"):
            connected = oauth.finish_flow(actor, callback)
    except MetricxError as error:
        st.error(str(error))
    else:
        forget_setup(actor.workspace_id)
        st.success(
            f"Connected **{connected.name}**: it syncs on the next 15-minute run, or "
            "resync it below."
        )
    st.query_params.clear()
    st.session_state.pop("oauth_link", None)

rows = connections.list_connections(actor.workspace_id)
if not rows:
    st.info(
        f"**No connections yet.** Add a {listing(PROVIDERS)} account below with an access "
        "token, or from a terminal:\n\n"
        "`metricx connection add --workspace <name> --provider meta --account act_123 "
        "< token.txt`"
    )
else:
    table = pd.DataFrame(
        [
            {
                "Provider": display_name(c.provider),
                "Account": c.external_account_id,
                "Name": c.name,
                "Status": status_badge(c.status),
                "Last sync": ago(c.last_synced_at),
                "Last error": c.last_error or "",
            }
            for c in rows
        ]
    )
    st.dataframe(table, hide_index=True, width="stretch")
    show_platform_notices(actor.workspace_id)
    failing = [c for c in rows if c.status in ATTENTION_STATUSES]
    for c in failing:
        st.warning(
            f"**{c.name}** ({display_name(c.provider)}) is {status_badge(c.status)}: "
            f"{c.last_error or 'no details recorded'}"
        )

    by_id = {c.id: c for c in rows}
    with st.expander("Pause or resume a connection"):
        chosen = by_id[
            st.selectbox(
                "Connection",
                list(by_id),
                key="toggle_connection",
                format_func=lambda i: f"{by_id[i].name} ({by_id[i].status})",
            )
        ]
        target = "active" if chosen.status == "paused" else "paused"
        if st.button("Resume" if target == "active" else "Pause", key="toggle"):
            change(
                lambda: connections.set_status(actor, chosen.id, target),
                lambda _: f"{'Resumed' if target == 'active' else 'Paused'} {chosen.name}.",
            )

    st.subheader("Manual resync")
    with st.form("resync"):
        resynced = by_id[
            st.selectbox(
                "Connection",
                list(by_id),
                key="resync_connection",
                format_func=lambda i: by_id[i].name,
            )
        ]
        left, right = st.columns(2)
        today = today_in(st.session_state["metricx_workspace"].timezone)
        st.session_state.setdefault("resync_start", today - timedelta(days=7))
        st.session_state.setdefault("resync_end", today - timedelta(days=1))
        start = left.date_input("From", key="resync_start")
        end = right.date_input("To", key="resync_end")
        st.caption(
            "Shops sync everything updated since their last sync; the dates apply to ad accounts."
        )
        if st.form_submit_button("Resync", key="resync_submit"):
            try:
                job_id = resync.request_resync(actor, resynced.id, start, end)
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

    with st.expander("Replace a token"):
        with st.form("rotate_token"):
            rotated = by_id[
                st.selectbox(
                    "Connection",
                    list(by_id),
                    key="rotate_connection",
                    format_func=lambda i: by_id[i].name,
                )
            ]
            fresh = st.text_input(
                "New token",
                type="password",
                key="rotate_token_value",
                help="Google: the refresh token. Encrypted when saved.",
            )
            replace = st.form_submit_button("Replace token", key="rotate_submit")
        if replace:
            change(
                lambda: connections.rotate_token(actor, rotated.id, fresh),
                lambda _: f"Replaced the token of {rotated.name}.",
                ("rotate_token_value",),
            )

    with st.expander("Sync history"):
        history = operations.recent_sync_runs(actor.workspace_id)
        names = {c.id: c.name for c in rows}
        if history:
            st.dataframe(
                pd.DataFrame(
                    [
                        {
                            "Connection": names.get(r.connection_id, r.connection_id),
                            "Kind": r.kind,
                            "Status": r.status,
                            "Rows": r.rows_written,
                            "Started": ago(r.started_at),
                            "Error": r.error or "",
                        }
                        for r in history
                    ]
                ),
                hide_index=True,
                width="stretch",
            )
        else:
            st.caption("No sync has run yet.")
        for job in (j for j in operations.failed_jobs(actor.workspace_id) if j.is_sync):
            left, right = st.columns([5, 1])
            left.markdown(f"**{job.description}** failed {ago(job.ended_at)}: {job.error}")
            if requeue_button(right, actor, job, key=f"requeue_sync_{job.id}"):
                st.success(f"Requeued {job.description}: a worker picks it up next.")

st.subheader("Connect by signing in")
ready = oauth.configured_providers()
if not ready:
    st.caption(
        f"Set {', or '.join(PLATFORMS[p].app_settings for p in OAUTH_PROVIDERS)} to connect by "
        "signing in; until then paste a token below."
    )
else:
    with st.form("oauth_start"):
        oauth_provider = st.selectbox(
            "Provider", ready, format_func=display_name, key="oauth_provider"
        )
        oauth_account = st.text_input(
            "Account",
            key="oauth_account",
            placeholder=account_examples(),
        )
        manager = st.text_input(
            "Google manager account (optional)",
            key="oauth_manager",
            help="The MCC the customer is reached through, if any.",
        )
        prepared = st.form_submit_button("Continue", key="oauth_submit")
    if prepared:
        try:
            url = oauth.start_flow(
                actor, oauth_provider, oauth_account, login_customer_id=manager or None
            )
        except MetricxError as error:
            st.error(str(error))
        else:
            st.session_state["oauth_link"] = (oauth_provider, url)
    if "oauth_link" in st.session_state:
        link_provider, link = st.session_state["oauth_link"]
        st.link_button(f"Connect with {display_name(link_provider)}", link, type="primary")
        st.caption(
            "You come back here once you have allowed read access; the link expires "
            "in a few minutes."
        )

st.subheader("Add a connection with a token")
with st.form("add_connection"):
    provider = st.selectbox("Provider", PROVIDERS, format_func=display_name, key="new_provider")
    account = st.text_input("Account", key="new_account", placeholder=account_examples())
    name = st.text_input("Name (optional)", key="new_name")
    token = st.text_input(
        "Access token or API key",
        type="password",
        key="new_token",
        help=(
            f"{listing(EMAIL_PROVIDERS)}: a private API key with read access. "
            "Encrypted (AES-256-GCM) as soon as it is saved; never shown again."
        ),
    )
    submitted = st.form_submit_button("Add connection", key="add_connection_submit")
if submitted:
    change(
        lambda: connections.add_connection(actor, provider, account, token, name=name or None),
        lambda added: (
            f"Added {added.name}: it syncs on the next 15-minute run, or resync it above."
        ),
        NEW_INPUTS,
    )
