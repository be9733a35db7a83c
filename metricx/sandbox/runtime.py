"""Where the sandbox's fake APIs are running for this machine, or running them here.

`metricx up` keeps one sandbox process serving (and writes its address to
`METRICX_DATA_DIR/sandbox.json`); any other process that syncs a sandbox connection (a worker,
`metricx sync`) uses that one, or starts the fakes in-process when none is serving. Both serve
the same merchant: it is a pure function of its seed and anchor day, which the demo's
connections carry in their settings.

The fake Slack serves the demo's webhook (hooks.slack.com/services/TSANDBOX/..., stored
without a port because the port changes at every start): `sandbox_slack_url()` says where it
serves now, and each message it accepts is a JSON file under METRICX_DATA_DIR/slack/.
"""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from threading import Lock

from metricx.config import get_config
from metricx.sandbox.calendar import local_date
from metricx.sandbox.fakes.graphql import LeakyBucket
from metricx.sandbox.fakes.slack import FakeSlackServer
from metricx.sandbox.merchant import Merchant
from metricx.sandbox.servers import SandboxServers

DEFAULT_SEED = 42
# The demo store's zone: its "today" (the sandbox merchant's anchor) is this zone's date, not
# the machine's, or the merchant's history and the workspace's days disagree for hours a day.
DEMO_TIMEZONE = "America/New_York"
# The demo merchant sells ~145 orders a day: a Shopify Plus store, whose GraphQL bucket
# refills ten times faster than the standard plan's (the first sync splits ~1,800 orders'
# refunds: 6 minutes of the standard bucket, under a minute of Plus's).
DEMO_SHOPIFY_PLAN = "plus"
_in_process: dict[tuple[int, date], SandboxServers] = {}
_in_process_slack: dict[Path, FakeSlackServer] = {}
_lock = Lock()


def registry_file() -> Path:
    return get_config().data_dir / "sandbox.json"


def slack_dir() -> Path:
    """Where the sandbox's Slack writes the messages it received, one JSON file each."""
    return get_config().data_dir / "slack"


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=1):
            return True
    except OSError as error:
        # Any HTTP answer (even 404) proves a server is there.
        return getattr(error, "code", None) is not None


def _registered(seed: int, anchor: date) -> dict[str, str] | None:
    path = registry_file()
    if not path.exists():
        return None
    try:
        entry = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if (entry.get("seed"), entry.get("anchor")) != (seed, anchor.isoformat()):
        return None
    env = entry.get("env") or {}
    return env if env and _answers(env.get("META_GRAPH_URL", "")) else None


def _demo_servers(seed: int, anchor: date) -> SandboxServers:
    servers = SandboxServers(Merchant.demo(seed, anchor), slack_dir=slack_dir())
    servers.shopify.bucket = LeakyBucket.of_plan(DEMO_SHOPIFY_PLAN)
    return servers


def demo_today() -> date:
    """Today in the demo store's zone: the anchor of the merchant a new demo syncs."""
    return local_date(datetime.now(UTC), DEMO_TIMEZONE)


def sandbox_env(seed: int = DEFAULT_SEED, anchor: date | None = None) -> dict[str, str]:
    """Base-URL settings of fakes serving merchant (seed, anchor)."""
    anchor = anchor or demo_today()
    registered = _registered(seed, anchor)
    if registered:
        return registered
    with _lock:
        servers = _in_process.get((seed, anchor))
        if servers is None:
            servers = _demo_servers(seed, anchor)
            _in_process[(seed, anchor)] = servers
        return servers.env


def in_process_slack() -> FakeSlackServer:
    """This process's own fake Slack (recording under slack_dir()), started on first use."""
    with _lock:
        directory = slack_dir()
        server = _in_process_slack.get(directory)
        if server is None:
            server = FakeSlackServer(record_dir=directory)
            _in_process_slack[directory] = server
        return server


def sandbox_slack_url() -> str:
    """Base URL of the sandbox's fake Slack: the one `metricx up` serves (whatever its
    merchant: Slack serves none), else this process's own."""
    try:
        entry = json.loads(registry_file().read_text())
    except (OSError, ValueError):  # none registered, or being rewritten
        entry = {}
    url = (entry.get("env") or {}).get("SANDBOX_SLACK_URL") if isinstance(entry, dict) else None
    if url and _answers(url):
        return str(url)
    return in_process_slack().url


def serve(seed: int, anchor: date, stop_requested: Callable[[], bool]) -> None:
    """Run the fakes for `metricx up` until `stop_requested()` says so."""
    import time

    with _demo_servers(seed, anchor) as servers:
        path = registry_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            json.dumps(
                {"seed": seed, "anchor": anchor.isoformat(), "pid": os.getpid(), "env": servers.env}
            )
        )
        try:
            while not stop_requested():
                time.sleep(0.5)
        finally:
            path.unlink(missing_ok=True)
