"""Disputes and acknowledgements: an agent disputes their own call and acknowledges its result,
a supervisor resolves the dispute; everything audited, roles and CSRF enforced, text escaped."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from callwright.store import users
from callwright.store.db import open_db
from callwright.web.app import create_app
from tests.web.conftest import HOSTILE, csrf_of, sign_in

CALL = "inbound-no-disclosure"  # maria.lopez's


def _hidden(html: str, form_class: str) -> dict:
    form = re.search(rf'<form class="{form_class}".*?</form>', html, re.S).group(0)
    return dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', form))


def _audit(db_path) -> list[tuple[str, str]]:
    db = open_db(db_path)
    try:
        return [(e["user_name"], e["action"]) for e in users.audit_entries(db)]
    finally:
        db.conn.close()


def test_an_agent_disputes_and_a_supervisor_resolves(client, db_copy):
    sign_in(client, "maria.lopez")
    page = client.get(f"/calls/{CALL}").text
    fields = _hidden(page, "dispute-form")
    r = client.post("/dispute", data={**fields, "item_id": "recording-disclosure", "reason": HOSTILE})
    assert r.status_code == 303
    page = client.get(r.headers["location"]).text
    assert "&lt;script&gt;" in page and "<script>alert" not in page
    dispute_id = re.search(r'data-dispute="(\d+)"', page).group(1)
    assert _audit(db_copy.path)[0] == ("maria.lopez", "dispute")
    # a reviewer sees the queue but may not resolve
    with TestClient(create_app(db_copy.path), base_url="https://testserver", follow_redirects=False) as rita:
        sign_in(rita, "rita")
        assert f'data-dispute="{dispute_id}"' in rita.get("/disputes").text
        token = csrf_of(rita.get("/calls").text)
        r = rita.post("/dispute/resolve", data={"csrf": token, "dispute_id": dispute_id, "outcome": "upheld"})
        assert r.status_code == 403
    with TestClient(create_app(db_copy.path), base_url="https://testserver", follow_redirects=False) as sam:
        sign_in(sam, "sam")
        page = sam.get(f"/calls/{CALL}").text
        fields = _hidden(page, "resolve")
        assert sam.post("/dispute/resolve", data={**fields, "outcome": "maybe"}).status_code == 400
        r = sam.post(
            "/dispute/resolve", data={**fields, "outcome": "rejected", "resolution": "it was not said"}
        )
        assert r.status_code == 303
        again = sam.post("/dispute/resolve", data={**fields, "outcome": "upheld"})
        assert again.status_code == 400 and "already rejected by sam" in again.text
        assert "No open disputes" in sam.get("/disputes").text
    assert _audit(db_copy.path)[0] == ("sam", "dispute_rejected")
    assert "rejected by sam" in client.get(f"/calls/{CALL}").text


def test_only_the_calls_agent_disputes_or_acknowledges(client, db_copy):
    sign_in(client, "rita")
    token = csrf_of(client.get("/calls").text)
    version = re.search(r'name="scorecard_version" value="([^"]+)"', client.get(f"/calls/{CALL}").text).group(
        1
    )
    data = {"csrf": token, "call_id": CALL, "scorecard_version": version, "reason": "no"}
    assert client.post("/dispute", data=data).status_code == 403
    assert client.post("/acknowledge", data=data).status_code == 403
    with TestClient(create_app(db_copy.path), base_url="https://testserver", follow_redirects=False) as other:
        sign_in(other, "other.agent")
        token = csrf_of(other.get("/calls").text)
        assert other.post("/dispute", data={**data, "csrf": token}).status_code == 403
        assert other.post("/acknowledge", data={**data, "csrf": token}).status_code == 403
        assert other.get("/disputes").status_code == 403


def test_an_agent_acknowledges_once_and_a_stale_token_changes_nothing(client, db_copy):
    sign_in(client, "maria.lopez")
    page = client.get(f"/calls/{CALL}").text
    fields = _hidden(page, "ack")
    assert client.post("/acknowledge", data={**fields, "csrf": "stale"}).status_code == 403
    assert (
        client.post("/dispute", data={**_hidden(page, "dispute-form"), "csrf": "", "reason": "x"}).status_code
        == 403
    )
    assert _audit(db_copy.path)[0] == ("maria.lopez", "login")
    for _ in range(2):
        assert client.post("/acknowledge", data=fields).status_code == 303
    assert "Acknowledged by <strong>maria.lopez</strong>" in client.get(f"/calls/{CALL}").text
    assert [a for a in _audit(db_copy.path) if a[1] == "acknowledge"] == [("maria.lopez", "acknowledge")]


def test_a_dispute_needs_a_reason_and_a_known_item(client):
    sign_in(client, "maria.lopez")
    fields = _hidden(client.get(f"/calls/{CALL}").text, "dispute-form")
    r = client.post("/dispute", data={**fields, "reason": "   "})
    assert r.status_code == 400 and "needs a reason" in r.text
    r = client.post("/dispute", data={**fields, "item_id": "nope", "reason": "x"})
    assert r.status_code == 400 and "no item &#39;nope&#39;" in r.text


def test_the_review_queues(client, db_copy):
    sign_in(client, "rita")
    page = client.get("/queues").text
    sample = re.findall(r'<tr data-call="([^"]+)"><td>([^<]+)</td><td>([^<]+)</td>', page)
    assert sample
    per_agent_week: dict = {}
    for call, week, agent in sample:
        per_agent_week.setdefault((week, agent), []).append(call)
        assert db_copy.calls[call]["agent"] == agent or agent.startswith("&lt;")
    assert all(len(v) <= 2 for v in per_agent_week.values())
    assert re.search(r'id="queue-auto-failed">[^<]*</a>: <strong>1</strong>', page)
    # reviewing the auto-failed call takes it out of both queues
    form = re.search(
        r'<tr id="item-recording-disclosure".*?</tr>', client.get(f"/calls/{CALL}").text, re.S
    ).group(0)
    fields = dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', form))
    client.post("/review", data={**fields, "verdict": "fail"})
    page = client.get("/queues").text
    assert re.search(r'id="queue-auto-failed">[^<]*</a>: <strong>0</strong>', page)
    assert f'data-call="{CALL}"' not in page
    with TestClient(create_app(db_copy.path), base_url="https://testserver", follow_redirects=False) as agent:
        sign_in(agent, "maria.lopez")
        assert agent.get("/queues").status_code == 403


def test_per_agent_trends_use_the_score_of_record_and_agents_see_their_own(client, db_copy):
    sign_in(client, "sam")

    def cell(html: str, agent: str) -> str:
        row = re.search(rf'<tr data-agent="{re.escape(agent)}">.*?</tr>', html, re.S).group(0)
        return re.search(r'<span class="score-badge[^"]*" data-week="[^"]+">([^<]+)</span>', row).group(1)

    page = client.get("/trends").text
    before = float(cell(page, "maria.lopez"))
    assert "james.park" in page and "tom.okafor" in page
    form = re.search(
        r'<tr id="item-recording-disclosure".*?</tr>', client.get(f"/calls/{CALL}").text, re.S
    ).group(0)
    fields = dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', form))
    client.post("/review", data={**fields, "verdict": "pass"})
    assert float(cell(client.get("/trends").text, "maria.lopez")) > before
    with TestClient(create_app(db_copy.path), base_url="https://testserver", follow_redirects=False) as agent:
        sign_in(agent, "maria.lopez")
        mine = agent.get("/trends").text
        assert re.findall(r'<tr data-agent="([^"]+)">', mine) == ["maria.lopez"]


def test_a_coaching_note_reaches_the_agent_and_is_audited(client, db_copy):
    sign_in(client, "sam")
    page = client.get(f"/calls/{CALL}").text
    fields = _hidden(page, "coach")
    assert client.post("/coaching", data={**fields, "note": "   "}).status_code == 400
    assert client.post("/coaching", data={**fields, "csrf": "stale", "note": "x"}).status_code == 403
    note = "Say the recording line first. " + HOSTILE + " card 4111 1111 1111 1111"
    assert client.post("/coaching", data={**fields, "note": note}).status_code == 303
    assert _audit(db_copy.path)[0] == ("sam", "coaching_note")
    with TestClient(create_app(db_copy.path), base_url="https://testserver", follow_redirects=False) as agent:
        sign_in(agent, "maria.lopez")
        mine = agent.get(f"/calls/{CALL}").text
        assert "Say the recording line first." in mine and "&lt;script&gt;" in mine
        assert "<script>alert" not in mine and "4111 1111" not in mine
        assert '<form class="coach"' not in mine
        token = csrf_of(mine)
        assert agent.post("/coaching", data={"csrf": token, "call_id": CALL, "note": "x"}).status_code == 403


def test_assigning_calls_to_reviewers(client, db_copy):
    sign_in(client, "sam")
    fields = _hidden(client.get(f"/calls/{CALL}").text, "assign")
    assert client.post("/assign", data={**fields, "reviewer": "maria.lopez"}).status_code == 400  # an agent
    assert client.post("/assign", data={**fields, "reviewer": "rita", "csrf": "x"}).status_code == 403
    assert client.post("/assign", data={**fields, "reviewer": "rita"}).status_code == 303
    assert "Assigned to <strong>rita</strong> by sam" in client.get(f"/calls/{CALL}").text
    assert _audit(db_copy.path)[0] == ("sam", "assign")
    with TestClient(create_app(db_copy.path), base_url="https://testserver", follow_redirects=False) as rita:
        sign_in(rita, "rita")
        assert f'<li data-call="{CALL}">' in rita.get("/queues").text
        page = rita.get(f"/calls/{CALL}").text
        # a reviewer takes calls for themselves only
        r = rita.post("/assign", data={**_hidden(page, "assign"), "reviewer": "sam"})
        assert r.status_code == 403
        form = re.search(r'<tr id="item-greeting".*?</tr>', page, re.S).group(0)
        review = dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', form))
        rita.post("/review", data={**review, "verdict": "pass"})
        assert f'<li data-call="{CALL}">' not in rita.get("/queues").text  # reviewed since assigned
