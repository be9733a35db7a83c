"""The fake Slack incoming webhooks: answers, refusals and failures as Slack's, records kept."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from metricx.sandbox.fakes.slack import FakeSlackServer
from metricx.sandbox.servers import SandboxServers

HEADER = {"type": "header", "text": {"type": "plain_text", "text": "CAC above $70.00"}}
SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "CAC today so far: $75.20"}}


@pytest.fixture
def slack(tmp_path: Path) -> Iterator[FakeSlackServer]:
    with FakeSlackServer(record_dir=tmp_path / "slack") as server:
        yield server


def post(url: str, body: object) -> httpx.Response:
    return httpx.post(url, json=body, timeout=5)


def test_an_accepted_message_is_answered_ok_and_recorded_in_memory_and_as_a_file(slack, tmp_path):
    # Given a webhook of the fake
    url = slack.webhook_url("T123", "B456", "abc")
    # When a message with a fallback text and blocks is posted
    answer = post(url, {"text": "CAC above $70.00", "blocks": [HEADER, SECTION]})
    # Then Slack's success answer comes back: 200 and the body `ok`
    assert (answer.status_code, answer.text) == (200, "ok")
    # And the message is recorded with its webhook, in memory and as one JSON file
    [message] = slack.messages
    assert message.hook == "/services/T123/B456/abc"
    assert message.text == "CAC above $70.00" and message.blocks == [HEADER, SECTION]
    [file] = (tmp_path / "slack").glob("*.json")
    assert json.loads(file.read_text())["blocks"] == [HEADER, SECTION]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, "no_text"),
        ({"text": ""}, "no_text"),
        ("not an object", "invalid_payload"),
        ({"text": "x", "blocks": "nope"}, "invalid_blocks"),
        ({"text": "x", "blocks": [{"type": "marquee"}]}, "invalid_blocks"),
        ({"text": "x", "blocks": [SECTION] * 51}, "invalid_blocks"),
        (
            {"text": "x", "blocks": [{"type": "header", "text": {"type": "mrkdwn", "text": "h"}}]},
            "invalid_blocks",
        ),
        (
            {
                "text": "x",
                "blocks": [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}],
            },
            "invalid_blocks",
        ),
        (
            {
                "text": "x",
                "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "s" * 3001}}],
            },
            "invalid_blocks",
        ),
    ],
)
def test_a_message_slack_would_refuse_gets_400_with_slacks_error_code(slack, body, code):
    # When a malformed message is posted
    answer = post(slack.webhook_url(), body)
    # Then it is refused with Slack's code as the body, and nothing is recorded
    assert (answer.status_code, answer.text) == (400, code)
    assert slack.messages == []


def test_an_unknown_or_removed_webhook_is_no_service(slack):
    # Given a webhook removed (revoked), and a path that is no webhook at all
    slack.app.remove_hook("/services/T1/B1/gone")
    # When messages are posted to them
    gone = post(f"{slack.url}/services/T1/B1/gone", {"text": "hi"})
    nonsense = post(f"{slack.url}/services/nope", {"text": "hi"})
    # Then both are 404 no_service
    assert (gone.status_code, gone.text) == (404, "no_service")
    assert (nonsense.status_code, nonsense.text) == (404, "no_service")


def test_failures_on_demand_come_as_slack_sends_them_then_the_next_post_passes(slack):
    # Given a rate limit, a server error and an archived channel scripted
    slack.faults.add("slack", "rate_limit", retry_after=3)
    slack.faults.add("slack", "server_error")
    slack.faults.add("slack", "archived")
    url = slack.webhook_url()
    # When four messages are posted
    answers = [post(url, {"text": f"m{i}"}) for i in range(4)]
    # Then the first three fail as Slack fails, the fourth is accepted
    assert [(a.status_code, a.text) for a in answers] == [
        (429, "rate_limited"),
        (500, "rollup_error"),
        (410, "channel_is_archived"),
        (200, "ok"),
    ]
    assert answers[0].headers["retry-after"] == "3"
    # And only the accepted one is recorded
    assert [m.text for m in slack.messages] == ["m3"]


def test_the_sandbox_serves_slack_beside_the_other_fakes(tmp_path):
    # Given the sandbox's servers, recording Slack messages in a directory
    with SandboxServers(seed=1, ads=3, days=3, orders_per_day=2, slack_dir=tmp_path) as servers:
        url = f"{servers.env['SANDBOX_SLACK_URL']}/services/TSANDBOX/BSANDBOX/demo"
        # When a message is posted to the sandbox's Slack
        answer = post(url, {"text": "hello"})
        # Then it is accepted, recorded, and written under the directory
        assert answer.text == "ok"
        assert [m.text for m in servers.slack.messages] == ["hello"]
        assert len(list(tmp_path.glob("*.json"))) == 1
        # And a reset forgets it
        servers.reset()
        assert servers.slack.messages == []
