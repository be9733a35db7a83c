"""Shared fixtures: one real PostgreSQL and one real Redis for the whole session.

Both are embedded servers started in a temporary directory, unless TEST_DATABASE_URL /
TEST_REDIS_URL point at servers of your own. Isolation between tests: every table is
truncated and Redis flushed after each test that used them.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

if TYPE_CHECKING:
    from metricx.delivery.mailbox import LocalMailbox

# Sandbox-backed connections (fake Meta/Google/Shopify APIs) for the sync and worker tests.
pytest_plugins = ("sandbox_fixtures",)

TEST_KEY = base64.b64encode(bytes(range(32))).decode()


def _set_env(**values: str) -> None:
    os.environ.update(values)
    from metricx.config import get_config

    get_config.cache_clear()


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """DATABASE_URL and REDIS_URL of the session's servers, migrated to head."""
    from metricx.embedded import EmbeddedPostgres, EmbeddedRedis

    data_dir = Path(tmp_path_factory.mktemp("metricx-data"))
    _set_env(
        METRICX_ENV="test",
        METRICX_DATA_DIR=str(data_dir),
        BCRYPT_ROUNDS="4",
        TOKEN_ENCRYPTION_KEY=f"test:{TEST_KEY}",
    )
    started: list[EmbeddedPostgres | EmbeddedRedis] = []
    database_url = os.environ.get("TEST_DATABASE_URL")
    if not database_url:
        postgres = EmbeddedPostgres(data_dir)
        postgres.start()
        started.append(postgres)
        database_url = postgres.ensure_database("metricx_test")
    redis_url = os.environ.get("TEST_REDIS_URL")
    if not redis_url:
        embedded_redis = EmbeddedRedis(data_dir)
        redis_url = embedded_redis.start()
        started.append(embedded_redis)
    _set_env(DATABASE_URL=database_url, REDIS_URL=redis_url)

    from metricx import migrate

    migrate.upgrade()
    yield {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "data_dir": str(data_dir)}
    from metricx.db import engine_for

    engine_for.cache_clear()
    for server in reversed(started):
        server.stop()


def truncate_all() -> None:
    from metricx.db import get_engine
    from metricx.models import Base

    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with get_engine().begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture
def db(servers: dict[str, str]) -> Iterator[None]:
    """A clean database for this test (emptied again afterwards)."""
    yield
    truncate_all()


@pytest.fixture
def redis_conn(servers: dict[str, str]) -> Iterator[object]:
    from metricx.queue import get_redis

    connection = get_redis()
    yield connection
    connection.flushdb()


@pytest.fixture
def workspace(db: None):
    from metricx.services.workspaces import create_workspace

    return create_workspace("Acme", "America/New_York", "USD")


@pytest.fixture
def other_workspace(db: None):
    from metricx.services.workspaces import create_workspace

    return create_workspace("Globex", "Europe/Berlin", "EUR")


@pytest.fixture
def admin(workspace):
    from metricx.services.users import actor_for, add_user

    return actor_for(add_user(workspace.id, "ada@acme.test", "correct horse", role="admin"))


@pytest.fixture
def member(workspace):
    from metricx.services.users import actor_for, add_user

    return actor_for(add_user(workspace.id, "bob@acme.test", "battery staple", role="member"))


@pytest.fixture
def setenv(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """Change environment settings for one test; the config is re-read before and after."""
    from metricx.config import get_config

    def apply(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        get_config.cache_clear()

    yield apply
    monkeypatch.undo()
    get_config.cache_clear()


SCRATCH_DATABASE = "metricx_migrations_scratch"


@pytest.fixture
def scratch_database(servers, setenv) -> Iterator[str]:
    """An empty database of its own, so walking the chain never disturbs other tests."""
    from metricx.db import engine_for

    admin_url = make_url(servers["DATABASE_URL"])
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{SCRATCH_DATABASE}"'))
        conn.execute(text(f'CREATE DATABASE "{SCRATCH_DATABASE}"'))
    url = admin_url.set(database=SCRATCH_DATABASE).render_as_string(hide_password=False)
    setenv(DATABASE_URL=url)
    yield url
    engine_for(url).dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{SCRATCH_DATABASE}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def run():
    """The `metricx` command run in-process: run("alert", "list", "-w", "Acme") is click's
    Result (input= feeds its prompts)."""
    from click.testing import CliRunner

    from metricx.cli import main

    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):
        return runner.invoke(main, list(args), input=input)

    return invoke


@pytest.fixture
def ok(run):
    """Run a command that must succeed; its output."""

    def invoke(*args: str) -> str:
        result = run(*args)
        assert result.exit_code == 0, result.output
        return result.output

    return invoke


@pytest.fixture
def worker(redis_conn) -> object:
    """An RQ worker on the default queue, where deliveries are queued: `.work(burst=True)`
    runs them (metricx.jobs.deliver) in this process."""
    from rq import SimpleWorker

    from metricx.queue import get_queue

    return SimpleWorker([get_queue("default")], connection=redis_conn)


@pytest.fixture
def sandbox_slack(servers: dict[str, str]) -> object:
    """The sandbox's fake Slack (where `TSANDBOX` webhooks post), emptied."""
    from metricx.sandbox.runtime import in_process_slack

    fake = in_process_slack()
    fake.reset()
    return fake


@pytest.fixture
def slack(admin, sandbox_slack) -> object:
    """The admin's workspace posts to the sandbox's fake Slack."""
    from metricx.delivery.slack import SANDBOX_WEBHOOK_URL
    from metricx.services import notifications

    notifications.set_slack_webhook(admin, SANDBOX_WEBHOOK_URL)
    return sandbox_slack


@pytest.fixture
def local_mailbox(tmp_path: Path, setenv) -> Iterator[LocalMailbox]:
    """A running local mailbox (STARTTLS, then AUTH) for this test, with SMTP_URL and
    SMTP_CA_FILE pointing at it; read what it received with
    `read_messages(local_mailbox.root)` (metricx.delivery.mailbox)."""
    from metricx.delivery.mailbox import LocalMailbox

    mailbox = LocalMailbox(tmp_path / "mailbox")
    address = mailbox.start()
    setenv(SMTP_URL=address.url, SMTP_CA_FILE=str(address.ca_file))
    try:
        yield mailbox
    finally:
        mailbox.stop()
