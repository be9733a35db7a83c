"""Cost rules: a workspace's settings for what fulfilling and charging for orders costs.

The formulas that apply them (shipping costs, handling, payment fees, profit before ad spend)
are catalogue expressions (metricx.semantic.catalogue.ORDER_COSTS), where these settings
appear as `Param`s by the names in COST_FIELDS; metricx.services.settings reads and edits them.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from decimal import Decimal


@dataclass(frozen=True)
class Costs:
    """A workspace's cost rules (metricx.services.settings reads and edits them)."""

    shipping_cost_per_order: Decimal
    shipping_cost_pct: Decimal
    payment_fee_pct: Decimal
    payment_fee_fixed: Decimal
    handling_per_order: Decimal


#: The cost settings, as named in the cost_settings table.
COST_FIELDS = tuple(field.name for field in fields(Costs))
