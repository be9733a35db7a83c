"""What can go wrong talking to an ad platform or a shop, in words a merchant can act on.

The sync layer decides from the class alone: a class with a `connection_status` puts the
connection in that state and stops (AuthError -> needs_reauth, VersionExpiredError ->
upgrade_needed, ConfigurationError -> misconfigured, AccountBlockedError -> blocked);
RateLimitedError / TransientError -> retry later (after `retry_after` when given);
InvalidRequestError / MalformedResponseError -> a bug or a platform change: record and alert.
"""

from __future__ import annotations

from metricx.platforms import display_name


class ConnectorError(Exception):
    """Base class; `retryable` says whether trying the same call again later can succeed."""

    retryable: bool = False
    connection_status: str | None = None  # the state a sync puts the connection in, if any

    def __init__(
        self,
        provider: str,
        message: str,
        *,
        status: int | None = None,
        code: str | int | None = None,
        retryable: bool | None = None,
    ) -> None:
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

    connection_status = "needs_reauth"


class VersionExpiredError(ConnectorError):
    """The platform no longer serves the API version we call (Meta #2635, a Google sunset
    version, Shopify's version past support): the operator must move to a live version."""

    connection_status = "upgrade_needed"


class ConfigurationError(ConnectorError):
    """The app or account is set up wrongly on the platform's side (Google developer token not
    approved, wrong login-customer-id, account not enabled): reconnecting will not help."""

    connection_status = "misconfigured"


class AccountBlockedError(ConnectorError):
    """The platform refuses this account for now (Shopify 402 frozen / 423 locked / ACCESS_DENIED,
    Google ACCESS_PROHIBITED): the merchant must act on the platform; retrying will not help."""

    connection_status = "blocked"


class AppCredentialsError(AuthError):
    """An OAuth provider refused our app (client id, secret or redirect URI): fix the
    settings."""


class AuthorizationCodeError(AuthError):
    """An OAuth code is invalid, expired or already used: start the sign-in again."""


class RateLimitedError(ConnectorError):
    """The platform asked us to slow down; `retry_after` is its hint in seconds."""

    retryable = True

    def __init__(
        self,
        provider: str,
        message: str,
        *,
        retry_after: float,
        status: int | None = None,
        code: str | int | None = None,
    ) -> None:
        super().__init__(provider, message, status=status, code=code)
        self.retry_after = retry_after


class TransientError(ConnectorError):
    """A server-side hiccup (5xx, Meta code 1/2, is_transient): the same call may work later."""

    retryable = True

    def __init__(
        self,
        provider: str,
        message: str,
        *,
        retry_after: float | None = None,
        status: int | None = None,
        code: str | int | None = None,
    ) -> None:
        super().__init__(provider, message, status=status, code=code)
        self.retry_after = retry_after


class InvalidRequestError(ConnectorError):
    """The platform rejected the request itself (bad query or parameter): retrying won't help."""


class MalformedResponseError(ConnectorError):
    """The answer was not the JSON shape the API documents (truncated body, missing keys)."""


def provider_name(provider: str) -> str:
    """Display name used in messages ("Google Ads rate limit reached ...")."""
    return display_name(provider)
