"""End to end on audio: synthesised callers (several espeak-ng voices, 8 kHz telephone band,
noise) and DTMF tones drive the inbound sample through the real recogniser to the right queue."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
import yaml

from callwright.flows.loader import load_flow
from callwright.ivr.channels.audio import AudioLine, ScriptedAudioChannel, load_caller_script
from callwright.ivr.channels.mic import MicChannel
from callwright.ivr.clock import FakeClock, RealClock
from callwright.ivr.engine import FlowEngine
from callwright.ivr.runner import run_call
from callwright.speech.audio import read_audio, write_wav
from callwright.speech.degrade import telephone
from callwright.speech.tts import PromptAudio, default_synthesizer
from callwright.store.calllog import CallLog
from callwright.store.db import open_db
from tests.conftest import FLOWS
from tests.ivr.fake_sound import FakeSoundDevice

OPEN = datetime.fromisoformat("2026-11-23T10:00:00-05:00")
RATE = 8000


@pytest.fixture(scope="session")
def synth():
    return default_synthesizer()


@pytest.fixture(scope="session")
def recognizer():
    from callwright.speech.asr import get_recognizer

    return get_recognizer("whisper")


@pytest.fixture(scope="session")
def inbound_engine():
    return FlowEngine(load_flow(FLOWS / "inbound.yaml"))


def caller_wav(synth, tmp: Path, text: str, voice: str, snr_db: float, seed: int) -> Path:
    audio = synth.synthesize(text, voice=voice, sample_rate=16000)
    phone = telephone(audio, snr_db=snr_db, seed=seed)
    path = tmp / f"{voice}-{seed}.wav"
    write_wav(path, phone)
    return path


def run_script(engine, synth, recognizer, turns, tmp, db=None):
    script = tmp / "caller.yaml"
    script.write_text(yaml.safe_dump({"turns": turns}))
    line = AudioLine(RATE, recognizer, PromptAudio(synth, RATE))
    clock = FakeClock(OPEN)
    channel = ScriptedAudioChannel(load_caller_script(script), line, clock, synthesizer=synth)
    log = CallLog(db) if db is not None else None
    session = run_call(engine, channel, clock, calllog=log)
    rec = line.save_recording(tmp / f"{session.call_id}.wav", session.elapsed)
    if log is not None:
        log.set_recording(session.call_id, str(rec))
    return session, channel, rec


def test_dtmf_tones_reach_billing_and_the_call_is_recorded(inbound_engine, synth, recognizer, tmp_path):
    db = open_db(tmp_path / "calls.db")
    turns = [{"dtmf": "1"}, {"dtmf": "1"}, {"dtmf": "4111#"}, {"dtmf": "1"}]
    s, channel, rec = run_script(inbound_engine, synth, recognizer, turns, tmp_path, db)
    assert (s.outcome, s.queue, s.vars["account_number"]) == ("transferred", "billing", "4111")
    stereo = read_audio(rec)
    assert stereo.rate == RATE and stereo.channels == 2
    caller, ivr = stereo.samples[:, 0].astype(float), stereo.samples[:, 1].astype(float)
    assert np.sqrt((ivr**2).mean()) > 300  # prompts on the right
    assert np.sqrt((caller**2).mean()) > 30  # key tones on the left
    # the two directions do not overlap: the caller waits for the prompts here
    assert float(np.mean((np.abs(caller) > 500) & (np.abs(ivr) > 500))) < 0.01
    assert db["calls"].get(s.call_id)["recording_path"] == str(rec)
    assert stereo.duration_s == pytest.approx(s.elapsed, abs=0.5)


SPEECH_CALLERS = [("en-us", 20), ("en-gb", 15), ("en-gb-x-rp", 20)]
SPEECH_CALLERS_RIGHT = 2
"""Of the three voices, at least this many reach billing with the account number read right: a
spoken account number is four digits of synthetic speech through a noisy line, which tiny.en gets
right on most machines and voices, not all (docs/benchmarks/robustness.md)."""


def test_speech_callers_reach_billing(inbound_engine, synth, recognizer, tmp_path):
    right, calls = 0, {}
    for voice, snr in SPEECH_CALLERS:
        folder = tmp_path / voice
        folder.mkdir()
        turns = [
            {"wav": str(caller_wav(synth, folder, text, voice, snr, seed=i))}
            for i, text in enumerate(["English", "billing", "four one one one", "yes"])
        ]
        s, channel, _ = run_script(inbound_engine, synth, recognizer, turns, folder)
        calls[voice] = (
            s.outcome,
            s.queue,
            s.vars.get("account_number"),
            [d for d in channel.dialogue if d.strip().startswith("heard")],
        )
        assert s.outcome is not None, channel.dialogue  # every call ends with an outcome
        right += (
            s.outcome,
            s.queue,
            s.vars.get("account_number"),
            s.vars.get("language"),
            s.vars.get("reason"),
        ) == ("transferred", "billing", "4111", "en", "billing")
    assert right >= SPEECH_CALLERS_RIGHT, calls


def test_speech_and_keys_mixed_to_support_and_silence_gives_no_input(
    inbound_engine, synth, recognizer, tmp_path
):
    turns = [
        {"dtmf": "1"},
        {"silence": 6},
        {"wav": str(caller_wav(synth, tmp_path, "technical support", "en-us", 20, 7))},
        {"dtmf": "55501#"},
        {"wav": str(caller_wav(synth, tmp_path, "yes", "en-gb", 20, 8))},
    ]
    s, channel, _ = run_script(inbound_engine, synth, recognizer, turns, tmp_path)
    assert "IVR: Sorry, I didn't hear anything." in channel.dialogue
    assert (s.outcome, s.queue, s.vars["account_number"]) == ("transferred", "support", "55501")


def test_mic_barge_in_stops_the_prompt_within_200_ms(synth, recognizer, tmp_path):
    flow = load_flow(FLOWS / "inbound.yaml")
    engine = FlowEngine(flow)
    # The caller says "agent" 1.5 s into the welcome prompt (the operator command).
    speech = telephone(synth.synthesize("agent", voice="en-us", sample_rate=16000), snr_db=25)
    device = FakeSoundDevice(RATE, speech.samples, speak_after_first_prompt_s=1.5)
    line = AudioLine(RATE, recognizer, PromptAudio(synth, RATE))
    channel = MicChannel(line, device, RealClock())
    s = run_call(engine, channel, RealClock())
    assert device.stopped_at is not None, channel.dialogue
    latency_s = (device.stopped_at - device.speech_onset) / RATE
    assert 0 <= latency_s <= 0.2, latency_s
    assert (s.outcome, s.queue) == ("transferred", "general"), channel.dialogue
