"""What the pipeline tells a recogniser follows the recogniser's capabilities, never its name.

The engine here records what it was asked and answers with fixed segments: these tests are about
the pipeline's wiring, not about recognition (real engines: tests/asr, and the sample calls)."""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace

import numpy as np
import pytest

from callwright.qa.pipeline import transcribe_tracks
from callwright.speech.asr.base import (
    NO_OPTIONS,
    Capabilities,
    Recognition,
    Recognizer,
    RecognizerStream,
    TranscribeOptions,
    Word,
)
from callwright.speech.audio import Audio

SEGMENT = Recognition(
    "hello there", 0.9, [Word("hello", 1.1, 1.4, 0.8), Word("there", 1.5, 1.9, 0.7)], True, 1.0, 2.0
)


class Recording(Recognizer):
    name = "whisper"  # a name that once meant "pass context and speech": the capabilities decide

    def __init__(self, caps: Capabilities) -> None:
        self.capabilities = caps
        self.asked: dict[int, TranscribeOptions] = {}

    def open(self, sample_rate: int, phrases: Sequence[str] | None = None) -> RecognizerStream:
        raise NotImplementedError

    def transcribe(self, audio: Audio, options: TranscribeOptions = NO_OPTIONS) -> list[Recognition]:
        self.asked[audio.n_samples] = options
        return [SEGMENT]


def caps(**flags: bool) -> Capabilities:
    return Capabilities(False, False, flags.pop("word_timestamps", True), False, (16000,), **flags)


CALL = SimpleNamespace(
    tracks={"agent": Audio(np.zeros(8000, np.int16), 8000), "customer": Audio(np.zeros(8001, np.int16), 8000)}
)
CONTEXT = {"agent": ["thank you for calling"], "customer": ["my account"]}
SPEECH = {"agent": [(0.1, 0.5)], "customer": [(0.2, 0.9), (1.0, 2.0)]}


def test_context_and_speech_go_only_to_an_engine_that_uses_them() -> None:
    plain = Recording(caps())
    transcribe_tracks(CALL, plain, CONTEXT, SPEECH)
    assert plain.asked == {8000: NO_OPTIONS, 8001: NO_OPTIONS}

    able = Recording(caps(priming=True, speech_regions=True))
    transcribe_tracks(CALL, able, CONTEXT, SPEECH)
    assert able.asked[8000] == TranscribeOptions(("thank you for calling",), ((0.1, 0.5),))
    assert able.asked[8001] == TranscribeOptions(("my account",), ((0.2, 0.9), (1.0, 2.0)))

    primed_only = Recording(caps(priming=True))
    transcribe_tracks(CALL, primed_only, CONTEXT, SPEECH)
    assert primed_only.asked[8000] == TranscribeOptions(("thank you for calling",))


def test_word_times_are_the_engines_own_or_spread_over_the_segment() -> None:
    timed = transcribe_tracks(CALL, Recording(caps()), CONTEXT, SPEECH)["agent"][0]
    assert [(w.word, w.start, w.end) for w in timed.words] == [("hello", 1.1, 1.4), ("there", 1.5, 1.9)]
    spread = transcribe_tracks(CALL, Recording(caps(word_timestamps=False)), CONTEXT, SPEECH)["agent"][0]
    assert [(w.word, w.start, w.end) for w in spread.words] == [("hello", 1.0, 1.5), ("there", 1.5, 2.0)]
    assert (spread.start, spread.end) == (1.0, 2.0)


def test_options_refuse_a_region_that_ends_before_it_starts() -> None:
    with pytest.raises(ValueError, match=r"\(2.0, 1.0\)"):
        TranscribeOptions.of(speech=[(2.0, 1.0)])
    with pytest.raises(ValueError, match="negative"):
        TranscribeOptions(speech_pad_s=-0.1)
