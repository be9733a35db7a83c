"""An alert rule as data: its fields validated one by one (`Rule`), then against the
workspace (`check_in`: a metric it knows, a split and filters its queries accept).

A threshold is written in the unit the metric is shown in: money and counts as they are, a
ratio as its number (ROAS 2.5), a percent metric in percent (CTR 1.5 means 1.5 %); a change
(rises_by / falls_by) is a percent of the baseline; an anomaly's (anomalous) is its
sensitivity, a robust z-score (metricx.alerts.anomaly).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from datetime import time
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from metricx import validation
from metricx.alerts import anomaly
from metricx.errors import InvalidInputError
from metricx.models import (
    ALERT_BASELINES,
    ALERT_CONDITIONS,
    ALERT_PERIODS,
    ALERT_SCHEDULES,
    AlertRule,
)
from metricx.semantic import catalogue, families
from metricx.semantic.custom import Definitions
from metricx.semantic.query import Filters, QueryValidationError, SemanticQuery, TimeRange
from metricx.semantic.query import describe_errors as describe_query_errors

CHANGES = ("rises_by", "falls_by")
#: The condition judged by metricx.alerts.anomaly: its threshold is a sensitivity (robust z).
ANOMALOUS = "anomalous"
#: The periods an anomaly is judged over (a same-weekday baseline needs one day).
ANOMALY_PERIODS = ("today", "yesterday")
CHANNEL_KINDS = ("email", "slack")
MAX_CHANNELS = 10
#: A week: a longer silence is a disabled rule.
MAX_COOLDOWN_MINUTES = 7 * 24 * 60
#: The largest change a rule may ask for, in percent (a metric rising 1000-fold).
MAX_CHANGE_PERCENT = Decimal(100_000)
#: Words for the periods in messages.
PERIOD_WORDS = {"today": "today so far", "yesterday": "yesterday", "last_7_days": "the last 7 days"}
CONDITION_WORDS = {
    "above": "above",
    "below": "below",
    "rises_by": "rises by",
    "falls_by": "falls by",
    "anomalous": "is anomalous",
}
BASELINE_WORDS = {
    "previous_period": "the previous period",
    "same_weekday": "the same weekday of the last 4 weeks (median)",
}


class AlertRuleError(InvalidInputError, ValueError):
    """A rule that cannot be saved; the message is one line naming the problems."""


def _one_of(value: str, choices: tuple[str, ...], what: str) -> str:
    if value in choices:
        return value
    close = difflib.get_close_matches(validation.quoted(value, 40).strip("'\""), choices, n=1)
    raise ValueError(
        f"unknown {what} {validation.quoted(value)}; expected "
        + ", ".join(repr(c) for c in choices)
        + (f" (did you mean {close[0]!r}?)" if close else "")
    )


class Channel(BaseModel):
    """Where a firing is delivered (delivery itself is a later step): an email address, or
    the workspace's Slack."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str
    to: str | None = Field(default=None, exclude_if=lambda value: value is None)

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: str) -> str:
        return _one_of(value, CHANNEL_KINDS, "channel")

    @model_validator(mode="after")
    def _address(self) -> Channel:
        if self.kind == "slack" and self.to is not None:
            raise ValueError("a slack channel takes no 'to' (the workspace's Slack is used)")
        if self.kind == "email":
            if self.to is None:
                raise ValueError("an email channel needs 'to', an email address")
            try:
                object.__setattr__(self, "to", validation.email(self.to))
            except InvalidInputError as bad:
                raise ValueError(str(bad)) from None
        return self


class Rule(BaseModel):
    """What a rule watches and when it speaks (docs/design.md "Alerts")."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    metric: str
    filters: Filters = Field(default_factory=Filters)
    split: str | None = None
    condition: str
    threshold: Decimal
    baseline: str | None = None
    period: str = "today"
    schedule: str = "after_sync"
    local_hour: int | None = None
    cooldown_minutes: int = Field(default=60, ge=0, le=MAX_COOLDOWN_MINUTES)
    channels: list[Channel] = Field(default_factory=list, max_length=MAX_CHANNELS)
    enabled: bool = True

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        try:
            return validation.name(value, "the rule's name")
        except InvalidInputError as bad:
            raise ValueError(str(bad)) from None

    @field_validator("metric", "split")
    @classmethod
    def _identifier(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        try:
            return validation.plain_text(value, f"the {info.field_name}", 40) or None
        except InvalidInputError as bad:
            raise ValueError(str(bad)) from None

    @field_validator("threshold", mode="before")
    @classmethod
    def _number(cls, value: Any) -> Decimal:
        if isinstance(value, bool):
            raise ValueError(f"must be a number, got {validation.quoted(value)}")
        try:
            number = Decimal(str(value).strip().replace(",", ""))
        except (InvalidOperation, ValueError):
            raise ValueError(f"must be a number, got {validation.quoted(value)}") from None
        if not number.is_finite() or abs(number) > validation.MAX_AMOUNT:
            raise ValueError(
                f"must be a number between -{validation.MAX_AMOUNT:,} and "
                f"{validation.MAX_AMOUNT:,}, got {validation.quoted(value)}"
            )
        return number.quantize(Decimal("0.000001"))

    @field_validator("condition")
    @classmethod
    def _condition(cls, value: str) -> str:
        return _one_of(value, ALERT_CONDITIONS, "condition")

    @field_validator("baseline")
    @classmethod
    def _baseline(cls, value: str | None) -> str | None:
        return None if value is None else _one_of(value, ALERT_BASELINES, "baseline")

    @field_validator("period")
    @classmethod
    def _period(cls, value: str) -> str:
        return _one_of(value, ALERT_PERIODS, "period")

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        return _one_of(value, ALERT_SCHEDULES, "schedule")

    @field_validator("local_hour")
    @classmethod
    def _hour(cls, value: int | None) -> int | None:
        if value is not None and not 0 <= value <= 23:
            raise ValueError(f"a local hour is 0 to 23, got {validation.quoted(value)}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Rule:
        if self.schedule == "daily" and self.local_hour is None:
            raise ValueError("a daily rule needs local_hour, the hour (0-23) it runs at")
        if self.schedule != "daily" and self.local_hour is not None:
            raise ValueError(f"local_hour is for daily rules, not {self.schedule} ones")
        if self.condition in CHANGES:
            if not 0 < self.threshold <= MAX_CHANGE_PERCENT:
                raise ValueError(
                    f"a change is a percent above 0 and at most {MAX_CHANGE_PERCENT:,}, "
                    f"got {self.threshold.normalize():f}"
                )
            if self.condition == "falls_by" and self.threshold > 100:
                raise ValueError("a metric cannot fall by more than 100 %")
            if self.baseline is None:
                object.__setattr__(self, "baseline", "previous_period")
        elif self.condition == ANOMALOUS:
            low, high = anomaly.MIN_SENSITIVITY, anomaly.MAX_SENSITIVITY
            if not low <= self.threshold <= high:
                raise ValueError(
                    f"an anomaly's threshold is its sensitivity, a robust z-score from {low:g} "
                    f"to {high:g} (default {anomaly.DEFAULT_SENSITIVITY:g}), got "
                    f"{self.threshold.normalize():f}"
                )
            if self.baseline is not None:
                raise ValueError(
                    "an anomaly takes no baseline: it compares with the same weekday and time "
                    f"of the last {anomaly.WEEKS} weeks"
                )
            if self.period not in ANOMALY_PERIODS:
                raise ValueError(f"an anomaly is judged over today or yesterday, not {self.period}")
        elif self.baseline is not None:
            raise ValueError(
                f"a baseline is for rises_by and falls_by; {self.condition} compares with the "
                "threshold"
            )
        return self

    @classmethod
    def parse(cls, fields: Rule | Mapping[str, Any]) -> Rule:
        """A rule from its fields; every problem in one AlertRuleError."""
        if isinstance(fields, Rule):
            return fields
        if not isinstance(fields, Mapping):
            raise AlertRuleError("invalid alert rule: expected its fields as an object")
        try:
            return cls.model_validate(dict(fields))
        except ValidationError as exc:
            raise AlertRuleError(
                describe_query_errors(exc).replace("invalid query", "invalid alert rule", 1)
            ) from None

    @classmethod
    def of(cls, row: AlertRule) -> Rule:
        """The rule a stored row holds (validated when it was saved)."""
        return cls.model_validate({name: getattr(row, name) for name in cls.model_fields})

    def stored(self) -> dict[str, Any]:
        """The row's columns for this rule."""
        fields = self.model_dump(mode="json")
        fields["threshold"] = self.threshold
        return fields

    def query(self, span: TimeRange) -> dict[str, Any]:
        """The SemanticQuery of this rule over `span` (a split is its one dimension)."""
        return {
            "metrics": [self.metric],
            "time_range": span.model_dump(mode="json"),
            "dimensions": [self.split] if self.split else [],
            "filters": self.filters.model_dump(mode="json"),
        }

    def threshold_value(self, metric: catalogue.Metric) -> float:
        """The threshold in the engine's unit (a percent metric's value is a fraction)."""
        return float(self.threshold / 100 if metric.unit == "percent" else self.threshold)

    def describe(self, metric: catalogue.Metric, currency: str) -> str:
        """The rule in words: "Ad spend above $1,000.00 yesterday, split by provider"."""
        if self.condition in CHANGES:
            target = f"{self.threshold.normalize():f}% vs {self.baseline_words}"
        elif self.condition == ANOMALOUS:
            target = f"({self.anomaly_words})"
        else:
            target = catalogue.format_value(metric, self.threshold_value(metric), currency)
        split = f", by {self.split}" if self.split else ""
        return (
            f"{metric.label} {CONDITION_WORDS[self.condition]} {target} "
            f"{PERIOD_WORDS[self.period]}{split}"
        )

    @property
    def anomaly_words(self) -> str:
        """What an anomaly is measured against, in words."""
        when = "weekday and time" if self.period == "today" else "weekday"
        return (
            f"|z| ≥ {self.threshold.normalize():f} vs the same {when} of the last "
            f"{anomaly.WEEKS} weeks"
        )

    @property
    def baseline_words(self) -> str:
        """What a change is measured against, in words."""
        return BASELINE_WORDS[self.baseline or "previous_period"]

    def schedule_words(self) -> str:
        if self.schedule == "daily":
            return f"daily at {time(self.local_hour or 0):%H:%M}"
        return "every 15 minutes" if self.schedule == "after_sync" else "hourly"


def check_in(rule: Rule, definitions: Definitions) -> catalogue.Metric:
    """The rule's metric entry, once the rule can run in a workspace with `definitions`: a
    catalogue or custom metric of the ad and store family, and a split and filters its query
    accepts (AlertRuleError otherwise)."""
    metric = rule.metric
    if families.family_of(metric) != "ads":
        raise AlertRuleError(
            f"alerts watch ad, store and custom metrics, not {families.family_of(metric)} "
            f"metrics such as {metric!r}"
        )
    if metric not in catalogue.METRICS and metric not in definitions.metrics:
        close = catalogue.suggest_metrics(metric) or difflib.get_close_matches(
            metric, list(definitions.metrics), n=3
        )
        raise AlertRuleError(
            f"unknown metric {validation.quoted(metric)}"
            + (" (did you mean " + " or ".join(repr(c) for c in close) + "?)" if close else "")
        )
    try:
        query = SemanticQuery.parse(
            rule.query(TimeRange(start=validation.FIRST_DAY, end=validation.FIRST_DAY)),
            definitions,
        )
    except QueryValidationError as problem:
        raise AlertRuleError(
            str(problem).replace("invalid query", "invalid alert rule", 1)
        ) from None
    return query.metric(metric)
