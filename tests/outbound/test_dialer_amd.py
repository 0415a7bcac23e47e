"""Answering-machine detection on real synthesised speech (espeak-ng) and a real tone: the
detector decides on lengths and tone purity, not on words, so the verdicts do not depend on
the machine's numerics."""

from __future__ import annotations

import numpy as np
import pytest

from callwright.outbound.amd import (
    INITIAL_SILENCE_S,
    MACHINE_GREETING_S,
    MAX_ANALYSIS_S,
    Detector,
)

RATE = 8000


@pytest.fixture(scope="module")
def say(tmp_path_factory):
    from callwright.speech.tts import default_synthesizer

    tts = default_synthesizer(tmp_path_factory.mktemp("tts"))

    def render(text: str) -> np.ndarray:
        return tts.synthesize(text, sample_rate=RATE).samples.astype(np.int16)

    return render


def silence(s: float) -> np.ndarray:
    return np.zeros(int(s * RATE), np.int16)


def tone(s: float, hz: float = 1000.0) -> np.ndarray:
    t = np.arange(int(s * RATE)) / RATE
    return (8000 * np.sin(2 * np.pi * hz * t)).astype(np.int16)


def run(audio: np.ndarray, chunk: int = 160) -> Detector:
    d = Detector()
    for i in range(0, audio.size, chunk):
        d.feed(audio[i : i + chunk])
    return d


def test_a_short_hello_then_waiting_is_a_human(say):
    hello = say("Hello?")
    assert hello.size / RATE < MACHINE_GREETING_S
    d = run(np.concatenate([silence(0.4), hello, silence(2.0)]))
    assert d.verdict is not None and d.verdict.answered_by == "human"
    assert d.message_cue == "not a machine"
    assert d.verdict.at_s < 0.4 + hello.size / RATE + 1.0  # decided soon after the pause


def test_a_long_greeting_and_a_beep_is_a_machine_and_the_cue_is_the_beep(say):
    greeting = say(
        "Hi, you have reached Alex Morgan. I cannot come to the phone right now, "
        "please leave a message after the tone."
    )
    audio = np.concatenate([silence(0.3), greeting, silence(0.4), tone(0.5), silence(1.0)])
    d = Detector()
    verdict_at = cue_at = None
    for i in range(0, audio.size, 160):
        d.feed(audio[i : i + 160])
        if d.verdict is not None and verdict_at is None:
            verdict_at = i / RATE
        if d.message_cue is not None and cue_at is None:
            cue_at = i / RATE
    assert d.verdict is not None and d.verdict.answered_by == "machine"
    assert "greeting" in d.verdict.reason
    assert verdict_at is not None and verdict_at < 0.3 + MACHINE_GREETING_S + 0.5
    beep_at = 0.3 + greeting.size / RATE + 0.4
    assert d.message_cue is not None and d.message_cue.startswith("beep")
    assert cue_at is not None and beep_at < cue_at < beep_at + 0.5


def test_a_beep_alone_is_a_machine():
    d = run(np.concatenate([silence(0.5), tone(0.4, 850), silence(1.0)]))
    assert d.verdict is not None and d.verdict.answered_by == "machine" and d.verdict.beep


def test_silence_is_unknown_after_the_initial_silence():
    d = run(silence(INITIAL_SILENCE_S + 0.1))
    assert d.verdict is not None and d.verdict.answered_by == "unknown"


def test_a_machine_without_a_beep_cues_at_the_end_of_its_greeting(say):
    greeting = say("Thank you for calling. Nobody is available to take your call. Goodbye now.")
    d = run(np.concatenate([greeting, silence(2.0)]))
    assert d.verdict is not None and d.verdict.answered_by == "machine"
    assert d.message_cue is not None and d.message_cue.startswith("greeting ended")


def test_noise_like_talk_that_never_pauses_is_decided_by_the_bound():
    rng = np.random.default_rng(1)
    d = run((rng.standard_normal(int((MAX_ANALYSIS_S + 1) * RATE)) * 3000).astype(np.int16), chunk=333)
    assert d.verdict is not None and d.verdict.answered_by == "machine"
    assert d.verdict.at_s <= MAX_ANALYSIS_S
