"""Attribution: which campaigns earned the orders under a chosen model, where orders came from,
where platform numbers and the store disagree, and what is tagged badly."""

import altair as alt
import streamlit as st

from metricx.errors import MetricxError
from metricx.semantic import catalogue
from metricx.semantic.dates import resolve_phrase, today_in
from metricx.semantic.query import Attribution
from metricx.services import attribution
from ui.queries import query_or_stop
from ui.session import current_actor

PERIODS = ["last 7 days", "last 14 days", "last 30 days", "this week", "last week",
           "month to date", "last month"]
MODEL_LABELS = {"last_click": "Last click", "first_click": "First click",
                "last_non_direct": "Last non-direct click", "linear": "Linear",
                "time_decay": "Time decay (7-day half-life)",
                "position_based": "Position based (40/20/40)"}
WINDOW_LABELS = {1: "1 day", 7: "7 days", 14: "14 days", 28: "28 days", None: "Lifetime"}
MODE_LABELS = {"cash": "Cash (on the order date)", "accrual": "Accrual (on the touch date)"}

actor = current_actor()
workspace = st.session_state["metricx_workspace"]
money = f"{workspace.currency} %,.2f"
st.title("Attribution")

period_col, model_col, window_col, mode_col = st.columns(4)
period = resolve_phrase(period_col.selectbox("Period", PERIODS, index=2, key="attr_period"),
                        today_in(workspace.timezone))
settings = Attribution(
    model=model_col.selectbox("Model", list(MODEL_LABELS), format_func=MODEL_LABELS.get,
                              key="attr_model"),
    window_days=window_col.selectbox("Window", list(WINDOW_LABELS), index=3,
                                     format_func=WINDOW_LABELS.get, key="attr_window"),
    mode=mode_col.selectbox("Accounting", list(MODE_LABELS), format_func=MODE_LABELS.get,
                            key="attr_mode"))
st.caption(f"{period.start:%d %b %Y} – {period.end:%d %b %Y} · {MODEL_LABELS[settings.model]}, "
           f"{WINDOW_LABELS[settings.window_days]} window, {settings.mode} mode. Orders are "
           "credited once across all platforms; platform-reported conversions are not.")

try:
    with st.spinner("Crediting orders…"):
        channels = attribution.channel_breakdown(actor.workspace_id, period, settings)
        reconciled = attribution.reconciliation(actor.workspace_id, period, settings)
        hygiene = attribution.utm_hygiene(actor.workspace_id, period)
except MetricxError as error:
    st.error(str(error))
    st.stop()

if reconciled.store_orders == 0:
    st.info("No orders in this period yet. Connect your Shopify store on the Connections page "
            "(admins) and let it sync: orders are attributed after every sync and nightly.")
    st.stop()

st.subheader("Campaigns by attributed revenue")
by_campaign = query_or_stop(actor.workspace_id, {
    "metrics": ["spend", "attributed_orders", "attributed_revenue", "attributed_roas",
                "nc_roas"],
    "time_range": period.model_dump(mode="json"), "dimensions": ["provider", "campaign"],
    "order_by": {"metric": "attributed_revenue", "direction": "desc"}, "limit": 50,
    "attribution": settings.model_dump(mode="json")}).frame
if by_campaign.empty:
    st.info("No campaign spent or was credited in this period.")
else:
    st.dataframe(by_campaign.drop(columns=["campaign_id"]), hide_index=True, width="stretch",
                 column_config={
                     "provider": "Platform", "campaign": "Campaign",
                     "spend": st.column_config.NumberColumn("Spend", format=money),
                     "attributed_orders": st.column_config.NumberColumn(
                         "Attributed orders", format="%,.1f"),
                     "attributed_revenue": st.column_config.NumberColumn(
                         "Attributed revenue", format=money),
                     "attributed_roas": st.column_config.NumberColumn(
                         "Attributed ROAS", format="%.2fx"),
                     "nc_roas": st.column_config.NumberColumn("NC-ROAS", format="%.2fx")})
    st.caption(" ".join(catalogue.get_metric(m).definition
                        for m in ("attributed_revenue", "attributed_roas", "nc_roas")))

st.subheader("Where orders came from")
chart_col, table_col = st.columns([3, 2])
chart_col.altair_chart(alt.Chart(channels).mark_bar().encode(
    x=alt.X("revenue:Q", title=f"Credited revenue ({workspace.currency})"),
    y=alt.Y("label:N", sort="-x", title=None),
    tooltip=["label", alt.Tooltip("orders:Q", format=",.1f"),
             alt.Tooltip("revenue:Q", format=",.2f")]), width="stretch")
table_col.dataframe(channels[["label", "orders", "revenue"]], hide_index=True, width="stretch",
                    column_config={"label": "Channel",
                                   "orders": st.column_config.NumberColumn("Orders",
                                                                           format="%,.1f"),
                                   "revenue": st.column_config.NumberColumn("Revenue",
                                                                            format=money)})
st.caption("Revenue per order is what the business kept: net sales after that order's "
           "refunds, plus shipping. The rows add up to the store's orders in the period.")

st.subheader("Reconciliation: platforms vs attribution vs Shopify")
left, right = st.columns(2)
left.metric("Shopify orders", f"{reconciled.store_orders:,.0f}")
right.metric("Shopify revenue", f"{workspace.currency} {reconciled.store_revenue:,.2f}")
st.dataframe(reconciled.platforms, hide_index=True, width="stretch", column_config={
    "platform": "Platform", "spend": st.column_config.NumberColumn("Spend", format=money),
    "platform_conversions": st.column_config.NumberColumn("Purchases (platform-reported)",
                                                          format="%,.1f"),
    "platform_value": st.column_config.NumberColumn("Purchase value (platform-reported)",
                                                    format=money),
    "attributed_orders": st.column_config.NumberColumn("Attributed orders", format="%,.1f"),
    "attributed_revenue": st.column_config.NumberColumn("Attributed revenue", format=money),
    "over_claim": st.column_config.NumberColumn("Reported ÷ attributed", format="%.2fx")})
claimed = reconciled.platforms["platform_conversions"].sum()
st.caption(f"The platforms together report {claimed:,.0f} purchases against "
           f"{reconciled.store_orders:,.0f} Shopify orders: each platform counts view-through "
           "and cross-device conversions and claims orders another platform also claims. "
           "Attribution gives each order out once, so its columns never add up to more than "
           "the store. Always compared in cash mode (on the order date).")

st.subheader("UTM hygiene")
silent_col, unmatched_col = st.columns(2)
with silent_col:
    st.markdown("**Campaigns that spend but appear in no order's journey**")
    if hygiene.silent_campaigns.empty:
        st.success("Every spending campaign shows up in some order's journey.")
    else:
        st.dataframe(hygiene.silent_campaigns[["provider", "campaign", "spend"]],
                     hide_index=True, width="stretch", column_config={
                         "provider": "Platform", "campaign": "Campaign",
                         "spend": st.column_config.NumberColumn("Spend", format=money)})
        st.caption("Check their links carry utm_campaign (and utm_content for the ad) with "
                   "the campaign's id or name.")
    with st.expander(f"Ads that spend but never appear ({len(hygiene.silent_ads)})"):
        st.dataframe(hygiene.silent_ads[["provider", "ad", "spend"]], hide_index=True,
                     width="stretch")
with unmatched_col:
    st.markdown("**Paid visits whose UTMs match no campaign**")
    if hygiene.unmatched_utms.empty:
        st.success("Every paid visit's UTMs match a campaign, ad set or ad.")
    else:
        st.dataframe(hygiene.unmatched_utms, hide_index=True, width="stretch")
        st.caption("Match by id or by name is set under Settings → UTM matching.")

if actor.is_admin and st.button("Recompute attribution now",
                                help="Runs in the background; nightly it runs by itself"):
    job_id = attribution.request_recompute(actor)
    st.success(f"Queued (job {job_id}). Refresh in a minute to see the new figures.")
