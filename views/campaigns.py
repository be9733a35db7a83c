"""Campaigns: account -> campaign -> ad set -> ad, with metrics, status and budget per node.
A click on a row opens its children (on an ad: its trend), the breadcrumb leads back up, and
switching level keeps the context. The view is in the URL (?level=adset&within=<id>&node=<id>,
the contract Analytics links to), so a link or a reload shows the same rows and trend."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import streamlit as st

from metricx.errors import MetricxError
from metricx.platforms import AD_PROVIDERS, listing
from metricx.services import campaigns, creatives
from metricx.services.campaigns import View
from metricx.vocabulary import LEVEL_NOUNS, LEVEL_TITLES, LEVELS
from ui import charts
from ui import format as fmt
from ui.period import KEPT, current_period
from ui.reads import campaign_tree, level_table, trend
from ui.session import current_actor

A_NOUN = {level: f"{'an' if n[0] in 'aeiou' else 'a'} {n}" for level, n in LEVEL_NOUNS.items()}
BOTH_AXES = "spend_roas"  # the trend's default: spend and ROAS, each on its own axis
TREND_CHOICES = (BOTH_AXES, *campaigns.TABLE_METRICS)
TREND_MARK = "trend ↓"  # plain text: the table's canvas may have no emoji font
ROWS = "campaign_rows"  # the table's row selection
ROW_IDS = "campaign_row_ids"  # the node id of each row the table showed, in its order


def as_view(level: str, within: list[str], node: str | None) -> View:
    """The view the widgets' values (ids as the URL's text) describe; text that is no id is
    left out."""
    return View(
        level,
        tuple(int(i) for i in within if str(i).isdigit()),
        int(node) if node is not None and str(node).isdigit() else None,
    )


def view_in_state() -> View:
    """The view the URL-bound widgets hold, read before they are drawn (a callback or the
    last run set it)."""
    return as_view(
        st.session_state.get("level", "campaign"),
        st.session_state.get("within", []),
        st.session_state.get("node"),
    )


def show(view: View) -> None:
    """Put `view` into the widgets that hold it (before they are drawn: in a callback or at
    the top of the run). A search narrows the list it was typed for, so opening another list
    clears it."""
    before = view_in_state()
    st.session_state["level"] = view.level
    st.session_state["within"] = [str(i) for i in view.within]
    st.session_state["node"] = None if view.node is None else str(view.node)
    if (view.level, view.within) != (before.level, before.within):
        st.session_state["search"] = ""


def follow_picked_row(everything: pd.DataFrame) -> None:
    """A row picked in the table opens what it leads to. Done here, before the widgets that
    hold the view are drawn, so they can take the new view; the pick is then cleared, so it
    is followed once."""
    selection = st.session_state.get(ROWS)
    picked = selection["selection"]["rows"] if selection else []
    ids = st.session_state.get(ROW_IDS, [])
    if picked and picked[0] < len(ids):
        show(campaigns.select_row(everything, view_in_state(), ids[picked[0]]))
        st.session_state[ROWS] = {"selection": {"rows": [], "columns": [], "cells": []}}


def clear_search() -> None:
    st.session_state["search"] = ""


def names(everything: pd.DataFrame, ids: tuple[int, ...]) -> str:
    return ", ".join(everything.set_index("id").loc[list(ids), "name"])


def describe(everything: pd.DataFrame, node_id: int) -> str:
    """ "Ad “Video 1” in Spring Sale › Ad set A": a node with the ancestors that tell it
    apart."""
    row = everything[everything["id"] == node_id].iloc[0]
    path = " › ".join(row[level] for level in campaigns.PARENT_COLUMNS[row["level"]] if row[level])
    where = f" in {path}" if path else ""
    return f"{LEVEL_NOUNS[row['level']].capitalize()} “{row['name']}”{where}"


actor = current_actor()
workspace = st.session_state["metricx_workspace"]
currency = workspace.currency
period = current_period()
st.title("Campaigns")
# This page compares nothing: its caption names the period alone.
st.caption(
    fmt.in_markdown(replace(period, compare=None).caption(workspace)) + " · period in the sidebar"
)

everything = campaign_tree(actor.workspace_id)
if everything.empty:
    if campaigns.connected_ad_accounts(actor.workspace_id) == 0:
        st.info(
            f"No ad account is connected yet: an admin connects {listing(AD_PROVIDERS)} on the "
            "Connections page, then campaigns appear here."
        )
        if actor.is_admin:
            st.page_link("views/connections.py", label="Open Connections", icon=":material/cable:")
    else:
        st.info(
            "Your ad accounts are connected; their campaigns appear here after the first "
            "sync (its progress is on the Operations page)."
        )
    st.stop()

follow_picked_row(everything)
# The view lives in these widgets, bound to the URL; they are hidden because they hold ids:
# the level buttons, the breadcrumb and the table's rows change them.
st.html("<style>.st-key-campaign_view {display: none;}</style>")
with st.container(key="campaign_view"):
    level = st.radio("Level", LEVELS, index=LEVELS.index("campaign"), key="level", **KEPT)
    within = st.multiselect("Inside", [], key="within", accept_new_options=True, **KEPT)
    node = st.selectbox("Trend of", [], index=None, key="node", accept_new_options=True, **KEPT)
asked = as_view(level, within, node)
view = campaigns.known(everything, asked)
if view != asked:
    st.warning(
        "This link names a campaign, ad set or ad that is not in this workspace (any "
        "more); it is left out."
    )

with st.container(horizontal=True, key="campaign_levels"):
    for option in LEVELS:
        st.button(
            LEVEL_TITLES[option],
            key=f"campaign_level_{option}",
            type="primary" if option == view.level else "secondary",
            on_click=show,
            args=(campaigns.switch_level(everything, view, option),),
        )
crumbs = campaigns.breadcrumb(everything, view)
with st.container(horizontal=True, vertical_alignment="center", key="campaign_breadcrumb"):
    for number, crumb in enumerate(crumbs[:-1]):
        st.button(
            crumb.label,
            key=f"campaign_crumb_{number}",
            type="tertiary",
            on_click=show,
            args=(crumb.view,),
        )
        st.markdown("›", width="content")
    st.markdown(f"**{fmt.literal(crumbs[-1].label)}**", width="content")

left, middle, right = st.columns([2, 2, 1])
search = left.text_input(
    "Search by name", key="search", **KEPT, placeholder=f"Part of {A_NOUN[view.level]} name"
).strip()
sort_by = middle.selectbox(
    "Sort by",
    campaigns.SORT_KEYS,
    index=campaigns.SORT_KEYS.index("spend"),
    key="sort",
    format_func=lambda k: "Name" if k == "name" else fmt.label(k),
    **KEPT,
)
descending = (
    right.radio("Order", ["descending", "ascending"], key="order", horizontal=True, **KEPT)
    == "descending"
)

try:
    with st.spinner("Loading…"):
        table = level_table(
            actor.workspace_id, view.level, period.range, view.within, search, sort_by, descending
        )
except MetricxError as error:
    st.error(str(error))
    st.stop()

noun, plural = LEVEL_NOUNS[view.level], LEVEL_TITLES[view.level].lower()
if table.empty:
    inside = f" in {names(everything, view.within)}" if view.within else ""
    if search:
        st.info(
            fmt.literal(
                f"No {noun} name contains “{search}”{inside} — clear the "
                f"search to see all {plural}{inside}."
            )
        )
        st.button("Clear the search", key="campaign_clear_search", on_click=clear_search)
    elif view.within:
        st.info(fmt.literal(f"{names(everything, view.within)} has no {plural}."))
    else:
        st.info(f"None of your ad accounts has {plural} yet.")
    st.stop()

days = fmt.span(period.range.start, period.range.end)
if table["spend"].sum() == 0 and table["conversions"].fillna(0).sum() == 0:
    st.info(f"Nothing was spent on these {plural} in {days}: pick another period in the sidebar.")

# The trend's node comes first and is marked, so a link to it (?node=<id>) shows it at once.
pinned = table["id"] == view.node
shown = pd.concat([table[pinned], table[~pinned]])
shown["trend"] = [TREND_MARK if i == view.node else "" for i in shown["id"]]
# A budget is a setting in its account's currency: shown as set there, not converted.
shown["budget"] = [
    fmt.money(float(b), c or currency) if pd.notna(b) else ""
    for b, c in zip(shown["budget"], shown["currency"], strict=True)
]
parents = list(campaigns.PARENT_COLUMNS[view.level])
# An ad shows its creative's preview: three ads called alike are told apart at a glance.
previews = creatives.ad_previews(actor.workspace_id, shown["id"]) if view.level == "ad" else {}
shown["preview"] = [previews.get(int(i)) for i in shown["id"]]
columns = [
    *(["trend"] if pinned.any() else []),
    *(["preview"] if previews else []),
    "name",
    *parents,
    "provider",
    "status",
    "budget",
    *campaigns.TABLE_METRICS,
]
st.session_state[ROW_IDS] = shown["id"].tolist()
st.caption(
    "Click an ad to see its trend."
    if view.level == "ad"
    else f"Click {A_NOUN[view.level]} to open its "
    f"{LEVEL_TITLES[campaigns.CHILD_LEVEL[view.level]].lower()}."
)
st.dataframe(
    shown[["id", *columns]],
    key=ROWS,
    on_select="rerun",
    selection_mode="single-row",
    hide_index=True,
    width="stretch",
    column_order=columns,
    column_config={
        "trend": st.column_config.TextColumn("", width="small", help="Its trend is below"),
        "preview": st.column_config.ImageColumn("Creative", width="small"),
        "name": LEVEL_NOUNS[view.level].capitalize(),
        **{parent: LEVEL_NOUNS[parent].capitalize() for parent in parents},
        "provider": "Platform",
        "status": "Status",
        "budget": st.column_config.TextColumn("Daily budget"),
        **{m: fmt.metric_column(m, currency) for m in campaigns.TABLE_METRICS},
    },
)
st.caption(f"Spend, CPA and CPC in {currency}; daily budgets in each account's own currency.")

st.subheader("Trend")
focus = (view.node,) if view.node is not None else view.within
whose = (
    describe(everything, view.node)
    if view.node is not None
    else names(everything, view.within)
    if view.within
    else "All ad accounts"
)
left, right = st.columns([3, 2])
left.markdown(f"**{fmt.literal(whose)}**")
if view.node is not None:
    context = names(everything, view.within) if view.within else "all ad accounts"
    left.button(
        f"Show the trend of {context} instead",
        key="campaign_trend_back",
        type="tertiary",
        on_click=show,
        args=(replace(view, node=None),),
    )
shown_metric = right.selectbox(
    "Metric",
    TREND_CHOICES,
    key="trend_metric",
    **KEPT,
    format_func=lambda m: (
        f"{fmt.label('spend')} and {fmt.label('roas')}" if m == BOTH_AXES else fmt.label(m)
    ),
)
try:
    daily = trend(actor.workspace_id, focus, period.range)
except MetricxError as error:
    st.error(str(error))
    st.stop()
if daily.empty or (daily["spend"].fillna(0) == 0).all():
    st.info(fmt.literal(f"No spend for {whose} in {days}."))
elif shown_metric == BOTH_AXES:
    st.altair_chart(charts.two_axis_lines(daily, "day", "spend", "roas", currency), width="stretch")
else:
    st.altair_chart(charts.metric_lines(daily, "day", [shown_metric], currency), width="stretch")
