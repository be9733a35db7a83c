"""A clarification's choices as ready questions: picking one continues the conversation.

Understanders offer choices as short options (a metric id, a split, a date phrase, a name);
each becomes the question that was asked with the option put where the doubt was: in place of
the words the clarification quoted, or added at the end ("best ads" -> "best ads by ROAS").
A choice that is already a whole question (it ends with "?", or is a sentence while nothing
was quoted) is kept as it is.
"""

from __future__ import annotations

import re

from metricx.semantic import catalogue
from metricx.semantic.query import DIMENSIONS

_QUOTED = re.compile(r"[\"“]([^\"“”]{1,80})[\"”]")
_SPLIT_WORDS = {
    "provider": "platform",
    "adset": "ad set",
    "day": "day",
    "week": "week",
    "month": "month",
    "hour": "hour",
}


def _option_words(option: str, message: str) -> tuple[str, bool]:
    """The option as words for a question, and whether it goes after "by": a split, or a
    metric to rank by ("Best by which metric?"); the metric a question lacked ("Which metric
    would you like to see?") is added as a metric, never as a ranking."""
    if option in catalogue.METRICS:
        ranked = re.search(r"\bby which\b|\brank", message, re.IGNORECASE) is not None
        return catalogue.get_metric(option).label.split(" (")[0], ranked
    if option in DIMENSIONS or option in _SPLIT_WORDS:
        return _SPLIT_WORDS.get(option, option), True
    return option, False


def _spaced(words: str) -> str:
    return r"[\s-]+".join(re.escape(word) for word in words.split())


def ready_question(question: str, message: str, option: str) -> str:
    """`question` with `option` in place of what `message` quoted, or added to its end."""
    base = question.strip().rstrip("?!. ")
    # the words as quoted, written with spaces or hyphens ("data-driven" for "data driven")
    doubts = [
        re.compile(rf"(?<!\w){_spaced(quoted)}(?!\w)", re.IGNORECASE)
        for quoted in _QUOTED.findall(message)
    ]
    doubt = next((pattern for pattern in doubts if pattern.search(base)), None)
    if option.endswith("?") or (doubt is None and len(option.split()) >= 4 and "|" not in option):
        return option  # already a question of its own
    words, by = _option_words(option, message)
    split = by and option not in catalogue.METRICS
    after_by = doubt is not None and re.search(
        rf"\b(?:by|per|each|every)\s+{doubt.pattern}", base, re.IGNORECASE
    )
    if doubt is not None and split and not after_by:
        # "quarterly spend this year" -> "spend this year by month"
        return f"{' '.join(doubt.sub(' ', base, count=1).split())} by {words}"
    if doubt is not None:
        a_name = not by and "name" in message  # a campaign name goes back in quotes
        replacement = f"\u201c{words}\u201d" if a_name else words
        return doubt.sub(lambda _match: replacement, base, count=1)
    return f"{base} by {words}" if by else f"{base}, {words}"


def ready_questions(question: str, message: str, options: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(ready_question(question, message, o) for o in options))
