"""Yes/no, numbers and global commands in the call's language (issue 16 item 3: en + es).

Why: the inbound sample offers Spanish, but a Spanish caller saying "sí" at a confirmation
was not understood. The call's `language` picks how answers are read; English still works
in a Spanish call (callers mix), and Spanish never changes how an English call is read.
"""

from __future__ import annotations

import pytest

from callwright.flows.loader import loads
from callwright.ivr import interpret, languages
from callwright.ivr.clock import FakeClock
from callwright.ivr.engine import FlowEngine
from callwright.ivr.events import Speech


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("sí", "es", True),
        ("si claro", "es", True),
        ("sí, es correcto", "es", True),
        ("por supuesto", "es", True),
        ("no", "es", False),
        ("no es correcto", "es", False),
        ("para nada", "es", False),
        ("no sé", "es", None),
        ("yes", "es", True),  # English in a Spanish call
        ("sí", "en", None),  # Spanish words do not change an English call
        ("no sé", "en", False),  # as before: English reads the "no"
        ("de acuerdo", "es-MX", True),
    ],
)
def test_yes_no(text: str, language: str, expected: bool | None) -> None:
    assert languages.yes_no(text, language) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("treinta y dos", 32),
        ("ciento cinco", 105),
        ("dos mil veinte", 2020),
        ("mil novecientos ochenta", 1980),
        ("veintitrés", 23),
        ("quince", 15),
        ("cien", 100),
        ("42", 42),
        ("treinta y", None),
        ("dos tres", None),
        ("treinta cuarenta", None),
        ("banana", None),
    ],
)
def test_spanish_numbers(text: str, expected: int | None) -> None:
    assert languages.spanish_number(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cuatro uno uno uno", "4111"),
        ("mi número es cinco cero dos", "502"),
        ("cuatro 1 1 uno", "4111"),
        ("veinte", None),
        ("hola", None),
    ],
)
def test_spanish_digits(text: str, expected: str | None) -> None:
    assert languages.spanish_digits(text) == expected


FLOW = """
flow: es
start: count
languages: [en, es]
settings:
  global_commands:
    help: {speech: {en: [help], es: [ayuda]}}
    operator: {speech: {en: [agent], es: [agente, operador]}, next: agent}
states:
  count:
    type: ask
    collect: number
    range: {min: 1, max: 100}
    prompt: {en: "How many?", es: "¿Cuántos?"}
    into: n
    confirm: {when: always}
    next: done
    on_failure: done
  done: {type: hangup, prompt: {en: "Bye", es: "Adiós"}}
  agent: {type: transfer, to: "+15550000", prompt: {en: "Agent", es: "Agente"}}
"""


def _call(language: str, *said: str):
    res = loads(FLOW, "es.yaml")
    assert res.flow is not None and not res.errors, res.problems
    session = FlowEngine(res.flow).start_call(FakeClock(), language=language)
    session.start()
    for text in said:
        session.handle(Speech(text, 0.95))
    return session


def test_a_spanish_call_end_to_end() -> None:
    session = _call("es", "treinta y dos", "sí")
    assert session.vars["n"] == 32 and session.outcome == "self_served"


def test_a_spanish_call_rejects_at_confirmation_then_accepts() -> None:
    session = _call("es", "treinta y dos", "no es correcto", "treinta y tres", "claro")
    assert session.vars["n"] == 33


def test_global_commands_follow_the_call_language() -> None:
    assert _call("es", "agente").outcome == "transferred"
    assert _call("en", "agent").outcome == "transferred"
    helped = _call("es", "ayuda")
    assert [e.data["command"] for e in helped.events if e.kind == "global_command"] == ["help"]
    # the English phrase is not the command in a Spanish call (a no-match), nor the Spanish in English
    for language, word in (("es", "help"), ("en", "ayuda")):
        session = _call(language, word)
        assert not any(e.kind == "global_command" for e in session.events)
        assert any(e.kind == "no_match" for e in session.events)


def test_interpretation_default_language_is_unchanged() -> None:
    res = loads(FLOW, "es.yaml")
    assert res.flow is not None
    rules = interpret.Rules.of(res.flow.states["count"])  # type: ignore[arg-type]
    assert interpret.speech("treinta y dos", 1.0, rules) == interpret.NoMatch("not a number in range")
    assert interpret.speech("treinta y dos", 1.0, rules, language="es") == interpret.Captured(32, 1.0)
