"""Shared plumbing: retry policy, exact number conversions, network failures."""

from __future__ import annotations

import socket
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metricx.connectors.errors import (
    AuthError,
    MalformedResponseError,
    RateLimitedError,
    TransientError,
)
from metricx.connectors.google_ads import parse_duration
from metricx.connectors.http import RetryPolicy, retrying
from metricx.connectors.meta import MetaClient
from metricx.connectors.values import decimal, from_micros, from_minor_units, integer


def _failing(errors: list[Exception], result: str = "ok"):
    calls = []

    def call() -> str:
        calls.append(1)
        if errors:
            raise errors.pop(0)
        return result

    return call, calls


def test_retryable_errors_are_retried_with_exponential_backoff() -> None:
    call, calls = _failing([TransientError("meta", "x"), TransientError("meta", "y")])
    sleeps: list[float] = []
    assert retrying(call, policy=RetryPolicy(base_delay=1.5), sleep=sleeps.append) == "ok"
    assert sleeps == [1.5, 3.0] and len(calls) == 3


def test_a_platform_hint_wins_over_backoff_unless_it_is_too_long() -> None:
    sleeps: list[float] = []
    call, _ = _failing([RateLimitedError("google", "slow down", retry_after=42)])
    retrying(call, policy=RetryPolicy(), sleep=sleeps.append)
    assert sleeps == [42.0]
    call, calls = _failing([RateLimitedError("google", "banned", retry_after=3600)])
    with pytest.raises(RateLimitedError):
        retrying(call, policy=RetryPolicy(max_wait=120), sleep=sleeps.append)
    assert len(calls) == 1 and sleeps == [42.0]


def test_non_retryable_errors_are_raised_at_once() -> None:
    call, calls = _failing([AuthError("shopify", "token revoked")])
    with pytest.raises(AuthError):
        retrying(call, policy=RetryPolicy(), sleep=lambda s: None)
    assert len(calls) == 1


def test_backoff_is_capped() -> None:
    policy = RetryPolicy(base_delay=10, max_delay=25)
    assert [policy.delay(n, TransientError("x", "y")) for n in (1, 2, 3, 4)] == [10, 20, 25, 25]


@given(st.integers(min_value=0, max_value=2**63 - 1))
def test_micros_convert_exactly(micros: int) -> None:
    value = from_micros("google", str(micros), "costMicros")
    assert value * 1_000_000 == micros
    assert isinstance(value, Decimal)


def test_number_formats() -> None:
    assert decimal("meta", "12.34", "spend") == Decimal("12.34")
    assert decimal("meta", None, "spend") == 0
    assert integer("meta", "1000", "impressions") == 1000
    assert from_minor_units("meta", "5000", "USD", "budget") == Decimal("50.00")
    assert from_minor_units("meta", "5000", "JPY", "budget") == Decimal(5000)
    assert from_minor_units("meta", None, "USD", "budget") is None
    assert parse_duration("30s") == 30.0 and parse_duration("1.5s") == 1.5
    with pytest.raises(MalformedResponseError):
        decimal("meta", "12,34", "spend")
    with pytest.raises(MalformedResponseError):
        integer("meta", "1.5", "impressions")


def test_an_unreachable_platform_is_a_transient_error() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sleeps: list[float] = []
    client = MetaClient(
        "t",
        base_url=f"http://127.0.0.1:{port}",
        sleep=sleeps.append,
        retry=RetryPolicy(max_attempts=2),
        timeout=2,
    )
    with pytest.raises(TransientError, match="Could not reach Meta"):
        client.account_info("123")
    assert sleeps == [2.0]
