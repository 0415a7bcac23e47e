"""Blind calibration sessions over HTTP (the real app and scored database): a supervisor creates
one, two reviewers answer blind, the comparison shows agreement and kappa per item, and nothing a
session stores is a review or moves a score of record."""

from __future__ import annotations

import re
import sqlite3

import pytest

from tests.web.conftest import PASSWORD, csrf_of, sign_in

CALLS = ("inbound-no-disclosure", "inbound-billing-ok")


def _add_reviewer(path, name: str) -> None:
    from callwright.store import users
    from callwright.store.db import open_db
    from callwright.web.auth import hash_password

    db = open_db(path)
    users.add_user(db, name, users.Role.reviewer, hash_password(PASSWORD))
    db.conn.close()


def _version(path, call_id: str) -> str:
    con = sqlite3.connect(path)
    try:
        return con.execute("select scorecard_version from scores where call_id = ?", [call_id]).fetchone()[0]
    finally:
        con.close()


def _snapshot(path) -> tuple:
    con = sqlite3.connect(path)
    try:
        return (
            con.execute("select * from reviews order by id").fetchall(),
            con.execute("select * from scores_of_record order by call_id, scorecard_version").fetchall(),
            con.execute("select * from reviewed_items order by 1, 2, 3").fetchall(),
        )
    finally:
        con.close()


def _items(path, version: str) -> dict[str, list[tuple[str, str, str]]]:
    """call -> [(item id, kind, automatic verdict)]"""
    con = sqlite3.connect(path)
    try:
        return {
            c: con.execute(
                "select item_id, kind, verdict from item_scores where call_id = ? and scorecard_version = ? "
                "order by rowid",
                [c, version],
            ).fetchall()
            for c in CALLS
        }
    finally:
        con.close()


def _create(client, path, reviewers=("rita", "ravi")):
    sign_in(client, "sam")
    page = client.get("/calibration/sessions")
    assert page.status_code == 200 and 'id="new-session"' in page.text
    r = client.post(
        "/calibration/sessions",
        data={
            "csrf": csrf_of(page.text),
            "name": "November <b>calibration</b>",
            "scorecard_version": _version(path, CALLS[0]),
            "calls": "\n".join(CALLS),
            "reviewer": list(reviewers),
        },
    )
    assert r.status_code == 303, r.text
    return int(re.search(r"/calibration/sessions/(\d+)", r.headers["location"]).group(1))


def _answer(client, session_id: int, verdict_of, submit: bool = True):
    page = client.get(f"/calibration/sessions/{session_id}")
    assert page.status_code == 200 and 'id="answers"' in page.text
    fields = {"csrf": csrf_of(page.text), "action": "submit" if submit else "save"}
    for name in re.findall(r'type="radio" name="(v\|[^"]+)" value="pass"', page.text):
        _, pos, item = name.split("|", 2)
        fields[name] = verdict_of(CALLS[int(pos)], item)
    return page, client.post(f"/calibration/sessions/{session_id}/answers", data=fields)


@pytest.fixture
def other(db_copy):
    from starlette.testclient import TestClient

    from callwright.web.app import create_app

    with TestClient(create_app(db_copy.path), base_url="https://testserver", follow_redirects=False) as c:
        yield c


def test_a_blind_session_compares_two_reviewers_and_the_machine_and_changes_no_score(client, other, db_copy):
    _add_reviewer(db_copy.path, "ravi")
    before = _snapshot(db_copy.path)
    session_id = _create(client, db_copy.path)
    version = _version(db_copy.path, CALLS[0])
    items = _items(db_copy.path, version)
    auto = {(c, i): v for c, rows in items.items() for i, _, v in rows}
    kinds = {i: k for rows in items.values() for i, k, _ in rows}

    # rita: the machine's verdicts are not on her page; she agrees with the machine everywhere
    client.cookies.clear()
    sign_in(client, "rita")
    rita_verdict = lambda c, i: auto[(c, i)] if auto[(c, i)] in ("pass", "fail", "na") else "pass"  # noqa: E731
    page, r = _answer(client, session_id, rita_verdict)
    assert 'class="verdict' not in page.text and "data-verdict" not in page.text
    assert "closest to" not in page.text and "threshold" not in page.text  # no evidence either
    assert "November &lt;b&gt;calibration&lt;/b&gt;" in page.text
    assert r.status_code == 303 and "saved=submitted" in r.headers["location"]
    waiting = client.get(f"/calibration/sessions/{session_id}").text
    assert (
        'id="waiting"' in waiting and "answers-grid" not in waiting
    )  # ravi's answers unseen until he submits
    # after submitting, nothing more is accepted from rita
    again = client.post(
        f"/calibration/sessions/{session_id}/answers", data={"csrf": csrf_of(waiting), "action": "submit"}
    )
    assert again.status_code == 400 and "already submitted" in again.text

    # ravi: passes everything; a first submit without every answer is refused with a message
    sign_in(other, "ravi")
    page, r = _answer(other, session_id, lambda c, i: "pass", submit=False)
    assert r.status_code == 303
    fields = {"csrf": csrf_of(page.text), "action": "submit"}
    assert other.post(f"/calibration/sessions/{session_id}/answers", data=fields).status_code == 303

    done = other.get(f"/calibration/sessions/{session_id}").text
    assert 'id="comparison"' in done
    from callwright.web.calibration import cohen_kappa

    for item, kind in kinds.items():
        row = re.search(rf'<tr data-item="{re.escape(item)}"><td>.*?</tr>', done, re.S).group(0)
        rita = [rita_verdict(c, item) for c in CALLS if (c, item) in auto]
        ravi = ["pass" for c in CALLS if (c, item) in auto]
        pairs = list(zip(rita, ravi, strict=True))  # per call: (rita's, ravi's)
        agree = sum(a == b for a, b in pairs) / len(pairs)
        assert re.search(r'class="rr-agree">' + f"{100 * agree:.0f} %", row), (item, row)
        k = cohen_kappa(pairs)
        assert ('class="rr-kappa">–' if k is None else f'class="rr-kappa">{k:.2f}') in row
        if kind == "manual":
            assert 'id="manual"' in done and "ah-agree" not in row
        else:
            machine = [
                (auto[(c, item)], h)
                for c in CALLS
                if (c, item) in auto
                for h in ("pass", rita_verdict(c, item))
            ]
            assert f'class="ah-agree">{100 * sum(a == b for a, b in machine) / len(machine):.0f} %' in row
    # nothing of it is a review: no score of record, review or reviewed item moved
    assert _snapshot(db_copy.path) == before
    con = sqlite3.connect(db_copy.path)
    actions = [
        r[0] for r in con.execute("select action from audit_log where action like 'calibration%' order by id")
    ]
    con.close()
    assert actions == ["calibration_create", "calibration_submit", "calibration_submit"]


def test_who_may_see_and_change_a_session(client, other, db_copy):
    _add_reviewer(db_copy.path, "ravi")
    _add_reviewer(db_copy.path, "outsider")
    session_id = _create(client, db_copy.path)
    # a stale token changes nothing
    r = client.post(f"/calibration/sessions/{session_id}/close", data={"csrf": "stale"})
    assert r.status_code == 403
    # a reviewer outside the session, and an agent, get 403; a reviewer may not create or close
    sign_in(other, "outsider")
    assert other.get(f"/calibration/sessions/{session_id}").status_code == 403
    page = other.get("/calibration/sessions")
    assert (
        page.status_code == 200
        and 'id="new-session"' not in page.text
        and f'data-session="{session_id}"' not in page.text
    )
    r = other.post(
        "/calibration/sessions",
        data={
            "csrf": csrf_of(page.text),
            "name": "x",
            "scorecard_version": "v",
            "calls": CALLS[0],
            "reviewer": ["rita", "ravi"],
        },
    )
    assert r.status_code == 403
    other.cookies.clear()
    sign_in(other, "maria.lopez")
    assert other.get(f"/calibration/sessions/{session_id}").status_code == 403
    assert other.get("/calibration/sessions").status_code == 403
    # the supervisor closes it: rita's page then compares what was given (nothing yet)
    page = client.get(f"/calibration/sessions/{session_id}")
    assert (
        client.post(
            f"/calibration/sessions/{session_id}/close", data={"csrf": csrf_of(page.text)}
        ).status_code
        == 303
    )
    again = client.post(f"/calibration/sessions/{session_id}/close", data={"csrf": csrf_of(page.text)})
    assert again.status_code == 400 and "already closed by sam" in again.text


def test_a_bad_session_is_refused_with_a_message(client, db_copy):
    _add_reviewer(db_copy.path, "ravi")
    sign_in(client, "sam")
    page = client.get("/calibration/sessions")
    version = _version(db_copy.path, CALLS[0])
    base = {
        "csrf": csrf_of(page.text),
        "name": "s",
        "scorecard_version": version,
        "calls": CALLS[0],
        "reviewer": ["rita", "ravi"],
    }
    for change, message in (
        ({"calls": "no-such-call"}, "call 'no-such-call' was not scored with scorecard version"),
        ({"calls": "outbound-sales-compliant"}, "call 'outbound-sales-compliant' was not scored"),
        ({"reviewer": ["rita"]}, "1 reviewer(s): a session needs 2 to"),
        ({"reviewer": ["rita", "maria.lopez"]}, "'maria.lopez' is not a reviewer's account"),
        ({"scorecard_version": "nope"}, "no call was scored with scorecard version 'nope'"),
        ({"name": " "}, "a calibration session needs a name"),
    ):
        r = client.post("/calibration/sessions", data={**base, **change})
        assert r.status_code == 400 and message in r.text.replace("&#39;", "'"), (change, r.text[:300])
