"""One fake Anthropic Messages API per test module, shared by the Claude tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from metricx.sandbox.fakes.anthropic import FakeAnthropicServer


@pytest.fixture(scope="module")
def server() -> Iterator[FakeAnthropicServer]:
    with FakeAnthropicServer() as fake:
        yield fake
