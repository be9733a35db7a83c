"""The formula language of custom metrics: text a merchant types, parsed into the catalogue's
expression tree (metricx.semantic.expression), so it is evaluated by the one evaluator.

    formula  := sum
    sum      := product (("+" | "-") product)*
    product  := unary (("*" | "/") unary)*
    unary    := "-" unary | atom
    atom     := number | name restriction? | "(" sum ")"
    restriction := "[" key "=" value "]"          e.g. spend[provider=meta]
    value    := word | number | "text" | 'text'   e.g. spend[stage="Top of funnel"]

`×`, `÷` and `−` may be written for `*`, `/` and `-`; numbers may use a decimal point and a
trailing `%` (`5%` is 0.05). Names are metric ids (catalogue or the workspace's custom ones):
this module only reads the text; which names exist is checked where they are known
(metricx.semantic.custom). A problem raises FormulaError saying where it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache

from metricx.errors import InvalidInputError
from metricx.semantic.expression import Binary, Expression, Filtered, Number, Ref

#: The longest formula accepted (a formula is a line, not a program).
MAX_FORMULA = 500
#: How deep parentheses and minus signs may nest (the parser recurses on each).
MAX_DEPTH = 50
_TOKEN = re.compile(
    r"\s*(?:(?P<number>\d+(?:\.\d+)?%?|\.\d+%?)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<text>\"[^\"]*\"|'[^']*')|(?P<op>[-+*/×÷−()\[\]=]))"
)
_WORD = re.compile(r"[A-Za-z0-9_]+")
_SYNONYMS = {"×": "*", "÷": "/", "−": "-"}


class FormulaError(InvalidInputError, ValueError):
    """A formula that cannot be read; the message says what and where."""


@dataclass(frozen=True)
class _Token:
    kind: str  # "number", "name", "op" or "end"
    text: str
    at: int  # 1-based character position, for messages


def _tokens(text: str) -> list[_Token]:
    tokens, at = [], 0
    while at < len(text):
        if text[at:].strip() == "":
            break
        match = _TOKEN.match(text, at)
        if match is None or match.lastgroup is None:
            character = text[at:].lstrip()[0]
            position = len(text) - len(text[at:].lstrip()) + 1
            raise FormulaError(f"unexpected {character!r} at character {position}")
        value = match.group(match.lastgroup)
        start = match.start(match.lastgroup) + 1
        if match.lastgroup == "text":
            value = value[1:-1]  # the quotes are not part of the value
        tokens.append(_Token(match.lastgroup, _SYNONYMS.get(value, value), start))
        at = match.end()
    tokens.append(_Token("end", "", len(text) + 1))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.at = 0
        self.depth = 0

    @property
    def next(self) -> _Token:
        return self.tokens[self.at]

    def take(self, *texts: str) -> _Token | None:
        token = self.next
        if token.kind == "op" and token.text in texts:
            self.at += 1
            return token
        return None

    def expect(self, text: str, what: str) -> None:
        if self.take(text) is None:
            raise FormulaError(f"expected {what} at character {self.next.at}{self._found()}")

    def _found(self) -> str:
        return ", found the end" if self.next.kind == "end" else f", found {self.next.text!r}"

    def formula(self) -> Expression:
        expression = self.sum()
        if self.next.kind != "end":
            raise FormulaError(
                f"unexpected {self.next.text!r} at character {self.next.at} "
                "(an operator + - * / is missing?)"
            )
        return expression

    def sum(self) -> Expression:
        expression = self.product()
        while (token := self.take("+", "-")) is not None:
            expression = Binary(token.text, expression, self.product())  # type: ignore[arg-type]
        return expression

    def product(self) -> Expression:
        expression = self.unary()
        while (token := self.take("*", "/")) is not None:
            expression = Binary(token.text, expression, self.unary())  # type: ignore[arg-type]
        return expression

    def deeper(self, token: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise FormulaError(
                f"the formula nests parentheses or minus signs more than {MAX_DEPTH} deep "
                f"at character {token.at}"
            )

    def unary(self) -> Expression:
        token = self.next
        if self.take("-") is not None:
            self.deeper(token)
            negated = Binary("*", Number(Decimal(-1)), self.unary())
            self.depth -= 1
            return negated
        return self.atom()

    def atom(self) -> Expression:
        token = self.next
        if self.take("(") is not None:
            self.deeper(token)
            inner = self.sum()
            self.expect(")", "a closing parenthesis")
            self.depth -= 1
            return inner
        if token.kind == "number":
            self.at += 1
            return Number(_number(token.text))
        if token.kind == "name":
            self.at += 1
            name = token.text.lower()
            if self.take("[") is None:
                return Ref(name)
            key = self._word("a restriction such as provider=meta")
            self.expect("=", "'=' in the restriction")
            value = self._word("a value after '='", quoted=True)
            self.expect("]", "a closing ']'")
            return Filtered(name, key.lower(), value)
        raise FormulaError(
            f"expected a metric, a number or '(' at character {token.at}{self._found()}"
        )

    def _word(self, what: str, quoted: bool = False) -> str:
        token = self.next
        if token.kind not in ("name", "number", *(("text",) if quoted else ())):
            raise FormulaError(f"expected {what} at character {token.at}{self._found()}")
        self.at += 1
        return token.text


def _number(text: str) -> Decimal:
    try:
        value = Decimal(text.rstrip("%"))
    except InvalidOperation:  # the token pattern admits only digits; kept for safety
        raise FormulaError(f"{text!r} is not a number") from None
    return value / 100 if text.endswith("%") else value


@cache
def parse(text: str) -> Expression:
    """The expression tree of a formula; FormulaError says what is wrong and where."""
    if not isinstance(text, str) or not text.strip():
        raise FormulaError("the formula is empty; write one such as spend / orders")
    if len(text) > MAX_FORMULA:
        raise FormulaError(f"the formula is {len(text):,} characters; at most {MAX_FORMULA}")
    return _Parser(text).formula()


def render(expression: Expression) -> str:
    """A tree as formula text (parenthesised where needed), e.g. for a definition."""
    if isinstance(expression, Filtered):
        value = expression.value
        if not _WORD.fullmatch(value):
            value = f"'{value}'" if '"' in value else f'"{value}"'
        return f"{expression.name}[{expression.key}={value}]"
    if isinstance(expression, Ref):
        return expression.name
    if isinstance(expression, Number):
        return format(expression.value.normalize(), "f")
    if isinstance(expression, Binary):
        left, right = render(expression.left), render(expression.right)
        if _loose(expression.left, expression.op, right_side=False):
            left = f"({left})"
        if _loose(expression.right, expression.op, right_side=True):
            right = f"({right})"
        return f"{left} {expression.op} {right}"
    raise TypeError(f"no text for a {type(expression).__name__} node")


def _loose(child: Expression, op: str, right_side: bool) -> bool:
    """True when `child` binds less tightly than `op` needs (so it takes parentheses)."""
    if not isinstance(child, Binary):
        return False
    strength = {"+": 1, "-": 1, "*": 2, "/": 2}
    if strength[child.op] < strength[op]:
        return True
    return right_side and strength[child.op] == strength[op] and op in "-/"
