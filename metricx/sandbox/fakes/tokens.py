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


class AuthCodes:
    """Authorization codes a fake consent screen handed out: bound to the redirect URI they
    were issued for, short-lived and single use, as every real provider makes them.

    The sandbox's well-known code (its credentials) stays redeemable for any redirect URI, so
    scripts can exchange a code without visiting the consent screen first.
    """

    def __init__(
        self,
        clock: SandboxClock,
        prefix: str,
        standing: str,
        ttl: timedelta = timedelta(minutes=10),
    ) -> None:
        self._clock = clock
        self._prefix = prefix
        self._standing = standing
        self._ttl = ttl
        self._lock = Lock()
        self._issued: dict[str, tuple[str, datetime]] = {}  # code -> (redirect uri, expiry)
        self._used: set[str] = set()
        self._serial = count(1)

    def issue(self, redirect_uri: str) -> str:
        code = f"{self._prefix}{next(self._serial):06d}"
        with self._lock:
            self._issued[code] = (redirect_uri, self._clock.now() + self._ttl)
        return code

    def redeem(self, code: str | None, redirect_uri: str | None) -> str:
        """ "ok", or why not: "unknown", "used", "expired" or "redirect_mismatch"."""
        if code is not None and code == self._standing:
            return "ok"
        with self._lock:
            if code is None or code not in self._issued:
                return "unknown"
            if code in self._used:
                return "used"
            bound_to, expiry = self._issued[code]
            if self._clock.now() >= expiry:
                return "expired"
            if redirect_uri != bound_to:
                return "redirect_mismatch"
            self._used.add(code)
        return "ok"
