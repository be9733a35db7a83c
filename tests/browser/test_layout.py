"""Every page at a phone's width (390×844) and a desktop's (1440×900), screenshots kept in
test-artifacts/ (issue #20, defect 7): nothing wider than the screen, and the Dashboard's KPI
tiles in the same order on a phone as on a desktop."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from browser.browsing import PAGES, heading, no_exception, open_path, screenshot, tiles


def reading_order(page: Page) -> list[str]:
    """The tiles' labels as read: row by row, left to right."""
    return [t["label"] for t in sorted(tiles(page), key=lambda t: (round(t["y"] / 20), t["x"]))]


def overflow(page: Page) -> int:
    """How many pixels the page is wider than the screen (0: no sideways scrolling)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def test_every_page_at_phone_and_desktop_width(as_admin, phone_as_admin):
    for path, name in PAGES.items():
        for size, page in (("1440", as_admin), ("390", phone_as_admin)):
            open_path(page, path)
            expect(heading(page, name), f"{name} at {size} px").to_be_visible()
            screenshot(page, f"{name.lower()}-{size}")
            no_exception(page)
            assert overflow(page) <= 0, f"{name} at {size} px is wider than the screen"


def test_the_kpi_tiles_read_in_the_same_order_on_a_phone(as_admin, phone_as_admin):
    open_path(as_admin, "/")
    open_path(phone_as_admin, "/")
    on_desktop = reading_order(as_admin)
    assert len(on_desktop) >= 5
    assert reading_order(phone_as_admin)[: len(on_desktop)] == on_desktop
