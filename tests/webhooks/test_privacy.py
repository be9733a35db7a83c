"""The compliance topics do what they say, in our tables, for one tenant only.

World: workspace Acme holds the sandbox shop (synced) and a customer who bought through a Meta
ad seen by our pixel; workspace Globex holds a copy of the same shop's data under another shop
domain, so the same Shopify customer and order ids exist in both.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sandbox_fixtures import CREDENTIALS, NOW
from sqlalchemy import text

from metricx.actor import Actor
from metricx.attribution.channels import Visit, classify
from metricx.attribution.compute import attribute_workspace
from metricx.db import get_engine, transaction
from metricx.errors import NotFoundError, PermissionDeniedError
from metricx.models import Base
from metricx.sandbox.fakes.shopify_webhooks import numeric_id
from metricx.services import privacy
from metricx.services.connections import add_connection, rotate_token
from metricx.sync import order_rollups
from metricx.sync.pipeline import sync_connection
from webhooks.conftest import browse_and_buy
from webhooks.support import rows, run_jobs, scalar

GLOBEX_SHOP = "globex-outfitters.myshopify.com"
TABLES = (
    "shopify_customers",
    "shopify_orders",
    "customer_journeys",
    "touchpoints",
    "pixel_events",
    "store_daily",
    "cohort_daily",
    "shopify_products",
    "shopify_order_lines",
    "shopify_refunds",
    "attributions",
)

#: The rollups (no id) and the columns that key their rows.
ROLLUPS = {"store_daily": ("day", "currency"), "cohort_daily": ("first_day", "day", "currency")}


def snapshot(workspace_id: int) -> dict[str, list[dict]]:
    """Every row of the workspace's shop tables, ordered by id (the whole tenant's state)."""
    found = {}
    with get_engine().connect() as conn:
        for table in TABLES:
            order = ", ".join(ROLLUPS.get(table, ("id",)))
            found[table] = [
                dict(r._mapping)
                for r in conn.execute(
                    text(f"SELECT * FROM {table} WHERE workspace_id = :w ORDER BY {order}"),
                    {"w": workspace_id},
                )
            ]
    return found


@pytest.fixture
def world(shop, fakes, other_workspace):
    """(Acme's shop connection, Globex's, the customer's gid, their order gids, their email)."""
    assert sync_connection(shop.workspace_id, shop.id, "shop").status == "success"
    globex = add_connection(
        Actor.system(other_workspace.id),
        "shopify",
        CREDENTIALS.shopify_shop,
        CREDENTIALS.shopify_access_token,
    )
    assert sync_connection(globex.workspace_id, globex.id, "shop").status == "success"
    with get_engine().begin() as conn:  # the copy now belongs to another shop
        conn.execute(
            text("UPDATE connections SET external_account_id = :d WHERE id = :c"),
            {"d": GLOBEX_SHOP, "c": globex.id},
        )
        conn.execute(
            text("UPDATE shopify_shops SET domain = :d WHERE connection_id = :c"),
            {"d": GLOBEX_SHOP, "c": globex.id},
        )
    # The customer with the most orders whose visits carry a query string
    customer = scalar(
        """
        SELECT c.external_id FROM shopify_customers c
        JOIN shopify_orders o ON o.customer_id = c.id
        JOIN customer_journeys j ON j.order_id = o.id JOIN touchpoints t ON t.journey_id = j.id
        WHERE c.workspace_id = :w AND t.landing_page LIKE '%?%'
        GROUP BY c.external_id ORDER BY count(DISTINCT o.id) DESC, c.external_id LIMIT 1""",
        w=shop.workspace_id,
    )
    orders = [
        r["external_id"]
        for r in rows(
            """
        SELECT o.external_id, o.processed_at FROM shopify_orders o
        JOIN shopify_customers c ON c.id = o.customer_id
        WHERE c.external_id = :c AND o.workspace_id = :w ORDER BY o.processed_at""",
            c=customer,
            w=shop.workspace_id,
        )
    ]
    someone_else = scalar(
        """SELECT external_id FROM shopify_orders WHERE workspace_id = :w
        AND (customer_id IS NULL OR customer_id NOT IN (SELECT id FROM shopify_customers
             WHERE external_id = :c)) ORDER BY id LIMIT 1""",
        w=shop.workspace_id,
        c=customer,
    )
    for workspace_id in (shop.workspace_id, globex.workspace_id):
        for i, order in enumerate(orders):
            browse_and_buy(workspace_id, f"browser-c{i}", order, NOW - timedelta(days=i + 1))
        browse_and_buy(workspace_id, "browser-someone-else", someone_else, NOW)
        attribute_workspace(workspace_id)
    email = fakes.merchant.shop.customer(customer).email
    return shop, globex, customer, orders, email


def changed_rows(before: dict, after: dict) -> dict[str, list[int]]:
    """Ids of the rows (per table) that differ between two snapshots."""
    changed = {}
    for table in TABLES:
        key = ROLLUPS.get(table, ("id",))
        old = {tuple(r[k] for k in key): r for r in before[table]}
        new = {tuple(r[k] for k in key): r for r in after[table]}
        ids = sorted({k for k in old.keys() | new.keys() if old.get(k) != new.get(k)}, key=str)
        if ids:
            changed[table] = ids
    return changed


def test_customers_redact_blanks_the_customer_and_leaves_everyone_else_alone(
    receiver, world, sender
):
    shop, globex, customer, orders, email = world
    acme, other = snapshot(shop.workspace_id), snapshot(globex.workspace_id)
    # When Shopify asks to redact the customer (naming one of their orders)
    answer = receiver.deliver(sender.customers_redact(customer, orders[:1], NOW))
    assert answer.status_code == 200 and answer.json()["status"] == "accepted"
    run_jobs()
    # Then the customer's row is anonymous: no Shopify id, no account dates; its counts stay
    ws = shop.workspace_id
    assert (
        scalar(
            "SELECT count(*) FROM shopify_customers WHERE external_id = ANY(:k)",
            k=privacy.shopify_keys([customer], "Customer"),
        )
        == 1
    )  # Globex's only
    [row] = [
        r for r in snapshot(ws)["shopify_customers"] if r["external_id"].startswith("redacted:")
    ]
    [was] = [r for r in acme["shopify_customers"] if r["id"] == row["id"]]
    assert was["external_id"] == customer
    assert (row["created_at"], row["updated_at"]) == (None, None)
    assert (row["orders_count"], row["first_order_at"]) == (
        was["orders_count"],
        was["first_order_at"],
    )
    # And their orders keep their money but point at nobody
    redacted_orders = rows(
        """SELECT external_id, customer_id, gross_sales, refunded,
        total_price, customer_order_index FROM shopify_orders
        WHERE workspace_id = :w AND external_id = ANY(:o) ORDER BY id""",
        w=ws,
        o=orders,
    )
    assert {r["customer_id"] for r in redacted_orders} == {None}
    before_money = {
        r["external_id"]: (
            r["gross_sales"],
            r["refunded"],
            r["total_price"],
            r["customer_order_index"],
        )
        for r in acme["shopify_orders"]
        if r["external_id"] in orders
    }
    assert {
        r["external_id"]: (
            r["gross_sales"],
            r["refunded"],
            r["total_price"],
            r["customer_order_index"],
        )
        for r in redacted_orders
    } == before_money
    # And the visits that led to them keep only the site, the UTMs and which click ids there were
    points = rows(
        """SELECT t.landing_page, t.referrer FROM touchpoints t
        JOIN customer_journeys j ON j.id = t.journey_id JOIN shopify_orders o ON o.id = j.order_id
        WHERE o.workspace_id = :w AND o.external_id = ANY(:o)""",
        w=ws,
        o=orders,
    )
    assert points
    for point in points:
        assert point["landing_page"] == privacy.scrub_url(point["landing_page"])
        assert "/products/" not in point["landing_page"]
        assert point["referrer"] is None or point["referrer"].count("/") == 3
    # And our pixel's events of the browsers that bought them: new anonymous ids, bare URLs
    events = rows(
        """SELECT event_id, anonymous_id, url, referrer, utm_campaign,
        order_external_id FROM pixel_events WHERE workspace_id = :w AND event_id LIKE 'browser-c%'
        ORDER BY event_id""",
        w=ws,
    )
    assert len(events) == 2 * len(orders)
    assert all(e["anonymous_id"].startswith("redacted:") for e in events)
    assert len({e["anonymous_id"] for e in events}) == len(orders)  # one per browser
    view = next(e for e in events if e["event_id"] == "browser-c0-view")
    assert view["url"] == (
        "https://northwindoutfitters.com/?utm_source=facebook"
        "&utm_medium=paid_social&utm_campaign=BFCM&fbclid=redacted"
    )
    assert view["referrer"] == "https://l.facebook.com/" and view["utm_campaign"] == "BFCM"
    # And nothing else of Acme changed; nothing of Globex at all (same ids, another shop)
    changed = changed_rows(acme, snapshot(ws))
    redacted_order_ids = {r["id"] for r in acme["shopify_orders"] if r["external_id"] in orders}
    # (the customer's cohort no longer holds the orders that point at nobody)
    assert set(changed) <= {
        "shopify_customers",
        "shopify_orders",
        "touchpoints",
        "pixel_events",
        "cohort_daily",
    }
    assert changed["shopify_customers"] == [(row["id"],)]
    assert set(changed["shopify_orders"]) == {(i,) for i in redacted_order_ids}
    assert not any(
        e["anonymous_id"] == "browser-someone-else" and e["event_id"].startswith("browser-c")
        for e in events
    )
    assert (
        scalar(
            "SELECT count(*) FROM pixel_events WHERE workspace_id = :w AND "
            "anonymous_id = 'browser-someone-else'",
            w=ws,
        )
        == 2
    )
    assert changed_rows(other, snapshot(globex.workspace_id)) == {}
    # And the audit log says what was done for whom, without the personal data itself
    [entry] = rows(
        "SELECT actor, target, details FROM audit_log WHERE action = 'privacy.customers_redact'"
    )
    assert entry["target"] == "shopify:northwind-outfitters.myshopify.com"
    details = entry["details"]
    assert (details["topic"], details["shop"], details["customer_id"]) == (
        "customers/redact",
        "northwind-outfitters.myshopify.com",
        str(numeric_id(customer)),
    )
    assert details["redacted"] == {
        "customers": 1,
        "orders": len(orders),
        "touchpoints": len(points),
        "pixel_events": 2 * len(orders),
        "browsers": len(orders),
    }
    stored = json.dumps(rows("SELECT * FROM audit_log"), default=str) + json.dumps(
        rows("SELECT * FROM shopify_webhook_deliveries"), default=str
    )
    assert email not in stored and "someone@example.com" not in stored


def test_redaction_changes_no_figure_and_no_attribution(receiver, world, sender):
    shop, _, customer, orders, _ = world
    ws = shop.workspace_id

    def credits():
        return rows(
            """SELECT o.external_id, a.model, a.window_days, a.mode, a.credit,
            t.source_kind, t.position, t.channel FROM attributions a
            JOIN shopify_orders o ON o.id = a.order_id
            LEFT JOIN touchpoints t ON t.id = a.touchpoint_id WHERE a.workspace_id = :w
            ORDER BY 1, 2, 3, 4, 6, 7""",
            w=ws,
        )

    store, before = snapshot(ws)["store_daily"], credits()
    receiver.deliver(sender.customers_redact(customer, orders, NOW))
    run_jobs()
    # When attribution is computed again from the redacted rows (as it is every night)
    attribute_workspace(ws)
    # Then every credit, channel and store figure is what it was
    assert credits() == before
    assert snapshot(ws)["store_daily"] == store
    # And the cohorts lost the orders no longer tied to the customer, as a rebuild counts them
    kept = snapshot(ws)["cohort_daily"]
    with transaction() as session:
        order_rollups.rebuild(session, ws)
    assert snapshot(ws)["cohort_daily"] == kept


def test_a_second_redaction_of_the_same_customer_changes_nothing(receiver, world, sender):
    shop, _, customer, orders, _ = world
    receiver.deliver(sender.customers_redact(customer, orders, NOW))
    run_jobs()
    after_first = snapshot(shop.workspace_id)
    # A new request for the same customer (another webhook id) finds nothing left to change
    receiver.deliver(sender.customers_redact(customer, orders, NOW + timedelta(days=1)))
    run_jobs()
    assert changed_rows(after_first, snapshot(shop.workspace_id)) == {}


def test_shop_redact_erases_the_shops_data_and_only_it(receiver, world, sender):
    shop, globex, _, _, _ = world
    other = snapshot(globex.workspace_id)
    # Given the app uninstalled, then shop/redact 48 hours later (as Shopify sends it; in real
    # time, which the reconnection check compares with the tokens' own times)
    uninstalled = datetime.now(UTC)
    receiver.deliver(sender.app_uninstalled(uninstalled))
    run_jobs()
    answer = receiver.deliver(sender.shop_redact(uninstalled + timedelta(hours=48)))
    assert answer.status_code == 200
    run_jobs()
    # Then every row of the shop is gone from Acme, the pixel's too (its only shop), and the
    # store rollup agrees with the (now empty) rows
    after = snapshot(shop.workspace_id)
    assert {table: len(found) for table, found in after.items() if found} == {}
    assert (
        scalar("SELECT count(*) FROM shopify_shops WHERE workspace_id = :w", w=shop.workspace_id)
        == 0
    )
    assert scalar("SELECT count(*) FROM tokens WHERE connection_id = :c", c=shop.id) == 0
    # And the connection stays, disconnected, saying why, with its history
    [connection] = rows("SELECT status, last_error FROM connections WHERE id = :c", c=shop.id)
    assert connection["status"] == "disconnected" and "shop/redact" in connection["last_error"]
    assert scalar("SELECT count(*) FROM sync_runs WHERE connection_id = :c", c=shop.id) == 1
    # And earlier deliveries keep no ids of the shop's data
    assert {
        json.dumps(r["details"])
        for r in rows("SELECT details FROM shopify_webhook_deliveries WHERE topic <> 'shop/redact'")
    } == {"{}"}
    # And Globex, holding the same ids under another shop, is untouched
    assert changed_rows(other, snapshot(globex.workspace_id)) == {}
    [entry] = rows("SELECT details FROM audit_log WHERE action = 'privacy.shop_redact'")
    assert entry["details"]["erased"]["orders"] == len(other["shopify_orders"])
    assert entry["details"]["erased"]["pixel_events"] == len(other["pixel_events"])
    assert entry["details"]["erased"]["skipped"] is None


def test_shop_redact_keeps_the_pixel_events_of_another_shop_of_the_workspace(
    receiver, world, sender, admin
):
    shop, _, _, _, _ = world
    add_connection(admin, "shopify", "second-store.myshopify.com", "shpat_second")
    browse_and_buy(shop.workspace_id, "browser-elsewhere", "gid://shopify/Order/1", NOW)
    receiver.deliver(sender.shop_redact(datetime.now(UTC)))
    run_jobs()
    # Only the browsers of the redacted shop's orders went
    assert [
        r["anonymous_id"]
        for r in rows(
            "SELECT DISTINCT anonymous_id FROM pixel_events WHERE workspace_id = :w",
            w=shop.workspace_id,
        )
    ] == ["browser-elsewhere"]


def test_shop_redact_for_a_shop_reconnected_since_is_skipped_and_logged(
    receiver, shop, fakes, admin, sender
):
    assert sync_connection(shop.workspace_id, shop.id, "shop").status == "success"
    orders = scalar("SELECT count(*) FROM shopify_orders")
    # Given a shop/redact triggered before the merchant reconnected the shop
    delivery = sender.shop_redact(NOW - timedelta(days=400))
    rotate_token(admin, shop.id, "shpat_after_reinstall")
    receiver.deliver(delivery)
    run_jobs()
    # Then nothing is erased, and the audit log says why
    assert scalar("SELECT count(*) FROM shopify_orders") == orders
    [entry] = rows("SELECT details FROM audit_log WHERE action = 'privacy.shop_redact'")
    assert "reconnected" in entry["details"]["erased"]["skipped"]


def test_a_data_request_is_logged_and_an_admin_can_export_what_we_hold(
    receiver, world, sender, admin, member
):
    shop, globex, customer, orders, email = world
    # When the customer asks the merchant for their data
    answer = receiver.deliver(
        sender.customers_data_request(customer, orders[:1], NOW, request_id=4242)
    )
    assert answer.status_code == 200
    run_jobs()
    # Then the request is in the audit log, with what we hold (counts, no data)
    [entry] = rows("SELECT details FROM audit_log WHERE action = 'privacy.customers_data_request'")
    details = entry["details"]
    assert (details["customer_id"], details["data_request_id"]) == (
        str(numeric_id(customer)),
        "4242",
    )
    assert details["held"]["orders"] == len(orders)
    assert details["held"]["customers"] == 1
    assert details["held"]["pixel_events"] == 2 * len(orders)
    assert details["export"] == "metricx.services.privacy.export_customer_data"
    # And an admin gets the export: the customer, their orders with lines, visits, pixel events
    export = privacy.export_customer_data(admin, shop.id, str(numeric_id(customer)))
    assert [c["external_id"] for c in export["customers"]] == [customer]
    assert [o["external_id"] for o in export["orders"]] == orders
    assert all(o["lines"] for o in export["orders"])
    assert {e["anonymous_id"] for e in export["pixel_events"]} == {
        f"browser-c{i}" for i in range(len(orders))
    }
    assert export["touchpoints"] and json.dumps(export)  # plain JSON
    assert rows("SELECT details FROM audit_log WHERE action = 'privacy.export'")[0]["details"][
        "exported"
    ]["orders"] == len(orders)
    # And nobody else does: a member, or an admin of another workspace
    with pytest.raises(PermissionDeniedError):
        privacy.export_customer_data(member, shop.id, customer)
    with pytest.raises(NotFoundError):
        privacy.export_customer_data(Actor.system(globex.workspace_id), shop.id, customer)
    assert email not in json.dumps(rows("SELECT * FROM audit_log"), default=str)


@pytest.mark.parametrize(
    "url, expected",
    [
        (
            "https://shop.test/products/boots?utm_source=facebook&utm_medium=paid&fbclid=Iw1"
            "&email=a%40b.c#x",
            "https://shop.test/?utm_source=facebook&utm_medium=paid&fbclid=redacted",
        ),
        (
            "https://user:pw@Shop.Test:8443/orders/tok123?gclid=abc&gclid=def",
            "https://shop.test:8443/?gclid=redacted",
        ),
        ("/products/boots?utm_campaign=BFCM+Boots&token=s3cret", "/?utm_campaign=BFCM+Boots"),
        ("https://shop.test/", "https://shop.test/"),
        (None, None),
        ("", ""),
    ],
)
def test_scrubbing_a_url_keeps_only_what_attribution_reads(url, expected):
    assert privacy.scrub_url(url) == expected
    assert privacy.scrub_url(expected) == expected  # twice is once
    if url:
        referrer = "https://www.google.com/search?q=my+name"
        assert classify(Visit("facebook", "paid", url, referrer)) == classify(
            Visit("facebook", "paid", privacy.scrub_url(url), privacy.origin_of(referrer))
        )


def test_every_column_of_the_customer_tables_has_a_privacy_decision():
    # A column added to these tables (an email, say) must be classified in COLUMN_POLICY
    for table, policy in privacy.COLUMN_POLICY.items():
        assert set(Base.metadata.tables[table].columns.keys()) == set(policy), table
