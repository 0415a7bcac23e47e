"""DTMF generation and detection: every key, noise, Q.24 acceptance rules and talk-off."""

from __future__ import annotations

import numpy as np
import pytest

from callwright.errors import DataError
from callwright.speech.audio import Audio, concat, frames, read_audio, resample, silence
from callwright.speech.degrade import add_noise, telephone
from callwright.speech.dtmf import (
    HIGH_FREQS,
    KEYPAD,
    KEYS,
    LOW_FREQS,
    DtmfDetector,
    detect_dtmf,
    dtmf_tones,
    dual_tone,
)

RATES = [8000, 16000]


def keys_of(samples: np.ndarray, rate: int) -> str:
    return "".join(e.key for e in detect_dtmf(samples, rate))


def as_int16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x * 32767), -32768, 32767).astype(np.int16)


def tone_then_silence(lo: float, hi: float, rate: int, ms: float = 80, **levels) -> np.ndarray:
    return as_int16(np.concatenate([dual_tone(lo, hi, rate, ms, **levels), np.zeros(rate // 10)]))


@pytest.mark.parametrize("rate", RATES)
def test_every_key_is_detected_with_its_timing(rate):
    events = detect_dtmf(dtmf_tones(KEYS, rate, tone_ms=80, gap_ms=80), rate)
    assert "".join(e.key for e in events) == KEYS
    for i, e in enumerate(events):
        assert e.start_s == pytest.approx(i * 0.160, abs=0.010)
        assert e.duration_s == pytest.approx(0.080, abs=0.010)


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_key_in_noise_at_15_db_snr(rate, seed):
    clean = Audio(dtmf_tones(KEYS, rate, level_dbfs=-20), rate)
    noisy = add_noise(clean, 15.0, seed=seed)
    assert keys_of(noisy.samples, rate) == KEYS


def test_keys_survive_a_telephone_channel():
    # made at 16 kHz, band-limited, 8 kHz, noise, mu-law: what an IVR receives
    line = telephone(Audio(dtmf_tones("0123456789*#", 16000), 16000), snr_db=20, seed=5)
    assert keys_of(line.samples, line.rate) == "0123456789*#"


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("deviation", [-0.015, 0.015])
def test_tones_within_1_5_percent_are_accepted(rate, deviation):
    for r, row in enumerate(KEYPAD):
        for c, key in enumerate(row):
            lo, hi = LOW_FREQS[r], HIGH_FREQS[c]
            assert keys_of(tone_then_silence(lo * (1 + deviation), hi, rate), rate) == key
            assert keys_of(tone_then_silence(lo, hi * (1 + deviation), rate), rate) == key


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("deviation", [-0.035, 0.035, -0.05, 0.05])
def test_tones_beyond_3_5_percent_are_rejected(rate, deviation):
    for r, row in enumerate(KEYPAD):
        for c, _key in enumerate(row):
            lo, hi = LOW_FREQS[r], HIGH_FREQS[c]
            assert keys_of(tone_then_silence(lo * (1 + deviation), hi, rate), rate) == ""
            assert keys_of(tone_then_silence(lo, hi * (1 + deviation), rate), rate) == ""


@pytest.mark.parametrize("twist,accepted", [(-3, True), (0, True), (7, True), (-6, False), (10, False)])
def test_twist_limits(twist, accepted):
    got = keys_of(dtmf_tones(KEYS, 8000, level_dbfs=-16, twist_db=twist), 8000)
    assert got == (KEYS if accepted else "")


def test_single_tone_and_silence_are_not_keys():
    assert keys_of(as_int16(dual_tone(697, 697, 8000, 200)), 8000) == ""
    assert keys_of(as_int16(0.3 * np.sin(2 * np.pi * 1209 * np.arange(1600) / 8000)), 8000) == ""
    assert keys_of(np.zeros(8000, np.int16), 8000) == ""


def test_very_quiet_tones_are_ignored():
    assert keys_of(dtmf_tones("5", 8000, level_dbfs=-55), 8000) == ""
    assert keys_of(dtmf_tones("5", 8000, level_dbfs=-35), 8000) == "5"


@pytest.mark.parametrize("rate", RATES)
def test_minimum_duration(rate):
    assert keys_of(dtmf_tones("5", rate, tone_ms=20, gap_ms=100), rate) == ""
    assert keys_of(dtmf_tones("5", rate, tone_ms=25, gap_ms=100), rate) == ""
    assert keys_of(dtmf_tones("5", rate, tone_ms=40, gap_ms=100), rate) == "5"


@pytest.mark.parametrize("rate", RATES)
def test_same_key_twice_with_a_40_ms_pause_counts_twice(rate):
    assert keys_of(dtmf_tones("55", rate, tone_ms=60, gap_ms=40), rate) == "55"
    assert keys_of(dtmf_tones("1111", rate, tone_ms=50, gap_ms=45), rate) == "1111"


def test_a_10_ms_dropout_does_not_split_a_key():
    rate = 8000
    tone = dual_tone(852, 1477, rate, 200)
    tone[800:880] = 0  # 10 ms hole in the middle
    events = detect_dtmf(as_int16(np.concatenate([tone, np.zeros(800)])), rate)
    assert [e.key for e in events] == ["9"]
    assert events[0].duration_s == pytest.approx(0.2, abs=0.015)


@pytest.mark.parametrize("ms", [10, 20, 30])
def test_streaming_in_frames_matches_whole_file(ms):
    rate = 8000
    audio = concat([silence(0.3, rate), Audio(dtmf_tones("159#", rate), rate), silence(0.2, rate)])
    det = DtmfDetector(rate)
    streamed = det.feed_all(frames(audio, ms))
    assert streamed == detect_dtmf(audio.samples, rate)
    assert [e.key for e in streamed] == list("159#")


def test_event_is_reported_shortly_after_the_key_is_released():
    rate, det = 8000, DtmfDetector(8000)
    tone = dtmf_tones("7", rate, tone_ms=100, gap_ms=0)
    assert det.feed(tone) == []
    out = []
    for i, f in enumerate(frames(silence(0.2, rate), 10)):
        out += det.feed(f)
        if out:
            assert (i + 1) * 10 <= 50  # reported within 50 ms of key-up
            break
    assert [e.key for e in out] == ["7"]


def test_bad_digits_are_a_user_error():
    with pytest.raises(DataError, match="'x' is not a telephone key"):
        dtmf_tones("12x", 8000)
    assert len(dtmf_tones("abcd", 8000)) > 0  # A-D in either case


def test_level_of_generated_tones():
    x = dtmf_tones("1", 8000, tone_ms=100, gap_ms=0, level_dbfs=-10)
    peak = np.abs(x).max() / 32768
    assert 0.55 < peak <= 2 * 10 ** (-10 / 20) + 0.01


def test_no_talk_off_on_synthesised_speech(talk_8k):
    total = sum(a.duration_s for a in talk_8k.values())
    assert total > 150  # a few minutes of speech, five voices
    for voice, audio in talk_8k.items():
        assert detect_dtmf(audio.samples, audio.rate) == [], voice
        up = resample(audio, 16000)
        assert detect_dtmf(up.samples, up.rate) == [], voice


def test_no_talk_off_on_fsdd_speech(fsdd_dir):
    files = sorted(fsdd_dir.glob("*.wav"))
    assert len(files) >= 1000
    speech = concat([read_audio(f) for f in files])
    assert speech.duration_s > 600  # over ten minutes of real human speech
    assert detect_dtmf(speech.samples, speech.rate) == []


def test_keys_are_found_between_speech(talk_8k):
    speech = talk_8k["en-us"]
    call = concat([speech, Audio(dtmf_tones("42", 8000, level_dbfs=-18), 8000), speech])
    assert keys_of(call.samples, 8000) == "42"


@pytest.mark.parametrize("rate", RATES)
def test_the_quiet_block_shortcut_never_changes_a_decision(rate):
    # keys() skips the analysis of blocks too quiet to hold a key (the SIP server runs the
    # detector on every call's audio, mostly silence); the bound it relies on must hold and
    # the decisions must be those of the full analysis, at every level around the threshold
    from callwright.speech.dtmf import DtmfParams, _Analyzer

    an = _Analyzer(rate, DtmfParams())
    full = _Analyzer(rate, DtmfParams())
    full.tone_bound = float("inf")  # never skips
    rng = np.random.default_rng(3)
    blocks = []
    for level_db in range(-70, -30, 2):
        for lo, hi in zip(LOW_FREQS, HIGH_FREQS, strict=True):
            tone = dual_tone(lo, hi, rate, 1000 * an.n / rate, low_dbfs=level_db, high_dbfs=level_db)
            blocks.append(tone[: an.n])
            blocks.append(tone[: an.n] + rng.normal(0, 10 ** (level_db / 20), an.n))
        blocks.append(rng.normal(0, 10 ** (level_db / 20), an.n))
    blocks = np.array(blocks)
    power = an.tone_scale * ((blocks @ an.cos) ** 2 + (blocks @ an.sin) ** 2)
    total = an.total_scale * (blocks**2 @ an.window_sq)
    assert np.all(power.max(axis=1) <= an.tone_bound * total * (1 + 1e-9))
    for i in range(len(blocks)):  # one block at a time, as a 20 ms frame in a call gives them
        assert an.keys(blocks[i : i + 1]) == full.keys(blocks[i : i + 1])
    assert any(k is not None for k in an.keys(blocks)) and an.keys(np.zeros((3, an.n))) == [None] * 3
