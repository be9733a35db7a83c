"""SemanticQuery: the one query language of the copilot and the Analytics page.

A query is data, never SQL: the copilot (LLM or offline parser) and the pages build one, this
module validates it into something the compiler can trust, and every problem comes back as one
sentence a person can act on (QueryValidationError).
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date, time
from typing import Annotated, Any, Literal, TypeVar, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from metricx import validation
from metricx.connectors.records import CREATIVE_FORMATS
from metricx.errors import InvalidInputError
from metricx.platforms import AD_PROVIDERS
from metricx.semantic import catalogue, families
from metricx.semantic.custom import CustomDefinitionError, Definitions
from metricx.semantic.expression import Expression, restriction_of
from metricx.validation import quoted

Dimension = Literal["provider", "account", "campaign", "adset", "ad", "creative"]
Grain = Literal["hour", "day", "week", "month"]
CohortGrain = Literal["week", "month", "quarter"]
AgeUnit = Literal["day", "week", "month"]
#: An ad platform of the registry (metricx.platforms); checked by Filters, listed in the schema.
Provider = Annotated[str, WithJsonSchema({"type": "string", "enum": list(AD_PROVIDERS)})]
#: A creative's format (metricx.connectors.records.CREATIVE_FORMATS); checked by Filters.
CreativeFormat = Annotated[str, WithJsonSchema({"type": "string", "enum": list(CREATIVE_FORMATS)})]
Direction = Literal["asc", "desc"]
AttributionModel = Literal[
    "first_click", "last_click", "last_non_direct", "linear", "time_decay", "position_based"
]
AttributionWindow = Literal[1, 7, 14, 28]
AccountingMode = Literal["cash", "accrual"]

#: Dimensions from the top of the campaign tree to the leaf, then the ads' creative (many ads
#: to one, rows `creative` and `creative_id`); also the normalised order.
DIMENSIONS: tuple[str, ...] = get_args(Dimension)
#: The row of ads without a creative (platforms whose creatives are not read yet, ads
#: synced before they were) when split by creative.
NO_CREATIVE = "(no creative)"
PROVIDERS: tuple[str, ...] = AD_PROVIDERS
#: What a cohort query splits by: the cohort (its first day), the age since the first order,
#: and how the cohort's customers were acquired (docs/design.md "Cohorts").
COHORT_DIMENSIONS: tuple[str, ...] = (
    "cohort",
    "age",
    "acquisition_channel",
    "acquisition_platform",
    "acquisition_campaign",
    "first_product",
    "first_order_discount",
)
#: What a product query splits by, from the product down.
PRODUCT_DIMENSIONS: tuple[str, ...] = ("product", "variant", "sku")
#: What email metrics alone split and filter by: the channel of a send (email_daily.channel).
EmailChannel = Literal["email", "sms"]
EMAIL_CHANNELS: tuple[str, ...] = get_args(EmailChannel)
EMAIL_DIMENSIONS: tuple[str, ...] = ("email_channel",)
#: How a person reads a dimension and an email channel's values.
EMAIL_DIMENSION_LABELS: Mapping[str, str] = {"email_channel": "Email channel"}
EMAIL_CHANNEL_LABELS: Mapping[str, str] = {"email": "Email", "sms": "SMS"}
#: The most cells (cohorts × ages) one cohort query may hold.
MAX_COHORT_CELLS = 50_000
#: Every metric a query may name besides custom ones: the catalogue's, then the families'.
ALL_METRIC_IDS: tuple[str, ...] = (
    *catalogue.METRIC_IDS,
    *families.COHORT_METRICS,
    *families.PRODUCT_METRICS,
)
MAX_LIMIT = 100
#: The longest range of each grain, in days: hourly rows over a month, daily rows over three
#: years are more than anyone reads (and unbounded work for the server); weeks, months and
#: totals are bounded by the calendar itself (validation.FIRST_DAY to LAST_DAY).
MAX_HOURLY_DAYS = 31
MAX_DAILY_DAYS = 1096
#: The longest name filter (entity names hold up to 400 characters).
MAX_NAME_FILTER = 200
#: A message names at most this many problems of one query.
MAX_PROBLEMS = 5

Checked = TypeVar("Checked")


class QueryValidationError(InvalidInputError, ValueError):
    """A query that cannot run; the message is one line naming every problem found."""


def _first_duplicate(values: Iterable[Any]) -> Any | None:
    seen: set[Any] = set()
    for value in values:
        if value in seen:
            return value
        seen.add(value)
    return None


def _reject_duplicates(values: list[Any], what: str) -> list[Any]:
    duplicate = _first_duplicate(values)
    if duplicate is not None:
        raise ValueError(f"{what} {quoted(duplicate)} is listed twice")
    return values


def _checked(check: Callable[..., Checked], *args: Any) -> Checked:
    """A metricx.validation check inside a pydantic validator, whose refusals must be
    ValueErrors to be reported with the field they concern."""
    try:
        return check(*args)
    except InvalidInputError as problem:
        raise ValueError(str(problem)) from None


def _optional_list(values: list[Any] | None, what: str) -> list[Any] | None:
    """A list filter is either null (no filter) or a non-empty list without repeats."""
    if values is None:
        return None
    if not values:
        raise ValueError(f"the {what} list is empty; use null for no {what} filter")
    return _reject_duplicates(values, what)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TimeRange(_Model):
    """Inclusive dates in the workspace time zone (the engine turns them into UTC bounds),
    optionally stopping at a local clock time on the last day ("today so far")."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: date = Field(description="First day, inclusive (YYYY-MM-DD).")
    end: date = Field(description="Last day, inclusive (YYYY-MM-DD); not before start.")
    # Left out of the JSON when null, so a range of whole days keeps docs/design.md's shape.
    until: time | None = Field(
        default=None,
        exclude_if=lambda value: value is None,
        description="The range stops at this local clock time on its last day, exclusive "
        "(HH:MM:SS), e.g. for today so far; null (the default) for whole days.",
    )

    @field_validator("start", "end")
    @classmethod
    def _in_calendar(cls, value: date) -> date:
        return _checked(validation.calendar_day, value, "the date")

    @field_validator("until")
    @classmethod
    def _clock_time(cls, value: time | None) -> time | None:
        if value is None:
            return None
        if value.tzinfo is not None:
            raise ValueError(
                "until is a clock time in the workspace time zone; give it without an offset "
                "(HH:MM:SS)"
            )
        if value == time(0):
            raise ValueError(
                "until 00:00:00 leaves nothing of the last day; end the range a day earlier "
                "and use null for whole days"
            )
        return value.replace(fold=0)  # the JSON has no fold: a repeated time is its first pass

    @model_validator(mode="after")
    def _in_order(self) -> TimeRange:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self

    @property
    def days(self) -> int:
        """Number of days in the range, both ends included (a cut last day counts)."""
        return (self.end - self.start).days + 1

    def whole_days(self) -> TimeRange:
        """The same days without the clock cut."""
        return TimeRange(start=self.start, end=self.end)


class Filters(_Model):
    """Restrictions on the ad side (and on the email channel). null means no restriction."""

    provider: list[Provider] | None = Field(
        default=None, description='Only these ad platforms, e.g. ["meta"].'
    )
    name_contains: str | None = Field(
        default=None,
        description="Only campaigns, ad sets or ads whose name contains this text "
        "(case-insensitive).",
    )
    entity_ids: list[int] | None = Field(
        default=None, description="Only these entities (campaign tree ids) and what is under them."
    )
    dimension_values: dict[str, list[str]] | None = Field(
        default=None,
        description="Only rows whose custom dimension takes one of these values, e.g. "
        '{"funnel_stage": ["BOFU"]} (the dimension is defined in `custom`).',
    )
    # Left out of the JSON when null, so ad queries keep docs/design.md's shape.
    product_ids: list[int] | None = Field(
        default=None,
        exclude_if=lambda value: value is None,
        description="Product queries only: only these products (ids as the Products page "
        "and `metricx query` show them).",
    )

    # Left out of the JSON when null, so ad queries keep docs/design.md's shape.
    creative_format: list[CreativeFormat] | None = Field(
        default=None,
        exclude_if=lambda value: value is None,
        description='Only ads whose creative has one of these formats, e.g. ["video"] '
        f"({', '.join(CREATIVE_FORMATS)}); ads without a known creative match none.",
    )
    creative_ids: list[int] | None = Field(
        default=None,
        exclude_if=lambda value: value is None,
        description="Only ads showing these creatives (creative ids as a split by creative "
        "shows them in creative_id).",
    )

    # Left out of the JSON when null, so ad queries keep docs/design.md's shape.
    email_channel: list[EmailChannel] | None = Field(
        default=None,
        exclude_if=lambda value: value is None,
        description="Email metrics only: only these channels of the email platform, e.g. "
        '["sms"] (texts) or ["email"].',
    )

    @field_validator("email_channel")
    @classmethod
    def _email_channels(cls, value: list[str] | None) -> list[str] | None:
        return _optional_list(value, "email channel")

    @field_validator("dimension_values")
    @classmethod
    def _dimension_values(cls, value: dict[str, list[str]] | None) -> dict[str, list[str]] | None:
        if value is None:
            return None
        if not value:
            raise ValueError("dimension_values is empty; use null for no such filter")
        return {
            key: [
                _checked(validation.plain_text, v, "a dimension value", MAX_NAME_FILTER)
                for v in _optional_list(values, f"{key} value") or []
            ]
            for key, values in value.items()
        }

    @field_validator("provider")
    @classmethod
    def _providers(cls, value: list[str] | None) -> list[str] | None:
        providers = _optional_list(value, "provider")
        unknown = [p for p in providers or () if p not in PROVIDERS]
        if unknown:
            expected = " or ".join(quoted(p) for p in PROVIDERS)
            raise ValueError(f"unknown provider {quoted(unknown[0])}; expected {expected}")
        return providers

    @field_validator("name_contains")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return _checked(validation.plain_text, value, "the text", MAX_NAME_FILTER) or None

    @field_validator("creative_format")
    @classmethod
    def _creative_formats(cls, value: list[str] | None) -> list[str] | None:
        formats = _optional_list(value, "creative format")
        unknown = [f for f in formats or () if f not in CREATIVE_FORMATS]
        if unknown:
            expected = " or ".join(quoted(f) for f in CREATIVE_FORMATS)
            raise ValueError(f"unknown creative format {quoted(unknown[0])}; expected {expected}")
        return formats

    @field_validator("entity_ids", "product_ids", "creative_ids")
    @classmethod
    def _ids(cls, value: list[int] | None, info: ValidationInfo) -> list[int] | None:
        what = {"entity_ids": "entity id", "product_ids": "product id"}.get(
            info.field_name or "", "creative id"
        )
        bad = [i for i in _optional_list(value, what) or [] if not 1 <= i <= validation.MAX_BIGINT]
        if bad:
            raise ValueError(
                f"{what}s are positive integers up to "
                f"{validation.MAX_BIGINT:,}, got {quoted(bad[0])}"
            )
        return value

    def restricts_ads(self) -> bool:
        """True when the filters narrow the ad side (a provider list of every platform doesn't)."""
        providers = self.provider is not None and set(self.provider) != set(PROVIDERS)
        return (
            providers
            or self.name_contains is not None
            or self.entity_ids is not None
            or self.dimension_values is not None
            or self.creative_format is not None
            or self.creative_ids is not None
        )

    def normalised(self) -> Filters:
        """The same restriction written one way, so equal filters compare equal."""
        every_provider = self.provider is not None and set(self.provider) == set(PROVIDERS)
        return Filters(
            provider=None if every_provider or self.provider is None else sorted(self.provider),
            name_contains=self.name_contains.casefold() if self.name_contains else None,
            entity_ids=sorted(self.entity_ids) if self.entity_ids else None,
            product_ids=sorted(self.product_ids) if self.product_ids else None,
            creative_format=sorted(self.creative_format) if self.creative_format else None,
            creative_ids=sorted(self.creative_ids) if self.creative_ids else None,
            # both channels are every send: no restriction
            email_channel=sorted(self.email_channel)
            if self.email_channel and set(self.email_channel) != set(EMAIL_CHANNELS)
            else None,
            dimension_values={k: sorted(v) for k, v in sorted(self.dimension_values.items())}
            if self.dimension_values
            else None,
        )


class OrderBy(_Model):
    """How rows are ranked before `limit` applies."""

    metric: str = Field(
        description="A requested metric, or a base metric they are built from (cpc -> spend).",
        json_schema_extra={"enum": list(ALL_METRIC_IDS)},
    )
    direction: Direction = Field(default="desc", description="desc = largest first.")


class Attribution(_Model):
    """Attribution settings; used only by attributed_* metrics and nc_roas."""

    model: AttributionModel = Field(
        default="last_click",
        description="How an order's credit is split over its touchpoints (time_decay: 7-day "
        "half-life; position_based: 40/20/40).",
    )
    window_days: AttributionWindow | None = Field(
        default=28, description="Look-back window in days; null = lifetime."
    )
    mode: AccountingMode = Field(
        default="cash",
        description="cash = credit on the order date; accrual = credit on the touch date.",
    )

    @field_validator("window_days", mode="before")
    @classmethod
    def _days_as_number(cls, value: Any) -> Any:
        return int(value) if isinstance(value, str) and value.strip().isdigit() else value


class Cohort(_Model):
    """How a cohort query groups customers and measures their age (docs/design.md
    "Cohorts"): cohorts by the week, month or quarter of their first order; ages in whole
    days, weeks or months since it, the first order's own day being age 0."""

    grain: CohortGrain = Field(
        default="month",
        description="Cohorts by the week (Monday), month or quarter of the first order.",
    )
    age_unit: AgeUnit = Field(
        default="month",
        description="Ages in whole days, weeks (7 days) or calendar months since the first order.",
    )
    max_age: int = Field(
        default=11,
        ge=0,
        le=1100,
        description="With `age` among the dimensions, rows hold ages 0..max_age; also the "
        "last age payback is looked for.",
    )
    at_age: int | None = Field(
        default=None,
        ge=0,
        le=1100,
        description="Without `age` among the dimensions, every metric is read at this age "
        "(cumulative up to it: 90-day LTV is age_unit day, at_age 90); null = max_age.",
    )

    @property
    def read_age(self) -> int:
        """The age metrics are read at when the query does not split by age."""
        return self.max_age if self.at_age is None else self.at_age


def _unknown_metrics_problem(metric_ids: list[str], custom: Definitions) -> str | None:
    """One sentence about every id neither in the catalogue nor a custom metric (close
    matches suggested, else the catalogue listed once), or None when all are known."""
    unknown = list(
        dict.fromkeys(
            m
            for m in metric_ids
            if m not in catalogue.METRICS
            and m not in custom.metrics
            and families.family_of(m) == "ads"
        )
    )
    if not unknown:
        return None
    problems, unlisted = [], []
    for metric_id in unknown:
        close = catalogue.suggest_metrics(metric_id[:100])
        if close:
            problems.append(
                f"unknown metric {quoted(metric_id)} (did you mean "
                + " or ".join(repr(c) for c in close)
                + "?)"
            )
        else:
            unlisted.append(quoted(metric_id))
    if unlisted:
        problems.append(
            f"unknown metric{'s' if len(unlisted) > 1 else ''} "
            f"{', '.join(unlisted)} (known metrics: {', '.join(catalogue.METRIC_IDS)})"
        )
    return "; ".join(problems)


def _metric_help() -> str:
    every = (*catalogue.METRICS.values(), *families.COHORT_METRICS.values())
    return "; ".join(
        f"{m.id}: {m.definition}" for m in (*every, *families.PRODUCT_METRICS.values())
    )


class SemanticQuery(_Model):
    """A question about ad, store and email metrics, as data.

    Which metrics, over which inclusive dates (workspace time zone; the last day possibly cut
    at a clock time), optionally compared with another range, split by campaign-tree
    dimensions and/or a time grain, filtered, ranked and limited. Weeks start Monday.
    """

    # Declared first: the names in the fields below are checked against it.
    custom: Definitions | None = Field(
        default=None,
        description="The workspace's custom metrics and dimensions this query names (filled "
        "in by the engine from the workspace; null when it names none).",
    )
    metrics: list[str] = Field(
        description="Metric ids, at least one, no repeats. " + _metric_help(),
        json_schema_extra={
            "items": {"type": "string", "enum": list(ALL_METRIC_IDS)},
            "minItems": 1,
        },
    )
    time_range: TimeRange = Field(description="The period asked about.")
    compare_range: TimeRange | None = Field(
        default=None,
        description="A period to compare with (e.g. the previous period, or last week "
        "taken whole); null for no comparison.",
    )
    dimensions: list[str] = Field(
        default_factory=list,
        description="Split rows by these levels of the campaign tree (provider, account, "
        "campaign, adset, ad), by the ads' creative (rows `creative` and `creative_id`; ads "
        f"without one in a row {NO_CREATIVE!r}) or by custom dimensions (defined in "
        "`custom`); [] for one total. "
        "Store-level metrics (orders, store revenue, MER, ...) cannot be split; email metrics "
        "split by email_channel only (rows 'email' and 'sms'), which splits nothing else.",
        json_schema_extra={
            "items": {
                "type": "string",
                "examples": [*get_args(Dimension), *EMAIL_DIMENSIONS],
            }
        },
    )
    grain: Grain | None = Field(
        default=None,
        description="Split rows by time bucket (weeks start Monday); null for the whole range.",
    )
    filters: Filters = Field(default_factory=Filters, description="Ad-side restrictions.")
    order_by: OrderBy | None = Field(
        default=None,
        description="Ranking; with a limit and no order_by, rows rank by spend descending "
        "(or the first metric when spend is not available).",
    )
    limit: int | None = Field(
        default=None, ge=1, le=MAX_LIMIT, description="Keep only the first N rows (top N)."
    )
    attribution: Attribution | None = Field(
        default=None,
        description="Attribution settings for attributed_* and nc_roas; defaults to "
        "last_click, 28 days, cash when those metrics are asked for.",
    )
    # Left out of the JSON when null, so ad queries keep docs/design.md's shape.
    cohort: Cohort | None = Field(
        default=None,
        exclude_if=lambda value: value is None,
        description="Set for a cohort query (metrics such as ltv, repeat_rate, retention, "
        "cac): time_range then selects the customers whose first order falls in it.",
    )

    @field_validator("metrics")
    @classmethod
    def _known_metrics(cls, value: list[str], info: ValidationInfo) -> list[str]:
        if not value:
            raise ValueError("the metric list is empty; ask for at least one metric")
        problem = _unknown_metrics_problem(value, _custom_of(info))
        if problem:
            raise ValueError(problem)
        return _reject_duplicates(value, "metric")

    @field_validator("dimensions")
    @classmethod
    def _known_dimensions(cls, value: list[str], info: ValidationInfo) -> list[str]:
        problem = _unknown_dimension_problem(value, _custom_of(info))
        if problem:
            raise ValueError(problem)
        return _reject_duplicates(value, "dimension")

    @model_validator(mode="after")
    def _consistent(self) -> SemanticQuery:
        named = self._names_problem()
        if named:
            raise ValueError(named)
        checks = (
            self._family_problem,
            self._order_by_problem,
            self._store_level_problem,
            self._email_channel_problem,
            self._email_grain_problem,
            self._span_problem,
        )
        problems = [p for p in (check() for check in checks) if p]
        if problems:
            raise ValueError("; ".join(problems))
        if self.family == "cohort" and self.cohort is None:
            self.cohort = Cohort()
        if self.attribution is None and self.needs_attribution:
            self.attribution = Attribution()
        if self.limit is not None and self.order_by is None:
            self.order_by = OrderBy(
                metric="spend" if "spend" in self.base_metrics else self.metrics[0]
            )
        return self

    @property
    def definitions(self) -> Definitions:
        """The custom definitions this query carries (empty when none)."""
        return self.custom if self.custom is not None else _NO_DEFINITIONS

    def _names_problem(self) -> str | None:
        """Unknown metrics and dimensions, and custom metrics that cannot expand."""
        custom = self.definitions
        wanted = [*self.metrics, *([self.order_by.metric] if self.order_by else [])]
        problem = _unknown_metrics_problem(wanted, custom)
        if problem:
            return problem
        problem = _unknown_dimension_problem(list(self.filters.dimension_values or ()), custom)
        if problem:
            return problem
        built_in = [k for k in self.filters.dimension_values or () if k not in custom.dimensions]
        if built_in:
            return (
                f"filters.dimension_values takes custom dimensions, not {quoted(built_in[0])} "
                "(filter platforms with provider, campaign-tree names with name_contains)"
            )
        for key, values in (self.filters.dimension_values or {}).items():
            allowed = {v.casefold(): v for v in custom.dimensions[key].values}
            odd = [v for v in values if v.casefold() not in allowed]
            if odd:
                return f"{key} has no value {quoted(odd[0])}; its values are " + ", ".join(
                    repr(v) for v in allowed.values()
                )
            # matched as rules match names, ignoring case; kept as the dimension writes them
            values[:] = list(dict.fromkeys(allowed[v.casefold()] for v in values))
        try:
            for metric_id in wanted:
                if families.family_of(metric_id) == "ads":
                    self.formula(metric_id)
        except CustomDefinitionError as problem:
            return str(problem)
        return None

    def metric(self, metric_id: str) -> catalogue.Metric:
        """The catalogue entry of a metric id (a family's too), or this query's custom
        metric as one."""
        known = catalogue.METRICS.get(metric_id)
        if known is not None:
            return known
        if families.family_of(metric_id) != "ads":
            return families.metric(metric_id)
        return self.definitions.metric(metric_id)

    def formula(self, metric_id: str) -> Expression:
        """A metric's formula expanded to the fact sums the engine fetches (a family
        metric's to its family's facts)."""
        if metric_id in catalogue.METRICS:
            return catalogue.formula_of(metric_id)
        if families.family_of(metric_id) != "ads":
            return families.formula_of(metric_id)
        return self.definitions.expanded(metric_id)

    def sources_of(self, metric_id: str) -> frozenset[catalogue.Source]:
        """Where a metric's sums come from (a catalogue metric's, cached)."""
        if metric_id in catalogue.METRICS:
            return catalogue.sources_of(metric_id)
        if families.family_of(metric_id) != "ads":
            return frozenset({families.metric(metric_id).source})
        return catalogue.sources_in(self.definitions.expanded(metric_id))

    @property
    def family(self) -> families.Family:
        """Which engine answers the query, by its metrics: "cohort" for cohort metrics
        (ltv, repeat_rate, ...), "products" for product metrics, else "ads" (ad, store,
        attributed and custom metrics)."""
        named = [f for f in map(families.family_of, self.metrics) if f != "ads"]
        return named[0] if named else "ads"

    def _family_problem(self) -> str | None:
        """A query stays inside one family: its metrics, dimensions and options."""
        family = self.family
        other = [m for m in self.metrics if families.family_of(m) != family]
        if other:
            return (
                f"{_FAMILY_NAMES[family]} and {', '.join(other)} cannot be asked in one query "
                "(they count different things); ask them separately"
            )
        if family == "cohort":
            return self._cohort_problem()
        if family == "products":
            return self._products_problem()
        if self.cohort is not None:
            return "cohort is set but no cohort metric is asked for (ltv, repeat_rate, ...)"
        for dimension in self.dimensions:
            for names, examples in (
                (COHORT_DIMENSIONS, "cohort metrics (ltv, repeat_rate, ...)"),
                (PRODUCT_DIMENSIONS, "product metrics (units, product_net_sales, ...)"),
            ):
                if dimension in names:
                    return f"{dimension!r} splits {examples}, not {', '.join(self.metrics)}"
        if self.filters.product_ids:
            return "filters.product_ids restricts product metrics (units, product_net_sales, ...)"
        return None

    def _cohort_problem(self) -> str | None:
        odd = [d for d in self.dimensions if d not in COHORT_DIMENSIONS]
        if odd:
            return f"a cohort query splits by {', '.join(COHORT_DIMENSIONS)}, not {', '.join(odd)}"
        taken = [
            name
            for name, given in (
                ("compare_range", self.compare_range),
                ("grain", self.grain),
                ("attribution", self.attribution),
            )
            if given is not None
        ]
        if self.filters != Filters():
            taken.append("filters")
        if taken:
            return (
                f"a cohort query takes no {', '.join(taken)}: cohorts are set by cohort.grain "
                "and time_range, acquisition is the first order's first click"
            )
        cohort = self.cohort or Cohort()
        if "age" in self.dimensions and cohort.at_age is not None:
            return (
                "cohort.at_age reads one age, but `age` among the dimensions asks for every "
                "age up to cohort.max_age; drop one of them"
            )
        ages = cohort.max_age + 1 if "age" in self.dimensions else 1
        cohorts = {"week": self.time_range.days // 7 + 2, "month": self.time_range.days // 28 + 2}
        cells = cohorts.get(cohort.grain, self.time_range.days // 90 + 2) * ages
        if cells > MAX_COHORT_CELLS:
            return (
                f"about {cells:,} cohort cells is too many; at most {MAX_COHORT_CELLS:,} "
                "(a coarser cohort grain, a shorter range or fewer ages)"
            )
        return None

    def _products_problem(self) -> str | None:
        odd = [d for d in self.dimensions if d not in PRODUCT_DIMENSIONS]
        if odd:
            return (
                f"a product query splits by {', '.join(PRODUCT_DIMENSIONS)} (and a time "
                f"grain), not {', '.join(odd)}"
            )
        if self.grain == "hour":
            return "a product query has no hourly rows; use grain day, week or month"
        filters = self.filters
        if (
            filters.provider is not None
            or filters.entity_ids
            or filters.dimension_values
            or filters.creative_format
            or filters.creative_ids
        ):
            return (
                "a product query filters by product_ids or name_contains (the product title), "
                "not by platform, campaign, creative or custom dimension"
            )
        if self.cohort is not None:
            return "cohort is set but product metrics are asked for; ask them separately"
        return None

    def facts_of(self, *metric_ids: str) -> tuple[str, ...]:
        """The fact sums `metric_ids` are computed from (catalogue.facts_in)."""
        return catalogue.facts_in(*(self.formula(m) for m in metric_ids))

    def _order_by_problem(self) -> str | None:
        if self.order_by is None:
            return None
        allowed = [*self.metrics, *(b for b in self.base_metrics if b not in self.metrics)]
        if self.order_by.metric in allowed:
            return None
        return (
            f"order_by metric {self.order_by.metric!r} is not among the requested metrics "
            f"or their base metrics ({', '.join(allowed)}); add it to metrics"
        )

    def _store_level_problem(self) -> str | None:
        """Store and email figures belong to no ad: no ad dimension or filter applies."""
        if self.family != "ads":
            return None
        level = {m: self.sources_of(m) & catalogue.STORE_LEVEL_SOURCES for m in self.metrics}
        email = [m for m, sources in level.items() if sources == {"email"}]
        store = [m for m, sources in level.items() if sources and m not in email]
        ad_dimensions = [d for d in self.dimensions if d not in EMAIL_DIMENSIONS]
        if ad_dimensions:
            clash = f"ad dimensions ({', '.join(ad_dimensions)})"
        elif self.filters.restricts_ads():
            clash = (
                "ad filters (provider, name_contains, entity_ids, dimension_values, "
                "creative_format, creative_ids)"
            )
        else:
            return None
        problems = []
        if store:
            problems.append(
                f"store-level metrics ({', '.join(store)}) are incompatible with {clash}: "
                "Shopify figures cannot be split by platform or campaign; remove them or use "
                "attributed metrics such as attributed_orders or attributed_revenue"
            )
        if email:
            problems.append(
                f"email metrics ({', '.join(email)}) are incompatible with {clash}: Klaviyo's "
                "figures belong to no ad platform or campaign; remove them or ask for them in "
                "a query of their own"
            )
        return "; ".join(problems) or None

    def _email_channel_problem(self) -> str | None:
        """The email channel splits and filters email figures only: a store or ad figure
        has no channel of the email platform."""
        asked = [
            *(f"dimension {d!r}" for d in self.dimensions if d in EMAIL_DIMENSIONS),
            *(["filters.email_channel"] if self.filters.email_channel else []),
        ]
        if not asked:
            return None
        other = [
            m
            for m in self.metrics
            if families.family_of(m) != "ads" or self.sources_of(m) != {"email"}
        ]
        if not other:
            return None
        return (
            f"{' and '.join(asked)} applies to email metrics only (email_revenue, "
            f"email_orders, ...), not {', '.join(other)}: store and ad figures have no email "
            "or SMS channel; ask them in a query of their own"
        )

    def _email_grain_problem(self) -> str | None:
        """Email figures come per send day (email_daily): there are no hourly ones."""
        if self.family != "ads" or self.grain != "hour":
            return None
        email = [m for m in self.metrics if "email" in self.sources_of(m)]
        if not email:
            return None
        return (
            f"email metrics ({', '.join(email)}) have no hourly rows: Klaviyo reports them per "
            "send day; use grain 'day', 'week' or 'month'"
        )

    def _span_problem(self) -> str | None:
        """Rows are bounded: hourly ones span at most MAX_HOURLY_DAYS, daily ones
        MAX_DAILY_DAYS. A range cut at a clock time reads the snapshot rows themselves: split
        by dimensions, it is capped like hourly rows."""
        for name, span in (("time_range", self.time_range), ("compare_range", self.compare_range)):
            if span is None:
                continue
            if self.grain == "hour" and span.days > MAX_HOURLY_DAYS:
                split = f" by {', '.join(self.dimensions)}" if self.dimensions else ""
                return (
                    f"hourly rows{split} over {span.days:,} days ({name}) would be too many "
                    f"rows; use grain 'day', or at most {MAX_HOURLY_DAYS} days"
                )
            if self.grain == "day" and span.days > MAX_DAILY_DAYS:
                return (
                    f"daily rows over {span.days:,} days ({name}) would be too many rows; use "
                    f"grain 'week' or 'month', or at most {MAX_DAILY_DAYS:,} days (3 years)"
                )
            if span.until is not None and self.dimensions and span.days > MAX_HOURLY_DAYS:
                return (
                    f"a {name} cut at {span.until} is read from hourly rows: split by "
                    f"{', '.join(self.dimensions)} it can span at most {MAX_HOURLY_DAYS} days, "
                    f"not {span.days}; drop until or shorten the range"
                )
        return None

    @property
    def base_metrics(self) -> tuple[str, ...]:
        """The base (additive) metrics this query's metrics are computed from (none for a
        cohort or product query: its metrics rank by themselves)."""
        if self.family != "ads":
            return ()
        if not self.custom:
            return catalogue.base_metrics_for(self.metrics)
        return tuple(m for m in catalogue.BASE_METRIC_IDS if m in self.facts)

    @property
    def facts(self) -> tuple[str, ...]:
        """The fact sums the engine must fetch for this query (catalogue.facts_in; a family's
        facts for a cohort or product query)."""
        if self.family != "ads":
            return families.facts_for(tuple(self.metrics))
        if not self.custom:
            return catalogue.facts_for(self.metrics)
        return self.facts_of(*self.metrics)

    @property
    def needs_attribution(self) -> bool:
        """True when some metric depends on the attribution settings."""
        return any("attribution" in self.sources_of(m) for m in self.metrics)

    @property
    def custom_dimensions(self) -> tuple[str, ...]:
        """The custom dimensions the query splits, filters or restricts by, in that order."""
        custom = self.definitions
        restricted = [r.key for column in self.facts if (r := restriction_of(column)) is not None]
        named = [*self.dimensions, *(self.filters.dimension_values or {}), *restricted]
        return tuple(n for n in dict.fromkeys(named) if n in custom.dimensions)

    @classmethod
    def parse(
        cls,
        query: SemanticQuery | Mapping[str, Any] | str | bytes,
        definitions: Definitions | Callable[[], Definitions] | None = None,
    ) -> SemanticQuery:
        """Validate a query given as JSON text or a dict; problems raise QueryValidationError.
        `definitions` (a workspace's custom metrics and dimensions, or how to read them: read
        only when the query names something it does not define) are attached where the
        query names them and does not define them itself."""
        if isinstance(query, SemanticQuery):
            return query
        if isinstance(query, str | bytes | bytearray):
            try:
                query = json.loads(query)
            except json.JSONDecodeError as exc:
                raise QueryValidationError(
                    f"invalid query: not valid JSON ({exc.msg} at line {exc.lineno} column "
                    f"{exc.colno})"
                ) from exc
            except UnicodeDecodeError as exc:
                raise QueryValidationError("invalid query: not UTF-8 text") from exc
            except (ValueError, RecursionError) as exc:  # Python's own limits on JSON
                raise QueryValidationError(
                    "invalid query: not a JSON query (a number of thousands of digits, or "
                    "lists nested hundreds deep)"
                ) from exc
        if not isinstance(query, Mapping):
            raise QueryValidationError(
                "invalid query: expected a JSON object with at least 'metrics' and 'time_range'"
            )
        query = dict(query)
        if definitions:
            query = _with_definitions(query, definitions)
        try:
            return cls.model_validate(query)
        except ValidationError as exc:
            raise QueryValidationError(describe_errors(exc)) from exc

    def to_json(self) -> str:
        """Compact JSON in docs/design.md's shape (every key present, dates as YYYY-MM-DD)."""
        return self.model_dump_json()

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        """JSON Schema with field descriptions, usable as an LLM tool's input schema."""
        return cls.model_json_schema()

    def normalised(self) -> SemanticQuery:
        """The same question written one way, so two queries can be compared with ==.

        Metrics sorted, dimensions in tree order, filters canonical, attribution dropped when
        no metric uses it, and order_by/limit dropped when the result is a single row.
        """
        single_row = not self.dimensions and self.grain is None
        order = {d: i for i, d in enumerate(dict.fromkeys([*DIMENSIONS, *sorted(self.dimensions)]))}
        return self.model_copy(
            update={
                "metrics": sorted(self.metrics),
                "dimensions": sorted(self.dimensions, key=order.__getitem__),
                "filters": self.filters.normalised(),
                "attribution": self.attribution if self.needs_attribution else None,
                "order_by": None if single_row else self.order_by,
                "limit": None if single_row else self.limit,
            }
        )

    def same_as(self, other: SemanticQuery) -> bool:
        """True when both queries ask the same question (compares normalised forms)."""
        return self.normalised() == other.normalised()


_NO_DEFINITIONS = Definitions()


def _custom_of(info: ValidationInfo) -> Definitions:
    """The definitions of a query being validated (none when they were invalid)."""
    custom = info.data.get("custom")
    return custom if isinstance(custom, Definitions) else _NO_DEFINITIONS


_FAMILY_NAMES: Mapping[str, str] = {
    "ads": "ad and store metrics",
    "cohort": "cohort metrics",
    "products": "product metrics",
}


def _unknown_dimension_problem(dimensions: list[str], custom: Definitions) -> str | None:
    known = [
        *DIMENSIONS,
        *EMAIL_DIMENSIONS,
        *COHORT_DIMENSIONS,
        *PRODUCT_DIMENSIONS,
        *custom.dimensions,
    ]
    for dimension in dimensions:
        if dimension not in known:
            given = quoted(dimension)
            close = difflib.get_close_matches(given.strip("'\""), known, n=1, cutoff=0.6)
            return (
                f"unknown dimension {given}; expected "
                + ", ".join(repr(k) for k in known)
                + (f" (did you mean {close[0]!r}?)" if close else "")
            )
    return None


def names_in(query: Mapping[str, Any]) -> list[str]:
    """The metric and dimension names a raw query (a dict) uses, without validating it."""

    def strings(value: Any) -> list[str]:
        return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []

    order_by = query.get("order_by")
    filters = query.get("filters")
    values = filters.get("dimension_values") if isinstance(filters, Mapping) else None
    return [
        *strings(query.get("metrics")),
        *strings(query.get("dimensions")),
        *([order_by["metric"]] if isinstance(order_by, Mapping) and "metric" in order_by else []),
        *(k for k in (values if isinstance(values, Mapping) else ()) if isinstance(k, str)),
    ]


def _with_definitions(
    query: dict[str, Any], definitions: Definitions | Callable[[], Definitions]
) -> dict[str, Any]:
    """`query` with the custom definitions it names and lacks added to its `custom`."""
    built_in = (*DIMENSIONS, *EMAIL_DIMENSIONS)
    names = [n for n in names_in(query) if n not in catalogue.METRICS and n not in built_in]
    if not names:
        return query
    own = query.get("custom")
    try:
        carried = Definitions.model_validate(own) if isinstance(own, Mapping) else Definitions()
    except ValidationError:
        return query  # its own `custom` is invalid: validation says why
    # What the query defines itself wins; the workspace fills in only what it lacks.
    lacking = [n for n in names if n not in carried.metrics and n not in carried.dimensions]
    if not lacking:
        return query
    workspace = definitions() if callable(definitions) else definitions
    used = carried.merged(workspace.used_by(lacking))
    return {**query, "custom": used.model_dump(mode="json") if used else own}


# --- turning pydantic's errors into one line -------------------------------------------------

_NOUNS = {
    "dimensions": "dimension",
    "direction": "order direction",
    "model": "attribution model",
    "mode": "accounting mode",
    "window_days": "attribution window",
}


def _where(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        name = str(part) if isinstance(part, int) else quoted(part, 40).strip("'\"")
        text += f"[{name}]" if isinstance(part, int) else (f".{name}" if text else name)
    return text


def _describe(error: ErrorDetails) -> str:
    kind, ctx, given = error["type"], error.get("ctx", {}), error.get("input")
    where = _where(error["loc"])
    field = next((p for p in reversed(error["loc"]) if isinstance(p, str)), "")
    if kind == "missing":
        return f"missing required field {where!r}"
    if kind == "extra_forbidden":
        return f"unknown field {where!r}"
    if kind == "value_error":
        text = str(ctx.get("error", error["msg"]))
    elif kind == "literal_error":
        text = f"unknown {_NOUNS.get(field, field)} {quoted(given)}; expected {ctx['expected']}"
        options = re.findall(r"'([^']*)'", str(ctx["expected"]))
        close = difflib.get_close_matches(
            quoted(given, 100).strip("'\"").lower(), options, n=1, cutoff=0.6
        )
        text += f" (did you mean {close[0]!r}?)" if close else ""
    elif kind.startswith(("date", "datetime")):
        text = f"{quoted(given)} is not a date; use YYYY-MM-DD"
    elif kind.startswith("time"):
        text = f"{quoted(given)} is not a clock time; use HH:MM or HH:MM:SS"
    elif kind == "greater_than_equal":
        text = f"must be at least {ctx['ge']}, got {quoted(given)}"
    elif kind == "less_than_equal":
        text = f"must be at most {ctx['le']}, got {quoted(given)}"
    else:
        text = f"{error['msg'][:1].lower()}{error['msg'][1:]} (got {quoted(given)})"
    return f"{where}: {text}" if where else text


def describe_errors(exc: ValidationError) -> str:
    """One line naming the problems (the first MAX_PROBLEMS, then how many more), e.g.
    "invalid query: limit: must be at most 100, got 500"."""
    problems = list(dict.fromkeys(_describe(e) for e in exc.errors()))
    more = len(problems) - MAX_PROBLEMS
    line = (
        "invalid query: "
        + "; ".join(problems[:MAX_PROBLEMS])
        + (f"; and {more} more problem{'s' if more > 1 else ''}" if more > 0 else "")
    )
    return " ".join(line.split())
