"""The score of record (store.reviews): a review recomputes the call's score with the scorecard's
rules, keeps the automatic one, is audited, stays within its scorecard version, and counts in the
KPI report's QA numbers and per-agent table."""

from __future__ import annotations

import pytest

from callwright.store import kpis, reviews, users
from callwright.store.db import open_db

CALL = "inbound-no-disclosure"  # fails only the auto-fail recording disclosure
ITEM = "recording-disclosure"


@pytest.fixture
def db(db_copy):
    database = open_db(db_copy.path)
    yield database
    database.conn.close()


def _auto(db, call_id=CALL):
    """The automatic score row (without the copy of the score of record the row also carries)."""
    row = dict(next(iter(db.query("select * from scores where call_id = ?", [call_id]))))
    return {k: v for k, v in row.items() if not k.startswith("record_")}


def test_the_sample_is_auto_failed_by_the_automatic_scoring(db):
    auto = _auto(db)
    assert auto["auto_failed"] == 1 and auto["score"] == 0.0
    item = next(iter(db.query("select * from item_scores where call_id = ? and item_id = ?", [CALL, ITEM])))
    assert item["verdict"] == "fail" and item["auto_fail"] == 1


def test_overturning_the_auto_failed_item_recomputes_the_score_of_record_and_keeps_the_automatic_one(db):
    before = _auto(db)
    out = reviews.record_review(db, CALL, ITEM, "pass", "disclosure was on the IVR", "rita")
    assert out.recomputed and out.automatic == "fail" and out.replaced is None
    assert not out.auto_failed and out.score is not None and out.score > 50
    assert _auto(db) == before  # the automatic score is kept as it was
    record = reviews.score_of_record(db, CALL, out.scorecard_version)
    assert record["reviewed"] == 1 and record["auto_score"] == 0.0 and record["score"] == out.score
    entry = users.audit_entries(db, call_id=CALL)[0]
    assert (entry["action"], entry["user_name"], entry["item_id"]) == ("review", "rita", ITEM)
    # a pass on every other item: the reviewed score is exactly what the items earn, per the scorecard
    items = list(db.query("select * from item_scores_of_record where call_id = ?", [CALL]))
    earned = sum(i["points"] for i in items)
    possible = sum(i["max_points"] for i in items)
    card = reviews.load_scorecard_version(db, out.scorecard_version)
    if not card.weighted:
        assert out.score == pytest.approx(round(100 * earned / possible, 2))


def test_failing_an_auto_fail_item_on_a_passing_call_zeroes_it(db):
    call = "inbound-billing-ok"
    assert not _auto(db, call)["auto_failed"]
    out = reviews.record_review(db, call, ITEM, "fail", "", "rita")
    assert out.auto_failed and out.score == 0.0


def test_the_later_of_two_reviews_wins_and_both_are_audited(db):
    first = reviews.record_review(db, CALL, ITEM, "pass", "", "rita", seen_review_id=0)
    # sam opened the page before rita saved (he saw no review) and saves later
    second = reviews.record_review(db, CALL, ITEM, "fail", "no disclosure", "sam", seen_review_id=0)
    assert second.superseded_since_seen and second.replaced["id"] == first.review_id
    assert second.auto_failed and second.score == 0.0
    row = next(
        iter(db.query("select * from item_scores_of_record where call_id = ? and item_id = ?", [CALL, ITEM]))
    )
    assert (row["verdict"], row["reviewer"]) == ("fail", "sam")
    actions = [(e["user_name"], e["detail"]) for e in users.audit_entries(db, call_id=CALL)]
    assert [a for a, _ in actions] == ["sam", "rita"]


def test_a_review_of_one_scorecard_version_never_changes_another(db):
    version = reviews.latest_version(db, CALL)
    other = "another-version"
    # the same call scored by another version of the scorecard (same items, other content hash)
    for row in list(
        db.query("select * from item_scores where call_id = ? and scorecard_version = ?", [CALL, version])
    ):
        db.table("item_scores").insert({**row, "scorecard_version": other})
    auto = _auto(db)
    db.table("scores").insert({**auto, "recording_id": auto["recording_id"], "scorecard_version": other})
    card = reviews.load_scorecard_version(db, version)
    import dataclasses

    reviews.save_scorecard(db, dataclasses.replace(card, version=other))
    reviews.record_review(db, CALL, ITEM, "pass", "", "rita", scorecard_version=version)
    assert reviews.score_of_record(db, CALL, other)["reviewed"] == 0
    assert reviews.score_of_record(db, CALL, other)["score"] == 0.0
    assert not list(db.query("select * from reviewed_items where scorecard_version = ?", [other]))


def test_unknown_call_item_or_verdict_is_refused_and_nothing_is_written(db):
    count = db.execute("select count(*) from reviews").fetchone()[0]
    with pytest.raises(reviews.ReviewError, match="no call 'nope'"):
        reviews.record_review(db, "nope", ITEM, "pass", "", "rita")
    with pytest.raises(reviews.ReviewError, match="no scorecard item 'nope'"):
        reviews.record_review(db, CALL, "nope", "pass", "", "rita")
    with pytest.raises(reviews.ReviewError, match="expected one of pass, fail, na"):
        reviews.record_review(db, CALL, ITEM, "maybe", "", "rita")
    with pytest.raises(reviews.ReviewError, match="at most"):
        reviews.record_review(db, CALL, ITEM, "pass", "x" * (reviews.MAX_NOTE_CHARS + 1), "rita")
    assert db.execute("select count(*) from reviews").fetchone()[0] == count


def test_a_card_number_in_a_note_is_redacted(db):
    reviews.record_review(db, CALL, ITEM, "pass", "she read 4111 1111 1111 1111 aloud", "rita")
    note = db.execute("select note from reviews order by id desc limit 1").fetchone()[0]
    assert "4111" not in note


def test_the_kpi_report_counts_the_score_of_record(db):
    start, end = "2000-01-01", "2100-01-01"

    def qa_row():
        return next(r for r in kpis.qa(db, "agent", start, end) if r["grp"] == "maria.lopez")

    def agent_row():
        return next(r for r in kpis.agent_qa(db, start, end) if r["agent"] == "maria.lopez")

    before, agent_before = qa_row(), agent_row()
    reviews.record_review(db, CALL, ITEM, "pass", "", "rita")
    after, agent_after = qa_row(), agent_row()
    assert after["auto_failed"] == before["auto_failed"] - 1
    assert after["avg_score"] > before["avg_score"]
    assert agent_after["qa_score"] > agent_before["qa_score"]
    assert after["compliance_passed"] == before["compliance_passed"] + 1


def test_the_copy_of_the_score_of_record_in_scores_agrees_with_the_view(db):
    def disagreements():
        return db.execute(
            "select count(*) from scores s join scores_of_record v "
            "on v.recording_id = s.recording_id and v.scorecard_version = s.scorecard_version "
            "where s.record_score is not v.score or s.record_auto_failed is not v.auto_failed"
        ).fetchone()[0]

    assert disagreements() == 0
    reviews.record_review(db, CALL, ITEM, "pass", "", "rita")
    reviews.record_review(db, "inbound-billing-ok", ITEM, "fail", "", "rita")
    assert disagreements() == 0
    row = next(iter(db.query("select * from scores where call_id = ?", [CALL])))
    assert row["record_auto_failed"] == 0 and row["record_score"] > 50 and row["score"] == 0.0
    db.execute("delete from reviewed_scores where call_id = ?", [CALL])
    assert disagreements() == 0
    assert (
        next(iter(db.query("select record_score from scores where call_id = ?", [CALL])))["record_score"]
        == 0.0
    )


@pytest.mark.parametrize("query", ['"recorded line"', "thank*", "card", "don't", "move"])
def test_a_common_and_a_rare_search_find_the_same_calls(db, monkeypatch, query):
    from callwright.store.qa import fts_query

    f = reviews.CallFilter(fts=fts_query(query))
    rare = reviews.list_calls(db, f)
    monkeypatch.setattr(reviews, "FTS_COMMON_HITS", 1)  # every term counts as common: the walk
    common = reviews.list_calls(db, f)
    assert [r["id"] for r in rare.rows] == [r["id"] for r in common.rows] and rare.total == common.total
    found = {
        r["call_id"]
        for r in db.query(
            "select u.call_id from utterances u join utterances_fts f on f.rowid = u.rowid "
            "where utterances_fts match ?",
            [fts_query(query)],
        )
    }
    assert {r["id"] for r in rare.rows} == found
