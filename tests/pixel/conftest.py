"""The collector as browsers reach it: the real app under uvicorn on loopback (in a thread),
writing into the session's PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest
from pixel_support import Collector
from served import serve
from starlette.types import ASGIApp

from metricx.config import get_config
from metricx.pixel.app import CollectorSettings, create_app
from metricx.pixel.writer import EventSink


@pytest.fixture
def start_collector(db: None) -> Iterator[Callable[..., Collector]]:
    """start_collector(sink=None, wrap=None, **settings) -> a running collector, stopped after
    the test; `wrap` may put an ASGI app around it (e.g. RequestLog.wrap). Unless a test says
    otherwise the rate limit is out of the way (every client is 127.0.0.1)."""
    running: list[Collector] = []

    def start(
        sink: EventSink | None = None,
        wrap: Callable[[ASGIApp], ASGIApp] | None = None,
        **overrides: int,
    ) -> Collector:
        settings = replace(
            CollectorSettings.from_config(get_config()),
            **{"rate_per_minute": 10**6, "rate_burst": 10**6, **overrides},
        )
        app = create_app(settings, sink)
        collector = Collector(*serve(wrap(app) if wrap else app, "collector"))
        running.append(collector)
        return collector

    yield start
    for collector in running:
        collector.stop()


@pytest.fixture
def collector(start_collector: Callable[..., Collector]) -> Collector:
    return start_collector()
