"""The snippet a store pastes (metricx.pixel.snippet), as Settings and the README show it."""

from __future__ import annotations

from metricx.config import PROJECT_ROOT, load
from metricx.pixel.snippet import snippet


def test_the_snippet_posts_to_the_collector_on_its_port_unless_a_public_url_is_set():
    local = snippet(load({"PIXEL_PORT": "9100"}), "k3y")
    assert 'var ENDPOINT = "http://localhost:9100/v1/pixel-events";' in local
    assert 'var KEY = "k3y";' in local
    public = snippet(load({"PIXEL_PUBLIC_URL": "https://pixel.shop.test/"}), "k3y")
    assert 'var ENDPOINT = "https://pixel.shop.test/v1/pixel-events";' in public


def test_the_readme_shows_the_snippet_settings_hands_out():
    example = snippet(load({"PIXEL_PUBLIC_URL": "https://pixel.example.com"}),
                      "your workspace's pixel key")
    assert example in (PROJECT_ROOT / "README.md").read_text()
