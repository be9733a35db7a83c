"""The formula language of custom metrics: text parsed into the catalogue's expression tree.

Random trees are rendered and read back; their values are checked against an exact evaluator
written here (fractions, x/0 empty), and against `evaluate.decimal`. Malformed text of every
kind must raise FormulaError saying where, never another exception.
"""

from __future__ import annotations

import ast
import re
from decimal import Decimal, Inexact, localcontext
from fractions import Fraction

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from metricx.semantic import evaluate, formula
from metricx.semantic.catalogue import METRIC_IDS
from metricx.semantic.expression import (
    OPERATORS,
    Binary,
    Expression,
    Filtered,
    Number,
    Ref,
    columns,
)
from metricx.semantic.formula import FormulaError

STRENGTH = {"+": 1, "-": 1, "*": 2, "/": 2}
POSITION = re.compile(r"at character (\d+)")


def number(value: str) -> Number:
    return Number(Decimal(value))


# --- the reference: exact arithmetic of its own --------------------------------------------


def exact(expression: Expression, sums: dict[str, int]) -> Fraction | None:
    """The value of a tree in fractions; a division by zero anywhere makes it empty."""
    if isinstance(expression, Ref):
        return Fraction(sums[expression.column])
    if isinstance(expression, Number):
        return Fraction(expression.value)
    assert isinstance(expression, Binary)
    left, right = exact(expression.left, sums), exact(expression.right, sums)
    if left is None or right is None:
        return None
    if expression.op == "+":
        return left + right
    if expression.op == "-":
        return left - right
    if expression.op == "*":
        return left * right
    return None if right == 0 else left / right


def written_one_way(expression: Expression) -> bool:
    """True when the text of a tree can only be read back as that tree: no number below 0
    (it reads as a unary minus) and no a + (b + c) or a * (b / c), which print without
    parentheses and read back left-associated (the same value, another tree)."""
    for node in expression.nodes():
        if isinstance(node, Number) and node.value < 0:
            return False
        if (
            isinstance(node, Binary)
            and node.op in "+*"
            and isinstance(node.right, Binary)
            and STRENGTH[node.right.op] == STRENGTH[node.op]
        ):
            return False
    return True


# --- strategies ---------------------------------------------------------------------------

names = st.sampled_from(METRIC_IDS)
restrictions = st.builds(
    Filtered,
    names,
    st.sampled_from(["provider", "stage", "funnel_stage"]),
    st.sampled_from(["meta", "google", "BOFU", "TOFU", "Mid_Funnel", "7"]),
)
numbers = st.one_of(
    st.integers(0, 1000).map(lambda i: Number(Decimal(i))),
    st.decimals(0, 100, places=2).map(Number),
    st.integers(1, 100).map(lambda i: Number(Decimal(i) / 100)),  # as `5%` reads
)
signed_numbers = st.integers(-50, 50).map(lambda i: Number(Decimal(i)))


def trees(leaves: st.SearchStrategy[Expression]) -> st.SearchStrategy[Expression]:
    return st.recursive(
        leaves,
        lambda children: st.builds(Binary, st.sampled_from(OPERATORS), children, children),
        max_leaves=12,
    )


any_trees = trees(st.one_of(names.map(Ref), restrictions, numbers, signed_numbers))


def sums_for(expression: Expression) -> st.SearchStrategy[dict[str, int]]:
    """Random sums for every column a tree reads, zeros often (to reach x/0)."""
    value = st.one_of(st.just(0), st.integers(-5, 5), st.integers(0, 10**6))
    return st.fixed_dictionaries({c: value for c in columns(expression)})


# --- round trip ---------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(tree=trees(st.one_of(names.map(Ref), restrictions, numbers)).filter(written_one_way))
def test_a_tree_written_as_text_reads_back_as_the_same_tree(tree: Expression) -> None:
    # Given a tree with one way of writing it, when it is rendered and parsed again
    text = formula.render(tree)
    # Then it is the same tree, and rendering it again gives the same text
    assert formula.parse(text) == tree, text
    assert formula.render(formula.parse(text)) == text


@settings(max_examples=300, deadline=None)
@given(tree=any_trees, data=st.data())
def test_a_rendered_tree_reads_back_with_the_same_value_on_any_sums(
    tree: Expression, data: st.DataObject
) -> None:
    # Given any tree (negative numbers, a + (b + c) ...) and random sums, zeros included
    sums = data.draw(sums_for(tree))
    # When it is rendered and parsed again
    read_back = formula.parse(formula.render(tree))
    # Then its exact value is the original's (empty where the original divides by zero)
    assert exact(read_back, sums) == exact(tree, sums)
    # And the one evaluator agrees, exactly where its decimals are exact
    with localcontext() as context:
        context.prec, context.traps[Inexact] = 200, True
        try:
            got, want = evaluate.decimal(read_back, sums), evaluate.decimal(tree, sums)
        except Inexact:
            event("a division that does not terminate: checked in fractions only")
            return
    assert got == want
    assert (got is None) == (exact(tree, sums) is None)
    if got is not None:
        assert Fraction(got) == exact(tree, sums)


# --- the operators ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "plain"),
    [
        ("spend × clicks", "spend * clicks"),
        ("spend ÷ clicks", "spend / clicks"),
        ("spend − clicks", "spend - clicks"),
        ("−spend ÷ (clicks − 2) × 3", "-spend / (clicks - 2) * 3"),
        ("SPEND / Clicks", "spend / clicks"),
    ],
)
def test_unicode_operators_and_capitals_read_as_the_plain_ones(typed: str, plain: str) -> None:
    assert formula.parse(typed) == formula.parse(plain)


def test_a_percent_is_a_hundredth() -> None:
    assert formula.parse("5%") == number("0.05")
    assert formula.parse(".5%") == number("0.005")
    assert formula.parse("spend * 12.5%") == Binary("*", Ref("spend"), number("0.125"))


def test_unary_minus_negates_and_binds_tighter_than_any_operator() -> None:
    spend, clicks = Ref("spend"), Ref("clicks")
    assert formula.parse("-spend") == Binary("*", number("-1"), spend)
    assert formula.parse("- -spend") == Binary("*", number("-1"), Binary("*", number("-1"), spend))
    assert formula.parse("spend - -clicks") == Binary("-", spend, Binary("*", number("-1"), clicks))
    assert formula.parse("-spend * clicks") == Binary("*", Binary("*", number("-1"), spend), clicks)
    assert evaluate.decimal(formula.parse("-2 * 3 + 10"), {}) == 4


def test_products_bind_tighter_than_sums_and_parentheses_win() -> None:
    a, b, c = Ref("spend"), Ref("clicks"), Ref("orders")
    assert formula.parse("spend + clicks * orders") == Binary("+", a, Binary("*", b, c))
    assert formula.parse("(spend + clicks) * orders") == Binary("*", Binary("+", a, b), c)
    assert evaluate.decimal(formula.parse("2 + 3 * 4"), {}) == 14
    assert evaluate.decimal(formula.parse("(2 + 3) * 4"), {}) == 20


@pytest.mark.parametrize(("text", "value"), [("10 - 4 - 3", 3), ("24 / 4 / 2", 3)])
def test_minus_and_divide_associate_to_the_left(text: str, value: int) -> None:
    tree = formula.parse(text)
    assert isinstance(tree, Binary) and isinstance(tree.left, Binary)
    assert evaluate.decimal(tree, {}) == value
    assert formula.render(formula.parse("10 - (4 - 3)")) == "10 - (4 - 3)"
    assert formula.render(formula.parse("24 / (4 / 2)")) == "24 / (4 / 2)"


def test_a_restriction_keeps_its_value_as_typed_and_reads_its_sum_column() -> None:
    tree = formula.parse("Spend[Provider=Meta] / spend")
    assert tree == Binary("/", Filtered("spend", "provider", "Meta"), Ref("spend"))
    assert columns(tree) == ("spend[provider=Meta]", "spend")
    assert evaluate.decimal(tree, {"spend[provider=Meta]": 3, "spend": 0}) is None


# --- malformed text -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("spend +", 8),
        ("(spend", 7),
        ("spend)", 6),
        ("spend / (clicks", 16),
        ("spend[provider]", 15),
        ("spend[provider=meta", 20),
        ("spend[=meta]", 7),
        ("spend[provider=(]", 16),
        ("spend[provider=meta][provider=google]", 21),
        ("spend $ clicks", 7),
        ("* spend", 1),
        ("spend clicks", 7),
        ("()", 2),
        ("1.2.3", 4),
        ("5 %", 3),
        ("spend ×", 8),
    ],
)
def test_a_malformed_formula_says_where(text: str, position: int) -> None:
    with pytest.raises(FormulaError) as raised:
        formula.parse(text)
    assert f"at character {position}" in str(raised.value)


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_an_empty_formula_asks_for_one(text: str) -> None:
    with pytest.raises(FormulaError, match="the formula is empty"):
        formula.parse(text)


def test_a_formula_longer_than_a_line_is_refused() -> None:
    with pytest.raises(FormulaError, match="at most 500"):
        formula.parse("spend + " * 100 + "spend")


def check_refusal(text: str) -> None:
    """Either a tree, or FormulaError whose position points into the text at what it names."""
    try:
        tree = formula.parse(text)
    except FormulaError as problem:
        message = str(problem)
        if not text.strip() or len(text) > formula.MAX_FORMULA:
            return
        found = POSITION.search(message)
        assert found, message
        at = int(found.group(1))
        assert 1 <= at <= len(text) + 1, message
        if at <= len(text):
            assert not text[at - 1].isspace(), message  # it points at a character, not a gap
        named = re.match(r"unexpected ('.+?'|\".+?\") at", message)
        if named:  # the token it names is the one typed there (× for *, ...)
            token = ast.literal_eval(named.group(1))
            typed = {"*": "*×", "/": "/÷", "-": "-−"}.get(token, [token])
            assert any(text[at - 1 :].startswith(t) for t in typed), message
        return
    assert isinstance(tree, Expression)
    assert formula.parse(formula.render(tree)) is not None


@settings(max_examples=500, deadline=None)
@given(text=st.text(max_size=80))
def test_any_text_gives_a_tree_or_a_formula_error_that_says_where(text: str) -> None:
    check_refusal(text)


TOKENS = [
    "spend",
    "roas",
    "Clicks",
    "x",
    "_a1",
    "7",
    "0.5",
    ".5",
    "5%",
    "1.",
    "+",
    "-",
    "*",
    "/",
    "×",
    "÷",
    "−",
    "(",
    ")",
    "[",
    "]",
    "=",
    "provider",
    "meta",
    " ",
    "\t",
    "%",
    "$",
    "é",
    "٣",
    "\x00",
    "\u200b",
]


@settings(max_examples=1000, deadline=None)
@given(parts=st.lists(st.sampled_from(TOKENS), max_size=30))
def test_near_formulas_give_a_tree_or_a_formula_error_that_says_where(parts: list[str]) -> None:
    # Token soup reaches the parser's every branch far more often than random text
    check_refusal("".join(parts))


@pytest.mark.parametrize(
    "text", ["(" * 300, "(" * 249 + "spend" + ")" * 246, "(" * 248 + "x" + ")" * 248]
)
def test_deep_nesting_is_a_formula_error_not_a_crash(text: str) -> None:
    with pytest.raises(FormulaError):
        formula.parse(text)
