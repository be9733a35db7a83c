"""Routing that keeps the page (issue #20, defect 1 and the login screen of defect 8): a reload,
a bookmark, a shared link, a login from a deep link and the OAuth return all land on the page
their URL names; the page list shows only after login, and only the pages of the user's role."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from browser.browsing import (
    ADMIN,
    ADMIN_PAGES,
    LEAVER,
    PAGES,
    choose,
    first_run_done,
    go_to,
    heading,
    labelled,
    log_in,
    logged_in,
    nav_links,
    no_exception,
    open_path,
    path_of,
    reload,
    rerun,
    settled,
    shown,
    widget,
)
from metricx.semantic.catalogue import get_metric

SHARED_VIEW = "/analytics?metrics=spend&metrics=cpc&dims=provider&period=last+7+days"


def paths_of(path: str) -> set[str]:
    """Where a page may stand in the address bar: the Dashboard at / or /dashboard."""
    return {"/", "/dashboard"} if path in ("/", "/dashboard") else {path}


def test_every_page_opens_at_its_path_and_stays_there_on_reload(as_admin):
    page = as_admin
    for path, name in {**PAGES, "/dashboard": "Dashboard"}.items():
        # Given a page opened at its own address (a bookmark)
        open_path(page, path)
        expect(heading(page, name), f"{path} opens {name}").to_be_visible()
        expect(page.get_by_text("Page not found"), f"{path} is not found").to_have_count(0)
        # When the browser reloads it
        reload(page)
        # Then the same page shows, at the same path, without an error
        expect(heading(page, name), f"{name} after a reload").to_be_visible()
        assert path_of(page) in paths_of(path), f"{name} reloaded to {path_of(page)}"
        no_exception(page)


def analytics_view(page: Page) -> tuple[list[str], ...]:
    """What Analytics shows: its metrics, its split and the period."""
    return (
        shown(labelled(page, "stMultiSelect", "Metrics")),
        shown(labelled(page, "stMultiSelect", "Split by")),
        shown(widget(page, "period")),
    )


def test_a_shared_analytics_link_opens_its_view_through_the_login(page):
    # Given a colleague's link to a view of Analytics, opened in a browser not logged in
    open_path(page, SHARED_VIEW)
    # Then the login form shows, without a page list
    expect(page.get_by_label("Email")).to_be_visible()
    assert nav_links(page) == []
    # When the merchant logs in
    log_in(page, ADMIN)
    # Then the view the link describes shows
    expect(heading(page, "Analytics")).to_be_visible()
    assert path_of(page) == "/analytics"
    view = ([get_metric("spend").label, get_metric("cpc").label], ["Platform"], ["last 7 days"])
    assert analytics_view(page) == view
    no_exception(page)
    # and the address it is at now opens it again
    reload(page)
    assert analytics_view(page) == view


def test_logging_in_from_a_deep_link_lands_on_that_page(page):
    # Given a bookmark of Settings, opened logged out
    open_path(page, "/settings")
    # When the admin logs in
    log_in(page, ADMIN)
    # Then Settings shows, at its path
    expect(heading(page, "Settings")).to_be_visible()
    assert path_of(page) == "/settings"


def test_no_page_is_listed_before_login(page, first_login_screen):
    # The server's very first visitor saw the login form alone
    assert first_login_screen == [], "the first login screen listed pages"
    for path in ("/", "/settings"):
        # Given a browser not logged in, on the home page or an admin page's link
        open_path(page, path)
        # Then only the login form shows: no page list, no page file names
        expect(page.get_by_label("Email")).to_be_visible()
        assert nav_links(page) == [], f"{path} lists pages before login"
        expect(page.get_by_test_id("stSidebarNav")).to_have_count(0)


def test_after_logout_the_admin_menu_is_gone(page):
    # Given an admin on Settings
    logged_in(page, LEAVER)
    go_to(page, "Settings")
    # When they log out
    with rerun(page):
        page.get_by_role("button", name="Log out").click()
    settled(page)
    # Then the login form shows alone: no admin pages beside it
    expect(page.get_by_label("Email")).to_be_visible()
    assert nav_links(page) == []
    for title in ADMIN_PAGES:
        expect(page.get_by_role("link", name=title, exact=True)).to_have_count(0)


def test_a_member_reaches_no_admin_page_even_by_its_url(as_member):
    page = as_member
    # Given a member who opens a link to Settings
    open_path(page, "/settings")
    # Then Settings does not show, and no admin page is listed
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    expect(heading(page, "Settings")).to_have_count(0)
    assert not set(ADMIN_PAGES) & set(nav_links(page))


def test_the_oauth_return_is_processed_on_arrival_then_cleared(as_admin, store):
    page = as_admin
    account = store.sandbox.merchant.accounts_of("meta")[0].external_id
    # Given an admin who starts "Connect by signing in" for a Meta ad account
    open_path(page, "/")
    go_to(page, "Connections")
    form = page.get_by_test_id("stForm").filter(has=page.get_by_role("button", name="Continue"))
    choose(page, labelled(form, "stSelectbox", "Provider"), "Meta")
    labelled(form, "stTextInput", "Account").locator("input").fill(account)
    with rerun(page):
        form.get_by_role("button", name="Continue").click()
    consent = page.get_by_role("link", name=re.compile("Connect with Meta"))
    # When they follow the link, allow access, and the provider sends the browser back to
    # /connections?code=…&state=…
    page.goto(consent.get_attribute("href"))
    first_run_done(page)
    # Then the sign-in is finished on arrival, on the Connections page
    expect(page.get_by_text(re.compile(r"^Connected"))).to_be_visible()
    expect(heading(page, "Connections")).to_be_visible()
    assert path_of(page) == "/connections"
    # and code and state are gone from the URL, so a reload cannot replay them
    page.wait_for_url(lambda url: "code=" not in url and "state=" not in url)
    no_exception(page)
