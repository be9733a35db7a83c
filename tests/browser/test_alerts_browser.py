"""Alerts in a real browser: an admin adds a rule through the form and sees it listed, then
opens the monitors, digests and history tabs, and no tab raises."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Locator, Page, expect

from browser.browsing import (
    heading,
    labelled,
    main,
    no_exception,
    rerun,
    screenshot,
    settled,
    visit,
)
from metricx.actor import Actor
from metricx.services import alerts

RULE = "CAC too high"


@pytest.fixture
def no_rule_left(store) -> Iterator[None]:
    """The rule this test adds is deleted again: the other browser tests see the merchant as
    it was."""
    yield
    workspace_admin = Actor.system(store.workspace_id, label="browser tests")
    for saved in alerts.list_rules(workspace_admin):
        if saved.rule.name == RULE:
            alerts.delete_rule(workspace_admin, saved.id)


def rule_form(page: Page) -> Locator:
    return page.get_by_test_id("stForm").filter(has=page.get_by_role("button", name="Save rule"))


def choose_typed(page: Page, box: Locator, option: str) -> None:
    """Choose `option` in a selectbox by typing it (a long list shows only some options until
    it is filtered), in a form: nothing runs until it is submitted."""
    field = box.get_by_role("combobox")
    field.focus()
    field.click()
    page.keyboard.type(option)
    page.get_by_role("option", name=option, exact=True).click()


def open_tab(page: Page, name: str) -> None:
    page.get_by_role("tab", name=name, exact=True).click()
    settled(page)


def test_an_admin_adds_a_rule_and_opens_every_tab(as_admin, no_rule_left):
    page = as_admin
    visit(page, "Alerts")
    expect(heading(page, "Alerts")).to_be_visible()
    no_exception(page)
    # When the admin fills in the form: CAC (NCPA, ad spend ÷ new customers) above 70
    form = rule_form(page)
    labelled(form, "stTextInput", "Name").locator("input").fill(RULE)
    choose_typed(page, labelled(form, "stSelectbox", "Metric"), "NCPA")
    labelled(form, "stTextInput", "Threshold").locator("input").fill("70")
    with rerun(page):
        form.get_by_role("button", name="Save rule").click()
    # Then the page says it is saved and lists it in words, with its next run
    expect(page.get_by_text(f"Saved the rule '{RULE}'.")).to_be_visible()
    expect(main(page).get_by_text(RULE, exact=True)).to_be_visible()
    expect(main(page).get_by_text("NCPA above $70.00 today so far")).to_be_visible()
    expect(
        main(page).get_by_text(re.compile(r"workspace rule · .* next run \w{3} \d{2}"))
    ).to_be_visible()
    no_exception(page)
    # And the built-in monitors, the digests and the history open without an error
    open_tab(page, "Built-in monitors")
    expect(page.get_by_text("Connection broken (on)")).to_be_visible()
    expect(page.get_by_text("API version end of life (on)")).to_be_visible()
    no_exception(page)
    open_tab(page, "Digests")
    expect(page.get_by_text(re.compile(r"Daily digest.*daily at 08:00"))).to_be_visible()
    expect(page.get_by_text(re.compile(r"Weekly digest.*every Monday at 08:00"))).to_be_visible()
    no_exception(page)
    open_tab(page, "History and delivery")
    expect(page.get_by_role("button", name="Send test email")).to_be_visible()
    no_exception(page)
    screenshot(page, "alerts-history-admin")
