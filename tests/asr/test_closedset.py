"""Closed-set understanding: what a caller says (or an ASR writes) -> the state's answer."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callwright.speech.closedset import (
    Choice,
    ChoiceMatch,
    match_choice,
    normalize,
    parse_digits,
    parse_number,
    parse_yes_no,
)

MENU = (
    Choice("billing", ("billing", "pay my bill")),
    Choice("support", ("technical support", "support")),
    Choice("operator", ("operator", "agent", "representative")),
)

WORDS = "zero one two three four five six seven eight nine".split()


def test_normalize_drops_case_and_punctuation() -> None:
    assert normalize("That's RIGHT!") == ["thats", "right"]
    assert normalize("twenty-three, please.") == ["twenty", "three", "please"]
    assert normalize("4,111") == ["4111"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Billing.", "billing"),
        ("billing", "billing"),
        ("I want billing please", "billing"),
        ("I'd like to pay my bill", "billing"),
        ("Tech support!", "support"),
        ("Can I talk to an agent?", "operator"),
        ("operater", "operator"),  # misspelled by the recogniser
        ("Bill ing", "billing"),  # split word
        ("representitive", "operator"),
    ],
)
def test_match_choice_finds_the_named_choice(text: str, expected: str) -> None:
    match = match_choice(text, MENU)
    assert match is not None and match.id == expected
    assert 0.75 <= match.score <= 1.0


def test_exact_phrase_scores_one_and_contained_scores_less() -> None:
    assert match_choice("Operator", MENU) == ChoiceMatch("operator", 1.0)
    contained = match_choice("operator please", MENU)
    assert contained is not None and 0.9 <= contained.score < 1.0


@pytest.mark.parametrize(
    "text",
    ["I'd like to order a pizza", "hello", "what time is it", "", "   ", "uh"],
)
def test_match_choice_rejects_out_of_set_speech(text: str) -> None:
    assert match_choice(text, MENU) is None


def test_two_named_choices_are_ambiguous() -> None:
    assert match_choice("billing or support", MENU) is None


def test_longer_phrase_wins_over_the_phrase_it_contains() -> None:
    choices = (Choice("balance", ("account balance",)), Choice("account", ("account",)))
    match = match_choice("my account balance please", choices)
    assert match is not None and match.id == "balance"
    match = match_choice("my account please", choices)
    assert match is not None and match.id == "account"


def test_near_tie_between_fuzzy_matches_is_rejected() -> None:
    choices = (Choice("cat", ("cat",)), Choice("hat", ("hat",)))
    # "bat" is equally far from both; even a lenient threshold must not pick one.
    assert match_choice("bat", choices, threshold=0.5) is None
    match = match_choice("cap", choices, threshold=0.5)
    assert match is not None and match.id == "cat"


def test_threshold_controls_rejection() -> None:
    assert match_choice("suport", MENU, threshold=0.99) is None
    match = match_choice("suport", MENU, threshold=0.75)
    assert match is not None and match.id == "support"


def test_numerals_match_number_word_phrases_and_homophones() -> None:
    digits = tuple(Choice(str(i), (w,)) for i, w in enumerate(WORDS))
    assert match_choice("2", digits) == ChoiceMatch("2", 1.0)
    assert match_choice("option 7", digits) == ChoiceMatch("7", pytest.approx(0.95))
    too = match_choice("to", digits)
    assert too is not None and too.id == "2"


def test_choice_without_phrases_matches_its_id() -> None:
    assert match_choice("Sales", (Choice("sales", ()), Choice("support", ()))) == ChoiceMatch("sales", 1.0)


@pytest.mark.parametrize(
    ("text", "digits"),
    [
        ("four one one one", "4111"),
        ("4 1 1 1", "4111"),
        ("4111", "4111"),
        ("4,111", "4111"),
        ("Four, one, one, one.", "4111"),
        ("oh", "0"),
        ("four oh one", "401"),
        ("zero", "0"),
        ("double five", "55"),
        ("one double five", "155"),
        ("triple 2", "222"),
        ("to", "2"),
        ("Too.", "2"),
        ("for", "4"),
        ("won", "1"),
        ("ate", "8"),
        ("niner", "9"),
        ("twenty three", "23"),
        ("eleven", "11"),
        ("1-800-555", "1800555"),
        ("um, it's four one one", "411"),
        ("my pin is 1 2 3 4", "1234"),
    ],
)
def test_parse_digits(text: str, digits: str) -> None:
    assert parse_digits(text) == digits


@pytest.mark.parametrize(
    "text", ["I want to pay for it", "hello", "", "double", "double trouble", "billing", "two cats"]
)
def test_parse_digits_rejects_non_digit_strings(text: str) -> None:
    assert parse_digits(text) is None


@given(st.text(alphabet="0123456789", min_size=1, max_size=16))
def test_any_digit_string_spoken_word_by_word_round_trips(digits: str) -> None:
    assert parse_digits(" ".join(WORDS[int(d)] for d in digits)) == digits
    assert parse_digits(" ".join(digits)) == digits


@pytest.mark.parametrize(
    "text",
    ["yes", "Yeah.", "yep", "that's right", "Correct", "sure", "uh-huh", "of course", "I do",
     "Yes please"],
)  # fmt: skip
def test_parse_yes(text: str) -> None:
    assert parse_yes_no(text) is True


@pytest.mark.parametrize(
    "text",
    ["no", "Nope.", "nah", "wrong", "that's not right", "that is not correct", "isn't right",
     "No thanks"],
)  # fmt: skip
def test_parse_no(text: str) -> None:
    assert parse_yes_no(text) is False


@pytest.mark.parametrize("text", ["I don't know", "not sure", "yes no", "billing", "", "maybe"])
def test_parse_yes_no_unclear(text: str) -> None:
    assert parse_yes_no(text) is None


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("twenty three", 23),
        ("Twenty-three.", 23),
        ("23", 23),
        ("a hundred and five", 105),
        ("five", 5),
        ("zero", 0),
        ("one thousand two hundred", 1200),
        ("1,200", 1200),
        ("nineteen hundred", 1900),
        ("two million three hundred thousand and one", 2_300_001),
        ("twenty for", 24),
    ],
)
def test_parse_number(text: str, number: int) -> None:
    assert parse_number(text) == number


@pytest.mark.parametrize(
    "text", ["five five", "twenty eleven", "and", "a", "two hundred hundred", "hello", "", "2.5"]
)
def test_parse_number_rejects_non_numbers(text: str) -> None:
    assert parse_number(text) is None


def _spell(n: int) -> str:
    """English cardinal for 0..999,999, written independently of the parser."""
    teens = WORDS + "ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
    tens = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()

    def under_thousand(k: int) -> list[str]:
        out: list[str] = []
        if k >= 100:
            out += [teens[k // 100], "hundred"]
            k %= 100
            if k:
                out.append("and")
        if k >= 20:
            out.append(tens[k // 10])
            if k % 10:
                out.append(teens[k % 10])
        elif k:
            out.append(teens[k])
        return out

    if n == 0:
        return "zero"
    words = under_thousand(n // 1000) + ["thousand"] if n >= 1000 else []
    return " ".join(words + under_thousand(n % 1000))


@given(st.integers(min_value=0, max_value=999_999))
def test_spelled_numbers_round_trip(n: int) -> None:
    assert parse_number(_spell(n)) == n
    assert parse_number(str(n)) == n
