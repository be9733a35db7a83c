"""Stateless deterministic randomness: every draw is a pure function of (seed, keys).

The sandbox never keeps a random state between calls, so any value can be recomputed in any
order (a page of the fake API, a test, a second process) and always comes out the same.
"""

from __future__ import annotations

import hashlib
import random
import struct
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")
_SCALE = 1.0 / float(1 << 64)
_EIGHT = struct.Struct(">8Q")


def _digest(seed: int, keys: tuple[object, ...]) -> bytes:
    text = "|".join([str(seed), *map(str, keys)])
    return hashlib.blake2b(text.encode(), digest_size=64).digest()


def uniforms(seed: int, *keys: object) -> tuple[float, ...]:
    """Eight independent uniforms in [0, 1) for one cell: one hash call covers a whole cell."""
    return tuple(x * _SCALE for x in _EIGHT.unpack(_digest(seed, keys)))


def uniform(seed: int, *keys: object) -> float:
    """One uniform in [0, 1)."""
    return int.from_bytes(_digest(seed, keys)[:8], "big") * _SCALE


def rng(seed: int, *keys: object) -> random.Random:
    """A private random stream for a sequential generator (orders of one day, the catalogue)."""
    return random.Random(int.from_bytes(_digest(seed, keys)[:16], "big"))


def digits(seed: int, length: int, *keys: object) -> str:
    """A platform-looking numeric id ("120210987654321") that never starts with 0."""
    value = int.from_bytes(_digest(seed, keys), "big")
    body = str(value)[: length - 1].rjust(length - 1, "7")
    return str(1 + value % 9) + body


def pick(u: float, options: Sequence[T]) -> T:
    """The option a uniform u in [0, 1) lands on."""
    return options[min(int(u * len(options)), len(options) - 1)]


def stochastic_round(x: float, u: float) -> int:
    """Round x down or up with probability given by its fraction, so means are preserved."""
    base = int(x)
    return base + (1 if u < x - base else 0)
