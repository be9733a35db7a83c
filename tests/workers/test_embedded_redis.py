"""The embedded Redis the workers and CLI commands share: one server per data directory,
however many commands start it and in whatever order they end."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest
import redis

from metricx.config import PROJECT_ROOT
from metricx.embedded import EmbeddedRedis

# A command using the embedded Redis: start it, say which server it got, stop when told.
COMMAND = """
import sys
from pathlib import Path

import redis

from metricx.embedded import EmbeddedRedis

server = EmbeddedRedis(Path(sys.argv[1]))
print(redis.Redis.from_url(server.start()).info("server")["process_id"], flush=True)
sys.stdin.readline()
server.stop()
"""


def servers_of(data_dir: Path) -> list[int]:
    """Pids of the redis-server processes of `data_dir` (Redis retitles its process
    "redis-server unixsocket:<path>")."""
    title = f"unixsocket:{EmbeddedRedis(data_dir).socket}"
    return [
        proc.pid
        for proc in psutil.process_iter(["cmdline"])
        if title in " ".join(proc.info["cmdline"] or [])
    ]


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    """A data directory whose Redis servers, should a test fail half-way, are killed after."""
    yield tmp_path
    for pid in servers_of(tmp_path):
        psutil.Process(pid).kill()


def command(data_dir: Path) -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen(
        [sys.executable, "-c", COMMAND, str(data_dir)],
        cwd=PROJECT_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    return process, int(process.stdout.readline())


def end(process: subprocess.Popen[str]) -> None:
    process.stdin.close()
    assert process.wait(timeout=30) == 0


def test_a_command_ending_leaves_the_server_to_the_commands_still_using_it(data_dir):
    # Given one command that started the embedded Redis and a second that came later
    first, first_server = command(data_dir)
    second, second_server = command(data_dir)
    try:
        # Then both talk to the one server
        assert first_server == second_server
        assert servers_of(data_dir) == [first_server]
        # When the command that started it ends, the other still has its server
        end(first)
        assert redis.Redis.from_url(EmbeddedRedis(data_dir).url).ping()
        # And when the last one ends, the server stops with it
        end(second)
        assert servers_of(data_dir) == []
    finally:
        for process in (first, second):
            process.kill()


def test_two_commands_starting_at_the_same_moment_share_one_server(data_dir):
    # Given two commands starting the embedded Redis of one data directory at once
    servers = [EmbeddedRedis(data_dir), EmbeddedRedis(data_dir)]
    together = threading.Barrier(len(servers))

    def start(server: EmbeddedRedis) -> int:
        together.wait()
        return redis.Redis.from_url(server.start()).info("server")["process_id"]

    try:
        with ThreadPoolExecutor(len(servers)) as pool:
            pids = set(pool.map(start, servers))
        # Then one server runs, and both use it
        assert len(pids) == 1
        assert servers_of(data_dir) == list(pids)
    finally:
        for server in servers:
            server.stop()
    # And with both done, it is stopped
    assert servers_of(data_dir) == []
