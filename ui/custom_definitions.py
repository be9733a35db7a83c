"""Settings' widgets for a workspace's custom metrics and dimensions and the Dashboard's
tiles: the lists, the inputs of one definition, and its preview on last week's data.

Inputs are plain widgets, not a form, so the preview follows each change. Each definition's
inputs live under their own key prefix (a new one, or one per stored id): switching between
definitions keeps what was typed in each."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, get_args

import pandas as pd
import streamlit as st

from metricx.actor import Actor
from metricx.errors import MetricxError
from metricx.platforms import AD_PROVIDERS, listing
from metricx.semantic import catalogue
from metricx.semantic.custom import CustomDimension, CustomMetric, RuleField, RuleOperator
from metricx.services import custom_definitions
from ui import format as fmt
from ui.charts import metric_bars, metric_lines

#: The format a person picks -> the metric's unit.
FORMATS = {"Money": "currency", "Ratio": "ratio", "Percent": "percent", "Count": "count"}
#: The direction a person picks -> higher_is_better.
DIRECTIONS: dict[str, bool | None] = {
    "Higher is better": True,
    "Lower is better": False,
    "Neither": None,
}
RULE_COLUMNS = ("field", "op", "value", "then")
RULE_FIELDS: tuple[str, ...] = get_args(RuleField)
RULE_OPS: tuple[str, ...] = get_args(RuleOperator)
#: Split by a draft dimension in its preview.
DIMENSION_PREVIEW_METRICS = ("spend", "roas")
#: The id a draft is previewed under before it has one of its own.
DRAFT_ID = "draft"
FORMULA_HELP = (
    "Metric ids joined by `+ - * /` (or `× ÷ −`), numbers (`5%` is 0.05) and parentheses. "
    f"`name[provider=meta]` restricts an ad-platform metric to one of "
    f"{listing(AD_PROVIDERS, short=True)}, "
    "`name[stage=BOFU]` to a value of a custom dimension. Examples: "
    "`spend[provider=meta] / spend` (Meta's share of spend), "
    "`(net_sales - cogs) / orders` (margin per order), `roas[provider=google]`. "
    "A division by zero gives an empty value."
)


def _label_of(unit_or_direction: object, choices: Mapping[str, object]) -> str:
    return next(label for label, value in choices.items() if value == unit_or_direction)


# --- custom metrics ------------------------------------------------------------------------


def metric_table(metrics: Mapping[str, CustomMetric]) -> None:
    """The workspace's custom metrics, or what to do when there are none."""
    if not metrics:
        st.caption(
            "No custom metrics yet: define one below, e.g. Meta's share of spend = "
            "`spend[provider=meta] / spend`."
        )
        return
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "Id": key,
                    "Label": m.label,
                    "Formula": m.formula,
                    "Format": _label_of(m.unit, FORMATS),
                    "Direction": _label_of(m.higher_is_better, DIRECTIONS),
                    "Description": m.description,
                }
                for key, m in metrics.items()
            ]
        ),
        hide_index=True,
    )


def metric_start(prefix: str, stored: CustomMetric | None) -> dict[str, object]:
    """What a metric's inputs start from: the stored definition, or blanks."""
    return {
        f"{prefix}_id": "",
        f"{prefix}_label": stored.label if stored else "",
        f"{prefix}_formula": stored.formula if stored else "",
        f"{prefix}_format": _label_of(stored.unit, FORMATS) if stored else "Ratio",
        f"{prefix}_direction": (
            _label_of(stored.higher_is_better, DIRECTIONS) if stored else "Higher is better"
        ),
        f"{prefix}_description": stored.description if stored else "",
    }


def metric_inputs(prefix: str, stored: CustomMetric | None) -> tuple[str, dict[str, Any]]:
    """The inputs of one custom metric (the id only for a new one): the id typed and the
    definition, as service arguments."""
    key = ""
    if stored is None:
        key = st.text_input(
            "Id",
            key=f"{prefix}_id",
            placeholder="meta_share",
            help="How queries and formulas name it: lower-case letters, digits and _.",
        ).strip()
    left, middle, right = st.columns(3)
    label = left.text_input("Label", key=f"{prefix}_label", placeholder="Meta share of spend")
    unit = FORMATS[middle.selectbox("Format", list(FORMATS), key=f"{prefix}_format")]
    better = DIRECTIONS[right.selectbox("Direction", list(DIRECTIONS), key=f"{prefix}_direction")]
    text = st.text_input(
        "Formula",
        key=f"{prefix}_formula",
        placeholder="spend[provider=meta] / spend",
        help=FORMULA_HELP,
    )
    description = st.text_input("Description (optional)", key=f"{prefix}_description")
    return key, {
        "label": label,
        "formula": text,
        "unit": unit,
        "higher_is_better": better,
        "description": description,
    }


def metric_preview(workspace_id: int, key: str, draft: Mapping[str, Any]) -> None:
    """The draft on last week's data: its total, its days as a chart, and a table of its days
    beside the metrics it is built from; a draft that cannot be computed says why."""
    if not str(draft["formula"]).strip():
        st.caption("Type a formula to see it on last week's data.")
        return
    key = key or DRAFT_ID
    shown = {**draft, "label": str(draft["label"]).strip() or key}  # a label is for saving
    try:
        total = custom_definitions.preview_metric(workspace_id, key, shown, by_day=False)
        daily = custom_definitions.preview_metric(workspace_id, key, shown)
    except MetricxError as error:
        st.error(str(error))
        return
    metric, currency = total.metric(key), total.currency
    week = total.query.time_range
    st.metric(
        fmt.literal(f"{metric.label}, {week.start:%b %-d} – {week.end:%b %-d}"),
        fmt.value(metric, total.frame[key].iloc[0], currency),
    )
    days = daily.frame.set_index("day")
    st.altair_chart(metric_lines(daily.frame, "day", [metric], currency))
    st.dataframe(
        pd.DataFrame(
            {
                daily.metric(m).label: [fmt.value(daily.metric(m), v, currency) for v in days[m]]
                for m in daily.query.metrics
            },
            index=pd.Index(days.index, name="Day"),
        )
    )


# --- custom dimensions ---------------------------------------------------------------------


def _rules_text(dimension: CustomDimension) -> str:
    return "; ".join(f"{r.field} {r.op} {r.value!r} → {r.then}" for r in dimension.rules)


def dimension_table(dimensions: Mapping[str, CustomDimension]) -> None:
    """The workspace's custom dimensions, or what to do when there are none."""
    if not dimensions:
        st.caption(
            "No custom dimensions yet: define one below, e.g. a funnel stage: campaign "
            'contains "Retargeting" → BOFU, otherwise TOFU.'
        )
        return
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "Id": key,
                    "Label": d.label,
                    "Rules (first match wins)": _rules_text(d),
                    "Otherwise": d.otherwise,
                    "Description": d.description,
                }
                for key, d in dimensions.items()
            ]
        ),
        hide_index=True,
    )


def dimension_start(prefix: str, stored: CustomDimension | None) -> dict[str, object]:
    """What a dimension's text inputs start from: the stored definition, or blanks."""
    return {
        f"{prefix}_id": "",
        f"{prefix}_label": stored.label if stored else "",
        f"{prefix}_otherwise": stored.otherwise if stored else "Other",
        f"{prefix}_description": stored.description if stored else "",
    }


def dimension_inputs(prefix: str, stored: CustomDimension | None) -> tuple[str, dict[str, Any]]:
    """The inputs of one custom dimension (the id only for a new one) with its ordered rules:
    the id typed and the definition, as service arguments."""
    key = ""
    if stored is None:
        key = st.text_input(
            "Id",
            key=f"{prefix}_id",
            placeholder="stage",
            help="How queries and formulas name it: lower-case letters, digits and _.",
        ).strip()
    label = st.text_input("Label", key=f"{prefix}_label", placeholder="Funnel stage")
    # The stored rules are the editor's data; what is typed stays in its widget state.
    start = pd.DataFrame(
        [r.model_dump() for r in stored.rules] if stored else [], columns=list(RULE_COLUMNS)
    )
    rules = st.data_editor(
        start.astype("string"),
        key=f"{prefix}_rules",
        num_rows="dynamic",
        hide_index=True,
        column_config={
            "field": st.column_config.SelectboxColumn("Field", options=RULE_FIELDS, required=True),
            "op": st.column_config.SelectboxColumn("Match", options=RULE_OPS, required=True),
            "value": st.column_config.TextColumn("Value", required=True),
            "then": st.column_config.TextColumn("Then", required=True),
        },
    )
    st.caption(
        "Rules apply in order; the first that matches gives the value (matching ignores "
        "case). Fields are the names of the account, campaign, ad set and ad, or the "
        f"platform ({', '.join(AD_PROVIDERS)})."
    )
    left, right = st.columns(2)
    otherwise = left.text_input("Otherwise", key=f"{prefix}_otherwise")
    description = right.text_input("Description (optional)", key=f"{prefix}_description")
    return key, {
        "label": label,
        "rules": _typed_rules(rules),
        "otherwise": otherwise,
        "description": description,
    }


def _typed_rules(rules: pd.DataFrame) -> list[dict[str, str]]:
    """The editor's rows as rules, blank rows left out (an added row not filled in yet)."""
    rows = rules.reindex(columns=list(RULE_COLUMNS)).astype("string").fillna("")
    typed = [{c: str(row[c]).strip() for c in RULE_COLUMNS} for _, row in rows.iterrows()]
    return [rule for rule in typed if any(rule.values())]


def dimension_preview(workspace_id: int, key: str, draft: Mapping[str, Any]) -> None:
    """Spend and ROAS over last week split by the draft; a draft that cannot be used says
    why."""
    if not draft["rules"]:
        st.caption("Add a rule to see last week's spend and ROAS split by it.")
        return
    key = key or DRAFT_ID
    shown = {**draft, "label": str(draft["label"]).strip() or key}
    try:
        result = custom_definitions.preview_dimension(
            workspace_id, key, shown, DIMENSION_PREVIEW_METRICS
        )
    except MetricxError as error:
        st.error(str(error))
        return
    frame, currency, week = result.frame, result.currency, result.query.time_range
    checked = result.query.definitions.dimensions[key]
    st.caption(
        f"Last week, {week.start:%b %-d} – {week.end:%b %-d}, by {fmt.literal(checked.label)}:"
    )
    if frame.empty:
        st.caption("No ad spend last week to split.")
        return
    st.altair_chart(metric_bars(frame, key, DIMENSION_PREVIEW_METRICS, currency))
    st.dataframe(
        frame.rename(columns={key: checked.label}),
        hide_index=True,
        column_config={m: fmt.metric_column(m, currency) for m in DIMENSION_PREVIEW_METRICS},
    )


# --- either kind ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Editor:
    """How Settings edits one kind of custom definition."""

    start: Callable[[str, Any], dict[str, object]]  # (prefix, stored) -> seeded inputs
    inputs: Callable[[str, Any], tuple[str, dict[str, Any]]]  # -> (id typed, definition)
    preview: Callable[[int, str, Mapping[str, Any]], None]
    save: Callable[[Actor, str, Any], object]
    #: What deleting one loses, for its confirmation.
    loss: str
    #: Keys of inputs `start` does not seed (the rules editor), by suffix of the prefix.
    unseeded: tuple[str, ...] = ()


EDITORS = {
    "metric": Editor(
        metric_start,
        metric_inputs,
        metric_preview,
        custom_definitions.save_metric,
        "pages and tiles showing it lose it",
    ),
    "dimension": Editor(
        dimension_start,
        dimension_inputs,
        dimension_preview,
        custom_definitions.save_dimension,
        "splits and filters by it stop working",
        unseeded=("_rules",),
    ),
}


# --- the Dashboard's tiles -----------------------------------------------------------------


def tile_labels(custom: Mapping[str, CustomMetric]) -> dict[str, str]:
    """Every metric a tile can show, id -> label: the catalogue's, then the custom ones."""
    return {
        **{key: m.label for key, m in catalogue.METRICS.items()},
        **{key: f"{m.label} (custom)" for key, m in custom.items()},
    }


def tile_picker(key: str, labels: Mapping[str, str]) -> list[str]:
    """The tiles chosen, in order (the input starts from what is stored: seed `key`)."""
    return st.multiselect(
        "Tiles, in order",
        list(labels),
        key=key,
        format_func=labels.__getitem__,
        max_selections=custom_definitions.MAX_TILES,
        help=f"Up to {custom_definitions.MAX_TILES} metrics, catalogue or custom.",
    )
