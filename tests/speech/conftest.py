"""Shared fixtures for the speech I/O tests: real data paths and synthesised speech."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
FSDD_DIR = (REPO_ROOT / ".." / "shared" / "data" / "fsdd").resolve()


@pytest.fixture(scope="session")
def fsdd_dir() -> Path:
    """The shared Free Spoken Digit Dataset; tests using it skip where it is absent."""
    if not FSDD_DIR.is_dir() or not any(FSDD_DIR.glob("*.wav")):
        pytest.skip(f"FSDD not found at {FSDD_DIR}")
    return FSDD_DIR


@pytest.fixture(scope="session")
def engine():
    """One real pyttsx3/espeak-ng worker for the whole session (not cached)."""
    from callwright.speech.tts import Pyttsx3Synthesizer

    with Pyttsx3Synthesizer() as synth:
        yield synth


@pytest.fixture(scope="session")
def synth(engine, tmp_path_factory):
    """The product set-up: the real engine behind a prompt cache in a temp dir."""
    from callwright.speech.tts import CachedSynthesizer

    return CachedSynthesizer(engine, tmp_path_factory.mktemp("tts-cache"))


TALK_TEXT = (
    "Thank you for calling the customer service line. Your call may be recorded for "
    "quality and training purposes. For billing questions, say billing or press one. "
    "To report a fault on your line, say support or press two. For anything else, stay "
    "on the line and an agent will be with you shortly. Your account number is four "
    "seven two nine one eight zero three. The balance due is one hundred and twenty "
    "three dollars and forty five cents, payable by the twenty first of March. "
    "Hello? Yes, I would like to speak to someone about my last bill, please. "
    "Oh, nine, nine, eight. Double five. Seven seven seven. Zero one two three four five six."
)
TALK_VOICES = ("en-us", "en-gb", "en-us-nyc", "es", "ko")


@pytest.fixture(scope="session")
def talk_8k(engine):
    """About a minute of espeak-ng speech per voice, through a telephone channel at 8 kHz."""
    from callwright.speech.degrade import telephone

    return {
        v: telephone(engine.synthesize(TALK_TEXT, voice=v, sample_rate=16000), snr_db=30, seed=1)
        for v in TALK_VOICES
    }
