"""SSML prompts in a call (issue 16 item 4): the synthesiser gets the markup, the text channel
and the call log get plain text, typed values are read back in the prompt's language, and a
caller's words filled into a prompt stay words (escaped), never markup."""

from __future__ import annotations

import json
from datetime import datetime

from callwright.flows.loader import loads
from callwright.ivr.clock import FakeClock
from callwright.ivr.engine import FlowEngine
from callwright.ivr.events import Say, Speech

OPEN = datetime.fromisoformat("2026-11-23T10:00:00-05:00")

FLOW = """\
flow: ssml
languages: [en, es]
start: dob
settings: {on_failure: bye}
states:
  dob:
    type: ask
    collect: date
    date: {max: today}
    into: dob
    prompt: 'Your date of birth, <break time="300ms"/> <prosody rate="slow">please</prosody>.'
    confirm:
      when: always
      prompt:
        en: 'I heard <say-as interpret-as="date">{dob}</say-as>. <break time="200ms"/> Right?'
        es: 'Entendí <say-as interpret-as="date">{dob}</say-as>. ¿Correcto?'
    next: name
  name:
    type: ask
    collect: speech
    into: name
    prompt: "Your name?"
    next: bye
  bye:
    type: hangup
    prompt: 'Thanks {name}, code <say-as interpret-as="digits">4321</say-as>, born {dob:date}.'
"""


def _call(language: str = "en"):
    res = loads(FLOW, "ssml.yaml")
    assert res.flow is not None and not res.errors
    session = FlowEngine(res.flow).start_call(FakeClock(OPEN), language=language)
    return session, [a for a in session.start() if isinstance(a, Say)]


def test_the_synthesiser_gets_markup_and_the_log_plain_text() -> None:
    session, says = _call()
    first = says[0]
    assert (
        first.ssml
        == '<speak>Your date of birth, <break time="300ms"/> <prosody rate="slow">please</prosody>.</speak>'
    )
    assert first.text == "Your date of birth, please."
    confirm = [a for a in session.handle(Speech("March fifth nineteen eighty")) if isinstance(a, Say)]
    assert confirm[0].text == "I heard March 5, 1980. Right?"
    assert confirm[0].ssml == '<speak>I heard March 5, 1980. <break time="200ms"/> Right?</speak>'
    session.handle(Speech("yes"))
    bye = [
        a
        for a in session.handle(Speech('Bob <break time="9s"/> & <prosody volume="+20dB">Co'))
        if isinstance(a, Say)
    ]
    assert (
        bye[0].text
        == 'Thanks Bob <break time="9s"/> & <prosody volume="+20dB">Co, code 4 3 2 1, born March 5, 1980.'
    )
    assert bye[0].ssml is not None
    assert (
        '<break time="9s"' not in bye[0].ssml
        and "&lt;break time=&quot;9s&quot;/&gt; &amp; &lt;prosody" in bye[0].ssml
    )
    logged = [e.data["text"] for e in session.events if e.kind == "prompt"]
    assert "Your date of birth, please." in logged
    assert not any("<speak>" in t or '<break time="300ms"' in t or "<say-as" in t for t in logged)
    assert session.vars["dob"] == "1980-03-05"


def test_read_back_follows_the_prompt_language() -> None:
    session, _ = _call("es")
    confirm = [
        a for a in session.handle(Speech("cinco de marzo de mil novecientos ochenta")) if isinstance(a, Say)
    ]
    assert confirm[0].text == "Entendí 5 de marzo de 1980. ¿Correcto?"


def test_a_sensitive_value_in_an_ssml_prompt_is_masked_in_the_log() -> None:
    res = loads(FLOW.replace("    into: dob\n", "    into: dob\n    sensitive: true\n"), "ssml.yaml")
    assert res.flow is not None
    session = FlowEngine(res.flow).start_call(FakeClock(OPEN))
    session.start()
    session.handle(Speech("March fifth nineteen eighty"))
    logged = json.dumps([e.data for e in session.events])
    assert "1980" not in logged and "March 5" not in logged
