"""Fuzz: the `metricx` command given random arguments of its real subcommands and hostile
values. Whatever it is given, it succeeds, or says why in one line and exits non-zero: never a
traceback, never SQL, never an unexpected exception's name."""

from __future__ import annotations

from datetime import date

import click
import pytest
from click.testing import CliRunner
from hostile_values import ANY_DAY, HOSTILE_TEXT, HUGE_INT, QUERY_PAYLOAD, as_json
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from plain_errors import assert_plain

from metricx.cli import main

#: Commands that serve until stopped, or run for minutes (the demo's 180-day sync, the
#: golden-set evaluation), or would reach real ad platforms (a connection added here would
#: be synced against the real Meta or Google API).
LEFT_OUT = {
    ("up",),
    ("pixel",),
    ("webhooks",),
    ("worker",),
    ("scheduler",),
    ("sandbox-serve",),
    ("demo",),
    ("eval",),
    ("migrate",),
    ("connection", "add"),
}
#: How `--workspace` is given: mostly one that exists, so the command goes on to its work.
WORKSPACE = st.sampled_from(["Acme", "Acme", "1"]) | HOSTILE_TEXT | HUGE_INT.map(str)


def leaf_commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from leaf_commands(command, (*prefix, name))
        elif (*prefix, name) not in LEFT_OUT:
            yield (*prefix, name), command


COMMANDS = dict(leaf_commands(main))


def values_for(param: click.Parameter) -> st.SearchStrategy[str]:
    """Values for one parameter: mostly of its type, often hostile."""
    if param.name == "workspace":
        return WORKSPACE
    if param.name == "query_json":
        return QUERY_PAYLOAD.map(as_json).filter(lambda v: isinstance(v, str))
    if isinstance(param.type, click.Choice):
        return st.sampled_from(list(param.type.choices)) | HOSTILE_TEXT
    if isinstance(param.type, click.DateTime):
        return (
            ANY_DAY.map(date.isoformat)
            | st.sampled_from(["2026-11-01", "2026-02-30", "0000-01-01"])
            | HOSTILE_TEXT
        )
    if isinstance(param.type, click.types.IntParamType):
        return st.integers(1, 5).map(str) | HUGE_INT.map(str) | HOSTILE_TEXT
    return st.sampled_from(["kim@acme.test", "Acme", "spend last week", "Shop Two"]) | HOSTILE_TEXT


@st.composite
def command_lines(draw: st.DrawFn) -> tuple[list[str], str]:
    """A subcommand with some of its options and arguments, and what stdin holds."""
    path, command = draw(st.sampled_from(sorted(COMMANDS.items())))
    argv = list(path)
    for param in command.params:
        wanted = param.required or draw(st.booleans())
        if not wanted:
            continue
        if isinstance(param, click.Option):
            flag = param.opts[0]
            if param.is_flag:
                argv.append(flag)
                continue
            for value in draw(
                st.lists(values_for(param), min_size=1, max_size=2 if param.multiple else 1)
            ):
                argv += [flag, value]
        else:
            count = 1 if param.nargs == 1 else draw(st.integers(1, 2))
            argv += ["--", *draw(st.lists(values_for(param), min_size=count, max_size=count))]
    stdin = draw(st.sampled_from(["a long password\n", "EAAB-token\n", ""]) | HOSTILE_TEXT)
    return argv, stdin


@pytest.fixture
def quiet_copilot(setenv):
    setenv(ANTHROPIC_API_KEY="")  # the offline parser: no network


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(line=command_lines())
def test_any_command_line_succeeds_or_says_why_in_one_line(
    workspace, redis_conn, quiet_copilot, line
):
    argv, stdin = line
    # Given a workspace, when the command runs with these arguments (stdin as bytes: a pipe
    # may carry what is not UTF-8)
    result = CliRunner().invoke(main, argv, input=stdin.encode("utf-8", "surrogatepass"))
    # Then it never ends in an exception of its own
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{type(result.exception).__name__}: {result.exception}"
    )
    assert "Traceback" not in result.output
    if result.exit_code == 2:  # click's usage errors: a usage line, a hint, an error line
        assert "Error:" in result.stderr  # (which repeats a bad value as typed, at any length)
        assert_plain(result.stderr.strip().splitlines()[-1], max_length=20_000)
    elif result.exit_code != 0:  # the command's own refusal: one line
        assert result.exit_code == 1
        message = result.stderr.strip()
        assert message.startswith("Error:"), message[:300]
        assert_plain(message)
        assert "METRICX_DEBUG" not in message, f"an unexpected failure: {message[:300]}"
