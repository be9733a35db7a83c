"""Drive every public read of a connector client against the sandbox and keep what it sent.

The connectors are being rewritten while these contracts stand, so nothing here names a query:
the driver finds the client's public methods, fills their parameters by name and annotation
(account ids, date windows, `hourly`-style flags both ways, `updated_since` moments), calls
each combination, drains generators, and files every request the fake servers recorded under
the call that sent it. A public method the driver cannot call is listed, never skipped in
silence, so a new read is either driven or explicitly exempted here.
"""

from __future__ import annotations

import inspect
import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from metricx.connectors.http import BaseClient
from metricx.sandbox.fakes.faults import RecordedRequest
from metricx.sandbox.servers import SandboxServers

ACCOUNT_NAMES = frozenset({"account_id", "ad_account_id", "customer_id", "account", "customer"})
START_NAMES = frozenset({"since", "start", "start_date", "date_from", "from_date", "first_day"})
END_NAMES = frozenset({"until", "end", "end_date", "date_to", "to_date", "last_day"})
# Public methods that are not data reads, or that only run queries built by other methods.
NOT_READS = frozenset(
    {
        "close",
        "exchange_token",
        "exchange_code",
        "refresh_access_token",
        "refresh",  # OAuth tokens
        "search",
        "search_stream",
        "graphql",  # generic runners: driven through the reads
    }
)


@dataclass(frozen=True)
class Inputs:
    """The values the driver may pass: one account, date windows, days and moments."""

    account_id: str | None
    windows: tuple[tuple[date, date], ...]
    days: tuple[date, ...]
    moments: tuple[datetime | None, ...]


@dataclass
class Call:
    """One call of one public method and every request it sent."""

    client: str
    method: str
    kwargs: dict[str, Any]
    requests: list[RecordedRequest] = field(default_factory=list)
    error: BaseException | None = None

    @property
    def label(self) -> str:
        args = ", ".join(f"{k}={v!s}" for k, v in self.kwargs.items())
        return f"{self.client}.{self.method}({args})"


@dataclass
class Traffic:
    """Everything one client sent while the driver called its reads."""

    calls: list[Call] = field(default_factory=list)
    undriven: dict[str, str] = field(default_factory=dict)  # method -> why it was not called

    def sent(self) -> Iterator[tuple[Call, RecordedRequest]]:
        for call in self.calls:
            for request in call.requests:
                yield call, request

    def methods(self) -> set[str]:
        return {call.method for call in self.calls}


def public_reads(client: BaseClient) -> list[str]:
    """The client's public methods, minus BaseClient plumbing and the NOT_READS."""
    names = []
    for name, member in inspect.getmembers(type(client)):
        if name.startswith("_") or name in NOT_READS or hasattr(BaseClient, name):
            continue
        if isinstance(inspect.getattr_static(type(client), name), property):
            continue
        if callable(member):
            names.append(name)
    return sorted(names)


def _kind(parameter: inspect.Parameter) -> str:
    """datetime | date | bool | other, from the (string) annotation or the default."""
    text = str(parameter.annotation)
    if "datetime" in text:
        return "datetime"
    if "date" in text:
        return "date"
    if "bool" in text or isinstance(parameter.default, bool):
        return "bool"
    return "other"


def bindings(method: Callable[..., Any], inputs: Inputs) -> list[dict[str, Any]] | str:
    """Every keyword combination to call `method` with, or why it cannot be called."""
    params = [
        p
        for p in inspect.signature(method).parameters.values()
        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    dates = [p for p in params if _kind(p) == "date"]
    start = next((p.name for p in dates if p.name in START_NAMES), None)
    end = next((p.name for p in dates if p.name in END_NAMES), None)
    axes: list[list[dict[str, Any]]] = []
    if start and end:
        axes.append([{start: since, end: until} for since, until in inputs.windows])
    for p in params:
        if p.name in (start, end) and start and end:
            continue
        kind = _kind(p)
        if kind == "date":
            choices: list[Any] = list(inputs.days)
        elif kind == "datetime":
            choices = [
                m
                for m in inputs.moments
                if m is not None or "None" in str(p.annotation) or p.default is None
            ]
        elif kind == "bool":
            choices = [False, True]
        elif (
            p.name in ACCOUNT_NAMES
            and inputs.account_id is not None
            and (p.default is p.empty or "str" in str(p.annotation))
        ):
            choices = [inputs.account_id]  # an id; an optional object (AccountInfo) is left
        elif p.default is not p.empty:
            continue
        else:
            return f"the driver has no value for required parameter {p.name!r}"
        axes.append([{p.name: c} for c in choices])
    return [dict(kv for part in combo for kv in part.items()) for combo in itertools.product(*axes)]


def _drain(result: Any) -> None:
    if isinstance(result, Iterator) or inspect.isgenerator(result):
        for _ in result:
            pass
    elif isinstance(result, Iterable) and not isinstance(result, str | bytes | dict):
        list(result)


def drive(
    name: str,
    client: BaseClient,
    sandbox: SandboxServers,
    inputs: Inputs,
    traffic: Traffic | None = None,
    only: Iterable[str] | None = None,
) -> Traffic:
    """Call every public read of `client` (or those in `only`) and record what each sent."""
    traffic = traffic or Traffic()
    wanted = set(only) if only is not None else None
    for method_name in public_reads(client):
        if wanted is not None and method_name not in wanted:
            continue
        method = getattr(client, method_name)
        combos = bindings(method, inputs)
        if isinstance(combos, str):
            traffic.undriven[method_name] = combos
            continue
        for kwargs in combos:
            call = Call(name, method_name, kwargs)
            sandbox.requests.clear()
            try:
                _drain(method(**kwargs))
            except Exception as exc:  # recorded: the contract still checks what was sent
                call.error = exc
            call.requests = sandbox.requests.of()
            traffic.calls.append(call)
    return traffic


def accepted(factory: Callable[..., Any], options: dict[str, Any]) -> dict[str, Any]:
    """The options `factory` accepts (a rewritten constructor may have dropped some)."""
    params = inspect.signature(factory).parameters
    if any(p.kind == p.VAR_KEYWORD for p in params.values()):
        return dict(options)
    return {k: v for k, v in options.items() if k in params}


def report(items: Iterable[str] | dict[str, str]) -> str:
    """A failure message listing every item on its own line (pytest would truncate)."""
    lines = [f"{k}: {v}" for k, v in items.items()] if isinstance(items, dict) else list(items)
    return f"{len(lines)} problem(s):\n" + "\n".join(f"- {line}" for line in lines)
