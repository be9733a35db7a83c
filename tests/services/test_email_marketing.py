"""Klaviyo beside Metricx's attribution (metricx.services.email_marketing) on the sandbox: what
Klaviyo reports per campaign and flow, converted; what Metricx credits to its links, by name;
links naming nothing go to one row; one workspace never sees another's; empty states."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sandbox_fixtures import CREDENTIALS, FIRST, LAST, NOW, eur_rate
from table_rows import execute, read

from metricx.attribution.compute import attribute_workspace
from metricx.db import transaction
from metricx.models import FxRate
from metricx.sandbox.email_program import EmailProgram
from metricx.semantic.query import TimeRange
from metricx.services import attribution
from metricx.services.connections import add_connection
from metricx.services.email_marketing import (
    OTHER_LINKS,
    credits_per_message,
    email_performance,
    link_key,
)
from metricx.services.users import actor_for, add_user
from metricx.sync.pipeline import sync_connection

# Metricx's last-click, 28-day credits (the default settings) to visits tagged
# utm_source=klaviyo, per utm_campaign as written, for orders placed on the workspace's days.
CREDITED = """SELECT t.utm_campaign, sum(a.credit)::float AS orders,
                     sum(a.revenue)::float AS revenue
              FROM attributions a JOIN touchpoints t ON t.id = a.touchpoint_id
              WHERE a.workspace_id = :ws AND a.model = 'last_click' AND a.window_days = 28
              AND a.mode = 'cash' AND lower(t.utm_source) = 'klaviyo'
              AND (a.credited_at AT TIME ZONE 'America/New_York')::date BETWEEN :a AND :b
              GROUP BY t.utm_campaign"""


@pytest.fixture
def compared(synced, email_synced) -> int:
    """The shop, ads and Klaviyo synced for FIRST..LAST in one workspace, orders attributed."""
    workspace_id, _ = synced
    attribute_workspace(workspace_id)
    return workspace_id


def klaviyo_truth(fakes, since: date = FIRST, until: date = LAST) -> dict:
    """{(campaign or flow name, channel): (orders, cents)} as the sandbox's Klaviyo reports."""
    program = EmailProgram(fakes.merchant)
    names = {c.external_id: c.name for c in program.campaigns} | {
        f.external_id: f.name for f in program.flows
    }
    out: dict = {}
    for (external_id, channel, _), stats in program.daily(since, until, NOW).items():
        orders, cents = out.get((names[external_id], channel), (0, 0))
        out[(names[external_id], channel)] = (
            orders + stats.conversions,
            cents + stats.conversion_cents,
        )
    return out


def test_klaviyo_revenue_is_what_klaviyo_reports_for_the_days(compared, fakes):
    # Given the sandbox's Klaviyo account synced for FIRST..LAST
    truth = klaviyo_truth(fakes)
    # When its performance is read for those days
    found = email_performance(compared, FIRST, LAST)
    rows = found.messages.set_index("name")
    # Then every campaign and flow carries Klaviyo's orders and revenue of its sends
    for name in {name for name, _ in truth}:
        orders = sum(o for (n, _), (o, _) in truth.items() if n == name)
        cents = sum(c for (n, _), (_, c) in truth.items() if n == name)
        assert rows.loc[name, "klaviyo_orders"] == orders
        assert rows.loc[name, "klaviyo_revenue"] == pytest.approx(cents / 100)
    # And the totals split email from SMS
    email = sum(c for (_, ch), (_, c) in truth.items() if ch == "email")
    sms = sum(c for (_, ch), (_, c) in truth.items() if ch == "sms")
    assert (found.klaviyo_email_revenue, found.klaviyo_sms_revenue) == pytest.approx(
        (email / 100, sms / 100)
    )
    assert sms > 0 and found.klaviyo_revenue == pytest.approx((email + sms) / 100)
    # And the rates are the sends' own: opens of email sends only
    newsletter = rows.loc["Weekly Newsletter"]
    assert newsletter["open_rate"] == pytest.approx(newsletter["opens"] / newsletter["delivered"])
    texts = rows.loc["Weekend Drop (SMS)"]
    assert texts["channels"] == "sms" and texts["opens"] == 0 and pd.isna(texts["open_rate"])
    assert texts["click_rate"] == pytest.approx(texts["clicks"] / texts["delivered"])


def test_klaviyo_revenue_is_converted_at_each_days_rate(compared, fakes):
    # Given Klaviyo reporting in EUR (the workspace reports in USD, with a rate every day)
    execute("UPDATE email_daily SET currency = 'EUR' WHERE workspace_id = :ws", ws=compared)
    program = EmailProgram(fakes.merchant)
    expected = sum(
        stats.conversion_cents / 100 * float(eur_rate(day))
        for (_, _, day), stats in program.daily(FIRST, LAST, NOW).items()
    )
    # When its performance is read
    found = email_performance(compared, FIRST, LAST)
    # Then each day's revenue is converted at that day's rate
    assert found.klaviyo_revenue == pytest.approx(expected)
    assert found.messages["klaviyo_revenue"].sum() == pytest.approx(expected)


def test_metricx_credits_each_message_what_its_links_earned(compared):
    # Given Metricx's credits to Klaviyo links, read back independently
    credited = read(CREDITED, ws=compared, a=FIRST, b=LAST).set_index("utm_campaign")
    assert len(credited) > 1
    # When the performance is read
    found = email_performance(compared, FIRST, LAST)
    rows = found.messages.set_index("name")
    # Then each campaign or flow has the credits of the links tagged with its name
    for name, credit in credited.iterrows():
        assert rows.loc[name, "metricx_orders"] == pytest.approx(credit.orders)
        assert rows.loc[name, "metricx_revenue"] == pytest.approx(credit.revenue)
    assert OTHER_LINKS not in rows.index
    # And the email channel's revenue is the channel split's email row, which holds them
    split = attribution.channel_breakdown(compared, TimeRange(start=FIRST, end=LAST))
    email = split.loc[split["channel"] == "email", "revenue"].sum()
    assert found.metricx_email_revenue == pytest.approx(email)
    assert found.metricx_link_revenue == pytest.approx(credited.revenue.sum())
    assert found.metricx_link_revenue <= found.metricx_email_revenue + 0.01
    # And Klaviyo's own number is the larger: opens count as touches there
    assert found.klaviyo_revenue > found.metricx_email_revenue
    assert found.ratio == pytest.approx(found.klaviyo_revenue / email)


def test_links_are_matched_by_name_whatever_the_case_and_others_go_to_one_row(compared):
    before = email_performance(compared, FIRST, LAST).messages.set_index("name")
    # Given newsletter links tagged in another case with spaces, and winback links renamed
    # to a campaign Klaviyo does not have
    execute("""UPDATE touchpoints SET utm_campaign = '  weekly NEWSLETTER '
               WHERE utm_campaign = 'Weekly Newsletter'""")
    execute("""UPDATE touchpoints SET utm_campaign = 'Spring Teaser'
               WHERE utm_campaign = 'Winback 60d'""")
    # When the performance is read
    after = email_performance(compared, FIRST, LAST).messages.set_index("name")
    # Then the newsletter keeps its credits, and the winback's went to "Other Klaviyo links"
    newsletter = ["metricx_orders", "metricx_revenue"]
    assert list(after.loc["Weekly Newsletter", newsletter]) == pytest.approx(
        list(before.loc["Weekly Newsletter", newsletter])
    )
    assert before.loc["Winback 60d", "metricx_revenue"] > 0
    assert after.loc["Winback 60d", "metricx_revenue"] == 0
    assert after.loc[OTHER_LINKS, "metricx_revenue"] == pytest.approx(
        before.loc["Winback 60d", "metricx_revenue"]
    )
    assert after.index[-1] == OTHER_LINKS and after.loc[OTHER_LINKS, "kind"] == "other"
    # And nothing was lost or counted twice
    assert after["metricx_revenue"].sum() == pytest.approx(before["metricx_revenue"].sum())


def test_another_workspace_never_sees_this_ones_numbers(compared, fakes, other_workspace):
    # Given a second workspace (EUR) with the same Klaviyo account synced for three days only
    boss = actor_for(add_user(other_workspace.id, "gus@globex.test", "hunter two", role="admin"))
    with transaction() as session:
        for offset in range(-1, 5):
            day = FIRST + timedelta(days=offset)
            session.add(
                FxRate(
                    workspace_id=other_workspace.id,
                    day=day,
                    from_currency="USD",
                    to_currency="EUR",
                    rate=0.5,
                )
            )
    account = EmailProgram(fakes.merchant).account_id
    connection = add_connection(boss, "klaviyo", account, CREDENTIALS.klaviyo_private_key)
    until = FIRST + timedelta(days=2)
    outcome = sync_connection(
        other_workspace.id, connection.id, "range", start=FIRST, end=until, now=NOW
    )
    assert outcome.status == "success", outcome.error
    # When each workspace reads the whole range
    theirs = email_performance(other_workspace.id, FIRST, LAST)
    ours = email_performance(compared, FIRST, LAST)
    # Then each has its own days only, in its own currency, and its own credits only
    three_days = sum(c for _, c in klaviyo_truth(fakes, FIRST, until).values())
    everything = sum(c for _, c in klaviyo_truth(fakes).values())
    assert theirs.klaviyo_revenue == pytest.approx(three_days / 100 * 0.5)
    assert ours.klaviyo_revenue == pytest.approx(everything / 100)
    assert theirs.currency == "EUR" and theirs.metricx_link_revenue == 0
    assert theirs.metricx_email_revenue == 0 and theirs.ratio is None
    assert ours.metricx_link_revenue > 0


def test_without_klaviyo_the_page_is_told_to_connect_it(synced):
    workspace_id, _ = synced
    attribute_workspace(workspace_id)
    found = email_performance(workspace_id, FIRST, LAST)
    assert not found.connected
    assert found.notice is not None and found.notice.startswith(
        "Connect Klaviyo on Connections to compare"
    )
    # And what Metricx credits to Klaviyo's links is still there, to show beside nothing
    assert found.klaviyo_revenue == 0 and found.metricx_link_revenue > 0


def test_a_period_without_sends_says_so(email_synced):
    workspace_id, _ = email_synced
    found = email_performance(workspace_id, date(2026, 10, 1), date(2026, 10, 7))
    assert found.connected and found.messages.empty
    assert found.notice == (
        "Klaviyo reports no sends and Metricx credits no visit from its links between "
        "Oct 1, 2026 and Oct 7, 2026."
    )


MESSAGES = st.lists(
    st.tuples(st.sampled_from(["campaign", "flow"]), st.text(max_size=12)), max_size=6
)


@st.composite
def tagged_links(draw):
    """Message names, and credits to links tagged with some of them (in any case, padded
    with spaces) or with anything else."""
    names = draw(MESSAGES)
    named = [name for _, name in names]
    tags = st.one_of(
        st.none(),
        st.text(max_size=12),
        *(
            [
                st.sampled_from(named).flatmap(
                    lambda n: st.sampled_from([n, n.upper(), n.lower(), f"  {n} "])
                )
            ]
            if named
            else []
        ),
    )
    rows = draw(
        st.lists(
            st.tuples(tags, st.floats(0, 5, allow_nan=False), st.floats(0, 500, allow_nan=False)),
            max_size=8,
        )
    )
    return names, pd.DataFrame(rows, columns=["utm_campaign", "orders", "revenue"])


@given(tagged_links())
def test_every_link_credit_goes_to_exactly_one_row(links):
    # Given message names and Metricx's credits to links, however they are tagged
    names, credited = links
    # When they are set per message
    found = credits_per_message(names, credited)
    # Then nothing is dropped or counted twice, and each row is a message or the catch-all
    assert found["metricx_revenue"].sum() == pytest.approx(credited["revenue"].sum())
    assert found["metricx_orders"].sum() == pytest.approx(credited["orders"].sum())
    assert not found.duplicated(["kind", "name"]).any()
    keys = {link_key(name) for _, name in names} - {""}  # untagged links name nothing
    for campaign, revenue in zip(credited["utm_campaign"], credited["revenue"], strict=True):
        if revenue > 0 and link_key(campaign) in keys:
            # And a link naming a message (any case, padded) is credited to the first of
            # that name
            kind, name = next(m for m in names if link_key(m[1]) == link_key(campaign))
            row = found[(found["kind"] == kind) & (found["name"] == name)]
            assert len(row) == 1 and row["metricx_revenue"].iloc[0] >= revenue - 1e-9
    unmatched = [link_key(c) not in keys for c in credited["utm_campaign"]]
    assert (OTHER_LINKS in set(found["name"])) == any(unmatched)
