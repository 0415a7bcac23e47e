"""Real speech from espeak-ng through pyttsx3: rates, voices, cache, faults and the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from callwright.errors import AudioError
from callwright.speech.audio import Audio, read_audio, write_wav
from callwright.speech.tts import (
    CachedSynthesizer,
    PromptAudio,
    Pyttsx3Synthesizer,
    SynthesisError,
)

CLI = [sys.executable, "-m", "callwright"]


def rms_db(a: Audio) -> float:
    x = a.samples.astype(float)
    return 10 * np.log10(np.mean(x**2) / 32768**2 + 1e-12)


def voiced_fraction(a: Audio) -> float:
    """Share of 20 ms frames more than 30 dB above digital silence floor."""
    n = a.rate // 50
    x = a.samples[: len(a.samples) // n * n].astype(float).reshape(-1, n)
    db = 10 * np.log10(np.mean(x**2, axis=1) / 32768**2 + 1e-12)
    return float(np.mean(db > -50))


@pytest.mark.parametrize("rate", [8000, 16000])
def test_synthesis_is_speech_at_the_channel_rate(engine, rate):
    a = engine.synthesize("Thank you for calling. Please say billing or support.", sample_rate=rate)
    assert a.rate == rate and a.channels == 1
    assert 2.0 < a.duration_s < 6.0
    assert rms_db(a) > -30
    assert 0.4 < voiced_fraction(a) < 0.98  # speech has pauses; noise or silence would not


def test_duration_grows_with_text(engine):
    short = engine.synthesize("Yes.")
    long = engine.synthesize("Yes. Your balance is forty two dollars and seventeen cents.")
    assert long.duration_s > short.duration_s + 1.5


def test_speaking_rate_changes_duration(engine):
    text = "Please enter your account number followed by the hash key."
    slow = engine.synthesize(text, rate_wpm=120)
    fast = engine.synthesize(text, rate_wpm=260)
    assert slow.duration_s > 1.6 * fast.duration_s


def test_settings_apply_every_time_in_one_worker(engine):
    # pyttsx3 2.99 drops queued voice/rate changes at random; the worker must not
    text = "Please enter your account number."
    runs = [
        (v, r, engine.synthesize(text, voice=v, rate_wpm=r).n_samples)
        for v, r in [("en-us", 120), ("es", 260), ("en-us", 120), ("es", 260), ("en-us", 200)]
    ]
    assert abs(runs[0][2] - runs[2][2]) < 0.02 * runs[0][2]
    assert abs(runs[1][2] - runs[3][2]) < 0.02 * runs[1][2]
    assert runs[0][2] > 1.5 * runs[1][2]
    assert runs[0][2] > 1.4 * runs[4][2]


def test_voices_differ_and_korean_is_available(engine):
    text = "Press one for billing."
    us = engine.synthesize(text, voice="en-us")
    es = engine.synthesize(text, voice="es")
    n = min(us.n_samples, es.n_samples)
    assert not np.array_equal(us.samples[:n], es.samples[:n])
    assert engine.settings(voice="en-gb").voice != engine.settings(voice="en-us").voice
    ko = engine.synthesize("안녕하세요. 일 번을 누르세요.", language="ko")
    assert engine.settings(language="ko").voice == "ko"
    assert ko.duration_s > 1.0 and rms_db(ko) > -30


def test_voice_names_resolve_to_one_engine_voice(engine):
    ids = {engine.settings(voice=v).voice for v in ("en-us", "gmw/en-us", "English (America)")}
    assert ids == {"gmw/en-us"}
    ids = {v.short_id for v in engine.voices()}
    assert {"en-us", "es", "ko"} <= ids


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"voice": "no-such-voice"}, "unknown TTS voice 'no-such-voice'"),
        ({"language": "xx-nowhere"}, "no TTS voice speaks language"),
        ({"rate_wpm": 5}, "speaking rate 5"),
        ({"sample_rate": 100}, "sample rate 100"),
    ],
)
def test_bad_settings_are_clear_user_errors(engine, kwargs, match):
    with pytest.raises(SynthesisError, match=match) as info:
        engine.synthesize("hello", **kwargs)
    assert info.value.hint


def test_empty_text_is_refused(engine):
    with pytest.raises(SynthesisError, match="empty"):
        engine.synthesize("   \n ")


def test_the_same_prompt_gives_the_same_audio_whatever_was_said_before(engine):
    """espeak-ng carries state from one utterance to the next inside a process; a content-addressed
    cache (and reproducible sample calls) needs the audio to depend on the request only."""
    text = "Thank you for calling Northwind Energy, my name is Maria."
    first = engine.synthesize(text)
    engine.synthesize("I understand, that is not the service you should get.", voice="en-gb")
    again = engine.synthesize(text)
    with Pyttsx3Synthesizer() as fresh:
        alone = fresh.synthesize(text)
    assert np.array_equal(first.samples, again.samples)
    assert np.array_equal(first.samples, alone.samples)


def test_cache_renders_each_prompt_once(engine, tmp_path):
    synth = CachedSynthesizer(engine, tmp_path / "cache")
    before = engine.renders
    first = synth.synthesize("Your call is important to us.", voice="en-gb")
    assert engine.renders == before + 1 and synth.misses == 1
    again = synth.synthesize("Your  call is important to us. ", voice="en-gb")
    assert engine.renders == before + 1 and synth.hits == 1
    assert np.array_equal(first.samples, again.samples)
    assert len(list((tmp_path / "cache").rglob("*.wav"))) == 1
    # a second process-level cache on the same directory also hits
    other = CachedSynthesizer(engine, tmp_path / "cache")
    other.synthesize("Your call is important to us.", voice="gmw/en")
    assert other.hits == 1 and engine.renders == before + 1
    # anything that changes the audio is a different entry
    synth.synthesize("Your call is important to us.", voice="en-gb", sample_rate=16000)
    synth.synthesize("Your call is important to us.", voice="en-gb", rate_wpm=140)
    assert engine.renders == before + 3
    assert len(list((tmp_path / "cache").rglob("*.wav"))) == 3


def test_damaged_cache_entry_is_re_rendered(engine, tmp_path):
    synth = CachedSynthesizer(engine, tmp_path)
    synth.synthesize("Goodbye.")
    (entry,) = tmp_path.rglob("*.wav")
    entry.write_bytes(b"garbage")
    again = synth.synthesize("Goodbye.")
    assert synth.misses == 2 and again.duration_s > 0.3
    assert read_audio(entry).n_samples == again.n_samples


def test_pyttsx3_prints_do_not_reach_our_stdout(engine, capfd):
    engine.synthesize("Quiet please.")
    out, _ = capfd.readouterr()
    assert "Audio saved" not in out


def test_hung_worker_is_killed_and_render_retried():
    with Pyttsx3Synthesizer(timeout_s=3) as synth:
        synth.synthesize("warm up")
        synth.inject_fault("hang")
        t0 = time.monotonic()
        audio = synth.synthesize("Still here.")
        elapsed = time.monotonic() - t0
        assert audio.duration_s > 0.3
        assert synth.restarts == 1
        assert 3 <= elapsed < 30


def test_worker_that_keeps_hanging_gives_a_clear_error():
    with Pyttsx3Synthesizer(timeout_s=2, retries=1) as synth:
        synth.voices()
        synth.inject_fault("hang", times=2)
        with pytest.raises(SynthesisError, match="no answer within 2 s"):
            synth.synthesize("never")
        assert synth.restarts == 2
        # and the next prompt works again in a fresh worker
        assert synth.synthesize("recovered").duration_s > 0.3


def test_crashed_worker_is_restarted():
    with Pyttsx3Synthesizer(timeout_s=10) as synth:
        synth.inject_fault("crash")
        assert synth.synthesize("after a crash").duration_s > 0.3
        assert synth.restarts == 1


def test_closing_removes_the_render_folder_and_a_later_render_still_works():
    """The temporary folder goes with close(), not with a finaliser that warns at exit
    ("Implicitly cleaning up <TemporaryDirectory>"); a render after close starts afresh."""
    import gc
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        tts = Pyttsx3Synthesizer()
        assert tts.synthesize("one").duration_s > 0.1
        folder = Path(tts._tmpdir.name)
        assert folder.is_dir()
        tts.close()
        assert not folder.exists()
        assert tts.synthesize("two").duration_s > 0.1
        tts.close()
        del tts
        gc.collect()


def test_prompt_audio_prefers_recorded_file(synth, tmp_path):
    t = np.arange(16000) / 16000
    recorded = Audio((8000 * np.sin(2 * np.pi * 500 * t)).astype(np.int16), 16000)
    write_wav(tmp_path / "welcome.wav", recorded)
    prompts = PromptAudio(synth, rate=8000, base_dir=tmp_path)
    a = prompts.render("Welcome", file="welcome.wav")
    assert a.rate == 8000 and a.n_samples == 8000
    spoken = prompts.render("Welcome")
    assert spoken.rate == 8000 and spoken.n_samples != 8000
    with pytest.raises(AudioError, match="missing.wav"):
        prompts.render("x", file="missing.wav")


def _run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CALLWRIGHT_TTS_CACHE": str(cwd / "cache")}
    return subprocess.run([*CLI, "tts", *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=120)


def test_cli_writes_wav_in_requested_encoding(tmp_path):
    r = _run_cli(
        "Press two for sales.", "-o", "out.wav", "--encoding", "ulaw", "--voice", "en-us",
        "--json", cwd=tmp_path,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout.strip())
    assert info["sample_rate"] == 8000 and info["voice"] == "gmw/en-us"
    sfinfo = sf.info(tmp_path / "out.wav")
    assert sfinfo.subtype == "ULAW" and sfinfo.samplerate == 8000
    assert sfinfo.duration == pytest.approx(info["duration_s"], abs=0.01)
    assert list((tmp_path / "cache").rglob("*.wav"))


def test_cli_list_voices_json(tmp_path):
    r = _run_cli("--list-voices", "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    voices = [json.loads(line) for line in r.stdout.splitlines()]
    assert {"en-us", "ko"} <= {v["id"] for v in voices}


def test_cli_bad_voice_is_a_message_not_a_traceback(tmp_path):
    r = _run_cli("hello", "-o", "o.wav", "--voice", "no-such-voice", cwd=tmp_path)
    assert r.returncode == 1
    assert "unknown TTS voice 'no-such-voice'" in r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "o.wav").exists()


# -- where the cache lives and how long it keeps personal data (issue 12) ---------------------------------


def test_the_default_cache_is_the_users_cache_directory_never_the_checkout(monkeypatch, tmp_path):
    from callwright.speech.tts import default_cache_dir

    checkout = Path(__file__).resolve().parents[2]
    monkeypatch.delenv("CALLWRIGHT_TTS_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "callwright" / "tts"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "callwright" / "tts"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")  # ignored, as the XDG spec says
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "callwright" / "tts"
    assert checkout not in default_cache_dir().parents
    monkeypatch.setenv("CALLWRIGHT_TTS_CACHE", str(tmp_path / "mine"))
    assert default_cache_dir() == tmp_path / "mine"


def test_cache_folders_and_entries_are_readable_by_the_owner_only(engine, tmp_path):
    synth = CachedSynthesizer(engine, tmp_path / "new" / "cache")
    synth.synthesize("I heard 7 3 0 5.")
    (entry,) = (tmp_path / "new" / "cache").rglob("*.wav")
    assert entry.stat().st_mode & 0o777 == 0o600
    assert entry.parent.stat().st_mode & 0o777 == 0o700
    assert (tmp_path / "new" / "cache").stat().st_mode & 0o777 == 0o700


def test_entries_older_than_the_max_age_are_removed_on_open_and_never_served(engine, tmp_path):
    from callwright.speech.tts.cache import MAX_AGE_S

    synth = CachedSynthesizer(engine, tmp_path)
    synth.synthesize("I heard 7 3 0 5.")
    synth.synthesize("Goodbye.")
    old, young = sorted(tmp_path.rglob("*.wav"), key=lambda p: p.name)
    past = time.time() - MAX_AGE_S - 60
    os.utime(old, (past, past))
    reopened = CachedSynthesizer(engine, tmp_path)
    assert reopened.expired == 1 and not old.exists() and young.exists()
    # an entry that ages past the limit while a cache is open is rendered afresh, not served
    os.utime(young, (past, past))
    before = engine.renders
    reopened.synthesize("Goodbye.")
    reopened.synthesize("I heard 7 3 0 5.")
    assert engine.renders == before + 2 and reopened.hits == 0


def test_a_prompt_with_caller_data_can_bypass_the_cache(engine, tmp_path):
    synth = CachedSynthesizer(engine, tmp_path / "cache")
    said = synth.synthesize("I heard 7 3 0 5.", cache=False)
    assert said.duration_s > 0.5 and not (tmp_path / "cache").exists()
    prompts = PromptAudio(synth)
    prompts.render("Your account number is 1 2 3 4.", cache=False)
    assert not (tmp_path / "cache").exists()
    prompts.render("Welcome.")
    assert len(list((tmp_path / "cache").rglob("*.wav"))) == 1


def test_a_max_age_that_is_not_positive_is_refused(engine, tmp_path):
    from callwright.errors import CallwrightError

    for bad in (0, -1, float("nan")):
        with pytest.raises(CallwrightError, match="max age"):
            CachedSynthesizer(engine, tmp_path, max_age_s=bad)
