"""Retention: what the customers each week, month or quarter brought did after their first
order — repeat rate, LTV and retention by age in a heatmap, LTV curves by cohort or channel,
CAC and its payback per cohort. The page picks its own range of cohorts (the last 12 whole
months unless changed); every choice is kept in the URL."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import streamlit as st

from metricx.errors import MetricxError
from metricx.semantic import families
from metricx.semantic.catalogue import EMPTY_VALUE
from metricx.semantic.dates import today_in
from metricx.semantic.query import TimeRange
from metricx.services import connections, retention
from metricx.services.retention import AgeUnit, Grain
from ui import charts
from ui import format as fmt
from ui.period import KEPT
from ui.retention_reads import cac_payback, cohort_table, ltv_curves
from ui.session import current_actor

HEATMAP_METRICS = ["repeat_rate", "ltv", "retention"]
GRAINS: dict[Grain, str] = {"week": "Week", "month": "Month", "quarter": "Quarter"}
SPLITS = {
    "acquisition_channel": "Channel",
    "acquisition_platform": "Platform",
    "acquisition_campaign": "Campaign",
    "first_product": "First product",
    "first_order_discount": "First-order discount",
}
NO_SPLIT = "none"
#: The ages each cohort grain is read at (unit, oldest age): a quarter's customers in months.
AGES: dict[Grain, tuple[AgeUnit, int]] = {
    "week": ("week", 12),
    "month": ("month", 11),
    "quarter": ("month", 11),
}
AGE_TITLES = {"week": "Weeks since first order", "month": "Months since first order"}
DEFAULT_MONTHS = 12
CURVES_SHOWN = 12  # cohort curves drawn: the newest; more would be a tangle
PAYBACK_METRICS = [m for m in retention.PAYBACK_METRICS if m != retention.CUSTOMERS]


def last_whole_months(today: date, count: int = DEFAULT_MONTHS) -> tuple[date, date]:
    """The first and last day of the `count` calendar months before the one of `today`."""
    end = today.replace(day=1) - timedelta(days=1)
    start = end.replace(day=1)
    for _ in range(count - 1):
        start = (start - timedelta(days=1)).replace(day=1)
    return start, end


def cohort_name(first_day: date, grain: Grain) -> str:
    """ "Nov 2026", "Q4 2026", "Week of Nov 2, 2026"."""
    if grain == "month":
        return f"{first_day:%b %Y}"
    if grain == "quarter":
        return f"Q{(first_day.month - 1) // 3 + 1} {first_day.year}"
    return f"Week of {fmt.day(first_day)}"


actor = current_actor()
workspace = st.session_state["metricx_workspace"]
currency = workspace.currency
st.title("Retention")

linked = connections.list_connections(actor.workspace_id)
if not any(c.provider == "shopify" for c in linked):
    st.info(
        "**No store data yet.** Connect your Shopify store on the Connections page "
        "(admins) and run a sync; each month's new customers, what they bought after their "
        "first order and what acquiring them cost appear here."
    )
    st.stop()

default_start, default_end = last_whole_months(today_in(workspace.timezone))
first_col, last_col, grain_col, split_col = st.columns([1, 1, 1, 2])
start = first_col.date_input(
    "First orders from", default_start, key="cohort_from", format="YYYY-MM-DD", **KEPT
)
end = last_col.date_input("to", default_end, key="cohort_to", format="YYYY-MM-DD", **KEPT)
grain = grain_col.selectbox(
    "Cohorts by", list(GRAINS), 1, format_func=GRAINS.__getitem__, key="cohort_grain", **KEPT
)
split_choice = split_col.selectbox(
    "Split by",
    [NO_SPLIT, *SPLITS],
    format_func=lambda s: "Nothing" if s == NO_SPLIT else SPLITS[s],
    key="cohort_split",
    **KEPT,
)
if not isinstance(start, date) or not isinstance(end, date):
    st.info("Pick both dates: the first and the last day of the first orders to include.")
    st.stop()
cohorts = TimeRange(start=min(start, end), end=max(start, end))
age_unit, max_age = AGES[grain]
split = None if split_choice == NO_SPLIT else split_choice
st.caption(
    fmt.in_markdown(
        f"Customers whose first order was in {fmt.span(cohorts.start, cohorts.end)}, by the "
        f"{grain} of it · days in {workspace.timezone} · {currency}"
    )
)

chosen = st.segmented_control(
    "Heatmap",
    HEATMAP_METRICS,
    default=HEATMAP_METRICS[0],
    format_func=lambda m: families.metric(m).label,
    key="cohort_metric",
    **KEPT,
)
metric = chosen or HEATMAP_METRICS[0]  # a click on the chosen option unselects it
entry = families.metric(metric)
try:
    with st.spinner("Computing the cohorts…"):
        table = cohort_table(actor.workspace_id, cohorts, grain, metric, age_unit, max_age, split)
except MetricxError as error:
    st.error(str(error) + ("" if actor.is_admin else " — ask an admin of this workspace."))
    st.stop()

if table.empty:
    fix = (
        "resync your store on the Connections page"
        if actor.is_admin
        else "ask an admin to run a sync"
    )
    st.info(
        f"**No customer placed a first order in {fmt.span(cohorts.start, cohorts.end)}.** "
        f"Pick other dates above; if your store took orders then, {fix}."
    )
    st.stop()


def row_names(frame: pd.DataFrame) -> list[str]:
    """Each row's cohort, with the split's value after it: "Nov 2026 · meta"."""
    names = [cohort_name(first_day, grain) for first_day in frame["cohort"]]
    if split is None:
        return names
    return [f"{name} · {value}" for name, value in zip(names, frame[split], strict=True)]


def cell_text(value: object, complete: bool) -> str:
    return fmt.value(entry, value, currency) if complete else charts.NOT_YET


# Rows by the service's keys (the cohort, or cohort and split value), named with the size of
# the cohort beside it: a heatmap's rows are its axis labels. No size while even the first
# age is still running.
keys = table.sizes.index
names = row_names(keys.to_frame(index=False))
labels = {
    key: name if pd.isna(size) else f"{name} ({size:,.0f})"
    for key, name, size in zip(keys, names, table.sizes, strict=True)
}
key_of = table.frame[table.rows].itertuples(index=False, name=None)
cells = table.frame.assign(
    row=[labels[key if split else key[0]] for key in key_of], value=table.frame[metric]
)
st.subheader(f"{entry.label} by age")
st.altair_chart(
    charts.cohort_heatmap(cells, entry, currency, AGE_TITLES[age_unit]), width="stretch"
)
st.caption(
    "Each row is a cohort, its number of customers in brackets. Striped cells are "
    f"“{charts.NOT_YET}”: that age has not fully passed for every customer of the cohort, "
    "so no value is shown rather than one that would look like a drop."
)
with st.expander("The heatmap as a table"):
    values, complete = table.values, table.complete
    matrix = pd.DataFrame(
        [
            [cell_text(values.at[key, age], bool(complete.at[key, age])) for age in values.columns]
            for key in values.index
        ],
        index=pd.Index([labels[key] for key in values.index], name="Cohort (customers)"),
        columns=[str(age) for age in values.columns],
    )
    st.dataframe(matrix, width="stretch")
st.download_button(
    "Download CSV",
    retention.to_csv(table),
    key="cohort_csv",
    file_name=f"metricx-cohorts-{metric}-{cohorts.start}-{cohorts.end}-{grain}.csv",
    mime="text/csv",
)

st.subheader("LTV curves")
by = (
    st.segmented_control(
        "Curves by",
        retention.CURVES_BY,
        default="cohort",
        format_func=lambda b: "Cohort" if b == "cohort" else SPLITS[b],
        key="ltv_by",
        **KEPT,
    )
    or "cohort"  # a click on the chosen option unselects it
)
try:
    curves = ltv_curves(actor.workspace_id, cohorts, by, grain, age_unit, max_age)
except MetricxError as error:
    st.error(str(error))
    st.stop()
drawn = curves.frame[curves.frame["complete"]]
if by == "cohort":
    newest = sorted(drawn["cohort"].unique())[-CURVES_SHOWN:]
    drawn = drawn[drawn["cohort"].isin(newest)]
    drawn = drawn.assign(cohort=drawn["cohort"].map(lambda day: cohort_name(day, grain)))
ltv = families.metric("ltv")
if drawn.empty:
    st.info(f"No cohort has lived its first whole {age_unit} yet: the curves start then.")
else:
    st.altair_chart(
        charts.curves(drawn, "age", ltv, by, currency, AGE_TITLES[age_unit]), width="stretch"
    )
st.caption(
    "Revenue per customer, cumulative since the first order; a line stops at the last age "
    "that has fully passed for its customers."
    + (
        f" The newest {CURVES_SHOWN} cohorts are drawn."
        if by == "cohort"
        else " Each age blends the cohorts that have fully reached it."
    )
)

st.subheader("CAC and payback")
try:
    payback = cac_payback(actor.workspace_id, cohorts, grain, split, age_unit, max_age)
except MetricxError as error:
    st.error(str(error) + ("" if actor.is_admin else " — ask an admin of this workspace."))
    st.stop()
shown = payback.frame.assign(row=row_names(payback.frame))
st.dataframe(
    shown,
    hide_index=True,
    width="stretch",
    placeholder=EMPTY_VALUE,
    column_order=["row", retention.CUSTOMERS, "age", *PAYBACK_METRICS],
    column_config={
        "row": "Cohort",
        retention.CUSTOMERS: fmt.metric_column(families.metric(retention.CUSTOMERS), currency),
        "age": st.column_config.NumberColumn(
            f"At {age_unit}", format="%d", help=f"The oldest {age_unit} fully passed"
        ),
        **{m: fmt.metric_column(families.metric(m), currency) for m in PAYBACK_METRICS},
    },
)
st.caption(
    f"LTV (gross profit) and LTV:CAC at the oldest {age_unit} that has fully passed (at most "
    f"{max_age}); payback is the {age_unit} at which gross profit per customer reached CAC, "
    "empty while it has not."
)
st.download_button(
    "Download CSV",
    retention.to_csv(payback),
    key="payback_csv",
    file_name=f"metricx-cac-payback-{cohorts.start}-{cohorts.end}-{grain}.csv",
    mime="text/csv",
)

with st.expander("Definitions"):
    for metric_id in dict.fromkeys([*HEATMAP_METRICS, retention.CUSTOMERS, *PAYBACK_METRICS]):
        st.markdown(f"- {fmt.in_markdown(families.metric(metric_id).definition)}")
    st.markdown(
        f"- Cohort = the customers whose first order (not test, not cancelled) falls in the "
        f"same week (from Monday), month or quarter, in your workspace's days "
        f"({workspace.timezone})."
    )
    st.markdown(
        "- Age = whole weeks or calendar months since a customer's first order, that order "
        "being age 0. A cell is complete once its age has passed for the cohort's last "
        "customer; until then it reads “not yet”."
    )
