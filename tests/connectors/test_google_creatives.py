"""A Google ad's creative: the ad itself, its texts from the ads query and its images and
videos resolved FROM asset (docs/design.md "Creatives")."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from metricx.connectors import google_ads
from metricx.connectors.google_creatives import (
    Asset,
    asset_names,
    asset_query,
    creative_record,
    read_assets,
)
from metricx.sandbox.ad_copy import RDA, RSA, VRA, google_ad_copy

IMAGE = "customers/1234567890/assets/9001"
SQUARE = "customers/1234567890/assets/9002"
VIDEO = "customers/1234567890/assets/9100"
ASSETS = {
    IMAGE: Asset("https://tpc.googlesyndication.com/simgad/1111", None),
    SQUARE: Asset("https://tpc.googlesyndication.com/simgad/2222", None),
    VIDEO: Asset(None, "dQw4w9WgXcQ"),
}


def test_a_responsive_search_ad_is_text_with_every_headline_pinned_ones_first():
    # given an RSA whose third headline is pinned to position 1 (research19 A3 example shape)
    ad = {
        "id": "333",
        "type": "RESPONSIVE_SEARCH_AD",
        "responsiveSearchAd": {
            "headlines": [
                {"text": "Winter Sale 30% Off"},
                {"text": "Free Returns", "pinnedField": "HEADLINE_2"},
                {"text": "Free Shipping Today", "pinnedField": "HEADLINE_1"},
                {"text": "Shop Jackets"},
            ],
            "descriptions": [
                {"text": "Order by 3pm for same-day dispatch."},
                {"text": "Free returns for 60 days."},
            ],
        },
    }
    # when it is read
    record = creative_record(ad, {})
    # then it is a text creative named after its first served headline, nothing dropped
    assert record is not None
    assert (record.external_id, record.format, record.thumbnail_url) == ("333", "text", None)
    assert record.title == "Free Shipping Today | Free Returns | Winter Sale 30% Off | Shop Jackets"
    assert record.body == "Order by 3pm for same-day dispatch.\nFree returns for 60 days."
    assert record.name == "Free Shipping Today"


def test_a_responsive_display_ad_shows_its_first_marketing_image():
    # given an RDA naming a landscape and a square image asset
    ad = {
        "id": "334",
        "name": "Winter display",
        "type": "RESPONSIVE_DISPLAY_AD",
        "responsiveDisplayAd": {
            "squareMarketingImages": [{"asset": SQUARE}],
            "marketingImages": [{"asset": IMAGE}],
            "headlines": [{"text": "Winter Sale"}],
            "longHeadline": {"text": "Everything 30% off until Sunday"},
            "descriptions": [{"text": "Ends Sunday."}],
            "callToActionText": "Shop now",
        },
    }
    # when it is read with the assets resolved
    record = creative_record(ad, ASSETS)
    # then it is an image creative whose preview is the landscape image's full-size URL
    assert record is not None
    assert (record.format, record.name, record.call_to_action) == (
        "image",
        "Winter display",
        "Shop now",
    )
    assert record.thumbnail_url == ASSETS[IMAGE].image_url
    assert (record.title, record.body, record.video_id) == ("Winter Sale", "Ends Sunday.", None)


def test_a_display_ad_with_a_youtube_video_is_a_video_with_its_image_as_preview():
    ad = {
        "id": "335",
        "type": "RESPONSIVE_DISPLAY_AD",
        "responsiveDisplayAd": {
            "marketingImages": [{"asset": IMAGE}],
            "youtubeVideos": [{"asset": VIDEO}],
            "longHeadline": {"text": "Everything 30% off"},
        },
    }
    record = creative_record(ad, ASSETS)
    assert record is not None
    assert (record.format, record.video_id) == ("video", "dQw4w9WgXcQ")
    assert record.thumbnail_url == ASSETS[IMAGE].image_url
    # a display ad without short headlines is titled by its long one
    assert record.title == "Everything 30% off"


def test_an_asset_the_lookup_did_not_return_leaves_no_preview_and_no_error():
    ad = {
        "id": "336",
        "type": "RESPONSIVE_DISPLAY_AD",
        "responsiveDisplayAd": {"marketingImages": [{"asset": IMAGE}]},
    }
    record = creative_record(ad, {})
    assert record is not None
    assert (record.format, record.thumbnail_url) == ("image", None)


@pytest.mark.parametrize(
    ("ad", "expected"),
    [
        ({"id": "1", "type": "SHOPPING_PRODUCT_AD"}, "unknown"),
        ({"id": "1", "type": "EXPANDED_TEXT_AD"}, "text"),
        ({"id": "1", "type": "VIDEO_RESPONSIVE_AD", "videoResponsiveAd": {}}, "video"),
        ({"id": "1", "type": "IMAGE_AD", "imageAd": {"imageUrl": "https://x/i.png"}}, "image"),
        ({"id": "1", "type": "DEMAND_GEN_CAROUSEL_AD"}, "carousel"),
        ({"id": "1", "type": "A_TYPE_FROM_A_LATER_VERSION"}, "unknown"),
    ],
)
def test_the_format_follows_the_ad_type(ad, expected):
    record = creative_record(ad, {})
    assert record is not None and record.format == expected


@pytest.mark.parametrize("ad", [{}, {"id": ""}, {"id": None, "type": "RESPONSIVE_SEARCH_AD"}])
def test_a_row_without_an_ad_id_has_no_creative(ad):
    assert creative_record(ad, ASSETS) is None


def test_asset_names_are_asked_once_each_and_only_when_well_formed():
    ads = [
        {"responsiveDisplayAd": {"marketingImages": [{"asset": IMAGE}, {"asset": "x' OR 1=1"}]}},
        {"responsiveDisplayAd": {"marketingImages": [{"asset": IMAGE}], "youtubeVideos": []}},
        {"videoResponsiveAd": {"videos": [{"asset": VIDEO}]}},
        {"responsiveSearchAd": {"headlines": [{"text": "no assets"}]}},
    ]
    assert asset_names(ads) == [IMAGE, VIDEO]
    assert asset_query([IMAGE, VIDEO]).endswith(
        f"FROM asset WHERE asset.resource_name IN ('{IMAGE}', '{VIDEO}')"
    )


def test_asset_rows_are_read_by_resource_name():
    rows = [
        {
            "asset": {
                "resourceName": IMAGE,
                "type": "IMAGE",
                "imageAsset": {"fullSize": {"url": "https://i/1", "widthPixels": "1200"}},
            }
        },
        {"asset": {"resourceName": VIDEO, "youtubeVideoAsset": {"youtubeVideoId": "abc"}}},
        {"asset": {"id": "no name"}},
        "junk",
    ]
    assert read_assets(rows) == {IMAGE: Asset("https://i/1", None), VIDEO: Asset(None, "abc")}


pins = st.sampled_from([None, "HEADLINE_1", "HEADLINE_2", "HEADLINE_3"])
headline_lists = st.lists(
    st.tuples(st.text(alphabet="abcdefgh ", min_size=1, max_size=8).map(str.strip), pins),
    min_size=1,
    max_size=15,
).filter(lambda items: all(text for text, _ in items))


@given(headline_lists)
def test_every_headline_is_kept_once_with_pinned_ones_in_serving_order(items):
    # given any RSA headlines, some pinned
    headlines = [{"text": t} | ({"pinnedField": p} if p else {}) for t, p in items]
    ad = {"id": "9", "type": "RESPONSIVE_SEARCH_AD", "responsiveSearchAd": {"headlines": headlines}}
    # when the ad is read
    record = creative_record(ad, {})
    assert record is not None and record.title is not None
    title = record.title.split(" | ")
    # then nothing is lost, and the pinned ones lead, HEADLINE_1 before HEADLINE_2 before 3
    assert sorted(title) == sorted(t for t, _ in items)
    pinned = sorted((p, i) for i, (_, p) in enumerate(items) if p)
    assert title[: len(pinned)] == [items[i][0] for _, i in pinned]


# ---- through the fake Google Ads API ----------------------------------------------------------
def test_the_tree_read_gives_every_ad_its_creative_with_one_asset_query(make_google, sandbox):
    # given a customer whose ads are search, display and video ads
    customer = sandbox.merchant.accounts_of("google")[0]
    client = make_google()
    # when its tree is read
    entities = client.entities(customer.external_id)
    # then each ad carries its own creative (external id = ad id) of its type's format
    ads = {e.external_id: e for e in entities if e.level == "ad"}
    formats = {RSA: "text", RDA: "image", VRA: "video"}
    seen = set()
    for ad in sandbox.merchant.ads_of(customer.external_id):
        if ad.external_id not in ads:  # Performance Max ads are not in ad_group_ad
            continue
        copy = google_ad_copy(sandbox.merchant, ad)
        creative = ads[ad.external_id].creative
        assert creative is not None and creative.external_id == ad.external_id
        expected = "video" if copy.videos else formats.get(copy.ad_type, "unknown")
        assert creative.format == expected
        seen.add(copy.ad_type)
        if copy.ad_type == RSA:
            pinned = [h for h, p in zip(copy.headlines, copy.pins, strict=True) if p]
            rest = [h for h in copy.headlines if h not in pinned]
            assert creative.title == " | ".join(pinned + rest)
            assert creative.thumbnail_url is None
        if copy.ad_type == RDA:
            # and a display ad's preview is its first marketing image, a PNG of its size
            assert creative.thumbnail_url is not None
            image = httpx.get(creative.thumbnail_url)
            assert image.status_code == 200 and image.content.startswith(b"\x89PNG")
    assert {RSA, RDA} <= seen
    # and the images and videos were resolved by one query FROM asset, beside the four
    # tree queries (customer, campaigns, ad groups, ads)
    queries = [r.body["query"] for r in sandbox.requests.of("google", path="googleAds")]
    assert len(queries) == client.requests_made == 5
    assert sum(" FROM asset " in q for q in queries) == 1
    # and the synthetic campaign leaves have none
    assert all(e.creative is None for e in entities if e.external_id.startswith("c"))


def test_many_assets_are_resolved_in_batches(make_google, sandbox, monkeypatch):
    # given a client that resolves at most two asset names per query
    customer = sandbox.merchant.accounts_of("google")[0]
    whole = {
        e.external_id: e.creative
        for e in make_google().entities(customer.external_id)
        if e.level == "ad"
    }
    sandbox.requests.clear()
    monkeypatch.setattr(google_ads, "ASSETS_PER_QUERY", 2)
    # when the tree is read
    batched = {
        e.external_id: e.creative
        for e in make_google().entities(customer.external_id)
        if e.level == "ad"
    }
    # then the creatives are the same, from ceil(names / 2) asset queries
    assert batched == whole
    queries = [r.body["query"] for r in sandbox.requests.of("google", path="googleAds")]
    asked = [q.count("/assets/") for q in queries if " FROM asset " in q]
    assert len(asked) > 1 and all(n <= 2 for n in asked)
