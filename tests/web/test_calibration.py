"""Calibration per scorecard version: Cohen's kappa on known vectors, machine against human and
reviewer against reviewer from stored reviews, manual items apart; the page and the command."""

from __future__ import annotations

import json

import pytest

from callwright.store import reviews
from callwright.store.db import open_db
from callwright.web.calibration import agreement, calibrate, cohen_kappa
from tests.web.conftest import sign_in
from tests.web.test_users_cli import cw


def test_kappa_on_the_textbook_example():
    # 50 items, two raters: 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no -> po 0.7, pe 0.5, kappa 0.4
    pairs = [("y", "y")] * 20 + [("y", "n")] * 5 + [("n", "y")] * 10 + [("n", "n")] * 15
    assert cohen_kappa(pairs) == pytest.approx(0.4)


def test_kappa_edges():
    assert cohen_kappa([]) is None
    assert cohen_kappa([("pass", "pass")] * 5) is None  # chance agreement is total: undefined
    assert cohen_kappa([("pass", "fail"), ("fail", "pass")]) == pytest.approx(-1.0)
    assert cohen_kappa([("pass", "pass"), ("fail", "fail")]) == pytest.approx(1.0)
    a = agreement([("pass", "pass"), ("fail", "pass")])
    assert (a.n, a.agreed, a.rate) == (2, 1, 0.5)


def test_machine_against_human_and_reviewers_against_each_other(db_copy):
    db = open_db(db_copy.path)
    reviews.record_review(db, "inbound-no-disclosure", "recording-disclosure", "pass", "", "rita")
    reviews.record_review(db, "inbound-no-disclosure", "recording-disclosure", "fail", "", "sam")
    reviews.record_review(db, "inbound-billing-ok", "greeting", "pass", "", "rita")
    reviews.record_review(db, "inbound-billing-ok", "resolution-confirmed", "pass", "", "rita")
    reviews.record_review(db, "inbound-billing-ok", "resolution-confirmed", "pass", "", "sam")
    results = {c.item_id: c for c in calibrate(reviews.calibration_verdicts(db))}
    db.conn.close()
    disclosure = results["recording-disclosure"]
    # the verdict of record is sam's fail, which the machine said too; rita and sam disagree
    assert (disclosure.auto_vs_human.n, disclosure.auto_vs_human.agreed) == (1, 1)
    assert (disclosure.reviewer_vs_reviewer.n, disclosure.reviewer_vs_reviewer.agreed) == (1, 0)
    assert results["greeting"].auto_vs_human.agreed == 1 and results["greeting"].reviewer_vs_reviewer.n == 0
    manual = results["resolution-confirmed"]
    assert manual.manual and manual.auto_vs_human.n == 0
    assert (manual.reviewer_vs_reviewer.n, manual.reviewer_vs_reviewer.agreed) == (1, 1)
    r = cw("qa", "calibration", "--by-version", "--json", "--db", db_copy.path)
    assert r.returncode == 0, r.stderr
    rows = {x["item_id"]: x for x in json.loads(r.stdout)}
    assert (
        rows["resolution-confirmed"]["manual"]
        and rows["recording-disclosure"]["auto_vs_human"]["agreed"] == 1
    )


def test_the_calibration_page(client):
    sign_in(client, "rita")
    assert "No reviews yet" in client.get("/calibration").text
    page = client.get("/calls/inbound-no-disclosure").text
    import re

    row = re.search(r'<tr id="item-recording-disclosure".*?</tr>', page, re.S).group(0)
    fields = dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', row))
    client.post("/review", data={**fields, "verdict": "pass"})
    page = client.get("/calibration").text
    assert '<tr data-item="recording-disclosure">' in page


def test_agents_do_not_see_calibration(client):
    sign_in(client, "maria.lopez")
    assert client.get("/calibration").status_code == 403
