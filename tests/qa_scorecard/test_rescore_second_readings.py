"""`qa rescore` reads the second readings a second listen stored in an item's evidence: an
unchanged scorecard gives the same verdicts (it turned a second-listen pass into a fail)."""

from __future__ import annotations

from callwright.qa.model import CallMeta, ScoredCall, Transcript, Utterance
from callwright.qa.rescore import rescore, stored_readings
from callwright.qa.scorecard import loads_scorecard, score
from callwright.qa.second_listen import SecondListenSettings, second_listen
from callwright.speech.asr.base import Recognition, SecondReading, Word
from callwright.store import qa as store
from callwright.store.db import open_db

CARD = """
scorecard: greet
name: Greeting
version: 1
applies_to: inbound
defaults:
  threshold: 0.7
  speaker: agent
sections:
  - id: opening
    items:
      - id: greeting
        kind: phrase
        phrases: ["thank you for calling northwind energy"]
      - id: help
        kind: phrase
        phrases: ["how can I help you today"]
"""
FIRST = "can you put calling on wind energy my name is priya"
SECOND = "thank you for calling northwind energy my name is priya"


def _transcript() -> Transcript:
    return Transcript(
        "c1",
        30.0,
        [
            Utterance("agent", 0.9, 3.0, FIRST),
            Utterance("customer", 3.5, 5.0, "hi there"),
            Utterance("agent", 5.5, 7.0, "how can I help you today"),
        ],
        source="audio",
    )


def _item(result, item_id):
    return next(r for r in result.items if r.item_id == item_id)


def _listen(u, phrases, span):
    """The recogniser's second reading of the greeting's stretch (scripted: what is under test is
    what the rescore does with the stored evidence, not what Whisper hears)."""
    if u.text != FIRST:
        return None
    words = [Word(w, u.start + i * 0.2, u.start + i * 0.2 + 0.15, 0.9) for i, w in enumerate(SECOND.split())]
    return SecondReading(Recognition(SECOND, 0.9, words), plain_text=FIRST, support=-0.1)


def test_a_second_listen_pass_survives_a_rescore_of_the_same_card(tmp_path, matcher):
    card = loads_scorecard(CARD, "greet.yaml")
    meta = CallMeta("c1", "inbound", agent="priya")
    transcript = _transcript()
    first = score(card, transcript, None, meta, matcher=matcher)
    assert _item(first, "greeting").verdict == "fail"
    heard = second_listen(card, first, transcript, None, matcher, _listen, SecondListenSettings(screen=False))
    assert _item(heard, "greeting").verdict == "pass"
    readings = stored_readings(_item(heard, "greeting").evidence)
    assert [(r.first, r.second) for r in readings] == [(FIRST, SECOND)]

    db = open_db(tmp_path / "qa.db")
    assert store.save_scored_call(db, ScoredCall("r1", "c1.wav", meta, 2, 8000, transcript, None, heard))
    _, meta2, stored, metrics = store.stored_call(db, "c1")
    found = store.stored_second_readings(db, "c1")
    assert set(found) == {"greeting"}
    again = rescore(card, stored, metrics, meta2, matcher, found)
    assert {r.item_id: r.verdict for r in again.items} == {"greeting": "pass", "help": "pass"}
    assert "a rescore does not listen again" in _item(again, "greeting").evidence[0].note
    # without the stored readings, the first reading alone fails it (what the rescore did before)
    assert _item(rescore(card, stored, metrics, meta2, matcher, {}), "greeting").verdict == "fail"
    # an item the first reading passes keeps its own verdict; a new item id has no readings
    renamed = loads_scorecard(CARD.replace("id: greeting", "id: welcome"), "greet.yaml")
    assert _item(rescore(renamed, stored, metrics, meta2, matcher, found), "welcome").verdict == "fail"


def test_a_mono_call_is_rescored_as_it_was_scored(tmp_path, matcher):
    """Nobody labelled: the speaker-bound items are judged on anything said, as `qa score` does
    (the stored call came back as a separated one and failed them)."""
    from callwright.qa.pipeline import score_transcript

    card = loads_scorecard(CARD, "greet.yaml")
    meta = CallMeta("m1", "inbound")
    mono = Transcript(
        "m1",
        20.0,
        [Utterance("unknown", 0.5, 3.0, "thank you for calling northwind energy how can I help you today")],
        source="audio",
        diarization="none",
    )
    first = score_transcript(card, mono, None, meta, matcher)
    assert [r.verdict for r in first.items] == ["pass", "pass"]
    db = open_db(tmp_path / "qa.db")
    assert store.save_scored_call(db, ScoredCall("r1", "m1.wav", meta, 1, 8000, mono, None, first))
    _, meta2, stored, metrics = store.stored_call(db, "m1")
    assert stored.diarization == "none"
    again = rescore(card, stored, metrics, meta2, matcher, {})
    assert [(r.verdict, [e.note for e in r.evidence][-1]) for r in again.items] == [
        (r.verdict, [e.note for e in r.evidence][-1]) for r in first.items
    ]


def test_a_customer_placeholder_still_reads_the_name_label_once_the_name_is_a_pseudonym(tmp_path, matcher):
    card = loads_scorecard(
        CARD.replace('"thank you for calling northwind energy"', '"thank you {customer}"'), "greet.yaml"
    )
    meta = CallMeta("p1", "inbound", customer="Patricia Brown")
    said = Transcript("p1", 20.0, [Utterance("agent", 0.5, 3.0, "thank you [NAME] how can I help you today")])
    first = score(card, said, None, meta, matcher=matcher)
    assert _item(first, "greeting").verdict == "pass"
    db = open_db(tmp_path / "qa.db")
    assert store.save_scored_call(db, ScoredCall("r1", "p1.wav", meta, 2, 8000, said, None, first))
    _, meta2, stored, metrics = store.stored_call(db, "p1")
    assert meta2.customer.startswith("name-")
    assert _item(rescore(card, stored, metrics, meta2, matcher, {}), "greeting").verdict == "pass"
