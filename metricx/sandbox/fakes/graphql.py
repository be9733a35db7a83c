"""Just enough GraphQL for a fake Admin API: parse a query, project data onto it, price it,
and meter it through a leaky bucket.

Real GraphQL answers only the fields that were asked for, under their aliases; `project` does
the same with plain dicts (a callable value is a field with arguments, e.g. a nested
connection). Unknown fields give the `undefinedField` error real Shopify gives.

Pricing and metering follow shopify.dev "GraphQL Admin API rate limits" (docs/apps/build/apis/
graphql-admin/rate-limits): scalars and enums 0, objects 1, connections 2 + first x node, a
mutation 10; the bucket must hold a query's requested cost before it runs, is charged the
actual cost afterwards (the difference refunded), and refills at the plan's restore rate.
This is written independently of the connector's own pricing (metricx/connectors/
shopify_cost.py) so that each checks the other.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from threading import Lock
from typing import Any

_TOKEN = re.compile(
    r"""
    (?P<ws>[\s,]+|\#[^\n]*)
  | (?P<spread>\.\.\.)
  | (?P<punct>[!$():=@\[\]{}|])
  | (?P<name>[_A-Za-z][_0-9A-Za-z]*)
  | (?P<num>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<str>"(?:[^"\\]|\\.)*")
""",
    re.VERBOSE,
)


class GraphQLError(Exception):
    """An error for the `errors` array (`code` goes into extensions)."""

    def __init__(
        self, message: str, code: str, *, path: list[str] | None = None, **extensions: Any
    ) -> None:
        super().__init__(message)
        self.message, self.code, self.extensions = message, code, extensions
        self.path = path

    def as_dict(self) -> dict[str, Any]:
        error = {"message": self.message, "extensions": {"code": self.code, **self.extensions}}
        return {**error, "path": self.path} if self.path else error


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
        self.kind = "query"

    @staticmethod
    def _lex(text: str) -> list[tuple[str, str]]:
        out, pos = [], 0
        while pos < len(text):
            match = _TOKEN.match(text, pos)
            if match is None:
                raise GraphQLError(f'Parse error on "{text[pos : pos + 10]}"', "parseError")
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
            raise GraphQLError(f'Parse error on "{found}" (expected {value or kind})', "parseError")
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
        if self.peek("subscription"):
            raise GraphQLError("The sandbox answers queries and mutations only", "parseError")
        if self.peek("query") or self.peek("mutation"):
            self.kind = self.take()
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
                            raise GraphQLError(
                                f"Fragment {name} was used, but not defined", "useAndDefineFragment"
                            )
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
        raise GraphQLError(f'Parse error on "{raw}"', "parseError")


def parse(query: str, variables: dict[str, Any] | None = None) -> list[Field]:
    """The root selection of a query document, with variables substituted."""
    return parse_operation(query, variables)[1]


def parse_operation(
    query: str,
    variables: dict[str, Any] | None = None,
) -> tuple[str, list[Field]]:
    """("query" | "mutation", the root selection), with variables substituted."""
    parser = _Parser(query, variables or {})
    fields = parser.document()
    return parser.kind, fields


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
            raise GraphQLError(
                f"Field '{name}' doesn't exist on type '{typename}'",
                "undefinedField",
                typeName=typename,
                fieldName=name,
            )
    return out


def is_connection(fld: Field) -> bool:
    return fld.selections is not None and any(
        s.name in ("nodes", "edges", "pageInfo") for s in fld.selections
    )


MUTATION_COST = 10


def _sized(fld: Field) -> bool:
    return fld.args.get("first") is not None or fld.args.get("last") is not None


def node_selection(fld: Field) -> Field | None:
    """The selection of one node of a connection field (`nodes { }` or `edges { node { } }`)."""
    edges = fld.child("edges")
    return fld.child("nodes") or (edges.child("node") if edges else None)


def cost(fields: list[Field] | None, *, mutation: bool = False) -> int:
    """Shopify-style requested query cost: scalars and enums 0, objects 1, connections 2 + n x
    node cost (n: the `first`/`last` argument), a mutation 10. A list cut by first/last
    (Order.refunds) is priced like a connection: the docs size connections only, and this
    reading never prices low. PageInfo is part of a connection's 2."""
    if mutation:
        return MUTATION_COST * len(fields or ())
    total = 0
    for fld in fields or ():
        if fld.selections is None or fld.name == "pageInfo":
            continue
        size = int(fld.args.get("first") or fld.args.get("last") or 0)
        if is_connection(fld):
            node = node_selection(fld)
            total += 2 + size * (1 + cost(node.selections if node else None))
        elif _sized(fld):
            total += 2 + size * (1 + cost(fld.selections))
        else:
            total += 1 + cost(fld.selections)
    return total


def actual_cost(fields: list[Field] | None, data: Any) -> int:
    """What an answer cost: as `cost`, but each connection and sized list priced by the nodes
    it returned, at every depth (shopify.dev "GraphQL Admin API rate limits": the actual cost
    is based on the results returned; the difference goes back to the bucket)."""
    total = 0
    for fld in fields or ():
        if fld.selections is None or fld.name == "pageInfo":
            continue
        value = data.get(fld.key) if isinstance(data, dict) else None
        if is_connection(fld):
            node = node_selection(fld)
            value = value or {}
            items = (
                value.get("nodes")
                if fld.child("nodes")
                else [edge.get("node") for edge in value.get("edges") or ()]
            ) or []
            total += 2 + sum(
                1 + actual_cost(node.selections if node else None, item) for item in items
            )
        elif _sized(fld):
            total += 2 + sum(1 + actual_cost(fld.selections, item) for item in value or ())
        elif isinstance(value, list):  # an unsized list is priced as one object
            total += 1 + cost(fld.selections)
        else:
            total += 1 + actual_cost(fld.selections, value)
    return total


# Points restored per second by the shop's plan (shopify.dev "GraphQL Admin API rate limits").
# The bucket holds 20 seconds of it: the standard plan's published throttleStatus reads
# maximumAvailable 2000.0 at restoreRate 100.0.
PLAN_RESTORE_RATES = {"standard": 100.0, "advanced": 200.0, "plus": 1000.0, "enterprise": 2000.0}
BUCKET_SECONDS = 20


class LeakyBucket:
    """One app's bucket on one shop: `maximum` points, refilling at `restore_rate` per second.

    `now` is the bucket's clock in seconds (real time by default; tests pass a virtual one);
    `advance` moves it forward, for a sandbox whose own clock stands still.
    """

    @classmethod
    def of_plan(cls, plan: str) -> LeakyBucket:
        """The bucket of a shop on `plan` (a key of PLAN_RESTORE_RATES), on real time."""
        rate = PLAN_RESTORE_RATES[plan]
        return cls(rate * BUCKET_SECONDS, rate)

    def __init__(
        self,
        maximum: float = 2000.0,
        restore_rate: float = 100.0,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.maximum, self.restore_rate, self.now = maximum, restore_rate, now
        self._lock = Lock()
        self._skew = 0.0
        self._level = maximum
        self._at = self._clock()
        self.refusals = 0

    def _clock(self) -> float:
        return self.now() + self._skew

    def _refill(self) -> None:
        at = self._clock()
        self._level = min(self.maximum, self._level + (at - self._at) * self.restore_rate)
        self._at = at

    def admit(self, requested: int) -> bool:
        """Take `requested` points if the bucket holds them; False (THROTTLED) otherwise."""
        with self._lock:
            self._refill()
            if self._level < requested:
                self.refusals += 1
                return False
            self._level -= requested
            return True

    def refund(self, points: float) -> None:
        """Give back what a query asked for but did not use (requested - actual)."""
        with self._lock:
            self._level = min(self.maximum, self._level + max(0.0, points))

    def wait_for(self, requested: int) -> float:
        """Seconds until the bucket holds `requested` points."""
        with self._lock:
            self._refill()
            return max(0.0, requested - self._level) / self.restore_rate

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._skew += seconds

    def reset(self, level: float | None = None) -> None:
        """Start over full (or at `level`); tests use it to begin from a known state."""
        with self._lock:
            self._skew = 0.0
            self._level = self.maximum if level is None else level
            self._at = self._clock()
            self.refusals = 0

    def status(self) -> dict[str, float]:
        """throttleStatus as Shopify reports it (whole points available, rounded down)."""
        with self._lock:
            self._refill()
            return {
                "maximumAvailable": self.maximum,
                "currentlyAvailable": float(int(self._level)),
                "restoreRate": self.restore_rate,
            }
