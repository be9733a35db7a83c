"""Analytics explorer: any SemanticQuery through widgets; the view lives in the URL, so a link
reproduces it."""

import json

import streamlit as st

from metricx.copilot.respond import chart
from metricx.errors import MetricxError
from metricx.semantic import catalogue
from metricx.semantic.dates import compare_range_for, resolve_phrase, today_in
from metricx.semantic.query import DIMENSIONS, SemanticQuery
from ui.queries import cached_query
from ui.session import current_actor

PERIODS = ["yesterday", "last 7 days", "last 14 days", "last 30 days", "this week",
           "last week", "month to date", "last month", "last 90 days"]
GRAINS = ["none", "day", "week", "month", "hour"]
COMPARISONS = {"none": None, "previous period": "previous_period",
               "previous year": "previous_year"}
# Attributed metrics wait for the attribution models (their issue); the rest all answer.
ANSWERABLE = [m for m in catalogue.METRIC_IDS if not catalogue.needs_attribution(m)]

actor = current_actor()
workspace = st.session_state["metricx_workspace"]
params = st.query_params
st.title("Analytics")


def from_url(key: str, default: str) -> str:
    return params.get(key, default)


def listed(key: str, default: list[str], allowed: list[str]) -> list[str]:
    chosen = [v for v in from_url(key, ",".join(default)).split(",") if v in allowed]
    return chosen or default


left, middle, right = st.columns(3)
metrics = left.multiselect("Metrics", ANSWERABLE, listed("metrics", ["spend", "roas"],
                                                         ANSWERABLE),
                           format_func=lambda m: catalogue.get_metric(m).label)
dimensions = middle.multiselect("Split by", list(DIMENSIONS),
                                listed("dims", [], list(DIMENSIONS)))
grain = right.selectbox("Over time", GRAINS, GRAINS.index(from_url("grain", "none"))
                        if from_url("grain", "none") in GRAINS else 0)
left, middle, right = st.columns(3)
period = left.selectbox("Period", PERIODS, PERIODS.index(from_url("period", "last 30 days"))
                        if from_url("period", "last 30 days") in PERIODS else 3)
comparison = middle.selectbox("Compare with", list(COMPARISONS),
                              list(COMPARISONS).index(from_url("compare", "none"))
                              if from_url("compare", "none") in COMPARISONS else 0)
providers = right.multiselect("Platforms", ["meta", "google"],
                              listed("providers", ["meta", "google"], ["meta", "google"]))
name_contains = st.text_input("Name contains", from_url("name", ""))

params.update(metrics=",".join(metrics), dims=",".join(dimensions), grain=grain, period=period,
              compare=comparison, providers=",".join(providers), name=name_contains)

if not metrics:
    st.info("Pick at least one metric.")
    st.stop()
time_range = resolve_phrase(period, today_in(workspace.timezone))
kind = COMPARISONS[comparison]
query = {"metrics": metrics, "time_range": time_range.model_dump(mode="json"),
         "compare_range": compare_range_for(kind, time_range).model_dump(mode="json")
         if kind else None,
         "dimensions": dimensions, "grain": None if grain == "none" else grain,
         "filters": {"provider": providers if len(providers) == 1 else None,
                     "name_contains": name_contains or None}}
try:
    SemanticQuery.parse(query)  # a clear message for combinations that cannot run
    with st.spinner("Running the query…"):
        result = cached_query(actor.workspace_id, query)
except MetricxError as error:
    st.warning(str(error))
    st.stop()

st.caption(f"{time_range.start} – {time_range.end} · days in {workspace.timezone} · "
           f"money in {workspace.currency}")
if result.frame.empty:
    st.info("No data for this selection: widen the period or remove filters.")
    st.stop()
figure = chart(result)
if figure is not None:
    st.altair_chart(figure, width="stretch")
st.dataframe(result.frame, hide_index=True, width="stretch")
if result.compare_frame is not None:
    st.caption(f"Comparison: {result.query.compare_range.start} – "
               f"{result.query.compare_range.end}")
    st.dataframe(result.compare_frame, hide_index=True, width="stretch")
st.download_button("Download CSV", result.frame.to_csv(index=False).encode(),
                   file_name="metricx-analytics.csv", mime="text/csv")
with st.expander("Definitions and query"):
    for definition in result.definitions.values():
        st.markdown(f"- {definition}")
    st.code(json.dumps(result.query.model_dump(mode="json"), indent=2), language="json")
