"""Check a GAQL query against the google-ads protos of one API version.

Grammar: developers.google.com/google-ads/api/docs/query/grammar
    Query     -> SELECT FieldName (, FieldName)* FROM ResourceName (WHERE Condition (AND
                 Condition)*)? (ORDER BY FieldName (ASC|DESC)? (, ...)*)? (LIMIT n)?
                 (PARAMETERS name = value (, ...)*)?
    Condition -> FieldName Operator Value
A field path resolves through the protos: `ad_group_ad.ad.id` is field `ad` of
resources.AdGroupAd (message resources.Ad), then its field `id`; `segments.x` resolves in
common.Segments, `metrics.x` in common.Metrics. A selected or filtered path must end on a
scalar or enum (a message cannot be selected), and an enum literal must be one of the enum's
value names. What may appear beside a FROM resource is its own fields, `segments.*`,
`metrics.*` and its attributed resources, which the protos do not encode: ATTRIBUTED below
copies them from the resource's reference page.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

# "Attributed resources" of each FROM resource the connectors use: fields of these may be
# selected and filtered with it (they do not segment metrics). One reference page each,
# https://developers.google.com/google-ads/api/fields/v26/<resource> ("Attributed resources"
# table). A FROM resource missing here fails the check until its page has been read and
# copied in (PMax detail FROM asset_group, for one).
ATTRIBUTED: dict[str, frozenset[str]] = {
    # .../fields/v26/customer: the account root, nothing attributed
    "customer": frozenset(),
    # .../fields/v26/campaign
    "campaign": frozenset(
        {
            "accessible_bidding_strategy",
            "bidding_strategy",
            "campaign_budget",
            "campaign_group",
            "customer",
        }
    ),
    # .../fields/v26/ad_group
    "ad_group": frozenset(
        {"accessible_bidding_strategy", "bidding_strategy", "campaign", "customer"}
    ),
    # .../fields/v26/ad_group_ad
    "ad_group_ad": frozenset({"ad_group", "campaign", "customer"}),
    # .../fields/v26/conversion_action ("Attributed resources: customer")
    "conversion_action": frozenset({"customer"}),
    # .../fields/v26/asset ("Attributed resources: customer"; the Search Ads 360 reporting
    # API's asset page, which mirrors it, says the same)
    "asset": frozenset({"customer"}),
}
# Message fields GAQL selects whole: the asset references inside an ad (common/ad_asset.proto).
# Google's own example selects them (google-ads-python examples/basic_operations/
# get_responsive_search_ads.py: `ad_group_ad.ad.responsive_search_ad.headlines`), and the
# fields reference lists them as selectable MESSAGE fields.
SELECTABLE_MESSAGES = frozenset(
    {
        "AdTextAsset",
        "AdImageAsset",
        "AdVideoAsset",
        "AdMediaBundleAsset",
        "AdCallToActionAsset",
    }
)
# The core date segments: selecting one requires a finite date range on the core date
# segments in WHERE (developers.google.com/google-ads/api/docs/query/segmentation,
# "Date segments").
CORE_DATE_SEGMENTS = frozenset(
    {"segments.date", "segments.week", "segments.month", "segments.quarter", "segments.year"}
)
# Date-range literals of DURING (developers.google.com/google-ads/api/docs/query/date-ranges).
DURING = frozenset(
    {
        "TODAY",
        "YESTERDAY",
        "LAST_7_DAYS",
        "LAST_BUSINESS_WEEK",
        "THIS_MONTH",
        "LAST_MONTH",
        "LAST_14_DAYS",
        "LAST_30_DAYS",
        "THIS_WEEK_SUN_TODAY",
        "THIS_WEEK_MON_TODAY",
        "LAST_WEEK_SUN_SAT",
        "LAST_WEEK_MON_SUN",
    }
)
OPERATORS = (
    "=",
    "!=",
    ">=",
    "<=",
    ">",
    "<",
    "IN",
    "NOT IN",
    "LIKE",
    "NOT LIKE",
    "CONTAINS ANY",
    "CONTAINS ALL",
    "CONTAINS NONE",
    "IS NULL",
    "IS NOT NULL",
    "DURING",
    "BETWEEN",
    "REGEXP_MATCH",
    "NOT REGEXP_MATCH",
)
TOKEN = re.compile(
    r"""\s*(?:(?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
                     |(?P<number>-?\d+(?:\.\d+)?)(?![\w.])
                     |(?P<op>!=|>=|<=|[=<>(),])
                     |(?P<word>[A-Za-z_][\w.]*))""",
    re.X,
)
KEYWORDS = frozenset(
    {
        "SELECT",
        "FROM",
        "WHERE",
        "AND",
        "ORDER",
        "BY",
        "ASC",
        "DESC",
        "LIMIT",
        "PARAMETERS",
        "IN",
        "NOT",
        "LIKE",
        "CONTAINS",
        "ANY",
        "ALL",
        "NONE",
        "IS",
        "NULL",
        "DURING",
        "BETWEEN",
        "REGEXP_MATCH",
        "TRUE",
        "FALSE",
    }
)


class GaqlSyntaxError(ValueError):
    """The query does not follow the GAQL grammar."""


@dataclass(frozen=True)
class Condition:
    field: str
    operator: str
    values: tuple[Any, ...]  # strings unquoted, numbers as str, bare words as Word


@dataclass(frozen=True)
class Word:
    """An unquoted literal (DURING LAST_7_DAYS, TRUE, an enum written bare)."""

    text: str


@dataclass
class Query:
    select: list[str] = field(default_factory=list)
    resource: str = ""
    where: list[Condition] = field(default_factory=list)
    order_by: list[str] = field(default_factory=list)
    limit: int | None = None


def tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise GaqlSyntaxError(f"unexpected text at {pos}: {text[pos : pos + 20]!r}")
        kind = match.lastgroup or ""
        value = match.group(kind)
        if kind == "word" and value.upper() in KEYWORDS:
            kind, value = "kw", value.upper()
        out.append((kind, value))
        pos = match.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.items = tokens(text)
        self.at = 0

    def peek(self, *want: str) -> bool:
        return self.at < len(self.items) and self.items[self.at][1] in want

    def take(self, kind: str | None = None, value: str | None = None) -> str:
        if self.at >= len(self.items):
            raise GaqlSyntaxError(f"query ends where {value or kind} was expected")
        got_kind, got = self.items[self.at]
        if (kind and got_kind != kind) or (value and got != value):
            raise GaqlSyntaxError(f"expected {value or kind}, found {got!r}")
        self.at += 1
        return got

    def field_name(self) -> str:
        return self.take("word")

    def value(self) -> Any:
        kind, text = self.items[self.at] if self.at < len(self.items) else ("", "")
        self.at += 1
        if kind == "string":
            return text[1:-1]
        if kind == "number":
            return text
        if kind in ("word", "kw"):
            return Word(text)
        raise GaqlSyntaxError(f"expected a value, found {text!r}")

    def values(self) -> tuple[Any, ...]:
        if not self.peek("("):
            return (self.value(),)
        self.take(value="(")
        out = [self.value()]
        while self.peek(","):
            self.take(value=",")
            out.append(self.value())
        self.take(value=")")
        return tuple(out)

    def operator(self) -> str:
        for op in sorted(OPERATORS, key=lambda o: -len(o.split())):
            words = op.split()
            chunk = [v for _, v in self.items[self.at : self.at + len(words)]]
            if chunk == words:
                self.at += len(words)
                return op
        found = self.items[self.at][1] if self.at < len(self.items) else "end of query"
        raise GaqlSyntaxError(f"expected an operator, found {found!r}")

    def condition(self) -> Condition:
        name = self.field_name()
        op = self.operator()
        if op in ("IS NULL", "IS NOT NULL"):
            return Condition(name, op, ())
        if op == "BETWEEN":
            low = self.value()
            self.take("kw", "AND")
            return Condition(name, op, (low, self.value()))
        return Condition(name, op, self.values())

    def parse(self) -> Query:
        query = Query()
        self.take("kw", "SELECT")
        query.select.append(self.field_name())
        while self.peek(","):
            self.take(value=",")
            query.select.append(self.field_name())
        self.take("kw", "FROM")
        query.resource = self.take("word")
        if self.peek("WHERE"):
            self.take("kw", "WHERE")
            query.where.append(self.condition())
            while self.peek("AND"):
                self.take("kw", "AND")
                query.where.append(self.condition())
        if self.peek("ORDER"):
            self.take("kw", "ORDER")
            self.take("kw", "BY")
            while True:
                query.order_by.append(self.field_name())
                if self.peek("ASC", "DESC"):
                    self.take("kw")
                if not self.peek(","):
                    break
                self.take(value=",")
        if self.peek("LIMIT"):
            self.take("kw", "LIMIT")
            query.limit = int(self.take("number"))
        if self.peek("PARAMETERS"):
            self.take("kw", "PARAMETERS")
            while True:
                self.take("word")
                self.take(value="=")
                self.value()
                if not self.peek(","):
                    break
                self.take(value=",")
        if self.at != len(self.items):
            raise GaqlSyntaxError(f"unexpected {self.items[self.at][1]!r} after the query")
        return query


def parse(text: str) -> Query:
    return _Parser(text).parse()


class Protos:
    """The resource, Segments and Metrics messages of one google-ads API version."""

    def __init__(self, version: str) -> None:
        self.version = version
        self.root = f"google.ads.googleads.{version}"
        common = f"{self.root}.common.types"
        self.segments = importlib.import_module(f"{common}.segments").Segments.pb().DESCRIPTOR
        self.metrics = importlib.import_module(f"{common}.metrics").Metrics.pb().DESCRIPTOR

    def resource(self, name: str) -> Any | None:
        """The descriptor of resources.<Name>, or None when the version has no such resource."""
        if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            return None
        try:
            module = importlib.import_module(f"{self.root}.resources.types.{name}")
        except ImportError:
            return None
        class_name = "".join(part.capitalize() for part in name.split("_"))
        message = getattr(module, class_name, None)
        return message.pb().DESCRIPTOR if message is not None else None

    def leaf(self, path: str) -> tuple[Any | None, str | None]:
        """(the field descriptor `path` ends on, None) or (None, why it does not resolve)."""
        head, *rest = path.split(".")
        if head == "segments":
            message = self.segments
        elif head == "metrics":
            message = self.metrics
        else:
            message = self.resource(head)
            if message is None:
                return None, f"{head!r} is not a resource in google-ads {self.version}"
        if not rest:
            return None, f"{path!r} names a resource, not a field"
        descriptor = None
        for depth, part in enumerate(rest):
            if message is None:
                return None, f"{'.'.join([head, *rest[:depth]])!r} is not a message"
            # proto-plus renames a field whose name is a Python builtin (`type` -> `type_`);
            # GAQL keeps the proto name (`ad_group_ad.ad.type`, `asset.type`).
            descriptor = message.fields_by_name.get(part) or message.fields_by_name.get(f"{part}_")
            if descriptor is None:
                return None, (
                    f"{'.'.join([head, *rest[: depth + 1]])!r}: no field {part!r} in "
                    f"{message.full_name}"
                )
            message = descriptor.message_type
        if (
            descriptor is not None
            and descriptor.message_type is not None
            and descriptor.message_type.name not in SELECTABLE_MESSAGES
        ):
            return (
                None,
                f"{path!r} is a message ({descriptor.message_type.full_name}); "
                "select one of its fields",
            )
        return descriptor, None


def _enum_names(descriptor: Any) -> frozenset[str] | None:
    enum = getattr(descriptor, "enum_type", None)
    return frozenset(v.name for v in enum.values) if enum is not None else None


def _finite_date_range(conditions: list[Condition]) -> bool:
    ops = {c.operator for c in conditions if c.field in CORE_DATE_SEGMENTS}
    return (
        bool(ops & {"BETWEEN", "DURING", "=", "IN"})
        or {">=", "<="} <= ops
        or ({">", "<"} <= ops)
        or ({">=", "<"} <= ops)
        or ({">", "<="} <= ops)
    )


def check(text: str, protos: Protos) -> list[str]:
    """Everything in one GAQL query that the protos (or the tables above) do not allow."""
    try:
        query = parse(text)
    except GaqlSyntaxError as exc:
        return [f"not GAQL ({exc})"]
    problems: list[str] = []
    if protos.resource(query.resource) is None:
        return [f"FROM {query.resource}: no such resource in google-ads {protos.version}"]
    attributed = ATTRIBUTED.get(query.resource)
    if attributed is None:
        problems.append(
            f"FROM {query.resource}: add its attributed resources to ATTRIBUTED in "
            "tests/contracts/gaql.py, citing developers.google.com/google-ads/api/"
            f"fields/{protos.version}/{query.resource}"
        )
        attributed = frozenset()
    allowed = {query.resource, "segments", "metrics", *attributed}
    used = (
        [("SELECT", name) for name in query.select]
        + [("WHERE", c.field) for c in query.where]
        + [("ORDER BY", n) for n in query.order_by]
    )
    for clause, name in used:
        descriptor, why = protos.leaf(name)
        if why:
            problems.append(f"{clause} {name}: {why}")
        elif name.split(".")[0] not in allowed:
            problems.append(
                f"{clause} {name}: {name.split('.')[0]} is not selectable with "
                f"FROM {query.resource} (attributed: {sorted(attributed)})"
            )
    for cond in query.where:
        descriptor, why = protos.leaf(cond.field)
        if why:
            continue
        problems += _check_literals(cond, descriptor)
    if set(query.select) & CORE_DATE_SEGMENTS and not _finite_date_range(query.where):
        problems.append(
            "a core date segment is selected without a finite date range on "
            "the core date segments in WHERE"
        )
    if len(set(query.select)) != len(query.select):
        problems.append("a field is selected twice")
    return problems


def _check_literals(cond: Condition, descriptor: Any) -> list[str]:
    names = _enum_names(descriptor)
    problems = []
    for value in cond.values:
        text = value.text if isinstance(value, Word) else value
        if cond.operator == "DURING":
            if text not in DURING:
                problems.append(f"WHERE {cond.field} DURING {text}: not a date range literal")
        elif names is not None:
            if text not in names:
                problems.append(
                    f"WHERE {cond.field} {cond.operator} {text!r}: not a value of "
                    f"{descriptor.enum_type.full_name}"
                )
        elif cond.field in CORE_DATE_SEGMENTS and cond.field == "segments.date":
            try:
                date.fromisoformat(str(text))
            except ValueError:
                problems.append(f"WHERE {cond.field} {cond.operator} {text!r}: not YYYY-MM-DD")
    return problems
