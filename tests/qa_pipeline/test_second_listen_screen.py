"""The second listen's screen: one quick primed reading per stretch, with the phrasings of every
item that would listen to it, decides which full (calibrated) listens are made. The policy is tested
with scripted ears and screens (the real MiniLM matcher); what it recovers on real audio through the
sample calls, with the real recogniser."""

from __future__ import annotations

import textwrap

import pytest

from callwright.qa.model import CallMeta, Transcript, Utterance
from callwright.qa.scorecard import loads_scorecard, score
from callwright.qa.second_listen import SecondListenSettings, second_listen
from callwright.speech.asr.base import Recognition, SecondReading, Word

CARD = """\
scorecard: t
sections:
  - id: s
    items:
      - id: greeting
        kind: phrase
        within_first_s: 30
        phrases: [thank you for calling Northwind Energy]
      - id: disclosure
        kind: phrase
        auto_fail: true
        phrases: [this call may be recorded]
      - id: anything-else
        kind: phrase
        phrases: [is there anything else I can help you with]
"""


def _call() -> Transcript:
    turns = [
        ("agent", 1, 5, "Can you put calling on wind energy. My name is Priya."),
        ("customer", 6, 9, "Hi, I have a question about my bill."),
        ("agent", 10, 14, "Let me look at the account for you."),
        ("agent", 40, 44, "Goodbye then, have a nice day."),
    ]
    return Transcript("c1", 46.0, [Utterance(s, float(a), float(b), t) for s, a, b, t in turns])


def _reading(text: str, u: Utterance, support: float) -> SecondReading:
    words = text.split()
    step = (u.end - u.start) / len(words)
    timed = [Word(w, u.start + i * step, u.start + (i + 1) * step, 0.9) for i, w in enumerate(words)]
    return SecondReading(Recognition(text, 0.8, timed, True, u.start, u.end), "(plain)", support)


class Ears:
    """Scripted full listens and screens by utterance start time, recording what was asked."""

    def __init__(self, listens: dict[float, str], screens: dict[float, str | None]) -> None:
        self.listens, self.screens = listens, screens
        self.listened: list[tuple[float, tuple[str, ...]]] = []
        self.screened: list[tuple[float, tuple[str, ...]]] = []

    def listen(self, u, phrases, span):
        self.listened.append((u.start, tuple(phrases)))
        return _reading(self.listens[u.start], u, -0.1) if u.start in self.listens else None

    def screen(self, u, phrases, span):
        self.screened.append((u.start, tuple(phrases)))
        return self.screens.get(u.start, "")


@pytest.fixture(scope="module")
def matcher():
    from callwright.nlp.embeddings import get_encoder
    from callwright.qa.scorecard import PhraseMatcher

    return PhraseMatcher(get_encoder())


def _first(matcher):
    card, t = loads_scorecard(textwrap.dedent(CARD), "card.yaml"), _call()
    first = score(card, t, None, CallMeta("c1", "inbound"), matcher=matcher)
    assert {r.item_id: r.verdict for r in first.items} == {
        "greeting": "fail",
        "disclosure": "fail",
        "anything-else": "fail",
    }
    return card, t, first


def test_each_stretch_is_screened_once_with_every_item_that_would_listen_to_it(matcher):
    card, t, first = _first(matcher)
    ears = Ears({1.0: "Thank you for calling Northwind Energy. My name is Priya."}, {})
    second_listen(card, first, t, None, matcher, ears.listen, SecondListenSettings(), screen=ears.screen)
    starts = [s for s, _ in ears.screened]
    assert len(starts) == len(set(starts)) and starts
    opening = dict(ears.screened)[1.0]
    # every item that would listen to the opening, the most valuable (the compliance item) last
    assert "this call may be recorded" in opening and "thank you for calling Northwind Energy" in opening
    assert opening[-1] == "this call may be recorded"


def test_only_a_stretch_whose_screen_hears_the_phrase_is_listened_to_in_full(matcher):
    card, t, first = _first(matcher)
    greeting = "Thank you for calling Northwind Energy. My name is Priya."
    ears = Ears({1.0: greeting}, {1.0: "Thank you for calling North wind energy. My name is Priya."})
    again = second_listen(
        card, first, t, None, matcher, ears.listen, SecondListenSettings(), screen=ears.screen
    )
    assert ears.listened == [(1.0, ("thank you for calling Northwind Energy",))]  # nothing else heard
    verdicts = {r.item_id: r.verdict for r in again.items}
    assert verdicts == {"greeting": "pass", "disclosure": "fail", "anything-else": "fail"}


def test_a_screen_that_hears_nothing_saves_every_listen_and_changes_no_verdict(matcher):
    card, t, first = _first(matcher)
    ears = Ears({1.0: "Thank you for calling Northwind Energy."}, {})
    again = second_listen(
        card, first, t, None, matcher, ears.listen, SecondListenSettings(), screen=ears.screen
    )
    assert ears.screened and not ears.listened
    assert {r.item_id: r.verdict for r in again.items} == {r.item_id: r.verdict for r in first.items}


def test_without_a_screen_or_where_it_cannot_read_every_stretch_is_listened_to(matcher):
    """None from the screen (a stretch too long for its window) or no screen at all (another engine,
    or `screen: false`): the full listens run as before the screen existed."""
    card, t, first = _first(matcher)
    runs = []
    for screen, settings in (
        (None, SecondListenSettings()),
        ("none", SecondListenSettings()),
        ("empty", SecondListenSettings(screen=False)),
    ):
        ears = Ears({1.0: "Thank you for calling Northwind Energy."}, {})
        if screen == "none":
            ears.screens = {u.start: None for u in t.utterances}
        chosen = None if screen is None else ears.screen
        second_listen(card, first, t, None, matcher, ears.listen, settings, screen=chosen)
        runs.append(ears.listened)
    assert runs[0] and runs[0] == runs[1] == runs[2]


# -- real audio ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["lost-sentence", "lost-opt-out"])
def test_the_screened_second_listen_still_recovers_what_the_first_reading_lost(
    render_samples, scripts, cards, engines, case
):
    """As test_qa_pipeline's second-listen cases (a first reading that lost an item's phrase, given),
    with the pipeline's screen in front of the full listen: the stretch is screened, listened to in
    full, and the item passes."""
    from test_qa_pipeline import lost_phrase_case

    from callwright.qa.pipeline import _stretch_listener, _stretch_screener, score_transcript

    call, card, meta, transcript, metrics, lost, item_id, _, _ = lost_phrase_case(
        case, render_samples, scripts, cards
    )
    screens, listens = [], []
    look, ears = _stretch_screener(call, engines.recognizer), _stretch_listener(call, engines.recognizer)

    def screen(u, phrases, span):
        screens.append(u.start)
        return look(u, phrases, span)

    def listen(u, phrases, span):
        listens.append(u.start)
        return ears(u, phrases, span)

    result = score_transcript(
        card, transcript, metrics, meta, engines.matcher, listen, SecondListenSettings(), screen
    )
    item = next(r for r in result.items if r.item_id == item_id)
    start = transcript.utterances[lost].start
    assert start in screens and start in listens
    assert item.verdict == "pass", [(e.note, e.text) for e in item.evidence]
    assert len(listens) <= len(screens) + 2  # the screen, not a listen per item and stretch


def test_support_is_asked_only_of_a_reading_whose_words_would_pass(matcher):
    """Weighing the support costs two decoder passes; a second reading that does not say the phrase
    is dropped on its words, unweighed, and the verdicts are those of weighing every reading."""
    from callwright.speech.asr.whisper_second_listen import WeighedOnUse

    card, t, first = _first(matcher)
    weighed: list[float] = []
    texts = {1.0: "Thank you for calling Northwind Energy. My name is Priya.", 10.0: "Let me look at it."}

    def listen(u, phrases, span):
        if u.start not in texts:
            return None
        plain = _reading(texts[u.start], u, -0.1)
        return WeighedOnUse(plain.recognition, plain.plain_text, lambda: weighed.append(u.start) or -0.1)

    def eager(u, phrases, span):
        return _reading(texts[u.start], u, -0.1) if u.start in texts else None

    again = second_listen(card, first, t, None, matcher, listen, SecondListenSettings(screen=False))
    before = second_listen(card, first, t, None, matcher, eager, SecondListenSettings(screen=False))
    assert weighed == [1.0]  # only the greeting's reading, which says its phrase
    assert [(r.item_id, r.verdict) for r in again.items] == [(r.item_id, r.verdict) for r in before.items]
    assert {r.item_id: r.verdict for r in again.items}["greeting"] == "pass"


def test_a_screen_reading_is_prepared_for_matching_once_for_every_item_that_asks(matcher, monkeypatch):
    """The opening's screen reading is asked about by each missed item that would listen to it; it
    is tokenised and embedded once, and the screen's decisions are those of preparing it each time."""
    from callwright.qa import second_listen as sl

    card, t, first = _first(matcher)
    prepared: list[int] = []

    class Counting:
        def prepare(self, transcript, *a, **k):
            if len(transcript.utterances) == 1:
                prepared.append(id(transcript.utterances[0]))
            return matcher.prepare(transcript, *a, **k)

    reading = "Thank you for calling North wind energy. This call may be recorded. My name is Priya."
    ears = Ears({1.0: "Thank you for calling Northwind Energy. My name is Priya."}, {1.0: reading})
    again = second_listen(
        card, first, t, None, Counting(), ears.listen, SecondListenSettings(), screen=ears.screen
    )
    asked = [p for p in ears.screened if p[0] == 1.0]
    assert len(asked) == 1 and len(asked[0][1]) >= 2  # one screen of the opening for two items or more
    assert prepared and len(prepared) == len(set(prepared))  # each reading prepared once
    # the same decisions as asking about the reading afresh each time
    fresh = Ears(dict(ears.listens), dict(ears.screens))
    once = sl._Closeness.__call__

    def afresh(self, u, rule):
        self._prepared.clear()
        return once(self, u, rule)

    monkeypatch.setattr(sl._Closeness, "__call__", afresh)
    before = second_listen(
        card, first, t, None, matcher, fresh.listen, SecondListenSettings(), screen=fresh.screen
    )
    assert fresh.listened == ears.listened
    assert [(r.item_id, r.verdict) for r in again.items] == [(r.item_id, r.verdict) for r in before.items]
