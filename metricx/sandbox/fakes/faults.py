"""Scriptable failures for the fake APIs, and the log of every request they received.

A test says what should go wrong and how often (`faults.add(provider="meta", kind="throttle",
times=2)`); the next matching requests get that failure, in the order faults were added. Each
fake declares which kinds a request can suffer (a short page only hits a paged list, an
invalid_grant only the token endpoint), so a fault is never wasted on the wrong request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from threading import Lock
from typing import Any

KINDS = {
    "meta": {
        "throttle",
        "server_error",
        "transient",
        "reduce_data",
        "auth",
        "malformed",
        "short_page",
        "job_failed",
        "usage_high",
        "bad_request",
        "too_much_data",
    },
    "google": {
        "throttle",
        "server_error",
        "auth",
        "invalid_grant",
        "malformed",
        "stream_error",
        "short_page",
        "bad_request",
    },
    "shopify": {
        "throttle",
        "server_error",
        "auth",
        "malformed",
        "short_page",
        "max_cost",
        "bad_request",
    },
    "anthropic": {
        "throttle",
        "overloaded",
        "server_error",
        "auth",
        "bad_request",
        "stream_error",
        "malformed",
    },
    # metricx/sandbox/fakes/slack.py FAULT_KINDS: what each answers, and Slack's docs on it
    "slack": {"rate_limit", "server_error", "archived"},
    # metricx/sandbox/fakes/tiktok.py FAULT_KINDS, with the Return Codes each answers
    "tiktok": {
        "throttle",
        "server_error",
        "system_error",
        "expired_token",
        "revoked_token",
        "no_permission",
        "bad_request",
        "malformed",
        "task_failed",
    },
    # metricx/sandbox/fakes/klaviyo.py FAULT_KINDS, with the JSON:API errors each answers
    "klaviyo": {
        "throttle",
        "server_error",
        "auth",
        "forbidden",
        "bad_request",
        "malformed",
        "short_page",
    },
}


@dataclass
class Fault:
    """`times` more requests matching provider/kind/`match` (a path substring) will fail."""

    provider: str
    kind: str
    times: int = 1
    match: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    used: int = 0


@dataclass(frozen=True)
class RecordedRequest:
    """One request as a fake saw it; `params` merges the query string and a form body."""

    provider: str
    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    body: Any
    fault: str | None


class FaultPlan:
    """Pending faults for all fakes (thread-safe: the servers are multi-threaded)."""

    def __init__(self) -> None:
        self._lock = Lock()
        self._faults: list[Fault] = []

    def add(
        self, provider: str, kind: str, *, times: int = 1, match: str | None = None, **params: Any
    ) -> Fault:
        """Schedule a failure; see KINDS for what each provider supports."""
        if kind not in KINDS.get(provider, ()):
            raise ValueError(
                f"unknown fault {kind!r} for {provider!r}; known: {sorted(KINDS.get(provider, ()))}"
            )
        fault = Fault(provider, kind, times, match, dict(params))
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, provider: str, path: str, applies: Callable[[str], bool]) -> Fault | None:
        """Consume one use of the first pending fault that fits this request."""
        with self._lock:
            for fault in self._faults:
                if fault.provider != provider or fault.used >= fault.times:
                    continue
                if fault.match is not None and fault.match not in path:
                    continue
                if fault.match is None and not applies(fault.kind):
                    continue
                fault.used += 1
                return fault
        return None

    def pending(self, provider: str | None = None) -> list[Fault]:
        with self._lock:
            return [
                f
                for f in self._faults
                if f.used < f.times and (provider is None or f.provider == provider)
            ]

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()


class RequestLog:
    """Every request received, in order; tests assert on what the connectors sent."""

    def __init__(self) -> None:
        self._lock = Lock()
        self._items: list[RecordedRequest] = []

    def add(self, item: RecordedRequest) -> None:
        with self._lock:
            self._items.append(item)

    def of(
        self, provider: str | None = None, *, path: str | None = None, method: str | None = None
    ) -> list[RecordedRequest]:
        """Requests filtered by provider, path substring and method."""
        with self._lock:
            items = list(self._items)
        return [
            r
            for r in items
            if (provider is None or r.provider == provider)
            and (path is None or path in r.path)
            and (method is None or r.method == method)
        ]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def __iter__(self) -> Iterator[RecordedRequest]:
        return iter(self.of())
