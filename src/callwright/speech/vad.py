"""Voice activity: per-frame decisions, a live endpointer and whole-file speech regions.

The frame decision is WebRTC's VAD (a small GMM, fast and robust on telephone
audio) gated by an energy floor, because WebRTC calls faint hiss "speech" at
low aggressiveness. The `Endpointer` turns frame decisions into the events an
IVR turn needs: speech started (barge-in), speech ended (with both the real end
of speech and the moment we decided, which the latency benchmark separates) and
no input; optionally also a tentative endpoint (speech paused, then either
resumed or ended), so that a recogniser can start before the end is certain.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from callwright.speech.audio import Audio, frame_length, frames, resample

log = logging.getLogger(__name__)

VAD_RATES = (8000, 16000, 32000, 48000)
VAD_FRAME_MS = (10, 20, 30)


@dataclass(frozen=True)
class VadParams:
    """Frame classifier settings."""

    aggressiveness: int = 2
    """WebRTC mode 0-3: higher rejects more non-speech (and some quiet speech)."""
    frame_ms: int = 20
    energy_floor_dbfs: float = -50.0
    """Frames quieter than this are silence whatever WebRTC says."""
    noise_margin_db: float | None = 3.0
    """Frames must be this far above the tracked noise floor (None: no noise gate)."""
    noise_rise_db_per_s: float = 3.0
    """How fast the noise floor may rise (it falls at once), so it follows louder noise."""


class FrameVad:
    """Speech / not speech for fixed frames of 10, 20 or 30 ms at 8/16/32/48 kHz."""

    def __init__(self, rate: int, params: VadParams | None = None) -> None:
        import webrtcvad

        self.params = p = params or VadParams()
        if rate not in VAD_RATES:
            raise ValueError(f"VAD needs {VAD_RATES} Hz audio, got {rate}; resample first")
        if p.frame_ms not in VAD_FRAME_MS:
            raise ValueError(f"VAD frames must be {VAD_FRAME_MS} ms, got {p.frame_ms}")
        if not 0 <= p.aggressiveness <= 3:
            raise ValueError(f"VAD aggressiveness must be 0-3, got {p.aggressiveness}")
        self.rate = rate
        self.frame_len = frame_length(rate, p.frame_ms)
        self._vad = webrtcvad.Vad(p.aggressiveness)
        self._rise_per_frame = p.noise_rise_db_per_s * p.frame_ms / 1000
        self.noise_dbfs: float | None = None
        """Tracked noise floor: the quietest recent frame level, rising slowly."""

    def level_dbfs(self, frame: np.ndarray) -> float:
        power = float(np.mean(frame.astype(np.float64) ** 2)) / 32768.0**2
        return 10 * np.log10(power + 1e-12)

    def is_speech(self, frame: np.ndarray) -> bool:
        if frame.shape != (self.frame_len,) or frame.dtype != np.int16:
            raise ValueError(
                f"VAD frame must be {self.frame_len} int16 samples, got {frame.shape} {frame.dtype}"
            )
        p = self.params
        level = self.level_dbfs(frame)
        noise = self.noise_dbfs
        self.noise_dbfs = level if noise is None else min(level, noise + self._rise_per_frame)
        if level < p.energy_floor_dbfs:
            return False
        # WebRTC's own noise model starts cold and is weak in steady hiss; the gate
        # on the tracked floor removes those false frames (and trims speech tails)
        if p.noise_margin_db is not None and noise is not None and level < noise + p.noise_margin_db:
            return False
        if noise is None and p.noise_margin_db is not None:
            return False  # first frame: it defines the floor
        return bool(self._vad.is_speech(frame.tobytes(), self.rate))


@dataclass(frozen=True)
class EndpointParams:
    """Per-ask-state timing; None disables a timeout."""

    no_input_timeout_s: float | None = 5.0
    """Nothing said this long after listening starts -> NoInput."""
    end_of_speech_s: float = 0.8
    """Trailing silence that ends an utterance."""
    min_speech_ms: float = 100.0
    """Voiced time needed before speech counts as started (clicks and pops are shorter)."""
    max_speech_s: float | None = 20.0
    """An utterance is cut off after this long."""
    tentative_s: float | None = None
    """Trailing silence after which the utterance has probably ended (`SpeechPaused`), so a
    recogniser may start on it before `end_of_speech_s` is reached (None: no such event).
    Only meaningful below `end_of_speech_s`."""

    def __post_init__(self) -> None:
        if self.tentative_s is not None and not 0 < self.tentative_s:
            raise ValueError(f"tentative_s must be positive seconds or None, got {self.tentative_s}")


@dataclass(frozen=True)
class SpeechStarted:
    """The caller started speaking at `t` (decided at `t_decided`): stop the prompt."""

    t: float
    t_decided: float | None = None


@dataclass(frozen=True)
class SpeechEnded:
    """The utterance ended at `t_end_of_speech`; the endpointer knew at `t_decided`."""

    t_end_of_speech: float
    t_decided: float
    t_start: float | None = None
    reason: Literal["silence", "max_speech"] = "silence"


@dataclass(frozen=True)
class SpeechPaused:
    """A tentative endpoint: silent since `t_end_of_speech` for `tentative_s`, decided at
    `t_decided`. The utterance ends here unless `SpeechResumed` follows before `SpeechEnded`."""

    t_end_of_speech: float
    t_decided: float


@dataclass(frozen=True)
class SpeechResumed:
    """The caller spoke again at `t` after a `SpeechPaused`: the utterance goes on."""

    t: float


@dataclass(frozen=True)
class NoInput:
    """Nothing was said within the no-input timeout."""

    t: float


EndpointEvent = SpeechStarted | SpeechPaused | SpeechResumed | SpeechEnded | NoInput

_Phase = Literal["waiting", "speech"]


class Endpointer:
    """Live endpointing: feed frames with their start times, get turn events.

    After `SpeechEnded` it keeps listening for a further utterance (so it also
    serves for whole files); `NoInput` fires at most once per `reset`.
    """

    def __init__(
        self,
        rate: int,
        params: EndpointParams | None = None,
        vad_params: VadParams | None = None,
    ) -> None:
        self.vad = FrameVad(rate, vad_params)
        self.rate = rate
        self._frame_s = self.vad.params.frame_ms / 1000
        self._pending = np.zeros(0, dtype=np.int16)
        self._pending_t: float | None = None
        self.reset(params)

    def reset(self, params: EndpointParams | None = None, t: float | None = None) -> None:
        """Listen afresh (new ask state); the no-input clock starts at `t` or at the next frame."""
        if params is not None or not hasattr(self, "params"):
            self.params = params or EndpointParams()
        self._listen_from = t
        self._phase: _Phase = "waiting"
        self._speech_seen = False
        self._no_input_sent = False
        self._cand_start: float | None = None
        self._cand_voiced = 0.0
        self._cand_gap = 0.0
        self._speech_start = 0.0
        self._last_voiced_end = 0.0
        self._paused = False

    @property
    def in_speech(self) -> bool:
        return self._phase == "speech"

    def feed(self, frame: np.ndarray, t: float) -> list[EndpointEvent]:
        """Process int16 mono samples starting at stream time `t` (seconds); any length."""
        if frame.ndim != 1 or frame.dtype != np.int16:
            raise ValueError("Endpointer needs mono int16 frames")
        if self._pending.size == 0:
            self._pending_t = t
        self._pending = np.concatenate([self._pending, frame])
        n = self.vad.frame_len
        events: list[EndpointEvent] = []
        used = 0
        assert self._pending_t is not None
        while self._pending.size - used >= n:
            sub = self._pending[used : used + n]
            ft = round(self._pending_t + used / self.rate, 6)  # same times whatever the chunking
            events += self._step(self.vad.is_speech(sub), ft)
            used += n
        self._pending = self._pending[used:]
        self._pending_t += used / self.rate
        return events

    def finish(self, t: float) -> list[EndpointEvent]:
        """End of input at `t`: close an utterance still open (e.g. at the end of a file)."""
        if self._phase != "speech":
            return []
        self._phase = "waiting"
        self._paused = False
        return [SpeechEnded(self._last_voiced_end, t, self._speech_start)]

    def _step(self, voiced: bool, t: float) -> list[EndpointEvent]:
        p = self.params
        fs = self._frame_s
        end = round(t + fs, 6)
        if self._listen_from is None:
            self._listen_from = t
        out: list[EndpointEvent] = []
        if self._phase == "waiting":
            if voiced:
                if self._cand_start is None:
                    self._cand_start, self._cand_voiced, self._cand_gap = t, 0.0, 0.0
                self._cand_voiced += fs
                self._cand_gap = 0.0
                if self._cand_voiced * 1000 >= p.min_speech_ms - 1e-9:
                    self._phase = "speech"
                    self._speech_seen = True
                    self._speech_start = self._cand_start
                    self._last_voiced_end = end
                    self._cand_start = None
                    out.append(SpeechStarted(self._speech_start, end))
            elif self._cand_start is not None:
                self._cand_gap += fs
                if self._cand_gap > max(2 * fs, 0.04):  # a click, not the start of speech
                    self._cand_start = None
            if (
                not self._speech_seen
                and not self._no_input_sent
                and self._cand_start is None
                and p.no_input_timeout_s is not None
                and end - self._listen_from >= p.no_input_timeout_s - 1e-9
            ):
                self._no_input_sent = True
                out.append(NoInput(end))
            return out
        # in speech
        if voiced:
            self._last_voiced_end = end
            if self._paused:
                self._paused = False
                out.append(SpeechResumed(t))
        if p.max_speech_s is not None and end - self._speech_start >= p.max_speech_s - 1e-9:
            self._phase = "waiting"
            self._paused = False
            out.append(SpeechEnded(end, end, self._speech_start, "max_speech"))
        elif end - self._last_voiced_end >= p.end_of_speech_s - 1e-9:
            self._phase = "waiting"
            self._paused = False
            out.append(SpeechEnded(self._last_voiced_end, end, self._speech_start))
        elif (
            not self._paused
            and p.tentative_s is not None
            and end - self._last_voiced_end >= p.tentative_s - 1e-9
        ):
            self._paused = True
            out.append(SpeechPaused(self._last_voiced_end, end))
        return out


def iter_endpoint_events(
    audio: Audio,
    params: EndpointParams | None = None,
    vad_params: VadParams | None = None,
) -> Iterator[EndpointEvent]:
    """Run the endpointer over a whole mono recording, as if it arrived live."""
    if audio.channels != 1:
        raise ValueError("endpointing works on one channel; pass audio.channel(i)")
    if audio.rate not in VAD_RATES:
        audio = resample(audio, 16000)
    ep = Endpointer(audio.rate, params, vad_params)
    fms = ep.vad.params.frame_ms
    for i, f in enumerate(frames(audio, fms)):
        yield from ep.feed(f, i * fms / 1000)
    yield from ep.finish(audio.duration_s)


REGION_PARAMS = EndpointParams(
    no_input_timeout_s=None, end_of_speech_s=0.3, min_speech_ms=60.0, max_speech_s=None
)
"""For QA: pauses under 300 ms are within a turn, and only clicks are dropped."""


def speech_regions(
    audio: Audio,
    *,
    min_silence_s: float = REGION_PARAMS.end_of_speech_s,
    min_speech_ms: float = REGION_PARAMS.min_speech_ms,
    vad_params: VadParams | None = None,
) -> list[tuple[float, float]]:
    """(start, end) seconds of speech in one channel, for talk time, silence and over-talk."""
    params = replace(REGION_PARAMS, end_of_speech_s=min_silence_s, min_speech_ms=min_speech_ms)
    regions: list[tuple[float, float]] = []
    for ev in iter_endpoint_events(audio, params, vad_params):
        if isinstance(ev, SpeechEnded):
            assert ev.t_start is not None
            regions.append((round(ev.t_start, 3), round(min(ev.t_end_of_speech, audio.duration_s), 3)))
    return regions
