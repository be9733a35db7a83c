"""What can go wrong talking to an ad platform or a shop, in words a merchant can act on.

The sync layer decides from the class alone: AuthError -> mark the connection needs_reauth and
stop; RateLimitedError / TransientError -> retry later (after `retry_after` when given);
InvalidRequestError / MalformedResponseError -> a bug or a platform change: record and alert.
"""

from __future__ import annotations

PROVIDER_NAMES = {"meta": "Meta", "google": "Google Ads", "shopify": "Shopify"}


class ConnectorError(Exception):
    """Base class; `retryable` says whether trying the same call again later can succeed."""

    retryable: bool = False

    def __init__(self, provider: str, message: str, *, status: int | None = None,
                 code: str | int | None = None, retryable: bool | None = None) -> None:
        super().__init__(message)
        self.provider = provider
        self.message = message
        self.status = status
        self.code = code
        if retryable is not None:
            self.retryable = retryable

    def __str__(self) -> str:
        return self.message


class AuthError(ConnectorError):
    """Token expired, revoked, or refused (401, Meta 190/102, Google invalid_grant): reconnect."""


class RateLimitedError(ConnectorError):
    """The platform asked us to slow down; `retry_after` is its hint in seconds."""

    retryable = True

    def __init__(self, provider: str, message: str, *, retry_after: float,
                 status: int | None = None, code: str | int | None = None) -> None:
        super().__init__(provider, message, status=status, code=code)
        self.retry_after = retry_after


class TransientError(ConnectorError):
    """A server-side hiccup (5xx, Meta code 1/2, is_transient): the same call may work later."""

    retryable = True

    def __init__(self, provider: str, message: str, *, retry_after: float | None = None,
                 status: int | None = None, code: str | int | None = None) -> None:
        super().__init__(provider, message, status=status, code=code)
        self.retry_after = retry_after


class InvalidRequestError(ConnectorError):
    """The platform rejected the request itself (bad query or parameter): retrying won't help."""


class MalformedResponseError(ConnectorError):
    """The answer was not the JSON shape the API documents (truncated body, missing keys)."""


def provider_name(provider: str) -> str:
    """Display name used in messages ("Google Ads rate limit reached ...")."""
    return PROVIDER_NAMES.get(provider, provider)
