"""Alert rules from the `metricx` command, on the synced sandbox merchant (workspace "Acme",
New York, Nov 8 - 19, 2026): added, listed, tested and deleted as a script would; money
written as everywhere else; bad input refused in one line on stderr with exit 1; another
workspace's rule is not found."""

from __future__ import annotations

import json

import pytest
from plain_errors import refused

from metricx.semantic.catalogue import format_value
from metricx.semantic.engine import run_query

#: 10:07 in New York on Nov 20: yesterday is the last synced day.
NOW = "2026-11-20T10:07-05:00"


def spend_by_platform(workspace_id: int) -> dict[str, float]:
    frame = run_query(
        workspace_id,
        {
            "metrics": ["spend"],
            "time_range": {"start": "2026-11-19", "end": "2026-11-19"},
            "dimensions": ["provider"],
        },
    ).frame
    return dict(zip(frame["provider"], frame["spend"], strict=True))


def test_a_rule_is_added_listed_tested_and_deleted(ok, synced):
    workspace_id, _ = synced
    spend = spend_by_platform(workspace_id)
    threshold = round(sum(spend.values()) / 2, 2)
    # Given a daily 08:00 rule on yesterday's spend per platform, added from the command line
    added = ok(
        "alert", "add", "Spend by platform", "-w", "Acme", "--metric", "spend",
        "--above", str(threshold), "--period", "yesterday", "--split", "provider",
        "--schedule", "daily", "--at", "8", "--email", "Ops@Acme.test", "--slack",
    )  # fmt: skip
    # Then it reads back in words, money as the pages write it
    money = format_value("spend", threshold, "USD")
    assert added.startswith(
        f"Saved alert rule #1 'Spend by platform' (workspace rule): Ad spend above {money} "
        "yesterday, by provider, daily at 08:00; next run "
    )
    # And it is listed, with its fields for scripts
    assert "#1  Spend by platform  Ad spend above" in ok("alert", "list", "-w", "Acme")
    [listed] = json.loads(ok("alert", "list", "-w", "Acme", "--json"))
    assert {
        k: listed[k] for k in ("id", "owner", "metric", "split", "threshold", "local_hour")
    } == {
        "id": 1,
        "owner": None,
        "metric": "spend",
        "split": "provider",
        "threshold": threshold,
        "local_hour": 8,
    }
    assert listed["channels"] == [{"kind": "email", "to": "ops@acme.test"}, {"kind": "slack"}]
    # When it is tested as at 10:07 on Nov 20
    tested = json.loads(ok("alert", "test", "-w", "Acme", "1", "--now", NOW, "--json"))
    # Then each platform's spend is the engine's, and the ones above the threshold fire
    assert tested["period"] == {"start": "2026-11-19", "end": "2026-11-19"}
    assert {e["split_label"]: e["value"] for e in tested["evaluations"]} == spend
    assert {e["split_label"] for e in tested["evaluations"] if e["fires"]} == {
        p for p, v in spend.items() if v > threshold
    }
    # And the readable form marks them, with the money formatted
    shown = ok("alert", "test", "-w", "Acme", "1", "--now", NOW)
    assert "(2026-11-19 – 2026-11-19, America/New_York)" in shown
    for provider, value in spend.items():
        marker = "FIRES" if value > threshold else "     "
        line = f"{marker}  Ad spend yesterday ({provider}): {format_value('spend', value, 'USD')}"
        assert line in shown
    # When it is deleted, it is gone
    assert ok("alert", "delete", "-w", "Acme", "1") == "Deleted alert rule #1.\n"
    assert json.loads(ok("alert", "list", "-w", "Acme", "--json")) == []


def test_a_personal_rule_names_its_owner(ok, run, member, other_workspace):
    # Given a member's rule added for them
    added = ok(
        "alert", "add", "Mine", "-w", "Acme", "--metric", "roas", "--falls-by", "25",
        "--owner", "bob@acme.test",
    )  # fmt: skip
    # Then it is theirs, measured against the previous period
    assert (
        "(personal rule of bob@acme.test): ROAS (platform-reported) falls by 25% vs the "
        "previous period today so far, every 15 minutes; next run"
    ) in added
    # And nobody outside the workspace can own one here
    assert "no user 'bob@acme.test' in workspace Globex" in refused(
        run, "alert", "add", "X", "-w", "Globex", "--metric", "spend", "--above", "1",
        "--owner", "bob@acme.test",
    )  # fmt: skip


@pytest.mark.parametrize(
    "args, said",
    [
        (
            ("--metric", "spend"),
            "give one condition: --above, --below, --rises-by, --falls-by or --anomalous",
        ),
        (("--metric", "spend", "--above", "1", "--below", "2"), "give one condition"),
        (("--metric", "spend", "--above", "NaN"), "threshold: must be a number between"),
        (("--metric", "spend", "--above", "1e400"), "threshold: must be a number between"),
        (("--metric", "spnd", "--above", "1"), "unknown metric 'spnd' (did you mean 'spend'"),
        (("--metric", "spend", "--above", "1", "--schedule", "daily", "--at", "25"), "0 to 23"),
        (("--metric", "spend", "--above", "1", "--at", "8"), "local_hour is for daily rules"),
        (("--metric", "spend", "--above", "1", "--period", "forever"), "unknown period"),
        (("--metric", "spend", "--above", "1", "--email", "nobody"), "not an email address"),
        (("--metric", "spend", "--above", "1", "--cooldown", "soon"), "cooldown_minutes"),
        (("--metric", "orders", "--above", "1", "--split", "provider"), "store-level metrics"),
    ],
)
def test_a_bad_rule_is_refused_in_one_line(run, workspace, args, said):
    assert said in refused(run, "alert", "add", "Bad", "-w", "Acme", *args)


def test_bad_or_foreign_rule_ids_are_refused(ok, run, workspace, other_workspace):
    # Given a rule of Acme
    ok("alert", "add", "Spend", "-w", "Acme", "--metric", "spend", "--above", "100")
    # Then Globex neither tests nor deletes it, and ids that are not ids are refused
    for command in ("test", "delete"):
        assert "no alert rule 1 in this workspace" in refused(
            run, "alert", command, "-w", "Globex", "1"
        )
    assert "the rule id must be a whole number" in refused(
        run, "alert", "delete", "-w", "Acme", "x"
    )
    assert "the rule id must be between 1 and" in refused(
        run, "alert", "test", "-w", "Acme", "9" * 30
    )
    # And a test time must say its offset
    assert "needs its offset" in refused(
        run, "alert", "test", "-w", "Acme", "1", "--now", "2026-11-20T10:00"
    )
    assert "is not a time" in refused(run, "alert", "test", "-w", "Acme", "1", "--now", "noon")
    # While Acme still has it
    assert [r["id"] for r in json.loads(ok("alert", "list", "-w", "Acme", "--json"))] == [1]


@pytest.mark.parametrize("command", ["add", "list", "test", "delete"])
def test_every_alert_command_explains_itself(ok, command):
    assert "--workspace" in ok("alert", command, "--help")


def test_the_copilot_proposes_an_alert_and_saves_it_only_when_confirmed(ok, synced):
    # Given an alert request asked from the command line
    asked = ok("ask", "-w", "Acme", "alert me if spend goes above $500")
    # Then the rule is proposed, not saved
    assert "(not saved: add --confirm to save it)" in asked
    assert "No alert rules yet" in ok("alert", "list", "-w", "Acme")
    # When it is asked again with --confirm
    confirmed = ok("ask", "-w", "Acme", "--confirm", "alert me if spend goes above $500")
    # Then one workspace rule watches spend above $500.00
    assert "Saved as a workspace rule" in confirmed
    [rule] = json.loads(ok("alert", "list", "-w", "Acme", "--json"))
    assert (rule["metric"], rule["condition"], rule["threshold"]) == ("spend", "above", 500.0)
