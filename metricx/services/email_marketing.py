"""Email and SMS (Klaviyo) beside Metricx's own attribution, for the Attribution page.

Klaviyo credits an order to a message when the order follows an open or a click (or an SMS
delivery) within its attribution window, and books it on the message's send day; Metricx
credits an order to the visits of its journey (a Klaviyo link's visit carries
utm_source=klaviyo and utm_campaign = the campaign's or flow's name). Both are shown per
campaign or flow, by name: a weekly campaign's sends share one name, and links are tagged
with that name. Opens count as touches in Klaviyo, so its revenue overlaps the other
channels' and is the larger of the two.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pandas as pd
from sqlalchemy import Select, and_, func, select

from metricx.actor import Actor
from metricx.connectors.klaviyo import ATTRIBUTION_DAYS
from metricx.db import get_reader
from metricx.models import Attribution, Connection, EmailDaily, EmailMessage, Touchpoint
from metricx.platforms import EMAIL_PROVIDERS, PLATFORMS, listing
from metricx.semantic.compiler import Scope
from metricx.semantic.dates import today_in, utc_bounds
from metricx.semantic.engine import convert_daily
from metricx.semantic.query import Attribution as AttributionSettings
from metricx.semantic.query import TimeRange
from metricx.services import expenses
from metricx.services.attribution import channel_breakdown
from metricx.services.expenses import Expense
from metricx.services.workspaces import find_workspace

#: Klaviyo's default attribution windows (help.klaviyo.com "Understanding Klaviyo message
#: attribution", article 1260804504250); the API does not expose an account's own.
ATTRIBUTION_WINDOW = (
    f"{ATTRIBUTION_DAYS} days after an open or click, 12 hours after an SMS delivery "
    "(Klaviyo's defaults)"
)
#: The row of Metricx credits to Klaviyo links whose utm_campaign names no campaign or flow.
OTHER_LINKS = "Other Klaviyo links"
#: utm_source values of the email platforms' links (metricx.platforms), lowered.
_LINK_SOURCES = tuple(sorted(s for k in EMAIL_PROVIDERS for s in PLATFORMS[k].utm_sources))
COLUMNS = (
    "kind",
    "name",
    "channels",
    "recipients",
    "delivered",
    "opens",
    "clicks",
    "open_rate",
    "click_rate",
    "klaviyo_orders",
    "klaviyo_revenue",
    "metricx_orders",
    "metricx_revenue",
)

#: Klaviyo's sums per campaign or flow name (email_delivered: the open rate's denominator).
_PER_NAME = [*COLUMNS[:7], "email_delivered", "klaviyo_orders", "klaviyo_revenue"]


@dataclass(frozen=True)
class EmailPerformance:
    """Klaviyo's campaigns and flows over a range of days, its attributed orders beside
    Metricx's.

    `messages` has a row per campaign or flow name (COLUMNS; kind "other" for OTHER_LINKS):
    sends, unique opens and clicks and the orders and revenue Klaviyo attributes to the sends
    of those days (converted into the workspace currency at each day's rate), then what
    Metricx's attribution (`settings`, cash: on the order date) credits to visits from its
    links for orders placed in those days (order currency, as the channel split sums it).
    `open_rate` is opens ÷ delivered of email sends (an SMS has no opens), `click_rate`
    clicks ÷ delivered."""

    connected: bool
    currency: str
    start: date
    end: date
    settings: AttributionSettings
    messages: pd.DataFrame
    klaviyo_email_revenue: float
    klaviyo_sms_revenue: float
    metricx_email_revenue: float  # the channel split's email row (any email tool)
    window: str = ATTRIBUTION_WINDOW

    @property
    def klaviyo_revenue(self) -> float:
        return self.klaviyo_email_revenue + self.klaviyo_sms_revenue

    @property
    def klaviyo_orders(self) -> float:
        return float(self.messages["klaviyo_orders"].sum())

    @property
    def metricx_link_revenue(self) -> float:
        """What Metricx credits to visits from Klaviyo's links (part of the email channel)."""
        return float(self.messages["metricx_revenue"].sum())

    @property
    def ratio(self) -> float | None:
        """Klaviyo's revenue ÷ Metricx's email-channel revenue; None when the latter is 0."""
        if self.metricx_email_revenue == 0:
            return None
        return self.klaviyo_revenue / self.metricx_email_revenue

    @property
    def notice(self) -> str | None:
        """Why there is nothing to compare, in a sentence; None when there is."""
        names = listing(EMAIL_PROVIDERS)
        if not self.connected:
            return (
                f"Connect {names} on Connections to compare its attributed revenue with "
                "what Metricx credits to email."
            )
        if self.messages.empty:
            return (
                f"{names} reports no sends and Metricx credits no visit from its links "
                f"between {self.start:%b} {self.start.day}, {self.start.year} and "
                f"{self.end:%b} {self.end.day}, {self.end.year}."
            )
        return None


def _frame(statement: Select[*tuple[Any, ...]]) -> pd.DataFrame:
    with get_reader().connect() as conn:
        result = conn.execute(statement)
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def _connected(workspace_id: int) -> bool:
    found = _frame(
        select(func.count()).where(
            Connection.workspace_id == workspace_id, Connection.provider.in_(EMAIL_PROVIDERS)
        )
    )
    return bool(found.iloc[0, 0])


def _sends(workspace_id: int, start: date, end: date) -> pd.DataFrame:
    """The email platform's daily rows of [start, end] with their message's kind and name."""
    return _frame(
        select(
            EmailMessage.kind,
            func.trim(EmailMessage.name).label("name"),
            EmailDaily.message_id,
            EmailDaily.day,
            EmailDaily.channel,
            EmailDaily.currency,
            EmailDaily.recipients,
            EmailDaily.delivered,
            EmailDaily.opens,
            EmailDaily.clicks,
            EmailDaily.conversions,
            EmailDaily.conversion_value,
        )
        .join(
            EmailMessage,
            and_(
                EmailMessage.id == EmailDaily.message_id,
                EmailMessage.workspace_id == workspace_id,
            ),
        )
        .where(EmailDaily.workspace_id == workspace_id, EmailDaily.day.between(start, end))
    )


def _converted(scope: Scope, sends: pd.DataFrame) -> pd.Series:
    """Each daily row's conversion value in the workspace currency at its day's rate
    (MissingFxRateError names the days without one), as the P&L converts expenses."""
    keys = ["message_id", "channel", "currency"]
    groups = [(key, rows) for key, rows in sends.groupby(keys, sort=False)]
    amounts = convert_daily(
        scope,
        [
            (str(currency), rows.set_index("day")["conversion_value"].astype(float))
            for (_, _, currency), rows in groups
        ],
    )
    values = pd.Series(0.0, index=sends.index)
    for (_, rows), converted in zip(groups, amounts, strict=True):
        values[rows.index] = converted.to_numpy()
    return values


def _credited(scope: Scope, start: date, end: date, settings: AttributionSettings) -> pd.DataFrame:
    """Metricx's credits (orders, revenue) to visits from the email platform's links, per
    utm_campaign as tagged, of the orders placed in [start, end]."""
    lo, hi = utc_bounds(TimeRange(start=start, end=end), scope.timezone)
    campaign = Touchpoint.utm_campaign.label("utm_campaign")
    return _frame(
        select(
            campaign,
            func.sum(Attribution.credit).label("orders"),
            func.sum(Attribution.revenue).label("revenue"),
        )
        .select_from(Attribution)
        .join(
            Touchpoint,
            and_(
                Touchpoint.id == Attribution.touchpoint_id,
                Touchpoint.workspace_id == scope.workspace_id,
            ),
        )
        .where(
            Attribution.workspace_id == scope.workspace_id,
            Attribution.model == settings.model,
            Attribution.window_days == (settings.window_days or 0),
            Attribution.mode == "cash",
            Attribution.credited_at >= lo,
            Attribution.credited_at < hi,
            func.lower(func.trim(Touchpoint.utm_source)).in_(_LINK_SOURCES),
        )
        .group_by(campaign)
    )


def _names(workspace_id: int) -> pd.DataFrame:
    """Every campaign and flow name of the workspace's email accounts, campaigns first: a
    link tagged with a name both carry is credited to the campaign."""
    found = _frame(
        select(EmailMessage.kind, func.trim(EmailMessage.name).label("name"))
        .distinct()
        .where(EmailMessage.workspace_id == workspace_id)
    )
    return found.sort_values(["kind", "name"]).reset_index(drop=True)


def link_key(text: object) -> str:
    """What a link's utm_campaign and a message's name are compared by: trimmed, any case (a
    link without one, None or NaN in a frame, is "")."""
    return text.strip().casefold() if isinstance(text, str) else ""


def credits_per_message(names: Iterable[tuple[str, str]], credited: pd.DataFrame) -> pd.DataFrame:
    """Metricx's credits to links (`credited`: utm_campaign, orders, revenue) per campaign or
    flow: a link goes to the first of `names` ((kind, name), in order) its utm_campaign names
    (link_key), else to one OTHER_LINKS row (kind "other"). Columns: kind, name,
    metricx_orders, metricx_revenue; nothing is dropped or counted twice."""
    owners: dict[str, tuple[str, str]] = {}
    for kind, name in names:
        if link_key(name):  # an untagged link names nothing, not a message without a name
            owners.setdefault(link_key(name), (kind, name))
    totals: dict[tuple[str, str], list[float]] = {}
    for campaign, orders, revenue in zip(
        credited["utm_campaign"], credited["orders"], credited["revenue"], strict=True
    ):
        owner = owners.get(link_key(campaign), ("other", OTHER_LINKS))
        total = totals.setdefault(owner, [0.0, 0.0])
        total[0] += float(orders)
        total[1] += float(revenue)
    return pd.DataFrame(
        [(kind, name, orders, revenue) for (kind, name), (orders, revenue) in totals.items()],
        columns=["kind", "name", "metricx_orders", "metricx_revenue"],
        dtype=object,
    )


def _per_name(sends: pd.DataFrame) -> pd.DataFrame:
    """Klaviyo's numbers summed per (kind, name); `revenue` already converted."""
    if sends.empty:
        return pd.DataFrame(columns=_PER_NAME, dtype=object)
    sends = sends.assign(
        email_delivered=sends["delivered"].where(sends["channel"] == "email", 0),
        opens=sends["opens"].where(sends["channel"] == "email", 0),
    )
    return (
        sends.groupby(["kind", "name"], sort=False)
        .agg(
            channels=("channel", lambda c: ", ".join(sorted(set(c)))),
            recipients=("recipients", "sum"),
            delivered=("delivered", "sum"),
            opens=("opens", "sum"),
            clicks=("clicks", "sum"),
            email_delivered=("email_delivered", "sum"),
            klaviyo_orders=("conversions", "sum"),
            klaviyo_revenue=("revenue", "sum"),
        )
        .reset_index()
    )


def email_performance(
    workspace_id: int, start: date, end: date, settings: AttributionSettings | None = None
) -> EmailPerformance:
    """Klaviyo's campaigns and flows from `start` to `end` (inclusive): what Klaviyo
    attributes to their sends of those days beside what Metricx credits (`settings`, the
    default model and window when None) to visits from their links for orders placed in those
    days, in the workspace's days and currency."""
    settings = settings or AttributionSettings()
    scope = Scope.of(find_workspace(workspace_id))
    sends = _sends(workspace_id, start, end)
    sends["revenue"] = _converted(scope, sends) if len(sends) else 0.0
    per_name = _per_name(sends)
    credited = _credited(scope, start, end, settings)
    names = _names(workspace_id)
    metricx = credits_per_message(zip(names["kind"], names["name"], strict=True), credited)
    rows = per_name.merge(metricx, on=["kind", "name"], how="outer")
    counted = [c for c in COLUMNS[3:] if not c.endswith("_rate")] + ["email_delivered"]
    rows[counted] = rows[counted].astype(float).fillna(0.0)
    rows["channels"] = rows["channels"].fillna("")
    rows["open_rate"] = rows["opens"] / rows["email_delivered"].where(rows["email_delivered"] > 0)
    rows["click_rate"] = rows["clicks"] / rows["delivered"].where(rows["delivered"] > 0)
    rows = rows.sort_values(
        ["klaviyo_revenue", "metricx_revenue", "name"], ascending=[False, False, True]
    )
    # The catch-all row last, whatever it earned.
    rows = pd.concat([rows[rows["kind"] != "other"], rows[rows["kind"] == "other"]])
    by_channel = sends.groupby("channel")["revenue"].sum() if len(sends) else pd.Series()
    email_row = channel_breakdown(workspace_id, TimeRange(start=start, end=end), settings)
    return EmailPerformance(
        connected=_connected(workspace_id),
        currency=scope.currency,
        start=start,
        end=end,
        settings=settings,
        messages=rows[list(COLUMNS)].reset_index(drop=True),
        klaviyo_email_revenue=float(by_channel.get("email", 0.0)),
        klaviyo_sms_revenue=float(by_channel.get("sms", 0.0)),
        metricx_email_revenue=float(
            email_row.loc[email_row["channel"] == "email", "revenue"].sum()
        ),
    )


# ---- the subscription, in the P&L --------------------------------------------------------

#: The name of the monthly expense the Finance page offers to record.
SUBSCRIPTION_NAME = f"{listing(EMAIL_PROVIDERS)} subscription"


@dataclass(frozen=True)
class Subscription:
    """Whether the workspace has an email platform connected, and the expenses whose name
    mentions it (what the merchant pays for it, however they named it)."""

    connected: bool
    expenses: list[Expense]

    @property
    def missing(self) -> bool:
        """Connected, and nothing in the P&L says what it costs."""
        return self.connected and not self.expenses


def subscription(workspace_id: int) -> Subscription:
    names = [PLATFORMS[key].name.lower() for key in EMAIL_PROVIDERS]
    return Subscription(
        _connected(workspace_id),
        [
            e
            for e in expenses.list_expenses(workspace_id)
            if any(name in e.name.lower() for name in names)
        ],
    )


def add_subscription(actor: Actor, amount: object, now: datetime | None = None) -> Expense:
    """Record the email platform's subscription: `amount` a month in the workspace currency,
    prorated by day, from the first of the workspace's current month."""
    month_start = today_in(find_workspace(actor.workspace_id).timezone, now).replace(day=1)
    return expenses.add_expense(
        actor, name=SUBSCRIPTION_NAME, kind="monthly", amount=amount, start_date=month_start
    )
