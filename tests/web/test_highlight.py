"""Matched words in evidence: `span_chars` marks them, anything else shows the text plain."""

from __future__ import annotations

import json

import pytest

from callwright.web.highlight import Piece, pieces, span_start
from tests.web.conftest import sign_in


def test_a_span_marks_the_matched_words():
    text = "I need to let you know this call is recorded"
    e = {"text": text, "span_chars": [text.index("this"), len(text)]}
    assert pieces(e) == [Piece("I need to let you know ", False), Piece("this call is recorded", True)]


def test_a_span_at_the_edges():
    assert pieces({"text": "abc", "span_chars": [0, 3]}) == [Piece("abc", True)]
    assert pieces({"text": "abc", "span_chars": [1, 2]}) == [
        Piece("a", False),
        Piece("b", True),
        Piece("c", False),
    ]


@pytest.mark.parametrize(
    "span", [None, [2, 1], [0, 99], [-1, 2], ["0", "2"], [0], [0, 1, 2], "0-2", [True, 2], [0.5, 2]]
)
def test_a_missing_or_bad_span_shows_the_text_plain(span):
    e = {"text": "abc"} if span is None else {"text": "abc", "span_chars": span}
    assert pieces(e) == [Piece("abc", False)]


def test_no_text_no_pieces():
    assert pieces({"note": "n/a"}) == [] and pieces({"text": None}) == []


def test_playing_starts_at_the_matched_words_when_their_times_are_known():
    assert span_start({"start": 3.0, "span_times": [4.5, 6.0]}) == 4.5
    assert span_start({"start": 3.0, "span_times": ["x", 1]}) == 3.0
    assert span_start({"start": 3.0}) == 3.0 and span_start({}) is None


def test_the_call_page_marks_a_stored_span_and_escapes_around_it(client, db_copy):
    import sqlite3

    con = sqlite3.connect(db_copy.path)
    rows = con.execute(
        "select rowid, evidence from item_scores where call_id = 'hostile-call' and item_id = 'greeting'"
    ).fetchall()
    rowid, evidence = rows[0]
    ev = json.loads(evidence)
    first = next(e for e in ev if e.get("text"))
    text = first["text"]
    at = text.index("<script>")
    first["span_chars"] = [at, at + len("<script>")]
    first["span_times"] = [first["start"] + 0.25, first["start"] + 1.0]
    with con:
        con.execute("update item_scores set evidence = ? where rowid = ?", [json.dumps(ev), rowid])
    con.close()
    sign_in(client, "rita")
    page = client.get("/calls/hostile-call").text
    assert "<mark>&lt;script&gt;</mark>" in page
    assert f'data-seek="{first["start"] + 0.25}"' in page
    assert "<script>alert" not in page
