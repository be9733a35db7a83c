"""`metricx up`: the database, Redis, a worker, the scheduler and the app, stopped together.

Children run in their own sessions so a Ctrl-C reaches this process only; it then stops
them in order (app and jobs first, servers last) so no process outlives it.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable

import psutil

from metricx.config import PROJECT_ROOT

STOP_TIMEOUT_S = 15


class StopSignal:
    """Catches SIGINT/SIGTERM from the very start, so a Ctrl-C at any moment (even while the
    database is still starting) leads to the same orderly shutdown instead of a traceback."""

    def __init__(self) -> None:
        self.reason: str | None = None
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)

    def _on_signal(self, signum: int, _frame: object) -> None:
        self.reason = signal.Signals(signum).name


class Supervisor:
    def __init__(self, env: dict[str, str], echo: Callable[[str], None], stop: StopSignal) -> None:
        self.env = env
        self.echo = echo
        self.stop = stop
        self.children: list[tuple[str, subprocess.Popen[bytes]]] = []

    def spawn(self, label: str, args: list[str]) -> None:
        process = subprocess.Popen(args, env=self.env, cwd=PROJECT_ROOT, start_new_session=True)
        self.children.append((label, process))

    def metricx(self, label: str, *args: str) -> None:
        self.spawn(label, [sys.executable, "-m", "metricx.cli", *args])

    def streamlit(self, host: str, port: int) -> None:
        self.spawn(
            "app",
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                str(PROJECT_ROOT / "app.py"),
                "--server.address",
                host,
                "--server.port",
                str(port),
                "--server.headless",
                "true",
                "--browser.gatherUsageStats",
                "false",
            ],
        )

    def wait_healthy(self, host: str, port: int, timeout_s: float = 90) -> bool:
        url = f"{app_url(host, port)}/_stcore/health"
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.dead_child() or self.stop.reason:
                return False
            try:
                with urllib.request.urlopen(url, timeout=2) as answer:
                    if answer.read().strip() == b"ok":
                        return True
            except OSError:
                time.sleep(0.5)
        return False

    def dead_child(self) -> str | None:
        for label, process in self.children:
            if process.poll() is not None:
                return f"{label} exited with code {process.returncode}"
        return None

    def run_until_signal(self) -> str:
        """Block until SIGINT/SIGTERM or a child dies; return why."""
        while not self.stop.reason:
            died = self.dead_child()
            if died:
                return died
            time.sleep(0.2)
        return self.stop.reason

    def stop_children(self) -> None:
        """SIGTERM every child and all its descendants (an RQ work horse runs in a session of
        its own, so a process group is not enough), wait, then SIGKILL what is left."""
        trees = {label: _tree(process.pid) for label, process in self.children}
        for tree in trees.values():
            _signal_all(tree, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for label, process in reversed(self.children):
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.echo(f"{label} did not stop in {STOP_TIMEOUT_S}s; killing it")
            _signal_all(trees[label] + _tree(process.pid), signal.SIGKILL)
            process.wait()


def app_url(host: str, port: int) -> str:
    """Where this machine reaches an app listening on `host` (every interface: loopback)."""
    reachable = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    return f"http://[{reachable}]:{port}" if ":" in reachable else f"http://{reachable}:{port}"


def _tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _signal_all(processes: list[psutil.Process], signum: int) -> None:
    for proc in processes:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            if proc.is_running():
                proc.send_signal(signum)
