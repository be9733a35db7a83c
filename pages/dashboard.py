"""Dashboard: KPIs against a comparison period, spend vs revenue, platforms, top campaigns,
platforms' claims against Shopify, today's pacing against last week, and how fresh the data
is."""

from datetime import datetime, time, timedelta

import altair as alt
import streamlit as st

from metricx.errors import MetricxError
from metricx.semantic import catalogue
from metricx.semantic.dates import compare_range_for, resolve_phrase, today_in
from metricx.semantic.query import TimeRange
from metricx.services import attribution, connections, finance, pacing
from ui.format import ATTENTION_STATUSES, ago, in_markdown, is_late, money, status_badge
from ui.queries import CACHE_SECONDS, cached_query, query_or_stop
from ui.session import current_actor

PRESETS = ["today", "yesterday", "last 7 days", "last 14 days", "last 30 days", "this week",
           "last week", "month to date", "last month", "custom"]
COMPARISONS = {"previous period": "previous_period", "previous year": "previous_year",
               "no comparison": None}
KPIS = ["spend", "store_revenue", "mer", "roas", "cpa", "cpc", "ctr", "orders", "aov",
        "new_customers"]


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def reconciled(workspace_id: int, period: TimeRange) -> attribution.Reconciliation:
    return attribution.reconciliation(workspace_id, period)


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def todays_pacing(workspace_id: int) -> pacing.Pacing:
    # The workspace id is the cache key: tenants never share an entry.
    return pacing.pacing(workspace_id)


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
if preset == "custom":
    first, last = st.columns(2)
    start = first.date_input("From", today - timedelta(days=7), key="dash_start")
    end = last.date_input("To", today - timedelta(days=1), key="dash_end")
    if end < start:
        st.error(f"The end ({end:%b %-d, %Y}) is before the start ({start:%b %-d, %Y}): "
                 "pick an end on or after the start.")
        st.stop()
    period = TimeRange(start=start, end=end)
else:
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


def tile(column, metric: catalogue.Metric, value: float, previous: float | None) -> None:
    """A KPI with its change against the comparison period."""
    delta = None
    if previous not in (0, None) and previous == previous and value == value:
        delta = f"{(value - previous) / abs(previous) * 100:+.1f}%"
    color = "off" if metric.higher_is_better is None else (
        "normal" if metric.higher_is_better else "inverse")
    column.metric(metric.label, catalogue.format_value(
        metric, None if value != value else value, workspace.currency), delta,
        delta_color=color, help=metric.definition)


columns = st.columns(5)
for index, metric_id in enumerate(KPIS):
    tile(columns[index % 5], catalogue.get_metric(metric_id), now[metric_id],
         before[metric_id] if before is not None else None)
try:  # net profit comes from the P&L (expenses, cost settings), not from the metric engine
    profit = finance.profit_and_loss(actor.workspace_id, period.start, period.end).total
    earlier = (finance.profit_and_loss(actor.workspace_id, compare.start, compare.end).total
               if compare else None)
except MetricxError as error:
    st.warning(f"Net profit: {error}")
else:
    tile(columns[len(KPIS) % 5], finance.get_line("net_profit"), profit["net_profit"],
         earlier["net_profit"] if earlier is not None else None)

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

if any(c.provider == "shopify" for c in linked):
    st.subheader("Platforms vs Shopify")
    try:
        claims = reconciled(actor.workspace_id, period)
    except MetricxError as error:
        st.warning(f"Reconciliation: {error}")
    else:
        shown = claims.platforms[["platform", "platform_conversions", "attributed_orders"]]
        left, right = st.columns([2, 1])
        left.dataframe(shown, hide_index=True, width="stretch", column_config={
            "platform": "Platform",
            "platform_conversions": st.column_config.NumberColumn(
                "Purchases (platform-reported)", format="%,.0f"),
            "attributed_orders": st.column_config.NumberColumn(
                "Orders credited (last click, 28 days)", format="%,.1f")})
        right.metric("Shopify orders", f"{claims.store_orders:,.0f}")
        st.caption("Each platform claims every order it touched, so their purchases add up to "
                   "more than the store sold; attribution gives each order out once.")
        st.page_link("pages/attribution.py", label="Why the numbers differ →",
                     icon=":material/conversion_path:")

st.subheader("Today's pacing")
try:
    with st.spinner("Adding up today…"):
        paced = todays_pacing(actor.workspace_id)
except MetricxError as error:
    st.warning(f"Today's pacing: {error}")
else:
    elapsed = paced.now - datetime.combine(paced.today.day, time())
    now_point, then_point = paced.today.by(elapsed), paced.last_week.by(elapsed)
    st.caption(in_markdown(
        f"Cumulative since midnight ({paced.timezone}). Today in {paced.today.resolution} "
        f"buckets up to {paced.now:%H:%M}; {paced.last_week.day:%A %b %-d} in "
        f"{paced.last_week.resolution} buckets (the nightly compaction keeps past days by the "
        f"hour). By {paced.now:%H:%M}: spend {money(now_point['spend'], paced.currency)} vs "
        f"{money(then_point['spend'], paced.currency)} by {then_point['clock']:%H:%M} last "
        f"week; platform-reported purchases "
        f"{catalogue.format_value('conversions', now_point['conversions'])} vs "
        f"{catalogue.format_value('conversions', then_point['conversions'])}."))
    lines = paced.chart_frame()
    for column, metric_id in zip(st.columns(2), pacing.METRICS, strict=True):
        metric = catalogue.get_metric(metric_id)
        title = metric.label + (f" ({paced.currency})" if metric.unit == "currency" else "")
        # A point is the total at the end of its bucket: held flat until the next one.
        column.altair_chart(alt.Chart(lines[lines["metric"] == metric_id]).mark_line(
            point=True, interpolate="step-after").encode(
            x=alt.X("clock:T", title=None, axis=alt.Axis(format="%H:%M")),
            y=alt.Y("cumulative:Q", title=title),
            color=alt.Color("line:N", title=None, legend=alt.Legend(orient="bottom")),
            tooltip=["line:N", alt.Tooltip("clock:T", format="%H:%M"),
                     alt.Tooltip("cumulative:Q", format=",.2f")]), width="stretch")

st.subheader("Data freshness")
for connection in linked:
    line = f"{connection.name} ({connection.provider}) · {status_badge(connection.status)} · " \
           f"last sync {ago(connection.last_synced_at)}"
    if connection.status in ATTENTION_STATUSES:
        st.error(f"{line}: {connection.last_error or 'see the Connections page'}")
    elif connection.status == "active" and is_late(connection.last_synced_at):
        st.warning(f"{line}: later than the 15-minute schedule; is a worker running?")
    else:
        st.caption(line)
