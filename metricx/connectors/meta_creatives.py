"""An ad's creative as the Meta Marketing API returns it on the ads edge.

The creative is an object field of the ad: Graph returns only its id unless sub-fields are
asked in braces, and its `thumbnail_url` is 64 px unless `thumbnail_width`/`thumbnail_height`
modifiers ask for more (developers.facebook.com/docs/marketing-api/reference/ad-creative,
"thumbnail_url", and Graph API "Field expansion"). The URL is a signed fbcdn link that expires
(its `oe=` parameter): the sync downloads it at once.

The format takes more than `object_type`: link, video and carousel ads built from an
`object_story_spec` are all SHARE (AdCreative `object_type` enum, facebook-python-business-sdk
adcreative.py), so the story spec (video_data, link_data.child_attachments) and the asset
feed decide, as docs/design.md "Creatives" says.
"""

from __future__ import annotations

from typing import Any

from metricx.connectors.records import CreativeRecord

#: Side of the preview asked for (px): a card in a grid, never the 64 px default.
THUMBNAIL_SIDE = 600
#: Sub-fields read per creative (AdCreative reference; SDK adcreative.py `_field_types`).
CREATIVE_FIELDS = (
    "id,name,title,body,object_type,call_to_action_type,thumbnail_url,image_url,image_hash,"
    "video_id,object_story_spec,asset_feed_spec,effective_object_story_id"
)
#: The ads edge's `creative` field with its modifiers and sub-fields (field expansion).
CREATIVE_EXPANSION = (
    f"creative.thumbnail_width({THUMBNAIL_SIDE}).thumbnail_height({THUMBNAIL_SIDE})"
    f"{{{CREATIVE_FIELDS}}}"
)


def creative_record(node: Any) -> CreativeRecord | None:
    """The ad node's `creative` as a record, or None when the ad has none (or only its id
    was returned: nothing to show)."""
    creative = node.get("creative") if isinstance(node, dict) else None
    if not isinstance(creative, dict) or not isinstance(creative.get("id"), str):
        return None
    story = _object(creative.get("object_story_spec"))
    link, video = _object(story.get("link_data")), _object(story.get("video_data"))
    return CreativeRecord(
        external_id=creative["id"],
        name=_text(creative.get("name")) or "",
        format=creative_format(creative),
        title=_text(creative.get("title")) or _text(video.get("title")) or _text(link.get("name")),
        body=_text(creative.get("body"))
        or _text(video.get("message"))
        or _text(link.get("message")),
        call_to_action=_text(creative.get("call_to_action_type"))
        or _text(_object(video.get("call_to_action")).get("type"))
        or _text(_object(link.get("call_to_action")).get("type")),
        video_id=_text(creative.get("video_id")) or _text(video.get("video_id")),
        thumbnail_url=_text(creative.get("thumbnail_url")),
    )


def creative_format(creative: dict[str, Any]) -> str:
    """image, video, carousel or unknown (an ad promoting a post whose kind is not said)."""
    story = _object(creative.get("object_story_spec"))
    feed = _object(creative.get("asset_feed_spec"))
    link = _object(story.get("link_data"))
    object_type = creative.get("object_type")
    cards = link.get("child_attachments")
    if story.get("video_data") or object_type == "VIDEO":
        return "video"
    if isinstance(cards, list) and len(cards) >= 2:
        return "carousel"
    if feed.get("videos"):
        return "video"
    if feed.get("carousels"):
        return "carousel"
    if feed.get("images") or link.get("image_hash") or link.get("picture"):
        return "image"
    if story.get("photo_data") or object_type == "PHOTO":
        return "image"
    if creative.get("video_id"):
        return "video"
    if creative.get("image_hash") or creative.get("image_url"):
        return "image"
    return "unknown"


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None
