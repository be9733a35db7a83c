"""Alert and digest requests in the copilot: "alert me if CAC goes above $70", "tell me every
morning how yesterday went" (issue #16), read deterministically in both modes before any
understander sees the question.

A request opens with a trigger. "Alert me", "notify me", "warn me", "ping me" always ask for
an alert (one without a condition is asked about); "email me", "send me an email", "slack
me" only with a condition ("email me the list of ..." stays the parser's to refuse); "let me
know" and "tell me" only with a condition after "if"/"when" and not in the past tense, so
"tell me when my best day was" and "tell me if ROAS was above 2 last week" stay questions.
A question opening with what/how/which/why/who is never a request.

The pieces are lifted out in turn: channels, schedule, the condition with its threshold (a
comparison, a change and its baseline, or "unusual" for an anomaly). What is left is read by
the parser's own slots.read, so metric words, custom metrics, platforms, names, custom
dimension values and splits mean what they mean in a question; a word it cannot place is
asked about, never dropped.

The outcome is a `ProposedAlert` to show and confirm (nothing is saved here), or a message
"I understood you want an alert, but ..." naming what is missing. A threshold is never
guessed. Conventions (docs/design.md "Alerts"):
- a threshold is in the metric's display unit ("1.5%" CTR is 1.5, "2.5x" ROAS 2.5); "k" and
  "m" multiply; a currency sign is taken as the workspace's currency;
- no period: today so far; a daily check before noon ("every morning at 9") watches
  yesterday; "vs last week" / "week over week" / "same day last week" compare with the
  same weekday, otherwise with the previous period;
- no channel: an email to the asking user (the workspace's channels when no user asks).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from metricx.alerts.rules import AlertRuleError, Rule, check_in
from metricx.platforms import AD_PROVIDERS, listing
from metricx.semantic import catalogue
from metricx.semantic.custom import Definitions

from .custom_terms import custom_terms
from .email_questions import read_email
from .names import Entity, tree_entities
from .slots import read
from .understanding import Clarify

#: The threshold an anomaly rule starts with (how unusual a value must be).
ANOMALY_THRESHOLD = Decimal(4)
#: The hour a digest or a daily check without an hour runs at, local time.
DEFAULT_HOUR = 8
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
BUT = "I understood you want an alert, but"

# --- the opening: who asks to be told -------------------------------------------------------
_POLITE = (
    r"(?:(?:hey|hi|ok|okay|please|pls|can you|could you|would you|will you|i want you to"
    r"|i'd like you to|i would like you to|i want to|i'd like to)[\s,]+)*"
)
#: Openings that always ask for an alert (one that names no condition is asked about)
_STRONG = re.compile(
    r"\b(?:alert|notify|warn|ping|remind) (?:me|us)\b"
    r"|\b(?:be|get|being|getting) (?:alerted|notified|warned|pinged)\b"
    r"|\b(?:send|shoot|drop) (?:me|us) (?:an? )?(?:alert|notification|ping)s?\b"
    r"|\bsend (?:an? )?(?:alert|notification)s?\b"
    r"|\b(?:set up|create|add|make|set) (?:an? |me an? )?(?:alert|notification)s?\b"
    r"|\b(?:check|watch|monitor)(?: it)? (?:(?:every|each) (?:morning|day|evening|night|hour)"
    r"|daily|hourly)\b",
    re.I,
)
#: Openings that ask for an alert when a condition follows ("email me if ..."); without one
#: they are a wish to be sent something ("email me the list of ..."), which the parser refuses
_SENDING = re.compile(
    r"\b(?:message|text|slack|email|e-mail|mail) (?:me|us)\b|\bbe emailed\b"
    r"|\b(?:send|shoot|drop) (?:me|us) (?:an? )?(?:e-?mail|slack|message)s?\b"
    r"|\bsend (?:an? )?(?:e-?mail|slack(?: message)?)s?\b",
    re.I,
)
#: Openings that ask for an alert only with a condition after "if"/"when"
_SOFT = re.compile(r"\b(?:let (?:me|us) know|tell (?:me|us)|keep (?:me|us) posted)\b", re.I)
_CONDITIONAL = re.compile(r"\b(?:if|when|whenever|once|as soon as|in case)\b", re.I)
#: A digest's delivery, anywhere in the request
_DELIVER = re.compile(
    r"\b(?:send|email|e-mail|mail|slack|tell|deliver|post|drop|remind) (?:me|us)\b"
    r"|\b(?:send|deliver|post) (?:an? |the )?(?:daily|weekly|morning)\b"
    r"|^(?:daily|weekly|morning) (?:summary|digest|recap|report)",
    re.I,
)
#: A question about the past after "tell me if": not a wish to be told in future
_PAST = re.compile(r"\b(?:was|were|did|went|had|dropped|fell|rose|got|happened)\b", re.I)
#: Words of a digest: a summary of how things went, on a cadence
_DIGEST_WORDS = re.compile(
    r"\b(?:summary|summaries|digest|recap|report|rundown|overview|roundup|round-up"
    r"|how (?:yesterday|today|the day|last week|the week|we|things|it)"
    r" (?:went|did|are going|was))\b",
    re.I,
)

# --- numbers ---------------------------------------------------------------------------------
_NUMBER = (
    r"(?P<cur>[$€£¥])?\s?(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)"
    r"(?:\s?(?P<mult>k|mm|m|thousand|million|grand)(?![a-z]))?"
    r"(?:\s?(?P<unit>%|percent|pct|x|dollars?|bucks|usd|eur|euros?|gbp|pounds?|quid)(?![a-z]))?"
    r"(?!\w|\.\d)"
)
_MULTIPLIERS = {
    "k": 1000,
    "thousand": 1000,
    "grand": 1000,
    "m": 1_000_000,
    "mm": 1_000_000,
    "million": 1_000_000,
}

# --- conditions ------------------------------------------------------------------------------
_RISE = (
    r"(?:rises?|rising|rose|goes up|go(?:es)? up|went up|increases?|increasing|increased|jumps?"
    r"|jumped|grows?|grew|climbs?|climbed|spikes?|spiked|surges?|is up|are up|was up|up)"
)
_FALL = (
    r"(?:falls?|falling|fell|drops?|dropping|dropped|decreases?|decreasing|decreased|declines?"
    r"|declined|goes down|go down|went down|dips?|dipped|sinks?|tanks?|plunges?|is down"
    r"|are down|was down|down)"
)
_AT_LEAST = r"(?:(?:more than|over|at least|by more than|by over|by at least|by)\s+)?"
_CHANGE = re.compile(rf"\b(?P<dir>{_RISE}|{_FALL})\s+{_AT_LEAST}(?P<amount>{_NUMBER})", re.I)
_ABOVE = (
    r"(?:(?:goes|go|gets|get|is|are|was|were|climbs?|rises?|jumps?|moves?|creeps?|spikes?"
    r"|ends? up|stays?)\s+)?"
    r"(?:above|over|more than|greater than|higher than|bigger than|in excess of|north of"
    r"|exceeds?|exceeding|tops?|passes|crosses|hits|reaches|at least)"
    r"|>=?"
)
_BELOW = (
    r"(?:(?:goes|go|gets|get|is|are|was|were|drops?|falls?|dips?|sinks?|moves?|slips?|ends? up"
    r"|stays?)\s+)?"
    r"(?:below|under|less than|lower than|fewer than|smaller than|south of|at most)"
    r"|<=?"
)
_COMPARE = re.compile(
    rf"(?:(?P<above>\b{_ABOVE})|(?P<below>\b{_BELOW}))\s*(?P<amount>{_NUMBER})", re.I
)
_ANOMALY = re.compile(
    r"\b(?:anomal\w*|unusual\w*|abnormal\w*|spikes?|spiking|spiked|weird\w*|strange\w*|odd"
    r"|out of the ordinary|out of line|outliers?|goes crazy|behaves? oddly)\b",
    re.I,
)
#: "too high", "gets bad": a wish for an alert that names no value
_VAGUE = re.compile(
    r"\b(?:too (?:high|low|much|little|expensive)|gets? (?:bad|worse|high|low)"
    r"|(?:goes|is) (?:up|down)"
    r"|changes?|moves?|rises?|drops?|falls?|increases?|decreases?|crosses)\b",
    re.I,
)

# --- baselines -------------------------------------------------------------------------------
_SAME_WEEKDAY = re.compile(
    r"\b(?:(?:compared (?:to|with)|vs\.?|versus|than|from|against|relative to) "
    r"(?:the )?(?:same (?:week)?day (?:of |as )?last week|same weekday|last week|a week ago"
    r"|the week before|usual (?:for (?:a|the) )?(?:weekday|day of the week))"
    r"|week over week|wow|w/w)\b",
    re.I,
)
_PREVIOUS = re.compile(
    r"\b(?:(?:compared (?:to|with)|vs\.?|versus|than|from|against|relative to) "
    r"(?:the )?(?:previous (?:period|day)|prior (?:period|day)|day before|yesterday|usual|normal)"
    r"|day over day|dod|d/d)\b",
    re.I,
)

# --- schedules -------------------------------------------------------------------------------
_HOUR = (
    r"(?:\s*(?:at|@|around)\s*(?P<hour>\d{1,2})(?::(?P<minute>\d{2}))?"
    r"\s*(?P<ampm>am|pm|a\.m\.|p\.m\.)?)?"
)
_DAILY = re.compile(
    r"(?:\b(?:every|each) (?:morning|day|night|evening|afternoon)|\bdaily\b|\bonce a day\b"
    r"|\bin the morning\b|\bmornings\b)" + _HOUR,
    re.I,
)
_AT_HOUR = re.compile(
    r"\b(?:at|@)\s*(?P<hour>\d{1,2})(?::(?P<minute>\d{2}))?\s*(?P<ampm>am|pm|a\.m\.|p\.m\.)|"
    r"\bat (?P<hour2>\d{1,2}) o'?clock\b",
    re.I,
)
_BARE_HOUR = re.compile(
    r"\b(?:at|@)\s*(?P<hour>\d{1,2})(?::(?P<minute>\d{2}))?(?![\d.,%:])(?!\s*(?:%|percent|x\b|k\b))",
    re.I,
)
_HOURLY = re.compile(r"\b(?:hourly|every hour|each hour|once an hour)\b", re.I)
_AFTER_SYNC = re.compile(
    r"\b(?:after (?:each|every) sync|every 15 minutes|every quarter hour|right away"
    r"|as soon as (?:it happens|possible)|immediately|in real time|real-time)\b",
    re.I,
)
_WEEKLY = re.compile(
    r"\b(?:weekly|every week|each week|once a week)\b"
    r"|\b(?:every|each|on) (?P<day>monday|tuesday|wednesday|thursday|friday|saturday|sunday)s?\b"
    r"|\bon (?P<day2>monday|tuesday|wednesday|thursday|friday|saturday|sunday)s\b",
    re.I,
)
_DAY_NAME = re.compile(r"\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday)s?\b", re.I)

# --- channels --------------------------------------------------------------------------------
_SLACK = re.compile(r"\bslack\b", re.I)
_EMAIL = re.compile(r"\b(?:e-?mails?|mail me|by mail|inbox)\b", re.I)
#: "email" before a figure ("if email revenue drops") names Klaviyo's data, not a channel
_EMAIL_DATA = (
    r"(?!\s+(?:revenue|sales|orders?|clicks?|click|opens?|recipients?|deliver\w*|ctr|roas))"
)
_CHANNEL_WORDS = re.compile(
    rf"\b(?:(?:on|via|in|to|through|over|by|and|or) )?(?:slack|e-?mail{_EMAIL_DATA}|mail|inbox)"
    r"(?: (?:message|messages|channel|notification|notifications|me|us|too|also|as well))?\b",
    re.I,
)

# --- what is left for the parser -------------------------------------------------------------
_SCAFFOLD = re.compile(
    rf"\b(?:alert|notify|warn|ping|message|text|slack|e-?mail{_EMAIL_DATA}|mail|let|tell|keep"
    r"|send|shoot"
    r"|drop|set up|create|add|make|set|check|watch|monitor|know|posted|me|us|an?|alert"
    r"|alerts|notification|notifications|if|when|whenever|once|as soon as|in case|and|please"
    r"|can you|could you|would you|will you|hey|hi|about|our|my|any|the|is|are|was"
    r"|were|goes|gets|get|go|it|its|it's|there|anything|something|looks?|seems?|be|alerted"
    r"|notified|warned|pinged|emailed|remind|for when)\b",
    re.I,
)

_ANY_ONE = re.compile(
    r"\b(?:any|every|each) (campaign|ad set|adset|ad|platform|channel)(?:'s|s')?(?!\w)", re.I
)


@dataclass(frozen=True)
class ProposedAlert:
    """What the copilot understood, to show and confirm: a rule's fields (Rule.parse) or a
    digest subscription's (cadence, local_hour, weekday, channels)."""

    kind: Literal["rule", "digest"]
    fields: dict[str, Any]
    words: str  # the rule in words (Rule.describe), or the digest's
    schedule: str  # "checked every 15 minutes", "every Monday at 08:00"
    channels: str  # "by email to you@x", "on Slack", "to the workspace's channels"
    when: str = ""  # the words as a clause: "NCPA is above $70.00 today so far"
    #: A digest's settings the request stated ("local_hour", "weekday", "slack"); the others
    #: are defaults, which confirming leaves as the workspace has them
    stated: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """The proposal as the copilot says it, asking to confirm."""
        if self.kind == "digest":
            return f"I'll send you {self.words} {self.schedule}, {self.channels}. Save this digest?"
        return (
            f"I'll alert you when {self.when or self.words}, {self.schedule}, {self.channels}. "
            "Save this alert?"
        )


@dataclass(frozen=True)
class AlertRecognition:
    """An alert or digest request: its proposal, or (proposal None) what is missing."""

    proposal: ProposedAlert | None
    message: str


@dataclass
class _Pieces:
    text: str
    channels: list[dict[str, str]] = field(default_factory=list)
    channel_words: str = ""
    schedule: str = "after_sync"
    local_hour: int | None = None
    scheduled: bool = False
    weekday: int | None = None
    weekly: bool = False
    stated: list[str] = field(default_factory=list)


def _normalise(question: str) -> str:
    text = question.replace("\u2019", "'").replace("\u2013", "-").replace("\u2014", "-")
    return " ".join(text.split())


def is_request(text: str) -> bool:
    """True when `text` (lower case) opens as an alert or digest request."""
    head = re.sub(r"^" + _POLITE, "", text.lower())
    asks = not head.startswith(("what", "how", "which", "why", "who"))
    if asks and _STRONG.search(head[:60]):
        return True
    if asks and _SENDING.search(head[:60]) and _has_condition(head):
        return True
    if _DIGEST_WORDS.search(head) and (_DAILY.search(head) or _WEEKLY.search(head)):
        # "send me a weekly summary on Mondays", "every Friday at 5pm send me a recap"
        return bool(_DELIVER.search(head))
    soft = _SOFT.match(head)
    if soft is None:
        # "every morning at 9, alert me ...": a schedule before the trigger
        return bool(_DAILY.match(head) or _WEEKLY.match(head)) and bool(
            _STRONG.search(head) or _SOFT.search(head) or _SENDING.search(head)
        )
    rest = head[soft.end() :]
    if (_DAILY.search(rest) or _WEEKLY.search(rest)) is None and _PAST.search(rest):
        return False  # "tell me if ROAS was above 2 last week" asks about the past
    return bool(_CONDITIONAL.search(rest[:30]) and _has_condition(rest)) or bool(
        (_DAILY.search(rest) or _WEEKLY.search(rest)) and _DIGEST_WORDS.search(rest)
    )


def _has_condition(text: str) -> bool:
    return bool(
        _CHANGE.search(text)
        or _COMPARE.search(text)
        or _ANOMALY.search(text)
        or _VAGUE.search(text)
    )


def _amount(match: re.Match[str]) -> tuple[Decimal, str | None]:
    """The number of a _NUMBER match, multiplied out, and its unit ("%", "x", ...)."""
    number = Decimal(match["num"].replace(",", ""))
    multiplier = (match["mult"] or "").lower()
    if multiplier:
        number *= _MULTIPLIERS[multiplier]
    return number, (match["unit"] or "").lower() or None


def _hour(match: re.Match[str]) -> int | None:
    hour_text = match.groupdict().get("hour") or match.groupdict().get("hour2")
    if hour_text is None:
        return None
    hour = int(hour_text)
    ampm = (match.groupdict().get("ampm") or "").replace(".", "")
    if ampm == "pm" and hour < 12:
        hour += 12
    elif ampm == "am" and hour == 12:
        hour = 0
    return hour


def _lift(pattern: re.Pattern[str], text: str) -> tuple[re.Match[str] | None, str]:
    match = pattern.search(text)
    if match is None:
        return None, text
    return match, f"{text[: match.start()]} {text[match.end() :]}"


def _read_channels(pieces: _Pieces, email: str | None) -> None:
    lower = pieces.text.lower()
    slack, mail = bool(_SLACK.search(lower)), bool(_EMAIL.search(lower))
    channels: list[dict[str, str]] = []
    if mail or not slack:
        channels += [{"kind": "email", "to": email}] if email else []
    if slack:
        channels.append({"kind": "slack"})
    pieces.channels = channels
    words = []
    if email and (mail or not slack):
        words.append(f"by email to {email}")
    if slack:
        words.append("on Slack")
    pieces.channel_words = " and ".join(words) or "to the workspace's alert channels"
    pieces.text = _CHANNEL_WORDS.sub(" ", pieces.text)


def _read_schedule(pieces: _Pieces) -> str | None:
    """The schedule words lifted out; a problem to report, or None."""
    lower = pieces.text.lower()
    weekly = _WEEKLY.search(lower)
    if weekly is not None:
        pieces.weekly = True
        pieces.text = _WEEKLY.sub(" ", pieces.text, count=1)
        named = weekly["day"] or weekly["day2"]
        other = _DAY_NAME.search(pieces.text)
        if named is None and other is not None:
            named = other[1]
            pieces.text = _DAY_NAME.sub(" ", pieces.text, count=1)
        pieces.weekday = WEEKDAYS.index(named.lower()) if named else 0
        pieces.stated += ["weekday"] if named else []
    daily = _DAILY.search(pieces.text)
    hour = None
    if daily is not None:
        hour = _hour(daily)
        pieces.text = _DAILY.sub(" ", pieces.text, count=1)
        pieces.scheduled = True
    at_hour = _AT_HOUR.search(pieces.text)
    if at_hour is None and (pieces.scheduled or pieces.weekly):
        at_hour = _BARE_HOUR.search(pieces.text)  # "every Monday at 10"
    if at_hour is not None and hour is None:
        hour = _hour(at_hour)
        pieces.text = f"{pieces.text[: at_hour.start()]} {pieces.text[at_hour.end() :]}"
        pieces.scheduled = True
    pieces.stated += ["local_hour"] if hour is not None else []
    if hour is not None and not 0 <= hour <= 23:
        return f"I read {hour} as the hour to check at; an hour is 0 to 23"
    if pieces.scheduled or pieces.weekly:
        pieces.schedule = "daily"
        pieces.local_hour = DEFAULT_HOUR if hour is None else hour
        pieces.scheduled = True
    elif _HOURLY.search(pieces.text.lower()):
        pieces.schedule = "hourly"
        pieces.text = _HOURLY.sub(" ", pieces.text, count=1)
    elif _AFTER_SYNC.search(pieces.text.lower()):
        pieces.text = _AFTER_SYNC.sub(" ", pieces.text, count=1)
    return None


def recognise(
    question: str,
    *,
    today: date,
    definitions: Definitions | None = None,
    entities: Sequence[Entity] = (),
    currency: str = "USD",
    email: str | None = None,
) -> AlertRecognition | None:
    """The alert or digest `question` asks for, or None when it is an ordinary question.
    `email` is the asking user's address (the default channel); `definitions` and
    `entities` are the workspace's, as the parser reads them."""
    text = _normalise(question)
    if not is_request(text):
        return None
    definitions = definitions or Definitions()
    pieces = _Pieces(text)
    _read_channels(pieces, email)
    problem = _read_schedule(pieces)
    if problem:
        return AlertRecognition(None, f"{BUT} {problem}.")
    lower = pieces.text.lower()
    if (
        _DIGEST_WORDS.search(lower)
        and (pieces.scheduled or pieces.weekly)
        and not (_COMPARE.search(lower) or _CHANGE.search(lower))
    ):
        return _digest(pieces)
    return _rule(pieces, today, definitions, entities, currency)


def _digest(pieces: _Pieces) -> AlertRecognition:
    cadence = "weekly" if pieces.weekly else "daily"
    hour = pieces.local_hour if pieces.local_hour is not None else DEFAULT_HOUR
    fields = {
        "cadence": cadence,
        "local_hour": hour,
        "weekday": pieces.weekday if cadence == "weekly" else None,
        "channels": pieces.channels,
    }
    when = f"at {hour:02d}:00"
    if cadence == "weekly":
        day = WEEKDAYS[pieces.weekday or 0].capitalize()
        words, schedule = "a weekly summary of the last week", f"every {day} {when}"
    else:
        words, schedule = "a daily summary of yesterday", f"every day {when}"
    stated = (*pieces.stated, *(["slack"] if {"kind": "slack"} in pieces.channels else []))
    proposal = ProposedAlert(
        "digest", fields, words, schedule, pieces.channel_words, stated=tuple(stated)
    )
    return AlertRecognition(proposal, proposal.text)


def _condition(pieces: _Pieces) -> tuple[str | None, Decimal | None, str | None]:
    """(condition, threshold, baseline) lifted from the text; (None, None, None) when none."""
    change, rest = _lift(_CHANGE, pieces.text)
    if change is not None:
        amount = re.search(_NUMBER, change["amount"], re.I)
        assert amount is not None
        number, unit = _amount(amount)
        if unit in ("%", "percent", "pct"):
            rising = re.match(_RISE + r"\b", change["dir"].lower()) is not None
            pieces.text = rest
            baseline = "previous_period"
            for pattern, name in ((_SAME_WEEKDAY, "same_weekday"), (_PREVIOUS, "previous_period")):
                found, pieces.text = _lift(pattern, pieces.text)
                if found is not None:
                    baseline = name
                    break
            return ("rises_by" if rising else "falls_by"), number, baseline
    compare, rest = _lift(_COMPARE, pieces.text)
    if compare is not None:
        amount = re.search(_NUMBER, compare["amount"], re.I)
        assert amount is not None
        number, _unit = _amount(amount)
        pieces.text = rest
        return ("above" if compare["above"] else "below"), number, None
    anomaly, rest = _lift(_ANOMALY, pieces.text)
    if anomaly is not None:
        pieces.text = rest
        return "anomalous", ANOMALY_THRESHOLD, None
    return None, None, None


_PERIODS = {
    "today": "today",
    "so far today": "today",
    "yesterday": "yesterday",
    "last 7 days": "last_7_days",
    "past 7 days": "last_7_days",
    "past week": "last_7_days",
    "last seven days": "last_7_days",
}


def _rule(
    pieces: _Pieces,
    today: date,
    definitions: Definitions,
    entities: Sequence[Entity],
    currency: str,
) -> AlertRecognition:
    if pieces.weekly:
        return AlertRecognition(
            None,
            f"{BUT} a rule is checked every 15 minutes, hourly or daily, not weekly; "
            "for a weekly check, watch the last 7 days daily.",
        )
    condition, threshold, baseline = _condition(pieces)
    # "any campaign's ROAS", "every ad": each one judged on its own, a split
    remainder = _ANY_ONE.sub(r"by \1 ", pieces.text)
    remainder = _SCAFFOLD.sub(" ", remainder)
    remainder = " ".join(re.sub(r"[,;:!?.]+(?=\s|$)", " ", remainder).split())
    # a rule keeps campaign, ad set and ad names; creatives are no rule's scope yet
    slots = read(remainder, today, tree_entities(entities), custom_terms(definitions))
    try:
        read_email(slots, remainder, None)  # "if email revenue drops": Klaviyo's revenue
    except Clarify as doubt:
        text = doubt.message
        lowered = text[:1].lower() + text[1:] if text[1:2].islower() else text
        return AlertRecognition(None, f"{BUT} {lowered}")
    metrics = list(dict.fromkeys(slots.metrics))
    if not metrics:
        unknown = slots.unsupported_metrics or slots.unknown_words
        hint = f" (I do not know {', '.join(repr(w) for w in unknown[:3])})" if unknown else ""
        return AlertRecognition(
            None,
            f"{BUT} which metric should it watch{hint}? Name one, e.g. "
            "\u201calert me if CAC goes above $70\u201d.",
        )
    if len(metrics) > 1:
        return AlertRecognition(
            None,
            f"{BUT} an alert watches one metric, and I read "
            + " and ".join(_label(m, definitions) for m in metrics)
            + "; which one should it watch?",
        )
    metric = metrics[0]
    if condition is None or threshold is None:
        return AlertRecognition(
            None,
            f"{BUT} at what value of {_label(metric, definitions)}? Say the threshold, e.g. "
            f"\u201calert me if {_label(metric, definitions)} goes above ...\u201d or "
            "\u201c... drops by 20%\u201d.",
        )
    if slots.unknown_words:
        # a word the parser cannot place may be a filter it would drop: ask, do not guess
        return AlertRecognition(
            None,
            f"{BUT} I did not understand "
            + ", ".join(f"\u201c{w}\u201d" for w in slots.unknown_words[:3])
            + "; a campaign's name goes in quotes (for campaign \u201cSummer Sale\u201d).",
        )
    period = (
        "yesterday" if pieces.schedule == "daily" and (pieces.local_hour or 0) < 12 else "today"
    )
    if slots.dates.main:
        found = _PERIODS.get(slots.dates.main)
        if found is None:
            return AlertRecognition(
                None,
                f"{BUT} it watches today so far, yesterday or the last 7 days, not "
                f"\u201c{slots.dates.main}\u201d.",
            )
        period = found
    unsupported = slots.unsupported_providers or ([slots.excluded] if slots.excluded else [])
    if unsupported:
        return AlertRecognition(
            None,
            f"{BUT} its query cannot express "
            + ", ".join(f"\u201c{w}\u201d" for w in unsupported[:3])
            + f" (an alert filters by {listing(AD_PROVIDERS, short=True)}, and excludes "
            "nothing).",
        )
    filters: dict[str, Any] = {}
    if slots.providers:
        filters["provider"] = list(slots.providers)
    if slots.name:
        filters["name_contains"] = slots.name
    if slots.dimension_values:
        filters["dimension_values"] = {k: list(v) for k, v in slots.dimension_values.items()}
    split = slots.dimensions[0] if slots.dimensions else None
    if len(slots.dimensions) > 1:
        return AlertRecognition(
            None, f"{BUT} a rule splits by one dimension; which of {', '.join(slots.dimensions)}?"
        )
    fields = {
        "name": "",
        "metric": metric,
        "filters": filters,
        "split": split,
        "condition": condition,
        "threshold": str(threshold),
        "baseline": baseline,
        "period": period,
        "schedule": pieces.schedule,
        "local_hour": pieces.local_hour if pieces.schedule == "daily" else None,
        "channels": pieces.channels,
    }
    return propose_rule(fields, definitions, currency)


def _label(metric: str, definitions: Definitions) -> str:
    known = catalogue.METRICS.get(metric)
    if known is not None:
        return known.label
    custom = definitions.metrics.get(metric)
    return custom.label if custom is not None else metric


def propose_rule(
    fields: dict[str, Any], definitions: Definitions, currency: str
) -> AlertRecognition:
    """A rule proposal from its fields, checked as add_rule will check it; its problem as
    the message otherwise. An empty name becomes the rule's words."""
    try:
        rule = Rule.parse(fields | {"name": fields.get("name") or "alert"})
        metric = check_in(rule, definitions)
    except (AlertRuleError, catalogue.UnknownMetricError) as problem:
        return AlertRecognition(None, f"{BUT} {_one_line(str(problem))}.")
    words = rule.describe(metric, currency)
    if not fields.get("name"):
        rule = rule.model_copy(update={"name": _name_of(words)})
    stored = rule.model_dump(mode="json")
    schedule = f"checked {rule.schedule_words()}"
    channels = _channel_words(stored["channels"])
    when = words
    if rule.condition in ("above", "below") and words.startswith(metric.label + " "):
        when = f"{metric.label} is {words[len(metric.label) + 1 :]}"
    proposal = ProposedAlert("rule", stored, words, schedule, channels, when)
    return AlertRecognition(proposal, proposal.text)


def _name_of(words: str) -> str:
    return words if len(words) <= 120 else words[:119].rstrip() + "\u2026"


def _channel_words(channels: list[dict[str, str]]) -> str:
    words = [f"by email to {c['to']}" if c["kind"] == "email" else "on Slack" for c in channels]
    return " and ".join(words) or "to the workspace's alert channels"


def _one_line(text: str) -> str:
    return " ".join(text.split()).rstrip(".")
