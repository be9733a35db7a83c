"""Email & SMS questions answered end to end (issue 18): the sandbox's Klaviyo account synced,
the question asked in words, the number checked against email_daily read directly and against
the sandbox email program's own truth, the definition stated with it."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sandbox_fixtures import NOW
from sqlalchemy import text

from metricx.copilot.service import CopilotAnswer, ask
from metricx.copilot.understanding import Conversation
from metricx.db import get_engine
from metricx.sandbox.email_program import EmailProgram
from metricx.semantic.catalogue import format_value, get_metric

TODAY = date(2026, 11, 20)  # a Friday; the synced email days are Nov 8-19
LAST_WEEK = (date(2026, 11, 9), date(2026, 11, 15))


def _total(answer: CopilotAnswer, metric: str) -> float:
    """The one total an unsplit answer shows."""
    assert answer.result is not None and len(answer.result.frame) == 1, answer.answer
    return float(answer.result.frame[metric].iloc[0])


def _email_daily(workspace_id: int, since: date, until: date, column: str) -> Decimal:
    """An email_daily column summed over local send days [since, until], read with SQL."""
    with get_engine().connect() as conn:
        total = conn.execute(
            text(
                f"SELECT COALESCE(SUM({column}), 0) FROM email_daily "
                "WHERE workspace_id = :ws AND day BETWEEN :since AND :until"
            ),
            {"ws": workspace_id, "since": since, "until": until},
        ).scalar_one()
    return Decimal(total)


def _currencies(workspace_id: int) -> set[str]:
    with get_engine().connect() as conn:
        rows = conn.execute(
            text("SELECT DISTINCT currency FROM email_daily WHERE workspace_id = :ws"),
            {"ws": workspace_id},
        )
        return {row[0] for row in rows}


def test_revenue_email_drove_last_week_is_the_klaviyo_revenue_of_those_send_days(
    email_synced, fakes
):
    # Given the sandbox's Klaviyo account synced for Nov 8-19
    workspace_id, _ = email_synced
    # When the merchant asks in words
    answer = ask(workspace_id, "how much revenue did email drive last week?", today=TODAY)
    # Then it is answered with Klaviyo's revenue over last week's Monday to Sunday
    assert answer.status == "answer", answer.answer
    query = answer.understanding.query
    assert query.metrics == ["email_revenue"]
    assert (query.time_range.start, query.time_range.end) == LAST_WEEK
    value = _total(answer, "email_revenue")
    # equal to email_daily summed with SQL, in the one currency the account reports in
    assert _currencies(workspace_id) == {answer.result.currency}
    expected = _email_daily(workspace_id, *LAST_WEEK, "conversion_value")
    assert expected > 0
    assert Decimal(str(value)).quantize(Decimal("0.01")) == expected.quantize(Decimal("0.01"))
    # and to what the sandbox's email program says Klaviyo reports
    truth = EmailProgram(fakes.merchant).daily(*LAST_WEEK, NOW)
    assert sum(s.conversion_cents for s in truth.values()) == int(expected * 100)
    # And the answer shows that number with the catalogue's definition of it
    assert format_value("email_revenue", value, answer.result.currency) in answer.answer
    assert get_metric("email_revenue").definition in answer.answer
    assert "Scope: your Klaviyo account's emails and texts." in answer.answer


def test_email_open_rate_is_email_opens_over_emails_delivered(email_synced):
    workspace_id, _ = email_synced
    answer = ask(workspace_id, "email open rate last week", today=TODAY)
    assert answer.status == "answer", answer.answer
    rate = _total(answer, "email_open_rate")
    with get_engine().connect() as conn:
        opens, delivered = conn.execute(
            text(
                "SELECT SUM(opens), SUM(delivered) FROM email_daily "
                "WHERE workspace_id = :ws AND channel = 'email' AND day BETWEEN :a AND :b"
            ),
            {"ws": workspace_id, "a": LAST_WEEK[0], "b": LAST_WEEK[1]},
        ).one()
    assert delivered > 0
    assert abs(rate - int(opens) / int(delivered)) < 1e-9


def test_a_follow_up_on_an_email_question_keeps_asking_about_email(email_synced):
    workspace_id, _ = email_synced
    conversation = Conversation()
    ask(workspace_id, "klaviyo revenue last week", conversation, today=TODAY)
    # When the merchant follows up with a generic word
    orders = ask(workspace_id, "and orders?", conversation, today=TODAY)
    # Then it is Klaviyo's orders of the same week, equal to email_daily's conversions
    assert orders.understanding.query.metrics == ["email_orders"]
    expected = _email_daily(workspace_id, *LAST_WEEK, "conversions")
    assert Decimal(str(_total(orders, "email_orders"))) == expected
    daily = ask(workspace_id, "daily please", conversation, today=TODAY)
    assert daily.understanding.query.grain == "day"
    assert len(daily.result.frame) == (LAST_WEEK[1] - LAST_WEEK[0] + timedelta(days=1)).days


def _channel_revenue(workspace_id: int, since: date, until: date) -> dict[str, Decimal]:
    """email_daily's conversion_value per channel over local send days [since, until]."""
    with get_engine().connect() as conn:
        rows = conn.execute(
            text(
                "SELECT channel, SUM(conversion_value) FROM email_daily "
                "WHERE workspace_id = :ws AND day BETWEEN :since AND :until GROUP BY channel"
            ),
            {"ws": workspace_id, "since": since, "until": until},
        )
        return {channel: Decimal(total) for channel, total in rows}


def test_sms_revenue_is_the_texts_revenue_alone_and_says_so(email_synced):
    # Given the synced Klaviyo account (emails and texts in one currency)
    workspace_id, _ = email_synced
    assert _currencies(workspace_id) == {"USD"}
    # When the merchant asks for SMS revenue
    answer = ask(workspace_id, "sms revenue last week", today=TODAY)
    # Then it is the SMS rows' revenue of last week, scoped to texts in words
    assert answer.status == "answer", answer.answer
    assert answer.understanding.query.filters.email_channel == ["sms"]
    by_channel = _channel_revenue(workspace_id, *LAST_WEEK)
    assert (
        Decimal(str(_total(answer, "email_revenue"))).quantize(Decimal("0.01")) == by_channel["sms"]
    )
    assert "texts (SMS)" in answer.answer


def test_email_vs_sms_revenue_shows_one_row_per_channel_adding_up_to_the_total(email_synced):
    # Given the synced Klaviyo account
    workspace_id, _ = email_synced
    # When the merchant asks for email vs SMS revenue
    answer = ask(workspace_id, "email vs sms revenue last week", today=TODAY)
    # Then each channel's row is its own revenue, and the rows add up to the total
    assert answer.status == "answer", answer.answer
    assert answer.result is not None
    frame = answer.result.frame.set_index("email_channel")
    by_channel = _channel_revenue(workspace_id, *LAST_WEEK)
    assert set(frame.index) == set(by_channel) == {"email", "sms"}
    for channel, revenue in by_channel.items():
        got = Decimal(str(frame.loc[channel, "email_revenue"])).quantize(Decimal("0.01"))
        assert got == revenue
    assert sum(by_channel.values()) == _email_daily(workspace_id, *LAST_WEEK, "conversion_value")
    # and the rows read as the channels' names
    assert "SMS" in answer.answer and "one row per channel" in answer.answer


def test_another_email_tool_is_refused_naming_the_one_metricx_reads(email_synced):
    workspace_id, _ = email_synced
    answer = ask(workspace_id, "mailchimp revenue last week", today=TODAY)
    assert answer.status == "refuse" and answer.result is None
    assert "Klaviyo" in answer.answer and "mailchimp" in answer.answer


def test_the_share_of_sales_from_email_divides_email_revenue_by_net_sales(synced, email_synced):
    # Given the shop and the ad accounts synced, and the Klaviyo account beside them
    workspace_id, _ = email_synced
    # When the merchant asks what share of sales email brought
    answer = ask(workspace_id, "what share of sales came from email last week", today=TODAY)
    # Then both figures are shown, and the share is the first over the second
    assert answer.understanding.query.metrics == ["email_revenue", "net_sales"]
    email, net = _total(answer, "email_revenue"), _total(answer, "net_sales")
    expected = _email_daily(workspace_id, *LAST_WEEK, "conversion_value")
    assert Decimal(str(email)).quantize(Decimal("0.01")) == expected.quantize(Decimal("0.01"))
    assert net > 0
    assert f"as a share of net sales: **{email / net:.1%}**" in answer.answer
    assert "Scope: the whole store, and your Klaviyo account's emails and texts." in answer.answer
