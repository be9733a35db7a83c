"""Values a careless or hostile hand gives, for the fuzz tests (hypothesis strategies)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from hypothesis import strategies as st

from metricx.semantic.catalogue import METRIC_IDS, is_store_level
from metricx.semantic.families import COHORT_METRICS, PRODUCT_METRICS
from metricx.semantic.query import (
    ALL_METRIC_IDS,
    COHORT_DIMENSIONS,
    DIMENSIONS,
    PRODUCT_DIMENSIONS,
)

EVERY_DIMENSION = (*DIMENSIONS, *COHORT_DIMENSIONS, *PRODUCT_DIMENSIONS)

#: Text that broke something once, or could: NUL, lone surrogates, markdown, SQL, kilobytes.
HOSTILE = st.sampled_from(
    [
        "\x00",
        "ad\x00name",
        "\ud800",
        "\udcff",
        "%",
        "_",
        "\\",
        "'; --",
        "![x](http://attacker.test/x.png)",
        "x" * 5000,
        " ",
        "\n",
        "\x1b[31m",
        "NaN",
        "1e30",
        "-0",
    ]
)
HOSTILE_TEXT = st.one_of(HOSTILE, HOSTILE, st.text(max_size=12))
#: Integers at and beyond PostgreSQL's int and bigint.
HUGE_INT = st.sampled_from([0, -1, 2**31 - 1, 2**31, 2**63 - 1, 2**63, -(2**63) - 1, 10**30])
NUMBER = st.one_of(st.integers(), HUGE_INT, st.floats())
GARBAGE = st.recursive(
    st.none() | st.booleans() | NUMBER | HOSTILE_TEXT,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)
#: Any day of the calendar (year 1 to 9999), its edges drawn often.
ANY_DAY = st.dates() | st.sampled_from(
    [date.min, date.max, date(1999, 12, 31), date(2000, 1, 1), date(2101, 1, 1)]
)


# --- SemanticQuery JSON ------------------------------------------------------------------------

RECENT_DAY = st.dates(date(2026, 9, 1), date(2026, 12, 31))


def days_in_order(days: st.SearchStrategy[date]) -> st.SearchStrategy[dict[str, Any]]:
    """A time range of two such days, the earlier first."""
    return (
        st.tuples(days, days)
        .map(sorted)
        .map(lambda pair: {"start": pair[0].isoformat(), "end": pair[1].isoformat()})
    )


# A valid question, as the pages and the copilot build them...
AD_QUERY = st.builds(
    lambda metrics, span, compare, dimensions, grain, top: {
        "metrics": metrics,
        "time_range": span,
        "compare_range": compare,
        "dimensions": [] if any(is_store_level(m) for m in metrics) else dimensions,
        "grain": grain,
        **({"limit": top} if top else {}),
    },
    st.lists(st.sampled_from(METRIC_IDS), min_size=1, max_size=3, unique=True),
    days_in_order(RECENT_DAY),
    st.none() | days_in_order(RECENT_DAY),
    st.lists(st.sampled_from(DIMENSIONS), max_size=2, unique=True),
    st.sampled_from([None, "hour", "day", "week", "month"]),
    st.none() | st.integers(1, 100),
)
COHORT_SPEC = st.fixed_dictionaries(
    {},
    optional={
        "grain": st.sampled_from(["week", "month", "quarter"]),
        "age_unit": st.sampled_from(["day", "week", "month"]),
        "max_age": st.integers(0, 40),
        "at_age": st.none() | st.integers(0, 400),
    },
)
COHORT_QUERY = st.builds(
    lambda metrics, span, dimensions, cohort: {
        "metrics": metrics,
        "time_range": span,
        "dimensions": dimensions,
        "cohort": cohort,
    },
    st.lists(st.sampled_from(list(COHORT_METRICS)), min_size=1, max_size=3, unique=True),
    days_in_order(RECENT_DAY),
    st.lists(st.sampled_from(COHORT_DIMENSIONS), max_size=2, unique=True),
    COHORT_SPEC,
)
PRODUCT_QUERY = st.builds(
    lambda metrics, span, compare, dimensions, grain, top: {
        "metrics": metrics,
        "time_range": span,
        "compare_range": compare,
        "dimensions": dimensions,
        "grain": grain,
        **({"limit": top} if top else {}),
    },
    st.lists(st.sampled_from(list(PRODUCT_METRICS)), min_size=1, max_size=4, unique=True),
    days_in_order(RECENT_DAY),
    st.none() | days_in_order(RECENT_DAY),
    st.lists(st.sampled_from(PRODUCT_DIMENSIONS), max_size=2, unique=True),
    st.sampled_from([None, "day", "week", "month"]),
    st.none() | st.integers(1, 100),
)
VALID = st.one_of(AD_QUERY, AD_QUERY, COHORT_QUERY, PRODUCT_QUERY)
# ...and what a careless or hostile hand may put in one of its places.
MUTATIONS: dict[tuple[str, ...], st.SearchStrategy[Any]] = {
    ("metrics",): st.lists(st.sampled_from(ALL_METRIC_IDS) | HOSTILE_TEXT, max_size=3) | GARBAGE,
    ("time_range",): days_in_order(ANY_DAY) | GARBAGE,
    ("time_range", "start"): ANY_DAY.map(date.isoformat) | HOSTILE_TEXT | HUGE_INT,
    ("time_range", "end"): st.sampled_from(
        ["0001-01-01", "9999-12-31", "2026-02-30", "2026-11-01T23:00:00+14:00"]
    )
    | HOSTILE_TEXT,
    ("time_range", "until"): st.times().map(str) | HOSTILE_TEXT | GARBAGE,
    ("compare_range",): days_in_order(ANY_DAY) | GARBAGE,
    ("dimensions",): st.lists(st.sampled_from(EVERY_DIMENSION) | HOSTILE_TEXT, max_size=3),
    ("grain",): st.sampled_from(["hour", "day", "week", "month", "year"]) | HOSTILE_TEXT,
    ("filters",): GARBAGE,
    ("filters", "name_contains"): HOSTILE_TEXT | GARBAGE,
    ("filters", "entity_ids"): st.lists(st.integers(1, 99) | HUGE_INT | HOSTILE_TEXT, max_size=3)
    | GARBAGE,
    ("filters", "provider"): st.lists(
        st.sampled_from(["meta", "google"]) | HOSTILE_TEXT, max_size=3
    ),
    ("order_by",): st.fixed_dictionaries(
        {
            "metric": st.sampled_from(ALL_METRIC_IDS) | HOSTILE_TEXT,
            "direction": st.sampled_from(["asc", "up"]),
        }
    ),
    ("limit",): NUMBER | HOSTILE_TEXT,
    ("attribution",): st.fixed_dictionaries(
        {},
        optional={
            "model": st.sampled_from(["linear", "time_decay"]) | HOSTILE_TEXT,
            "window_days": st.sampled_from([1, 7, 28, None, "7", 2**63]),
            "mode": st.sampled_from(["cash", "accrual"]) | GARBAGE,
        },
    ),
    ("cohort",): COHORT_SPEC | GARBAGE,
    ("cohort", "max_age"): NUMBER | HOSTILE_TEXT,
    ("cohort", "at_age"): NUMBER | HOSTILE_TEXT,
    ("cohort", "grain"): st.sampled_from(["day", "year"]) | HOSTILE_TEXT,
    ("filters", "product_ids"): st.lists(st.integers(1, 99) | HUGE_INT | HOSTILE_TEXT, max_size=3)
    | GARBAGE,
    ("unexpected",): GARBAGE,
}


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    """A valid query with one to three places replaced by hostile values."""
    query = draw(VALID)
    for path in draw(st.lists(st.sampled_from(list(MUTATIONS)), min_size=1, max_size=3)):
        *parents, leaf = path
        node = query
        for key in parents:
            if not isinstance(node.get(key), dict):
                node[key] = {}
            node = node[key]
        node[leaf] = draw(MUTATIONS[path])
    return query


def as_json(value: Any) -> Any:
    """The same query as JSON text, as `metricx query --json` reads it (when it can be)."""
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return value


QUERY_PAYLOAD = st.one_of(
    VALID,
    mutated(),
    mutated(),
    mutated().map(as_json),
    GARBAGE,
    st.sampled_from(
        [
            '{"metrics": ["spend"], "limit": 1' + "0" * 5000 + "}",
            '{"metrics": ' + "[" * 100_000,
            "[]",
            "null",
            "\x00",
            "{",
        ]
    ),
)
