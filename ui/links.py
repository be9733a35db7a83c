"""Links that name a widget's options by id (?metrics=spend&dims=provider), as links written
by hand or made before widgets were bound to the URL do. A bound widget reads only its labels
from the URL ("Ad spend") and drops anything else, so such a link is reopened once, before
any widget is drawn, with the ids turned into labels: the address then reads like one the app
makes, and keeps the view through a reload."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import streamlit as st

from metricx.semantic import catalogue
from metricx.semantic.query import DIMENSIONS
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
}
GRAIN_LABELS = {
    "total": "Whole period",
    "day": "Day",
    "week": "Week",
    "month": "Month",
    "hour": "Hour",
}

#: query parameter -> (its widget's options, how the widget labels an option)
Options = dict[str, tuple[Sequence[str], Callable[[str], str]]]
#: Per page (its URL path), the parameters a link may give as ids.
BY_PAGE: dict[str, Options] = {
    "analytics": {
        "metrics": (ANALYTICS_METRICS, fmt.label),
        "dims": (DIMENSIONS, DIMENSION_LABELS.__getitem__),
        "grain": (list(GRAIN_LABELS), GRAIN_LABELS.__getitem__),
        "providers": (AD_PROVIDERS, str.title),
    }
}


def _label(value: str, options: Sequence[str], label: Callable[[str], str]) -> str:
    return label(value) if value in options else value


def reopen_with_labels(page: st.Page) -> None:
    """Reopen `page` with every id among its linkable parameters replaced by its label; a
    link that already reads in labels (or names nothing known) runs as it is. Call it before
    any widget is drawn: a parameter bound to a widget cannot be set."""
    options = BY_PAGE.get(page.url_path, {})
    query = {name: st.query_params.get_all(name) for name in st.query_params}
    relabelled = {
        name: [_label(value, *options[name]) for value in values] if name in options else values
        for name, values in query.items()
    }
    if relabelled != query:  # a list per name: a repeated parameter keeps every value
        st.switch_page(page, query_params=relabelled)
