"""The expression tree of metric formulas: what the catalogue's derived metrics are made of.

A formula is a tree of a few node types: a `Ref` to a metric or a raw fact sum, a `Number`, a
`Param` (a workspace setting such as a cost rule, bound when the formula is evaluated) and a
`Binary` operation (+ − × ÷). A scale (CPM's × 1,000) is a product with a `Number`. Trees are
immutable and hashable, so an expanded formula can be cached; `metricx.semantic.evaluate` is
the one evaluator of every tree, in SQL, on numpy columns and on Decimals.

A metric restricted by a filter (`spend[provider=meta]`, custom metrics) is a `Filtered`
leaf, a `Ref` whose `column` names the restricted sum the plan fetches
("spend[provider=meta]"): the evaluator reads every leaf by its `column`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

Operator = Literal["+", "-", "*", "/"]
OPERATORS: tuple[Operator, ...] = ("+", "-", "*", "/")


class Expression:
    """A node of a formula. `a + b`, `a - b`, `a * b`, `a / b` build `Binary` nodes (a
    Python number becomes a `Number`), so the catalogue writes formulas as arithmetic."""

    def __add__(self, other: Expression | int | str) -> Binary:
        return Binary("+", self, _node(other))

    def __sub__(self, other: Expression | int | str) -> Binary:
        return Binary("-", self, _node(other))

    def __mul__(self, other: Expression | int | str) -> Binary:
        return Binary("*", self, _node(other))

    def __truediv__(self, other: Expression | int | str) -> Binary:
        return Binary("/", self, _node(other))

    def nodes(self) -> Iterator[Expression]:
        """This node and every node below it, depth first, left to right."""
        yield self


@dataclass(frozen=True)
class Ref(Expression):
    """A metric by id, or a raw fact sum the plan fetches (e.g. the store's "gross")."""

    name: str

    @property
    def column(self) -> str:
        """The column of period sums this leaf reads once expanded to facts."""
        return self.name


@dataclass(frozen=True)
class Filtered(Ref):
    """A metric restricted to rows where `key` (provider or a custom dimension) is `value`."""

    key: str
    value: str

    @property
    def column(self) -> str:
        return f"{self.name}[{self.key}={self.value}]"


@dataclass(frozen=True)
class Number(Expression):
    value: Decimal


@dataclass(frozen=True)
class Param(Expression):
    """A workspace setting bound at evaluation (a cost rule, e.g. "handling_per_order")."""

    name: str


@dataclass(frozen=True)
class Binary(Expression):
    """left (+ − × ÷) right. A division by zero, or by a missing sum, is an empty value."""

    op: Operator
    left: Expression
    right: Expression

    def nodes(self) -> Iterator[Expression]:
        yield self
        yield from self.left.nodes()
        yield from self.right.nodes()


def _node(value: Expression | int | str) -> Expression:
    return value if isinstance(value, Expression) else Number(Decimal(value))


def refs(expression: Expression) -> tuple[str, ...]:
    """The names an expression refers to, in order of first appearance."""
    return tuple(dict.fromkeys(n.name for n in expression.nodes() if isinstance(n, Ref)))


def columns(expression: Expression) -> tuple[str, ...]:
    """The sum columns an expanded expression reads, in order of first appearance."""
    return tuple(dict.fromkeys(n.column for n in expression.nodes() if isinstance(n, Ref)))


def restriction_of(column: str) -> Filtered | None:
    """The restricted sum a column names ("spend[provider=meta]"), or None for a plain sum."""
    if "[" not in column:
        return None
    name, rest = column.split("[", 1)
    key, value = rest[:-1].split("=", 1)
    return Filtered(name, key, value)


def sum_of(column: str) -> str:
    """The sum a column is of, restricted or not ("spend[provider=meta]" -> "spend")."""
    return column.split("[", 1)[0]


def params(expression: Expression) -> tuple[str, ...]:
    """The settings an expression needs bound, in order of first appearance."""
    return tuple(dict.fromkeys(n.name for n in expression.nodes() if isinstance(n, Param)))
