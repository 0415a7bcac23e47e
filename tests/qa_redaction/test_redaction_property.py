"""Property: any Luhn-valid number, said or written any usual way inside any talk, is redacted."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redaction_helpers import leaked_runs

from callwright.redaction import Kind, luhn_ok, redact_text

UNIT_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
TEEN_WORDS = ["ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
              "seventeen", "eighteen", "nineteen"]  # fmt: skip
TENS_WORDS = {2: "twenty", 3: "thirty", 4: "forty", 5: "fifty", 6: "sixty", 7: "seventy",
              8: "eighty", 9: "ninety"}  # fmt: skip
PAUSES = [" ", " ", " ", ", ", "... ", " um ", " uh ", " - ", ", okay, ", " and "]
# Ordinary call-centre words, including the ones the redactor must not mistake for digits
# ("oh", "for", "to") or for back-channels ("okay", "the").
FILLER = """yes no okay so um uh the card I my it is it's that's sure right thanks please hold on
let me get it here we go ready oh for to a you can your payment account number visa mastercard
long on front read out again sorry what was that got it perfect and then next bit""".split()


def luhn_complete(body: list[int]) -> str:
    """Append the check digit that makes the number Luhn-valid."""
    partial = "".join(map(str, body))
    return next(partial + str(d) for d in range(10) if luhn_ok(partial + str(d)))


@st.composite
def card_numbers(draw: st.DrawFn) -> str:
    length = draw(st.integers(13, 19))
    body = draw(st.lists(st.integers(0, 9), min_size=length - 1, max_size=length - 1))
    return luhn_complete(body)


def _say_digit(draw: st.DrawFn, d: str) -> str:
    if d == "0":
        return draw(st.sampled_from(["zero", "oh", "oh", "o"]))
    return UNIT_WORDS[int(d)]


def _say_chunk(draw: st.DrawFn, chunk: str) -> str:
    """One chunk of digits in one of the ways people say or write them."""
    style = draw(st.sampled_from(["numerals", "digits", "digits", "repeats", "pairs"]))
    if style == "numerals":
        return chunk
    if style == "pairs" and len(chunk) == 2 and chunk[0] != "0" and chunk[1] != "0":
        tens, unit = int(chunk[0]), int(chunk[1])
        return TEEN_WORDS[unit] if tens == 1 else f"{TENS_WORDS[tens]} {UNIT_WORDS[unit]}"
    words: list[str] = []
    i = 0
    while i < len(chunk):
        run = len(chunk[i:]) - len(chunk[i:].lstrip(chunk[i]))
        if style == "repeats" and run >= 2:
            n = 3 if run >= 3 and draw(st.booleans()) else 2
            words.append(("triple " if n == 3 else "double ") + _say_digit(draw, chunk[i]))
            i += n
        else:
            words.append(_say_digit(draw, chunk[i]))
            i += 1
    return " ".join(words)


@st.composite
def spoken(draw: st.DrawFn, number: str) -> str:
    """The number cut into chunks of 1-4 digits, each said its own way, with pauses between."""
    parts: list[str] = []
    i = 0
    while i < len(number):
        size = draw(st.integers(1, 4))
        parts.append(_say_chunk(draw, number[i : i + size]))
        i += size
    out = parts[0]
    for part in parts[1:]:
        out += draw(st.sampled_from(PAUSES)) + part
    return out


@st.composite
def grouped(draw: st.DrawFn, number: str) -> str:
    """Written in groups of four (or as one block), separated by spaces or dashes."""
    sep = draw(st.sampled_from([" ", "-", "", " - "]))
    return sep.join(number[i : i + 4] for i in range(0, len(number), 4))


@st.composite
def in_talk(draw: st.DrawFn) -> tuple[str, str]:
    number = draw(card_numbers())
    said = draw(st.one_of(spoken(number), grouped(number)))
    before = " ".join(draw(st.lists(st.sampled_from(FILLER), max_size=8)))
    after = " ".join(draw(st.lists(st.sampled_from(FILLER), max_size=8)))
    return number, f"{before} {said} {after}".strip()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(in_talk())
def test_every_luhn_valid_number_in_any_form_is_redacted(case: tuple[str, str]) -> None:
    number, text = case
    red = redact_text(text)
    # right after "account" a number is the account's, whatever Luhn says (test_redaction_bank.py)
    kinds = {Kind.CARD, Kind.ACCOUNT} if "account" in text.split() else {Kind.CARD}
    assert any(s.kind in kinds for s in red.spans), red.text
    assert leaked_runs(red.text, number) == [], red.text


@given(card_numbers())
def test_generated_numbers_are_luhn_valid_and_one_changed_digit_is_not(number: str) -> None:
    assert luhn_ok(number)
    last = (int(number[-1]) + 1) % 10
    assert not luhn_ok(number[:-1] + str(last))
