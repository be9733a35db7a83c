"""The six attribution models as pure functions: an order's touches in, credits out.

Credits of an order sum to exactly 1 (to the 10th decimal, the precision they are stored at),
or the order is unattributed (no touch inside the window). Touches after the order are never
credited; a touch exactly `window` days before the order is inside the window.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import get_args

from metricx.semantic.query import AccountingMode, AttributionModel, AttributionWindow

MODELS: tuple[str, ...] = get_args(AttributionModel)
#: Look-back windows in days; 0 stands for lifetime (how `attributions.window_days` stores it).
WINDOWS: tuple[int, ...] = (*get_args(AttributionWindow), 0)
MODES: tuple[str, ...] = get_args(AccountingMode)
HALF_LIFE = timedelta(days=7)
#: position_based: first and last touch get 40 % each, the touches between share 20 %.
ENDS_SHARE = Decimal("0.4")
QUANTUM = Decimal("1e-10")  # attributions.credit is NUMERIC(12, 10)


@dataclass(frozen=True)
class Touch:
    """One visit that may have led to an order."""

    key: int  # the touchpoint id
    at: datetime
    direct: bool


def in_window(touches: Sequence[Touch], order_at: datetime, window_days: int) -> list[Touch]:
    """The touches inside the look-back window (0 = lifetime), oldest first."""
    earliest = order_at - timedelta(days=window_days) if window_days else None
    kept = [t for t in touches if t.at <= order_at and (earliest is None or t.at >= earliest)]
    return sorted(kept, key=lambda t: (t.at, t.key))


def _exact(weights: list[Decimal]) -> list[Decimal]:
    """Weights normalised to credits that sum to exactly 1 at the stored precision: every
    credit is rounded, and the rounding remainder goes to the largest one."""
    total = sum(weights)
    credits = [(w / total).quantize(QUANTUM) for w in weights]
    largest = max(range(len(credits)), key=lambda i: (credits[i], i))
    credits[largest] += Decimal(1) - sum(credits)
    return credits


def _first(touches: list[Touch], _order_at: datetime) -> list[Decimal]:
    return [Decimal(1)] + [Decimal(0)] * (len(touches) - 1)


def _last(touches: list[Touch], _order_at: datetime) -> list[Decimal]:
    return [Decimal(0)] * (len(touches) - 1) + [Decimal(1)]


def _last_non_direct(touches: list[Touch], order_at: datetime) -> list[Decimal]:
    """The last touch that is not direct; direct gets the credit only when nothing else is."""
    chosen = max((i for i, t in enumerate(touches) if not t.direct), default=len(touches) - 1)
    return [Decimal(int(i == chosen)) for i in range(len(touches))]


def _linear(touches: list[Touch], _order_at: datetime) -> list[Decimal]:
    return _exact([Decimal(1)] * len(touches))


def _time_decay(touches: list[Touch], order_at: datetime) -> list[Decimal]:
    """Weight halves for every 7 days between the touch and the order."""
    return _exact([Decimal(0.5 ** ((order_at - t.at) / HALF_LIFE)) for t in touches])


def _position_based(touches: list[Touch], _order_at: datetime) -> list[Decimal]:
    """40 % first, 40 % last, 20 % shared by the middle; 50/50 for two, all for one."""
    n = len(touches)
    if n <= 2:
        return _exact([Decimal(1)] * n)
    middle = (1 - 2 * ENDS_SHARE) / (n - 2)
    return _exact([ENDS_SHARE, *[middle] * (n - 2), ENDS_SHARE])


_SPLITS: dict[str, Callable[[list[Touch], datetime], list[Decimal]]] = {
    "first_click": _first,
    "last_click": _last,
    "last_non_direct": _last_non_direct,
    "linear": _linear,
    "time_decay": _time_decay,
    "position_based": _position_based,
}


def credits(
    model: str, touches: Sequence[Touch], order_at: datetime, window_days: int
) -> list[tuple[Touch, Decimal]]:
    """Each credited touch with its share of the order; [] when the order is unattributed."""
    if model not in _SPLITS:
        raise ValueError(f"unknown attribution model {model!r}; one of {', '.join(MODELS)}")
    kept = in_window(touches, order_at, window_days)
    if not kept:
        return []
    shares = _SPLITS[model](kept, order_at)
    return [(touch, share) for touch, share in zip(kept, shares, strict=True) if share]
