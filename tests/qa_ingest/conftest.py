"""Shared fixtures for the ingest, metrics and sample-call tests: one real espeak-ng
worker, and every committed conversation script rendered once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from callwright.qa.samples import SAMPLES_DIR, RenderedCall, load_scripts, render, write_call


@pytest.fixture(scope="session")
def synth(tmp_path_factory):
    """The real pyttsx3/espeak-ng engine behind a cache private to this session."""
    from callwright.speech.tts import CachedSynthesizer, Pyttsx3Synthesizer

    with Pyttsx3Synthesizer() as engine:
        yield CachedSynthesizer(engine, tmp_path_factory.mktemp("tts-cache"))


@pytest.fixture(scope="session")
def samples(synth, tmp_path_factory) -> dict[str, tuple[RenderedCall, Path]]:
    """Each committed sample rendered and written (WAV + sidecar) into a temp folder."""
    out = tmp_path_factory.mktemp("samples")
    rendered = {}
    for script in load_scripts(SAMPLES_DIR):
        call = render(script, synth)
        rendered[script.call_id] = (call, write_call(call, out))
    return rendered


FSDD_DIR = (Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "fsdd").resolve()


@pytest.fixture(scope="session")
def fsdd_dir() -> Path:
    """The shared Free Spoken Digit Dataset (real voices); tests using it skip where it is absent."""
    if not FSDD_DIR.is_dir() or not any(FSDD_DIR.glob("*.wav")):
        pytest.skip(f"FSDD not found at {FSDD_DIR}")
    return FSDD_DIR
