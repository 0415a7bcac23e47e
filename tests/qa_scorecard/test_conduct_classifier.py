"""The conduct classifier on forbidden items (`classifier: dismissive`): loading, checking, scoring.

Scoring tests use the real packaged encoder and the stored head, and assert only on sentences
far from the decision threshold (a margin of 0.2 either side), so a retrained head that still
does its job passes and one that does not, fails.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from scorecard_helpers import call, card, meta

from callwright.errors import DataError, ModelNotFoundError
from callwright.nlp import conduct
from callwright.qa.scorecard import score
from callwright.qa.scorecard.loader import schema

MARGIN = 0.2
THRESHOLD = 0.5

CONDUCT = """\
scorecard: t
sections:
  - id: s
    items:
      - id: no-dismissive
        kind: forbidden
        auto_fail: true
        points: 0
        threshold: 0.95
        classifier: dismissive
        classifier_threshold: 0.5
        phrases: [I refuse to discuss the weather]
      - id: polite
        kind: phrase
        phrases: [thank you for calling]
"""

DISMISSIVE = [
    "Honestly, that's your own mess, sort it out yourself.",
    "Oh please, stop whining, I've got better things to do.",
]
POLITE = [
    "I'm sorry, I can't waive that fee, but I can set up a payment plan for you.",
    "Let me look into that for you, it will only take a moment.",
]


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
    assert "'dismisive' is not one of dismissive; did you mean 'dismissive'?" in err


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


def test_the_stored_head_matches_its_training_data():
    head = conduct.get_head("dismissive")
    assert head.dim == 384 and head.data_sha256 == conduct.data_hash()
    sentences = conduct.load_sentences()
    assert len(sentences["dismissive"]) >= 100 and len(sentences["polite"]) >= 100


def test_a_head_for_other_data_or_another_encoder_is_refused(tmp_path, monkeypatch):
    head = conduct.get_head("dismissive")

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
    head = conduct.get_head("dismissive")
    conduct.check_encoder(head, matcher.encoder)
    p_bad = head.probability(matcher.vectors([s.lower() for s in DISMISSIVE]))
    p_ok = head.probability(matcher.vectors([s.lower() for s in POLITE]))
    assert min(p_bad) >= THRESHOLD + MARGIN, p_bad
    assert max(p_ok) <= THRESHOLD - MARGIN, p_ok


@pytest.mark.parametrize("sentence", DISMISSIVE)
def test_a_dismissive_sentence_fails_the_item_with_the_words_and_the_rating(matcher, sentence):
    tr = call(
        ("agent", 1, 4, "Good morning, thank you for calling."),
        ("customer", 5, 9, "My card was charged twice."),
        ("agent", 10, 14, sentence),
    )
    item = score(card(CONDUCT), tr, None, meta(), matcher=matcher).items[0]
    assert item.verdict == "fail" and item.auto_fail
    (ev,) = item.evidence
    assert ev.start == pytest.approx(10, abs=4) and ev.value >= THRESHOLD + MARGIN
    assert "dismissive classifier rates" in ev.note
    a, b = ev.span_chars
    assert ev.text[a:b] and ev.text[a:b].lower() in sentence.lower()


@pytest.mark.parametrize("sentence", POLITE)
def test_a_polite_sentence_passes_and_shows_the_highest_rating(matcher, sentence):
    tr = call(("agent", 1, 4, "Good morning, thank you for calling."), ("agent", 10, 14, sentence))
    item = score(card(CONDUCT), tr, None, meta(), matcher=matcher).items[0]
    assert item.verdict == "pass"
    rated = [e for e in item.evidence if "classifier rates" in e.note]
    assert rated and max(e.value for e in rated) <= THRESHOLD - MARGIN


def test_the_customer_being_rude_does_not_count_against_the_agent(matcher):
    tr = call(("customer", 1, 4, DISMISSIVE[1]), ("agent", 5, 8, POLITE[1]))
    assert score(card(CONDUCT), tr, None, meta(), matcher=matcher).items[0].verdict == "pass"


@pytest.mark.slow
def test_retraining_gives_the_stored_head(matcher):
    stored = conduct.get_head("dismissive")
    fresh = conduct.train(matcher.encoder)
    assert fresh.data_sha256 == stored.data_sha256
    assert fresh.weights == pytest.approx(stored.weights, abs=1e-3)


def test_a_call_without_agent_speech_passes(matcher):
    for tr in (call(), call(("customer", 1, 4, DISMISSIVE[0]))):
        assert score(card(CONDUCT), tr, None, meta(), matcher=matcher).items[0].verdict == "pass"
