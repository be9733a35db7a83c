"""Reading a question into slots: which metrics, dates, splits, filters and ranking it names.

The text is normalised, quoted names and date phrases are lifted out first (so "last week"
is a date, not the grain "week"), then the words are matched against the lexicon, longest
phrase first. What a word means can depend on its neighbours: "campaigns" is a split only
after "by", "which", "top 3", ...; "ads" in "my Facebook ads" is not. The slots say what the
question contains; offline.py decides what query (or clarification) that makes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from metricx.platforms import AD_PROVIDERS
from metricx.semantic import catalogue
from metricx.semantic.catalogue import METRIC_IDS
from metricx.semantic.query import DIMENSIONS

from . import calendar
from .custom_terms import CustomTerms, dimension_value
from .lexicon import (
    COST_PER,
    FILLER,
    GREETINGS,
    LONGEST_PHRASE,
    NUMBER_WORDS,
    PHRASES,
    PRICE_WORDS,
    STOPWORDS,
)
from .merchant import plain_words
from .names import Entity, capitalised_names, contained_name, name_words
from .timephrases import NO_DATES, PLACEHOLDER, DateMentions, find_dates, rewrite_calendar_words

NAME_PLACEHOLDER = "zzname"
VALID_WINDOWS = (1, 7, 14, 28)
#: Rows a ranking keeps when it names no number ("the best campaigns").
DEFAULT_TOP_N = 10

_QUOTED = re.compile(
    r"(?:(?<=^)|(?<=[\s(:,=]))[\"“”'‘’]([^\"“”'‘’\n]{1,80})[\"“”'‘’](?=$|[\s),.?!;:])"
)
_WINDOW = re.compile(
    r"\b(?:(?P<n>\d{1,3}|one|seven|fourteen|twenty eight)[ -]?(?:days?|d)[ -]"
    r"(?:(?:click|view|attribution|look ?back|lookback|attribution)[ -]){0,2}window"
    r"|window of (?P<n2>\d{1,3}) days?"
    r"|(?P<n3>\d{1,3})[ -]?(?:days?|d) (?:attribution|look ?back|lookback|click)"
    # a window right after the model: "last click 7d", "first touch 28-day"
    r"|(?<=click |touch )(?P<n4>\d{1,3})[ -]?(?:d|days?)"
    r"|(?P<life>lifetime|unlimited|no)[ -](?:attribution[ -])?(?:window|look ?back|lookback)"
    r"|lifetime attribution)\b"
)
_THRESHOLD = re.compile(
    r"(?:\b(?:above|below|over|under|more than|less than|greater than|fewer than|at least"
    r"|at most|higher than|lower than|exceeding|bigger than|smaller than)|[<>]=?)"
    r"\s*[$€£]?\s*\d++(?:\.\d+)?(?![-/]\d)(?!\s*(?:days?|weeks?|months?|years?|hours?)\b)"
    r"|\b(?:zero|no|0) (?:conversions?|clicks?|sales|orders?|purchases?|impressions?|leads?"
    r"|spend|revenue)\b"
)
_DAYS_SHORTHAND = re.compile(r"\b(\d{1,3}) ?d\b")
#: Media buyers' shorthand: "l14d", "l7d", "l4w", "l3m", "t30d" (trailing): the last N days,
#: weeks or months
_LAST_SHORTHAND = re.compile(r"\b(?:l|t|last|past|trailing)(\d{1,3}) ?(d|w|m)\b")
_SHORTHAND_UNITS = {"d": "days", "w": "weeks", "m": "months"}
#: "trailing 12 months", "ttm": the last N whole periods
_TRAILING = re.compile(r"\btrailing (?=\d|one|two|three|four|five|six|seven|eight|nine|ten|twelve)")
_TTM = re.compile(r"\b(?:ttm|ltm)\b")
#: "the last 3 full weeks", "last complete month": periods are taken whole anyway
_WHOLE_PERIODS = re.compile(
    r"\b((?:last|past|previous|prior)(?: \w+)?) (?:full|complete|whole|entire|calendar) "
    r"((?:day|week|month|quarter|year)s?)\b"
)
#: "cut it to 3", "make it 5", "show 10", "just 3 please": how many rows to keep, said
#: without a rank word ("top 3" is read as a ranking)
_NEW_LIMIT = re.compile(
    r"\b(?:(?:(?:cut|trim|limit|shorten|reduce|narrow|bring|chop|keep|cap)"
    r"(?: (?:it|that|this|them|those|the (?:list|table|results|ranking)))?(?: down)?(?: to)?"
    r"(?: (?:the )?(?:top|first|best))?"
    r"|make (?:it|that|this|them)(?: just| only)?(?: the)?(?: top| first| best)?"
    r"|(?:show|give)(?: me)?(?: only| just)?|(?:only|just)) )"
    rf"(?P<n>\d{{1,3}}|{'|'.join(sorted(NUMBER_WORDS, key=len, reverse=True))})"
    r"(?: (?:rows?|items?|results?|entries|lines|of (?:them|those|these)|only|instead|please"
    r"|then|pls))*\s*[?.!]*$"
)
#: "show all of them", "no limit": every row of the ranking
_ALL_ROWS = re.compile(
    r"\b(?:(?:show|give|list|see)(?: me)?(?: them| it)? all(?: of them| rows| of it)?"
    r"|all of them|no limit|remove the limit|every row)\s*(?:please )?[?.!]*$"
)
_WORD_NUMBERS = {"one": 1, "seven": 7, "fourteen": 14, "twenty eight": 28}
_GRAIN_NOUNS = {
    "day": "day",
    "days": "day",
    "date": "day",
    "dates": "day",
    "week": "week",
    "weeks": "week",
    "month": "month",
    "months": "month",
    "hour": "hour",
    "hours": "hour",
    "weekday": "day",
    "quarter": "quarter",
    "quarters": "quarter",
}
_DROP_WORDS = frozenset({"drop", "remove", "hide", "lose", "ditch"})
#: Words for a placement inside one platform: Meta's Facebook and Instagram, Google's YouTube
_PLACEMENTS = {
    "facebook": "Facebook",
    "fb": "Facebook",
    "instagram": "Instagram",
    "ig": "Instagram",
    "insta": "Instagram",
    "youtube": "YouTube",
}
_CONTRAST_WORDS = frozenset(
    {"vs", "versus", "compared", "compare", "comparing", "split", "between", "breakdown", "by"}
)
_FOLLOW_UP_OPENERS = {
    "and",
    "also",
    "now",
    "only",
    "just",
    "same",
    "instead",
    "then",
    "ok",
    "okay",
    "but",
    "plus",
    "so",
    "switch",
    "make",
    "change",
    "break",
    "add",
    "include",
}
_SKIP = {
    "the",
    "my",
    "our",
    "me",
    "of",
    "your",
    "all",
    "s",
    "different",
    "individual",
    "a",
    "separate",
    "active",
    "running",
    "live",
    "specific",
    "paused",
    "various",
    "ones",
    "one",
    "selling",
    "spending",
    "performing",
    "converting",
    "most",
}
_REFERENCE = re.compile(
    r"\b(?:that|this|the new|the other|the latest|the same) (?:campaign|ad set|adset|ad group"
    r"|ad|creative|one)\b|\bhow (?:is|was|did|does|has) it\b(?! going)"
)
_HEALTH = re.compile(
    r"\b(?:going|doing|performing) (?:well|ok|okay|good|great|alright|fine)\b"
    r"|\bhow (?:is|s|are) (?:it|things|everything|business) (?:going|looking|doing|shaping up)\b"
    r"|\bon track\b"
)
#: "how do i bake bread": with words we don't know, a how-to question, not "how did we do"
_HOW_TO = re.compile(r"how (?:do|can|could|should|would) (?:i|we|you)\b|how to\b")
_OVERVIEW_NOUNS = {
    "overview",
    "summary",
    "kpis",
    "kpi",
    "numbers",
    "stats",
    "metrics",
    "results",
    "dashboard",
}
_STRONG_SPLITS = {
    "by",
    "per",
    "each",
    "every",
    "for each",
    "for every",
    "split by",
    "broken down",
    "breakdown",
    "break down",
    "grouped by",
    "group by",
    "which",
    "what",
    "level",
    "divided between",
    "divided among",
    "split between",
    "spread across",
    "spread between",
}


@dataclass(frozen=True)
class Mention:
    """One recognised piece of the question: a lexicon phrase, a number, a word or a placeholder.

    kind is a lexicon kind ("metric", "dimension", "rank", ...), "number", "word", "date" or
    "name"; value is the canonical value ("roas", "campaign", 3, ...); text the words as written.
    """

    kind: str
    value: str
    text: str

    @property
    def plural(self) -> bool:
        return self.text.endswith("s")


@dataclass(frozen=True)
class Rank:
    """A ranking: top/bottom/best/worst/high/low/asc/desc, by which metric, keeping how many."""

    sense: str
    metric: str | None
    limit: int | None
    singular: bool  # "which campaign ..." wants one row
    cut: bool  # a rank word ("top", "worst") keeps the first rows; "sorted by" keeps them all


def direction_for(sense: str, metric: str | catalogue.Metric) -> str:
    """asc/desc for a rank word: best/top follow the metric's higher_is_better (worst CPA =
    highest CPA); high/low and asc/desc are literal; a neutral metric (spend) ranks desc."""
    if sense in ("high", "desc"):
        return "desc"
    if sense in ("low", "asc"):
        return "asc"
    if isinstance(metric, str):
        metric = catalogue.get_metric(metric)
    best_is_desc = metric.higher_is_better is not False
    wants_best = sense in ("top", "best")
    return "desc" if best_is_desc == wants_best else "asc"


@dataclass
class Slots:
    """Everything one question names; empty fields mean "not mentioned"."""

    dates: DateMentions
    metrics: list[str] = field(default_factory=list)
    unsupported_metrics: list[str] = field(default_factory=list)
    unsupported_dimensions: list[str] = field(default_factory=list)
    unsupported_providers: list[str] = field(default_factory=list)
    dimensions: list[str] = field(default_factory=list)
    bare_dimensions: list[str] = field(default_factory=list)  # named without a split cue
    by_metric_only: bool = False  # the one metric named is only what to sort by
    grain: str | None = None
    providers: list[str] = field(default_factory=list)
    all_providers: bool = False
    name: str | None = None
    rank: Rank | None = None
    model: str | None = None
    mode: str | None = None
    window: int | None = None
    window_given: bool = False
    invalid_window: int | None = None
    window_text: str = ""  # the window as written ("3 day window"), to ask about it
    unsupported_model: str | None = None  # "data driven attribution": a model we lack
    #: "last touch vs first touch": several models in one question, as written
    models_compared: str | None = None
    new_limit: int | None = None  # "cut it to 3": keep that many rows of the ranking
    all_rows: bool = False  # "show all of them": no limit
    attribution_word: bool = False
    follow_up_cue: bool = False
    additive: bool = False
    overview: bool = False
    #: "stats pls": only a word for numbers in general, with no period, split or filter
    bare_overview: bool = False
    ads_focus: bool = False
    no_compare: bool = False
    change: bool = False
    threshold: str | None = None  # "above 2": a filter on a metric's value, as written
    unreadable_date: str | None = None
    names_compared: bool = False  # "brand vs non-brand campaigns": two name filters at once
    #: "instagram vs facebook": placements of one platform compared (not in the data), as written
    placements_compared: str | None = None
    unknown_words: list[str] = field(default_factory=list)
    stopword_count: int = 0
    calendar_notes: list[str] = field(default_factory=list)  # "Black Friday 2026: Nov 27, 2026."
    #: "that campaign", "the new creative", "how is it doing": what it refers to must come
    #: from the conversation, or be asked
    reference: str | None = None
    excluded: str | None = None  # "excluding retargeting": a name to leave out (not expressible)
    why: bool = False  # "why did ROAS drop?": explain the change (copilot/why.py)
    health: bool = False  # "is it going well?": the overview with the biggest movers
    wasted: bool = False  # "where are we wasting money": spend where ROAS is worst
    written_name: bool = False  # the name was written out (quoted, capitalised or an entity's)
    #: Values of the workspace's custom dimensions to keep ("BOFU campaigns"), by dimension
    dimension_values: dict[str, list[str]] = field(default_factory=dict)
    #: A value several custom dimensions give ("BOFU" in two of them), and their ids
    ambiguous_value: tuple[str, tuple[str, ...]] | None = None
    #: Words of the email platforms outside any name ("klaviyo", "email", "sms"), as written
    email_words: list[str] = field(default_factory=list)
    #: The email platform's channels to keep ("sms revenue": ["sms"]), none for both
    email_channel: list[str] = field(default_factory=list)
    #: Each metric named, with the words that named it ("store revenue", "revenue")
    metric_words: list[tuple[str, str]] = field(default_factory=list)
    #: What the answer should say about how the question was read (email_questions.py,
    #: creative_questions.py)
    notes: list[str] = field(default_factory=list)
    #: Creative formats named outside any name ("videos", "static", "carousel"), as written
    format_words: list[str] = field(default_factory=list)
    #: The creative formats and the creatives (ids) to keep (creative_questions.py)
    creative_format: list[str] = field(default_factory=list)
    creative_ids: list[int] = field(default_factory=list)
    #: "which creatives are fatiguing?": the fatigue rule's weekly rows are asked for
    fatigue: bool = False

    @property
    def attribution_given(self) -> bool:
        return self.model is not None or self.mode is not None or self.window_given

    @property
    def modifies(self) -> bool:
        """True when the question names anything that could change a previous query."""
        dates = self.dates
        return bool(
            self.metrics
            or dates.main
            or dates.comparison
            or dates.over_unit
            or dates.before
            or self.dimensions
            or self.grain
            or self.providers
            or self.all_providers
            or self.name
            or self.rank
            or self.attribution_given
            or self.no_compare
            or self.dimension_values
            or self.new_limit
            or self.all_rows
            or self.creative_format
            or self.creative_ids
        )


def normalise(text: str) -> str:
    """Lower case, one space between words, dashes and shorthands made plain."""
    text = text.replace("–", "-").replace("—", "-").replace("’", "'").lower()
    text = _LAST_SHORTHAND.sub(lambda m: f"last {m[1]} {_SHORTHAND_UNITS[m[2]]}", text)
    text = _TTM.sub("last 12 months", _TRAILING.sub("last ", text))
    text = _WHOLE_PERIODS.sub(r"\1 \2", text)
    return " ".join(_DAYS_SHORTHAND.sub(r"\1 days", text).split())


def _plain_punctuation(text: str) -> str:
    return " ".join(text.replace("&", " and ").replace("+", " and ").replace("/", " ").split())


def _placeholder(name: str, names: list[str]) -> str:
    names.append(name.strip())
    return f" {NAME_PLACEHOLDER}{len(names) - 1} "


def _lift_quotes(text: str, terms: CustomTerms) -> tuple[str, list[str]]:
    """Names lifted out as placeholders: quoted ones, then capitalised runs ("Brand Search")
    that are not the workspace's custom names ("Funnel Stage")."""
    names: list[str] = []
    text = _QUOTED.sub(lambda match: _placeholder(match[1], names), text)
    for name in capitalised_names(text):
        if not terms.protects(name):
            text = text.replace(name, _placeholder(name, names), 1)
    return text, names


def _lift_entity_name(text: str, names: list[str], entities: Sequence[Entity]) -> str:
    """The longest words an entity of the workspace is named with ("cart abandoners"),
    lifted out as a name, when no name was written out."""
    found = contained_name(text, entities) if not names else None
    if found is None:
        return text
    return text.replace(found, _placeholder(found, names), 1)


def _matched(pattern: re.Pattern[str], text: str) -> str | None:
    match = pattern.search(text)
    return match[0] if match else None


def _window(text: str, slots: Slots) -> str:
    """Record an attribution window ("7-day window", "lifetime window") and cut it out, so its
    number is not read as "top N"."""
    match = _WINDOW.search(text)
    if match is None:
        return text
    slots.window_given = True
    if not match["life"] and "lifetime" not in match[0]:
        raw = match["n"] or match["n2"] or match["n3"] or match["n4"]
        days = int(raw) if raw.isdigit() else _WORD_NUMBERS[raw]
        if days in VALID_WINDOWS:
            slots.window = days
        else:
            slots.invalid_window, slots.window_text = days, match[0]
    return text[: match.start()] + " " + text[match.end() :]


def _new_limit(text: str, slots: Slots) -> str:
    """Record a new number of rows ("cut it to 3", "show all of them") and cut it out."""
    match = _NEW_LIMIT.search(text)
    if match is None:
        everything = _ALL_ROWS.search(text)
        if everything is None:
            return text
        slots.all_rows = True
        return text[: everything.start()] + " " + text[everything.end() :]
    number = match["n"]
    slots.new_limit = int(number) if number.isdigit() else NUMBER_WORDS[number]
    return text[: match.start()] + " " + text[match.end() :]


def _tag(tokens: Sequence[str], custom: CustomTerms) -> list[Mention]:
    """Longest-first matching of the lexicon and the workspace's custom names over the tokens
    (a custom name wins over a lexicon phrase of the same length)."""
    mentions: list[Mention] = []
    longest = max(LONGEST_PHRASE, custom.longest)
    i = 0
    while i < len(tokens):
        for length in range(min(longest, len(tokens) - i), 0, -1):
            phrase = tuple(tokens[i : i + length])
            known = custom.phrases.get(phrase) or PHRASES.get(phrase)
            if known is not None:
                kind, value = known
                mentions.append(Mention(kind, value, " ".join(phrase)))
                i += length
                break
        else:
            mentions.append(_plain(tokens[i]))
            i += 1
    return mentions


def _plain(token: str) -> Mention:
    if token == PLACEHOLDER:
        return Mention("date", "", token)
    if token.startswith(NAME_PLACEHOLDER) and token[len(NAME_PLACEHOLDER) :].isdigit():
        return Mention("name", token[len(NAME_PLACEHOLDER) :], token)
    if token.isdigit():
        return Mention("number", token, token)
    if token in NUMBER_WORDS:
        return Mention("number", str(NUMBER_WORDS[token]), token)
    if token in _GRAIN_NOUNS:
        return Mention("grain_noun", _GRAIN_NOUNS[token], token)
    return Mention("word", token, token)


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


class _Reader:
    """Walks the mentions of one question; each method fills one kind of slot."""

    def __init__(
        self, mentions: list[Mention], names: list[str], slots: Slots, terms: CustomTerms
    ) -> None:
        self.m = mentions
        self.names = names
        self.slots = slots
        self.terms = terms
        self.used: set[int] = set()  # word positions consumed by a name
        self.priced: str | None = None  # "the cheapest clicks": clicks read as CPC

    def kinds(self, kind: str) -> list[int]:
        return [i for i, m in enumerate(self.m) if m.kind == kind]

    def has(self, kind: str) -> bool:
        return any(m.kind == kind for m in self.m)

    def neighbour(self, i: int, step: int, skip: Iterable[str] = ("the",)) -> int | None:
        """Index of the nearest mention before (step -1) or after (+1) i, skipping filler."""
        j = i + step
        while 0 <= j < len(self.m):
            if self.m[j].text not in skip:
                return j
            j += step
        return None

    # --- splits ------------------------------------------------------------------------------

    def split_cue(self, i: int) -> str | None:
        """ "strong"/"weak" when the noun at i is a split ("by campaign", "top 3 ads"), else
        None."""
        j, past_metric = i - 1, False
        while j >= 0:
            mention = self.m[j]
            if mention.kind in ("rank", "number"):
                return "strong"
            if mention.kind in ("split", "by", "sort") and not past_metric:
                return (
                    "strong"
                    if mention.text in _STRONG_SPLITS or mention.kind != "split"
                    else "weak"
                )
            if mention.text in _SKIP or mention.kind in (
                "provider",
                "metric",
                "dimension_value",
                "creative_format",
            ):
                past_metric = past_metric or mention.kind == "metric"
                j -= 1
                continue
            break
        after = self.neighbour(i, 1, skip=())
        if after is not None and self.m[after].text in ("level", "breakdown", "split"):
            return "strong"
        ranked = self.neighbour(
            i,
            1,
            skip=(
                "with",
                "that",
                "which",
                "having",
                "had",
                "has",
                "have",
                "got",
                "the",
                "was",
                "is",
                "were",
                "are",
            ),
        )
        if ranked is not None and self.m[ranked].kind == "rank":
            return "strong"  # "the ad with the highest ROAS"
        if j >= 1 and self.m[j].text in ("and", "or") and self.m[j - 1].kind == "dimension":
            return self.split_cue(j - 1)  # "by campaign and ad set"
        return None

    def read_splits(self) -> None:
        slots, total = self.slots, self.has("total")
        for i, mention in enumerate(self.m):
            if mention.kind not in ("dimension", "unsupported_dimension", "grain_noun"):
                continue
            if mention.kind == "dimension" and mention.value != "provider":
                slots.ads_focus = True
            if self.names_value_of(i):
                continue  # "funnel stage BOFU": which dimension a value is of, not a split
            cue = self.split_cue(i)
            if cue is None or (cue == "weak" and total and not self.kinds("rank")):
                before = self.neighbour(i, -1, skip=())
                if mention.kind == "dimension" and (
                    before is None or self.m[before].kind not in ("provider", "dimension_value")
                ):
                    slots.bare_dimensions.append(mention.value)
                continue
            if mention.kind == "dimension":
                slots.dimensions.append(mention.value)
            elif mention.kind == "grain_noun":
                slots.grain = slots.grain or mention.value
            else:
                slots.unsupported_dimensions.append(mention.text)
        grains = [m.value for m in self.m if m.kind == "grain"]
        if slots.grain == "quarter" or "quarter" in grains:
            # "revenue by quarter", "quarterly": SemanticQuery has no quarter grain; asked about
            quarter = next(m for m in self.m if m.value == "quarter" and "grain" in m.kind)
            slots.unsupported_dimensions.append(quarter.text)
            slots.grain, grains = None, [g for g in grains if g != "quarter"]
        if grains:  # "trended week by week": the named grain wins over "over time"
            slots.grain = sorted(grains, key=lambda g: g == "auto")[0]
        slots.dimensions = _unique(slots.dimensions)

    def names_value_of(self, i: int) -> bool:
        """True when the dimension at i sits next to one of its own values."""
        if self.m[i].kind != "dimension":
            return False
        dimension = self.m[i].value
        return any(
            j is not None
            and self.m[j].kind == "dimension_value"
            and any(key == dimension for key, _ in dimension_value(self.m[j].value))
            for j in (self.neighbour(i, -1), self.neighbour(i, 1))
        )

    # --- custom dimension values --------------------------------------------------------------

    def read_dimension_values(self) -> None:
        """ "BOFU campaigns": keep that value of its dimension; "excluding BOFU": its other
        values; a value of several dimensions is one dimension's when that one is named next
        to it, else left to ask about."""
        slots = self.slots
        named: dict[str, int] = {}
        for i, mention in enumerate(self.m):
            if mention.kind != "dimension_value":
                continue
            pairs = dimension_value(mention.value)
            if len(pairs) > 1:
                beside = {
                    self.m[j].value
                    for j in (self.neighbour(i, -1), self.neighbour(i, 1))
                    if j is not None and self.m[j].kind == "dimension"
                }
                pairs = [p for p in pairs if p[0] in beside] or pairs
            if len(pairs) > 1:
                slots.ambiguous_value = (pairs[0][1], tuple(key for key, _ in pairs))
                continue
            key, value = pairs[0]
            before = self.neighbour(i, -1, skip=("the", "all", "any", "on", "in", "for"))
            kept = [value]
            if before is not None and self.m[before].kind == "negate":
                everything = self.terms.definitions.dimensions[key].values
                kept = [v for v in everything if v != value]
            else:
                named[key] = named.get(key, 0) + 1
            slots.dimension_values[key] = _unique([*slots.dimension_values.get(key, []), *kept])
        for key, count in named.items():
            if count > 1 and not self.has("total"):  # "ROAS for BOFU vs TOFU": side by side
                slots.dimensions = _unique([*slots.dimensions, key])

    def read_described_metric(self) -> None:
        """ "what share of spend went to meta": unread words that one custom metric's
        description holds ask for it, in place of the metric and platform words it holds."""
        slots = self.slots
        unread = [w for w in slots.unknown_words if w not in FILLER]
        read = [
            w
            for m in self.m
            if m.kind in ("metric", "provider", "dimension", "dimension_value")
            for w in m.text.split()
        ]
        found = self.terms.described_metric(unread, read)
        if found is None:
            return
        words = self.terms.described_words(found)

        def described(m: Mention) -> bool:
            return set(m.text.split()) <= words

        platforms = [m for m in self.m if m.kind == "provider"]
        if not all(described(m) for m in platforms):
            return  # "google's share of spend" is not a metric of Meta's share
        slots.metrics = _unique(
            [found, *(m.value for m in self.m if m.kind == "metric" and not described(m))]
        )
        slots.providers = []
        slots.unknown_words = [w for w in slots.unknown_words if w not in unread]

    # --- platforms ---------------------------------------------------------------------------

    def read_providers(self) -> None:
        slots = self.slots
        positive: list[str] = []
        negative: list[str] = []
        texts = [m.text for m in self.m]
        if "filter" in texts and {"remove", "clear", "drop", "reset", "without"} & set(texts):
            slots.all_providers = True  # "remove the Meta filter"
            return
        for i in self.kinds("provider"):
            before = self.neighbour(i, -1, skip=("the", "on", "in", "from", "for", "of"))
            # "without google", and in a follow-up "drop google" / "remove meta"
            negated = before is not None and (
                self.m[before].kind == "negate" or self.m[before].text in _DROP_WORDS
            )
            (negative if negated else positive).append(self.m[i].value)
        positive = _unique(p for p in positive if p not in negative)
        # "spend excluding Meta": every other platform
        named = positive or ([p for p in AD_PROVIDERS if p not in negative] if negative else [])
        self.read_placements()
        providers = self.kinds("provider")
        first = self.neighbour(providers[0], -1, skip=("the", "both")) if providers else None
        # "ROAS across Meta and Google": the platforms together, as "total" says
        across = first is not None and self.m[first].text in ("across", "over")
        if len(positive) > 1 and not self.has("total") and not across:
            slots.dimensions = _unique([*slots.dimensions, "provider"])
        if set(named) == set(AD_PROVIDERS) or (self.has("both") and not named):
            slots.all_providers = True
        elif named:
            slots.providers = named
            slots.ads_focus = True

    def read_placements(self) -> None:
        """ "Instagram vs Facebook": two placements of one platform set against each other. The
        data has the platform only, so that split cannot be made (Offline asks instead)."""
        at = [i for i, m in enumerate(self.m) if m.kind == "provider" and m.text in _PLACEMENTS]
        places = _unique(_PLACEMENTS[self.m[i].text] for i in at)
        contrast = {m.text for m in self.m} & _CONTRAST_WORDS
        if len(places) > 1 and contrast:
            self.slots.placements_compared = " ".join(m.text for m in self.m[at[0] : at[-1] + 1])

    # --- names -------------------------------------------------------------------------------

    def content_words_from(self, i: int, step: int) -> list[int]:
        """Positions of consecutive unknown content words from i on (up to 4)."""
        found: list[int] = []
        while 0 <= i < len(self.m) and len(found) < 4:
            mention = self.m[i]
            if mention.kind not in ("word", "number", "email") or mention.text in STOPWORDS:
                break
            found.append(i)
            i += step
        return sorted(found)

    def take_name(self, positions: list[int]) -> bool:
        if all(self.m[p].kind == "email" for p in positions):
            return False  # none, or "email campaigns", "klaviyo flows": what is asked about
        self.used.update(positions)
        self.slots.name = " ".join(self.m[p].text for p in positions)
        return True

    def read_name(self) -> None:
        quoted = self.kinds("name")
        if quoted:
            self.slots.name = self.names[int(self.m[quoted[0]].value)]
            return
        for i, mention in enumerate(self.m):
            if mention.kind != "name_marker":
                continue
            if self.take_name(self.content_words_from(i + 1, 1)):
                return
        if self.name_in_the_name():
            return
        for i, mention in enumerate(self.m):  # "only the retargeting ones"
            if mention.text in ("ones", "one") and self.take_name(
                [w for w in self.content_words_from(i - 1, -1) if self.m[w].kind != "number"]
            ):
                return
        for i, mention in enumerate(self.m):
            if mention.kind != "dimension" or mention.value in ("provider", "account"):
                continue
            words = [w for w in self.content_words_from(i - 1, -1) if self.m[w].kind != "number"]
            start = words[0] - 1 if words else -1
            if (
                words
                and start >= 0
                and (
                    self.m[start].text
                    in ("for", "of", "on", "in", "from", "the", "my", "our", "all", "with")
                    or self.m[start].kind == "provider"
                )
            ):
                self.take_name(words)
                return

    def name_in_the_name(self) -> bool:
        """ "campaigns with Brand in the name" / "... in their names"."""
        texts = [m.text for m in self.m]
        for i in range(len(texts) - 2):
            if (
                texts[i] == "in"
                and texts[i + 1] in ("the", "their", "its")
                and texts[i + 2] in ("name", "names", "title")
            ):
                words = self.content_words_from(i - 1, -1)
                if words and self.m[words[0] - 1].text in ("with", "has", "have", "having"):
                    return self.take_name(words)
        return False

    # --- ranking -----------------------------------------------------------------------------

    def attached_metric(self, i: int) -> str | None:
        """The metric a rank word is about: "lowest CPA", "spent the most"."""
        skip = ("the", "my", "our", "s", "a")
        after = i + 1
        while after < len(self.m) and (
            self.m[after].text in skip or self.m[after].kind in ("number", "provider")
        ):
            after += 1
        if after < len(self.m) and self.m[after].kind == "metric":
            return self.m[after].value
        before = self.neighbour(i, -1, skip=skip)
        if before is not None and self.m[before].kind == "metric":
            return self.m[before].value
        return None

    def by_metric_at(self) -> int | None:
        """Position of the metric after "by" / "sorted by" ("campaigns by ROAS"), or after
        "on" / "for" right after a ranked level ("bottom 3 ad sets on ROAS")."""
        for i in self.kinds("by") + self.kinds("sort") + self.ranked_level_on():
            after = self.neighbour(i, 1, skip=("the", "their", "its", "highest", "lowest"))
            if after is not None and self.m[after].kind == "metric":
                return after
        return None

    def ranked_level_on(self) -> list[int]:
        """Positions of "on" / "for" in "top/bottom N <level> on/for <metric>": a rank word
        before the level, the level right before the word."""
        ranks = self.kinds("rank")
        return [
            i
            for i, mention in enumerate(self.m)
            if mention.kind == "word"
            and mention.text in ("on", "for")
            and i > 0
            and self.m[i - 1].kind == "dimension"
            and any(r < i - 1 for r in ranks)
        ]

    def by_metric(self) -> str | None:
        at = self.by_metric_at()
        return None if at is None else self.m[at].value

    def limit_near(self, i: int) -> int | None:
        for j in (i + 1, i - 1, i + 2):
            if 0 <= j < len(self.m) and self.m[j].kind == "number":
                return int(self.m[j].value)
        return None

    def counted_split(self) -> int | None:
        """ "the 5 ads with the most purchases": a number right before a plural split noun."""
        for i, mention in enumerate(self.m[1:], start=1):
            before = self.m[i - 1]
            if mention.kind == "dimension" and mention.plural and before.kind == "number":
                return int(before.value)
        return None

    def read_rank(self) -> None:
        ranks = self.kinds("rank")
        by = self.by_metric()
        if not ranks and not by:
            return
        orders = {"asc": "asc", "desc": "desc", "best_first": "best", "worst_first": "worst"}
        direction = next(
            (orders[self.m[i].value] for i in ranks if self.m[i].value in orders), None
        )
        quality = [i for i in ranks if self.m[i].value not in orders]
        attached = [(i, self.attached_metric(i)) for i in quality]
        sense, metric = direction or "best", by
        for i, found in attached:
            if found:
                sense, metric = direction or self.m[i].value, found
                break
        else:
            if quality:
                sense = direction or self.m[quality[0]].value
        limit = next((n for n in (self.limit_near(i) for i in ranks) if n is not None), None)
        if limit is None and ranks:
            limit = self.counted_split()
        if (
            metric is None
            and sense == "high"
            and any(self.m[i].text in ("biggest", "largest") for i in quality)
        ):
            sense = "top"  # "our 10 biggest ad sets": biggest spenders
        cost = COST_PER.get(metric or "")
        if cost is not None and any(self.m[i].text in PRICE_WORDS for i in quality):
            self.priced, metric = metric, cost
        split_nouns = [m for m in self.m if m.kind in ("dimension", "grain_noun")]
        singular = bool(split_nouns) and not split_nouns[0].plural and limit is None
        self.slots.rank = Rank(
            sense=sense, metric=metric, limit=limit, singular=singular, cut=bool(quality)
        )

    # --- everything else ---------------------------------------------------------------------

    def names_around(self, i: int) -> bool:
        """True when "vs" at i sits between names, not platforms or periods."""
        sides = [self.neighbour(i, -1), self.neighbour(i, 1, skip=("the", "non"))]
        return any(
            j is not None
            and (
                self.m[j].kind == "name"
                or (self.m[j].kind == "word" and self.m[j].text not in STOPWORDS)
            )
            for j in sides
        )

    def read_rest(self) -> None:
        slots = self.slots
        slots.metrics = _unique(
            COST_PER[m.value] if m.value == self.priced else m.value
            for m in self.m
            if m.kind == "metric"
        )
        slots.unsupported_metrics = _unique(
            m.value for m in self.m if m.kind == "unsupported_metric"
        )
        slots.unsupported_providers = _unique(
            m.value for m in self.m if m.kind == "unsupported_provider"
        )
        slots.metric_words = [(m.value, m.text) for m in self.m if m.kind == "metric"]
        slots.email_words = [
            m.text for i, m in enumerate(self.m) if m.kind == "email" and i not in self.used
        ]
        slots.format_words = [m.text for m in self.m if m.kind == "creative_format"]
        by_at = self.by_metric_at()
        slots.by_metric_only = (
            by_at is not None and sum(1 for m in self.m if m.kind == "metric") == 1
        )
        slots.model = next((m.value for m in self.m if m.kind == "model"), None)
        slots.unsupported_model = next(
            (m.value for m in self.m if m.kind == "unsupported_model"), None
        )
        models = [i for i, m in enumerate(self.m) if m.kind == "model"]
        if len({self.m[i].value for i in models}) > 1:
            slots.models_compared = " ".join(m.text for m in self.m[models[0] : models[-1] + 1])
        slots.mode = next((m.value for m in self.m if m.kind == "mode"), None)
        slots.attribution_word = self.has("attribution")
        first = self.m[0].text if self.m else ""
        second = self.m[1].text if len(self.m) > 1 else ""
        slots.follow_up_cue = (
            first in _FOLLOW_UP_OPENERS
            or (first in ("what", "how") and second == "about")
            or self.has("ref")
            or self.has("additive")
        )
        slots.additive = self.has("additive")
        texts = {m.text for m in self.m}
        slots.overview = self.has("overview") or (
            first == "how" and bool(texts & {"do", "did", "go", "going", "went"})
        )
        slots.no_compare = self.has("no_compare")
        slots.names_compared = any(
            self.names_around(i) for i, m in enumerate(self.m) if m.text in ("vs", "versus")
        )
        slots.change = self.has("change")
        slots.ads_focus = slots.ads_focus or self.has("rank") or bool(slots.name)
        slots.unknown_words = [
            m.text
            for i, m in enumerate(self.m)
            if m.kind == "word"
            and i not in self.used
            and m.text not in STOPWORDS
            and m.text not in GREETINGS
            and not m.text.startswith(NAME_PLACEHOLDER)
        ]
        slots.stopword_count = sum(1 for m in self.m if m.text in STOPWORDS)
        if (
            len(slots.unknown_words) >= 2
            and not self.has("overview")
            and _HOW_TO.match(" ".join(m.text for m in self.m))
        ):
            slots.overview = False  # "how do i bake bread" asks how to do something else
        slots.reference = self.reference()
        slots.excluded = self.excluded_name()
        slots.why = "why" in texts
        slots.wasted = bool(texts & {"waste", "wasted", "wasting", "wasteful"})
        slots.health = bool(_HEALTH.search(" ".join(m.text for m in self.m)))
        slots.overview = slots.overview or slots.health
        slots.bare_overview = (
            slots.overview
            and not slots.modifies
            and not slots.health
            and "how" not in texts
            and all(m.text in _OVERVIEW_NOUNS for m in self.m if m.kind == "overview")
        )

    def reference(self) -> str | None:
        text = " ".join(m.text for m in self.m)
        match = _REFERENCE.search(text)
        return match[0] if match else None

    def excluded_name(self) -> str | None:
        """ "excluding retargeting", "exclude brand": a name after an exclusion word."""
        for i, mention in enumerate(self.m):
            if mention.kind != "negate" or mention.text in ("not", "non"):
                continue
            after = self.neighbour(i, 1, skip=("the", "all", "any"))
            if after is None:
                continue
            found = self.m[after]
            if found.kind == "name":
                return self.names[int(found.value)]
            if found.kind == "word" and found.text not in STOPWORDS:
                return found.text
        return None


def read(
    question: str,
    today: date,
    entities: Sequence[Entity] = (),
    terms: CustomTerms | None = None,
) -> Slots:
    """The slots of one question (already screened by guard.screen), asked on ``today``, in a
    workspace with these ``entities`` (empty when unknown) and custom names ``terms``."""
    terms = terms or CustomTerms()
    text, names = _lift_quotes(" ".join(question.split()), terms)
    known_words = name_words(entities) | terms.words
    renamed: list[tuple[str, str]] = []
    text = _lift_entity_name(plain_words(normalise(text), known_words, renamed), names, entities)
    text, notes = calendar.rewrite(text, today)
    notes += [
        f"\u201c{written}\u201d read as \u201c{read_as}\u201d, as this workspace's names spell it."
        for written, read_as in renamed
    ]
    text, unreadable = rewrite_calendar_words(text, today)
    text = _plain_punctuation(text)
    slots = Slots(
        dates=NO_DATES,
        unreadable_date=unreadable,
        threshold=_matched(_THRESHOLD, text),
        calendar_notes=notes,
        written_name=bool(names),
    )
    text = _window(text, slots)
    text = _new_limit(text, slots)
    slots.dates = find_dates(" ".join(text.split()))
    tokens = re.findall(r"[a-z0-9]+", slots.dates.text)
    reader = _Reader(_tag(tokens, terms), names, slots, terms)
    reader.read_splits()
    reader.read_providers()
    reader.read_dimension_values()
    reader.read_name()
    reader.read_rank()
    reader.read_rest()
    reader.read_described_metric()
    slots.unsupported_metrics += _unknown_ids(question, terms, entities)
    return slots


_ID = re.compile(r"(?<![\w-])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w-])")


def _unknown_ids(question: str, terms: CustomTerms, entities: Sequence[Entity]) -> list[str]:
    """Metric ids written out ("meta_share") that neither the catalogue nor the workspace's
    custom definitions have: asked about, not read word by word ("meta", "share"). Quoted
    text and the workspace's own names ("US_Broad") are names, not ids."""
    definitions = terms.definitions
    known = {*METRIC_IDS, *DIMENSIONS, *definitions.metrics, *definitions.dimensions}
    names = " ".join(e.name.lower() for e in entities)
    unquoted = _QUOTED.sub(" ", question).lower()
    return [word for word in _ID.findall(unquoted) if word not in known and word not in names]
