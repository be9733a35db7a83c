"""Check a Graph API request against the official Python SDK (facebook-business).

For each request the SDK builds the same call itself without sending it (`pending=True`):
`AdAccount.get_insights`, `AdAccount.get_campaigns`, `AdReportRun.api_get`, ... That request
object carries the SDK's own lists: the fields the target object accepts (`Field`) and the
parameter types with their enums (`Breakdowns`, `Level`, `ActionBreakdowns`, ...). A
field, parameter or enum value the SDK does not know is a problem; so is a path the mapping
below cannot place (it has to be added here, with the SDK method that builds it).
"""

from __future__ import annotations

import importlib
import inspect
import json
import re
from dataclasses import dataclass
from typing import Any

from facebook_business.adobjects.adaccount import AdAccount
from facebook_business.adobjects.adreportrun import AdReportRun
from facebook_business.adobjects.adsinsights import AdsInsights
from facebook_business.api import FacebookRequest

# Graph API parameters on every edge, outside the SDK's per-method lists: the token and its
# proof (developers.facebook.com/docs/graph-api/securing-requests), cursor paging
# (developers.facebook.com/docs/graph-api/results: limit, before, after) and field selection.
GRAPH_WIDE = frozenset({"access_token", "appsecret_proof", "limit", "after", "before", "fields"})
# `filtering` is typed by the SDK on the insights edges only (list<Object>); incremental
# entity reads send it on the object edges too (shared/reference/external-apis.md, "Meta").
# Wherever it appears, each entry's field must be an SDK field and its operator an
# AdsInsights.Operator.
FILTER_PARAM = "filtering"
FILTER_OBJECTS = {"account": "AdAccount", "campaign": "Campaign", "adset": "AdSet", "ad": "Ad"}
OAUTH_PATH = re.compile(r"^/oauth/access_token$")


def enum_values(enum_class: type) -> frozenset[str]:
    """An SDK enum's values (the SDK's own checker also accepts `__module__` etc.)."""
    return frozenset(
        v for k, v in vars(enum_class).items() if not k.startswith("_") and isinstance(v, str)
    )


def field_names(target: type) -> frozenset[str]:
    return enum_values(target.Field)


@dataclass(frozen=True)
class Problem:
    what: str

    def __str__(self) -> str:
        return self.what


def sdk_methods(cls: type) -> dict[tuple[str, str], str]:
    """(HTTP method, edge) -> the SDK method of `cls` that builds that call, read from the
    generated code itself (`method='GET'`, `endpoint='/adsets'` -> get_ad_sets)."""
    table: dict[tuple[str, str], str] = {}
    for name, function in inspect.getmembers(cls, inspect.isfunction):
        if not re.match(r"(get|create)_", name):
            continue
        source = inspect.getsource(function)
        verb = re.search(r"method='(\w+)'", source)
        endpoint = re.search(r"endpoint='/([^']*)'", source)
        if verb and endpoint:
            table.setdefault((verb.group(1), endpoint.group(1)), name)
    return table


NODES: dict[str, tuple[type, dict[tuple[str, str], str]]] = {
    "act_": (AdAccount, sdk_methods(AdAccount)),
    # A bare numeric node is only ever polled as an async report run: the id came back
    # from POST act_<id>/insights (AdAccount.get_insights_async -> AdReportRun).
    "": (AdReportRun, sdk_methods(AdReportRun)),
}


def sdk_request(method: str, path: str, version: str) -> FacebookRequest | str | None:
    """The SDK's pending request for this Graph call; a reason string when unmapped;
    None for the OAuth token exchange (not a Marketing API object)."""
    rest = path.removeprefix(f"/{version}")
    if OAUTH_PATH.match(rest):
        return None
    parts = [p for p in rest.split("/") if p]
    node, edge = (parts[0], "/".join(parts[1:])) if parts else ("", "")
    kind = "act_" if node.startswith("act_") else "" if node.isdigit() else None
    if kind is not None:
        cls, table = NODES[kind]
        obj = cls(node)
        if not edge and method == "GET":
            return obj.api_get(pending=True)
        builder = table.get((method, edge))
        if builder is not None:
            return getattr(obj, builder)(pending=True)
    return (
        f"{method} {path}: not mapped to an SDK call; map it in tests/contracts/"
        "meta_sdk.py (NODES) to the facebook-business object whose method builds it"
    )


def split_fields(spec: str) -> list[tuple[str, str | None]]:
    """'a,b{c,d},e.limit(5){f}' -> [('a', None), ('b', 'c,d'), ('e', 'f')]."""
    out: list[tuple[str, str | None]] = []
    depth, token = 0, ""
    for char in spec + ",":
        if char == "," and depth == 0:
            token = token.strip()
            if token:
                name = re.split(r"[.{(]", token, maxsplit=1)[0]
                nested = token[token.index("{") + 1 : token.rindex("}")] if "{" in token else None
                out.append((name, nested))
            token = ""
            continue
        depth += char in "{("
        depth -= char in "})"
        token += char
    return out


def _class_for(type_name: str) -> type | None:
    """'list<AdCreative>' -> facebook_business.adobjects.adcreative.AdCreative."""
    name = type_name.removeprefix("list<").removesuffix(">")
    try:
        module = importlib.import_module(f"facebook_business.adobjects.{name.lower()}")
    except ImportError:
        return None
    return getattr(module, name, None)


def check_fields(
    spec: str, accepted: frozenset[str], target: type | None, where: str
) -> list[Problem]:
    problems = []
    for name, nested in split_fields(spec):
        if name not in accepted:
            owner = target.__name__ if target else "the target object"
            problems.append(
                Problem(f"{where}: field {name!r} is not in {owner}.Field (facebook-business)")
            )
            continue
        if nested is not None and target is not None:
            inner = _class_for(getattr(target, "_field_types", {}).get(name, ""))
            if inner is None or not hasattr(inner, "Field"):
                problems.append(
                    Problem(
                        f"{where}: cannot resolve the type of expanded field {name!r} in the SDK"
                    )
                )
            else:
                problems += check_fields(nested, field_names(inner), inner, f"{where}/{name}")
    return problems


def _decode(value: str, declared: str) -> Any:
    """A wire value in the shape the SDK's TypeChecker expects for `declared`."""
    if declared.startswith(("list", "map")) or declared in ("Object",):
        text = value.strip()
        if text.startswith(("[", "{")):
            return json.loads(text)
        return [v.strip() for v in text.split(",")] if declared.startswith("list") else text
    return value


def _enum_for(request: FacebookRequest, declared: str) -> frozenset[str] | None:
    """The strict value set of an enum-typed parameter (list<x_enum> or x_enum)."""
    inner = declared.removeprefix("list<").removesuffix(">")
    checker = request._param_checker
    if inner not in checker._enum_data:
        return None
    return frozenset(
        v
        for v in checker._enum_data[inner]
        if isinstance(v, str) and not v.startswith("facebook_business")
    )


def check_filtering(value: str, where: str) -> list[Problem]:
    try:
        entries = json.loads(value)
    except ValueError:
        return [Problem(f"{where}: filtering is not JSON: {value!r}")]
    problems = []
    operators = enum_values(AdsInsights.Operator)
    for entry in entries if isinstance(entries, list) else [entries]:
        if not isinstance(entry, dict) or set(entry) - {"field", "operator", "value"}:
            problems.append(
                Problem(f"{where}: filtering entry {entry!r} is not {{field, operator, value}}")
            )
            continue
        if entry.get("operator") not in operators:
            problems.append(
                Problem(
                    f"{where}: filtering operator {entry.get('operator')!r} "
                    "is not in AdsInsights.Operator"
                )
            )
        obj, _, attr = str(entry.get("field")).rpartition(".")
        class_name = FILTER_OBJECTS.get(obj)
        if class_name is None:
            if attr not in field_names(AdsInsights):
                problems.append(
                    Problem(
                        f"{where}: filtering field {entry.get('field')!r} is "
                        "neither <object>.<field> nor an AdsInsights field"
                    )
                )
            continue
        cls = _class_for(class_name)
        if cls is None or attr not in field_names(cls):
            problems.append(
                Problem(
                    f"{where}: filtering field {entry.get('field')!r}: "
                    f"{attr!r} is not a field of {obj}"
                )
            )
    return problems


def check_request(
    method: str,
    path: str,
    params: dict[str, str],
    version: str,
) -> list[Problem]:
    """Everything in one Graph request that the SDK does not know."""
    where = f"{method} {path}"
    request = sdk_request(method, path, version)
    if request is None:
        return []
    if isinstance(request, str):
        return [Problem(request)]
    target = request._target_class
    accepted = frozenset(request._accepted_fields)
    problems: list[Problem] = []
    checker = request._param_checker
    for key, value in params.items():
        if key == "fields":
            if request._endpoint.strip("/") == "insights" and target is not AdsInsights:
                # An async run (POST .../insights -> AdReportRun) takes the report's row
                # fields as a plain list<string> parameter: they are AdsInsights fields.
                problems += check_fields(value, field_names(AdsInsights), AdsInsights, where)
            else:
                problems += check_fields(value, accepted, target, where)
            continue
        if key == FILTER_PARAM:
            problems += check_filtering(value, where)
            continue
        declared = checker.get_type(key)
        if declared is None:
            if key not in GRAPH_WIDE:
                problems.append(
                    Problem(
                        f"{where}: parameter {key!r} is not one the SDK sends "
                        f"to this endpoint ({sorted(checker._type_check_info)})"
                    )
                )
            continue
        problems += check_value(request, key, declared, value, where)
    return problems


def check_value(
    request: FacebookRequest, key: str, declared: str, value: str, where: str
) -> list[Problem]:
    try:
        decoded = _decode(value, declared)
    except ValueError:
        return [Problem(f"{where}: {key}={value!r} is not valid JSON for {declared}")]
    allowed = _enum_for(request, declared)
    if allowed is not None:
        values = decoded if isinstance(decoded, list) else [decoded]
        unknown = [v for v in values if v not in allowed]
        return [
            Problem(f"{where}: {key} value {v!r} is not in the SDK's {declared}") for v in unknown
        ]
    if key == "time_increment":
        ok = value in enum_values(AdsInsights.Increment) or (
            value.isdigit() and 1 <= int(value) <= 90
        )
        return (
            []
            if ok
            else [Problem(f"{where}: time_increment={value!r} is not 1..90, monthly or all_days")]
        )
    if key == "time_range":
        if not isinstance(decoded, dict) or set(decoded) != {"since", "until"}:
            return [Problem(f"{where}: time_range={value!r} is not {{since, until}}")]
        return []
    if not request._param_checker.is_type(declared, decoded):
        return [Problem(f"{where}: {key}={value!r} is not a {declared} for the SDK")]
    return []
