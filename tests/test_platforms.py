"""The platform registry: one entry per platform, read by every layer."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metricx.attribution.channels import Visit, classify
from metricx.platforms import (
    AD_PROVIDERS,
    EMAIL_PROVIDERS,
    OAUTH_PROVIDERS,
    PLATFORMS,
    PROVIDERS,
    account_examples,
    display_name,
    listing,
)
from metricx.semantic.query import PROVIDERS as QUERY_PROVIDERS
from metricx.vocabulary import AD_PROVIDERS as VOCABULARY_AD_PROVIDERS

ROOT = Path(__file__).resolve().parents[1]


def test_every_layer_lists_the_registry_s_platforms():
    # Given the registry
    # Then the vocabulary and the semantic layer list exactly its ad platforms
    assert VOCABULARY_AD_PROVIDERS == AD_PROVIDERS
    assert QUERY_PROVIDERS == AD_PROVIDERS
    # And every ad platform says which channel its paid visits belong to and how to spot them
    for key in AD_PROVIDERS:
        assert PLATFORMS[key].channel in {"paid_social", "paid_search"}
        assert PLATFORMS[key].click_ids


def test_each_example_account_is_accepted_as_it_is_typed():
    # Given the example each platform shows in the connection form
    for key, platform in PLATFORMS.items():
        # Then it is an account id the platform accepts
        assert platform.account_id(platform.account_example) is not None, key
    assert account_examples().count(" · ") == len(PROVIDERS) - 1


@pytest.mark.parametrize(
    ("provider", "typed", "expected"),
    [
        ("meta", "act_1234567", "1234567"),
        ("google", "123-456-7890", "1234567890"),
        ("shopify", "HTTPS://My-Store.myshopify.com/", "my-store.myshopify.com"),
        ("google", "123-456", None),
        ("meta", "act_12a", None),
        ("shopify", "my-store.com", None),
        ("klaviyo", "AbC123", "AbC123"),
        ("klaviyo", "pk_0123456789abcdef", None),  # a private key is not the account id
    ],
)
def test_account_ids_are_normalised_or_refused(provider, typed, expected):
    assert PLATFORMS[provider].account_id(typed) == expected


@given(st.text(max_size=40))
def test_no_typed_text_breaks_account_normalisation(typed):
    # Given anything a person may type, each platform answers an id matching its rule or None
    for platform in PLATFORMS.values():
        found = platform.account_id(typed)
        assert found is None or re.fullmatch(platform.account_pattern, found)


def test_an_email_platform_is_neither_an_ad_platform_nor_connected_by_signing_in():
    # Given the email platforms
    for key in EMAIL_PROVIDERS:
        # Then they spend nothing, sign in with no OAuth app, and their links are email's
        assert key not in AD_PROVIDERS and key not in OAUTH_PROVIDERS
        for source in PLATFORMS[key].utm_sources:
            visit = Visit(utm_source=source, landing_page="https://shop.example/")
            assert classify(visit).channel == "email"


def test_names_read_as_a_sentence():
    assert listing(("meta",)) == "Meta"
    assert listing(("meta", "google"), "and") == "Meta and Google Ads"
    assert listing(("meta", "google", "shopify"), short=True) == "Meta, Google or Shopify"
    assert display_name("unknown") == "unknown"


@pytest.mark.parametrize("key", AD_PROVIDERS)
def test_a_platform_s_click_id_makes_a_paid_visit_of_its_channel(key):
    # Given a landing page carrying the platform's click id and no UTM tags
    platform = PLATFORMS[key]
    visit = Visit(landing_page=f"https://shop.example/p?{platform.click_ids[0]}=abc")
    # When it is classified
    found = classify(visit)
    # Then it is a paid visit of the platform, in its channel
    assert (found.channel, found.provider) == (platform.channel, key)


def test_pages_name_no_ad_platform():
    # Given the pages and their UI helpers
    files = [*ROOT.glob("views/*.py"), *ROOT.glob("ui/*.py"), ROOT / "app.py"]
    # Then none of them spells an ad platform's key in code (the registry does), so adding
    # a platform changes no page
    offending = []
    for path in files:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            for key in AD_PROVIDERS:
                if re.search(rf"""==\\s*["']{key}["']|["']{key}["']\\s*[:,)]""", code):
                    offending.append(f"{path.name}:{number}: {line.strip()}")
    assert offending == []
