"""What happens to one POST before Shopify's deadline: verify, read, record, enqueue.

Shopify allows 1 second to connect and 5 seconds in all, then retries the delivery 8 times
over 4 hours (https://shopify.dev/docs/apps/build/webhooks/subscribe/https; changelog
"Updates to webhook retry mechanism"), so nothing slow happens here: syncs and redactions run
on RQ workers. Steps, cheapest refusal first:

1. the signature (401 when missing or wrong: "If a mandatory compliance webhook sends a
   request with an invalid Shopify HMAC header, then the app must return a 401", https://
   shopify.dev/docs/apps/build/compliance/privacy-law-compliance), checked with the secret of
   each connection of the shop the header names (tenants.py);
2. the headers and the JSON body (400: Shopify sends JSON, "a JSON body and Content-Type
   application/json", same page; a signed body that is not JSON was damaged on the way, and a
   non-2xx makes Shopify send it again, so refusing loses nothing);
3. a topic we do not handle, or a shop with no connection here: 200 and a log line, nothing
   stored (the app must "confirm that you've received the request by responding with a 200
   series status code" even when it holds no data about the shop);
4. the delivery recorded once per connection (deliveries.py: a replay answers 200, does
   nothing), then the work enqueued: a debounced shop sync for order topics (freshness.py), a
   processing job for the others (handlers.py).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from rq.exceptions import DuplicateJobError

from metricx.asgi import Rejected
from metricx.jobs import process_shopify_webhook
from metricx.queue import get_queue
from metricx.sync.scheduling import RETRY
from metricx.webhooks import deliveries, freshness, tenants, topics, verify
from metricx.webhooks.headers import WebhookHeaders, shop_domain

log = logging.getLogger("metricx.webhooks")
PROCESS_QUEUE = "default"
STALE_AFTER = timedelta(days=1)  # "receiving webhooks up to a day late" (best practices)


@dataclass(frozen=True)
class Outcome:
    """The 200 answer: accepted (work enqueued), duplicate (a replay) or ignored."""

    status: str
    reason: str
    deliveries: int = 0

    def to_json(self) -> dict[str, object]:
        return {"status": self.status, "reason": self.reason, "deliveries": self.deliveries}


def _payload(body: bytes) -> object:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, ValueError) as error:
        raise Rejected(400, f"malformed JSON body: {error}"[:200]) from None


def accept(raw_headers: Mapping[str, str], body: bytes) -> Outcome:
    """Handle one delivery (blocking: database and Redis). Raises Rejected for a 4xx."""
    domain = shop_domain(raw_headers.get("x-shopify-shop-domain"))
    targets = tenants.targets_for(domain)
    secrets = tenants.candidate_secrets(targets)
    if not secrets:
        log.error(
            "webhook for %s refused: SHOPIFY_CLIENT_SECRET is not set, nothing to verify it with",
            domain or "an unnamed shop",
        )
        raise Rejected(401, "cannot verify the signature: no app secret is configured")
    signed_by = verify.matching_secrets(raw_headers.get("x-shopify-hmac-sha256"), body, secrets)
    if not signed_by:
        raise Rejected(401, "missing or invalid X-Shopify-Hmac-Sha256")
    headers = WebhookHeaders.parse(raw_headers)
    payload = _payload(body)
    context = f"{headers.topic} for {headers.shop_domain} (webhook {headers.webhook_id})"
    if headers.topic not in topics.HANDLED:
        log.info("ignored %s: not a topic Metricx handles", context)
        return Outcome("ignored", f"topic {headers.topic} is not handled")
    details = topics.details_of(headers.topic, payload, headers.shop_domain)
    if headers.triggered_at and datetime.now(UTC) - headers.triggered_at > STALE_AFTER:
        log.warning(
            "%s was triggered at %s: more than a day late",
            context,
            headers.triggered_at.isoformat(),
        )
    applies = [t for t in targets if t.secret in signed_by]
    if not applies:
        log.info("ignored %s: no connection of this shop trusts its signature", context)
        return Outcome("ignored", "no connection for this shop")
    pending = deliveries.record(headers, details, applies)
    if not pending:
        return Outcome("duplicate", "this webhook was delivered before")
    for item in pending:
        _enqueue(headers.topic, item)
    log.info("accepted %s for %d connection(s)", context, len(pending))
    return Outcome("accepted", "queued", len(pending))


def _enqueue(topic: str, item: deliveries.Pending) -> None:
    if topic in topics.ORDER_TOPICS:
        sync = freshness.request_shop_sync(item.workspace_id, item.connection_id)
        deliveries.mark(
            item.delivery_id,
            "debounced" if sync.debounced else "queued",
            job_id=sync.job_id,
            only_from="received",
        )
        return
    job_id = f"shopify-webhook-{item.delivery_id}"
    # DuplicateJobError: another copy of this delivery got it onto the queue first.
    with suppress(DuplicateJobError):
        get_queue(PROCESS_QUEUE).enqueue(
            process_shopify_webhook,
            item.workspace_id,
            item.delivery_id,
            job_id=job_id,
            unique=True,
            retry=RETRY,
            job_timeout=3600,
            result_ttl=7 * 86400,
            failure_ttl=30 * 86400,
            description=f"{topic} for connection {item.connection_id}",
        )
    deliveries.mark(item.delivery_id, "queued", job_id=job_id, only_from="received")
