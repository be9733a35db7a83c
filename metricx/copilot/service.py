"""The copilot: understand -> fetch -> respond, one turn at a time, every turn logged.

Claude understands when ANTHROPIC_API_KEY is set (falling back to the offline parser when it
is unavailable); otherwise the offline parser does. Either way the numbers come only from the
metric service, and the answer shows the query it ran.

An alert or digest request ("alert me if CAC goes above $70") is read first, in both modes,
by the deterministic alert_intent: the answer (status "propose") carries the proposal in
words, and nothing is saved until `confirm_proposal`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from metricx import validation
from metricx.actor import Actor
from metricx.alerts.rules import Rule
from metricx.config import get_config
from metricx.copilot.alert_intent import AlertRecognition, ProposedAlert, recognise
from metricx.copilot.choices import ready_questions
from metricx.copilot.names import closest_names, tree_entities
from metricx.copilot.offline import OfflineUnderstander
from metricx.copilot.respond import answer_text, chart, like_for_like_question
from metricx.copilot.scope import workspace_entities
from metricx.copilot.understanding import Conversation, Understander, Understanding
from metricx.copilot.why import Decomposition, decompose, table_for_display
from metricx.db import new_session, transaction
from metricx.errors import InvalidInputError, MetricxError, PermissionDeniedError
from metricx.markdown import markdown_literal
from metricx.models import CopilotTurn, User, Workspace
from metricx.semantic.dates import today_in
from metricx.semantic.engine import run_query
from metricx.semantic.result import MetricsResult
from metricx.services import alerts, digests
from metricx.services.custom_definitions import definitions

MAX_TURNS_PER_MINUTE = 20
EXAMPLE_QUESTIONS = (
    "What was my spend and ROAS last week?",
    "Compare CPC this week vs last week for top 3 ads",
    "Store revenue and MER by day over the last 14 days",
    "Which campaigns had the worst CPA last month?",
)
MAX_QUESTION = 2000  # characters: a question, not a document
# Claude's wording may repeat a name from the data: no bracket or angle bracket of it may
# open a link or an image ([x](...), ![x](...), <http://...>).
_LINK_MARKUP = str.maketrans({c: "\\" + c for c in "[]<>"})


class RateLimitedError(MetricxError):
    pass


@dataclass
class CopilotAnswer:
    status: str  # answer | clarify | refuse | propose (an alert or digest to confirm)
    answer: str  # the deterministic answer: every number from `result`
    understanding: Understanding
    result: MetricsResult | None = None
    question: str = ""
    #: Ready questions to continue with: a clarification's options, or the like-for-like
    #: comparison an answer over periods of different lengths offers.
    choices: tuple[str, ...] = ()
    decomposition: Decomposition | None = None  # for "why did X change?"
    #: For "alert me if ...": the rule or digest understood, saved by confirm_proposal
    proposal: ProposedAlert | None = None

    def chart(self) -> Any:
        return chart(self.result) if self.result is not None else None

    def table(self) -> Any:
        """The table to show: the decomposition of a "why" answer, else the result's rows."""
        if self.decomposition is not None:
            return table_for_display(self.decomposition)
        return self.result.frame if self.result is not None else None

    def to_contract(self) -> dict[str, Any]:
        """The `metricx ask --json` output contract of docs/design.md."""
        query = self.understanding.query
        contract = {
            "status": self.status,
            "query": query.model_dump(mode="json") if query and self.result else None,
            "answer": self.answer,
            "result": self.result.to_contract() if self.result else None,
            "choices": list(self.choices),
        }
        if self.proposal is not None:
            contract["proposal"] = {
                "kind": self.proposal.kind,
                "fields": self.proposal.fields,
                "text": self.proposal.text,
            }
        if self.decomposition is not None:
            table = self.decomposition.table
            contract["explanation"] = {
                "metric": self.decomposition.metric,
                "dimension": self.decomposition.dimension,
                "columns": list(table.columns),
                "rows": [
                    [None if isinstance(v, float) and v != v else v for v in row]
                    for row in table.itertuples(index=False)
                ],
            }
        return contract


def default_understander() -> Understander:
    if get_config().anthropic_api_key:
        from metricx.copilot.claude import ClaudeUnderstander

        return ClaudeUnderstander()
    return OfflineUnderstander()


def _check_rate(workspace_id: int, user_id: int | None) -> None:
    if user_id is None:
        return
    since = datetime.now(UTC) - timedelta(minutes=1)
    with new_session() as session:
        recent = session.execute(
            select(func.count())
            .select_from(CopilotTurn)
            .where(
                CopilotTurn.workspace_id == workspace_id,
                CopilotTurn.user_id == user_id,
                CopilotTurn.created_at >= since,
            )
        ).scalar_one()
    if recent >= MAX_TURNS_PER_MINUTE:
        raise RateLimitedError(
            f"that is {MAX_TURNS_PER_MINUTE} questions in a minute; please wait a moment"
        )


def _understand(
    understander: Understander, question: str, conversation: Conversation, today: date
) -> tuple[Understanding, str]:
    try:
        return understander.understand(question, conversation, today), ""
    except MetricxError as error:  # Claude unavailable: the offline parser still answers
        if isinstance(understander, OfflineUnderstander):
            raise
        fallback = OfflineUnderstander().understand(question, conversation, today)
        return fallback, f"{error} Answered by the offline parser instead."


def ask(
    workspace_id: int,
    question: str,
    conversation: Conversation | None = None,
    *,
    today: date | None = None,
    user_id: int | None = None,
    understander: Understander | None = None,
) -> CopilotAnswer:
    """Answer one question in the context of `conversation` (which it extends)."""
    conversation = conversation if conversation is not None else Conversation()
    started = time.perf_counter()
    question = validation.plain_text(question, "the question", MAX_QUESTION, lines=True)
    _check_rate(workspace_id, user_id)
    with new_session() as session:
        workspace = session.get(Workspace, workspace_id)
        if workspace is None:
            raise InvalidInputError(f"no workspace {workspace_id}")
        tz, currency = workspace.timezone, workspace.currency
        email = _email_of(workspace_id, user_id)
    today = today or today_in(tz)
    understander = understander or default_understander()
    conversation.entities = workspace_entities(workspace_id)
    conversation.definitions = definitions(workspace_id)  # this workspace's, never another's
    # an alert request is read before any understander, so both modes propose the same rule
    recognised = recognise(
        question,
        today=today,
        definitions=conversation.definitions,
        entities=conversation.entities,
        currency=currency,
        email=email,
    )
    if recognised is not None:
        return _proposal_answer(workspace_id, user_id, question, conversation, recognised, started)
    understanding, note = _understand(understander, question, conversation, today)
    understanding = _check_names(conversation, understanding)
    conversation.add(question, understanding)
    answer, error, result, decomposition = understanding.message, None, None, None
    status = understanding.status
    choices = ready_questions(question, understanding.message, understanding.choices)
    if status == "answer" and understanding.query is not None:
        try:
            result = run_query(workspace_id, understanding.query)
            if understanding.explain and understanding.query.compare_range is not None:
                decomposition = decompose(
                    workspace_id, understanding.query, understanding.explain, result
                )
            explanation = decomposition.text if decomposition else ""
            if understanding.fatigue:
                explanation = fatigue_text(workspace_id, result, today)
            answer = answer_text(
                result, " ".join(p for p in (understanding.message, note) if p), explanation
            )
            choices = tuple(q for q in [like_for_like_question(result)] if q)
        except MetricxError as problem:
            status, error = "clarify", str(problem)
            answer = f"I could not compute that: {markdown_literal(str(problem))}"
    elif not answer:
        answer = "Could you rephrase that as a question about your ad or store metrics?"
    _log(
        workspace_id,
        user_id,
        question,
        understanding,
        status,
        answer,
        error,
        int((time.perf_counter() - started) * 1000),
    )
    return CopilotAnswer(status, answer, understanding, result, question, choices, decomposition)


def _email_of(workspace_id: int, user_id: int | None) -> str | None:
    """The asking user's address: where their alert is emailed (None: no user asks)."""
    if user_id is None:
        return None
    with new_session() as session:
        return session.scalar(
            select(User.email).where(User.id == user_id, User.workspace_id == workspace_id)
        )


def _proposal_answer(
    workspace_id: int,
    user_id: int | None,
    question: str,
    conversation: Conversation,
    recognised: AlertRecognition,
    started: float,
) -> CopilotAnswer:
    """The answer to an alert or digest request: the proposal to confirm, or what is missing."""
    status = "propose" if recognised.proposal is not None else "clarify"
    answer = markdown_literal(recognised.message)
    understanding = Understanding(status="clarify", message=answer)
    conversation.add(question, understanding)
    latency = int((time.perf_counter() - started) * 1000)
    _log(workspace_id, user_id, question, understanding, status, answer, None, latency)
    return CopilotAnswer(
        status, answer, understanding, question=question, proposal=recognised.proposal
    )


class Confirmation(str):
    """What confirming a proposal says; `saved` tells a saved rule or digest from a refusal."""

    saved: bool

    def __new__(cls, text: str, saved: bool) -> Confirmation:
        made = super().__new__(cls, text)
        made.saved = saved
        return made


def confirm_proposal(actor: Actor, proposal: ProposedAlert, personal: bool | None = None) -> str:
    """Save what the copilot proposed, and say so in one line (a `Confirmation`).

    A rule is a member's personal rule; an admin's is a workspace rule unless `personal` (the
    page's "only for me"). Confirming the same proposal again saves nothing new: an equal rule
    of the same scope is already there, and a digest is subscribed to once. Problems (an
    invalid rule, a permission) come back as a one-line `Confirmation` with saved False.
    """
    try:
        if proposal.kind == "digest":
            return _confirm_digest(actor, proposal)
        mine = not actor.is_admin if personal is None else personal
        rule = Rule.parse(proposal.fields)
        for saved in alerts.list_rules(actor):
            same_scope = saved.owner_email == (actor.label if mine else None)
            if same_scope and saved.rule == rule:
                return Confirmation(
                    f"This alert is already saved ({saved.scope}, rule {saved.id}).", True
                )
        added = alerts.add_rule(actor, rule, personal=mine)
    except MetricxError as problem:
        return Confirmation(f"Not saved: {' '.join(str(problem).split())}", False)
    return Confirmation(
        f"Saved as a {added.scope} (rule {added.id}): {proposal.words}, {proposal.schedule}, "
        f"{proposal.channels}.",
        True,
    )


def _confirm_digest(actor: Actor, proposal: ProposedAlert) -> Confirmation:
    """Add the asker to the digest (any user: digests.subscribe_digest); an admin's stated
    hour, weekday or Slack also become the digest's settings (digests.save_digest: the
    workspace has one digest per cadence, so its other recipients stay)."""
    fields, stated = proposal.fields, proposal.stated
    cadence = fields["cadence"]
    wants_email = any(c["kind"] == "email" for c in fields["channels"])
    saved = digests.subscribe_digest(actor, cadence) if wants_email or not stated else None
    note = ""
    if stated and actor.is_admin:
        current = saved or next(d for d in digests.list_digests(actor) if d.cadence == cadence)
        channels = list(current.channels)
        if "slack" in stated and {"kind": "slack"} not in channels:
            channels = [*(channels or current.delivers_to), {"kind": "slack"}]
        saved = digests.save_digest(
            actor,
            cadence,
            local_hour=fields["local_hour"] if "local_hour" in stated else current.local_hour,
            weekday=fields["weekday"] if "weekday" in stated else current.weekday,
            channels=channels,
        )
    elif stated:
        note = " Its hour, day and Slack are an admin's to change."
    if saved is None:
        raise PermissionDeniedError("only an admin can send the digest to Slack")
    to = ", ".join(c.get("to") or "Slack" for c in saved.delivers_to) or "nobody yet"
    return Confirmation(f"Saved: the {cadence} digest goes {saved.when} to {to}.{note}", True)


def _check_names(conversation: Conversation, understanding: Understanding) -> Understanding:
    """A name filter that matches nothing in the workspace becomes a question back, with the
    closest names, instead of an answer of zeros. (A product query's name is a product title,
    not a campaign's: an unknown one answers "no data".)"""
    query = understanding.query
    name = query.filters.name_contains if query is not None else None
    if name is None or query is None or query.family != "ads":
        return understanding
    closest = closest_names(name, [e.name for e in tree_entities(conversation.entities)])
    if closest is None:
        return understanding
    message = f"No campaign, ad set or ad has \u201c{markdown_literal(name)}\u201d in its name."
    message += (
        " Did you mean one of these?"
        if closest
        else (' Which campaign do you mean? (Ask "spend by campaign" to see their names.)')
    )
    return Understanding(
        status="clarify",
        message=message,
        choices=closest,
        model=understanding.model,
        input_tokens=understanding.input_tokens,
        output_tokens=understanding.output_tokens,
    )


#: The fatigued creatives an answer names one by one; more are counted.
MAX_FATIGUED_LISTED = 10


def fatigue_text(workspace_id: int, result: MetricsResult, today: date) -> str:
    """The fatigue verdicts (metricx.services.creative_report.lifetimes, the Creatives page's
    rule) of the creatives in `result`'s rows, as lines for the answer: the fatigued ones
    with their evidence, then how many hold up or lack the data to judge."""
    from metricx.services.creative_report import lifetimes

    frame = result.frame
    if "creative_id" not in frame or frame.empty:
        return "No creative had impressions in these weeks, so none can be judged."
    shown = frame[frame["creative_id"].notna()]
    names = {int(i): str(n) for i, n in zip(shown["creative_id"], shown["creative"], strict=True)}
    verdicts = {key: life[1] for key, life in lifetimes(workspace_id, today, list(names)).items()}
    fatigued = sorted(
        (key for key, verdict in verdicts.items() if verdict.fatigued),
        key=lambda key: verdicts[key].ctr_ratio or 0.0,
    )
    healthy = sum(1 for v in verdicts.values() if v.status == "healthy")
    unjudged = len(names) - len(fatigued) - healthy
    lines = [
        f"**Fatigued: {len(fatigued)} of {len(names)} creatives** (judged on {today}; "
        f"{healthy} holding up, {unjudged} without enough impressions to judge)."
        if fatigued
        else f"**No creative is fatigued** (judged on {today}: {healthy} of {len(names)} "
        f"holding up, {unjudged} without enough impressions to judge)."
    ]
    for key in fatigued[:MAX_FATIGUED_LISTED]:
        lines.append(f"- {markdown_literal(names[key])}: {verdicts[key].reason}")
    if len(fatigued) > MAX_FATIGUED_LISTED:
        lines.append(f"- and {len(fatigued) - MAX_FATIGUED_LISTED} more.")
    return "\n".join(lines)


@dataclass
class WrittenAnswer:
    """Claude's wording of an answer, once checked: `grounded` False means it cited a number
    the data does not hold, and the deterministic answer must be shown instead."""

    text: str
    grounded: bool
    ungrounded: list[str]


def stream_written_answer(answer: CopilotAnswer, sink: list[WrittenAnswer]) -> Iterator[str]:
    """Stream Claude's wording of `answer` (for st.write_stream); when the stream ends, the
    grounding verdict is appended to `sink`. Only for answers with a result and a key set."""
    from metricx.copilot.claude import ClaudeWriter
    from metricx.copilot.grounding import ungrounded_numbers

    facts = answer.to_contract()
    facts["definitions"] = facts["result"]["meta"]["definitions"] if facts["result"] else {}
    chunks: list[str] = []
    for chunk in ClaudeWriter().stream_answer(answer.question, facts):
        chunks.append(chunk)
        yield chunk.translate(_LINK_MARKUP)
    text = "".join(chunks)
    missing = ungrounded_numbers(text, facts)
    sink.append(WrittenAnswer(text.translate(_LINK_MARKUP), not missing, missing))


def suggested_questions(workspace_id: int) -> tuple[str, ...]:
    """Questions to start with: one about the workspace's first custom metric and one split by
    its first custom dimension, when it has them, then the examples."""
    custom = definitions(workspace_id)
    own = [f"{metric.label} last week" for metric in list(custom.metrics.values())[:1]]
    own += [
        f"ROAS by {dimension.label} last week" for dimension in list(custom.dimensions.values())[:1]
    ]
    return (*own, *EXAMPLE_QUESTIONS)


def writes_with_claude() -> bool:
    return bool(get_config().anthropic_api_key)


def mode_description() -> str:
    """Which of the two modes answers, for the page to say so."""
    if writes_with_claude():
        return f"Answers written by Claude ({get_config().anthropic_model})."
    return "Offline parser: set ANTHROPIC_API_KEY to answer with Claude."


def _log(
    workspace_id: int,
    user_id: int | None,
    question: str,
    understanding: Understanding,
    status: str,
    answer: str,
    error: str | None,
    latency_ms: int,
) -> None:
    query = understanding.query.model_dump(mode="json") if understanding.query else None
    with transaction() as session:
        session.add(
            CopilotTurn(
                workspace_id=workspace_id,
                user_id=user_id,
                question=question[:4000],
                semantic_query=query,
                status=status,
                answer=answer,
                model=understanding.model or "offline",
                input_tokens=understanding.input_tokens,
                output_tokens=understanding.output_tokens,
                latency_ms=latency_ms,
                error=error,
            )
        )


def recent_turns(workspace_id: int, limit: int = 50) -> list[CopilotTurn]:
    with new_session() as session:
        return list(
            session.scalars(
                select(CopilotTurn)
                .where(CopilotTurn.workspace_id == workspace_id)
                .order_by(CopilotTurn.created_at.desc(), CopilotTurn.id.desc())
                .limit(limit)
            )
        )
