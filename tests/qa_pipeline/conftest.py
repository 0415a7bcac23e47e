"""Shared fixtures for the QA pipeline tests: the real engines (faster-whisper tiny.en, the
MiniLM sentiment model and phrase matcher) loaded once per session, sample calls rendered with
espeak-ng into a temp folder, and a database the default subset of samples is scored into."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[2]
CARDS = {
    "inbound": ROOT / "scorecards" / "inbound-service.yaml",
    "outbound": ROOT / "scorecards" / "outbound-sales.yaml",
}
DEFAULT_SAMPLES = (
    "inbound-card-payment",
    "inbound-late-disclosure",
    "inbound-no-disclosure",
    "outbound-reminder-mono",
)
"""Scored from audio in the default run (about 1.5 min on 2 cores, second listen included); all ten
in the slow tests."""
SAMPLE_SEED_ENV = "CALLWRIGHT_SAMPLE_SEED"
"""Another rendering of the sample calls (line noise and hold tune from other seeds) when set to a
number other than 0: what the tests assert must not change with it (docs/benchmarks/robustness.md)."""


def sample_variant() -> int:
    raw = os.environ.get(SAMPLE_SEED_ENV, "0").strip() or "0"
    try:
        return int(raw)
    except ValueError:
        raise pytest.UsageError(f"{SAMPLE_SEED_ENV}={raw!r}: expected a whole number") from None


@dataclass
class ScoredSample:
    script: object  # CallScript
    path: Path
    outcome: object  # CallOutcome


@pytest.fixture(scope="session")
def cards():
    from callwright.qa.scorecard import load_scorecard

    return {d: load_scorecard(p) for d, p in CARDS.items()}


@pytest.fixture(scope="session")
def engines():
    from callwright.qa.pipeline import get_engines

    return get_engines("whisper")


@pytest.fixture(scope="session")
def synth(sample_synth):
    """The real pyttsx3/espeak-ng engine behind a cache private to this session (tests/conftest.py)."""
    return sample_synth


@pytest.fixture(scope="session")
def scripts():
    from callwright.qa.samples import SAMPLES_DIR, load_scripts

    return {s.call_id: s for s in load_scripts(SAMPLES_DIR)}


@pytest.fixture(scope="session")
def render_samples(sample_calls):
    """Render (once per session, shared with tests/qa_ingest) and write the named samples; returns
    call id -> WAV path. Each call's reference transcript (the script's text at its rendered times)
    is written to `<folder>/ref/<call id>.json`."""
    variant = sample_variant()

    def make(names):
        return {name: sample_calls(name, variant)[1] for name in names}

    return make


@pytest.fixture(scope="session")
def scored_db(tmp_path_factory, render_samples, scripts, cards, engines):
    """The default samples scored end to end from audio and stored: (db path, {call id: ScoredSample})."""
    from callwright.qa.pipeline import PipelineOptions, score_path
    from callwright.store.db import open_db
    from callwright.store.qa import save_scored_call

    folder = tmp_path_factory.mktemp("qa-db")
    db_path = folder / "qa.db"
    db = open_db(db_path)
    samples = {}
    options = PipelineOptions(engine="whisper", redact_audio_dir=folder / "redacted")
    for name, path in render_samples(DEFAULT_SAMPLES).items():
        script = scripts[name]
        outcome = score_path(path, cards[script.meta.direction], engines, options=options)
        assert save_scored_call(db, outcome.scored)
        samples[name] = ScoredSample(script, path, outcome)
    db.conn.close()
    return db_path, samples
