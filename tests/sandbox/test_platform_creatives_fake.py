"""The fake Google Ads and TikTok APIs serve the merchant's ad creatives as the live ones do:
Google's ad oneofs with asset references resolved FROM asset, TikTok's ad fields and File:
video info (at most 60 ids) with signed cover links that expire after 6 hours."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from gaql_calls import rows_of, search_stream
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from metricx.sandbox.ad_copy import (
    RDA,
    RSA,
    google_ad_copy,
    google_assets,
    tiktok_ad_copy,
    tiktok_videos,
)
from metricx.sandbox.merchant import Merchant
from metricx.sandbox.servers import SandboxServers

TODAY = date(2025, 11, 25)
NOW = datetime(2025, 11, 25, 17, 42, 13, tzinfo=UTC)
KNOBS = {"seed": 11, "ads": 48, "campaigns": 12, "days": 40, "orders_per_day": 10}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServers]:
    with SandboxServers(now=NOW, today=TODAY, tiktok_accounts=1, **KNOBS) as servers:
        yield servers


@pytest.fixture(autouse=True)
def _clean(sandbox: SandboxServers) -> Iterator[None]:
    sandbox.reset()
    sandbox.now = NOW
    yield
    sandbox.reset()
    sandbox.now = NOW


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:
        yield client


def _png(body: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(body)) as image:
        assert image.format == "PNG"
        return image.size


# ---- Google -------------------------------------------------------------------------------
def _query_error(response: httpx.Response) -> str:
    assert response.status_code == 400
    [failure] = response.json()["error"]["details"]
    return failure["errors"][0]["errorCode"]["queryError"]


CREATIVE_QUERY = (
    "SELECT ad_group_ad.ad.id, ad_group_ad.ad.type, "
    "ad_group_ad.ad.responsive_search_ad.headlines, "
    "ad_group_ad.ad.responsive_search_ad.descriptions, "
    "ad_group_ad.ad.responsive_display_ad.marketing_images, "
    "ad_group_ad.ad.responsive_display_ad.long_headline, "
    "ad_group_ad.ad.image_ad.image_url "
    "FROM ad_group_ad"
)


def test_an_ad_answers_only_its_own_oneof_with_asset_names_not_urls(sandbox, http):
    # when the ads are asked their creative fields
    rows = rows_of(search_stream(sandbox, http, CREATIVE_QUERY))
    merchant = sandbox.merchant
    kinds = set()
    for row in rows:
        ad = row["adGroupAd"]["ad"]
        copy = google_ad_copy(merchant, merchant.ad(ad["id"]))
        assert ad["type"] == copy.ad_type
        kinds.add(copy.ad_type)
        # then a search ad has texts only, pins only where pinned (ad_asset.py AdTextAsset)
        if copy.ad_type == RSA:
            assert set(ad) == {"resourceName", "id", "type", "responsiveSearchAd"}
            headlines = ad["responsiveSearchAd"]["headlines"]
            assert [h["text"] for h in headlines] == list(copy.headlines)
            assert [h.get("pinnedField") for h in headlines] == list(copy.pins)
        # and a display ad names its images as asset resources, without any URL
        if copy.ad_type == RDA:
            display = ad["responsiveDisplayAd"]
            assert set(display) == {"marketingImages", "longHeadline"}
            assert display["marketingImages"] == [
                {"asset": a.resource_name} for a in copy.marketing_images
            ]
            assert display["longHeadline"] == {"text": copy.long_headline}
        # and the unset oneof (image_ad) never shows
        assert "imageAd" not in ad
    assert {RSA, RDA} <= kinds


def test_ads_can_be_filtered_by_type(sandbox, http):
    # when only responsive search ads are asked (Google's get_responsive_search_ads.py example)
    rows = rows_of(
        search_stream(
            sandbox,
            http,
            "SELECT ad_group_ad.ad.id, ad_group_ad.ad.responsive_search_ad.headlines "
            "FROM ad_group_ad WHERE ad_group_ad.ad.type = RESPONSIVE_SEARCH_AD",
        )
    )
    # then every row is one, with its headlines
    merchant = sandbox.merchant
    assert rows
    for row in rows:
        ad = row["adGroupAd"]["ad"]
        assert google_ad_copy(merchant, merchant.ad(ad["id"])).ad_type == RSA
        assert ad["responsiveSearchAd"]["headlines"]


def test_assets_resolve_to_image_urls_and_youtube_ids(sandbox, http):
    # given two of the customer's assets, an image and a YouTube video
    customer = sandbox.merchant.accounts_of("google")[0].external_id
    assets = list(google_assets(sandbox.merchant, customer).values())
    image = next(a for a in assets if a.type == "IMAGE")
    video = next(a for a in assets if a.type == "YOUTUBE_VIDEO")
    # when they are asked FROM asset by resource name
    rows = rows_of(
        search_stream(
            sandbox,
            http,
            "SELECT asset.resource_name, asset.id, asset.type, asset.image_asset.full_size.url, "
            "asset.image_asset.full_size.width_pixels, "
            "asset.youtube_video_asset.youtube_video_id FROM asset "
            f"WHERE asset.resource_name IN ('{image.resource_name}', '{video.resource_name}')",
        )
    )
    # then exactly those come back, int64 as strings (asset_types.py ImageDimension)
    by_name = {r["asset"]["resourceName"]: r["asset"] for r in rows}
    assert set(by_name) == {image.resource_name, video.resource_name}
    assert by_name[video.resource_name]["youtubeVideoAsset"] == {
        "youtubeVideoId": video.youtube_video_id
    }
    full = by_name[image.resource_name]["imageAsset"]["fullSize"]
    assert full["widthPixels"] == str(image.width)
    # and the image's URL serves the picture at its size, without credentials
    response = http.get(full["url"])
    assert response.status_code == 200
    assert _png(response.content) == (image.width, image.height)


@pytest.mark.parametrize(
    ("query", "code"),
    [
        # a field the API does not have
        (
            "SELECT ad_group_ad.ad.responsive_search_ad.headline FROM ad_group_ad",
            "UNRECOGNIZED_FIELD",
        ),
        # asset is not a resource ad_group_ad rows can join
        (
            "SELECT ad_group_ad.ad.id, asset.image_asset.full_size.url FROM ad_group_ad",
            "PROHIBITED_RESOURCE_TYPE_IN_SELECT_CLAUSE",
        ),
        # the fake serves no metrics FROM asset
        (
            "SELECT asset.id, metrics.impressions FROM asset",
            "PROHIBITED_METRIC_IN_SELECT_OR_WHERE_CLAUSE",
        ),
    ],
)
def test_queries_the_api_would_refuse_are_refused(sandbox, http, query, code):
    assert _query_error(search_stream(sandbox, http, query)) == code


def test_image_links_can_be_made_to_expire(sandbox, http, monkeypatch):
    # given a fake told that image links expire after an hour (undocumented by Google)
    monkeypatch.setattr(sandbox.google, "image_ttl", timedelta(hours=1))
    customer = sandbox.merchant.accounts_of("google")[0].external_id
    image = next(a for a in google_assets(sandbox.merchant, customer).values() if a.type == "IMAGE")
    [row] = rows_of(
        search_stream(
            sandbox,
            http,
            "SELECT asset.image_asset.full_size.url FROM asset "
            f"WHERE asset.resource_name = '{image.resource_name}'",
        )
    )
    url = row["asset"]["imageAsset"]["fullSize"]["url"]
    # then the link works within the hour and is refused after it
    assert http.get(url).status_code == 200
    sandbox.now = NOW + timedelta(hours=1, seconds=1)
    assert http.get(url).status_code == 403
    assert http.get(url.split("?")[0]).status_code == 403


def test_an_unknown_image_is_not_found(sandbox, http):
    base = sandbox.env["GOOGLE_ADS_URL"]
    assert http.get(f"{base}/simgad/1").status_code == 404


# ---- TikTok -------------------------------------------------------------------------------
def _tiktok(sandbox: SandboxServers, http: httpx.Client, path: str, **params) -> dict:
    response = http.get(
        f"{sandbox.env['TIKTOK_API_URL']}/open_api/v1.3/{path}",
        params=params,
        headers={"Access-Token": sandbox.credentials.tiktok_access_token},
    )
    assert response.status_code == 200
    return response.json()


@pytest.fixture
def advertiser(sandbox) -> str:
    return sandbox.merchant.accounts_of("tiktok")[0].external_id


def test_ads_carry_their_video_post_or_images(sandbox, http, advertiser):
    # when the ads are asked their creative fields
    body = _tiktok(
        sandbox,
        http,
        "ad/get/",
        advertiser_id=advertiser,
        page_size=1000,
        fields='["ad_id","ad_format","video_id","image_ids","tiktok_item_id","ad_text",'
        '"call_to_action"]',
    )
    assert body["code"] == 0
    formats = set()
    for node in body["data"]["list"]:
        copy = tiktok_ad_copy(sandbox.merchant, sandbox.merchant.ad(node["ad_id"]))
        formats.add((node["ad_format"], node["video_id"] is None, node["tiktok_item_id"] is None))
        # then a video ad names its library video and cover, a Spark Ad its post (video null)
        assert node["video_id"] == (copy.video.video_id if copy.video else None)
        assert node["tiktok_item_id"] == copy.tiktok_item_id
        assert node["image_ids"] == list(copy.image_ids)
        assert (node["ad_text"], node["call_to_action"]) == (copy.ad_text, copy.call_to_action)
    assert ("SINGLE_VIDEO", False, True) in formats  # library video
    assert ("SINGLE_VIDEO", True, False) in formats  # Spark Ad


def test_an_ad_field_tiktok_does_not_have_is_refused(sandbox, http, advertiser):
    body = _tiktok(sandbox, http, "ad/get/", advertiser_id=advertiser, fields='["ad_headline"]')
    assert body["code"] == 40002 and "ad_headline" in body["message"]


def _video_info(sandbox, http, advertiser, ids) -> dict:
    return _tiktok(
        sandbox, http, "file/video/ad/info/", advertiser_id=advertiser, video_ids=json.dumps(ids)
    )


def test_video_info_takes_at_most_60_ids(sandbox, http, advertiser):
    known = list(tiktok_videos(sandbox.merchant, advertiser))
    # when 61 ids are asked (FileApi.md: "Up to 60 IDs per request.")
    too_many = _video_info(sandbox, http, advertiser, (known * 61)[:61])
    # then the call is refused as an invalid parameter; 60 are answered
    assert too_many["code"] == 40002 and "60" in too_many["message"]
    assert _video_info(sandbox, http, advertiser, (known * 60)[:60])["code"] == 0
    # and no ids at all, or none given, are refused too
    assert _video_info(sandbox, http, advertiser, [])["code"] == 40002
    missing = _tiktok(sandbox, http, "file/video/ad/info/", advertiser_id=advertiser)
    assert missing["code"] == 40002


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_video_info_answers_the_known_ids_asked_and_ignores_the_rest(
    sandbox, http, advertiser, data
):
    known = list(tiktok_videos(sandbox.merchant, advertiser))
    pool = [*known, "v10033g50000unknownunknownunknown", "not-a-video"]
    asked = data.draw(st.lists(st.sampled_from(pool), min_size=1, max_size=60))
    body = _video_info(sandbox, http, advertiser, asked)
    assert body["code"] == 0
    answered = [v["video_id"] for v in body["data"]["list"]]
    assert answered == [v for v in dict.fromkeys(asked) if v in known]


def test_a_cover_link_works_for_6_hours_then_answers_403(sandbox, http, advertiser):
    # given a video's signed cover link
    video = next(iter(tiktok_videos(sandbox.merchant, advertiser).values()))
    [row] = _video_info(sandbox, http, advertiser, [video.video_id])["data"]["list"]
    url = row["video_cover_url"]
    expires = int(parse_qs(urlsplit(url).query)["x-expires"][0])
    assert expires == int((NOW + timedelta(hours=6)).timestamp())
    # when it is fetched at once, without an access token
    first = http.get(url)
    # then it is the cover at the video's size
    assert first.status_code == 200
    assert _png(first.content) == (video.width, video.height) == (row["width"], row["height"])
    # and six hours and a second later the CDN refuses it
    sandbox.now = NOW + timedelta(hours=6, seconds=1)
    assert http.get(url).status_code == 403


def test_a_tampered_cover_link_is_refused(sandbox, http, advertiser):
    video = next(iter(tiktok_videos(sandbox.merchant, advertiser).values()))
    [row] = _video_info(sandbox, http, advertiser, [video.video_id])["data"]["list"]
    parts = urlsplit(row["video_cover_url"])
    query = parse_qs(parts.query)
    later = int(query["x-expires"][0]) + 86_400
    forged = parts._replace(
        query=urlencode({"x-expires": later, "x-signature": query["x-signature"][0]})
    ).geturl()
    assert http.get(forged).status_code == 403


def test_a_video_is_in_the_library_only_from_its_upload(sandbox, http, advertiser):
    # given the clock before the first upload
    videos = tiktok_videos(sandbox.merchant, advertiser)
    first = min(v.created_at for v in videos.values())
    sandbox.now = first - timedelta(minutes=1)
    # then File: video info knows none of them yet
    assert _video_info(sandbox, http, advertiser, list(videos))["data"]["list"] == []


# ---- the sandbox data ------------------------------------------------------------------------
def test_the_copy_is_a_pure_function_of_the_seed_and_ads_of_a_concept_share_a_video():
    one = Merchant(seed=3, ads=24, campaigns=6, days=20, tiktok_accounts=1, today=TODAY)
    two = Merchant(seed=3, ads=24, campaigns=6, days=20, tiktok_accounts=1, today=TODAY)
    for account in one.accounts_of("google") + one.accounts_of("tiktok"):
        for ad in one.ads_of(account.external_id):
            if ad.provider == "google":
                assert google_ad_copy(one, ad) == google_ad_copy(two, two.ad(ad.external_id))
            else:
                assert tiktok_ad_copy(one, ad) == tiktok_ad_copy(two, two.ad(ad.external_id))
    advertiser = one.accounts_of("tiktok")[0].external_id
    by_concept: dict[str, set] = {}
    for ad in one.ads_of(advertiser):
        copy = tiktok_ad_copy(one, ad)
        by_concept.setdefault(ad.name.rsplit(" | v", 1)[0], set()).add(
            copy.video.video_id if copy.video else copy.tiktok_item_id or copy.image_ids
        )
    assert all(len(ids) == 1 for ids in by_concept.values())
