"""A TikTok ad's creative: its library video (or Spark post, or images), named and covered by
File: video info in batches of at most 60 ids (docs/design.md "Creatives")."""

from __future__ import annotations

import hashlib
import math

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from metricx.connectors import tiktok
from metricx.connectors.errors import AuthError
from metricx.connectors.tiktok_creatives import (
    Video,
    creative_format,
    creative_id,
    creative_record,
    read_videos,
    video_ids,
)
from metricx.sandbox.ad_copy import tiktok_ad_copy

VIDEO_AD = {
    "ad_id": "1784000000001001",
    "ad_name": "Winter sale - UGC 9x16",
    "ad_format": "SINGLE_VIDEO",
    "video_id": "v10033g50000ctab1cfog65kq7r8abc0",
    "image_ids": ["ad-site-i18n-sg/202612045d0c5b7d1a2f4f1c9e8b"],
    "tiktok_item_id": None,
    "ad_text": "30% off everything until Sunday",
    "call_to_action": "SHOP_NOW",
}


def test_a_video_ad_is_its_library_video_named_and_covered_by_the_video_info():
    # given an ad running a library video (research19 B1 example) and the video's info
    videos = read_videos(
        [
            {
                "video_id": VIDEO_AD["video_id"],
                "file_name": "winter_ugc_9x16.mp4",
                "video_cover_url": "https://p16-sign-sg.tiktokcdn.com/abc~tplv-noop.image?x-expires=1",
            }
        ]
    )
    # when the ad is read
    record = creative_record(VIDEO_AD, videos)
    # then the creative is the video: its file name, the ad's text and CTA, the signed cover
    assert record is not None
    assert (record.external_id, record.video_id) == (VIDEO_AD["video_id"], VIDEO_AD["video_id"])
    assert (record.name, record.format, record.title) == ("winter_ugc_9x16.mp4", "video", None)
    assert (record.body, record.call_to_action) == ("30% off everything until Sunday", "SHOP_NOW")
    assert record.thumbnail_url == videos[VIDEO_AD["video_id"]].cover_url


def test_a_video_the_info_left_out_keeps_the_ad_name_and_no_cover():
    record = creative_record(VIDEO_AD, {})
    assert record is not None
    assert (record.name, record.thumbnail_url) == (VIDEO_AD["ad_name"], None)


def test_a_spark_ad_is_its_post_and_a_carousel_its_images():
    spark = {**VIDEO_AD, "video_id": None, "tiktok_item_id": "7312345678901234567"}
    assert creative_id(spark) == "7312345678901234567"
    assert creative_format(spark) == "video"
    single = {"ad_format": "SINGLE_IMAGE", "image_ids": ["img/1"]}
    assert (creative_id(single), creative_format(single)) == ("img/1", "image")
    carousel = {"ad_format": "CAROUSEL_ADS", "image_ids": ["img/1", "img/2", "img/3"]}
    digest = hashlib.sha256(b"img/1,img/2,img/3").hexdigest()[:40]
    assert (creative_id(carousel), creative_format(carousel)) == (f"images-{digest}", "carousel")
    assert creative_record({"ad_id": "1", "image_ids": []}, {}) is None


@pytest.mark.parametrize(
    ("ad", "expected"),
    [
        ({"ad_format": "CATALOG_CAROUSEL"}, "carousel"),
        ({"ad_format": "CAROUSEL"}, "carousel"),
        ({"ad_format": "LIVE_CONTENT", "video_id": "v1"}, "unknown"),
        ({"video_id": "v1"}, "video"),
        ({"image_ids": ["a", "b"]}, "carousel"),
        ({"image_ids": ["a"]}, "image"),
        ({}, "unknown"),
    ],
)
def test_the_format_follows_ad_format_then_what_the_ad_names(ad, expected):
    assert creative_format(ad) == expected


def test_numeric_ids_read_as_strings():
    assert creative_id({"tiktok_item_id": 7312345678901234567}) == "7312345678901234567"


@given(st.lists(st.sampled_from(["v1", "v2", "v3", None, "", " "]), max_size=30))
def test_each_video_is_asked_once_in_first_seen_order(values):
    ads = [{"video_id": v} for v in values]
    asked = video_ids(ads)
    assert asked == list(dict.fromkeys(v for v in values if v and v.strip()))


# ---- through the fake TikTok API -----------------------------------------------------------
def test_the_tree_read_gives_ads_their_shared_creatives_with_one_video_info_call(
    make_tiktok, tiktok_sandbox
):
    # given an advertiser whose ads share library videos
    merchant = tiktok_sandbox.merchant
    advertiser = merchant.accounts_of("tiktok")[0].external_id
    client = make_tiktok()
    # when its tree is read
    entities = client.entities(advertiser)
    ads = {e.external_id: e.creative for e in entities if e.level == "ad"}
    # then each ad carries the creative its copy names, one record per creative
    by_creative: dict[str, object] = {}
    for ad in merchant.ads_of(advertiser):
        copy = tiktok_ad_copy(merchant, ad)
        creative = ads[ad.external_id]
        assert creative is not None
        expected = copy.video.video_id if copy.video else copy.tiktok_item_id
        if expected is not None:
            assert creative.external_id == expected
        assert by_creative.setdefault(creative.external_id, creative) is creative
        # and a library video's creative is named after the file and has a signed cover
        if copy.video is not None:
            assert creative.name == copy.video.file_name
            assert creative.thumbnail_url is not None and "x-expires=" in creative.thumbnail_url
            assert httpx.get(creative.thumbnail_url).status_code == 200
        else:
            assert creative.thumbnail_url is None
    assert len(by_creative) < len(ads)
    # and the covers cost one File: video info call for all the videos
    calls = tiktok_sandbox.requests.of("tiktok", path="/file/video/ad/info/")
    assert len(calls) == 1
    assert client.warnings == set()


def test_more_videos_than_a_call_takes_are_asked_in_batches(
    make_tiktok, tiktok_sandbox, monkeypatch
):
    # given a client that asks at most two videos per call
    advertiser = tiktok_sandbox.merchant.accounts_of("tiktok")[0].external_id
    whole = {e.external_id: e.creative for e in make_tiktok().entities(advertiser)}
    tiktok_sandbox.requests.clear()
    monkeypatch.setattr(tiktok, "VIDEOS_PER_CALL", 2)
    # when the tree is read
    batched = {e.external_id: e.creative for e in make_tiktok().entities(advertiser)}
    # then the creatives are the same (covers signed at the same moment), asked two at a time
    assert batched == whole
    calls = tiktok_sandbox.requests.of("tiktok", path="/file/video/ad/info/")
    videos = {c.video_id for c in whole.values() if c is not None and c.video_id}
    assert len(calls) == math.ceil(len(videos) / 2)


def test_a_token_that_may_not_read_the_library_leaves_creatives_without_covers(
    make_tiktok, tiktok_sandbox
):
    # given File: video info refused for this token (40001)
    advertiser = tiktok_sandbox.merchant.accounts_of("tiktok")[0].external_id
    tiktok_sandbox.faults.add("tiktok", "no_permission", match="/file/video/")
    client = make_tiktok()
    # when the tree is read
    entities = client.entities(advertiser)
    # then the ads and their creatives are there, without covers, and the client says why
    creatives = [e.creative for e in entities if e.level == "ad"]
    assert creatives and all(c is not None and c.thumbnail_url is None for c in creatives)
    assert any("previews could not be read" in w for w in client.warnings)


def test_an_expired_token_on_the_video_info_still_fails_the_read(make_tiktok, tiktok_sandbox):
    advertiser = tiktok_sandbox.merchant.accounts_of("tiktok")[0].external_id
    tiktok_sandbox.faults.add("tiktok", "expired_token", match="/file/video/")
    with pytest.raises(AuthError):
        make_tiktok().entities(advertiser)


def test_read_videos_ignores_rows_it_cannot_use():
    assert read_videos([{"video_id": "v1"}, {"file_name": "x"}, "junk"]) == {
        "v1": Video(None, None)
    }
    assert read_videos(None) == {}
