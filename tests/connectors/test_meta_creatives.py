"""An ad's creative as Meta returns it on the ads edge, read into a record (format, texts,
preview link)."""

from __future__ import annotations

import pytest

from metricx.connectors.meta_creatives import CREATIVE_EXPANSION, creative_format, creative_record


def test_the_ads_edge_asks_the_creative_with_a_600_px_preview():
    # Graph returns only an object field's id unless sub-fields are asked, and a 64 px
    # thumbnail unless the modifiers ask for more
    assert CREATIVE_EXPANSION.startswith("creative.thumbnail_width(600).thumbnail_height(600){id,")
    assert "thumbnail_url" in CREATIVE_EXPANSION and "object_story_spec" in CREATIVE_EXPANSION


@pytest.mark.parametrize(
    ("creative", "expected"),
    [
        ({"object_type": "SHARE", "object_story_spec": {"video_data": {"video_id": "9"}}}, "video"),
        (
            {
                "object_type": "SHARE",
                "object_story_spec": {
                    "link_data": {"child_attachments": [{"name": "a"}, {"name": "b"}]}
                },
            },
            "carousel",
        ),
        (
            {"object_type": "SHARE", "object_story_spec": {"link_data": {"image_hash": "ab"}}},
            "image",
        ),
        ({"asset_feed_spec": {"videos": [{"video_id": "1"}]}}, "video"),
        ({"object_type": "PHOTO"}, "image"),
        ({"object_type": "VIDEO"}, "video"),
        ({"effective_object_story_id": "1_2", "object_type": "STATUS"}, "unknown"),
    ],
)
def test_the_format_comes_from_the_story_not_object_type_alone(creative, expected):
    assert creative_format(creative) == expected


def test_a_video_creative_reads_its_texts_from_the_story_when_the_top_fields_are_empty():
    # given a video creative built from an object_story_spec
    node = {
        "id": "120",
        "creative": {
            "id": "2385",
            "name": "UGC | Hook: unboxing | v2",
            "object_type": "SHARE",
            "thumbnail_url": "https://scontent.example/t.png?oe=6760C1A2",
            "object_story_spec": {
                "page_id": "10",
                "video_data": {
                    "video_id": "778",
                    "title": "Unbox the new drop",
                    "message": "Made to last.",
                    "call_to_action": {"type": "SHOP_NOW"},
                },
            },
        },
    }
    # when it is read
    record = creative_record(node)
    # then the story's texts, call to action and video fill the record
    assert record is not None
    assert (record.external_id, record.format, record.video_id) == ("2385", "video", "778")
    assert (record.title, record.body, record.call_to_action) == (
        "Unbox the new drop",
        "Made to last.",
        "SHOP_NOW",
    )
    assert record.thumbnail_url == "https://scontent.example/t.png?oe=6760C1A2"


@pytest.mark.parametrize("creative", [None, {}, {"name": "no id"}, "2385", {"id": 2385}])
def test_an_ad_without_a_readable_creative_has_none(creative):
    assert creative_record({"id": "1", "creative": creative}) is None
