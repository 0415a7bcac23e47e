"""Answering-machine detection: a small pure detector on the first seconds of an answered call.

The rule is the one telephone systems have used for decades (Asterisk's AMD is the same
idea): a person answers with a short word ("Hello?") and waits; a machine plays a long
greeting, often ending in a beep. So, on 20 ms frames of what the far end sends:

- a beep (a steady pure tone, 300-3000 Hz, at least `BEEP_MIN_S`) at any time: `machine`;
- speech longer than `MACHINE_GREETING_S` before a pause of `HUMAN_PAUSE_S`: `machine`;
- a shorter first utterance followed by that pause: `human`;
- no speech at all within `INITIAL_SILENCE_S`: `unknown` (a person who waits silently, or a
  line that sends silence: the flow decides);
- still undecided at `MAX_ANALYSIS_S`: `machine` if there was speech, else `unknown`.

After a `machine` verdict the dialer keeps feeding the detector until `message_cue` is set (the
beep, or `GREETING_END_SILENCE_S` of silence after the greeting, at most `MAX_BEEP_WAIT_S`),
so the flow's message starts after the tone and is recorded whole. The verdict reaches the
flow as the start variable `answered_by` (`human` / `machine` / `unknown`), its reason as
`amd_reason`; a flow branches on it (`answered_by == 'machine'`) to leave its message.

Pure: numpy in, a `Verdict` out; no clock (time is counted in samples), no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

RATE = 8000
FRAME = 160  # 20 ms
SPEECH_RMS = 400.0
"""A frame louder than this (int16 RMS, about -38 dBFS) is sound; telephone speech is far above,
line noise and comfort noise below."""
INITIAL_SILENCE_S = 2.5
MACHINE_GREETING_S = 2.0
HUMAN_PAUSE_S = 0.8
MAX_ANALYSIS_S = 5.0
GREETING_END_SILENCE_S = 1.2
MAX_BEEP_WAIT_S = 20.0
"""The longest the dialer waits after a `machine` verdict for the beep (or the greeting's end)."""
BEEP_MIN_S = 0.2
BEEP_PURITY = 0.7
"""Share of a frame's energy within +-2 FFT bins (+-100 Hz at 20 ms) of its peak for a tone."""
BEEP_BAND = (300.0, 3000.0)
GAP_BRIDGE_S = 0.3
"""Pauses this short inside an utterance do not end it (breaths between words)."""

AnsweredBy = Literal["human", "machine", "unknown"]


@dataclass(frozen=True)
class Verdict:
    answered_by: AnsweredBy
    reason: str  # e.g. "greeting 3.1 s", "beep at 1.4 s", "no speech in 2.5 s"
    at_s: float  # seconds of audio heard when decided
    beep: bool = False


class Detector:
    """Feed 20 ms int16 frames (`feed`); `verdict` is set once decided, `message_cue` once a
    machine's greeting is over (beep or silence) or `MAX_BEEP_WAIT_S` passed."""

    def __init__(self, rate: int = RATE) -> None:
        if rate != RATE:
            raise ValueError(f"the detector runs at {RATE} Hz, not {rate}")
        self.verdict: Verdict | None = None
        self.message_cue: str | None = None
        self._frames = 0
        self._speech_frames = 0  # in the current utterance (gaps bridged)
        self._first_speech: int | None = None
        self._silence_run = 0
        self._tone_run = 0
        self._tone_freq = 0.0
        self._heard_speech = False
        self._verdict_frame = 0
        self._rest = np.zeros(0, np.int16)

    @property
    def seconds(self) -> float:
        return self._frames * FRAME / RATE

    def feed(self, samples: np.ndarray) -> Verdict | None:
        """Any number of samples; returns the verdict once there is one."""
        data = np.concatenate([self._rest, np.asarray(samples, np.int16).ravel()])
        n = data.size // FRAME
        for i in range(n):
            self._frame(data[i * FRAME : (i + 1) * FRAME])
        self._rest = data[n * FRAME :]
        return self.verdict

    def _frame(self, frame: np.ndarray) -> None:
        self._frames += 1
        x = frame.astype(np.float64)
        rms = float(np.sqrt(np.mean(x * x)))
        loud = rms > SPEECH_RMS
        if not loud:
            self._tone_run = 0
        beep = loud and self._is_tone(x)
        if beep and self._tone_run * FRAME / RATE >= BEEP_MIN_S:
            at = self.seconds
            if self.verdict is None:
                self._decide("machine", f"beep at {at:.1f} s", beep=True)
            if self.message_cue is None:
                self.message_cue = f"beep at {at:.1f} s"
            return
        if self.verdict is not None:
            self._after_verdict(loud)
            return
        if loud:
            if self._first_speech is None:
                self._first_speech = self._frames
            self._heard_speech = True
            self._speech_frames += 1 + self._silence_run * (
                self._silence_run * FRAME / RATE <= GAP_BRIDGE_S and self._speech_frames > 0
            )
            self._silence_run = 0
            if self._speech_frames * FRAME / RATE > MACHINE_GREETING_S:
                self._decide("machine", f"greeting over {MACHINE_GREETING_S:g} s")
                return
        else:
            self._silence_run += 1
            pause = self._silence_run * FRAME / RATE
            if self._heard_speech and pause >= HUMAN_PAUSE_S:
                talk = self._speech_frames * FRAME / RATE
                self._decide("human", f"first words {talk:.1f} s, then a pause")
                return
            if not self._heard_speech and self.seconds >= INITIAL_SILENCE_S:
                self._decide("unknown", f"no speech in {INITIAL_SILENCE_S:g} s")
                return
        if self.seconds >= MAX_ANALYSIS_S:
            if self._heard_speech:
                self._decide("machine", f"still talking at {MAX_ANALYSIS_S:g} s")
            else:
                self._decide("unknown", f"no decision in {MAX_ANALYSIS_S:g} s")

    def _after_verdict(self, loud: bool) -> None:
        if self.message_cue is not None or self.verdict is None or self.verdict.answered_by != "machine":
            return
        self._silence_run = 0 if loud else self._silence_run + 1
        if self._silence_run * FRAME / RATE >= GREETING_END_SILENCE_S:
            self.message_cue = f"greeting ended at {self.seconds - GREETING_END_SILENCE_S:.1f} s"
        elif (self._frames - self._verdict_frame) * FRAME / RATE >= MAX_BEEP_WAIT_S:
            self.message_cue = f"no beep in {MAX_BEEP_WAIT_S:g} s"

    def _decide(self, who: AnsweredBy, reason: str, *, beep: bool = False) -> None:
        self.verdict = Verdict(who, reason, round(self.seconds, 2), beep)
        self._verdict_frame = self._frames
        self._silence_run = 0
        if who != "machine":
            self.message_cue = "not a machine"

    def _is_tone(self, x: np.ndarray) -> bool:
        spec = np.abs(np.fft.rfft(x * np.hanning(x.size))) ** 2
        total = float(spec.sum())
        if total <= 0:
            self._tone_run = 0
            return False
        k = int(np.argmax(spec))
        freq = k * RATE / x.size
        purity = float(spec[max(k - 2, 0) : k + 3].sum()) / total
        tone = BEEP_BAND[0] <= freq <= BEEP_BAND[1] and purity >= BEEP_PURITY
        if tone and (self._tone_run == 0 or abs(freq - self._tone_freq) <= 2 * RATE / x.size):
            self._tone_run += 1
            self._tone_freq = freq
        else:
            self._tone_run = 1 if tone else 0
            self._tone_freq = freq
        return tone
