"""The validation boundary: text, amounts, ids and dates as people and platforms give them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from metricx import validation
from metricx.errors import InvalidInputError

BAD_TEXT = [
    ("Acme\x00", "NUL"),
    ("Acme\ud800", "lone surrogate"),
    ("Acme\x1b[31m", "control character"),
    ("Acme\nInc", "control character"),  # a name is one line
    ("Ac\x85me", "control character"),  # C1 controls too
]


@pytest.mark.parametrize(("value", "words"), BAD_TEXT)
def test_a_name_with_nul_surrogates_or_controls_is_refused_naming_the_field(value, words):
    with pytest.raises(InvalidInputError) as caught:
        validation.name(value, "the workspace name")
    assert str(caught.value).startswith("the workspace name contains") and words in str(
        caught.value
    )


@pytest.mark.parametrize(("value", "words"), BAD_TEXT)
def test_an_email_with_nul_surrogates_or_controls_is_refused(value, words):
    # (users.add_user checks addresses through validation.email)
    with pytest.raises(InvalidInputError, match="the email address contains"):
        validation.email(value.replace("Acme", "kim@acme.test"))


def test_text_of_several_lines_keeps_tabs_and_line_breaks_but_no_other_control():
    assert (
        validation.plain_text(" spend\tlast week\r\nby day ", "the question", 100, lines=True)
        == "spend\tlast week\r\nby day"
    )
    with pytest.raises(InvalidInputError, match="NUL"):
        validation.plain_text("spend\x00", "the question", 100, lines=True)


def test_whitespace_around_a_name_is_trimmed_not_refused():
    assert validation.name(" Acme Inc\t\n", "the workspace name") == "Acme Inc"


def test_text_must_be_text_and_not_too_long():
    with pytest.raises(InvalidInputError, match="must be text, got 42"):
        validation.plain_text(42, "the filter", 10)
    with pytest.raises(InvalidInputError, match="longer than 10 characters"):
        validation.plain_text("x" * 11, "the filter", 10)


@pytest.mark.parametrize("password", ["a long\x00password", "a long password\ud800"])
def test_a_password_bcrypt_could_not_hash_whole_is_refused(password):
    # (bcrypt stops at a NUL; a lone surrogate has no bytes)
    with pytest.raises(InvalidInputError, match="cannot contain NUL"):
        validation.password(password)


def test_platform_text_is_made_storable_not_refused():
    assert validation.storable_text("Black\x00 Friday\ud800!", 400) == "Black Friday\ufffd!"
    assert validation.storable_text("x" * 500, 400) == "x" * 400


@pytest.mark.parametrize(("value", "expected"), [("42", 42), (" 7 ", 7), (2**63 - 1, 2**63 - 1)])
def test_an_id_within_a_bigint_is_kept(value, expected):
    assert validation.record_id(value, "the id") == expected


@pytest.mark.parametrize(
    ("value", "maximum", "words"),
    [
        ("9223372036854775808", validation.MAX_BIGINT, "between 1 and 9,223,372,036,854,775,807"),
        ("1" * 5000, validation.MAX_BIGINT, "between 1 and"),
        ("2147483648", validation.MAX_INT, "between 1 and 2,147,483,647"),
        ("0", validation.MAX_BIGINT, "between 1 and"),
        ("1e3", validation.MAX_BIGINT, "whole number"),
        ("٣", validation.MAX_BIGINT, "whole number"),  # a digit, but not one a column reads
        (True, validation.MAX_BIGINT, "whole number"),
    ],
)
def test_an_id_beyond_its_column_is_refused_before_the_database(value, maximum, words):
    with pytest.raises(InvalidInputError) as caught:
        validation.record_id(value, "the connection id", maximum)
    assert words in str(caught.value) and len(str(caught.value)) < 200


@pytest.mark.parametrize(
    "day", [date(1, 1, 1), date(1999, 12, 31), date(2101, 1, 1), date(9999, 12, 31)]
)
def test_a_date_outside_2000_to_2100_is_refused_naming_the_bounds(day):
    with pytest.raises(InvalidInputError, match="use a date from 2000-01-01 to 2100-12-31"):
        validation.calendar_day(day, "the start date")


@pytest.mark.parametrize("typed", ["NaN", "-Infinity", "1e30", "\x00", "1" * 5000])
def test_an_amount_that_is_no_amount_is_refused_in_a_short_message(typed):
    with pytest.raises(InvalidInputError) as caught:
        validation.non_negative_number(typed, "the amount")
    assert len(str(caught.value)) < 150


def test_an_amount_finer_than_its_column_is_rounded_as_the_column_would():
    # 1e-999999 is a number PostgreSQL cannot read at all
    assert validation.non_negative_number("1e-999999", "the fee") == 0
    assert validation.non_negative_number("0.0000015", "the fee") == Decimal("0.000002")
    assert str(validation.non_negative_number("5", "the fee")) == "5"  # left as typed


def test_a_message_quotes_at_most_a_few_words_of_what_was_given():
    assert validation.quoted("x" * 5000).endswith("…") and len(validation.quoted("x" * 5000)) == 60
    assert validation.quoted("a\x00b") == "'a\\x00b'"
    assert "digits" in validation.quoted(10**5000)  # no repr exists for it
