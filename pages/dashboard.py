"""Dashboard: KPIs against a comparison period, spend vs revenue, platforms, top campaigns,
and how fresh the data is."""

import altair as alt
import streamlit as st

from metricx.semantic import catalogue
from metricx.semantic.dates import compare_range_for, resolve_phrase, today_in
from metricx.services import connections
from ui.format import ago, is_late, status_badge
from ui.queries import cached_query, query_or_stop
from ui.session import current_actor

PRESETS = ["today", "yesterday", "last 7 days", "last 14 days", "last 30 days", "this week",
           "last week", "month to date", "last month"]
COMPARISONS = {"previous period": "previous_period", "previous year": "previous_year",
               "no comparison": None}
KPIS = ["spend", "store_revenue", "mer", "roas", "cpa", "cpc", "ctr", "orders", "aov",
        "new_customers"]

actor = current_actor()
workspace = st.session_state["metricx_workspace"]
st.title("Dashboard")

linked = connections.list_connections(actor.workspace_id)
if not linked:
    st.info("**No data yet.** Connect a Meta or Google ad account and your Shopify store on the "
            "Connections page (admins), and the numbers appear here after the first sync.")
    st.stop()

left, right = st.columns(2)
preset = left.selectbox("Period", PRESETS, index=2, key="dash_period")
comparison = right.selectbox("Compare with", list(COMPARISONS), key="dash_compare")
today = today_in(workspace.timezone)
period = resolve_phrase(preset, today)
compare_kind = COMPARISONS[comparison]
compare = compare_range_for(compare_kind, period) if compare_kind else None
st.caption(f"{period.start:%b %-d, %Y} – {period.end:%b %-d, %Y}"
           + (f" vs {compare.start:%b %-d} – {compare.end:%b %-d, %Y}" if compare else "")
           + f" · days in {workspace.timezone} · {workspace.currency}")

base = {"time_range": period.model_dump(mode="json")}
with st.spinner("Crunching numbers…"):
    kpis = query_or_stop(actor.workspace_id, {**base, "metrics": KPIS, "compare_range":
                                              compare.model_dump(mode="json") if compare
                                              else None})
now, before = kpis.frame.iloc[0], (kpis.compare_frame.iloc[0]
                                   if kpis.compare_frame is not None else None)
columns = st.columns(5)
for index, metric_id in enumerate(KPIS):
    metric = catalogue.get_metric(metric_id)
    value = now[metric_id]
    delta = None
    if before is not None and before[metric_id] not in (0, None) and value == value:
        delta = f"{(value - before[metric_id]) / abs(before[metric_id]) * 100:+.1f}%"
    color = "off" if metric.higher_is_better is None else (
        "normal" if metric.higher_is_better else "inverse")
    columns[index % 5].metric(metric.label, catalogue.format_value(
        metric, None if value != value else value, workspace.currency), delta,
        delta_color=color, help=metric.definition)

st.subheader("Ad spend and store revenue")
daily = cached_query(actor.workspace_id, {**base, "metrics": ["spend", "store_revenue"],
                                          "grain": "day"})
long = daily.frame.melt(id_vars="day", var_name="metric", value_name="amount")
long["metric"] = long["metric"].map(lambda m: catalogue.get_metric(m).label)
st.altair_chart(alt.Chart(long).mark_line(point=True).encode(
    x=alt.X("day:T", title=None), y=alt.Y("amount:Q", title=workspace.currency),
    color=alt.Color("metric:N", title=None), tooltip=["day:T", "metric:N", "amount:Q"]),
    width="stretch")

platforms, campaigns = st.columns([1, 2])
with platforms:
    st.subheader("By platform")
    by_platform = cached_query(actor.workspace_id, {**base, "metrics": ["spend", "roas"],
                                                    "dimensions": ["provider"]})
    st.altair_chart(alt.Chart(by_platform.frame).mark_bar().encode(
        x=alt.X("provider:N", title=None),
        y=alt.Y("spend:Q", title=f"Spend ({workspace.currency})"),
        tooltip=["provider", "spend", "roas"]), width="stretch")
    st.caption("ROAS (platform-reported): " + ", ".join(
        f"{row.provider} {catalogue.format_value('roas', row.roas)}"
        for row in by_platform.frame.itertuples()))
with campaigns:
    st.subheader("Top campaigns by spend")
    top = cached_query(actor.workspace_id, {**base, "metrics": ["spend", "roas", "cpa", "ctr"],
                                            "dimensions": ["campaign"], "limit": 10})
    table = top.frame.drop(columns=["campaign_id"]).copy()
    for metric_id in ("spend", "roas", "cpa", "ctr"):
        table[metric_id] = table[metric_id].map(
            lambda v, m=metric_id: catalogue.format_value(m, None if v != v else v,
                                                          workspace.currency))
    st.dataframe(table.rename(columns={m: catalogue.get_metric(m).label for m in table.columns
                                       if m in catalogue.METRICS}),
                 hide_index=True, width="stretch")

st.subheader("Data freshness")
for connection in linked:
    line = f"{connection.name} ({connection.provider}) · {status_badge(connection.status)} · " \
           f"last sync {ago(connection.last_synced_at)}"
    if connection.status in ("error", "needs_reauth"):
        st.error(f"{line}: {connection.last_error or 'see the Connections page'}")
    elif connection.status == "active" and is_late(connection.last_synced_at):
        st.warning(f"{line}: later than the 15-minute schedule; is a worker running?")
    else:
        st.caption(line)
