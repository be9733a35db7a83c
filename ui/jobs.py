"""Failed jobs on pages: the one Requeue button (Connections' sync history, Operations)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from metricx.actor import Actor
from metricx.errors import MetricxError
from metricx.services import operations


def requeue_button(slot: Any, actor: Actor, job: operations.FailedJob, key: str) -> bool:
    """A Requeue button for a failed job in `slot` (a column); True once the job is queued
    again. A refusal (not an admin, the job gone) shows as an error, not a traceback."""
    if not slot.button("Requeue", key=key):
        return False
    try:
        operations.requeue(actor, job.id)
    except MetricxError as error:
        st.error(str(error))
        return False
    return True
