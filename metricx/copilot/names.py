"""Campaign, ad set, ad and creative names in a question, checked against the workspace's
entities.

A name is found written as the merchant writes it ("spend of campaign Brand Search",
"UGC Hooks cpa", "cpc for Prospecting | Broad | US"): a run of capitalised words, or the
longest run of words that some entity's name contains. A name that matches no entity, or a
bare word that several campaigns share ("the brand campaign"), goes back to the merchant with
the closest names instead of an answer of zeros or of a mix of campaigns.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from .calendar import MONTHS
from .lexicon import PHRASES, STOPWORDS

MAX_CLOSEST = 5
LEVELS = ("campaign", "adset", "ad")
#: The ads' creatives: names checked apart from the tree's (creative_questions.py)
CREATIVE = "creative"
_VOCABULARY = frozenset(
    {t for p in PHRASES for t in p}
    | STOPWORDS
    | set(MONTHS)
    | {
        "black",
        "friday",
        "cyber",
        "monday",
        "christmas",
        "prime",
        "day",
        "bfcm",
        "thanksgiving",
        "xmas",
        "eve",
        "nye",
        "fortnight",
        "jan",
        "feb",
        "mar",
        "apr",
        "may",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "q1",
        "q2",
        "q3",
        "q4",
        "i",
        "what",
        "how",
        "which",
        "why",
        "yoy",
        "wow",
        "mom",
        "dod",
        "qoq",
        "mtd",
        "ytd",
        "wtd",
        "qtd",
        "yday",
        "vs",
    }
)
#: A capitalised run: words starting upper case (or with digits), joined by spaces or " | ".
_CAPITALISED = re.compile(
    r"(?<![\w\"“'])(?:[A-Z][\w+%&'-]*)(?:(?: \| | )(?:[A-Z0-9][\w+%&'-]*))+"
    r"(?![\w\"”'])"
)
_TOKEN = re.compile(r"[\w+%&'-]+(?: \|)?")


@dataclass(frozen=True)
class Entity:
    level: str  # campaign | adset | ad | creative
    name: str
    #: A creative's id (creatives.id), which filters.creative_ids takes; None for the tree's
    #: levels, whose names are filtered by name
    id: int | None = None


def tree_entities(entities: Sequence[Entity]) -> tuple[Entity, ...]:
    """The campaigns, ad sets and ads among `entities` (a name filter's levels)."""
    return tuple(e for e in entities if e.level in LEVELS)


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def _is_vocabulary(text: str) -> bool:
    return all(w in _VOCABULARY or re.fullmatch(r"\d+(?:st|nd|rd|th|d)?", w) for w in _words(text))


def capitalised_names(text: str) -> list[str]:
    """Runs of capitalised words that are not all parser words ("Brand Search",
    "Zebra Unicorn Quantum"); "What ROAS" or "Meta Google" are not names, and a question
    written all in capitals ("ROAS ON TUESDAY???") says nothing by its capitals."""
    if not re.search(r"[a-z]", text):
        return []
    return [m[0] for m in _CAPITALISED.finditer(text) if not _is_vocabulary(m[0])]


def contained_name(text: str, entities: Sequence[Entity]) -> str | None:
    """The longest run of the question's words that an entity's name contains, if it is more
    than parser words ("lookalike", "cart abandoners", "performance max")."""
    if not entities:
        return None
    folded = [e.name.casefold() for e in entities]
    tokens = [(m.start(), m.end()) for m in _TOKEN.finditer(text)]
    best: str | None = None
    for i in range(len(tokens)):
        for j in range(len(tokens), i, -1):
            candidate = text[tokens[i][0] : tokens[j - 1][1]].rstrip(" |")
            if best is not None and len(candidate) <= len(best):
                break
            words = _words(candidate)
            if (
                not words
                or (len(words) == 1 and _is_vocabulary(candidate))
                or all(w in STOPWORDS for w in words)
                or (len(words) > 1 and words[0] in STOPWORDS)
                # "video views" is a figure even where a campaign is called "... Video Views"
                or PHRASES.get(tuple(words), ("",))[0] == "metric"
            ):
                continue
            needle = candidate.casefold()
            if any(re.search(rf"(?<![\w]){re.escape(needle)}(?![\w])", name) for name in folded):
                best = candidate
                break
    return best


def closest_names(text: str, names: Sequence[str]) -> tuple[str, ...] | None:
    """None when some name contains `text` (case-insensitive); otherwise the closest names,
    by spelling and by shared words (possibly none)."""
    wanted = text.casefold()
    if any(wanted in name.casefold() for name in names):
        return None
    folded = {name.casefold(): name for name in names}
    close = difflib.get_close_matches(wanted, list(folded), n=MAX_CLOSEST, cutoff=0.4)
    words = set(_words(wanted)) - STOPWORDS
    sharing = [key for key in folded if words & set(_words(key))]
    return tuple(folded[key] for key in dict.fromkeys([*close, *sharing]))[:MAX_CLOSEST]


def ambiguous(text: str, level: str, entities: Sequence[Entity]) -> tuple[str, ...]:
    """The names at `level` that a one-word name ("brand") is part of, when there are several
    and none is that word alone: "the brand campaign" could be any of them."""
    if len(_words(text)) != 1:
        return ()
    wanted = text.casefold()
    names = list(dict.fromkeys(e.name for e in entities if e.level == level))
    if any(re.sub(r" \| \d+$", "", n).casefold() == wanted for n in names):
        return ()
    matching = [
        n for n in names if re.search(rf"(?<![\w]){re.escape(wanted)}(?![\w])", n.casefold())
    ]
    return tuple(matching[:MAX_CLOSEST]) if len(matching) > 1 else ()


def name_words(entities: Sequence[Entity]) -> set[str]:
    """Every word of every entity name, for typo correction."""
    return {w for e in entities for w in _words(e.name) if not w.isdigit()}
