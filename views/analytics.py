"""Analytics: any SemanticQuery through widgets, laid out for an analyst. Every widget keeps its
value in the URL and across pages (the period is the app's one period, in the sidebar), so a
link or a reload reproduces the view. The workspace's custom metrics and dimensions are offered
beside the catalogue's: metrics to show, dimensions to split by and to filter on."""

from __future__ import annotations

import json
from typing import cast

import pandas as pd
import streamlit as st
from streamlit.elements.arrow import DataframeState

from metricx.errors import MetricxError
from metricx.platforms import short_name
from metricx.semantic import catalogue
from metricx.semantic.catalogue import Metric
from metricx.semantic.query import (
    DIMENSIONS,
    EMAIL_CHANNEL_LABELS,
    EMAIL_DIMENSIONS,
    SemanticQuery,
    TimeRange,
)
from metricx.services import creatives, custom_definitions
from metricx.vocabulary import AD_PROVIDERS, LEVELS
from ui import charts
from ui import format as fmt
from ui.links import GRAIN_LABELS, GRAINS, AnalyticsOptions
from ui.period import KEPT, current_period
from ui.queries import cached_query, metrics_query
from ui.session import current_actor

DEFAULT_METRICS = ["spend", "roas"]
# How a time bucket reads in the table (moment.js formats); the CSV keeps ISO dates.
GRAIN_FORMATS = {
    "day": "MMM D, YYYY",
    "week": "[Week of] MMM D, YYYY",
    "month": "MMMM YYYY",
    "hour": "MMM D, YYYY HH:mm",
}
# An ad or ad set is shown with the names above it: ads are often named alike ("Video 1").
PARENTS = {"ad": ("campaign", "adset"), "adset": ("campaign",)}
PREVIOUS, CHANGE = "_previous", "_change"
CHART_ROWS = 10  # bars or lines per chart; the table has every row

actor = current_actor()
workspace = st.session_state["metricx_workspace"]
currency = workspace.currency
period = current_period()
st.title("Analytics")
custom = custom_definitions.definitions(actor.workspace_id)
offered = AnalyticsOptions.of(custom)

left, middle, right = st.columns(3)
metrics = left.multiselect(
    "Metrics",
    offered.metrics,
    DEFAULT_METRICS,
    format_func=offered.metric_labels.__getitem__,
    key="metrics",
    wrap=True,
    **KEPT,
)
chosen = middle.multiselect(
    "Split by",
    offered.dimensions,
    format_func=offered.dimension_labels.__getitem__,
    key="dims",
    wrap=True,
    **KEPT,
)
grain_choice = right.selectbox(
    "Over time", list(GRAIN_LABELS), format_func=GRAIN_LABELS.__getitem__, key="grain", **KEPT
)
grain = GRAINS.get(grain_choice)  # "total": no grain
left, right, *spare = st.columns([1, 2, 2] if custom.dimensions else [1, 2])
providers = left.multiselect(
    "Platforms", AD_PROVIDERS, AD_PROVIDERS, format_func=short_name, key="providers", **KEPT
)
name_contains = right.text_input(
    "Name contains",
    key="name_contains",
    **KEPT,
    placeholder="Part of a campaign, ad set or ad name",
)
# Values of one dimension are alternatives; values of two dimensions must both hold.
dimension_values: dict[str, list[str]] = {}
for picked_value in (
    spare[0].multiselect(
        "Only where",
        offered.values,
        format_func=offered.value_labels.__getitem__,
        key="values",
        placeholder="Values of your custom dimensions",
        **KEPT,
    )
    if spare
    else []
):
    dimension_id, dimension_value = offered.value_of(picked_value)
    dimension_values.setdefault(dimension_id, []).append(dimension_value)
st.caption(fmt.in_markdown(period.caption(workspace)) + " · period and comparison in the sidebar")

if not metrics:
    st.info("Pick at least one metric.")
    st.stop()
if not providers:
    st.info("Pick at least one platform.")
    st.stop()
dimensions = [
    *(d for d in DIMENSIONS if d in chosen or any(d in PARENTS.get(c, ()) for c in chosen)),
    *(d for d in chosen if d in custom.dimensions),
    *(d for d in EMAIL_DIMENSIONS if d in chosen),
]
# Split over the whole period, the comparison is its own query joined on the entities, so a
# row of only one period still shows; over time (or for one total) the engine aligns each
# bucket with the one at the same place in the comparison period.
joined = period.compare is not None and bool(dimensions) and grain is None


def query_for(
    span: TimeRange, compare: TimeRange | None, split: list[str] = dimensions
) -> SemanticQuery:
    every_platform = set(providers) == set(AD_PROVIDERS)
    return metrics_query(
        metrics,
        span,
        compare=compare,
        dimensions=split,
        grain=grain,
        providers=None if every_platform else providers,
        name_contains=name_contains,
        dimension_values=dimension_values,
        custom=custom,
    )


try:
    # The engine's message about the split as chosen, before parents join it.
    query_for(period.range, period.compare, chosen)
    with st.spinner("Running the query…"):
        result = cached_query(
            actor.workspace_id, query_for(period.range, None if joined else period.compare)
        )
        before = (
            cached_query(actor.workspace_id, query_for(period.compare, None))
            if joined and period.compare is not None
            else None
        )
except MetricxError as error:  # a combination that cannot run says why, in one sentence
    st.warning(str(error))
    st.stop()
#: Each chosen metric as an entry (label, unit, direction), custom ones too.
entries: dict[str, Metric] = {m: result.metric(m) for m in metrics}


def with_comparison(frame: pd.DataFrame) -> pd.DataFrame:
    """The period's rows with, per metric, the previous value and the change beside it."""
    if before is not None:
        # Tree levels match on their ids; the platform and custom dimensions on their values.
        keys = [
            c for c in frame.columns if c.endswith("_id") or (c in dimensions and c not in LEVELS)
        ]
        then = before.frame.rename(columns={m: m + PREVIOUS for m in metrics})
        frame = frame.merge(then, on=keys, how="outer", suffixes=("", "_then"), indicator=True)
        for name in (d for d in dimensions if d not in keys):
            frame[name] = frame[name].fillna(frame.pop(name + "_then"))
        # A row of only one period had nothing in the other: its sums there are 0, not unknown.
        sums = [m for m in metrics if entries[m].is_base]
        frame.loc[frame["_merge"] == "right_only", sums] = 0
        frame.loc[frame["_merge"] == "left_only", [m + PREVIOUS for m in sums]] = 0
        frame = frame.drop(columns="_merge")
    elif result.compare_frame is not None:
        then = result.compare_frame
        frame = frame.assign(**{m + PREVIOUS: then[m].to_numpy() for m in metrics})
        if grain:
            frame[grain + PREVIOUS] = then[grain].to_numpy()
    else:
        return frame
    for metric in metrics:
        frame[metric + CHANGE] = pd.Series(
            [
                fmt.change(now, then)
                for now, then in zip(frame[metric], frame[metric + PREVIOUS], strict=True)
            ],
            index=frame.index,
            dtype=float,
        )  # None (nothing to compare with) becomes NaN
    return frame


def ranked(frame: pd.DataFrame) -> pd.DataFrame:
    """Largest first metric first, ties by name; over time, in time order first."""
    by = [*([grain] if grain else []), metrics[0], *dimensions]
    ascending = [*([True] if grain else []), False, *[True] * len(dimensions)]
    return frame.sort_values(
        by, ascending=ascending, na_position="last", kind="stable"
    ).reset_index(drop=True)


table = ranked(with_comparison(result.frame))
compared = period.compare is not None

if table.empty or not table[metrics].fillna(0).ne(0).to_numpy().any():
    wanted = ", ".join(entries[m].label for m in metrics)
    if name_contains:
        st.info(
            f"Nothing named like “{fmt.literal(name_contains)}” has {wanted} in this "
            "period: check the spelling or clear “Name contains”."
        )
    else:
        st.info(
            f"No {wanted} recorded in this period for this selection. Pick a longer period "
            "in the sidebar, choose other platforms, or check under Connections that your "
            "ad accounts have synced."
        )
    st.stop()


def row_names(frame: pd.DataFrame) -> pd.Series:
    """Each row's dimension names from the top of the tree, "Meta › Summer sale › Video 1"."""
    parts = [
        frame[n].map(short_name)
        if n == "provider"
        else frame[n].map(EMAIL_CHANNEL_LABELS)
        if n == "email_channel"
        else frame[n].astype(str)
        for n in dimensions
    ]
    return pd.Series([" › ".join(row) for row in zip(*parts, strict=True)], index=frame.index)


def draw_charts() -> None:
    """Every chosen metric charted: over time as lines, split as bars, one total as tiles."""
    if not dimensions and grain is None:
        for column, metric in zip(
            st.columns(min(len(metrics), 4)) * len(metrics), metrics, strict=False
        ):
            now = table[metric].iloc[0]
            entry = entries[metric]
            text, colour = (
                fmt.delta(entry, now, table[metric + PREVIOUS].iloc[0])
                if compared
                else (None, "off")
            )
            column.metric(entry.label, fmt.value(entry, now, currency), text, delta_color=colour)
        return
    data = table if grain is None else table.assign(**{grain: pd.to_datetime(table[grain])})
    charted = list(entries.values())
    if not dimensions and grain is not None:  # (no split and no grain showed tiles above)
        figure = (
            charts.two_axis_lines(data, grain, charted[0], charted[1], currency)
            if len(metrics) == 2
            else charts.metric_lines(data, grain, charted, currency)
        )
        st.altair_chart(figure, width="stretch")
        return
    data = data.assign(row=row_names(data))
    if grain is None:  # the table's top rows, in its order
        figure = charts.metric_bars(
            data.head(CHART_ROWS), "row", charted, currency, PREVIOUS if compared else None
        )
    else:
        largest = data.groupby("row")[metrics[0]].sum().nlargest(CHART_ROWS).index
        figure = charts.metric_lines(
            data[data["row"].isin(largest)], grain, charted, currency, color="row"
        )
    st.altair_chart(figure, width="stretch")
    if data["row"].nunique() > CHART_ROWS:
        st.caption(
            f"Charted: the {CHART_ROWS} rows with the largest {entries[metrics[0]].label}; "
            "the table has them all."
        )


draw_charts()


def shown_columns() -> dict[str, tuple[str, str | None, str]]:
    """The table's visible columns in order: column -> (label, metric id or None, role), the
    role being "" for a value, "previous" or "change" (id columns stay hidden)."""
    columns: dict[str, tuple[str, str | None, str]] = {
        name: (offered.dimension_labels[name], None, "") for name in dimensions
    }
    if grain:
        columns[grain] = (GRAIN_LABELS[grain], None, "")
        if compared:
            columns[grain + PREVIOUS] = ("Compared with", None, "")
    for metric in metrics:
        label = entries[metric].label
        columns[metric] = (label, metric, "")
        if compared:
            columns[metric + PREVIOUS] = (label, metric, "previous")
            columns[metric + CHANGE] = (label, None, "change")
    return columns


def header(label: str, role: str) -> str:
    return {"": label, "previous": f"{label} (previous)", "change": f"{label} change"}[role]


columns = shown_columns()
# Split by ad (or creative), each row shows the creative's preview: ads called alike are told
# apart at a glance.
previews = (
    creatives.ad_previews(actor.workspace_id, table["ad_id"].dropna())
    if "ad" in dimensions and "ad_id" in table
    else creatives.creative_previews(actor.workspace_id, table["creative_id"].dropna())
    if "creative" in dimensions and "creative_id" in table
    else {}
)
if previews:
    key = "ad_id" if "ad" in dimensions else "creative_id"
    table = table.assign(
        preview=pd.Series(
            [previews.get(int(i)) if pd.notna(i) else None for i in table[key]],
            index=table.index,
            dtype=object,
        )
    )
    columns = {"preview": ("Preview", None, "image"), **columns}
shown = table.assign(
    **({"provider": table["provider"].map(short_name)} if "provider" in dimensions else {}),
    **(
        {"email_channel": table["email_channel"].map(EMAIL_CHANNEL_LABELS)}
        if "email_channel" in dimensions
        else {}
    ),
)
config = {}
for column, (label, metric, role) in columns.items():
    if metric is not None:
        # fmt.metric_column reads entries as fmt.metric does (its hint still says str)
        config[column] = fmt.metric_column(
            entries[metric],
            currency,
            header(label, role),
        )
    elif role == "image":
        config[column] = st.column_config.ImageColumn(label, width="small")
    elif role == "change":
        shown[column] = shown[column] * 100
        config[column] = fmt.change_column(header(label, role))
    elif grain and column.startswith(grain):
        shown[column] = pd.to_datetime(shown[column])
        config[column] = st.column_config.DatetimeColumn(label, format=GRAIN_FORMATS[grain])
    else:
        config[column] = label
levels = [level for level in LEVELS if level in dimensions]  # a row opens in Campaigns
picked = st.dataframe(
    shown,
    column_config=config,
    column_order=list(columns),
    hide_index=True,
    width="stretch",
    key="analytics_rows",
    placeholder=catalogue.EMPTY_VALUE,
    on_select="rerun" if levels else "ignore",
    selection_mode="single-row",
)
if compared and joined:
    st.caption(
        f"Rows are matched on {', '.join(offered.dimension_labels[d] for d in dimensions)} "
        "across both periods; a row of only one period shows 0 or “—” for the other."
    )
elif compared and grain:
    st.caption(
        f"Each {GRAIN_LABELS[grain].lower()} is compared with the one at the same place "
        f"in the comparison period (first with first, second with second…), shown under "
        "“Compared with”."
    )

withheld = {**(before.withheld if before is not None else {}), **result.withheld}
for metric, why in withheld.items():
    st.caption(f"{entries[metric].label}: {why}.")


def open_in_campaigns(row: pd.Series) -> None:
    """Buttons that open the selected row's campaign, ad set or ad in Campaigns."""
    with st.container(horizontal=True):
        for level in levels:
            node = row[f"{level}_id"]
            if pd.isna(node):
                continue
            name = fmt.literal(str(row[level]))
            if st.button(
                f"{offered.dimension_labels[level]} “{name}”",
                key=f"analytics_open_{level}",
                icon=":material/open_in_new:",
                help="Open it in Campaigns",
            ):
                st.switch_page(
                    "views/campaigns.py", query_params={"level": level, "node": str(int(node))}
                )


if levels:
    # drawn with on_select="rerun" (there are levels): the table returned its selection state
    selected = cast(DataframeState, picked).selection.rows
    if selected and selected[0] < len(table):  # a selection outlives a narrower query
        st.caption("Open in Campaigns:")
        open_in_campaigns(table.iloc[selected[0]])
    else:
        st.caption("Select a row to open it in Campaigns.")


def csv_of(frame: pd.DataFrame) -> bytes:
    """The table as shown, with human headers (money ones name the currency) and changes as
    fractions; clean_csv rounds each metric column by its unit."""
    headers, metric_ids = {}, {}
    written = {c: v for c, v in columns.items() if v[2] != "image"}  # no previews in a CSV
    for column, (label, metric, role) in written.items():
        money = metric is not None and entries[metric].unit == "currency"
        headers[column] = {
            ("", True): f"{label} ({currency})",
            ("previous", True): f"{label} (previous, {currency})",
        }.get((role, money), header(label, role))
        if metric is not None:
            metric_ids[headers[column]] = entries[metric]
    out = frame[list(written)].copy()
    for column, (_, _, role) in written.items():
        if role == "change":
            out[column] = out[column].round(6)
    if "provider" in out:
        out["provider"] = out["provider"].map(short_name)
    return fmt.clean_csv(out.rename(columns=headers), metric_ids)


st.download_button(
    "Download CSV",
    csv_of(table),
    file_name="metricx-analytics.csv",
    mime="text/csv",
    key="analytics_csv",
)
with st.expander("Definitions and query"):
    for definition in result.definitions.values():
        st.markdown(f"- {fmt.in_markdown(definition)}")
    ran = [result.query] + ([before.query] if before is not None else [])
    st.code(json.dumps([q.model_dump(mode="json") for q in ran], indent=2), language="json")
