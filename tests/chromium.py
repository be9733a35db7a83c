"""Debian's chromium driven by Playwright, launched one way for every browser test. No
browser is ever downloaded by a test tool: without /usr/bin/chromium the tests skip."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
MISSING = "Debian's chromium is not installed (make test installs it when run as root)"


@contextmanager
def launched() -> Iterator[object]:
    """A headless chromium, closed when the block ends."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            yield browser
        finally:
            browser.close()
