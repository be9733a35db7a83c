"""Is this delivery from Shopify? X-Shopify-Hmac-SHA256 against the raw body.

"Each HTTPS delivery includes a base64-encoded HMAC signature in the X-Shopify-Hmac-SHA256
header, generated using your app's client secret and the raw request body ... compute
HMAC-SHA256 of the raw request body using your app's client secret as the key, then compare it
to the decoded header value" (https://shopify.dev/docs/apps/build/webhooks/verify-deliveries).
The body must be the bytes as received: re-serialised JSON would not match. The comparison is
constant-time (hmac.compare_digest), so a forger learns nothing from how long a refusal takes.

The signature covers the body only, not the headers (topic, shop domain, webhook id): intake
therefore checks that a body naming its shop names the shop of the header (topics.py).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Iterable


def digest(secret: str, body: bytes) -> bytes:
    """HMAC-SHA256(secret, body), raw."""
    return hmac.new(secret.encode(), body, hashlib.sha256).digest()


def signature(secret: str, body: bytes) -> str:
    """What Shopify puts in X-Shopify-Hmac-SHA256 for `body` (base64)."""
    return base64.b64encode(digest(secret, body)).decode()


def _decoded(header: str | None) -> bytes | None:
    if not header:
        return None
    try:
        return base64.b64decode(header.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None


def matching_secrets(header: str | None, body: bytes, secrets: Iterable[str]) -> set[str]:
    """The secrets among `secrets` that signed `body` (normally one, or none: refuse)."""
    claimed = _decoded(header)
    if claimed is None:
        return set()
    return {
        secret
        for secret in secrets
        if secret and hmac.compare_digest(digest(secret, body), claimed)
    }
