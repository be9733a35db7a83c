"""What the copilot will not do, decided before any parsing: the question text is data.

The copilot reads metrics. It never runs SQL, changes or deletes anything, reveals secrets or
other workspaces, writes copy, gives advice or forecasts, or follows instructions hidden in a
question ("ignore previous instructions ..."). Sentences carrying such instructions are
dropped; what is left is parsed as an ordinary question, or refused when nothing is left.
Refusals never quote the question back, so injected text (or SQL) is never echoed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Reason = Literal[
    "sql", "change", "secrets", "injection", "writing", "advice", "forecast", "off_topic"
]

CAPABILITIES = (
    "I can answer questions about your ad and store metrics: spend, ROAS, CPA, CPC, CPM, CTR, "
    "conversions, leads, revenue, orders, AOV, new customers, MER, profit, POAS and attributed "
    "results, for any dates, by platform, account, campaign, ad set or ad, by day, week or "
    "month, compared with an earlier period. For example: \"ROAS by campaign last week vs the "
    "previous period\"."
)

_LEADS: dict[Reason, str] = {
    "sql": "I don't run SQL or database commands; ask in plain words instead.",
    "change": "I can't change, pause, create or delete anything: I only read your metrics.",
    "secrets": "I can't share credentials, system details or anyone else's data.",
    "injection": "I only answer questions about your metrics; instructions inside a question "
    "don't change that.",
    "writing": "I don't write ad copy or other text.",
    "advice": "I don't give recommendations, but I can show the numbers behind a decision "
    "(for example campaigns ranked by ROAS or CPA).",
    "forecast": "I can't forecast: I report what already happened.",
    "off_topic": "That's outside what I can answer.",
}


def refusal_message(reason: Reason) -> str:
    """Why the copilot declines, followed by what it can answer instead."""
    return f"{_LEADS[reason]} {CAPABILITIES}"


def _words(*alternatives: str) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(alternatives) + r")\b", re.IGNORECASE)


_SQL = re.compile(
    r"\b(?:drop|truncate|alter)\s+(?:table|database|schema|index|view)\b|\bdelete\s+from\b"
    r"|\binsert\s+into\b|\bupdate\s+\w+\s+set\b|\bselect\s+[\w*,().\s]{1,200}?\s+from\b"
    r"|\bunion\s+(?:all\s+)?select\b|;\s*--|\bsql\b|\bexec(?:ute)?\s*\(|\bpg_\w+"
    r"|\binformation_schema\b|\b(?:or|and)\s+'?1'?\s*=\s*'?1\b|\bgrant\s+all\b"
    r"|\brun\s+(?:this|the\s+following|my)\s+query\b",
    re.IGNORECASE,
)
_SECRETS = _words(
    r"passwords?", r"api\s+keys?", r"access\s+tokens?", r"tokens?", r"credentials?",
    r"secrets?", r"encryption\s+keys?", r"system\s+prompt", r"your\s+prompt",
    r"your\s+instructions", r"other\s+(?:workspaces?|merchants?|tenants?|stores?|shops?"
    r"|clients?|users?|companies|brands?|accounts?\s+than\s+mine)",
    r"all\s+workspaces", r"every\s+workspace", r"competitors?(?:'s?)?",
    r"env(?:ironment)?\s+var\w*",
)
_FILLER = (
    r"(?:all|my|our|the|these|those|this|that|every|each|of|worst|bad|losing|underperforming|poor"
    r"|low|high|\d+|top|bottom|best|good|winning|profitable|meta|google|facebook|a|an|new|daily"
    r"|some|more|less|active|paused|running|old|ad|its|their|performing)"
)
_OBJECTS = (
    r"campaigns?|ads|ad\s+sets?|adsets?|ad\s+groups?|budgets?|bids?|accounts?|data|everything"
    r"|orders?|customers?|connections?|users?|spend|creatives?|ad|workspaces?|database|tables?"
    r"|history|records?"
)
_DESTRUCTIVE = (
    r"delete|remove|pause|stop|turn\s+off|switch\s+off|disable|deactivate|kill|cancel|archive"
    r"|wipe|erase|purge"
)
_MODIFYING = (
    r"unpause|resume|turn\s+on|switch\s+on|enable|activate|launch|create|duplicate|edit|modify"
    r"|update|(?<!ad\s)set|increase|decrease|raise|lower|boost|cut|scale|adjust|rename|publish"
    r"|upload|change|move|reallocate|shift|double|halve|refund|reset|restart"
)
_CHANGE = re.compile(
    rf"\b(?:(?:{_DESTRUCTIVE})\s+(?:[\w'-]+\s+){{0,4}}?(?:{_OBJECTS}|it|them|all)"
    rf"|(?:{_MODIFYING})\s+(?:{_FILLER}\s+){{0,4}}(?:{_OBJECTS}))\b",
    re.IGNORECASE,
)
_BUDGET_CHANGE = re.compile(
    r"\bbudgets?\b.{0,40}?\b(?:up|down|by\s+\d+|to\s+[$€£]?\d+)|\b(?:turn|bump|crank|dial|ramp)\s+"
    r"(?:\S+\s+){0,5}?(?:up|down)\b",
    re.IGNORECASE,
)
_INJECTION = re.compile(
    r"\b(?:ignore|disregard|forget|override|bypass|skip)\b(?:\s+[\w']+){0,4}?\s+"
    r"(?:instructions?|prompts?|rules|guidelines|context|directions|programming|restrictions"
    r"|guardrails|constraints|training)\b"
    r"|\b(?:ignore|disregard|forget)\s+(?:all\s+|everything\s+)?(?:the\s+|that\s+)?"
    r"(?:above|previous|prior|earlier|everything)\b"
    r"|\byou\s+are\s+now\b|\byou'?re\s+now\b|\bfrom\s+now\s+on\b|\bact\s+as\b|\bpretend\b"
    r"|\brole\s*-?play\b|\bjailbreak|\bdeveloper\s+mode\b|\bnew\s+instructions?\b"
    r"|\b(?:system|assistant|user)\s*:|<\s*/?\s*(?:system|instructions?|prompt)\s*>"
    r"|\bdo\s+anything\s+now\b|\bno\s+longer\s+bound\b|\bunrestricted\b|\bunfiltered\b"
    r"|\bsay\s+(?:that\s+)?(?:my|the|our)\b|\brespond\s+(?:only\s+)?with\b|\bprint\s+(?:the|your)\b",
    re.IGNORECASE,
)
_WRITING = _words(
    r"write", r"draft", r"compose", r"rewrite", r"brainstorm", r"copywriting", r"ad\s+copy",
    r"headlines?", r"captions?", r"slogans?", r"taglines?", r"blog\s+post", r"poem",
    r"generate\s+(?:some\s+|an?\s+|new\s+)?(?:ad|copy|headline|text|image|caption|ideas?"
    r"|email|post)",
)
_ADVICE = _words(
    r"should\s+(?:i|we)", r"what\s+should", r"recommend\w*", r"advice", r"advise",
    r"suggest\w*", r"strategy", r"strategies", r"tips?", r"ideas?",
    r"how\s+(?:can|do|could|should|would|to)\s+(?:i\s+|we\s+)?(?:improve|increase|grow|fix|boost"
    r"|lower|reduce|optimi[sz]e|get\s+more|scale|make\s+more)",
)
_FORECAST = _words(
    r"forecast\w*", r"predict\w*", r"projections?", r"projected", r"next\s+(?:week|month|year"
    r"|quarter|day|\d+\s+days)", r"tomorrow", r"will\s+(?:i|we|my|our|it|the)", r"going\s+to\s+be",
)
_OFF_TOPIC = _words(
    r"weather", r"jokes?", r"funny", r"poems?", r"songs?", r"lyrics", r"recipes?", r"cook\w*",
    r"news", r"president", r"capital\s+of", r"stock\s+prices?", r"stocks", r"bitcoin", r"crypto",
    r"football", r"soccer", r"basketball", r"nba", r"nfl", r"movies?", r"films?", r"horoscope",
    r"meaning\s+of\s+life", r"translate", r"translation", r"homework", r"essay",
    r"restaurants?", r"flights?", r"hotels?", r"vacation", r"sports?", r"elections?",
    r"politics", r"celebrit\w+", r"girlfriend", r"boyfriend", r"dating", r"time\s+is\s+it",
    r"who\s+(?:is|was|are|won)", r"tell\s+me\s+about\s+yourself", r"your\s+name",
    r"how\s+old\s+are\s+you", r"sing", r"dance", r"chess",
    r"what\s+is\s+\d+\s*[-+*/x]\s*\d+", r"lottery", r"temperature", r"rain(?:ing|y)?",
    r"snow(?:ing|y)?",
    r"email\s+(?:me|my|the|to|it|this)", r"send\s+(?:me|it|this|an?\s+)", r"remind\s+me",
    r"notify", r"alert\s+me", r"schedule\w*", r"subscribe",
)
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|\n+")


@dataclass(frozen=True)
class Screened:
    """A question after screening: refused with a reason, or the text left to parse.

    ``unless_metric`` is a refusal that stands only if the text names no metric: topic words
    ("football", "story", "weather") can also be campaign or product names.
    """

    text: str
    refusal: Reason | None = None
    unless_metric: Reason | None = None
    injected: bool = False  # some sentence carried instructions and was dropped


def _drop_injected(text: str) -> tuple[str, bool]:
    """The sentences before the first instruction-like one (what follows it is its payload)."""
    sentences = [s for s in _SENTENCE_END.split(text) if s.strip()]
    for index, sentence in enumerate(sentences):
        if _INJECTION.search(sentence):
            return " ".join(sentences[:index]), True
    return " ".join(sentences), False


def screen(question: str) -> Screened:
    """Refuse what the copilot must not do; drop injected sentences from what it may answer.

    Order matters: SQL and data changes are refused even next to a fair metric question (no
    part of such a request is acted on); instruction-like sentences are dropped and the rest
    judged on its own: secrets, advice and forecasts are refused; writing tasks and other
    topics are refused unless a metric is named (see Screened.unless_metric).
    """
    for reason, pattern in (("sql", _SQL), ("change", _CHANGE), ("change", _BUDGET_CHANGE)):
        if pattern.search(question):
            return Screened(text="", refusal=reason)  # type: ignore[arg-type]
    text, injected = _drop_injected(question)
    if injected and not text.strip():
        return Screened(text="", refusal="injection", injected=True)
    for reason, pattern in (("secrets", _SECRETS), ("advice", _ADVICE), ("forecast", _FORECAST)):
        if pattern.search(text):
            return Screened(text="", refusal=reason, injected=injected)  # type: ignore[arg-type]
    soft = next((reason for reason, pattern in (("writing", _WRITING), ("off_topic", _OFF_TOPIC))
                 if pattern.search(text)), None)
    return Screened(text=text, unless_metric=soft, injected=injected)  # type: ignore[arg-type]
