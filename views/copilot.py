"""Copilot: ask in plain words; every answer shows its numbers, dates, definitions and query."""

import json

import pandas as pd
import streamlit as st

from metricx.copilot.alert_intent import ProposedAlert
from metricx.copilot.service import (
    CopilotAnswer,
    WrittenAnswer,
    ask,
    confirm_proposal,
    mode_description,
    stream_written_answer,
    suggested_questions,
    writes_with_claude,
)
from metricx.copilot.understanding import Conversation
from metricx.errors import MetricxError
from metricx.markdown import markdown_literal
from metricx.semantic.dates import today_in
from metricx.services import creatives
from ui.format import in_markdown
from ui.navigation import pages_for
from ui.session import current_actor

actor = current_actor()
st.title("Copilot")
st.caption(
    f"{mode_description()} Answers come from your synced data through the same "
    "metric engine as the dashboard; each one shows the query it ran."
)

if st.button("New conversation", key="copilot_reset"):
    st.session_state["copilot"] = {"conversation": Conversation(), "messages": []}
state = st.session_state.setdefault("copilot", {"conversation": Conversation(), "messages": []})


def show(message: dict, answer=None, index: int = 0) -> None:
    with st.chat_message(message["role"]):
        if answer is not None:
            message["text"] = written(answer)
        else:
            st.markdown(message["text"])
        if message.get("chart") is not None:
            st.altair_chart(message["chart"], width="stretch")
        if message.get("table") is not None:
            preview = "preview" in message["table"]
            st.dataframe(
                message["table"],
                hide_index=True,
                column_config={"preview": st.column_config.ImageColumn("Preview", width="small")}
                if preview
                else None,
            )
        if message.get("query"):
            with st.expander("Query and definitions"):
                st.code(json.dumps(message["query"], indent=2), language="json")
        if message.get("proposal") is not None:
            proposed(message, index)
        for number, choice in enumerate(message.get("choices", ())):
            # a choice is a ready question (it may hold a campaign's name: shown as written,
            # never as markup); clicking it asks it, in this conversation
            if st.button(markdown_literal(choice), key=f"choice_{index}_{number}"):
                st.session_state["copilot_pending"] = choice
                st.rerun()


def proposed(message: dict, index: int) -> None:
    """An alert or digest the copilot understood: saved only when the user presses Save.
    The message remembers its outcome across reruns, so a second press saves nothing more
    (confirm_proposal also finds an equal rule already saved)."""
    proposal: ProposedAlert = message["proposal"]
    outcome = message.get("outcome")  # None: waiting; "saved" / "cancelled"
    noun = "digest" if proposal.kind == "digest" else "alert"
    st.caption(in_markdown(f"Goes {proposal.channels}; {proposal.schedule}."))
    personal = None
    if actor.is_admin and proposal.kind == "rule":
        personal = st.checkbox(
            "Only for me (a personal rule)",
            key=f"personal_{index}",
            disabled=outcome is not None,
            help="Unticked, it is a workspace rule every member sees.",
        )
    save, cancel = st.columns(2)
    if save.button(f"Save {noun}", key=f"save_{index}", disabled=outcome is not None):
        said = confirm_proposal(actor, proposal, personal)
        message["said"] = str(said)
        if getattr(said, "saved", False):
            message["outcome"] = "saved"
        st.rerun()
    if cancel.button("Cancel", key=f"cancel_{index}", disabled=outcome is not None):
        message["outcome"] = "cancelled"
        st.rerun()
    if outcome == "saved":
        st.success(in_markdown(markdown_literal(message["said"])))
        alerts_page = next(
            (p for pages in pages_for(actor).values() for p in pages if p.url_path == "alerts"),
            None,
        )
        if alerts_page is not None:
            st.page_link(alerts_page, label="See Alerts", icon=":material/notifications:")
        else:
            st.caption("See Alerts.")
    elif outcome == "cancelled":
        st.caption(f"Cancelled: no {noun} was saved.")
    elif message.get("said"):
        st.error(in_markdown(markdown_literal(message["said"])))


def with_previews(table):
    """Answer rows split by creative (or by ad) with each one's preview first, from the
    previews the sync kept (never the platform's links); other rows as they are."""
    if table is None or table.empty:
        return table
    key = next((k for k in ("creative_id", "ad_id") if k in table), None)
    if key is None:
        return table
    ids = table[key].dropna()
    previews = (
        creatives.creative_previews(actor.workspace_id, ids)
        if key == "creative_id"
        else creatives.ad_previews(actor.workspace_id, ids)
    )
    if not previews:
        return table
    column = [previews.get(int(i)) if pd.notna(i) else None for i in table[key]]
    return table.assign(preview=pd.Series(column, index=table.index, dtype=object))[
        ["preview", *table.columns]
    ]


def written(answer) -> str:
    """Claude's streamed wording when it is grounded in the data; otherwise (or without a
    key, or when Claude fails mid-way) the deterministic answer replaces it."""
    if not writes_with_claude() or answer.result is None:
        # a proposal states money ("$70.00"): "$" would open a formula in markdown
        text = in_markdown(answer.answer) if answer.proposal is not None else answer.answer
        st.markdown(text)
        return text
    slot = st.empty()
    verdict: list[WrittenAnswer] = []
    try:
        with slot.container():
            st.write_stream(stream_written_answer(answer, verdict))
    except MetricxError:
        verdict = []
    if verdict and verdict[0].grounded:
        return verdict[0].text
    slot.markdown(answer.answer)
    return answer.answer


for position, message in enumerate(state["messages"]):
    show(message, index=position)

if not state["messages"]:
    st.markdown("**Try one of these:**")
    # the workspace's custom metric and dimension first; their labels are shown as written
    for index, suggestion in enumerate(suggested_questions(actor.workspace_id)):
        if st.button(markdown_literal(suggestion), key=f"suggestion_{index}"):
            st.session_state["copilot_pending"] = suggestion
            st.rerun()

question = st.chat_input("Ask about spend, ROAS, orders, revenue…")
question = question or st.session_state.pop("copilot_pending", None)
if question:
    answer: CopilotAnswer | None
    user_message = {"role": "user", "text": question}
    state["messages"].append(user_message)
    show(user_message)
    try:
        with st.spinner("Looking it up…"):
            today = today_in(st.session_state["metricx_workspace"].timezone)
            answer = ask(
                actor.workspace_id,
                question,
                state["conversation"],
                today=today,
                user_id=actor.user_id,
            )
        reply = {
            "role": "assistant",
            "text": answer.answer,
            "chart": answer.chart(),
            "table": with_previews(answer.table()),
            "query": answer.to_contract()["query"],
            "choices": answer.choices,
            "proposal": answer.proposal,
        }
    except MetricxError as error:
        answer = None
        reply = {"role": "assistant", "text": f"Sorry: {error}"}
    state["messages"].append(reply)
    show(reply, answer, index=len(state["messages"]) - 1)
