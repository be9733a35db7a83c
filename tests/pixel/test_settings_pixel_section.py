"""Settings → Pixel, run through Streamlit's AppTest as an admin sees it: the Shopify custom
pixel and the theme snippet, both with the workspace's key and the collector's address."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from metricx.config import PROJECT_ROOT


@pytest.fixture(autouse=True)
def empty_page_caches() -> Iterator[None]:
    """st.cache_data emptied around the test: the database restarts ids in every test."""
    st.cache_data.clear()
    yield
    st.cache_data.clear()


def open_settings(email: str, password: str) -> AppTest:
    """Log in through the app's form, then open Settings."""
    app = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=90)
    app.run()
    app.text_input[0].input(email)
    app.text_input[1].input(password)
    app.button[0].click().run()
    app.switch_page("views/settings.py").run()
    assert not app.exception, app.exception
    return app


@pytest.mark.parametrize("public_url", ["https://pixel.acme.test", None])
def test_the_pixel_section_shows_the_shopify_pixel_and_the_theme_snippet_with_the_key(
    setenv, workspace, admin, public_url
):
    # Given the collector's public address set to https, or left unset (localhost, http)
    if public_url:
        setenv(PIXEL_PUBLIC_URL=public_url)
    endpoint = f"{public_url or 'http://localhost:8502'}/v1/pixel-events"
    # When the admin opens Settings
    page = open_settings(admin.label, "correct horse")
    codes = {code.language: code.value for code in page.code}
    # Then the Shopify custom pixel carries the key and the endpoint as JavaScript strings
    assert f'const METRICX_KEY = "{workspace.pixel_key}";' in codes["javascript"]
    assert f'const METRICX_ENDPOINT = "{endpoint}";' in codes["javascript"]
    # And the theme snippet for other storefronts carries them too
    assert f'var KEY = "{workspace.pixel_key}";' in codes["html"]
    assert f'var ENDPOINT = "{endpoint}";' in codes["html"]
    captions = " ".join(c.value for c in page.caption)
    assert "Settings → Customer events → Add custom pixel" in captions
    # And an http collector is flagged: stores on https cannot post to it
    warnings = [w.value for w in page.warning]
    assert warnings == (
        []
        if public_url
        else [
            "Buyers' browsers reach the collector at http://localhost:8502, which a store on "
            "https cannot post to: set PIXEL_PUBLIC_URL to the collector's public https "
            "address."
        ]
    )
