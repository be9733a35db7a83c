"""Shopify's published GraphQL rules, written for the contract tests from the docs alone.

This is deliberately independent of metricx.connectors.shopify_cost (the connector's own
calculator): two readings of the same published rule must agree with what is sent.

Requested query cost (shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits, "Cost
calculation"; formerly shopify.dev/docs/api/usage/rate-limits#cost-calculation): every field
costs what it returns -
    Scalar 0 | Enum 0 | Object 1 | Interface, Union: the maximum of the possible selections |
    Connection: sized by the `first` and `last` arguments | Mutation 10
and a single query may cost at most 1,000 points (MAX_COST_EXCEEDED otherwise). How a
connection is sized is spelled out in Shopify Engineering's "Rate Limiting GraphQL APIs by
Calculating Query Complexity" (shopify.engineering/rate-limiting-graphql-apis-calculating-
query-complexity): "two points plus the number of returned objects", each returned object
costing what it selects. So here:
    connection(first|last: n) = 2 + n * (1 + cost of what one node selects)
    object field              = 1 + cost of its selection
    scalar / enum field       = 0
    mutation root field       = 10 (its payload included, as Shopify reports it)
Without the schema a field is classified by syntax: no selection set -> scalar/enum; a
`first`/`last` argument -> connection (also for sized plain lists such as `refunds(first:)`,
where this is an upper bound); anything else with a selection set -> object (an unsized list
counts as one object: the documents checked here size every list they ask for).

Bulk operation queries (shopify.dev/docs/api/usage/bulk-operations/queries, "Operation
restrictions"): at most five connections, connections nested at most two levels deep, no
top-level `node` or `nodes` field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    IntValueNode,
    NonNullTypeNode,
    NullValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    StringValueNode,
    VariableNode,
    build_schema,
    parse,
    validate,
)
from graphql.validation import (
    KnownFragmentNamesRule,
    LoneAnonymousOperationRule,
    NoFragmentCyclesRule,
    NoUndefinedVariablesRule,
    NoUnusedFragmentsRule,
    NoUnusedVariablesRule,
    UniqueArgumentNamesRule,
    UniqueFragmentNamesRule,
    UniqueOperationNamesRule,
    UniqueVariableNamesRule,
)

MAX_QUERY_COST = 1000
OBJECT, CONNECTION_BASE, MUTATION = 1, 2, 10
CONNECTION_ITEMS = ("nodes", "edges")
BULK_MAX_CONNECTIONS, BULK_MAX_DEPTH = 5, 2
# The validation rules of the GraphQL spec (spec.graphql.org/October2021, section 5) that
# need no schema: operations, fragments, variables defined, used and unique, arguments unique.
SCHEMA_FREE_RULES = (
    LoneAnonymousOperationRule,
    UniqueOperationNamesRule,
    UniqueFragmentNamesRule,
    KnownFragmentNamesRule,
    NoUnusedFragmentsRule,
    NoFragmentCyclesRule,
    UniqueVariableNamesRule,
    NoUndefinedVariablesRule,
    NoUnusedVariablesRule,
    UniqueArgumentNamesRule,
)
_ANY_SCHEMA = build_schema("type Query { _: Int }")


class CostError(ValueError):
    """The document cannot be priced (an unsized connection, an unknown fragment, ...)."""


@dataclass(frozen=True)
class Priced:
    operation: str
    cost: int


def operation_of(document: DocumentNode, name: str | None = None) -> OperationDefinitionNode:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is not None:
        operations = [o for o in operations if o.name and o.name.value == name]
    if len(operations) != 1:
        raise CostError(
            f"expected one operation{f' named {name}' if name else ''}, found {len(operations)}"
        )
    return operations[0]


class _Pricer:
    def __init__(
        self, document: DocumentNode, operation: OperationDefinitionNode, variables: dict[str, Any]
    ) -> None:
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        defaults = {
            v.variable.name.value: v.default_value for v in operation.variable_definitions or ()
        }
        self.variables = {name: _literal(default, {}) for name, default in defaults.items()}
        self.variables.update(variables)

    def selection(self, selection_set: SelectionSetNode | None) -> int:
        """Common fields add up; type-conditioned fragments are alternatives: take the max."""
        if selection_set is None:
            return 0
        common = 0
        by_type: dict[str, int] = {}
        for node in selection_set.selections:
            if isinstance(node, FieldNode):
                common += self.field(node)
                continue
            if isinstance(node, FragmentSpreadNode):
                fragment = self.fragments.get(node.name.value)
                if fragment is None:
                    raise CostError(f"unknown fragment {node.name.value}")
                condition, inner = fragment.type_condition.name.value, fragment.selection_set
            else:
                assert isinstance(node, InlineFragmentNode)
                condition = node.type_condition.name.value if node.type_condition else None
                inner = node.selection_set
            cost = self.selection(inner)
            if condition is None:
                common += cost
            else:
                by_type[condition] = by_type.get(condition, 0) + cost
        return common + max(by_type.values(), default=0)

    def size(self, node: FieldNode) -> int | None:
        """max(first, last) of a field, None when it has neither argument."""
        sizes = []
        for argument in node.arguments or ():
            if argument.name.value in ("first", "last"):
                value = _literal(argument.value, self.variables)
                if not isinstance(value, int):
                    raise CostError(
                        f"{node.name.value}({argument.name.value}:) is not sized "
                        f"by an integer: {value!r}"
                    )
                sizes.append(value)
        return max(sizes) if sizes else None

    def field(self, node: FieldNode) -> int:
        if node.selection_set is None or node.name.value == "__typename":
            return 0
        size = self.size(node)
        if size is None:
            return OBJECT + self.selection(node.selection_set)
        return CONNECTION_BASE + size * (OBJECT + self.item(node.selection_set))

    def item(self, selection_set: SelectionSetNode) -> int:
        """What one returned object selects: `nodes {..}` / `edges { node {..} }`, or the
        selection itself for a sized plain list."""
        fields = [s for s in selection_set.selections if isinstance(s, FieldNode)]
        names = {f.name.value for f in fields}
        if not names & set(CONNECTION_ITEMS):
            return self.selection(selection_set)
        per_item = 0
        for f in fields:
            if f.name.value == "nodes":
                per_item = max(per_item, self.selection(f.selection_set))
            elif f.name.value == "edges" and f.selection_set is not None:
                for inner in f.selection_set.selections:
                    if isinstance(inner, FieldNode) and inner.name.value == "node":
                        per_item = max(per_item, self.selection(inner.selection_set))
        return per_item


def _literal(value: Any, variables: dict[str, Any]) -> Any:
    if isinstance(value, VariableNode):
        return variables.get(value.name.value)
    if isinstance(value, IntValueNode):
        return int(value.value)
    if isinstance(value, StringValueNode):
        return value.value
    if isinstance(value, NullValueNode) or value is None:
        return None
    return getattr(value, "value", None)


def requested_cost(
    document: DocumentNode,
    variables: dict[str, Any] | None = None,
    operation_name: str | None = None,
) -> Priced:
    """The requested cost of one operation of `document`, by the published rules."""
    operation = operation_of(document, operation_name)
    pricer = _Pricer(document, operation, variables or {})
    name = operation.name.value if operation.name else "(anonymous)"
    if operation.operation == OperationType.MUTATION:
        roots = [s for s in operation.selection_set.selections if isinstance(s, FieldNode)]
        return Priced(name, MUTATION * len(roots))
    return Priced(name, pricer.selection(operation.selection_set))


def spec_errors(document: DocumentNode) -> list[GraphQLError]:
    """What the schema-free validation rules of the GraphQL spec reject in `document`."""
    return list(validate(_ANY_SCHEMA, document, list(SCHEMA_FREE_RULES)))


def missing_variables(
    document: DocumentNode, variables: dict[str, Any], operation_name: str | None = None
) -> list[str]:
    """Non-null variables without a default that the request leaves out or sends null
    (spec.graphql.org/October2021/#sec-Coercing-Variable-Values)."""
    operation = operation_of(document, operation_name)
    return [
        d.variable.name.value
        for d in operation.variable_definitions or ()
        if isinstance(d.type, NonNullTypeNode)
        and d.default_value is None
        and variables.get(d.variable.name.value) is None
    ]


def bulk_queries(document: DocumentNode, variables: dict[str, Any]) -> list[str]:
    """The query strings a document hands to bulkOperationRunQuery (if any)."""
    found = []
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        for node in definition.selection_set.selections:
            if isinstance(node, FieldNode) and node.name.value == "bulkOperationRunQuery":
                for argument in node.arguments or ():
                    if argument.name.value == "query":
                        text = _literal(argument.value, variables)
                        found.append(text if isinstance(text, str) else "")
    return found


def _connections(
    selection_set: SelectionSetNode | None, depth: int, out: list[tuple[str, int]]
) -> None:
    for node in selection_set.selections if selection_set else ():
        if isinstance(node, FieldNode):
            inner = node.selection_set
            names = (
                {s.name.value for s in inner.selections if isinstance(s, FieldNode)}
                if inner
                else set()
            )
            is_connection = bool(names & set(CONNECTION_ITEMS))
            if is_connection:
                out.append((node.name.value, depth + 1))
            _connections(inner, depth + int(is_connection), out)
        elif isinstance(node, InlineFragmentNode):
            _connections(node.selection_set, depth, out)


def bulk_problems(text: str) -> list[str]:
    """What Shopify's bulk-query restrictions reject in a bulkOperationRunQuery query."""
    try:
        document = parse(text)
    except GraphQLError as exc:
        return [f"the bulk query does not parse: {exc.message}"]
    problems = [f"the bulk query: {e.message}" for e in spec_errors(document)]
    operation = operation_of(document)
    tops = [s.name.value for s in operation.selection_set.selections if isinstance(s, FieldNode)]
    problems += [
        f"the bulk query has a top-level {t!r} field" for t in tops if t in ("node", "nodes")
    ]
    found: list[tuple[str, int]] = []
    _connections(operation.selection_set, 0, found)
    if len(found) > BULK_MAX_CONNECTIONS:
        problems.append(
            f"the bulk query has {len(found)} connections (at most {BULK_MAX_CONNECTIONS})"
        )
    deep = [name for name, depth in found if depth > BULK_MAX_DEPTH]
    if deep:
        problems.append(
            f"the bulk query nests connections {deep} deeper than {BULK_MAX_DEPTH} levels"
        )
    return problems
