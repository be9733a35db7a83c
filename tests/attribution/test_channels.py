"""Visits → channels (the default channel grouping a marketer expects)."""

from __future__ import annotations

import pytest

from metricx.attribution.channels import Visit, classify

SHOP = "https://shop.example/products/tee"


@pytest.mark.parametrize(
    ("visit", "channel", "provider"),
    [
        (
            Visit("facebook", "paid_social", f"{SHOP}?fbclid=IwAR1", "https://l.facebook.com/"),
            "paid_social",
            "meta",
        ),
        (
            Visit(None, None, f"{SHOP}?fbclid=IwAR1", "https://l.instagram.com/"),
            "paid_social",
            "meta",
        ),
        (Visit("instagram", "cpc", SHOP), "paid_social", "meta"),  # cpc on Meta is still social
        (Visit("google", "cpc", f"{SHOP}?gclid=Cj0"), "paid_search", "google"),
        (
            Visit(None, None, f"{SHOP}?gclid=Cj0", "https://www.google.com/"),
            "paid_search",
            "google",
        ),
        (Visit("bing", "cpc", SHOP), "paid_search", None),
        (Visit("klaviyo", "email", SHOP), "email", None),
        (Visit("newsletter", None, SHOP), "email", None),
        (Visit(None, None, SHOP, "https://www.google.com/", "SEO"), "organic_search", None),
        (Visit(None, None, SHOP, "https://duckduckgo.com/"), "organic_search", None),
        (Visit(None, None, SHOP, "https://www.instagram.com/"), "organic_social", None),
        (Visit(None, None, SHOP, "https://blog.example.org/gift-guide"), "referral", None),
        (Visit(None, None, "https://shop.example/"), "direct", None),
        (Visit(), "direct", None),
    ],
)
def test_each_visit_lands_in_the_channel_a_marketer_expects(visit, channel, provider):
    found = classify(visit)
    assert (found.channel, found.provider) == (channel, provider)
