"""The sentiment API on the real trained head and real call-centre sentences."""

from __future__ import annotations

import numpy as np
import pytest

from callwright.errors import DataError, ModelNotFoundError
from callwright.nlp.embeddings import Products
from callwright.nlp.sentiment import (
    SentimentConfig,
    get_sentiment_model,
    map_labels,
)

POSITIVE = [
    "Thank you so much, you've been incredibly helpful today!",
    "That's wonderful news, I'm really happy with how quickly you sorted this out.",
    "Great, the new plan is perfect for us, thanks a lot.",
    "You're a star, I really appreciate your patience.",
]
NEGATIVE = [
    "This is ridiculous, I've been on hold for an hour and nobody can help me.",
    "I'm furious, you charged me twice and nobody has fixed it.",
    "Your service is terrible and I want to cancel my account today.",
    "I am very disappointed, the engineer never showed up again.",
]
NEUTRAL = [
    "My account number is four five six seven.",
    "I'm calling to update my postal address.",
    "The appointment is on Tuesday at three pm.",
    "Please hold while I transfer you to the billing department.",
]


def test_clear_sentences_get_the_right_label(sentiment_model):
    texts = POSITIVE + NEGATIVE + NEUTRAL
    got = [r.label for r in sentiment_model.predict(texts)]
    want = ["positive"] * 4 + ["negative"] * 4 + ["neutral"] * 4
    wrong = [(t, g) for t, g, w in zip(texts, got, want, strict=True) if g != w]
    assert not wrong


def test_scores_order_positive_above_neutral_above_negative(sentiment_model):
    pos = [r.score for r in sentiment_model.predict(POSITIVE)]
    neu = [r.score for r in sentiment_model.predict(NEUTRAL)]
    neg = [r.score for r in sentiment_model.predict(NEGATIVE)]
    assert min(pos) > 0.5 and max(neg) < -0.5
    assert max(neg) < min(neu) and max(neu) < min(pos)


def test_result_fields_are_consistent(sentiment_model):
    for r in sentiment_model.predict(POSITIVE + NEGATIVE + NEUTRAL):
        assert set(r.probabilities) == {"negative", "neutral", "positive"}
        assert sum(r.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
        assert -1.0 <= r.score <= 1.0
        p = r.probabilities
        assert r.score == pytest.approx(p["positive"] - p["negative"], abs=1e-6)
        assert r.label == max(p, key=p.get)


@pytest.mark.usefixtures("float32_products")
def test_batched_equals_one_by_one(sentiment_model):
    texts = POSITIVE + NEGATIVE + NEUTRAL
    batched = sentiment_model.predict(texts, batch_size=64)
    single = [sentiment_model.predict([t], batch_size=1)[0] for t in texts]
    assert [r.label for r in batched] == [r.label for r in single]
    assert np.allclose([r.score for r in batched], [r.score for r in single], atol=1e-4)
    assert [r.text for r in batched] == texts


def test_blank_and_very_long_texts(sentiment_model):
    long_text = "I waited on hold and it was awful. " * 300  # far past 256 tokens
    empty, spaces, long = sentiment_model.predict(["", "   ", long_text])
    assert empty.label == "neutral" and empty.score == 0.0
    assert spaces.label == "neutral"
    assert long.label == "negative"


def test_non_text_input_is_a_user_error(sentiment_model):
    with pytest.raises(DataError, match="#1"):
        sentiment_model.predict(["fine", None])  # type: ignore[list-item]


def test_model_is_loaded_once_per_process(sentiment_model):
    assert get_sentiment_model() is sentiment_model
    assert get_sentiment_model(SentimentConfig()) is sentiment_model


def test_missing_model_path_is_a_user_error(tmp_path):
    with pytest.raises(ModelNotFoundError, match="config.json"):
        get_sentiment_model(tmp_path / "nowhere")


@pytest.mark.parametrize(
    ("id2label", "expected"),
    [
        ({0: "NEGATIVE", 1: "POSITIVE"}, ["negative", "positive"]),
        ({0: "negative", 1: "neutral", 2: "positive"}, ["negative", "neutral", "positive"]),
        ({0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}, ["negative", "neutral", "positive"]),
        (
            {0: "1 star", 1: "2 stars", 2: "3 stars", 3: "4 stars", 4: "5 stars"},
            ["negative", "negative", "neutral", "positive", "positive"],
        ),
    ],
)
def test_label_names_are_mapped_from_the_model_config(id2label, expected):
    assert map_labels(id2label) == expected


def test_unmappable_labels_ask_for_a_label_map():
    with pytest.raises(ModelNotFoundError, match="label map"):
        map_labels({0: "joy", 1: "anger"})
    assert map_labels({0: "joy", 1: "anger"}, {"joy": "positive", "anger": "negative"}) == [
        "positive",
        "negative",
    ]


@pytest.fixture(scope="module")
def two_label_hf_model(tmp_path_factory, encoder):
    """A small (untrained) Hugging Face classifier saved to disk, as a user would configure."""
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    path = tmp_path_factory.mktemp("hf_sst2_like")
    config = BertConfig(
        vocab_size=30522,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        id2label={0: "NEGATIVE", 1: "POSITIVE"},
        label2id={"NEGATIVE": 0, "POSITIVE": 1},
    )
    BertForSequenceClassification(config).save_pretrained(path)
    AutoTokenizer.from_pretrained(str(encoder.model_path)).save_pretrained(path)
    return path


def test_any_hf_classifier_can_be_configured(two_label_hf_model):
    model = get_sentiment_model(two_label_hf_model)
    assert model.labels == ("negative", "positive")
    results = model.predict(["the call went fine", "", "awful"])
    for r in results[::2]:
        assert r.label in {"negative", "positive"}
        assert r.probabilities["neutral"] == 0.0
        p = r.probabilities
        assert p["negative"] + p["positive"] == pytest.approx(1.0, abs=1e-5)
        assert r.score == pytest.approx(p["positive"] - p["negative"], abs=1e-6)
    assert results[1].label == "neutral"


def test_the_lean_forward_gives_the_transformers_towers_bits(sentiment_model, monkeypatch):
    """The head model's lean path (`bert_embeddings` + `bert_blocks` over the packaged bottom
    layers and the head's fine-tuned top) skips module machinery, not a computation: the
    probabilities are bit for bit those of the restacked transformers towers, padded or not."""
    texts = [
        "hi",
        *POSITIVE,
        "I am calling about my card, it was declined twice today and I'm not happy",
        "x " * 400,
        "ça va? 😀",
        *NEGATIVE,
    ]
    encoder = sentiment_model.encoder
    assert encoder.plain_bert
    monkeypatch.setattr(type(encoder), "products", Products.FLOAT32)  # the towers multiply in float32
    monkeypatch.setattr(type(encoder), "stacked", False)  # a pass per batch, as the towers' own
    runs = []
    for lean in (False, True):
        monkeypatch.setattr(type(encoder), "lean", lean)
        runs.append((sentiment_model.probabilities(texts, 3), sentiment_model.probabilities(texts[:1], 8)))
    assert np.array_equal(runs[0][0], runs[1][0])
    assert np.array_equal(runs[0][1], runs[1][1])
    assert runs[0][0].shape == (len(texts), 3) and np.allclose(runs[0][0].sum(axis=1), 1.0, atol=1e-5)


def test_warm_texts_are_read_back_by_predict(sentiment_model, monkeypatch):
    """A batch warms a group's utterances at once; each call's `predict` then reads them (no
    forward pass) and gets what it would have computed itself, to float rounding."""
    texts = POSITIVE + NEGATIVE + NEUTRAL
    sentiment_model.forget()
    alone = sentiment_model.predict(texts)
    assert sentiment_model.warm([*texts, "", "  ", *texts[:3]]) == len(texts)  # blanks and repeats once
    calls: list[int] = []
    real = type(sentiment_model).probabilities
    monkeypatch.setattr(
        type(sentiment_model), "probabilities", lambda self, t, b: calls.append(len(t)) or real(self, t, b)
    )
    warmed = sentiment_model.predict(["", *texts[4:], "Something nobody warmed, alas."])
    assert calls == [1]  # only the text not warmed went to the model
    assert warmed[0].label == "neutral" and warmed[0].score == 0.0
    for got, want in zip(warmed[1:-1], alone[4:], strict=True):
        assert got.label == want.label and abs(got.score - want.score) < 1e-5
    # the next group computes only what no earlier group had; a benchmark's `forget` drops it all
    calls.clear()
    assert sentiment_model.warm([*texts[:2], "A new group's new line."]) == 1
    assert calls == [1]
    sentiment_model.forget()
    calls.clear()
    sentiment_model.predict(texts[:2])
    assert calls == [2]


def test_warm_memory_holds_one_kind_of_products(sentiment_model, monkeypatch):
    """What `warm` kept was computed in one kind of products (float32, int8...): under another
    kind it is computed again, and `predict` reads the new kind's values, not the old (a float32
    value read by an int8 run, or the other way, could move a near tie)."""
    from callwright.nlp.embeddings import Encoder

    texts = POSITIVE[:2] + NEGATIVE[:2]
    alone = {}
    for kind in (Products.FLOAT32, Products.INT8):
        monkeypatch.setattr(Encoder, "products", kind)
        sentiment_model.forget()
        alone[kind] = [r.score for r in sentiment_model.predict(texts)]
    assert alone[Products.FLOAT32] != alone[Products.INT8]  # the kinds differ: the check below can fail
    sentiment_model.forget()
    for kind in (Products.FLOAT32, Products.INT8, Products.FLOAT32):
        monkeypatch.setattr(Encoder, "products", kind)
        assert sentiment_model.warm(texts) == len(texts)  # another kind's memory is not read
        assert sentiment_model.warm(texts) == 0  # this kind's is
        assert [r.score for r in sentiment_model.predict(texts)] == alone[kind]
    sentiment_model.forget()


def test_warm_keeps_a_bounded_memory(sentiment_model, monkeypatch):
    """What `warm` keeps is bounded (`MEMORY_TEXTS`, least recently warmed forgotten first), a
    group larger than the bound is kept whole until the next, and `remember` False keeps only
    the last group (the reference the batch benchmark compares with)."""
    from callwright.nlp import sentiment

    monkeypatch.setattr(sentiment, "MEMORY_TEXTS", 3)
    sentiment_model.forget()
    first, second = POSITIVE[:2], NEGATIVE[:2]
    assert sentiment_model.warm(first) == 2
    assert sentiment_model.warm(second) == 2
    assert sentiment_model.warm(first[1:]) == 0  # still kept: 4 texts were 1 over, the oldest went
    assert sentiment_model.warm(first[:1]) == 1
    many = NEUTRAL[:5]
    assert sentiment_model.warm(many) == len(many)
    assert sentiment_model.warm(many) == 0
    monkeypatch.setattr(type(sentiment_model), "remember", False)
    assert sentiment_model.warm(many[:2]) == 2
    assert sentiment_model.warm(many[:2]) == 2
    sentiment_model.forget()


def test_stacked_batches_give_the_per_batch_probabilities(sentiment_model, monkeypatch):
    """`Encoder.stacked` (one pass, attention per batch) rates as a pass per batch does, to float
    rounding: the same labels, probabilities within 1e-5 with float32 products (bfloat16's: a sum
    grouped otherwise may round a product's input to the neighbouring bfloat16, a few in 1e3)."""
    texts = [*POSITIVE, *NEGATIVE, *NEUTRAL, "", "x " * 400, "ok", "I want to close my account right now"]
    for kind, tolerance in ((Products.FLOAT32, 1e-5), (Products.BFLOAT16, 5e-3)):
        monkeypatch.setattr(type(sentiment_model.encoder), "products", kind)
        runs = []
        for stacked in (False, True):
            monkeypatch.setattr(type(sentiment_model.encoder), "stacked", stacked)
            runs.append(sentiment_model.probabilities(texts, 4))
        assert np.abs(runs[0] - runs[1]).max() < tolerance
        assert (runs[0].argmax(axis=1) == runs[1].argmax(axis=1)).all()
