"""Speculative decoding on a real audio line with the real tiny.en model: what a caller relies on.

A choice decoded at the tentative endpoint still routes the call; speech that resumes after a
pause is not cut there (the speculation is thrown away and the whole answer is heard); and a
kept speculation reads exactly what the engine reads from the same audio decoded at the end.
No test here asserts what Whisper reads from synthetic audio.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np
import pytest

from callwright.flows.loader import load_flow
from callwright.ivr.channels.audio import AudioLine, ScriptedAudioChannel, Turn
from callwright.ivr.clock import FakeClock
from callwright.ivr.engine import FlowEngine
from callwright.ivr.events import Listen, Speech
from callwright.ivr.runner import run_call
from callwright.speech.asr.base import (
    NO_OPTIONS,
    Recognition,
    Recognizer,
    RecognizerStream,
    TranscribeOptions,
)
from callwright.speech.audio import Audio, concat, silence, trim_silence, write_wav
from callwright.speech.degrade import telephone
from callwright.speech.tts import PromptAudio, default_synthesizer
from tests.conftest import FLOWS

RATE = 8000
OPEN = datetime.fromisoformat("2026-11-23T10:00:00-05:00")
PAUSE_S = 0.5  # inside an answer: the VAD sees about 0.8 s, past the tentative endpoint (0.25 s), short of the end (1.5 s)


@pytest.fixture(scope="module")
def whisper():
    from callwright.speech.asr import get_recognizer

    return get_recognizer("whisper")


@pytest.fixture(scope="module")
def synth():
    return default_synthesizer()


class Recording(RecognizerStream):
    """The real engine's stream, keeping the audio each fork was made of (for the test)."""

    def __init__(self, inner: RecognizerStream) -> None:
        self.inner, self.sample_rate = inner, inner.sample_rate
        self.audio: list[np.ndarray] = []
        self.forked: list[np.ndarray] = []

    def accept(self, pcm16):  # type: ignore[no-untyped-def]
        self.audio.append(np.asarray(pcm16, np.int16).copy())
        return self.inner.accept(pcm16)

    def set_phrases(self, phrases: Sequence[str] | None) -> None:
        self.inner.set_phrases(phrases)

    def finish(self) -> Recognition:
        self.audio = []
        return self.inner.finish()

    def reset(self) -> None:
        self.audio = []
        self.inner.reset()

    def fork(self) -> RecognizerStream | None:
        self.forked.append(np.concatenate(self.audio))
        return self.inner.fork()


class RecordingRecognizer(Recognizer):
    def __init__(self, inner: Recognizer) -> None:
        self.inner, self.name, self.capabilities = inner, inner.name, inner.capabilities
        self.streams: list[Recording] = []

    def open(self, sample_rate: int, phrases: Sequence[str] | None = None) -> RecognizerStream:
        self.streams.append(Recording(self.inner.open(sample_rate, phrases)))
        return self.streams[-1]

    def transcribe(self, audio: Audio, options: TranscribeOptions = NO_OPTIONS) -> list[Recognition]:
        return self.inner.transcribe(audio, options)


def test_choices_decoded_at_the_tentative_endpoint_route_the_call(whisper, synth, tmp_path):
    engine = FlowEngine(load_flow(FLOWS / "inbound.yaml"))
    turns = []
    for i, text in enumerate(["English", "billing", "four one one one", "yes"]):
        wav = tmp_path / f"{i}.wav"
        write_wav(wav, telephone(synth.synthesize(text, voice="en-us", sample_rate=16000), snr_db=25, seed=i))
        turns.append(Turn("wav", wav))
    line = AudioLine(RATE, whisper, PromptAudio(synth, RATE))
    assert line.speculate  # Whisper's streams fork and decode in finish()
    clock = FakeClock(OPEN)
    channel = ScriptedAudioChannel(turns, line, clock, synthesizer=synth)
    session = run_call(engine, channel, clock)
    speech_turns = [t for t in channel.turns_measured if t.kind == "speech"]
    assert len(speech_turns) == 4
    assert line.stream.kept == 4  # every answer came from its speculation
    assert (session.outcome, session.queue) == ("transferred", "billing"), channel.dialogue


def test_speech_resumed_after_a_pause_discards_the_speculation(whisper, synth):
    recognizer = RecordingRecognizer(whisper)
    line = AudioLine(RATE, recognizer, PromptAudio(synth, RATE))
    listen = Listen(
        "main-menu", "both", "menu", 5.0, 3.0, end_of_speech_s=1.5, max_speech_s=10.0,
        phrases=("billing", "support", "sales"),
    )  # fmt: skip
    line.configure(listen, 0.0)
    first = trim_silence(
        telephone(synth.synthesize("technical", voice="en-us", sample_rate=16000), snr_db=25, seed=1)
    )
    second = trim_silence(
        telephone(synth.synthesize("support", voice="en-us", sample_rate=16000), snr_db=25, seed=2)
    )
    audio = concat([silence(0.5, RATE), first, silence(PAUSE_S, RATE), second, silence(2.0, RATE)])
    assert audio.rate == RATE  # the telephone band
    samples = audio.samples
    heard: list[Speech] = []
    for i in range(0, samples.size - line.frame + 1, line.frame):
        heard += [e for e in line.hear(samples[i : i + line.frame], i / RATE) if isinstance(e, Speech)]
    assert len(heard) == 1  # one answer, not cut at the pause
    stream = line.stream
    assert (stream.kept, stream.discarded) == (1, 1)
    second_starts = 0.5 + first.duration_s + PAUSE_S
    assert heard[0].speech_end is not None and heard[0].speech_end > second_starts
    # the kept speculation reads what the engine reads from the same audio, decoded at the end
    forked = recognizer.streams[0].forked
    assert len(forked) == 2 and forked[1].size > forked[0].size
    plain = whisper.open(RATE, ["billing", "support", "sales"])
    plain.accept(forked[1])
    assert plain.finish().text == heard[0].text
