"""The `metricx` command as a script would use it: exit codes, one-line errors, --help."""

import json

import click
import psycopg
import pytest
from plain_errors import assert_plain
from sqlalchemy.exc import OperationalError

from metricx.cli import main
from metricx.services import connections, users


def all_commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        yield (*prefix, name)
        if isinstance(command, click.Group):
            yield from all_commands(command, (*prefix, name))


@pytest.mark.parametrize("path", list(all_commands(main)), ids=" ".join)
def test_every_command_has_help(run, path):
    result = run(*path, "--help")
    assert result.exit_code == 0
    assert "Usage:" in result.output and len(result.output.splitlines()) > 3


def test_workspace_add_then_list_as_json(run, db):
    assert (
        run(
            "workspace", "add", "Shop One", "--timezone", "Europe/Paris", "--currency", "eur"
        ).exit_code
        == 0
    )
    listed = json.loads(run("workspace", "list", "--json").output)
    assert [(w["name"], w["timezone"], w["currency"]) for w in listed] == [
        ("Shop One", "Europe/Paris", "EUR")
    ]


@pytest.mark.parametrize(
    "args, message",
    [
        (["workspace", "add", "X", "--timezone", "Mars/Olympus"], "unknown time zone"),
        (["workspace", "add", "X", "--currency", "dollars"], "3-letter ISO code"),
        (["workspace", "add", "   "], "cannot be empty"),
    ],
)
def test_bad_workspace_input_is_one_line_and_a_non_zero_exit(run, db, args, message):
    result = run(*args)
    assert result.exit_code == 1
    assert result.output.strip().startswith("Error:") and message in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_user_add_reads_the_password_from_stdin_never_from_the_command_line(run, workspace):
    result = run(
        "user",
        "add",
        "--workspace",
        "Acme",
        "kim@acme.test",
        "--role",
        "admin",
        input="a long password\n",
    )
    assert result.exit_code == 0, result.output
    stored = users.get_user("kim@acme.test")
    assert stored.role == "admin" and stored.password_hash.startswith("$2")
    assert "--password" not in run("user", "add", "--help").output


def test_user_add_to_an_unknown_workspace_fails_cleanly(run, db):
    result = run("user", "add", "--workspace", "nope", "kim@acme.test", input="long enough\n")
    assert result.exit_code == 1 and "no workspace 'nope'" in result.output


def test_connection_add_stores_the_piped_token_encrypted_and_list_shows_it(run, workspace):
    result = run(
        "connection",
        "add",
        "-w",
        str(workspace.id),
        "--provider",
        "meta",
        "--account",
        "act_42",
        input="EAAB-from-stdin\n",
    )
    assert result.exit_code == 0, result.output
    [row] = json.loads(run("connection", "list", "-w", "Acme", "--json").output)
    assert (row["provider"], row["account"], row["status"]) == ("meta", "42", "active")
    assert "EAAB-from-stdin" not in run("connection", "list", "-w", "Acme").output
    assert connections.read_token(workspace.id, row["id"]) == "EAAB-from-stdin"


def test_connection_add_without_a_token_on_stdin_says_so(run, workspace):
    result = run(
        "connection", "add", "-w", "Acme", "--provider", "meta", "--account", "act_1", input=""
    )
    assert result.exit_code == 1 and "token expected on standard input" in result.output


def test_an_unknown_provider_is_a_usage_error(run, workspace):
    result = run("connection", "add", "-w", "Acme", "--provider", "snapchat", "--account", "1")
    assert result.exit_code == 2 and "snapchat" in result.output


def test_empty_lists_say_what_to_do(run, workspace):
    assert "metricx connection add" in run("connection", "list", "-w", "Acme").output


def test_keygen_prints_a_key_the_vault_accepts(run):
    from metricx.vault import parse_keys

    primary, keys = parse_keys(run("keygen").output.strip())
    assert len(keys[primary]) == 32


def test_sync_runs_a_range_through_the_connector_and_reports_rows(run, connections):
    meta = connections["meta"]
    result = run(
        "sync", "--connection", str(meta.id), "--start", "2026-11-17", "--end", "2026-11-18"
    )
    assert result.exit_code == 0, result.output
    assert "success:" in result.output and "rows written" in result.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["--start", "2026-11-18"], "give both --start and --end"),
        (["--start", "2026-11-18", "--end", "2026-11-10"], "is after --end"),
    ],
)
def test_sync_refuses_a_bad_window(run, connections, args, message):
    result = run("sync", "--connection", str(connections["meta"].id), *args)
    assert result.exit_code == 1 and message in result.output


def test_sync_of_an_unknown_connection_fails_cleanly(run, db, redis_conn):
    result = run("sync", "--connection", "999")
    assert result.exit_code == 1 and "no connection 999" in result.output


def test_sync_enqueue_puts_one_job_on_the_high_queue(run, connections, redis_conn):
    from metricx.queue import get_queue

    meta = str(connections["meta"].id)
    assert "Queued job" in run("sync", "--connection", meta, "--enqueue").output
    assert "already queued" in run("sync", "--connection", meta, "--enqueue").output
    assert get_queue("high").count == 1


def test_finance_prints_the_pnl_as_text_or_json_and_refuses_a_reversed_range(run, admin):
    # Given Acme (USD) with rent of 310 for January: 10 a day
    from datetime import date

    from metricx.services.expenses import add_expense

    add_expense(
        admin,
        name="Rent",
        kind="monthly",
        amount="310",
        start_date=date(2026, 1, 1),
        end_date=date(2026, 1, 31),
    )
    window = ("--workspace", "Acme", "--start", "2026-01-30", "--end", "2026-02-02")
    # When the P&L is asked per month, as JSON and as text
    as_json = run("finance", *window, "--grain", "month", "--json")
    text = run("finance", *window)
    # Then the months and totals carry the prorated rent; the text shows labelled lines
    assert as_json.exit_code == 0, as_json.output
    report = json.loads(as_json.output)
    assert [row[0] for row in report["rows"]] == ["2026-01-01", "2026-02-01"]
    assert report["total"]["other_expenses"] == 20 and report["total"]["net_profit"] == -20
    assert report["total"]["net_margin"] is None and report["meta"]["currency"] == "USD"
    assert text.exit_code == 0 and "Net profit" in text.output and "-$20.00" in text.output
    reversed_range = run(
        "finance", "--workspace", "Acme", "--start", "2026-02-02", "--end", "2026-01-30"
    )
    assert reversed_range.exit_code == 1
    assert (
        reversed_range.output.strip() == "Error: the end 2026-01-30 is before the start 2026-02-02"
    )


def test_customer_data_prints_the_export_and_refuses_other_workspaces(run, admin, other_workspace):
    # given a shop of this workspace, and a customer it holds nothing about
    shop = connections.add_connection(admin, "shopify", "acme.myshopify.com", "shpat_x")
    # when an operator exports that customer's data
    result = run("customer-data", "-w", "Acme", "--connection", str(shop.id), "--customer", "7001")
    # then it is JSON with nothing held, and the export was audited
    assert result.exit_code == 0, result.output
    held = json.loads(result.output)
    assert held["customers"] == [] and held["orders"] == []
    # and another workspace's operator cannot read this shop's customers
    refused = run(
        "customer-data", "-w", "Globex", "--connection", str(shop.id), "--customer", "7001"
    )
    assert refused.exit_code != 0 and refused.output.startswith("Error:")


# --- hostile values: one line, no SQL, no traceback --------------------------------------------


def one_line_refusal(result, exit_code: int = 1) -> str:
    assert result.exit_code == exit_code, result.output
    message = result.stderr.strip()
    assert "Traceback" not in result.output
    assert_plain(message.splitlines()[-1], max_length=1000)
    return message


@pytest.mark.parametrize(
    "args, message",
    [
        (["workspace", "add", "Acme\x00"], "the workspace name contains a NUL"),
        (["workspace", "add", "Acme\udcff"], "lone surrogate"),  # argv's undecodable byte
        (["connection", "list", "-w", "2147483648"], "no workspace '2147483648'"),
        (["connection", "list", "-w", "Acme\x00"], "contains a NUL"),
        (["ask", "-w", "Acme", "spend last week\x00"], "the question contains a NUL"),
        (
            [
                "query",
                "-w",
                "Acme",
                "--json",
                json.dumps(
                    {
                        "metrics": ["spend"],
                        "grain": "day",
                        "time_range": {"start": "0001-01-01", "end": "2026-11-01"},
                    }
                ),
            ],
            "the date 0001-01-01 is outside the dates Metricx handles",
        ),
        (
            [
                "query",
                "-w",
                "Acme",
                "--json",
                json.dumps(
                    {
                        "metrics": ["spend"],
                        "filters": {"entity_ids": [2**63]},
                        "time_range": {"start": "2026-11-01", "end": "2026-11-01"},
                    }
                ),
            ],
            "entity ids",
        ),
        (
            ["customer-data", "-w", "Acme", "--connection", "1", "--customer", "7\x00"],
            "the customer id contains a NUL",
        ),
    ],
)
def test_a_hostile_value_is_refused_in_one_line_without_sql(run, workspace, args, message):
    assert message in one_line_refusal(run(*args))


def test_a_user_name_with_a_nul_never_shows_the_new_users_password_hash(run, workspace):
    # (PostgreSQL refused the row, and the error printed its parameters: the bcrypt hash)
    result = run(
        "user",
        "add",
        "-w",
        "Acme",
        "cara@acme.test",
        "--name",
        "Ca\x00ra",
        input="a long password\n",
    )
    assert "name contains a NUL" in one_line_refusal(result)
    assert "$2b$" not in result.output


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["finance", "-w", "Acme", "--start", "9999-12-31", "--end", "9999-12-31"],
            "outside the dates Metricx handles",
        ),
        (["ask", "-w", "Acme", "--today", "0001-01-01", "spend yesterday"], "outside the dates"),
        (["sync", "--connection", "9223372036854775808"], "not in the range 1<=x<=2147483647"),
        (
            ["customer-data", "-w", "Acme", "--connection", "2147483648", "--customer", "1"],
            "not in the range",
        ),
    ],
)
def test_dates_and_ids_beyond_their_bounds_are_usage_errors(run, workspace, args, message):
    assert message in one_line_refusal(run(*args), exit_code=2)


def test_a_secret_on_stdin_that_is_not_utf8_is_refused_in_words(run, workspace):
    result = run("user", "add", "-w", "Acme", "cara@acme.test", input=b"\xff\xfe secret\n")
    assert "the password on standard input is not UTF-8 text" in one_line_refusal(result)


def test_an_unexpected_database_failure_is_one_line_without_its_sql(run, db, monkeypatch):
    # Given the database fails in a way no one foresaw, with SQLAlchemy's kilobytes of text
    from metricx.services import workspaces

    sql = "SELECT workspaces.id, workspaces.name FROM workspaces " * 100

    def broken():
        raise OperationalError(
            sql,
            {"secret": "hash"},
            psycopg.OperationalError(
                "server closed the connection unexpectedly\nThis probably means..."
            ),
        )

    monkeypatch.setattr(workspaces, "list_workspaces", broken)
    # When a command meets it, then one line names the driver's error, and nothing else
    result = run("workspace", "list")
    assert result.exit_code == 1
    assert result.output == (
        "Error: OperationalError: server closed the connection "
        "unexpectedly (set METRICX_DEBUG=1 for details)\n"
    )
