"""The low-confidence review queue over the real scored database: a verdict whose similarity came
within the margin of its item's threshold, one that passed on a second listen, and one resting on
words heard with low ASR confidence are listed with their reason; a reviewed item leaves it."""

from __future__ import annotations

import json
import re

import pytest

from tests.web.conftest import sign_in


@pytest.fixture
def db(db_copy):
    from callwright.store.db import open_db

    d = open_db(db_copy.path)
    yield d
    d.conn.close()


def _candidates(db) -> list[dict]:
    """Unreviewed phrase/forbidden/order verdicts with a similarity, its item's kept thresholds."""
    kept = {}
    for version, definition in db.execute("select version, definition from scorecard_versions"):
        for s in json.loads(definition)["sections"]:
            for it in s["items"]:
                kept[(version, it["id"])] = it["thresholds"]
    out = []
    for r in db.query(
        "select call_id, scorecard_version, item_id, verdict, evidence from item_scores "
        "where kind in ('phrase', 'forbidden', 'order') and verdict in ('pass', 'fail')"
    ):
        sims = [e["similarity"] for e in json.loads(r["evidence"]) if e.get("similarity") is not None]
        if sims:
            ts = kept[(r["scorecard_version"], r["item_id"])]
            r["distance"] = min(abs(s - t) for s in sims for t in ts)
            r["evidence"] = json.loads(r["evidence"])
            out.append(r)
    return out


def _listed(items) -> set[tuple[str, str]]:
    return {(i.call_id, i.item_id) for i in items}


def test_near_the_threshold_is_a_matter_of_the_margin(db):
    from callwright.store import reviews

    cands = _candidates(db)
    assert cands and all(c["distance"] is not None for c in cands)
    c = min(cands, key=lambda c: c["distance"])
    key = (c["call_id"], c["item_id"])
    wide = reviews.low_confidence_items(db, margin=c["distance"] + 0.001, min_asr_confidence=0)
    assert key in _listed(wide)
    hit = next(i for i in wide if (i.call_id, i.item_id) == key)
    assert (
        hit.reasons == ("near threshold",) and abs(abs(hit.similarity - hit.threshold) - c["distance"]) < 1e-9
    )
    narrow = reviews.low_confidence_items(db, margin=max(0.0, c["distance"] - 0.001), min_asr_confidence=0)
    assert key not in _listed(narrow) or c["distance"] == 0
    # exactly the candidates within the margin, closest first
    margin = sorted(x["distance"] for x in cands)[len(cands) // 2]
    got = reviews.low_confidence_items(db, margin=margin, min_asr_confidence=0)
    assert _listed(got) == {(x["call_id"], x["item_id"]) for x in cands if x["distance"] <= margin + 1e-9}
    distances = [abs(i.similarity - i.threshold) for i in got]
    assert distances == sorted(distances)


def test_a_second_listen_and_low_asr_confidence_are_low_confidence_at_any_margin(db):
    from callwright.store import reviews

    cands = sorted(_candidates(db), key=lambda c: -c["distance"])  # the farthest from their thresholds
    far = [c for c in cands if c["evidence"][0].get("start") is not None]
    a = far[0]
    b = next(c for c in far if c["call_id"] != a["call_id"])  # another call: its utterances are a's
    assert a["distance"] > 0.0 and b["distance"] > 0.0
    with db.conn:
        ev = a["evidence"]
        ev[0]["note"] = "heard again at 3.0 s primed with this item's phrasings (first heard as 'x')"
        db.execute(
            "update item_scores set evidence = ? where call_id = ? and scorecard_version = ? and item_id = ?",
            [json.dumps(ev), a["call_id"], a["scorecard_version"], a["item_id"]],
        )
        e = b["evidence"][0]
        db.execute(
            "update utterances set confidence = 0.2 where call_id = ? and start <= ? and end >= ?",
            [b["call_id"], e["end"], e["start"]],
        )
    got = {(i.call_id, i.item_id): i for i in reviews.low_confidence_items(db, margin=0.0)}
    assert got[(a["call_id"], a["item_id"])].reasons == ("second listen",)
    low = got[(b["call_id"], b["item_id"])]
    assert low.reasons == ("low ASR confidence",) and low.asr_confidence == pytest.approx(0.2)
    assert reviews.low_confidence_items(db, margin=0.0, min_asr_confidence=0.1) == [
        got[(a["call_id"], a["item_id"])]
    ]
    # reviewed: it leaves the queue
    reviews.record_review(
        db, a["call_id"], a["item_id"], "pass", "heard it", "rita", scorecard_version=a["scorecard_version"]
    )
    assert (a["call_id"], a["item_id"]) not in _listed(reviews.low_confidence_items(db, margin=0.0))


def test_the_margin_is_bounded(db):
    from callwright.store import reviews

    with pytest.raises(reviews.ReviewError, match="margin 0.9: expected 0 to 0.5"):
        reviews.low_confidence_items(db, margin=0.9)


def test_the_low_confidence_page(client, db_copy):
    sign_in(client, "rita")
    queues = client.get("/queues").text
    count = int(re.search(r'id="queue-low-confidence".*?<strong>(\d+)</strong>', queues, re.S).group(1))
    page = client.get("/queues/low-confidence")
    assert page.status_code == 200
    assert len(re.findall(r'<tr data-call="', page.text)) == count
    wide = client.get("/queues/low-confidence", params={"margin": "0.5", "asr": "0"})
    assert len(re.findall(r'<tr data-call="', wide.text)) >= count
    bad = client.get("/queues/low-confidence", params={"margin": "lots", "asr": "2"})
    assert bad.status_code == 400 and 'data-field="margin"' in bad.text and 'data-field="asr"' in bad.text
    client.cookies.clear()
    sign_in(client, "maria.lopez")
    assert client.get("/queues/low-confidence").status_code == 403


def test_a_version_kept_without_thresholds_uses_the_quoted_or_default_one(db):
    """A scorecard version kept before thresholds were: the threshold its evidence note quotes
    ("under the threshold 0.6"), else the default."""
    from callwright.qa.scorecard.model import DEFAULT_THRESHOLD
    from callwright.store import reviews

    with db.conn:
        for version, definition in list(db.execute("select version, definition from scorecard_versions")):
            d = json.loads(definition)
            for s in d["sections"]:
                for it in s["items"]:
                    it.pop("thresholds", None)
            db.execute(
                "update scorecard_versions set definition = ? where version = ?", [json.dumps(d), version]
            )
    got = reviews.low_confidence_items(db, margin=0.5, min_asr_confidence=0)
    assert got
    for i in got:
        ev = json.loads(
            db.execute(
                "select evidence from item_scores where call_id = ? and scorecard_version = ? and item_id = ?",
                [i.call_id, i.scorecard_version, i.item_id],
            ).fetchone()[0]
        )
        quoted = {float(t) for e in ev for t in re.findall(r"threshold (\d+(?:\.\d+)?)", e.get("note") or "")}
        assert i.threshold in (quoted or {DEFAULT_THRESHOLD})
