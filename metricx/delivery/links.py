"""Absolute links into the app for messages: every alert and digest links to the page that
shows the same numbers. Pages live at /<file name> (ui/navigation.py: /dashboard, /alerts,
...); the base is APP_PUBLIC_URL, the app's address as its users reach it."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from metricx.config import get_config


def page_url(page: str, **params: str) -> str:
    """The absolute URL of a page with its query: page_url("dashboard", start="2026-12-01")
    is "http://localhost:8501/dashboard?start=2026-12-01". Parameters given as None are
    left out."""
    base = get_config().app_public_url.rstrip("/")
    path = quote(page.strip("/"), safe="/")
    query = urlencode({name: value for name, value in params.items() if value is not None})
    return f"{base}/{path}" + (f"?{query}" if query else "")
