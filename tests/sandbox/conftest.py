"""Shared fixtures for the sandbox tests: one small merchant and one set of fake servers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import httpx
import pytest

from metricx.sandbox.merchant import Merchant
from metricx.sandbox.servers import SandboxServers

TODAY = date(2025, 11, 25)
NOW = datetime(2025, 11, 25, 17, 42, 13, tzinfo=UTC)  # mid-afternoon in New York
KNOBS = {"seed": 7, "ads": 36, "campaigns": 12, "days": 45, "orders_per_day": 40, "today": TODAY}


@pytest.fixture(scope="session")
def today() -> date:
    return TODAY


@pytest.fixture(scope="session")
def now() -> datetime:
    return NOW


@pytest.fixture(scope="session")
def knobs() -> dict[str, object]:
    return dict(KNOBS)


@pytest.fixture(scope="session")
def merchant() -> Merchant:
    """A small merchant (fast to generate) anchored on TODAY."""
    return Merchant(**KNOBS)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServers]:
    """Fake APIs serving a small merchant, clock pinned at NOW."""
    with SandboxServers(now=NOW, **KNOBS) as servers:
        yield servers


@pytest.fixture(autouse=True)
def _clean(request: pytest.FixtureRequest) -> Iterator[None]:
    """Tests that use the servers start with no faults, an empty log and the clock at NOW."""
    if "sandbox" not in request.fixturenames:
        yield
        return
    servers: SandboxServers = request.getfixturevalue("sandbox")
    servers.reset()
    servers.now = NOW
    yield
    servers.reset()
    servers.now = NOW


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:
        yield client
