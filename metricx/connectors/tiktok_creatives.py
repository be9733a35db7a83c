"""A TikTok ad's creative, read with the ad tree (docs/design.md "Creatives").

TikTok has no creative object: an ad names what it shows (Ad Get, GET /ad/get/; fields in
tiktok/tiktok-business-api-sdk java_sdk/docs/AdApi.md and bububa/tiktok-business
model/ad/ad.go). The creative is the library video (`video_id`), shared by every ad that
runs it; a Spark Ad promotes a creator's post instead (`tiktok_item_id`, `video_id` null);
an image or carousel ad shows `image_ids` (on a video ad `image_ids` is only its cover).

A video's name and cover come from GET /file/video/ad/info/ (`video_ids`: a JSON array of at
most 60, FileApi.md "Video ID list. Up to 60 IDs per request."; a video that cannot be used
for ads is left out of `list`, not an error, bububa model/file/video/ad_info.go). Its
`video_cover_url` is signed and lives 6 hours (model/file/video/video.go): the sync
downloads it at once. Spark posts' covers (/identity/video/info/) and images'
(/file/image/ad/info/) are not read: those creatives are stored without a preview.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from metricx.connectors.records import CreativeRecord

# Ad Get fields the creative needs (AdApi.md; model/ad/ad.go).
AD_FIELDS = ("ad_format", "video_id", "image_ids", "tiktok_item_id", "ad_text", "call_to_action")
VIDEOS_PER_CALL = 60
# ad_format values (bububa enum/ad_format.go; CAROUSEL is the deprecated spelling).
VIDEO_FORMATS = frozenset({"SINGLE_VIDEO"})
IMAGE_FORMATS = frozenset({"SINGLE_IMAGE"})
CAROUSEL_FORMATS = frozenset({"CAROUSEL_ADS", "CATALOG_CAROUSEL", "CAROUSEL"})


@dataclass(frozen=True)
class Video:
    """What /file/video/ad/info/ says of a library video."""

    file_name: str | None
    cover_url: str | None


def video_ids(ads: Iterable[dict[str, Any]]) -> list[str]:
    """The library videos the ads run, each once, in order."""
    seen: dict[str, None] = {}
    for ad in ads:
        video = _text(ad.get("video_id"))
        if video is not None:
            seen.setdefault(video, None)
    return list(seen)


def read_videos(rows: Any) -> dict[str, Video]:
    """{video id: Video} from /file/video/ad/info/'s `data.list`."""
    out: dict[str, Video] = {}
    for row in rows if isinstance(rows, list) else ():
        video = _text(row.get("video_id")) if isinstance(row, dict) else None
        if video is not None:
            out[video] = Video(_text(row.get("file_name")), _text(row.get("video_cover_url")))
    return out


def creative_id(ad: dict[str, Any]) -> str | None:
    """The creative's external id: the video id, else the Spark post id, else the image id
    (several images: a digest of them all in order, as their ids joined outgrow any id
    column)."""
    found = _text(ad.get("video_id")) or _text(ad.get("tiktok_item_id"))
    if found is not None:
        return found
    images = _images(ad)
    if len(images) == 1:
        return images[0]
    if images:
        return "images-" + hashlib.sha256(",".join(images).encode()).hexdigest()[:40]
    return None


def creative_record(ad: dict[str, Any], videos: dict[str, Video]) -> CreativeRecord | None:
    """The ad's creative, or None when it names no video, post or image."""
    external_id = creative_id(ad)
    if external_id is None:
        return None
    video_id = _text(ad.get("video_id"))
    video = videos.get(video_id or "", Video(None, None))
    return CreativeRecord(
        external_id=external_id,
        name=video.file_name or _text(ad.get("ad_name")) or external_id,
        format=creative_format(ad),
        title=None,  # a TikTok ad has no headline: its text is the body
        body=_text(ad.get("ad_text")),
        call_to_action=_text(ad.get("call_to_action")),
        video_id=video_id,
        thumbnail_url=video.cover_url,
    )


def creative_format(ad: dict[str, Any]) -> str:
    """video, image, carousel or unknown (a live stream, a format not known here)."""
    ad_format = _text(ad.get("ad_format"))
    if ad_format in VIDEO_FORMATS:
        return "video"
    if ad_format in IMAGE_FORMATS:
        return "image"
    if ad_format in CAROUSEL_FORMATS:
        return "carousel"
    if ad_format is not None:
        return "unknown"
    if ad.get("video_id") or ad.get("tiktok_item_id"):
        return "video"
    images = _images(ad)
    return "carousel" if len(images) > 1 else "image" if images else "unknown"


def _images(ad: dict[str, Any]) -> list[str]:
    raw = ad.get("image_ids")
    return [i for i in (_text(v) for v in raw) if i] if isinstance(raw, list) else []


def _text(value: Any) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # ids may arrive as numbers (Airbyte's ads schema says integer)
    return value.strip() or None if isinstance(value, str) else None
