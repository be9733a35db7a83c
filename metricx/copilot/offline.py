"""The offline understander: a deterministic parser used when no ANTHROPIC_API_KEY is set.

question -> guard.screen (refuse what must not be done, drop injected sentences) ->
slots.read (what the question names) -> a draft query (fresh, or the previous query modified
by a follow-up) -> SemanticQuery validation. Whenever the question leaves the metric open or
names something the query language cannot express, it asks (clarify) rather than guesses;
every default it applies (the last 7 days, ranking by spend, attributed revenue for a
campaign split) is stated in the Understanding's message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from metricx.errors import InvalidInputError
from metricx.platforms import AD_PROVIDERS, listing, short_name
from metricx.semantic import catalogue
from metricx.semantic.custom import Definitions
from metricx.semantic.dates import compare_range_for, resolve_phrase
from metricx.semantic.expression import Binary
from metricx.semantic.query import (
    DIMENSIONS,
    EMAIL_DIMENSIONS,
    QueryValidationError,
    SemanticQuery,
    TimeRange,
)

from . import families, lexicon
from .choices import ready_question
from .creative_questions import FATIGUE_PERIOD, read_creative
from .custom_terms import custom_terms
from .email_questions import EMAIL_NAMES, read_email
from .guard import CAPABILITIES, refusal_message, screen
from .names import Entity, ambiguous, closest_names, tree_entities
from .slots import DEFAULT_TOP_N, VALID_WINDOWS, Rank, Slots, direction_for, read
from .timephrases import DEFAULT_PERIOD, PLACEHOLDER, Comparison, named_unit, whole_unit
from .understanding import Clarify, Conversation, Understanding

#: "Meta and Google": the ad platforms in a sentence.
AD_NAMES = listing(AD_PROVIDERS, "and", short=True)

MAX_QUESTION_CHARS = 500
#: Without dates, a weekly or monthly split covers a few whole weeks or months instead.
DEFAULT_PERIOD_FOR_GRAIN = {"week": "last 4 weeks", "month": "last 3 months"}
_UNIT_DAYS = {"day": 1, "week": 7, "month": 28}
_WEEKS_52 = timedelta(days=364)
_MODEL_CHOICES = ("last click", "first click", "linear", "time decay", "position based")
_OVERVIEW_CHOICES = (
    "How did we do last 7 days?",
    "Spend, revenue, orders and MER this month",
    "Spend, conversions, CPA and ROAS by platform last week",
)


@dataclass
class _Draft:
    """A SemanticQuery under construction, plus the notes that explain its defaults."""

    metrics: list[str]
    time_range: TimeRange
    compare_range: TimeRange | None = None
    dimensions: list[str] = field(default_factory=list)
    grain: str | None = None
    provider: list[str] | None = None
    name_contains: str | None = None
    dimension_values: dict[str, list[str]] | None = None
    email_channel: list[str] | None = None
    creative_format: list[str] | None = None
    creative_ids: list[int] | None = None
    order_by: dict[str, str] | None = None
    limit: int | None = None
    attribution: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    explain: str | None = None  # the split a "why" answer decomposes the change by
    fatigue: bool = False  # "which creatives are fatiguing?": verdicts beside the rows
    #: The workspace's custom metrics and dimensions the query may name
    definitions: Definitions = field(default_factory=Definitions)

    @classmethod
    def from_query(cls, query: SemanticQuery, definitions: Definitions) -> _Draft:
        return cls(
            metrics=list(query.metrics),
            time_range=query.time_range,
            compare_range=query.compare_range,
            dimensions=list(query.dimensions),
            grain=query.grain,
            provider=list(query.filters.provider) if query.filters.provider else None,
            name_contains=query.filters.name_contains,
            dimension_values=query.filters.dimension_values,
            email_channel=list(query.filters.email_channel)
            if query.filters.email_channel
            else None,
            creative_format=list(query.filters.creative_format)
            if query.filters.creative_format
            else None,
            creative_ids=list(query.filters.creative_ids) if query.filters.creative_ids else None,
            order_by=query.order_by.model_dump() if query.order_by else None,
            limit=query.limit,
            attribution=query.attribution.model_dump() if query.attribution else None,
            definitions=definitions,
        )

    def to_query(self) -> SemanticQuery:
        if self.compare_range is not None and self.compare_range == self.time_range:
            # never "X vs X, +0.0 %": a comparison read as the same dates is asked about
            raise Clarify(
                f"I read both periods as {self.time_range.start} to {self.time_range.end}; "
                "what should I compare them with?",
                ("the previous period", "the same period last year"),
            )
        return SemanticQuery.parse(
            {
                "metrics": self.metrics,
                "time_range": self.time_range.model_dump(),
                "compare_range": self.compare_range.model_dump() if self.compare_range else None,
                "dimensions": self.dimensions,
                "grain": self.grain,
                "filters": {
                    "provider": self.provider,
                    "name_contains": self.name_contains,
                    "dimension_values": self.dimension_values or None,
                    "email_channel": self.email_channel or None,
                    "creative_format": self.creative_format or None,
                    "creative_ids": self.creative_ids or None,
                },
                "order_by": self.order_by,
                "limit": self.limit,
                "attribution": self.attribution,
            },
            self.definitions,
        )

    def metric(self, metric_id: str) -> catalogue.Metric:
        """A catalogue metric, or one of the workspace's custom metrics."""
        known = catalogue.METRICS.get(metric_id)
        return known if known is not None else self.definitions.metric(metric_id)


# --- small decisions, one each ----------------------------------------------------------------


def auto_grain(time_range: TimeRange) -> str:
    """The grain for "over time": hours for one day, days up to a month, weeks up to half a
    year, months beyond."""
    if time_range.days == 1:
        return "hour"
    if time_range.days <= 31:
        return "day"
    return "week" if time_range.days <= 183 else "month"


def _suggestions(words: list[str]) -> tuple[str, ...]:
    """Real metrics close to unknown words (catalogue spelling first, then our hints)."""
    found: list[str] = []
    for word in words[:2]:  # difflib per word is the slow part; the first words say enough
        found += catalogue.suggest_metrics(word)
        found += lexicon.UNSUPPORTED_METRICS.get(word, ())
    found += lexicon.POPULAR_METRICS
    return tuple(dict.fromkeys(found))[:6]


def _looks_like_gibberish(words: list[str]) -> bool:
    rows = ("qwertyuiop", "asdfghjkl", "zxcvbnm")

    def odd(word: str) -> bool:
        vowels = sum(c in "aeiouy" for c in word)
        keyboard = len(word) >= 3 and any(word in r or word in r[::-1] for r in rows)
        return (
            keyboard or vowels == 0 or vowels / len(word) < 0.2 or bool(re.search(r"(.)\1\1", word))
        )

    return bool(words) and sum(odd(w) for w in words) * 2 >= len(words)


def _resolve(phrase: str, today: date) -> TimeRange:
    try:
        return resolve_phrase(phrase, today)
    except InvalidInputError as exc:
        raise Clarify(f"I couldn't read the dates: {exc}.") from None


# --- the understander -------------------------------------------------------------------------


class OfflineUnderstander:
    """Deterministic question -> Understanding, without a network or an LLM."""

    name = "offline"

    def understand(self, question: str, conversation: Conversation, today: date) -> Understanding:
        """One question, in the context of the conversation, with dates resolved for today."""
        if len(question) > MAX_QUESTION_CHARS:
            return _clarify(
                f"That question is {len(question)} characters long; please ask it in at most "
                f"{MAX_QUESTION_CHARS}, one metric question at a time."
            )
        if not re.search(r"[^\W_]", question):
            return _clarify(
                "What would you like to know? " + CAPABILITIES, lexicon.EXAMPLE_QUESTIONS
            )
        question = _completing_clarification(question, conversation, today)
        screened = screen(question, (e.name for e in conversation.entities))
        # campaigns, ad sets and ads are what a name filter keeps; creatives are checked apart
        tree = tree_entities(conversation.entities)
        if screened.refusal is not None:
            return Understanding(status="refuse", message=refusal_message(screened.refusal))
        previous = conversation.last_query()
        family = families.understand(screened.text, previous, today)
        if family is not None:
            if family.status != "answer" and screened.unless_metric is not None:
                return Understanding(
                    status="refuse", message=refusal_message(screened.unless_metric)
                )
            return family
        if previous is not None and previous.family != "ads":
            previous = None  # an ad or store question after a cohort or product one: fresh
        definitions = conversation.definitions
        slots = read(screened.text, today, tree, custom_terms(definitions))
        if screened.unless_metric is not None and not slots.metrics:
            return Understanding(status="refuse", message=refusal_message(screened.unless_metric))
        if slots.reference and not slots.name and previous is None:
            words = "it" if slots.reference.startswith("how") else slots.reference
            return _clarify(
                f"Which campaign, ad set or ad do you mean by \u201c{words}\u201d? Nothing was "
                "named before in this conversation; name it, or ask for all of them split by "
                "campaign.",
                _some_campaigns(tree) or ("spend by campaign last 7 days",),
            )
        unread_tools = [p for p in slots.unsupported_providers if p in lexicon.NON_AD_SOURCES]
        if unread_tools:
            # "mailchimp revenue": an email tool whose data Metricx does not read, and for
            # which neither an ad platform nor the email platform it reads can stand in
            return Understanding(
                status="refuse",
                message=f"Metricx has no data from \u201c{unread_tools[0]}\u201d: it reads "
                f"your {AD_NAMES} ads, your store and your {EMAIL_NAMES} email & SMS. "
                f"{CAPABILITIES}",
            )
        if slots.excluded:
            return _excluded(screened.text, slots.excluded)
        try:
            read_email(slots, screened.text, previous)
            read_creative(slots, screened.text, conversation.entities)
            draft = _draft(slots, previous, today, screened.injected, definitions)
            if isinstance(draft, Understanding):
                return draft
            _check_name(draft, screened.text, tree)
            _check_unread_words(slots, screened.text, tree)
            query = draft.to_query()
        except Clarify as exc:
            return _clarify(exc.message, exc.choices)
        except QueryValidationError as exc:
            return _clarify(f"I can't answer that as asked: {exc}", _choices_for(str(exc)))
        return Understanding(
            status="answer",
            query=query,
            message=" ".join(draft.notes),
            explain=draft.explain,
            fatigue=draft.fatigue,
        )


def _completing_clarification(question: str, conversation: Conversation, today: date) -> str:
    """A reply to the question just asked back, made into the question it completes (as the
    page's choice buttons do): one of the choices, a word only one offered name has, another
    of the workspace's names written out in full, or the missing metric alone ("cpa" after
    "give me last week"). Any other reply is a question of its own."""
    if not conversation.turns:
        return question
    asked, understanding = conversation.turns[-1]
    reply = question.strip().strip("?.!").strip()
    if understanding.status != "clarify" or not reply:
        return question
    picked = _picked(reply, understanding, conversation.entities)
    if picked is None and understanding.message.startswith("Which metric"):
        slots = read(reply, today, tree_entities(conversation.entities))
        if len(slots.metrics) == 1 and not _names_more_than_metrics(slots):
            picked = slots.metrics[0]
    return question if picked is None else ready_question(asked, understanding.message, picked)


def _picked(reply: str, understanding: Understanding, entities: tuple[Entity, ...]) -> str | None:
    wanted = reply.casefold()
    exact = [c for c in understanding.choices if c.casefold().rstrip("?") == wanted]
    if exact:
        return exact[0]
    if "name" not in understanding.message:
        return None
    named = [e.name for e in entities if e.name.casefold() == wanted]
    names = [c for c in understanding.choices if "?" not in c and wanted in c.casefold()]
    return named[0] if named else names[0] if len(names) == 1 and len(reply) >= 3 else None


def _names_more_than_metrics(slots: Slots) -> bool:
    """True when a reply names dates, a split, a platform, a name or a ranking too."""
    dates = slots.dates
    return bool(
        dates.main
        or dates.comparison
        or dates.over_unit
        or slots.dimensions
        or slots.grain
        or slots.providers
        or slots.name
        or slots.rank
        or slots.unknown_words
    )


def _check_name(draft: _Draft, question: str, entities: tuple[Entity, ...]) -> None:
    """A name that no entity of the workspace has, or one word that several campaigns share
    ("the brand campaign"), is asked about with the closest names."""
    name = draft.name_contains
    if not entities or not name:
        return
    closest = closest_names(name, [e.name for e in entities])
    if closest is not None:
        raise Clarify(
            f"No campaign, ad set or ad has \u201c{name}\u201d in its name. "
            + (
                "Did you mean one of these?"
                if closest
                else "Which campaign do you mean? Some of this workspace's:"
            ),
            closest or _some_campaigns(entities),
        )
    singular = re.search(
        rf"{re.escape(name.lower())}\W+(campaign|ad set|adset|ad|creative)"
        r"\b(?!s)",
        question.lower(),
    )
    if not singular:
        return
    finest = [d for d in ("ad", "adset", "campaign") if d in draft.dimensions]
    # "the Hook ad" is one ad, whatever the split; "the brand campaign" one campaign
    level = _LEVEL_NOUNS.get(singular[1]) or (finest[0] if finest else "campaign")
    options = ambiguous(name, level, entities)
    if options:
        noun = {"adset": "ad sets", "ad": "ads"}.get(level, "campaigns")
        raise Clarify(
            f"Several {noun} have \u201c{name}\u201d in their name; which one do you mean?", options
        )


_LEVEL_NOUNS = {"ad": "ad", "creative": "ad", "ad set": "adset", "adset": "adset"}


def _check_unread_words(slots: Slots, question: str, entities: tuple[Entity, ...] = ()) -> None:
    """A word that is neither used, nor filler, nor a known name is asked about when it may be
    a name to filter on ("spend on summer stuff" does not answer all spend); an ordinary
    lowercase word away from a name position ("did we issue", "compared w april") is filler."""
    unread = [
        w
        for w in slots.unknown_words
        if w not in lexicon.FILLER
        and not (slots.name and w in slots.name.lower().split())
        and not _describes_named(w, slots.name, entities)
        and (
            _names_something(w, question)
            or (w not in lexicon.COMMON_WORDS and _qualifies(w, question))
        )
    ]
    if not unread:
        return
    word = _unread_phrase(unread[0], slots.unknown_words, question)
    spelled = r"\s+".join(re.escape(w) for w in word.split())
    at = rf"(?<!\w){spelled}(?!\w)"
    named = re.sub(f"(?i){at}", f"\u201c{word}\u201d", question, count=1)
    without = re.sub(rf"(?i)\s*{at}", "", question, count=1)
    raise Clarify(
        f"I didn't understand \u201c{word}\u201d here. Shall I leave it out, or is it part of "
        "a campaign, ad set or ad name to filter on?",
        (f"{without.strip().rstrip('?!. ')}?", f"{named.rstrip('?!. ')}?"),
    )


def _unread_phrase(word: str, unknown: list[str], question: str) -> str:
    """The unread word with the unknown words right after it ("summer sale"): one name is
    asked about once, not word by word."""
    words = re.findall(r"[\w'-]+", question)
    lowered = [w.lower() for w in words]
    if word not in lowered:
        return word
    end = start = lowered.index(word)
    while (
        end + 1 < len(words)
        and lowered[end + 1] in unknown
        and lowered[end + 1] not in (lexicon.FILLER | lexicon.COMMON_WORDS)
    ):
        end += 1
    return " ".join(words[start : end + 1])


_NAME_CUE = r"campaigns?|ads?|ad\s+sets?|adsets?|creatives?|named|called"


def _names_something(word: str, question: str) -> bool:
    """True when `word` stands where a name would: capitalised after the first word, quoted,
    or next to campaign/ad/named ("the Hook ad", "ads named static")."""
    at = re.search(rf"(?i)(?<![\w'])({re.escape(word)})(?![\w'])", question)
    if at is None:
        return False
    before = question[: at.start()]
    sentence_start = not before.strip(" \"'“") or before.rstrip().endswith((".", "!", "?"))
    if (at[1][:1].isupper() and not sentence_start) or re.search(r"[\"'“‘]\s*$", before):
        return True
    return bool(
        re.search(
            rf"(?i)(?:\b(?:{_NAME_CUE})\s+(?:the\s+)?{re.escape(word)}\b"
            rf"|\b{re.escape(word)}\s+(?:{_NAME_CUE})\b)",
            question,
        )
    )


_QUALIFIED_BY = r"on|for|of|from|in|at|about|to"


def _qualifies(word: str, question: str) -> bool:
    """True when an unusual word may narrow the numbers: after on/for/of ("spend on zorblax",
    "roas for summer stuff"), right before a metric ("summer spend") or as what "how is ...
    doing" asks about ("how's the summer sale doing"). Elsewhere ("just curious", "did we
    rake in") it is filler."""
    lowered = " ".join(re.findall(r"[\w'-]+", question.lower()))
    if re.search(
        rf"\bhow(?:'s| is| are| was| were| did| does| do| has| have)\s+(?:[\w'-]+\s+){{0,3}}?"
        rf"{re.escape(word)}\b(?:\s+[\w'-]+){{0,3}}?\s+(?:doing|going|performing|do|perform"
        r"|look|looking|holding up)\b",
        lowered,
    ):
        return True  # "how's the summer sale doing": what is asked about
    if re.search(
        rf"\b(?:{_QUALIFIED_BY})\s+(?:(?:the|our|my|all|those|these|that|this)\s+)?"
        rf"{re.escape(word)}\b",
        lowered,
    ):
        return True
    after = re.search(rf"\b{re.escape(word)}\s+([\w'-]+)(?:\s+([\w'-]+))?", lowered)
    return after is not None and any(
        lexicon.PHRASES.get(words, ("", ""))[0] == "metric"
        for words in ((after[1],), (after[1], after[2] or ""))
    )


def _describes_named(word: str, name: str | None, entities: tuple[Entity, ...]) -> bool:
    """ "the Bestseller Bundle static ad": every entity the name matches has the word in its
    name too, so it narrows nothing."""
    if not name or not entities:
        return False
    matched = [e.name.lower() for e in entities if name.lower() in e.name.lower()]
    return bool(matched) and all(re.search(rf"\b{re.escape(word)}\b", n) for n in matched)


def _excluded(question: str, name: str) -> Understanding:
    """ "roas excluding retargeting": the query language keeps names, it cannot drop them; ask,
    offering the question split by campaign, or kept to those names."""
    rest = re.sub(
        rf"\b(?:excluding|exclude|except|without|other than|apart from|besides|excl"
        rf"|but not|not counting|not including|leaving out|leave out|minus)\s+"
        rf"(?:the\s+|all\s+|any\s+)?{re.escape(name)}\b",
        " ",
        question,
        flags=re.IGNORECASE,
    )
    rest = " ".join(rest.split()).rstrip("?!. ")
    by_campaign = rest if re.search(r"\bby campaigns?\b", rest) else f"{rest} by campaign"
    return _clarify(
        f"I can't leave out \u201c{name}\u201d yet: I can only keep the campaigns whose name "
        f"contains a word, not drop them. Shall I split by campaign, so you can see it apart, "
        f"or show only the \u201c{name}\u201d ones?",
        (f"{by_campaign}?".strip(), f"{rest} only for the {name} ones?".strip()),
    )


def _some_campaigns(entities: tuple[Entity, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(e.name for e in entities if e.level == "campaign"))[:5]


def _clarify(message: str, choices: tuple[str, ...] = ()) -> Understanding:
    return Understanding(status="clarify", message=message, choices=tuple(choices))


def _choices_for(problem: str) -> tuple[str, ...]:
    if "store-level" in problem:
        return ("attributed_revenue", "attributed_orders", "attributed_roas", "roas")
    if "hourly" in problem:
        return ("day", "hour")
    return ()


def _draft(
    slots: Slots,
    previous: SemanticQuery | None,
    today: date,
    injected: bool,
    definitions: Definitions,
) -> _Draft | Understanding:
    """A draft query, or an Understanding when the question cannot become one."""
    _check_expressible(slots)
    _check_value(slots, definitions)
    follow_up = slots.modifies or bool(slots.bare_dimensions)
    if previous is not None and follow_up and (slots.follow_up_cue or not _standalone(slots)):
        draft = _follow_up(previous, slots, today, definitions)
    else:
        metrics = _metrics_for(slots, injected)
        if isinstance(metrics, Understanding):
            return metrics
        draft = _fresh(metrics, slots, today, definitions)
    draft.notes += [*slots.calendar_notes, *slots.notes]
    draft.fatigue = slots.fatigue
    _finish(draft, slots)
    if slots.why or slots.health:
        _explained(draft, slots, today)
    return draft


def _explained(draft: _Draft, slots: Slots, today: date) -> None:
    """ "Why did ROAS drop last week?" / "is it going well?": the total compared with the
    period before, and its change split by the split named (campaigns by default)."""
    if draft.compare_range is None:
        kind = _period_before(slots, draft.time_range, today)
        draft.compare_range = _compare_or_clarify(kind, draft.time_range)
        draft.notes.append(
            "Compared with the period before, of the same length."
            if kind == "previous period"
            else f"Compared with the whole {kind.split()[-1]} before."
        )
    draft.explain = draft.dimensions[0] if draft.dimensions else "campaign"
    if draft.explain in ("provider", "account", "campaign", "adset", "ad"):
        draft.dimensions, draft.grain, draft.order_by, draft.limit = [], None, None, None
    else:
        draft.explain = "campaign"


def _period_before(slots: Slots, period: TimeRange, today: date) -> str:
    """What a change ("why did X drop", "did X go up") is measured against: a whole past
    month, quarter or year ("last month", "q3", "october") against the whole one before it,
    whatever their lengths; any other period against the same number of days just before."""
    phrase = slots.dates.main or ""
    unit = named_unit(phrase) if phrase.startswith(("last ", "previous ")) else None
    if unit is None and period.end < today:
        unit = whole_unit(period)
    return f"last {unit}" if unit in ("month", "quarter", "year") else "previous period"


_FROM_TO = re.compile(r"from (?P<a>.+?) (?:to|until|till|through|thru|-) (?P<b>.+)")
#: "from last month to this month": the two ends found as two phrases
_FROM_TO_PHRASES = re.compile(
    rf"(?:\bfrom )?{PLACEHOLDER} (?:to|until|till|through|thru|-) {PLACEHOLDER}\b"
)


def _change_between(slots: Slots, today: date) -> tuple[TimeRange, TimeRange] | None:
    """ "did spend go up from september to october": October compared with September, when a
    change is asked about and each end is a whole period of its own (not one range of days)."""
    dates = slots.dates
    if not slots.change or dates.main is None:
        return None
    try:
        match = _FROM_TO.fullmatch(dates.main)
        if match and dates.comparison is None:
            first, second = resolve_phrase(match["a"], today), resolve_phrase(match["b"], today)
        elif (
            dates.comparison is not None
            and dates.comparison.kind == "phrase"
            and _FROM_TO_PHRASES.search(dates.text)
            and (dates.main.startswith("from ") or f"from {PLACEHOLDER}" in dates.text)
        ):
            first = resolve_phrase(dates.main, today)
            second = dates.comparison.resolve(first, today)
        else:
            return None
    except InvalidInputError:
        return None
    if first.days < 2 or second.days < 2 or first.end >= second.start:
        return None
    return second, first


def _compare_or_clarify(kind: str, period: TimeRange) -> TimeRange:
    try:
        return compare_range_for(kind, period)
    except InvalidInputError as exc:
        raise Clarify(f"I couldn't work out the comparison period: {exc}.") from None


def _standalone(slots: Slots) -> bool:
    """A question complete on its own ("top campaigns", "how did we do?"), not a follow-up."""
    ranked_split = (
        slots.rank is not None
        and slots.rank.sense in ("top", "bottom")
        and bool(slots.dimensions or slots.grain)
    )
    return bool(slots.metrics and not slots.by_metric_only) or slots.overview or ranked_split


def _check_value(slots: Slots, definitions: Definitions) -> None:
    """A value that several custom dimensions give ("BOFU" of two of them): ask which."""
    if slots.ambiguous_value is None:
        return
    value, keys = slots.ambiguous_value
    labels = [definitions.dimensions[key].label for key in keys]
    raise Clarify(
        f"\u201c{value}\u201d is a value of {' and of '.join(labels)}; which one do you mean?",
        tuple(f"{label} {value}" for label in labels),
    )


def _check_expressible(slots: Slots) -> None:
    """Things the query language cannot say: ask for something it can."""
    if slots.unreadable_date:
        raise Clarify(
            f'I can\'t read "{slots.unreadable_date}" as dates reliably; please give them like '
            '"Nov 27", "2026-11-27 to 2026-11-30" or "last 7 days".',
            ("yesterday", "last 7 days", "last week", "this month"),
        )
    if slots.names_compared:
        raise Clarify(
            "I can compare platforms (Meta vs Google) or periods, but not two name filters in "
            "one answer. Shall I split by campaign instead, or look at one name at a time?",
            ("campaign", "adset", "ad"),
        )
    if slots.placements_compared:
        raise Clarify(
            f"I can't split \u201c{slots.placements_compared}\u201d: the data has each platform "
            f"({', '.join(map(short_name, AD_PROVIDERS))}) but not the placements inside it "
            "(Facebook and Instagram are both "
            "Meta). Shall I show Meta as a whole, or Meta vs Google?",
            ("meta", "meta vs google"),
        )
    if slots.threshold:
        raise Clarify(
            f"I can't filter on a metric's value (\u201c{slots.threshold}\u201d) yet, but I can "
            'rank: for example "top 10 ads by CTR". Which metric should I rank by?',
            tuple(
                f"ranked by {catalogue.get_metric(m).label.split(' (')[0]}"
                for m in lexicon.RANKING_METRICS
            ),
        )
    if slots.unsupported_model or slots.models_compared:
        what = (
            f"a \u201c{slots.unsupported_model}\u201d attribution model"
            if slots.unsupported_model
            else f"several attribution models at once (\u201c{slots.models_compared}\u201d)"
        )
        raise Clarify(f"I don't have {what}; which one of these do you want?", _MODEL_CHOICES)
    if slots.invalid_window is not None:
        windows = ", ".join(str(w) for w in VALID_WINDOWS)
        raise Clarify(
            f"Attribution windows are {windows} days or lifetime; which one do you want instead "
            f"of \u201c{slots.window_text}\u201d?",
            (*(f"{w}-day window" for w in VALID_WINDOWS), "lifetime window"),
        )
    if slots.unsupported_providers:
        raise Clarify(
            f"Metricx has data from {AD_NAMES} ads (and your Shopify store), not from "
            f"\u201c{slots.unsupported_providers[0]}\u201d. Which platform do you mean?",
            (*AD_PROVIDERS, "all of them" if len(AD_PROVIDERS) > 2 else "both"),
        )
    if slots.unsupported_dimensions:
        raise Clarify(
            f"I can't split by \u201c{slots.unsupported_dimensions[0]}\u201d; I can split by "
            "platform, "
            "account, campaign, ad set or ad, or by hour, day, week or month. Which one?",
            (*DIMENSIONS, "day", "week", "month"),
        )
    if slots.unsupported_metrics:
        word = slots.unsupported_metrics[0]
        raise Clarify(
            f'I don\'t have a metric for "{word}". Did you mean one of these?', _suggestions([word])
        )


def _metrics_for(slots: Slots, injected: bool) -> list[str] | Understanding:
    """The metrics of a fresh question, a default that the question implies, or a question back."""
    if slots.metrics and not slots.wasted:
        return slots.metrics
    if slots.wasted:
        return list(dict.fromkeys(["spend", "roas", *slots.metrics]))
    rank = slots.rank
    if rank is not None and rank.sense in ("top", "bottom"):
        return ["spend"]
    if rank is not None:
        return _clarify(
            f"{rank.sense.capitalize()} by which metric? For example ROAS (higher is better) or "
            "CPA (lower is better).",
            lexicon.RANKING_METRICS,
        )
    if slots.attribution_word or slots.attribution_given:
        return list(lexicon.ATTRIBUTION_OVERVIEW)
    if slots.bare_overview:
        return _clarify("Which numbers, and for when? For example:", _OVERVIEW_CHOICES)
    if slots.overview:
        return list(lexicon.ADS_OVERVIEW if slots.ads_focus else lexicon.STORE_OVERVIEW)
    if injected:
        return Understanding(status="refuse", message=refusal_message("injection"))
    return _no_metric(slots)


def _no_metric(slots: Slots) -> Understanding:
    """No metric named: an unknown one, a half question, a greeting, or another topic."""
    unknown = slots.unknown_words
    if slots.modifies:
        return _clarify("Which metric would you like to see?", lexicon.POPULAR_METRICS)
    if unknown and _looks_like_gibberish(unknown):
        return _clarify(
            "Sorry, I didn't understand that. " + CAPABILITIES, lexicon.EXAMPLE_QUESTIONS
        )
    if len(unknown) >= 2 and slots.stopword_count:
        return Understanding(status="refuse", message=refusal_message("off_topic"))
    if unknown:
        return _clarify(
            f'I don\'t have a metric for "{unknown[0]}". Did you mean one of these?',
            _suggestions(unknown),
        )
    return _clarify("What would you like to know? " + CAPABILITIES, lexicon.EXAMPLE_QUESTIONS)


# --- dates ------------------------------------------------------------------------------------


def _period(slots: Slots, today: date, draft_notes: list[str]) -> TimeRange:
    """The asked-about range; without one, the range a comparison implies, or the last 7 days."""
    dates = slots.dates
    if dates.main:
        return _resolve(dates.main, today)
    if dates.over_unit:
        return _resolve(f"last {dates.over_unit}", today)
    comparison = dates.comparison
    if comparison is not None and comparison.named_unit:
        return _resolve(f"this {comparison.named_unit}", today)
    if comparison is not None and (comparison.kind == "shift" or comparison.text == "yesterday"):
        return _resolve("today", today)
    phrase = (
        FATIGUE_PERIOD
        if slots.fatigue
        else DEFAULT_PERIOD_FOR_GRAIN.get(slots.grain or "", DEFAULT_PERIOD)
    )
    period = _resolve(phrase, today)
    draft_notes.append(
        f"No dates given, so this covers the {phrase} ({period.start} to {period.end})."
    )
    return period


def _compare(slots: Slots, period: TimeRange, today: date) -> TimeRange | None:
    dates = slots.dates
    try:
        if dates.comparison is not None:
            return dates.comparison.resolve(period, today)
        if dates.before is not None:  # "roas last week and the week before"
            return dates.before.resolve(period, today)
        if dates.over_unit:
            return _over_comparison(dates.over_unit, period)
        if slots.change:
            return compare_range_for(_period_before(slots, period, today), period)
    except InvalidInputError as exc:
        raise Clarify(f"I couldn't work out the comparison period: {exc}.") from None
    return None


def _over_comparison(unit: str, period: TimeRange) -> TimeRange:
    """ "wow", "yoy": the period before; a year back from a Monday week is the Monday week 52
    weeks earlier (same weekdays), from any other period the same dates."""
    if unit != "year":
        return compare_range_for(f"previous {unit}", period)
    if period.days == 7 and period.start.weekday() == 0:
        return TimeRange(start=period.start - _WEEKS_52, end=period.end - _WEEKS_52)
    return compare_range_for("previous year", period)


def _over_as_grain(slots: Slots, period: TimeRange) -> str | None:
    """ "week over week" across several weeks is a weekly trend, not one comparison."""
    unit = slots.dates.over_unit
    if slots.dates.main and unit in _UNIT_DAYS and period.days > _UNIT_DAYS[unit] + 3:
        return unit
    return None


def _dates_into(draft: _Draft, slots: Slots, today: date) -> None:
    if draft.time_range.start > today:
        raise Clarify(
            f"{draft.time_range.start} is after today ({today}); I can only report "
            "what has happened. Which past period do you mean?",
            ("last 7 days", "this month", "last month"),
        )
    grain = _over_as_grain(slots, draft.time_range)
    if grain:
        draft.grain = grain
    else:
        draft.compare_range = _compare(slots, draft.time_range, today)


# --- fresh questions and follow-ups ------------------------------------------------------------


def _fresh(metrics: list[str], slots: Slots, today: date, definitions: Definitions) -> _Draft:
    notes: list[str] = []
    between = _change_between(slots, today)
    draft = _Draft(
        metrics=list(metrics),
        time_range=between[0] if between else _period(slots, today, notes),
        notes=notes,
        definitions=definitions,
    )
    _dates_into(draft, slots, today)
    if between:
        draft.compare_range = between[1]
        notes.append(
            f"Read as {between[0].start} to {between[0].end} compared with "
            f"{between[1].start} to {between[1].end}."
        )
    draft.dimensions = list(slots.dimensions)
    draft.grain = draft.grain or slots.grain
    draft.provider = slots.providers or None
    draft.name_contains = slots.name
    draft.dimension_values = dict(slots.dimension_values) or None
    draft.email_channel = list(slots.email_channel) or None
    draft.creative_format = list(slots.creative_format) or None
    draft.creative_ids = list(slots.creative_ids) or None
    rank = slots.rank
    if rank is None and slots.new_limit is not None:
        rank = _top(slots.new_limit)
    if slots.wasted and (rank is None or rank.metric is None):
        rank = Rank(
            sense="worst",
            metric="roas",
            limit=rank.limit if rank else None,
            singular=False,
            cut=True,
        )
        draft.notes.append(
            "\u201cWasted\u201d is read as spend where ROAS is lowest: the lowest ROAS first."
        )
    if rank is not None:
        _apply_rank(draft, rank, keep_limit=None, follow_up=False)
    _apply_attribution(draft, slots)
    return draft


def _top(limit: int) -> Rank:
    """ "show 10" without a rank word: the first ``limit`` rows, ranked as "top" ranks."""
    return Rank(sense="top", metric=None, limit=limit, singular=False, cut=True)


def _follow_up(
    previous: SemanticQuery, slots: Slots, today: date, definitions: Definitions
) -> _Draft:
    """The previous query with what this question changes: "and on Google?", "now by campaign"."""
    draft = _Draft.from_query(previous, definitions)
    draft.notes.append("Following up on your previous question.")
    ranked_only = draft.order_by is not None and draft.metrics == [draft.order_by["metric"]]
    if slots.metrics and (ranked_only or not slots.by_metric_only):
        # "top 3 ads by spend" -> "and by ROAS?": spend was only there as the ranking
        draft.metrics = [*draft.metrics, *slots.metrics] if slots.additive else list(slots.metrics)
        draft.metrics = list(dict.fromkeys(draft.metrics))
    _follow_up_dates(draft, previous, slots, today)
    _follow_up_split(draft, slots)
    if slots.providers:
        draft.provider = list(slots.providers)
    elif slots.all_providers:
        draft.provider = None
    if slots.name:
        draft.name_contains = slots.name
    if slots.dimension_values:  # "only TOFU": that value instead of the one kept before
        draft.dimension_values = {**(draft.dimension_values or {}), **slots.dimension_values}
    if slots.email_channel:  # "and sms only?": that channel instead of the one kept before
        draft.email_channel = list(slots.email_channel)
    if slots.creative_format:  # "only the videos": that format instead of the one kept before
        draft.creative_format = list(slots.creative_format)
    if slots.creative_ids:
        draft.creative_ids = list(slots.creative_ids)
    if slots.rank is not None:
        _apply_rank(draft, slots.rank, keep_limit=draft.limit, follow_up=True)
    elif slots.new_limit is not None and draft.order_by is not None:
        draft.limit = slots.new_limit  # "cut it to 3": the same ranking, fewer rows
    elif slots.new_limit is not None:
        _apply_rank(draft, _top(slots.new_limit), keep_limit=None, follow_up=True)
    elif slots.all_rows:
        draft.limit = None
    _apply_attribution(draft, slots)
    return draft


def _follow_up_dates(draft: _Draft, previous: SemanticQuery, slots: Slots, today: date) -> None:
    """New dates keep the previous kind of comparison; "the week before" shifts the period."""
    dates = slots.dates
    if dates.over_unit and not dates.main:  # "yoy?": the same period, compared
        draft.compare_range = _compare(slots, draft.time_range, today)
    elif dates.main or dates.over_unit:
        draft.time_range = _period(slots, today, draft.notes)
        carried = (
            previous.compare_range is not None and dates.comparison is None and not dates.over_unit
        )
        _dates_into(draft, slots, today)
        if carried and draft.compare_range is None:
            draft.compare_range = _carried_comparison(previous, draft.time_range, dates.main)
    elif dates.comparison is not None and dates.comparison.kind not in ("years", "own_year"):
        _dates_into(draft, slots, today)
    elif (shift := dates.before or dates.comparison) is not None:
        # "the week before" / "how about the same week last year" (no "vs"): that period instead
        draft.time_range = _shifted(shift, previous, today)
        if previous.compare_range is not None:
            draft.compare_range = compare_range_for("previous period", draft.time_range)
    if slots.no_compare:
        draft.compare_range = None


def _follow_up_split(draft: _Draft, slots: Slots) -> None:
    """A new split replaces the previous one ("now by campaign"), or joins it ("... too")."""
    dimensions = slots.dimensions
    if not dimensions and not slots.grain and not slots.providers:
        dimensions = slots.bare_dimensions  # "same but for ad sets"
    if not dimensions and not slots.grain:
        return
    if slots.additive:
        draft.dimensions = list(dict.fromkeys([*draft.dimensions, *dimensions]))
        draft.grain = slots.grain or draft.grain
    else:
        draft.dimensions, draft.grain = list(dimensions), slots.grain


def _shifted(before: Comparison, previous: SemanticQuery, today: date) -> TimeRange:
    try:
        return before.resolve(previous.time_range, today)
    except InvalidInputError as exc:
        raise Clarify(f"I couldn't work out that period: {exc}.") from None


def _carried_comparison(
    previous: SemanticQuery, period: TimeRange, phrase: str | None
) -> TimeRange:
    """A follow-up with new dates keeps the kind of comparison the previous answer had."""
    if previous.compare_range == compare_range_for("previous year", previous.time_range):
        return compare_range_for("previous year", period)
    unit = named_unit(phrase) if phrase else None
    return compare_range_for(f"previous {unit}" if unit else "previous period", period)


def _rank_metric(draft: _Draft, rank: Rank, follow_up: bool) -> str:
    """The metric a ranking is by: named, kept from the previous query, the one metric shown
    ("ROAS by campaign" -> "top 3 only"), or spend for "top N" (docs/design.md)."""
    if rank.metric is not None:
        return rank.metric
    if draft.order_by:
        return draft.order_by["metric"]
    if (follow_up or _ranks_itself(draft)) and len(draft.metrics) == 1:
        return draft.metrics[0]
    if rank.sense in ("top", "bottom"):
        draft.notes.append("Ranked by spend, as no metric to rank by was named.")
        return "spend"
    if len(draft.metrics) == 1:
        return draft.metrics[0]
    raise Clarify(f"{rank.sense.capitalize()} by which metric?", tuple(draft.metrics))


def _ranks_itself(draft: _Draft) -> bool:
    """ "attributed revenue by ad, top 5": one total named with a detached "top N" is ranked
    by that total; a ratio alone ("ROAS by ad, top 5", "CPC ... top 3 ads") still ranks by
    spend, so that a tiny ad with one lucky sale does not top the list."""
    if len(draft.metrics) != 1:
        return False
    formula = draft.metric(draft.metrics[0]).formula
    return not (isinstance(formula, Binary) and formula.op == "/")


def _apply_rank(draft: _Draft, rank: Rank, keep_limit: int | None, follow_up: bool) -> None:
    metric = _rank_metric(draft, rank, follow_up)
    draft.order_by = {
        "metric": metric,
        "direction": direction_for(rank.sense, draft.metric(metric)),
    }
    if rank.limit is not None:
        draft.limit = rank.limit
    elif rank.cut:
        draft.limit = 1 if rank.singular else keep_limit or DEFAULT_TOP_N
    if not draft.dimensions and draft.grain is None:
        draft.dimensions = ["campaign"]
        draft.notes.append("Ranked campaigns, as no level (campaign, ad set, ad) was named.")


def _apply_attribution(draft: _Draft, slots: Slots) -> None:
    if not (slots.attribution_given or slots.attribution_word):
        return
    draft.metrics = _swap(draft, lexicon.ATTRIBUTED_COUNTERPART)
    if not slots.attribution_given:
        return
    settings = dict(draft.attribution or {"model": "last_click", "window_days": 28, "mode": "cash"})
    if slots.model:
        settings["model"] = slots.model
    if slots.mode:
        settings["mode"] = slots.mode
    if slots.window_given:
        settings["window_days"] = slots.window
    draft.attribution = settings


def _swap(draft: _Draft, counterparts: Mapping[str, str]) -> list[str]:
    """The draft's metrics with counterparts swapped in (the ranking metric too)."""
    if draft.order_by:
        metric = draft.order_by["metric"]
        draft.order_by = {**draft.order_by, "metric": counterparts.get(metric, metric)}
    return list(dict.fromkeys(counterparts.get(m, m) for m in draft.metrics))


def _finish(draft: _Draft, slots: Slots) -> None:
    """Make the draft consistent: store metrics split by ads become attributed ones, the
    ranking metric is among the metrics, "over time" gets a grain."""
    if draft.grain == "auto":
        draft.grain = auto_grain(draft.time_range)
    ad_dimensions = [d for d in draft.dimensions if d not in EMAIL_DIMENSIONS]
    restricted = bool(
        ad_dimensions
        or draft.provider
        or draft.name_contains
        or draft.dimension_values
        or draft.creative_format
        or draft.creative_ids
    )
    if restricted:
        swapped = [m for m in draft.metrics if m in lexicon.AD_LEVEL_COUNTERPART]
        if swapped:
            draft.metrics = _swap(draft, lexicon.AD_LEVEL_COUNTERPART)
            labels = ", ".join(catalogue.get_metric(m).label.lower() for m in swapped)
            draft.notes.append(
                f"Shopify {labels} can't be split by ads, so this uses the attributed figures."
            )
    if draft.order_by:
        needed = draft.order_by["metric"]
        listed = [m for m in draft.metrics if m in catalogue.METRICS]
        allowed = set(draft.metrics) | set(catalogue.base_metrics_for(listed))
        if needed not in allowed:
            draft.metrics.append(needed)
    if not draft.dimensions and draft.grain is None:
        draft.order_by, draft.limit = None, None


__all__ = [
    "DEFAULT_PERIOD",
    "MAX_QUESTION_CHARS",
    "OfflineUnderstander",
    "auto_grain",
    "direction_for",
]
