"""DTMF (touch-tone) generation and in-band detection.

Detection follows the usual receiver rules (ITU-T Q.24 and the Bell/ANSI
figures) so that key presses work over a real phone line while speech does
not trigger false keys ("talk-off"):

- frequency: each tone must be nearer its nominal frequency than the points
  5 % either side (the midpoints between neighbouring DTMF rows/columns), so
  tones within ±1.5 % are accepted and those beyond ±3.5 % rejected;
- twist: the high-group tone may be up to 8 dB stronger (normal twist) or
  4 dB weaker (reverse twist) than the low-group tone;
- purity: the two tones must carry most of the block's energy, and a tone's
  second harmonic must be weak (voiced speech is rich in harmonics);
- timing: a key needs about 40 ms of steady tone; shorter blips are dropped,
  brief dropouts are bridged and a pause of 40 ms separates two presses.

Analysis uses a Hann-windowed DFT at the few frequencies of interest
(the Goertzel idea, done as one matrix product per batch of blocks).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from callwright.errors import DataError
from callwright.speech.audio import Audio, resample

LOW_FREQS = (697.0, 770.0, 852.0, 941.0)
HIGH_FREQS = (1209.0, 1336.0, 1477.0, 1633.0)
KEYPAD = ("123A", "456B", "789C", "*0#D")
KEYS = "".join(KEYPAD)

_FREQS_OF = {key: (LOW_FREQS[r], HIGH_FREQS[c]) for r, row in enumerate(KEYPAD) for c, key in enumerate(row)}
_BATCH = 4096  # blocks analysed per matrix product
_OFF = 0.05  # probe points either side of each nominal frequency, as a fraction


@dataclass(frozen=True)
class DtmfEvent:
    """One key press: the key and when its tone started and ended (seconds from stream start)."""

    key: str
    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class DtmfParams:
    """Acceptance thresholds; the defaults follow Q.24 / ANSI T1.401 practice."""

    window_ms: float = 20.0
    hop_ms: float = 5.0
    normal_twist_db: float = 8.0
    reverse_twist_db: float = 4.0
    min_level_dbfs: float = -45.0
    """Each tone must be at least this loud."""
    min_tone_ratio: float = 0.55
    """Share of the block's power the two tones must carry."""
    max_harmonic_db: float = -15.0
    """A tone's 2nd harmonic must be at least this far below it."""
    min_on_ms: float = 40.0
    """Tone time needed before a key counts (blips shorter than ~25 ms never do)."""
    min_off_ms: float = 20.0
    """Silence that ends a key; dropouts up to ~12 ms are bridged (Q.24 asks for 10)."""


def validate_digits(digits: str) -> str:
    """Upper-cased keys, or a DataError naming the first character that is not a key."""
    for ch in digits:
        if ch.upper() not in _FREQS_OF:
            raise DataError(
                f"DTMF digits {digits!r}: {ch!r} is not a telephone key",
                hint="use 0-9, *, # and A-D",
            )
    return digits.upper()


def key_frequencies(key: str) -> tuple[float, float]:
    """The (low, high) tone pair of one key."""
    return _FREQS_OF[validate_digits(key)]


def dual_tone(
    f_low: float,
    f_high: float,
    rate: int,
    ms: float,
    *,
    low_dbfs: float = -10.0,
    high_dbfs: float = -10.0,
) -> np.ndarray:
    """Two summed sines as float samples in [-1, 1], for keys and for off-spec test tones."""
    t = np.arange(int(round(rate * ms / 1000))) / rate
    a_low, a_high = 10 ** (low_dbfs / 20), 10 ** (high_dbfs / 20)
    return a_low * np.sin(2 * np.pi * f_low * t) + a_high * np.sin(2 * np.pi * f_high * t)


def dtmf_tones(
    digits: str,
    rate: int,
    tone_ms: float = 80,
    gap_ms: float = 80,
    level_dbfs: float = -10,
    *,
    twist_db: float = 0.0,
) -> np.ndarray:
    """int16 samples of the keys in `digits`, each tone followed by a gap.

    `level_dbfs` is the level of each of the two tones; `twist_db` makes the
    high-group tone that much louder (negative: quieter).
    """
    keys = validate_digits(digits)
    gap = np.zeros(int(round(rate * gap_ms / 1000)))
    parts: list[np.ndarray] = []
    for key in keys:
        lo, hi = _FREQS_OF[key]
        parts += [
            dual_tone(lo, hi, rate, tone_ms, low_dbfs=level_dbfs, high_dbfs=level_dbfs + twist_db),
            gap,
        ]
    x = np.concatenate(parts) if parts else np.zeros(0)
    return np.clip(np.round(x * 32767), -32768, 32767).astype(np.int16)


class _Analyzer:
    """Per-block key decision at one sample rate (pure: no timing state)."""

    def __init__(self, rate: int, p: DtmfParams) -> None:
        self.p = p
        self.n = int(round(rate * p.window_ms / 1000))
        probes = []
        for f in (*LOW_FREQS, *HIGH_FREQS):
            probes += [f, f * (1 - _OFF), f * (1 + _OFF)]
        harmonics = [2 * f for f in (*LOW_FREQS, *HIGH_FREQS)]
        self.freqs = np.array(probes + harmonics)
        if self.freqs.max() >= rate / 2:
            raise ValueError(f"DTMF detection needs a sample rate above 6.6 kHz, got {rate}")
        window = np.hanning(self.n + 2)[1:-1]  # no zero end points
        t = np.arange(self.n) / rate
        phase = 2 * np.pi * np.outer(t, self.freqs)
        # real and imaginary parts apart: a float matrix product is ~7x faster than complex
        self.cos = np.ascontiguousarray(np.cos(phase) * window[:, None])
        self.sin = np.ascontiguousarray(np.sin(phase) * window[:, None])
        self.window_sq = window**2
        # P_f = 2|X|^2/(sum w)^2 is a sine's mean power; P_total uses the same weighting
        self.tone_scale = 2.0 / window.sum() ** 2
        self.total_scale = 1.0 / self.window_sq.sum()
        self.min_power = 0.5 * 10 ** (self.p.min_level_dbfs / 10)
        # Cauchy-Schwarz: |sum x w e^{i phi}|^2 <= n * sum x^2 w^2, so no single frequency's
        # power exceeds `tone_bound` times the block's total power (3 for this window). A
        # block whose total power is under min_power / tone_bound cannot hold a key (both
        # tones must reach min_power): quiet audio, most of a call, skips the analysis.
        self.tone_bound = 2.0 * self.n * self.window_sq.sum() / window.sum() ** 2
        self.low, self.high = np.array(LOW_FREQS), np.array(HIGH_FREQS)

    def keys(self, blocks: np.ndarray) -> list[str | None]:
        """The key heard in each row of `blocks` (n_blocks x n, float in [-1, 1]) or None."""
        if len(blocks) == 0:
            return []
        p = self.p
        total = self.total_scale * (blocks**2 @ self.window_sq)
        if float(total.max()) * self.tone_bound < self.min_power:
            return [None] * len(blocks)  # too quiet for any key (see tone_bound)
        power = self.tone_scale * ((blocks @ self.cos) ** 2 + (blocks @ self.sin) ** 2)
        nominal = power[:, :24:3]  # the 8 nominal frequencies
        probes = power[:, :24].reshape(len(blocks), 8, 3)
        harmonic = power[:, 24:]
        rows = np.arange(len(blocks))
        lo = np.argmax(nominal[:, :4], axis=1)
        hi = 4 + np.argmax(nominal[:, 4:], axis=1)
        p_lo, p_hi = nominal[rows, lo], nominal[rows, hi]
        ok = np.minimum(p_lo, p_hi) >= self.min_power
        # frequency: each nominal bin must beat the probes 5 % either side
        ok &= (probes[rows, lo].argmax(axis=1) == 0) & (probes[rows, hi].argmax(axis=1) == 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            twist = 10 * np.log10(p_hi / p_lo)
        ok &= (twist <= p.normal_twist_db) & (twist >= -p.reverse_twist_db)
        ok &= (p_lo + p_hi) >= p.min_tone_ratio * total
        # 2nd harmonics; a probe inside the other tone's main lobe (2 x 697 = 1394 Hz
        # next to 1336 Hz) would measure that tone, not a harmonic, so it is skipped
        limit = 10 ** (p.max_harmonic_db / 10)
        clear = np.abs(2 * self.low[lo] - self.high[hi - 4]) > 2.0 * 1000.0 / p.window_ms
        ok &= ~(clear & (harmonic[rows, lo] > limit * p_lo))
        ok &= ~(harmonic[rows, hi] > limit * p_hi)
        return [KEYPAD[r][c - 4] if good else None for r, c, good in zip(lo, hi, ok, strict=True)]


class DtmfDetector:
    """Streaming detector: feed frames of any size, get key presses as they end.

    An event is reported once its tone has stopped (the end time is part of
    it), i.e. about `min_off_ms` after the key is released; call `flush()` at
    the end of a stream to report a tone still sounding.
    """

    def __init__(self, rate: int, params: DtmfParams | None = None) -> None:
        self.rate = rate
        self.params = params or DtmfParams()
        self._an = _Analyzer(rate, self.params)
        self.hop = int(round(rate * self.params.hop_ms / 1000))
        self._buf = np.zeros(0, dtype=np.float64)
        self._on_blocks = int(np.ceil(self._min_blocks(self.params.min_on_ms)))
        self._off_blocks = max(1, int(round(self.params.min_off_ms / self.params.hop_ms)))
        self._key: str | None = None
        self._run_start = 0  # first block index of the current run
        self._run_len = 0
        self._last_hit = 0
        self._misses = 0
        self._block = 0  # index of the next block

    def _min_blocks(self, on_ms: float) -> float:
        # A tone of D ms is seen by about (D - window/4) / hop consecutive blocks:
        # partial windows at its edges still detect once they are ~60 % covered.
        p = self.params
        return max(1.0, (on_ms - p.window_ms / 4) / p.hop_ms - 1)

    def reset(self) -> None:
        self.__init__(self.rate, self.params)  # type: ignore[misc]

    def feed(self, frame: np.ndarray) -> list[DtmfEvent]:
        """Process int16 (or float in [-1, 1]) mono samples; returns presses that ended."""
        x = np.asarray(frame)
        x = x.astype(np.float64) / 32768.0 if x.dtype == np.int16 else x.astype(np.float64)
        if x.ndim != 1:
            raise ValueError("DtmfDetector needs mono frames")
        self._buf = np.concatenate([self._buf, x])
        n, hop = self._an.n, self.hop
        count = (len(self._buf) - n) // hop + 1 if len(self._buf) >= n else 0
        if count <= 0:
            return []
        view = np.lib.stride_tricks.sliding_window_view(self._buf, n)[::hop][:count]
        keys: list[str | None] = []
        for i in range(0, count, _BATCH):  # bounded memory for long recordings
            keys += self._an.keys(np.ascontiguousarray(view[i : i + _BATCH]))
        self._buf = self._buf[count * hop :]
        events: list[DtmfEvent] = []
        for key in keys:
            ev = self._step(key)
            if ev is not None:
                events.append(ev)
        return events

    def feed_all(self, frames: Iterable[np.ndarray]) -> list[DtmfEvent]:
        """Convenience for files: feed every frame, flush, return all presses."""
        events: list[DtmfEvent] = []
        for f in frames:
            events += self.feed(f)
        return events + self.flush()

    def flush(self) -> list[DtmfEvent]:
        """End of stream: report a key whose tone is still on."""
        ev = self._close()
        self._key, self._run_len, self._misses = None, 0, 0
        return [ev] if ev is not None else []

    def _step(self, key: str | None) -> DtmfEvent | None:
        b = self._block
        self._block += 1
        if key is not None and key == self._key:
            self._run_len = b - self._run_start + 1
            self._last_hit = b
            self._misses = 0
            return None
        if key is None and self._key is not None:
            self._misses += 1
            if self._misses < self._off_blocks:
                return None  # bridge a short dropout
            ev = self._close()
            self._key, self._run_len, self._misses = None, 0, 0
            return ev
        # a new key (after silence, or a different key straight away)
        ev = self._close() if self._key is not None else None
        self._key, self._run_start, self._last_hit, self._run_len, self._misses = (
            key,
            b,
            b,
            1 if key is not None else 0,
            0,
        )
        return ev

    def _close(self) -> DtmfEvent | None:
        if self._key is None:
            return None
        hits = self._last_hit - self._run_start + 1
        if hits < self._on_blocks:
            return None
        hop_s, win_s = self.hop / self.rate, self._an.n / self.rate
        # a block detects once most of it is tone; offsets measured on clean tones
        start = self._run_start * hop_s + 0.25 * win_s
        end = self._last_hit * hop_s + 0.75 * win_s
        return DtmfEvent(self._key, round(start, 4), round(end, 4))


def detect_dtmf(samples: np.ndarray, rate: int, params: DtmfParams | None = None) -> list[DtmfEvent]:
    """All key presses in a whole recording."""
    det = DtmfDetector(rate, params)
    return det.feed(samples) + det.flush()


LENIENT = DtmfParams(
    normal_twist_db=12.0,
    reverse_twist_db=10.0,
    min_level_dbfs=-55.0,
    min_on_ms=25.0,
)
"""Thresholds for finding tones to remove, not keys to act on (redacted recordings).

Anyone decoding a recording may use a looser receiver than an IVR does, so a
tone that is weak (-55 dBFS), short (25 ms) or twisted (12 dB / 10 dB) must
still be found. Purity (tone ratio, harmonics) stays at the receiver's values:
loosening it made espeak-ng speech read as tones about once every 1.6 s (49
times in the 80 s card-payment sample), against 5 times with these values and
none with the receiver's, at the same detection of keyed card numbers (all 16
keys on a clean channel, twisted or short; 13-14 of 16 when mixed into speech
at -16 to -26 dBFS on a mono recording, against 10-15 for the receiver)."""


ANALYSIS_RATE = 8000
"""Tone spans are looked for at this rate: the telephone band holds every DTMF tone."""


def tone_spans(audio: Audio, params: DtmfParams | None = LENIENT) -> list[tuple[float, float]]:
    """(start, end) seconds of every DTMF tone on any channel, whatever the key, in time order.

    Each channel is analysed on its own (a tone on the customer's channel is
    pure there, buried in nothing), at `ANALYSIS_RATE` so that any recording
    rate works, including rates too low for the detector itself.
    """
    spans: list[tuple[float, float]] = []
    for c in range(audio.channels):
        ch = resample(audio.channel(c), ANALYSIS_RATE)
        spans += [(e.start_s, e.end_s) for e in detect_dtmf(ch.samples, ANALYSIS_RATE, params)]
    return sorted(spans)
