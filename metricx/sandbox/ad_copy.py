"""What the sandbox merchant's Google and TikTok ads show: texts, images and videos.

Google: a creative is the ad itself (docs/design.md "Creatives"). The sandbox names Google ads
from `entities.GOOGLE_CREATIVES` whatever their campaign, so, as Meta's creative format follows
the ad's concept (creatives.CONCEPTS), an ad's type follows its name: "RSA | ..." ads are
responsive search ads, "PMax | Asset Group" ads responsive display ads with images, "Video |
15s Bumper" ads responsive display ads with a YouTube video, "Shopping | Product Group" ads
product ads (their content comes from the Merchant Center feed, not the ad). Campaigns that
can hold one kind only decide alone: a VIDEO campaign's ads are video responsive ads and a
SHOPPING campaign's product ads (Google Ads API AdTypeEnum; ad_type_infos.py in
googleads/google-ads-python v25). A customer keeps a small library of image assets that its
display ads share, as advertisers reuse assets.

TikTok: a creative is the ad's video (docs/design.md): the ads of one advertiser that run
the same concept (their name without " | vN") run the same library video, so many ads use one
creative; "Spark | ..." ads promote a creator's post (`tiktok_item_id`, no `video_id`) and
"Carousel | ..." ads are image carousels (`image_ids`), as Ad Get describes them
(bububa/tiktok-business model/ad/ad.go).

Everything is a pure function of the merchant's seed, computed once per account.
"""

from __future__ import annotations

import hashlib
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar, cast

from metricx.sandbox import rand
from metricx.sandbox.creatives import SandboxCreative, preview_png
from metricx.sandbox.entities import Ad
from metricx.sandbox.merchant import Merchant

T = TypeVar("T")

# ---- Google -------------------------------------------------------------------------------
RSA, RDA, VRA, PRODUCT = (
    "RESPONSIVE_SEARCH_AD",
    "RESPONSIVE_DISPLAY_AD",
    "VIDEO_RESPONSIVE_AD",
    "SHOPPING_PRODUCT_AD",
)
# RSA: 3-15 headlines of at most 30 characters, 2-4 descriptions of at most 90
# (ResponsiveSearchAdInfo, ad_type_infos.py).
HEADLINES = (
    "Northwind Outfitters",
    "Official Store",
    "Free Returns, Always",
    "Waterproof Jackets",
    "Built for the Trail",
    "New Season Layers",
    "Free Shipping Over $75",
    "4.8 Stars From 2,000 Hikers",
    "Rain Shells That Breathe",
    "Shop the Bestsellers",
)
DESCRIPTIONS = (
    "Waterproof, breathable and packs into its own pocket. Shop now.",
    "Tested in the worst weather we could find. Free returns for 60 days.",
    "Layer up for the weekend: new arrivals just landed.",
    "Everything for your next summit, shipped free over $75.",
)
LONG_HEADLINES = (
    "Rain shells, down and base layers built for the trail",
    "Everything 30% off until Sunday: shop the bestsellers",
)
# ResponsiveDisplayAdInfo.call_to_action_text and the CTA texts of video responsive ads.
DISPLAY_CALLS = ("Shop now", "Learn more", "Get offer")
IMAGE_POOL = 6  # image assets a customer's display ads share
VIDEO_POOL = 3  # YouTube video assets a customer's video ads share
# Image asset sizes Google asks for: 1.91:1 marketing and 1:1 square marketing images
# (ResponsiveDisplayAdInfo: marketing_images "1200x628", square_marketing_images "1200x1200").
LANDSCAPE, SQUARE = (1200, 628), (1200, 1200)
YOUTUBE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


@dataclass(frozen=True)
class GoogleAsset:
    """An asset of a Google Ads customer (Asset resource): an IMAGE (`width` x `height`) or a
    YOUTUBE_VIDEO (`youtube_video_id`, 11 characters)."""

    external_id: str
    customer_id: str
    type: str  # IMAGE | YOUTUBE_VIDEO
    name: str
    width: int
    height: int
    youtube_video_id: str | None
    youtube_video_title: str | None

    @property
    def resource_name(self) -> str:
        return f"customers/{self.customer_id}/assets/{self.external_id}"


@dataclass(frozen=True)
class GoogleAdCopy:
    """The creative of a Google ad: its type and what that type carries (ad_type_infos.py).
    `pins` gives each headline's pinned_field (None: not pinned)."""

    ad_type: str
    headlines: tuple[str, ...] = ()
    pins: tuple[str | None, ...] = ()
    descriptions: tuple[str, ...] = ()
    long_headline: str | None = None
    marketing_images: tuple[GoogleAsset, ...] = ()
    square_marketing_images: tuple[GoogleAsset, ...] = ()
    videos: tuple[GoogleAsset, ...] = ()
    call_to_action: str | None = None


@dataclass(frozen=True)
class _GoogleIndex:
    by_ad: dict[str, GoogleAdCopy]
    assets: dict[str, GoogleAsset]


# ---- TikTok -------------------------------------------------------------------------------
SINGLE_VIDEO, CAROUSEL_ADS = "SINGLE_VIDEO", "CAROUSEL_ADS"
TIKTOK_TEXTS = (
    "Rain-proof, tested on the trail. 30% off this week",
    "The jacket 2,000 hikers rate 4.8 stars",
    "POV: it rains and you stay dry",
    "New season layers just dropped",
    "Packs into its own pocket. Free shipping over $75",
)
# Ad Get `call_to_action` values a shop uses (TikTok's CTA enum; SHOP_NOW, LEARN_MORE, ...).
TIKTOK_CALLS = ("SHOP_NOW", "SHOP_NOW", "LEARN_MORE", "ORDER_NOW")
COVER = (720, 1280)  # 9:16, TikTok's recommended video size


@dataclass(frozen=True)
class TikTokVideo:
    """A video of an advertiser's asset library (File: video info)."""

    video_id: str
    advertiser_id: str
    file_name: str
    title: str  # what its cover shows
    duration: float  # seconds
    width: int
    height: int
    size: int  # bytes
    created_at: datetime


@dataclass(frozen=True)
class TikTokAdCopy:
    """The creative fields of a TikTok ad (Ad Get): a library video, a Spark post
    (`tiktok_item_id`, no video) or a carousel of images. `image_ids` of a video ad is its
    cover (bububa/tiktok-business model/ad/ad.go)."""

    ad_format: str  # SINGLE_VIDEO | CAROUSEL_ADS
    video: TikTokVideo | None
    tiktok_item_id: str | None
    image_ids: tuple[str, ...]
    ad_text: str
    call_to_action: str


@dataclass(frozen=True)
class _TikTokIndex:
    by_ad: dict[str, TikTokAdCopy]
    videos: dict[str, TikTokVideo]


_GOOGLE: weakref.WeakKeyDictionary[Merchant, dict[str, _GoogleIndex]] = weakref.WeakKeyDictionary()
_TIKTOK: weakref.WeakKeyDictionary[Merchant, dict[str, _TikTokIndex]] = weakref.WeakKeyDictionary()


def google_ad_copy(merchant: Merchant, ad: Ad) -> GoogleAdCopy:
    """What the Google ad shows."""
    return _google(merchant, ad.account_id).by_ad[ad.external_id]


def google_assets(merchant: Merchant, customer_id: str) -> dict[str, GoogleAsset]:
    """The customer's image and video assets by asset id."""
    return _google(merchant, customer_id).assets


def tiktok_ad_copy(merchant: Merchant, ad: Ad) -> TikTokAdCopy:
    """What the TikTok ad shows."""
    return _tiktok(merchant, ad.account_id).by_ad[ad.external_id]


def tiktok_videos(merchant: Merchant, advertiser_id: str) -> dict[str, TikTokVideo]:
    """The advertiser's library videos by video id."""
    return _tiktok(merchant, advertiser_id).videos


def image_png(asset: GoogleAsset) -> bytes:
    """The image asset's full-size picture."""
    return _png(asset.external_id, "image", asset.name, asset.width, asset.height)


def cover_png(video: TikTokVideo) -> bytes:
    """The video's cover at the video's size."""
    return _png(video.video_id, "video", video.title, video.width, video.height)


def _png(key: str, fmt: str, title: str, width: int, height: int) -> bytes:
    """Drawn as the Meta creatives' previews are: preview_png reads a creative's
    external_id, format and title only, so a stand-in with those three is enough."""
    return preview_png(cast(SandboxCreative, _Drawn(key, fmt, title)), width, height)


@dataclass(frozen=True)
class _Drawn:
    external_id: str
    format: str
    title: str


# ---- Google: building ---------------------------------------------------------------------
def _google(merchant: Merchant, customer_id: str) -> _GoogleIndex:
    per_account = _GOOGLE.setdefault(merchant, {})
    if customer_id not in per_account:
        per_account[customer_id] = _build_google(merchant, customer_id)
    return per_account[customer_id]


def _build_google(merchant: Merchant, customer_id: str) -> _GoogleIndex:
    seed = merchant.seed
    images = [
        GoogleAsset(
            external_id=rand.digits(seed, 11, "google-image-asset", customer_id, i),
            customer_id=customer_id,
            type="IMAGE",
            name=f"{HEADLINES[(i + 3) % len(HEADLINES)]} {'x'.join(map(str, size))}",
            width=size[0],
            height=size[1],
            youtube_video_id=None,
            youtube_video_title=None,
        )
        for i in range(IMAGE_POOL)
        for size in (LANDSCAPE if i % 3 else SQUARE,)
    ]
    videos = [
        GoogleAsset(
            external_id=rand.digits(seed, 11, "google-video-asset", customer_id, i),
            customer_id=customer_id,
            type="YOUTUBE_VIDEO",
            name="",
            width=0,
            height=0,
            youtube_video_id=_youtube_id(seed, customer_id, i),
            youtube_video_title=("Rain Test 15s", "Founder Story 30s", "Bumper 6s")[i % 3],
        )
        for i in range(VIDEO_POOL)
    ]
    landscape = [a for a in images if a.width != a.height]
    square = [a for a in images if a.width == a.height]
    by_ad = {
        ad.external_id: _google_copy(merchant, ad, landscape, square, videos)
        for ad in merchant.ads_of(customer_id)
    }
    return _GoogleIndex(by_ad, {a.external_id: a for a in (*images, *videos)})


def _google_copy(
    merchant: Merchant,
    ad: Ad,
    landscape: list[GoogleAsset],
    square: list[GoogleAsset],
    videos: list[GoogleAsset],
) -> GoogleAdCopy:
    u = rand.uniforms(merchant.seed, "google-copy", ad.external_id)
    channel = merchant.campaign(ad.campaign_id).objective
    concept = ad.name.rsplit(" | v", 1)[0]
    headlines = _several(u[0], HEADLINES, 3 + int(u[1] * 5))
    descriptions = _several(u[2], DESCRIPTIONS, 2)
    if channel == "SHOPPING" or (channel != "VIDEO" and concept.startswith("Shopping")):
        return GoogleAdCopy(PRODUCT)
    if channel == "VIDEO":
        return GoogleAdCopy(
            VRA,
            headlines=headlines[:1],
            descriptions=descriptions[:1],
            videos=(rand.pick(u[3], videos),),
            call_to_action=rand.pick(u[4], DISPLAY_CALLS),
        )
    if concept.startswith(("PMax", "Video")):
        return GoogleAdCopy(
            RDA,
            headlines=headlines[:3],
            descriptions=descriptions,
            long_headline=rand.pick(u[5], LONG_HEADLINES),
            marketing_images=tuple(_several(u[6], landscape, 1 + int(u[7] * 2))),
            square_marketing_images=(rand.pick(u[3], square),),
            videos=(rand.pick(u[4], videos),) if concept.startswith("Video") else (),
            call_to_action=rand.pick(u[5], DISPLAY_CALLS),
        )
    # An RSA pins its brand headline first about half the time (pinned_field HEADLINE_1).
    pins = tuple("HEADLINE_1" if i == 0 and u[3] < 0.5 else None for i in range(len(headlines)))
    return GoogleAdCopy(RSA, headlines=headlines, pins=pins, descriptions=descriptions)


def _several(u: float, options: Sequence[T], count: int) -> tuple[T, ...]:
    """`count` distinct options in rotation from where `u` lands."""
    start = int(u * len(options))
    return tuple(options[(start + i) % len(options)] for i in range(min(count, len(options))))


def _youtube_id(seed: int, *keys: object) -> str:
    """An 11-character YouTube video id (base64url alphabet)."""
    digest = hashlib.blake2b("|".join(map(str, (seed, "youtube", *keys))).encode()).digest()
    return "".join(YOUTUBE_ALPHABET[b % 64] for b in digest[:11])


# ---- TikTok: building ---------------------------------------------------------------------
def _tiktok(merchant: Merchant, advertiser_id: str) -> _TikTokIndex:
    per_account = _TIKTOK.setdefault(merchant, {})
    if advertiser_id not in per_account:
        per_account[advertiser_id] = _build_tiktok(merchant, advertiser_id)
    return per_account[advertiser_id]


def _build_tiktok(merchant: Merchant, advertiser_id: str) -> _TikTokIndex:
    seed = merchant.seed
    concepts: dict[str, list[Ad]] = {}
    for ad in merchant.ads_of(advertiser_id):
        concepts.setdefault(ad.name.rsplit(" | v", 1)[0], []).append(ad)
    by_ad: dict[str, TikTokAdCopy] = {}
    videos: dict[str, TikTokVideo] = {}
    for concept, ads in sorted(concepts.items()):
        u = rand.uniforms(seed, "tiktok-copy", advertiser_id, concept)
        text, call = rand.pick(u[0], TIKTOK_TEXTS), rand.pick(u[1], TIKTOK_CALLS)
        if concept.startswith("Carousel"):
            images = tuple(
                _image_id(seed, advertiser_id, concept, i) for i in range(3 + int(u[2] * 3))
            )
            copy = TikTokAdCopy(CAROUSEL_ADS, None, None, images, text, call)
        elif concept.startswith("Spark"):
            item = "7" + rand.digits(seed, 18, "tiktok-item", advertiser_id, concept)
            copy = TikTokAdCopy(SINGLE_VIDEO, None, item, (), text, call)
        else:
            video = TikTokVideo(
                video_id="v10033g50000" + _alnum(seed, 20, "tiktok-video", advertiser_id, concept),
                advertiser_id=advertiser_id,
                file_name=f"{concept.lower().replace(' | ', '_').replace(' ', '_')}_9x16.mp4",
                title=concept,
                duration=round(9 + 21 * u[3], 3),
                width=COVER[0],
                height=COVER[1],
                size=int(2_000_000 + 6_000_000 * u[4]),
                # Uploaded before the first ad that runs it.
                created_at=min(a.created_at for a in ads) - timedelta(minutes=10 + int(u[5] * 50)),
            )
            videos[video.video_id] = video
            cover = _image_id(seed, advertiser_id, concept, "cover")
            copy = TikTokAdCopy(SINGLE_VIDEO, video, None, (cover,), text, call)
        for ad in ads:
            by_ad[ad.external_id] = copy
    return _TikTokIndex(by_ad, videos)


def _alnum(seed: int, length: int, *keys: object) -> str:
    digest = hashlib.blake2b("|".join(map(str, (seed, *keys))).encode()).digest()
    return "".join("0123456789abcdefghijklmnopqrstuvwxyz"[b % 36] for b in digest[:length])


def _image_id(seed: int, *keys: object) -> str:
    """An image id as Ad Get returns them ("ad-site-i18n-sg/2026...", a storage key)."""
    return "ad-site-i18n-sg/" + _alnum(seed, 28, "tiktok-image", *keys)
