"""Checks on values people and platforms give, shared by the CLI, the pages and the services:
the one boundary every text, amount, id and date passes before it reaches the database.

Each check returns the clean value or raises InvalidInputError naming the field and what to
do; a message repeats a given value only through `quoted`, cut short.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from metricx.errors import InvalidInputError

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 8
#: The largest amount a person can mean (money columns hold up to 10^14).
MAX_AMOUNT = Decimal(10) ** 12
#: Decimals the exact columns keep (money and shares: 6); more are rounded, as PostgreSQL would.
AMOUNT_PLACES = 6
#: The largest ids PostgreSQL's integer and bigint columns hold.
MAX_INT = 2**31 - 1
MAX_BIGINT = 2**63 - 1
#: The calendar Metricx reports on: a date outside it is a typo (year 0001 or 9999), and the
#: UTC bounds of its days would not exist.
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2100, 12, 31)
#: Controls a text of several lines may hold; a one-line text holds none.
LINE_CONTROLS = frozenset("\t\n\r")
#: How much of a given value a message repeats.
QUOTED_LENGTH = 60


def quoted(value: object, limit: int = QUOTED_LENGTH) -> str:
    """`value` as a message repeats it: its repr (escapes NUL, controls and surrogates), cut to
    `limit` characters, so kilobytes pasted by mistake come back as a few words."""
    try:
        text = repr(value)
    except ValueError:  # an int of more than 4,300 digits has no repr
        text = f"a number of more than {len(str(MAX_BIGINT))} digits"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _bad_character(text: str, lines: bool) -> str | None:
    """What is wrong with a character of `text`, or None: NUL, a control character, or a lone
    surrogate (half of a UTF-16 pair: no UTF-8 encoding exists, PostgreSQL cannot take it)."""
    for character in text:
        if character == "\x00":
            return "a NUL character (\\x00)"
        if "\ud800" <= character <= "\udfff":
            return f"an invalid character ({character!r}, a lone surrogate)"
        if unicodedata.category(character) == "Cc" and not (lines and character in LINE_CONTROLS):
            return f"a control character ({character!r})"
    return None


def plain_text(value: object, what: str, max_length: int, *, lines: bool = False) -> str:
    """Text as a person or platform gave it, stripped: refused when it is not text, is longer
    than `max_length`, or holds NUL, a lone surrogate or a control character (`lines`: tab,
    newline and carriage return are allowed, as in a question pasted over several lines)."""
    if not isinstance(value, str):
        raise InvalidInputError(f"{what} must be text, got {quoted(value)}")
    cleaned = value.strip()  # a line break pasted after a name is no part of it
    problem = _bad_character(cleaned, lines)
    if problem:
        raise InvalidInputError(f"{what} contains {problem}; remove it")
    if len(cleaned) > max_length:
        raise InvalidInputError(f"{what} is longer than {max_length:,} characters")
    return cleaned


def storable_text(value: str, max_length: int) -> str:
    """Platform text made storable rather than refused (an ad's name must not fail a sync
    forever): NUL and other control characters dropped, lone surrogates replaced by U+FFFD,
    and the text cut to `max_length`."""
    kept = (
        "\ufffd" if "\ud800" <= c <= "\udfff" else c
        for c in value
        if unicodedata.category(c) != "Cc" or c in LINE_CONTROLS
    )
    return "".join(kept)[:max_length]


def timezone_name(value: str) -> str:
    value = plain_text(value, "the time zone", 64)
    if value not in available_timezones():
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidInputError(
                f"unknown time zone {quoted(value)}: use an IANA name such as Europe/Berlin"
            ) from None
    return value


def currency_code(value: str) -> str:
    code = value.strip().upper() if isinstance(value, str) else ""
    if not re.fullmatch(r"[A-Z]{3}", code):
        raise InvalidInputError(
            f"currency must be a 3-letter ISO code such as USD, got {quoted(value)}"
        )
    return code


def email(value: str) -> str:
    address = plain_text(value, "the email address", 254).lower()
    if not EMAIL_RE.match(address):
        raise InvalidInputError(f"{quoted(value)} is not an email address")
    return address


def password(value: str) -> str:
    if not isinstance(value, str) or _bad_character(value, lines=True):
        # bcrypt stops at a NUL, and a lone surrogate has no bytes to hash
        raise InvalidInputError(
            "a password cannot contain NUL, control characters or invalid Unicode"
        )
    if len(value) < MIN_PASSWORD_LENGTH:
        raise InvalidInputError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(value.encode()) > 72:
        raise InvalidInputError("a password may have at most 72 bytes")  # bcrypt's limit
    return value


def name(value: str, what: str, max_length: int = 120) -> str:
    """A one-line name (workspace, user, connection, expense): plain text, not empty."""
    cleaned = plain_text(value, what, max_length)
    if not cleaned:
        raise InvalidInputError(f"{what} cannot be empty")
    return cleaned


def record_id(value: object, what: str, maximum: int = MAX_BIGINT) -> int:
    """An id from a URL, the CLI or a query: a whole number from 1 to what its column holds
    (`maximum`: MAX_INT for integer columns), so a mistyped one is refused, not a DataError."""
    digits = value.strip() if isinstance(value, str) else None
    if digits is not None and re.fullmatch(r"[0-9]+", digits):
        number = int(digits) if len(digits) <= len(str(maximum)) else maximum + 1
    elif isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        raise InvalidInputError(f"{what} must be a whole number, got {quoted(value)}")
    if not 1 <= number <= maximum:
        raise InvalidInputError(f"{what} must be between 1 and {maximum:,}, got {quoted(value)}")
    return number


def calendar_day(value: date, what: str) -> date:
    """A date within the calendar Metricx reports on (FIRST_DAY to LAST_DAY)."""
    if not FIRST_DAY <= value <= LAST_DAY:
        raise InvalidInputError(
            f"{what} {value.isoformat()} is outside the dates Metricx "
            f"handles; use a date from {FIRST_DAY} to {LAST_DAY}"
        )
    return value


def non_negative_number(
    value: object,
    what: str,
    *,
    percent: bool = False,
    maximum: Decimal = MAX_AMOUNT,
    places: int = AMOUNT_PLACES,
) -> Decimal:
    """An exact amount, rate or share (percent: a fraction between 0 and 1) someone typed,
    rounded to the `places` decimals its column keeps. "NaN", "Infinity" and amounts beyond
    `maximum` (typos like 1e30, which the database's exact columns could not hold either) are
    refused like any other bad number."""
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise InvalidInputError(f"{what} must be a number, got {quoted(value)}") from None
    if not number.is_finite():  # before comparing: a NaN cannot be compared
        raise InvalidInputError(f"{what} must be a number, got {quoted(value)}")
    if percent and not 0 <= number <= 1:
        raise InvalidInputError(
            f"{what} must be between 0 and 1 (e.g. 0.029 for 2.9 %), got {quoted(value)}"
        )
    if not 0 <= number <= maximum:
        raise InvalidInputError(
            f"{what} must be 0 or more and at most {maximum:,}, got {quoted(value)}"
        )
    if number.as_tuple().exponent < -places:  # type: ignore[operator]
        # as the column would round it; 1e-999999 is a number PostgreSQL cannot even read
        number = number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return number
