from __future__ import annotations

import pytest
import streamlit as st
from apptest import log_in
from streamlit.testing.v1 import AppTest


@pytest.fixture(autouse=True)
def empty_page_caches():
    """Every test starts with empty st.cache_data: the database restarts ids in every test,
    so an entry cached for "workspace 1" by an earlier test would describe other data."""
    st.cache_data.clear()


@pytest.fixture(autouse=True)
def pages_never_fail(request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture):
    """A page that raises shows a short notice with an error id (ui.navigation.run_page), not
    an exception AppTest would report: so every test here fails when a page logged one,
    unless it is about that notice (marked `page_fails`)."""
    yield
    failures = [
        r.getMessage()
        for r in caplog.get_records("call")
        if r.name == "ui.navigation" and r.levelname == "ERROR"
    ]
    if failures and not request.node.get_closest_marker("page_fails"):
        pytest.fail(f"a page failed: {failures}")


@pytest.fixture
def admin_app(admin) -> AppTest:
    return log_in(admin.label, "correct horse")


@pytest.fixture
def member_app(member) -> AppTest:
    return log_in(member.label, "battery staple")
