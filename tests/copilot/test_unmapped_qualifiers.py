"""No qualifier the merchant wrote is dropped (issue #14): every kind of qualifier the query
language cannot map is asked about, and a name it can map is kept and stated as the scope."""

from __future__ import annotations

from datetime import date

import pytest

from metricx.copilot.choices import ready_questions
from metricx.copilot.evaluation import demo_entities
from metricx.copilot.offline import OfflineUnderstander
from metricx.copilot.scope import scope_text
from metricx.copilot.understanding import Conversation, Understanding
from metricx.semantic.query import SemanticQuery

TODAY = date(2026, 12, 3)


def ask(*questions: str, entities: bool = True) -> Understanding:
    conversation = Conversation(entities=demo_entities() if entities else ())
    understanding = Understanding(status="clarify")
    for question in questions:
        understanding = OfflineUnderstander().understand(question, conversation, TODAY)
        conversation.add(question, understanding)
    return understanding


def answered(*questions: str, entities: bool = True) -> SemanticQuery:
    understanding = ask(*questions, entities=entities)
    assert understanding.status == "answer", understanding.message
    assert understanding.query is not None
    return understanding.query


UNMAPPED = [
    ("a name no entity has", ["ROAS of campaign Zebra Unicorn Quantum"]),
    ("a misspelt name no entity has", ["spend on the Zebra campaing yday"]),
    ("a vague name", ["numbers for the big campaign last month"]),
    ("one word several campaigns share", ["roas of the brand campaign last week"]),
    ("a reference to nothing", ["how did that campaign do last week?"]),
    ("a new creative never named", ["How did the new creative do?"]),
    ("an exclusion", ["roas last week excluding retargeting"]),
    ("an exclusion as a follow-up", ["spend by campaign last month", "exclude brand"]),
    ("an unknown metric", ["engagement on meta last week"]),
    ("an unsupported split", ["spend by country last week"]),
    ("an unsupported platform", ["snapchat spend last week"]),
    ("a threshold on a metric", ["campaigns with roas above 2 last week"]),
    ("a date that cannot be read reliably", ["revenue on weekends"]),
    ("two names compared", ["brand vs prospecting spend last week"]),
    ("an attribution window that does not exist", ["attributed roas with a 3 day window"]),
    ("a word nothing maps", ["spend on zorblax last week"]),
    ("an ordinary word where a name would be", ["spend on the switch ads last week"]),
    ("a quoted ordinary word", ["roas of 'issue' last week"]),
    ("a capitalised ordinary word", ["cpc of Stretch last week"]),
    ("an ad name several ads share", ["spend on the Hook ad yday"]),
    ("an unusual word right before a metric", ["zorblax spend last week"]),
    ("an exclusion in other words", ["spend by campaign lst wk not counting brand"]),
    ("a day the month does not have", ["revenue on the 31st of last month"]),
    ("what how is ... doing asks about", ["how's the summer sale doing"]),
    ("an attribution model we lack", ["data driven attribution for meta last week"]),
    ("two attribution models at once", ["last touch vs first touch revenue last month"]),
    ("placements of one platform set against each other", ["instagram vs facebook spend"]),
    ("placements split in other words", ["split cpm between ig and fb last week"]),
    ("a quarter grain", ["revenue by quarter for 2026"]),
    ("a quarterly trend", ["quarterly spend this year"]),
]


@pytest.mark.parametrize(("kind", "questions"), UNMAPPED)
def test_an_unmapped_qualifier_is_asked_about_never_dropped(
    kind: str, questions: list[str]
) -> None:
    understanding = ask(*questions)
    assert understanding.status == "clarify", kind
    assert understanding.message and understanding.choices, kind


@pytest.mark.parametrize(
    ("kind", "questions"), [case for case in UNMAPPED if case[0] != "two names compared"]
)
def test_picking_a_choice_answers(kind: str, questions: list[str]) -> None:
    understanding = ask(*questions)
    [first, *_] = ready_questions(questions[-1], understanding.message, understanding.choices)
    assert ask(*questions, first).status == "answer", (kind, first)


def test_a_name_that_does_not_match_offers_the_workspace_s_closest_names() -> None:
    understanding = ask("cpc of Retargeting | Instagram Stories last week")
    assert understanding.status == "clarify"
    assert set(understanding.choices) >= {
        "Retargeting | Website Visitors 30d",
        "Retargeting | Cart Abandoners 7d",
    }


@pytest.mark.parametrize(
    ("question", "name"),
    [
        ("spend of campaign Brand Search last week", "Brand Search"),
        ("Brand Search spend last week", "Brand Search"),
        ("ctr of the cart abandoners campaign yday", "cart abandoners"),
        ("cpc for Prospecting | Broad | US last week", "Prospecting | Broad | US"),
        ("spend on shoping campaigns lst month", "shopping"),
    ],
)
def test_a_name_that_matches_is_kept_and_stated_as_the_scope(question: str, name: str) -> None:
    query = answered(question)
    written = query.filters.name_contains
    assert written is not None and written.casefold() == name.casefold()
    assert f"whose name contains \u201c{written}\u201d" in scope_text(query)


def test_without_the_workspace_s_names_a_name_is_taken_as_written_and_stated() -> None:
    query = answered("numbers for the big campaign last month", entities=False)
    assert query.filters.name_contains == "big"
    assert scope_text(query) == (
        "Scope: campaigns whose name contains \u201cbig\u201d, on every connected platform."
    )


def test_an_unfiltered_answer_says_it_covers_everything() -> None:
    assert scope_text(answered("spend last week")) == (
        "Scope: all campaigns, on every connected platform."
    )
    assert scope_text(answered("revenue last week")) == "Scope: the whole store."


@pytest.mark.parametrize(
    "question",
    [
        "how much in refunds did we issue last month",
        "clicks in may compared w april",
        "roas mtd facebook vs google side by side",
        "ctr on the Bestseller Bundle static ad this mnth",  # every Bestseller Bundle ad is static
        "roas for last week, just curious",
        "how much revenue did we rake in last week",
        "which platform had the better roas last month",
    ],
)
def test_an_ordinary_lowercase_word_away_from_a_name_is_filler(question: str) -> None:
    assert ask(question).status == "answer"


@pytest.mark.parametrize(
    "question",
    [
        "For the reconciliation, what were total refunds in December?",
        "spend for the board deck last month",
        "cpc for the audit last month",
        "For tax purposes, how much did we spend on ads in 2025?",
    ],
)
def test_what_the_number_is_for_is_a_purpose_not_a_qualifier(question: str) -> None:
    assert answered(question).filters.name_contains is None


def test_a_misspelt_name_is_read_as_the_workspace_spells_it_and_the_answer_says_so() -> None:
    # "Retargetting" is one letter from the workspace's "Retargeting": a typo, read and stated,
    # as any other typo of a known word is (a word far from every name is still asked about)
    understanding = ask("cpa for Retargetting yday")
    assert understanding.query is not None
    assert understanding.query.filters.name_contains == "retargeting"
    assert "\u201cretargetting\u201d read as \u201cretargeting\u201d" in understanding.message


@pytest.mark.parametrize(
    "reply",
    ["Search | Competitors", "search | competitors", "competitors"],
)
def test_a_reply_picking_one_of_the_names_offered_completes_the_question(reply: str) -> None:
    query = answered("roas of the search campaign last week", reply)
    assert query.metrics == ["roas"]
    assert query.filters.name_contains == "Search | Competitors"


def test_a_reply_with_another_of_the_workspace_s_names_completes_the_question() -> None:
    query = answered("spend for the zebra campaign last week", "Brand Search")
    assert query.metrics == ["spend"] and query.filters.name_contains == "Brand Search"


def test_a_reply_matching_several_names_offered_is_asked_about_again() -> None:
    assert ask("roas of the search campaign last week", "search").status == "clarify"
