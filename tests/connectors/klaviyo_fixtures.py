"""The fake Klaviyo API serving a small merchant, and clients pointed at it.

The fake's rate limiter runs on a Ticker that the clients' sleep advances: a client that
waits the Retry-After it was given finds the window open again, at no real cost in time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from metricx.connectors.klaviyo import KlaviyoClient
from metricx.sandbox.clock import SandboxClock
from metricx.sandbox.credentials import SandboxCredentials
from metricx.sandbox.email_program import EmailProgram
from metricx.sandbox.fakes.base import FakeServer
from metricx.sandbox.fakes.faults import FaultPlan, RequestLog
from metricx.sandbox.fakes.klaviyo import LIMITS, SCOPES, KlaviyoFake, Ticker
from metricx.sandbox.merchant import Merchant

NOW = datetime(2026, 12, 4, 17, 30, tzinfo=UTC)  # mid-day in New York, Black Friday passed
KNOBS: dict[str, Any] = {
    "seed": 13,
    "ads": 24,
    "campaigns": 6,
    "days": 75,
    "orders_per_day": 40,
    "today": NOW.date(),
}
CREDENTIALS = SandboxCredentials()


@dataclass
class KlaviyoSandbox:
    """One fake Klaviyo on a free port, the truth it serves, and what it was sent."""

    fake: KlaviyoFake
    server: FakeServer
    faults: FaultPlan
    log: RequestLog
    ticker: Ticker
    sleeps: list[float] = field(default_factory=list)

    @property
    def program(self) -> EmailProgram:
        return self.fake.program

    @property
    def url(self) -> str:
        return self.server.url

    def sleep(self, seconds: float) -> None:
        """A client's sleep: recorded, and the fake's rate-limit clock moves on."""
        self.sleeps.append(seconds)
        self.ticker.advance(seconds)

    def client(self, **knobs: Any) -> KlaviyoClient:
        knobs.setdefault("sleep", self.sleep)
        knobs.setdefault("monotonic", self.ticker)
        return KlaviyoClient(
            knobs.pop("private_key", CREDENTIALS.klaviyo_private_key), base_url=self.url, **knobs
        )

    def reset(self) -> None:
        """No faults, an empty log, no waits, the documented limits, every scope, fresh
        rate-limit windows (a day later on the ticker), the clock at NOW."""
        self.faults.clear()
        self.log.clear()
        self.sleeps.clear()
        self.fake.limits = dict(LIMITS)
        self.fake.scopes = set(SCOPES.values())
        self.fake.clock.set(NOW)
        self.ticker.advance(86_400)


def start_klaviyo() -> Iterator[KlaviyoSandbox]:
    """A started fake for a module (use as a generator fixture); stopped at the end."""
    clock = SandboxClock(NOW)
    plan, log, ticker = FaultPlan(), RequestLog(), Ticker(1_000_000.0)
    fake = KlaviyoFake(Merchant(**KNOBS), clock, plan, CREDENTIALS, ticker=ticker)
    server = FakeServer(fake, log).start()
    try:
        yield KlaviyoSandbox(fake, server, plan, log, ticker)
    finally:
        server.stop()
