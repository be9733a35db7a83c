"""The sandbox merchant's Klaviyo account: campaigns, flows, their daily sends and engagement,
and the orders Klaviyo attributes to them.

Everything is a pure function of the merchant's seed, the day and `as_of`: sends and
engagement come from seeded draws; conversions come from the shop's own orders, credited the
way Klaviyo's message attribution does it (help.klaviyo.com "Understanding Klaviyo message
attribution", article 1260804504250): last touch among the messages whose attribution window
is still open when the order is placed, with the defaults of accounts created after
2024-10-09 -- 5 days after an email open or click, 5 days after an SMS click, 12 hours after
an SMS delivery. An order is credited to the *send day* of the message (reporting follows the
send date: developers.klaviyo.com "Reporting API overview"), so a day's conversions keep
growing for the window after it.

Because an open counts as a touch, Klaviyo credits many orders whose last site visit came
from somewhere else: its attributed revenue is larger than the revenue of orders last-touched
by utm_source=klaviyo, which is the comparison Metricx shows.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from threading import Lock

from metricx.sandbox import rand
from metricx.sandbox.calendar import local_date, progress, zone
from metricx.sandbox.clock import as_utc
from metricx.sandbox.merchant import Merchant
from metricx.sandbox.orders import Order
from metricx.sandbox.patterns import WEEKDAY_ORDERS, season

EMAIL, SMS = "email", "sms"
# Klaviyo's default attribution windows (help.klaviyo.com article 1260804504250, accounts
# created on or after 2024-10-09): email open or click 5 days, SMS delivery 12 hours (and SMS
# click 5 days: the sandbox's journeys tag email links only, so no SMS click is modelled).
EMAIL_WINDOW = timedelta(days=5)
SMS_DELIVERY_WINDOW = timedelta(hours=12)
# Share of a shop's identified buyers (last visit not from Klaviyo) who had opened an email or
# received an SMS within its window before ordering: the sandbox's choice, in the range
# Shopify merchants see (Klaviyo-attributed revenue of 20-40% of store revenue).
OPEN_CREDIT_SHARE = 0.24
# Of those, the share credited to the latest campaign when one is in its window (the rest
# to a flow message: cart, browse, welcome...).
CAMPAIGN_CREDIT_SHARE = 0.55
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ALPHANUM = "ABCDEFGHIJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"


def ulid(seed: int, *keys: object) -> str:
    """A 26-character id in Crockford base32 like Klaviyo's campaign and message ids
    ("01GMRWDSA0ARTAKE1SFX8JGXAY" in the Reporting API examples)."""
    value = int(rand.digits(seed, 36, "ulid", *keys))
    body = "".join(CROCKFORD[(value >> (5 * i)) % 32] for i in range(23))
    return "01J" + body


def short_id(seed: int, *keys: object) -> str:
    """A 6-character id like Klaviyo's flow, metric and account ids ("XVTP5Q", "RESQ6t")."""
    u = rand.uniforms(seed, "short-id", *keys)
    return "".join(ALPHANUM[int(x * len(ALPHANUM))] for x in u[:6])


@dataclass(frozen=True)
class Message:
    """A campaign message or a flow message (an email or a text)."""

    external_id: str
    parent_id: str  # the campaign's or the flow's id
    kind: str  # campaign | flow
    name: str
    channel: str  # email | sms


@dataclass(frozen=True)
class Campaign:
    """One send of one message to a list, at `send_time` (UTC), scheduled at `created_at`."""

    external_id: str
    name: str
    channel: str
    created_at: datetime
    send_time: datetime
    audience: int  # recipients before the day's noise
    message: Message

    def status(self, as_of: datetime) -> str:
        return "Sent" if self.send_time <= as_of else "Scheduled"


@dataclass(frozen=True)
class Flow:
    """An automation sending every day; `utm_name` is how its links are tagged (the
    sandbox shop's journeys use journeys.EMAIL_CAMPAIGNS)."""

    external_id: str
    name: str
    trigger_type: str
    created: datetime
    messages: tuple[Message, ...]
    daily: tuple[float, ...]  # base recipients per message on an average day

    @property
    def status(self) -> str:
        return "live"


@dataclass(frozen=True)
class Stats:
    """What Klaviyo reports for one message over some sends; money in cents."""

    recipients: int = 0
    delivered: int = 0
    opens: int = 0  # unique
    clicks: int = 0  # unique
    conversions: int = 0
    conversion_cents: int = 0

    def __add__(self, other: Stats) -> Stats:
        return Stats(
            self.recipients + other.recipients,
            self.delivered + other.delivered,
            self.opens + other.opens,
            self.clicks + other.clicks,
            self.conversions + other.conversions,
            self.conversion_cents + other.conversion_cents,
        )


@dataclass(frozen=True)
class MetricDef:
    """An entry of GET /api/metrics: a metric and the integration that sends it."""

    external_id: str
    name: str
    integration: str  # Shopify | Klaviyo


# (name, trigger_type, [(message name, channel, base daily recipients at 150 orders/day)])
# trigger_type values as Klaviyo lists them (GET /api/flows, attribute trigger_type).
FlowSpec = tuple[str, str, tuple[tuple[str, str, float], ...]]
FLOWS: tuple[FlowSpec, ...] = (
    ("Welcome Series", "Added to List", (("Welcome 1", EMAIL, 60.0), ("Welcome 2", EMAIL, 42.0))),
    (
        "Abandoned Cart Flow",
        "Metric",
        (("Abandoned Cart 1", EMAIL, 190.0), ("Abandoned Cart 2", EMAIL, 120.0)),
    ),
    ("Browse Abandonment", "Metric", (("Browse Abandonment 1", EMAIL, 260.0),)),
    ("Winback 60d", "Date Based", (("Winback 1", EMAIL, 48.0),)),
    ("SMS Abandoned Cart", "Metric", (("SMS Abandoned Cart 1", SMS, 95.0),)),
    ("SMS Welcome", "Added to List", (("SMS Welcome 1", SMS, 28.0),)),
)
# Metrics of a Shopify store's Klaviyo account (Shopify integration events and Klaviyo's own).
METRICS = (
    ("Placed Order", "Shopify"),
    ("Ordered Product", "Shopify"),
    ("Started Checkout", "Shopify"),
    ("Fulfilled Order", "Shopify"),
    ("Received Email", "Klaviyo"),
    ("Opened Email", "Klaviyo"),
    ("Clicked Email", "Klaviyo"),
    ("Received SMS", "Klaviyo"),
    ("Clicked SMS", "Klaviyo"),
)


def black_friday(year: int) -> date:
    """The day after the fourth Thursday of November."""
    first = date(year, 11, 1)
    thursday = first + timedelta(days=(3 - first.weekday()) % 7 + 21)
    return thursday + timedelta(days=1)


@dataclass(frozen=True)
class _Credit:
    at: datetime  # when the order was placed
    cents: int


class EmailProgram:
    """The Klaviyo account of `merchant`: same time zone and currency as its shop."""

    def __init__(self, merchant: Merchant) -> None:
        self.merchant = merchant
        self.seed = merchant.seed
        self.shop = merchant.shop
        profile = self.shop.profile
        self.account_id = short_id(self.seed, "account")
        self.name = profile.name
        self.timezone = profile.timezone
        self.currency = profile.currency
        self.scale = self.shop.orders_per_day / 150
        opened = datetime.combine(merchant.start_day - timedelta(days=400), time(14), tzinfo=UTC)
        self.flows = tuple(self._flow(i, spec, opened) for i, spec in enumerate(FLOWS))
        self.metrics = tuple(
            MetricDef(short_id(self.seed, "metric", name), name, integration)
            for name, integration in METRICS
        )
        self.placed_order_metric_id = self.metrics[0].external_id
        self.campaigns = self._campaigns(merchant.start_day - timedelta(days=21), merchant.today)
        self._sends = sorted(((c.send_time, c) for c in self.campaigns), key=lambda pair: pair[0])
        self._send_times = [t for t, _ in self._sends]
        self._messages = {m.external_id: m for f in self.flows for m in f.messages} | {
            c.message.external_id: c.message for c in self.campaigns
        }
        self._campaign_of = {c.message.external_id: c for c in self.campaigns}
        self._lock = Lock()
        self._credits: dict[tuple[str, int], list[_Credit]] = {}
        self._processed = 0

    # ---- catalogue ----------------------------------------------------------------------
    def _flow(self, index: int, spec: FlowSpec, opened: datetime) -> Flow:
        name, trigger, messages = spec
        flow_id = short_id(self.seed, "flow", name)
        return Flow(
            flow_id,
            name,
            trigger,
            opened + timedelta(days=7 * index),
            tuple(
                Message(ulid(self.seed, "flow-message", m), flow_id, "flow", m, ch)
                for m, ch, _ in messages
            ),
            tuple(base * self.scale for _, _, base in messages),
        )

    def _campaigns(self, first: date, today: date) -> tuple[Campaign, ...]:
        """Weekly Newsletter every Tuesday 10:00, an SMS every Friday noon, and the Black
        Friday / Cyber Monday sends, from `first` to a year after `today` (the clock may run
        past the merchant's today; campaigns exist once created, three days before sending)."""
        tz = zone(self.timezone)
        out: list[Campaign] = []

        def add(name: str, channel: str, day: date, hour: int, audience: float) -> None:
            send = datetime.combine(day, time(hour), tzinfo=tz).astimezone(UTC)
            key = (name, day.toordinal())
            campaign_id = ulid(self.seed, "campaign", *key)
            message = Message(
                ulid(self.seed, "campaign-message", *key), campaign_id, "campaign", name, channel
            )
            created = send - timedelta(
                days=3, hours=int(rand.uniform(self.seed, "made", *key) * 20)
            )
            out.append(
                Campaign(
                    campaign_id, name, channel, created, send, int(audience * self.scale), message
                )
            )

        day = first
        while day <= today + timedelta(days=400):
            if day.weekday() == 1:
                add("Weekly Newsletter", EMAIL, day, 10, 16_000)
            if day.weekday() == 4:
                add("Weekend Drop (SMS)", SMS, day, 12, 4_200)
            if day == black_friday(day.year) - timedelta(days=1):
                add("Black Friday Early Access", EMAIL, day, 18, 21_000)
            if day == black_friday(day.year):
                add("Black Friday Sale", EMAIL, day, 7, 22_000)
                add("Black Friday SMS", SMS, day, 9, 5_000)
            if day == black_friday(day.year) + timedelta(days=3):
                add("Cyber Monday Last Call", EMAIL, day, 16, 22_000)
            day += timedelta(days=1)
        return tuple(out)

    def campaigns_until(self, as_of: datetime) -> list[Campaign]:
        """Campaigns that exist at as_of (created, sent or still scheduled)."""
        return [c for c in self.campaigns if c.created_at <= as_of]

    def flows_until(self, as_of: datetime) -> list[Flow]:
        return [f for f in self.flows if f.created <= as_of]

    def message(self, external_id: str) -> Message | None:
        return self._messages.get(external_id)

    def local_day(self, moment: datetime) -> date:
        return local_date(moment, self.timezone)

    # ---- sends and engagement -----------------------------------------------------------
    def _engagement(self, message: Message, recipients: int, key: object) -> Stats:
        """Delivered, unique opens and clicks of `recipients` sends (rates typical of
        Shopify stores; SMS has no opens)."""
        u = rand.uniforms(self.seed, "engagement", message.external_id, key)
        if message.channel == SMS:
            delivered = int(recipients * (0.96 + 0.03 * u[1]))
            return Stats(recipients, delivered, 0, int(delivered * (0.05 + 0.06 * u[2])))
        delivered = int(recipients * (0.975 + 0.02 * u[1]))
        opens = int(delivered * (0.36 + 0.14 * u[2]))
        click_rate = 0.012 + 0.018 * u[3] if message.kind == "campaign" else 0.03 + 0.05 * u[3]
        return Stats(recipients, delivered, opens, int(delivered * click_rate))

    def flow_message_day(self, message: Message, day: date, as_of: datetime) -> Stats:
        """Sends of a flow message on a local day, as Klaviyo reports them at as_of (today's
        sends so far; a day's conversions as credited by then)."""
        flow = next(f for f in self.flows if f.external_id == message.parent_id)
        hours, seconds = progress(day, self.timezone, as_utc(as_of))
        share = min(1.0, (hours * 3600 + seconds) / 86400)
        if share <= 0 or datetime.combine(day, time(0), tzinfo=UTC) < flow.created:
            return Stats()
        base = flow.daily[flow.messages.index(message)]
        u = rand.uniform(self.seed, "flow-sends", message.external_id, day.toordinal())
        expected = base * WEEKDAY_ORDERS[day.weekday()] * season(day) * (0.85 + 0.3 * u)
        recipients = rand.stochastic_round(expected * share, u)
        return self._with_conversions(
            self._engagement(message, recipients, day.toordinal()), message, day, as_of
        )

    def campaign_stats(self, campaign: Campaign, as_of: datetime) -> Stats:
        """All of a campaign's numbers at as_of (nothing before it is sent)."""
        if campaign.send_time > as_of:
            return Stats()
        u = rand.uniform(self.seed, "campaign-sends", campaign.external_id)
        recipients = int(campaign.audience * (0.95 + 0.1 * u))
        day = self.local_day(campaign.send_time)
        stats = self._engagement(campaign.message, recipients, "send")
        return self._with_conversions(stats, campaign.message, day, as_of)

    def _with_conversions(
        self, stats: Stats, message: Message, day: date, as_of: datetime
    ) -> Stats:
        conversions, cents = self.credited(message.external_id, day, as_of)
        clicks = max(stats.clicks, conversions if message.channel == SMS else 0)
        opens = max(stats.opens, clicks) if message.channel == EMAIL else 0
        return Stats(stats.recipients, stats.delivered, opens, clicks, conversions, cents)

    # ---- attribution --------------------------------------------------------------------
    def credited(self, message_id: str, day: date, as_of: datetime) -> tuple[int, int]:
        """(orders, cents) Klaviyo credits at as_of to the sends of a message on a day."""
        self._attribute(as_utc(as_of))
        with self._lock:
            credits = list(self._credits.get((message_id, day.toordinal()), ()))
        seen = [c for c in credits if c.at <= as_of]
        return len(seen), sum(c.cents for c in seen)

    def _attribute(self, as_of: datetime) -> None:
        """Credit every order placed by as_of not credited yet (orders never change what
        they are credited to, so each is looked at once)."""
        orders = self.shop.orders_until(as_of)
        with self._lock:
            for order in orders[self._processed :]:
                credit = self._credit_for(order)
                if credit is not None:
                    message, send_day = credit
                    self._credits.setdefault(
                        (message.external_id, send_day.toordinal()), []
                    ).append(_Credit(order.created_at, order.total_cents))
            self._processed = max(self._processed, len(orders))

    def _credit_for(self, order: Order) -> tuple[Message, date] | None:
        """The message Klaviyo credits with an order and the local day it was sent, if any.
        Placed Order's value is the order total (Klaviyo's Shopify integration sends the
        order's total price as the event's value); test orders are not sent."""
        if order.test:
            return None
        u = rand.uniforms(self.seed, "credit", order.seq)
        journey = order.journey
        last = journey.last_visit if journey else None
        if last is not None and last.utm is not None and last.utm.source == "klaviyo":
            return self._clicked(last.utm.campaign or "", last.occurred_at, order.created_at, u)
        if order.customer_id is None or u[0] >= OPEN_CREDIT_SHARE:
            return None
        return self._opened(order.created_at, u)

    def _clicked(
        self, name: str, clicked_at: datetime, placed_at: datetime, u: tuple[float, ...]
    ) -> tuple[Message, date] | None:
        """A click on a tagged link: the latest campaign of that name sent before the click,
        if the order is within its email window; else the flow of that name (its first email,
        sent some hours before the click)."""
        for send_time, campaign in reversed(
            self._sends[: bisect_right(self._send_times, clicked_at)]
        ):
            if campaign.name == name and campaign.channel == EMAIL:
                if placed_at - send_time > EMAIL_WINDOW:
                    return None
                return campaign.message, self.local_day(send_time)
        flow = next((f for f in self.flows if f.name == name), None)
        if flow is None:
            return None
        message = flow.messages[0]
        sent = clicked_at - timedelta(hours=1 + 20 * u[1])
        return message, self.local_day(sent)

    def _opened(self, placed_at: datetime, u: tuple[float, ...]) -> tuple[Message, date]:
        """An open (or an SMS delivery) within its window before the order: the latest
        campaign sent before the order when it is still in its window, else a flow message
        sent within its window (drawn by each message's share of flow sends)."""
        recent = self._sends[: bisect_right(self._send_times, placed_at)]
        if recent and u[2] < CAMPAIGN_CREDIT_SHARE:
            send_time, campaign = recent[-1]
            window = EMAIL_WINDOW if campaign.channel == EMAIL else SMS_DELIVERY_WINDOW
            if placed_at - send_time <= window:
                return campaign.message, self.local_day(send_time)
        weights = [w for f in self.flows for w in f.daily]
        messages = [m for f in self.flows for m in f.messages]
        pick = u[3] * sum(weights)
        index = 0
        while index < len(weights) - 1 and pick >= weights[index]:
            pick -= weights[index]
            index += 1
        message = messages[index]
        window = EMAIL_WINDOW if message.channel == EMAIL else SMS_DELIVERY_WINDOW
        return message, self.local_day(placed_at - window * u[4])

    # ---- truth for tests and demos ------------------------------------------------------
    def daily(
        self, since: date, until: date, as_of: datetime
    ) -> dict[tuple[str, str, date], Stats]:
        """(campaign or flow id, channel, local send day) -> Stats for sends in [since, until],
        as Klaviyo reports them at as_of; flows summed over their messages."""
        out: dict[tuple[str, str, date], Stats] = {}
        for campaign in self.campaigns:
            day = self.local_day(campaign.send_time)
            if since <= day <= until and campaign.send_time <= as_of:
                key = (campaign.external_id, campaign.channel, day)
                out[key] = out.get(key, Stats()) + self.campaign_stats(campaign, as_of)
        day = since
        while day <= until:
            for flow in self.flows:
                for message in flow.messages:
                    stats = self.flow_message_day(message, day, as_of)
                    if stats != Stats():
                        key = (flow.external_id, message.channel, day)
                        out[key] = out.get(key, Stats()) + stats
            day += timedelta(days=1)
        return out

    def last_touch_cents(self, since: date, until: date, as_of: datetime) -> int:
        """Revenue (order totals) of the orders placed on local days [since, until] whose last
        visit came from a Klaviyo link (utm_source=klaviyo): what last-click attribution
        gives the channel."""
        total = 0
        for order in self.shop.orders_until(as_of):
            last = order.journey.last_visit if order.journey else None
            if (
                not order.test
                and last is not None
                and last.utm is not None
                and last.utm.source == "klaviyo"
                and since <= self.local_day(order.created_at) <= until
            ):
                total += order.total_cents
        return total
