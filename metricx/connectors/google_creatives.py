"""A Google ad's creative, read with the ad tree (docs/design.md "Creatives").

On Google the creative is the ad itself: a responsive ad's texts belong to it, and its images
and videos are `asset` resources it names (AdImageAsset / AdVideoAsset carry only
`customers/{cid}/assets/{id}`, googleads/google-ads-python v25 common/types/ad_asset.py).
So the ads query selects the creative fields of the ad types Metricx shows, and one more
query `FROM asset WHERE asset.resource_name IN (...)` resolves the names to image URLs
(`image_asset.full_size.url`) and YouTube ids (resources/types/asset.py, common/types/
asset_types.py). Field paths are the v22+ ones (AdGroupAd.ad oneofs, common/types/
ad_type_infos.py); only the populated oneof comes back, and empty fields are left out of the
REST JSON.

Texts: a responsive ad has several headlines and descriptions that Google combines. The
title is every headline joined by " | " (pinned ones first, HEADLINE_1 to HEADLINE_3, then
the rest in the advertiser's order), the body every description joined by a new line, so
nothing the advertiser wrote is lost and the first served headline leads.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from metricx.connectors.records import CreativeRecord

PREFIX = "ad_group_ad.ad."
# What the ads query selects beyond the ad's id, name, status and ad group (AdGroupAd.ad
# fields; ad_type_infos.py ResponsiveSearchAdInfo, ResponsiveDisplayAdInfo, ImageAdInfo,
# VideoResponsiveAdInfo, DemandGenMultiAssetAdInfo, DemandGenVideoResponsiveAdInfo).
CREATIVE_FIELDS = tuple(
    PREFIX + f
    for f in (
        "type",
        "responsive_search_ad.headlines",
        "responsive_search_ad.descriptions",
        "responsive_display_ad.marketing_images",
        "responsive_display_ad.square_marketing_images",
        "responsive_display_ad.headlines",
        "responsive_display_ad.long_headline",
        "responsive_display_ad.descriptions",
        "responsive_display_ad.youtube_videos",
        "responsive_display_ad.call_to_action_text",
        "image_ad.image_url",
        "image_ad.name",
        "video_responsive_ad.videos",
        "video_responsive_ad.headlines",
        "video_responsive_ad.descriptions",
        "video_responsive_ad.call_to_actions",
        "demand_gen_multi_asset_ad.marketing_images",
        "demand_gen_multi_asset_ad.square_marketing_images",
        "demand_gen_multi_asset_ad.headlines",
        "demand_gen_multi_asset_ad.descriptions",
        "demand_gen_multi_asset_ad.call_to_action_text",
        "demand_gen_video_responsive_ad.videos",
        "demand_gen_video_responsive_ad.headlines",
        "demand_gen_video_responsive_ad.descriptions",
    )
)
ASSET_FIELDS = (
    "asset.resource_name, asset.id, asset.type, asset.image_asset.full_size.url, "
    "asset.youtube_video_asset.youtube_video_id"
)
# What an asset resource name looks like (Asset.resource_name).
ASSET_NAME = re.compile(r"customers/\d+/assets/\d+")
# Resource names per asset query: GAQL has no documented IN-list limit, but a query is at
# most 128 KB ("Query text size", developers.google.com/google-ads/api/docs/best-practices/
# quotas); 500 names of ~40 characters stay far below it.
ASSETS_PER_QUERY = 500
# Ad types by what they show (AdTypeEnum, enums/types/ad_type.py). Any other type (product,
# hotel, app ads...) carries no creative of its own: format unknown.
TEXT_TYPES = frozenset(
    {"TEXT_AD", "EXPANDED_TEXT_AD", "RESPONSIVE_SEARCH_AD", "EXPANDED_DYNAMIC_SEARCH_AD", "CALL_AD"}
)
VIDEO_TYPES = frozenset(
    {
        "VIDEO_AD",
        "VIDEO_BUMPER_AD",
        "VIDEO_NON_SKIPPABLE_IN_STREAM_AD",
        "VIDEO_TRUEVIEW_IN_STREAM_AD",
        "VIDEO_RESPONSIVE_AD",
        "IN_FEED_VIDEO_AD",
        "DEMAND_GEN_VIDEO_RESPONSIVE_AD",
    }
)
# The ad oneof a type fills (camelCase, as the REST JSON spells it).
INFO_FIELDS = (
    "responsiveSearchAd",
    "responsiveDisplayAd",
    "imageAd",
    "videoResponsiveAd",
    "demandGenMultiAssetAd",
    "demandGenVideoResponsiveAd",
)
# ServedAssetFieldType values an RSA headline can be pinned to, in serving order.
HEADLINE_PINS = ("HEADLINE_1", "HEADLINE_2", "HEADLINE_3")


@dataclass(frozen=True)
class Asset:
    """An image asset's full-size URL or a YouTube video asset's video id."""

    image_url: str | None
    youtube_video_id: str | None


def asset_names(ads: Iterable[dict[str, Any]]) -> list[str]:
    """The asset resource names the ads' images and videos point at, each once, in order
    (only well-formed names: they are quoted into a query)."""
    seen: dict[str, None] = {}
    for ad in ads:
        for info in _infos(ad):
            for key in (
                "marketingImages",
                "squareMarketingImages",
                "youtubeVideos",
                "videos",
            ):
                for item in _list(info.get(key)):
                    name = item.get("asset") if isinstance(item, dict) else None
                    if isinstance(name, str) and ASSET_NAME.fullmatch(name):
                        seen.setdefault(name, None)
    return list(seen)


def asset_query(names: list[str]) -> str:
    """The GAQL that resolves asset resource names (at most ASSETS_PER_QUERY of them)."""
    quoted = ", ".join(f"'{n}'" for n in names)
    return f"SELECT {ASSET_FIELDS} FROM asset WHERE asset.resource_name IN ({quoted})"


def read_assets(rows: Iterable[dict[str, Any]]) -> dict[str, Asset]:
    """{resource name: Asset} from the rows of `asset_query`."""
    out: dict[str, Asset] = {}
    for row in rows:
        asset = row.get("asset") if isinstance(row, dict) else None
        if not isinstance(asset, dict) or not isinstance(asset.get("resourceName"), str):
            continue
        image = _object(_object(asset.get("imageAsset")).get("fullSize"))
        video = _object(asset.get("youtubeVideoAsset"))
        out[asset["resourceName"]] = Asset(
            _text(image.get("url")), _text(video.get("youtubeVideoId"))
        )
    return out


def creative_record(ad: dict[str, Any], assets: dict[str, Asset]) -> CreativeRecord | None:
    """The ad's creative (external id = the ad's id), or None when the row has no ad id."""
    ad_id = ad.get("id")
    if not isinstance(ad_id, str | int) or str(ad_id) == "":
        return None
    ad_type = str(ad.get("type") or "")
    info = next(iter(_infos(ad)), {})
    headlines = _texts(info.get("headlines"))
    long_headline = _texts([info.get("longHeadline")])
    descriptions = _texts(info.get("descriptions"))
    videos = [
        assets[n].youtube_video_id
        for n in _names(info, "youtubeVideos", "videos")
        if n in assets and assets[n].youtube_video_id
    ]
    images = [
        assets[n].image_url
        for n in _names(info, "marketingImages", "squareMarketingImages")
        if n in assets and assets[n].image_url
    ]
    image_url = _text(info.get("imageUrl"))
    thumbnail = images[0] if images else image_url
    name = _text(ad.get("name")) or _text(info.get("name"))
    title = " | ".join(headlines) or (long_headline[0] if long_headline else None)
    return CreativeRecord(
        external_id=str(ad_id),
        name=name or (headlines[0] if headlines else f"Ad {ad_id}"),
        format=_format(ad_type, info, bool(videos) or _has(info, "youtubeVideos", "videos")),
        title=title,
        body="\n".join(descriptions) or None,
        call_to_action=_text(info.get("callToActionText"))
        or next(iter(_texts(info.get("callToActions"))), None),
        video_id=videos[0] if videos else None,
        thumbnail_url=thumbnail,
    )


def _format(ad_type: str, info: dict[str, Any], has_video: bool) -> str:
    if ad_type in TEXT_TYPES:
        return "text"
    if ad_type in VIDEO_TYPES or has_video:
        return "video"
    if ad_type == "DEMAND_GEN_CAROUSEL_AD":
        return "carousel"
    if ad_type == "IMAGE_AD" or _has(info, "marketingImages", "squareMarketingImages"):
        return "image"
    return "unknown"


def _infos(ad: dict[str, Any]) -> list[dict[str, Any]]:
    return [info for key in INFO_FIELDS if (info := _object(ad.get(key)))]


def _names(info: dict[str, Any], *keys: str) -> list[str]:
    return [
        item["asset"]
        for key in keys
        for item in _list(info.get(key))
        if isinstance(item, dict) and isinstance(item.get("asset"), str)
    ]


def _has(info: dict[str, Any], *keys: str) -> bool:
    return any(_list(info.get(key)) for key in keys)


def _texts(items: Any) -> list[str]:
    """AdTextAsset texts, pinned headlines first in serving order (an unpinned text has no
    `pinnedField`), then the others as the advertiser listed them."""
    texts = [i for i in _list(items) if isinstance(i, dict) and _text(i.get("text"))]
    ranked = sorted(
        enumerate(texts),
        key=lambda p: (
            HEADLINE_PINS.index(p[1]["pinnedField"])
            if p[1].get("pinnedField") in HEADLINE_PINS
            else len(HEADLINE_PINS),
            p[0],
        ),
    )
    return [str(_text(t.get("text"))) for _, t in ranked]


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None
