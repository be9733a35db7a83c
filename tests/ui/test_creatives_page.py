"""Creatives: a card per creative that ran, with its preview sent as data (never a platform
link) and the service's numbers; filters and sort narrow and order the cards; Details opens a
creative's ads, trend and funnel and a link (?creative=<id>) opens it too; the CSV holds every
card; empty states say what to do."""

from __future__ import annotations

import io
from datetime import date

import pandas as pd
import pytest
from apptest import log_in, texts
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

from metricx.semantic.dates import resolve_phrase
from metricx.services import creative_report
from metricx.services.creatives import creative_previews
from ui import format as fmt
from ui.period import DEFAULT_PRESET

TODAY = date(2026, 11, 20)
PERIOD = resolve_phrase(DEFAULT_PRESET, TODAY)  # the app's default period on TODAY


@pytest.fixture
def open_creatives(member, monkeypatch):
    """Creatives as `member` sees it on TODAY, opened at a URL with these query parameters."""
    monkeypatch.setattr("ui.period.today_in", lambda tz, now=None: TODAY)

    def open_page(**params):
        at = log_in(member.label, "battery staple")
        for key, value in params.items():
            at.query_params[key] = value
        at.switch_page("views/creatives.py").run()
        assert not at.exception, at.exception
        return at

    return open_page


@pytest.fixture
def downloads(monkeypatch) -> dict[str, bytes]:
    """The files the page offers for download, by file name."""
    offered: dict[str, bytes] = {}
    keep = MemoryMediaFileStorage.load_and_get_id

    def recorded(self, data, mimetype, kind, filename=None):
        offered[filename] = data
        return keep(self, data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", recorded)
    return offered


def card_ids(at) -> list[int]:
    """The creatives whose card the page shows, in its order."""
    prefix = "creative_open_"
    return [int(b.key.removeprefix(prefix)) for b in at.button if str(b.key).startswith(prefix)]


def image_urls(at) -> list[str]:
    return [url for image in at.image for url in image.value]


def test_cards_show_every_creative_that_ran_with_its_preview_as_data(synced, open_creatives):
    workspace_id, _ = synced
    # given the synced merchant, when Creatives is opened
    at = open_creatives()
    expected = creative_report.cards(workspace_id, PERIOD, TODAY)
    # then there is a card per creative that ran, by spend, each with its stored preview
    assert card_ids(at) == expected["creative_id"].tolist() and len(expected) > 1
    previews = creative_previews(workspace_id, expected["creative_id"])
    urls = image_urls(at)
    assert previews and urls == [previews[i] for i in expected["creative_id"] if i in previews]
    assert all(u.startswith("data:image/") for u in urls)
    # and each card names its format, platform and launch, and its numbers
    shown = texts(at)
    first = expected.iloc[0]
    assert f"**{fmt.literal(first['name'])}**" in shown and " · launched " in shown
    assert "Ad spend **\\$" in shown
    # and the compare chart draws the first three
    assert len(at.get("vega_lite_chart")) == 1
    assert at.multiselect(key="creative_compare").value == expected["creative_id"].tolist()[:3]


def test_a_format_filter_and_a_sort_reorder_the_cards(synced, open_creatives):
    workspace_id, _ = synced
    at = open_creatives()
    compared_before = at.multiselect(key="creative_compare").value
    at.multiselect(key="creative_formats").select("video").run()
    videos = creative_report.cards(
        workspace_id, PERIOD, TODAY, creative_report.CreativeFilter(formats=("video",))
    )
    assert card_ids(at) == videos["creative_id"].tolist() and len(videos)
    # and the compare chart keeps the videos it had, or shows the top three videos
    ids = videos["creative_id"].tolist()
    kept = [i for i in compared_before if i in ids]
    assert at.multiselect(key="creative_compare").value == (kept or ids[:3])
    at.selectbox(key="creative_sort").select("ctr").run()
    at.radio(key="creative_order").set_value("ascending").run()
    by_ctr = creative_report.cards(
        workspace_id,
        PERIOD,
        TODAY,
        creative_report.CreativeFilter(formats=("video",)),
        sort_by="ctr",
        descending=False,
    )
    assert card_ids(at) == by_ctr["creative_id"].tolist()


def test_details_open_a_creatives_ads_trend_and_funnel(synced, open_creatives):
    workspace_id, _ = synced
    at = open_creatives()
    creative_id = card_ids(at)[-1]
    # when its card's Details is clicked
    at.button(key=f"creative_open_{creative_id}").click().run()
    # then the detail shows it: its ads, its trend (and the compare chart)
    assert at.selectbox(key="creative").value == creative_id
    expected = creative_report.detail(workspace_id, creative_id, PERIOD, TODAY)
    ads = at.dataframe[0].value
    assert set(ads["id"]) == set(expected.ads["id"])
    assert f"### {fmt.literal(expected.card['name'])}" in texts(at)
    assert len(at.get("vega_lite_chart")) >= 2


def test_a_link_opens_a_creative_and_the_csv_holds_every_card(synced, open_creatives, downloads):
    workspace_id, _ = synced
    expected = creative_report.cards(workspace_id, PERIOD, TODAY)
    creative_id, name = expected[["creative_id", "name"]].iloc[-1]
    # a link names the creative as the page's picker does: its name and its id
    at = open_creatives(creative=f"{name} (#{creative_id})")
    assert at.selectbox(key="creative").value == creative_id
    name = f"metricx-creatives-{PERIOD.start}-{PERIOD.end}.csv"
    csv = pd.read_csv(io.BytesIO(downloads[name]))
    assert csv["creative_id"].tolist() == expected["creative_id"].tolist()


def test_filters_that_match_nothing_say_so_and_clear(synced, open_creatives):
    at = open_creatives()
    at.multiselect(key="creative_platforms").select("meta").run()
    at.date_input(key="creative_from").set_value(date(2030, 1, 1)).run()
    assert "No creative with these filters ran in" in texts(at) and not card_ids(at)
    at.button(key="creative_clear_filters").click().run()
    assert card_ids(at)


def test_a_workspace_without_ad_accounts_says_to_connect_one(open_creatives):
    at = open_creatives()
    assert "No ad account is connected yet" in texts(at) and not card_ids(at)


def test_connected_accounts_without_creatives_say_to_sync(connections, open_creatives):
    at = open_creatives()
    assert "No creative is stored yet" in texts(at) and "Run a sync" in texts(at)
