"""Shopify webhooks: orders in within a minute, app/uninstalled, and the mandatory compliance
topics, received by a small Starlette app (`metricx webhooks`) beside the pixel collector.

The request does only what must happen before Shopify's 5-second deadline: verify the HMAC
(verify.py), read the headers (headers.py) and the topic's payload (topics.py), find the
connections of the shop (tenants.py), record the delivery once per connection, de-duplicated
on X-Shopify-Webhook-Id (deliveries.py), and put the work on RQ (intake.py): a debounced
incremental shop sync for order topics (freshness.py), a processing job for the others
(handlers.py, run by metricx.jobs.process_shopify_webhook). app.py is the HTTP surface.
"""
