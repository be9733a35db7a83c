"""Access tokens a fake has issued: valid until they expire (sandbox clock) or are revoked."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import count
from threading import Lock

from metricx.sandbox.clock import SandboxClock


class TokenStore:
    """Issued tokens with optional expiry; tests revoke or expire them to script re-auth."""

    def __init__(self, clock: SandboxClock, prefix: str) -> None:
        self._clock = clock
        self._prefix = prefix
        self._lock = Lock()
        self._expiry: dict[str, datetime | None] = {}
        self._serial = count(1)

    def accept(self, token: str, ttl: timedelta | None = None) -> str:
        """Make a known token valid (the sandbox's initial credentials)."""
        with self._lock:
            self._expiry[token] = self._clock.now() + ttl if ttl else None
        return token

    def issue(self, ttl: timedelta | None = None) -> str:
        return self.accept(f"{self._prefix}{next(self._serial):06d}", ttl)

    def valid(self, token: str | None) -> bool:
        with self._lock:
            if token is None or token not in self._expiry:
                return False
            expiry = self._expiry[token]
        return expiry is None or self._clock.now() < expiry

    def known(self, token: str | None) -> bool:
        """Issued at some point (expired or not), as opposed to garbage."""
        with self._lock:
            return token in self._expiry

    def revoke(self, token: str | None = None) -> None:
        """Revoke one token, or all of them."""
        with self._lock:
            if token is None:
                self._expiry.clear()
            else:
                self._expiry.pop(token, None)
