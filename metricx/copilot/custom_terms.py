"""The workspace's custom metrics and dimensions as words the offline parser reads.

A custom metric is named by its id ("meta_share") or its label ("Meta share"); a custom
dimension by its id or label ("funnel stage"), and each of its values ("BOFU") filters by it.
These phrases are tagged like the lexicon's, and win over a lexicon phrase of the same length:
they are the merchant's own words. A question whose unread words all belong to one custom
metric's label or description ("what share of spend went to meta") asks for that metric.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from metricx.semantic.custom import Definitions

from .lexicon import FILLER, PHRASES, STOPWORDS
from .merchant import edit_distance

_PARSER_WORDS = frozenset({w for phrase in PHRASES for w in phrase} | STOPWORDS)
#: A value given by several dimensions is tagged with every one of them, joined by this (a
#: control character, which no stored value holds).
VALUE_SEPARATOR = "\x1f"


def words_of(text: str) -> tuple[str, ...]:
    """Lower-case words as the parser tokenises them ("meta_share" is "meta share")."""
    return tuple(re.findall(r"[a-z0-9]+", text.lower()))


def _is_parser_word(words: tuple[str, ...]) -> bool:
    """A value such as "Other" or "Top" already means something to the parser; it is not
    taken as a filter."""
    return words in PHRASES or all(w in STOPWORDS or w in FILLER for w in words)


def dimension_value(tagged: str) -> list[tuple[str, str]]:
    """The (dimension id, value) pairs a tagged value stands for (several when ambiguous)."""
    pairs = [part.split("=", 1) for part in tagged.split(VALUE_SEPARATOR)]
    return [(key, value) for key, value in pairs]


@dataclass(frozen=True)
class CustomTerms:
    """A workspace's custom names as parser phrases: token tuple -> (kind, value)."""

    definitions: Definitions = field(default_factory=Definitions)
    phrases: dict[tuple[str, ...], tuple[str, str]] = field(default_factory=dict)

    @property
    def longest(self) -> int:
        return max((len(p) for p in self.phrases), default=0)

    @property
    def words(self) -> set[str]:
        """Every word of a custom name or value, for typo correction."""
        return {w for phrase in self.phrases for w in phrase if not w.isdigit()}

    def protects(self, name: str) -> bool:
        """True when a capitalised run ("Meta Share", "Intent BOFU") is custom names (and
        parser words), not a campaign name to filter on."""
        words, custom = words_of(name), self.words
        return any(w in custom for w in words) and all(
            w in custom or w in _PARSER_WORDS for w in words
        )

    def described_metric(self, unread: list[str], read: list[str]) -> str | None:
        """The one custom metric whose label and description hold every unread word of the
        question (and the most of its other words); None when none or several do."""
        if not unread:
            return None
        scores: dict[str, int] = {}
        for metric_id, metric in self.definitions.metrics.items():
            described = set(words_of(f"{metric_id} {metric.label} {metric.description}"))
            described -= STOPWORDS
            if all(_among(w, described) for w in unread):
                scores[metric_id] = sum(_among(w, described) for w in [*unread, *read])
        best = sorted(scores.values(), reverse=True)
        if not best or (len(best) > 1 and best[0] == best[1]):
            return None
        return next(m for m, score in scores.items() if score == best[0])

    def described_words(self, metric_id: str) -> set[str]:
        metric = self.definitions.metrics[metric_id]
        return set(words_of(f"{metric.label} {metric.description}"))


def _among(word: str, words: set[str]) -> bool:
    """`word` or a spelling of it one edit away (two for long words) is in `words`."""
    if word in words:
        return True
    limit = 2 if len(word) >= 8 else 1 if len(word) >= 4 else 0
    return limit > 0 and any(edit_distance(word, w, limit) <= limit for w in words)


def custom_terms(definitions: Definitions) -> CustomTerms:
    """The phrases of `definitions`: metric and dimension ids and labels (a dimension's with a
    plural), and dimension values (tagged with each dimension that gives them)."""
    phrases: dict[tuple[str, ...], tuple[str, str]] = {}
    for metric_id, metric in definitions.metrics.items():
        for text in (metric_id, metric.label):
            phrases[words_of(text)] = ("metric", metric_id)
    values: dict[tuple[str, ...], list[str]] = {}
    for dimension_id, dimension in definitions.dimensions.items():
        for text in (dimension_id, dimension.label):
            words = words_of(text)
            phrases[words] = ("dimension", dimension_id)
            phrases.setdefault((*words[:-1], words[-1] + "s"), ("dimension", dimension_id))
        for value in dimension.values:
            words = words_of(value)
            if words and not _is_parser_word(words):
                values.setdefault(words, []).append(f"{dimension_id}={value}")
    for words, tagged in values.items():
        phrases.setdefault(words, ("dimension_value", VALUE_SEPARATOR.join(tagged)))
    phrases.pop((), None)
    return CustomTerms(definitions, phrases)
