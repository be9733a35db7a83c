"""Campaigns: account -> campaign -> ad set -> ad, with metrics, status and budget per node;
search, sort, drill down, and one node's trend."""

import altair as alt
import pandas as pd
import streamlit as st

from metricx.errors import MetricxError
from metricx.semantic import catalogue
from metricx.semantic.dates import resolve_phrase, today_in
from metricx.semantic.query import TimeRange
from metricx.services import campaigns
from ui.format import money, money_column
from ui.session import current_actor

PERIODS = ["last 7 days", "last 14 days", "last 30 days", "this week", "last week",
           "month to date", "last month"]
LABELS = {"account": "Accounts", "campaign": "Campaigns", "adset": "Ad sets", "ad": "Ads"}
TREND_METRICS = ["spend", "roas"]
CACHE_SECONDS = 60


# The workspace id is part of each cache key: tenants never share an entry.
@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def level_table(workspace_id: int, level: str, period: TimeRange, within: list[int] | None,
                search: str | None, sort_by: str, descending: bool) -> pd.DataFrame:
    return campaigns.level_table(workspace_id, level, period, within, search, sort_by,
                                 descending)


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def trend(workspace_id: int, entity_id: int, period: TimeRange) -> pd.DataFrame:
    return campaigns.trend(workspace_id, entity_id, period)


actor = current_actor()
workspace = st.session_state["metricx_workspace"]
st.title("Campaigns")

left, middle, right = st.columns(3)
period = resolve_phrase(left.selectbox("Period", PERIODS, index=2, key="camp_period"),
                        today_in(workspace.timezone))
level = middle.radio("Level", campaigns.LEVELS, format_func=LABELS.get, horizontal=True,
                     index=campaigns.LEVELS.index("campaign"), key="camp_level")
search = right.text_input("Search names", key="camp_search")
sort_left, sort_right = st.columns([2, 1])
sort_by = sort_left.selectbox(
    "Sort by", campaigns.SORT_KEYS, index=campaigns.SORT_KEYS.index("spend"), key="camp_sort",
    format_func=lambda k: "Name" if k == "name" else catalogue.get_metric(k).label)
descending = sort_right.radio("Order", ["descending", "ascending"], horizontal=True,
                              key="camp_order") == "descending"
parent_level = campaigns.PARENT_LEVEL.get(level)
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
        table = level_table(actor.workspace_id, level, period, within, search, sort_by,
                            descending)
except MetricxError as error:
    st.error(str(error))
    st.stop()
if table.empty:
    st.info("Nothing here yet: connect an ad account on the Connections page, or clear the "
            "search.")
    st.stop()

shown = table[["name", "provider", "status", *campaigns.TABLE_METRICS]].copy()
# A budget is a setting in its account's currency: shown as set there, not converted.
shown.insert(3, "budget", [money(float(b), c or workspace.currency) if pd.notna(b) else ""
                           for b, c in zip(table["budget"], table["currency"], strict=True)])
st.dataframe(shown, hide_index=True, width="stretch", column_config={
    "name": "Name", "provider": "Platform", "status": "Status",
    "budget": st.column_config.TextColumn("Daily budget"),
    "spend": money_column("Spend", workspace.currency),
    "conversions": st.column_config.NumberColumn("Purchases (platform)", format="%.1f"),
    "roas": st.column_config.NumberColumn("ROAS", format="%.2fx"),
    "cpa": money_column("CPA", workspace.currency),
    "ctr": st.column_config.NumberColumn("CTR", format="percent"),
    "cpc": money_column("CPC", workspace.currency)})
st.caption(f"Spend, CPA and CPC in {workspace.currency}; daily budgets in each account's own "
           "currency. " + " ".join(catalogue.get_metric(m).definition
                                   for m in ("roas", "cpa", "ctr")))

st.subheader("Trend")
left, right = st.columns([3, 1])
chosen = left.selectbox("Node", table["id"].tolist(),
                        format_func=dict(zip(table["id"], table["name"], strict=True)).get,
                        key="camp_trend")
shown_metric = right.radio("Metric", TREND_METRICS, horizontal=True, key="camp_trend_metric",
                           format_func=lambda m: catalogue.get_metric(m).label)
daily = trend(actor.workspace_id, chosen, period)
axis_title = catalogue.get_metric(shown_metric).label + (
    f" ({workspace.currency})" if shown_metric == "spend" else "")
st.altair_chart(alt.Chart(daily).mark_line(point=True).encode(
    x=alt.X("day:T", title=None), y=alt.Y(f"{shown_metric}:Q", title=axis_title),
    tooltip=["day:T", *(f"{m}:Q" for m in TREND_METRICS)]), width="stretch")
