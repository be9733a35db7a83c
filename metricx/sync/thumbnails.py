"""Creatives' preview images, kept under the data directory by the digest of their bytes.

Platforms hand out previews as signed links that expire within days (docs/design.md
"Creatives"), and showing them from there would tell the platform who looks: the sync
downloads each preview once and the app serves it from here. A file is named by its sha256,
so a preview shared by many creatives is kept once and a stored file never changes.
The store is bounded (THUMBNAIL_STORE_MB): past it no new preview is kept, and `prune` removes
the files no creative names any more (those of a deleted connection or workspace).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Collection, Iterator
from pathlib import Path

from metricx.config import get_config

#: The largest preview kept (a 600 px JPEG is far smaller; a bigger file is not a preview).
MAX_BYTES = 512 * 1024


def image_kind(data: bytes) -> str | None:
    """png, jpeg or webp by the file's signature, or None for anything else."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def media_type(data: bytes) -> str | None:
    """The image's media type ("image/png"), or None when it is not one the store keeps."""
    kind = image_kind(data)
    return f"image/{kind}" if kind else None


def path_of(digest: str) -> Path:
    """Where the preview with this sha256 is (or would be) kept."""
    return get_config().thumbnails_dir / digest[:2] / digest


def _files() -> Iterator[Path]:
    root = get_config().thumbnails_dir
    return (p for p in root.glob("??/*") if p.is_file() and not p.name.startswith(".part-"))


def used_bytes() -> int:
    """How much the stored previews take."""
    return sum(p.stat().st_size for p in _files())


def capacity_bytes() -> int:
    """THUMBNAIL_STORE_MB in bytes."""
    return get_config().thumbnail_store_mb * 1024 * 1024


def store(data: bytes, room: int | None = None) -> str | None:
    """Keep an image and return its sha256; None (nothing kept) when it is not a PNG, JPEG
    or WebP image, is larger than MAX_BYTES, or is new and larger than `room` (the bytes the
    store may still take; None: no limit)."""
    if len(data) > MAX_BYTES or image_kind(data) is None:
        return None
    digest = hashlib.sha256(data).hexdigest()
    target = path_of(digest)
    if not target.exists():
        if room is not None and len(data) > room:
            return None
        target.parent.mkdir(parents=True, exist_ok=True)
        # Written aside, then renamed: a reader never sees half a file.
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".part-")
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, target)
    return digest


def read(digest: str) -> bytes | None:
    """The stored preview's bytes, or None when there is none under that digest."""
    if len(digest) != 64 or not all(c in "0123456789abcdef" for c in digest):
        return None
    target = path_of(digest)
    return target.read_bytes() if target.is_file() else None


def prune(named: Collection[str]) -> int:
    """Remove every stored preview whose digest is not in `named`; returns how many."""
    removed = 0
    for path in list(_files()):
        if path.name not in named:
            path.unlink(missing_ok=True)
            removed += 1
    return removed
