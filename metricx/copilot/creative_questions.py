"""Creative questions: the ads' creatives and their video figures (issue 19) in the words
merchants use, read from the parser's slots.

- Video figures are lexicon words ("hook rate", "thumb-stop", "hold rate", "ThruPlays",
  "completion rate", "watch time", "cost per ThruPlay", "3-second views"); here are the ones
  a word list cannot say: "hook" as a verb or a noun ("which video hooks best", "our best
  hooks") is the thumb-stop rate, and watched shares written as percentages ("25% 50% 75%
  and 100% video views") are the watched-quartile counts.
- A format word ("videos", "static", "carousels") keeps ads whose creative has that format
  (filters.creative_format). It describes a name instead when every ad that name matches has
  it ("the Bestseller Bundle static ad"), and is the name itself in "the carousel ads" when
  the workspace's names have it (blind batch 6's convention). Set side by side ("video vs
  image roas") it is asked about: the query language has no split by format.
- A format noun ranked ("which video hooks best", "top 3 videos by ...") ranks creatives.
- A name next to "creative(s)" ("the top 3 UGC creatives", "the Founder creatives"), or one
  only creatives have, is checked against the workspace's creatives and kept as their ids
  (filters.creative_ids); one that matches none, or "the X creative" when several creatives
  are called differently with X, is asked about with the names there are.
- "Which creatives are fatiguing?" asks for the fatigue rule's weekly rows
  (FATIGUE_METRICS per creative and Monday week, the last FATIGUE_WEEKS whole weeks); the
  verdicts themselves come from metricx.services.creative_report (the service's
  `fatigue_answer`).
Dates, grains, comparisons and follow-ups stay the parser's.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from metricx.semantic import catalogue

from .lexicon import PHRASES
from .names import CREATIVE, Entity, closest_names, tree_entities
from .slots import Slots
from .understanding import Clarify

#: What "which creatives are fatiguing?" reads per creative and week: the fatigue rule's
#: CTR, thumb-stop and CPA, and the impressions that say whether a week counts.
FATIGUE_METRICS: tuple[str, ...] = ("ctr", "thumb_stop_rate", "cpa", "impressions")
#: How many whole weeks of them the answer shows when no period is named.
FATIGUE_WEEKS = 12
FATIGUE_PERIOD = f"last {FATIGUE_WEEKS} weeks"
#: The video figures, for the prompt and the checks.
VIDEO_METRICS: tuple[str, ...] = (
    "video_3s_plays",
    "thruplays",
    "video_p25",
    "video_p50",
    "video_p75",
    "video_p100",
    "thumb_stop_rate",
    "hold_rate",
    "thruplay_rate",
    "completion_rate",
    "avg_watch_seconds",
    "cost_per_thruplay",
)
#: The formats a question can keep, as merchants call them in a choice.
FORMAT_NOUNS = {"video": "video", "image": "image", "carousel": "carousel"}

#: "hook" as a verb or a noun, not as part of a name ("the Hook ad", "Hook A", "hook: ...")
_HOOK = re.compile(
    r"\bhook(?:s|ed|ing)?\b(?!\s*(?::|[a-z]\b|ads?\b|campaigns?\b|creatives?\b|sets?\b))",
    re.IGNORECASE,
)
#: "25% 50% 75% and 100% video views", "watched 50 %": the watched-quartile counts
_QUARTILE = re.compile(r"\b(25|50|75|100)\s*(?:%|percent\b|pct\b)", re.IGNORECASE)
_WATCHING = re.compile(r"\b(?:views?|viewed|watch(?:ed|es)?|plays?|played)\b", re.IGNORECASE)
_QUARTILE_METRICS = {"25": "video_p25", "50": "video_p50", "75": "video_p75", "100": "video_p100"}
#: Formats set against each other ("video vs image", "compare statics and carousels")
_CONTRAST = re.compile(r"\b(?:vs\.?|versus|against|compared?|comparing)\b", re.IGNORECASE)
_FATIGUE = re.compile(
    r"\bfatigu\w*|\b(?:burn(?:ed|t|ing)?|burnt|wear(?:s|ing)?|worn|tir(?:ed|ing))\s+out\b"
    r"|\bwearing\s+(?:off|thin)\b|\b(?:creative|ad)\s+decay\b",
    re.IGNORECASE,
)
_LEVEL_NOUN = r"(?:ads?|campaigns?|ad\s+sets?|adsets?)\b"


def read_creative(slots: Slots, text: str, entities: Sequence[Entity]) -> None:
    """Turn ``slots`` of a question about creatives (``text`` as screened, asked in a
    workspace with these ``entities``, creatives among them) into creative filters, splits and
    figures, with what the answer should say in ``slots.notes``; raises Clarify for what
    cannot be read. Other questions are left as they are."""
    _read_hook(slots, text)
    _read_quartiles(slots, text)
    _read_formats(slots, text, entities)
    _read_creative_name(slots, text, entities)
    _read_format_noun(slots)
    _read_fatigue(slots, text)


def _drop_unknown(slots: Slots, words: str) -> None:
    gone = set(words.lower().split())
    slots.unknown_words = [w for w in slots.unknown_words if w not in gone]


def _read_hook(slots: Slots, text: str) -> None:
    """ "which video hooks best", "our best hooks": the thumb-stop rate (3-second plays ÷
    impressions, how well a video stops the scroll)."""
    match = _HOOK.search(text)
    if match is None or "thumb_stop_rate" in slots.metrics:
        return
    word = match[0].lower()
    if slots.name is not None:
        if slots.name.lower() != word:
            return  # "UGC Hooks", "hook b": inside a name
        slots.name = None  # lifted as a name only because a campaign is called "... Hooks"
    _drop_unknown(slots, word)
    # not a misspelt name ("hooks" read as the "hook" of "Hook A"): no such note
    slots.calendar_notes = [n for n in slots.calendar_notes if not n.startswith(f"\u201c{word}")]
    slots.metrics = [*slots.metrics, "thumb_stop_rate"]
    if slots.rank is not None and slots.rank.metric is None:
        slots.rank = replace(slots.rank, metric="thumb_stop_rate")
    levels = {"campaign", "adset", "ad", CREATIVE}
    ranked_alone = slots.rank is not None and slots.grain is None and not slots.format_words
    if ranked_alone and not levels & set(slots.dimensions):
        slots.dimensions = [*slots.dimensions, CREATIVE]  # "our best hooks": a creative's
    slots.notes.append("Hook read as the thumb-stop rate: 3-second plays ÷ impressions.")


def _read_quartiles(slots: Slots, text: str) -> None:
    """ "25% 50% 75% and 100% video views": how many plays reached each share of the video."""
    found = [_QUARTILE_METRICS[m[1]] for m in _QUARTILE.finditer(text)]
    if not found or not _WATCHING.search(text):
        return
    others = [m for m in slots.metrics if m != "video_3s_plays"]  # "video views" after them
    slots.metrics = list(dict.fromkeys([*others, *found]))


def _format_of(word: str) -> str:
    return PHRASES[tuple(word.split())][1]


def _read_formats(slots: Slots, text: str, entities: Sequence[Entity]) -> None:
    """The format words kept as filters.creative_format, a name, or a description of one."""
    tree = tree_entities(entities)
    kept: list[str] = []
    for word in slots.format_words:
        spelled = rf"(?<![\w|]){re.escape(word)}(?![\w|])"
        if slots.name is not None:
            named = [e.name for e in tree if slots.name.casefold() in e.name.casefold()]
            if named and all(re.search(spelled, n, re.IGNORECASE) for n in named):
                continue  # "the Bestseller Bundle static ad": says what the named ad is
        as_name = re.search(rf"(?i)\bthe\s+{re.escape(word)}\s+{_LEVEL_NOUN}", text)
        if (
            slots.name is None
            and as_name
            and any(re.search(spelled, e.name, re.IGNORECASE) for e in tree)
        ):
            slots.name = word  # "the carousel ads": the ads called so (blind batch 6)
            continue
        kept.append(_format_of(word))
    formats = list(dict.fromkeys(kept))
    if len(formats) > 1 and _CONTRAST.search(text):
        figure = catalogue.get_metric(slots.metrics[0]).label if slots.metrics else "ROAS"
        period = f" {slots.dates.main}" if slots.dates.main else ""
        raise Clarify(
            "I can't set creative formats side by side in one answer yet: I can keep one "
            "format, or split by creative. Which do you want?",
            (
                *(f"{figure} of {FORMAT_NOUNS[f]} creatives{period}?" for f in formats),
                f"{figure} by creative{period}?",
            ),
        )
    slots.creative_format = formats


def _named_creative(slots: Slots, text: str, entities: Sequence[Entity]) -> str | None:
    """The name the question gives creatives: one next to "creative(s)", or one only
    creatives have; None when the question names none."""
    creatives = [e for e in entities if e.level == CREATIVE]
    name = slots.name
    if name is not None:
        beside = re.search(rf"(?i){re.escape(name)}\W{{0,3}}(?:s\W+)?(?:ad\s+)?creatives?\b", text)
        in_tree = any(name.casefold() in e.name.casefold() for e in tree_entities(entities))
        only_creatives = not in_tree and any(
            name.casefold() in c.name.casefold() for c in creatives
        )
        return name if beside or only_creatives else None
    before = re.search(r"(?i)([\w'-]+)\s+(?:ad\s+)?creatives?\b", text)
    if before and before[1].lower() in slots.unknown_words:
        return before[1]  # "the unboxing creative": a word no lexicon or tree name has
    return None


def creatives_named(
    name: str, entities: Sequence[Entity], *, singular: bool = False
) -> tuple[list[int], list[str]]:
    """The ids and names of the workspace's creatives (among ``entities``) whose name
    contains ``name``; raises Clarify when none does, or when ``singular`` ("the X
    creative") and several differently named ones do."""
    creatives = [e for e in entities if e.level == CREATIVE]
    matching = [c for c in creatives if name.casefold() in c.name.casefold()]
    if not matching:
        closest = closest_names(name, [c.name for c in creatives]) or ()
        raise Clarify(
            f"No creative has \u201c{name}\u201d in its name."
            + (
                " Did you mean one of these?"
                if closest
                else ' Ask "spend by creative" to see their names.'
            ),
            closest,
        )
    names = list(dict.fromkeys(c.name for c in matching))
    if singular and len(names) > 1:
        raise Clarify(
            f"Several creatives have \u201c{name}\u201d in their name; which one do you mean?",
            tuple(names[:5]),
        )
    return sorted({c.id for c in matching if c.id is not None}), names


def named_note(name: str, names: Sequence[str], ids: Sequence[int]) -> str:
    """What the answer says about a creative name it kept as ids."""
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    return (
        f"Creatives whose name contains \u201c{name}\u201d: {shown} "
        f"({len(ids)} creative{'s' if len(ids) != 1 else ''})."
    )


def _read_creative_name(slots: Slots, text: str, entities: Sequence[Entity]) -> None:
    """A creative's name, checked against the workspace's creatives, kept as their ids."""
    name = _named_creative(slots, text, entities)
    if name is None:
        return
    singular = re.search(rf"(?i){re.escape(name)}\W+(?:ad\s+)?creative\b(?!s)", text)
    ids, names = creatives_named(name, entities, singular=singular is not None)
    slots.creative_ids = ids
    slots.name = None
    if slots.rank is not None and CREATIVE in slots.bare_dimensions and not slots.dimensions:
        slots.dimensions = [CREATIVE]  # "the top 3 UGC creatives": the name sat in between
    _drop_unknown(slots, name)
    slots.notes.append(named_note(name, names, ids))


def _read_format_noun(slots: Slots) -> None:
    """ "which video hooks best", "top 3 videos by thruplay rate": a ranked format noun
    ranks creatives; "which video" wants one, "which videos" several."""
    if slots.rank is None or not slots.format_words or not slots.creative_format:
        return
    if slots.grain is not None or set(slots.dimensions) & {"campaign", "adset", "ad", CREATIVE}:
        return
    slots.dimensions = [*slots.dimensions, CREATIVE]
    if slots.rank.limit is None:
        plural = slots.format_words[0].endswith("s")
        slots.rank = replace(slots.rank, singular=not plural, cut=True)


def _read_fatigue(slots: Slots, text: str) -> None:
    """ "which creatives are fatiguing?": the fatigue rule's weekly rows per creative."""
    match = _FATIGUE.search(text)
    if match is None:
        return
    slots.fatigue = True
    _drop_unknown(slots, match[0])
    slots.metrics = list(FATIGUE_METRICS)
    slots.dimensions = [CREATIVE, *(d for d in slots.dimensions if d != CREATIVE)]
    slots.grain, slots.rank = "week", None
    slots.notes.append(
        "Fatigue: a creative is fatigued when last week's CTR is at most 75 % of its best "
        "week's and its thumb-stop rate fell as far (videos) or its CPA rose by a third; "
        "the weekly CTR, thumb-stop and CPA are the evidence."
    )
