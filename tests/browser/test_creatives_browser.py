"""Creatives in a real browser: the member opens the page from the sidebar and sees a card per
creative whose preview is an image sent inline by this server (a data: URI, never the
platform's CDN), narrows the cards to videos, and opens one creative's detail."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from browser.browsing import (
    go_to,
    labelled,
    main,
    no_exception,
    open_path,
    pick,
    rerun,
    screenshot,
)

CARDS = "[class*='st-key-creative_card_']"


def card_images(page: Page) -> list[str]:
    """The src of every card's preview, in the page's order."""
    return page.evaluate(
        f"""() => [...document.querySelectorAll("{CARDS} img")].map(i => i.getAttribute('src'))"""
    )


def card_formats(page: Page) -> list[str]:
    """Each card's caption ("Video · Meta · launched Nov 3, 2026")."""
    return page.evaluate(
        f"""() => [...document.querySelectorAll("{CARDS}")].map(c =>
            c.querySelector('[data-testid="stCaptionContainer"]').innerText)"""
    )


def test_a_member_browses_creatives_filters_to_videos_and_opens_one(as_member):
    page = as_member
    open_path(page, "/")
    go_to(page, "Creatives")
    no_exception(page)
    # then there are cards, each with its preview served inline by this app
    expect(page.locator(CARDS).first).to_be_visible()
    sources = card_images(page)
    assert sources and all(s.startswith("data:image/") for s in sources)
    assert not any("fbcdn" in s or s.startswith("http") for s in sources)
    every = len(page.locator(CARDS).all())
    # when the cards are narrowed to videos
    pick(page, labelled(page, "stMultiSelect", "Format"), "Video")
    formats = card_formats(page)
    assert formats and all(f.startswith("Video ·") for f in formats)
    assert len(formats) <= every
    assert "creative_formats=Video" in page.url
    # and the first card's Details is clicked
    first = page.locator(CARDS).first
    name = first.locator("strong").first.inner_text()
    with rerun(page):
        first.get_by_role("button", name="Details").click()
    # then its detail shows its name, its ads and its charts, and the URL names it
    expect(main(page).get_by_role("heading", name=name, level=3)).to_be_visible()
    expect(main(page).get_by_text("Its ads")).to_be_visible()
    assert "creative=" in page.url
    no_exception(page)
    screenshot(page, "creatives-detail")
