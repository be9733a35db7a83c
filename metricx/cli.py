"""The `metricx` command: the scriptable surface operators and tests use.

Each command parses and prints; the work is done by `metricx.services` and friends. Errors a
user can fix come out as one line on stderr with a non-zero exit, never a traceback.
"""

from __future__ import annotations

import functools
import json
import os
import secrets
import sys
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, Literal, NoReturn

import click

from metricx import validation
from metricx.config import ConfigError, get_config
from metricx.errors import InvalidInputError, MetricxError
from metricx.platforms import account_examples
from metricx.runtime import services
from metricx.vault import VaultError
from metricx.vocabulary import PROVIDERS, ROLES

USER_ERRORS = (MetricxError, ConfigError, VaultError)
#: The most of an unexpected error's text a person is shown (the rest: METRICX_DEBUG=1).
MAX_UNEXPECTED = 300


def fail(message: str) -> NoReturn:
    """Say what went wrong on one line of stderr and exit 1."""
    line = " ".join(message.split()).encode("utf-8", "backslashreplace").decode("utf-8")
    click.echo(f"Error: {line}", err=True)
    sys.exit(1)


def unexpected(error: Exception) -> str:
    """An unexpected error in one short line: a database error by the driver's first line
    (SQLAlchemy's own text carries the statement and its parameters), never kilobytes."""
    cause = getattr(error, "orig", None) or error
    first = (str(cause).strip().splitlines() or [""])[0]
    if len(first) > MAX_UNEXPECTED:
        first = first[: MAX_UNEXPECTED - 1] + "…"
    return f"{type(cause).__name__}: {first} (set METRICX_DEBUG=1 for details)"


def friendly_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn expected failures into one line; unexpected ones too, unless METRICX_DEBUG=1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except USER_ERRORS as error:
            fail(str(error))
        except (click.exceptions.Exit, click.ClickException, click.Abort, KeyboardInterrupt):
            raise  # click's own exits and usage errors already read well
        except Exception as error:  # the last line of defence: no traceback for users
            if os.environ.get("METRICX_DEBUG"):
                raise
            fail(unexpected(error))

    return wrapper


def read_stdin(what: str, *, first_line: bool = False) -> str:
    """Standard input (or its first line) as text; bytes that are not UTF-8 are refused."""
    try:
        text = sys.stdin.readline() if first_line else sys.stdin.read()
    except UnicodeDecodeError:
        raise InvalidInputError(f"the {what} on standard input is not UTF-8 text") from None
    return text.rstrip("\r\n") if first_line else text


def read_secret(prompt: str, *, confirm: bool = False) -> str:
    """A secret from the terminal (hidden) or, when piped, the first line of stdin."""
    if sys.stdin.isatty():
        return click.prompt(prompt, hide_input=True, confirmation_prompt=confirm)
    line = read_stdin(prompt.lower(), first_line=True)
    if not line:
        fail(f"{prompt.lower()} expected on standard input")
    return line


class Day(click.ParamType):
    """A YYYY-MM-DD date within the calendar Metricx handles (2000-01-01 to 2100-12-31)."""

    name = "YYYY-MM-DD"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        try:
            day = datetime.strptime(str(value).strip(), "%Y-%m-%d").date()
        except ValueError:
            self.fail(f"{validation.quoted(value)} is not a date: use YYYY-MM-DD", param, ctx)
        try:
            return validation.calendar_day(day, "the date")
        except InvalidInputError as outside:
            self.fail(str(outside), param, ctx)


DAY = Day()
#: Ids of rows in integer columns (connections): larger ones are refused before any query.
ROW_ID = click.IntRange(1, validation.MAX_INT)


def workspace_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--workspace", "-w", required=True, help="Workspace name or id.")(func)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Metricx: ad and store analytics you run yourself.

    Without DATABASE_URL / REDIS_URL, commands use the embedded PostgreSQL and Redis kept
    under .metricx/ (started for the command when `metricx up` is not running).
    """


@main.command()
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=None,
    help="Port for the app (default: APP_PORT or 8501).",
)
@friendly_errors
def up(port: int | None) -> None:
    """Run everything: database, Redis, a worker, the scheduler, the pixel collector,
    the Shopify webhook receiver and the app."""
    from metricx.bootstrap import run_everything

    run_everything(port or get_config().app_port, echo=click.echo)


@main.command()
@friendly_errors
def migrate() -> None:
    """Bring the database schema up to date (alembic upgrade head)."""
    from metricx import migrate as migrations

    with services():
        migrations.upgrade()
    click.echo("Database schema is up to date.")


@main.command()
def keygen() -> None:
    """Print a new random TOKEN_ENCRYPTION_KEY value."""
    from metricx.vault import generate_key

    click.echo(f"k{secrets.randbelow(10**6)}:{generate_key()}")


@main.command("rotate-keys")
@friendly_errors
def rotate_keys() -> None:
    """Re-encrypt every stored token under the first key of TOKEN_ENCRYPTION_KEY."""
    from metricx.services.connections import rotate_keys as rotate

    with services():
        count = rotate()
    click.echo(f"Re-encrypted {count} token(s).")


# --- workspaces -------------------------------------------------------------------------------


@main.group()
def workspace() -> None:
    """Create and list workspaces."""


@workspace.command("add")
@click.argument("name")
@click.option("--timezone", default="UTC", show_default=True, help="IANA time zone.")
@click.option("--currency", default="USD", show_default=True, help="Reporting currency.")
@friendly_errors
def workspace_add(name: str, timezone: str, currency: str) -> None:
    """Create workspace NAME."""
    from metricx.services.workspaces import create_workspace

    with services():
        created = create_workspace(name, timezone, currency)
    click.echo(f"Created workspace {created.name!r} (id {created.id}).")


@workspace.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@friendly_errors
def workspace_list(as_json: bool) -> None:
    """List workspaces."""
    from metricx.services.workspaces import list_workspaces

    with services():
        rows = [
            {"id": w.id, "name": w.name, "timezone": w.timezone, "currency": w.currency}
            for w in list_workspaces()
        ]
    if as_json:
        click.echo(json.dumps(rows))
        return
    if not rows:
        click.echo("No workspaces yet: create one with `metricx workspace add NAME`.")
    for row in rows:
        click.echo(f"{row['id']:>4}  {row['name']}  ({row['timezone']}, {row['currency']})")


# --- users ------------------------------------------------------------------------------------


@main.group()
def user() -> None:
    """Manage users."""


@user.command("add")
@workspace_option
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), default="member", show_default=True)
@click.option("--name", help="Display name (default: the part of the email before @).")
@friendly_errors
def user_add(workspace: str, email: str, role: str, name: str | None) -> None:
    """Add user EMAIL. The password is prompted for, or read from stdin when piped."""
    from metricx.actor import Actor
    from metricx.services.users import add_user
    from metricx.services.workspaces import find_workspace

    password = read_secret("Password", confirm=True)
    with services():
        ws = find_workspace(workspace)
        created = add_user(ws.id, email, password, role=role, name=name, actor=Actor.system(ws.id))
    click.echo(f"Added {created.role} {created.email} to workspace {ws.name!r}.")


# --- connections ------------------------------------------------------------------------------


@main.group()
def connection() -> None:
    """Connect ad accounts and shops; list them."""


@connection.command("add")
@workspace_option
@click.option("--provider", type=click.Choice(PROVIDERS), required=True)
@click.option(
    "--account",
    "account_id",
    required=True,
    help=f"The platform's account id ({account_examples()}).",
)
@click.option("--name", help="Display name.")
@friendly_errors
def connection_add(workspace: str, provider: str, account_id: str, name: str | None) -> None:
    """Add a connection; its token (Klaviyo: the private API key) is read from stdin (or
    prompted) and stored encrypted."""
    from metricx.actor import Actor
    from metricx.services.connections import add_connection
    from metricx.services.workspaces import find_workspace

    token = read_secret("Token")
    with services():
        ws = find_workspace(workspace)
        created = add_connection(Actor.system(ws.id), provider, account_id, token, name=name)
    click.echo(f"Added connection {created.id}: {created.provider} {created.external_account_id}.")


@connection.command("list")
@workspace_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@friendly_errors
def connection_list(workspace: str, as_json: bool) -> None:
    """List a workspace's connections with their status and last sync."""
    from metricx.services.connections import list_connections
    from metricx.services.workspaces import find_workspace

    with services():
        ws = find_workspace(workspace)
        rows = list_connections(ws.id)
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "id": c.id,
                        "provider": c.provider,
                        "account": c.external_account_id,
                        "name": c.name,
                        "status": c.status,
                        "last_synced_at": c.last_synced_at and c.last_synced_at.isoformat(),
                        "last_error": c.last_error,
                    }
                    for c in rows
                ]
            )
        )
        return
    if not rows:
        click.echo(f"No connections in {ws.name!r}: add one with `metricx connection add`.")
    for c in rows:
        synced = c.last_synced_at.strftime("%Y-%m-%d %H:%M") if c.last_synced_at else "never"
        click.echo(
            f"{c.id:>4}  {c.provider:<8} {c.external_account_id:<28} {c.status:<13} "
            f"last sync {synced}  {c.name}"
        )


# --- questions -------------------------------------------------------------------------------


@main.command()
@workspace_option
@click.option(
    "--json",
    "query_json",
    required=True,
    help="The SemanticQuery as JSON (see docs/design.md); '-' reads it from stdin.",
)
@friendly_errors
def query(workspace: str, query_json: str) -> None:
    """Run a SemanticQuery and print the result as one JSON object.

    \b
    Ad and store metrics:  {"metrics": ["spend", "roas"], "time_range": {...},
                            "dimensions": ["campaign"]}
    Email & SMS:           {"metrics": ["email_revenue", "email_open_rate", "net_sales"],
                            "time_range": {...}, "grain": "week"}
    Creatives (video):     {"metrics": ["spend", "thumb_stop_rate", "hold_rate"],
                            "time_range": {...}, "dimensions": ["creative"],
                            "filters": {"creative_format": ["video"]}, "limit": 10}
    Cohorts (LTV, repeat rate, CAC payback):
                           {"metrics": ["cohort_customers", "ltv"], "time_range": {...},
                            "dimensions": ["cohort", "age"],
                            "cohort": {"grain": "month", "age_unit": "month", "max_age": 11}}
    Products:              {"metrics": ["units", "gross_margin", "contribution_after_ads"],
                            "time_range": {...}, "dimensions": ["product"]}
    """
    from metricx.semantic.engine import run_query
    from metricx.services.workspaces import find_workspace

    text = read_stdin("query") if query_json == "-" else query_json
    with services():
        result = run_query(find_workspace(workspace).id, text)
    click.echo(json.dumps(result.to_contract()))


@main.command()
@workspace_option
@click.option(
    "--today",
    type=DAY,
    help="Resolve dates as if today were this day (default: the workspace's today).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per question.")
@click.option(
    "--confirm",
    is_flag=True,
    help="Save what an alert or digest request proposes (a workspace rule), without asking.",
)
@click.argument("questions", nargs=-1, required=True)
@friendly_errors
def ask(
    workspace: str, today: date | None, as_json: bool, confirm: bool, questions: tuple[str, ...]
) -> None:
    """Ask the copilot. Several QUESTIONS form one conversation (follow-ups refer back). An
    alert request ("alert me if CAC goes above $70") is proposed, and saved with --confirm."""
    from metricx.actor import Actor
    from metricx.copilot.service import ask as ask_copilot
    from metricx.copilot.service import confirm_proposal
    from metricx.copilot.understanding import Conversation
    from metricx.services.workspaces import find_workspace

    conversation = Conversation()
    with services():
        ws = find_workspace(workspace)
        for question in questions:
            answer = ask_copilot(ws.id, question, conversation, today=today)
            if as_json:
                click.echo(json.dumps(answer.to_contract()))
            else:
                options = "".join(f"\n  - {choice}" for choice in answer.choices)
                click.echo(
                    f"> {question}\n{answer.answer}"
                    + (f"\nYou could ask:{options}" if options else "")
                    + "\n"
                )
            if answer.proposal is None or not (confirm or not as_json):
                continue
            if not confirm:
                click.echo("(not saved: add --confirm to save it)")
                continue
            said = confirm_proposal(Actor.system(ws.id), answer.proposal)
            saved = bool(getattr(said, "saved", False))
            click.echo(json.dumps({"confirmation": said, "saved": saved}) if as_json else said)


@main.command("eval")
@click.option(
    "--understander", type=click.Choice(["offline", "claude"]), default="offline", show_default=True
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable report.")
@click.option(
    "--golden",
    "golden_path",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Another question set (default: tests/copilot/golden.jsonl).",
)
@click.option(
    "--demo-entities",
    is_flag=True,
    help="Ask in a workspace with the demo merchant's campaign names (blind sets).",
)
@friendly_errors
def evaluate_copilot(
    understander: str, as_json: bool, golden_path: str | None, demo_entities: bool
) -> None:
    """Score the copilot's understanding on the golden question set, per category."""
    from metricx.copilot.evaluation import DEFAULT_GOLDEN_PATH, evaluate, load_golden
    from metricx.copilot.evaluation import demo_entities as demo
    from metricx.copilot.offline import OfflineUnderstander
    from metricx.copilot.understanding import Understander

    chosen: Understander
    if understander == "claude":
        from metricx.copilot.claude import ClaudeUnderstander

        chosen = ClaudeUnderstander()
    else:
        chosen = OfflineUnderstander()
    report = evaluate(
        chosen, load_golden(golden_path or DEFAULT_GOLDEN_PATH), demo() if demo_entities else ()
    )
    click.echo(json.dumps(report.to_dict()) if as_json else report.render())


@main.command()
@workspace_option
@click.option("--start", type=DAY, required=True, help="First day (the workspace's days).")
@click.option("--end", type=DAY, required=True, help="Last day, inclusive.")
@click.option(
    "--grain",
    type=click.Choice(["day", "week", "month"]),
    default="day",
    show_default=True,
    help="One column per day, week (from Monday) or month.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object: rows per period.")
@friendly_errors
def finance(workspace: str, start: date, end: date, grain: str, as_json: bool) -> None:
    """Print the P&L: revenue, costs, ad spend, expenses, profits and margins per period."""
    from metricx.semantic.catalogue import format_value
    from metricx.services.finance import get_line, profit_and_loss
    from metricx.services.workspaces import find_workspace

    with services():
        pnl = profit_and_loss(find_workspace(workspace).id, start, end, grain)
    if as_json:
        click.echo(json.dumps(pnl.to_contract()))
        return
    table = pnl.table()
    shown = table.apply(
        lambda row: row.map(
            lambda v: format_value(get_line(row.name), None if v != v else v, pnl.currency)
        ),
        axis=1,
    )
    shown.index = [get_line(line).label for line in table.index]
    click.echo(
        f"P&L {pnl.time_range.start} – {pnl.time_range.end} per {grain} "
        f"({pnl.currency}, days in {pnl.timezone})"
    )
    click.echo(shown.to_string())


# --- custom metrics, custom dimensions and the Dashboard's tiles ----------------------------

#: `--format` words and the catalogue's units.
FORMATS = {"money": "currency", "ratio": "ratio", "percent": "percent", "count": "count"}
#: `--direction` words and `higher_is_better`.
DIRECTIONS: dict[str, bool | None] = {"higher": True, "lower": False, "neither": None}
RULE_EXAMPLE = '"campaign contains Retargeting => BOFU"'


def parse_rule(text: str) -> dict[str, str]:
    """A rule written FIELD OP VALUE => THEN ("campaign contains Retargeting => BOFU"), as
    the fields of metricx.semantic.custom.Rule (which checks them)."""
    condition, arrow, then = text.rpartition("=>")
    words = condition.split(maxsplit=2)
    if not arrow or len(words) < 3 or not then.strip():
        raise InvalidInputError(
            f"the rule {validation.quoted(text)} must read FIELD OP VALUE => THEN, "
            f"e.g. {RULE_EXAMPLE}"
        )
    field, op, value = words
    return {
        "field": field.lower(),
        "op": op.lower(),
        "value": value.strip().strip("\"'"),
        "then": then.strip().strip("\"'"),
    }


def _metric_fields(
    label: str, formula: str, unit: str, direction: str, description: str
) -> dict[str, Any]:
    return {
        "label": label,
        "formula": formula,
        "unit": FORMATS[unit],
        "higher_is_better": DIRECTIONS[direction],
        "description": description,
    }


def _format_word(unit: str) -> str:
    return next(word for word, known in FORMATS.items() if known == unit)


def _direction_word(higher_is_better: bool | None) -> str:
    return next(word for word, known in DIRECTIONS.items() if known is higher_is_better)


@main.group()
def custom() -> None:
    """Define the workspace's own metrics (formulas over catalogue metrics) and dimensions
    (rules over names), usable in every query, page and question."""


@custom.group("metric")
def custom_metric() -> None:
    """Add, list, preview and delete custom metrics."""


def metric_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--label, --formula, --format, --direction and --description."""
    for option in reversed(
        (
            click.option("--label", help="Its name on pages (default: KEY)."),
            click.option(
                "--formula",
                help="Over catalogue and custom metrics: + - * / ( ), numbers, 5%, and "
                "restrictions such as spend[provider=meta] or spend[stage=BOFU].",
            ),
            click.option(
                "--format",
                "unit",
                type=click.Choice(list(FORMATS)),
                default="ratio",
                show_default=True,
                help="How values are written.",
            ),
            click.option(
                "--direction",
                type=click.Choice(list(DIRECTIONS)),
                default="higher",
                show_default=True,
                help="Which way is good (colours a change).",
            ),
            click.option("--description", default="", help="What it means, in a sentence."),
        )
    ):
        func = option(func)
    return func


@custom_metric.command("add")
@workspace_option
@click.argument("key")
@metric_options
@friendly_errors
def custom_metric_add(
    workspace: str,
    key: str,
    label: str | None,
    formula: str | None,
    unit: str,
    direction: str,
    description: str,
) -> None:
    """Create or replace the custom metric KEY (lower-case letters, digits and _), e.g.
    `metricx custom metric add meta_share -w Acme --label "Meta share"
    --formula "spend[provider=meta] / spend" --format percent`."""
    from metricx.actor import Actor
    from metricx.services import custom_definitions
    from metricx.services.workspaces import find_workspace

    if not formula:
        fail('give the metric\'s --formula, e.g. --formula "spend[provider=meta] / spend"')
    with services():
        ws = find_workspace(workspace)
        saved = custom_definitions.save_metric(
            Actor.system(ws.id),
            key,
            _metric_fields(label or key, formula, unit, direction, description),
        )
    click.echo(f"Saved custom metric {key!r}: {saved.label} = {saved.formula}.")


@custom_metric.command("list")
@workspace_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@friendly_errors
def custom_metric_list(workspace: str, as_json: bool) -> None:
    """List the workspace's custom metrics."""
    from metricx.services import custom_definitions
    from metricx.services.workspaces import find_workspace

    with services():
        saved = custom_definitions.definitions(find_workspace(workspace).id).metrics
    rows = [
        {
            "key": key,
            "label": metric.label,
            "formula": metric.formula,
            "format": _format_word(metric.unit),
            "direction": _direction_word(metric.higher_is_better),
            "description": metric.description,
        }
        for key, metric in saved.items()
    ]
    if as_json:
        click.echo(json.dumps(rows))
        return
    if not rows:
        click.echo("No custom metrics yet: add one with `metricx custom metric add`.")
    for row in rows:
        click.echo(
            f"{row['key']}  {row['label']} = {row['formula']}  "
            f"({row['format']}, {row['direction']} is better)"
            + (f"  {row['description']}" if row["description"] else "")
        )


@custom_metric.command("delete")
@workspace_option
@click.argument("key")
@friendly_errors
def custom_metric_delete(workspace: str, key: str) -> None:
    """Delete the custom metric KEY (refused while another custom metric uses it)."""
    _delete_custom(workspace, "metric", key)


def _delete_custom(workspace: str, kind: Literal["metric", "dimension"], key: str) -> None:
    from metricx.actor import Actor
    from metricx.services import custom_definitions
    from metricx.services.workspaces import find_workspace

    with services():
        ws = find_workspace(workspace)
        custom_definitions.delete_definition(Actor.system(ws.id), kind, key)
    click.echo(f"Deleted custom {kind} {key!r}.")


@custom_metric.command("preview")
@workspace_option
@click.argument("key")
@metric_options
@click.option("--split", help="Split by a dimension (provider, campaign, a custom one...).")
@click.option("--json", "as_json", is_flag=True, help="The result as `metricx query` prints it.")
@friendly_errors
def custom_metric_preview(
    workspace: str,
    key: str,
    label: str | None,
    formula: str | None,
    unit: str,
    direction: str,
    description: str,
    split: str | None,
    as_json: bool,
) -> None:
    """Show the custom metric KEY over last week, by day (or split by --split), with the
    metrics it is built from. With --formula, a draft is shown instead, and nothing is
    saved."""
    from metricx.semantic.catalogue import format_value
    from metricx.services import custom_definitions
    from metricx.services.workspaces import find_workspace

    with services():
        ws = find_workspace(workspace)
        if formula:
            draft: Any = _metric_fields(label or key, formula, unit, direction, description)
        else:
            draft = custom_definitions.definitions(ws.id).metrics.get(key)
            if draft is None:
                fail(
                    f"there is no custom metric {validation.quoted(key)}; "
                    "give a --formula to preview a draft"
                )
        result = custom_definitions.preview_metric(ws.id, key, draft, split)
    if as_json:
        click.echo(json.dumps(result.to_contract()))
        return
    shown = result.frame[[c for c in result.dimension_columns if not c.endswith("_id")]].copy()
    for metric_id in result.query.metrics:
        entry = result.metric(metric_id)
        shown[entry.label] = [
            format_value(entry, None if v != v else v, result.currency)
            for v in result.frame[metric_id]
        ]
    span = result.query.time_range
    click.echo(f"{key} from {span.start} to {span.end} ({result.currency}):")
    click.echo(shown.to_string(index=False))


@custom.group("dimension")
def custom_dimension() -> None:
    """Add, list and delete custom dimensions."""


@custom_dimension.command("add")
@workspace_option
@click.argument("key")
@click.option("--label", help="Its name on pages (default: KEY).")
@click.option(
    "--rule",
    "rules",
    multiple=True,
    required=True,
    help=f"FIELD OP VALUE => THEN, e.g. {RULE_EXAMPLE}; FIELD is provider, account, campaign, "
    "adset or ad, OP contains, equals or starts_with (case is ignored). Repeatable: the "
    "first rule that matches wins.",
)
@click.option(
    "--otherwise", default="Other", show_default=True, help="The value when no rule matches."
)
@click.option("--description", default="", help="What it means, in a sentence.")
@friendly_errors
def custom_dimension_add(
    workspace: str,
    key: str,
    label: str | None,
    rules: tuple[str, ...],
    otherwise: str,
    description: str,
) -> None:
    """Create or replace the custom dimension KEY, e.g. `metricx custom dimension add stage
    -w Acme --label "Funnel stage" --rule "campaign contains Retargeting => BOFU"
    --otherwise TOFU`."""
    from metricx.actor import Actor
    from metricx.services import custom_definitions
    from metricx.services.workspaces import find_workspace

    dimension = {
        "label": label or key,
        "rules": [parse_rule(rule) for rule in rules],
        "otherwise": otherwise,
        "description": description,
    }
    with services():
        ws = find_workspace(workspace)
        saved = custom_definitions.save_dimension(Actor.system(ws.id), key, dimension)
    click.echo(f"Saved custom dimension {key!r}: {', '.join(saved.values)}.")


def _rule_text(field: str, op: str, value: str, then: str) -> str:
    return f"{field} {op} {value} => {then}"


@custom_dimension.command("list")
@workspace_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@friendly_errors
def custom_dimension_list(workspace: str, as_json: bool) -> None:
    """List the workspace's custom dimensions with their rules."""
    from metricx.services import custom_definitions
    from metricx.services.workspaces import find_workspace

    with services():
        saved = custom_definitions.definitions(find_workspace(workspace).id).dimensions
    if as_json:
        click.echo(
            json.dumps(
                [
                    {"key": key, **dimension.model_dump(mode="json"), "values": dimension.values}
                    for key, dimension in saved.items()
                ]
            )
        )
        return
    if not saved:
        click.echo("No custom dimensions yet: add one with `metricx custom dimension add`.")
    for key, dimension in saved.items():
        rules = "; ".join(_rule_text(r.field, r.op, r.value, r.then) for r in dimension.rules)
        click.echo(f"{key}  {dimension.label}: {rules}; otherwise {dimension.otherwise}")


@custom_dimension.command("delete")
@workspace_option
@click.argument("key")
@friendly_errors
def custom_dimension_delete(workspace: str, key: str) -> None:
    """Delete the custom dimension KEY (refused while a custom metric restricts by it)."""
    _delete_custom(workspace, "dimension", key)


@main.group()
def dashboard() -> None:
    """Choose what the Dashboard shows."""


@dashboard.command("tiles")
@workspace_option
@click.argument("metrics", nargs=-1)
@click.option("--reset", is_flag=True, help="Go back to the default tiles.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@friendly_errors
def dashboard_tiles(workspace: str, metrics: tuple[str, ...], reset: bool, as_json: bool) -> None:
    """Show the Dashboard's KPI tiles, or choose them: METRICS in order, catalogue or custom
    metric ids (e.g. `metricx dashboard tiles -w Acme spend roas meta_share`)."""
    from metricx.actor import Actor
    from metricx.semantic import catalogue
    from metricx.services import custom_definitions
    from metricx.services.workspaces import find_workspace

    if metrics and reset:
        fail("give METRICS or --reset, not both")
    with services():
        ws = find_workspace(workspace)
        if metrics or reset:
            tiles = custom_definitions.set_dashboard_tiles(Actor.system(ws.id), list(metrics))
        else:
            tiles = custom_definitions.dashboard_tiles(ws.id)
        saved = custom_definitions.definitions(ws.id)
    labels = {
        t: catalogue.METRICS[t].label if t in catalogue.METRICS else saved.metrics[t].label
        for t in tiles
    }
    if as_json:
        click.echo(json.dumps([{"metric": t, "label": label} for t, label in labels.items()]))
        return
    click.echo(f"Dashboard tiles of {ws.name!r}:")
    for tile, label in labels.items():
        click.echo(f"  {tile:<20} {label}")


# --- alert rules ------------------------------------------------------------------------------

#: The `metricx alert add` options that set a rule's condition.
CONDITION_OPTIONS = ("above", "below", "rises_by", "falls_by", "anomalous")


@main.group()
def alert() -> None:
    """Alert rules, the built-in monitors, the daily and weekly digests, and their delivery
    by email and Slack."""


def _local_time(instant: datetime | None, tz: str) -> str:
    from zoneinfo import ZoneInfo

    return instant.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M %Z") if instant else "—"


def _rule_words(workspace_id: int, currency: str, rule: Any) -> str:
    """A stored rule in words ("Ad spend above $500.00 today so far"), or why it cannot run."""
    from metricx.alerts.rules import AlertRuleError, check_in
    from metricx.services import custom_definitions

    try:
        metric = check_in(rule, custom_definitions.definitions(workspace_id))
    except AlertRuleError as broken:
        return f"{rule.metric} (cannot run: {broken})"
    return str(rule.describe(metric, currency))


@alert.command("add")
@workspace_option
@click.argument("name")
@click.option("--metric", required=True, help="A catalogue or custom metric (spend, roas, ...).")
@click.option("--above", help="Fire above this value (a percent metric in percent: 1.5).")
@click.option("--below", help="Fire below this value.")
@click.option("--rises-by", "rises_by", help="Fire when it rises by this percent or more.")
@click.option("--falls-by", "falls_by", help="Fire when it falls by this percent or more.")
@click.option(
    "--anomalous",
    help="Fire when it is this many robust standard deviations (4 is a good start) from the "
    "same weekday and time of the last weeks.",
)
@click.option(
    "--baseline",
    help="What a change is measured against: previous_period (the default) or same_weekday "
    "(the median of the same days 1 to 4 weeks earlier).",
)
@click.option(
    "--period",
    default="today",
    show_default=True,
    help="The workspace's days it reads: today (so far), yesterday or last_7_days.",
)
@click.option("--split", help="Judge each value of a dimension (provider, campaign, ...).")
@click.option("--provider", "providers", multiple=True, help="Only this ad platform (repeatable).")
@click.option("--name-contains", help="Only campaigns, ad sets or ads whose name holds this.")
@click.option(
    "--schedule",
    default="after_sync",
    show_default=True,
    help="after_sync (every 15 minutes), hourly, or daily (with --at).",
)
@click.option("--at", "local_hour", help="Daily rules: the local hour it runs at (0-23).")
@click.option(
    "--cooldown", default="60", show_default=True, help="Minutes a value that fired stays quiet."
)
@click.option("--email", "emails", multiple=True, help="Deliver to this address (repeatable).")
@click.option("--slack", is_flag=True, help="Deliver to the workspace's Slack.")
@click.option("--disabled", is_flag=True, help="Save it switched off.")
@click.option("--owner", help="A personal rule of this user (email), not the workspace's.")
@friendly_errors
def alert_add(
    workspace: str,
    name: str,
    metric: str,
    above: str | None,
    below: str | None,
    rises_by: str | None,
    falls_by: str | None,
    anomalous: str | None,
    baseline: str | None,
    period: str,
    split: str | None,
    providers: tuple[str, ...],
    name_contains: str | None,
    schedule: str,
    local_hour: str | None,
    cooldown: str,
    emails: tuple[str, ...],
    slack: bool,
    disabled: bool,
    owner: str | None,
) -> None:
    """Add the alert rule NAME.

    For example: `metricx alert add "Spend spike" -w Acme --metric spend --above 5000
    --period yesterday --schedule daily --at 8 --email ops@acme.test`."""
    from metricx.actor import Actor
    from metricx.errors import NotFoundError
    from metricx.services import alerts
    from metricx.services.users import actor_for, get_user
    from metricx.services.workspaces import find_workspace

    given = dict(zip(CONDITION_OPTIONS, (above, below, rises_by, falls_by, anomalous), strict=True))
    conditions = {condition: value for condition, value in given.items() if value is not None}
    if len(conditions) != 1:
        fail("give one condition: --above, --below, --rises-by, --falls-by or --anomalous")
    [(condition, threshold)] = conditions.items()
    fields = {
        "name": name,
        "metric": metric,
        "condition": condition,
        "threshold": threshold,
        "baseline": baseline,
        "period": period,
        "split": split,
        "filters": {"provider": list(providers) or None, "name_contains": name_contains},
        "schedule": schedule,
        "local_hour": local_hour,
        "cooldown_minutes": cooldown,
        "channels": [{"kind": "email", "to": e} for e in emails]
        + ([{"kind": "slack"}] if slack else []),
        "enabled": not disabled,
    }
    with services():
        ws = find_workspace(workspace)
        actor = Actor.system(ws.id)
        if owner:
            user = get_user(validation.email(owner))
            if user.workspace_id != ws.id:
                raise NotFoundError(f"no user {validation.quoted(owner)} in workspace {ws.name}")
            actor = actor_for(user)
        saved = alerts.add_rule(actor, fields, personal=owner is not None)
        words = _rule_words(ws.id, ws.currency, saved.rule)
    click.echo(
        f"Saved alert rule #{saved.id} {name!r} ({saved.scope}): {words}, "
        f"{saved.rule.schedule_words()}; next run {_local_time(saved.next_run_at, ws.timezone)}."
    )


@alert.command("list")
@workspace_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@friendly_errors
def alert_list(workspace: str, as_json: bool) -> None:
    """List the workspace's alert rules (personal ones too) with their next run."""
    from metricx.actor import Actor
    from metricx.services import alerts
    from metricx.services.workspaces import find_workspace

    with services():
        ws = find_workspace(workspace)
        saved = alerts.list_rules(Actor.system(ws.id))
        words = [_rule_words(ws.id, ws.currency, s.rule) for s in saved]
    if as_json:
        rows = [
            {
                "id": s.id,
                "owner": s.owner_email,
                **s.rule.model_dump(mode="json"),
                "threshold": float(s.rule.threshold),
                "next_run_at": s.next_run_at and s.next_run_at.isoformat(),
                "last_run_at": s.last_run_at and s.last_run_at.isoformat(),
            }
            for s in saved
        ]
        click.echo(json.dumps(rows))
        return
    if not saved:
        click.echo("No alert rules yet: add one with `metricx alert add`.")
    for s, said in zip(saved, words, strict=True):
        state = "" if s.rule.enabled else " [disabled]"
        click.echo(
            f"#{s.id}  {s.rule.name}{state}  {said}, {s.rule.schedule_words()}, cool-down "
            f"{s.rule.cooldown_minutes} min  {s.scope}  next run "
            f"{_local_time(s.next_run_at, ws.timezone)}"
        )


@alert.command("test")
@workspace_option
@click.argument("rule_id")
@click.option(
    "--now",
    "at",
    help="Evaluate as at this instant, ISO 8601 with its offset (2026-11-20T10:00-05:00).",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@friendly_errors
def alert_test(workspace: str, rule_id: str, at: str | None, as_json: bool) -> None:
    """Evaluate the rule RULE_ID now: its numbers and what would fire. Nothing is recorded
    and its schedule is unchanged."""
    from metricx.actor import Actor
    from metricx.services import alerts
    from metricx.services.workspaces import find_workspace

    moment = None
    if at is not None:
        try:
            moment = datetime.fromisoformat(at.strip())
        except ValueError:
            fail(f"--now {validation.quoted(at)} is not a time: use 2026-11-20T10:00-05:00")
        if moment.utcoffset() is None:
            fail(f"--now {validation.quoted(at)} needs its offset, e.g. 2026-11-20T10:00-05:00")
    with services():
        ws = find_workspace(workspace)
        result = alerts.test_rule(Actor.system(ws.id), rule_id, moment)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "period": result.period and result.period.model_dump(mode="json"),
                    "currency": result.currency,
                    "evaluations": [
                        {
                            "split_value": e.split_value,
                            "split_label": e.split_label,
                            "value": e.value,
                            "reference": e.reference,
                            "fires": e.fires,
                            "message": e.message,
                        }
                        for e in result.evaluations
                    ],
                }
            )
        )
        return
    span = result.period
    days = "nothing yet" if span is None else f"{span.start} – {span.end}"
    until = f" until {span.until:%H:%M}" if span is not None and span.until else ""
    click.echo(
        f"{result.rule.name}: {result.rule.describe(result.metric, result.currency)} "
        f"({days}{until}, {ws.timezone})"
    )
    for e in result.evaluations:
        click.echo(f"{'FIRES' if e.fires else '     '}  {e.message}")


@alert.command("delete")
@workspace_option
@click.argument("rule_id")
@friendly_errors
def alert_delete(workspace: str, rule_id: str) -> None:
    """Delete the alert rule RULE_ID and what it fired."""
    from metricx.actor import Actor
    from metricx.services import alerts
    from metricx.services.workspaces import find_workspace

    with services():
        ws = find_workspace(workspace)
        alerts.delete_rule(Actor.system(ws.id), rule_id)
    click.echo(f"Deleted alert rule #{rule_id.strip()}.")


@alert.command("recommended")
@workspace_option
@friendly_errors
def alert_recommended(workspace: str) -> None:
    """Add the recommended anomaly rules (spend, revenue, orders, ROAS, CPA, conversion
    rate, tracked orders) the workspace lacks."""
    from metricx.actor import Actor
    from metricx.services import alerts
    from metricx.services.workspaces import find_workspace

    with services():
        added = alerts.add_recommended_rules(Actor.system(find_workspace(workspace).id))
    click.echo(
        f"Added {added} recommended anomaly rules (see `metricx alert list`)."
        if added
        else "The workspace has every recommended anomaly rule already."
    )


@alert.command("history")
@workspace_option
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True)
@friendly_errors
def alert_history(workspace: str, limit: int) -> None:
    """What the rules and the built-in monitors fired, newest first."""
    from metricx.actor import Actor
    from metricx.services import monitors
    from metricx.services.workspaces import find_workspace

    with services():
        ws = find_workspace(workspace)
        events = monitors.recent_events(Actor.system(ws.id), limit)
    if not events:
        click.echo("Nothing has fired yet.")
    for e in events:
        click.echo(f"{_local_time(e.fired_at, ws.timezone)}  {e.name}: {e.message}")


@alert.command("monitors")
@workspace_option
@friendly_errors
def alert_monitors(workspace: str) -> None:
    """List the built-in monitors with their settings."""
    from metricx.actor import Actor
    from metricx.services import monitors
    from metricx.services.workspaces import find_workspace

    with services():
        ws = find_workspace(workspace)
        views = monitors.list_monitors(Actor.system(ws.id))
    for m in views:
        settings = ", ".join(f"{k}={v}" for k, v in m.params.items()) or "no settings"
        click.echo(
            f"{m.kind:<22} {'on ' if m.enabled else 'off'}  {m.title}  ({settings}; cool-down "
            f"{m.cooldown_minutes} min; last run {_local_time(m.last_run_at, ws.timezone)})"
        )


def _channels(emails: tuple[str, ...], slack: bool) -> list[dict[str, str]] | None:
    """--email/--slack as stored channels; None when neither was given (keep what is set)."""
    if not emails and not slack:
        return None
    return [{"kind": "email", "to": e} for e in emails] + ([{"kind": "slack"}] if slack else [])


@alert.command("monitor")
@workspace_option
@click.argument("kind")
@click.option("--on/--off", "enabled", default=None, help="Switch it on or off.")
@click.option("--set", "settings", multiple=True, help="A setting as name=value (repeatable).")
@click.option("--cooldown", type=click.IntRange(0, 7 * 24 * 60), help="Quiet minutes.")
@click.option("--email", "emails", multiple=True, help="Deliver to this address (repeatable).")
@click.option("--slack", is_flag=True, help="Deliver to the workspace's Slack.")
@friendly_errors
def alert_monitor(
    workspace: str,
    kind: str,
    enabled: bool | None,
    settings: tuple[str, ...],
    cooldown: int | None,
    emails: tuple[str, ...],
    slack: bool,
) -> None:
    """Change the built-in monitor KIND (see `metricx alert monitors`)."""
    from metricx.actor import Actor
    from metricx.services import monitors
    from metricx.services.workspaces import find_workspace

    params: dict[str, str] | None = None
    if settings:
        pairs = [s.partition("=") for s in settings]
        if any(not name.strip() or not sep for name, sep, _ in pairs):
            fail("--set takes name=value, e.g. --set minutes=90")
        params = {name.strip(): value.strip() for name, _, value in pairs}
    with services():
        ws = find_workspace(workspace)
        actor = Actor.system(ws.id)
        if params is not None:  # the others keep their values, not their defaults
            current = [m for m in monitors.list_monitors(actor) if m.kind == kind.strip()]
            params = {**(current[0].params if current else {}), **params}
        view = monitors.update_monitor(
            actor,
            kind.strip(),
            enabled=enabled,
            params=params,
            channels=_channels(emails, slack),
            cooldown_minutes=cooldown,
        )
    state = "on" if view.enabled else "off"
    click.echo(f"Saved the monitor {view.title!r} ({state}).")


@alert.command("digests")
@workspace_option
@friendly_errors
def alert_digests(workspace: str) -> None:
    """List the daily and weekly digests: when, to whom, next run."""
    from metricx.actor import Actor
    from metricx.services import digests
    from metricx.services.workspaces import find_workspace

    with services():
        ws = find_workspace(workspace)
        saved = digests.list_digests(Actor.system(ws.id))
    for d in saved:
        to = ", ".join(c.get("to") or "Slack" for c in d.delivers_to) or "nobody"
        click.echo(
            f"{d.cadence:<7} {'on ' if d.enabled else 'off'}  {d.when}  to {to}  next run "
            f"{_local_time(d.next_run_at, ws.timezone)}"
        )


@alert.command("digest")
@workspace_option
@click.argument("cadence", type=click.Choice(["daily", "weekly"]))
@click.option("--at", "local_hour", type=click.IntRange(0, 23), help="Local hour it is sent.")
@click.option(
    "--weekday",
    type=click.Choice(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]),
    help="Weekly digests: the day it is sent.",
)
@click.option("--on/--off", "enabled", default=None, help="Send it or not.")
@click.option("--email", "emails", multiple=True, help="Send to this address (repeatable).")
@click.option("--slack", is_flag=True, help="Post to the workspace's Slack.")
@click.option("--send", is_flag=True, help="Send the latest complete period now.")
@friendly_errors
def alert_digest(
    workspace: str,
    cadence: str,
    local_hour: int | None,
    weekday: str | None,
    enabled: bool | None,
    emails: tuple[str, ...],
    slack: bool,
    send: bool,
) -> None:
    """Change the CADENCE digest (daily or weekly), or --send it now."""
    from metricx.actor import Actor
    from metricx.services import digests
    from metricx.services.workspaces import find_workspace

    days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    with services():
        ws = find_workspace(workspace)
        actor = Actor.system(ws.id)
        current = next(d for d in digests.list_digests(actor) if d.cadence == cadence)
        changed = (local_hour, weekday, enabled) != (None, None, None) or emails or slack
        if changed:
            current = digests.save_digest(
                actor,
                cadence,
                local_hour=current.local_hour if local_hour is None else local_hour,
                weekday=current.weekday if weekday is None else days.index(weekday),
                channels=_channels(emails, slack) or current.channels,
                enabled=current.enabled if enabled is None else enabled,
            )
        sent = digests.send_digest_now(actor, cadence) if send else None
    click.echo(f"The {cadence} digest is {'on' if current.enabled else 'off'}, {current.when}.")
    if sent is not None:
        plural = "delivery" if len(sent) == 1 else "deliveries"
        click.echo(f"Queued {len(sent)} {plural}." if sent else "Already sent for that period.")


@alert.command("slack")
@workspace_option
@click.argument("url", required=False)
@click.option("--clear", is_flag=True, help="Disconnect the workspace's Slack.")
@friendly_errors
def alert_slack(workspace: str, url: str | None, clear: bool) -> None:
    """Connect the workspace's Slack by its incoming-webhook URL (or --clear it)."""
    from metricx.actor import Actor
    from metricx.services import notifications
    from metricx.services.workspaces import find_workspace

    if bool(url) == clear:
        fail("give the webhook URL, or --clear")
    with services():
        actor = Actor.system(find_workspace(workspace).id)
        if clear:
            notifications.clear_slack_webhook(actor)
        else:
            notifications.set_slack_webhook(actor, url)
    click.echo("Slack disconnected." if clear else "Slack connected.")


@alert.command("send-test")
@workspace_option
@click.option("--email", help="Send a test email to this address.")
@click.option("--slack", is_flag=True, help="Post a test message to the workspace's Slack.")
@friendly_errors
def alert_send_test(workspace: str, email: str | None, slack: bool) -> None:
    """Send a test message, to check email or Slack delivery."""
    from metricx.actor import Actor
    from metricx.services import notifications
    from metricx.services.workspaces import find_workspace

    if bool(email) == slack:
        fail("give --email ADDRESS or --slack")
    channel = {"kind": "slack"} if slack else {"kind": "email", "to": email}
    with services():
        number = notifications.send_test(Actor.system(find_workspace(workspace).id), channel)
    click.echo(f"Queued test delivery #{number} (see `metricx alert deliveries`).")


@alert.command("deliveries")
@workspace_option
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True)
@friendly_errors
def alert_deliveries(workspace: str, limit: int) -> None:
    """The delivery log: what was sent where, and what failed."""
    from metricx.actor import Actor
    from metricx.services import notifications
    from metricx.services.workspaces import find_workspace

    with services():
        ws = find_workspace(workspace)
        log = notifications.recent_deliveries(Actor.system(ws.id), limit)
    if not log:
        click.echo("Nothing has been delivered yet.")
    for d in log:
        error = f"  ({d.last_error})" if d.last_error else ""
        click.echo(
            f"#{d.id}  {_local_time(d.created_at, ws.timezone)}  {d.status:<7} "
            f"{d.channel}:{d.target}  {d.subject}{error}"
        )


# --- data in ----------------------------------------------------------------------------------


@main.command()
@click.option("--connection", "connection_id", type=ROW_ID, required=True, help="Connection id.")
@click.option("--start", type=DAY, help="First day (account's days).")
@click.option("--end", type=DAY, help="Last day, inclusive.")
@click.option("--enqueue", is_flag=True, help="Queue it for a worker instead of running here.")
@friendly_errors
def sync(connection_id: int, start: date | None, end: date | None, enqueue: bool) -> None:
    """Sync one connection. Without dates: today's running totals (ad accounts) or everything
    updated since the last sync (shops). With --start/--end: replace those whole days."""
    from metricx.connection_store import find_connection

    first, last = start, end
    if (first is None) != (last is None):
        fail("give both --start and --end, or neither")
    if first and last and first > last:
        fail(f"--start {first} is after --end {last}")
    kind = "range" if first else "intraday"
    with services(redis=True):
        connection = find_connection(connection_id)
        if enqueue:
            from metricx.jobs import enqueue_sync

            queued = enqueue_sync(
                connection.workspace_id, connection_id, kind, start=first, end=last, queue="high"
            )
            click.echo(
                f"Queued job {queued.job_id}."
                if queued.job_id
                else "The same sync is already queued or running."
            )
            return
        from metricx.sync.pipeline import sync_connection

        with click.progressbar(length=1, label=f"Syncing {connection.name}") as bar:

            def progress(done: int, total: int, stage: str) -> None:
                bar.length = max(total, 1)
                bar.update(done - bar.pos)

            outcome = sync_connection(
                connection.workspace_id,
                connection_id,
                kind,
                start=first,
                end=last,
                progress=progress,
            )
    if outcome.status == "failed":
        fail(outcome.error or "sync failed")
    note = f" ({outcome.error})" if outcome.error else ""
    click.echo(f"{outcome.status}: {outcome.rows:,} rows written{note}.")


@main.command()
@friendly_errors
def compact() -> None:
    """Fold past days' 15-minute rows into hourly rows (what the nightly job does)."""
    from metricx.jobs import compact_all

    with services(redis=True):
        folded = compact_all()
    click.echo(f"Folded {folded:,} 15-minute rows into hourly rows.")


@main.command()
@workspace_option
@click.option(
    "--all",
    "everything",
    is_flag=True,
    help="Recompute every order (what the nightly job does), not only new or changed ones.",
)
@friendly_errors
def attribute(workspace: str, everything: bool) -> None:
    """Credit Shopify orders to ads under every attribution model, window and mode."""
    from metricx.attribution import compute
    from metricx.services.workspaces import find_workspace

    with services():
        workspace_id = find_workspace(workspace).id
        with click.progressbar(length=1, label="Attributing orders") as bar:

            def progress(done: int, total: int) -> None:
                bar.length = max(total, 1)
                bar.update(done - bar.pos)

            run = (compute.attribute_workspace if everything else compute.attribute_new_orders)(
                workspace_id, progress
            )
    click.echo(f"{run.orders:,} orders attributed ({run.rows:,} credit rows).")


@main.command()
@click.option("--no-sync", is_flag=True, help="Create the workspace and connections only.")
@friendly_errors
def demo(no_sync: bool) -> None:
    """Create the demo workspace on the sandbox merchant and sync its 180 days."""
    from metricx.services.demo import create_demo, sync_demo

    with services(redis=True):
        created = create_demo()
        click.echo(
            f"Workspace {created.workspace.name!r} with "
            f"{len(created.connections)} sandbox connections."
        )
        if no_sync:
            return
        bars: dict[str, Any] = {}

        def progress(label: str, done: int, total: int) -> None:
            bar = bars.get(label)
            if bar is None:
                bar = bars[label] = click.progressbar(length=max(total, 1), label=label[:40])
                bar.__enter__()
            bar.length = max(total, 1)
            bar.update(done - bar.pos)
            if done >= total:
                bar.__exit__(None, None, None)

        rows = sync_demo(created, progress)
    click.echo(f"\nDemo synced: {rows:,} rows.")


@main.command("sandbox-serve", hidden=True)
@click.option("--seed", type=int, default=42)
@click.option("--anchor", type=click.DateTime(["%Y-%m-%d"]), required=True)
def sandbox_serve(seed: int, anchor: Any) -> None:
    """Serve the sandbox's fake APIs until stopped (run by `metricx up`)."""
    from metricx.sandbox.runtime import serve
    from metricx.supervisor import StopSignal

    stop = StopSignal()
    serve(seed, anchor.date(), lambda: stop.reason is not None)


# --- the pixel collector ---------------------------------------------------------------------


@main.command()
@click.option("--host", help="Address to listen on (default: PIXEL_HOST or 127.0.0.1).")
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=None,
    help="Port to listen on (default: PIXEL_PORT or 8502).",
)
@friendly_errors
def pixel(host: str | None, port: int | None) -> None:
    """Run the pixel collector: storefront events in through POST /v1/pixel-events."""
    from metricx.pixel.app import EVENTS_PATH, CollectorSettings, run_collector

    config = get_config()
    settings = CollectorSettings.from_config(config)
    host, port = host or config.pixel_host, port or config.pixel_port
    with services():
        click.echo(f"Pixel collector on http://{host}:{port}{EVENTS_PATH} (Ctrl-C stops it)")
        run_collector(host, port, settings)


@main.command("pixel-key")
@workspace_option
@click.option("--rotate", is_flag=True, help="Replace the key; the old one stops working.")
@friendly_errors
def pixel_key(workspace: str, rotate: bool) -> None:
    """Print the workspace's pixel key (the snippet's workspace_key), made on first use."""
    from metricx.actor import Actor
    from metricx.services import pixel_keys
    from metricx.services.workspaces import find_workspace

    with services():
        actor = Actor.system(find_workspace(workspace).id)
        key = pixel_keys.rotate_pixel_key(actor) if rotate else pixel_keys.pixel_key(actor)
    click.echo(key)


@main.command("customer-data")
@workspace_option
@click.option(
    "--connection",
    "connection_id",
    type=ROW_ID,
    required=True,
    help="The Shopify connection's id (see `metricx connection list`).",
)
@click.option(
    "--customer",
    "customer_id",
    required=True,
    help="Shopify's customer id, as the customers/data_request webhook names it.",
)
@click.option(
    "--order", "order_ids", multiple=True, help="An order id the request lists (repeatable)."
)
@friendly_errors
def customer_data(
    workspace: str, connection_id: int, customer_id: str, order_ids: tuple[str, ...]
) -> None:
    """Print, as JSON, everything Metricx holds about one Shopify customer: the answer to a
    customers/data_request (the export is audited)."""
    from metricx.actor import Actor
    from metricx.services.privacy import export_customer_data
    from metricx.services.workspaces import find_workspace

    with services():
        actor = Actor.system(find_workspace(workspace).id)
        held = export_customer_data(actor, connection_id, customer_id, order_ids)
    click.echo(json.dumps(held, indent=2, default=str))


# --- Shopify webhooks -------------------------------------------------------------------------


@main.command()
@click.option("--host", help="Address to listen on (default: WEBHOOK_HOST or 127.0.0.1).")
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=None,
    help="Port to listen on (default: WEBHOOK_PORT or 8503).",
)
@friendly_errors
def webhooks(host: str | None, port: int | None) -> None:
    """Receive Shopify webhooks on POST /webhooks/shopify: new and changed orders (synced
    within a minute), app/uninstalled and the compliance topics (customers/data_request,
    customers/redact, shop/redact). Each is HMAC-verified with SHOPIFY_CLIENT_SECRET."""
    from metricx.webhooks.app import WEBHOOK_PATH, run_server

    config = get_config()
    host, port = host or config.webhook_host, port or config.webhook_port
    public = (config.webhook_public_url or f"http://localhost:{port}").rstrip("/")
    with services(redis=True):
        click.echo(f"Shopify webhooks on http://{host}:{port}{WEBHOOK_PATH} (Ctrl-C stops it)")
        click.echo(f"Subscribe the app to {public}{WEBHOOK_PATH} (shopify.app.toml)")
        if not config.shopify_client_secret:
            click.echo(
                "SHOPIFY_CLIENT_SECRET is not set: only sandbox shops can be verified", err=True
            )
        run_server(host, port)


# --- processes --------------------------------------------------------------------------------


@main.command()
@click.option("--burst", is_flag=True, help="Run the queued jobs, then exit.")
@friendly_errors
def worker(burst: bool) -> None:
    """Run an RQ worker on the high, default and low queues."""
    from metricx.jobs import run_worker

    with services(redis=True):
        run_worker(burst=burst)


@main.command()
@click.option("--burst", is_flag=True, help="Enqueue the jobs that are due, then exit.")
@friendly_errors
def scheduler(burst: bool) -> None:
    """Register the sync schedule (under stable ids) and run rq-scheduler."""
    from metricx.jobs import run_scheduler

    with services(redis=True):
        run_scheduler(burst=burst)


if __name__ == "__main__":
    main()
