"""What a store pastes (metricx.pixel.snippet), as Settings and the README show it: the theme
snippet and the Shopify custom pixel (whose behaviour in a browser
test_shopify_custom_pixel_browser.py checks)."""

from __future__ import annotations

from metricx.config import PROJECT_ROOT, load
from metricx.pixel.snippet import shopify_custom_pixel, snippet


def test_the_snippet_posts_to_the_collector_on_its_port_unless_a_public_url_is_set():
    local = snippet(load({"PIXEL_PORT": "9100"}), "k3y")
    assert 'var ENDPOINT = "http://localhost:9100/v1/pixel-events";' in local
    assert 'var KEY = "k3y";' in local
    public = snippet(load({"PIXEL_PUBLIC_URL": "https://pixel.shop.test/"}), "k3y")
    assert 'var ENDPOINT = "https://pixel.shop.test/v1/pixel-events";' in public


def test_the_readme_shows_the_snippet_settings_hands_out():
    example = snippet(
        load({"PIXEL_PUBLIC_URL": "https://pixel.example.com"}), "your workspace's pixel key"
    )
    assert example in (PROJECT_ROOT / "README.md").read_text()


def test_the_custom_pixel_has_the_endpoint_and_key_written_in_as_javascript_strings():
    # Given a key with characters a JavaScript string must escape
    code = shopify_custom_pixel(load({"PIXEL_PUBLIC_URL": "https://pixel.shop.test/"}), 'k"3y\\')
    # Then both are string literals, escaped, and no placeholder is left
    assert 'const METRICX_ENDPOINT = "https://pixel.shop.test/v1/pixel-events";' in code
    assert 'const METRICX_KEY = "k\\"3y\\\\";' in code
    assert "__METRICX_" not in code
    # And it listens to the three Shopify events it reports
    for name in ("page_viewed", "product_added_to_cart", "checkout_completed"):
        assert f'analytics.subscribe("{name}"' in code


def test_the_theme_snippet_no_longer_sends_purchases_from_shopifys_thank_you_page():
    # Shopify runs no scripts on its Thank you page since 2026-08-26 (Plus: 2025-08-28)
    code = snippet(load({}), "k3y")
    assert "{{ order.id }}" not in code
    assert "on Shopify use the custom pixel" in code


def test_the_readme_sends_shopify_stores_to_the_custom_pixel():
    readme = (PROJECT_ROOT / "README.md").read_text()
    assert "{{ order.id }}" not in readme
    assert "Settings → Customer events" in readme
