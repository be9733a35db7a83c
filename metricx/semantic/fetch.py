"""Plan and fetch: which fact sources a query needs, and their sums per period in one round trip.

The plan (`plan`) is the shared statement of the ad, store and email facts of every period
(metricx.semantic.compiler) and the names of the sources built with the query's values
(`VALUE_BOUND_SOURCES`, e.g. attribution). `fetch` runs them inside one workspace and decodes
the rows into columns per period and source, after checking that every rate was there
(`MissingFxRateError`, the one error for money without an exchange rate).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import CompoundSelect, Connection, Select, bindparam, select

from metricx.costs import COST_FIELDS
from metricx.errors import InvalidInputError, NotFoundError
from metricx.models import CostSettings, CustomDefinition, Workspace
from metricx.semantic import attributed, compiler
from metricx.semantic.compiler import Scope
from metricx.semantic.custom import Definitions
from metricx.semantic.query import SemanticQuery, TimeRange

#: Columns by name, each a list or numpy array, all of one length: the sums of a period are
#: merged and evaluated on plain arrays (pandas costs milliseconds per column operation).
Columns = dict[str, Any]
#: Fact sources built with the query's values, one statement per period: name -> (the fact
#: sums it gives, its builder). Their sums per (dimensions, bucket) merge on the keys.
VALUE_BOUND_SOURCES: dict[
    str, tuple[frozenset[str], Callable[[SemanticQuery, Scope, TimeRange], Select[Any]]]
] = {
    "attribution": (frozenset(attributed.ATTRIBUTED_SUMS), attributed.attributed_statement),
}


class MissingFxRateError(InvalidInputError):
    """Money in another currency on days without a rate: never silently converted at 1.0."""

    @classmethod
    def naming(cls, missing: Iterable[tuple[str, date]], target: str) -> MissingFxRateError:
        """The error for (currency, day) pairs without a rate into `target`, naming them."""
        pairs = sorted(set(missing))
        parts = []
        for currency in sorted({c for c, _ in pairs}):
            days = [d for c, d in pairs if c == currency]
            listed = ", ".join(d.isoformat() for d in days[:5])
            more = f" and {len(days) - 5} more" if len(days) > 5 else ""
            parts.append(f"{currency}→{target} on {listed}{more}")
        return cls(
            "missing exchange rates: " + "; ".join(parts) + " (add them under Settings → FX rates)"
        )


@dataclass(frozen=True)
class Plan:
    """What a query fetches: the shared statement of its ad, store and email facts (None
    when it needs none) with its parameter values, and the value-bound sources it needs."""

    shared: compiler.QueryStatement | None
    params: Mapping[str, Any]
    value_bound: tuple[str, ...] = ()


def plan(query: SemanticQuery, scope: Scope | None = None, spans: Iterable[TimeRange] = ()) -> Plan:
    """Every fact source the query needs: the one place a new fact source joins (the engine
    merges them on the keys). Without a scope, the statements alone (no values)."""
    facts = set(query.facts)
    restricted = {base for _, base, _, _ in compiler.restrictions(query.facts)}
    ad_sums = tuple(s for s in compiler.AD_SUMS if s in facts or s in restricted)
    store = bool(facts & set(compiler.STORE_SUMS))
    email_sums = tuple(s for s in compiler.EMAIL_SUMS if s in facts)
    cuts = tuple(
        span.until is not None
        for span in (query.time_range, query.compare_range)
        if span is not None
    )
    shared = (
        compiler.query_statement(compiler.Shape.of(query), ad_sums, store, cuts, email_sums)
        if ad_sums or store or email_sums
        else None
    )
    params = compiler.query_params(query, scope, list(spans)) if scope is not None else {}
    value_bound = tuple(name for name, (sums, _) in VALUE_BOUND_SOURCES.items() if facts & sums)
    return Plan(shared, params, value_bound)


def _checked(
    conn: Connection,
    statement: Select[Any] | CompoundSelect[Any],
    missing_rates: Select[Any] | CompoundSelect[Any],
    params: Mapping[str, Any],
    scope: Scope,
) -> tuple[list[str], Sequence[Any]]:
    """The column names and rows of a facts statement, once no row counts UNCONVERTED money
    (else the error naming the (currency, day) pairs without a rate)."""
    result = conn.execute(statement, params)
    names = list(result.keys())
    rows = result.fetchall()
    unconverted = names.index(compiler.UNCONVERTED)
    if any(row[unconverted] for row in rows):
        raise MissingFxRateError.naming(conn.execute(missing_rates, params).all(), scope.currency)
    return names, rows


def fetch(
    conn: Connection,
    plan: Plan,
    scope: Scope,
    periods: int,
    value_bound: Callable[[str, int], Select[Any]] | None = None,
) -> list[dict[str, Columns]]:
    """Run the plan's shared statement (one round trip), then each value-bound source per
    period (`value_bound(name, period)` builds its statement). Returns, per period,
    {source: its columns}, after checking that every rate was there."""
    fetched: list[dict[str, Columns]] = [{} for _ in range(periods)]
    shared = plan.shared
    if shared is not None:
        names, rows = _checked(conn, shared.statement, shared.missing_rates, plan.params, scope)
        grouped: dict[tuple[str, int], list[Any]] = {part: [] for part in shared.columns}
        part_at, period_at = names.index(compiler.PART), names.index(compiler.PERIOD)
        for row in rows:
            grouped[(row[part_at], row[period_at])].append(row)
        for (name, period), wanted in shared.columns.items():
            part_rows = grouped[(name, period)]
            fetched[period][name] = {
                column: [row[at] for row in part_rows]
                for column, at in ((c, names.index(c)) for c in wanted)
            }
    for name in plan.value_bound:
        assert value_bound is not None, "a plan with value-bound sources needs their builder"
        for period in range(periods):
            result = conn.execute(value_bound(name, period))
            fetched_rows = result.fetchall()
            fetched[period][name] = {
                column: [row[i] for row in fetched_rows] for i, column in enumerate(result.keys())
            }
    return fetched


def fetch_statements(
    conn: Connection, statements: compiler.SourceStatements, scope: Scope
) -> Columns:
    """One source's facts run on their own (bound values), as columns, after the rate check."""
    names, rows = _checked(conn, statements.facts, statements.missing_rates, {}, scope)
    return {name: [row[at] for row in rows] for at, name in enumerate(names)}


_SCOPE = (
    select(Workspace.timezone, Workspace.currency, *(getattr(CostSettings, f) for f in COST_FIELDS))
    .outerjoin(CostSettings, CostSettings.workspace_id == Workspace.id)
    .where(Workspace.id == bindparam("ws"))
)


def scope_and_costs(conn: Connection, workspace_id: int) -> tuple[Scope, dict[str, Decimal]]:
    """The workspace's scope and its cost settings (the formulas' params; 0 when unset)."""
    row = conn.execute(_SCOPE, {"ws": workspace_id}).first()
    if row is None:
        raise NotFoundError(f"no workspace {workspace_id}")
    costs = {f: getattr(row, f) if getattr(row, f) is not None else Decimal(0) for f in COST_FIELDS}
    return Scope(workspace_id, row.timezone, row.currency), costs


_DEFINITIONS = select(
    CustomDefinition.kind, CustomDefinition.key, CustomDefinition.definition
).where(CustomDefinition.workspace_id == bindparam("ws"))


def workspace_definitions(conn: Connection, workspace_id: int) -> Definitions:
    """The workspace's custom metrics and dimensions (metricx.semantic.custom)."""
    kinds: dict[str, dict[str, Any]] = {"metric": {}, "dimension": {}}
    for kind, key, definition in conn.execute(_DEFINITIONS, {"ws": workspace_id}):
        kinds[kind][key] = definition
    return Definitions.model_validate(
        {"metrics": kinds["metric"], "dimensions": kinds["dimension"]}
    )
