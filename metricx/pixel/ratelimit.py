"""Per-client token buckets, in process: one collector process answers for its own clients."""

from __future__ import annotations

import time
from collections.abc import Callable

MAX_CLIENTS = 100_000  # buckets kept before idle ones are forgotten


class TokenBuckets:
    """Each client may send `burst` requests at once, then `per_minute` a minute.

    A bucket refilled to the brim is the same as no bucket, so idle clients are forgotten
    when the table grows, which bounds memory however many addresses show up.
    """

    def __init__(
        self, per_minute: int, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = per_minute / 60  # tokens per second
        self.burst = burst
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # client: (tokens, as of)

    def take(self, client: str) -> float:
        """0 when the client may go ahead (a token is spent), else the seconds to wait."""
        now = self.clock()
        tokens = self._level(client, now)
        allowed = tokens >= 1
        self._buckets[client] = (tokens - 1 if allowed else tokens, now)
        if len(self._buckets) > MAX_CLIENTS:
            self._forget_idle(now)
        return 0.0 if allowed else (1 - tokens) / self.rate

    def _level(self, client: str, now: float) -> float:
        tokens, since = self._buckets.get(client, (self.burst, now))
        return min(self.burst, tokens + (now - since) * self.rate)

    def _forget_idle(self, now: float) -> None:
        for client in [c for c in self._buckets if self._level(c, now) >= self.burst]:
            del self._buckets[client]
        if len(self._buckets) > MAX_CLIENTS:
            # That many busy addresses at once is a flood: starting over (every bucket full)
            # costs less than scanning the table on every request.
            self._buckets.clear()
