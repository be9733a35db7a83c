"""pixel_key -> workspace id for the collector, cached so an event costs no lookup."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable

from metricx.services.pixel_keys import workspaces_for_keys

CACHE_SECONDS = 30.0  # how long a rotated key may still be accepted
MAX_ENTRIES = 10_000


class WorkspaceKeys:
    """Unknown keys are cached too, so a flood of made-up keys reaches the database once per
    key and period, not once per request."""

    def __init__(
        self,
        lookup: Callable[[Iterable[str]], dict[str, int]] = workspaces_for_keys,
        ttl_s: float = CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.lookup = lookup
        self.ttl_s = ttl_s
        self.clock = clock
        self._entries: dict[str, tuple[int | None, float]] = {}  # key: (workspace, expires)

    async def resolve(self, keys: set[str]) -> dict[str, int | None]:
        """{key: workspace id, or None for a key no workspace has}."""
        now = self.clock()
        known = {k: e[0] for k in keys if (e := self._entries.get(k)) and e[1] > now}
        missing = keys - known.keys()
        if missing:
            found = await asyncio.to_thread(self.lookup, missing)
            if len(self._entries) + len(missing) > MAX_ENTRIES:
                self._entries = {k: e for k, e in self._entries.items() if e[1] > now}
            for key in missing:
                known[key] = found.get(key)
                if len(self._entries) < MAX_ENTRIES:
                    self._entries[key] = (known[key], now + self.ttl_s)
        return known
