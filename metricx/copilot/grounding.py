"""Which numbers in a written answer are not backed by the facts it was written from.

An LLM-written answer is shown only when every number in it comes from the fetched data; when
`ungrounded_numbers` returns anything, the caller shows its deterministic answer instead.

How a number in the text is read:
- money ("$1,234.56", "-€12", "CA$3.40", "SEK 1,234.50"), percents ("2.35%", "0.4 pp"), ratios
  ("3.2x", "3.2×"), plain numbers ("1,234", "0.5", "-12"), with an optional scale ("$12.3k",
  "1.2M", "3 million"). Currency symbols and codes do not change the value.
- It matches a fact when the fact, rounded to the precision the text shows, equals it: "$1.2k"
  covers facts from 1,150 to 1,250; "2.35%" also matches the fraction 0.0235 (percent metrics
  are stored as fractions) as well as 2.35 itself.
- A number written without a minus matches a fact of either sign (the sign is usually in the
  words: "spend fell by $120"); a number written with a minus needs a negative fact.
- Numbers glued to a word ("Q4", "v2", "COVID-19") are part of a name and not read.
- Facts are every number in the facts (nested dicts and lists; bools ignored) plus the numbers
  inside its strings, read the same way (so an ad named "Promo 12" grounds the 12 in its name,
  and a definition's "× 1,000" grounds "1,000").

What is wording, not data, and never flagged:
- dates and times: 2026-11-23, Nov 23, 23 November 2026, Nov 18–24, November 2026, 11/23,
  14:00, 2 pm, and ordinals (3rd);
- a bare four-digit number from 1900 to 2100 (a year);
- a bare integer (no symbol, separator, decimals, scale or unit) right after top, bottom, best,
  worst, first, last, past, previous or next ("top 3", "last 7 days"), or right before a period
  word ("7 days", "30-day", "2 weeks").
Numbers spelled out in words ("three") are not read.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_DAY = r"\d{1,2}(?:st|nd|rd|th)?(?!\d|[.,]\d|\s?%)"
_TO = r"\s?[-–—]\s?"
#: Dates, times and ordinals: blanked out before numbers are read.
_WORDING = re.compile(
    "|".join(
        (
            r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?)?",
            rf"\b{_MONTH}\s{_DAY}(?:{_TO}(?:{_MONTH}\s)?{_DAY})?(?:,?\s\d{{4}}\b)?",
            rf"\b{_DAY}(?:{_TO}{_DAY})?\s(?:of\s)?{_MONTH}\b(?:\s\d{{4}}\b)?",
            rf"\b{_MONTH}\s\d{{4}}\b",
            r"\b\d{1,2}/\d{1,2}(?:/\d{2,4})?\b",
            r"\b\d{1,2}:\d{2}(?::\d{2})?(?:\s?[ap]\.?m\b\.?)?",
            r"\b\d{1,2}\s?[ap]\.?m\b\.?",
            r"\b\d+(?:st|nd|rd|th)\b",
        )
    ),
    re.IGNORECASE,
)
_NUMBER = re.compile(
    r"""
    (?<![\w.,])(?<![^\W\d_][-–])                   # not the tail of a word, number or name-12
    (?P<sign>[-−–](?=[\d.$€£¥₹A-Z]))?             # a minus glued to what follows
    \+?
    (?P<currency>(?:[A-Z]{1,2})?[$€£¥₹])?         # $, €, CA$, A$, R$ ...
    (?P<sign2>[-−])?                              # "$-12"
    (?P<digits>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)
    (?P<scale>(?:k|K|m|M|B|bn)\b|\s(?:thousand|million|billion)\b)?
    (?P<unit>\s?%|\s?pp\b|\s(?:percentage\ points?|percent)\b|[x×](?!\w))?
    (?![\w])
    """,
    re.VERBOSE,
)
_SCALES = {"k": 3, "thousand": 3, "m": 6, "million": 6, "b": 9, "bn": 9, "billion": 9}
_COUNT_BEFORE = re.compile(
    r"\b(?:top|bottom|best|worst|first|last|past|previous|next)\s$", re.IGNORECASE
)
_PERIOD_AFTER = re.compile(r"^\s?-?\s?(?:hour|day|week|month|quarter|year)s?\b", re.IGNORECASE)


@dataclass(frozen=True)
class _Mention:
    """One number as written: |value| = magnitude × 10^exponent, shown to `places` decimals."""

    text: str
    magnitude: Decimal
    places: int
    exponent: int
    negative: bool
    percent: bool
    bare: bool  # no symbol, separator, decimals, scale or unit: could be wording

    @property
    def value(self) -> Decimal:
        signed = -self.magnitude if self.negative else self.magnitude
        return signed.scaleb(self.exponent)

    def matches(self, fact: Decimal) -> bool:
        """True when `fact` (or its percent form), rounded as the text is, gives this number."""
        half_step = Decimal(5).scaleb(-self.places - 1)
        candidates = (fact, fact * 100) if self.percent else (fact,)
        for candidate in candidates:
            if self.negative and not candidate.is_signed():  # -0.0 counts as negative
                continue
            shown = abs(candidate).scaleb(-self.exponent)
            if abs(shown - self.magnitude) <= half_step * (1 + Decimal("1e-9")):
                return True
        return False


def _blank(match: re.Match[str]) -> str:
    return " " * len(match.group(0))


def _mentions(text: str) -> Iterator[tuple[_Mention, int, int]]:
    """Every number in `text` with its span; dates, times and ordinals are skipped."""
    masked = _WORDING.sub(_blank, text)
    for match in _NUMBER.finditer(masked):
        digits, scale, unit = match["digits"], match["scale"], (match["unit"] or "").strip()
        places = len(digits.split(".")[1]) if "." in digits else 0
        try:
            magnitude = Decimal(digits.replace(",", ""))
        except InvalidOperation:  # pragma: no cover - the pattern only admits numbers
            continue
        mention = _Mention(
            text=match.group(0).strip(),
            magnitude=magnitude,
            places=places,
            exponent=_SCALES[scale.strip().lower()] if scale else 0,
            negative=bool(match["sign"] or match["sign2"]),
            percent=unit in ("%", "pp") or unit.startswith("percent"),
            bare=not (
                match["currency"]
                or scale
                or unit
                or "," in digits
                or "." in digits
                or match["sign"]
                or match["sign2"]
            ),
        )
        yield mention, match.start(), match.end()


def _is_wording(mention: _Mention, text: str, start: int, end: int) -> bool:
    """A year, or a count that belongs to the question's wording ("top 3", "last 7 days")."""
    if not mention.bare:
        return False
    if len(mention.text) == 4 and 1900 <= mention.magnitude <= 2100:
        return True
    return bool(_COUNT_BEFORE.search(text[:start]) or _PERIOD_AFTER.match(text[end:]))


def _as_decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value)) if math.isfinite(value) else None
    return None


def fact_numbers(facts: Any) -> list[Decimal]:
    """Every number in `facts`: numeric leaves, and the numbers written inside its strings."""
    found: list[Decimal] = []
    stack = [facts]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            stack.extend(item)
        elif isinstance(item, str):
            found.extend(m.value for m, _start, _end in _mentions(item))
        elif (number := _as_decimal(item)) is not None:
            found.append(number)
    return found


def ungrounded_numbers(text: str, facts: dict[str, Any]) -> list[str]:
    """The numbers in `text` that match no number in `facts`, as written, in order, once each.

    Empty means every number is backed by the facts; see the module docstring for the rules.
    """
    known = fact_numbers(facts)
    missing: dict[str, None] = {}
    for mention, start, end in _mentions(text):
        if _is_wording(mention, text, start, end):
            continue
        if not any(mention.matches(fact) for fact in known):
            missing.setdefault(mention.text)
    return list(missing)
