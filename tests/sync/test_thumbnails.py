"""The thumbnail store: previews kept once under the data directory by the digest of their
bytes, only when they are images of a preview's size."""

from __future__ import annotations

import hashlib
import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from metricx.sync import thumbnails


def png(side: int = 8) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (side, side), (200, 40, 90)).save(out, format="PNG")
    return out.getvalue()


def test_an_image_is_kept_once_under_its_digest(store_dir):
    # given a PNG preview
    data = png()
    # when it is stored twice
    first, second = thumbnails.store(data), thumbnails.store(data)
    # then one file holds it, named by its sha256, and reads back whole
    assert first == second == hashlib.sha256(data).hexdigest()
    assert thumbnails.read(first) == data
    assert thumbnails.path_of(first) == store_dir / "thumbnails" / first[:2] / first


def test_what_is_not_a_preview_is_not_kept(store_dir):
    # a page of HTML (an expired link's error page), and an image over the size limit
    assert thumbnails.store(b"<html>URL signature expired</html>") is None
    too_big = png() + b"\0" * thumbnails.MAX_BYTES
    assert thumbnails.store(too_big) is None


@given(st.text(max_size=80))
def test_no_digest_reads_outside_the_store(typed):
    # a digest comes from the database; whatever it holds, only a stored file is read
    assert thumbnails.read(typed) is None or len(typed) == 64


def test_the_image_kinds_are_told_by_their_signatures():
    assert thumbnails.image_kind(png()) == "png"
    assert thumbnails.image_kind(b"\xff\xd8\xff\xe0rest") == "jpeg"
    assert thumbnails.image_kind(b"RIFF\x10\x00\x00\x00WEBPVP8 ") == "webp"
    assert thumbnails.image_kind(b"GIF89a") is None


def test_a_new_image_larger_than_the_room_left_is_not_kept(store_dir):
    # given a store with room for less than one more preview
    kept = thumbnails.store(png(8))
    data = png(16)
    # when a new preview comes with less room than its size
    refused = thumbnails.store(data, room=len(data) - 1)
    # then it is not kept, but one already stored is still found without room
    assert refused is None and not thumbnails.path_of(hashlib.sha256(data).hexdigest()).exists()
    assert thumbnails.store(png(8), room=0) == kept
    assert thumbnails.used_bytes() == len(png(8))


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sides=st.sets(st.integers(1, 12), min_size=1, max_size=6), data=st.data())
def test_pruning_keeps_exactly_the_named_previews(store_dir, sides, data):
    # given previews of several sizes in the store, some still named by a creative
    digests = {thumbnails.store(png(side)) for side in sides}
    named = data.draw(st.sets(st.sampled_from(sorted(digests))))
    # when the store is pruned
    thumbnails.prune(named)
    # then exactly the named previews are left, and they read back whole
    left = {p.name for p in (store_dir / "thumbnails").glob("??/*")}
    assert left == named
    assert all(thumbnails.read(d) is not None for d in named)
    assert thumbnails.used_bytes() == sum(thumbnails.path_of(d).stat().st_size for d in named)
