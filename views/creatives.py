"""Creatives: each creative as a card (its preview, format, platform, launch day, numbers and
fatigue badge), filtered by format, platform, campaign and launch day and sorted by any of its
numbers; up to six compared on one chart; one creative's detail (its ads, its weekly trend
against cumulative impressions, its watch funnel); the cards as CSV. Every filter and the
creative shown in detail are in the URL, so a link or a reload shows the same page. Previews
are the sync's stored copies, sent inline: the platform's CDN never sees who looks."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Literal

import altair as alt
import pandas as pd
import streamlit as st

from metricx.errors import MetricxError
from metricx.platforms import AD_PROVIDERS, listing, short_name
from metricx.services import creative_report
from metricx.services.campaigns import connected_ad_accounts
from metricx.services.creative_report import CreativeFilter
from ui import charts
from ui import format as fmt
from ui.creative_reads import (
    campaign_choices,
    card_rows,
    compared,
    known_creatives,
    one_creative,
    previews,
)
from ui.period import KEPT, current_period, today_in
from ui.session import current_actor

PER_ROW = 4  # cards side by side
MAX_CARDS = 48  # cards drawn; the CSV holds them all
FORMAT_LABELS = {
    "image": "Image",
    "video": "Video",
    "carousel": "Carousel",
    "text": "Text",
    "unknown": "Unknown format",
}
BadgeColour = Literal["red", "green", "gray"]
BADGES: dict[str, tuple[str, BadgeColour, str]] = {
    "fatigued": ("Fatigued", "red", ":material/trending_down:"),
    "healthy": ("Holding up", "green", ":material/check:"),
    "not_enough_data": ("Too early to tell", "gray", ":material/hourglass_empty:"),
}
SORT_LABELS = {"launched": "Launch day", "name": "Name"}
CSV_COLUMNS = [
    "creative_id",
    "name",
    "format",
    "provider",
    "campaigns",
    "ads",
    "launched",
    *creative_report.REPORT_METRICS,
    "fatigue",
    "fatigue_reason",
    "ctr_ratio",
    "thumb_stop_ratio",
    "cpa_ratio",
    "title",
    "body",
    "call_to_action",
]
FILTER_KEYS = (
    "creative_formats",
    "creative_platforms",
    "creative_campaigns",
    "creative_from",
    "creative_until",
)


def clear_filters() -> None:
    for key in FILTER_KEYS:
        st.session_state[key] = [] if key in FILTER_KEYS[:3] else None


def open_detail(creative_id: int) -> None:
    st.session_state["creative"] = creative_id


def no_preview(creative_format: str) -> str:
    if creative_format == "text":
        return "A text ad: it has no image."
    return "No preview stored yet (a sync downloads it)."


def launched_text(launched: date | None) -> str:
    return f"launched {fmt.day(launched)}" if launched else "not launched"


def badge(status: str) -> None:
    text, colour, icon = BADGES[status]
    st.badge(text, color=colour, icon=icon)


def numbers_line(row: pd.Series, currency: str, metrics: tuple[str, ...]) -> str:
    """ "Ad spend $1,234.50 · ROAS 2.31x": the card's numbers, in markdown."""
    return " · ".join(
        f"{fmt.label(m)} **{fmt.in_markdown(fmt.value(m, row[m], currency))}**" for m in metrics
    )


def card(area: st.delta_generator.DeltaGenerator, row: pd.Series, preview: str | None) -> None:
    creative_id = int(row["creative_id"])
    with area.container(border=True, key=f"creative_card_{creative_id}"):
        if preview:
            st.image(preview, width="stretch")
        else:
            st.caption(no_preview(row["format"]))
        st.markdown(f"**{fmt.literal(row['name'])}**")
        st.caption(
            f"{FORMAT_LABELS.get(row['format'], row['format'])} · {short_name(row['provider'])}"
            f" · {launched_text(row['launched'])}"
        )
        badge(row["fatigue"])
        if row["fatigue"] == "fatigued":  # the evidence beside the badge that needs it
            st.caption(fmt.in_markdown(row["fatigue_reason"]))
        st.markdown(numbers_line(row, currency, creative_report.CARD_METRICS[:3]))
        st.markdown(numbers_line(row, currency, creative_report.CARD_METRICS[3:]))
        st.button(
            "Details",
            key=f"creative_open_{creative_id}",
            type="tertiary",
            on_click=open_detail,
            args=(creative_id,),
        )


def trend_chart(trend: pd.DataFrame) -> alt.VConcatChart:
    """CTR, thumb-stop and CPA week by week, each against the impressions the creative had
    had by the end of that week (fatigue shows as a fall along the x axis)."""
    layers = []
    for metric_id in creative_report.TREND_METRICS:
        entry = fmt.metric(metric_id)
        title = entry.label + (f" ({currency})" if entry.unit == "currency" else "")
        layers.append(
            alt.Chart(trend)
            .mark_line(point=True)
            .encode(
                x=alt.X(
                    "cumulative_impressions:Q",
                    title="Impressions to date",
                    axis=alt.Axis(format="~s"),
                ),
                y=alt.Y(
                    f"{metric_id}:Q",
                    title=title,
                    axis=alt.Axis(format=".1%" if entry.unit == "percent" else ",.2f"),
                ),
                tooltip=[
                    alt.Tooltip("week:T", title="Week of", format="%b %-d, %Y"),
                    alt.Tooltip(
                        "cumulative_impressions:Q", title="Impressions to date", format=","
                    ),
                    alt.Tooltip(f"{metric_id}:Q", title=entry.label, format=",.4f"),
                ],
            )
            .properties(height=160, width="container")
        )
    return alt.vconcat(*layers)


def funnel_chart(funnel: pd.DataFrame) -> alt.Chart:
    """The watch funnel: a bar per step, labelled with its share of 3-second plays."""
    shown = funnel.assign(share_text=[f"{s:.0%}" if pd.notna(s) else "" for s in funnel["share"]])
    base = alt.Chart(shown).encode(
        y=alt.Y("label:N", sort=list(shown["label"]), title=None, axis=alt.Axis(labelLimit=0)),
        x=alt.X("plays:Q", title="Plays", axis=alt.Axis(format=",.0f")),
    )
    bars = base.mark_bar(color=charts.BLUE).encode(
        tooltip=[
            alt.Tooltip("label:N", title="Step"),
            alt.Tooltip("plays:Q", format=",.0f", title="Plays"),
            alt.Tooltip("share:Q", format=".1%", title="Of 3-second plays"),
        ]
    )
    return (bars + base.mark_text(align="left", dx=4).encode(text="share_text:N")).properties(
        width="container"
    )


actor = current_actor()
workspace = st.session_state["metricx_workspace"]
currency = workspace.currency
period = current_period()
today = today_in(workspace.timezone)
st.title("Creatives")
st.caption(
    fmt.in_markdown(replace(period, compare=None).caption(workspace)) + " · period in the sidebar"
)

everything = known_creatives(actor.workspace_id)
if everything.empty:
    if connected_ad_accounts(actor.workspace_id) == 0:
        st.info(
            f"No ad account is connected yet: an admin connects {listing(AD_PROVIDERS)} on the "
            "Connections page, and your ads' creatives appear here after the first sync."
        )
        if actor.is_admin:
            st.page_link("views/connections.py", label="Open Connections", icon=":material/cable:")
    else:
        st.info(
            "No creative is stored yet: each sync reads your ads' creatives. Run a sync from "
            "the Connections page (admins), or wait for the next one (its progress is on the "
            "Operations page)."
        )
        if actor.is_admin:
            st.page_link("views/connections.py", label="Open Connections", icon=":material/cable:")
    st.stop()

campaign_names = campaign_choices(actor.workspace_id)
top = st.columns([1, 1, 2])  # campaign names are long: room for two chips side by side
formats = top[0].multiselect(
    "Format",
    [f for f in creative_report.FORMATS if f in set(everything["format"])],
    key="creative_formats",
    format_func=lambda f: FORMAT_LABELS.get(f, f),
    placeholder="Every format",
    **KEPT,
)
platforms = top[1].multiselect(
    "Platform",
    sorted(set(everything["provider"])),
    key="creative_platforms",
    format_func=short_name,
    placeholder="Every platform",
    **KEPT,
)
campaign_ids = top[2].multiselect(
    "Campaign",
    [str(i) for i in campaign_names],
    key="creative_campaigns",
    format_func=lambda i: campaign_names.get(int(i), i) if i.isdigit() else i,
    placeholder="Every campaign",
    **KEPT,
)
middle = st.columns(4)
launched_from = middle[0].date_input(
    "Launched from", None, key="creative_from", format="YYYY-MM-DD", **KEPT
)
launched_until = middle[1].date_input(
    "Launched until", None, key="creative_until", format="YYYY-MM-DD", **KEPT
)
sort_by = middle[2].selectbox(
    "Sort by",
    creative_report.SORT_KEYS,
    index=0,
    key="creative_sort",
    format_func=lambda k: SORT_LABELS.get(k) or fmt.label(k),
    **KEPT,
)
descending = (
    middle[3].radio(
        "Order", ["descending", "ascending"], key="creative_order", horizontal=True, **KEPT
    )
    == "descending"
)
chosen = CreativeFilter(
    formats=tuple(formats),
    providers=tuple(platforms),
    campaign_ids=tuple(int(i) for i in campaign_ids if str(i).isdigit()),
    launched_from=launched_from if isinstance(launched_from, date) else None,
    launched_until=launched_until if isinstance(launched_until, date) else None,
)

try:
    with st.spinner("Loading…"):
        table = card_rows(actor.workspace_id, period.range, today, chosen, sort_by, descending)
except MetricxError as error:
    st.error(str(error))
    st.stop()

days = fmt.span(period.range.start, period.range.end)
if table.empty:
    if chosen != CreativeFilter():
        st.info(
            f"No creative with these filters ran in {days}: clear the filters, or pick "
            "another period in the sidebar."
        )
        st.button("Clear the filters", key="creative_clear_filters", on_click=clear_filters)
    else:
        st.info(
            f"None of your {len(everything)} creatives had impressions in {days}: pick "
            "another period in the sidebar."
        )
    st.stop()

shown = table.head(MAX_CARDS)
images = previews(actor.workspace_id, tuple(shown["creative_id"].tolist()))
fatigued = int((table["fatigue"] == "fatigued").sum())
st.caption(
    f"{len(table)} creative{'s' if len(table) != 1 else ''} ran in {days}"
    + (f", {fatigued} fatigued" if fatigued else "")
    + (f"; the first {MAX_CARDS} are shown, the CSV has them all" if len(table) > MAX_CARDS else "")
    + ". Numbers are over the period; launch and fatigue over each creative's life."
)
for start in range(0, len(shown), PER_ROW):
    row_areas = st.columns(PER_ROW)
    for area, (_, row) in zip(
        row_areas, shown.iloc[start : start + PER_ROW].iterrows(), strict=False
    ):
        card(area, row, images.get(int(row["creative_id"])))

for metric_id, note in table.attrs.get("withheld", {}).items():
    st.caption(f"{fmt.label(metric_id)}: {note}")
out = table[CSV_COLUMNS].assign(provider=table["provider"].map(short_name))
st.download_button(
    "Download CSV",
    fmt.clean_csv(out, {"ctr_ratio": "ctr", "thumb_stop_ratio": "ctr", "cpa_ratio": "ctr"}),
    key="creatives_csv",
    file_name=f"metricx-creatives-{period.range.start}-{period.range.end}.csv",
    mime="text/csv",
)

st.subheader("Compare")
names = dict(zip(table["creative_id"].astype(int), table["name"], strict=True))
# Other cards (a filter, another period): the picks still among them stay, else the top three.
if st.session_state.get("creative_compare_among") != list(names):
    kept = [i for i in st.session_state.get("creative_compare", []) if i in names]
    st.session_state["creative_compare"] = kept or list(names)[:3]
    st.session_state["creative_compare_among"] = list(names)
left, right = st.columns([3, 1])
picked = left.multiselect(
    f"Creatives (up to {creative_report.MAX_COMPARED})",
    list(names),
    key="creative_compare",
    max_selections=creative_report.MAX_COMPARED,
    format_func=lambda i: f"{names[i]} (#{i})",
)
compare_metric = right.selectbox(
    "Metric",
    creative_report.CARD_METRICS,
    key="creative_compare_metric",
    format_func=fmt.label,
    **KEPT,
)
if not picked:
    st.info("Pick creatives above to see them on one chart.")
else:
    grain = "day" if period.range.days <= 62 else "week"
    try:
        lines = compared(actor.workspace_id, tuple(picked), compare_metric, period.range, grain)
    except MetricxError as error:
        st.error(str(error))
    else:
        # Each line is named with its id: two creatives may share a name.
        lines = lines.assign(
            creative=[
                f"{n} (#{i})" for n, i in zip(lines["creative"], lines["creative_id"], strict=True)
            ]
        )
        st.altair_chart(
            charts.metric_lines(lines, grain, [compare_metric], currency, color="creative"),
            width="stretch",
        )

st.subheader("Detail")
every_name = dict(zip(everything["creative_id"].astype(int), everything["name"], strict=True))
focus = st.selectbox(
    "Creative",
    list(every_name),
    index=None,
    key="creative",
    format_func=lambda i: f"{every_name[i]} (#{i})" if i in every_name else str(i),
    placeholder="Pick a creative, or click Details on its card",
    **KEPT,
)
if focus is None:
    st.stop()
try:
    shown_detail = one_creative(actor.workspace_id, int(focus), period.range, today)
except MetricxError as error:
    st.error(str(error))
    st.stop()
about = shown_detail.card
picture, facts = st.columns([1, 2])
preview = previews(actor.workspace_id, (int(focus),)).get(int(focus))
if preview:
    picture.image(preview, width="stretch")
else:
    picture.caption(no_preview(about["format"]))
with facts:
    st.markdown(f"### {fmt.literal(about['name'])}")
    st.caption(
        f"{FORMAT_LABELS.get(about['format'], about['format'])} · "
        f"{short_name(about['provider'])} · {launched_text(about['launched'])} · "
        f"{about['ads']} ad{'s' if about['ads'] != 1 else ''}"
        + (f" · in {fmt.literal(about['campaigns'])}" if about["campaigns"] else "")
    )
    for text in (about["title"], about["body"]):
        if text:
            st.markdown(f"> {fmt.literal(text)}")
    badge(shown_detail.verdict.status)
    st.caption(fmt.in_markdown(shown_detail.verdict.reason))
    st.markdown(numbers_line(pd.Series(about), currency, creative_report.CARD_METRICS[:3]))
    st.markdown(numbers_line(pd.Series(about), currency, creative_report.CARD_METRICS[3:]))

st.markdown("**Its ads**")
st.dataframe(
    shown_detail.ads,
    hide_index=True,
    width="stretch",
    column_order=["name", "campaign", "adset", "status", "spend", "impressions", "ctr", "roas"],
    column_config={
        "name": "Ad",
        "campaign": "Campaign",
        "adset": "Ad set",
        "status": "Status",
        **{m: fmt.metric_column(m, currency) for m in ("spend", "impressions", "ctr", "roas")},
    },
)
st.markdown("**Trend by week, against impressions to date**")
if shown_detail.trend.empty:
    st.info("No impressions in the last three years.")
else:
    st.altair_chart(trend_chart(shown_detail.trend), width="stretch")
st.markdown("**Watch funnel**")
if about["format"] != "video":
    st.caption("Only videos have a watch funnel.")
elif not shown_detail.funnel["plays"].any():
    st.info(f"No 3-second plays in {days}.")
else:
    st.altair_chart(funnel_chart(shown_detail.funnel), width="stretch")
for metric_id, note in shown_detail.withheld.items():
    st.caption(f"{fmt.label(metric_id)}: {note}")
