"""The Copilot page's "alert me": the rule it understood is shown with Save and Cancel; Save
adds it once (a second press is not possible), Cancel adds nothing."""

from __future__ import annotations

from sqlalchemy import select

from metricx.db import new_session
from metricx.models import AlertRule


def rules_in(workspace_id: int) -> list[AlertRule]:
    with new_session() as session:
        return list(
            session.scalars(select(AlertRule).where(AlertRule.workspace_id == workspace_id))
        )


def button(at, label: str):
    [found] = [b for b in at.button if b.label == label]
    return found


def test_a_member_saves_the_alert_the_copilot_proposes(member, member_app):
    at = member_app
    at.switch_page("views/copilot.py").run()
    # When the member asks for an alert
    at.chat_input[0].set_value("alert me if CAC goes above $70").run()
    assert not at.exception, at.exception
    # Then the page shows the rule in words and asks to save it; nothing is saved yet
    proposal = at.chat_message[1].markdown[0].value
    assert "NCPA is above \\$70.00 today so far" in proposal and "Save this alert?" in proposal
    assert "by email to bob@acme.test" in at.chat_message[1].caption[0].value
    assert rules_in(member.workspace_id) == []
    # When they press Save
    button(at, "Save alert").click().run()
    assert not at.exception, at.exception
    # Then one personal rule exists, the page says so and points to the Alerts page
    [row] = rules_in(member.workspace_id)
    assert (row.metric, row.condition, row.threshold) == ("ncpa", "above", 70)
    assert row.owner_id == member.user_id
    assert at.success[0].value.startswith("Saved as a personal rule of bob@acme.test")
    assert "Alerts" in "".join(c.value for c in at.caption) + "".join(
        str(link.proto.label) for link in at.get("page_link")
    )
    # and Save cannot be pressed a second time (AppTest refuses a click on it, as a browser
    # does); a rerun of the page saves nothing more
    assert button(at, "Save alert").disabled and button(at, "Cancel").disabled
    at.run()
    assert len(rules_in(member.workspace_id)) == 1


def test_cancel_saves_nothing(member, member_app):
    at = member_app
    at.switch_page("views/copilot.py").run()
    at.chat_input[0].set_value("ping me on Slack if ROAS drops below 2").run()
    button(at, "Cancel").click().run()
    assert not at.exception, at.exception
    assert rules_in(member.workspace_id) == []
    assert any("no alert was saved" in c.value for c in at.caption)
    assert button(at, "Save alert").disabled


def test_an_admin_saves_a_workspace_rule_unless_only_for_them(admin, admin_app):
    at = admin_app
    at.switch_page("views/copilot.py").run()
    at.chat_input[0].set_value("alert me if spend goes above $1,000").run()
    assert not at.exception, at.exception
    at.checkbox[0].check().run()
    button(at, "Save alert").click().run()
    assert not at.exception, at.exception
    [row] = rules_in(admin.workspace_id)
    assert row.owner_id == admin.user_id
