"""Shared HTTP plumbing: one httpx client per connector, exact JSON, bounded retries.

Each connector classifies a response into a ConnectorError subclass; this module only decides
*whether and how long* to wait: the platform's own hint when it gives one, exponential backoff
otherwise, and never more than `max_attempts` tries or a hint longer than `max_wait` (a long
ban is better handled by rescheduling the job than by holding a worker asleep).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Self, TypeVar

import httpx

from metricx.connectors.errors import (
    ConnectorError,
    MalformedResponseError,
    RateLimitedError,
    TransientError,
    provider_name,
)

T = TypeVar("T")
Sleep = Callable[[float], None]


@dataclass(frozen=True)
class RetryPolicy:
    """How persistent a connector is before giving the error to its caller."""

    max_attempts: int = 5
    base_delay: float = 2.0
    max_delay: float = 60.0
    max_wait: float = 120.0

    def delay(self, attempt: int, error: ConnectorError) -> float | None:
        """Seconds to wait before attempt+1, or None to give up now."""
        hint = getattr(error, "retry_after", None)
        if hint is not None:
            return float(hint) if hint <= self.max_wait else None
        return min(self.max_delay, self.base_delay * 2 ** (attempt - 1))


def retrying(call: Callable[[], T], *, policy: RetryPolicy, sleep: Sleep) -> T:
    """Run `call` until it succeeds, a non-retryable error occurs, or the policy gives up."""
    attempt = 1
    while True:
        try:
            return call()
        except ConnectorError as error:
            if not error.retryable or attempt >= policy.max_attempts:
                raise
            delay = policy.delay(attempt, error)
            if delay is None:
                raise
            sleep(delay)
            attempt += 1


class HttpSession:
    """An httpx.Client that turns network failures into TransientError."""

    def __init__(
        self,
        provider: str,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.provider = provider
        self.client = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            transport=transport,
            headers=headers or {},
        )

    def request(self, method: str, url: str | httpx.URL, **kwargs: Any) -> httpx.Response:

        try:
            return self.client.request(method, url, **kwargs)
        except httpx.TimeoutException as exc:
            raise TransientError(
                self.provider,
                f"{provider_name(self.provider)} did not answer "
                f"in time ({type(exc).__name__}); will retry",
            ) from exc
        except httpx.TransportError as exc:
            raise TransientError(
                self.provider,
                f"Could not reach {provider_name(self.provider)}"
                f" ({type(exc).__name__}: {exc}); will retry",
            ) from exc

    def close(self) -> None:
        self.client.close()


def parse_json(provider: str, response: httpx.Response) -> Any:
    """The body as JSON with every non-integer number as an exact Decimal."""
    try:
        return json.loads(response.content, parse_float=Decimal)
    except ValueError as exc:
        raise MalformedResponseError(
            provider,
            f"{provider_name(provider)} sent a response that is not valid JSON "
            f"(HTTP {response.status_code}, {len(response.content)} bytes)",
            status=response.status_code,
        ) from exc


def expect(provider: str, condition: bool, what: str) -> None:
    """Raise MalformedResponseError unless the response has the documented shape."""
    if not condition:
        raise MalformedResponseError(
            provider, f"{provider_name(provider)} response is missing or has a malformed {what}"
        )


def retry_after_header(response: httpx.Response) -> float | None:
    """The standard Retry-After header in seconds, when present and numeric."""
    value = response.headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def server_error(provider: str, response: httpx.Response) -> TransientError:
    """The generic classification of an HTTP 5xx."""
    return TransientError(
        provider,
        f"{provider_name(provider)} had a server error (HTTP {response.status_code}); will retry",
        status=response.status_code,
        retry_after=retry_after_header(response),
    )


def rate_limited(
    provider: str,
    detail: str,
    retry_after: float,
    *,
    status: int | None = None,
    code: str | int | None = None,
) -> RateLimitedError:
    """A RateLimitedError with the standard merchant-readable message."""
    return RateLimitedError(
        provider,
        f"{provider_name(provider)} rate limit reached ({detail}); retry in {retry_after:g} s",
        retry_after=retry_after,
        status=status,
        code=code,
    )


class BaseClient:
    """What every connector shares: a session, a retry policy and an injectable sleep."""

    provider = ""

    def __init__(
        self,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        sleep: Sleep | None = None,
        transport: httpx.BaseTransport | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.retry = retry or RetryPolicy()
        self.sleep: Sleep = sleep or time.sleep
        self.http = HttpSession(
            self.provider, timeout=timeout, transport=transport, headers=headers
        )
        self._timeout, self._transport = timeout, transport
        self._files: httpx.Client | None = None

    def _retrying(self, call: Callable[[], T]) -> T:
        return retrying(call, policy=self.retry, sleep=self.sleep)

    def download(self, url: str, *, max_bytes: int) -> bytes | None:
        """A file on the platform's CDN (a signed preview link): its bytes, or None when the
        link is refused or has expired, the file is larger than `max_bytes` (read no
        further) or the CDN cannot be reached; a preview is never worth failing a sync for.
        Sent without the client's credentials: a CDN has no business seeing them."""
        if self._files is None:
            self._files = httpx.Client(
                timeout=httpx.Timeout(self._timeout, connect=min(self._timeout, 10.0)),
                transport=self._transport,
                follow_redirects=True,
            )
        try:
            with self._files.stream("GET", url) as response:
                if response.status_code != 200:
                    return None
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > max_bytes:
                        return None
                return bytes(body)
        except httpx.HTTPError:
            return None

    def close(self) -> None:
        self.http.close()
        if self._files is not None:
            self._files.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
