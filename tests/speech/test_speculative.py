"""Speculative decoding bookkeeping: the tentative endpoint (endpointer) and the stream that
decodes at it (`SpeculativeStream`), with a stand-in engine that reads back what it was given."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from callwright.speech.asr.base import Recognition, RecognizerStream, as_int16
from callwright.speech.asr.speculative import (
    SPECULATION_THREADS,
    SpeculativeStream,
    speculation_pool,
)
from callwright.speech.vad import (
    Endpointer,
    EndpointParams,
    SpeechEnded,
    SpeechPaused,
    SpeechResumed,
    SpeechStarted,
)

RATE = 8000
FRAME = RATE // 50  # 20 ms


class EchoStream(RecognizerStream):
    """A stand-in engine that decodes in finish(): its "text" is the audio it holds, so a
    test can tell exactly which samples were decoded; counts decodes and resets."""

    def __init__(self, chunks: list[np.ndarray] | None = None, delay_s: float = 0.0) -> None:
        self.sample_rate = RATE
        self.chunks = list(chunks or [])
        self.delay_s = delay_s
        self.decodes = 0
        self.resets = 0
        self.phrases: list[str] | None = None

    def accept(self, pcm16: bytes | np.ndarray) -> Recognition | None:
        self.chunks.append(np.array(as_int16(pcm16), copy=True))
        return None

    def set_phrases(self, phrases: Sequence[str] | None) -> None:
        self.phrases = list(phrases) if phrases else None

    def finish(self) -> Recognition:
        time.sleep(self.delay_s)
        self.decodes += 1
        audio = np.concatenate(self.chunks) if self.chunks else np.zeros(0, np.int16)
        self.chunks = []
        return Recognition(" ".join(str(int(v)) for v in audio[::FRAME]), 1.0)

    def reset(self) -> None:
        self.resets += 1
        self.chunks = []

    def fork(self) -> EchoStream:
        twin = EchoStream(self.chunks, self.delay_s)
        self.twins = [*getattr(self, "twins", []), twin]
        return twin


def frame(value: int) -> np.ndarray:
    return np.full(FRAME, value, np.int16)


def test_kept_speculation_decodes_the_audio_up_to_the_pause_and_nothing_twice():
    inner = EchoStream()
    s = SpeculativeStream(inner)
    for v in (1, 2, 3):
        s.accept(frame(v))
    assert s.pause() and s.speculating
    for _ in range(5):  # the silence until the endpoint: held back
        s.accept(frame(0))
    result = s.finish()
    assert result.text == "1 2 3"  # what the audio up to the pause decodes to
    assert EchoStream([frame(1), frame(2), frame(3)]).finish().text == result.text  # same audio, same text
    assert (s.kept, s.discarded) == (1, 0)
    assert inner.decodes == 0 and inner.resets == 1  # the engine's own copy is dropped, never decoded
    assert not s.speculating
    s.accept(frame(7))  # the next utterance starts clean
    assert s.finish().text == "7"


def test_resumed_speech_discards_the_speculation_and_keeps_every_frame():
    inner = EchoStream()
    s = SpeculativeStream(inner)
    s.accept(frame(1))
    s.pause()
    s.accept(frame(0))  # a short pause inside the answer...
    s.resume()  # ...and the caller goes on
    assert not s.speculating
    s.accept(frame(2))
    s.pause()
    s.accept(frame(0))
    assert s.finish().text == "1 0 2"  # nothing lost; the decoded audio ends at the last pause
    assert (s.kept, s.discarded) == (1, 1)


def test_no_pause_or_no_speculation_is_the_engine_itself():
    for speculate in (True, False):
        inner = EchoStream()
        s = SpeculativeStream(inner, speculate=speculate)
        s.accept(frame(4))
        if not speculate:
            assert s.pause() is False
            s.accept(frame(0))
        assert s.finish().text == ("4" if speculate else "4 0")
        assert inner.decodes == 1 and s.kept == 0


def test_a_stream_that_cannot_fork_is_not_speculated_on():
    class NoFork(EchoStream):
        def fork(self) -> None:  # type: ignore[override]
            return None

    s = SpeculativeStream(NoFork())
    s.accept(frame(5))
    assert s.pause() is False
    s.accept(frame(0))
    assert s.finish().text == "5 0"


def test_reset_mid_speculation_drops_it():
    inner = EchoStream()
    s = SpeculativeStream(inner)
    s.accept(frame(1))
    s.pause()
    s.accept(frame(0))
    s.reset()
    assert (s.speculating, s.discarded, inner.chunks) == (False, 1, [])
    s.accept(frame(3))
    assert s.finish().text == "3"


def test_a_speculation_still_queued_at_the_endpoint_is_decoded_at_once_not_waited_for():
    pool = ThreadPoolExecutor(1)
    gate = threading.Event()
    pool.submit(gate.wait, 10)  # the only worker is busy (other calls' decodes)
    try:
        s = SpeculativeStream(EchoStream(), pool=pool)
        s.accept(frame(6))
        s.pause()
        t0 = time.perf_counter()
        assert s.finish().text == "6"
        assert time.perf_counter() - t0 < 5  # did not wait for the busy worker
    finally:
        gate.set()
        pool.shutdown()


def test_speculation_uses_a_bounded_pool_of_threads():
    def count() -> int:
        return sum(t.name.startswith("callwright-speculate") for t in threading.enumerate())

    speculation_pool()
    for i in range(40):
        s = SpeculativeStream(EchoStream(delay_s=0.001))
        s.accept(frame(i))
        s.pause()
        if i % 2:
            s.resume()
        s.finish()
    assert count() <= SPECULATION_THREADS


class ScriptedVad:
    """The endpointer's frame classifier replaced by a script of decisions (pure bookkeeping)."""

    def __init__(self, decisions: str) -> None:
        self.decisions = iter(decisions)
        self.frame_len = FRAME
        self.params = Endpointer(RATE).vad.params

    def is_speech(self, frame: np.ndarray) -> bool:
        return next(self.decisions) == "x"


def endpoint_events(decisions: str, params: EndpointParams) -> list[object]:
    ep = Endpointer(RATE, params)
    ep.vad = ScriptedVad(decisions)  # type: ignore[assignment]
    out: list[object] = []
    for i in range(len(decisions)):
        out += ep.feed(np.zeros(FRAME, np.int16), i * 0.02)
    return out


PARAMS = EndpointParams(no_input_timeout_s=None, end_of_speech_s=0.7, tentative_s=0.25)


def test_tentative_endpoint_pauses_then_ends():
    # 10 voiced frames (0.2 s), then silence: paused at 0.25 s of it, ended at 0.7 s
    events = endpoint_events("x" * 10 + "." * 40, PARAMS)
    kinds = [type(e) for e in events]
    assert kinds == [SpeechStarted, SpeechPaused, SpeechEnded]
    paused, ended = events[1], events[2]
    assert isinstance(paused, SpeechPaused) and isinstance(ended, SpeechEnded)
    assert paused.t_end_of_speech == ended.t_end_of_speech == pytest.approx(0.2)
    assert paused.t_decided == pytest.approx(0.46)  # the first 20 ms frame past 0.25 s
    assert ended.t_decided == pytest.approx(0.9)


def test_speech_after_a_pause_resumes_and_pauses_again():
    # 0.3 s of silence inside the answer (a pause, not an end), then more speech
    events = endpoint_events("x" * 10 + "." * 15 + "x" * 10 + "." * 40, PARAMS)
    kinds = [type(e) for e in events]
    assert kinds == [SpeechStarted, SpeechPaused, SpeechResumed, SpeechPaused, SpeechEnded]
    assert events[2].t == pytest.approx(0.5)  # type: ignore[attr-defined]


def test_no_tentative_endpoint_unless_asked_and_no_pause_before_it():
    plain = EndpointParams(no_input_timeout_s=None, end_of_speech_s=0.7)
    assert [type(e) for e in endpoint_events("x" * 10 + "." * 40, plain)] == [SpeechStarted, SpeechEnded]
    # a 0.2 s gap is shorter than the tentative 0.25 s: no event at all
    events = endpoint_events("x" * 10 + "." * 10 + "x" * 5, PARAMS)
    assert [type(e) for e in events] == [SpeechStarted]


def test_tentative_must_be_positive():
    with pytest.raises(ValueError, match="tentative_s"):
        EndpointParams(tentative_s=0)
