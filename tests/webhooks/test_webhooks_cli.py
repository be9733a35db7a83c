"""`metricx webhooks` as an operator runs it, and its settings."""

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
from sandbox_fixtures import NOW

from metricx.cli import main
from metricx.config import PROJECT_ROOT, load
from metricx.sandbox.fakes.shopify_webhooks import ShopifyWebhooks
from webhooks.conftest import APP_SECRET


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_webhooks_help_names_its_options_and_path():
    result = run("webhooks", "--help")
    assert result.exit_code == 0
    assert "--host" in result.output and "--port" in result.output
    assert "/webhooks/shopify" in result.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["webhooks", "--port", "0"], "not in the range"),
        (["webhooks", "--port", "https"], "is not a valid integer"),
        (["webhooks", "--secret", "x"], "No such option"),
    ],
)
def test_bad_flags_are_usage_errors(args, message):
    result = run(*args)
    assert result.exit_code == 2 and message in result.output


def test_the_settings_default_to_loopback_port_8503_and_no_public_url():
    config = load({})
    assert (config.webhook_host, config.webhook_port, config.webhook_public_url) == (
        "127.0.0.1",
        8503,
        None,
    )
    assert load({"WEBHOOK_PORT": "9000"}).webhook_port == 9000


def test_metricx_webhooks_serves_until_sigterm(servers, sandbox):
    # Given `metricx webhooks` on a free port, against the test database and Redis
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "DATABASE_URL": servers["DATABASE_URL"],
        "REDIS_URL": servers["REDIS_URL"],
        "SHOPIFY_CLIENT_SECRET": APP_SECRET,
        "WEBHOOK_PUBLIC_URL": "https://hooks.example.com/",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "metricx.cli", "webhooks", "--port", str(port)],
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
        # When Shopify sends a webhook for a shop nobody connected, and a forged one
        webhooks = ShopifyWebhooks(sandbox.merchant.shop)
        delivery = webhooks.shop_redact(NOW)
        ok = httpx.post(base + "/webhooks/shopify", content=delivery.body, headers=delivery.headers)
        forged = httpx.post(
            base + "/webhooks/shopify",
            content=delivery.body,
            headers={**delivery.headers, "X-Shopify-Hmac-Sha256": "AAAA"},
        )
        # Then the first is acknowledged (nothing to do), the forged one refused
        assert (ok.status_code, ok.json()["status"]) == (200, "ignored")
        assert forged.status_code == 401
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=15)
    assert process.returncode == -signal.SIGTERM
    assert f"Shopify webhooks on http://127.0.0.1:{port}/webhooks/shopify" in output
    assert "Subscribe the app to https://hooks.example.com/webhooks/shopify" in output
