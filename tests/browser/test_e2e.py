"""A merchant's session in a real browser: log in with the form, open every page from the
sidebar without an error, run a manual resync on the worker to its end, log out."""

from __future__ import annotations

from playwright.sync_api import expect

from browser.browsing import LEAVER, PAGES, go_to, logged_in, no_exception, rerun, screenshot


def test_a_merchant_session_in_a_real_browser(page):
    logged_in(page, LEAVER)
    expect(page.get_by_test_id("stMetric").first).to_be_visible()
    expect(page.get_by_test_id("stVegaLiteChart").first).to_be_visible()
    # Every page opens from the sidebar without an error
    for name in PAGES.values():
        go_to(page, name)
        no_exception(page)
    # A manual resync runs on the worker while the bar fills, and says when it is done
    go_to(page, "Connections")
    form = page.get_by_test_id("stForm").filter(has=page.get_by_role("button", name="Resync"))
    with rerun(page):
        form.get_by_role("button", name="Resync").click()
    expect(page.get_by_text("Resync finished.")).to_be_visible(timeout=90_000)
    screenshot(page, "resync")
    # Logging out shows the login form again
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_label("Email")).to_be_visible()
