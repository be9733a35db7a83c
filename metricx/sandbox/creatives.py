"""The creatives behind the sandbox merchant's Meta ads, and their generated previews.

On Meta an ad points at a creative (`creative={"creative_id": ...}`, Meta's creative guide)
and nothing stops several ads from pointing at the same one: an ad duplicated into another ad
set keeps its creative. Here the ads of one campaign that run the same concept (their name
without the " | vN" suffix) share a creative, and some concepts run a second variant; that
gives roughly two creatives for every three ads. Everything is a pure function of the seed.

Some creatives fatigue, with a known story: from `fatigue_onset` on, their ads' CTR (and a
video's hook rate, metricx.sandbox.video) fall by FATIGUE_WEEKLY_DECAY a week down to
FATIGUE_FLOOR of what they were, and their purchases per spend with the square of that. The
onset is 5 to 8 weeks after launch, so the fatigue rule of docs/design.md "Creatives" (last
whole week's CTR at most 75 % of the best week's, and thumb-stop at most 75 % or CPA at least
133 %) holds from the first whole week that starts FATIGUE_SHOWS_AFTER the onset on
(`SandboxCreative.fatigued_by`), and a merchant with at most five weeks of history (the sync
tests' merchant, tests/sandbox_fixtures.py) delivers exactly as it would without fatigue.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from PIL import Image, ImageDraw, ImageFont

from metricx.sandbox import rand
from metricx.sandbox.catalog import PRODUCTS
from metricx.sandbox.entities import META, Ad, Tree

FORMATS = ("image", "video", "carousel")
# Ad-name concept (entities.META_CREATIVES) -> (formats it may take, creative name without its
# version). Testimonials are videos or stills, which brings the mix near 45 % video, 35 %
# image, 20 % carousel.
CONCEPTS = {
    "UGC Video | Hook A": (("video",), "UGC | Hook: unboxing"),
    "UGC Video | Hook B": (("video",), "UGC | Hook: rainy trail"),
    "Founder Story | 30s": (("video",), "Founder | Story 30s"),
    "Reel | Trail Test": (("video",), "Reel | Trail test"),
    "Static | Bestseller Bundle": (("image",), "Static | Bestseller Bundle"),
    "Static | Free Shipping": (("image",), "Static | Free Shipping"),
    "Testimonial | 5 Stars": (("video", "image"), "Testimonial | 5 stars"),
    "Carousel | New Arrivals": (("carousel",), "Carousel | New Arrivals"),
    "Catalog | Dynamic": (("carousel",), "Carousel | Bestsellers"),
}
# Share of an ad's copies that run the concept's second variant (" | v2").
SECOND_VARIANT = 0.2
TITLES = (
    "Built for the trail",
    "Rain-proof, tested in the Highlands",
    "Free shipping over $75",
    "Our bestsellers, restocked",
    "New season, new layers",
    "Made to be worn out",
)
BODIES = (
    "Waterproof, breathable and packs into its own pocket.",
    "4.8 stars from 2,000+ hikers. See why.",
    "Layer up for the weekend: new arrivals just landed.",
    "Everything you need for your next summit, shipped free.",
    "We tested it in the worst weather we could find.",
)
# Meta's CallToActionType enum (SDK adcreative.py) has many more; these fit a shop.
CALLS_TO_ACTION = ("SHOP_NOW", "SHOP_NOW", "LEARN_MORE", "ORDER_NOW", "GET_OFFER")

# ---- fatigue ------------------------------------------------------------------------------
#: About one in four of the creatives that keep running fatigues (at least one video and one
#: other where the merchant has such creatives).
FATIGUE_SHARE = 0.25
#: The onset falls 5 to 8 weeks after launch (the first day its campaign delivers): the
#: weeks before it give the fatigue rule a best week to compare with.
FATIGUE_ONSET_DAYS = (35, 21)  # earliest, spread
#: CTR and a video's hook rate fall by this factor per week after the onset (continuously:
#: 0.8 ** (days / 7)) ...
FATIGUE_WEEKLY_DECAY = 0.8
#: ... down to this share of their level before it, where they stay (a tired creative still
#: reaches the people who have not seen it yet).
FATIGUE_FLOOR = 0.45
#: Purchases per spend fall with the square of that factor: fewer people click, and those who
#: still do are the less keen. A creative buys a handful of purchases a week, so CPA is noisy;
#: the square keeps its rise (1 / 0.64 ** 2 = 2.4 times two weeks in) clear of the noise.
FATIGUE_PURCHASE_POWER = 2
#: From two weeks after the onset the factor is at most 0.8 ** 2 = 64 %: under the rule's 75 %
#: with room for a week's noise, and CPA is up well over its 133 %.
FATIGUE_SHOWS_AFTER = timedelta(days=14)
#: Only a creative that will be seen tiring fatigues: one of its ads that gets clicks is never
#: paused, and its never-paused ads plan at least this many impressions a week (twice the
#: 5,000 the rule needs of a week).
FATIGUE_MIN_WEEKLY_IMPRESSIONS = 10_000


def fatigue_factor(onset: date | None, day: date) -> float:
    """What a creative's CTR and hook rate are multiplied by on `day` (its purchases per spend
    by this to FATIGUE_PURCHASE_POWER): exactly 1.0 up to the onset (so nothing before it
    changes), then decaying to the floor."""
    if onset is None or day <= onset:
        return 1.0
    return max(FATIGUE_FLOOR, FATIGUE_WEEKLY_DECAY ** ((day - onset).days / 7))


@dataclass(frozen=True)
class SandboxCreative:
    """A Meta ad creative: `video_id` only on videos, `image_hash` only on images, `cards`
    (3-5 card titles) only on carousels. `page_id` is the Page the ad's post belongs to.
    `launch_day` is the first day its campaign delivers; `fatigue_onset` the day its decay
    starts (None: it never fatigues), see `fatigue_factor`."""

    external_id: str
    account_id: str
    name: str
    format: str
    title: str
    body: str
    call_to_action: str
    video_id: str | None
    image_hash: str | None
    cards: tuple[str, ...]
    created_at: datetime
    page_id: str
    post_id: str
    link: str
    launch_day: date
    fatigue_onset: date | None = None

    def fatigue_factor(self, day: date) -> float:
        """The multiplier on this creative's CTR and hook rate on `day` (its purchases per
        spend: this to FATIGUE_PURCHASE_POWER)."""
        return fatigue_factor(self.fatigue_onset, day)

    def fatigued_by(self, week: date) -> bool:
        """Whether the fatigue rule holds for a last whole week starting on `week` (Monday):
        the whole week lies at least FATIGUE_SHOWS_AFTER past the onset."""
        return self.fatigue_onset is not None and week >= self.fatigue_onset + FATIGUE_SHOWS_AFTER

    def card_image_hash(self, index: int) -> str:
        """The image hash of carousel card `index` (each card has its own image)."""
        return _hex32(self.external_id, "card", index)


@dataclass(frozen=True)
class CreativeIndex:
    """The creatives of the merchant's Meta ads: per ad, and per account in id order."""

    by_ad: dict[str, SandboxCreative]
    by_account: dict[str, tuple[SandboxCreative, ...]]


def build_creatives(seed: int, tree: Tree, shop_host: str) -> CreativeIndex:
    """One creative per (campaign, concept, variant) of the Meta ads; some fatigue."""
    groups: dict[tuple[str, str, int], list[Ad]] = {}
    for ad in tree.ads:
        if ad.provider != META:
            continue
        concept = ad.name.rsplit(" | v", 1)[0]
        variant = (
            2 if rand.uniform(seed, "creative-variant", ad.external_id) < SECOND_VARIANT else 1
        )
        groups.setdefault((ad.campaign_id, concept, variant), []).append(ad)
    made = {key: _creative(seed, tree, *key, members, shop_host) for key, members in groups.items()}
    onsets = _fatigue_onsets(seed, tree, {made[key]: members for key, members in groups.items()})
    by_ad: dict[str, SandboxCreative] = {}
    by_account: dict[str, list[SandboxCreative]] = {}
    for key, members in groups.items():
        creative = made[key]
        if creative.external_id in onsets:
            creative = replace(creative, fatigue_onset=onsets[creative.external_id])
        by_account.setdefault(creative.account_id, []).append(creative)
        for ad in members:
            by_ad[ad.external_id] = creative
    return CreativeIndex(
        by_ad,
        {k: tuple(sorted(v, key=lambda c: c.external_id)) for k, v in by_account.items()},
    )


def _fatigue_onsets(
    seed: int, tree: Tree, creatives: dict[SandboxCreative, list[Ad]]
) -> dict[str, date]:
    """Creative id -> fatigue onset for the creatives that fatigue: of those that keep running
    (FATIGUE_MIN_WEEKLY_IMPRESSIONS), the ones whose draw is under FATIGUE_SHARE, plus the
    lowest draw of the videos and of the others where neither kind got one."""
    eligible: dict[str, tuple[float, date, bool]] = {}
    for creative, ads in creatives.items():
        running = [ad for ad in ads if _never_paused(tree, ad)]
        camp = tree.campaign(ads[0].campaign_id)
        weekly = sum(camp.planned_daily * ad.share for ad in running) * 7 / camp.cpm * 1000
        if weekly < FATIGUE_MIN_WEEKLY_IMPRESSIONS or all(ad.ctr_factor == 0 for ad in running):
            continue
        draw = rand.uniforms(seed, "fatigue", creative.external_id)
        earliest, spread = FATIGUE_ONSET_DAYS
        onset = creative.launch_day + timedelta(days=earliest + int(draw[1] * spread))
        eligible[creative.external_id] = (draw[0], onset, creative.format == "video")
    chosen = {cid for cid, (u, _, _) in eligible.items() if u < FATIGUE_SHARE}
    for video in (True, False):
        kind = sorted((u, cid) for cid, (u, _, v) in eligible.items() if v == video)
        if kind and not any(eligible[cid][2] == video for cid in chosen):
            chosen.add(kind[0][1])
    return {cid: eligible[cid][1] for cid in chosen}


def _never_paused(tree: Tree, ad: Ad) -> bool:
    """Whether the ad, its ad set and its campaign run on for good (pauses are in the
    history), so the fatigue is still there to see on any later day."""
    nodes = (ad, tree.adset(ad.adset_id), tree.campaign(ad.campaign_id))
    return all(node.paused_at is None for node in nodes)


def _creative(
    seed: int,
    tree: Tree,
    campaign_id: str,
    concept: str,
    variant: int,
    ads: list[Ad],
    shop_host: str,
) -> SandboxCreative:
    key = (campaign_id, concept, variant)
    u = rand.uniforms(seed, "creative", *key)
    formats, label = CONCEPTS.get(concept, (FORMATS, concept))
    fmt = rand.pick(u[0], formats)
    external_id = rand.digits(seed, 18, "creative-id", *key)
    account_id = ads[0].account_id
    cards: tuple[str, ...] = ()
    if fmt == "carousel":
        order = sorted(PRODUCTS, key=lambda p: rand.uniform(seed, "card", external_id, p[0]))
        cards = tuple(p[0] for p in order[: 3 + int(u[1] * 3)])
    handle = "collections/new-arrivals" if fmt == "carousel" else "collections/bestsellers"
    return SandboxCreative(
        external_id=external_id,
        account_id=account_id,
        name=f"{label} | v{variant}",
        format=fmt,
        title=rand.pick(u[2], TITLES),
        body=rand.pick(u[3], BODIES),
        call_to_action=rand.pick(u[4], CALLS_TO_ACTION),
        video_id=rand.digits(seed, 16, "video-id", *key) if fmt == "video" else None,
        image_hash=_hex32(external_id, "image") if fmt == "image" else None,
        cards=cards,
        # A creative exists before the first ad that uses it.
        created_at=min(a.created_at for a in ads) - timedelta(minutes=5 + int(u[5] * 55)),
        page_id=rand.digits(seed, 15, "page-id", account_id),
        post_id=rand.digits(seed, 16, "post-id", *key),
        link=f"https://{shop_host}/{handle}",
        launch_day=tree.campaign(campaign_id).start_day,
    )


def _hex32(*keys: object) -> str:
    """A Meta-style image hash: 32 lower-case hex digits."""
    return hashlib.md5("|".join(map(str, keys)).encode(), usedforsecurity=False).hexdigest()


# ---- previews -----------------------------------------------------------------------------
INK = (250, 250, 245)


def preview_png(creative: SandboxCreative, width: int, height: int) -> bytes:
    """A deterministic preview: the creative's colour, a glyph for its format (play triangle,
    stacked cards, a framed picture) and its title. Palette PNG, so it stays small."""
    if width < 1 or height < 1:
        raise ValueError("preview size must be positive")
    u = rand.uniforms(0, "preview", creative.external_id)
    background = tuple(int(40 + 150 * x) for x in u[:3])
    image = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(image)
    side = min(width, height)
    cx, cy, r = width / 2, height * 0.42, side * 0.22
    if creative.format == "video":
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=INK, width=max(1, side // 60))
        draw.polygon(
            [(cx - r * 0.35, cy - r * 0.5), (cx - r * 0.35, cy + r * 0.5), (cx + r * 0.55, cy)],
            fill=INK,
        )
    elif creative.format == "carousel":
        for i in range(3):
            shift = (i - 1) * r * 0.35
            box = (cx - r + shift, cy - r * 0.7 - shift, cx + r * 0.6 + shift, cy + r * 0.7 - shift)
            draw.rectangle(box, fill=background, outline=INK, width=max(1, side // 80))
    else:
        draw.rectangle((cx - r, cy - r * 0.75, cx + r, cy + r * 0.75), outline=INK, width=2)
        draw.polygon(
            [(cx - r, cy + r * 0.75), (cx - r * 0.2, cy - r * 0.1), (cx + r, cy + r * 0.75)],
            fill=INK,
        )
    if side >= 48:
        font = ImageFont.load_default(size=max(8, side // 16))
        draw.text((cx, height * 0.8), creative.title, fill=INK, font=font, anchor="mm")
    out = io.BytesIO()
    image.quantize(colors=16, dither=Image.Dither.NONE).save(out, format="PNG", optimize=True)
    return out.getvalue()
