"""A sound card for machines without one: the same SoundDevice interface as PortAudioDevice.

Capture replays a caller timeline in real time (20 ms frames from a thread, as
PortAudio's callback would); playback consumes queued prompt audio at the same
pace. It notes when the caller's speech really began and when playback was
stopped, so a test can measure barge-in latency.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import numpy as np


class FakeSoundDevice:
    def __init__(self, rate: int, caller: np.ndarray, speak_after_first_prompt_s: float) -> None:
        self.rate = rate
        self.caller = caller.astype(np.int16)
        self.speak_after = speak_after_first_prompt_s
        self.frame = rate // 50
        self._out = np.zeros(0, np.int16)
        self._lock = threading.Lock()
        self._pos = 0  # samples captured so far
        self._first_play: int | None = None
        self.speech_onset: int | None = None  # sample index where the caller starts talking
        self.stopped_at: int | None = None
        self.played_samples = 0
        self._running = False

    def start(self, on_input: Callable[[np.ndarray], None]) -> None:
        self._running = True

        def run() -> None:
            t0 = time.monotonic()
            while self._running:
                with self._lock:
                    frame = np.zeros(self.frame, np.int16)
                    if self.speech_onset is not None:
                        i = self._pos - self.speech_onset
                        if 0 <= i < self.caller.size:
                            chunk = self.caller[i : i + self.frame]
                            frame[: chunk.size] = chunk
                    n = min(self.frame, self._out.size)
                    self._out = self._out[n:]
                    self.played_samples += n
                    self._pos += self.frame
                    if (
                        self._first_play is not None
                        and self.speech_onset is None
                        and self._pos - self._first_play >= self.speak_after * self.rate
                    ):
                        self.speech_onset = self._pos
                on_input(frame)
                delay = t0 + self._pos / self.rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)

        threading.Thread(target=run, daemon=True).start()

    def play(self, samples: np.ndarray) -> None:
        with self._lock:
            if self._first_play is None:
                self._first_play = self._pos
            self._out = np.concatenate([self._out, samples.astype(np.int16)])

    def stop_playback(self) -> None:
        with self._lock:
            if self._out.size and self.stopped_at is None:
                self.stopped_at = self._pos
            self._out = np.zeros(0, np.int16)

    @property
    def playing(self) -> bool:
        with self._lock:
            return self._out.size > 0

    def close(self) -> None:
        self._running = False
