"""The shop's products and variants, with prices and unit costs (COGS)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from metricx.sandbox import rand

# (title, product type, price in cents, cost share of price or None, variant titles,
#  repeat: how much likelier than average its first-time buyers are to order again —
#  consumables and basics come back, one-off buys much less)
PRODUCTS = (
    ("Summit Rain Shell", "Jackets", 18900, 0.38, ("S", "M", "L", "XL"), 0.6),
    ("Trailhead Fleece", "Fleece", 8900, 0.34, ("S", "M", "L"), 0.9),
    ("Ridge Merino Tee", "Tops", 4900, 0.31, ("S", "M", "L", "XL"), 1.4),
    ("Basecamp Hoodie", "Tops", 7900, 0.33, ("S", "M", "L"), 1.1),
    ("Alpine Down Vest", "Jackets", 14900, 0.41, ("S", "M", "L"), 0.65),
    ("Everyday Hiking Socks (3-pack)", "Accessories", 2400, 0.25, ("S-M", "L-XL"), 1.8),
    ("Canyon Cargo Pants", "Bottoms", 9800, 0.36, ("30", "32", "34", "36"), 1.0),
    ("Drift Beanie", "Accessories", 2900, 0.22, ("Charcoal", "Forest", "Rust"), 1.2),
    ("Horizon Daypack 22L", "Bags", 11900, 0.42, ("Black", "Sand"), 0.55),
    ("Summit Insulated Bottle", "Gear", 3400, 0.84, ("Steel", "Forest"), 1.0),
    ("Trail Cap", "Accessories", 3200, 0.24, ("One Size",), 1.1),
    ("Storm Gloves", "Accessories", 4500, 0.35, ("S", "M", "L"), 0.9),
    ("Cascade Softshell", "Jackets", 15900, 0.39, ("S", "M", "L", "XL"), 0.6),
    ("Lodge Flannel Shirt", "Tops", 6900, 0.32, ("S", "M", "L", "XL"), 1.1),
    ("Packable Windbreaker", "Jackets", 9900, 0.86, ("S", "M", "L"), 0.7),
    ("Gift Card", "Gift Cards", 5000, None, ("$50",), 0.8),
)
# Priced near cost to win new customers and pushed by the biggest product-led campaigns
# (journeys.featured_campaigns): they lose money once their ads are paid for.
PROMOTED = ("Packable Windbreaker", "Summit Insulated Bottle")
PROMOTED_POPULARITY = 0.4  # they sell mostly through those ads


@dataclass(frozen=True)
class Variant:
    """A purchasable variant; cost_cents is None when the merchant never entered a cost."""

    external_id: str
    product_id: str
    title: str
    sku: str
    price_cents: int
    cost_cents: int | None


@dataclass(frozen=True)
class Product:
    """A product with its variants; popularity drives how often orders contain it, repeat how
    often its first-time buyers come back (1 = average), promoted whether it is sold near cost
    and pushed by ads."""

    external_id: str
    title: str
    handle: str
    product_type: str
    vendor: str
    created_at: datetime
    updated_at: datetime
    variants: tuple[Variant, ...]
    popularity: float
    repeat: float = 1.0
    promoted: bool = False


def build_catalog(seed: int, opened_at: datetime, history_days: int) -> tuple[Product, ...]:
    """The catalogue, created before the history starts; a few products were edited since."""
    products = []
    for i, (title, kind, price, cost_share, options, repeat) in enumerate(PRODUCTS):
        u = rand.uniforms(seed, "product", i)
        product_id = f"gid://shopify/Product/{rand.digits(seed, 13, 'product', i)}"
        created = opened_at + timedelta(hours=int(u[0] * 72))
        updated = created
        if u[1] < 0.25:
            updated = created + timedelta(
                days=30 + int(u[2] * history_days), minutes=int(u[3] * 900)
            )
        code = "".join(w[0] for w in title.replace("(", "").split()[:3]).upper()
        variants = tuple(
            Variant(
                external_id="gid://shopify/ProductVariant/"
                + rand.digits(seed, 14, "variant", i, j),
                product_id=product_id,
                title=option,
                sku=f"NW-{code}-{option.upper()}",
                price_cents=price,
                cost_cents=None if cost_share is None else int(price * cost_share),
            )
            for j, option in enumerate(options)
        )
        handle = "".join(c if c.isalnum() else "-" for c in title.lower()).strip("-")
        products.append(
            Product(
                product_id,
                title,
                handle.replace("--", "-"),
                kind,
                "Northwind Outfitters",
                created,
                updated,
                variants,
                popularity=(0.3 + 2.0 * u[4] * (1.6 if price < 10000 else 1.0))
                * (PROMOTED_POPULARITY if title in PROMOTED else 1.0),
                repeat=repeat,
                promoted=title in PROMOTED,
            )
        )
    return tuple(products)
