"""Who comes back, and when: repurchase by acquisition channel and first product.

A new customer's chance of a second order is an average rate scaled by how they were acquired
(the channel of their first order's first visit: people who found the shop through email,
search or by its name come back more than paid-social first-timers, paid search sits between)
and by what they first bought (the product's `repeat`: consumables and basics more than
one-off buys). The wait until the next order mixes a quick return (most within 30-60 days)
with a slow tail over months; a customer who came back once is likelier to come back again.
Every draw is keyed by (seed, customer, order number), so the plan is the same in every
process and whatever order the days are generated in.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

from metricx.sandbox import rand

# Keys are the sandbox's ground-truth visit channels (journeys.CHANNELS).
CHANNEL_LOYALTY = {
    "email": 1.55,
    "organic": 1.3,
    "direct": 1.3,
    "social": 1.0,
    "google": 0.95,
    "meta": 0.6,
    "tiktok": 0.6,  # paid social, like Meta
}
SECOND_ORDER = 0.3  # an average customer's chance of ever ordering a second time
LOYAL_BONUS = 0.05  # added to that chance for every order after the second
MAX_CHANCE = 0.6
QUICK_SHARE = 0.7  # returns that come soon (exponential, mean QUICK_DAYS) ...
QUICK_DAYS = 24.0
SLOW_DAYS = 110.0  # ... the rest trickle in over months
MIN_GAP_DAYS = 3
SLOW_MIN_DAYS = 20


def second_order_chance(channel: str, repeat: float) -> float:
    """Chance that a customer acquired through `channel` whose first order's main product has
    `repeat` ever orders again."""
    return min(MAX_CHANCE, SECOND_ORDER * CHANNEL_LOYALTY.get(channel, 1.0) * repeat)


def chance_after(order_number: int, second: float) -> float:
    """Chance of another order after the customer's `order_number`-th one."""
    return second if order_number <= 1 else min(MAX_CHANCE, second + LOYAL_BONUS)


def days_to_next_order(u_mix: float, u_wait: float) -> int:
    """Days from one order to the next: mostly weeks, sometimes months."""
    if u_mix < QUICK_SHARE:
        return MIN_GAP_DAYS + int(-QUICK_DAYS * math.log1p(-u_wait))
    return SLOW_MIN_DAYS + int(-SLOW_DAYS * math.log1p(-u_wait))


def next_order_day(
    seed: int, customer_key: str, order_number: int, second: float, day: date
) -> date | None:
    """The day of the customer's next order after their `order_number`-th one on `day` (None:
    they never come back)."""
    u = rand.uniforms(seed, "return", customer_key, order_number)
    if u[0] >= chance_after(order_number, second):
        return None
    return day + timedelta(days=days_to_next_order(u[1], u[2]))
