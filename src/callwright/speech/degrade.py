"""Telephone-channel simulation for test fixtures and sample calls.

Clean TTS output is far easier to recognise than a real phone line; degrading
it (narrow band, 8 kHz, noise, G.711 companding) keeps tests and benchmarks
honest. All functions are pure and seeded.
"""

from __future__ import annotations

import numpy as np

from callwright.speech.audio import Audio, resample

TELEPHONE_BAND = (300.0, 3400.0)
TELEPHONE_RATE = 8000
_MU = 255.0


def _to_int16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


def bandlimit(audio: Audio, low_hz: float = 300.0, high_hz: float = 3400.0) -> Audio:
    """Band-pass like a telephone handset and line (zero-phase, so timings stay put)."""
    from scipy.signal import butter, sosfiltfilt

    nyquist = audio.rate / 2
    high = min(high_hz, 0.95 * nyquist)
    sos = butter(4, [low_hz, high], btype="bandpass", fs=audio.rate, output="sos")
    if audio.n_samples <= 3 * (2 * len(sos) + 1):
        return audio
    y = sosfiltfilt(sos, audio.samples.astype(np.float64), axis=0)
    return Audio(_to_int16(y), audio.rate)


def active_power(samples: np.ndarray, rate: int, floor_db: float = 40.0) -> float:
    """Mean power over the frames within `floor_db` of the loudest 20 ms frame.

    A rough stand-in for ITU-T P.56 active speech level, so an SNR means the
    same for a clip with long pauses as for one without.
    """
    x = samples.astype(np.float64)
    if x.ndim == 2:
        x = x.mean(axis=1)
    n = max(1, rate // 50)
    usable = (len(x) // n) * n
    if usable == 0:
        return float(np.mean(x**2)) if len(x) else 0.0
    power = np.mean(x[:usable].reshape(-1, n) ** 2, axis=1)
    peak = power.max()
    if peak == 0:
        return 0.0
    return float(power[power >= peak * 10 ** (-floor_db / 10)].mean())


def add_noise(audio: Audio, snr_db: float, *, seed: int = 0) -> Audio:
    """Add white Gaussian noise at `snr_db` below the clip's active level."""
    rng = np.random.default_rng(seed)
    signal_power = active_power(audio.samples, audio.rate)
    if signal_power == 0:
        return audio
    noise_rms = np.sqrt(signal_power / 10 ** (snr_db / 10))
    noise = rng.normal(0.0, noise_rms, size=audio.samples.shape)
    return Audio(_to_int16(audio.samples.astype(np.float64) + noise), audio.rate)


def mulaw_round_trip(audio: Audio) -> Audio:
    """Compress to 8-bit mu-law and back, adding G.711's quantisation noise."""
    x = audio.samples.astype(np.float64) / 32768.0
    y = np.sign(x) * np.log1p(_MU * np.abs(x)) / np.log1p(_MU)
    q = np.round((y + 1) * 127.5) / 127.5 - 1  # 256 levels
    back = np.sign(q) * np.expm1(np.abs(q) * np.log1p(_MU)) / _MU
    return Audio(_to_int16(back * 32768.0), audio.rate)


def telephone(
    audio: Audio,
    *,
    snr_db: float | None = None,
    seed: int = 0,
    mulaw: bool = True,
    rate: int = TELEPHONE_RATE,
) -> Audio:
    """The whole channel: band-limit, resample to 8 kHz, add noise, mu-law."""
    out = resample(bandlimit(audio, *TELEPHONE_BAND), rate)
    if snr_db is not None:
        out = add_noise(out, snr_db, seed=seed)
    if mulaw:
        out = mulaw_round_trip(out)
    return out


def mix_stereo(left: Audio, right: Audio) -> Audio:
    """Two mono sides into one stereo call (caller left, IVR right), padding the shorter."""
    if left.rate != right.rate:
        raise ValueError(f"cannot mix {left.rate} Hz with {right.rate} Hz; resample first")
    lm, rm = left.mono().samples, right.mono().samples
    n = max(len(lm), len(rm))
    out = np.zeros((n, 2), dtype=np.int16)
    out[: len(lm), 0] = lm
    out[: len(rm), 1] = rm
    return Audio(out, left.rate)
