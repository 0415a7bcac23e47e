"""`callwright qa review` and `qa show` with the score of record: a review recomputes the call's
score with the scorecard's rules, and show prints both."""

from __future__ import annotations

import json

from tests.web.test_users_cli import cw

CALL = "inbound-no-disclosure"
ITEM = "recording-disclosure"


def test_qa_review_recomputes_the_score_of_record_and_show_prints_both(db_copy):
    db = db_copy.path
    r = cw(
        "qa", "review", CALL, "--item", ITEM, "--verdict", "pass", "--reviewer", "ann", "--db", db, "--json"
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["recomputed"] and out["automatic"] == "fail" and not out["auto_failed_of_record"]
    assert out["score_of_record"] > 50
    view = json.loads(cw("qa", "show", CALL, "--db", db, "--json").stdout)
    s = view["scores"][0]
    assert (s["score"], s["auto_failed"]) == (0.0, 1)  # the automatic score, kept
    assert (s["score_of_record"], s["auto_failed_of_record"], s["reviewed"]) == (out["score_of_record"], 0, 1)
    item = next(i for i in view["items"] if i["item_id"] == ITEM)
    assert (item["verdict"], item["verdict_of_record"]) == ("fail", "pass")
    table = cw("qa", "show", CALL, "--db", db).stdout
    assert f"score {out['score_of_record']:.1f}" in table and "reviewed; automatic 0.0 auto-failed" in table
    assert "fail (auto-fail) -> pass (reviewed)" in table


def test_qa_review_of_an_unknown_item_names_the_items(db_copy):
    r = cw(
        "qa", "review", CALL, "--item", "nope", "--verdict", "pass", "--reviewer", "ann", "--db", db_copy.path
    )
    assert r.returncode == 1 and "no scorecard item 'nope'" in r.stderr and "greeting" in r.stderr
