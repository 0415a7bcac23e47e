import os
from pathlib import Path

import pytest
from hypothesis import settings

# The suite is derandomized: every run tries the same generated inputs, so a
# green main stays green on any machine, and what a fuzz test once found is
# pinned with @example. To hunt for new failures, run with
# HYPOTHESIS_PROFILE=explore (a fresh random draw each run).
settings.register_profile("default", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

ROOT = Path(__file__).resolve().parents[1]
FLOWS = ROOT / "flows"
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def inbound_flow():
    from callwright.flows.loader import load_flow

    return load_flow(FLOWS / "inbound.yaml")


@pytest.fixture(scope="session")
def sample_synth(tmp_path_factory):
    """The real pyttsx3/espeak-ng engine behind a cache private to this session: the one the
    sample-call tests of tests/qa_ingest and tests/qa_pipeline render with (one worker, one cache)."""
    from callwright.speech.tts import CachedSynthesizer, Pyttsx3Synthesizer

    with Pyttsx3Synthesizer() as engine:
        yield CachedSynthesizer(engine, tmp_path_factory.mktemp("tts-cache"))


@pytest.fixture(scope="session")
def sample_calls(sample_synth, tmp_path_factory):
    """Render a committed sample call once per session: `make(call_id, variant=0)` ->
    (RenderedCall, WAV path). The WAV, its sidecar and (under `ref/`) its reference transcript are
    written to a folder per variant. Rendering all ten takes about 20 s on 2 cores; the ingest and
    the pipeline tests used to render each call once each."""
    from callwright.qa.samples import SAMPLES_DIR, load_scripts, render, variant_seed, write_call

    scripts = {s.call_id: s for s in load_scripts(SAMPLES_DIR)}
    folders: dict[int, Path] = {}
    done: dict[tuple[str, int], tuple] = {}

    def make(call_id: str, variant: int = 0) -> tuple:
        key = (call_id, variant)
        if key not in done:
            if variant not in folders:
                folders[variant] = tmp_path_factory.mktemp(f"samples-{variant}")
            out = folders[variant]
            call = render(scripts[call_id], sample_synth, seed=variant_seed(scripts[call_id], variant))
            done[key] = (call, write_call(call, out, transcripts_dir=out / "ref"))
        return done[key]

    return make
