"""First start: schema, demo workspace and admin; then every process of `metricx up`
(including the Shopify webhook receiver and, for the demo, its fake shop's webhook sender)."""

from __future__ import annotations

import secrets
import sys
from collections.abc import Callable
from pathlib import Path

from metricx import migrate
from metricx.config import get_config, write_private_file
from metricx.delivery.mailbox import LocalMailbox
from metricx.embedded import EmbeddedPostgres, EmbeddedRedis, child_env
from metricx.runtime import DATABASE_NAME
from metricx.services.demo import Demo, create_demo, enqueue_backfill, sandbox_merchants
from metricx.services.users import add_user
from metricx.services.workspaces import count_workspaces
from metricx.supervisor import StopSignal, Supervisor, app_url

DEMO_ADMIN_EMAIL = "admin@demo.metricx.local"


def login_file(data_dir: Path) -> Path:
    return data_dir / "admin-login.txt"


def ensure_demo_workspace(echo: Callable[[str], None]) -> Demo | None:
    """On an empty database: the demo workspace on the sandbox merchant, and an admin whose
    password is printed and kept (readable by this machine's user only) so the next start can
    print it again. Returns the demo when it was just created (its history still to sync)."""
    config = get_config()
    path = login_file(config.data_dir)
    demo = None
    if count_workspaces() == 0:
        password = secrets.token_urlsafe(12)
        demo = create_demo()
        add_user(demo.workspace.id, DEMO_ADMIN_EMAIL, password, role="admin", name="Demo admin")
        write_private_file(path, f"{DEMO_ADMIN_EMAIL}\n{password}\n")
        echo(
            f"Created the demo workspace: {len(demo.connections)} sandbox connections, "
            f"{(demo.end - demo.start).days + 1} days of history to sync."
        )
    if path.exists():
        email, password = path.read_text().split()[:2]
        echo(f"Log in as {email} with password {password}")
    return demo


def run_everything(port: int, echo: Callable[[str], None]) -> None:
    import os

    config = get_config()
    stop = StopSignal()
    postgres = redis = None
    mailbox: LocalMailbox | None = None
    try:
        database_url, redis_url = config.database_url, config.redis_url
        if not database_url:
            echo(f"Starting embedded PostgreSQL in {config.data_dir / 'pgdata'} ...")
            postgres = EmbeddedPostgres(config.data_dir)
            postgres.start()
            database_url = postgres.ensure_database(DATABASE_NAME)
        if not redis_url:
            echo("Starting embedded Redis ...")
            redis = EmbeddedRedis(config.data_dir)
            redis_url = redis.start()
        os.environ.update(DATABASE_URL=database_url, REDIS_URL=redis_url)
        if not config.smtp_url:  # the children (worker) send through it: it starts first
            mailbox = LocalMailbox(config.mailbox_dir)
            address = mailbox.start()
            os.environ.update(SMTP_URL=address.url, SMTP_CA_FILE=str(address.ca_file))
            echo(
                f"Mail is delivered to the local mailbox in {config.mailbox_dir / 'messages'} "
                "(read it on the Alerts page)"
            )
        get_config.cache_clear()
        migrate.upgrade()
        demo = ensure_demo_workspace(echo)

        if stop.reason:
            return
        # Links in alert and digest messages point at this app unless told otherwise.
        os.environ.setdefault("APP_PUBLIC_URL", app_url(config.app_host, port))
        supervisor = Supervisor(child_env(database_url, redis_url), echo, stop)
        for seed, anchor in sorted(sandbox_merchants()):  # the demo's fake platforms
            supervisor.metricx(
                "sandbox", "sandbox-serve", "--seed", str(seed), "--anchor", anchor.isoformat()
            )
        supervisor.metricx("worker", "worker")
        supervisor.metricx("scheduler", "scheduler")
        supervisor.metricx("pixel", "pixel")
        supervisor.metricx("webhooks", "webhooks")
        receiver = f"http://127.0.0.1:{config.webhook_port}/webhooks/shopify"
        for seed, anchor in sorted(sandbox_merchants()):  # the demo shop's order webhooks
            supervisor.spawn(
                "shop webhooks",
                [
                    sys.executable,
                    "-m",
                    "metricx.sandbox.fakes.shopify_webhooks",
                    "--url",
                    receiver,
                    "--seed",
                    str(seed),
                    "--anchor",
                    anchor.isoformat(),
                ],
            )
        supervisor.streamlit(config.app_host, port)
        try:
            if demo is not None:
                queued = enqueue_backfill(demo)
                echo(
                    f"Queued {len(queued)} sync jobs for the demo's history; the worker is "
                    "on it (progress on the Connections page)."
                )
            if supervisor.wait_healthy(config.app_host, port):
                echo(
                    f"Metricx is running at {app_url(config.app_host, port)}  "
                    "(Ctrl-C stops everything)"
                )
            why = supervisor.run_until_signal()
            echo(f"Stopping ({why}) ...")
        finally:
            supervisor.stop_children()
    finally:
        for server in (mailbox, redis, postgres):
            if server is not None:
                server.stop()
        echo("Stopped.")
