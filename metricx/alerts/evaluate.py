"""A rule evaluated: its period (and its baseline's periods) through the metric engine's
`run_query`, so every number is the engine's own; then compared, per split value; then the
firings recorded once per window, outside the cool-down.

An "anomalous" rule reads its period at the data's cut (the instant every connection feeding
the metric has synced through) and the same cut of the same weekday in each of the last
`anomaly.WEEKS` weeks, one query each, and leaves the verdict to metricx.alerts.anomaly.

"No data" is never 0 and never fires: a value the engine leaves empty (a ratio over
nothing, conversions withheld from a cut day), a split value without rows in the period, or
a period no connection feeding the metric has synced since it began (the engine counts a
period without rows as 0).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from metricx.alerts import anomaly
from metricx.alerts.firings import record_firings
from metricx.alerts.rules import ANOMALOUS, CHANGES, PERIOD_WORDS, Rule, check_in
from metricx.connection_store import list_connections
from metricx.db import get_reader, new_session
from metricx.models import Workspace
from metricx.semantic import catalogue, compiler
from metricx.semantic.dates import compare_range_for, utc_bounds
from metricx.semantic.engine import run_query
from metricx.semantic.expression import Binary, Expression, Ref
from metricx.semantic.fetch import workspace_definitions
from metricx.semantic.query import SemanticQuery, TimeRange
from metricx.vocabulary import AD_PROVIDERS, EMAIL_PROVIDERS

#: The weeks a same-weekday baseline looks back over (their median).
BASELINE_WEEKS = 4
#: Which connections feed a metric's facts, by the catalogue's sources.
FEEDS = {
    "ads": AD_PROVIDERS,
    "store": ("shopify",),
    "attribution": ("shopify", *AD_PROVIDERS),
    "email": EMAIL_PROVIDERS,
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
    # the baseline of a change, the baseline median of an anomaly; None for above/below or
    # no data
    reference: float | None
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
        definitions = workspace_definitions(conn, workspace_id)
        metric = check_in(rule, definitions)
    if rule.condition == ANOMALOUS:
        feeds = SemanticQuery.parse(
            rule.query(TimeRange(start=moment.date(), end=moment.date())), definitions
        ).sources_of(rule.metric)
        return evaluate_anomaly(workspace_id, rule, metric, feeds, moment, tz, currency)
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
    recorded = record_firings(
        session,
        workspace_id=workspace_id,
        rule_id=rule_id,
        cooldown_minutes=cooldown_minutes,
        window=window,
        firings=evaluation.firing,
        now=now,
    )
    return [e for _, e in recorded]


def anomaly_range(period: str, local_now: datetime, cut: datetime | None) -> TimeRange | None:
    """The period an anomaly judges at `local_now` when the data is complete through `cut`
    (local): today up to the cut, or yesterday once every feed has synced past its end;
    None when there is no such period yet (nothing of today synced, or the data stale)."""
    today = local_now.date()
    if cut is None:
        return None
    if period == "yesterday":
        whole = cut >= datetime.combine(today, time(0), local_now.tzinfo)
        day = today - timedelta(days=1)
        return TimeRange(start=day, end=day) if whole else None
    if cut.date() != today or cut.time() == time(0):
        return None
    return TimeRange(start=today, end=today, until=cut.time().replace(tzinfo=None))


def same_weekdays(span: TimeRange, weeks: int = anomaly.WEEKS) -> list[TimeRange]:
    """The same period (and clock cut) 1 to `weeks` weeks earlier, newest first."""
    return [
        span.model_copy(
            update={"start": span.start - timedelta(weeks=k), "end": span.end - timedelta(weeks=k)}
        )
        for k in range(1, weeks + 1)
    ]


def _anomaly_cut(
    workspace_id: int, sources: frozenset[str], moment: datetime, period: str
) -> datetime | None:
    """`anomaly.data_cut` over the connections feeding `sources` (paused ones feed nothing);
    yesterday waits for no lag limit, only for its end."""
    providers = {p for source in sources for p in FEEDS.get(source, ())}
    synced = [
        c.last_synced_at
        for c in list_connections(workspace_id)
        if c.provider in providers and c.status != "paused"
    ]
    lag = anomaly.MAX_LAG if period == "today" else timedelta.max
    return anomaly.data_cut(moment, synced, lag)


def additive(metric: catalogue.Metric) -> bool:
    """True when the metric is a sum (money or a count: a base metric, or catalogue sums
    added and subtracted), so a window is one cut less another and a split value can be
    set against the rest of the split; a custom metric is not assumed to be."""
    if metric.unit not in ("currency", "count") or metric.id not in catalogue.METRICS:
        return False
    return metric.is_base or _sums_only(catalogue.formula_of(metric.id))


def _sums_only(expression: Expression) -> bool:
    if isinstance(expression, Binary):
        return (
            expression.op in "+-" and _sums_only(expression.left) and _sums_only(expression.right)
        )
    return isinstance(expression, Ref)


def _less(later: Values, earlier: Values) -> Values:
    """The window between two cuts of an additive metric, per split value (a value absent
    from the earlier cut had nothing then)."""
    return {
        key: (
            label,
            None if value is None else value - ((earlier.get(key) or (None, 0.0))[1] or 0.0),
        )
        for key, (label, value) in later.items()
    }


def _judge(
    rule: Rule,
    metric: catalogue.Metric,
    current: Values,
    weeks: list[Values],
    relative: bool,
    min_volume: float | None = None,
) -> dict[str | None, anomaly.Verdict]:
    """`anomaly.detect` per split value of `current` against the same value in `weeks`; when
    `relative`, each split value's ratio to the rest of the split (to the other values'
    total: a lift of the whole workspace cancels out; a split value alone has no rest and is
    judged as it is), material when its own value reaches `min_volume` (default: the unit's
    `anomaly.MIN_VOLUME`)."""

    def rest_ratio(values: Values, key: str | None) -> float | None:
        value = values[key][1] if key in values else None
        rest = sum(v for k, (_, v) in values.items() if k != key and v is not None)
        return None if value is None or rest <= 0 else value / rest

    direction = anomaly.harmful_direction(rule.metric, metric.higher_is_better)
    verdicts = {}
    for key, (_label, value) in current.items():
        ratios = [rest_ratio(values, key) for values in (current, *weeks)]
        if relative and ratios[0] is not None:
            verdict = anomaly.detect(
                ratios[0],
                ratios[1:],
                unit="ratio",
                direction=direction,
                sensitivity=float(rule.threshold),
                min_change=anomaly.min_change_for(rule.metric),
                volume=value,
                min_volume=anomaly.MIN_VOLUME[metric.unit] if min_volume is None else min_volume,
            )
            # the message speaks of the value itself: its median over the weeks
            found = [week[key][1] if key in week else None for week in weeks]
            kept = anomaly.usable_history(found)
            median = statistics.median(kept) if kept and verdict.median is not None else None
            verdict = replace(verdict, value=value, median=median)
        else:
            verdict = anomaly.detect(
                value,
                [week[key][1] if key in week else None for week in weeks],
                unit=metric.unit,
                direction=direction,
                sensitivity=float(rule.threshold),
                min_change=anomaly.min_change_for(rule.metric),
            )
        verdicts[key] = verdict
    return verdicts


def evaluate_anomaly(
    workspace_id: int,
    rule: Rule,
    metric: catalogue.Metric,
    sources: frozenset[str],
    moment: datetime,
    tz: str,
    currency: str,
) -> RuleEvaluation:
    """An anomalous rule's verdict per split value: the period at the data's cut against the
    same cut of the same weekday of the last weeks (metricx.alerts.anomaly.detect).

    For an additive metric (`additive`): today is also judged over its last hours (each of
    `anomaly.recent_windows`: the cut less the cut that many hours earlier, in every week),
    so an incident late in the day is not drowned in the day so far; a split value is
    judged relative to the rest of the split (Black Friday lifts every campaign's spend, a
    runaway campaign its own), material when its own value reaches the volume floor; and
    a split value seen in the history but without rows now counts as 0 (a campaign or pixel
    that stopped)."""
    local_now = moment.astimezone(ZoneInfo(tz))
    cut = _anomaly_cut(workspace_id, sources, moment, rule.period)
    span = anomaly_range(
        rule.period, local_now, None if cut is None else cut.astimezone(ZoneInfo(tz))
    )
    subject = f"{metric.label} {PERIOD_WORDS[rule.period]}"
    if span is None:
        why = "nothing of today synced yet" if cut is not None else "the data is stale"
        return RuleEvaluation(
            rule,
            metric,
            None,
            currency,
            [Evaluation(None, None, None, None, False, f"{subject}: {NO_DATA} ({why})")],
        )
    if span.until is not None:
        subject = f"{metric.label} today until {span.until:%H:%M}"
    sums = additive(metric)
    relative = bool(rule.split) and sums
    current, _ = _values(workspace_id, rule, span)
    weeks = [_values(workspace_id, rule, week)[0] for week in same_weekdays(span)]
    if sums and rule.split:
        for week in weeks:
            for key, (label, _value) in week.items():
                current.setdefault(key, (label, 0.0))
    verdicts = _judge(rule, metric, current, weeks, relative)
    # the longest window first: when several fire, the message speaks of the longest
    for hours in sorted(anomaly.recent_windows(rule.metric) if sums else (), reverse=True):
        recent = _recent_span(span, hours)
        if recent is None or all(v.fires for v in verdicts.values()):
            continue
        before, _ = _values(workspace_id, rule, recent)
        earlier = [_values(workspace_id, rule, week)[0] for week in same_weekdays(recent)]
        windows = _judge(
            rule,
            metric,
            _less(current, before),
            [_less(w, e) for w, e in zip(weeks, earlier, strict=True)],
            relative,
            anomaly.RECENT_MIN_VOLUME[metric.unit],
        )
        for key, verdict in windows.items():
            if verdict.fires and not verdicts[key].fires:
                verdicts[key] = replace(verdict, reason=_last(hours))
    evaluations = []
    for key, (label, _value) in current.items():
        verdict = verdicts[key]
        said = f"{subject} ({label})" if label is not None else subject
        evaluations.append(
            Evaluation(
                key,
                label,
                verdict.value,
                verdict.median,
                verdict.fires,
                f"{said}: {_anomaly_words(rule, metric, verdict, currency, relative)}",
            )
        )
    return RuleEvaluation(rule, metric, span, currency, evaluations)


def _last(hours: int) -> str:
    """A recent window's words, kept as its verdict's reason."""
    return "in the last hour" if hours == 1 else f"in the last {hours} hours"


def _recent_span(span: TimeRange, hours: int) -> TimeRange | None:
    """Today cut `hours` earlier (None when that leaves nothing of it: the day so far is
    then the recent window)."""
    if span.until is None or hours <= 0:
        return None
    start = datetime.combine(span.end, span.until)
    earlier = start - timedelta(hours=hours)
    if earlier.date() != span.end or earlier.time() == time(0):
        return None
    return span.model_copy(update={"until": earlier.time()})


def _anomaly_words(
    rule: Rule,
    metric: catalogue.Metric,
    verdict: anomaly.Verdict,
    currency: str,
    relative: bool,
) -> str:
    if verdict.value is None:
        return NO_DATA
    shown = catalogue.format_value(metric, verdict.value, currency)
    if verdict.z is None:
        return f"{shown}, no verdict ({verdict.reason})"
    window = (
        f" {verdict.reason}" if verdict.reason and verdict.reason.startswith("in the last ") else ""
    )
    baseline = (
        "no baseline"
        if verdict.median is None
        else f"a baseline of {catalogue.format_value(metric, verdict.median, currency)}"
    )
    change = (
        f", {verdict.change * 100:+,.0f}%{' against the rest' if relative else ''}"
        if verdict.change is not None and math.isfinite(verdict.change)
        else ""
    )
    state = "anomalous" if verdict.fires else "not anomalous"
    return (
        f"{shown}{window} vs {baseline}{change} (z = {verdict.z:+.1f}; {state}, "
        f"{rule.anomaly_words})"
    )
