"""A webhook applies to the connections of its shop that trust its signature, and no others."""

from __future__ import annotations

from sandbox_fixtures import CREDENTIALS, NOW

from metricx.actor import Actor
from metricx.sandbox.fakes.shopify_webhooks import ShopifyWebhooks
from metricx.services.connections import add_connection
from webhooks.support import rows

REAL_SECRET = "the-production-apps-client-secret"


def recorded() -> list[tuple[int, str]]:
    return [
        (r["workspace_id"], r["topic"])
        for r in rows(
            "SELECT workspace_id, topic FROM shopify_webhook_deliveries ORDER BY workspace_id"
        )
    ]


def test_a_sandbox_and_a_real_connection_of_one_shop_each_trust_only_their_apps_secret(
    receiver, fakes, admin, other_workspace, setenv
):
    # Given the same shop domain connected for real in Acme and as a sandbox in Globex
    setenv(SHOPIFY_CLIENT_SECRET=REAL_SECRET)
    add_connection(admin, "shopify", CREDENTIALS.shopify_shop, "shpat_real")
    add_connection(
        Actor.system(other_workspace.id),
        "shopify",
        CREDENTIALS.shopify_shop,
        CREDENTIALS.shopify_access_token,
        settings={"sandbox": True},
    )
    real = ShopifyWebhooks(fakes.merchant.shop, secret=REAL_SECRET)
    sandbox = fakes.webhooks  # signed with the sandbox app's (public) secret
    # When the real app's uninstall arrives, it reaches the real connection only
    assert receiver.deliver(real.app_uninstalled(NOW)).json()["deliveries"] == 1
    assert recorded() == [(admin.workspace_id, "app/uninstalled")]
    # And the sandbox app's reaches the sandbox connection only
    assert receiver.deliver(sandbox.app_uninstalled(NOW)).json()["deliveries"] == 1
    assert recorded() == [
        (admin.workspace_id, "app/uninstalled"),
        (other_workspace.id, "app/uninstalled"),
    ]
    # And a third app's signature reaches nobody
    third = ShopifyWebhooks(fakes.merchant.shop, secret="someone-elses-secret")
    assert receiver.deliver(third.shop_redact(NOW)).status_code == 401


def test_one_shop_connected_by_two_workspaces_with_our_app_reaches_both(
    receiver, shop, other_workspace, sender
):
    add_connection(
        Actor.system(other_workspace.id),
        "shopify",
        CREDENTIALS.shopify_shop,
        CREDENTIALS.shopify_access_token,
    )
    answer = receiver.deliver(sender.customers_redact("gid://shopify/Customer/9", [], NOW))
    assert answer.json() == {"status": "accepted", "reason": "queued", "deliveries": 2}
    assert recorded() == [
        (shop.workspace_id, "customers/redact"),
        (other_workspace.id, "customers/redact"),
    ]


def test_another_shops_webhook_never_reaches_this_one(receiver, shop, fakes):
    from dataclasses import replace

    from metricx.sandbox.merchant import Merchant

    other = Merchant(5, ads=3, campaigns=1, days=2, orders_per_day=3, today=NOW.date())
    other.shop.profile = replace(other.shop.profile, domain="globex.myshopify.com")
    answer = receiver.deliver(ShopifyWebhooks(other.shop).app_uninstalled(NOW))
    assert answer.json()["status"] == "ignored" and recorded() == []
