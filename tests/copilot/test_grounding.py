"""Every number in a written answer must come from the facts; the checker reads numbers the way
merchants write them and lets the question's own wording (dates, "top 3") through."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metricx.copilot.grounding import fact_numbers, ungrounded_numbers
from metricx.semantic import catalogue

FACTS: dict[str, Any] = {
    "query": {
        "metrics": ["spend", "ctr", "roas", "clicks"],
        "limit": 3,
        "time_range": {"start": "2026-11-18", "end": "2026-11-24"},
    },
    "columns": ["ad", "spend", "ctr", "roas", "clicks", "spend_change"],
    "rows": [
        [
            "Promo 12 - Video",
            Decimal("1234.56"),
            0.0235,
            Decimal("3.2149"),
            12345,
            Decimal("-120.50"),
        ],
        ["Retargeting", Decimal("48210.00"), 0.0102, Decimal("1.05"), 2_400_000, None],
    ],
    "definitions": {"cpm": "CPM = spend ÷ impressions × 1,000 (cost per thousand)"},
}


@pytest.mark.parametrize(
    "text",
    [
        "Spend was $1,234.56 at a CTR of 2.35% and a ROAS of 3.21x, from 12,345 clicks.",
        "Spend was 1234.56 (about $1.2k); Retargeting spent $48.2k, or $48,210.",
        "Clicks reached 2.4M (2,400,000); ROAS was 3.2× and 1.05x; CTR 1.02%.",
        "Spend fell by $120.50 week over week (-$120.50).",
        "Spend fell by -120.5 while CTR held at 2.4 pp.",
        "SEK 1,234.56 and €48,210.00 and CA$1,234.56.",
        "CPM = spend ÷ impressions × 1,000.",
        "Promo 12 - Video led the top 3 ads over the last 7 days.",
    ],
)
def test_numbers_from_the_facts_are_grounded(text: str) -> None:
    assert ungrounded_numbers(text, FACTS) == []


@pytest.mark.parametrize(
    ("text", "caught"),
    [
        ("ROAS was 4.5x on $1,234.56 of spend.", ["4.5x"]),
        ("Spend was $1,300 and CTR 2.35%.", ["$1,300"]),
        ("Spend was $1.3k.", ["$1.3k"]),  # 1,234.56 is $1.2k, not $1.3k
        ("CTR was 2.5%.", ["2.5%"]),
        ("CTR was 0.0235 or 2.35 points.", ["2.35"]),  # only a % reads a fraction as points
        ("Spend was -$1,234.56.", ["-$1,234.56"]),  # the minus claims a negative fact
        ("3 campaigns spent $999 and $999 again.", ["$999"]),  # once each; 3 is the limit
        ("Orders rose to 17 and revenue to 8,200.", ["17", "8,200"]),
    ],
)
def test_a_hallucinated_number_is_caught(text: str, caught: list[str]) -> None:
    assert ungrounded_numbers(text, FACTS) == caught


def test_rounding_follows_the_precision_the_text_shows() -> None:
    facts = {"spend": Decimal("1234.4"), "share": 0.12349}
    assert ungrounded_numbers("$1,234 and $1.23k and $0.001M and 12.3% and 12%", facts) == []
    assert ungrounded_numbers("$1,235.00", facts) == ["$1,235.00"]
    assert ungrounded_numbers("12.35%", facts) == []  # 12.349% shown to two places
    assert ungrounded_numbers("12.36% or 12.4%", facts) == ["12.36%", "12.4%"]


@pytest.mark.parametrize(
    "text",
    [
        "From 2026-11-18 to 2026-11-24 (Nov 18–24, 2026), and in November 2026.",
        "On 18 November 2026, on 11/24 and on 11/24/2026 at 14:00 or 2 pm.",
        "The 3rd ad of the 21st week, over the past 30 days and the previous 2 weeks.",
        "Top 5 campaigns over the last 14 days, a 7-day view, the best 10 ads in 2025.",
    ],
)
def test_dates_years_and_the_questions_own_counts_are_not_data(text: str) -> None:
    assert ungrounded_numbers(text, {"spend": 1}) == []


def test_names_with_numbers_are_read_as_names() -> None:
    facts = {"rows": [["Promo 12", 5]]}
    assert (
        ungrounded_numbers("Promo 12 had 5 orders; Q4 and v2 and COVID-19 are names.", facts) == []
    )
    assert ungrounded_numbers("Promo 13 had 5 orders.", facts) == ["13"]


def test_fact_numbers_walk_nested_facts_and_skip_bools_and_dates() -> None:
    facts = {
        "a": [1, 2.5, Decimal("3.25"), True, None, float("nan")],
        "b": {"c": "$1,200 on 2026-11-24", "d": ("12%",)},
    }
    assert sorted(fact_numbers(facts)) == [1, Decimal("2.5"), Decimal("3.25"), 12, 1200]


# --- properties ----------------------------------------------------------------------------------


def _k(value: Decimal) -> str:
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value) / 1000:.1f}k"


def _m(value: Decimal) -> str:
    sign = "-" if value < 0 else ""
    return f"{sign}{abs(value) / 1_000_000:.2f}M"


FORMATS: list[Callable[[Decimal], str]] = [
    lambda v: catalogue.format_value("spend", v, "USD"),
    lambda v: catalogue.format_value("spend", v, "EUR"),
    lambda v: catalogue.format_value("spend", v, "CAD"),
    lambda v: catalogue.format_value("spend", v, "SEK"),
    lambda v: catalogue.format_value("ctr", v),  # a fraction shown as a percent
    lambda v: catalogue.format_value("roas", v),
    lambda v: catalogue.format_value("attributed_orders", v),
    _k,
    _m,
    lambda v: f"{v:,.2f}",
    lambda v: f"{v:.0f}",
    lambda v: f"{v:.1f}x",
    lambda v: f"{v * 100:.1f}%",
    lambda v: f"{v:,.3f}",
]
VALUES = st.decimals(
    min_value=Decimal("-1e9"),
    max_value=Decimal("1e9"),
    places=4,
    allow_nan=False,
    allow_infinity=False,
)


@settings(max_examples=300, deadline=None)
@given(values=st.lists(VALUES, min_size=1, max_size=6), pick=st.data())
def test_any_number_formatted_from_the_facts_is_grounded(
    values: list[Decimal], pick: st.DataObject
) -> None:
    value = pick.draw(st.sampled_from(values))
    written = pick.draw(st.sampled_from(FORMATS))(value)
    facts = {"rows": [[f"Ad {i}", v] for i, v in enumerate(values)]}
    text = f"Over the last 7 days the figure was {written}, per the data."
    assert ungrounded_numbers(text, facts) == [], written


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(st.decimals(min_value=0, max_value=1000, places=2), min_size=1, max_size=6),
    extra=st.decimals(min_value=1, max_value=10**6, places=2),
)
def test_a_number_far_from_every_fact_is_caught(values: list[Decimal], extra: Decimal) -> None:
    invented = max(values) + 10 + extra  # at least $10 above every fact
    written = catalogue.format_value("spend", invented, "USD")
    assert ungrounded_numbers(f"Spend was {written}.", {"spend": values}) == [written]


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=80))
def test_any_text_is_read_without_crashing(text: str) -> None:
    result = ungrounded_numbers(text, FACTS)
    assert all(isinstance(item, str) and item for item in result)
