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
