"""Shared fixtures for the ingest, metrics and sample-call tests: one real espeak-ng
worker, and every committed conversation script rendered once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from callwright.qa.samples import SAMPLES_DIR, RenderedCall, load_scripts


@pytest.fixture(scope="session")
def synth(sample_synth):
    """The real pyttsx3/espeak-ng engine behind a cache private to this session (tests/conftest.py)."""
    return sample_synth


@pytest.fixture(scope="session")
def samples(sample_calls) -> dict[str, tuple[RenderedCall, Path]]:
    """Each committed sample rendered and written (WAV + sidecar), shared with tests/qa_pipeline."""
    return sample_calls.all([script.call_id for script in load_scripts(SAMPLES_DIR)])


FSDD_DIR = (Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "fsdd").resolve()


@pytest.fixture(scope="session")
def fsdd_dir() -> Path:
    """The shared Free Spoken Digit Dataset (real voices); tests using it skip where it is absent."""
    if not FSDD_DIR.is_dir() or not any(FSDD_DIR.glob("*.wav")):
        pytest.skip(f"FSDD not found at {FSDD_DIR}")
    return FSDD_DIR
