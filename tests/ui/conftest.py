from __future__ import annotations

import pytest
from apptest import log_in
from streamlit.testing.v1 import AppTest


@pytest.fixture
def admin_app(admin) -> AppTest:
    return log_in(admin.label, "correct horse")


@pytest.fixture
def member_app(member) -> AppTest:
    return log_in(member.label, "battery staple")
