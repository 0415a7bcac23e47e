"""`callwright serve` loads every speech model its flows name before the first call
(issue 17, item 5): a caller never waits for a model to load, and a model that cannot be
had stops the server at start, not a call in the middle. No engine is loaded here: the
recogniser port is a holder that records what it is asked."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from callwright.errors import CallwrightError
from callwright.server import CallServer
from callwright.server.routing import build_routes
from callwright.speech.asr.base import Capabilities, Heard, Recognition, Recognizer, Recognizers

FLOW = """\
flow: models
model: tiny.en
start: a
states:
  a: {type: ask, collect: speech, prompt: Why, into: r, next: b, on_failure: bye}
  b: {type: ask, collect: speech, prompt: Again, model: vosk-ko, into: s, next: bye, on_failure: bye}
  bye: {type: hangup}
"""


class _Engine(Recognizer):
    name = "fake"
    capabilities = Capabilities(False, False, False, False, (8000,))

    def open(self, sample_rate, phrases=None):
        raise AssertionError("no call is made here")

    def transcribe(self, audio, options=None):
        return [Recognition("", 0.0)]


class _Asked(Recognizers):
    def __init__(self) -> None:
        self.asked: list[str | None] = []

    def get(self, model=None, language=None):
        self.asked.append(model)
        return Heard(_Engine(), model or "default")


def _server(tmp_path: Path, recognizer: Recognizer | Recognizers) -> CallServer:
    flow = tmp_path / "models.yaml"
    flow.write_text(textwrap.dedent(FLOW))
    return CallServer(
        build_routes([flow], []),
        db_path=tmp_path / "calls.db",
        recordings=tmp_path / "rec",
        recognizer=recognizer,
        prompts=lambda name: None,  # type: ignore[arg-type,return-value]
        max_calls=1,
    )


def test_the_server_loads_the_models_its_flows_name_before_any_call(tmp_path):
    asked = _Asked()
    server = _server(tmp_path, asked)
    try:
        assert asked.asked == ["tiny.en", "vosk-ko"]
    finally:
        server.shutdown(grace_s=0)


def test_a_server_with_one_recogniser_refuses_a_flow_that_names_another_model_at_start(tmp_path):
    with pytest.raises(CallwrightError, match="the flow asks for model 'tiny.en'"):
        _server(tmp_path, _Engine())
