"""Issue 17 (speed): the matcher's cheaper paths change no verdict.

What makes scoring an imported call cheaper: the wording of all of a rule's utterances
is compared in one rapidfuzz pass per window size (`CallText.batched`), with each call's
windows joined once for the rules that look at the same utterances (`CallText.shared_windows`)
and the counter-examples' partial ratios taken only where an example still counts
(`CallText.counter_where_needed`);
the encoder cuts its batches where padding costs more than a forward pass (`Encoder.pad_aware`),
runs a plain BERT without the transformers module machinery (`Encoder.lean`), and takes all a
call's rules need in one encoder call (`CallText.one_pass`). Each call here
is scored both ways with a fresh vector cache and every item's verdict, points and evidence
(text, times, similarity, matched span) must be the same; floats within 1e-6 (the encoder's
batch shapes move the last bits of a vector, not a verdict). Calls: the real Harper Valley
bank calls (skipped when ../shared/data/harper-dev is absent), and hand-written calls with and
without punctuation on the sample scorecards.
"""

from __future__ import annotations

import importlib.util
import random
import sys
import tempfile
from pathlib import Path

import pytest
from scorecard_helpers import call, meta

from callwright.nlp.embeddings import Products, get_encoder, length_sorted_batches, padding_batches
from callwright.qa.ingest import read_transcript, resolve_meta
from callwright.qa.scorecard import PhraseMatcher, load_scorecard, score
from callwright.qa.scorecard.matching import CallText

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location(
    "harper_convert", ROOT / "scripts" / "harper_to_transcripts.py"
)
assert _spec is not None and _spec.loader is not None
convert = importlib.util.module_from_spec(_spec)
sys.modules["harper_convert"] = convert
_spec.loader.exec_module(convert)
DATASET = convert.find_dataset(ROOT)
HARPER_CALLS = 12  # of the 30: enough turns and items to meet every branch, about 4 s both ways


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """One thread, as the batch workers run: two threads on a busy 2-core machine are about five
    times slower (they wait on each other)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= 1e-6
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def _differences(old, new) -> list[str]:
    out = []
    for field in ("score", "raw_score", "auto_failed"):
        if not _same(getattr(old, field), getattr(new, field)):
            out.append(f"{old.call_id} {field}: {getattr(old, field)} != {getattr(new, field)}")
    for a, b in zip(old.items, new.items, strict=True):
        for field in ("item_id", "verdict", "points", "max_points", "auto_fail"):
            if not _same(getattr(a, field), getattr(b, field)):
                out.append(f"{old.call_id} {a.item_id} {field}: {getattr(a, field)} != {getattr(b, field)}")
        if len(a.evidence) != len(b.evidence):
            out.append(f"{old.call_id} {a.item_id}: {len(a.evidence)} != {len(b.evidence)} evidence")
        for ea, eb in zip(a.evidence, b.evidence, strict=False):
            out += [
                f"{old.call_id} {a.item_id} {f}: {getattr(ea, f)!r} != {getattr(eb, f)!r}"
                for f in vars(ea)
                if not _same(getattr(ea, f), getattr(eb, f))
            ]
    return out


def _both_ways(monkeypatch, card, calls):
    """Results per call: the straightforward path, then the cheaper one (fresh caches each), both
    with float32 products (the transformers forward of the straightforward path has no other)."""
    enc = get_encoder()
    monkeypatch.setattr(type(enc), "products", Products.FLOAT32)
    runs = []
    for fast in (False, True):
        for switch in ("batched", "one_pass", "shared_windows", "counter_where_needed"):
            monkeypatch.setattr(CallText, switch, fast)
        for switch in ("pad_aware", "lean"):
            monkeypatch.setattr(type(enc), switch, fast)
        matcher = PhraseMatcher(enc)
        runs.append([score(card, t, None, m, matcher=matcher) for t, m in calls])
    return runs


@pytest.mark.skipif(
    DATASET is None, reason="the Harper Valley calls (../shared/data/harper-dev) are not here"
)
def test_the_real_bank_calls_get_the_same_verdicts_and_evidence_both_ways(monkeypatch):
    card = load_scorecard(ROOT / "scorecards" / "bank.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        paths = sorted(convert.convert_folder(DATASET, Path(tmp)))[:HARPER_CALLS]
        calls = [(read_transcript(p, m), m) for p in paths for m in [resolve_meta(p)]]
    old, new = _both_ways(monkeypatch, card, calls)
    diffs = [d for a, b in zip(old, new, strict=True) for d in _differences(a, b)]
    assert not diffs, "\n".join(diffs[:20])
    # the calls exercise the matcher: phrase verdicts both ways, with matched spans
    verdicts = {r.verdict for res in new for r in res.items}
    assert {"pass", "fail"} <= verdicts
    assert any(e.span_chars for res in new for r in res.items for e in r.evidence)


TURNS = [
    ("agent", 0, 6, "Thank you for calling Acme Telecom, my name is Sam. How can I help you today?"),
    ("customer", 7, 11, "Hi, my broadband keeps dropping out and it's a real problem."),
    ("agent", 12, 16, "I'm sorry to hear that. Can you confirm your date of birth for security?"),
    ("customer", 17, 19, "Yes, it's the fifth of May 1980."),
    ("agent", 20, 27, "Thanks. This call is not recorded. I can see there was an outage in your area."),
    ("agent", 28, 31, "Isn't there anything else? No, I won't ask for your password."),
    ("customer", 32, 34, "No, that's everything, thanks."),
    ("agent", 35, 38, "Thank you for calling Acme, have a great day. Goodbye."),
]


def _unpunctuated(turns):
    """The same words as an unpunctuated, lower-case reading (Vosk's shape): windows, not sentences."""
    return [(s, a, b, "".join(c for c in t.lower() if c.isalnum() or c in " '")) for s, a, b, t in turns]


@pytest.mark.parametrize("name", ["inbound-service.yaml", "outbound-sales.yaml", "bank.yaml"])
@pytest.mark.parametrize("shape", ["punctuated", "unpunctuated"])
def test_hand_written_calls_get_the_same_verdicts_and_evidence_both_ways(monkeypatch, name, shape):
    card = load_scorecard(ROOT / "scorecards" / name)
    turns = TURNS if shape == "punctuated" else _unpunctuated(TURNS)
    calls = [
        (call(*turns, duration=40.0, call_id="whole"), meta(card.applies_to or "inbound", agent="Sam")),
        (call(*turns[:3], duration=16.0, call_id="short"), meta(card.applies_to or "inbound", agent="Sam")),
    ]
    old, new = _both_ways(monkeypatch, card, calls)
    diffs = [d for a, b in zip(old, new, strict=True) for d in _differences(a, b)]
    assert not diffs, "\n".join(diffs)


def _padded(lengths, batches, pass_cost):
    return sum(max(lengths[i] for i in b) * len(b) + pass_cost for b in batches)


@pytest.mark.parametrize("seed", range(5))
def test_padding_batches_cover_every_text_once_and_cost_no_more_than_full_batches(seed):
    rng = random.Random(seed)
    lengths = [rng.randint(3, 40) for _ in range(rng.randint(1, 300))]
    for size in (1, 8, 64):
        batches = padding_batches(lengths, size, pass_cost=60)
        assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
        assert all(0 < len(b) <= size for b in batches)
        assert _padded(lengths, batches, 60) <= _padded(lengths, length_sorted_batches(lengths, size), 60)


def test_padding_batches_cut_a_call_where_padding_outweighs_a_pass():
    # ten 5-token windows and two 20-token sentences: one batch pads 120 tokens, two save them
    lengths = [5] * 10 + [20, 20]
    assert padding_batches(lengths, 64, pass_cost=60) == [list(range(10)), [10, 11]]
    assert padding_batches(lengths, 64, pass_cost=200) == [sorted(range(12), key=lambda i: lengths[i])]
    with pytest.raises(ValueError):
        padding_batches(lengths, 0)
