"""Barge-in on a live line, timed: a fake `LineDevice` plays in real time and timestamps the
moment the caller's speech (or key) starts and the moment the channel stops the prompt."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import numpy as np
import pytest

from callwright.flows.loader import load_flow
from callwright.ivr.channels.audio import AudioLine
from callwright.ivr.channels.live import MAX_QUEUED_FRAMES, LiveChannel
from callwright.ivr.clock import RealClock
from callwright.ivr.engine import FlowEngine
from callwright.ivr.events import Dtmf, Hangup, Say
from callwright.ivr.runner import run_call
from callwright.speech.audio import resample
from callwright.speech.degrade import telephone
from callwright.speech.dtmf import dtmf_tones
from callwright.speech.tts import PromptAudio
from tests.server.conftest import QUICK

RATE = 8000
FRAME = 160
BARGE_IN_S = 0.2
"""Issue 14: a prompt stops within 200 ms of the caller starting to speak."""
KEY_STOP_S = 0.1
"""An out-of-band key stops the prompt "at once": the queue wakes the call's thread at once
(measured ~1 ms); the bound leaves room for a loaded machine."""


class TimedLine:
    """A `LineDevice` in real time: 20 ms caller frames from a thread, playback consumed at
    the same pace; `act` is called with the time into the first prompt, to speak or press."""

    rate = RATE

    def __init__(self, act: Callable[[TimedLine, float], None]) -> None:
        self.act = act
        self._lock = threading.Lock()
        self._out = np.zeros(0, np.int16)
        self._say = np.zeros(0, np.int16)
        self._onset_frame: int | None = None
        self._frames_said = 0
        self._running = False
        self.first_play: float | None = None
        self.onset: float | None = None  # when the caller's first voiced frame went in
        self.stopped: float | None = None  # when a prompt was stopped while it played
        self.on_event: Callable[[Dtmf | Hangup], None] | None = None

    def start(self, on_input, on_event) -> None:
        self.on_event = on_event
        self._running = True
        threading.Thread(target=self._run, args=(on_input,), daemon=True).start()

    def speak(self, samples: np.ndarray, onset: int = 0) -> None:
        """Send `samples` from the next frame on; the caller starts speaking at sample `onset`
        (found on the clean audio, before the line noise that hides it)."""
        with self._lock:
            self._say = samples.astype(np.int16)
            self._onset_frame = onset // FRAME
            self._frames_said = 0

    def _run(self, on_input) -> None:
        t0, n = time.monotonic(), 0
        while self._running:
            with self._lock:
                frame = np.zeros(FRAME, np.int16)
                take = self._say[:FRAME]
                frame[: take.size] = take
                self._say = self._say[FRAME:]
                self._out = self._out[FRAME:]
                if self._onset_frame is not None and take.size:
                    if self.onset is None and self._frames_said >= self._onset_frame:
                        self.onset = time.monotonic()
                    self._frames_said += 1
            on_input(frame)
            if self.first_play is not None:
                self.act(self, time.monotonic() - self.first_play)
            n += 1
            time.sleep(max(0.0, t0 + n * 0.02 - time.monotonic()))

    def play(self, samples: np.ndarray) -> None:
        with self._lock:
            if self.first_play is None:
                self.first_play = time.monotonic()
            self._out = np.concatenate([self._out, samples.astype(np.int16)])

    def stop_playback(self) -> None:
        with self._lock:
            if self._out.size and self.stopped is None:
                self.stopped = time.monotonic()
            self._out = np.zeros(0, np.int16)

    @property
    def playing(self) -> bool:
        with self._lock:
            return self._out.size > 0

    def close(self) -> None:
        self._running = False


def once(at_s: float, do: Callable[[TimedLine], None]) -> Callable[[TimedLine, float], None]:
    done = []

    def act(line: TimedLine, t: float) -> None:
        if t >= at_s and not done:
            done.append(t)
            do(line)

    return act


@pytest.fixture(scope="module")
def quick_engine():
    return FlowEngine(load_flow(QUICK))


def call(engine, line: TimedLine, synth, recognizer) -> tuple:
    audio = AudioLine(RATE, recognizer, PromptAudio(synth, RATE))
    channel = LiveChannel(audio, line, RealClock(), name="test")
    done: list = []
    worker = threading.Thread(target=lambda: done.append(run_call(engine, channel, RealClock())), daemon=True)
    worker.start()
    worker.join(timeout=60)
    assert done, "the call did not end"
    return done[0], channel


def test_speech_stops_the_prompt_within_200_ms(quick_engine, synth, recognizer):
    clean = resample(synth.synthesize("support", voice="en-us", sample_rate=16000), RATE)
    onset = int(np.argmax(np.abs(clean.samples.astype(int)) > 0.01 * np.abs(clean.samples).max()))
    speech = telephone(clean, snr_db=25, seed=1).samples

    def speak_then_hang_up(line: TimedLine) -> None:
        line.speak(speech, onset)
        threading.Timer(3.0, lambda: line.on_event(Hangup())).start()

    line = TimedLine(once(0.8, speak_then_hang_up))
    session, channel = call(quick_engine, line, synth, recognizer)
    assert line.onset is not None and line.stopped is not None, channel.dialogue
    reaction = line.stopped - line.onset
    assert 0 <= reaction <= BARGE_IN_S, (reaction, channel.dialogue)
    assert channel.barge_ins and channel.barge_ins[0] <= BARGE_IN_S
    assert "  (barge-in: prompt stopped)" in channel.dialogue
    assert session.ended


def test_an_out_of_band_key_stops_the_prompt_at_once(quick_engine, synth, recognizer):
    pressed: list[float] = []

    def press(line: TimedLine) -> None:
        pressed.append(time.monotonic())
        line.on_event(Dtmf("2"))

    line = TimedLine(once(0.8, press))
    session, channel = call(quick_engine, line, synth, recognizer)
    assert line.stopped is not None and line.stopped - pressed[0] <= KEY_STOP_S, channel.dialogue
    assert (session.outcome, session.queue) == ("transferred", "support")


def test_an_in_band_key_stops_the_prompt_once_it_is_heard(quick_engine, synth, recognizer):
    line = TimedLine(once(0.8, lambda ln: ln.speak(dtmf_tones("1", RATE))))
    session, channel = call(quick_engine, line, synth, recognizer)
    assert line.onset is not None and line.stopped is not None
    assert line.stopped - line.onset <= BARGE_IN_S, channel.dialogue
    assert (session.outcome, session.queue) == ("transferred", "sales")
    assert channel.dialogue.count("caller: presses 1") == 1


def test_a_key_reported_in_band_and_out_of_band_counts_once(quick_engine, synth, recognizer):
    def both(line: TimedLine) -> None:
        line.speak(dtmf_tones("1", RATE))
        threading.Timer(0.15, lambda: line.on_event(Dtmf("1"))).start()

    line = TimedLine(once(0.8, both))
    session, channel = call(quick_engine, line, synth, recognizer)
    assert (session.outcome, session.queue) == ("transferred", "sales")
    assert channel.dialogue.count("caller: presses 1") == 1


def test_a_prompt_without_barge_in_plays_out_and_keys_during_it_are_dropped(quick_engine, synth, recognizer):
    line = TimedLine(lambda ln, t: None)
    audio = AudioLine(RATE, recognizer, PromptAudio(synth, RATE))
    channel = LiveChannel(audio, line, RealClock(), name="test")
    session = quick_engine.start_call(RealClock(), channel="test")
    try:
        channel.perform(Say("Please listen to the whole of this message.", "en", "menu", barge_in=False))
        line.on_event(Dtmf("1"))
        session.deadline = time.monotonic() + 0.5  # whatever the prompt's length: the timer decides
        assert channel.receive(session) is None  # the key was dropped; the deadline came
        assert line.stopped is None
        assert "caller: presses 1" not in channel.dialogue
    finally:
        quick_engine.release(session)
        line.close()


class FloodLine(TimedLine):
    """Pushes more frames than the channel holds before the call's thread takes any."""

    def start(self, on_input, on_event) -> None:
        for _ in range(MAX_QUEUED_FRAMES + 100):
            on_input(np.zeros(FRAME, np.int16))
        on_event(Hangup())


def test_a_line_that_outruns_the_call_has_its_extra_frames_dropped_not_queued(synth, recognizer):
    audio = AudioLine(RATE, recognizer, PromptAudio(synth, RATE))
    channel = LiveChannel(audio, FloodLine(lambda ln, t: None), RealClock(), name="test")
    assert channel.frames_dropped == 100
    assert channel.items.qsize() == MAX_QUEUED_FRAMES + 1  # the hang-up still got through


def test_a_prompt_cut_by_barge_in_is_cut_in_the_recording_too():
    from callwright.ivr.channels.live import _cut_track

    second = np.ones(RATE, np.int16)
    pieces = [(0.0, second), (1.0, second), (2.5, second)]  # the third was still queued
    _cut_track(pieces, 1.5, RATE)
    assert [(t, s.size) for t, s in pieces] == [(0.0, RATE), (1.0, RATE // 2)]
