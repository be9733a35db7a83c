"""States a merchant trusts (issue #20, defects 6, 8 and 9): a search without a match says so,
forms keep what was typed when a save is refused, a list shows what was just added, campaign
rows open what is inside them without losing the campaign, and the copilot says which mode
answers."""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page, expect

from browser.browsing import (
    analytics_with,
    ask,
    choose,
    grids,
    heading,
    labelled,
    main,
    no_exception,
    path_of,
    query_of,
    rerun,
    settled,
    visit,
)
from metricx.semantic.catalogue import get_metric


def submit(page: Page, form: Locator, button: str) -> None:
    with rerun(page):
        form.get_by_role("button", name=button).click()


def form_with(page: Page, button: str) -> Locator:
    return page.get_by_test_id("stForm").filter(has=page.get_by_role("button", name=button))


def field(form: Locator, label: str) -> Locator:
    return labelled(form, "stTextInput", label).locator("input")


def select_row(page: Page, frame: Locator, row: int = 0) -> None:
    """Tick a row of an st.dataframe by its row marker (the grid is drawn on a canvas)."""
    frame.scroll_into_view_if_needed()
    box = frame.get_by_test_id("data-grid-canvas").bounding_box()
    header = row_height = 35  # Streamlit's grid: a 35 px header, then 35 px rows
    with rerun(page):
        page.mouse.click(box["x"] + 16, box["y"] + header + row_height * row + row_height / 2)


def test_a_campaign_search_without_a_match_says_so(as_admin):
    page = as_admin
    visit(page, "Campaigns")
    # When the merchant searches for a name no campaign has
    search = main(page).get_by_role("textbox", name=re.compile("search", re.I))
    with rerun(page):
        search.fill("zzz-no-such-campaign")
        search.press("Enter")
    # Then the page says nothing matches that name, not that an account is missing
    expect(page.get_by_text(re.compile(r"zzz-no-such-campaign")).first).to_be_visible()
    expect(page.get_by_text(re.compile(r"connect an ad account", re.I))).to_have_count(0)
    no_exception(page)


def test_a_refused_connection_keeps_what_was_typed(as_admin):
    page = as_admin
    visit(page, "Connections")
    form = form_with(page, "Add connection")
    # Given a token pasted with an account id that is not one
    choose(page, labelled(form, "stSelectbox", "Provider"), "Meta")
    field(form, "Account").fill("not an account!")
    field(form, "Access token or API key").fill("EAAB-pasted-token-123")
    # When the admin adds it
    submit(page, form, "Add connection")
    # Then it is refused, and the account and the pasted token are still there
    expect(
        page.get_by_test_id("stAlert").filter(has_text=re.compile("account", re.I)).first
    ).to_be_visible()
    assert field(form, "Account").input_value() == "not an account!"
    assert field(form, "Access token or API key").input_value() == "EAAB-pasted-token-123"


def test_a_refused_user_keeps_what_was_typed_and_an_added_one_is_listed(as_admin):
    page = as_admin
    visit(page, "Settings")
    form = form_with(page, "Add user")
    # Given an address that is not one
    field(form, "Email").fill("cara-at-acme")
    field(form, "First password").fill("a long first password")
    submit(page, form, "Add user")
    # Then it is refused, and what was typed stays
    expect(page.get_by_test_id("stAlert").first).to_be_visible()
    assert field(form, "Email").input_value() == "cara-at-acme"
    # When the address is corrected and the user added
    field(form, "Email").fill("cara@acme.test")
    if not field(form, "First password").input_value():
        field(form, "First password").fill("a long first password")
    submit(page, form, "Add user")
    # Then the Users table lists them at once
    expect(page.get_by_text(re.compile("cara@acme.test")).first).to_be_visible()
    users = [g for g in grids(page) if "Email" in g["headers"]]
    assert any("cara@acme.test" in row for g in users for row in g["rows"]), users


def test_the_copilot_says_which_mode_answers(as_admin):
    page = as_admin
    visit(page, "Copilot")
    # Without an Anthropic key the offline parser answers, and the page says so
    expect(main(page).get_by_text(re.compile("offline", re.I)).first).to_be_visible()


def test_a_campaign_row_opens_its_ad_sets_and_ads_keep_the_campaign(as_admin):
    page = as_admin
    visit(page, "Campaigns")
    expect(heading(page, "Campaigns")).to_be_visible()
    frame = page.get_by_test_id("stDataFrame").first
    tables = [g for g in grids(page) if "Campaign" in g["headers"]]
    assert tables, "Campaigns shows no table headed “Campaign”"
    campaigns = tables[0]
    name = campaigns["rows"][0][campaigns["headers"].index("Campaign")]
    # When the merchant clicks the first campaign's row
    select_row(page, frame)
    # Then its ad sets show, the campaign named in the URL and on every row
    query = query_of(page)
    assert query.get("level") == ["adset"] and query.get("within"), page.url
    rows = grids(page)[0]
    assert {r[rows["headers"].index("Campaign")] for r in rows["rows"]} == {name}
    # When they switch to ads
    with rerun(page):
        page.get_by_role("button", name="Ads", exact=True).click()
    # Then the ads are still those of that campaign
    rows = grids(page)[0]
    assert query_of(page).get("level") == ["ad"] and query_of(page).get("within")
    assert {r[rows["headers"].index("Campaign")] for r in rows["rows"]} == {name}
    no_exception(page)


def test_an_analytics_row_opens_in_campaigns(as_admin):
    page = as_admin
    analytics_with(page, [get_metric("spend").label], ("Campaign",))
    table = grids(page)[-1]
    name = table["rows"][0][table["headers"].index("Campaign")]
    # When the merchant selects a campaign's row and follows it
    select_row(page, page.get_by_test_id("stDataFrame").last)
    page.get_by_role("button", name=re.compile(re.escape(name))).click()
    # Then Campaigns shows that campaign, its trend named
    expect(heading(page, "Campaigns")).to_be_visible()
    settled(page)
    assert path_of(page) == "/campaigns"
    query = query_of(page)
    assert query.get("node") and query.get("level", ["campaign"]) == ["campaign"], page.url
    expect(main(page).get_by_text(name).filter(visible=True).first).to_be_visible()


def test_every_settings_form_keeps_what_was_typed_when_refused(as_admin):
    page = as_admin
    visit(page, "Settings")
    forms = main(page).get_by_test_id("stForm")
    expect(forms.first).to_be_visible()
    for number in range(forms.count()):
        form = forms.nth(number)
        boxes = [box for box in form.get_by_test_id("stTextInput").all() if box.is_visible()]
        if not boxes:
            continue
        # Given every text field of the form filled with something no setting takes
        typed = [f"not valid {n}!" for n in range(len(boxes))]
        for box, text in zip(boxes, typed, strict=True):
            box.locator("input").fill(text)
        # When it is saved
        with rerun(page):
            form.get_by_test_id("stFormSubmitButton").first.get_by_role("button").click()
        # Then it is refused with a reason, and every field still holds what was typed
        expect(page.get_by_test_id("stAlertContentError").first).to_be_visible()
        kept = [box.locator("input").input_value() for box in boxes]
        assert kept == typed, f"form {number + 1} of Settings lost what was typed"


def test_the_copilot_offers_choices_flags_partial_periods_and_explains_why(as_member):
    page = as_member
    visit(page, "Copilot")
    # Given a question that needs a clarification, its choices show as buttons
    ask(page, "best campaigns last 7 days")
    choice = main(page).get_by_role("button", name="best campaigns last 7 days by ROAS")
    expect(choice).to_be_visible()
    # When one is clicked, it is answered in the same conversation
    with rerun(page):
        choice.click()
    expect(main(page).get_by_text("Ranked by ROAS").first).to_be_visible()
    # A 3-day period against a whole week is flagged, and the like-for-like offered
    ask(page, "spend last 3 days vs last week")
    expect(main(page).get_by_text(re.compile("differ in length")).first).to_be_visible()
    expect(main(page).get_by_role("button", name=re.compile("^the same days:"))).to_be_visible()
    # "Why did it change?" is answered with its drivers and a table
    ask(page, "why did roas change over the last 7 days?")
    expect(main(page).get_by_text("Biggest drivers by campaign").first).to_be_visible()
    tables = [g for g in grids(page) if "contribution" in g["headers"]]
    assert tables and tables[-1]["rows"]
    no_exception(page)
