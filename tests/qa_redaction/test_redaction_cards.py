"""Card numbers, CVVs and expiry dates as callers read them out, in recogniser-style text."""

from __future__ import annotations

import pytest
from redaction_helpers import digit_stream, leaked_runs

from callwright.redaction import Kind, luhn_ok, redact_text

VISA = "4111111111111111"
MASTERCARD = "5555555555554444"
AMEX = "378282246310005"
VISA_2 = "4012888888881881"
MC_2 = "5105105105105100"

CARD_SENTENCES = [
    (VISA, "sure my card number is 4111 1111 1111 1111"),
    (VISA, "it's 4111-1111-1111-1111"),
    (VISA, "the long number is 4111111111111111 thanks"),
    (VISA, "yeah it's four one one one one one one one one one one one one one one one"),
    (VISA, "four one one one, one one one one, one one one one, one one one one"),
    (VISA, "okay so um four one one one uh one one one one um one one one one one one one one"),
    (VISA, "four one one one... one one one one... one one one one... one one one one"),
    (VISA, "forty one eleven eleven eleven eleven eleven eleven eleven"),
    (VISA, "four triple one double one double one one one one one one one one one"),
    (VISA, "4111 one one one one 1111 one one one one"),
    (VISA, "its for one one one one one one one one one one one one one one one"),
    (VISA, "four one one one okay one one one one yes one one one one right one one one one"),
    (VISA, "the card is a visa four one one one one one one one one one one one one one one one"),
    (MASTERCARD, "it's a mastercard 5555 5555 5555 4444"),
    (MASTERCARD, "five five five five five five five five five five five five four four four four"),
    (
        MASTERCARD,
        "double five double five double five double five double five double five double four double four",
    ),
    (
        MASTERCARD,
        "fifty five fifty five fifty five fifty five fifty five fifty five forty four forty four",
    ),
    (MASTERCARD, "5555 5555 five five five five four four four four"),
    (AMEX, "amex 3782 822463 10005"),
    (AMEX, "three seven eight two eight two two four six three one zero zero zero five"),
    (AMEX, "three seven eight two, eight two two four six three, one oh oh oh five"),
    (AMEX, "three seven eight two eight two two four six three one triple oh five"),
    (AMEX, "thirty seven eighty two eighty two twenty four sixty three ten double oh five"),
    (VISA_2, "4012 8888 8888 1881"),
    (VISA_2, "four oh one two eight eight eight eight eight eight eight eight one eight eight one"),
    (MC_2, "five one oh five one oh five one oh five one oh five one double oh"),
]


@pytest.mark.parametrize(("card", "sentence"), CARD_SENTENCES)
def test_card_is_redacted_and_no_four_digits_of_it_survive(card: str, sentence: str) -> None:
    red = redact_text(sentence)
    assert "[CARD]" in red.text, red.text
    assert leaked_runs(red.text, card) == [], red.text
    assert any(s.kind is Kind.CARD for s in red.spans)


def test_test_cards_are_luhn_valid_and_a_changed_digit_is_not() -> None:
    for card in (VISA, MASTERCARD, AMEX, VISA_2, MC_2):
        assert luhn_ok(card)
    assert not luhn_ok("4111111111111112")


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        (
            "my card number is 4111 1111 1111 1111 expiry 09/27 and the cvv is 123",
            "my card number is [CARD] expiry [EXPIRY] and the cvv is [CVV]",
        ),
        (
            "four one one one one one one one one one one one one one one one and the expiry "
            "is oh nine twenty seven and the three digits on the back are one two three",
            "[CARD] and the expiry is [EXPIRY] and the three digits on the back are [CVV]",
        ),
        (
            "okay the card is 5555 5555 5555 4444 it expires september twenty seven "
            "security code seven three seven",
            "okay the card is [CARD] it expires [EXPIRY] security code [CVV]",
        ),
        (
            "the card is 5555555555554444 0927 123",
            "the card is [CARD] [EXPIRY] [CVV]",
        ),
        (
            "its three seven eight two eight two two four six three one oh oh oh five "
            "and then twelve twenty six and then four four three two",
            "its [CARD] and then [EXPIRY] and then [CVV]",
        ),
        (
            "and what's the expiration date. it's oh three slash two thousand twenty eight",
            "and what's the expiration date. it's [EXPIRY]",
        ),
        (
            "can you read me the c v v please. yeah it's four five six",
            "can you read me the c v v please. yeah it's [CVV]",
        ),
        (
            "valid thru 11/29 and the cvc is 0421",
            "valid thru [EXPIRY] and the cvc is [CVV]",
        ),
    ],
)
def test_cvv_and_expiry_near_a_card_or_after_a_cue(sentence: str, expected: str) -> None:
    assert redact_text(sentence).text == expected


def test_agent_reading_back_part_of_the_card_is_redacted_too() -> None:
    text = (
        "four one one one one one one one one one one one one one one one. "
        "thank you so that's the card ending one one one one, and it starts four one one one"
    )
    red = redact_text(text)
    assert leaked_runs(red.text, VISA) == [], red.text
    assert red.text.count("[CARD]") == 3


def test_a_card_said_twice_in_one_breath_is_redacted_twice() -> None:
    red = redact_text("it's 4111 1111 1111 1111 4111 1111 1111 1111")
    assert red.text == "it's [CARD] [CARD]"


def test_spans_point_at_the_original_characters() -> None:
    text = "Card: 5555-5555-5555-4444, thanks!"
    red = redact_text(text)
    (span,) = red.spans
    assert text[span.start : span.end] == "5555-5555-5555-4444"
    assert span.replacement == "[CARD]"
    assert red.text == "Card: [CARD], thanks!"


def test_cvv_and_expiry_are_not_taken_without_a_card_or_a_cue() -> None:
    for text in (
        "I have three two one items in the basket",
        "it was september twenty seven when I called",
        "room one two three please",
        "the code for the door is one two three four",
    ):
        assert redact_text(text).text == text


def test_kinds_limits_what_is_replaced_but_cards_are_never_mistaken_for_phones() -> None:
    text = "card 4111 1111 1111 1111 and my phone is 212 555 0187"
    assert redact_text(text, kinds=["phone"]).text == "card 4111 1111 1111 1111 and my phone is [PHONE]"
    assert redact_text(text, kinds={"card"}).text == "card [CARD] and my phone is 212 555 0187"


@pytest.mark.parametrize(
    "sentence",
    [
        # one digit misheard (Luhn fails) or dropped: the cue still marks it as the card
        "my card number is 4111 1111 1111 1112",
        "the long number on the front is four one one one one one one one one one one one one one one",
        "it's a visa, four oh one two, eight eight eight eight, eight eight eight eight, one eight",
    ],
)
def test_a_misheard_card_after_a_card_cue_is_still_redacted(sentence: str) -> None:
    red = redact_text(sentence)
    assert "[CARD]" in red.text, red.text
    assert digit_stream(red.text) == "", red.text  # not one digit of it is left


def test_without_a_card_cue_a_number_failing_luhn_is_no_card() -> None:
    """Not a card (it fails Luhn and has no card cue), but still never in clear: a run of nine
    digits or more is redacted whatever it is (bank.find_bare_numbers)."""
    red = redact_text("my membership number is 4111 1111 1111 1112")
    assert red.text == "my membership number is [ACCOUNT]"
