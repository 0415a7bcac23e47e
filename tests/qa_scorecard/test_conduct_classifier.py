"""The conduct classifiers on forbidden items (`classifier: dismissive` and `classifier:
credential_request`, fine-tuned models; a head over the pooled vector is still possible for a
classifier without `tuned_layers`): loading, checking, scoring.

Scoring tests use the real packaged encoder and the stored models, and assert only on sentences
written for these tests (none is in the training data: a test checks that) and far from the
decision threshold (a margin of 0.2 either side), so a retrained head that still does its job
passes and one that does not, fails.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from scorecard_helpers import CONDUCT, call, card, meta

from callwright.errors import DataError, ModelNotFoundError
from callwright.nlp import conduct
from callwright.qa.scorecard import score
from callwright.qa.scorecard.loader import schema

MARGIN = 0.2


def high(name: str) -> float:
    """A probability clearly over the classifier's threshold (the head's cross-validated one,
    as the bank scorecard uses): half-way from it to 1."""
    t = conduct.suggested_threshold(name)
    return t + (1.0 - t) / 2


def low(name: str) -> float:
    """A probability clearly under it."""
    return conduct.suggested_threshold(name) - MARGIN


DISMISSIVE = [
    "Honestly, that's your own mess, sort it out yourself.",
    "Oh please, stop whining, I've got better things to do.",
]
POLITE = [
    "I'm sorry, I can't waive that fee, but I can set up a payment plan for you.",
    "Let me look into that for you, it will only take a moment.",
]


REQUESTS = [
    "Right, before I can unlock it, could you read out the PIN you chose?",
    "And your internet banking password, what would that be please?",
]
MENTIONS = [
    "Your new PIN will come in a separate envelope a few days after the card.",
    "Nobody from the bank will ever phone you for your password, so hang up if they do.",
]

CREDENTIAL = CONDUCT.replace("id: no-dismissive", "id: no-credential").replace(
    "classifier: dismissive", "classifier: credential_request"
)


def scoring_card(text: str, name: str):  # noqa: ANN201
    t = conduct.suggested_threshold(name)
    return card(text.replace("classifier_threshold: 0.5", f"classifier_threshold: {t}"))


def norm(sentence: str) -> str:
    return " ".join(re.sub(r"[^a-z' ]", " ", sentence.lower()).split())


def errors_of(text: str) -> list[str]:
    with pytest.raises(DataError) as info:
        card(text)
    return [line for line in str(info.value).splitlines() if re.match(r"card\.yaml:\d+:\d+: ", line)]


def test_classifier_key_loads_onto_the_rule():
    rule = card(CONDUCT).item("no-dismissive").rule
    assert rule.classifier == "dismissive" and rule.classifier_threshold == 0.5
    assert card(CONDUCT.replace("        classifier_threshold: 0.5\n", "")).item(
        "no-dismissive"
    ).rule.classifier_threshold == pytest.approx(conduct.DEFAULT_CLASSIFIER_THRESHOLD)


def test_unknown_classifier_is_located_with_a_suggestion():
    (err,) = errors_of(CONDUCT.replace("classifier: dismissive", "classifier: dismisive"))
    assert err.startswith("card.yaml:10:21: error: item 'no-dismissive'")
    assert "'dismisive' is not one of dismissive, credential_request; did you mean 'dismissive'?" in err


def test_classifier_only_on_forbidden_items_and_threshold_needs_a_classifier():
    (err,) = errors_of(
        CONDUCT.replace(
            "        phrases: [thank you for calling]",
            "        phrases: [thank you for calling]\n        classifier: dismissive",
        )
    )
    assert err.startswith("card.yaml:16:9:") and "unknown key 'classifier'" in err
    (err,) = errors_of(CONDUCT.replace("        classifier: dismissive\n", ""))
    assert err.startswith("card.yaml:10:9:") and "classifier_threshold without a classifier" in err
    (err,) = errors_of(CONDUCT.replace("classifier_threshold: 0.5", "classifier_threshold: 1.5"))
    assert err.startswith("card.yaml:11:") and "1.5" in err


def test_the_schema_names_exactly_the_classifiers_there_are():
    forbidden = schema()["$defs"]["forbidden"]["properties"]
    assert forbidden["classifier"]["enum"] == list(conduct.CLASSIFIERS)


def rate(matcher, name: str, sentences: list[str]) -> np.ndarray:  # noqa: ANN001
    """Classifier `name`'s probability of each sentence (its fine-tuned model or its head)."""
    texts = [norm(s) for s in sentences]
    if conduct.SPECS[name].tuned_layers:
        return matcher.ratings(name, texts)
    head = conduct.get_head(name)
    conduct.check_encoder(head, matcher.encoder)
    return head.probability(matcher.vectors(texts))


@pytest.mark.parametrize("name", list(conduct.SPECS))
def test_each_classifier_has_enough_training_sentences_and_a_threshold(name):
    assert 0.3 <= conduct.suggested_threshold(name) <= 0.95
    sentences = conduct.load_sentences()
    for lst in (*conduct.SPECS[name].positive, *conduct.SPECS[name].negative):
        assert len(sentences[lst]) >= 50, lst


def test_the_test_sentences_are_not_training_sentences():
    trained = {s for v in conduct.load_sentences().values() for s in v}
    for s in [*DISMISSIVE, *POLITE, *REQUESTS, *MENTIONS]:
        assert norm(s) not in trained, s


def test_a_non_string_training_sentence_is_an_error_naming_it(tmp_path):
    path = tmp_path / "conduct.yaml"
    lists = {n: ["okay"] for s in conduct.SPECS.values() for n in (*s.positive, *s.negative)}
    path.write_text("\n".join(f"{n}:\n  - {v[0]}" for n, v in lists.items()) + "\n  - yes\n")
    with pytest.raises(DataError, match="True is not a string; quote it"):
        conduct.load_sentences(path)
    path.write_text("dismissive: [a]\n")
    with pytest.raises(DataError, match="expected lists of sentences under"):
        conduct.load_sentences(path)


def test_training_files_join_list_by_list_in_order_and_hash_together(tmp_path):
    """A round of sentences lives in a file of its own: the lists of several files are joined in
    order (a file may add to some lists only), and the hash a model records covers every file it
    read, so a model of older rounds stays valid beside one of newer rounds."""
    lists = sorted({n for s in conduct.SPECS.values() for n in (*s.positive, *s.negative)})
    first, second = tmp_path / "round1.yaml", tmp_path / "round2.yaml"
    first.write_text("".join(f"{n}:\n  - {n} one\n" for n in lists))
    second.write_text(f"{lists[0]}:\n  - {lists[0]} two\n")
    joined = conduct.load_sentences([first, second])
    assert joined[lists[0]] == [f"{lists[0]} one", f"{lists[0]} two"]
    assert all(joined[n] == [f"{n} one"] for n in lists[1:])
    assert conduct.data_hash([first]) == conduct.data_hash(first) != conduct.data_hash([first, second])
    with pytest.raises(DataError, match="expected lists of sentences under"):
        conduct.load_sentences([second])
    for name, spec in conduct.SPECS.items():
        assert spec.data_files and set(spec.data_files) <= set(conduct.DATA_FILES)
        assert [p.name for p in conduct.data_paths(name)] == list(spec.data_files)
        assert all(p.is_file() for p in conduct.data_paths(name))


def test_the_threshold_choice_weighs_a_false_alarm_by_the_stretches_of_a_call():
    p_pos = np.array([0.95, 0.9, 0.85, 0.6, 0.55])
    p_neg = np.concatenate([np.full(95, 0.1), np.full(5, 0.58)])
    # one stretch per call: catching one more positive (20 %) is worth 5 % false alarms
    assert conduct.choose_threshold(p_pos, p_neg, stretches=1)[0] == pytest.approx(0.55)
    # ten stretches per call: 5 % per stretch flags 40 % of calls, so the threshold goes above them
    t, info = conduct.choose_threshold(p_pos, p_neg, stretches=10)
    assert t == pytest.approx(0.6) and info["false_alarm_rate"] == 0 and info["miss_rate"] == 0.2


def test_a_head_for_other_data_or_another_encoder_is_refused(tmp_path, monkeypatch):
    head = conduct.ConductHead(
        "credential_request", np.zeros(384), 0.0, "0123456789abcdef", conduct.data_hash()
    )

    @dataclass
    class OtherEncoder:
        dim: int = 768
        model_path: Path = Path("/models/mpnet")

    with pytest.raises(ModelNotFoundError, match="trained on another sentence encoder"):
        conduct.check_encoder(head, OtherEncoder())  # type: ignore[arg-type]
    stale = tmp_path / "head.json"
    stale.write_text(json.dumps({**head.to_json(), "format": "callwright-conduct-head/0"}))
    with pytest.raises(ModelNotFoundError, match="format"):
        conduct.read_head(stale)


def test_probabilities_are_well_separated_on_clear_sentences(matcher):
    p_bad = matcher.ratings("dismissive", [norm(s) for s in DISMISSIVE])
    p_ok = matcher.ratings("dismissive", [norm(s) for s in POLITE])
    assert min(p_bad) >= high("dismissive"), p_bad
    assert max(p_ok) <= low("dismissive"), p_ok


@pytest.mark.parametrize("sentence", DISMISSIVE)
def test_a_dismissive_sentence_fails_the_item_with_the_words_and_the_rating(matcher, sentence):
    tr = call(
        ("agent", 1, 4, "Good morning, thank you for calling."),
        ("customer", 5, 9, "My card was charged twice."),
        ("agent", 10, 14, sentence),
    )
    item = score(scoring_card(CONDUCT, "dismissive"), tr, None, meta(), matcher=matcher).items[0]
    assert item.verdict == "fail" and item.auto_fail
    (ev,) = item.evidence
    assert ev.start == pytest.approx(10, abs=4) and ev.value >= high("dismissive")
    assert "dismissive classifier rates" in ev.note
    a, b = ev.span_chars
    assert ev.text[a:b] and ev.text[a:b].lower() in sentence.lower()


@pytest.mark.parametrize("sentence", POLITE)
def test_a_polite_sentence_passes_and_shows_the_highest_rating(matcher, sentence):
    tr = call(("agent", 1, 4, "Good morning, thank you for calling."), ("agent", 10, 14, sentence))
    item = score(scoring_card(CONDUCT, "dismissive"), tr, None, meta(), matcher=matcher).items[0]
    assert item.verdict == "pass"
    rated = [e for e in item.evidence if "classifier rates" in e.note]
    assert rated and max(e.value for e in rated) <= low("dismissive")


def test_the_customer_being_rude_does_not_count_against_the_agent(matcher):
    tr = call(("customer", 1, 4, DISMISSIVE[1]), ("agent", 5, 8, POLITE[1]))
    assert (
        score(scoring_card(CONDUCT, "dismissive"), tr, None, meta(), matcher=matcher).items[0].verdict
        == "pass"
    )


def test_a_call_without_agent_speech_passes(matcher):
    for tr in (call(), call(("customer", 1, 4, DISMISSIVE[0]))):
        assert (
            score(scoring_card(CONDUCT, "dismissive"), tr, None, meta(), matcher=matcher).items[0].verdict
            == "pass"
        )


def test_credential_requests_and_mentions_are_well_separated(matcher):
    p_ask = rate(matcher, "credential_request", REQUESTS)
    p_say = rate(matcher, "credential_request", [*MENTIONS, *POLITE])
    assert min(p_ask) >= high("credential_request"), p_ask
    assert max(p_say) <= low("credential_request"), p_say


@pytest.mark.parametrize(("sentence", "verdict"), [(REQUESTS[0], "fail"), (MENTIONS[1], "pass")])
def test_the_credential_classifier_judges_a_request_not_a_mention(matcher, sentence, verdict):
    tr = call(
        ("agent", 1, 4, "Good morning, thank you for calling."),
        ("customer", 5, 9, "I can't get into the app."),
        ("agent", 10, 14, sentence),
    )
    item = score(scoring_card(CREDENTIAL, "credential_request"), tr, None, meta(), matcher=matcher).items[0]
    assert item.verdict == verdict
    rated = [e for e in item.evidence if "credential_request classifier rates" in e.note]
    top = max(e.value for e in rated) if rated else 0.0
    assert top >= high("credential_request") if verdict == "fail" else top <= low("credential_request")


def test_training_reads_a_sentence_as_the_scorer_hears_it():
    """The scorer rates lower-case words without punctuation, so a sentence written in Whisper's
    style trains the head on those words (and once, where both forms are listed)."""
    heard = conduct.as_heard(
        {"dismissive": ["Look, I don't have time!", "look i don\u2019t have time", "..."]}
    )
    assert heard == {"dismissive": ["look i don't have time"]}


def test_an_ensemble_is_one_wider_head_averaging_its_members_logits():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(40, 8))
    y = (x[:, 0] + 0.3 * rng.normal(size=40) > 0).astype(float)
    w1, b1, w2, b2 = conduct.fit_ensemble(x, y, hidden=4, members=3, steps=30)
    assert w1.shape == (8, 12) and b1.shape == (12,) and w2.shape == (12,)
    wide = conduct.ConductHead("t", w2, b2, "", "", hidden_weights=w1, hidden_bias=b1)
    logits = []
    for k in range(3):
        m1, c1, m2, c2 = conduct.fit_mlp(x, y, 4, steps=30, seed=conduct.SEED + k)
        logits.append(np.maximum(x @ m1 + c1, 0.0) @ m2 + c2)
    expected = 1.0 / (1.0 + np.exp(-np.mean(logits, axis=0)))
    assert np.allclose(wide.probability(x), expected, atol=1e-6)
    # seeded: the same data gives the same head
    again = conduct.fit_ensemble(x, y, hidden=4, members=3, steps=30)
    assert all(np.array_equal(a, b) for a, b in zip((w1, b1, w2), again[:3], strict=True)) and b2 == again[3]


@pytest.mark.parametrize("name", [n for n, spec in conduct.SPECS.items() if spec.tuned_layers])
def test_a_fine_tuned_model_is_not_a_head(name):
    with pytest.raises(ModelNotFoundError, match="fine-tuned model"):
        conduct.get_head(name)


LONG_TURN = (
    "Okay so I have pulled up the account and I can see both payments from last week went "
    "through on the same day. {remark} Is there anything else on the account today?"
)


def test_a_short_dismissive_remark_inside_a_long_turn_is_rated_on_its_own(matcher):
    """A three-word sentence inside a 30-word turn: rated as a sentence of its own (with its
    words as evidence), not only mixed with the rest of the turn."""
    remark = "Not my problem."
    tr = call(
        ("agent", 1, 4, "Good morning, thank you for calling."),
        ("customer", 5, 9, "My card was charged twice."),
        ("agent", 10, 24, LONG_TURN.format(remark=remark)),
    )
    item = score(scoring_card(CONDUCT, "dismissive"), tr, None, meta(), matcher=matcher).items[0]
    assert item.verdict == "fail"
    (ev,) = item.evidence
    a, b = ev.span_chars
    assert ev.text[a:b] == "Not my problem" and ev.value >= high("dismissive")
    polite = call(("agent", 10, 24, LONG_TURN.format(remark="I'm sorry about that.")))
    assert (
        score(scoring_card(CONDUCT, "dismissive"), polite, None, meta(), matcher=matcher).items[0].verdict
        == "pass"
    )


@pytest.mark.usefixtures("float32_products")
def test_ratings_from_the_shared_pass_equal_the_models_own(matcher):
    """A call prepared with the scorecard's rules rates its stretches in the matcher's forward
    pass (bottom layers shared); the values are the model's own run to 1e-5."""
    from callwright.nlp import conduct_model
    from callwright.qa.scorecard.matching import PhraseMatcher

    tr = call(("agent", 1, 4, DISMISSIVE[0]), ("agent", 5, 9, LONG_TURN.format(remark=POLITE[1])))
    rules = [i.rule for i in scoring_card(CONDUCT, "dismissive").items]
    fresh = PhraseMatcher(matcher.encoder)
    prepared = fresh.prepare(tr, {}, rules)
    rule = rules[0]
    idx, holder = prepared.rating_plan(rule, None)
    texts = [prepared.rated_spans.texts[i] for i in idx[holder < 0]]  # rated first: the wholes
    assert set(prepared.to_rate()["dismissive"]) == set(texts)
    prepared.matches(rule, 30.0)  # the first embedding: vectors and ratings in one pass
    assert all(("dismissive", t) in fresh._ratings for t in texts)
    rater = conduct_model.get_rater("dismissive", matcher.encoder)  # its model, or its pair
    alone = conduct_model.rate_texts(rater, matcher.encoder, texts)
    assert np.allclose(fresh.ratings("dismissive", texts), alone, atol=1e-5)


def test_a_cached_text_is_rated_in_the_shared_pass_and_keeps_its_vector(matcher):
    """A stretch whose vector is cached already (a scorecard example said verbatim) is rated in
    the matcher's one pass (`PhraseMatcher.rate_cached_in_pass`), not in a pass of its own
    afterwards: the model's own value to 1e-5, and the cached vector's bits unchanged."""
    from callwright.nlp import conduct_model
    from callwright.qa.scorecard.matching import PhraseMatcher

    assert PhraseMatcher.rate_cached_in_pass
    tr = call(("agent", 1, 4, DISMISSIVE[0]), ("agent", 5, 9, POLITE[1]))
    rules = [i.rule for i in scoring_card(CONDUCT, "dismissive").items]
    fresh = PhraseMatcher(matcher.encoder)
    prepared = fresh.prepare(tr, {}, rules)
    texts = prepared.to_rate()["dismissive"]
    before = fresh.vectors(texts).copy()  # cached, not rated
    assert not any(("dismissive", t) in fresh._ratings for t in texts)
    passes = []
    real = conduct_model.rate_texts
    conduct_model.rate_texts = lambda *a, **k: passes.append(a) or real(*a, **k)
    try:
        fresh.warm([prepared])
    finally:
        conduct_model.rate_texts = real
    # no MiniLM pass of their own (a panel's partner on another encoder runs that encoder on the
    # gated texts, in the same call)
    assert not [a for a in passes if a[1] is matcher.encoder]
    assert np.array_equal(fresh.vectors(texts), before)
    rater = conduct_model.get_rater("dismissive", matcher.encoder)  # its model, or its pair
    alone = conduct_model.rate_texts(rater, matcher.encoder, texts)
    assert np.allclose(fresh.ratings("dismissive", texts), alone, atol=1e-5)
