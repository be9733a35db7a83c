"""Steps of a browser session against the Streamlit app, so a test reads as a story: open a
path, log in, pick an option, await the run it caused, keep a screenshot.

Every wait is a condition awaited for at most WAIT_MS (a busy 2-core CI machine is slow);
none is a fixed sleep.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import Locator, Page, expect

from metricx.config import PROJECT_ROOT

ARTIFACTS = PROJECT_ROOT / "test-artifacts"
WAIT_MS = 30_000
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}
#: Every page at its stable path, with its name in the sidebar (the Dashboard is also at
#: /dashboard).
PAGES = {
    "/": "Dashboard",
    "/analytics": "Analytics",
    "/campaigns": "Campaigns",
    "/creatives": "Creatives",
    "/finance": "Finance",
    "/retention": "Retention",
    "/products": "Products",
    "/attribution": "Attribution",
    "/copilot": "Copilot",
    "/alerts": "Alerts",
    "/connections": "Connections",
    "/operations": "Operations",
    "/settings": "Settings",
    "/account": "Account",
}
ADMIN_PAGES = ("Connections", "Operations", "Settings")
#: The title a page shows where it is not its name in the sidebar.
TITLES = {"Account": "Your account"}
#: Money as ui/format.py writes it: "$24,019.78", "-$1,204.00".
MONEY = re.compile(r"^[−-]?\$\d{1,3}(,\d{3})*\.\d{2}$")


@dataclass(frozen=True)
class Login:
    email: str
    password: str


@dataclass(frozen=True)
class Store:
    """The synced merchant the app shows."""

    workspace_id: int
    first_day: date  # the first synced day; days before it hold nothing
    sandbox: object  # metricx.sandbox.servers.SandboxServers, serving the merchant


ADMIN = Login("ada@acme.test", "correct horse")
MEMBER = Login("bob@acme.test", "battery staple")
# Logging out ends every session of that user (session_version), so the tests that log out
# do it as their own admin and leave ADMIN's kept cookie valid for the others.
LEAVER = Login("lee@acme.test", "a long leaving password")

# Run in every page before the app: (1) counts the script runs the page saw start and notes
# when the run state last changed, so a step can await the end of the run its action caused
# (rather than sleep, or see the end of a run that had not started yet) and a quiet moment
# after it (a run can start another one: a login's cookie is written by a component, which
# reruns the script); (2) notes the text each st.dataframe draws on its canvas: the grid's
# accessible cells hold raw values, the canvas what the merchant reads ("$7,985.57").
BROWSER_HOOKS = """
window.__runs = 0;
window.__changed = performance.now();
new MutationObserver(records => {
  for (const r of records) {
    window.__changed = performance.now();
    if (r.target.getAttribute('data-test-script-state') === 'running') window.__runs += 1;
  }
}).observe(document, {attributes: true, subtree: true,
                      attributeFilter: ['data-test-script-state']});
window.__drawn = new WeakMap();
const fillText = CanvasRenderingContext2D.prototype.fillText;
CanvasRenderingContext2D.prototype.fillText = function (text, ...rest) {
  const frame = this.canvas.closest && this.canvas.closest('[data-testid="stDataFrame"]');
  if (frame) {
    if (!window.__drawn.has(frame)) window.__drawn.set(frame, new Set());
    window.__drawn.get(frame).add(String(text));
  }
  return fillText.call(this, text, ...rest);
};
"""
QUIET_MS = 300
SETTLED = f"""() => {{
  const app = document.querySelector('[data-testid="stApp"]');
  return app && app.dataset.testConnectionState === 'CONNECTED'
      && app.dataset.testScriptState === 'notRunning'
      && performance.now() - window.__changed > {QUIET_MS}
      && !document.querySelector('[data-stale="true"], [data-testid="stSkeleton"]');
}}"""


def screenshot(page: Page, name: str) -> Path:
    """The whole page in test-artifacts/<name>.png. Streamlit scrolls inside its main area,
    not the document, so the window is made as tall as that content for the picture."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
    size = page.viewport_size
    tall = page.evaluate("""() => Math.max(window.innerHeight, ...[...document.querySelectorAll(
        '[data-testid="stMain"], [data-testid="stAppScrollToBottomContainer"]')]
        .map(e => e.scrollHeight))""")
    page.set_viewport_size({"width": size["width"], "height": min(tall, 12_000)})
    try:
        page.screenshot(path=path, full_page=True)
    finally:
        page.set_viewport_size(size)
    return path


def settled(page: Page) -> None:
    """Connected to the server, no script run started or ended for QUIET_MS, what the last
    run left out gone from the page (stale elements linger a moment), and every element
    drawn (tables and charts load their code on first use, a skeleton shows meanwhile)."""
    page.wait_for_function(SETTLED, polling=100)


@contextmanager
def rerun(page: Page) -> Iterator[None]:
    """Await, to its end, the script run the enclosed action starts."""
    before = page.evaluate("window.__runs")
    yield
    page.wait_for_function(f"window.__runs > {before}")
    settled(page)


def ask(page: Page, question: str) -> None:
    """Ask the Copilot page a question, and await its answer."""
    box = page.get_by_test_id("stChatInput").locator("textarea")
    box.fill(question)
    with rerun(page):
        box.press("Enter")


def first_run_done(page: Page) -> None:
    """A new document: await its first script run (a busy server can start it late, after a
    quiet moment that is not its end), then the end of the runs that follow."""
    page.wait_for_function("window.__runs > 0")
    settled(page)
    expect(page.locator("h1, h2, h3").first).to_be_visible()


def open_path(page: Page, path: str) -> None:
    """Go to a URL as the address bar would: a reload, a bookmark, a shared link."""
    page.goto(path)
    first_run_done(page)


def reload(page: Page) -> None:
    page.reload()
    first_run_done(page)


def log_in(page: Page, who: Login) -> None:
    """Fill the login form on screen and await the app behind it."""
    email = page.get_by_label("Email")
    expect(email).to_be_visible()
    email.fill(who.email)
    page.get_by_role("textbox", name="Password").fill(who.password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    settled(page)


def logged_in(page: Page, who: Login, path: str = "/") -> None:
    """Open `path` and log in there."""
    open_path(page, path)
    log_in(page, who)


def go_to(page: Page, name: str) -> None:
    """Follow the sidebar's link to a page, and await its run to the end."""
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=name, exact=True).click()
    expect(heading(page, name)).to_be_visible()
    settled(page)


def visit(page: Page, name: str) -> None:
    """Open the app and go to a page from the sidebar, as a merchant does (a page's own
    address is the routing tests' business)."""
    open_path(page, "/")
    if name != "Dashboard":
        go_to(page, name)


def heading(page: Page, name: str) -> Locator:
    """The title (st.title) of the page the sidebar names `name`."""
    return page.get_by_role("heading", level=1, name=TITLES.get(name, name), exact=True)


def path_of(page: Page) -> str:
    return urlsplit(page.url).path


def query_of(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def widget(page: Page, key: str) -> Locator:
    """The element of the widget with this key (Streamlit classes its container
    st-key-<key>)."""
    return page.locator(f".st-key-{key}")


def labelled(scope: Page | Locator, testid: str, label: str) -> Locator:
    """The widget of this kind (stSelectbox, stMultiSelect, stTextInput…) labelled `label`,
    in the page or in a part of it (a form, the sidebar)."""
    page = scope if isinstance(scope, Page) else scope.page
    return scope.get_by_test_id(testid).filter(
        has=page.get_by_test_id("stWidgetLabel").get_by_text(label, exact=True)
    )


def open_list(page: Page, box: Locator) -> Locator:
    """Open a selectbox's or multiselect's list (Streamlit 1.67's are react-aria comboboxes:
    a click on a field without focus only focuses it); returns its options."""
    field = box.get_by_role("combobox")
    field.focus()
    field.click()
    options = page.get_by_role("option")
    expect(options.first).to_be_visible()
    return options


def choose(page: Page, box: Locator, option: str) -> None:
    """Choose `option` in a selectbox, or add it to a multiselect. In a form nothing runs
    until it is submitted."""
    open_list(page, box)
    page.get_by_role("option", name=option, exact=True).click()
    if box.get_attribute("data-testid") == "stMultiSelect":
        page.keyboard.press("Escape")  # its list stays open after a pick


def pick(page: Page, box: Locator, option: str) -> None:
    """Choose `option` outside a form, and await the run it causes."""
    with rerun(page):
        choose(page, box, option)


def type_date(page: Page, box: Locator, day: date) -> None:
    """Type a day into a date input (its year, month and day fields, in that order, as
    format="YYYY-MM-DD" lays them out), then click away, which is when it is taken."""
    with rerun(page):
        box.get_by_role("spinbutton").first.click()
        page.keyboard.type(day.strftime("%Y%m%d"))
        box.get_by_test_id("stWidgetLabel").click()


def unpick(page: Page, box: Locator, option: str) -> None:
    """Remove a chosen option from a multiselect (its chip's ✕), and await the run."""
    with rerun(page):
        box.get_by_role(
            "button", name=re.compile(rf"remove {re.escape(option)}", re.IGNORECASE)
        ).click()


def shown(box: Locator) -> list[str]:
    """What a selectbox shows, or the chips of a multiselect, as text."""
    return box.evaluate("""box => {
        const chips = [...box.querySelectorAll('.react-aria-ComboBox [data-tag]')];
        if (chips.length || box.dataset.testid === 'stMultiSelect')
            return chips.map(c => c.getAttribute('aria-label'));
        return [box.querySelector('input[role="combobox"]').value];
    }""")


def no_exception(page: Page) -> None:
    errors = page.get_by_test_id("stException")
    assert errors.count() == 0, errors.first.inner_text()


# Readers take one snapshot of the page in the browser (a run redraws elements while Python
# walks them otherwise).


def tiles(page: Page) -> list[dict]:
    """The KPI tiles (st.metric) of the main area: label, value, delta and position."""
    return page.evaluate("""() => [...document.querySelectorAll(
        '[data-testid="stMainBlockContainer"] [data-testid="stMetric"]')].map(m => {
            const text = id => (m.querySelector(`[data-testid="${id}"]`) || {}).innerText;
            const box = m.getBoundingClientRect();
            return {label: text('stMetricLabel').trim(), value: text('stMetricValue').trim(),
                    delta: (text('stMetricDelta') || '').trim() || null,
                    x: box.x, y: box.y + window.scrollY};
        })""")


def draw_tables(page: Page) -> None:
    """Bring every st.dataframe shown into view once, so each draws itself (a grid below the
    fold has drawn nothing yet), and await its header row. One in a closed expander waits."""
    for frame in page.get_by_test_id("stDataFrame").all():
        if not frame.is_visible():
            continue
        frame.scroll_into_view_if_needed()
        expect(frame.locator('th[role="columnheader"]').first).to_be_attached()


def grids(page: Page) -> list[dict]:
    """Every st.dataframe as {"headers": [...], "rows": [[...], ...]}: the raw values of the
    rows the grid has drawn (those in view)."""
    draw_tables(page)
    return page.evaluate("""() => [...document.querySelectorAll(
        '[data-testid="stDataFrame"]')].map(frame => ({
            headers: [...frame.querySelectorAll('th[role="columnheader"]')]
                .map(h => h.textContent.trim()),
            rows: [...frame.querySelectorAll('tbody tr')].map(r =>
                [...r.querySelectorAll('td[role="gridcell"]')].map(c => c.textContent.trim()))
        }))""")


def drawn_in_tables(page: Page) -> list[list[str]]:
    """Per st.dataframe on screen, every text its canvases drew since the page loaded."""
    draw_tables(page)
    return page.evaluate("""() => [...document.querySelectorAll('[data-testid="stDataFrame"]')]
        .map(frame => [...(window.__drawn.get(frame) || [])].filter(t => t.trim()))""")


def main(page: Page) -> Locator:
    """The page's own area (beside the sidebar; a chat page's too)."""
    return page.get_by_test_id("stMainBlockContainer")


def main_text(page: Page) -> str:
    """What the main area shows as text (charts' axes and legends included)."""
    return main(page).inner_text()


def chart_texts(page: Page) -> list[str]:
    """Every text drawn in the charts (axis labels and titles, legends)."""
    return page.evaluate("""() => [...document.querySelectorAll(
        '[data-testid="stVegaLiteChart"] svg text')].map(t => t.textContent)""")


def nav_links(page: Page) -> list[str]:
    """The names of the pages the sidebar lists (each link's last line: its icon comes
    first)."""
    return [
        text.strip().splitlines()[-1].strip()
        for text in page.get_by_test_id("stSidebarNavLink").all_inner_texts()
    ]


def analytics_with(
    page: Page, metrics: list[str], split_by: tuple[str, ...] = (), over_time: str | None = None
) -> None:
    """Analytics set up through its widgets: these metric labels in this order, split by
    these dimension labels, over time by this "Over time" label."""
    visit(page, "Analytics")
    chosen = labelled(page, "stMultiSelect", "Metrics")
    for label in metrics:
        if label not in shown(chosen):
            pick(page, chosen, label)
    for label in shown(chosen):
        if label not in metrics:
            unpick(page, chosen, label)
    assert shown(chosen) == metrics
    for label in split_by:
        pick(page, labelled(page, "stMultiSelect", "Split by"), label)
    if over_time:
        pick(page, labelled(page, "stSelectbox", "Over time"), over_time)
