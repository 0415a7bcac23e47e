"""Asking for a person in the caller's own words reaches the operator command (issue 16 item 2).

Why: the inbound sample's operator command lists agent / operator / representative / "a
person", but callers say "get me a human" or "can I speak to someone"; on a menu that routes
by example those were asked again. The built-in phrasings must take the whole utterance
(never a request that merely mentions someone: "I need someone to fix my line" is support),
in the call's language.
"""

from __future__ import annotations

import pytest

from callwright.flows.loader import loads
from callwright.flows.model import Ask
from callwright.ivr import interpret
from callwright.ivr.person import asks_for_person


@pytest.mark.parametrize(
    "text",
    [
        "get me a human",
        "I want to talk to a real person",
        "can I speak to someone",
        "um yeah can I just talk to somebody",
        "is there a live person I can talk to",
        "transfer me to an agent please",
        "connect me with a customer service representative",
        "I need to speak with a supervisor",
        "human",
        "I'd rather speak to an actual human",
    ],
)
def test_requests_for_a_person(text: str) -> None:
    assert asks_for_person(text, "en")


@pytest.mark.parametrize(
    "text",
    [
        "I need someone to fix my equipment",  # support, not a person
        "talk to someone about my bill",  # the menu routes it by meaning
        "I want to add a person to my plan",
        "someone charged my card twice",
        "I want to file a complaint about an employee",
        "customer service",
        "I need help",
        "",
    ],
)
def test_mentions_of_someone_are_not_requests_for_a_person(text: str) -> None:
    assert not asks_for_person(text, "en")


def test_spanish_requests_in_a_spanish_call_only() -> None:
    assert asks_for_person("páseme con alguien por favor", "es")
    assert asks_for_person("necesito hablar con un representante", "es-MX")
    assert asks_for_person("get me a human", "es")  # a Spanish caller is understood in English too
    assert not asks_for_person("páseme con alguien", "en")
    assert not asks_for_person("quiero hablar con alguien sobre mi factura", "es")


OPERATOR_BY_KEYS_ONLY = """
flow: k
start: menu
settings:
  global_commands:
    operator: {dtmf: "0", next: bye}
states:
  menu:
    type: ask
    collect: menu
    prompt: "Billing or sales?"
    choices:
      - {id: billing, dtmf: "1", speech: [billing], next: bye}
    on_failure: bye
  bye: {type: hangup}
"""


def test_an_operator_command_without_speech_does_not_hear_requests_for_a_person() -> None:
    res = loads(OPERATOR_BY_KEYS_ONLY, "k.yaml")
    assert res.flow is not None and not res.errors, res.problems
    st = res.flow.states["menu"]
    assert isinstance(st, Ask)
    got = interpret.speech("get me a human", 1.0, interpret.Rules.of(st))
    assert got == interpret.NoMatch("no choice matched")
