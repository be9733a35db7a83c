"""Shopify's calculated query cost, known before a query is sent, and pacing on the bucket.

Cost rules, from shopify.dev "GraphQL Admin API rate limits" (docs/apps/build/apis/graphql-admin/
rate-limits, "Cost calculation"): a scalar or enum field costs 0, an object 1, a connection 2
plus `first` times the cost of one node (the node is an object: 1 plus its fields), a mutation
10. The requested cost is judged before the query runs, and a single query may not request more
than 1,000 points (MAX_COST_EXCEEDED). A list that takes `first` without being a connection
(Order.refunds) is priced like a connection: the docs size only connections explicitly, and
that reading is an upper bound, so a planned page is never refused (the contract tests'
independent reading, tests/contracts/shopify_rules.py, prices it the same way).

Queries are built as a small tree of `Field`s so that one structure gives both the GraphQL text
and its price, and page sizes can be chosen to fit under the limit before anything is sent.

Pacing: every answer carries `extensions.cost.throttleStatus` (maximumAvailable,
currentlyAvailable, restoreRate). The bucket refills at restoreRate points per second; before
a query is admitted it must hold the query's requested cost. `Pacer` remembers the last status
and says how long to wait so that a query is never refused for THROTTLED.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

MAX_QUERY_COST = 1000
MUTATION_COST = 10
CONNECTION_COST = 2
MAX_PAGE = 250  # the Admin API refuses first > 250


@dataclass(frozen=True)
class Field:
    """One field of a query: a scalar/enum (no fields), an object, or a list sized by `size`.

    `size` is an int or a `$variable` naming the `first` argument; `connection` marks a Relay
    connection (rendered with pageInfo and nodes, 2 points on top of its nodes); `alias` names
    the field in the answer (one root field asked several times).
    """

    name: str
    fields: tuple[Field, ...] = ()
    args: tuple[tuple[str, str], ...] = ()
    size: int | str | None = None
    connection: bool = False
    alias: str | None = None


def scalars(names: str) -> tuple[Field, ...]:
    """Scalar or enum fields, written as in GraphQL: "id name createdAt"."""
    return tuple(Field(name) for name in names.split())


def obj(name: str, *fields: Field, **args: str) -> Field:
    return Field(name, tuple(fields), tuple(args.items()))


def connection(name: str, size: int | str | None, *fields: Field, **args: str) -> Field:
    """A Relay connection; `fields` are the selection of one node."""
    return Field(name, tuple(fields), tuple(args.items()), size, connection=True)


def sized_list(name: str, size: int | str | None, *fields: Field) -> Field:
    """A plain list of objects cut by `first` (Order.refunds)."""
    return Field(name, tuple(fields), (), size)


def _size(value: int | str | None, variables: Mapping[str, Any]) -> int:
    if isinstance(value, str):
        value = variables.get(value.removeprefix("$"))
    return int(value or 0)


def field_cost(f: Field, variables: Mapping[str, Any]) -> int:
    """The requested cost of one field (see the module docstring for the rules)."""
    if not f.fields:
        return 0
    node = 1 + sum(field_cost(child, variables) for child in f.fields)
    if f.connection or f.size is not None:
        return CONNECTION_COST + _size(f.size, variables) * node
    return node


def cost(fields: Iterable[Field], variables: Mapping[str, Any], *, mutation: bool = False) -> int:
    """The requested cost of a query's root fields (a mutation's root field costs 10)."""
    if mutation:
        return MUTATION_COST * len(tuple(fields))
    return sum(field_cost(f, variables) for f in fields)


def render(f: Field, *, bulk: bool = False) -> str:
    """GraphQL text of a field. In a bulk query connections take no `first` and no pageInfo
    (Shopify reads them whole) and lists are read whole too."""
    args = list(f.args)
    if f.size is not None and not bulk:
        args.insert(0, ("first", str(f.size)))
    head = (
        (f"{f.alias}: " if f.alias else "")
        + f.name
        + (f"({', '.join(f'{k}: {v}' for k, v in args)})" if args else "")
    )
    if not f.fields:
        return head
    inner = " ".join(render(child, bulk=bulk) for child in f.fields)
    if f.connection and bulk:
        return f"{head} {{ edges {{ node {{ {inner} }} }} }}"
    if f.connection:
        return f"{head} {{ pageInfo {{ hasNextPage endCursor }} nodes {{ {inner} }} }}"
    return f"{head} {{ {inner} }}"


@dataclass(frozen=True)
class Query:
    """A query document: `signature` declares its variables ("($first: Int!)")."""

    name: str
    signature: str
    fields: tuple[Field, ...]
    mutation: bool = False

    @property
    def text(self) -> str:
        kind = "mutation" if self.mutation else "query"
        body = " ".join(render(f) for f in self.fields)
        return f"{kind} {self.name}{self.signature} {{ {body} }}"

    def cost(self, variables: Mapping[str, Any]) -> int:
        return cost(self.fields, variables, mutation=self.mutation)


def largest_first(
    price: Callable[[int], int], *, limit: int = MAX_QUERY_COST, most: int = MAX_PAGE
) -> int:
    """The largest page size (1..most) whose query costs at most `limit`; 0 when not even one
    item fits. Cost grows linearly with `first`, so two prices settle it."""
    base, one = price(0), price(1)
    per_item = one - base
    if one > limit:
        return 0
    if per_item <= 0:
        return most
    return min(most, (limit - base) // per_item)


@dataclass
class Pacer:
    """What we know of the app's bucket on this shop, from the last throttleStatus seen."""

    clock: Callable[[], float] = time.monotonic
    available: float | None = None
    maximum: float = 0.0
    restore_rate: float = 0.0
    seen_at: float = 0.0

    def observe(self, status: Mapping[str, Any] | None) -> None:
        """Remember a throttleStatus (ignored when absent or not numbers)."""
        if not isinstance(status, Mapping):
            return
        try:
            available = float(status["currentlyAvailable"])
            restore = float(status["restoreRate"])
            maximum = float(status.get("maximumAvailable") or available)
        except (KeyError, TypeError, ValueError):
            return
        self.available, self.restore_rate, self.maximum = available, restore, maximum
        self.seen_at = self.clock()

    def estimate(self) -> float | None:
        """Points available now: the last figure plus what has leaked back since."""
        if self.available is None:
            return None
        refilled = self.available + self.restore_rate * max(0.0, self.clock() - self.seen_at)
        return min(self.maximum, refilled) if self.maximum else refilled

    def wait_before(self, requested: int) -> float:
        """Seconds to wait so the bucket holds `requested` points: (cost - available) / rate,
        plus a millisecond and rounded up to one, so float rounding on either side never
        leaves the bucket a hair short (5.02 s x 50 points/s is 250.99999... in floats)."""
        available = self.estimate()
        if available is None or available >= requested or self.restore_rate <= 0:
            return 0.0
        return math.ceil(((requested - available) / self.restore_rate + 0.001) * 1000) / 1000

    def refilled_to(self, requested: int) -> None:
        """After waiting out a THROTTLED answer exactly, the bucket holds `requested`."""
        if self.available is not None:
            self.available, self.seen_at = float(requested), self.clock()
