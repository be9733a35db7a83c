"""Widgets that keep every change (issue #20, defects 2 and 6): on every page each widget is
changed several times in a row and each change holds; the values stay when the merchant
leaves the page and comes back, and the data pages keep them in the URL through a reload.
One period for the whole app: picked on the Dashboard, it is the one of Analytics and Finance.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from playwright.sync_api import Locator, Page, expect

from browser.browsing import (
    go_to,
    heading,
    labelled,
    main,
    open_list,
    open_path,
    pick,
    query_of,
    reload,
    rerun,
    shown,
    type_date,
    unpick,
    visit,
    widget,
)
from metricx.semantic.catalogue import get_metric
from ui.format import span
from ui.period import resolve

CHANGES = 4  # in a row: Analytics used to drop every second one
# Widgets a change is made through (forms are left to their own tests: nothing runs in them
# until they are submitted).
KINDS = ("stSelectbox", "stMultiSelect", "stRadio", "stCheckbox", "stTextInput")
# A custom period needs its dates first (its own test covers it); "Select all" is a
# multiselect's shortcut, not an option.
SKIPPED_OPTIONS = {"custom", "Select all"}


@dataclass(frozen=True)
class Widget:
    """A widget found on screen: its kind, its label, and which of the alike it is."""

    testid: str
    label: str
    nth: int
    area: str  # the test id of the main area or of the sidebar

    def locate(self, page: Page) -> Locator:
        return labelled(page.get_by_test_id(self.area), self.testid, self.label).nth(self.nth)

    def __str__(self) -> str:
        return f"{self.testid} “{self.label}”" + (f" #{self.nth + 1}" if self.nth else "")


def widgets_on(page: Page, areas: tuple[str, ...]) -> list[Widget]:
    """The visible widgets outside forms, in screen order."""
    found = page.evaluate(
        """([areas, kinds]) => {
        const out = [];
        for (const area of areas) {
            const root = document.querySelector(`[data-testid="${area}"]`);
            if (!root) continue;
            const wanted = kinds.map(k => `[data-testid="${k}"]`).join(',');
            for (const el of root.querySelectorAll(wanted)) {
                if (el.closest('[data-testid="stForm"]')) continue;
                if (!el.checkVisibility({visibilityProperty: true})) continue;
                const label = el.querySelector('[data-testid="stWidgetLabel"]');
                out.push({testid: el.dataset.testid, area,
                          label: label ? label.textContent.trim() : ''});
            }
        }
        return out;
    }""",
        [list(areas), list(KINDS)],
    )
    seen: dict[tuple[str, str, str], int] = {}
    listed = []
    for item in found:
        identity = (item["area"], item["testid"], item["label"])
        listed.append(Widget(item["testid"], item["label"], seen.get(identity, 0), item["area"]))
        seen[identity] = seen.get(identity, 0) + 1
    return [w for w in listed if w.label]


def options_of(page: Page, box: Locator) -> list[str]:
    """The options a selectbox or multiselect offers (what is not chosen yet, for the latter)."""
    listed = open_list(page, box)
    names = [name.strip() for name in listed.all_inner_texts()]
    page.keyboard.press("Escape")
    expect(listed).to_have_count(0)
    return [n for n in names if n not in SKIPPED_OPTIONS]


def state_of(item: Widget, box: Locator) -> object:
    """What the widget holds, as the merchant sees it."""
    if item.testid in ("stSelectbox", "stMultiSelect"):
        return shown(box)
    if item.testid == "stRadio":
        return (
            box.locator('[data-testid="stRadioOption"][data-selected="true"]').inner_text().strip()
        )
    if item.testid == "stCheckbox":
        return box.locator("input").is_checked()
    return box.locator("input").input_value()


def changes_for(page: Page, item: Widget, box: Locator, times: int) -> list[tuple[str, object]]:
    """`times` changes in a row, each (action, value it should leave), ending where it began."""
    start = state_of(item, box)
    if item.testid in ("stSelectbox", "stRadio"):
        names = (
            options_of(page, box)
            if item.testid == "stSelectbox"
            else [n.strip() for n in box.get_by_test_id("stRadioOption").all_inner_texts()]
        )
        current = start[0] if isinstance(start, list) else start
        others = [n for n in names if n != current]
        if len(others) >= times:  # as many others as changes: each one, then back
            targets = [*others[:times], current]
        else:  # few options: to another and back, in turn
            targets = [
                others[i // 2 % len(others)] if i % 2 == 0 else current for i in range(times)
            ]
        return [("choose", t) for t in targets]
    if item.testid == "stMultiSelect":
        free = options_of(page, box)
        if len(free) >= 2:  # add two, then remove them again, one click each
            first, second = free[:2]
            return [("add", first), ("add", second), ("remove", first), ("remove", second)]
        last = start[-1]  # every option chosen: take the last one out and put it back, twice
        return [("remove", last), ("add", last)] * (times // 2)
    if item.testid == "stCheckbox":
        return [("click", not start if i % 2 == 0 else start) for i in range(times)]
    texts = [f"zz{i}" for i in range(1, times)] + [start]
    return [("type", t) for t in texts]


def apply(page: Page, item: Widget, box: Locator, action: str, value: object) -> None:
    if action == "choose" and item.testid == "stRadio":
        with rerun(page):
            box.get_by_test_id("stRadioOption").filter(
                has_text=re.compile(rf"^\s*{re.escape(str(value))}\s*$")
            ).click()
    elif action in ("choose", "add"):
        pick(page, box, str(value))
    elif action == "remove":
        unpick(page, box, str(value))
    elif action == "click":
        with rerun(page):
            box.locator("label").first.click()
    else:
        field = box.locator("input")
        with rerun(page):
            field.fill(str(value))
            field.press("Enter")


def expected_after(item: Widget, before: object, action: str, value: object) -> object:
    if item.testid == "stMultiSelect":
        return [*before, value] if action == "add" else [v for v in before if v != value]
    if item.testid == "stSelectbox":
        return [value]
    return value


def every_change_holds(
    page: Page, title: str, areas: tuple[str, ...], times: int = CHANGES
) -> list[Widget]:
    """Change each widget of the page `times` in a row (then back); each change must hold."""
    found = widgets_on(page, areas)
    assert found, f"{title}: no widget found"
    for item in found:
        box = item.locate(page)
        expect(box, f"{title}: {item}").to_be_visible()
        held = state_of(item, box)
        for number, (action, value) in enumerate(changes_for(page, item, box, times), 1):
            apply(page, item, box, action, value)
            held = expected_after(item, held, action, value)
            expect(heading(page, title)).to_be_visible()
            assert state_of(item, item.locate(page)) == held, (
                f"{title}: {item} did not hold change {number} ({action} {value!r})"
            )
    return found


def leave_a_mark(page: Page, found: list[Widget]) -> dict[Widget, object]:
    """Set each selectbox, radio and multiselect away from where it stands; what each holds."""
    marks = {}
    for item in found:
        if item.testid not in ("stSelectbox", "stRadio", "stMultiSelect"):
            continue
        box = item.locate(page)
        if not box.count():  # another mark hid it (an empty view, another level)
            continue
        action, value = changes_for(page, item, box, 2)[0]
        before = state_of(item, box)
        apply(page, item, box, action, value)
        marks[item] = expected_after(item, before, action, value)
    return marks


def still_held(page: Page, title: str, marks: dict[Widget, object], when: str) -> None:
    expect(heading(page, title)).to_be_visible()
    for item, value in marks.items():
        box = item.locate(page)
        expect(box, f"{title}: {item} {when}").to_be_visible()
        assert state_of(item, box) == value, f"{title}: {item} lost its value {when}"


# The data pages (their state is in the URL) and the areas whose widgets are changed: the
# period picker of the sidebar is changed on Analytics and on the Dashboard. Settings has
# only forms (test_states.py); Connections' widgets start syncs and change tokens.
MAIN, SIDEBAR = "stMainBlockContainer", "stSidebar"
PAGES = {
    "Analytics": (MAIN, SIDEBAR),
    "Campaigns": (MAIN,),
    "Finance": (MAIN,),
    "Retention": (MAIN,),
    "Products": (MAIN,),
    "Attribution": (MAIN,),
    "Dashboard": (SIDEBAR,),
}


@pytest.mark.parametrize("title", list(PAGES))
def test_every_widget_holds_each_change_and_keeps_it(as_admin, title):
    page = as_admin
    open_path(page, "/")
    go_to(page, title)
    # When every widget is changed several times in a row, each change holds
    found = every_change_holds(page, title, PAGES[title])
    # Given each widget then set to another value
    marks = leave_a_mark(page, found)
    # When the merchant leaves the page and comes back, every value is still there
    go_to(page, "Account")
    go_to(page, title)
    still_held(page, title, marks, "after leaving the page and coming back")
    # and a reload (the URL) keeps them too
    reload(page)
    still_held(page, title, marks, "after a reload")


def test_analytics_keeps_each_period_and_metric_picked_in_a_row(as_admin):
    page = as_admin
    visit(page, "Analytics")
    period = widget(page, "period")
    # When four periods are picked one after the other
    for preset in ("yesterday", "last 7 days", "last 14 days", "last week"):
        pick(page, period, preset)
        # Then each one holds, on screen and in the URL
        assert shown(period) == [preset]
        assert query_of(page).get("period", ["last 7 days"]) == [preset]
    # When metrics are added one after the other, then one is removed
    metrics = labelled(page, "stMultiSelect", "Metrics")
    chosen = shown(metrics)
    for metric in ("cpc", "ctr", "cpm"):
        pick(page, metrics, get_metric(metric).label)
        chosen.append(get_metric(metric).label)
        assert shown(metrics) == chosen
    unpick(page, metrics, get_metric("ctr").label)
    # Then one click removed it
    assert get_metric("ctr").label not in shown(metrics)
    assert "ctr" not in query_of(page)["metrics"]


def test_the_period_picked_on_the_dashboard_is_the_one_everywhere(as_admin, store):
    page = as_admin
    open_path(page, "/")
    # When the merchant picks the last 14 days on the Dashboard
    pick(page, widget(page, "period"), "last 14 days")
    days = resolve("last 14 days", "previous period", None, None, "America/New_York").range
    dates = span(days.start, days.end)
    for title in ("Dashboard", "Analytics", "Finance"):
        if title != "Dashboard":
            go_to(page, title)
        # Then every data page shows those days, and its URL says so
        assert shown(widget(page, "period")) == ["last 14 days"], title
        assert query_of(page).get("period") == ["last 14 days"], title
        expect(main(page).get_by_text(dates).first, f"{title} shows {dates}").to_be_visible()


def test_a_custom_period_keeps_its_dates_through_a_reload(as_admin, store):
    page = as_admin
    open_path(page, "/")
    # When a custom period is picked and its dates typed
    pick(page, widget(page, "period"), "custom")
    first, last = store.first_day + timedelta(days=2), store.first_day + timedelta(days=8)
    for key, day in (("from", first), ("to", last)):
        type_date(page, widget(page, key), day)
    # Then the URL and a reload keep them, and the page shows those days
    reload(page)
    query = query_of(page)
    assert (query["period"], query["from"], query["to"]) == (
        ["custom"],
        [first.isoformat()],
        [last.isoformat()],
    )
    assert (
        widget(page, "from").get_by_role("group").first.inner_text().replace("\n", "")
        == first.isoformat()
    )
    expect(main(page).get_by_text(span(first, last)).first).to_be_visible()
