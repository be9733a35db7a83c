"""Email & SMS metrics (Klaviyo) through the metric engine, against email_daily read back here
and against what the sandbox's Klaviyo account reports (EmailProgram).

Email facts are summed per send day from email_daily, inside one workspace, money converted
at the rate of its day; rates are ratios of sums; like store metrics they belong to no ad,
so ad dimensions and ad filters are refused with the store metrics' reasons.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from decimal import Decimal

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sandbox_fixtures import FIRST, LAST, NOW
from sqlalchemy import text

from metricx.db import get_engine, transaction
from metricx.models import Connection, EmailDaily, EmailMessage, FxRate
from metricx.sandbox.email_program import EmailProgram
from metricx.semantic.catalogue import get_metric, is_store_level
from metricx.semantic.engine import run_query
from metricx.semantic.fetch import MissingFxRateError
from metricx.semantic.query import QueryValidationError

SUMS = {
    "email_revenue": "conversion_value",
    "email_orders": "conversions",
    "email_recipients": "recipients",
    "email_delivered": "delivered",
    "email_opens": "opens",
    "email_clicks": "clicks",
}
RATIOS = {
    "email_open_rate": ("email_opens", "emails_delivered"),
    "email_click_rate": ("email_clicks", "email_delivered"),
    "email_revenue_per_recipient": ("email_revenue", "email_recipients"),
}
METRICS = [*SUMS, *RATIOS]


def email_rows(workspace_id: int) -> pd.DataFrame:
    """The workspace's email_daily rows, read here with plain SQL."""
    with get_engine().connect() as conn:
        return pd.read_sql(
            text(
                "SELECT day, channel, currency, recipients, delivered, opens, clicks, "
                "conversions, conversion_value FROM email_daily WHERE workspace_id = :ws"
            ),
            conn,
            params={"ws": workspace_id},
        )


def bucket(day: date, grain: str | None) -> str:
    if grain == "week":
        day -= timedelta(days=day.weekday())
    elif grain == "month":
        day = day.replace(day=1)
    elif grain is None:
        return "total"
    return day.isoformat()


def expected(
    rows: pd.DataFrame,
    start: date,
    end: date,
    grain: str | None,
    rates: dict[tuple[str, date], float] | None = None,
) -> pd.DataFrame:
    """Every metric per bucket of start..end, summed and divided here: money at the rate of
    its day (1 in the workspace currency), empty buckets as 0, x/0 empty."""
    rows = rows[(rows.day >= start) & (rows.day <= end)].copy()
    rate = [(rates or {}).get((c, d), 1.0) for c, d in zip(rows.currency, rows.day, strict=True)]
    rows["email_revenue"] = rows.conversion_value.astype(float) * rate
    for metric, column in SUMS.items():
        if metric != "email_revenue":
            rows[metric] = rows[column].astype(float)
    rows["emails_delivered"] = rows.delivered.where(rows.channel == "email", 0).astype(float)
    rows["bucket"] = [bucket(d, grain) for d in rows.day]
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    every = list(dict.fromkeys(bucket(d, grain) for d in days))
    sums = rows.groupby("bucket")[[*SUMS, "emails_delivered"]].sum().reindex(every).fillna(0.0)
    for metric, (top, bottom) in RATIOS.items():
        sums[metric] = [
            t / b if b else math.nan for t, b in zip(sums[top], sums[bottom], strict=True)
        ]
    return sums


def answer(workspace_id: int, start: date, end: date, grain: str | None, **more) -> pd.DataFrame:
    """The engine's rows of every email metric (and any other asked for), by bucket."""
    metrics = more.pop("metrics", METRICS)
    query = {
        "metrics": metrics,
        "time_range": {"start": start.isoformat(), "end": end.isoformat(), **more},
        "grain": grain,
    }
    frame = run_query(workspace_id, query).frame
    return frame.set_index(grain) if grain else frame.set_index(pd.Index(["total"]))


def assert_same(got: pd.DataFrame, want: pd.DataFrame, metrics=METRICS) -> None:
    assert list(got.index) == list(want.index)
    for metric in metrics:
        pd.testing.assert_series_equal(
            got[metric].astype(float), want[metric], check_names=False, rtol=1e-9
        )


@pytest.mark.parametrize("grain", [None, "day", "week"])
def test_email_metrics_are_the_sums_of_email_daily_and_what_klaviyo_reports(
    email_synced, fakes, grain
):
    # given the sandbox's Klaviyo account synced for FIRST..LAST
    workspace_id, _ = email_synced
    program = EmailProgram(fakes.merchant)

    # when every email metric is asked for the period, as a total, by day and by week
    got = answer(workspace_id, FIRST, LAST, grain)

    # then each equals the email_daily rows summed here (rates as ratios of the sums)
    rows = email_rows(workspace_id)
    assert set(rows.currency) == {program.currency}
    assert_same(got, expected(rows, FIRST, LAST, grain))

    # and the sums are what Klaviyo reports for those send days
    truth: dict[str, dict[str, float]] = {}
    for (_, _, day), stats in program.daily(FIRST, LAST, NOW).items():
        cell = truth.setdefault(bucket(day, grain), dict.fromkeys(SUMS, 0.0))
        cell["email_revenue"] += stats.conversion_cents / 100
        cell["email_orders"] += stats.conversions
        cell["email_recipients"] += stats.recipients
        cell["email_delivered"] += stats.delivered
        cell["email_opens"] += stats.opens
        cell["email_clicks"] += stats.clicks
    for key, sums in truth.items():
        for metric, value in sums.items():
            assert got.loc[key, metric] == pytest.approx(value, rel=1e-9), (key, metric)
    assert got["email_revenue"].sum() > 0 and got["email_open_rate"].notna().all()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    first=st.integers(0, (LAST - FIRST).days),
    length=st.integers(1, (LAST - FIRST).days + 1),
    grain=st.sampled_from([None, "day", "week", "month"]),
)
def test_open_and_click_rates_are_ratios_of_the_period_sums(email_synced, first, length, grain):
    # given the synced account and any range of days inside FIRST..LAST
    workspace_id, _ = email_synced
    start = FIRST + timedelta(days=first)
    end = min(start + timedelta(days=length - 1), LAST)

    # when the rates are asked for by any grain
    got = answer(workspace_id, start, end, grain)

    # then each bucket's rate is Σ opens (clicks) ÷ Σ delivered over its days, emails
    # alone for the open rate, never an average of daily rates
    assert_same(got, expected(email_rows(workspace_id), start, end, grain))


def test_email_and_store_metrics_share_the_buckets_without_changing_each_other(
    synced, email_synced
):
    # given the shop, the ad accounts and the Klaviyo account synced in one workspace
    workspace_id, _ = email_synced

    # when email revenue and net sales are asked together by week
    both = answer(workspace_id, FIRST, LAST, "week", metrics=["email_revenue", "net_sales", "mer"])

    # then the email revenue is email_daily's, and net sales and MER are what they are alone
    alone = answer(workspace_id, FIRST, LAST, "week", metrics=["net_sales", "mer"])
    assert_same(both, expected(email_rows(workspace_id), FIRST, LAST, "week"), ["email_revenue"])
    assert_same(both, alone.astype(float), ["net_sales", "mer"])


def add_email_account(
    workspace_id: int, rows: list[tuple[date, str, str, int, int, int, int, int, str]]
) -> None:
    """A Klaviyo connection of the workspace with one campaign and its email_daily rows:
    (day, channel, currency, recipients, delivered, opens, clicks, orders, revenue)."""
    with transaction() as session:
        connection = Connection(
            workspace_id=workspace_id,
            provider="klaviyo",
            external_account_id=f"acct-{workspace_id}",
            name="Other store's Klaviyo",
            currency="USD",
            timezone="Europe/Berlin",
        )
        session.add(connection)
        session.flush()
        message = EmailMessage(
            workspace_id=workspace_id,
            connection_id=connection.id,
            kind="campaign",
            external_id="01JOTHERCAMPAIGN",
            name="Weekly Newsletter",
            channel="email",
        )
        session.add(message)
        session.flush()
        for day, channel, currency, recipients, delivered, opens, clicks, orders, value in rows:
            session.add(
                EmailDaily(
                    message_id=message.id,
                    day=day,
                    channel=channel,
                    workspace_id=workspace_id,
                    connection_id=connection.id,
                    currency=currency,
                    recipients=recipients,
                    delivered=delivered,
                    opens=opens,
                    clicks=clicks,
                    conversions=orders,
                    conversion_value=Decimal(value),
                )
            )


OTHER_ROWS = [
    (FIRST, "email", "USD", 1000, 980, 400, 60, 7, "812.40"),
    (FIRST, "sms", "USD", 300, 290, 0, 25, 3, "150.00"),
    (FIRST + timedelta(days=1), "email", "EUR", 500, 500, 150, 20, 2, "99.99"),
]


def test_another_workspaces_email_rows_never_show(email_synced, other_workspace):
    # given the synced account in one workspace, and another workspace (EUR) with its own
    # Klaviyo rows in dollars and euros and the dollar's rates into euros
    workspace_id, _ = email_synced
    before = answer(workspace_id, FIRST, LAST, "day")
    add_email_account(other_workspace.id, OTHER_ROWS)
    rates = {("USD", FIRST + timedelta(days=i)): 0.9 + i / 100 for i in range(3)}
    with transaction() as session:
        for (currency, day), rate in rates.items():
            session.add(
                FxRate(
                    workspace_id=other_workspace.id,
                    day=day,
                    from_currency=currency,
                    to_currency="EUR",
                    rate=Decimal(str(rate)),
                )
            )

    # when each workspace asks for its email metrics
    mine = answer(workspace_id, FIRST, LAST, "day")
    theirs = answer(other_workspace.id, FIRST, LAST, "day")

    # then the first sees exactly what it saw before, and the other only its own rows, its
    # dollars at the day's rate into euros
    pd.testing.assert_frame_equal(mine, before)
    own = email_rows(other_workspace.id)
    assert len(own) == len(OTHER_ROWS)
    assert_same(theirs, expected(own, FIRST, LAST, "day", rates))
    assert theirs.loc[FIRST.isoformat(), "email_revenue"] == pytest.approx(962.4 * 0.9)
    assert theirs.loc[FIRST.isoformat(), "email_open_rate"] == pytest.approx(400 / 980)
    assert theirs.loc[FIRST.isoformat(), "email_click_rate"] == pytest.approx(85 / 1270)
    assert theirs["email_orders"].sum() == 12


def test_dollars_on_a_day_without_a_rate_are_never_converted_at_one(other_workspace):
    # given dollars in a euro workspace on a day with no USD→EUR rate
    add_email_account(other_workspace.id, OTHER_ROWS[:1])

    # when email revenue is asked / then the error names the missing rate
    with pytest.raises(MissingFxRateError, match=f"USD→EUR on {FIRST.isoformat()}"):
        answer(other_workspace.id, FIRST, LAST, None, metrics=["email_revenue"])
    # and counts need no rate
    counts = answer(other_workspace.id, FIRST, LAST, None, metrics=["email_opens"])
    assert counts.loc["total", "email_opens"] == 400


def refusal(workspace_id: int, **query) -> str:
    span = {"start": FIRST.isoformat(), "end": LAST.isoformat()}
    with pytest.raises(QueryValidationError) as refused:
        run_query(workspace_id, {"time_range": span, **query})
    return str(refused.value)


@pytest.mark.parametrize(
    ("asked", "clash"),
    [
        ({"dimensions": ["campaign"]}, "ad dimensions (campaign)"),
        ({"dimensions": ["provider"]}, "ad dimensions (provider)"),
        ({"filters": {"provider": ["meta"]}}, "ad filters"),
        ({"filters": {"name_contains": "Sale"}}, "ad filters"),
    ],
)
def test_an_ad_dimension_or_filter_is_refused_as_for_store_metrics(workspace, asked, clash):
    # given an ad split or filter / when asked with an email metric, and with a store one
    email = refusal(workspace.id, metrics=["email_revenue", "spend"], **asked)
    store = refusal(workspace.id, metrics=["net_sales", "spend"], **asked)

    # then both are refused for the same clash, each naming whose figures they are
    assert f"email metrics (email_revenue) are incompatible with {clash}" in email
    assert "Klaviyo's figures belong to no ad platform or campaign" in email
    assert f"store-level metrics (net_sales) are incompatible with {clash}" in store
    # and a query mixing them names both
    both = refusal(workspace.id, metrics=["email_clicks", "orders"], **asked)
    assert "store-level metrics (orders)" in both and "email metrics (email_clicks)" in both
    assert all(is_store_level(m) for m in METRICS)


def test_a_filter_on_every_platform_is_no_filter_for_email_as_for_store(email_synced):
    # given the synced account / when the provider filter lists every ad platform
    workspace_id, _ = email_synced
    query = {
        "metrics": ["email_revenue", "orders"],
        "time_range": {"start": FIRST.isoformat(), "end": LAST.isoformat()},
        "filters": {"provider": ["meta", "google", "tiktok"]},
    }

    # then it restricts nothing: the totals are the unfiltered ones
    got = run_query(workspace_id, query).frame
    assert got.loc[0, "email_revenue"] == pytest.approx(
        expected(email_rows(workspace_id), FIRST, LAST, None).loc["total", "email_revenue"]
    )


def test_email_metrics_have_no_hourly_rows_and_cannot_be_restricted_to_a_platform(workspace):
    # given hourly grain / then refused: Klaviyo reports per send day
    hourly = refusal(workspace.id, metrics=["email_opens", "spend"], grain="hour")
    assert "email metrics (email_opens) have no hourly rows" in hourly

    # and a custom metric restricting an email figure to a platform is refused like a store one
    custom = {"metrics": {"meta_email": {"label": "x", "formula": "email_revenue[provider=meta]"}}}
    restricted = refusal(workspace.id, metrics=["meta_email"], custom=custom)
    assert "'email_revenue', a Klaviyo figure that belongs to no platform" in restricted


def test_a_day_cut_at_a_clock_time_leaves_its_email_figures_empty(email_synced):
    # given the synced account / when the period stops at noon of its last day
    workspace_id, _ = email_synced
    cut = answer(workspace_id, FIRST, LAST, "day", until="12:00:00")
    result = run_query(
        workspace_id,
        {
            "metrics": ["email_revenue", "orders"],
            "time_range": {"start": FIRST.isoformat(), "end": LAST.isoformat(), "until": "12:00"},
        },
    )

    # then the whole days are as without the cut, and the cut day is empty, never undercounted
    whole = answer(workspace_id, FIRST, LAST, "day")
    days = [d.isoformat() for d in pd.date_range(FIRST, LAST - timedelta(days=1)).date]
    pd.testing.assert_frame_equal(cut.loc[days], whole.loc[days])
    assert cut.loc[LAST.isoformat(), METRICS].isna().all()
    # and a total over the cut is empty too, with the reason beside it; store figures stay
    assert math.isnan(result.frame.loc[0, "email_revenue"])
    assert "Klaviyo reports email and SMS per send day" in result.withheld["email_revenue"]
    assert "orders" not in result.withheld


def test_definitions_say_what_klaviyo_counts_and_how_it_credits():
    for metric_id in METRICS:
        definition = get_metric(metric_id).definition
        assert "Klaviyo-reported" in definition and "send day" in definition, metric_id
    revenue = get_metric("email_revenue").definition
    for words in ("5 days after an email open or click", "12 hours after an SMS delivery"):
        assert words in revenue
    assert "overlaps other channels" in revenue and "an open counts as a touch" in revenue
    assert get_metric("email_open_rate").unit == "percent"


# --- email vs SMS: the email_channel dimension and filter -------------------------------------


def by_channel(workspace_id: int, grain: str | None, **more) -> pd.DataFrame:
    """The engine's rows of every email metric per (channel, bucket)."""
    query = {
        "metrics": METRICS,
        "time_range": {"start": FIRST.isoformat(), "end": LAST.isoformat()},
        "grain": grain,
        "dimensions": ["email_channel"],
        **more,
    }
    frame = run_query(workspace_id, query).frame
    frame["bucket"] = frame[grain] if grain else "total"
    return frame.set_index(["email_channel", "bucket"]).sort_index()


@pytest.mark.parametrize("grain", [None, "day", "week"])
def test_a_split_by_email_channel_is_each_channels_own_sums(email_synced, grain):
    # given the synced account, whose program sends both emails and texts
    workspace_id, _ = email_synced
    rows = email_rows(workspace_id)
    assert set(rows.channel) == {"email", "sms"}

    # when the email metrics are split by channel
    got = by_channel(workspace_id, grain)

    # then each channel's rows are the sums and ratios of its own email_daily rows
    for channel in ("email", "sms"):
        want = expected(rows[rows.channel == channel], FIRST, LAST, grain)
        # a bucket with no send of the channel has no row (as an ad split shows no empty row)
        want = want.loc[[b for b in want.index if (channel, b) in got.index]]
        assert_same(got.loc[channel], want)
    # and a filter on one channel gives that channel's rows alone
    texts = run_query(
        workspace_id,
        {
            "metrics": METRICS,
            "time_range": {"start": FIRST.isoformat(), "end": LAST.isoformat()},
            "filters": {"email_channel": ["sms"]},
        },
    ).frame
    assert_same(
        texts.set_index(pd.Index(["total"])),
        expected(rows[rows.channel == "sms"], FIRST, LAST, None),
    )


def test_the_channels_add_up_to_the_unsplit_total_and_texts_have_no_open_rate(email_synced):
    # given the synced account / when split by channel and asked whole
    workspace_id, _ = email_synced
    split = by_channel(workspace_id, None)
    whole = answer(workspace_id, FIRST, LAST, None)

    # then every sum of the two rows adds up to the total
    for metric in SUMS:
        assert split[metric].sum() == pytest.approx(whole.loc["total", metric], rel=1e-9)
    # and texts have no opens: the SMS open rate is empty (null in the contract), never 0
    assert math.isnan(split.loc[("sms", "total"), "email_open_rate"])
    assert split.loc[("sms", "total"), "email_opens"] == 0
    assert split.loc[("email", "total"), "email_open_rate"] == pytest.approx(
        whole.loc["total", "email_open_rate"]
    )
    contract = run_query(
        workspace_id,
        {
            "metrics": ["email_open_rate"],
            "time_range": {"start": FIRST.isoformat(), "end": LAST.isoformat()},
            "filters": {"email_channel": ["sms"]},
        },
    ).to_contract()
    assert contract["rows"] == [[None]]


@pytest.mark.parametrize(
    "asked",
    [
        {"dimensions": ["email_channel"]},
        {"filters": {"email_channel": ["sms"]}},
    ],
)
@pytest.mark.parametrize("other", ["net_sales", "spend", "attributed_revenue"])
def test_the_email_channel_is_refused_with_store_or_ad_metrics(workspace, asked, other):
    # given a split or filter by email channel / when a store or ad metric is asked beside
    refused = refusal(workspace.id, metrics=["email_revenue", other], **asked)

    # then it is refused naming the metric that has no channel
    assert "applies to email metrics only" in refused
    assert f"not {other}: store and ad figures have no email or SMS channel" in refused


def test_the_email_channel_mixed_with_an_ad_dimension_names_the_ad_dimension(workspace):
    # given email metrics split by channel and by campaign / then the campaign is the clash
    refused = refusal(workspace.id, metrics=["email_revenue"], dimensions=["email_channel", "ad"])
    assert "email metrics (email_revenue) are incompatible with ad dimensions (ad)" in refused
    # and an unknown channel is refused by name
    odd = refusal(workspace.id, metrics=["email_revenue"], filters={"email_channel": ["push"]})
    assert "filters.email_channel[0]: unknown email_channel 'push'" in odd
