"""The fake Meta API serves the merchant's ad creatives as Graph does: through field expansion
on the ads edge, with signed, expiring thumbnail URLs on its own CDN route."""

from __future__ import annotations

import io
from datetime import date, timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from metricx.connectors.versions import DEFAULT_VERSIONS
from metricx.sandbox.creatives import preview_png
from metricx.sandbox.merchant import Merchant
from metricx.sandbox.servers import SandboxServers

META_VERSION = DEFAULT_VERSIONS["meta"]
FULL = (
    "id,name,title,body,object_type,call_to_action_type,thumbnail_url,image_url,image_hash,"
    "video_id,object_story_spec,asset_feed_spec,effective_object_story_id"
)


def _ads(sandbox: SandboxServers, http: httpx.Client, fields: str) -> httpx.Response:
    account = sandbox.merchant.accounts_of("meta")[0].external_id
    return http.get(
        f"{sandbox.env['META_GRAPH_URL']}/{META_VERSION}/act_{account}/ads",
        params={"fields": fields, "limit": "500"},
        headers={"Authorization": f"Bearer {sandbox.credentials.meta_access_token}"},
    )


def _png_size(body: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(body)) as image:
        assert image.format == "PNG"
        return image.size


def test_field_expansion_returns_only_the_asked_creative_fields(
    sandbox: SandboxServers, http: httpx.Client
) -> None:
    # Given the ads edge asked for two creative sub-fields
    response = _ads(sandbox, http, "id,creative{name,call_to_action_type}")
    # Then every ad carries exactly those, and the creative is the merchant's
    assert response.status_code == 200
    ads = response.json()["data"]
    assert ads
    for ad in ads:
        assert set(ad) == {"id", "creative"}
        assert set(ad["creative"]) == {"name", "call_to_action_type"}
        creative = sandbox.merchant.creative_of(ad["id"])
        assert creative is not None
        assert ad["creative"]["name"] == creative.name


def test_creative_alone_is_its_id(sandbox: SandboxServers, http: httpx.Client) -> None:
    # Given `creative` asked without sub-fields
    ads = _ads(sandbox, http, "id,name,creative").json()["data"]
    # Then Graph's default for an object field: its id only
    for ad in ads:
        creative = sandbox.merchant.creative_of(ad["id"])
        assert creative is not None
        assert ad["creative"] == {"id": creative.external_id}


def test_unknown_creative_field_is_refused_with_code_100(
    sandbox: SandboxServers, http: httpx.Client
) -> None:
    # When a sub-field AdCreative does not have is asked
    response = _ads(sandbox, http, "id,creative{id,headline}")
    # Then Graph's error 100 names it and the node type
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == 100
    assert error["message"] == (
        "(#100) Tried accessing nonexisting field (headline) on node type (AdCreative)"
    )


def test_malformed_fields_are_a_syntax_error(sandbox: SandboxServers, http: httpx.Client) -> None:
    # When the braces do not close
    response = _ads(sandbox, http, "id,creative{id,name")
    # Then Graph's 2500 syntax error
    assert response.status_code == 400
    assert response.json()["error"]["code"] == 2500
    assert "Syntax error" in response.json()["error"]["message"]


def test_existing_edge_fields_still_work_beside_the_creative(
    sandbox: SandboxServers, http: httpx.Client
) -> None:
    # Given plain fields and an unknown plain field
    ok = _ads(sandbox, http, "id,name,adset_id,effective_status")
    bad = _ads(sandbox, http, "id,nonsense")
    # Then the plain fields come back and the unknown one is refused as before
    assert ok.status_code == 200
    assert set(ok.json()["data"][0]) == {"id", "name", "adset_id", "effective_status"}
    assert bad.json()["error"]["message"] == (
        "(#100) Tried accessing nonexisting field (nonsense) on node type (Ad)"
    )


def test_ads_sharing_a_creative_return_the_same_id(
    sandbox: SandboxServers, http: httpx.Client
) -> None:
    # Given every ad with its creative id
    ads = _ads(sandbox, http, "id,creative").json()["data"]
    by_creative: dict[str, list[str]] = {}
    for ad in ads:
        by_creative.setdefault(ad["creative"]["id"], []).append(ad["id"])
    # Then some creatives run in several ads, and those ads agree with the merchant
    shared = [ids for ids in by_creative.values() if len(ids) > 1]
    assert shared
    for ids in shared:
        creatives = {sandbox.merchant.creative_of(i) for i in ids}
        assert len(creatives) == 1


def test_formats_agree_with_object_story_spec(sandbox: SandboxServers, http: httpx.Client) -> None:
    # Given every creative with all its fields
    ads = _ads(sandbox, http, f"id,creative{{{FULL}}}").json()["data"]
    seen = set()
    for ad in ads:
        served = ad["creative"]
        creative = sandbox.merchant.creative_of(ad["id"])
        assert creative is not None
        seen.add(creative.format)
        spec = served["object_story_spec"]
        link_data = spec.get("link_data", {})
        # Then video_data exactly for videos, child_attachments exactly for carousels
        assert ("video_data" in spec) == (creative.format == "video")
        assert ("child_attachments" in link_data) == (creative.format == "carousel")
        assert served["object_type"] == "SHARE"
        assert "asset_feed_spec" not in served  # a real field no sandbox creative has
        assert served["effective_object_story_id"] == f"{spec['page_id']}_{creative.post_id}"
        if creative.format == "video":
            assert served["video_id"] == spec["video_data"]["video_id"] == creative.video_id
            assert "image_hash" not in served
        elif creative.format == "carousel":
            cards = link_data["child_attachments"]
            assert [c["name"] for c in cards] == list(creative.cards)
            assert 3 <= len(cards) <= 5
        else:
            assert served["image_hash"] == link_data["image_hash"] == creative.image_hash
            assert len(served["image_hash"]) == 32
            assert "video_id" not in served
    assert seen == {"image", "video", "carousel"}


def test_nested_struct_fields_can_be_narrowed(sandbox: SandboxServers, http: httpx.Client) -> None:
    # When object_story_spec is itself expanded
    ads = _ads(sandbox, http, "id,creative{object_story_spec{page_id,video_data{video_id}}}")
    # Then only the asked parts of it come back
    for ad in ads.json()["data"]:
        spec = ad["creative"]["object_story_spec"]
        assert set(spec) <= {"page_id", "video_data"}
        if "video_data" in spec:
            assert set(spec["video_data"]) == {"video_id"}


def test_thumbnail_url_serves_a_png_of_the_asked_size(
    sandbox: SandboxServers, http: httpx.Client
) -> None:
    # Given the creative asked with thumbnail modifiers, and without
    sized = _ads(
        sandbox, http, "id,creative.thumbnail_width(600).thumbnail_height(400){thumbnail_url}"
    ).json()["data"][0]
    plain = _ads(sandbox, http, "id,creative{thumbnail_url}").json()["data"][0]
    # When the URLs are fetched without any Graph token
    big = http.get(sized["creative"]["thumbnail_url"])
    small = http.get(plain["creative"]["thumbnail_url"])
    # Then they are PNGs of 600x400 and of the 64 px default
    assert big.status_code == 200
    assert big.headers["content-type"] == "image/png"
    assert _png_size(big.content) == (600, 400)
    assert _png_size(small.content) == (64, 64)


def test_expired_thumbnail_url_is_refused(sandbox: SandboxServers, http: httpx.Client) -> None:
    # Given a thumbnail URL fetched now
    url = _ads(sandbox, http, "id,creative{thumbnail_url}").json()["data"][0]["creative"][
        "thumbnail_url"
    ]
    expiry = int(parse_qs(urlsplit(url).query)["oe"][0], 16)
    assert expiry == int((sandbox.now + sandbox.meta.thumbnail_ttl).timestamp())
    # When the clock moves past its expiry
    sandbox.now = sandbox.now + sandbox.meta.thumbnail_ttl + timedelta(minutes=1)
    response = http.get(url)
    # Then the CDN answers 403 like fbcdn
    assert response.status_code == 403
    assert response.text == "URL signature expired"


def test_tampered_thumbnail_url_is_refused(sandbox: SandboxServers, http: httpx.Client) -> None:
    # Given a valid URL whose size is changed by hand
    url = _ads(sandbox, http, "id,creative{thumbnail_url}").json()["data"][0]["creative"][
        "thumbnail_url"
    ]
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    tampered = parts._replace(query=urlencode({**query, "w": "2000"})).geturl()
    # Then it is refused while the original still loads
    assert http.get(tampered).status_code == 403
    assert http.get(url).status_code == 200


def test_preview_png_is_deterministic_and_small(merchant: Merchant) -> None:
    # Given one creative of each format
    creatives = merchant.creatives_of(merchant.accounts_of("meta")[0].external_id)
    for fmt in ("image", "video", "carousel"):
        creative = next(c for c in creatives if c.format == fmt)
        # When its preview is drawn twice
        first, second = preview_png(creative, 600, 600), preview_png(creative, 600, 600)
        # Then the bytes are the same, a 600x600 PNG well under 200 KB
        assert first == second
        assert _png_size(first) == (600, 600)
        assert len(first) < 200_000


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(min_value=0, max_value=10_000), ads=st.integers(min_value=1, max_value=30))
def test_every_meta_ad_has_a_creative_of_its_own_account(seed: int, ads: int) -> None:
    # Given a small merchant from any seed
    merchant = Merchant(
        seed, ads=ads, campaigns=4, days=3, orders_per_day=2, today=date(2026, 1, 5)
    )
    for account in merchant.accounts:
        used = set()
        for ad in merchant.ads_of(account.external_id):
            creative = merchant.creative_of(ad.external_id)
            # Then a Meta ad has a creative of the same account, other ads none
            if account.provider != "meta":
                assert creative is None
                continue
            assert creative is not None
            assert creative.account_id == account.external_id
            assert creative.created_at < ad.created_at
            used.add(creative.external_id)
        # And creatives_of lists exactly the creatives its ads use
        listed = [c.external_id for c in merchant.creatives_of(account.external_id)]
        assert len(listed) == len(set(listed))
        assert set(listed) == used
