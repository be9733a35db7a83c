"""Dashboard: KPIs against a comparison period, spend vs revenue, platforms, top campaigns,
platforms' claims against Shopify, today's pacing against last week, and how fresh the data
is. The period is the app's one period (sidebar); the KPI tiles are the workspace's choice,
custom metrics among them (metricx.services.custom_definitions.dashboard_tiles)."""

from datetime import datetime, time, timedelta

import altair as alt
import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from metricx.errors import MetricxError
from metricx.platforms import AD_PROVIDERS, display_name, listing
from metricx.semantic import catalogue
from metricx.semantic.catalogue import Metric
from metricx.semantic.result import MetricsResult
from metricx.services import connections, custom_definitions, finance, pacing
from ui import format as fmt
from ui.charts import two_axis_lines
from ui.checklist import profit_note, show_setup_checklist
from ui.format import ATTENTION_STATUSES, ago, in_markdown, is_late, money, status_badge
from ui.period import current_period
from ui.queries import cached_query, metrics_query, query_or_stop
from ui.reads import reconciled, todays_pacing
from ui.session import current_actor

TILES_PER_ROW = 5
#: A period where all of these are zero has no data at all: an empty state, not $0.00 tiles.
ACTIVITY = ("spend", "orders", "store_revenue")


actor = current_actor()
workspace = st.session_state["metricx_workspace"]
st.title("Dashboard")
show_setup_checklist(actor, workspace)

linked = connections.list_connections(actor.workspace_id)
if not linked:
    st.info(
        f"**No data yet.** Connect a {listing(AD_PROVIDERS)} ad account and your Shopify "
        "store on the Connections page (admins), and the numbers appear here after the first "
        "sync."
    )
    st.stop()

period = current_period()


def partial_day_words() -> str:
    """What "today" compares with: the same clock time of the comparison day."""
    if period.compare is None:
        return "Today so far · "
    if period.compare.start == period.range.start - timedelta(days=1):
        return "Today so far vs yesterday at the same hour · "
    return f"Today so far vs {fmt.day(period.compare.start)} at the same hour · "


st.caption(in_markdown((partial_day_words() if period.partial else "") + period.caption(workspace)))


def kpis(tiles: list[str]) -> MetricsResult:
    """The tiles' metrics, and those that tell a period without data, now and before."""
    named = list(dict.fromkeys([*tiles, *ACTIVITY]))
    custom = (
        custom_definitions.definitions(actor.workspace_id)
        if any(m not in catalogue.METRICS for m in tiles)
        else None
    )
    with st.spinner("Crunching numbers…"):
        return query_or_stop(
            actor.workspace_id,
            metrics_query(named, period.range, compare=period.compare, custom=custom),
        )


def tile(
    column: DeltaGenerator,
    metric: Metric,
    now: float | None,
    before: float | None,
    help_text: str | None = None,
) -> None:
    """A KPI with its change against the comparison period, coloured by its direction."""
    change, colour = fmt.delta(metric, now, before)
    column.metric(
        metric.label,
        fmt.value(metric, now, workspace.currency),
        change,
        delta_color=colour,
        help=help_text or metric.definition,
    )


Tile = tuple[Metric, float | None, float | None, str | None]  # metric, now, before, help


def net_profit() -> Tile:
    """Net profit now and before, from the P&L (expenses and cost settings)."""
    if period.partial:  # the P&L spreads expenses over whole days
        return (
            fmt.metric("net_profit"),
            None,
            None,
            "Net profit is kept by whole days (expenses are "
            "spread per day): pick yesterday or a longer period to see it.",
        )
    profit = finance.profit_and_loss(actor.workspace_id, period.range.start, period.range.end).total
    earlier = (
        finance.profit_and_loss(actor.workspace_id, period.compare.start, period.compare.end).total
        if period.compare
        else None
    )
    return (
        fmt.metric("net_profit"),
        profit["net_profit"],
        earlier["net_profit"] if earlier is not None else None,
        None,
    )


def kpi_tiles(result: MetricsResult, metric_ids: list[str]) -> None:
    """Row by row, TILES_PER_ROW to a row (on a narrow screen the columns stack and the
    tiles still read in order); a value the engine withheld as "—" saying why; what net
    profit leaves out beside its tile."""
    now = result.frame.iloc[0]
    before = result.compare_frame.iloc[0] if result.compare_frame is not None else None
    withheld = result.withheld
    shown: list[Tile] = [
        (
            result.metric(m),
            now[m],
            before[m] if before is not None else None,
            f"{result.metric(m).definition} Some of its values are {withheld[m]}."
            if m in withheld
            else None,
        )
        for m in metric_ids
    ]
    try:
        shown.append(net_profit())
    except MetricxError as error:
        st.warning(f"Net profit: {error}")
    for first in range(0, len(shown), TILES_PER_ROW):
        tiles = shown[first : first + TILES_PER_ROW]
        spare = TILES_PER_ROW - len(tiles)  # one column as wide as the missing tiles
        row = st.columns([1] * len(tiles) + ([spare] if spare else []))
        for column, (metric, value, previous, help_text) in zip(row, tiles, strict=False):
            tile(column, metric, value, previous, help_text)
    note = profit_note(actor.workspace_id) if shown[-1][0].id == "net_profit" else None
    if note:
        (row[-1] if spare else st).caption(in_markdown(note))


def explain_withheld(result: MetricsResult) -> None:
    """Say why some cells are empty (conversions of part of a day, see kpis())."""
    if result.withheld:
        reason = next(iter(result.withheld.values()))
        st.caption(f"{', '.join(map(fmt.label, result.withheld))}: {reason}.")


def charts_and_tables() -> None:
    st.subheader("Ad spend and store revenue")
    daily = cached_query(
        actor.workspace_id, metrics_query(["spend", "store_revenue"], period.range, grain="day")
    )
    st.altair_chart(
        two_axis_lines(daily.frame, "day", "spend", "store_revenue", workspace.currency),
        width="stretch",
    )

    platforms, campaigns = st.columns([2, 3])
    with platforms:
        st.subheader("By platform")
        result = cached_query(
            actor.workspace_id,
            metrics_query(["spend", "roas", "cpa"], period.range, dimensions=["provider"]),
        )
        by_platform = result.frame
        by_platform["provider"] = by_platform["provider"].map(display_name)
        st.dataframe(
            by_platform,
            hide_index=True,
            width="stretch",
            column_config={
                "provider": "Platform",
                "spend": fmt.metric_column("spend", workspace.currency),
                "roas": fmt.metric_column("roas", workspace.currency, "ROAS (platform-reported)"),
                "cpa": fmt.metric_column("cpa", workspace.currency, "CPA (platform-reported)"),
            },
        )
        explain_withheld(result)
    with campaigns:
        st.subheader("Top campaigns by spend")
        metrics = ["spend", "roas", "cpa", "ctr"]
        result = cached_query(
            actor.workspace_id,
            metrics_query(metrics, period.range, dimensions=["provider", "campaign"], limit=10),
        )
        top = result.frame
        top["provider"] = top["provider"].map(display_name)
        st.dataframe(
            top.drop(columns=["campaign_id"]),
            hide_index=True,
            width="stretch",
            column_config={
                "provider": "Platform",
                "campaign": "Campaign",
                **{m: fmt.metric_column(m, workspace.currency) for m in metrics},
            },
        )
        explain_withheld(result)

    if any(c.provider == "shopify" for c in linked):
        st.subheader("Platforms vs Shopify")
        try:
            claims = reconciled(actor.workspace_id, period.range)
        except MetricxError as error:
            st.warning(f"Reconciliation: {error}")
            return
        shown = claims.platforms[["platform", "platform_conversions", "attributed_orders"]].copy()
        shown["platform"] = shown["platform"].map(display_name)
        left, right = st.columns([2, 1])
        left.dataframe(
            shown,
            hide_index=True,
            width="stretch",
            column_config={
                "platform": "Platform",
                "platform_conversions": st.column_config.NumberColumn(
                    "Purchases (platform-reported)", format="%,.0f"
                ),
                "attributed_orders": st.column_config.NumberColumn(
                    "Orders credited (last click, 28 days)", format="%,.1f"
                ),
            },
        )
        right.metric("Shopify orders", fmt.value("orders", claims.store_orders, workspace.currency))
        st.caption(claims.summary())
        st.page_link(
            "views/attribution.py",
            label="Why the numbers differ →",
            icon=":material/conversion_path:",
        )


chosen_tiles = custom_definitions.dashboard_tiles(actor.workspace_id)
kpi_result = kpis(chosen_tiles)
now = kpi_result.frame.iloc[0]
if all(pd.isna(now[m]) or now[m] == 0 for m in ACTIVITY):
    days = (
        f"on {fmt.day(period.range.start)}"
        if period.range.days == 1
        else f"between {fmt.day(period.range.start)} and {fmt.day(period.range.end)}"
    )
    st.info(f"No spend or orders {days}: pick another period, or check Connections.")
else:
    kpi_tiles(kpi_result, chosen_tiles)
    charts_and_tables()

st.subheader("Today's pacing")
try:
    with st.spinner("Adding up today…"):
        paced = todays_pacing(actor.workspace_id)
except MetricxError as error:
    st.warning(f"Today's pacing: {error}")
else:
    elapsed = paced.now - datetime.combine(paced.today.day, time())
    now_point, then_point = paced.today.by(elapsed), paced.last_week.by(elapsed)
    st.caption(
        in_markdown(
            f"Cumulative since midnight ({paced.timezone}). Today in {paced.today.resolution} "
            f"buckets up to {paced.now:%H:%M}; {paced.last_week.day:%A %b %-d} in "
            f"{paced.last_week.resolution} buckets (the nightly compaction keeps past days by the "
            f"hour). By {paced.now:%H:%M}: spend {money(now_point['spend'], paced.currency)} vs "
            f"{money(then_point['spend'], paced.currency)} by {then_point['clock']:%H:%M} last "
            f"week; platform-reported purchases "
            f"{catalogue.format_value('conversions', now_point['conversions'])} vs "
            f"{catalogue.format_value('conversions', then_point['conversions'])}."
        )
    )
    lines = paced.chart_frame()
    for column, metric_id in zip(st.columns(2), pacing.METRICS, strict=True):
        metric = catalogue.get_metric(metric_id)
        title = metric.label + (f" ({paced.currency})" if metric.unit == "currency" else "")
        # A point is the total at the end of its bucket: held flat until the next one.
        column.altair_chart(
            alt.Chart(lines[lines["metric"] == metric_id])
            .mark_line(point=True, interpolate="step-after")
            .encode(
                x=alt.X("clock:T", title=None, axis=alt.Axis(format="%H:%M")),
                y=alt.Y("cumulative:Q", title=title),
                color=alt.Color(
                    "line:N", title=None, legend=alt.Legend(orient="bottom", labelLimit=0)
                ),
                tooltip=[
                    "line:N",
                    alt.Tooltip("clock:T", format="%H:%M"),
                    alt.Tooltip("cumulative:Q", format=",.2f"),
                ],
            ),
            width="stretch",
        )

st.subheader("Data freshness")
for connection in linked:
    line = (
        f"{connection.name} ({display_name(connection.provider)})"
        f" · {status_badge(connection.status)} · last sync {ago(connection.last_synced_at)}"
    )
    if connection.status in ATTENTION_STATUSES:
        st.error(f"{line}: {connection.last_error or 'see the Connections page'}")
    elif connection.status == "active" and is_late(connection.last_synced_at):
        st.warning(f"{line}: later than the 15-minute schedule; is a worker running?")
    else:
        st.caption(line)
