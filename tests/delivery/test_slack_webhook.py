"""Posting a message to a Slack incoming webhook: the payload's shape and limits (checked by
the fake as Slack checks them), and Slack's answers as DeliveryErrors."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from metricx.delivery.errors import DeliveryError
from metricx.delivery.message import Message
from metricx.delivery.slack import (
    MAX_BLOCKS,
    SANDBOX_WEBHOOK_URL,
    post_webhook,
    webhook_payload,
)
from metricx.sandbox.fakes.slack import FakeSlackServer

LINK = "http://localhost:8501/alerts"


@pytest.fixture(scope="module")
def server() -> Iterator[FakeSlackServer]:
    with FakeSlackServer() as fake:
        yield fake


@pytest.fixture
def slack(server: FakeSlackServer) -> FakeSlackServer:
    server.reset()
    return server


def alert(**changes: object) -> Message:
    fields: dict[str, object] = {
        "subject": "[Metricx] CAC above $70.00 today so far",
        "text": "CAC today so far: $75.20, above $70.00",
        "blocks": (
            {"type": "header", "text": {"type": "plain_text", "text": "CAC above $70.00"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "CAC today so far: $75.20"}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "fired 09:15 (EST)"}]},
        ),
        "link": LINK,
    }
    fields.update(changes)
    return Message(**fields)  # type: ignore[arg-type]


def test_the_payload_is_the_fallback_text_and_the_blocks_with_a_link_button(slack):
    # When an alert is posted to a webhook
    post_webhook(slack.webhook_url(), alert())
    # Then Slack received the text as the fallback and the blocks, plus a button to the page
    [received] = slack.messages
    assert received.text == "CAC today so far: $75.20, above $70.00"
    assert [b["type"] for b in received.blocks] == ["header", "section", "context", "actions"]
    [button] = received.blocks[-1]["elements"]
    assert button["type"] == "button" and button["url"] == LINK


def test_a_message_without_blocks_arrives_as_one_section_of_its_text(slack):
    post_webhook(slack.webhook_url(), alert(blocks=(), link=None))
    [received] = slack.messages
    assert received.blocks == [
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": "CAC today so far: $75.20, above $70.00"},
        }
    ]


def test_a_message_over_block_kits_limits_is_cut_to_fit_not_refused(slack):
    # Given a message of 80 sections, a 300-character header and a 5,000-character section
    blocks = (
        {"type": "header", "text": {"type": "plain_text", "text": "H" * 300}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "S" * 5000}},
        *({"type": "section", "text": {"type": "mrkdwn", "text": f"row {i}"}} for i in range(80)),
    )
    # When it is posted
    post_webhook(slack.webhook_url(), alert(blocks=blocks))
    # Then the fake (validating as Slack does) accepted it, within the limits
    [received] = slack.messages
    assert len(received.blocks) == MAX_BLOCKS
    assert len(received.blocks[0]["text"]["text"]) == 150
    assert len(received.blocks[1]["text"]["text"]) == 3000
    assert received.blocks[1]["text"]["text"].endswith("…")
    # And the head is kept, a note says what was left out, and the link button is last
    assert received.blocks[-2]["type"] == "context"
    assert "more parts left out" in received.blocks[-2]["elements"][0]["text"]
    assert received.blocks[-1]["elements"][0]["url"] == LINK


def test_the_link_is_not_added_twice_when_the_blocks_carry_it():
    blocks = (
        {"type": "section", "text": {"type": "mrkdwn", "text": "x"}},
        {
            "type": "actions",
            "elements": [
                {"type": "button", "text": {"type": "plain_text", "text": "Open"}, "url": LINK}
            ],
        },
    )
    assert len(webhook_payload(alert(blocks=blocks))["blocks"]) == 2


def test_a_rate_limit_is_transient_and_carries_retry_after(slack):
    slack.faults.add("slack", "rate_limit", retry_after=2)
    with pytest.raises(DeliveryError) as raised:
        post_webhook(slack.webhook_url(), alert())
    assert raised.value.transient and raised.value.retry_after == 2.0
    assert slack.messages == []


def test_a_server_error_is_transient(slack):
    slack.faults.add("slack", "server_error")
    with pytest.raises(DeliveryError) as raised:
        post_webhook(slack.webhook_url(), alert())
    assert raised.value.transient and "rollup_error" in str(raised.value)


@pytest.mark.parametrize(
    ("arrange", "code"),
    [
        (lambda s: s.faults.add("slack", "archived"), "channel_is_archived"),
        (lambda s: s.app.remove_hook("/services/TTEST/BTEST/secret"), "no_service"),
    ],
)
def test_an_archived_channel_or_a_revoked_webhook_is_permanent_and_says_so(slack, arrange, code):
    arrange(slack)
    with pytest.raises(DeliveryError) as raised:
        post_webhook(slack.webhook_url(), alert())
    assert not raised.value.transient
    assert code in str(raised.value) and "set a new" in str(raised.value)
    # And the webhook's secret never shows in the error
    assert "secret" not in str(raised.value)


def test_slack_out_of_reach_is_transient():
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(DeliveryError) as raised:
        post_webhook(f"http://127.0.0.1:{port}/services/T1/B1/x", alert())
    assert raised.value.transient


def test_the_sandbox_webhook_reaches_the_sandboxs_slack_wherever_it_serves(servers):
    # Given the demo's webhook, stored without any port (hooks.slack.com, team TSANDBOX)
    from metricx.sandbox.runtime import in_process_slack

    sandbox_slack = in_process_slack()
    sandbox_slack.reset()
    # When a message is posted to it
    post_webhook(SANDBOX_WEBHOOK_URL, alert())
    # Then the sandbox's fake Slack received it under the same webhook path
    [received] = sandbox_slack.messages
    assert received.hook == "/services/TSANDBOX/BSANDBOX/demo"
