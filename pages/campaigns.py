"""Campaigns: campaign -> ad set -> ad, with metrics, status and budget per node; search, sort,
drill down, and one node's trend."""

import altair as alt
import streamlit as st

from metricx.errors import MetricxError
from metricx.semantic import catalogue
from metricx.semantic.dates import resolve_phrase, today_in
from metricx.services import campaigns
from ui.session import current_actor

PERIODS = ["last 7 days", "last 14 days", "last 30 days", "this week", "last week",
           "month to date", "last month"]
LABELS = {"campaign": "Campaigns", "adset": "Ad sets", "ad": "Ads"}

actor = current_actor()
workspace = st.session_state["metricx_workspace"]
st.title("Campaigns")

left, middle, right = st.columns(3)
period = resolve_phrase(left.selectbox("Period", PERIODS, index=2, key="camp_period"),
                        today_in(workspace.timezone))
level = middle.radio("Level", campaigns.LEVELS, format_func=LABELS.get, horizontal=True,
                     key="camp_level")
search = right.text_input("Search names", key="camp_search")
parent_level = {"adset": "campaign", "ad": "adset"}.get(level)
within = None
if parent_level:
    parents = campaigns.nodes(actor.workspace_id, parent_level)
    picked = st.multiselect(f"Only inside these {LABELS[parent_level].lower()}",
                            parents["id"].tolist(),
                            format_func=dict(zip(parents["id"], parents["name"],
                                                 strict=True)).get, key="camp_within")
    within = picked or None

try:
    with st.spinner("Loading…"):
        table = campaigns.level_table(actor.workspace_id, level, period, within, search)
except MetricxError as error:
    st.error(str(error))
    st.stop()
if table.empty:
    st.info("Nothing here yet: connect an ad account on the Connections page, or clear the "
            "search.")
    st.stop()

shown = table[["name", "provider", "status", "budget", *campaigns.TABLE_METRICS]].copy()
st.dataframe(shown, hide_index=True, width="stretch", column_config={
    "name": "Name", "provider": "Platform", "status": "Status",
    "budget": st.column_config.NumberColumn("Budget", format="%.2f"),
    "spend": st.column_config.NumberColumn(f"Spend ({workspace.currency})", format="%.2f"),
    "conversions": st.column_config.NumberColumn("Purchases (platform)", format="%.1f"),
    "roas": st.column_config.NumberColumn("ROAS", format="%.2fx"),
    "cpa": st.column_config.NumberColumn("CPA", format="%.2f"),
    "ctr": st.column_config.NumberColumn("CTR", format="percent"),
    "cpc": st.column_config.NumberColumn("CPC", format="%.2f")})
st.caption(" ".join(catalogue.get_metric(m).definition for m in ("roas", "cpa", "ctr")))

st.subheader("Trend")
chosen = st.selectbox("Node", table["id"].tolist(),
                      format_func=dict(zip(table["id"], table["name"], strict=True)).get,
                      key="camp_trend")
daily = campaigns.trend(actor.workspace_id, chosen, period)
st.altair_chart(alt.Chart(daily).mark_line(point=True).encode(
    x=alt.X("day:T", title=None), y=alt.Y("spend:Q", title=f"Spend ({workspace.currency})"),
    tooltip=["day", "spend", "roas"]), width="stretch")
