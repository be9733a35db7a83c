"""Operations (admin): queues, workers, the schedule, failures to requeue, recent syncs and
copilot turns that went wrong."""

import pandas as pd
import streamlit as st

from metricx.copilot.service import recent_turns
from metricx.services import operations
from ui.format import ago
from ui.jobs import requeue_button
from ui.notices import show_platform_notices
from ui.session import current_actor

actor = current_actor()
actor.require_admin("see operations")
st.title("Operations")
show_platform_notices(actor.workspace_id)

try:
    queue_states = operations.queues()
except Exception as error:  # Redis down is exactly what this page must be able to say
    st.error(f"Redis is not reachable ({type(error).__name__}); workers cannot run jobs.")
    st.stop()

columns = st.columns(len(queue_states) + 1)
for column, queue in zip(columns, queue_states, strict=False):
    column.metric(f"Queue {queue.name}", f"{queue.waiting} waiting")
live = operations.workers()
columns[-1].metric("Workers alive", len(live))
if not live:
    st.warning("No worker is running: queued syncs will wait. Start one with `metricx worker`.")

st.subheader("Schedule")
scheduled = operations.schedule()
if scheduled:
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "Job": job_id,
                    "Cron (UTC)": cron,
                    "Next run (UTC)": when.strftime("%Y-%m-%d %H:%M"),
                }
                for job_id, cron, when in scheduled
            ]
        ),
        hide_index=True,
    )
else:
    st.info("Nothing is scheduled: start the scheduler with `metricx scheduler`.")

st.caption(
    "Queues and workers are shared by every workspace; the failures below are this "
    "workspace's and the schedule's."
)

st.subheader("Failed jobs")
failed = operations.failed_jobs(actor.workspace_id)
if not failed:
    st.caption("No failed jobs.")
for job in failed:
    left, right = st.columns([5, 1])
    left.markdown(f"**{job.description}** ({job.queue}, {ago(job.ended_at)}): {job.error}")
    if not job.requeueable:
        right.caption("scheduled: runs again on its own")
    elif requeue_button(right, actor, job, key=f"requeue_{job.id}"):
        st.success(f"Requeued {job.id}.")
        st.rerun()

st.subheader("Recent syncs")
runs = operations.recent_sync_runs(actor.workspace_id)
if runs:
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "Connection": r.connection_id,
                    "Kind": r.kind,
                    "Status": r.status,
                    "Window": f"{r.window_start} – {r.window_end}" if r.window_start else "",
                    "Rows": r.rows_written,
                    "Started": ago(r.started_at),
                    "Error": r.error or "",
                }
                for r in runs
            ]
        ),
        hide_index=True,
        width="stretch",
    )
else:
    st.caption("No sync has run yet.")

st.subheader("Copilot")
turns = recent_turns(actor.workspace_id, limit=20)
failures = operations.copilot_failures(actor.workspace_id)
st.caption(f"{len(turns)} recent questions; {len(failures)} could not be answered.")
if failures:
    st.markdown("**Recent failures**")
    st.dataframe(
        pd.DataFrame(
            [
                {"Asked": ago(t.created_at), "Question": t.question, "Error": t.error}
                for t in failures
            ]
        ),
        hide_index=True,
        width="stretch",
    )
if turns:
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "Asked": ago(t.created_at),
                    "Question": t.question,
                    "Status": t.status,
                    "Model": t.model,
                    "ms": t.latency_ms,
                    "Error": t.error or "",
                }
                for t in turns
            ]
        ),
        hide_index=True,
        width="stretch",
    )
