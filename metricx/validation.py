"""Checks on values people type, shared by the CLI, the pages and the services."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from metricx.errors import InvalidInputError

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 8
#: The largest amount a person can mean (money columns hold up to 10^14).
MAX_AMOUNT = Decimal(10) ** 12


def timezone_name(value: str) -> str:
    value = value.strip()
    if value not in available_timezones():
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidInputError(
                f"unknown time zone {value!r}: use an IANA name such as Europe/Berlin"
            ) from None
    return value


def currency_code(value: str) -> str:
    code = value.strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", code):
        raise InvalidInputError(f"currency must be a 3-letter ISO code such as USD, got {value!r}")
    return code


def email(value: str) -> str:
    address = value.strip().lower()
    if not EMAIL_RE.match(address) or len(address) > 254:
        raise InvalidInputError(f"{value!r} is not an email address")
    return address


def password(value: str) -> str:
    if len(value) < MIN_PASSWORD_LENGTH:
        raise InvalidInputError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(value.encode()) > 72:
        raise InvalidInputError("a password may have at most 72 bytes")  # bcrypt's limit
    return value


def name(value: str, what: str, max_length: int = 120) -> str:
    cleaned = value.strip()
    if not cleaned:
        raise InvalidInputError(f"{what} cannot be empty")
    if len(cleaned) > max_length:
        raise InvalidInputError(f"{what} is longer than {max_length} characters")
    return cleaned


def non_negative_number(value: object, what: str, *, percent: bool = False,
                        maximum: Decimal = MAX_AMOUNT) -> Decimal:
    """An exact amount, rate or share (percent: a fraction between 0 and 1) someone typed.
    "NaN", "Infinity" and amounts beyond `maximum` (typos like 1e30, which the database's
    exact columns could not hold either) are refused like any other bad number."""
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise InvalidInputError(f"{what} must be a number, got {value!r}") from None
    if not number.is_finite():  # before comparing: a NaN cannot be compared
        raise InvalidInputError(f"{what} must be a number, got {value!r}")
    if percent and not 0 <= number <= 1:
        raise InvalidInputError(f"{what} must be between 0 and 1 (e.g. 0.029 for 2.9 %), "
                                f"got {value!r}")
    if not 0 <= number <= maximum:
        raise InvalidInputError(f"{what} must be 0 or more and at most {maximum:,}, "
                                f"got {value!r}")
    return number
