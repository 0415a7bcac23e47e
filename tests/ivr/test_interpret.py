"""Table tests for ivr/interpret.py: one row per rule of what caller input means.

Each row is an input (an utterance with its confidence, a key with the keys buffered before
it, or a finished key entry), what the state accepts (`Rules`: collect, choices, digit and
range limits, confidence floor, global commands) and the phase, and the expected result.
The matching is the real closed-set understanding (speech.closedset), not a stub; the
rows use plain words whose reading is not in doubt.
"""

from __future__ import annotations

from dataclasses import replace
from typing import get_args

import pytest

from callwright.flows.model import Answer, Choice, GlobalCommand
from callwright.ivr import interpret
from callwright.ivr.interpret import (
    Captured,
    Chosen,
    Collecting,
    Command,
    ConfirmAnswer,
    KeyStep,
    NoInput,
    NoMatch,
    Rules,
)


def _choice(id_: str, dtmf: str | None, *speech: str) -> Choice:
    return Choice(id_, dtmf, tuple(speech), f"after-{id_}", (), ())


BILLING = _choice("billing", "1", "billing", "pay my bill")
SALES = _choice("sales", "2", "sales")
STATUS = _choice("status", "12", "order status")  # "1" is a prefix of its keys
SPOKEN_ONLY = _choice("hours", None, "opening hours")
CHOICES = (BILLING, SALES, STATUS, SPOKEN_ONLY)

OPERATOR = GlobalCommand("operator", "0", ("agent", "operator"), "agent", ())
HELP = GlobalCommand("help", "*", ("help",), None, ())
REPEAT = GlobalCommand("repeat", "9", ("repeat that",), None, ())
NOWHERE = GlobalCommand("operator", "*", ("agent",), None, ())  # an operator with no `next`
COMMANDS = (OPERATOR, HELP, REPEAT)

MENU = Rules(Answer("menu", CHOICES), commands=COMMANDS)
YESNO = Rules(Answer("yesno"), commands=COMMANDS)
DIGITS = Rules(Answer("digits", digits_min=4, digits_max=6), commands=COMMANDS)
NUMBER = Rules(Answer("number", range_min=1, range_max=50), commands=COMMANDS)
CSAT = Rules(Answer("number", range_min=1, range_max=5))
NPS = Rules(Answer("number", range_min=0, range_max=10))
FREE = Rules(Answer("speech"), commands=COMMANDS)
STAR_ENDS = replace(DIGITS, answer=replace(DIGITS.answer, terminator="*"))
NO_TERMINATOR = replace(DIGITS, answer=replace(DIGITS.answer, terminator=""))


# --- speech --------------------------------------------------------------------------------

SPEECH = [
    # (id, text, confidence, rules, phase, expected)
    ("empty utterance is no input", "", 1.0, MENU, "collect", NoInput()),
    ("empty beats keypad-only", "", 1.0, replace(MENU, mode="dtmf"), "collect", NoInput()),
    (
        "speech in a keypad-only state",
        "billing",
        1.0,
        replace(MENU, mode="dtmf"),
        "collect",
        NoMatch("speech in a keypad-only state"),
    ),
    ("menu phrase", "billing", 0.9, MENU, "collect", Chosen(BILLING, 0.9)),
    ("menu phrase in a sentence", "i want to pay my bill please", 0.8, MENU, "collect", Chosen(BILLING, 0.8)),
    ("menu choice without keys by speech", "opening hours", 1.0, MENU, "collect", Chosen(SPOKEN_ONLY)),
    ("menu: nothing matches", "the weather", 1.0, MENU, "collect", NoMatch("no choice matched")),
    (
        "confidence below the floor",
        "billing",
        0.3,
        MENU,
        "collect",
        NoMatch("confidence 0.30 under 0.40"),
    ),
    ("confidence at the floor is accepted", "billing", 0.4, MENU, "collect", Chosen(BILLING, 0.4)),
    (
        "the state's own floor",
        "billing",
        0.75,
        replace(MENU, accept_confidence=0.8),
        "collect",
        NoMatch("confidence 0.75 under 0.80"),
    ),
    (
        "floor of zero takes anything",
        "sales",
        0.0,
        replace(MENU, accept_confidence=0.0),
        "collect",
        Chosen(SALES, 0.0),
    ),
    ("global command by speech", "agent", 1.0, MENU, "collect", Command("operator")),
    ("global command's second phrase", "operator", 1.0, MENU, "collect", Command("operator")),
    ("help by speech", "help", 1.0, MENU, "collect", Command("help")),
    ("command is heard before the confidence floor", "agent", 0.1, MENU, "collect", Command("operator")),
    ("command inside a longer utterance", "get me an agent", 1.0, MENU, "collect", Command("operator")),
    ("a menu keyword is not a command", "sales", 1.0, MENU, "collect", Chosen(SALES)),
    (
        "commands turned off: the word is just a no match",
        "agent",
        1.0,
        replace(MENU, commands=()),
        "collect",
        NoMatch("no choice matched"),
    ),
    (
        "operator with nowhere to go: logged, then a menu answer",
        "agent",
        1.0,
        replace(MENU, commands=(NOWHERE,)),
        "collect",
        Command("operator", NoMatch("no choice matched")),
    ),
    (
        "operator with nowhere to go in a free-speech state: the words are the answer",
        "agent",
        1.0,
        replace(FREE, commands=(NOWHERE,)),
        "collect",
        Command("operator", Captured("agent")),
    ),
    (
        "operator with nowhere to go, low confidence",
        "agent",
        0.2,
        replace(MENU, commands=(NOWHERE,)),
        "collect",
        Command("operator", NoMatch("confidence 0.20 under 0.40")),
    ),
    ("confirm: yes", "yes", 0.5, MENU, "confirm", ConfirmAnswer(True)),
    ("confirm: yeah sure", "yeah sure", 1.0, DIGITS, "confirm", ConfirmAnswer(True)),
    ("confirm: correct", "correct", 1.0, DIGITS, "confirm", ConfirmAnswer(True)),
    ("confirm: no thanks", "no thanks", 1.0, DIGITS, "confirm", ConfirmAnswer(False)),
    ("confirm: neither", "maybe", 1.0, DIGITS, "confirm", ConfirmAnswer(None)),
    ("confirm ignores the confidence floor", "yes", 0.01, DIGITS, "confirm", ConfirmAnswer(True)),
    ("confirm: a command word is not a command", "agent", 1.0, MENU, "confirm", ConfirmAnswer(None)),
    (
        "confirm in a keypad-only state",
        "yes",
        1.0,
        replace(DIGITS, mode="dtmf"),
        "confirm",
        NoMatch("speech in a keypad-only state"),
    ),
    ("yes/no: yes", "yes", 0.9, YESNO, "collect", Captured(True, 0.9)),
    ("yes/no: nope", "nope", 1.0, YESNO, "collect", Captured(False)),
    ("yes/no: neither", "maybe", 1.0, YESNO, "collect", NoMatch("not a yes or no")),
    ("digits spoken one by one", "four one one one", 1.0, DIGITS, "collect", Captured("4111")),
    ("digits as figures", "123456", 1.0, DIGITS, "collect", Captured("123456")),
    ("too few digits", "four one one", 1.0, DIGITS, "collect", NoMatch("not 4-6 digits")),
    ("too many digits", "1234567", 1.0, DIGITS, "collect", NoMatch("not 4-6 digits")),
    ("no digits at all", "hello there", 1.0, DIGITS, "collect", NoMatch("not 4-6 digits")),
    ("number in words", "twenty three", 1.0, NUMBER, "collect", Captured(23)),
    ("number at the top of the range", "fifty", 1.0, NUMBER, "collect", Captured(50)),
    ("number over the range", "seventy", 1.0, NUMBER, "collect", NoMatch("not a number in range")),
    ("number under the range", "zero", 1.0, NUMBER, "collect", NoMatch("not a number in range")),
    ("not a number", "lots", 1.0, NUMBER, "collect", NoMatch("not a number in range")),
    ("nps ten", "ten", 1.0, NPS, "collect", Captured(10)),
    (
        "free speech is the words",
        "my card was stolen",
        0.7,
        FREE,
        "collect",
        Captured("my card was stolen", 0.7),
    ),
    ("free speech under the floor", "my card", 0.1, FREE, "collect", NoMatch("confidence 0.10 under 0.40")),
]


@pytest.mark.parametrize(
    ("text", "confidence", "rules", "phase", "expected"), [r[1:] for r in SPEECH], ids=[r[0] for r in SPEECH]
)
def test_speech(text, confidence, rules, phase, expected) -> None:
    assert interpret.speech(text, confidence, rules, phase) == expected


# --- keys --------------------------------------------------------------------------------

KEYS = [
    # (id, key, buffer, rules, phase, expected)
    (
        "key in a speech-only state keeps the buffer",
        "1",
        "",
        replace(MENU, mode="speech"),
        "collect",
        KeyStep(NoMatch("key press in a speech-only state"), ""),
    ),
    ("confirm: 1 is yes", "1", "", DIGITS, "confirm", KeyStep(ConfirmAnswer(True), "")),
    ("confirm: 2 is no", "2", "", DIGITS, "confirm", KeyStep(ConfirmAnswer(False), "")),
    ("confirm: 3 is neither", "3", "", DIGITS, "confirm", KeyStep(ConfirmAnswer(None), "")),
    ("confirm: star is not help", "*", "", MENU, "confirm", KeyStep(ConfirmAnswer(None), "")),
    ("confirm leaves buffered keys alone", "1", "4", MENU, "confirm", KeyStep(ConfirmAnswer(True), "4")),
    ("menu key", "2", "", MENU, "collect", KeyStep(Chosen(SALES), "")),
    ("menu key that starts a longer choice waits", "1", "", MENU, "collect", KeyStep(Collecting(), "1")),
    ("menu two-key choice", "2", "1", MENU, "collect", KeyStep(Chosen(STATUS), "")),
    ("menu: no such key", "5", "", MENU, "collect", KeyStep(NoMatch("no choice for key 5"), "")),
    ("menu: no such key sequence", "3", "1", MENU, "collect", KeyStep(NoMatch("no choice for key 13"), "")),
    ("menu: operator key", "0", "", MENU, "collect", KeyStep(Command("operator"), "")),
    ("menu: help key", "*", "", MENU, "collect", KeyStep(Command("help"), "")),
    ("menu: repeat key", "9", "", MENU, "collect", KeyStep(Command("repeat"), "")),
    (
        "menu: commands turned off",
        "0",
        "",
        replace(MENU, commands=()),
        "collect",
        KeyStep(NoMatch("no choice for key 0"), ""),
    ),
    (
        "menu: operator with nowhere to go",
        "*",
        "",
        replace(MENU, commands=(NOWHERE,)),
        "collect",
        KeyStep(Command("operator", NoMatch("no choice for key *")), ""),
    ),
    ("yes/no: 1", "1", "", YESNO, "collect", KeyStep(Captured(True), "")),
    ("yes/no: 2", "2", "", YESNO, "collect", KeyStep(Captured(False), "")),
    ("yes/no: other key", "5", "", YESNO, "collect", KeyStep(NoMatch("key 5 is not 1 (yes) or 2 (no)"), "")),
    ("yes/no: help key", "*", "", YESNO, "collect", KeyStep(Command("help"), "")),
    (
        "free speech: a key is no answer",
        "5",
        "",
        FREE,
        "collect",
        KeyStep(NoMatch("free speech expected"), ""),
    ),
    ("free speech: operator key", "0", "", FREE, "collect", KeyStep(Command("operator"), "")),
    ("digits: first key", "4", "", DIGITS, "collect", KeyStep(Collecting(), "4")),
    ("digits: more keys", "1", "411", DIGITS, "collect", KeyStep(Collecting(), "4111")),
    (
        "digits: terminator ends the entry",
        "#",
        "4111",
        DIGITS,
        "collect",
        KeyStep(Captured("4111"), "", entered="4111"),
    ),
    (
        "digits: terminator before any digit",
        "#",
        "",
        DIGITS,
        "collect",
        KeyStep(NoMatch("no digits before the terminator"), "", entered=""),
    ),
    (
        "digits: terminator too early",
        "#",
        "41",
        DIGITS,
        "collect",
        KeyStep(NoMatch("2 digits; expected 4-6"), "", entered="41"),
    ),
    (
        "digits: the max ends the entry without a terminator",
        "6",
        "12345",
        DIGITS,
        "collect",
        KeyStep(Captured("123456"), "", entered="123456"),
    ),
    ("digits: 0 is a digit, not the operator", "0", "", DIGITS, "collect", KeyStep(Collecting(), "0")),
    ("digits: 9 is a digit, not repeat", "9", "", DIGITS, "collect", KeyStep(Collecting(), "9")),
    ("digits: star first is help", "*", "", DIGITS, "collect", KeyStep(Command("help"), "")),
    ("digits: star mid-entry is kept as a key", "*", "41", DIGITS, "collect", KeyStep(Collecting(), "41*")),
    (
        "digits: a star in the entry is no match",
        "#",
        "41*1",
        DIGITS,
        "collect",
        KeyStep(NoMatch("4 digits; expected 4-6"), "", entered="41*1"),
    ),
    (
        "digits: star as terminator, # is a key",
        "#",
        "41",
        STAR_ENDS,
        "collect",
        KeyStep(Collecting(), "41#"),
    ),
    (
        "digits: star as terminator ends the entry",
        "*",
        "4111",
        STAR_ENDS,
        "collect",
        KeyStep(Captured("4111"), "", entered="4111"),
    ),
    (
        "digits: no terminator at all",
        "#",
        "41",
        NO_TERMINATOR,
        "collect",
        KeyStep(Collecting(), "41#"),
    ),
    (
        "digits: operator with nowhere to go, then the key is data",
        "*",
        "",
        replace(DIGITS, commands=(NOWHERE,)),
        "collect",
        KeyStep(Command("operator", Collecting()), "*"),
    ),
    (
        "digits: # is never a command",
        "#",
        "",
        replace(NO_TERMINATOR, commands=(GlobalCommand("operator", "#", (), None, ()),)),
        "collect",
        KeyStep(Collecting(), "#"),
    ),
    ("csat: one key is enough", "3", "", CSAT, "collect", KeyStep(Captured(3), "", entered="3")),
    ("csat: out of range", "7", "", CSAT, "collect", KeyStep(NoMatch("7 is out of range"), "", entered="7")),
    ("nps: 1 may start 10", "1", "", NPS, "collect", KeyStep(Collecting(), "1")),
    ("nps: 10", "0", "1", NPS, "collect", KeyStep(Captured(10), "", entered="10")),
    (
        "nps: 11 is out of range",
        "1",
        "1",
        NPS,
        "collect",
        KeyStep(NoMatch("11 is out of range"), "", entered="11"),
    ),
    ("nps: terminator after one key", "#", "7", NPS, "collect", KeyStep(Captured(7), "", entered="7")),
    (
        "number without a range: two keys",
        "2",
        "4",
        Rules(Answer("number")),
        "collect",
        KeyStep(Captured(42), "", entered="42"),
    ),
]


@pytest.mark.parametrize(
    ("pressed", "buffer", "rules", "phase", "expected"), [r[1:] for r in KEYS], ids=[r[0] for r in KEYS]
)
def test_key(pressed, buffer, rules, phase, expected) -> None:
    assert interpret.key(pressed, buffer, rules, phase) == expected


# --- a key entry that ended on the inter-digit timeout ---------------------------------------

FINISHED = [
    # (id, entered, rules, expected)
    ("menu: a key that was waiting for a longer choice", "1", MENU, Chosen(BILLING)),
    ("menu: two keys", "12", MENU, Chosen(STATUS)),
    ("menu: no such keys", "13", MENU, NoMatch("no choice for keys 13")),
    ("menu: operator keys", "0", MENU, Command("operator")),
    ("digits", "4111", DIGITS, Captured("4111")),
    ("digits: too few", "411", DIGITS, NoMatch("3 digits; expected 4-6")),
    ("digits: nothing", "", DIGITS, NoMatch("no digits before the terminator")),
    ("number in range", "42", NUMBER, Captured(42)),
    ("number out of range", "0", NUMBER, NoMatch("0 is out of range")),
    ("number with a star", "4*", NUMBER, NoMatch("4* is out of range")),
]


@pytest.mark.parametrize(
    ("entered", "rules", "expected"), [r[1:] for r in FINISHED], ids=[r[0] for r in FINISHED]
)
def test_finish_digits(entered, rules, expected) -> None:
    assert interpret.finish_digits(entered, rules) == expected


def test_every_result_kind_has_a_row() -> None:
    """A result type added to the union without a row here is untested."""

    def kinds(result):
        yield type(result)
        if isinstance(result, Command) and result.otherwise is not None:
            yield from kinds(result.otherwise)

    seen = set()
    for row in SPEECH + FINISHED:
        seen |= set(kinds(row[-1]))
    for row in KEYS:
        seen |= set(kinds(row[-1].result))
    assert seen == set(get_args(interpret.Interpretation))


def test_max_keys_of_a_number_follows_the_range() -> None:
    assert [r.answer.max_keys for r in (CSAT, NPS, NUMBER, Rules(Answer("number")))] == [1, 2, 2, 2]
    assert DIGITS.answer.max_keys == 6
