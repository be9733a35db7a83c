"""A message as every channel needs it: one subject, a plain-text body (email's text part and
Slack's fallback `text`), an HTML body with inline images (email), and Slack Block Kit blocks.

Builders (alert firings, digests, tests) produce a `Message`; the channels turn it into a
MIME email or a webhook payload.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class InlineImage:
    """A PNG shown in the HTML body as <img src="cid:{cid}">."""

    cid: str
    png: bytes
    alt: str


@dataclass(frozen=True)
class Message:
    subject: str
    text: str
    html: str | None = None
    images: tuple[InlineImage, ...] = ()
    #: Slack Block Kit blocks; empty: Slack shows `text` alone
    blocks: tuple[dict[str, Any], ...] = field(default=())
    #: the page that shows the same numbers (absolute URL), linked from every channel
    link: str | None = None
