"""A rule evaluated: its period (and its baseline's periods) through the metric engine's
`run_query`, so every number is the engine's own; then compared, per split value; then the
firings recorded once per window, outside the cool-down.

"No data" is never 0 and never fires: a value the engine leaves empty (a ratio over
nothing, conversions withheld from a cut day), a split value without rows in the period, or
a period no connection feeding the metric has synced since it began (the engine counts a
period without rows as 0).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from metricx.alerts.rules import CHANGES, PERIOD_WORDS, Rule, check_in
from metricx.connection_store import list_connections
from metricx.db import get_reader, new_session
from metricx.models import AlertEvent, Workspace
from metricx.semantic import catalogue, compiler
from metricx.semantic.dates import compare_range_for, utc_bounds
from metricx.semantic.engine import run_query
from metricx.semantic.fetch import workspace_definitions
from metricx.semantic.query import TimeRange
from metricx.vocabulary import AD_PROVIDERS

#: The weeks a same-weekday baseline looks back over (their median).
BASELINE_WEEKS = 4
#: Which connections feed a metric's facts, by the catalogue's sources.
FEEDS = {
    "ads": AD_PROVIDERS,
    "store": ("shopify",),
    "attribution": ("shopify", *AD_PROVIDERS),
}
NO_DATA = "no data"


@dataclass(frozen=True)
class Evaluation:
    """The rule's verdict on one split value (None: unsplit)."""

    #: what a firing is recorded under: the entity id of a campaign-tree split, else the value
    split_value: str | None
    #: what a person reads: the entity's name, the value
    split_label: str | None
    value: float | None  # None: no data
    reference: float | None  # the baseline of a change; None for above/below or no data
    fires: bool
    message: str


@dataclass(frozen=True)
class RuleEvaluation:
    rule: Rule
    metric: catalogue.Metric
    period: TimeRange | None  # None: nothing of today has passed yet
    currency: str
    evaluations: list[Evaluation]

    @property
    def firing(self) -> list[Evaluation]:
        return [e for e in self.evaluations if e.fires]


def period_range(period: str, local_now: datetime) -> TimeRange | None:
    """The workspace-local days a period covers at `local_now`; today is cut at the current
    minute (None in the first minute of the day: nothing of it has passed)."""
    today = local_now.date()
    if period == "today":
        cut = time(local_now.hour, local_now.minute)
        return TimeRange(start=today, end=today, until=cut) if cut != time(0) else None
    if period == "yesterday":
        return TimeRange(start=today - timedelta(days=1), end=today - timedelta(days=1))
    return TimeRange(start=today - timedelta(days=7), end=today - timedelta(days=1))


def baseline_ranges(baseline: str, span: TimeRange) -> list[TimeRange]:
    """The periods a change is measured against: the previous period of the same length
    (cut at the same clock time), or the same days 1 to BASELINE_WEEKS weeks earlier."""
    if baseline == "previous_period":
        return [compare_range_for("previous_period", span)]
    return [
        span.model_copy(
            update={"start": span.start - timedelta(weeks=k), "end": span.end - timedelta(weeks=k)}
        )
        for k in range(1, BASELINE_WEEKS + 1)
    ]


Values = dict[str | None, tuple[str | None, float | None]]


def _values(workspace_id: int, rule: Rule, span: TimeRange) -> tuple[Values, frozenset[str]]:
    """The engine's value per split value (key -> (label, value)), and where it comes from."""
    result = run_query(workspace_id, rule.query(span))
    frame = result.frame
    values: Values = {}
    for at in range(len(frame)):
        number = float(frame[rule.metric].iloc[at])
        value = None if math.isnan(number) else number
        if not rule.split:
            values[None] = (None, value)
            continue
        label = str(frame[rule.split].iloc[at])
        key = (
            str(frame[f"{rule.split}_id"].iloc[at]) if compiler.is_tree_level(rule.split) else label
        )
        values[key] = (label, value)
    return values, result.query.sources_of(rule.metric)


def _synced_since(workspace_id: int, sources: frozenset[str], instant: datetime) -> bool:
    """True when some connection feeding `sources` has synced since `instant` (metrics of
    no connection, such as expenses, always have data)."""
    providers = {p for source in sources for p in FEEDS.get(source, ())}
    return not providers or any(
        c.provider in providers and c.last_synced_at is not None and c.last_synced_at >= instant
        for c in list_connections(workspace_id)
    )


def _reference(values: list[Values], key: str | None) -> float | None:
    """The baseline of a split value: its one baseline period's value, or the median of
    the weeks that have one; None when none has."""
    found = [value for v in values if key in v and (value := v[key][1]) is not None]
    return statistics.median(found) if found else None


def _verdict(
    rule: Rule, metric: catalogue.Metric, value: float, reference: float | None, currency: str
) -> tuple[bool, str]:
    """Whether the value fires, and the words after it."""
    if rule.condition not in CHANGES:
        limit = rule.threshold_value(metric)
        fires = value > limit if rule.condition == "above" else value < limit
        shown = catalogue.format_value(metric, limit, currency)
        return fires, f"{'' if fires else 'not '}{rule.condition} {shown}"
    if reference is None or reference <= 0:
        return False, f"no baseline to compare with ({rule.baseline_words})"
    change = (value - reference) / reference * 100
    moved = change if rule.condition == "rises_by" else -change
    fires = moved >= float(rule.threshold)
    direction = "up" if change >= 0 else "down"
    return fires, (
        f"{direction} {abs(change):,.1f}% from "
        f"{catalogue.format_value(metric, reference, currency)} "
        f"({rule.baseline_words})"
    )


def evaluate(workspace_id: int, rule: Rule, now: datetime | None = None) -> RuleEvaluation:
    """The rule's verdict per split value at `now` (default: now), nothing recorded."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    with new_session() as session:
        workspace = session.get_one(Workspace, workspace_id)
        tz, currency = workspace.timezone, workspace.currency
    with get_reader().connect() as conn:
        metric = check_in(rule, workspace_definitions(conn, workspace_id))
    span = period_range(rule.period, moment.astimezone(ZoneInfo(tz)))
    subject = f"{metric.label} {PERIOD_WORDS[rule.period]}"
    nothing = RuleEvaluation(
        rule,
        metric,
        span,
        currency,
        [Evaluation(None, None, None, None, False, f"{subject}: {NO_DATA}")],
    )
    if span is None:
        return nothing
    values, sources = _values(workspace_id, rule, span)
    if not values or not _synced_since(workspace_id, sources, utc_bounds(span, tz)[0]):
        return nothing
    baselines = (
        [_values(workspace_id, rule, other)[0] for other in baseline_ranges(rule.baseline, span)]
        if rule.condition in CHANGES and rule.baseline
        else []
    )
    evaluations = []
    for key, (label, value) in values.items():
        said = f"{subject} ({label})" if label is not None else subject
        if value is None:
            evaluations.append(Evaluation(key, label, None, None, False, f"{said}: {NO_DATA}"))
            continue
        reference = _reference(baselines, key) if baselines else None
        fires, words = _verdict(rule, metric, value, reference, currency)
        shown = catalogue.format_value(metric, value, currency)
        evaluations.append(
            Evaluation(key, label, value, reference, fires, f"{said}: {shown}, {words}")
        )
    return RuleEvaluation(rule, metric, span, currency, evaluations)


def record(
    session: Session,
    workspace_id: int,
    rule_id: int,
    cooldown_minutes: int,
    window: str,
    evaluation: RuleEvaluation,
    now: datetime,
) -> list[Evaluation]:
    """Record the firings of one window in `session`'s transaction, each once (a window
    evaluated again records nothing more) and none for a split value that fired within the
    cool-down; the ones recorded now."""
    firing = evaluation.firing
    if not firing:
        return []
    quiet = set(
        session.scalars(
            select(AlertEvent.split_value).where(
                AlertEvent.rule_id == rule_id,
                AlertEvent.fired_at > now - timedelta(minutes=cooldown_minutes),
            )
        )
    )
    rows = [
        {
            "workspace_id": workspace_id,
            "rule_id": rule_id,
            "window_key": window,
            "split_value": e.split_value,
            "value": Decimal(repr(e.value)),
            "reference": None if e.reference is None else Decimal(repr(e.reference)),
            "message": e.message,
            "fired_at": now,
        }
        for e in firing
        if e.split_value not in quiet
    ]
    if not rows:
        return []
    recorded = set(
        session.scalars(
            insert(AlertEvent)
            .values(rows)
            .on_conflict_do_nothing()
            .returning(AlertEvent.split_value)
        )
    )
    return [e for e in firing if e.split_value in recorded and e.split_value not in quiet]
