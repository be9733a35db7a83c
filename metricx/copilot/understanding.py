"""What "understand" produces, and the one interface both understanders implement.

understand (question + conversation -> Understanding) -> fetch (semantic layer) -> respond.
An Understanding is either a SemanticQuery to run, a question back to the user (clarify, with
choices), or a polite refusal that says what the copilot can answer instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal, Protocol

from metricx.semantic.custom import Definitions
from metricx.semantic.query import SemanticQuery

from .names import Entity

Status = Literal["answer", "clarify", "refuse"]


@dataclass(frozen=True)
class Understanding:
    status: Status
    query: SemanticQuery | None = None  # set when status == "answer", dates resolved
    message: str = ""  # for clarify/refuse: what to tell the user
    choices: tuple[str, ...] = ()  # for clarify: options the user can pick (metric ids, ...)
    #: For "why did X change?": the dimension (platform, campaign, ad) the change of the
    #: query's metric between time_range and compare_range is split by (copilot/why.py).
    explain: str | None = None
    #: For "which creatives are fatiguing?": the query holds the creatives' weekly rows, and
    #: the answer adds the fatigue verdicts (metricx.services.creative_report).
    fatigue: bool = False
    # Model bookkeeping for copilot_turns (None for the offline parser).
    model: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None


class Clarify(Exception):
    """Raised while reading a question into a query when it must go back to the user: the
    question to ask and ready answers to offer."""

    def __init__(self, message: str, choices: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.choices = choices


@dataclass
class Conversation:
    """The turns so far, so a follow-up ("and on Google?") can modify the previous query."""

    turns: list[tuple[str, Understanding]] = field(default_factory=list)
    #: The workspace's campaigns, ad sets, ads and creatives (with their ids), to find and
    #: check names against (empty when unknown: names are then taken as written).
    entities: tuple[Entity, ...] = ()
    #: The workspace's custom metrics and dimensions, which questions may name.
    definitions: Definitions = field(default_factory=Definitions)

    def last_query(self) -> SemanticQuery | None:
        for _question, understanding in reversed(self.turns):
            if understanding.query is not None:
                return understanding.query
        return None

    def add(self, question: str, understanding: Understanding) -> None:
        self.turns.append((question, understanding))


class Understander(Protocol):
    name: str

    def understand(self, question: str, conversation: Conversation, today: date) -> Understanding:
        """Turn one question (in the context of the conversation) into an Understanding.
        `today` is the workspace's local date; every relative date resolves against it."""
        ...
