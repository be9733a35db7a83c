"""What an error shown to a person may not carry: SQL, driver names, tracebacks, kilobytes."""

from __future__ import annotations

import re

#: Signs that a message leaks the database layer or a Python traceback.
LEAKS = (
    "SELECT ",
    "INSERT ",
    "UPDATE ",
    "DELETE ",
    "[SQL:",
    "[parameters:",
    "psycopg",
    "sqlalchemy",
    "sqlalche.me",
    "Traceback",
    "DataError",
    "%(",
)
#: An exception's class name before its text ("OverflowError: ...") tells of a crash.
CRASH = re.compile(r"\b[A-Za-z_.]+(?:Error|Exception):")
#: A message is a sentence or two, never a dump.
MAX_MESSAGE = 1200


def assert_plain(message: str, max_length: int = MAX_MESSAGE) -> None:
    """One short line, with nothing of the SQL or the stack behind it."""
    leaked = [sign for sign in LEAKS if sign in message]
    assert not leaked, f"the message leaks {leaked}: {message[:300]!r}"
    assert not CRASH.search(message), f"a crash, not a refusal: {message[:300]!r}"
    assert "\n" not in message.strip(), f"more than one line: {message[:300]!r}"
    assert len(message) <= max_length, f"{len(message)} characters: {message[:300]!r}"


def refused(run, *args: str) -> str:
    """A `metricx` command (through the `run` fixture) that must fail in one plain line on
    stderr with exit 1; that line."""
    result = run(*args)
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    assert result.stderr.startswith("Error: ")
    assert_plain(result.stderr)
    return result.stderr
