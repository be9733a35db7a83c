"""A real browser (Debian's chromium, driven by Playwright) against `streamlit run app.py`.

One merchant is synced once for the whole package (a sandbox anchored at the real clock, so
"today", "yesterday" and "last 7 days" have data in the app's own process); one app server
and one RQ worker serve it; one chromium runs every test in a fresh context (a new profile:
no login cookie). The server is another process, so the data is committed, and emptied again
when the package is done. Steps the tests read as sentences live in browsing.py.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from chromium import CHROMIUM, MISSING, launched

from browser.browsing import (
    ADMIN,
    ARTIFACTS,
    BROWSER_HOOKS,
    DESKTOP,
    LEAVER,
    MEMBER,
    PHONE,
    WAIT_MS,
    Store,
    screenshot,
)
from metricx.config import PROJECT_ROOT

# The app the server runs: this checkout, or another tree (an export of an older commit, to
# watch these tests fail on it).
APP_DIR = Path(os.environ.get("METRICX_BROWSER_APP_DIR", PROJECT_ROOT))
SYNCED_DAYS = 35


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.browser)


def oauth_settings() -> dict[str, str]:
    """The sandbox's OAuth apps: their consent screens send the browser straight back."""
    from metricx.sandbox.credentials import SandboxCredentials

    credentials = SandboxCredentials()
    return {
        "META_APP_ID": credentials.meta_app_id,
        "META_APP_SECRET": credentials.meta_app_secret,
        "GOOGLE_CLIENT_ID": credentials.google_client_id,
        "GOOGLE_CLIENT_SECRET": credentials.google_client_secret,
        "GOOGLE_DEVELOPER_TOKEN": credentials.google_developer_token,
        "SHOPIFY_CLIENT_ID": credentials.shopify_client_id,
        "SHOPIFY_CLIENT_SECRET": credentials.shopify_client_secret,
    }


def empty_database(config: pytest.Config) -> None:
    """tests/conftest.py's truncate_all (every conftest module is named "conftest", so it is
    found by its path)."""
    top = config.pluginmanager.get_plugin(str(Path(__file__).parents[1] / "conftest.py"))
    top.truncate_all()


@pytest.fixture(scope="package")
def store(servers: dict[str, str], request: pytest.FixtureRequest) -> Iterator[Store]:
    """Meta, Google and Shopify of a sandbox merchant synced up to now and attributed, with
    an admin and a member: a merchant's first weeks, costs not entered yet."""
    from metricx.attribution.compute import attribute_workspace
    from metricx.config import get_config
    from metricx.db import transaction
    from metricx.models import FxRate
    from metricx.queue import get_redis
    from metricx.sandbox.credentials import SandboxCredentials
    from metricx.sandbox.servers import SandboxServers
    from metricx.services.connections import add_connection
    from metricx.services.users import actor_for, add_user
    from metricx.services.workspaces import create_workspace
    from metricx.sync.pipeline import sync_connection

    credentials = SandboxCredentials()
    now = datetime.now(UTC)
    with (
        SandboxServers(
            now=now, seed=5, ads=9, campaigns=3, days=SYNCED_DAYS, orders_per_day=60
        ) as sandbox,
        pytest.MonkeyPatch.context() as patch,
    ):
        for name, value in {**sandbox.env, **oauth_settings()}.items():
            patch.setenv(name, value)
        get_config.cache_clear()
        merchant = sandbox.merchant
        first, yesterday = merchant.start_day, merchant.today - timedelta(days=1)
        try:
            workspace = create_workspace("Acme", "America/New_York", "USD")
            admin = actor_for(add_user(workspace.id, ADMIN.email, ADMIN.password, role="admin"))
            add_user(workspace.id, MEMBER.email, MEMBER.password, role="member")
            add_user(workspace.id, LEAVER.email, LEAVER.password, role="admin")
            with transaction() as session:
                for offset in range(-2, SYNCED_DAYS + 3):
                    session.add(
                        FxRate(
                            workspace_id=workspace.id,
                            day=first + timedelta(days=offset),
                            from_currency="EUR",
                            to_currency="USD",
                            rate=1.08,
                        )
                    )
            for account in merchant.accounts:
                google = account.provider == "google"
                connection = add_connection(
                    admin,
                    account.provider,
                    account.external_id,
                    credentials.google_refresh_token if google else credentials.meta_access_token,
                    settings={"login_customer_id": credentials.google_login_customer_id}
                    if google
                    else {},
                )
                for kind, start, end in (("range", first, yesterday), ("intraday", None, None)):
                    outcome = sync_connection(
                        workspace.id, connection.id, kind, start=start, end=end, now=now
                    )
                    assert outcome.status == "success", outcome.error
            shop = add_connection(
                admin, "shopify", credentials.shopify_shop, credentials.shopify_access_token
            )
            assert sync_connection(workspace.id, shop.id, "shop", now=now).status == "success"
            attribute_workspace(workspace.id)
            yield Store(workspace.id, first, sandbox)
        finally:
            empty_database(request.config)
            get_redis().flushdb()
    get_config.cache_clear()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                if answer.read() == b"ok":
                    return
        except OSError:
            time.sleep(0.3)  # nothing listens yet: no event to await but the next attempt
    raise RuntimeError(f"{url} was not healthy within 90 s")


@pytest.fixture(scope="package")
def server(store: Store) -> Iterator[str]:
    """`streamlit run app.py` and an RQ worker on the store; yields the app's URL. The OAuth
    redirect is this server's /connections, the URL the README says to register."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        **store.sandbox.env,
        **oauth_settings(),
        "OAUTH_REDIRECT_URL": f"{url}/connections",
    }
    env.pop("ANTHROPIC_API_KEY", None)  # the copilot runs on its offline parser here
    ARTIFACTS.mkdir(exist_ok=True)
    with open(ARTIFACTS / "streamlit.log", "w") as log:
        app = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "app.py",
                "--server.port",
                str(port),
                "--server.headless",
                "true",
                "--browser.gatherUsageStats",
                "false",
                "--server.fileWatcherType",
                "none",
            ],
            cwd=APP_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        worker = subprocess.Popen(
            [sys.executable, "-m", "metricx.cli", "worker"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_healthy(url, app)
            yield url
        finally:
            for process in (app, worker):
                process.terminate()
            for process in (app, worker):
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()


@pytest.fixture(scope="package")
def chromium() -> Iterator[object]:
    from playwright.sync_api import expect

    if not CHROMIUM.exists():
        pytest.skip(MISSING)
    # Actions and assertions alike wait up to 30 s: a busy CI machine can be slow to show.
    expect.set_options(timeout=WAIT_MS)
    with launched() as browser:
        yield browser


def _context(chromium, url: str, viewport: dict[str, int]):
    context = chromium.new_context(viewport=viewport, base_url=url)
    context.add_init_script(BROWSER_HOOKS)
    context.set_default_timeout(WAIT_MS)
    return context


@pytest.fixture(scope="package")
def first_login_screen(server: str, chromium) -> list[str]:
    """The page links beside the login form of the server's very first session (Streamlit
    listed a pages/ folder's files there on a server's first run only)."""
    from playwright.sync_api import expect

    from browser.browsing import nav_links, open_path

    context = _context(chromium, server, DESKTOP)
    tab = context.new_page()
    open_path(tab, "/")
    expect(tab.get_by_label("Email")).to_be_visible()
    links = nav_links(tab)
    screenshot(tab, "login-first-visit")
    context.close()
    return links


@pytest.fixture(scope="package")
def app_url(server: str, first_login_screen: list[str]) -> str:
    """The app's URL, once its first visitor has been seen."""
    return server


def _tab(chromium, app_url: str, viewport: dict[str, int], request: pytest.FixtureRequest):
    context = _context(chromium, app_url, viewport)
    tab = context.new_page()
    try:
        yield tab
    finally:
        if tab.url.startswith("http"):  # how the test left the page, kept for reading
            screenshot(tab, f"end-{request.node.name}")
        context.close()


@pytest.fixture
def page(chromium, app_url: str, request: pytest.FixtureRequest) -> Iterator[object]:
    """A desktop tab (1440×900) in a fresh profile."""
    yield from _tab(chromium, app_url, DESKTOP, request)


@pytest.fixture
def phone(chromium, app_url: str, request: pytest.FixtureRequest) -> Iterator[object]:
    """A phone-sized tab (390×844) in a fresh profile."""
    yield from _tab(chromium, app_url, PHONE, request)


def _signed_in_cookies(chromium, app_url: str, who) -> list[dict]:
    """The login cookie a browser keeps after logging in as `who` (the form, once)."""
    from browser.browsing import logged_in

    context = _context(chromium, app_url, DESKTOP)
    logged_in(context.new_page(), who)
    cookies = [c for c in context.cookies() if c["name"] == "metricx_auth"]
    context.close()
    assert cookies, "logging in left no login cookie"
    return cookies


@pytest.fixture(scope="package")
def admin_cookies(chromium, app_url: str) -> list[dict]:
    return _signed_in_cookies(chromium, app_url, ADMIN)


@pytest.fixture(scope="package")
def member_cookies(chromium, app_url: str) -> list[dict]:
    return _signed_in_cookies(chromium, app_url, MEMBER)


@pytest.fixture
def as_admin(page, admin_cookies: list[dict]):
    """A desktop tab of a browser where the admin logged in earlier (the cookie is kept)."""
    page.context.add_cookies(admin_cookies)
    return page


@pytest.fixture
def as_member(page, member_cookies: list[dict]):
    page.context.add_cookies(member_cookies)
    return page


@pytest.fixture
def phone_as_admin(phone, admin_cookies: list[dict]):
    """A phone-sized tab (390×844) of a browser where the admin logged in earlier."""
    phone.context.add_cookies(admin_cookies)
    return phone
