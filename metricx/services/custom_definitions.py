"""A workspace's custom metrics and dimensions, and the Dashboard's tiles: read, saved by
admins (validated as a whole, so no save leaves a formula naming something missing or a
circle of metrics), previewed on last week's data before saving."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Literal, get_args

from pydantic import ValidationError
from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert

from metricx.actor import Actor
from metricx.db import get_reader, new_session, transaction
from metricx.errors import InvalidInputError
from metricx.models import CustomDefinition, Workspace
from metricx.semantic import catalogue
from metricx.semantic.custom import (
    MAX_DEFINITIONS,
    CustomDefinitionError,
    CustomDimension,
    CustomMetric,
    Definitions,
    check_id,
)
from metricx.semantic.dates import today_in
from metricx.semantic.engine import run_query
from metricx.semantic.fetch import workspace_definitions
from metricx.semantic.query import TimeRange, describe_errors
from metricx.semantic.result import MetricsResult
from metricx.services import audit
from metricx.validation import quoted

#: The Dashboard's tiles when a workspace has chosen none.
DEFAULT_TILES: tuple[str, ...] = (
    "spend",
    "store_revenue",
    "mer",
    "roas",
    "cpa",
    "cpc",
    "ctr",
    "orders",
    "aov",
    "new_customers",
)
MAX_TILES = 12
Kind = Literal["metric", "dimension"]
KINDS: tuple[Kind, ...] = get_args(Kind)


def definitions(workspace_id: int) -> Definitions:
    """The workspace's custom metrics and dimensions."""
    with get_reader().connect() as conn:
        return workspace_definitions(conn, workspace_id)


def _validated(model: type[CustomMetric] | type[CustomDimension], given: Any) -> Any:
    if isinstance(given, model):
        return given
    try:
        return model.model_validate(dict(given) if isinstance(given, Mapping) else given)
    except ValidationError as exc:
        what = "custom metric" if model is CustomMetric else "custom dimension"
        raise CustomDefinitionError(
            describe_errors(exc).replace("invalid query", f"invalid {what}", 1)
        ) from None


def _combined(
    metrics: dict[str, CustomMetric], dimensions: dict[str, CustomDimension]
) -> Definitions:
    """The workspace's definitions once changed; more than it may hold is one sentence."""
    for kind, held in (("metrics", metrics), ("dimensions", dimensions)):
        if len(held) > MAX_DEFINITIONS:
            raise CustomDefinitionError(
                f"a workspace holds at most {MAX_DEFINITIONS} custom {kind}; delete one first"
            )
    return Definitions(metrics=metrics, dimensions=dimensions)


def _checked(changed: Definitions) -> None:
    """Every definition still expands, and no id names both a metric and a dimension."""
    both = set(changed.metrics) & set(changed.dimensions)
    if both:
        raise CustomDefinitionError(
            f"{sorted(both)[0]!r} would name both a custom metric and a custom dimension"
        )
    changed.check()


def check_metric(
    workspace_id: int, key: str, metric: CustomMetric | Mapping[str, Any]
) -> Definitions:
    """The workspace's definitions with `metric` saved under `key`, once it is valid among
    them (CustomDefinitionError otherwise); nothing is stored."""
    check_id(key, "metric id")
    saved = definitions(workspace_id)
    changed = _combined({**saved.metrics, key: _validated(CustomMetric, metric)}, saved.dimensions)
    _checked(changed)
    return changed


def check_dimension(
    workspace_id: int, key: str, dimension: CustomDimension | Mapping[str, Any]
) -> Definitions:
    """As `check_metric`, for a custom dimension."""
    check_id(key, "dimension id")
    saved = definitions(workspace_id)
    changed = _combined(
        saved.metrics, {**saved.dimensions, key: _validated(CustomDimension, dimension)}
    )
    _checked(changed)
    return changed


def save_metric(actor: Actor, key: str, metric: CustomMetric | Mapping[str, Any]) -> CustomMetric:
    """Create or replace the custom metric `key` (admins)."""
    actor.require_admin("define custom metrics")
    saved = check_metric(actor.workspace_id, key, metric).metrics[key]
    _store(actor, "metric", key, saved.model_dump(mode="json"))
    return saved


def save_dimension(
    actor: Actor, key: str, dimension: CustomDimension | Mapping[str, Any]
) -> CustomDimension:
    """Create or replace the custom dimension `key` (admins)."""
    actor.require_admin("define custom dimensions")
    saved = check_dimension(actor.workspace_id, key, dimension).dimensions[key]
    _store(actor, "dimension", key, saved.model_dump(mode="json"))
    return saved


def _store(actor: Actor, kind: Kind, key: str, definition: dict[str, Any]) -> None:
    statement = insert(CustomDefinition).values(
        workspace_id=actor.workspace_id, kind=kind, key=key, definition=definition
    )
    with transaction() as session:
        session.execute(
            statement.on_conflict_do_update(
                index_elements=["workspace_id", "kind", "key"],
                set_={"definition": definition, "updated_at": func.now()},
            )
        )
        audit.record(session, actor, f"custom_{kind}.save", key, **definition)


def users_of(saved: Definitions, key: str) -> list[str]:
    """The custom metrics whose formulas name `key` (a metric, or a dimension they restrict
    by)."""
    return [
        other
        for other, metric in saved.metrics.items()
        if other != key and key in (*metric.metrics_named, *metric.dimensions_named)
    ]


def delete_definition(actor: Actor, kind: Kind, key: str) -> None:
    """Delete a custom metric or dimension (admins); refused while another custom metric
    uses it. A deleted metric leaves the Dashboard's tiles."""
    actor.require_admin("delete custom definitions")
    if kind not in KINDS:
        raise InvalidInputError(
            f"a custom definition is a metric or a dimension, not {quoted(kind)}"
        )
    saved = definitions(actor.workspace_id)
    if key not in (saved.metrics if kind == "metric" else saved.dimensions):
        raise InvalidInputError(f"there is no custom {kind} {quoted(key)}")
    used = users_of(saved, key)
    if used:
        raise InvalidInputError(
            f"{key!r} is used by the custom metric{'s' if len(used) > 1 else ''} "
            + ", ".join(repr(u) for u in used)
            + "; change or delete those first"
        )
    with transaction() as session:
        session.execute(
            delete(CustomDefinition).where(
                CustomDefinition.workspace_id == actor.workspace_id,
                CustomDefinition.kind == kind,
                CustomDefinition.key == key,
            )
        )
        workspace = session.get_one(Workspace, actor.workspace_id)
        if kind == "metric" and workspace.dashboard_tiles and key in workspace.dashboard_tiles:
            workspace.dashboard_tiles = [t for t in workspace.dashboard_tiles if t != key]
        audit.record(session, actor, f"custom_{kind}.delete", key)


def last_week(workspace_id: int, now: datetime | None = None) -> TimeRange:
    """The seven whole days before today, in the workspace's zone (the preview's period)."""
    with new_session() as session:
        zone = session.get_one(Workspace, workspace_id).timezone
    today = today_in(zone, now)
    return TimeRange(start=today - timedelta(days=7), end=today - timedelta(days=1))


def preview_metric(
    workspace_id: int,
    key: str,
    metric: CustomMetric | Mapping[str, Any],
    split: str | None = None,
    now: datetime | None = None,
    by_day: bool = True,
) -> MetricsResult:
    """A draft custom metric over last week (by day unless `by_day` is False, or split by
    `split`), with the catalogue metrics it is built from, before it is saved."""
    changed = check_metric(workspace_id, key, metric)
    inputs = [
        m
        for m in changed.metrics[key].metrics_named
        if m in catalogue.METRICS or m in changed.metrics
    ]
    query = {
        "metrics": [key, *inputs[:5]],
        "time_range": last_week(workspace_id, now).model_dump(mode="json"),
        "dimensions": [split] if split else [],
        "grain": "day" if by_day and not split else None,
        "custom": changed.used_by([key, *inputs, *([split] if split else [])]).model_dump(
            mode="json"
        ),
    }
    return run_query(workspace_id, query)


def preview_dimension(
    workspace_id: int,
    key: str,
    dimension: CustomDimension | Mapping[str, Any],
    metrics: tuple[str, ...] = ("spend", "roas"),
    now: datetime | None = None,
) -> MetricsResult:
    """A draft custom dimension splitting `metrics` over last week, before it is saved."""
    changed = check_dimension(workspace_id, key, dimension)
    query = {
        "metrics": list(metrics),
        "time_range": last_week(workspace_id, now).model_dump(mode="json"),
        "dimensions": [key],
        "custom": changed.used_by([key]).model_dump(mode="json"),
    }
    return run_query(workspace_id, query)


def dashboard_tiles(workspace_id: int) -> list[str]:
    """The Dashboard's KPI tiles: the workspace's choice, else DEFAULT_TILES; ids that no
    longer name a metric are skipped."""
    with new_session() as session:
        chosen = session.execute(
            select(Workspace.dashboard_tiles).where(Workspace.id == workspace_id)
        ).scalar_one_or_none()
    if not chosen:
        return list(DEFAULT_TILES)
    custom = (
        definitions(workspace_id).metrics if any(t not in catalogue.METRICS for t in chosen) else {}
    )
    return [t for t in chosen if t in catalogue.METRICS or t in custom]


def set_dashboard_tiles(actor: Actor, tiles: list[str] | None) -> list[str]:
    """Choose the Dashboard's tiles (admins); None or [] restores the defaults."""
    actor.require_admin("choose the Dashboard's tiles")
    chosen = list(dict.fromkeys(tiles or []))
    if len(chosen) > MAX_TILES:
        raise InvalidInputError(f"at most {MAX_TILES} tiles; {len(chosen)} were chosen")
    custom = definitions(actor.workspace_id).metrics
    unknown = [t for t in chosen if t not in catalogue.METRICS and t not in custom]
    if unknown:
        raise InvalidInputError(f"unknown metric {unknown[0]!r} for a tile")
    with transaction() as session:
        session.get_one(Workspace, actor.workspace_id).dashboard_tiles = chosen or None
        audit.record(session, actor, "dashboard.tiles", ",".join(chosen) or "default")
    return chosen or list(DEFAULT_TILES)
