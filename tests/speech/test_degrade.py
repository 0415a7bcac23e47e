"""The telephone-channel simulation does what a phone line does to audio."""

from __future__ import annotations

import numpy as np
import pytest

from callwright.speech.audio import Audio
from callwright.speech.degrade import (
    active_power,
    add_noise,
    bandlimit,
    mix_stereo,
    mulaw_round_trip,
    telephone,
)


def tone(freq: float, rate: int = 16000, seconds: float = 1.0, amp: float = 10000) -> Audio:
    t = np.arange(int(rate * seconds)) / rate
    return Audio((amp * np.sin(2 * np.pi * freq * t)).astype(np.int16), rate)


def rms(a: Audio) -> float:
    return float(np.sqrt(np.mean(a.samples.astype(float) ** 2)))


def test_bandlimit_passes_voice_band_and_cuts_outside():
    assert rms(bandlimit(tone(1000))) == pytest.approx(rms(tone(1000)), rel=0.05)
    assert rms(bandlimit(tone(100))) < 0.15 * rms(tone(100))
    assert rms(bandlimit(tone(6000))) < 0.05 * rms(tone(6000))


@pytest.mark.parametrize("snr", [0.0, 10.0, 20.0])
def test_add_noise_hits_requested_snr(snr):
    clean = tone(1000)
    noisy = add_noise(clean, snr, seed=1)
    noise = noisy.samples.astype(float) - clean.samples.astype(float)
    measured = 10 * np.log10(np.mean(clean.samples.astype(float) ** 2) / np.mean(noise**2))
    assert measured == pytest.approx(snr, abs=0.3)


def test_add_noise_is_seeded():
    a = add_noise(tone(1000), 10, seed=3)
    assert np.array_equal(a.samples, add_noise(tone(1000), 10, seed=3).samples)
    assert not np.array_equal(a.samples, add_noise(tone(1000), 10, seed=4).samples)


def test_snr_ignores_pauses():
    # the same tone with a long pause: active level, hence the noise level, stays the same
    padded = Audio(np.concatenate([tone(1000).samples, np.zeros(32000, np.int16)]), 16000)
    assert active_power(padded.samples, 16000) == pytest.approx(
        active_power(tone(1000).samples, 16000), rel=0.01
    )


def test_mulaw_round_trip_is_close_but_lossy():
    clean = tone(700, 8000)
    out = mulaw_round_trip(clean)
    err = out.samples.astype(float) - clean.samples.astype(float)
    snr = 10 * np.log10(np.mean(clean.samples.astype(float) ** 2) / np.mean(err**2))
    assert 25 < snr < 45  # G.711 gives ~35-38 dB on a loud tone


def test_telephone_channel_output():
    out = telephone(tone(1000), snr_db=20, seed=0)
    assert out.rate == 8000
    assert out.n_samples == 8000
    assert rms(out) == pytest.approx(rms(tone(1000)), rel=0.15)


def test_mix_stereo_pads_and_places_sides():
    left = tone(400, 8000, 1.0)
    right = tone(1000, 8000, 0.5)
    st = mix_stereo(left, right)
    assert st.channels == 2 and st.n_samples == 8000
    assert np.array_equal(st.channel(0).samples, left.samples)
    assert np.all(st.channel(1).samples[4000:] == 0)
    with pytest.raises(ValueError):
        mix_stereo(left, tone(400, 16000))
