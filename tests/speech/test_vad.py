"""Voice activity, live endpointing and whole-file speech regions on real synthesised speech."""

from __future__ import annotations

import numpy as np
import pytest

from callwright.speech.audio import (
    Audio,
    concat,
    frames,
    read_audio,
    resample,
    silence,
    trim_silence,
)
from callwright.speech.degrade import add_noise, mix_stereo, telephone
from callwright.speech.vad import (
    Endpointer,
    EndpointParams,
    FrameVad,
    NoInput,
    SpeechEnded,
    SpeechStarted,
    VadParams,
    iter_endpoint_events,
    speech_regions,
)

PHRASES = ("I would like to pay my bill", "yes please", "billing", "can I speak to somebody")
GAPS = (1.0, 1.5, 0.7, 2.0, 1.0)


def build_call(engine, voice: str) -> tuple[Audio, list[tuple[float, float]]]:
    """Phrases on a telephone channel separated by known silences, with true speech times."""
    clips = [
        trim_silence(telephone(engine.synthesize(p, voice=voice, sample_rate=16000), mulaw=False))
        for p in PHRASES
    ]
    parts, truth, t = [], [], 0.0
    for gap, clip in zip(GAPS, clips, strict=False):
        parts += [silence(gap, 8000), clip]
        truth.append((t + gap, t + gap + clip.duration_s))
        t += gap + clip.duration_s
    parts.append(silence(GAPS[-1], 8000))
    return concat(parts), truth


@pytest.fixture(scope="module")
def calls(engine):
    return {v: build_call(engine, v) for v in ("en-us", "en-gb", "es", "ko")}


def max_error(found, truth) -> float:
    return max(max(abs(a - c), abs(b - d)) for (a, b), (c, d) in zip(found, truth, strict=True))


@pytest.mark.parametrize("voice", ["en-us", "en-gb", "es", "ko"])
def test_regions_match_known_speech_within_100_ms(calls, voice):
    audio, truth = calls[voice]
    clean = speech_regions(audio)
    assert len(clean) == len(truth) and max_error(clean, truth) <= 0.1
    noisy = speech_regions(add_noise(audio, 20, seed=3))
    assert len(noisy) == len(truth) and max_error(noisy, truth) <= 0.1


@pytest.mark.parametrize("voice", ["en-us", "es"])
def test_regions_in_heavy_noise_keep_the_turn_structure(calls, voice):
    audio, truth = calls[voice]
    found = speech_regions(add_noise(audio, 10, seed=4))
    assert len(found) == len(truth)
    for (a, b), (c, d) in zip(found, truth, strict=True):
        assert abs(a - c) <= 0.1  # onsets stay sharp
        assert -0.2 <= b - d <= 0.1  # quiet word endings sink below the noise


def test_regions_at_16_khz_and_odd_rates(calls):
    audio, truth = calls["en-gb"]
    for rate in (16000, 22050):
        found = speech_regions(resample(audio, rate))
        assert len(found) == len(truth) and max_error(found, truth) <= 0.1


def test_regions_per_channel_of_a_stereo_call(calls):
    caller, truth = calls["en-us"]
    ivr = concat([silence(0.2, 8000), caller.channel(0)])  # a different, shifted side
    call = mix_stereo(caller, ivr)
    left = speech_regions(call.channel(0))
    right = speech_regions(call.channel(1))
    assert max_error(left, truth) <= 0.1
    assert max_error(right, [(a + 0.2, b + 0.2) for a, b in truth]) <= 0.1
    with pytest.raises(ValueError, match="one channel"):
        speech_regions(call)


def test_noise_alone_is_not_speech():
    hiss = add_noise(Audio(np.full(8000 * 5, 0, np.int16), 8000), 0, seed=1)  # silence stays
    assert speech_regions(hiss) == []
    rng = np.random.default_rng(0)
    for level in (-60, -40, -25):
        noise = rng.normal(0, 32768 * 10 ** (level / 20), 8000 * 5).astype(np.int16)
        assert speech_regions(Audio(noise, 8000)) == [], level


def test_fsdd_digits_are_one_region_each(fsdd_dir):
    files = sorted(fsdd_dir.glob("*.wav"))[::40]
    single = 0
    for f in files:
        digit = read_audio(f)
        audio = concat([silence(0.5, 8000), digit, silence(0.5, 8000)])
        regions = speech_regions(audio)
        single += len(regions) == 1
        assert regions and regions[0][0] >= 0.45 and regions[-1][1] <= 0.55 + digit.duration_s
    assert single >= 0.95 * len(files)


def run_live(audio: Audio, params: EndpointParams, frame_ms: int = 20):
    ep = Endpointer(audio.rate, params)
    events = []
    for i, f in enumerate(frames(audio, frame_ms)):
        events += ep.feed(f, i * frame_ms / 1000)
    return events


def test_live_endpointing_reports_start_and_end_with_both_times(calls):
    audio, truth = calls["en-us"]
    first = concat([Audio(audio.samples[: int(truth[1][1] * 8000) + 400], 8000), silence(2.0, 8000)])
    params = EndpointParams(end_of_speech_s=0.8, min_speech_ms=100, no_input_timeout_s=5)
    events = run_live(first, params)
    starts = [e for e in events if isinstance(e, SpeechStarted)]
    ends = [e for e in events if isinstance(e, SpeechEnded)]
    assert len(starts) == 2 and len(ends) == 2
    assert not any(isinstance(e, NoInput) for e in events)
    for start, end, (t0, t1) in zip(starts, ends, truth, strict=False):
        assert abs(start.t - t0) <= 0.1
        assert start.t_decided - start.t == pytest.approx(0.1, abs=0.045)
        assert abs(end.t_end_of_speech - t1) <= 0.1
        assert end.t_decided - end.t_end_of_speech == pytest.approx(0.8, abs=0.021)
        assert end.reason == "silence"


@pytest.mark.parametrize("eos", [0.4, 1.2])
def test_end_of_speech_waits_for_the_configured_silence(calls, eos):
    audio, truth = calls["en-gb"]
    one = concat([Audio(audio.samples[: int(2.9 * 8000)], 8000), silence(2.0, 8000)])
    events = run_live(one, EndpointParams(end_of_speech_s=eos, no_input_timeout_s=None))
    (end,) = [e for e in events if isinstance(e, SpeechEnded)]
    assert end.t_decided - end.t_end_of_speech == pytest.approx(eos, abs=0.021)
    assert abs(end.t_end_of_speech - truth[0][1]) <= 0.1


def test_no_input_fires_once_when_nothing_is_said():
    quiet = add_noise(Audio(np.full(8000 * 8, 30, np.int16), 8000), 0, seed=2)
    events = run_live(quiet, EndpointParams(no_input_timeout_s=3.0))
    assert events == [NoInput(pytest.approx(3.0, abs=0.021))]


def test_clicks_are_ignored_but_speech_is_not(calls):
    rng = np.random.default_rng(5)
    line = np.zeros(8000 * 4, np.int16)
    for at in (0.5, 1.3, 2.2, 3.1):  # 20 ms bursts: door slams, key clicks
        s = int(at * 8000)
        line[s : s + 160] = rng.normal(0, 8000, 160).astype(np.int16)
    clicks = Audio(line, 8000)
    events = run_live(clicks, EndpointParams(no_input_timeout_s=3.5, min_speech_ms=100))
    assert [type(e) for e in events] == [NoInput]
    audio, truth = calls["es"]
    speech = concat([clicks, Audio(audio.samples[int(0.8 * 8000) : int(2.9 * 8000)], 8000)])
    events = run_live(speech, EndpointParams(no_input_timeout_s=None, min_speech_ms=100))
    assert [type(e) for e in events][:1] == [SpeechStarted]
    assert abs(events[0].t - (4.0 + truth[0][0] - 0.8)) <= 0.1


def test_max_speech_cuts_a_long_utterance(calls):
    audio, truth = calls["en-us"]
    events = run_live(audio, EndpointParams(max_speech_s=0.8, no_input_timeout_s=None))
    cut = [e for e in events if isinstance(e, SpeechEnded) and e.reason == "max_speech"]
    assert cut and cut[0].t_decided - cut[0].t_start == pytest.approx(0.8, abs=0.021)


def test_reset_starts_a_new_ask_state(calls):
    audio, _ = calls["ko"]
    ep = Endpointer(8000, EndpointParams(no_input_timeout_s=0.5))
    gap = silence(0.6, 8000)
    out = []
    for i, f in enumerate(frames(gap, 20)):
        out += ep.feed(f, i * 0.02)
    assert [type(e) for e in out] == [NoInput]
    ep.reset(EndpointParams(no_input_timeout_s=0.3), t=0.6)
    out = []
    for i, f in enumerate(frames(gap, 20)):
        out += ep.feed(f, 0.6 + i * 0.02)
    assert out == [NoInput(pytest.approx(0.9, abs=0.021))]


@pytest.mark.parametrize("chunk_ms", [7, 30])
def test_any_chunk_size_gives_the_same_events(calls, chunk_ms):
    audio, _ = calls["en-gb"]
    params = EndpointParams(no_input_timeout_s=None)
    expected = list(iter_endpoint_events(audio, params))
    ep = Endpointer(8000, params)
    n = 8 * chunk_ms
    got = []
    for start in range(0, audio.n_samples, n):
        got += ep.feed(audio.samples[start : start + n], start / 8000)
    got += ep.finish(audio.duration_s)
    assert got == expected


def test_frame_vad_checks_its_input():
    with pytest.raises(ValueError, match="resample"):
        FrameVad(22050)
    with pytest.raises(ValueError, match="10, 20, 30"):
        FrameVad(8000, VadParams(frame_ms=25))
    vad = FrameVad(16000, VadParams(frame_ms=30))
    assert vad.frame_len == 480
    with pytest.raises(ValueError, match="480 int16"):
        vad.is_speech(np.zeros(160, np.int16))
