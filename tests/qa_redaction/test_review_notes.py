"""Reviewer notes are free text a reviewer types, often quoting the call: they are redacted like a
transcript before they are stored (issue 12, personal data)."""

from __future__ import annotations

import re

from callwright.qa.model import CallMeta, ItemResult, ScoreResult, Transcript, Utterance
from callwright.store import qa
from callwright.store.db import open_db


def _scored(call_id: str = "c1") -> qa.ScoredCall:
    t = Transcript(call_id, 30.0, [Utterance("agent", 0.5, 3.0, "this call is recorded")])
    r = ScoreResult(
        call_id,
        "inbound-service",
        "v1",
        100.0,
        False,
        [ItemResult("disclosure", "compliance", "phrase", "pass", 10, 10)],
    )
    return qa.ScoredCall("r1", "/recs/r1.wav", CallMeta(call_id, "inbound"), 1, 8000, t, None, r)


def test_a_card_number_in_a_review_note_is_not_stored_in_clear(tmp_path):
    db = open_db(tmp_path / "qa.db")
    qa.save_scored_call(db, _scored())
    note = (
        "customer read 4111 1111 1111 1111 exp 09/27 cvv 741, ssn 078-05-1120, "
        "mail rosa@example.com; agent read back 4,111,111,111,111,111"
    )
    review_id = qa.add_review(db, "c1", "disclosure", "fail", note, "lee")
    stored = db["reviews"].get(review_id)["note"]
    assert not re.search(r"\d{3}", stored) and "rosa@" not in stored, stored
    assert "[CARD]" in stored and "[CVV]" in stored and "[SSN]" in stored
    assert stored.startswith("customer read")  # the rest of the note is kept


def test_an_ordinary_note_is_stored_as_written(tmp_path):
    db = open_db(tmp_path / "qa.db")
    qa.save_scored_call(db, _scored())
    note = "disclosure was said at 0:03, after the greeting; fine"
    review_id = qa.add_review(db, "c1", "disclosure", "pass", note, "kim")
    assert db["reviews"].get(review_id)["note"] == note
