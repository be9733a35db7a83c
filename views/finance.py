"""Finance: the P&L of the app's period per day, week or month, from revenue to net profit."""

import calendar
from datetime import date, timedelta

import altair as alt
import pandas as pd
import streamlit as st

from metricx.errors import MetricxError
from metricx.platforms import AD_PROVIDERS, EMAIL_PROVIDERS, listing
from metricx.services import connections, email_marketing, expenses, finance
from ui import charts
from ui import format as fmt
from ui.checklist import profit_note, show_setup_checklist
from ui.period import current_period
from ui.queries import forget_cached_queries
from ui.session import current_actor

TILES = ["store_revenue", "ad_spend", "contribution_margin", "net_profit", "net_margin"]

actor = current_actor()
workspace = st.session_state["metricx_workspace"]
st.title("Finance")

linked = connections.list_connections(actor.workspace_id)
if not any(c.provider == "shopify" for c in linked):
    st.info(
        "**No store data yet.** Connect your Shopify store on the Connections page "
        "(admins) and run a sync; the P&L appears here. Ad spend comes from your "
        f"{listing(AD_PROVIDERS, 'and')} connections, costs and expenses from Settings."
    )
    st.stop()
show_setup_checklist(actor, workspace)

period = current_period()
left, right = st.columns([4, 1])
grain = right.selectbox(
    "Per", finance.GRAINS, key="per", bind="query-params", persist_state="session"
)

try:
    with st.spinner("Computing the P&L…"):
        pnl = finance.profit_and_loss(
            actor.workspace_id, period.range.start, period.range.end, grain
        )
except MetricxError as error:
    st.error(str(error) + ("" if actor.is_admin else " — ask an admin of this workspace."))
    st.stop()
left.caption(period.caption(workspace) + (" · weeks start on Monday" if grain == "week" else ""))
if pnl.is_empty:
    shown = fmt.span(period.range.start, period.range.end)
    fix = (
        "resync your store and ad accounts on the Connections page"
        if actor.is_admin
        else "ask an admin to run a sync"
    )
    st.info(
        f"**No orders, ad spend or expenses in {shown}.** Pick a longer period in the "
        f"sidebar, or {fix}."
    )
    st.stop()

# Today so far is compared with yesterday until the same hour elsewhere; the P&L counts whole
# days, so a partial day is shown without a comparison rather than against a full day.
before = None
if period.compare is not None and not period.partial:
    try:
        with st.spinner("Computing the comparison…"):
            before = finance.profit_and_loss(
                actor.workspace_id, period.compare.start, period.compare.end, grain
            ).total
    except MetricxError as error:  # the period itself is fine: show it, uncompared
        st.caption(
            f"Not compared with {fmt.span(period.compare.start, period.compare.end)}: {error}"
        )

note = profit_note(actor.workspace_id)
if note:
    st.warning(note, icon=":material/warning:")
columns = st.columns(len(TILES))
for column, line_id in zip(columns, TILES, strict=True):
    line = finance.get_line(line_id)
    change, colour = (
        fmt.delta(line_id, pnl.total[line_id], before[line_id])
        if before is not None
        else (None, "normal")
    )
    column.metric(
        line.label,
        fmt.value(line_id, pnl.total[line_id], pnl.currency),
        delta=change,
        delta_color=colour,
        help=line.definition,
    )
if period.partial and period.compare is not None:
    st.caption("Today so far is not compared: the P&L counts whole days.")
if pnl.total["other_expenses"] == 0:
    recorded = expenses.list_expenses(actor.workspace_id)
    where = (
        "add rent, salaries, apps or fees in Settings → Expenses"
        if actor.is_admin
        else "an admin adds them in Settings"
    )
    st.caption(
        "No expenses recorded: net profit equals contribution margin — " + where + "."
        if not recorded
        else "No other expenses fall in this period: net profit equals contribution margin."
    )

# What the email platform costs belongs in the P&L; offered where the P&L is read.
email_tool = listing(EMAIL_PROVIDERS)
subscription = email_marketing.subscription(actor.workspace_id)
if added := st.session_state.pop("fin_subscription_added", None):
    st.success(added)
if subscription.missing and actor.is_admin:
    with st.form("fin_subscription"):
        amount = st.text_input(
            f"{email_tool} subscription (per month)",
            key="fin_subscription_amount",
            placeholder=f"in {workspace.currency}",
            help="Recorded as a monthly expense from the first of this month, prorated by "
            "day; change or end it in Settings → Expenses.",
        )
        if st.form_submit_button("Add to the P&L", key="fin_subscription_save"):
            try:
                email_marketing.add_subscription(actor, amount)
            except MetricxError as error:
                st.error(str(error))
            else:
                forget_cached_queries()
                st.session_state["fin_subscription_added"] = (
                    f"Added {email_marketing.SUBSCRIPTION_NAME} to other expenses."
                )
                st.session_state.pop("fin_subscription_amount", None)
                st.rerun()
elif subscription.missing:
    st.caption(
        f"{email_tool} is connected but what it costs is not among the expenses: an admin "
        "can add its subscription here or in Settings → Expenses."
    )
elif subscription.expenses:
    st.caption(
        "Expenses include "
        + ", ".join(
            fmt.literal(e.name)
            + (
                fmt.in_markdown(f" ({fmt.money(float(e.amount), e.currency)} a month)")
                if e.kind == "monthly" and e.amount is not None
                else ""
            )
            for e in subscription.expenses
        )
        + "."
    )


def period_label(start: date) -> str:
    """A row's days as every page writes dates: "Nov 3, 2026", "Nov 3 – 9, 2026"; the first
    and last week or month are cut to the period."""
    if grain == "day":
        return fmt.day(start)
    last = (
        start + timedelta(days=6)
        if grain == "week"
        else start.replace(day=calendar.monthrange(start.year, start.month)[1])
    )
    return fmt.span(max(start, period.range.start), min(last, period.range.end))


st.subheader("Profit and loss")
table = pnl.table()
table.columns = [*(period_label(start) for start in pnl.frame.index), "Total"]
formatted = pd.DataFrame(
    {
        column: [
            fmt.value(line_id, table.at[line_id, column], pnl.currency) for line_id in table.index
        ]
        for column in table.columns
    },
    index=[fmt.label(line_id) for line_id in table.index],
)
st.dataframe(formatted, width="stretch", height=35 * (len(formatted) + 1) + 3)
by_period = pnl.frame.copy()
by_period.index = [start.isoformat() for start in by_period.index]
by_period.loc["total"] = pnl.total
labelled = {line_id: fmt.label(line_id) for line_id in finance.LINE_IDS}
st.download_button(
    "Download CSV",
    fmt.clean_csv(
        by_period.rename(columns=labelled).rename_axis(grain).reset_index(),
        {label: line_id for line_id, label in labelled.items()},
    ),
    key="fin_csv",
    file_name=f"metricx-pnl-{period.range.start}-{period.range.end}-{grain}.csv",
    mime="text/csv",
)

left, right = st.columns(2)
with left:
    st.subheader("From revenue to net profit")
    st.altair_chart(charts.waterfall(pnl.waterfall(), pnl.currency), width="stretch")
    if note:
        st.caption(note)
with right:
    st.subheader(f"Net profit per {grain}")
    per_period = pnl.frame[["net_profit"]].reset_index().rename(columns={grain: "period"})
    per_period["period"] = pd.to_datetime(per_period["period"])
    per_period["label"] = [fmt.money(v, pnl.currency) for v in per_period["net_profit"]]
    st.altair_chart(
        alt.Chart(per_period)
        .mark_bar()
        .encode(
            x=alt.X("period:T", title=None, axis=alt.Axis(format="%b %-d", labelAngle=0)),
            y=alt.Y(
                "net_profit:Q", title=f"Net profit ({pnl.currency})", axis=alt.Axis(format=",.0f")
            ),
            color=alt.condition(
                alt.datum.net_profit >= 0, alt.value(charts.GREEN), alt.value(charts.RED)
            ),
            tooltip=[
                alt.Tooltip("period:T", title=grain.title(), format="%b %-d, %Y"),
                alt.Tooltip("label:N", title="Net profit"),
            ],
        ),
        width="stretch",
    )

with st.expander("Definitions"):
    for line in finance.LINES:
        st.markdown(f"- {line.definition}")
