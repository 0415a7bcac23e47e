"""Two reviewers saving the same item at the same moment (two connections, two threads, released
together): neither save fails with "database is locked", both land in `reviews` and the audit log,
and the later review (the higher id) is the verdict of record, which the call page names."""

from __future__ import annotations

import sqlite3
import threading

from tests.web.conftest import sign_in

CALL, ITEM = "inbound-no-disclosure", "recording-disclosure"
ROUNDS = 12


def test_simultaneous_saves_of_one_item_both_land_and_the_later_wins(db_copy):
    from callwright.store import reviews
    from callwright.store.db import open_db

    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def save(name: str, verdict: str) -> None:
        db = open_db(db_copy.path)  # a connection per reviewer, in its own thread (as the app has)
        try:
            for i in range(ROUNDS):
                barrier.wait()
                try:
                    reviews.record_review(db, CALL, ITEM, verdict, f"{name} {i}", name)
                except BaseException as err:  # noqa: BLE001 (collected and asserted below)
                    errors.append(err)
        finally:
            db.conn.close()

    threads = [threading.Thread(target=save, args=a) for a in (("rita", "pass"), ("sam", "fail"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    db = open_db(db_copy.path)
    try:
        saved = list(
            db.query(
                "select id, reviewer, verdict from reviews where call_id = ? and item_id = ? order by id",
                [CALL, ITEM],
            )
        )
        assert len(saved) == 2 * ROUNDS
        audited = [
            r["item_id"]
            for r in db.query("select item_id from audit_log where action = 'review' and call_id = ?", [CALL])
        ]
        assert audited == [ITEM] * (2 * ROUNDS)
        last = saved[-1]
        record = next(
            iter(
                db.query(
                    "select review_id, verdict, reviewer from reviewed_items where call_id = ? and item_id = ?",
                    [CALL, ITEM],
                )
            )
        )
        assert (record["review_id"], record["verdict"], record["reviewer"]) == (
            last["id"],
            last["verdict"],
            last["reviewer"],
        )
        score = next(
            iter(db.query("select score, auto_failed from scores_of_record where call_id = ?", [CALL]))
        )
        assert bool(score["auto_failed"]) == (last["verdict"] == "fail")  # the auto-fail item decides
    finally:
        db.conn.close()


def test_the_call_page_shows_the_later_reviewer_as_the_verdict_of_record(client, db_copy):
    from callwright.store import reviews
    from callwright.store.db import open_db

    db = open_db(db_copy.path)
    reviews.record_review(db, CALL, ITEM, "fail", "not said", "sam")
    reviews.record_review(db, CALL, ITEM, "pass", "said on the IVR", "rita")
    db.conn.close()
    sign_in(client, "rita")
    page = client.get(f"/calls/{CALL}").text
    row = page.split(f'id="item-{ITEM}"', 1)[1].split("</tr>", 1)[0]
    assert 'data-verdict="pass"' in row and "sam" in row and "rita" in row


def test_a_review_of_an_unknown_call_or_item_is_refused_naming_it_and_nothing_is_written(client, db_copy):
    from tests.web.test_http import _review_form

    sign_in(client, "rita")
    fields = _review_form(client, CALL, ITEM)
    con = sqlite3.connect(db_copy.path)
    before = (
        con.execute("select count(*) from reviews").fetchone()[0],
        con.execute("select count(*) from audit_log").fetchone()[0],
    )
    r = client.post("/review", data={**fields, "call_id": "no-such-call", "verdict": "pass"})
    assert r.status_code == 404 and "no call &#39;no-such-call&#39; in the database" in r.text
    r = client.post("/review", data={**fields, "item_id": "no-such-item", "verdict": "pass"})
    assert r.status_code == 400
    assert (
        f"call &#39;{CALL}&#39; has no scorecard item &#39;no-such-item&#39; in scorecard version" in r.text
    )
    after = (
        con.execute("select count(*) from reviews").fetchone()[0],
        con.execute("select count(*) from audit_log").fetchone()[0],
    )
    con.close()
    assert after == before
