"""Numbers formatted and explained (issue #20, defects 3, 4, 5, 7 and the edge cases of 8):
one money format, labels instead of metric ids, Analytics laid out for an analyst, a
reconciliation caption that agrees with its table, net profit that says what it leaves out,
"today" compared like for like, and an empty period that says so."""

from __future__ import annotations

import csv
import io
import re

import pytest
from playwright.sync_api import Page, expect

from browser.browsing import (
    MONEY,
    analytics_with,
    chart_texts,
    drawn_in_tables,
    grids,
    heading,
    main,
    main_text,
    no_exception,
    open_path,
    pick,
    tiles,
    visit,
    widget,
)
from metricx.semantic.catalogue import METRIC_IDS, get_metric
from metricx.semantic.engine import run_query
from metricx.semantic.query import TimeRange
from ui.format import delta
from ui.period import resolve

DATA_PAGES = {
    "Dashboard": "/",
    "Analytics": "/analytics",
    "Campaigns": "/campaigns",
    "Finance": "/finance",
    "Products": "/products",
    "Attribution": "/attribution",
}
# Money written another way than "$24,019.78": "USD 24,019.78", or "24019.78" (no separators).
OTHER_MONEY = re.compile(r"\b[A-Z]{3} ?[\d,]+\.\d{2}\b|(?<![\d,.$€£])\d{4,}\.\d{2}(?!\d)")
# A raw float: "130029.2603", "2.9337945983418874" (a formatted number has at most 2 decimals,
# a percent its sign).
RAW_FLOAT = re.compile(r"(?<![\d.])\d+\.\d{3,}(?![\d%])")
ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


def labels(*metric_ids: str) -> list[str]:
    return [get_metric(m).label for m in metric_ids]


def column(grid: dict, header: str) -> list[str]:
    at = grid["headers"].index(header)
    return [row[at] for row in grid["rows"]]


def analytics_table(page: Page) -> tuple[dict, list[str]]:
    """The Analytics table: its headers and rows (raw values), and the texts it drew."""
    frames = grids(page)
    assert frames, "Analytics shows no table"
    return frames[-1], drawn_in_tables(page)[-1]


def test_analytics_reads_like_a_report(as_admin):
    page = as_admin
    # Given spend and CPC by campaign, compared with the previous period
    analytics_with(page, labels("spend", "cpc"), ("Campaign",))
    expect(page.get_by_test_id("stDataFrame").last).to_be_visible()
    table, drawn = analytics_table(page)
    headers = table["headers"]
    # Then the headers are labels, never metric ids
    assert not set(headers) & set(METRIC_IDS), headers
    spend, cpc = labels("spend", "cpc")
    assert {spend, cpc} <= set(headers)
    # and each metric has its change beside the comparison
    for label in (spend, cpc):
        assert any(label in h and re.search("change|Δ", h, re.I) for h in headers), headers
    # and the cells read as money, with no raw float
    assert any(MONEY.match(text) for text in drawn), drawn
    assert not [t for t in drawn if RAW_FLOAT.search(t)], drawn
    # and the rows are sorted by the first metric, largest first
    amounts = [float(v) for v in column(table, spend) if v]
    assert len(amounts) > 1 and amounts == sorted(amounts, reverse=True)
    no_exception(page)


def test_the_analytics_csv_has_clean_decimals_and_the_comparison(as_admin):
    page = as_admin
    analytics_with(page, labels("spend", "roas"), ("Campaign",))
    # When the merchant downloads the CSV
    with page.expect_download() as download:
        page.get_by_role("button", name=re.compile("Download CSV")).click()
    rows = list(csv.reader(io.StringIO(download.value.path().read_text())))
    header, body = rows[0], rows[1:]
    # Then its numbers have no float noise, and the comparison is in it
    noisy = [cell for row in body for cell in row if re.fullmatch(r"-?\d+\.\d{7,}", cell)]
    assert body and not noisy, noisy[:5]
    assert any(re.search("previous|change", h, re.I) for h in header), header


def test_every_chosen_metric_is_charted(as_admin):
    page = as_admin
    # Given three metrics over time
    analytics_with(page, labels("spend", "cpc", "ctr"), over_time="Day")
    expect(page.get_by_test_id("stVegaLiteChart").first).to_be_visible()
    drawn = " | ".join(chart_texts(page))
    # Then each has its chart (its label on an axis or a title)
    for label in labels("spend", "cpc", "ctr"):
        assert label in drawn, f"{label} is not charted: {drawn}"


@pytest.mark.parametrize("title", list(DATA_PAGES))
def test_money_and_dates_are_written_one_way_and_in_full(as_admin, title):
    page = as_admin
    visit(page, title)
    # Everything the page says, its tables' cells and its charts' axes included
    said = [
        main_text(page),
        *chart_texts(page),
        *(t for frame in drawn_in_tables(page) for t in frame),
    ]
    assert not [m for s in said for m in OTHER_MONEY.findall(s)], title
    assert not [m for s in said for m in RAW_FLOAT.findall(s)], title
    # dates as "Nov 3, 2026", never "2026-11-03"; no legend or axis label cut short
    assert not [m for s in said for m in ISO_DATE.findall(s)], title
    assert not [t for t in chart_texts(page) if t.endswith("…")], title
    for tile in tiles(page):
        if tile["label"] in labels("spend", "store_revenue", "aov", "cpa"):
            assert MONEY.match(tile["value"]), tile
    no_exception(page)


def test_the_reconciliation_caption_agrees_with_its_table(as_admin):
    page = as_admin
    open_path(page, "/")
    expect(page.get_by_role("heading", name="Platforms vs Shopify")).to_be_visible()
    # Given the platforms' purchases in the table and the store's orders beside it
    [table] = [g for g in grids(page) if "Purchases (platform-reported)" in g["headers"]]
    claimed = sum(float(v) for v in column(table, "Purchases (platform-reported)") if v)
    [orders] = [
        int(t["value"].replace(",", "")) for t in tiles(page) if t["label"] == "Shopify orders"
    ]
    # Then the caption says which is larger, as the numbers do
    caption = (
        page.get_by_test_id("stCaptionContainer")
        .filter(has_text=re.compile("purchases", re.I))
        .filter(has_text=re.compile("order", re.I))
    )
    said = caption.first.inner_text()
    if claimed < orders:
        assert re.search(r"\bfewer\b|\bless\b", said) and not re.search(r"\bmore\b", said), said
    else:
        assert re.search(r"\bmore\b", said) and not re.search(r"\bfewer\b", said), said


def test_a_revenue_that_differs_from_the_dashboard_says_why(as_admin):
    page = as_admin
    visit(page, "Attribution")
    expect(
        page.get_by_text(re.compile(r"Dashboard", re.I))
        .filter(has_text=re.compile("revenue", re.I))
        .first
    ).to_be_visible()


def test_net_profit_says_what_it_leaves_out_while_costs_are_unset(as_admin):
    page = as_admin
    unset = re.compile(
        r"net profit.*(not set|overstated|unset)|(not set|unset).*net profit", re.I | re.S
    )
    # Given costs never entered: the first screen asks for them
    visit(page, "Dashboard")
    expect(page.get_by_text(re.compile("cost", re.I)).first).to_be_visible()
    for name in ("Dashboard", "Finance"):
        visit(page, name)
        # Then every profit figure carries a note saying the costs are missing
        expect(
            main(page).get_by_text(unset).first, f"{name} has no note on net profit"
        ).to_be_visible()


def test_today_is_compared_with_yesterday_at_the_same_hour(as_admin, store):
    page = as_admin
    open_path(page, "/")
    # When the merchant picks "today"
    pick(page, widget(page, "period"), "today")
    # Then both days stop at the same clock time, which the page names
    caption = main(page).get_by_text(re.compile(r"until \d{2}:\d{2}"))
    hours, minutes = map(
        int, re.search(r"until (\d{2}):(\d{2})", caption.first.inner_text()).groups()
    )
    period = resolve("today", "previous period", None, None, "America/New_York")
    now = TimeRange(
        start=period.range.start, end=period.range.end, until=f"{hours:02d}:{minutes:02d}"
    )
    before = TimeRange(start=period.compare.start, end=period.compare.end, until=now.until)
    # and the spend tile's change is today so far against yesterday so far
    result = run_query(
        store.workspace_id,
        {
            "metrics": ["spend"],
            "time_range": now.model_dump(mode="json"),
            "compare_range": before.model_dump(mode="json"),
        },
    )
    expected, _ = delta(
        "spend", result.frame["spend"].iloc[0], result.compare_frame["spend"].iloc[0]
    )
    [spend] = [t for t in tiles(page) if t["label"] == get_metric("spend").label]
    assert spend["delta"] == expected, (spend, expected)


@pytest.mark.parametrize("title", list(DATA_PAGES))
def test_a_period_without_data_says_so(as_admin, title):
    page = as_admin
    # Given a period long before the first sync
    open_path(page, f"{DATA_PAGES[title]}?period=custom&from=2020-01-01&to=2020-01-31")
    expect(heading(page, title)).to_be_visible()
    # Then the page says there is nothing, and draws no empty axis
    expect(main(page).get_by_test_id("stAlert").first).to_be_visible()
    assert "0.000000" not in " ".join(chart_texts(page))
    assert "2020" in main_text(page)  # the period it speaks of
    no_exception(page)
