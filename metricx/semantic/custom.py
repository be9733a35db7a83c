"""Custom metrics and dimensions a workspace defines, as data a SemanticQuery carries.

A custom metric is a formula over catalogue metrics and other custom metrics
(metricx.semantic.formula), with a label, a unit, a direction and a description; it expands to
the same kind of tree as a catalogue formula, down to fact sums, and is evaluated by the one
evaluator (a zero denominator gives an empty value). A metric restricted by a filter
(`spend[provider=meta]`, `spend[funnel_stage=BOFU]`) expands to the restricted sums of its ad
facts; only ad-platform metrics can be restricted, as store facts belong to no platform or
campaign.

A custom dimension is an ordered list of when/then rules over the campaign tree's names or
the platform ("campaign name contains Retargeting → BOFU"), with a value for everything else;
the compiler evaluates it in SQL as a CASE, so it splits and filters every ad-side query.

A query carries the definitions it uses (`Definitions`, its `custom` field): a query is
self-contained, and its JSON shows what each custom name meant when it ran.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationInfo, field_validator

from metricx import validation
from metricx.errors import InvalidInputError
from metricx.semantic import catalogue, formula
from metricx.semantic.catalogue import Metric, Unit
from metricx.semantic.expression import Binary, Expression, Filtered, Ref, refs

#: Built-in split levels (metricx.semantic.query.DIMENSIONS); rules read their names.
TREE_LEVELS: tuple[str, ...] = ("account", "campaign", "adset", "ad")
RuleField = Literal["provider", "account", "campaign", "adset", "ad"]
RuleOperator = Literal["contains", "equals", "starts_with"]
#: "email_channel": the email metrics' split (metricx.semantic.query.EMAIL_DIMENSIONS).
#: "creative", "creative_format": the ads' creative and what a sum is restricted by
#: (metricx.semantic.query.DIMENSIONS, catalogue.CREATIVE_FORMAT_KEY).
RESERVED_NAMES = frozenset(
    {
        "provider",
        "email_channel",
        "creative",
        catalogue.CREATIVE_FORMAT_KEY,
        *TREE_LEVELS,
        *catalogue.METRIC_IDS,
        *catalogue.FACTS,
    }
)
_ID = re.compile(r"[a-z][a-z0-9_]{0,39}")
MAX_RULES = 50
MAX_LABEL = 80
MAX_TEXT = 200
MAX_DESCRIPTION = 500
#: How many custom metrics or dimensions one workspace (and so one query) may hold.
MAX_DEFINITIONS = 100


class CustomDefinitionError(InvalidInputError, ValueError):
    """A custom metric or dimension that cannot be used; the message says why."""


def check_id(value: str, what: str = "name") -> str:
    """A custom metric's or dimension's id: lower-case letters, digits and _, not a built-in
    name (a metric, a fact or a dimension)."""
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise CustomDefinitionError(
            f"the {what} {validation.quoted(value)} must start with a letter and hold only "
            "lower-case letters, digits and _ (at most 40), e.g. meta_share"
        )
    if value in RESERVED_NAMES:
        raise CustomDefinitionError(
            f"the {what} {value!r} is a built-in name; choose another, e.g. my_{value}"
        )
    return value


class _Definition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("label", "description", "value", "then", "otherwise", check_fields=False)
    @classmethod
    def _plain(cls, value: str, info: ValidationInfo) -> str:
        try:
            text = validation.plain_text(value, "the text", MAX_DESCRIPTION)
        except InvalidInputError as problem:
            raise ValueError(str(problem)) from None
        if not text and info.field_name != "description":
            raise ValueError("is empty (spaces alone are no text)")
        return text


class CustomMetric(_Definition):
    """A workspace's metric: a formula over catalogue and custom metrics."""

    label: str = Field(min_length=1, max_length=MAX_LABEL, description="Its name on pages.")
    formula: str = Field(
        min_length=1,
        max_length=formula.MAX_FORMULA,
        description="e.g. 'spend[provider=meta] / spend' or '(net_sales - cogs) / orders'.",
    )
    unit: Unit = Field(default="ratio", description="currency, count, ratio or percent.")
    higher_is_better: bool | None = Field(
        default=True, description="true, false, or null when neither direction is good."
    )
    description: str = Field(default="", max_length=MAX_DESCRIPTION)

    @field_validator("formula")
    @classmethod
    def _readable(cls, value: str) -> str:
        try:
            tree = formula.parse(value)
        except formula.FormulaError as problem:
            raise ValueError(f"the formula cannot be read: {problem}") from None
        if not any(isinstance(node, Ref) for node in tree.nodes()):
            raise ValueError(
                "the formula names no metric; a metric is computed from others, e.g. spend / orders"
            )
        return value

    @property
    def metrics_named(self) -> tuple[str, ...]:
        """The metrics the formula names, in order of first appearance."""
        return refs(formula.parse(self.formula))

    @property
    def dimensions_named(self) -> tuple[str, ...]:
        """The keys the formula restricts metrics by (provider or custom dimensions)."""
        nodes = formula.parse(self.formula).nodes()
        return tuple(dict.fromkeys(n.key for n in nodes if isinstance(n, Filtered)))


class Rule(_Definition):
    """When `field` (a level's name, or the platform) matches `value`, the value is `then`.
    Matching ignores case."""

    field: RuleField
    op: RuleOperator = "contains"
    value: str = Field(min_length=1, max_length=MAX_TEXT)
    then: str = Field(min_length=1, max_length=MAX_LABEL)


class CustomDimension(_Definition):
    """A workspace's dimension: the first matching rule's `then`, else `otherwise`."""

    label: str = Field(min_length=1, max_length=MAX_LABEL)
    rules: tuple[Rule, ...] = Field(max_length=MAX_RULES)
    otherwise: str = Field(default="Other", min_length=1, max_length=MAX_LABEL)
    description: str = Field(default="", max_length=MAX_DESCRIPTION)

    @field_validator("rules")
    @classmethod
    def _some_rules(cls, value: tuple[Rule, ...]) -> tuple[Rule, ...]:
        if not value:  # checked once the rules are valid: a bad rule is one problem, not two
            raise ValueError("a custom dimension needs at least one rule")
        return value

    @property
    def levels(self) -> frozenset[str]:
        """The campaign-tree levels whose names the rules read."""
        return frozenset(r.field for r in self.rules if r.field != "provider")

    @property
    def values(self) -> tuple[str, ...]:
        """Every value the dimension can take, in rule order, `otherwise` last."""
        return tuple(dict.fromkeys([*(r.then for r in self.rules), self.otherwise]))


class Definitions(BaseModel):
    """The custom metrics and dimensions a query may name, by id."""

    model_config = ConfigDict(extra="forbid")

    metrics: dict[str, CustomMetric] = Field(default_factory=dict)
    dimensions: dict[str, CustomDimension] = Field(default_factory=dict)
    _expanded: dict[str, Expression] = PrivateAttr(default_factory=dict)

    @field_validator("metrics", "dimensions")
    @classmethod
    def _ids(cls, value: dict[str, object]) -> dict[str, object]:
        if len(value) > MAX_DEFINITIONS:
            raise ValueError(f"at most {MAX_DEFINITIONS} custom definitions of a kind")
        for key in value:
            try:
                check_id(key)
            except CustomDefinitionError as problem:
                raise ValueError(str(problem)) from None
        return value

    def __bool__(self) -> bool:
        return bool(self.metrics or self.dimensions)

    def metric(self, metric_id: str) -> Metric:
        """A custom metric as a catalogue entry (its formula expanded to fact sums)."""
        custom = self.metrics.get(metric_id)
        if custom is None:
            raise catalogue.UnknownMetricError(f"unknown metric {metric_id!r}")
        expanded = self.expanded(metric_id)
        sources = catalogue.sources_in(expanded)
        text = f"{custom.label} = {custom.formula}"
        return Metric(
            metric_id,
            custom.label,
            custom.unit,
            custom.higher_is_better,
            f"{text}. {custom.description}".strip() if custom.description else text + ".",
            next(iter(sources)) if len(sources) == 1 else "finance",
            expanded,
        )

    def expanded(self, metric_id: str) -> Expression:
        """A custom metric's formula expanded to fact sums (restricted sums where the formula
        restricts a metric); CustomDefinitionError for unknown names, cycles and
        restrictions that cannot apply."""
        if metric_id not in self._expanded:
            self._expanded[metric_id] = self._expand(metric_id, ())
        return self._expanded[metric_id]

    def _expand(self, metric_id: str, path: tuple[str, ...]) -> Expression:
        if metric_id in path:
            cycle = " → ".join([*path[path.index(metric_id) :], metric_id])
            raise CustomDefinitionError(
                f"the custom metrics refer to each other in a circle: {cycle}"
            )
        custom = self.metrics[metric_id]
        return self._leaves(formula.parse(custom.formula), (*path, metric_id))

    def _leaves(self, expression: Expression, path: tuple[str, ...]) -> Expression:
        if isinstance(expression, Binary):
            return Binary(
                expression.op,
                self._leaves(expression.left, path),
                self._leaves(expression.right, path),
            )
        if not isinstance(expression, Ref):
            return expression
        if expression.name in self.metrics:
            whole = self._expand(expression.name, path)
        elif expression.name in catalogue.METRICS:
            whole = catalogue.formula_of(expression.name)
        else:
            raise CustomDefinitionError(self._unknown(expression.name, path[-1]))
        if isinstance(expression, Filtered):
            return self._restricted(whole, expression, path[-1])
        return whole

    def _unknown(self, name: str, owner: str) -> str:
        close = [
            *catalogue.suggest_metrics(name, 2),
            *(m for m in self.metrics if m != owner and name in m),
        ]
        hint = f" (did you mean {' or '.join(repr(c) for c in close[:3])}?)" if close else ""
        return f"the formula of {owner!r} names {name!r}, which is no metric{hint}"

    def _restricted(self, whole: Expression, restriction: Filtered, owner: str) -> Expression:
        """`whole` with every fact sum restricted as `restriction` says."""
        key, value = restriction.key, restriction.value
        if key == "provider":
            value = value.lower()
            if value not in catalogue.RESTRICTABLE_PROVIDERS:
                raise CustomDefinitionError(
                    f"{owner!r}: {restriction.column} — the platform must be one of "
                    + ", ".join(catalogue.RESTRICTABLE_PROVIDERS)
                )
        elif key in self.dimensions:
            known = self.dimensions[key].values
            matched = [v for v in known if v.casefold() == value.casefold()]
            if not matched:
                raise CustomDefinitionError(
                    f"{owner!r}: {restriction.column} — {key} takes the values "
                    + ", ".join(repr(v) for v in known)
                )
            value = matched[0]
        else:
            raise CustomDefinitionError(
                f"{owner!r}: {restriction.column} — a metric can be restricted by provider or "
                "by a custom dimension, not by " + repr(key)
            )

        def restrict(node: Expression) -> Expression:
            if isinstance(node, Binary):
                return Binary(node.op, restrict(node.left), restrict(node.right))
            if isinstance(node, Filtered):
                raise CustomDefinitionError(
                    f"{owner!r}: {restriction.column} restricts a metric that is restricted "
                    "already; restrict its parts instead"
                )
            if isinstance(node, Ref):
                if node.name not in catalogue.RESTRICTABLE_SUMS:
                    figure = (
                        "a Klaviyo figure"
                        if catalogue.sources_in(node) == {"email"}
                        else "a store figure"
                    )
                    raise CustomDefinitionError(
                        f"{owner!r}: {restriction.name} cannot be restricted to {key}={value}: "
                        f"it is built from {node.name!r}, {figure} that belongs to no "
                        "platform or campaign (only ad-platform metrics can be restricted)"
                    )
                return Filtered(node.name, key, value)
            return node

        return restrict(whole)

    def check(self) -> None:
        """Every custom metric expands (CustomDefinitionError naming the first that
        cannot)."""
        for metric_id in self.metrics:
            self.expanded(metric_id)

    def used_by(self, names: Iterable[str]) -> Definitions:
        """Only what `names` (metric and dimension ids) need, with the custom metrics and
        dimensions their formulas name in turn."""
        metrics: dict[str, CustomMetric] = {}
        dimensions: dict[str, CustomDimension] = {}
        pending = list(names)
        while pending:
            name = pending.pop()
            if name in self.dimensions:
                dimensions[name] = self.dimensions[name]
            if name in self.metrics and name not in metrics:
                metrics[name] = custom = self.metrics[name]
                pending += [*custom.metrics_named, *custom.dimensions_named]
        return Definitions(metrics=metrics, dimensions=dimensions)

    def merged(self, other: Definitions) -> Definitions:
        """These definitions with `other`'s added where they do not name the same id."""
        return Definitions(
            metrics={**other.metrics, **self.metrics},
            dimensions={**other.dimensions, **self.dimensions},
        )
