"""Card data written or said the ways the hostile-input pass found leaking (issue 12, personal data):
comma-grouped digits, other digit scripts, invisible separators, a partial read-back, and a
security code the recogniser misheard."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redaction_helpers import leaked_runs

from callwright.qa.model import Transcript, Utterance
from callwright.qa.pipeline import redact_segments, segments_from_transcript, utterances_from_segments
from callwright.redaction import Kind, TimeRange, redact_conversation, redact_text
from callwright.speech.asr.base import Word

CARD = "4111111111111111"

# Zero in each decimal script a person might type a card number in (every Unicode Nd block).
DIGIT_ZEROS = {
    "fullwidth": 0xFF10, "arabic-indic": 0x0660, "extended-arabic-indic": 0x06F0,
    "devanagari": 0x0966, "bengali": 0x09E6, "thai": 0x0E50, "mathematical-bold": 0x1D7CE,
}  # fmt: skip


def in_script(digits: str, zero: int) -> str:
    return "".join(chr(zero + int(d)) if d.isdigit() else d for d in digits)


def ascii_digits(text: str) -> str:
    """The text with every Unicode digit as its ASCII digit, so a leak in any script is seen."""
    return "".join(str(unicodedata.digit(c)) if unicodedata.digit(c, None) is not None else c for c in text)


def leaked(red_text: str, number: str) -> list[str]:
    return leaked_runs(ascii_digits(unicodedata.normalize("NFKC", red_text)), number)


def words(text: str, start: float, step: float = 0.4) -> list[Word]:
    return [Word(w, start + i * step, start + i * step + 0.3, 0.9) for i, w in enumerate(text.split())]


@st.composite
def card_numbers(draw: st.DrawFn) -> str:
    from callwright.redaction import with_luhn_digit

    length = draw(st.integers(13, 19))
    return with_luhn_digit(
        "".join(str(d) for d in draw(st.lists(st.integers(0, 9), min_size=length - 1, max_size=length - 1)))
    )


def thousands(number: str) -> str:
    """Written the way Whisper writes a digit string read aloud: "4,111,111,111,111,111"."""
    head = len(number) % 3 or 3
    return ",".join([number[:head]] + [number[i : i + 3] for i in range(head, len(number), 3)])


# -- comma grouping --------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "4,111,111,111,111,111",
    "my card is 4,111,111,111,111,111 thanks",
    "it's 4,111,111,111,111,111.",
    "pay $4,111,111,111,111,111 now",  # a card-long number after "$" is no amount
])  # fmt: skip
def test_a_comma_grouped_card_number_is_redacted(text):
    red = redact_text(text)
    assert [s.kind for s in red.spans] == [Kind.CARD] and leaked(red.text, CARD) == [], red.text


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(card_numbers(), st.sampled_from(["", "my card number is ", "sure, it's ", "ok "]))
def test_any_card_number_in_thousands_grouping_is_redacted(number, before):
    red = redact_text(f"{before}{thousands(number)} thanks")
    assert leaked(red.text, number) == [], red.text


@pytest.mark.parametrize("text", ["it cost $1,234,567,890.00", "we have 12,345,678 users", "total 1,234.56"])
def test_amounts_and_counts_with_commas_stay(text):
    assert redact_text(text).text == text


# -- other digit scripts and invisible characters ---------------------------------------------------------


@pytest.mark.parametrize("script", list(DIGIT_ZEROS))
def test_a_card_number_in_another_digit_script_is_redacted(script):
    text = "card: " + in_script("4111 1111 1111 1111", DIGIT_ZEROS[script]) + " ok"
    red = redact_text(text)
    assert red.text == "card: [CARD] ok"
    assert text[red.spans[0].start : red.spans[0].end] == in_script(
        "4111 1111 1111 1111", DIGIT_ZEROS[script]
    )


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    card_numbers(),
    st.sampled_from(list(DIGIT_ZEROS.values())),
    st.sampled_from([" ", "-", "", "\u00a0", "\u3000", "\uff0d"]),
)
def test_any_card_number_in_any_digit_script_and_spacing_is_redacted(number, zero, sep):
    said = sep.join(in_script(number[i : i + 4], zero) for i in range(0, len(number), 4))
    red = redact_text(f"here you go {said} thanks")
    assert leaked(red.text, number) == [], red.text


@pytest.mark.parametrize("sep", ["\u200b", "\u200c", "\u2060", "\u00ad", "\u202e", "\ufeff"])
def test_invisible_characters_inside_a_card_number_do_not_hide_it(sep):
    red = redact_text(sep.join(["4111", "1111", "1111", "1111"]))
    assert leaked(red.text, CARD) == [], repr(red.text)


def test_full_width_cues_and_at_signs_are_read():
    assert redact_text("ｓｅｃｕｒｉｔｙ ｃｏｄｅ ７４１").text == "ｓｅｃｕｒｉｔｙ ｃｏｄｅ [CVV]"
    assert redact_text("mail ｊｏｈｎ＠ｅｘａｍｐｌｅ．ｃｏｍ").text == "mail [EMAIL]"


# -- partial read-back -------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "what is your card number? that's 4111 1111, correct?",
    "can I take the long number on the card? ok so 4111 1111 then",
    "visa, that's four one one one one one one one, right?",
])  # fmt: skip
def test_a_partial_card_read_back_after_a_card_cue_is_redacted(text):
    red = redact_text(text)
    assert "[CARD]" in red.text and not re.search(r"\d{4}|one one", red.text), red.text


def test_a_read_back_of_the_first_eight_digits_on_the_other_channel_is_redacted():
    agent = words("what is your card number please", 0.0) + words("that's 4111 1111, correct?", 20.0)
    customer = words("sure", 3.0)
    (a, c), ranges = redact_conversation([agent, customer])
    assert " ".join(w.word for w in a) == "what is your card number please that's [CARD], correct?"
    assert any(r.kind is Kind.CARD and r.start == 20.4 for r in ranges)


def test_a_read_back_in_a_comma_grouped_call_reaches_no_utterance():
    imported = Transcript("c", 40.0, [
        Utterance("agent", 0.0, 3.0, "please read me the long number"),
        Utterance("customer", 4.0, 7.0, "sure it's 4,111,111,111,111,111"),
        Utterance("agent", 30.0, 33.0, "thank you, that's 4111 1111, correct?"),
    ], source="transcript")  # fmt: skip
    segments = segments_from_transcript(imported)
    groups, _ = redact_segments(segments)
    text = " ".join(u.text for u in utterances_from_segments(segments, groups, keep_words=False))
    assert not re.search(r"\d", text), text


def test_a_cued_phone_number_stays_a_phone():
    assert redact_text("card number please. call me on 212 555 0187").text == (
        "card number please. call me on [PHONE]"
    )


# -- a security code the recogniser misheard -----------------------------------------------------------------

# What Whisper tiny.en heard of the card-payment sample on one machine: the agent's cue garbled
# ("code on the Mac"), the customer's "seven four one" (said at 59.45-60.59 s) heard as words.
HEARD_AGENT = words(
    "thank you the card and you can apply a rebate and the pre vigits that you already code on the Mac",
    50.0,
    0.25,
)
HEARD_CUSTOMER = (
    words("okay it's 4532 0151 1283 0366", 43.4, 1.2)
    + words("oh nine twenty seven", 52.0)
    + words("remember for one", 59.54, 0.42)
)
CVV_SAID = (59.45, 60.59)


def covered(ranges: list[TimeRange], a: float, b: float) -> bool:
    """Whether the union of the ranges covers [a, b]."""
    t = a
    for r in sorted(ranges, key=lambda r: r.start):
        if r.start <= t < r.end:
            t = r.end
    return t >= b


def test_the_audio_after_a_card_is_silenced_where_its_security_code_was_said_though_misheard():
    segments = segments_from_transcript(Transcript("c", 80.0, [
        Utterance("agent", 50.0, 55.0, " ".join(w.word for w in HEARD_AGENT), HEARD_AGENT),
        Utterance("customer", 43.4, 60.8, " ".join(w.word for w in HEARD_CUSTOMER), HEARD_CUSTOMER),
    ], source="transcript"))  # fmt: skip
    _, ranges = redact_segments(segments)
    assert covered(ranges, *CVV_SAID)
    assert not covered(ranges, 0.0, 40.0)  # nothing before the payment is lost


def test_a_security_code_cue_silences_the_answer_even_when_no_card_was_heard():
    from callwright.redaction import card_detail_windows  # new in the fix

    agent = words("and the three digit security code on the back?", 56.35, 0.3)
    customer = words("remember for one", 59.54, 0.42)
    windows = card_detail_windows([agent, customer], [])
    assert windows and windows[0].kind is Kind.CVV and not windows[0].transcribed
    assert covered(windows, *CVV_SAID)
    assert card_detail_windows([words("my social security number is", 0.0)], []) == []


@pytest.mark.parametrize("text", [
    "and the three digit security code on the back? seven four one",
    "the cvv is 741",
    "the three digits on the back are seven, four, one",
])  # fmt: skip
def test_a_security_code_after_its_cue_is_redacted_in_text(text):
    red = redact_text(text)
    assert [s.kind for s in red.spans] == [Kind.CVV] and "741" not in ascii_digits(red.text), red.text
    assert not re.search(r"seven|four|one", red.text.split("?")[-1])


def test_an_expiry_after_a_card_cue_keeps_its_kind():
    red = redact_text("my visa expires 09 2027")
    assert red.text == "my visa expires [EXPIRY]" and [s.kind for s in red.spans] == [Kind.EXPIRY]


@pytest.mark.parametrize(
    "text",
    [
        "mail john\u200b@example.com ok",
        "mail j\u200bo\u200bhn@exa\u200bmple.com ok",
        "mail john\ufe6bexample.com ok",
    ],
)
def test_invisible_or_compatibility_characters_do_not_hide_an_email(text):
    assert redact_text(text).text == "mail [EMAIL] ok"
