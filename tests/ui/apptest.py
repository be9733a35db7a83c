"""Run app.py the way a browser session would, through streamlit's AppTest."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from metricx.config import PROJECT_ROOT

APP = str(PROJECT_ROOT / "app.py")


def fresh_app() -> AppTest:
    # A guard against a hung script, not a speed limit (bench/bench_pages.py measures speed):
    # a process's first run imports the app and can take many seconds on a busy 2-core box.
    return AppTest.from_file(APP, default_timeout=90)


def log_in(email: str, password: str) -> AppTest:
    at = fresh_app()
    at.run()
    at.text_input[0].input(email)
    at.text_input[1].input(password)
    at.button[0].click().run()
    return at


def texts(at: AppTest) -> str:
    """Everything a reader would see as text on the page, in one string."""
    parts = [
        e.value
        for e in (
            *at.title,
            *at.markdown,
            *at.error,
            *at.info,
            *at.caption,
            *at.warning,
            *at.success,
        )
    ]
    return "\n".join(str(p) for p in parts)
