"""Workspace pixel keys: the admin service (metricx.services.pixel_keys) and the collector's
cache of them (metricx.pixel.keys)."""

from __future__ import annotations

import asyncio

import pytest
from pixel_support import pixel_event, stored_events

from metricx.db import transaction
from metricx.errors import PermissionDeniedError
from metricx.models import Workspace
from metricx.pixel.keys import WorkspaceKeys
from metricx.services import audit, pixel_keys


def test_an_admin_sees_the_same_key_each_time(admin, workspace):
    assert pixel_keys.pixel_key(admin) == pixel_keys.pixel_key(admin) == workspace.pixel_key


def test_a_workspace_without_a_key_gets_one_on_first_use_and_it_is_audit_logged(admin):
    with transaction() as session:
        session.get(Workspace, admin.workspace_id).pixel_key = None
    key = pixel_keys.pixel_key(admin)
    assert len(key) >= 32 and pixel_keys.pixel_key(admin) == key
    assert [e.action for e in audit.recent(admin.workspace_id) if e.action.startswith("pixel")] == [
        "pixel_key.create"
    ]


def test_rotating_replaces_the_key_logs_who_did_it_and_the_old_key_finds_nothing(admin):
    old = pixel_keys.pixel_key(admin)
    new = pixel_keys.rotate_pixel_key(admin)
    assert new != old and pixel_keys.pixel_key(admin) == new
    assert pixel_keys.workspaces_for_keys([old, new]) == {new: admin.workspace_id}
    entry = audit.recent(admin.workspace_id)[0]
    assert (entry.action, entry.actor, entry.details) == (
        "pixel_key.rotate",
        admin.label,
        {"ending": new[-4:]},
    )


def test_a_member_can_neither_see_nor_rotate_the_key(member):
    with pytest.raises(PermissionDeniedError, match="only an admin"):
        pixel_keys.pixel_key(member)
    with pytest.raises(PermissionDeniedError, match="only an admin"):
        pixel_keys.rotate_pixel_key(member)


def test_keys_map_to_their_own_workspace_only(workspace, other_workspace):
    found = pixel_keys.workspaces_for_keys([workspace.pixel_key, other_workspace.pixel_key, "x"])
    assert found == {
        workspace.pixel_key: workspace.id,
        other_workspace.pixel_key: other_workspace.id,
    }


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_cache_asks_the_database_once_per_key_and_period_known_or_not():
    lookups: list[set[str]] = []

    def lookup(keys):
        lookups.append(set(keys))
        return {"good": 7} if "good" in keys else {}

    clock = Clock()
    cache = WorkspaceKeys(lookup, ttl_s=30, clock=clock)
    assert asyncio.run(cache.resolve({"good", "bad"})) == {"good": 7, "bad": None}
    assert asyncio.run(cache.resolve({"good", "bad"})) == {"good": 7, "bad": None}
    assert lookups == [{"good", "bad"}]
    clock.now += 31
    asyncio.run(cache.resolve({"good"}))
    assert lookups == [{"good", "bad"}, {"good"}]


def test_a_rotated_key_stops_being_accepted_once_the_cache_forgets_it(
    start_collector, admin, workspace
):
    # Given a collector that took an event under the current key
    collector = start_collector()
    old = workspace.pixel_key
    assert collector.post(pixel_event(old)).status_code == 202
    # When the admin rotates the key (a collector started afterwards has nothing cached)
    new = pixel_keys.rotate_pixel_key(admin)
    fresh = start_collector()
    # Then the old key is refused and the new one accepted
    assert fresh.post(pixel_event(old)).status_code == 403
    assert fresh.post(pixel_event(new)).status_code == 202
    assert len(stored_events(workspace.id)) == 2
