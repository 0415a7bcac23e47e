"""The conduct classifiers' training data keeps the held-out sets that judge them out of it.

The seen held-out sets are training data, batch by batch (heldout2-11 in
src/callwright/nlp/data/conduct_heldouts.yaml, heldout12-13 in conduct_heldouts_round9.yaml, both
written by scripts/conduct_heldout_data.py); the sets after them are what the models are judged
on, so none of their sentences may be in a training file.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import yaml

from callwright.nlp import conduct

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "conduct_heldout_data.py"


def _script():
    spec = importlib.util.spec_from_file_location("conduct_heldout_data", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _words(s: str) -> str:
    return " ".join(re.findall(r"[a-z0-9']+", s.lower()))


def test_the_heldouts_training_files_are_what_the_script_writes():
    script = _script()
    assert script.main(["--check"]) == 0, "run scripts/conduct_heldout_data.py"


def test_no_sentence_of_an_unseen_heldout_set_is_training_data():
    script = _script()
    unseen = [p for split in script.UNSEEN for p in script.HELDOUT_FILES[split]]
    assert unseen, "the sets after the last training batch (heldout14 on) should exist and stay out of it"
    training = {_words(s) for lists in conduct.load_sentences(conduct.data_paths()).values() for s in lists}
    for path in unseen:
        data = yaml.safe_load(path.read_text("utf-8"))
        leaked = [s for pool in script.POOLS for s in data.get(pool, []) if _words(s) in training]
        assert not leaked, f"{path.name}: {len(leaked)} sentence(s) in the training data, e.g. {leaked[0]!r}"


def test_the_seen_sets_are_training_data():
    script = _script()
    # the last set of each batch, in the training files; heldout2-11 also in what each classifier
    # reads (heldout12-13 are read by none yet: docs/qa-real-calls.md, round fourteen)
    cases = [("heldout11a", name) for name in conduct.SPECS] + [("heldout11a", None), ("heldout13b", None)]
    for split, name in cases:
        heard = conduct.load_sentences(conduct.data_paths(name))
        data = yaml.safe_load((script.HELDOUT_DIR / f"{split}_sentences.yaml").read_text("utf-8"))
        for pool in ("dismissive", "polite", "credential_request"):
            assert set(data[pool]) <= set(heard[pool]), (split, name, pool)


def test_a_later_batch_repeats_no_sentence_of_an_earlier_one():
    script = _script()
    first, later = (conduct.load_sentences(script.DATA_DIR / name) for name in script.BATCHES)
    for pool in script.POOLS:
        assert not set(first.get(pool, [])) & set(later.get(pool, [])), pool


def test_the_second_opinions_cover_the_sets_they_name(capsys):
    """bench/qa_real/dismissive_second_labels.yaml labels every dismissive and polite sentence of
    the sets label_agreement.py names, and nothing else (a sentence reworded in a set would leave
    it stale); its figures without the model are what docs/qa-real-calls.md reports."""
    spec = importlib.util.spec_from_file_location(
        "label_agreement", ROOT / "bench" / "qa_real" / "label_agreement.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--no-model"]) == 0
    out = capsys.readouterr().out
    assert (
        "labellers A and B disagree on 2/630" in out
        and "clear (both agree with the pool, both sure): 612/630" in out
    )
