"""Hostile input in a real browser (issue #13, "errors show SQL to users"): a NUL in a shared
link, a number PostgreSQL cannot read in Settings, a question with a NUL and an ad named like a
markdown image each end in a sentence on the page, never an exception, SQL or a fetched URL."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import text

from browser.browsing import (
    Store,
    ask,
    labelled,
    main,
    main_text,
    no_exception,
    open_path,
    rerun,
    visit,
)
from metricx.db import transaction

#: What a page may never show: the database's words or Python's.
LEAKS = ("SELECT", "psycopg", "sqlalchemy", "[SQL:", "Traceback", "DataError")
#: An ad name that, rendered as markdown, makes every viewer's browser fetch a URL.
IMAGE_NAME = "![x](http://attacker.test/pixel.png)"


def shows_a_sentence_not_a_crash(page: Page, alert: Locator, words: str) -> None:
    expect(alert.filter(has_text=re.compile(words)).first).to_be_visible()
    no_exception(page)
    shown = main_text(page)
    assert not [leak for leak in LEAKS if leak in shown], shown[:2000]


def test_a_nul_in_a_shared_name_filter_link_shows_a_message(as_member):
    page = as_member
    # Given a link to Analytics whose "Name contains" holds a NUL (no keyboard types one)
    open_path(page, "/analytics?name_contains=%00")
    # Then the page says what is wrong with the filter
    shows_a_sentence_not_a_crash(page, main(page).get_by_test_id("stAlert"), "NUL")


def save_form(page: Page, button: str, fields: dict[str, str]) -> None:
    form = page.get_by_test_id("stForm").filter(has=page.get_by_role("button", name=button))
    for label, value in fields.items():
        labelled(form, "stTextInput", label).locator("input").fill(value)
    with rerun(page):
        form.get_by_role("button", name=button).click()


def test_nan_or_an_unreadable_number_in_settings_shows_a_message(as_admin):
    page = as_admin
    visit(page, "Settings")
    errors = main(page).get_by_test_id("stAlertContentError")
    # When a cost is "NaN"
    save_form(page, "Save costs", {"Shipping cost per order": "NaN"})
    # Then the form says it is no number
    shows_a_sentence_not_a_crash(page, errors, "must be a number")
    # When a rate is a number PostgreSQL cannot read (it once reached the database)
    save_form(page, "Save rate", {"From currency": "EUR", "Rate into USD": "1e-999999"})
    # Then the form says why it cannot be saved
    shows_a_sentence_not_a_crash(page, errors, "rate of 0")


def test_a_question_with_a_nul_gets_a_sentence(as_member):
    page = as_member
    visit(page, "Copilot")
    ask(page, "spend last week\x00")
    shows_a_sentence_not_a_crash(page, main(page).get_by_test_id("stChatMessage"), "NUL")


@pytest.fixture
def ads_named_like_an_image(store: Store) -> Iterator[None]:
    """Every ad of the store renamed to a markdown image for the test, then named back."""
    with transaction() as session:
        names = session.execute(
            text("SELECT id, name FROM entities WHERE workspace_id = :ws AND level = 'ad'"),
            {"ws": store.workspace_id},
        ).all()
        session.execute(
            text(
                "UPDATE entities SET name = :name || ' ' || id "
                "WHERE workspace_id = :ws AND level = 'ad'"
            ),
            {"name": IMAGE_NAME, "ws": store.workspace_id},
        )
    try:
        yield
    finally:
        with transaction() as session:
            for entity_id, name in names:
                session.execute(
                    text("UPDATE entities SET name = :name WHERE id = :id"),
                    {"name": name, "id": entity_id},
                )


def test_an_ad_named_like_a_markdown_image_is_shown_as_its_name(as_member, ads_named_like_an_image):
    page = as_member
    visit(page, "Copilot")
    fetched: list[str] = []
    page.on(
        "request",
        lambda request: fetched.append(request.url) if "attacker.test" in request.url else None,
    )
    # When the copilot lists ads by spend
    ask(page, "top 3 ads by spend last 7 days")
    answer = main(page).get_by_test_id("stChatMessage").last
    # Then their names read as written (an invisible word joiner keeps the URL text), and
    # nothing of them became an image or a link
    written = answer.get_by_test_id("stMarkdownContainer").first
    expect(written).to_be_visible()
    assert IMAGE_NAME in written.inner_text().replace("\u2060", "")
    assert answer.locator("img[src*='attacker.test'], a[href*='attacker.test']").count() == 0
    assert fetched == []
    no_exception(page)
