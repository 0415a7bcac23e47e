import os
import queue
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


@pytest.fixture
def float32_products(monkeypatch):
    """The text encoder's matrix products in float32 for one test. For tests that compare two
    computations of the same vectors or ratings (batched and one by one, a joint pass and each
    model alone, a batch's groups and its calls one by one) to float rounding: int8 products, the default on a CPU with VNNI and no
    bfloat16, are not batch-invariant (a last-bit float difference can put an activation on the
    next 8-bit step), so such a test would fail there and pass here."""
    from callwright.nlp.embeddings import PRODUCTS_ENV, Encoder, Products

    # the process-wide caches (the matcher's vectors and ratings, the sentiment memory) hold one
    # kind of products' values and empty themselves at a change: neither side reads the other's
    monkeypatch.setattr(Encoder, "products", Products.FLOAT32)
    monkeypatch.setenv(PRODUCTS_ENV, Products.FLOAT32.value)  # and in worker processes


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


RENDER_THREADS = 2
"""Sample calls rendered at once by `sample_calls.all`: one espeak-ng worker each, one per core of
the 2-core machine the suite is timed on (a render is mostly espeak-ng in its worker process)."""


class SampleCalls:
    """`sample_calls(call_id, variant=0)` -> (RenderedCall, WAV path), rendered once per session.

    The WAV, its sidecar and (under `ref/`) its reference transcript are written to a folder per
    variant. `all(call_ids, variant)` renders the missing ones `RENDER_THREADS` at a time (each
    render is the first of a fresh espeak-ng worker, so which engine renders a call does not
    change its audio): rendering all ten took 25 s on 2 cores one at a time."""

    def __init__(self, synth, tmp_path_factory) -> None:
        from callwright.qa.samples import SAMPLES_DIR, load_scripts

        self._synth = synth
        self._factory = tmp_path_factory
        self._scripts = {s.call_id: s for s in load_scripts(SAMPLES_DIR)}
        self._folders: dict[int, Path] = {}
        self._done: dict[tuple[str, int], tuple] = {}

    def _folder(self, variant: int) -> Path:
        if variant not in self._folders:
            self._folders[variant] = self._factory.mktemp(f"samples-{variant}")
        return self._folders[variant]

    def _render(self, call_id: str, variant: int, synth) -> tuple:
        from callwright.qa.samples import render, variant_seed, write_call

        script, out = self._scripts[call_id], self._folder(variant)
        call = render(script, synth, seed=variant_seed(script, variant))
        return call, write_call(call, out, transcripts_dir=out / "ref")

    def __call__(self, call_id: str, variant: int = 0) -> tuple:
        if (call_id, variant) not in self._done:
            self._done[call_id, variant] = self._render(call_id, variant, self._synth)
        return self._done[call_id, variant]

    def all(self, call_ids: list[str], variant: int = 0) -> dict[str, tuple]:
        from concurrent.futures import ThreadPoolExecutor

        from callwright.speech.tts import CachedSynthesizer, Pyttsx3Synthesizer

        missing = [c for c in dict.fromkeys(call_ids) if (c, variant) not in self._done]
        self._folder(variant)
        engines = [Pyttsx3Synthesizer() for _ in range(min(RENDER_THREADS, len(missing)) - 1)]
        synths = [self._synth, *(CachedSynthesizer(e, self._synth.cache_dir) for e in engines)]
        free: queue.SimpleQueue = queue.SimpleQueue()  # a synthesizer serves one render at a time
        for synth in synths:
            free.put(synth)

        def render(call_id: str) -> tuple:
            synth = free.get()
            try:
                return self._render(call_id, variant, synth)
            finally:
                free.put(synth)

        try:
            with ThreadPoolExecutor(len(synths)) as pool:
                for call_id, result in zip(missing, pool.map(render, missing), strict=True):
                    self._done[call_id, variant] = result
        finally:
            for engine in engines:
                engine.close()
        return {c: self(c, variant) for c in call_ids}


@pytest.fixture(scope="session")
def sample_calls(sample_synth, tmp_path_factory) -> SampleCalls:
    """Render a committed sample call once per session (see `SampleCalls`); the ingest and the
    pipeline tests used to render each call once each."""
    return SampleCalls(sample_synth, tmp_path_factory)
