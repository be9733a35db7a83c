"""What a query returns: its rows as DataFrames with the numbers' context (currency, time
zone, definitions, what was withheld or left unallocated), and `to_contract`, the
`metricx query --json` output of docs/design.md. Every family of query (ads and store,
cohorts, products) returns one."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cached_property
from typing import Any

import pandas as pd
from sqlalchemy.dialects import postgresql

from metricx.semantic import catalogue
from metricx.semantic.fetch import plan
from metricx.semantic.query import SemanticQuery


@dataclass
class MetricsResult:
    query: SemanticQuery
    frame: pd.DataFrame
    compare_frame: pd.DataFrame | None
    currency: str
    timezone: str
    definitions: dict[str, str]
    #: metric id -> why some of its values are empty (conversions or email figures of a day
    #: cut at a clock time that a platform reports per day only); empty when nothing was
    #: withheld
    withheld: dict[str, str] = field(default_factory=dict)
    #: product queries: what could not be allocated to any product (metric id -> total,
    #: e.g. the spend of campaigns no order was credited to), shown as its own line
    unallocated: dict[str, float] = field(default_factory=dict)

    @cached_property
    def sql(self) -> list[str]:
        """The SQL of the ad and store facts, with its named placeholders, for debugging:
        compiled only when asked for (the result stays picklable for st.cache_data)."""
        if self.query.family != "ads":
            return []
        shared = plan(self.query).shared
        if shared is None:
            return []
        # SQLAlchemy's psycopg2 dialect leaves its constructor unannotated
        dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
        return [str(shared.statement.compile(dialect=dialect))]

    def metric(self, metric_id: str) -> catalogue.Metric:
        """A metric of the result as a catalogue entry (custom metrics too): its label, unit
        and direction for formatting."""
        return self.query.metric(metric_id)

    @property
    def dimension_columns(self) -> list[str]:
        return [c for c in self.frame.columns if c not in self.query.metrics]

    def to_contract(self) -> dict[str, Any]:
        """The `metricx query --json` output contract of docs/design.md."""

        def rows(frame: pd.DataFrame | None) -> list[list[Any]] | None:
            if frame is None:
                return None
            return [[_jsonable(v) for v in row] for row in frame.itertuples(index=False)]

        query = self.query
        return {
            "columns": list(self.frame.columns),
            "rows": rows(self.frame),
            "compare_rows": rows(self.compare_frame),
            "meta": {
                "time_range": query.time_range.model_dump(mode="json"),
                "compare_range": query.compare_range.model_dump(mode="json")
                if query.compare_range
                else None,
                "currency": self.currency,
                "timezone": self.timezone,
                "definitions": self.definitions,
                "attribution": query.attribution.model_dump(mode="json")
                if query.attribution and query.needs_attribution
                else None,
                "withheld": self.withheld,
                **({"unallocated": self.unallocated} if query.family == "products" else {}),
                **(
                    {"cohort": query.cohort.model_dump(mode="json")}
                    if query.cohort is not None
                    else {}
                ),
            },
        }


def _jsonable(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (date, pd.Timestamp)):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value
