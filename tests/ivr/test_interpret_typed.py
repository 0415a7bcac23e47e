"""Typed values in ivr/interpret.py: how a caller's speech or keys in a date, time, phone,
currency or alphanumeric state become a captured value (a variable's text) or a no-match."""

from __future__ import annotations

from datetime import date

import pytest

from callwright.flows.model import Answer, GlobalCommand, ValueOptions
from callwright.ivr import interpret
from callwright.ivr.interpret import Captured, Collecting, Command, NoMatch, Rules

TODAY = date(2026, 12, 3)
OPERATOR = GlobalCommand("operator", "0", ("agent",), "agent", ())
STAR_HELP = GlobalCommand("help", "*", ("help",), None, ())


def rules(collect: str, options: ValueOptions | None = None, terminator: str = "#") -> Rules:
    answer = Answer(collect, value=options or ValueOptions(), terminator=terminator)  # type: ignore[arg-type]
    return Rules(answer, commands=(OPERATOR, STAR_HELP))


DOB = rules("date", ValueOptions(min="1900-01-01", max="today"))


@pytest.mark.parametrize(
    ("text", "language", "rules_", "expected"),
    [
        ("March fifth nineteen eighty", "en", DOB, Captured("1980-03-05", 0.9)),
        ("cinco de marzo de mil novecientos ochenta", "es", DOB, Captured("1980-03-05", 0.9)),
        ("February thirtieth nineteen eighty", "en", DOB, NoMatch("1980-02-30 is not a calendar date")),
        ("March fifth twenty fifty", "en", DOB, NoMatch("2050-03-05 is after 2026-12-03")),
        ("three thirty pm", "en", rules("time"), Captured("15:30", 0.9)),
        (
            "five five five one two three four five six seven",
            "en",
            rules("phone", ValueOptions(country="1")),
            Captured("+15551234567", 0.9),
        ),
        ("twelve dollars and fifty cents", "en", rules("currency"), Captured("12.50", 0.9)),
        ("alpha bravo one", "en", rules("alphanumeric"), Captured("AB1", 0.9)),
        ("banana", "en", rules("time"), NoMatch("not a time of day")),
    ],
)
def test_typed_speech(text: str, language: str, rules_: Rules, expected: interpret.Interpretation) -> None:
    assert interpret.speech(text, 0.9, rules_, "collect", language, TODAY) == expected


def test_the_operator_still_wins_in_a_typed_state() -> None:
    assert interpret.speech("agent", 0.9, DOB, "collect", "en", TODAY) == Command("operator")


def _press(keys: str, r: Rules, language: str = "en") -> list[interpret.Interpretation]:
    buffer, out = "", []
    for k in keys:
        step = interpret.key(k, buffer, r, "collect", language, TODAY)
        buffer = step.buffer
        out.append(step.result)
    return out


def test_a_date_ends_at_its_eighth_key() -> None:
    results = _press("03051980", DOB)
    assert results[:-1] == [Collecting()] * 7
    assert results[-1] == Captured("1980-03-05")


def test_spanish_keys_are_day_first() -> None:
    assert _press("05031980", DOB, "es")[-1] == Captured("1980-03-05")


def test_a_time_ends_at_its_fourth_key_or_the_terminator() -> None:
    assert _press("1530", rules("time"))[-1] == Captured("15:30")
    assert _press("930#", rules("time"))[-1] == Captured("09:30")


def test_in_a_currency_state_star_is_the_decimal_point_not_a_command() -> None:
    r = rules("currency")
    assert _press("*", r) == [Collecting()]
    assert _press("12*50#", r)[-1] == Captured("12.50")
    assert interpret.key("*", "", rules("time"), "collect", "en", TODAY).result == Command("help")


def test_a_zero_is_a_figure_in_a_typed_state() -> None:
    assert interpret.key("0", "", DOB, "collect", "en", TODAY).result == Collecting()


def test_a_phone_number_ends_at_the_terminator_or_fifteen_keys() -> None:
    assert _press("5551234567#", rules("phone", ValueOptions(country="1")))[-1] == Captured("+15551234567")
    assert _press("1" * 15, rules("phone"))[-1] == Captured("1" * 15)
    assert _press("123#", rules("phone"))[-1] == NoMatch("3 digits; a phone number here has 7-15")


def test_the_inter_digit_timeout_finishes_a_typed_entry() -> None:
    assert interpret.finish_digits("0305198", DOB, "en", TODAY) == NoMatch("7 keys; a date is 8 (MMDDYYYY)")
    assert interpret.finish_digits("", DOB, "en", TODAY) == NoMatch("no digits before the terminator")


def test_max_keys_per_kind() -> None:
    assert interpret.max_keys(DOB.answer) == 8
    assert interpret.max_keys(rules("time").answer) == 4
    assert interpret.max_keys(rules("phone").answer) == 15
    assert interpret.max_keys(rules("alphanumeric", ValueOptions(max_length=6)).answer) == 6
