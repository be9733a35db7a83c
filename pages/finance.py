"""Finance: the P&L per day, week or month, from revenue to net profit."""

import altair as alt
import pandas as pd
import streamlit as st

from metricx.errors import MetricxError
from metricx.semantic.catalogue import format_value
from metricx.semantic.dates import resolve_phrase, today_in
from metricx.services import connections, finance
from ui.session import current_actor

PRESETS = ["last 7 days", "last 30 days", "this week", "last week", "month to date",
           "last month", "last 90 days", "year to date", "custom range"]
TILES = ["store_revenue", "ad_spend", "contribution_margin", "net_profit", "net_margin"]

actor = current_actor()
workspace = st.session_state["metricx_workspace"]
st.title("Finance")

linked = connections.list_connections(actor.workspace_id)
if not any(c.provider == "shopify" for c in linked):
    st.info("**No store data yet.** Connect your Shopify store on the Connections page "
            "(admins) and run a sync; the P&L appears here. Ad spend comes from your Meta and "
            "Google connections, costs and expenses from Settings.")
    st.stop()

left, middle, right = st.columns([2, 2, 1])
preset = left.selectbox("Period", PRESETS, index=1, key="fin_period")
today = today_in(workspace.timezone)
if preset == "custom range":
    last_month = resolve_phrase("last month", today)
    picked = middle.date_input("Dates", (last_month.start, last_month.end), key="fin_dates")
    if len(picked) != 2:
        st.info("Pick the last day of the range too.")
        st.stop()
    start, end = picked
else:
    period = resolve_phrase(preset, today)
    start, end = period.start, period.end
grain = right.selectbox("Per", finance.GRAINS, key="fin_grain")

try:
    with st.spinner("Computing the P&L…"):
        pnl = finance.profit_and_loss(actor.workspace_id, start, end, grain)
except MetricxError as error:
    st.error(str(error) + ("" if actor.is_admin else " — ask an admin of this workspace."))
    st.stop()
st.caption(f"{start:%b %-d, %Y} – {end:%b %-d, %Y} · days in {workspace.timezone} · "
           f"{pnl.currency} · weeks start on Monday")
if pnl.is_empty:
    st.info("No orders, ad spend or expenses in this period. Run a sync on the Connections "
            "page (admins), or pick another period.")
    st.stop()


def shown(line_id: str, value: float) -> str:
    return format_value(finance.get_line(line_id), None if pd.isna(value) else value,
                        pnl.currency)


columns = st.columns(len(TILES))
for column, line_id in zip(columns, TILES, strict=True):
    line = finance.get_line(line_id)
    column.metric(line.label, shown(line_id, pnl.total[line_id]), help=line.definition)

st.subheader("Profit and loss")
table = pnl.table()
formatted = pd.DataFrame({period: [shown(line_id, table.at[line_id, period])
                                   for line_id in table.index] for period in table.columns},
                         index=[finance.get_line(line_id).label for line_id in table.index])
formatted = formatted.rename(columns={"total": "Total"})
st.dataframe(formatted, width="stretch", height=35 * (len(formatted) + 1) + 3)
csv = table.copy()
csv.insert(0, "label", [finance.get_line(line_id).label for line_id in csv.index])
st.download_button("Download CSV", csv.to_csv().encode(), key="fin_csv",
                   file_name=f"metricx-pnl-{start}-{end}-{grain}.csv", mime="text/csv")

left, right = st.columns(2)
with left:
    st.subheader("From revenue to net profit")
    steps = pnl.waterfall()
    steps["kind"] = ["total" if line in ("store_revenue", "net_profit")
                     else "cost" if amount <= 0 else "credit"
                     for line, amount in zip(steps["line"], steps["amount"], strict=True)]
    st.altair_chart(alt.Chart(steps).mark_bar().encode(
        x=alt.X("step:N", sort=list(steps["step"]), title=None),
        y=alt.Y("start:Q", title=pnl.currency), y2="end:Q",
        color=alt.Color("kind:N", title=None, scale=alt.Scale(
            domain=["total", "cost", "credit"], range=["#4c78a8", "#e45756", "#54a24b"])),
        tooltip=["step:N", alt.Tooltip("amount:Q", format=",.2f")]), width="stretch")
with right:
    st.subheader(f"Net profit per {grain}")
    per_period = pnl.frame[["net_profit"]].reset_index().rename(columns={grain: "period"})
    per_period["period"] = pd.to_datetime(per_period["period"])
    st.altair_chart(alt.Chart(per_period).mark_bar().encode(
        x=alt.X("period:T", title=None), y=alt.Y("net_profit:Q", title=pnl.currency),
        color=alt.condition(alt.datum.net_profit >= 0, alt.value("#54a24b"),
                            alt.value("#e45756")),
        tooltip=["period:T", alt.Tooltip("net_profit:Q", format=",.2f")]), width="stretch")

with st.expander("Definitions"):
    for line in finance.LINES:
        st.markdown(f"- {line.definition}")
