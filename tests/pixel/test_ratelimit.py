"""Per-client token buckets (metricx.pixel.ratelimit) on a clock the test moves."""

from __future__ import annotations

from metricx.pixel import ratelimit
from metricx.pixel.ratelimit import TokenBuckets


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_client_gets_its_burst_then_one_request_per_refill():
    # Given 60 a minute (one a second) with a burst of 3
    clock = Clock()
    buckets = TokenBuckets(per_minute=60, burst=3, clock=clock)
    # Then 3 go at once, the 4th is told to wait one second
    assert [buckets.take("1.2.3.4") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("1.2.3.4") == 1.0
    # And half a second later it still waits half a second; after it, it may go
    clock.now += 0.5
    assert buckets.take("1.2.3.4") == 0.5
    clock.now += 0.5
    assert buckets.take("1.2.3.4") == 0.0


def test_clients_do_not_share_a_bucket():
    buckets = TokenBuckets(per_minute=1, burst=1, clock=Clock())
    assert buckets.take("10.0.0.1") == 0.0 and buckets.take("10.0.0.1") > 0
    assert buckets.take("10.0.0.2") == 0.0


def test_a_long_pause_refills_up_to_the_burst_only():
    clock = Clock()
    buckets = TokenBuckets(per_minute=60, burst=2, clock=clock)
    buckets.take("c")
    clock.now += 3600
    assert [buckets.take("c") > 0 for _ in range(3)] == [False, False, True]


def test_idle_clients_are_forgotten_when_the_table_is_full(monkeypatch):
    # Given a table of at most 3 clients, two of them idle long enough to be full again
    monkeypatch.setattr(ratelimit, "MAX_CLIENTS", 3)
    clock = Clock()
    buckets = TokenBuckets(per_minute=60, burst=1, clock=clock)
    buckets.take("idle-1")
    buckets.take("idle-2")
    clock.now += 5
    buckets.take("busy-1")
    # When a fourth client arrives
    buckets.take("busy-2")
    # Then the idle ones are dropped (as good as new), the busy one still has to wait
    assert set(buckets._buckets) == {"busy-1", "busy-2"}
    assert buckets.take("busy-1") > 0
