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


@pytest.fixture
def admin_app(admin) -> AppTest:
    return log_in(admin.label, "correct horse")


@pytest.fixture
def member_app(member) -> AppTest:
    return log_in(member.label, "battery staple")
