"""The sandbox merchant synced and attributed (every model × window × mode)."""

from __future__ import annotations

import pytest

from metricx.attribution.compute import attribute_workspace


@pytest.fixture
def attributed(synced) -> int:
    workspace_id, _ = synced
    attribute_workspace(workspace_id)
    return workspace_id
