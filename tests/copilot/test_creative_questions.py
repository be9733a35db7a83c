"""Creative questions (issue 19, item 5): the ads' creatives and their video figures in
merchants' words, in the offline parser and in what Claude is told, answered from the
workspace's own creatives; what cannot be said is asked about."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metricx.copilot.claude import understanding_from_tool_input
from metricx.copilot.creative_questions import FATIGUE_METRICS
from metricx.copilot.evaluation import demo_entities, evaluate, load_golden
from metricx.copilot.names import CREATIVE, Entity
from metricx.copilot.offline import OfflineUnderstander
from metricx.copilot.prompts import answer_tool, understander_system
from metricx.copilot.scope import scope_text, workspace_entities
from metricx.copilot.service import ask
from metricx.copilot.understanding import Conversation, Understanding
from metricx.semantic.query import SemanticQuery

TODAY = date(2026, 11, 25)  # a Wednesday
LAST_WEEK = (date(2026, 11, 16), date(2026, 11, 22))
BATCH = Path(__file__).parent / "blind" / "batch10.jsonl"
#: demo_entities() numbers the demo creatives: the UGC ones are 1-4, the Founder ones 5-6
UGC_IDS, FOUNDER_IDS = [1, 2, 3, 4], [5, 6]


def understood(*turns: str, entities: tuple[Entity, ...] | None = None) -> Understanding:
    conversation = Conversation(entities=demo_entities() if entities is None else entities)
    understanding = Understanding(status="clarify")
    for turn in turns:
        understanding = OfflineUnderstander().understand(turn, conversation, TODAY)
        conversation.add(turn, understanding)
    return understanding


def answered(*turns: str) -> SemanticQuery:
    understanding = understood(*turns)
    assert understanding.status == "answer", understanding.message
    assert understanding.query is not None
    return understanding.query


def dates(query: SemanticQuery) -> tuple[date, date]:
    return query.time_range.start, query.time_range.end


# --- the blind batch ------------------------------------------------------------------------


def test_the_creative_blind_batch_stays_at_its_after_tuning_score() -> None:
    # tests/copilot/blind/batch10.jsonl: 8/34 blind (the parser before issue 19's copilot
    # part), 34/34 after its fixes
    report = evaluate(OfflineUnderstander(), load_golden(BATCH), demo_entities())
    assert report.overall.accuracy == 1.0, report.render()


# --- the brief's three questions ------------------------------------------------------------


def test_which_video_hooks_best_ranks_video_creatives_by_thumb_stop_rate() -> None:
    understanding = understood("which video hooks best this month?")
    query = understanding.query
    assert query is not None, understanding.message
    assert query.metrics == ["thumb_stop_rate"] and query.dimensions == ["creative"]
    assert query.filters.creative_format == ["video"]
    assert query.order_by is not None and query.order_by.direction == "desc"
    assert query.order_by.metric == "thumb_stop_rate" and query.limit == 1
    assert dates(query) == (date(2026, 11, 1), TODAY)
    assert "thumb-stop rate" in understanding.message  # how "hook" was read is said


def test_the_top_3_ugc_creatives_are_the_workspace_s_creatives_called_so_by_spend() -> None:
    understanding = understood("compare the top 3 UGC creatives' hold rate")
    query = understanding.query
    assert query is not None, understanding.message
    assert query.metrics == ["hold_rate", "spend"] and query.dimensions == ["creative"]
    assert query.filters.creative_ids == UGC_IDS and query.filters.name_contains is None
    assert query.order_by is not None and query.order_by.metric == "spend"
    assert query.limit == 3
    # the answer says which creatives the name kept, and ranking by spend
    assert "UGC | Hook: unboxing | v1" in understanding.message
    assert "Ranked by spend" in understanding.message


def test_which_creatives_are_fatiguing_asks_for_the_fatigue_rule_s_weekly_rows() -> None:
    understanding = understood("which creatives are fatiguing?")
    query = understanding.query
    assert query is not None and understanding.fatigue
    assert tuple(query.metrics) == FATIGUE_METRICS
    assert query.dimensions == ["creative"] and query.grain == "week"
    # the last 12 whole Monday weeks
    assert dates(query) == (date(2026, 8, 31), date(2026, 11, 22))
    meta_only = understood("which meta creatives are fatiguing?").query
    assert meta_only is not None and meta_only.filters.provider == ["meta"]


# --- video figures in merchants' words ------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "metrics"),
    [
        ("hook rate last week", ["thumb_stop_rate"]),
        ("thumb-stop rate last week", ["thumb_stop_rate"]),
        ("hold rate last week", ["hold_rate"]),
        ("how many thruplays last week", ["thruplays"]),
        ("thruplay rate last week", ["thruplay_rate"]),
        ("cost per thruplay last week", ["cost_per_thruplay"]),
        ("video completion rate last week", ["completion_rate"]),
        ("average watch time last week", ["avg_watch_seconds"]),
        ("3-second video views last week", ["video_3s_plays"]),
        ("video views last week", ["video_3s_plays"]),
        (
            "25% 50% 75% and 100% video views last week",
            ["video_p25", "video_p50", "video_p75", "video_p100"],
        ),
    ],
)
def test_a_video_figure_is_read_over_every_ad_without_a_format_filter(
    question: str, metrics: list[str]
) -> None:
    query = answered(question)
    assert sorted(query.metrics) == sorted(metrics)
    assert query.filters.creative_format is None and query.filters.name_contains is None
    assert dates(query) == LAST_WEEK


def test_hooks_ranked_are_the_creatives_by_thumb_stop_rate() -> None:
    query = answered("which hooks worked best last week")
    assert query.metrics == ["thumb_stop_rate"] and query.dimensions == ["creative"]
    assert query.order_by is not None and query.order_by.metric == "thumb_stop_rate"
    assert query.limit == 10 and dates(query) == LAST_WEEK


def test_thumb_stop_is_a_figure_not_a_request_to_stop_anything() -> None:
    assert understood("thumb-stop rate of the Founder creatives last month").status == "answer"
    assert understood("stop the Founder creatives").status == "refuse"


# --- formats --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "formats", "dimensions"),
    [
        ("ctr of image ads last week", ["image"], []),
        ("spend on statics last week", ["image"], []),
        ("carousel spend last week", ["carousel"], []),
        ("roas of our videos last week", ["video"], []),
        ("which video ads had the best ctr last week", ["video"], ["ad"]),
        ("top 3 videos by hold rate last week", ["video"], ["creative"]),
        ("spend on video and image ads last week", ["image", "video"], []),
    ],
)
def test_a_format_word_keeps_the_ads_whose_creative_has_that_format(
    question: str, formats: list[str], dimensions: list[str]
) -> None:
    query = answered(question)
    assert sorted(query.filters.creative_format or []) == formats
    assert query.dimensions == dimensions and query.filters.name_contains is None


def test_a_format_word_that_describes_or_is_a_workspace_name_stays_the_name() -> None:
    # "static" says what the named ad is; "the carousel ads" are the ads called so (batch 6)
    described = answered("ctr on the Bestseller Bundle static ad last week")
    assert described.filters.name_contains == "Bestseller Bundle"
    assert described.filters.creative_format is None
    named = answered("how are the carousel ads doing on ctr last week")
    assert named.filters.name_contains == "carousel" and named.filters.creative_format is None
    # a campaign called "... | Video Views" keeps its name; "video views" alone is the figure
    campaign = answered("cpm for Brand Awareness | Video Views last week")
    assert campaign.metrics == ["cpm"]
    assert campaign.filters.name_contains == "Brand Awareness | Video Views"


def test_formats_side_by_side_are_asked_about_with_ready_questions() -> None:
    understanding = understood("video vs image vs carousel roas last month")
    assert understanding.status == "clarify"
    assert understanding.choices == (
        "ROAS (platform-reported) of video creatives last month?",
        "ROAS (platform-reported) of image creatives last month?",
        "ROAS (platform-reported) of carousel creatives last month?",
        "ROAS (platform-reported) by creative last month?",
    )


# --- creatives by name ------------------------------------------------------------------------


def test_a_creative_name_is_checked_against_the_workspace_s_creatives() -> None:
    founder = answered("thumb-stop rate of the Founder creatives last month")
    assert founder.filters.creative_ids == FOUNDER_IDS and not founder.dimensions
    # a word only creatives have is theirs, whatever noun follows
    unboxing = answered("hold rate of the unboxing creatives last week")
    assert unboxing.filters.creative_ids == [1, 2]


def test_a_creative_name_no_creative_has_is_asked_about_with_the_closest_names() -> None:
    understanding = understood("hold rate of the Founder Storys creative last week")
    assert understanding.status == "clarify"
    assert understanding.message.startswith("No creative has")
    assert "Founder | Story 30s | v1" in understanding.choices


def test_the_x_creative_when_several_are_called_differently_is_asked_about() -> None:
    understanding = understood("ctr of the UGC creative yesterday")
    assert understanding.status == "clarify"
    assert understanding.choices[:2] == ("UGC | Hook: unboxing | v1", "UGC | Hook: unboxing | v2")


def test_without_the_workspace_s_creatives_a_creative_name_is_asked_about() -> None:
    understanding = understood("hold rate of the Summer Sale creative last week", entities=())
    assert understanding.status == "clarify" and "No creative" in understanding.message


def test_campaign_names_keep_their_meaning_beside_a_creative_split() -> None:
    query = answered("hold rate for the UGC Hooks campaign by creative last week")
    assert query.filters.name_contains == "UGC Hooks" and query.dimensions == ["creative"]
    assert query.filters.creative_ids is None
    # "hook" inside names is never the thumb-stop rate
    assert answered("spend on the UGC Video | Hook A ad last week").metrics == ["spend"]
    assert understood("spend on the Hook ad last week").status == "clarify"


# --- follow-ups -----------------------------------------------------------------------------


def test_follow_ups_keep_the_creative_split_and_add_what_they_name() -> None:
    videos = answered("top 5 creatives by ctr last week", "only the videos")
    assert videos.dimensions == ["creative"] and videos.filters.creative_format == ["video"]
    assert videos.limit == 5
    hold = answered("hook rate by creative this month", "and hold rate?")
    assert hold.metrics == ["hold_rate"] and hold.dimensions == ["creative"]
    ugc = answered("roas by creative last week", "just the UGC creatives")
    assert ugc.filters.creative_ids == UGC_IDS and ugc.dimensions == ["creative"]


FORMATS = {"video": "video", "image": "image", "carousel": "carousel", "static": "image"}
FIGURES = ("spend", "ctr", "roas", "cpa", "thumb-stop rate", "hold rate")
PERIODS = ("yesterday", "last week", "last month", "last 30 days", "this month")


@settings(max_examples=60, deadline=None)
@given(
    word=st.sampled_from(sorted(FORMATS)),
    figure=st.sampled_from(FIGURES),
    period=st.sampled_from(PERIODS),
    today=st.dates(min_value=date(2026, 1, 2), max_value=date(2027, 3, 1)),
)
def test_a_format_word_changes_the_filter_never_the_figure_or_the_dates(
    word: str, figure: str, period: str, today: date
) -> None:
    # Given the same question with and without a format word
    plain = OfflineUnderstander().understand(f"{figure} {period}", Conversation(), today)
    kept = OfflineUnderstander().understand(
        f"{figure} of {word} ads {period}", Conversation(), today
    )
    # Then both are answered with the same figure over the same dates, the second on that
    # format's ads only
    assert plain.query is not None and kept.query is not None, (plain, kept)
    assert kept.query.filters.creative_format == [FORMATS[word]]
    assert kept.query.metrics == plain.query.metrics
    assert kept.query.time_range == plain.query.time_range


# --- the scope said ---------------------------------------------------------------------------


def test_the_scope_names_the_creative_filters() -> None:
    query = answered("hold rate of the UGC creatives on meta last week")
    assert scope_text(query) == (
        "Scope: all campaigns, ads showing one of 4 chosen creatives, on Meta."
    )
    videos = answered("ctr of video ads last week")
    assert (
        scope_text(videos)
        == "Scope: all campaigns, video creatives only, on every connected platform."
    )


# --- what Claude is told ----------------------------------------------------------------------


def test_claude_is_told_the_creative_conventions_and_may_name_creatives() -> None:
    system = understander_system(TODAY)
    assert "# Creative questions" in system and "which video hooks best" in system
    schema = answer_tool()["input_schema"]
    assert {"creative_name", "fatigue"} <= set(schema["properties"])  # type: ignore[index]
    assert set(schema["required"]) == {"status", "query", "message", "choices"}  # type: ignore[index]


QUERY = {
    "metrics": ["hold_rate", "spend"],
    "time_range": {"start": "2026-11-18", "end": "2026-11-24"},
    "dimensions": ["creative"],
    "order_by": {"metric": "spend", "direction": "desc"},
    "limit": 3,
}


def test_a_creative_name_claude_gives_is_kept_as_the_workspace_s_creative_ids() -> None:
    tool_input = {"status": "answer", "query": QUERY, "message": "", "choices": []}
    got = understanding_from_tool_input(
        {**tool_input, "creative_name": "UGC"}, TODAY, None, demo_entities()
    )
    assert got.query is not None and got.query.filters.creative_ids == UGC_IDS
    assert "UGC | Hook: unboxing | v1" in got.message
    unknown = understanding_from_tool_input(
        {**tool_input, "creative_name": "Summer Sale"}, TODAY, None, demo_entities()
    )
    assert unknown.status == "clarify" and unknown.message.startswith("No creative has")
    fatigue = understanding_from_tool_input({**tool_input, "fatigue": True}, TODAY)
    assert fatigue.fatigue


# --- answered from the workspace's own creatives ---------------------------------------------


def test_the_workspace_s_creatives_are_its_own_with_their_ids(synced, workspace) -> None:
    workspace_id, _ = synced
    creatives = [e for e in workspace_entities(workspace_id) if e.level == CREATIVE]
    assert creatives and all(e.id is not None for e in creatives)
    assert not [e for e in workspace_entities(workspace.id) if e.level == CREATIVE] or (
        workspace.id == workspace_id
    )


def test_a_creative_question_is_answered_one_row_per_creative(synced) -> None:
    workspace_id, _ = synced
    answer = ask(workspace_id, "roas by creative from nov 9 to nov 15", today=date(2026, 11, 20))
    assert answer.status == "answer", answer.answer
    assert answer.result is not None
    assert {"creative_id", "creative"} <= set(answer.result.frame.columns)
    named = [e.name for e in workspace_entities(workspace_id) if e.level == CREATIVE]
    shown = set(answer.result.frame["creative"].dropna())
    assert shown and shown <= {*named, "(no creative)"}


def test_a_fatigue_question_answers_with_the_verdicts(synced) -> None:
    workspace_id, _ = synced
    answer = ask(workspace_id, "which creatives are fatiguing?", today=date(2026, 11, 20))
    assert answer.status == "answer", answer.answer
    # twelve days of data: no creative has a whole week after its launch week to judge by
    assert "**No creative is fatigued**" in answer.answer
    assert "without enough impressions to judge" in answer.answer
