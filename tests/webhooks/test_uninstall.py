"""app/uninstalled: the connection is disconnected, audited, and no sync runs for it again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sandbox_fixtures import NOW

from metricx.jobs import sync_all_intraday
from metricx.services.connections import rotate_token
from metricx.sync import pipeline, scheduling
from webhooks.support import queued_jobs, rows, run_jobs, scalar


def test_app_uninstalled_disconnects_the_shop_and_its_scheduled_syncs_stop(receiver, shop, sender):
    # Given an active shop connection
    assert (shop.workspace_id, shop.id) in scheduling.active_connections()
    # When Shopify says the app was uninstalled
    answer = receiver.deliver(sender.app_uninstalled(datetime.now(UTC)))
    assert answer.status_code == 200 and answer.json()["status"] == "accepted"
    # Then the work waits for a worker (the request only recorded it)
    assert list(queued_jobs()) == ["default"]
    assert scalar("SELECT status FROM connections WHERE id = :c", c=shop.id) == "active"
    run_jobs()
    # And the connection is disconnected, with the reason, and the audit log says who and why
    [connection] = rows("SELECT status, last_error FROM connections WHERE id = :c", c=shop.id)
    assert connection["status"] == "disconnected"
    assert "app/uninstalled" in connection["last_error"]
    [entry] = rows(
        "SELECT actor, action, target, details FROM audit_log "
        "WHERE action = 'shopify.app_uninstalled'"
    )
    assert (entry["actor"], entry["target"]) == (
        "shopify webhook",
        "shopify:northwind-outfitters.myshopify.com",
    )
    assert entry["details"]["status_before"] == "active"
    assert entry["details"]["topic"] == "app/uninstalled"
    assert rows("SELECT status FROM shopify_webhook_deliveries") == [{"status": "done"}]
    # And the next scheduled sync leaves it out, and a sync asked for anyway is skipped
    assert (shop.workspace_id, shop.id) not in scheduling.active_connections()
    assert sync_all_intraday() == 0 and queued_jobs() == {}
    outcome = pipeline.sync_connection(shop.workspace_id, shop.id, "shop")
    assert (outcome.status, outcome.error) == ("skipped", "connection is disconnected")
    assert scalar("SELECT count(*) FROM sync_runs") == 0


def test_order_webhooks_after_the_uninstall_sync_nothing(receiver, synced_shop, fakes):
    _, before, latest = synced_shop
    receiver.deliver(fakes.webhooks.app_uninstalled(datetime.now(UTC)))
    run_jobs()
    runs = scalar("SELECT count(*) FROM sync_runs")
    # When a late order webhook arrives (Shopify may still deliver one in flight)
    assert set(fakes.send_webhooks(receiver.webhook_url, before, NOW)) == {200}
    run_jobs()
    # Then its sync was skipped: no new run, no new order
    assert scalar("SELECT count(*) FROM sync_runs") == runs
    assert (
        scalar("SELECT count(*) FROM shopify_orders WHERE external_id = :e", e=latest.external_id)
        == 0
    )


def test_a_replayed_uninstall_is_processed_once(receiver, shop, sender):
    delivery = sender.app_uninstalled(datetime.now(UTC))
    receiver.deliver(delivery)
    run_jobs()
    assert receiver.deliver(delivery).json()["status"] == "duplicate"
    run_jobs()
    assert scalar("SELECT count(*) FROM audit_log WHERE action = 'shopify.app_uninstalled'") == 1


def test_an_uninstall_triggered_before_a_reconnect_is_only_audited(receiver, shop, sender, admin):
    # Given an uninstall that Shopify kept retrying while the merchant reinstalled the app
    delivery = sender.app_uninstalled(datetime.now(UTC) - timedelta(hours=2))
    rotate_token(admin, shop.id, "shpat_after_reinstall")
    # When it finally arrives
    receiver.deliver(delivery)
    run_jobs()
    # Then the reconnected shop keeps syncing, and the audit log says what was skipped
    assert scalar("SELECT status FROM connections WHERE id = :c", c=shop.id) == "active"
    [entry] = rows("SELECT details FROM audit_log WHERE action = 'shopify.app_uninstalled'")
    assert "reconnected" in entry["details"]["skipped"]
