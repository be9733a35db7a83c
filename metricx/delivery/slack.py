"""Slack through incoming webhooks: a `Message` as a webhook payload, posted with httpx.

The payload is `{"text": <fallback>, "blocks": [...]}`: Slack shows the blocks and uses
`text` in notifications and where blocks cannot be shown
(https://api.slack.com/messaging/webhooks). Block Kit's limits are checked before posting
and over-long parts are cut, not refused (https://api.slack.com/reference/block-kit/blocks):
a message of more blocks than Slack takes, or a section longer than it takes, still arrives.

Errors follow "Handling errors" of https://api.slack.com/messaging/webhooks: success is HTTP
200 with the body `ok`; a 4xx carries a code as its body (`invalid_payload`, `no_text`,
`invalid_blocks`, `action_prohibited`, `invalid_token`, `no_service`, `channel_not_found`,
`channel_is_archived`, ...) and will fail again the same way (permanent); 429 is the rate
limit (about one message per second per webhook, https://api.slack.com/docs/rate-limits)
with `Retry-After` in seconds, and 5xx (`rollup_error`, ...) or a network failure may pass
later (transient).

The sandbox's webhooks: a workspace of the demo stores a URL on Slack's own host under the
reserved team id `TSANDBOX` (SANDBOX_WEBHOOK_URL). The fake Slack's port changes with every
`metricx up`, so the stored URL names no port: at send time its host is replaced by wherever
the sandbox's Slack fake serves now (metricx.sandbox.runtime.sandbox_slack_url). No real
Slack team has the id TSANDBOX (real ids are T + upper-case letters and digits from Slack),
and only the sandbox's URL is ever rewritten.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx

from metricx.delivery.errors import DeliveryError
from metricx.delivery.message import Message

SLACK_HOST = "hooks.slack.com"
WEBHOOK_PATH_PREFIX = "/services/"
SANDBOX_TEAM = "TSANDBOX"
#: The demo workspace's webhook: resolved to the sandbox's Slack fake at send time.
SANDBOX_WEBHOOK_URL = f"https://{SLACK_HOST}/services/{SANDBOX_TEAM}/BSANDBOX/demo"
TIMEOUT_SECONDS = 15.0

# Block Kit limits (https://api.slack.com/reference/block-kit/blocks and the pages of each
# block type): what a message may hold.
MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_CONTEXT_TEXT = 2000
MAX_BUTTON_TEXT = 75
MAX_BUTTON_URL = 3000
# The top-level `text` is truncated by Slack past 40,000 characters
# (https://api.slack.com/methods/chat.postMessage#truncating); we cut first, with a mark.
MAX_FALLBACK_TEXT = 40_000
ELLIPSIS = "…"


def is_sandbox_webhook(url: str) -> bool:
    """Whether `url` is a webhook of the sandbox's Slack (the reserved team TSANDBOX)."""
    parts = urlsplit(url)
    return parts.path.startswith(f"{WEBHOOK_PATH_PREFIX}{SANDBOX_TEAM}/")


def resolve_webhook(url: str) -> str:
    """Where to POST: the URL itself, or for the sandbox's team the same path on the
    sandbox's Slack fake as it serves now."""
    if not is_sandbox_webhook(url):
        return url
    from metricx.sandbox.runtime import sandbox_slack_url  # the demo only

    return sandbox_slack_url().rstrip("/") + urlsplit(url).path


def escape_mrkdwn(text: str) -> str:
    """Text shown as written in mrkdwn: Slack reads &, < and > as markup
    (https://api.slack.com/reference/surfaces/formatting#escaping)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cut(text: str, limit: int) -> str:
    """`text` within `limit` characters: whole, or cut with an ellipsis (Slack's and email
    subjects' limits)."""
    if len(text) <= limit:
        return text
    return text[: limit - len(ELLIPSIS)].rstrip() + ELLIPSIS


def _cut_text_object(obj: Any, limit: int) -> Any:
    if isinstance(obj, dict) and isinstance(obj.get("text"), str):
        return {**obj, "text": cut(obj["text"], limit)}
    return obj


def _fit_block(block: dict[str, Any]) -> dict[str, Any]:
    """One block within its type's limits (text cut with an ellipsis)."""
    kind = block.get("type")
    fitted = dict(block)
    if kind == "header":
        fitted["text"] = _cut_text_object(block.get("text"), MAX_HEADER_TEXT)
    elif kind == "section":
        if "text" in block:
            fitted["text"] = _cut_text_object(block["text"], MAX_SECTION_TEXT)
        if isinstance(block.get("fields"), list):  # at most 10 fields of 2000 characters
            fitted["fields"] = [_cut_text_object(f, 2000) for f in block["fields"][:10]]
    elif kind == "context" and isinstance(block.get("elements"), list):
        fitted["elements"] = [
            _cut_text_object(e, MAX_CONTEXT_TEXT) for e in block["elements"][:MAX_CONTEXT_ELEMENTS]
        ]
    elif kind == "actions" and isinstance(block.get("elements"), list):
        fitted["elements"] = [
            {**e, "text": _cut_text_object(e.get("text"), MAX_BUTTON_TEXT)}
            if e.get("type") == "button"
            else e
            for e in block["elements"][:25]
        ]
    return fitted


def link_block(url: str, label: str = "Open in Metricx") -> dict[str, Any]:
    """An actions block with one link button (a button with a `url` opens it,
    https://api.slack.com/reference/block-kit/block-elements#button)."""
    return {
        "type": "actions",
        "elements": [
            {
                "type": "button",
                "text": {"type": "plain_text", "text": cut(label, MAX_BUTTON_TEXT)},
                "url": url,
            }
        ],
    }


def _links_to(blocks: list[dict[str, Any]], url: str) -> bool:
    """Whether a button or an accessory of `blocks` already opens `url`."""
    for block in blocks:
        elements = block.get("elements")
        if isinstance(elements, list) and any(
            isinstance(e, dict) and e.get("url") == url for e in elements
        ):
            return True
        accessory = block.get("accessory")
        if isinstance(accessory, dict) and accessory.get("url") == url:
            return True
    return False


def webhook_payload(message: Message) -> dict[str, Any]:
    """The JSON body for an incoming webhook: the fallback text and the blocks, within
    Block Kit's limits; the message's link as a button when its blocks do not carry it."""
    # The fallback text is mrkdwn too: a campaign named <!channel> must not ping anyone.
    text = cut(escape_mrkdwn(message.text or message.subject), MAX_FALLBACK_TEXT)
    blocks = [_fit_block(dict(b)) for b in message.blocks]
    if not blocks:
        blocks = [
            {"type": "section", "text": {"type": "mrkdwn", "text": cut(text, MAX_SECTION_TEXT)}}
        ]
    if message.link and len(message.link) <= MAX_BUTTON_URL and not _links_to(blocks, message.link):
        blocks.append(link_block(message.link))
    if len(blocks) > MAX_BLOCKS:
        # Keep the head and the last block (the link, the "when"), say what was left out.
        dropped = len(blocks) - MAX_BLOCKS + 1
        note = {
            "type": "context",
            "elements": [
                {"type": "mrkdwn", "text": f"{dropped} more parts left out; open Metricx for all"}
            ],
        }
        blocks = [*blocks[: MAX_BLOCKS - 2], note, blocks[-1]]
    return {"text": text, "blocks": blocks}


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return max(0.0, float(response.headers.get("retry-after", "")))
    except ValueError:
        return None


def post_webhook(
    url: str, message: Message, *, transport: httpx.BaseTransport | None = None
) -> None:
    """Post `message` to a Slack incoming webhook; DeliveryError when it was not accepted
    (`transient` for 429, 5xx and network failures). The URL is a secret: never in errors."""
    target = resolve_webhook(url)
    try:
        with httpx.Client(
            timeout=httpx.Timeout(TIMEOUT_SECONDS, connect=10.0), transport=transport
        ) as client:
            response = client.post(target, json=webhook_payload(message))
    except httpx.TimeoutException:
        raise DeliveryError("Slack did not answer in time", transient=True) from None
    except httpx.HTTPError as exc:
        raise DeliveryError(
            f"Slack could not be reached ({type(exc).__name__})", transient=True
        ) from None
    body = response.text.strip()
    code = body[:80] or f"HTTP {response.status_code}"
    if response.status_code == 200:
        return
    if response.status_code == 429:
        raise DeliveryError(
            "Slack rate-limited the webhook (about one message per second)",
            transient=True,
            retry_after=_retry_after(response),
        )
    if response.status_code >= 500:
        raise DeliveryError(f"Slack failed ({response.status_code} {code})", transient=True)
    raise DeliveryError(
        f"Slack refused the message ({response.status_code} {code}): {_hint(code)}",
        transient=False,
    )


def _hint(code: str) -> str:
    """What a person can do about a webhook error code (the docs' "Handling errors")."""
    if code in ("no_service", "invalid_token", "action_prohibited", "no_team", "team_disabled"):
        return "the webhook was removed or disabled; set a new one under Alerts"
    if code in ("channel_not_found", "channel_is_archived"):
        return "the webhook's channel is gone or archived; set a new webhook under Alerts"
    return "the message was not accepted"
