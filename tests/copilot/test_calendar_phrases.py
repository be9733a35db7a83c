"""Periods as merchants write them (issue #14, batch 5's causes and their neighbours): "so far
in october", "since the start of august", "l14d", "the week of 6/10", "the first week of
september", holidays. Each reads as the dates a merchant means, or is asked about."""

from __future__ import annotations

from datetime import date

import pytest

from metricx.copilot.offline import OfflineUnderstander
from metricx.copilot.understanding import Conversation, Understanding
from metricx.semantic.query import SemanticQuery

WEDNESDAY = date(2026, 10, 21)


def ask(question: str, today: date) -> Understanding:
    return OfflineUnderstander().understand(question, Conversation(), today)


def answered(question: str, today: date = WEDNESDAY) -> SemanticQuery:
    understanding = ask(question, today)
    assert understanding.status == "answer", understanding.message
    assert understanding.query is not None
    return understanding.query


def dates(query: SemanticQuery) -> tuple[str, str]:
    return str(query.time_range.start), str(query.time_range.end)


@pytest.mark.parametrize(
    ("question", "start", "end"),
    [
        ("profit before ad spend so far in october", "2026-10-01", "2026-10-21"),
        ("aov so far in oct", "2026-10-01", "2026-10-21"),
        ("revenue october-to-date", "2026-10-01", "2026-10-21"),
        ("spend in october to date", "2026-10-01", "2026-10-21"),
        ("orders so far in 2026", "2026-01-01", "2026-10-21"),
        ("spend year so far", "2026-01-01", "2026-10-21"),
        ("roas for the month so far", "2026-10-01", "2026-10-21"),
        ("cpa in the quarter so far", "2026-10-01", "2026-10-21"),
    ],
)
def test_so_far_runs_from_the_period_s_first_day_to_today(
    question: str, start: str, end: str
) -> None:
    assert dates(answered(question)) == (start, end)


def test_so_far_in_a_month_that_is_over_is_that_whole_month() -> None:
    query = answered("revenue so far in january", today=date(2027, 2, 3))
    assert dates(query) == ("2027-01-01", "2027-01-31")


def test_a_split_so_far_this_year_keeps_its_grain() -> None:
    query = answered("spend month by month so far this year")
    assert dates(query) == ("2026-01-01", "2026-10-21")
    assert query.grain == "month" and query.compare_range is None


@pytest.mark.parametrize(
    ("question", "start", "end"),
    [
        ("show me aov every week since the start of august", "2026-08-01", "2026-10-21"),
        ("orders since the beginning of q3", "2026-07-01", "2026-10-21"),
        ("revenue since q2", "2026-04-01", "2026-10-21"),
        ("spend from the start of last month", "2026-09-01", "2026-10-21"),
        ("spend since the beginning of the previous quarter", "2026-07-01", "2026-10-21"),
        ("spend since the start of september 2025", "2025-09-01", "2026-10-21"),
        ("spend since the start of 2025", "2025-01-01", "2026-10-21"),
        # a month not begun this year is last year's
        ("spend since the start of november", "2025-11-01", "2026-10-21"),
        ("spend from the start of august to sep 15", "2026-08-01", "2026-09-15"),
        ("spend since the 1st", "2026-10-01", "2026-10-21"),
        ("spend since the first of the month", "2026-10-01", "2026-10-21"),
        ("spend since the first of august", "2026-08-01", "2026-10-21"),
    ],
)
def test_since_the_start_of_a_named_period_runs_to_today(
    question: str, start: str, end: str
) -> None:
    assert dates(answered(question)) == (start, end)


def test_since_the_start_of_a_month_by_week_is_a_weekly_trend() -> None:
    query = answered("show me aov every week since the start of august", date(2026, 10, 19))
    assert dates(query) == ("2026-08-01", "2026-10-19") and query.grain == "week"


@pytest.mark.parametrize(
    ("question", "start", "end"),
    [
        ("cost per lead l14d", "2026-10-07", "2026-10-20"),
        ("roas L7D", "2026-10-14", "2026-10-20"),
        ("orders l90d", "2026-07-23", "2026-10-20"),
        ("spend last30d", "2026-09-21", "2026-10-20"),
        ("cpa t30d", "2026-09-21", "2026-10-20"),
        ("spend l4w", "2026-09-21", "2026-10-18"),  # whole Monday weeks, as "last 4 weeks"
        ("roas l3m", "2026-07-01", "2026-09-30"),
        ("cpa last 14", "2026-10-07", "2026-10-20"),  # a count without a unit is of days
        ("roas trailing 30", "2026-09-21", "2026-10-20"),
        ("cpa over 30 days", "2026-09-21", "2026-10-20"),
    ],
)
def test_media_buyer_shorthand_for_the_last_n_days(question: str, start: str, end: str) -> None:
    query = answered(question)
    assert dates(query) == (start, end)
    assert query.grain is None


def test_a_number_of_days_alone_is_a_period_not_a_daily_split() -> None:
    assert answered("roas 7d").grain is None
    top_days = answered("top 5 days by spend last month")
    assert top_days.grain == "day" and top_days.limit == 5
    assert dates(answered("spend 3 days ago")) == ("2026-10-18", "2026-10-18")


@pytest.mark.parametrize(
    ("question", "today", "start", "end"),
    [
        # "last N weeks" is N whole Monday weeks, like "last week" (docs/design.md)
        ("weekly roas for the last 8 weeks", date(2026, 7, 7), "2026-05-11", "2026-07-05"),
        ("cpc by day lst 2 weeks", date(2026, 6, 24), "2026-06-08", "2026-06-21"),
        ("revenue in the last 3 full weeks", WEDNESDAY, "2026-09-28", "2026-10-18"),
        ("revenue last complete month", WEDNESDAY, "2026-09-01", "2026-09-30"),
    ],
)
def test_last_n_weeks_are_whole_monday_weeks(
    question: str, today: date, start: str, end: str
) -> None:
    assert dates(answered(question, today)) == (start, end)


def test_a_slash_date_only_one_reading_of_which_has_come_is_read_and_said() -> None:
    understanding = ask("new customers for the week of 6/10", date(2026, 6, 30))
    assert understanding.query is not None
    assert dates(understanding.query) == ("2026-06-08", "2026-06-14")
    assert "June 10" in understanding.message and "October 6" in understanding.message


def test_a_slash_date_both_readings_of_which_have_come_is_asked_about() -> None:
    assert ask("roas on 6/10", WEDNESDAY).status == "clarify"


@pytest.mark.parametrize(
    ("question", "start", "end"),
    [
        ("spend between 9/1 and 9/15", "2026-09-01", "2026-09-15"),  # 15 fixes month first
        ("spend 9/1-9/15", "2026-09-01", "2026-09-15"),
        ("spend 15/9 to 1/10", "2026-09-15", "2026-10-01"),  # day first
        ("spend the week of 9/21", "2026-09-21", "2026-09-27"),
    ],
)
def test_slash_dates_of_one_question_are_read_in_the_same_order(
    question: str, start: str, end: str
) -> None:
    assert dates(answered(question)) == (start, end)


@pytest.mark.parametrize(
    ("question", "start", "end"),
    [
        ("how much did we spend in the first week of september", "2026-09-01", "2026-09-07"),
        ("roas in the 2nd week of august", "2026-08-08", "2026-08-14"),
        ("orders the last week of june 2025", "2025-06-24", "2025-06-30"),
    ],
)
def test_the_nth_week_of_a_month_counts_days_from_its_first_and_says_so(
    question: str, start: str, end: str
) -> None:
    understanding = ask(question, WEDNESDAY)
    assert understanding.query is not None
    assert dates(understanding.query) == (start, end)
    assert "week of" in understanding.message


@pytest.mark.parametrize(
    ("question", "start", "end"),
    [
        ("spend in the first 10 days of august", "2026-08-01", "2026-08-10"),
        ("orders the last 7 days of june 2025", "2025-06-24", "2025-06-30"),
    ],
)
def test_the_first_or_last_days_of_a_month(question: str, start: str, end: str) -> None:
    assert dates(answered(question)) == (start, end)


@pytest.mark.parametrize(
    ("question", "start", "end", "said"),
    [
        ("cpm in early august", "2026-08-01", "2026-08-10", "Early August"),
        ("cpm mid-july", "2026-07-11", "2026-07-20", "Mid July"),
        ("orders late june 2025", "2025-06-21", "2025-06-30", "Late June"),
        ("spend at the end of september", "2026-09-21", "2026-09-30", "End of September"),
        ("revenue in the first half of the year", "2026-01-01", "2026-06-30", "H1 2026"),
        ("roas for h1", "2026-01-01", "2026-06-30", "H1 2026"),
        ("revenue second half of last year", "2025-07-01", "2025-12-31", "H2 2025"),
    ],
)
def test_parts_of_a_month_or_year_are_read_and_said(
    question: str, start: str, end: str, said: str
) -> None:
    understanding = ask(question, WEDNESDAY)
    assert understanding.query is not None, understanding.message
    assert dates(understanding.query) == (start, end)
    assert said in understanding.message


@pytest.mark.parametrize(
    ("question", "start", "end", "named"),
    [
        ("revenue and orders on labor day", "2026-09-07", "2026-09-07", "Labor Day"),
        ("revenue over memorial day weekend", "2026-05-23", "2026-05-25", "Memorial Day"),
        ("sales on valentine's day", "2026-02-14", "2026-02-14", "Valentine's Day"),
        ("orders mothers day", "2026-05-10", "2026-05-10", "Mother's Day"),
        ("spend on easter", "2026-04-05", "2026-04-05", "Easter"),
        ("revenue on the 4th of july", "2026-07-04", "2026-07-04", "Independence Day"),
        ("aov halloween last year", "2025-10-31", "2025-10-31", "Halloween"),
        ("how much did we sell on christmas day", "2025-12-25", "2025-12-25", "Christmas"),
    ],
)
def test_holidays_are_their_latest_dates_and_the_answer_names_them(
    question: str, start: str, end: str, named: str
) -> None:
    understanding = ask(question, WEDNESDAY)
    assert understanding.query is not None, understanding.message
    assert dates(understanding.query) == (start, end)
    assert named in understanding.message


def test_a_holiday_weekend_whose_days_are_unclear_is_asked_about() -> None:
    assert ask("revenue christmas weekend", WEDNESDAY).status == "clarify"


# --- batch 6's causes and their neighbours ---------------------------------------------------

THURSDAY = date(2026, 9, 24)
SATURDAY = date(2026, 9, 26)


@pytest.mark.parametrize(
    ("question", "today", "start", "end"),
    [
        ("how much did we spend last weekend", THURSDAY, "2026-09-19", "2026-09-20"),
        ("spend over the weekend", THURSDAY, "2026-09-19", "2026-09-20"),
        ("this past weekend roas", THURSDAY, "2026-09-19", "2026-09-20"),
        ("cpa the weekend before last", THURSDAY, "2026-09-12", "2026-09-13"),
        ("orders over the weekend", SATURDAY, "2026-09-26", "2026-09-26"),
        ("orders last weekend", SATURDAY, "2026-09-19", "2026-09-20"),
    ],
)
def test_a_weekend_is_saturday_and_sunday_of_the_week_meant(
    question: str, today: date, start: str, end: str
) -> None:
    assert dates(answered(question, today)) == (start, end)


def test_this_weekend_asked_on_a_weekday_is_still_to_come_and_asked_about() -> None:
    assert ask("spend this weekend", THURSDAY).status == "clarify"


@pytest.mark.parametrize(
    ("question", "start", "end"),
    [
        ("show me leads daily for the week before last", "2026-09-07", "2026-09-13"),
        ("roas the month before last", "2026-07-01", "2026-07-31"),
        ("daily cpc from the 3rd to the 9th of this month", "2026-09-03", "2026-09-09"),
        ("roas between the 1st and the 7th of last month", "2026-08-01", "2026-08-07"),
        ("spend the 10th-12th of june", "2026-06-10", "2026-06-12"),
        ("orders on the 3rd of last month", "2026-08-03", "2026-08-03"),
        ("spend from the 3rd to the 9th", "2026-09-03", "2026-09-09"),
        # the 28th has not come this month: the latest month that has had those days
        ("spend from the 20th to the 28th", "2026-08-20", "2026-08-28"),
    ],
)
def test_periods_counted_back_and_days_of_a_month(question: str, start: str, end: str) -> None:
    assert dates(answered(question, THURSDAY)) == (start, end)


def test_a_count_of_rows_of_a_month_is_not_a_day() -> None:
    query = answered("top 3 campaigns of june by spend", THURSDAY)
    assert (query.limit, dates(query)) == (3, ("2026-06-01", "2026-06-30"))


@pytest.mark.parametrize(
    ("question", "compare"),
    [
        ("roas last 7 days vs the same 7 days last year", ("2025-09-17", "2025-09-23")),
        ("orders yesterday vs the same day last year", ("2025-09-23", "2025-09-23")),
        ("cpa last 14 days compared with the same dates last year", ("2025-09-10", "2025-09-23")),
        ("cpm this week so far vs the same days last week", ("2026-09-14", "2026-09-17")),
        ("spend this month vs the same days last month", ("2026-08-01", "2026-08-24")),
        ("mtd roas compared to the same period last month", ("2026-08-01", "2026-08-24")),
    ],
)
def test_the_same_days_of_an_earlier_period_are_those_dates_there(
    question: str, compare: tuple[str, str]
) -> None:
    query = answered(question, THURSDAY)
    assert query.compare_range is not None
    assert (str(query.compare_range.start), str(query.compare_range.end)) == compare


@pytest.mark.parametrize(
    ("question", "period", "compare"),
    [
        (
            "did spend go up from july to august",
            ("2026-08-01", "2026-08-31"),
            ("2026-07-01", "2026-07-31"),
        ),
        (
            "did orders drop from q1 to q2",
            ("2026-04-01", "2026-06-30"),
            ("2026-01-01", "2026-03-31"),
        ),
        (
            "did roas improve from last month to this month",
            ("2026-09-01", "2026-09-24"),
            ("2026-08-01", "2026-08-31"),
        ),
    ],
)
def test_a_change_from_one_period_to_another_compares_the_second_with_the_first(
    question: str, period: tuple[str, str], compare: tuple[str, str]
) -> None:
    query = answered(question, THURSDAY)
    assert query.compare_range is not None
    assert dates(query) == period
    assert (str(query.compare_range.start), str(query.compare_range.end)) == compare


def test_from_one_month_to_another_without_a_change_is_one_range() -> None:
    query = answered("spend from july to august", THURSDAY)
    assert dates(query) == ("2026-07-01", "2026-08-31") and query.compare_range is None


@pytest.mark.parametrize(
    ("question", "compare"),
    [
        ("why did orders fall in q2", ("2026-01-01", "2026-03-31")),
        ("why did cpm jump in july", ("2026-06-01", "2026-06-30")),
    ],
)
def test_why_over_a_whole_named_quarter_or_month_compares_with_the_whole_one_before(
    question: str, compare: tuple[str, str]
) -> None:
    query = answered(question, THURSDAY)
    assert query.compare_range is not None
    assert (str(query.compare_range.start), str(query.compare_range.end)) == compare


def test_how_about_last_year_s_moves_to_last_year_s_own_retail_days() -> None:
    conversation = Conversation()
    understander = OfflineUnderstander()
    today = date(2026, 12, 9)
    for question in ("orders over bfcm", "how about last year's"):
        understanding = understander.understand(question, conversation, today)
        conversation.add(question, understanding)
    assert understanding.query is not None
    assert dates(understanding.query) == ("2025-11-28", "2025-12-01")


def test_last_year_s_monday_week_is_the_one_52_weeks_earlier() -> None:
    conversation = Conversation()
    for question in ("orders last week", "and last year's?"):
        understanding = OfflineUnderstander().understand(question, conversation, THURSDAY)
        conversation.add(question, understanding)
    assert understanding.query is not None
    assert dates(understanding.query) == ("2025-09-15", "2025-09-21")


def test_a_holiday_vs_last_year_s_is_last_year_s_own_holiday() -> None:
    query = answered("orders on thanksgiving vs last year's", date(2026, 12, 9))
    assert query.compare_range is not None
    assert str(query.compare_range.start) == "2025-11-27"


def test_last_year_s_with_a_metric_after_it_is_last_year() -> None:
    query = answered("what was last year's revenue", THURSDAY)
    assert dates(query) == ("2025-01-01", "2025-12-31")


@pytest.mark.parametrize(
    ("question", "start", "end"),
    [
        ("cpa last sat", "2026-09-19", "2026-09-19"),
        ("spend since tues", "2026-09-22", "2026-09-24"),
        ("roas for the weekend of sept 12", "2026-09-12", "2026-09-13"),
        ("orders in the first half of august", "2026-08-01", "2026-08-15"),
        ("orders the second half of last month", "2026-08-16", "2026-08-31"),
    ],
)
def test_short_weekdays_a_weekend_of_a_day_and_half_months(
    question: str, start: str, end: str
) -> None:
    assert dates(answered(question, THURSDAY)) == (start, end)


def test_a_short_weekday_alone_is_a_word_not_a_day() -> None:
    query = answered("the sun campaign spend", THURSDAY)
    assert query.filters.name_contains == "sun" and query.time_range.days == 7


@pytest.mark.parametrize(
    ("question", "start", "end"),
    [
        ("orders on the day before thanksgiving", "2025-11-26", "2025-11-26"),
        ("revenue the week after black friday", "2025-11-29", "2025-12-05"),
        ("spend the day after cyber monday", "2025-12-02", "2025-12-02"),
        ("trailing 12 months spend", "2025-09-01", "2026-08-31"),
        ("ttm revenue by month", "2025-09-01", "2026-08-31"),
    ],
)
def test_days_next_to_a_holiday_and_trailing_periods(question: str, start: str, end: str) -> None:
    assert dates(answered(question, THURSDAY)) == (start, end)


@pytest.mark.parametrize(
    ("question", "compare"),
    [
        ("roas last weekend vs the weekend before", ("2026-09-12", "2026-09-13")),
        ("spend ytd vs last ytd", ("2025-01-01", "2025-09-24")),
        ("revenue ytd vs ytd last year", ("2025-01-01", "2025-09-24")),
    ],
)
def test_the_weekend_before_and_last_year_to_date_are_earlier_days(
    question: str, compare: tuple[str, str]
) -> None:
    query = answered(question, THURSDAY)
    assert query.compare_range is not None
    assert (str(query.compare_range.start), str(query.compare_range.end)) == compare


def test_a_comparison_read_as_the_same_dates_is_asked_about_never_shown_as_no_change() -> None:
    understanding = ask("spend this week vs this week", THURSDAY)
    assert understanding.status == "clarify" and understanding.choices


@pytest.mark.parametrize(
    ("question", "today", "period", "compared"),
    [
        (
            "December revenue compared with December last year",
            date(2027, 1, 8),
            ("2026-12-01", "2026-12-31"),
            ("2025-12-01", "2025-12-31"),
        ),
        (
            "revenue Q4 vs Q4 last year",
            date(2027, 1, 8),
            ("2026-10-01", "2026-12-31"),
            ("2025-10-01", "2025-12-31"),
        ),
        (
            "November vs November last year revenue",
            date(2027, 1, 8),
            ("2026-11-01", "2026-11-30"),
            ("2025-11-01", "2025-11-30"),
        ),
        (
            "revenue this December vs last December",
            date(2027, 1, 8),
            ("2026-12-01", "2026-12-31"),
            ("2025-12-01", "2025-12-31"),
        ),
        (
            "revenue dec vs december last year",
            date(2026, 12, 15),
            ("2026-12-01", "2026-12-31"),
            ("2025-12-01", "2025-12-31"),
        ),
        (  # a December not begun this year: the latest one, against the one before
            "orders december vs december last year",
            WEDNESDAY,
            ("2025-12-01", "2025-12-31"),
            ("2024-12-01", "2024-12-31"),
        ),
    ],
)
def test_a_named_month_against_that_month_last_year_is_the_latest_one_vs_a_year_before(
    question: str, today: date, period: tuple[str, str], compared: tuple[str, str]
) -> None:
    query = answered(question, today)
    assert dates(query) == period
    assert query.compare_range is not None
    assert (str(query.compare_range.start), str(query.compare_range.end)) == compared


def test_a_month_last_year_alone_is_still_that_month_of_the_year_before() -> None:
    assert dates(answered("revenue december last year", date(2026, 12, 15))) == (
        "2025-12-01",
        "2025-12-31",
    )
