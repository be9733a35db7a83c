"""Email and SMS questions: the email platform's figures (Klaviyo, issue 18) in the words
merchants use, read from the ad and store parser's slots.

A question is about email when it names an email figure outright ("open rate",
"recipients", "revenue per recipient": lexicon.py) or carries a word of the email platforms
("email", "klaviyo", "sms", "flows": lexicon.EMAIL_WORDS) outside a campaign name. Then:
- the generic words become the email figures: "revenue did email drive", "klaviyo sales" ->
  email_revenue; "orders from klaviyo" -> email_orders; "email clicks" / "click rate" ->
  email_clicks / email_click_rate; unless the store is named ("store revenue vs email");
- a question with no metric word reads its verbs: "how many people did we email" ->
  recipients, "emails delivered" -> delivered, "how much did klaviyo bring in" -> revenue;
- "what share of sales came from email" -> email revenue beside net sales (the answer
  divides them);
- email and SMS are the platform's two channels (the `email_channel` dimension and filter):
  "sms revenue" -> the SMS figure alone; "email vs sms revenue", "revenue by channel, email
  and sms" -> one row per channel; "email only", "no sms" -> the email figure alone; "email
  revenue" and "email and sms revenue" stay the platform's total of both;
- what the data cannot say is asked about, never guessed: an email figure on an ad platform
  ("open rate for Meta"), split by campaign or ad, or an ad-only metric of the email
  platform ("ROAS of klaviyo").
Dates, grains, comparisons and follow-ups stay the parser's, as for any store figure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace

from metricx.platforms import AD_PROVIDERS, EMAIL_PROVIDERS, listing, short_name
from metricx.semantic import catalogue
from metricx.semantic.query import SemanticQuery

from .lexicon import EMAIL_WORDS
from .slots import Slots
from .understanding import Clarify

#: The email platforms' metrics, in catalogue order.
EMAIL_METRICS: tuple[str, ...] = tuple(
    m.id for m in catalogue.METRICS.values() if m.source == "email"
)
#: "Klaviyo": the email platforms in a sentence.
EMAIL_NAMES = listing(EMAIL_PROVIDERS, "and", short=True)
#: Store and ad figures whose generic words mean the email figure in an email question.
EMAIL_COUNTERPART: dict[str, str] = {
    "store_revenue": "email_revenue",
    "conversion_value": "email_revenue",
    "attributed_revenue": "email_revenue",
    "orders": "email_orders",
    "conversions": "email_orders",
    "attributed_orders": "email_orders",
    "clicks": "email_clicks",
    "ctr": "email_click_rate",
}
#: Offered when an email question names no figure the platform has.
EMAIL_CHOICES: tuple[str, ...] = (
    "email_revenue",
    "email_orders",
    "email_open_rate",
    "email_click_rate",
    "email_revenue_per_recipient",
)
#: Answered for "how did email do?"
EMAIL_OVERVIEW: tuple[str, ...] = (
    "email_revenue",
    "email_orders",
    "email_open_rate",
    "email_click_rate",
)
#: What an ad platform has in place of an email figure asked about on it ("open rate for Meta").
_AD_COUNTERPART = {
    "email_revenue": "conversion_value",
    "email_orders": "conversions",
    "email_clicks": "clicks",
}
#: Words that keep a figure the store's own: "store revenue vs email revenue".
_STORE_WORDS = frozenset({"store", "shop", "shopify", "net"})
#: Figures texts have too; opens and the open rate are of emails only.
_SHARED_WITH_SMS = frozenset(EMAIL_METRICS) - {"email_opens", "email_open_rate"}
_SMS_WORDS = frozenset(w for w in EMAIL_WORDS if "sms" in w.split() or w.startswith("text"))
#: Words naming the email channel itself (not the platform: "klaviyo", "flows" are both).
_MAIL_WORDS = frozenset(w for w in EMAIL_WORDS if "mail" in w or w.startswith("newsletter"))


def _alternatives(words: Iterable[str]) -> str:
    """A regex group of the words (spaces or hyphens between their parts), longest first."""
    spelled = (r"[\s-]*".join(map(re.escape, w.split())) for w in sorted(words, key=len))
    return f"(?:{'|'.join(reversed(list(spelled)))})"


_EMAIL = _alternatives(set(EMAIL_WORDS) - _SMS_WORDS | {"email", "e mail", "mail"})
_SMS = _alternatives(_SMS_WORDS | {"text", "text message"})
#: Email and SMS side by side ("sms revenue vs email revenue", "email and sms separately"):
#: asked apart only with a word that sets them apart (`_APART_CUE`)
_BOTH = re.compile(
    rf"\b{_SMS}\b.{{0,40}}?\b(?:vs|versus|against|compared|or|and|v)\b.{{0,40}}?\b{_EMAIL}\b"
    rf"|\b{_EMAIL}\b.{{0,40}}?\b(?:vs|versus|against|compared|or|and|v)\b.{{0,40}}?\b{_SMS}\b",
    re.IGNORECASE,
)
_APART_CUE = re.compile(
    r"\b(?:vs|versus|against|compared|separately|split|each|which|broken down|apart|"
    r"breakdown|side by side)\b",
    re.IGNORECASE,
)
#: "revenue by channel", "split per channel": one row per channel of the email platform
_BY_CHANNEL = re.compile(
    r"\b(?:by|per|each|across|split\s+by|broken\s+down\s+by)\s+channels?\b", re.IGNORECASE
)
#: One without the other: texts alone ("sms only", "just texts"), emails alone ("email
#: only", "just emails", "no sms")
_SMS_ALONE = re.compile(
    rf"\b{_SMS}\s+only\b|\b(?:only|just)\s+(?:the\s+)?{_SMS}\b(?!\s+(?:and|&|or|plus)\s)",
    re.IGNORECASE,
)
_EMAIL_ALONE = re.compile(
    r"\b(?:only|just)\s+(?:the\s+)?e[- ]?mails?\b(?!\s+(?:and|&|or|plus)\s)"
    r"|\be[- ]?mails?\s+only\b|\b(?:no|not|without)\s+(?:the\s+)?(?:sms|texts)\b",
    re.IGNORECASE,
)
#: "what share of sales came from email", "% of revenue from klaviyo"
_SHARE = re.compile(
    r"(?:\b(?:share|percent(?:age)?|proportion|portion|fraction|part|how much)|%)\s+of\s+"
    r"(?:(?:our|my|the|total|all|overall|store|shop)\s+)*(?:sales|revenue|turnover)\b",
    re.IGNORECASE,
)
#: "for the newsletter", "for my email to the board": what the number is for, not email data
_PURPOSE = re.compile(
    rf"\bfor\s+(?:the|my|our|an?|this|next|tomorrow'?s)\s+(?:\w+\s+)?{_EMAIL}\b",
    re.IGNORECASE,
)
#: With no metric word: what the verbs ask for
_RECIPIENTS = re.compile(
    r"\bhow many\s+(?:people|customers|subscribers|contacts|profiles|emails|messages|texts|sms)\b"
    r"|\b(?:did|do|have)\s+(?:we|i)\s+(?:e-?mail|text|sms|send|sent)\b|\bsent\b|\bsends\b",
    re.IGNORECASE,
)
_DELIVERED = re.compile(r"\bdeliver(?:ed|ies|y)\b", re.IGNORECASE)
_OPENS = re.compile(r"\bopen(?:ed|s)?\b", re.IGNORECASE)
_MONEY = re.compile(
    r"\bhow much\b|\bmoney\b|\b(?:make|made|earn|earned|bring|brought|drive|drove|driven|"
    r"generate|generated|return|returned|produce|produced)\b|\bpay(?:s|ing)? off\b",
    re.IGNORECASE,
)


def _label(metric: str) -> str:
    return catalogue.get_metric(metric).label


def _period(slots: Slots) -> str:
    """The question's period as written, for a choice ("last month"), or ""."""
    return f" {slots.dates.main}" if slots.dates.main else ""


def _named_email(slots: Slots, text: str) -> bool:
    """Email words outside a name and a purpose ("for the newsletter"), or an email figure."""
    named_figure = any(m in EMAIL_METRICS for m in slots.metrics)
    return named_figure or bool(slots.email_words and not _PURPOSE.search(text))


def _follows_email(slots: Slots, previous: SemanticQuery | None) -> bool:
    """ "and orders?" right after an email question asks for the email orders."""
    return (
        previous is not None
        and slots.follow_up_cue
        and all(m in EMAIL_METRICS for m in previous.metrics)
    )


def _email_metrics(slots: Slots) -> list[str]:
    """The question's metrics with generic words read as the email figures."""
    read: list[str] = []
    for metric, words in slots.metric_words or [(m, m) for m in slots.metrics]:
        store_named = bool(_STORE_WORDS & set(words.split()))
        read.append(metric if store_named else EMAIL_COUNTERPART.get(metric, metric))
    return list(dict.fromkeys(read))


def _unnamed_figures(slots: Slots, text: str) -> list[str]:
    """The figures a metric-less email question asks for by its verbs ("how many people did
    we email"), or by asking how email did (the overview)."""
    if _DELIVERED.search(text):
        return ["email_delivered"]
    if _RECIPIENTS.search(text):
        return ["email_recipients"]
    if _OPENS.search(text):
        return ["email_opens"]
    if _MONEY.search(text):
        return ["email_revenue"]
    if slots.overview:
        return list(EMAIL_OVERVIEW)
    raise Clarify(f"Which {EMAIL_NAMES} figure would you like to see?", EMAIL_CHOICES)


def read_email(slots: Slots, text: str, previous: SemanticQuery | None) -> None:
    """Turn ``slots`` of an email question (``text`` as screened) into email figures, with
    what the answer should say in ``slots.notes``; raises Clarify for what the email data
    cannot answer. Questions not about email are left as they are."""
    if not _named_email(slots, text):
        if _follows_email(slots, previous):
            slots.metrics = _email_metrics(slots)
        return
    channels = _channels(slots, text)
    if _SHARE.search(text) and slots.email_words:
        slots.metrics = ["email_revenue", "net_sales"]
        slots.notes.append(
            f"Share of sales: {_label('email_revenue')} over net sales. {EMAIL_NAMES} credits "
            "an order to a message within its attribution window, so its revenue overlaps "
            "other channels and the share can be larger than last-click attribution gives."
        )
    else:
        slots.metrics = _email_metrics(slots) or _unnamed_figures(slots, text)
    email = [m for m in slots.metrics if m in EMAIL_METRICS]
    if not email:
        others = ", ".join(_label(m) for m in slots.metrics)
        raise Clarify(
            f"{others} does not come from {EMAIL_NAMES}, which reports email & SMS "
            "revenue, orders, recipients, deliveries, opens, clicks, open and click rates and "
            "revenue per recipient. Which one do you mean?",
            tuple(f"{_label(m)}{_period(slots)}?" for m in EMAIL_CHOICES),
        )
    _check_split(slots, email)
    _apply_channels(slots, email, channels)


def _channels(slots: Slots, text: str) -> list[str] | None:
    """Which channels the question keeps: ["sms"] or ["email"] for one alone, both for one
    row each ("email vs sms", "by channel"), None for the platform's total of both. A split
    drops what it replaces: "by channel" read as the ad platforms, a "which one" ranking."""
    named = set(slots.email_words)
    sms, mails = bool(_SMS_WORDS & named), bool(_MAIL_WORDS & named)
    if _SMS_ALONE.search(text):
        return ["sms"]
    if _EMAIL_ALONE.search(text):
        return ["email"]
    by_channel = _BY_CHANNEL.search(text) is not None
    if (sms and _BOTH.search(text) and _APART_CUE.search(text)) or by_channel:
        if by_channel:
            slots.dimensions = [d for d in slots.dimensions if d != "provider"]
        slots.rank = None  # "which made more, email or sms": both rows side by side
        return ["email", "sms"]
    # "sms revenue", "klaviyo texts": texts alone; "email and sms revenue": both together
    return ["sms"] if sms and not mails else None


def _apply_channels(slots: Slots, email: list[str], channels: list[str] | None) -> None:
    """The channels kept as a filter or a split, with what the answer says about opens."""
    opens = [_label(m) for m in email if m not in _SHARED_WITH_SMS]
    if channels == ["email", "sms"]:
        slots.dimensions.append("email_channel")
        if opens:
            slots.notes.append(f"Texts have no opens: the SMS row has no {opens[0].lower()}.")
    elif channels is not None:
        slots.email_channel = channels
        if channels == ["sms"] and opens:  # the scope says which channel; this says why empty
            slots.notes.append(f"Texts have no opens: {opens[0].lower()} is empty for SMS.")
    elif _SMS_WORDS & set(slots.email_words) and opens:
        slots.notes.append("Texts have no opens: opens and the open rate are of emails only.")


def _check_split(slots: Slots, email: list[str]) -> None:
    """Email figures belong to the email account, not to an ad platform, campaign or ad."""
    label = _label(email[0])
    if slots.providers:
        platform = short_name(slots.providers[0])
        ad_figure = _label(_AD_COUNTERPART.get(email[0], "ctr")).split(" (")[0]
        raise Clarify(
            f"{label} comes from {EMAIL_NAMES}, not from {platform}: ads have no emails or "
            "texts. Which do you mean?",
            (f"{label}{_period(slots)}?", f"{ad_figure} on {platform}{_period(slots)}?"),
        )
    if slots.rank is not None and slots.rank.metric is not None:
        # "which week had the most email revenue": ranked by the email figure
        metric = EMAIL_COUNTERPART.get(slots.rank.metric, slots.rank.metric)
        slots.rank = replace(slots.rank, metric=metric)
    if slots.dimensions or (slots.rank is not None and slots.grain is None):
        raise Clarify(
            f"{label} is a total of your {EMAIL_NAMES} account: I can show it by day, week or "
            f"month, but not split by campaign, flow or ad yet "
            f"({listing(AD_PROVIDERS, 'and', short=True)} campaigns are ads). Which do you want?",
            (f"{label}{_period(slots)}?", f"{label} by week{_period(slots)}?"),
        )
