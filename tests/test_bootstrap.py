"""`metricx up` as a user runs it: everything starts, the login works, Ctrl-C stops it all."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import bcrypt
import psutil
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from metricx.config import PROJECT_ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Up:
    """One `metricx up` process, its output collected in a file."""

    def __init__(self, data_dir: Path, env: dict[str, str]) -> None:
        self.port = free_port()
        self.log = data_dir.parent / f"up-{self.port}.log"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "metricx.cli", "up", "--port", str(self.port)],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        return self.log.read_text()

    def wait_healthy(self, timeout_s: float = 90) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.output()
            try:
                url = f"http://127.0.0.1:{self.port}/_stcore/health"
                with urllib.request.urlopen(url, timeout=2) as answer:
                    if answer.read() == b"ok":
                        return
            except OSError:
                time.sleep(0.5)
        raise AssertionError(f"not healthy in {timeout_s}s:\n{self.output()}")

    def family(self) -> list[psutil.Process]:
        try:
            return [
                psutil.Process(self.process.pid),
                *psutil.Process(self.process.pid).children(recursive=True),
            ]
        except psutil.NoSuchProcess:
            return []

    def interrupt(self) -> int:
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=60)


def survivors(data_dir: Path, pids: set[int]) -> list[str]:
    """Processes still alive that `up` started or that use its data directory."""
    found = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if proc.info["pid"] in pids or str(data_dir) in cmdline:
            with_status = proc.status() if proc.is_running() else "gone"
            if with_status not in ("zombie", "gone"):
                found.append(f"{proc.info['pid']} {cmdline[:120]}")
    return found


@pytest.fixture
def up_env(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    data_dir = tmp_path / "data"
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "TOKEN_ENCRYPTION_KEY")
    }
    env.update(
        METRICX_DATA_DIR=str(data_dir),
        METRICX_ENV="development",
        BCRYPT_ROUNDS="4",
        PIXEL_PORT=str(free_port()),
        WEBHOOK_PORT=str(free_port()),
    )
    yield data_dir, env
    for proc in psutil.process_iter(["cmdline"]):  # never leave a server behind a failed test
        if str(data_dir) in " ".join(proc.info["cmdline"] or []):
            proc.kill()


def wait_for_synced_connection(data_dir: Path, timeout_s: float = 120) -> int:
    """Rows synced (ad snapshots plus orders) once a first sync run has succeeded."""
    engine = create_engine(embedded_url(data_dir))
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                done = conn.execute(
                    text("SELECT count(*) FROM sync_runs WHERE status = 'success'")
                ).scalar_one()
                if done:
                    return conn.execute(
                        text(
                            "SELECT (SELECT count(*) FROM metric_snapshots)"
                            " + (SELECT count(*) FROM shopify_orders)"
                        )
                    ).scalar_one()
            time.sleep(1)
    finally:
        engine.dispose()
    raise AssertionError("no sync finished in time")


def embedded_url(data_dir: Path) -> str:
    return f"postgresql+psycopg://postgres:@/metricx?host={data_dir / 'pgdata'}"


def test_up_runs_everything_the_printed_login_works_and_ctrl_c_stops_it_all(up_env):
    data_dir, env = up_env
    # Given a machine where nothing runs, when `metricx up` starts
    up = Up(data_dir, env)
    up.wait_healthy()
    # Then it printed a login for the demo workspace's admin, and that password is the one stored
    printed = up.output()
    assert "Created the demo workspace" in printed
    line = next(row for row in printed.splitlines() if row.startswith("Log in as "))
    email, password = line.split()[3], line.split()[-1]
    engine = create_engine(embedded_url(data_dir))
    with engine.connect() as conn:
        stored = conn.execute(
            text("SELECT password_hash, role FROM users WHERE email = :e"), {"e": email}
        ).one()
        names = conn.execute(text("SELECT name FROM workspaces")).scalars().all()
    engine.dispose()
    assert bcrypt.checkpw(password.encode(), stored.password_hash.encode())
    assert stored.role == "admin" and names == ["demo"]
    # And a worker, the scheduler and the app run beside the two servers
    commands = " ".join(" ".join(p.cmdline()) for p in up.family())
    for part in (
        "metricx.cli worker",
        "metricx.cli scheduler",
        "streamlit run",
        "redis-server",
        "metricx.cli sandbox-serve",
        "metricx.cli pixel",
    ):
        assert part in commands
    # And the app answers this machine only (APP_HOST is unset)
    app = next(p for p in up.family() if "streamlit run" in " ".join(p.cmdline()))
    listening = {c.laddr.ip for c in app.net_connections() if c.status == psutil.CONN_LISTEN}
    assert listening == {"127.0.0.1"}
    # And the worker syncs the demo's history from the sandbox through the real connectors
    assert wait_for_synced_connection(data_dir) > 0
    # And the pixel collector answers on its port
    with urllib.request.urlopen(f"http://127.0.0.1:{env['PIXEL_PORT']}/healthz") as answer:
        assert answer.status == 200
    pids = {p.pid for p in up.family()}
    # When Ctrl-C arrives
    assert up.interrupt() == 0, up.output()
    # Then nothing it started survives, the database included
    time.sleep(1)
    assert survivors(data_dir, pids) == []
    assert "Stopped." in up.output()

    # When it runs a second time, it keeps the data: no new workspace, same login
    again = Up(data_dir, env)
    again.wait_healthy()
    assert "Created the demo workspace" not in again.output()
    assert f"Log in as {email} with password {password}" in again.output()
    assert again.interrupt() == 0, again.output()


def test_up_uses_the_database_url_it_is_given(up_env, servers):
    data_dir, env = up_env
    # Given DATABASE_URL pointing at another PostgreSQL (the test session's server)
    admin_url = make_url(servers["DATABASE_URL"])
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text('DROP DATABASE IF EXISTS "metricx_up_external"'))
        conn.execute(text('CREATE DATABASE "metricx_up_external"'))
    external = admin_url.set(database="metricx_up_external").render_as_string(False)
    env["DATABASE_URL"] = external
    # When `metricx up` runs
    up = Up(data_dir, env)
    try:
        up.wait_healthy()
    finally:
        assert up.interrupt() == 0, up.output()
    # Then the demo landed in that database and no embedded PostgreSQL was created
    engine = create_engine(external)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT name FROM workspaces")).scalars().all() == ["demo"]
    engine.dispose()
    assert not (data_dir / "pgdata").exists()
    with admin.connect() as conn:
        conn.execute(text('DROP DATABASE "metricx_up_external" WITH (FORCE)'))
    admin.dispose()


def test_the_printed_admin_login_is_kept_private_from_its_first_byte(
    db, setenv, tmp_path, monkeypatch
):
    from metricx.bootstrap import ensure_demo_workspace, login_file

    # Given a umask that lets everyone read new files, and no chmod to tighten one afterwards
    setenv(METRICX_DATA_DIR=str(tmp_path))
    monkeypatch.setattr(Path, "chmod", lambda *_: None)
    printed: list[str] = []
    old_umask = os.umask(0)
    try:
        # When the first start creates the demo admin
        ensure_demo_workspace(printed.append)
    finally:
        os.umask(old_umask)
    # Then the login file was created readable by this user only, and holds what was printed
    path = login_file(tmp_path)
    assert oct(path.stat().st_mode & 0o777) == oct(0o600)
    email, password = path.read_text().split()
    assert f"Log in as {email} with password {password}" in printed
