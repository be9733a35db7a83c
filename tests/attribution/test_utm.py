"""UTMs → entities by id, by name or either, as the workspace's convention says."""

from __future__ import annotations

import pytest

from metricx.attribution.utm import EntityIndex, Node

# Two Meta campaigns with an ad set and an ad each; the ad names repeat across campaigns.
ENTITIES = [
    (Node(10, "campaign", "meta", 10), "c-111", "Prospecting US"),
    (Node(11, "adset", "meta", 10), "s-111", "Lookalike 1%"),
    (Node(12, "ad", "meta", 10), "a-111", "UGC video"),
    (Node(20, "campaign", "meta", 20), "c-222", "Retargeting"),
    (Node(21, "adset", "meta", 20), "s-222", "Cart viewers"),
    (Node(22, "ad", "meta", 20), "a-222", "UGC video"),
    (Node(30, "campaign", "google", 30), "g-333", "Brand search"),
]


def index(convention: str) -> EntityIndex:
    return EntityIndex(ENTITIES, convention)


def utms(campaign=None, term=None, content=None) -> dict:
    return {"utm_campaign": campaign, "utm_term": term, "utm_content": content}


def test_ids_map_to_the_finest_level_tagged():
    assert index("id").match(utms("c-111", "s-111", "a-111")) == 12
    assert index("id").match(utms("c-111", "s-111")) == 11
    assert index("id").match(utms("c-222")) == 20


def test_names_match_case_and_space_insensitively():
    assert index("name").match(utms("  prospecting   us", None, "ugc VIDEO")) == 12


def test_a_name_shared_by_two_ads_resolves_only_inside_its_campaign():
    # Given two ads called "UGC video" in different campaigns
    # When only the ad name is tagged, then it is ambiguous: no guess
    assert index("name").match(utms(content="UGC video")) is None
    # When the campaign is tagged too, the ad of that campaign is found
    assert index("name").match(utms("Retargeting", None, "UGC video")) == 22


def test_a_finer_tag_that_contradicts_the_campaign_is_ignored():
    assert index("id").match(utms("c-111", None, "a-222")) == 10


@pytest.mark.parametrize(
    ("convention", "expected"), [("id", None), ("name", 30), ("id_or_name", 30)]
)
def test_the_workspace_convention_decides_what_counts_as_a_match(convention, expected):
    assert index(convention).match(utms("Brand search")) == expected


def test_the_visits_platform_restricts_the_candidates():
    assert index("id_or_name").match(utms("Brand search"), provider="meta") is None
    assert index("id_or_name").match(utms("Brand search"), provider="google") == 30


def test_untagged_visits_match_nothing():
    assert index("id_or_name").match(utms()) is None
