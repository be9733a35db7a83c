"""A stored token the vault cannot decrypt (altered in the database, damaged) asks the admin
for a new token instead of failing again every 15 minutes."""

from __future__ import annotations

import pytest
from sandbox_fixtures import CREDENTIALS, NOW
from table_rows import execute

from metricx.connection_store import get_connection
from metricx.services.connections import rotate_token
from metricx.sync.pipeline import sync_connection
from metricx.sync.scheduling import active_connections

DAMAGE = {
    "a flipped bit": "ciphertext = set_byte(ciphertext, 0, get_byte(ciphertext, 0) # 1)",
    "a cut nonce": "nonce = substring(nonce from 1 for 8)",
}
FRESH_TOKENS = {"meta": CREDENTIALS.meta_access_token, "shopify": CREDENTIALS.shopify_access_token}


@pytest.mark.parametrize("provider", sorted(FRESH_TOKENS))
@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_an_unreadable_token_asks_for_a_new_one(fakes, connections, admin, provider, damage):
    connection = connections[provider]
    ws = connection.workspace_id
    kind = "intraday" if provider == "meta" else "shop"
    # Given the connection's stored token damaged
    execute(f"UPDATE tokens SET {DAMAGE[damage]} WHERE connection_id = :id", id=connection.id)
    # When it syncs
    outcome = sync_connection(ws, connection.id, kind, now=NOW)
    # Then it waits for a new token and says so, and nothing was asked of the platform
    after = get_connection(ws, connection.id)
    assert outcome.status == "failed" and after.status == "needs_reauth"
    assert "replace the token" in after.last_error and "Traceback" not in after.last_error
    assert fakes.requests.of(provider) == []
    # And the schedule leaves it alone until someone acts
    assert (ws, connection.id) not in active_connections()
    assert sync_connection(ws, connection.id, kind, now=NOW).status == "skipped"
    # And once an admin stores a new token, it syncs again
    rotate_token(admin, connection.id, FRESH_TOKENS[provider])
    assert sync_connection(ws, connection.id, kind, now=NOW).status == "success"
