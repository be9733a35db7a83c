"""The one evaluator of metric formulas (metricx.semantic.expression trees).

One walk over the tree (`_walk`) with three arithmetics, so a metric is the same formula
wherever it is computed:

- `columns`: on numpy columns of period sums, vectorised (the engine's results; `vectorised`
  walks the tree once into a function the engine keeps per metric);
- `sql`: a SQLAlchemy expression over float8 sum columns (the compiler's ranking in SQL);
- `decimal`: exact, on one row of Decimal sums (checks and tests).

A division by zero and a missing sum (NaN, NULL, None) give an empty value — NaN, NULL or
None — never infinity or 0. `columns` and `sql` do the same float8 operations in the same
order, so their values, and ties in a ranking, agree exactly.
"""

from __future__ import annotations

import operator
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

import numpy as np
from sqlalchemy import Float, func, literal
from sqlalchemy.sql.elements import ColumnElement

from metricx.errors import InvalidInputError
from metricx.semantic.expression import Binary, Expression, Number, Operator, Param, Ref

if TYPE_CHECKING:
    import pandas as pd

Value = TypeVar("Value")
Sum = Decimal | int | float
#: A setting's value by name (cost rules); absent when no formula needs one.
Params = Mapping[str, Sum]


class MissingBaseSumError(InvalidInputError, LookupError):
    """Sums or settings without one a formula needs (a caller bug)."""


class _Arithmetic(ABC, Generic[Value]):
    """How one evaluation reads leaves and combines values; each divides its own way (x/0 is
    empty, never an error or infinity)."""

    def __init__(
        self, read: Callable[[str], Value], constant: Callable[[Sum], Value], params: Params | None
    ) -> None:
        self.read, self.constant, self.params = read, constant, params or {}

    def param(self, name: str) -> Value:
        if name not in self.params:
            raise MissingBaseSumError(f"the formula needs the setting {name!r}")
        return self.constant(self.params[name])

    def apply(self, op: Operator, left: Value, right: Value) -> Value:
        if op == "+":
            return cast(Value, left + right)  # type: ignore[operator]
        if op == "-":
            return cast(Value, left - right)  # type: ignore[operator]
        if op == "*":
            return cast(Value, left * right)  # type: ignore[operator]
        return self.divide(left, right)

    @abstractmethod
    def divide(self, left: Value, right: Value) -> Value: ...


def _walk(expression: Expression, arithmetic: _Arithmetic[Value]) -> Value:
    """The value of `expression`: the one place each node type is evaluated."""
    if isinstance(expression, Ref):
        return arithmetic.read(expression.column)
    if isinstance(expression, Number):
        return arithmetic.constant(expression.value)
    if isinstance(expression, Param):
        return arithmetic.param(expression.name)
    if isinstance(expression, Binary):
        return arithmetic.apply(
            expression.op, _walk(expression.left, arithmetic), _walk(expression.right, arithmetic)
        )
    raise TypeError(f"no evaluation for a {type(expression).__name__} node")


def _divide_columns(left: Any, right: Any) -> Any:
    left, right = np.broadcast_arrays(np.asarray(left, dtype=float), np.asarray(right, dtype=float))
    return np.divide(left, right, out=np.full(left.shape, np.nan), where=right != 0)


#: A formula compiled for columns: its values from (sums, params).
Vectorised = Callable[[Any, Params], Any]
_COLUMN_OPS: dict[Operator, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
}


def _read_column(column: str) -> Vectorised:
    return lambda sums, params: np.asarray(sums[column], dtype=float)


def _constant_column(value: Sum) -> Vectorised:
    number = float(value)
    return lambda sums, params: number


class _Compiled(_Arithmetic[Vectorised]):
    """Columns: the tree walked once into nested functions of (sums, params), so a query
    evaluates a catalogue metric without walking its tree again."""

    def __init__(self) -> None:
        super().__init__(_read_column, _constant_column, None)

    def param(self, name: str) -> Vectorised:
        def value(sums: Any, params: Params) -> float:
            if name not in params:
                raise MissingBaseSumError(f"the formula needs the setting {name!r}")
            return float(params[name])

        return value

    def apply(self, op: Operator, left: Vectorised, right: Vectorised) -> Vectorised:
        if op == "/":
            return self.divide(left, right)
        combine = _COLUMN_OPS[op]
        return lambda sums, params: combine(left(sums, params), right(sums, params))

    def divide(self, left: Vectorised, right: Vectorised) -> Vectorised:
        return lambda sums, params: _divide_columns(left(sums, params), right(sums, params))


class _Sql(_Arithmetic[Any]):
    def divide(self, left: Any, right: Any) -> Any:
        return left / func.nullif(right, 0, type_=Float)  # float8 / float8


class _Decimal(_Arithmetic[Decimal | None]):
    def apply(self, op: Operator, left: Decimal | None, right: Decimal | None) -> Decimal | None:
        if left is None or right is None:
            return None
        return super().apply(op, left, right)

    def divide(self, left: Decimal | None, right: Decimal | None) -> Decimal | None:
        return None if right == 0 else left / right  # type: ignore[operator]


def vectorised(expression: Expression) -> Callable[[Any, Params | None], np.ndarray]:
    """`expression` compiled for `columns`: call it with (sums, params) as often as needed."""
    compiled = _walk(expression, _Compiled())

    def evaluate(sums: Any, params: Params | None = None) -> np.ndarray:
        return np.asarray(compiled(sums, params or {}), dtype=float)

    return evaluate


def columns(
    expression: Expression, sums: Mapping[str, Any] | pd.DataFrame, params: Params | None = None
) -> np.ndarray:
    """`expression` over columns of period sums (lists or arrays of one length), as float8."""
    return vectorised(expression)(sums, params)


def sql(expression: Expression, sums: Any, params: Params | None = None) -> ColumnElement[Any]:
    """`expression` in SQL over float8 sum columns (`sums[name]`, e.g. a subquery's `.c`)."""
    return _walk(
        expression,
        _Sql(lambda column: sums[column], lambda value: literal(float(value), Float), params),
    )


def to_decimal(value: Sum | None) -> Decimal | None:
    """A sum as an exact Decimal: a float as written (its repr), not its binary expansion."""
    if value is None or isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise TypeError("a metric sum cannot be a bool")
    if isinstance(value, float):
        return Decimal(repr(float(value)))  # numpy floats too
    return Decimal(value)


def decimal(
    expression: Expression, sums: Mapping[str, Sum | None], params: Params | None = None
) -> Decimal | None:
    """`expression` on one row of sums, exactly; None when a sum is None or a divisor 0."""

    def read(column: str) -> Decimal | None:
        if column not in sums:
            raise MissingBaseSumError(f"the sums have no {column!r}")
        return to_decimal(sums[column])

    return _walk(expression, _Decimal(read, to_decimal, params))
