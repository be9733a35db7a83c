"""A small Google Ads Query Language parser: enough GAQL for the queries connectors send.

SELECT f, ... FROM resource [WHERE cond AND ...] [ORDER BY f [ASC|DESC], ...] [LIMIT n]
cond: f (=|!=|>|>=|<|<=) v | f [NOT] IN (v, ...) | f BETWEEN v AND v | f DURING CONSTANT
      | f LIKE 'x' | f IS [NOT] NULL
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_TOKEN = re.compile(
    r"""\s*(?:
    (?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<num>-?\d+(?:\.\d+)?)
  | (?P<op>!=|>=|<=|=|>|<|\(|\)|,)
  | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
)""",
    re.VERBOSE,
)
KEYWORDS = {
    "SELECT",
    "FROM",
    "WHERE",
    "AND",
    "ORDER",
    "BY",
    "ASC",
    "DESC",
    "LIMIT",
    "IN",
    "NOT",
    "BETWEEN",
    "DURING",
    "LIKE",
    "IS",
    "NULL",
    "PARAMETERS",
}


class GaqlError(ValueError):
    """A query the API would reject; `code` is the queryError enum value."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Condition:
    field: str
    op: str  # = != > >= < <= IN NOT_IN BETWEEN DURING LIKE IS_NULL IS_NOT_NULL
    value: Any


@dataclass(frozen=True)
class GaqlQuery:
    select: tuple[str, ...]
    resource: str
    where: tuple[Condition, ...]
    order_by: tuple[tuple[str, bool], ...]  # (field, descending)
    limit: int | None


def _tokens(text: str) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    pos, text = 0, text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise GaqlError(
                "UNEXPECTED_INPUT", f"Error in query: unexpected input {text[pos : pos + 20]!r}."
            )
        pos = match.end()
        kind = match.lastgroup or ""
        raw = match.group(kind)
        if kind == "str":
            out.append(("value", raw[1:-1].replace("\\'", "'").replace('\\"', '"')))
        elif kind == "num":
            out.append(("value", float(raw) if "." in raw else int(raw)))
        elif kind == "word" and raw.upper() in KEYWORDS:
            out.append(("kw", raw.upper()))
        else:
            out.append((kind, raw))
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.pos = 0

    def peek(self, kind: str | None = None, value: Any = None) -> bool:
        if self.pos >= len(self.tokens):
            return False
        k, v = self.tokens[self.pos]
        return (kind is None or k == kind) and (value is None or v == value)

    def take(self, kind: str, value: Any = None) -> Any:
        if not self.peek(kind, value):
            found = self.tokens[self.pos][1] if self.pos < len(self.tokens) else "end of query"
            expected = value or kind
            raise GaqlError(
                "UNEXPECTED_INPUT" if self.pos < len(self.tokens) else "UNEXPECTED_END_OF_QUERY",
                f"Error in query: expected {expected}, found {found!r}.",
            )
        self.pos += 1
        return self.tokens[self.pos - 1][1]

    def parse(self) -> GaqlQuery:
        self.take("kw", "SELECT")
        select = [self.take("word")]
        while self.peek("op", ","):
            self.take("op", ",")
            select.append(self.take("word"))
        self.take("kw", "FROM")
        resource = self.take("word")
        where: list[Condition] = []
        if self.peek("kw", "WHERE"):
            self.take("kw", "WHERE")
            where.append(self.condition())
            while self.peek("kw", "AND"):
                self.take("kw", "AND")
                where.append(self.condition())
        order: list[tuple[str, bool]] = []
        if self.peek("kw", "ORDER"):
            self.take("kw", "ORDER")
            self.take("kw", "BY")
            order.append(self.order_item())
            while self.peek("op", ","):
                self.take("op", ",")
                order.append(self.order_item())
        limit = None
        if self.peek("kw", "LIMIT"):
            self.take("kw", "LIMIT")
            limit = int(self.take("value"))
        if self.peek("kw", "PARAMETERS"):
            self.pos = len(self.tokens)
        if self.pos != len(self.tokens):
            raise GaqlError(
                "UNEXPECTED_INPUT",
                f"Error in query: unexpected input {self.tokens[self.pos][1]!r}.",
            )
        return GaqlQuery(tuple(select), resource, tuple(where), tuple(order), limit)

    def order_item(self) -> tuple[str, bool]:
        name = self.take("word")
        if self.peek("kw", "DESC"):
            self.take("kw", "DESC")
            return name, True
        if self.peek("kw", "ASC"):
            self.take("kw", "ASC")
        return name, False

    def value_list(self) -> list[Any]:
        self.take("op", "(")
        values = [self.scalar()]
        while self.peek("op", ","):
            self.take("op", ",")
            values.append(self.scalar())
        self.take("op", ")")
        return values

    def scalar(self) -> Any:
        if self.peek("word"):
            return self.take("word")  # enum constants: ENABLED, SEARCH...
        return self.take("value")

    def condition(self) -> Condition:
        name = self.take("word")
        if self.peek("op"):
            op = self.take("op")
            if op in ("(", ")", ","):
                raise GaqlError("UNEXPECTED_INPUT", f"Error in query: unexpected {op!r}.")
            return Condition(name, op, self.scalar())
        keyword = self.take("kw")
        if keyword == "IN":
            return Condition(name, "IN", self.value_list())
        if keyword == "NOT":
            self.take("kw", "IN")
            return Condition(name, "NOT_IN", self.value_list())
        if keyword == "BETWEEN":
            low = self.scalar()
            self.take("kw", "AND")
            return Condition(name, "BETWEEN", (low, self.scalar()))
        if keyword == "DURING":
            return Condition(name, "DURING", self.take("word"))
        if keyword == "LIKE":
            return Condition(name, "LIKE", self.take("value"))
        if keyword == "IS":
            negate = self.peek("kw", "NOT")
            if negate:
                self.take("kw", "NOT")
            self.take("kw", "NULL")
            return Condition(name, "IS_NOT_NULL" if negate else "IS_NULL", None)
        raise GaqlError("UNEXPECTED_INPUT", f"Error in query: unexpected {keyword}.")


def parse(text: str) -> GaqlQuery:
    """Parse GAQL or raise GaqlError with the API's queryError code."""
    return _Parser(text).parse()


def compare(actual: Any, cond: Condition) -> bool:
    """Evaluate one condition on a field value."""
    op, value = cond.op, cond.value
    if op == "IS_NULL":
        return actual is None
    if op == "IS_NOT_NULL":
        return actual is not None
    if op == "IN":
        return actual in [_coerce(v, actual) for v in value]
    if op == "NOT_IN":
        return actual not in [_coerce(v, actual) for v in value]
    if op == "BETWEEN":
        return _coerce(value[0], actual) <= actual <= _coerce(value[1], actual)
    if op == "LIKE":
        pattern = "^" + re.escape(str(value)).replace("%", ".*").replace("_", ".") + "$"
        return re.match(pattern, str(actual)) is not None
    other = _coerce(value, actual)
    return {
        "=": actual == other,
        "!=": actual != other,
        ">": actual > other,
        ">=": actual >= other,
        "<": actual < other,
        "<=": actual <= other,
    }[op]


def _coerce(value: Any, like: Any) -> Any:
    """Literals compare as the field's type ('123' against an int64 id, 5 against a double)."""
    if isinstance(like, bool):
        return str(value).upper() == "TRUE"
    if isinstance(like, int):
        return int(value)
    if isinstance(like, float):
        return float(value)
    return str(value)
