"""The fine-tuned conduct models (callwright.nlp.conduct_model): stored, checked, rated.

Assertions on ratings use sentences written for these tests (none is a training sentence: a
test checks that) and keep a margin from the cross-validated threshold, so a retrained model
that still does its job passes and one that does not, fails.
"""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest
import yaml

from callwright.errors import ModelNotFoundError
from callwright.nlp import conduct, conduct_model

MODELS = [n for n, spec in conduct.SPECS.items() if spec.tuned_layers]  # the fine-tuned classifiers
NAME = "dismissive"
MARGIN = 0.2
DISMISSIVE = [
    "Honestly, that's your own mess, sort it out yourself.",
    "Oh please, stop whining, I've got better things to do.",
    "I already told you twice, are you even listening?",
]
POLITE = [
    "I'm sorry, I can't waive that fee, but I can set up a payment plan for you.",
    "Let me look into that for you, it will only take a moment.",
    "I understand this is frustrating, let's get it sorted together.",
]
REQUESTS = [
    "Before I unlock the card, could you tell me the four digit PIN you picked?",
    "And what's the password you sign in to the app with, please?",
    "Just read me your telephone banking passcode and we'll carry on.",
]
NOT_REQUESTS = [  # mentions of a credential and everyday questions that ask for none
    "Your new PIN will come by post a few days after the card.",
    "We will never ask for your online banking password over the phone.",
    "And what date did the payment leave your account?",
]
CLEAR = {"dismissive": (DISMISSIVE, POLITE), "credential_request": (REQUESTS, NOT_REQUESTS)}


def heard(sentences: list[str]) -> list[str]:
    return conduct.as_heard({"x": sentences})["x"]


@pytest.fixture(scope="module")
def model(encoder):
    return conduct_model.get_model(NAME, encoder)


@pytest.mark.parametrize("name", MODELS)
def test_the_model_loads_once_per_process(name, encoder):
    model = conduct_model.get_model(name, encoder)
    assert conduct_model.get_model(name, encoder) is model
    assert model.meta.tuned_layers == conduct.SPECS[name].tuned_layers
    assert model.meta.data_sha256 == conduct.data_hash(conduct.data_paths(name))
    assert 0.3 <= model.suggested_threshold <= 0.95
    assert conduct.suggested_threshold(name) == model.suggested_threshold


def test_the_test_sentences_are_not_training_sentences():
    trained = {s for v in conduct.as_heard(conduct.load_sentences()).values() for s in v}
    for s in heard([*DISMISSIVE, *POLITE, *REQUESTS, *NOT_REQUESTS]):
        assert s not in trained, s


@pytest.mark.parametrize("name", MODELS)
def test_clear_positives_and_clear_negatives_are_far_apart(name, encoder):
    model = conduct_model.get_model(name, encoder)
    t = model.suggested_threshold
    positives, negatives = CLEAR[name]
    p_bad = conduct_model.rate_texts(model, encoder, heard(positives))
    p_ok = conduct_model.rate_texts(model, encoder, heard(negatives))
    assert p_bad.min() >= t + (1 - t) / 2, p_bad
    assert p_ok.max() <= t - MARGIN, p_ok


def test_the_stored_models_record_whether_real_agent_turns_were_negatives(encoder):
    """A classifier whose spec asks for real agents' turns says in its model whether it got them
    (the data lives outside the repository: training without it goes on, and says so)."""
    for name in MODELS:
        training = conduct_model.get_model(name, encoder).meta.training
        if conduct.SPECS[name].real_negatives:
            record = training["real_negatives"]
            assert isinstance(record["used"], bool)
            assert (conduct.REAL_LIST in training["negative_lists"]) == record["used"]
        else:
            assert "real_negatives" not in training and conduct.REAL_LIST not in training["negative_lists"]


@pytest.mark.usefixtures("float32_products")
def test_two_models_rate_in_one_pass_as_each_would_alone(encoder):
    """The scorer's joint pass with every fine-tuned classifier: each one's ratings are its own
    model's run alone (to 1e-5), the vectors the encoder's."""
    models = [conduct_model.get_model(n, encoder) for n in MODELS]
    texts = heard([*DISMISSIVE, *REQUESTS, *NOT_REQUESTS]) + ["thank you for calling"]
    rate = [True] * (len(texts) - 1) + [False]
    vectors, probs = conduct_model.embed_and_rate(encoder, texts, rate, models)
    assert np.array_equal(vectors, encoder.embed(texts)) and probs.shape == (len(texts), len(models))
    for j, m in enumerate(models):
        alone = conduct_model.rate_texts(m, encoder, texts[:-1])
        assert np.allclose(probs[:-1, j], alone, atol=1e-5) and np.isnan(probs[-1, j])


PANELS = [n for n in MODELS if conduct.SPECS[n].partners]  # rated by several models


@pytest.mark.parametrize("name", PANELS)
def test_a_panel_loads_its_partners_once(name, encoder):
    panel = conduct_model.get_rater(name, encoder)
    assert isinstance(panel, conduct_model.ConductPanel) and conduct_model.get_rater(name, encoder) is panel
    assert panel.first is conduct_model.get_model(name, encoder)
    partners = conduct.SPECS[name].partners
    assert len(panel.partners) == len(partners)
    for (model, own), p in zip(panel.partners, partners, strict=True):
        assert (model.meta.tuned_layers, model.meta.encoder) == (p.tuned_layers, p.encoder)
        assert model.meta.data_sha256 == conduct.data_hash(conduct.data_paths(name))
        assert model.stem == f"{name}.{p.tag}" != panel.first.stem
        assert (own is None) == (p.encoder is None)


@pytest.mark.parametrize("name", PANELS)
def test_a_panel_rates_the_mean_where_its_first_model_reaches_the_gate(name, encoder):
    """The panel's rating is the mean of its models' own ratings where the first rates at
    least the gate, the first's alone elsewhere (the partners are then not run)."""
    panel = conduct_model.get_rater(name, encoder)
    positives, negatives = CLEAR[name]
    texts = heard([*positives, *negatives])
    first = conduct_model.rate_texts(panel.first, encoder, texts)
    others = [conduct_model.rate_texts(m, own or encoder, texts) for m, own in panel.partners]
    got = conduct_model.rate_texts(panel, encoder, texts)
    gated = first >= conduct.PAIR_GATE
    assert gated.any() and (~gated).any(), first  # both branches are exercised
    mean = (first + sum(others)) / (1 + len(others))
    assert np.allclose(got[gated], mean[gated], atol=1e-6)
    assert np.array_equal(got[~gated], first[~gated])
    t = panel.suggested_threshold
    assert got[: len(positives)].min() >= t + (1 - t) / 2 and got[len(positives) :].max() <= t - MARGIN


@pytest.mark.usefixtures("float32_products")
def test_pairs_rate_in_the_joint_pass_as_each_would_alone(encoder):
    """The scorer's joint pass with every classifier's rater (a panel takes its MiniLM models'
    layers' states from the same forward pass): each one's ratings are its own run alone (to 1e-5)."""
    raters = [conduct_model.get_rater(n, encoder) for n in MODELS]
    texts = heard([*DISMISSIVE, *POLITE, *REQUESTS, *NOT_REQUESTS]) + ["thank you for calling"]
    rate = [True] * (len(texts) - 1) + [False]
    vectors, probs = conduct_model.embed_and_rate(encoder, texts, rate, raters)
    assert np.array_equal(vectors, encoder.embed(texts))
    for j, r in enumerate(raters):
        alone = conduct_model.rate_texts(r, encoder, texts[:-1])
        assert np.allclose(probs[:-1, j], alone, atol=1e-5) and np.isnan(probs[-1, j])


@pytest.mark.parametrize("name", PANELS)
def test_a_partner_of_another_depth_or_encoder_is_refused(tmp_path, encoder, name):
    partner = conduct.SPECS[name].partners[0]
    own = conduct_model.partner_encoder(partner.encoder) if partner.encoder else encoder
    k = partner.tuned_layers
    stem = conduct_model.model_stem(name, k, partner.encoder)
    for f in (conduct_model.meta_file(stem), conduct_model.weights_file(stem)):
        shutil.copy(conduct_model.model_dir() / f, tmp_path / f)
    assert conduct_model.load_model(name, own, tmp_path, partner=partner).meta.tuned_layers == k
    _edit(tmp_path / conduct_model.meta_file(stem), tuned_layers=k + 1)
    with pytest.raises(ModelNotFoundError, match=f"tunes {k + 1} layers, not {k}"):
        conduct_model.load_model(name, own, tmp_path, partner=partner)
    _edit(tmp_path / conduct_model.meta_file(stem), tuned_layers=k, encoder="another-encoder")
    with pytest.raises(
        ModelNotFoundError, match=f"runs on encoder another-encoder, not {partner.encoder or 'MiniLM'}"
    ):
        conduct_model.load_model(name, own, tmp_path, partner=partner)


def test_one_pass_gives_the_encoders_vectors_and_the_models_ratings(model, encoder):
    """The matcher's joint pass: vectors bit-identical to `Encoder.embed` (same batches, same
    operations), ratings those of the model run on its own (other padding: equal to 1e-5)."""
    texts = heard([*DISMISSIVE, *POLITE]) + ["thank you for calling", "bye"]
    rate = [True] * 6 + [False, False]
    vectors, probs = conduct_model.embed_and_rate(encoder, texts, rate, [model])
    assert np.array_equal(vectors, encoder.embed(texts))
    alone = conduct_model.rate_texts(model, encoder, texts[:6])
    assert np.allclose(probs[:6, 0], alone, atol=1e-5) and np.isnan(probs[6:, 0]).all()


def _copy(tmp_path, name=NAME):
    for f in (conduct_model.meta_file(name), conduct_model.weights_file(name)):
        shutil.copy(conduct_model.model_dir() / f, tmp_path / f)
    return tmp_path / conduct_model.meta_file(name)


def _edit(path, **changes):
    raw = json.loads(path.read_text())
    path.write_text(json.dumps({**raw, **changes}))


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"data_sha256": "0123456789abcdef"}, "trained on another version of conduct.yaml"),
        ({"encoder_fingerprint": "0123456789abcdef"}, "trained on another sentence encoder"),
        ({"weights_sha256": "0" * 64}, "sha256 differs"),
        ({"format": "callwright-conduct-model/0"}, "format"),
        ({"name": "other"}, "holds classifier 'other'"),
    ],
)
def test_a_stale_or_mismatched_model_is_refused_saying_how_to_retrain(
    tmp_path, encoder, name, changes, message
):
    meta = _copy(tmp_path, name)
    _edit(meta, **changes)
    with pytest.raises(ModelNotFoundError, match=re.escape(message)) as info:
        conduct_model.load_model(name, encoder, tmp_path)
    assert "python -m callwright.nlp.conduct --write" in str(info.value.hint)


def test_a_missing_model_names_the_directory(tmp_path, encoder):
    with pytest.raises(ModelNotFoundError, match=f"no trained conduct model 'dismissive' in {tmp_path}"):
        conduct_model.load_model(NAME, encoder, tmp_path)


def test_training_is_seeded_the_same_data_gives_the_same_model(encoder):
    """A tiny set, the real recipe for one epoch: two trainings give the same weights."""
    from callwright.nlp.training import BottomStates

    sentences = conduct.as_heard(conduct.load_sentences())
    texts = sentences["dismissive"][:8] + sentences["polite"][:8]
    y = np.array([1] * 8 + [0] * 8)
    trainer = conduct_model._Trainer(encoder, BottomStates(encoder, 4), 2, epochs=1)
    a, b = (trainer.fit(texts, y, NAME) for _ in range(2))
    sa, sb = a.state_dict(), b.state_dict()
    assert all(bool((sa[k] == sb[k]).all()) for k in sa)


@pytest.mark.slow
def test_training_in_processes_gives_the_same_model_and_threshold(encoder, tmp_path, monkeypatch):
    """`jobs` > 1 runs the fit and the folds in spawned processes, each one thread: the model's
    weights and the cross-validated threshold are those of one process (a tiny data set)."""
    monkeypatch.setattr(conduct_model, "EPOCHS", 1)
    lists = conduct.as_heard(conduct.load_sentences())
    data = tmp_path / "tiny.yaml"
    data.write_text(yaml.safe_dump({k: v[:10] for k, v in lists.items()}))
    one = conduct_model.train(encoder, NAME, data, real_negatives=False)
    two = conduct_model.train(encoder, NAME, data, real_negatives=False, jobs=2)
    s1, s2 = one.state_dict(), two.state_dict()
    assert s1.keys() == s2.keys() and all(bool((s1[k] == s2[k]).all()) for k in s1)
    assert one.suggested_threshold == two.suggested_threshold
    assert one.meta.training["cross_validation"] == two.meta.training["cross_validation"]
    assert two.meta.training["seconds"]["processes"] == 2


def test_training_without_calibration_keeps_the_default_threshold_and_says_so(
    encoder, tmp_path, monkeypatch, capsys
):
    """`--no-calibrate` skips the cross-validation folds (most of the training time): the model
    suggests the default threshold, records no cross-validation, and the summary says so."""
    monkeypatch.setattr(conduct_model, "EPOCHS", 1)
    lists = conduct.as_heard(conduct.load_sentences())
    data = tmp_path / "tiny.yaml"
    data.write_text(yaml.safe_dump({k: v[:6] for k, v in lists.items()}))
    model = conduct_model.train(encoder, NAME, data, calibrate=False, real_negatives=False)
    assert model.suggested_threshold == conduct.DEFAULT_CLASSIFIER_THRESHOLD
    assert model.meta.training["cross_validation"] == {}
    asked: dict[str, object] = {}

    def fake_train(*args, **kwargs):
        asked.update(kwargs)
        return model

    monkeypatch.setattr(conduct_model, "train", fake_train)
    monkeypatch.setattr(conduct, "SPECS", {NAME: conduct.SPECS[NAME]})
    assert conduct.main(["--only", NAME, "--no-calibrate", "--part", "first"]) == 0
    assert asked["calibrate"] is False
    assert "not calibrated (default threshold" in capsys.readouterr().out


# -- real agents' turns as negatives (conduct.real_agent_turns) --------------------------------


def _harper(tmp_path, calls):
    """A folder shaped like ../shared/data/harper-dev: transcripts/<call id>.json."""
    (tmp_path / "transcripts").mkdir()
    for call_id, segments in calls.items():
        rows = [{"speaker_role": role, "human_transcript": text} for role, text in segments]
        (tmp_path / "transcripts" / f"{call_id}.json").write_text(json.dumps(rows))
    return tmp_path


def _held_out(call_id: str) -> bool:  # bench/qa_real/labels.yaml's split rule, written out again
    import hashlib

    return int(hashlib.sha256(call_id.encode()).hexdigest()[:8], 16) % 3 == 0


def test_real_negatives_are_the_dev_calls_agent_turns_only(tmp_path):
    ids = [f"call{k:02d}" for k in range(12)]
    dev = next(c for c in ids if not _held_out(c))
    held = next(c for c in ids if _held_out(c))
    folder = _harper(
        tmp_path,
        {
            dev: [
                ("agent", "okay what is the [noise] source account"),
                ("caller", "my pin is one two three four"),
                ("agent", "okay what is the source account"),  # said twice: kept once
                ("agent", "<unk> thank you for call~ calling"),
            ],
            held: [("agent", "what is your phone number")],
        },
    )
    turns, record = conduct.real_agent_turns(folder)
    assert turns == ["okay what is the source account", "thank you for calling"]
    assert record["used"] and record["calls"] == 1 and record["turns"] == 2 and len(record["sha256"]) == 16


def test_without_the_real_calls_training_goes_on_without_them_and_says_so(tmp_path, monkeypatch):
    import dataclasses

    name = "credential_request"
    spec = dataclasses.replace(conduct.SPECS[name], real_negatives=True)
    monkeypatch.setitem(conduct.SPECS, name, spec)
    monkeypatch.setattr(conduct, "harper_dir", lambda: None)
    sentences = conduct.load_sentences()
    got, record = conduct.with_real_negatives(name, sentences)
    assert got is sentences and record["used"] is False and "no Harper Valley calls" in record["reason"]
    assert conduct.negative_lists(name, got) == conduct.SPECS[name].negative
    assert not _held_out("call01")
    folder = _harper(tmp_path, {"call01": [("agent", "and what is the source account")]})
    monkeypatch.setattr(conduct, "harper_dir", lambda: folder)
    got, record = conduct.with_real_negatives(name, sentences)
    assert got[conduct.REAL_LIST] == ["and what is the source account"] and record["used"]
    assert conduct.negative_lists(name, got) == (*conduct.SPECS[name].negative, conduct.REAL_LIST)
    assert conduct.training_set(name, got).negatives == conduct.training_set(name, sentences).negatives + 1
    off, record = conduct.with_real_negatives(name, sentences, use=False)
    assert off is sentences and record == {"used": False, "reason": "switched off (--without-real-negatives)"}
