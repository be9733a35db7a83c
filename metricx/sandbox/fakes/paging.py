"""Opaque cursors for the fakes' paged lists (offset-based, as opaque-looking as the real ones)."""

from __future__ import annotations

import base64
import json
from typing import Any


def encode_cursor(value: Any) -> str:
    """An opaque, URL-safe cursor for any JSON-able position."""
    raw = json.dumps(value, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, default: Any = None) -> Any:
    """The position a cursor stands for; `default` for a missing cursor; ValueError if garbage."""
    if not cursor:
        return default
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError) as exc:
        raise ValueError(f"invalid cursor {cursor!r}") from exc


def page_size(requested: int, short: dict[str, Any] | None) -> int:
    """Rows to return: what was asked, or fewer when a short-page fault is active."""
    if short is None:
        return requested
    return max(1, int(short.get("rows", max(1, requested // 3))))
