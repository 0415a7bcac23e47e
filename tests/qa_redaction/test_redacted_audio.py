"""The redacted audio copy holds no keypad tones: a card number keyed on the phone never reaches the
transcript, so only muting the tones keeps it out of the copy (issue 12, personal data)."""

from __future__ import annotations

import numpy as np
import pytest

from callwright.qa.pipeline import write_redacted_audio
from callwright.redaction import with_luhn_digit
from callwright.speech.audio import Audio, concat, read_audio, silence, write_wav
from callwright.speech.degrade import mix_stereo, telephone
from callwright.speech.dtmf import DtmfParams, detect_dtmf, dtmf_tones

CARD = with_luhn_digit("453201511283036")
RATE = 8000
# A much looser receiver than an IVR's: what anyone decoding a redacted copy could use (looser
# still than the fix's `dtmf.LENIENT`, and written out here so the test does not trust the code
# under test). On speech it also reads talk-off, so it is used where no speech is left.
LENIENT = DtmfParams(
    normal_twist_db=12.0,
    reverse_twist_db=10.0,
    min_level_dbfs=-55.0,
    min_tone_ratio=0.35,
    max_harmonic_db=-8.0,
    min_on_ms=25.0,
)


def mute_dtmf(audio: Audio):
    from callwright.redaction import mute_dtmf  # new in the fix

    return mute_dtmf(audio)


def keyed(digits: str, *, level_dbfs: float = -12.0, tone_ms: float = 70, gap_ms: float = 60) -> Audio:
    """The card keyed on a handset and carried over a phone line (band, noise, mu-law) at 8 kHz."""
    tones = Audio(dtmf_tones(digits, 16000, tone_ms=tone_ms, gap_ms=gap_ms, level_dbfs=level_dbfs), 16000)
    return telephone(tones, snr_db=25, seed=3)


def speech_like(seconds: float, seed: int = 1) -> Audio:
    """Voiced-speech-like sound (a 120 Hz buzz through moving formants) for the agent's side."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    f0 = 120 + 15 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / RATE
    x = sum(np.sin(k * phase) / k for k in range(1, 25))
    x *= 0.5 + 0.5 * np.abs(np.sin(2 * np.pi * 3.0 * t))  # syllables
    x += 0.02 * rng.standard_normal(len(t))
    x = x / np.abs(x).max() * 0.2
    return Audio(np.round(x * 32767).astype(np.int16), RATE)


def keys(audio: Audio, params: DtmfParams | None = None) -> str:
    """Every key any channel decodes to."""
    return "".join(
        e.key
        for c in range(audio.channels)
        for e in detect_dtmf(audio.channel(c).samples, audio.rate, params)
    )


def stereo_call() -> Audio:
    """Agent talks, then the customer keys the card number on their channel."""
    agent = concat([speech_like(3.0), silence(3.0, RATE), speech_like(2.0, seed=2)])
    customer = concat([silence(3.5, RATE), keyed(CARD)])
    return mix_stereo(customer, agent)


@pytest.mark.parametrize("params", [None, LENIENT], ids=["receiver", "lenient"])
def test_the_redacted_copy_of_a_stereo_call_decodes_to_no_keys(tmp_path, params):
    call = stereo_call()
    assert keys(call) == CARD  # the tones are there and decodable before redaction
    src = write_wav(tmp_path / "call.wav", call)
    out = write_redacted_audio(src, [], tmp_path / "red", "c1")
    red = read_audio(out)
    assert keys(red, params) == ""
    # the agent's speech survives: only the tone stretch is silenced
    agent = red.channel(1).samples
    assert np.count_nonzero(agent[: 3 * RATE]) > 0.95 * 3 * RATE


def test_tones_mixed_into_speech_on_a_mono_recording_are_muted():
    speech = speech_like(6.0)
    tones = concat([silence(1.0, RATE), keyed(CARD, level_dbfs=-16)])
    n = max(speech.n_samples, tones.n_samples)
    mix = np.zeros(n, dtype=np.int32)
    mix[: speech.n_samples] += speech.samples
    mix[: tones.n_samples] += tones.samples
    call = Audio(np.clip(mix, -32768, 32767).astype(np.int16), RATE)
    assert len(keys(call)) >= 12  # most keys decodable through the speech
    muted, spans = mute_dtmf(call)
    assert keys(muted) == ""
    assert spans and spans[0].start <= 1.1 and spans[-1].end >= 1.0 + 15 * 0.13  # the burst, whole


def test_short_quiet_tones_are_muted_too():
    """Keys a fast dialler sends (45 ms, -30 dBFS) are still a card number to anyone who decodes them."""
    call = concat(
        [silence(0.5, RATE), keyed(CARD, level_dbfs=-30, tone_ms=45, gap_ms=45), silence(0.5, RATE)]
    )
    assert keys(call) == CARD
    muted, _ = mute_dtmf(call)
    assert keys(muted, LENIENT) == ""


def test_a_recording_at_another_rate_is_muted_without_error():
    hi = Audio(dtmf_tones("4111", 44100), 44100)
    muted, spans = mute_dtmf(hi)
    assert len(spans) == 1 and keys(muted) == ""  # one burst of four keys
    low = Audio(dtmf_tones("41", 8000), 8000)
    assert len(mute_dtmf(low)[1]) == 1


def test_speech_without_tones_is_left_untouched():
    speech = speech_like(5.0)
    muted, spans = mute_dtmf(speech)
    assert spans == [] and np.array_equal(muted.samples, speech.samples)


def _telephone_speech(speak, text: str) -> Audio:
    return telephone(speak(text), snr_db=30, seed=1)


TALK = (
    "Thank you for calling Northwind Energy payments, my name is Tom. This call is recorded for "
    "quality and training purposes. Please key in the long number on your card, then press hash."
)


def test_keys_pressed_while_the_agent_talks_on_a_mono_line_are_muted(speak):
    """The hardest case: tones under speech of about the same level. Neither the receiver nor the
    loosest decoder finds a key where the card was keyed."""
    speech = _telephone_speech(speak, TALK)
    for level in (-16.0, -22.0):
        tones = keyed(CARD, level_dbfs=level).samples
        mix = speech.samples.astype(np.int32)
        at = 2 * RATE
        mix[at : at + len(tones)] += tones
        call = Audio(np.clip(mix, -32768, 32767).astype(np.int16), RATE)
        assert len(keys(call)) >= 10
        muted, _ = mute_dtmf(call)
        assert keys(muted) == ""
        tone_end = 2.0 + len(tones) / RATE
        left = [e for e in detect_dtmf(muted.samples, RATE, LENIENT) if 2.0 <= e.start_s <= tone_end]
        assert left == [], left


def test_speech_alone_loses_little_to_talk_off(speak):
    """Muting every tone costs a redacted copy only the odd blip of speech read as a tone."""
    speech = _telephone_speech(speak, TALK + " " + TALK)
    muted, spans = mute_dtmf(speech)
    lost = np.count_nonzero(speech.samples) - np.count_nonzero(muted.samples)
    assert lost / speech.n_samples < 0.03, (len(spans), lost / speech.n_samples)
