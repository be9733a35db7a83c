"""Merchant language made plain before parsing: shorthand spelled out, typos corrected.

Shorthand ("yday", "lst wk", "burn") is a fixed table. A typo is a word the parser does not
know that is one edit (two for long words; a swap of neighbouring letters counts as one) from
exactly the vocabulary it knows: metric, date, split and filler words, and the workspace's
entity names, so "purchse" reads as "purchase" and "shoping" as the "Shopping" campaigns.
Vowels left out ("dys", "wkly", "ystrday") and a swap in a short word ("teh") are typos too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from .lexicon import COMMON_WORDS, FILLER, GREETINGS, NUMBER_WORDS, PHRASES, STOPWORDS

_SHORTHAND = {
    "yday": "yesterday",
    "yday.": "yesterday",
    "yest": "yesterday",
    "yest.": "yesterday",
    "ystd": "yesterday",
    "ytd.": "ytd",
    "tdy": "today",
    "lst": "last",
    "wk": "week",
    "wks": "weeks",
    "mth": "month",
    "mths": "months",
    "hw": "how",
    "wat": "what",
    "wot": "what",
    "pls": "please",
    "plz": "please",
    "thx": "thanks",
    "mo": "month",
    "mos": "months",
    "bf": "black friday",
    "yr": "year",
    "yrs": "years",
    "fortnight": "14 days",
    "fortnights": "28 days",
    "burn": "spend",
    "burned": "spent",
    "burnt": "spent",
    "burning": "spending",
    "ate": "spent",
    "eats": "spends",
    "eating": "spending",
    "gobbled": "spent",
    "cust": "customers",
    "custs": "customers",
    "convos": "conversions",
    "convs": "conversions",
    "conv": "conversions",
    "rev": "revenue",
    "imps": "impressions",
    "camp": "campaign",
    "camps": "campaigns",
    "prev": "previous",
    "vs.": "vs",
    "w": "with",
    "thru": "through",
    "u": "you",
    "ur": "your",
    "compair": "compare",
    "compaired": "compared",
    "compairing": "comparing",
}
#: Shorthand the word pattern below does not see: with digits, or of several words.
_DIGIT_SHORTHAND = re.compile(r"\bb4\b|\bw/(?=\s)|\b(?:a )?couple(?: of)?(?= \w)")
_CALENDAR = (
    "january february march april may june july august september october november "
    "december yesterday today tomorrow week weeks month months year years quarter "
    "since until through monday tuesday wednesday thursday friday saturday sunday "
    "black cyber christmas thanksgiving prime trend trended trending far date day days "
    "hour hours"
)
#: A single letter joined to a word ("u-shaped", "w-shaped") is a shape, not shorthand for "you"
_WORD = re.compile(r"[a-z][a-z.]*[a-z.]|[a-z](?!-[a-z])")


#: Filler words a typo may be of; other filler is never a correction ("story" is no "store").
_FILLER_TARGETS = (
    "previous compare comparing only broken down last since what many much "
    "show break the and for how was this that with from before"
)
_VOWELS = frozenset("aeiou")


@lru_cache(maxsize=1)
def _vocabulary() -> frozenset[str]:
    """Every word the parser knows: never corrected."""
    words = {token for phrase in PHRASES for token in phrase}
    known = STOPWORDS | GREETINGS | FILLER | COMMON_WORDS | set(NUMBER_WORDS)
    return frozenset(words | _targets() | known)


@lru_cache(maxsize=1)
def _targets() -> frozenset[str]:
    """The words a typo is corrected to: metric, split, date and a few filler words."""
    words = {phrase[0] for phrase in PHRASES if len(phrase) == 1}  # words that mean something
    words |= {t for phrase in PHRASES for t in phrase if len(t) >= 7}  # "attributed", ...
    return frozenset(words | set(_CALENDAR.split()) | set(_FILLER_TARGETS.split()))


def edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance (a swap of neighbours is one edit), capped at
    limit + 1 so long words are cheap to reject."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        row = [i]
        for j, cb in enumerate(b, start=1):
            cost = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cost = min(cost, previous2[j - 2] + 1)
            row.append(cost)
        if min(row) > limit:
            return limit + 1
        previous2, previous = previous, row
    return previous[-1]


def _without_vowels(word: str, target: str) -> bool:
    """True when `word` is `target` with some vowels left out ("wkly" = "weekly")."""
    i = 0
    for c in target:
        if i < len(word) and word[i] == c:
            i += 1
        elif c not in _VOWELS:
            return False
    return i == len(word) and word[0] == target[0]


def _correction(word: str, targets: Iterable[str]) -> str | None:
    """The one vocabulary word `word` is a typo of, or None (unknown or ambiguous). A
    three- or four-letter word is only corrected without vowels ("spnd", "dys") or by a swap
    ("onyl", "teh"): many plain words ("send", "post") are one letter from a metric."""
    targets = tuple(targets)
    vowelless = {t for t in targets if len(t) > len(word) and _without_vowels(word, t)}
    if len(vowelless) == 1:
        return vowelless.pop()
    limit = 1 if len(word) <= 7 else 2
    if len(word) == 3 or (len(word) == 4 and re.search(r"[aeiou]", word)):
        swapped = {
            t
            for t in targets
            if sorted(t) == sorted(word) and len(t) == len(word) and edit_distance(word, t, 1) == 1
        }
        return swapped.pop() if len(swapped) == 1 else None
    found = {
        t
        for t in targets
        if abs(len(t) - len(word)) <= limit
        and t[0] == word[0]
        and edit_distance(word, t, limit) <= limit
    }
    if len(found) == 1:
        return found.pop()
    nearest = sorted(found, key=lambda t: edit_distance(word, t, limit))
    if len(nearest) > 1 and edit_distance(word, nearest[0], limit) < edit_distance(
        word, nearest[1], limit
    ):
        return nearest[0]
    return None


def plain_words(
    text: str, entity_words: Iterable[str] = (), renamed: list[tuple[str, str]] | None = None
) -> str:
    """`text` (lower case) with shorthand spelled out and typos of known words corrected.

    Each typo read as a word of the workspace's names is added to ``renamed`` as (written,
    read), so the answer can say which name it took ("retargetting" -> "retargeting").
    """
    vocabulary = _vocabulary()
    names = {w for w in entity_words if len(w) >= 4}

    def fix(match: re.Match[str]) -> str:
        word = match[0]
        if word in _SHORTHAND:
            return _SHORTHAND[word]
        bare = word.rstrip(".")
        if bare in _SHORTHAND:
            return _SHORTHAND[bare]
        if len(bare) < 3 or bare in vocabulary or bare in names or bare.startswith("zz"):
            return word
        corrected = _correction(bare, (t for t in _targets() | names if len(t) >= 3))
        if renamed is not None and corrected in names - _targets():
            renamed.append((bare, corrected))
        return corrected or word

    text = _DIGIT_SHORTHAND.sub(lambda m: {"b4": "before", "w/": "with"}.get(m[0], "2"), text)
    text = _MODEL_TYPO.sub(_model_word, _WORD.sub(fix, text))
    return _HOW_MUCH.sub(_how_much, text)


#: "how much did we sell / make / bring in" asks for revenue, "how many did we sell" for
#: orders (a count), "how much did we pay (meta)" for spend
_HOW_MUCH = re.compile(
    r"\bhow (?P<much>much|many) (?:(?:did|have|has|do|does) )?(?:we|i|the store|the shop) "
    r"(?:(?P<paid>pay|paid)|sell|sold|make|made|earn|earned|bring in|brought in|take in|took in"
    r"|rake in|raked in)\b"
)


def _how_much(match: re.Match[str]) -> str:
    if match["paid"]:
        return "how much spend" if match["much"] == "much" else match[0]
    return f"how {match['much']} sales"


#: An attribution model's second word, misspelt ("first clik", "last tuoch"): too short for
#: the general rule above, but unmistakable after "first" / "last".
_MODEL_TYPO = re.compile(r"\b(?P<which>first|last) (?P<word>[a-z]{3,6})\b")


def _model_word(match: re.Match[str]) -> str:
    word = next(
        (t for t in ("click", "touch") if edit_distance(match["word"], t, 1) <= 1),
        match["word"],
    )
    return f"{match['which']} {word}"
