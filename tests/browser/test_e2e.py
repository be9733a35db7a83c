"""A real browser (Debian's chromium, driven by Playwright) against `streamlit run`: log in,
open every page, see the tiles and charts, run a manual resync to the end, log out.
Screenshots of each page land in test-artifacts/."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from metricx.config import PROJECT_ROOT

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
pytestmark = pytest.mark.browser

if not CHROMIUM.exists():
    pytest.skip("Debian's chromium is not installed (make test installs it when run as root)",
                allow_module_level=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def app_and_worker(synced) -> Iterator[str]:
    """`streamlit run app.py` and an RQ worker on the test databases; yields the app URL."""
    port = free_port()
    env = dict(os.environ)
    processes = [
        subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port",
                          str(port), "--server.headless", "true",
                          "--browser.gatherUsageStats", "false"], cwd=PROJECT_ROOT, env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        subprocess.Popen([sys.executable, "-m", "metricx.cli", "worker"], cwd=PROJECT_ROOT,
                         env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
    ]
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                if answer.read() == b"ok":
                    break
        except OSError:
            time.sleep(0.3)
    try:
        yield url
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def test_a_merchant_session_in_a_real_browser(app_and_worker, admin):
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        # A busy 2-core CI machine can take longer than playwright's default 5 s for a page
        # to show (a clean-clone run once timed out switching pages): actions and
        # assertions alike wait up to 30 s.
        page.set_default_timeout(30_000)
        expect.set_options(timeout=30_000)
        page.goto(app_and_worker)
        # Log in with the form the authenticator renders
        page.get_by_label("Email").fill(admin.label)
        page.get_by_role("textbox", name="Password").fill("correct horse")
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
        expect(page.locator('[data-testid="stMetric"]').first).to_be_visible()
        expect(page.locator(".vega-embed").first).to_be_visible()
        page.screenshot(path=ARTIFACTS / "dashboard.png", full_page=True)
        # Every page opens without an error
        for title in ("Analytics", "Campaigns", "Finance", "Attribution", "Copilot", "Operations",
                      "Settings", "Account", "Connections"):
            page.get_by_role("link", name=title).click()
            expect(page.get_by_role("heading", name=title).first).to_be_visible()
            page.screenshot(path=ARTIFACTS / f"{title.lower()}.png", full_page=True)
            errors = page.locator('[data-testid="stException"]')
            assert errors.count() == 0, f"{title}: {errors.first.inner_text()}"
        # A manual resync runs on the worker while the bar fills, and says when it is done
        page.get_by_role("button", name="Resync").click()
        expect(page.get_by_text("Resync finished.")).to_be_visible(timeout=90_000)
        page.screenshot(path=ARTIFACTS / "resync.png", full_page=True)
        # Log out
        page.get_by_role("button", name="Log out").click()
        expect(page.get_by_label("Email")).to_be_visible()
        browser.close()
