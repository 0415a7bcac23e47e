"""QA storage: atomic, idempotent per (recording, scorecard version), reviews beside verdicts."""

import dataclasses
import json

import pytest

from callwright.qa.model import (
    CallMeta,
    ConversationMetrics,
    Evidence,
    ItemResult,
    Overtalk,
    ScoreResult,
    Silence,
    Transcript,
    Utterance,
)
from callwright.store import qa
from callwright.store.db import open_db


def scored(call_id="c1", rec="r1", version="v1", verdict="pass"):
    t = Transcript(
        call_id,
        60.0,
        [
            Utterance(
                "agent",
                0.5,
                3.0,
                "thank you for calling acme this call is recorded",
                sentiment=0.2,
                sentiment_label="neutral",
            ),
            Utterance(
                "customer", 3.5, 6.0, "my card number is [CARD]", sentiment=-0.1, sentiment_label="neutral"
            ),
        ],
    )
    m = ConversationMetrics(
        60.0,
        {"agent": 30.0, "customer": 20.0},
        1.5,
        10.0,
        4.0,
        [],
        [Silence(20, 150)],
        [Overtalk(5.0, 5.6, "customer")],
        {"agent": 150.0, "customer": 120.0},
    )
    r = ScoreResult(
        call_id,
        "inbound-service",
        version,
        80.0 if verdict == "pass" else 0.0,
        verdict == "fail",
        [
            ItemResult(
                "disclosure",
                "compliance",
                "phrase",
                verdict,
                10,
                10,
                auto_fail=True,
                evidence=[Evidence("this call is recorded", 0.5, 3.0, "agent", 0.82)],
            ),
            ItemResult("empathy", "soft", "manual", "review", 0, 0),
        ],
    )
    meta = CallMeta(call_id, "inbound", agent="dana", team="blue", queue="billing")
    return qa.ScoredCall(rec, f"/recs/{rec}.wav", meta, 2, 8000, t, m, r)


def test_save_is_atomic_and_idempotent(tmp_path):
    db = open_db(tmp_path / "qa.db")
    assert qa.save_scored_call(db, scored()) is True
    assert qa.save_scored_call(db, scored()) is False  # same recording, same scorecard version
    assert db["scores"].count == 1 and db["utterances"].count == 2
    assert qa.is_scored(db, "r1", "v1") and not qa.is_scored(db, "r1", "v2")
    row = db["calls"].get("c1")
    assert (row["agent"], row["team"], row["direction"], row["source"]) == (
        "dana",
        "blue",
        "inbound",
        "recording",
    )
    met = db["metrics"].get("c1")
    assert (met["hold_count"], met["hold_total_s"], met["interruptions_by_customer"]) == (1, 130.0, 1)
    ev = json.loads(db["item_scores"].get(("c1", "v1", "disclosure"))["evidence"])
    assert ev[0]["similarity"] == 0.82 and ev[0]["start"] == 0.5


def test_a_failed_write_leaves_nothing(tmp_path):
    db = open_db(tmp_path / "qa.db")
    bad = scored()
    bad.result.items.append(ItemResult("disclosure", "dup", "phrase", "pass", 1, 1))  # duplicate pk
    bad.result.items[-1].evidence = [object()]  # not serialisable: fails mid-transaction
    with pytest.raises(TypeError):
        qa.save_scored_call(db, bad)
    assert db["scores"].count == 0 and db["utterances"].count == 0 and db["recordings"].count == 0


def test_ivr_call_keeps_its_fields_when_scored(tmp_path):
    db = open_db(tmp_path / "qa.db")
    db["calls"].insert(
        {
            "id": "c1",
            "flow": "acme-inbound",
            "direction": "inbound",
            "started_at": "2026-11-23T10:00:00-05:00",
            "outcome": "transferred",
        }
    )
    sc = scored()
    sc.meta = CallMeta("c1")
    qa.save_scored_call(db, sc)
    row = db["calls"].get("c1")
    assert (row["flow"], row["outcome"], row["started_at"]) == (
        "acme-inbound",
        "transferred",
        "2026-11-23T10:00:00-05:00",
    )


def test_reviews_sit_beside_automatic_verdicts_and_calibrate(tmp_path):
    db = open_db(tmp_path / "qa.db")
    qa.save_scored_call(db, scored("c1", "r1"))
    qa.save_scored_call(db, scored("c2", "r2", verdict="fail"))
    qa.add_review(db, "c1", "disclosure", "pass", "fine", "lee")
    qa.add_review(db, "c2", "disclosure", "fail", "first look", "lee")
    qa.add_review(db, "c2", "disclosure", "pass", "disclosure was there after all", "kim")
    view = qa.call_view(db, "c2")
    assert [i["verdict"] for i in view["items"] if i["item_id"] == "disclosure"] == ["fail"]
    assert [r["reviewer"] for r in view["reviews"]] == ["lee", "kim"]
    (cal,) = [c for c in qa.calibration(db) if c["item_id"] == "disclosure"]
    assert (cal["reviewed"], cal["agreed"], cal["auto_fail_human_pass"]) == (2, 1, 1)
    with pytest.raises(LookupError):
        qa.add_review(db, "c1", "nope", "pass", "", "lee")
    with pytest.raises(LookupError):
        qa.add_review(db, "zzz", "disclosure", "pass", "", "lee")


def test_full_text_search_over_utterances(tmp_path):
    db = open_db(tmp_path / "qa.db")
    qa.save_scored_call(db, scored())
    hits = qa.search_utterances(db, "recorded")
    assert [(h["call_id"], h["speaker"]) for h in hits] == [("c1", "agent")]


def test_a_rescore_in_the_same_second_is_the_one_latest_score_of_the_call(tmp_path, monkeypatch):
    """scored_at is kept to the second; two scores of a call within one second must not both
    count as its latest (the call was listed twice by `qa list` and the scored_calls view)."""
    monkeypatch.setattr(qa, "now_utc", lambda: "2026-12-03T08:00:00Z")
    db = open_db(tmp_path / "qa.db")
    assert qa.save_scored_call(db, scored(version="v1"))
    assert qa.save_rescore(db, "r1", scored(version="v2").result)
    assert qa.save_rescore(db, "r1", scored(version="v3").result)
    rows = qa.list_scores(db)
    assert [(r["call_id"], r["scorecard_version"]) for r in rows] == [("c1", "v3")]
    view = list(db.query("select scorecard_version from scored_calls where call_id = 'c1'"))
    assert view == [{"scorecard_version": "v3"}]
    times = [r["scored_at"] for r in db.query("select scored_at from scores order by rowid")]
    assert times == ["2026-12-03T08:00:00Z", "2026-12-03T08:00:01Z", "2026-12-03T08:00:02Z"]


def test_since_and_until_compare_instants_with_an_offset_and_local_times_without(tmp_path):
    """started_at keeps each call's local time and offset; text comparison got both kinds wrong."""
    from datetime import datetime

    db = open_db(tmp_path / "qa.db")
    for call_id, started in (("ny", "2024-05-06T09:12:00-05:00"), ("utc", "2024-05-06T14:05:00Z")):
        sc = scored(call_id=call_id, rec=f"r-{call_id}")
        sc = dataclasses.replace(sc, meta=dataclasses.replace(sc.meta, started_at=started))
        assert qa.save_scored_call(db, sc)

    def ids(**bounds):
        return sorted(r["call_id"] for r in qa.list_scores(db, **bounds))

    # instants: 09:12-05:00 is 14:12Z, after 14:05Z
    assert ids(since=datetime.fromisoformat("2024-05-06T16:00+05:00")) == ["ny", "utc"]  # 11:00Z
    assert ids(since=datetime.fromisoformat("2024-05-06T14:10Z")) == ["ny"]
    assert ids(until=datetime.fromisoformat("2024-05-06T14:10Z")) == ["utc"]
    # wall-clock times: each call's own local time (09:12 in New York, 14:05 at UTC)
    assert ids(since=datetime.fromisoformat("2024-05-06 14:00")) == ["utc"]
    assert ids(since=datetime.fromisoformat("2024-05-06"), until=datetime.fromisoformat("2024-05-07")) == [
        "ny",
        "utc",
    ]
    assert ids(until=datetime.fromisoformat("2024-05-06 10:00")) == ["ny"]
    # newest first by the instant, not by the text (09:12-05:00 is after 14:05Z)
    assert [r["call_id"] for r in qa.list_scores(db)] == ["ny", "utc"]
