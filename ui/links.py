"""Links that name a widget's options by id (?metrics=spend&dims=provider), as links written
by hand or made before widgets were bound to the URL do. A bound widget reads only its labels
from the URL ("Ad spend") and drops anything else, so such a link is reopened once, before
any widget is drawn, with the ids turned into labels: the address then reads like one the app
makes, and keeps the view through a reload.

Analytics also offers the workspace's custom metrics and dimensions: their labels are made
unique among the page's options here, so a label in the URL names one option."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import get_args

import streamlit as st

from metricx.platforms import short_name
from metricx.semantic import catalogue
from metricx.semantic.custom import Definitions
from metricx.semantic.query import EMAIL_DIMENSION_LABELS, Grain
from metricx.services import custom_definitions
from metricx.vocabulary import AD_PROVIDERS
from ui import format as fmt

# Attributed metrics wait for the attribution models (their issue); the rest all answer.
ANALYTICS_METRICS = [m for m in catalogue.METRIC_IDS if not catalogue.needs_attribution(m)]
DIMENSION_LABELS = {
    "provider": "Platform",
    "account": "Account",
    "campaign": "Campaign",
    "adset": "Ad set",
    "ad": "Ad",
    "creative": "Creative",
    **EMAIL_DIMENSION_LABELS,
}
GRAIN_LABELS = {
    "total": "Whole period",
    "day": "Day",
    "week": "Week",
    "month": "Month",
    "hour": "Hour",
}
#: The grain each "Over time" choice means (none for the whole period).
GRAINS: dict[str, Grain] = {g: g for g in get_args(Grain)}
CUSTOM_MARK = " (custom)"

#: query parameter -> (its widget's options, how the widget labels an option)
Options = dict[str, tuple[Sequence[str], Callable[[str], str]]]


def _unique(built_in: Mapping[str, str], custom: Mapping[str, str]) -> dict[str, str]:
    """Every option's label; a custom one that repeats another label gets its id added."""
    taken = list(built_in.values()) + list(custom.values())
    return {
        **built_in,
        **{
            key: f"{label} [{key}]" if taken.count(label) > 1 else label
            for key, label in custom.items()
        },
    }


@dataclass(frozen=True)
class AnalyticsOptions:
    """Analytics' metrics and split dimensions: the catalogue's and the workspace's own."""

    metric_labels: dict[str, str]
    dimension_labels: dict[str, str]
    #: "dimension=value" -> "Funnel stage: BOFU", for every value of every custom dimension
    value_labels: dict[str, str]

    @classmethod
    def of(cls, custom: Definitions) -> AnalyticsOptions:
        dimension_labels = _unique(
            DIMENSION_LABELS, {d: c.label for d, c in custom.dimensions.items()}
        )
        return cls(
            _unique(
                {m: fmt.label(m) for m in ANALYTICS_METRICS},
                {m: c.label + CUSTOM_MARK for m, c in custom.metrics.items()},
            ),
            dimension_labels,
            {
                f"{d}={value}": f"{dimension_labels[d]}: {value}"
                for d, dimension in custom.dimensions.items()
                for value in dimension.values
            },
        )

    @property
    def metrics(self) -> list[str]:
        return list(self.metric_labels)

    @property
    def dimensions(self) -> list[str]:
        return list(self.dimension_labels)

    @property
    def values(self) -> list[str]:
        return list(self.value_labels)

    @staticmethod
    def value_of(option: str) -> tuple[str, str]:
        """A value option's (dimension id, value): ids hold no "=", values may."""
        dimension, _, value = option.partition("=")
        return dimension, value

    def linkable(self) -> Options:
        return {
            "metrics": (self.metrics, self.metric_labels.__getitem__),
            "dims": (self.dimensions, self.dimension_labels.__getitem__),
            "grain": (list(GRAIN_LABELS), GRAIN_LABELS.__getitem__),
            "providers": (AD_PROVIDERS, short_name),
            "values": (self.values, self.value_labels.__getitem__),
        }


#: Per page (its URL path), the parameters a link may give as ids, given the workspace's
#: custom definitions.
BY_PAGE: dict[str, Callable[[Definitions], Options]] = {
    "analytics": lambda custom: AnalyticsOptions.of(custom).linkable(),
}


def _label(value: str, options: Sequence[str], label: Callable[[str], str]) -> str:
    return label(value) if value in options else value


def _known(value: str, options: Sequence[str], label: Callable[[str], str]) -> bool:
    return value in options or any(label(o) == value for o in options)


def reopen_with_labels(page: st.Page) -> None:
    """Reopen `page` with every id among its linkable parameters replaced by its label; a
    link that already reads in labels (or names nothing known) runs as it is. Call it before
    any widget is drawn: a parameter bound to a widget cannot be set."""
    options_for = BY_PAGE.get(page.url_path)
    if options_for is None:
        return
    query = {name: st.query_params.get_all(name) for name in st.query_params}
    options = options_for(Definitions())
    strangers = any(
        not _known(value, *options[name]) for name in options for value in query.get(name, [])
    )
    actor = st.session_state.get("actor")
    if strangers and actor is not None:  # perhaps a custom metric's id or label: read them
        options = options_for(custom_definitions.definitions(actor.workspace_id))
    relabelled = {
        name: [_label(value, *options[name]) for value in values] if name in options else values
        for name, values in query.items()
    }
    if relabelled != query:  # a list per name: a repeated parameter keeps every value
        st.switch_page(page, query_params=relabelled)
