"""What a conduct classifier rates on a call: whole sentences and turns longer than a window are
rated as they are (`CallText.rated_spans`), and a window cut from a whole that rates under
`conduct.CONTEXT_FLOOR` does not count (`scorers.out_of_context`).

The policy is tested with ratings set by the test (`PhraseMatcher.ratings` replaced on one
matcher), so what is asserted is the rule, not a model's numerics; the models themselves are
measured in bench/qa_real/evaluate.py."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
from scorecard_helpers import CONDUCT, call, card, meta

from callwright.nlp import conduct
from callwright.qa.scorecard import score
from callwright.qa.scorecard.matching import WINDOW_WORDS, PhraseMatcher, tokens, unit_ranges

CARD = CONDUCT  # its first item: no-dismissive, the examples far from anything said here

# 22 words, one sentence: its 10-word windows are rated besides the whole of it
LONG = (
    "Well I did go through the terms of the lease with the branch, and waiving it is where my hands are tied."
)
SHORT = "Let me check that for you."  # a sentence no longer than a window


def words(text: str) -> int:
    return len(text.split())


def rated_texts(matcher: PhraseMatcher, tr) -> list[str]:  # noqa: ANN001
    rule = card(CARD).items[0].rule
    prepared = matcher.prepare(tr, {}, [rule])
    return [prepared.rated_spans.texts[i] for i in prepared.rated_stretches(rule, None)]


def test_unit_ranges_are_the_long_sentences_and_the_whole_turn():
    tr = call(("agent", 0, 9, f"{SHORT} {LONG}"))
    (u,) = tr.utterances
    toks = tokens(u)
    n_short, n_long = words(SHORT), words(LONG)
    assert n_short <= WINDOW_WORDS < n_long <= 40
    # the long sentence and the whole turn; the short sentence is a span of its own already
    assert unit_ranges(u, toks, 40) == [(0, n_short + n_long), (n_short, n_short + n_long)]
    # a turn longer than the longest whole rated keeps only its sentences that fit
    assert unit_ranges(u, toks, n_long) == [(n_short, n_short + n_long)]
    assert unit_ranges(u, toks, n_long - 1) == []
    # a turn no longer than a window has none: its spans hold it whole
    (v,) = call(("agent", 0, 2, SHORT)).utterances
    assert unit_ranges(v, tokens(v), 40) == []


def test_a_long_sentence_is_rated_whole_besides_its_windows(matcher, monkeypatch):
    whole = " ".join(t.word for t in tokens(call(("agent", 0, 9, LONG)).utterances[0]))
    texts = rated_texts(PhraseMatcher(matcher.encoder), call(("agent", 0, 9, LONG)))
    assert whole in texts
    assert any(words(t) == WINDOW_WORDS for t in texts)  # the windows are still rated
    monkeypatch.setattr(conduct, "UNIT_MAX_WORDS", words(LONG) - 1)
    texts = rated_texts(PhraseMatcher(matcher.encoder), call(("agent", 0, 9, LONG)))
    assert whole not in texts and texts


def rigged(matcher: PhraseMatcher, window: float, rest: float) -> PhraseMatcher:
    """A matcher whose dismissive ratings are set: `window` for the 10-word windows holding
    "hands are tied", `rest` for everything else (the whole sentence among them)."""
    fresh = PhraseMatcher(matcher.encoder)
    fresh.asked = []  # type: ignore[attr-defined]

    def ratings(name: str, texts: Sequence[str]) -> np.ndarray:
        fresh.asked.extend(texts)  # type: ignore[attr-defined]
        return np.array(
            [window if "hands are tied" in t and words(t) <= WINDOW_WORDS else rest for t in texts],
            dtype=np.float32,
        )

    fresh.ratings = ratings  # type: ignore[method-assign]
    return fresh


def verdict(m: PhraseMatcher) -> tuple[str, str]:
    item = score(card(CARD), call(("agent", 0, 9, LONG)), None, meta(), matcher=m).items[0]
    return item.verdict, item.evidence[-1].note


def test_a_window_of_a_sentence_rated_under_the_floor_does_not_count(matcher):
    m = rigged(matcher, window=0.99, rest=conduct.CONTEXT_FLOOR / 2)
    v, note = verdict(m)
    assert v == "pass"
    assert "0.99" not in note  # the piece is not shown as what came closest either: its sentence is
    # nor is it rated at all: only the wholes (and windows no whole holds) are rated first
    asked = m.asked  # type: ignore[attr-defined]
    assert asked and all(words(t) > WINDOW_WORDS or words(t) < WINDOW_WORDS for t in asked)


def test_the_windows_of_a_whole_over_the_floor_are_rated_after_it(matcher):
    m = rigged(matcher, window=0.99, rest=0.3)
    verdict(m)
    asked = m.asked  # type: ignore[attr-defined]
    first_window = next(k for k, t in enumerate(asked) if words(t) == WINDOW_WORDS)
    assert all(words(t) != WINDOW_WORDS for t in asked[:first_window])
    assert any(words(t) > WINDOW_WORDS for t in asked[:first_window])  # the sentence came first


@pytest.mark.parametrize("rest", [conduct.CONTEXT_FLOOR, 0.3])
def test_a_window_counts_where_its_sentence_reaches_the_floor(matcher, rest):
    v, note = verdict(rigged(matcher, window=0.99, rest=rest))
    assert v == "fail" and "hands are tied" in note and "0.99" in note


def test_a_window_of_a_sentence_too_long_to_rate_whole_stands_on_its_own(matcher, monkeypatch):
    monkeypatch.setattr(conduct, "UNIT_MAX_WORDS", WINDOW_WORDS)  # no whole is rated
    v, note = verdict(rigged(matcher, window=0.99, rest=0.0))
    assert v == "fail" and "hands are tied" in note


def test_the_whole_sentence_rated_over_the_threshold_fails_the_item(matcher):
    fresh = PhraseMatcher(matcher.encoder)
    whole = " ".join(t.word for t in tokens(call(("agent", 0, 9, LONG)).utterances[0]))
    fresh.ratings = lambda name, texts: np.array(  # type: ignore[method-assign]
        [0.9 if t == whole else 0.01 for t in texts], dtype=np.float32
    )
    v, note = verdict(fresh)
    assert v == "fail" and whole in note
