"""`callwright qa` as a user runs it: show, review (beside the automatic verdict), calibration,
search, --json output, and user mistakes as messages (never a traceback)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from conftest import CARDS, ROOT


def cw(*args):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONWARNINGS": "ignore", "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "callwright", "qa", *map(str, args)], capture_output=True,
                          text=True, cwd=ROOT, env=env, timeout=120)


@pytest.fixture
def db(scored_db, tmp_path):
    path = tmp_path / "qa.db"
    shutil.copy(scored_db[0], path)
    return path


def test_show_json_has_transcript_sentiment_items_and_evidence(db):
    r = cw("show", "inbound-no-disclosure", "--db", db, "--json")
    assert r.returncode == 0, r.stderr
    view = json.loads(r.stdout)
    assert view["call"]["id"] == "inbound-no-disclosure" and view["scores"][0]["auto_failed"] == 1
    u = view["utterances"][0]
    assert {"start", "end", "speaker", "text", "sentiment", "sentiment_label"} <= set(u)
    assert set(view["sentiment_by_quarter"]) == {"agent", "customer"}
    items = {i["item_id"]: i for i in view["items"]}
    disclosure = items["recording-disclosure"]
    assert disclosure["verdict"] == "fail" and disclosure["auto_fail"] == 1 and disclosure["evidence"]
    assert items["resolution-confirmed"]["verdict"] == "review"


def test_show_table_and_lookup_by_recording_id(db, scored_db):
    rid = scored_db[1]["inbound-card-payment"].outcome.scored.recording_id
    r = cw("show", rid[:12], "--db", db)
    assert r.returncode == 0, r.stderr
    assert "inbound-card-payment" in r.stdout and "recording-disclosure" in r.stdout and "customer" in r.stdout


def test_review_is_stored_beside_the_automatic_verdict_and_calibration_counts_it(db):
    r = cw("review", "inbound-no-disclosure", "--item", "recording-disclosure", "--verdict", "pass",
           "--note", "said at 0:02, garbled by the recogniser", "--reviewer", "ann", "--db", db, "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["automatic"] == "fail" and out["review"]["verdict"] == "pass" and out["review"]["reviewer"] == "ann"
    view = json.loads(cw("show", "inbound-no-disclosure", "--db", db, "--json").stdout)
    item = next(i for i in view["items"] if i["item_id"] == "recording-disclosure")
    assert item["verdict"] == "fail" and [x["verdict"] for x in item["reviews"]] == ["pass"]
    cal = json.loads(cw("calibration", "--db", db, "--json").stdout)
    assert cal == [{"item_id": "recording-disclosure", "reviewed": 1, "agreed": 0, "agreement": 0.0,
                    "auto_pass_human_fail": 0, "auto_fail_human_pass": 1}]


def test_search_finds_redacted_text_only(db):
    r = cw("search", "card", "--db", db, "--json")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert rows and all("card" in row["text"].lower() for row in rows)
    assert cw("search", '"unbalanced', "--db", db).returncode == 1


@pytest.mark.parametrize(("args", "message"), [
    (("show", "no-such-call"), "no call 'no-such-call'"),
    (("review", "inbound-no-disclosure", "--item", "nope", "--verdict", "pass", "--reviewer", "ann"),
     "has no scorecard item 'nope'"),
])
def test_user_mistakes_are_messages_not_tracebacks(db, args, message):
    r = cw(*args, "--db", db)
    assert r.returncode == 1 and message in r.stderr and "Traceback" not in r.stderr


def test_score_with_a_bad_scorecard_or_missing_input_names_it(tmp_path):
    bad = tmp_path / "card.yaml"
    bad.write_text("scorecard: x\nsections: 3\n")
    r = cw("score", tmp_path, "--scorecard", bad, "--db", tmp_path / "qa.db")
    assert r.returncode == 1 and "card.yaml" in r.stderr and "Traceback" not in r.stderr
    r = cw("score", tmp_path / "missing.wav", "--scorecard", CARDS["inbound"], "--db", tmp_path / "qa.db")
    assert r.returncode == 1 and "missing.wav" in r.stderr and "Traceback" not in r.stderr
    r = cw("show", "x", "--db", tmp_path / "none.db")
    assert r.returncode == 1 and "none.db" in r.stderr


def test_score_takes_a_scorecard_per_direction_and_refuses_two_for_one(tmp_path):
    from test_qa_batch import TRANSCRIPT

    calls = tmp_path / "calls"
    calls.mkdir()
    (calls / "in-1.json").write_text(json.dumps({**TRANSCRIPT, "call_id": "in-1"}))
    (calls / "out-1.json").write_text(json.dumps({**TRANSCRIPT, "call_id": "out-1", "direction": "outbound"}))
    r = cw("score", calls, "--scorecard", CARDS["inbound"], "--scorecard", CARDS["outbound"],
           "--db", tmp_path / "qa.db", "--json")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert {c["call_id"]: c["scorecard"] for c in summary["calls"]} == {"in-1": "inbound-service",
                                                                       "out-1": "outbound-sales"}
    r = cw("score", calls, "--scorecard", CARDS["inbound"], "--scorecard", CARDS["inbound"],
           "--db", tmp_path / "qa2.db")
    assert r.returncode == 1 and "twice" in r.stderr and "Traceback" not in r.stderr
