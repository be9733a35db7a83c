"""Just enough GraphQL for a fake Admin API: parse a query, project data onto it, price it.

Real GraphQL answers only the fields that were asked for, under their aliases; `project` does
the same with plain dicts (a callable value is a field with arguments, e.g. a nested
connection). Unknown fields give the `undefinedField` error real Shopify gives.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

_TOKEN = re.compile(r"""
    (?P<ws>[\s,]+|\#[^\n]*)
  | (?P<spread>\.\.\.)
  | (?P<punct>[!$():=@\[\]{}|])
  | (?P<name>[_A-Za-z][_0-9A-Za-z]*)
  | (?P<num>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<str>"(?:[^"\\]|\\.)*")
""", re.VERBOSE)


class GraphQLError(Exception):
    """An error for the `errors` array (`code` goes into extensions)."""

    def __init__(self, message: str, code: str, **extensions: Any) -> None:
        super().__init__(message)
        self.message, self.code, self.extensions = message, code, extensions

    def as_dict(self) -> dict[str, Any]:
        return {"message": self.message, "extensions": {"code": self.code, **self.extensions}}


@dataclass
class Field:
    name: str
    alias: str | None = None
    args: dict[str, Any] = field(default_factory=dict)
    selections: list[Field] | None = None

    @property
    def key(self) -> str:
        return self.alias or self.name

    def child(self, name: str) -> Field | None:
        return next((f for f in self.selections or () if f.name == name), None)


class _Parser:
    def __init__(self, text: str, variables: dict[str, Any]) -> None:
        self.tokens = self._lex(text)
        self.pos = 0
        self.variables = dict(variables)
        self.fragments: dict[str, list[Field]] = {}

    @staticmethod
    def _lex(text: str) -> list[tuple[str, str]]:
        out, pos = [], 0
        while pos < len(text):
            match = _TOKEN.match(text, pos)
            if match is None:
                raise GraphQLError(f"Parse error on \"{text[pos:pos + 10]}\"", "parseError")
            pos = match.end()
            if match.lastgroup != "ws":
                out.append((match.lastgroup or "", match.group()))
        return out

    def peek(self, value: str | None = None, kind: str | None = None) -> bool:
        if self.pos >= len(self.tokens):
            return False
        k, v = self.tokens[self.pos]
        return (value is None or v == value) and (kind is None or k == kind)

    def take(self, value: str | None = None, kind: str | None = None) -> str:
        if not self.peek(value, kind):
            found = self.tokens[self.pos][1] if self.pos < len(self.tokens) else "end of query"
            raise GraphQLError(f"Parse error on \"{found}\" (expected {value or kind})",
                               "parseError")
        self.pos += 1
        return self.tokens[self.pos - 1][1]

    def document(self) -> list[Field]:
        """Collect fragments first (they may follow the operation), then read the operation.

        Fragments may not themselves contain fragment spreads (enough for a fake).
        """
        start: int | None = None
        while self.pos < len(self.tokens):
            if self.peek("fragment"):
                self.take("fragment")
                name = self.take(kind="name")
                self.take("on")
                self.take(kind="name")
                self.fragments[name] = self.selection_set(resolve=False)
            elif start is None:
                start = self.pos
                self.operation(resolve=False)
            else:
                raise GraphQLError("Only one operation per document is supported", "parseError")
        if start is None:
            raise GraphQLError("No operation in the document", "parseError")
        self.pos = start
        return self.operation(resolve=True)

    def operation(self, resolve: bool) -> list[Field]:
        if self.peek("mutation") or self.peek("subscription"):
            raise GraphQLError("The sandbox only answers queries", "parseError")
        if self.peek("query"):
            self.take("query")
            if self.peek(kind="name"):
                self.take(kind="name")
            if self.peek("("):
                self.variable_definitions()
        return self.selection_set(resolve)

    def variable_definitions(self) -> None:
        self.take("(")
        while not self.peek(")"):
            self.take("$")
            name = self.take(kind="name")
            self.take(":")
            self.type_ref()
            if self.peek("="):
                self.take("=")
                default = self.value()
                self.variables.setdefault(name, default)
        self.take(")")

    def type_ref(self) -> None:
        if self.peek("["):
            self.take("[")
            self.type_ref()
            self.take("]")
        else:
            self.take(kind="name")
        if self.peek("!"):
            self.take("!")

    def selection_set(self, resolve: bool = True) -> list[Field]:
        self.take("{")
        fields: list[Field] = []
        while not self.peek("}"):
            if self.peek("...", "spread"):
                self.take("...")
                if self.peek("on"):
                    self.take("on")
                    self.take(kind="name")
                    fields.extend(self.selection_set(resolve))
                else:
                    name = self.take(kind="name")
                    if resolve:
                        if name not in self.fragments:
                            raise GraphQLError(f"Fragment {name} was used, but not defined",
                                               "useAndDefineFragment")
                        fields.extend(self.fragments[name])
                continue
            fields.append(self.field(resolve))
        self.take("}")
        return fields

    def field(self, resolve: bool) -> Field:
        first = self.take(kind="name")
        alias, name = None, first
        if self.peek(":"):
            self.take(":")
            alias, name = first, self.take(kind="name")
        args: dict[str, Any] = {}
        if self.peek("("):
            self.take("(")
            while not self.peek(")"):
                arg = self.take(kind="name")
                self.take(":")
                args[arg] = self.value()
            self.take(")")
        while self.peek("@"):  # directives are accepted and ignored
            self.take("@")
            self.take(kind="name")
            if self.peek("("):
                while not self.peek(")"):
                    self.pos += 1
                self.take(")")
        selections = self.selection_set(resolve) if self.peek("{") else None
        return Field(name, alias, args, selections)

    def value(self) -> Any:
        kind, raw = self.tokens[self.pos] if self.pos < len(self.tokens) else ("", "")
        if raw == "$":
            self.take("$")
            return self.variables.get(self.take(kind="name"))
        if raw == "[":
            self.take("[")
            items = []
            while not self.peek("]"):
                items.append(self.value())
            self.take("]")
            return items
        if raw == "{":
            self.take("{")
            obj = {}
            while not self.peek("}"):
                key = self.take(kind="name")
                self.take(":")
                obj[key] = self.value()
            self.take("}")
            return obj
        self.pos += 1
        if kind == "str":
            return json.loads(raw)
        if kind == "num":
            return float(raw) if any(c in raw for c in ".eE") else int(raw)
        if kind == "name":
            return {"true": True, "false": False, "null": None}.get(raw, raw)
        raise GraphQLError(f"Parse error on \"{raw}\"", "parseError")


def parse(query: str, variables: dict[str, Any] | None = None) -> list[Field]:
    """The root selection of a query document, with variables substituted."""
    return _Parser(query, variables or {}).document()


def project(value: Any, fld: Field, type_name: str = "QueryRoot") -> Any:
    """Keep only the selected fields of `value` (dicts, lists, callables for fields with args)."""
    selections = fld.selections
    if selections is None or value is None:
        return value
    if isinstance(value, list):
        return [project(v, fld, type_name) for v in value]
    out: dict[str, Any] = {}
    typename = value.get("__typename", type_name)
    for sub in selections:
        name = sub.name
        if name in value:
            raw = value[name]
            if callable(raw):
                raw = raw(sub.args)
            if sub.selections is not None and raw is not None:
                raw = project(raw, sub, typename)
            out[sub.alias or name] = raw
        elif name == "__typename":
            out[sub.alias or name] = typename
        else:
            raise GraphQLError(f"Field '{name}' doesn't exist on type '{typename}'",
                               "undefinedField", typeName=typename, fieldName=name)
    return out


def is_connection(fld: Field) -> bool:
    return fld.selections is not None and any(
        s.name in ("nodes", "edges", "pageInfo") for s in fld.selections)


def cost(fields: list[Field] | None, counts: Callable[[Field], int] | None = None) -> int:
    """Shopify-style query cost: objects 1, scalars 0, connections 2 + n x node cost.

    `counts` gives the number of nodes a connection returned (actual cost); by default the
    `first`/`last` argument is used (requested cost).
    """
    total = 0
    for fld in fields or ():
        if fld.selections is None or fld.name == "pageInfo":
            continue
        if is_connection(fld):
            n = counts(fld) if counts else int(fld.args.get("first") or fld.args.get("last") or 0)
            node = fld.child("nodes") or (fld.child("edges") and fld.child("edges").child("node"))
            total += 2 + n * (1 + cost(node.selections if node else None, counts))
        else:
            total += 1 + cost(fld.selections, counts)
    return total

