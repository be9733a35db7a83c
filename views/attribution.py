"""Attribution: which campaigns earned the orders under a chosen model, where orders came from,
where platform numbers and the store disagree (and why), and what is tagged badly. The period
is the app's one period (sidebar); model, window and accounting are kept in the URL."""

import altair as alt
import pandas as pd
import streamlit as st

from metricx.errors import MetricxError
from metricx.platforms import EMAIL_PROVIDERS, display_name, listing
from metricx.semantic import catalogue
from metricx.semantic.query import AccountingMode, Attribution, AttributionModel, AttributionWindow
from metricx.services import attribution, email_marketing
from ui import charts
from ui import format as fmt
from ui.period import KEPT, current_period
from ui.queries import metrics_query, query_or_stop
from ui.session import current_actor

MODEL_LABELS: dict[AttributionModel, str] = {
    "last_click": "Last click",
    "first_click": "First click",
    "last_non_direct": "Last non-direct click",
    "linear": "Linear",
    "time_decay": "Time decay (7-day half-life)",
    "position_based": "Position based (40/20/40)",
}
WINDOW_LABELS: dict[AttributionWindow | None, str] = {
    1: "1 day",
    7: "7 days",
    14: "14 days",
    28: "28 days",
    None: "Lifetime",
}
DEFAULT_WINDOW = 3  # 28 days
MODE_LABELS: dict[AccountingMode, str] = {
    "cash": "Cash (on the order date)",
    "accrual": "Accrual (on the touch date)",
}
EMAIL_KINDS = {"campaign": "Campaign", "flow": "Flow"}
CAMPAIGN_METRICS = [
    "spend",
    "attributed_orders",
    "attributed_revenue",
    "attributed_roas",
    "nc_roas",
]


def platform_names(frame: pd.DataFrame, column: str = "provider") -> pd.DataFrame:
    """The frame with its platform ids as people say them ("Meta", "Google Ads")."""
    return frame.assign(**{column: frame[column].map(display_name)})


actor = current_actor()
workspace = st.session_state["metricx_workspace"]
currency = workspace.currency
period = current_period()
st.title("Attribution")

model_col, window_col, mode_col = st.columns(3)
settings = Attribution(
    model=model_col.selectbox(
        "Model", list(MODEL_LABELS), format_func=MODEL_LABELS.__getitem__, key="model", **KEPT
    ),
    window_days=window_col.selectbox(
        "Window",
        list(WINDOW_LABELS),
        index=DEFAULT_WINDOW,
        format_func=WINDOW_LABELS.__getitem__,
        key="window",
        **KEPT,
    ),
    mode=mode_col.selectbox(
        "Accounting",
        list(MODE_LABELS),
        format_func=MODE_LABELS.__getitem__,
        key="accounting",
        **KEPT,
    ),
)
st.caption(
    fmt.in_markdown(
        f"{period.caption(workspace)} · {MODEL_LABELS[settings.model]}, "
        f"{WINDOW_LABELS[settings.window_days]} window, {settings.mode} accounting. Orders are "
        "credited once across all platforms; platform-reported conversions are not."
    )
)

try:
    with st.spinner("Crediting orders…"):
        channels = attribution.channel_breakdown(actor.workspace_id, period.range, settings)
        reconciled = attribution.reconciliation(actor.workspace_id, period.range, settings)
        hygiene = attribution.utm_hygiene(actor.workspace_id, period.range)
except MetricxError as error:
    st.error(str(error))
    st.stop()

if reconciled.store_orders == 0:
    st.info(
        f"No orders between {fmt.day(period.range.start)} and {fmt.day(period.range.end)}."
        " Pick another period in the sidebar; if the store is not connected yet, an admin "
        "can connect your Shopify store on the Connections page and let it sync: orders "
        "are attributed after every sync and nightly."
    )
    st.stop()

st.subheader("Campaigns by attributed revenue")
by_campaign = query_or_stop(
    actor.workspace_id,
    metrics_query(
        CAMPAIGN_METRICS,
        period.range,
        dimensions=["provider", "campaign"],
        order_by=("attributed_revenue", "desc"),
        limit=50,
        attribution=settings,
    ),
).frame
if by_campaign.empty:
    st.info("No campaign spent or was credited in this period.")
else:
    st.dataframe(
        platform_names(by_campaign).drop(columns=["campaign_id"]),
        hide_index=True,
        width="stretch",
        column_config={
            "provider": "Platform",
            "campaign": "Campaign",
            **{m: fmt.metric_column(m, currency) for m in CAMPAIGN_METRICS},
        },
    )
    st.caption(
        " ".join(
            catalogue.get_metric(m).definition
            for m in ("attributed_revenue", "attributed_roas", "nc_roas")
        )
    )

st.subheader("Where orders came from")
chart_col, table_col = st.columns([3, 2])
chart_col.altair_chart(
    alt.Chart(channels)
    .mark_bar()
    .encode(
        x=alt.X("revenue:Q", title=f"Credited revenue ({currency})", axis=alt.Axis(format=",.0f")),
        y=alt.Y("label:N", sort="-x", title=None, axis=alt.Axis(labelLimit=0)),
        tooltip=[
            alt.Tooltip("label:N", title="Channel"),
            alt.Tooltip("orders:Q", format=",.1f", title="Orders"),
            alt.Tooltip("revenue:Q", format=",.2f", title=f"Revenue ({currency})"),
        ],
    ),
    width="stretch",
)
table_col.dataframe(
    channels[["label", "orders", "revenue"]],
    hide_index=True,
    width="stretch",
    column_config={
        "label": "Channel",
        "orders": fmt.metric_column("attributed_orders", currency, "Orders"),
        "revenue": fmt.money_column("Revenue", currency),
    },
)
st.caption(
    "Revenue per order is what the business kept: net sales after that order's "
    "refunds, plus shipping. The rows add up to the store's orders in the period."
)

email_tool = listing(EMAIL_PROVIDERS)
st.subheader(f"Email & SMS: {email_tool} vs Metricx")
try:
    with st.spinner(f"Comparing {email_tool} with Metricx…"):
        email = email_marketing.email_performance(
            actor.workspace_id, period.range.start, period.range.end, settings
        )
except MetricxError as error:
    st.error(str(error))
else:
    if email.notice:
        st.info(email.notice)
    else:
        claimed_col, credited_col, ratio_col = st.columns(3)
        claimed_col.metric(
            f"{email_tool}-attributed revenue",
            fmt.money(email.klaviyo_revenue, currency),
            help=f"Email {fmt.money(email.klaviyo_email_revenue, currency)}, SMS "
            f"{fmt.money(email.klaviyo_sms_revenue, currency)}: orders {email_tool} credits "
            f"to sends of these days, {email.window}.",
        )
        credited_col.metric(
            "Metricx email-channel revenue",
            fmt.money(email.metricx_email_revenue, currency),
            help="The Email row of the channel split above: orders placed in these days "
            "credited to email visits, once per order.",
        )
        ratio_col.metric(
            f"{email_tool} ÷ Metricx",
            "—" if email.ratio is None else f"{email.ratio:.1f}x",
        )
        both = email.messages.melt(
            id_vars=["name"],
            value_vars=["klaviyo_revenue", "metricx_revenue"],
            var_name="source",
            value_name="revenue",
        )
        both["source"] = both["source"].map(
            {
                "klaviyo_revenue": f"{email_tool}-attributed",
                "metricx_revenue": "Metricx (visits from its links)",
            }
        )
        st.altair_chart(
            alt.Chart(both)
            .mark_bar()
            .encode(
                x=alt.X("revenue:Q", title=f"Revenue ({currency})", axis=alt.Axis(format=",.0f")),
                y=alt.Y(
                    "name:N",
                    sort=list(email.messages["name"]),
                    title=None,
                    axis=alt.Axis(labelLimit=0),
                ),
                yOffset=alt.YOffset("source:N"),
                color=alt.Color(
                    "source:N",
                    title=None,
                    scale=alt.Scale(range=[charts.BLUE, charts.ORANGE]),
                    legend=alt.Legend(orient="bottom"),
                ),
                tooltip=[
                    alt.Tooltip("name:N", title="Campaign or flow"),
                    alt.Tooltip("source:N", title="By"),
                    alt.Tooltip("revenue:Q", format=",.2f", title=f"Revenue ({currency})"),
                ],
            ),
            width="stretch",
        )
        st.dataframe(
            email.messages.assign(kind=email.messages["kind"].map(EMAIL_KINDS).fillna("")),
            hide_index=True,
            width="stretch",
            column_config={
                "kind": "Kind",
                "name": "Campaign or flow",
                "channels": "Channel",
                "recipients": st.column_config.NumberColumn("Recipients", format="%,.0f"),
                "delivered": st.column_config.NumberColumn("Delivered", format="%,.0f"),
                "opens": st.column_config.NumberColumn("Opens", format="%,.0f"),
                "clicks": st.column_config.NumberColumn("Clicks", format="%,.0f"),
                "open_rate": st.column_config.NumberColumn(
                    "Open rate", format="percent", help="Unique opens ÷ delivered emails."
                ),
                "click_rate": st.column_config.NumberColumn(
                    "Click rate", format="percent", help="Unique clicks ÷ delivered."
                ),
                "klaviyo_orders": st.column_config.NumberColumn(
                    f"Orders ({email_tool})", format="%,.0f"
                ),
                "klaviyo_revenue": fmt.money_column(f"Revenue ({email_tool})", currency),
                "metricx_orders": st.column_config.NumberColumn("Orders (Metricx)", format="%,.2f"),
                "metricx_revenue": fmt.money_column("Revenue (Metricx)", currency),
            },
        )
        st.caption(
            fmt.in_markdown(
                f"{email_tool} credits an order to the last message opened, clicked or "
                f"received within its window ({email.window}) and books it on the day the "
                "message was sent; an open counts as a touch, so orders whose last visit "
                f"came from an ad or a search are {email_tool}'s too. Metricx credits each "
                f"order once, on the order date, to the visits of its journey "
                f"({MODEL_LABELS[settings.model]}, {WINDOW_LABELS[settings.window_days]}); "
                f"here, the visits from {email_tool} links, matched to a campaign or flow by "
                f"their utm_campaign. So {email_tool}'s number is the larger, and overlaps "
                "other channels'."
            )
        )

st.subheader("Reconciliation: platforms vs attribution vs Shopify")
left, right = st.columns(2)
left.metric("Shopify orders", fmt.value("orders", reconciled.store_orders, currency))
right.metric(
    "Shopify revenue (as attributed)",
    fmt.money(reconciled.store_revenue, currency),
    help="Net sales of the orders placed in these days after their own refunds, plus shipping.",
)
st.caption(fmt.in_markdown(reconciled.revenue_summary()))
st.dataframe(
    platform_names(reconciled.platforms, "platform"),
    hide_index=True,
    width="stretch",
    column_config={
        "platform": "Platform",
        "spend": fmt.metric_column("spend", currency),
        "platform_conversions": fmt.metric_column(
            "conversions", currency, "Purchases (platform-reported)"
        ),
        "platform_value": fmt.metric_column(
            "conversion_value", currency, "Purchase value (platform-reported)"
        ),
        "attributed_orders": fmt.metric_column("attributed_orders", currency),
        "attributed_revenue": fmt.metric_column("attributed_revenue", currency),
        "over_claim": st.column_config.NumberColumn("Reported ÷ attributed", format="%.2fx"),
    },
)
st.caption(f"{reconciled.summary()} Always compared in cash accounting (on the order date).")

st.subheader("UTM hygiene")
silent_col, unmatched_col = st.columns(2)
spend_column = {"provider": "Platform", "spend": fmt.metric_column("spend", currency)}
with silent_col:
    st.markdown("**Campaigns that spend but appear in no order's journey**")
    if hygiene.silent_campaigns.empty:
        st.success("Every spending campaign shows up in some order's journey.")
    else:
        st.dataframe(
            platform_names(hygiene.silent_campaigns[["provider", "campaign", "spend"]]),
            hide_index=True,
            width="stretch",
            column_config={**spend_column, "campaign": "Campaign"},
        )
        st.caption(
            "Check their links carry utm_campaign (and utm_content for the ad) with "
            "the campaign's id or name."
        )
    with st.expander(f"Ads that spend but never appear ({len(hygiene.silent_ads)})"):
        st.dataframe(
            platform_names(hygiene.silent_ads[["provider", "ad", "spend"]]),
            hide_index=True,
            width="stretch",
            column_config={**spend_column, "ad": "Ad"},
        )
with unmatched_col:
    st.markdown("**Paid visits whose UTMs match no campaign**")
    if hygiene.unmatched_utms.empty:
        st.success("Every paid visit's UTMs match a campaign, ad set or ad.")
    else:
        st.dataframe(
            hygiene.unmatched_utms,
            hide_index=True,
            width="stretch",
            column_config={
                "channel": "Channel",
                "orders": fmt.metric_column("orders", currency),
                "last_seen": st.column_config.DateColumn("Last seen", format="MMM D, YYYY"),
            },
        )
        st.caption("Match by id or by name is set under Settings → UTM matching.")

if actor.is_admin and st.button(
    "Recompute attribution now",
    key="attr_recompute",
    help="Runs in the background; nightly it runs by itself",
):
    job_id = attribution.request_recompute(actor)
    st.success(f"Queued (job {job_id}). Refresh in a minute to see the new figures.")
