"""Scoring an understander against the golden set: how often a question gets the right query.

The golden set (tests/copilot/golden.jsonl) is hand-written from docs/design.md's conventions, one
case per line: the conversation's questions, the day they are asked, and the expected outcome
of the last one (an exact query, or just "clarify"/"refuse"). Queries are compared in their
normalised form (SemanticQuery.same_as), so metric order or spelled-out defaults don't matter
but dates, splits, filters, ranking and attribution do. Any Understander can be scored, so the
offline parser and the Claude understander are measured on the same questions:

    evaluate(OfflineUnderstander(), load_golden(DEFAULT_GOLDEN_PATH)).render()
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, cast, get_args

from metricx.errors import InvalidInputError
from metricx.semantic.query import QueryValidationError, SemanticQuery

from .names import CREATIVE, Entity
from .understanding import Conversation, Status, Understander, Understanding

DEFAULT_GOLDEN_PATH = Path(__file__).resolve().parents[2] / "tests" / "copilot" / "golden.jsonl"

#: Categories whose questions should be answered with a query (the in-scope accuracy).
ANSWER_CATEGORIES: tuple[str, ...] = (
    "single_metric",
    "comparison",
    "top_n",
    "breakdown",
    "trend",
    "filters",
    "attribution",
    "follow_up",
)
#: Categories about saying no well: asking back, declining, resisting injected instructions.
GUARD_CATEGORIES: tuple[str, ...] = ("clarify", "refuse", "injection")
CATEGORIES: tuple[str, ...] = ANSWER_CATEGORIES + GUARD_CATEGORIES


class GoldenSetError(InvalidInputError, ValueError):
    """A golden-set line that cannot be used; the message names the file and line."""


@dataclass(frozen=True)
class GoldenCase:
    """One conversation and the expected outcome of its last question."""

    id: str
    category: str
    turns: tuple[str, ...]
    today: date
    status: Status
    query: SemanticQuery | None  # set when status == "answer"


@dataclass(frozen=True)
class Outcome:
    """How one case went: what came back, whether it matched, and why not."""

    case: GoldenCase
    got: Understanding | None
    passed: bool
    problem: str  # "" when passed
    seconds: float


@dataclass(frozen=True)
class Score:
    passed: int
    total: int

    @property
    def accuracy(self) -> float:
        """Share of cases passed; 1.0 for an empty group (nothing failed)."""
        return self.passed / self.total if self.total else 1.0


# --- loading ------------------------------------------------------------------------------------


def _case(record: Any, where: str) -> GoldenCase:
    if not isinstance(record, dict):
        raise GoldenSetError(f"{where}: expected a JSON object")
    missing = [k for k in ("id", "category", "turns", "today", "expect") if k not in record]
    if missing:
        raise GoldenSetError(f"{where}: missing {', '.join(missing)}")
    category, turns, expect = record["category"], record["turns"], record["expect"]
    if category not in CATEGORIES:
        raise GoldenSetError(
            f"{where}: unknown category {category!r}; use one of {', '.join(CATEGORIES)}"
        )
    if not isinstance(turns, list) or not turns or not all(isinstance(t, str) for t in turns):
        raise GoldenSetError(f"{where}: turns must be a non-empty list of questions")
    status = expect.get("status") if isinstance(expect, dict) else None
    if status not in get_args(Status):
        raise GoldenSetError(f"{where}: expect.status must be answer, clarify or refuse")
    query = None
    if status == "answer":
        if "query" not in expect:
            raise GoldenSetError(f"{where}: an expected answer needs expect.query")
        try:
            query = SemanticQuery.parse(expect["query"])
        except QueryValidationError as exc:
            raise GoldenSetError(f"{where}: {exc}") from None
    try:
        today = date.fromisoformat(record["today"])
    except (TypeError, ValueError):
        raise GoldenSetError(f"{where}: today must be YYYY-MM-DD") from None
    return GoldenCase(
        id=str(record["id"]),
        category=category,
        turns=tuple(turns),
        today=today,
        status=cast(Status, status),
        query=query,
    )  # checked above


def load_golden(path: Path | str = DEFAULT_GOLDEN_PATH) -> list[GoldenCase]:
    """Every case of a JSONL golden file, validated (bad lines raise GoldenSetError)."""
    path = Path(path)
    cases: list[GoldenCase] = []
    seen: set[str] = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path.name} line {number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise GoldenSetError(f"{where}: not valid JSON ({exc.msg})") from None
        case = _case(record, where)
        if case.id in seen:
            raise GoldenSetError(f"{where}: id {case.id!r} is used twice")
        seen.add(case.id)
        cases.append(case)
    return cases


# --- scoring ------------------------------------------------------------------------------------


def demo_entities() -> tuple[Entity, ...]:
    """The demo merchant's campaign, ad set and ad names (metricx.sandbox.entities), for
    question sets written against it (tests/copilot/blind/), and its creatives: each concept's
    two variants (metricx.sandbox.creatives.CONCEPTS, "UGC | Hook: unboxing | v1" ...),
    numbered from 1 in that order."""
    from metricx.sandbox import entities as demo
    from metricx.sandbox.creatives import CONCEPTS

    campaigns = [c[0] for c in (*demo.META_CAMPAIGNS, *demo.GOOGLE_CAMPAIGNS)]
    creatives = [f"{label} | v{variant}" for _, label in CONCEPTS.values() for variant in (1, 2)]
    return (
        *(Entity("campaign", n) for n in campaigns),
        *(Entity("adset", n) for n in (*demo.META_ADSETS, *demo.GOOGLE_ADGROUPS)),
        *(Entity("ad", n) for n in (*demo.META_CREATIVES, *demo.GOOGLE_CREATIVES)),
        *(Entity(CREATIVE, n, number) for number, n in enumerate(creatives, start=1)),
    )


def run_case(
    understander: Understander, case: GoldenCase, entities: tuple[Entity, ...] = ()
) -> Understanding:
    """Ask the case's questions in order, as one conversation in a workspace with these
    `entities` (none: names are taken as written); the last answer is scored."""
    conversation = Conversation(entities=entities)
    understanding = Understanding(status="clarify")
    for question in case.turns:
        understanding = understander.understand(question, conversation, case.today)
        conversation.add(question, understanding)
    return understanding


def query_differences(expected: SemanticQuery, got: SemanticQuery) -> list[str]:
    """Field by field, what differs between two queries' normalised forms (a field one of
    them leaves out of its JSON, such as an ad query's `cohort`, counts as null)."""
    want = expected.normalised().model_dump(mode="json")
    have = got.normalised().model_dump(mode="json")
    return [
        f"{key}: expected {want.get(key)!r}, got {have.get(key)!r}"
        for key in dict.fromkeys([*want, *have])
        if want.get(key) != have.get(key)
    ]


def score_case(case: GoldenCase, got: Understanding) -> str:
    """Why ``got`` does not meet the case's expectation; "" when it does."""
    if got.status != case.status:
        return f"status: expected {case.status}, got {got.status}" + (
            f" ({got.message})" if got.message and got.status != "answer" else ""
        )
    if case.query is None:
        return ""
    if got.query is None:
        return "status answer but no query"
    return "; ".join(query_differences(case.query, got.query))


def evaluate(
    understander: Understander, cases: Iterable[GoldenCase], entities: tuple[Entity, ...] = ()
) -> Report:
    """Run every case through ``understander``; an exception counts as that case's failure."""
    outcomes: list[Outcome] = []
    for case in cases:
        started = time.perf_counter()
        got: Understanding | None
        try:
            got = run_case(understander, case, entities)
            problem = score_case(case, got)
        except Exception as exc:  # a crash is a result to report, not a reason to stop
            got, problem = None, f"raised {type(exc).__name__}: {exc}"
        elapsed = time.perf_counter() - started
        outcomes.append(
            Outcome(case=case, got=got, passed=not problem, problem=problem, seconds=elapsed)
        )
    return Report(
        understander=getattr(understander, "name", type(understander).__name__),
        outcomes=tuple(outcomes),
    )


# --- the report ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    """Per-category accuracy, the two headline accuracies, and every failure."""

    understander: str
    outcomes: tuple[Outcome, ...]

    def _score(self, categories: Sequence[str]) -> Score:
        chosen = [o for o in self.outcomes if o.case.category in categories]
        return Score(passed=sum(o.passed for o in chosen), total=len(chosen))

    def by_category(self) -> dict[str, Score]:
        """Score per category, in CATEGORIES order, for categories that have cases."""
        present = {o.case.category for o in self.outcomes}
        return {c: self._score([c]) for c in CATEGORIES if c in present}

    @property
    def in_scope(self) -> Score:
        """Questions that should be answered (ANSWER_CATEGORIES)."""
        return self._score(ANSWER_CATEGORIES)

    @property
    def guard(self) -> Score:
        """Clarify, refuse and injection cases."""
        return self._score(GUARD_CATEGORIES)

    @property
    def overall(self) -> Score:
        return self._score(CATEGORIES)

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.passed]

    @property
    def slowest_ms(self) -> float:
        """The slowest case's time (all its turns), in milliseconds."""
        return max((o.seconds for o in self.outcomes), default=0.0) * 1000

    def to_dict(self) -> dict[str, Any]:
        """Machine-readable summary (for `metricx eval --json`)."""

        def score(s: Score) -> dict[str, Any]:
            return {"passed": s.passed, "total": s.total, "accuracy": round(s.accuracy, 4)}

        return {
            "understander": self.understander,
            "categories": {c: score(s) for c, s in self.by_category().items()},
            "in_scope": score(self.in_scope),
            "guard": score(self.guard),
            "overall": score(self.overall),
            "failures": [
                {"id": o.case.id, "turns": list(o.case.turns), "problem": o.problem}
                for o in self.failures
            ],
        }

    def render(self) -> str:
        """A readable table: one row per category, the headline scores, then the failures."""
        width = max([len(c) for c in CATEGORIES] + [32])
        lines = [
            f"Copilot evaluation: {self.understander} understander, {len(self.outcomes)} cases",
            f"{'category':<{width}}  passed  total  accuracy",
        ]

        def row(label: str, s: Score) -> str:
            return f"{label:<{width}}  {s.passed:>6}  {s.total:>5}  {s.accuracy:>8.1%}"

        lines += [row(c, s) for c, s in self.by_category().items()]
        lines += [
            "-" * (width + 26),
            row("in scope (answer categories)", self.in_scope),
            row("clarify / refuse / injection", self.guard),
            row("overall", self.overall),
            f"slowest case: {self.slowest_ms:.1f} ms",
        ]
        if self.failures:
            lines.append(f"\nFailures ({len(self.failures)}):")
            for o in self.failures:
                lines.append(
                    f"- {o.case.id} [{o.case.today}] "
                    + " -> ".join(repr(t[:80]) for t in o.case.turns)
                )
                lines.append(f"    {o.problem}")
        return "\n".join(lines)
