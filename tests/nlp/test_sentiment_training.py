"""Training and evaluation end to end on a small subset of the human-rated data."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from callwright.nlp.evaluation import markdown_table, run_evaluation
from callwright.nlp.head import META_FILE, WEIGHTS_FILE
from callwright.nlp.sentiment import get_sentiment_model
from callwright.nlp.training import TrainConfig, train_default_head

SMALL = TrainConfig(tuned_layers=1, max_epochs=2)  # same code path, a quarter of the work
LIMIT = 80  # texts per file: 64 to train on, 16 held out


@pytest.fixture(scope="module")
def small_run(tmp_path_factory, vader_data, encoder):
    root = tmp_path_factory.mktemp("train")
    cache = root / "cache"
    first = train_default_head(vader_data, root / "a", SMALL, limit=LIMIT, cache_dir=cache)
    second = train_default_head(vader_data, root / "b", SMALL, limit=LIMIT, cache_dir=cache)
    return first, second


def test_training_writes_a_small_head_and_is_reproducible(small_run):
    (out_a, report), (out_b, _) = small_run
    assert report.n_train + report.n_dev == 3 * 64
    assert len(report.dev_macro_f1_by_epoch) == 2
    size = (out_a / WEIGHTS_FILE).stat().st_size
    assert size < 20_000_000  # the head, not a second copy of the 90 MB encoder
    a, b = load_file(str(out_a / WEIGHTS_FILE)), load_file(str(out_b / WEIGHTS_FILE))
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    meta_a, meta_b = (json.loads((d / META_FILE).read_text()) for d in (out_a, out_b))
    for meta in (meta_a, meta_b):
        meta["training"].pop("seconds")
    assert meta_a == meta_b


def test_trained_head_loads_and_predicts(small_run):
    (out_a, _), _ = small_run
    model = get_sentiment_model(out_a)
    results = model.predict(["thank you, that was wonderful", "this is a disaster"])
    assert [r.label for r in results] == ["positive", "negative"]


def test_evaluation_table_on_a_subset(vader_data):
    rows = run_evaluation(vader_data, model=None, lodo=True, limit=40, config=SMALL)
    systems = {(r.protocol, r.domain, r.system) for r in rows}
    assert len(rows) == 12 and len(systems) == 12
    for r in rows:
        assert 0.0 <= r.three_class.macro_f1 <= 1.0
        assert r.pos_neg.n <= r.three_class.n
    # VADER and our model are scored on exactly the same texts
    by_key = {(r.protocol, r.domain, r.system): r for r in rows}
    for protocol, domain, _ in systems:
        ours, vader = by_key[(protocol, domain, "callwright")], by_key[(protocol, domain, "vader")]
        assert ours.three_class.n == vader.three_class.n and ours.pos_neg.n == vader.pos_neg.n
    table = markdown_table(rows)
    assert table.count("\n") == 14 and "leave-one-domain-out" in table
