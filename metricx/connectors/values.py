"""Exact conversions of the platforms' number formats into Decimal and int."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from metricx.connectors.errors import MalformedResponseError, provider_name

MICROS = Decimal(1_000_000)
# Currencies Meta reports budgets for without a minor unit ("offset 1" in its docs).
NO_MINOR_UNIT = frozenset(
    {"CLP", "COP", "CRC", "HUF", "IDR", "ISK", "JPY", "KRW", "PYG", "TWD", "VND"}
)


def decimal(provider: str, value: Any, what: str) -> Decimal:
    """A number that may arrive as a string ("12.34"), int or Decimal; missing means 0."""
    if value is None or value == "":
        return Decimal(0)
    try:
        return Decimal(str(value)) if not isinstance(value, Decimal) else value
    except InvalidOperation as exc:
        raise MalformedResponseError(
            provider, f"{provider_name(provider)} sent {what}={value!r}, which is not a number"
        ) from exc


def integer(provider: str, value: Any, what: str) -> int:
    """An int64 that may arrive as a string ("1000"); missing means 0."""
    number = decimal(provider, value, what)
    if number != number.to_integral_value():
        raise MalformedResponseError(
            provider, f"{provider_name(provider)} sent {what}={value!r}, expected a whole number"
        )
    return int(number)


def from_micros(provider: str, value: Any, what: str) -> Decimal:
    """Google money: int64 micros as a string -> exact Decimal (12500000 -> 12.5)."""
    return Decimal(integer(provider, value, what)) / MICROS


def from_minor_units(provider: str, value: Any, currency: str, what: str) -> Decimal | None:
    """Meta budgets: minor units as a string ("5000" USD -> 50.00); None when absent."""
    if value in (None, "", "0"):
        return None
    amount = Decimal(integer(provider, value, what))
    return amount if currency.upper() in NO_MINOR_UNIT else amount.scaleb(-2)
