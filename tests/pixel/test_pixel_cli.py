"""`metricx pixel` and `metricx pixel-key` as an operator runs them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest
from click.testing import CliRunner
from pixel_support import pixel_event, stored_events

from metricx.cli import main
from metricx.config import PROJECT_ROOT
from metricx.services.workspaces import find_workspace


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_pixel_help_names_its_options():
    result = run("pixel", "--help")
    assert result.exit_code == 0
    assert "--host" in result.output and "--port" in result.output
    assert "/v1/pixel-events" in result.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["pixel", "--port", "0"], "not in the range"),
        (["pixel", "--port", "http"], "is not a valid integer"),
        (["pixel", "--workers", "4"], "No such option"),
        (["pixel-key"], "Missing option '--workspace'"),
    ],
)
def test_bad_flags_are_usage_errors(args, message):
    result = run(*args)
    assert result.exit_code == 2 and message in result.output


def test_a_bad_collector_setting_is_one_line_naming_it(setenv):
    setenv(PIXEL_RATE_BURST="0")
    result = run("pixel")
    assert result.exit_code == 1
    assert result.output.strip() == "Error: PIXEL_RATE_BURST must be at least 1, got 0"


def test_pixel_key_prints_the_key_and_rotate_prints_a_new_one(workspace):
    shown = run("pixel-key", "--workspace", "Acme")
    assert shown.exit_code == 0 and shown.output.strip() == workspace.pixel_key
    rotated = run("pixel-key", "-w", str(workspace.id), "--rotate")
    assert rotated.exit_code == 0
    assert rotated.output.strip() == find_workspace(workspace.id).pixel_key != workspace.pixel_key


def test_pixel_key_for_an_unknown_workspace_is_one_line(db):
    result = run("pixel-key", "--workspace", "nope")
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: no workspace 'nope' (see `metricx workspace list`)"
    ]


def test_metricx_pixel_serves_events_until_sigterm(servers, workspace):
    # Given `metricx pixel` started on a free port against the test database
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": servers["DATABASE_URL"]}
    process = subprocess.Popen(
        [sys.executable, "-m", "metricx.cli", "pixel", "--port", str(port)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None and time.monotonic() < deadline
            try:
                if httpx.get(base + "/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        # When a store sends an event
        answer = httpx.post(base + "/v1/pixel-events", json=pixel_event(workspace.pixel_key))
        # Then it is stored, and SIGTERM stops the collector cleanly
        assert answer.status_code == 202 and len(stored_events(workspace.id)) == 1
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=15)
    # uvicorn shuts down gracefully, then re-raises the signal, as a stopped process should
    assert process.returncode == -signal.SIGTERM
    assert f"Pixel collector on http://127.0.0.1:{port}/v1/pixel-events" in output
