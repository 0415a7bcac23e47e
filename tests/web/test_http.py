"""The review app over HTTP (Starlette's TestClient on the real app and a real scored database):
sessions, CSRF, roles, the calls list's filters and search, the call page, the recording, and
hostile text escaped everywhere."""

from __future__ import annotations

import re

from tests.web.conftest import HOSTILE, PASSWORD, csrf_of, sign_in

CALL = "inbound-no-disclosure"
ITEM = "recording-disclosure"


def _count(db_path, table: str) -> int:
    import sqlite3

    con = sqlite3.connect(db_path)
    try:
        return con.execute(f"select count(*) from {table}").fetchone()[0]
    finally:
        con.close()


def _review_form(client, call_id=CALL, item=ITEM) -> dict:
    page = client.get(f"/calls/{call_id}")
    assert page.status_code == 200
    row = re.search(rf'<tr id="item-{re.escape(item)}".*?</tr>', page.text, re.S).group(0)
    fields = dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', row))
    return fields


# -- sessions ------------------------------------------------------------------------------------------


def test_without_a_session_pages_redirect_to_sign_in_and_nothing_else_is_served(client):
    r = client.get("/calls?agent=x")
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    assert client.get(f"/recording/{CALL}").status_code == 401
    assert client.get(f"/recording/{CALL}", headers={"Range": "bytes=0-10"}).status_code == 401
    assert client.get(f"/calls/{CALL}").status_code == 303
    assert client.post("/review", data={"call_id": CALL}).status_code == 401


def test_a_forged_or_unsigned_cookie_is_no_session(client):
    client.cookies.set("cw_session", "abc.def", domain="testserver.local")
    assert client.get(f"/recording/{CALL}").status_code == 401


def test_sign_in_sets_a_secure_httponly_samesite_cookie_and_is_audited(client, db_copy):
    r = sign_in(client, "rita")
    assert r.status_code == 303 and r.headers["location"] == "/calls"
    cookie = [c for c in r.headers.get_list("set-cookie") if c.startswith("cw_session=")][0]
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=strict" in cookie
    assert client.get("/calls").status_code == 200
    from callwright.store import users
    from callwright.store.db import open_db

    db = open_db(db_copy.path)
    assert [e["action"] for e in users.audit_entries(db)][:1] == ["login"]
    stored = [r[0] for r in db.execute("select token_hash from sessions")]
    token = client.cookies.get("cw_session").rsplit(".", 1)[0]
    assert token not in stored and len(stored) == 1  # only the token's hash is kept
    db.conn.close()


def test_a_wrong_password_is_refused_and_audited(client, db_copy):
    r = sign_in(client, "rita", "wrong password")
    assert r.status_code == 401 and "Wrong name or password" in r.text
    assert sign_in(client, "nobody", PASSWORD).status_code == 401
    assert client.get("/calls").status_code == 303
    from callwright.store import users
    from callwright.store.db import open_db

    db = open_db(db_copy.path)
    assert [e["action"] for e in users.audit_entries(db)][:2] == ["login_failed", "login_failed"]
    db.conn.close()


def test_sign_in_needs_its_form_token(client):
    r = client.post("/login", data={"name": "rita", "password": PASSWORD, "csrf": "guess"})
    assert r.status_code == 403


def test_after_sign_in_only_a_local_page_is_returned_to(client):
    page = client.get("/login", params={"next": "//evil.example/x"})
    assert 'name="next" value=""' in page.text
    token = csrf_of(page.text)
    r = client.post(
        "/login", data={"name": "rita", "password": PASSWORD, "csrf": token, "next": "//evil.example"}
    )
    assert r.headers["location"] == "/calls"


def test_sign_out_needs_the_csrf_token_and_ends_the_session(client):
    sign_in(client, "rita")
    page = client.get("/calls")
    assert client.post("/logout", data={"csrf": "stale"}).status_code == 403
    assert client.get("/calls").status_code == 200
    assert client.post("/logout", data={"csrf": csrf_of(page.text)}).status_code == 303
    old = client.cookies.get("cw_session")
    assert old is None or client.get("/calls").status_code == 303


def test_a_session_cookie_kept_after_sign_out_no_longer_works(client):
    sign_in(client, "rita")
    cookie = client.cookies.get("cw_session")
    page = client.get("/calls")
    client.post("/logout", data={"csrf": csrf_of(page.text)})
    client.cookies.set("cw_session", cookie, domain="testserver.local")
    assert client.get(f"/recording/{CALL}").status_code == 401


# -- the calls list ---------------------------------------------------------------------------------------


def _listed(html: str) -> list[str]:
    return re.findall(r'<tr data-call="([^"]+)"', html)


def test_the_calls_list_filters_by_agent_and_by_a_phrase(client, db_copy):
    sign_in(client, "rita")
    assert sorted(_listed(client.get("/calls").text)) == sorted(db_copy.calls)
    agent = db_copy.calls[CALL]["agent"]
    by_agent = _listed(client.get("/calls", params={"agent": agent}).text)
    assert CALL in by_agent and all(db_copy.calls[c]["agent"] == agent for c in by_agent)
    words = db_copy.calls["outbound-sales-compliant"]["segments"][0]["text"].split()[:3]
    phrase = '"' + " ".join(w.strip(".,?!") for w in words) + '"'
    assert "outbound-sales-compliant" in _listed(client.get("/calls", params={"q": phrase}).text)
    failed = _listed(client.get("/calls", params={"auto_failed": "yes"}).text)
    assert CALL in failed and "inbound-billing-ok" not in failed


def test_search_text_is_never_an_fts_error(client):
    sign_in(client, "rita")
    for q in ("don't", '"recorded line"', '"unclosed', "a OR", "NEAR(", "-x", "*", ":", "^"):
        r = client.get("/calls", params={"q": q})
        assert r.status_code in (200, 400), q
        assert "Traceback" not in r.text


def test_bad_filter_values_are_named_not_errors(client):
    sign_in(client, "rita")
    r = client.get("/calls", params={"from": "2024-13-45", "min": "abc", "sort": "drop table", "page": "-1"})
    assert r.status_code == 400
    for field in ("from", "min", "sort", "page"):
        assert f'data-field="{field}"' in r.text


def _scores(html: str) -> list[float]:
    return [float(x) for x in re.findall(r'<span class="score-badge[^"]*">([0-9.]+)</span>', html)]


def test_sorting_by_score_both_ways(client, db_copy):
    sign_in(client, "rita")
    up = _scores(client.get("/calls", params={"sort": "score", "order": "asc"}).text)
    down = _scores(client.get("/calls", params={"sort": "score", "order": "desc"}).text)
    assert len(up) == len(db_copy.calls) and up == sorted(up) and down == sorted(up, reverse=True)
    assert up[0] == 0.0 < up[-1]  # the auto-failed call first


# -- roles -----------------------------------------------------------------------------------------------


def test_an_agent_sees_only_their_calls_and_gets_403_for_another(client, db_copy):
    sign_in(client, "maria.lopez")
    mine = _listed(client.get("/calls").text)
    assert mine and all(db_copy.calls[c]["agent"] == "maria.lopez" for c in mine)
    others = [c for c, body in db_copy.calls.items() if body["agent"] != "maria.lopez"]
    assert others
    assert not set(_listed(client.get("/calls", params={"agent": db_copy.calls[others[0]]["agent"]}).text))
    assert client.get(f"/calls/{others[0]}").status_code == 403
    assert client.get(f"/recording/{others[0]}").status_code == 403
    assert client.get(f"/calls/{mine[0]}").status_code == 200
    assert client.get("/report").status_code == 403


def test_an_agent_cannot_review(client, db_copy):
    sign_in(client, "maria.lopez")
    page = client.get(f"/calls/{CALL}")
    assert '<form class="review"' not in page.text
    before = _count(db_copy.path, "reviews")
    r = client.post(
        "/review",
        data={"csrf": csrf_of(page.text), "call_id": CALL, "item_id": ITEM, "verdict": "pass"},
    )
    assert r.status_code == 403 and _count(db_copy.path, "reviews") == before


# -- review ----------------------------------------------------------------------------------------------


def test_a_stale_csrf_token_is_refused_and_nothing_changes(client, db_copy):
    sign_in(client, "rita")
    fields = _review_form(client)
    before = (_count(db_copy.path, "reviews"), _count(db_copy.path, "audit_log"))
    r = client.post("/review", data={**fields, "csrf": "x" * 43, "verdict": "pass"})
    assert r.status_code == 403
    r = client.post("/review", data={**{k: v for k, v in fields.items() if k != "csrf"}, "verdict": "pass"})
    assert r.status_code == 403
    assert (_count(db_copy.path, "reviews"), _count(db_copy.path, "audit_log")) == before


def test_a_review_changes_the_score_of_record_on_the_page_and_in_the_list(client):
    sign_in(client, "rita")
    fields = _review_form(client)
    r = client.post("/review", data={**fields, "verdict": "pass", "note": "said on the IVR"})
    assert r.status_code == 303 and r.headers["location"].startswith(f"/calls/{CALL}?saved={ITEM}")
    page = client.get(r.headers["location"]).text
    assert "auto-failed</span>" not in page.split("Scorecard items")[0]
    assert "reviewed by rita" in page and "automatic: fail" in page
    row = re.search(rf'<tr data-call="{CALL}">.*?</tr>', client.get("/calls").text, re.S).group(0)
    assert "reviewed" in row and "auto-failed" not in row
    assert _listed(client.get("/calls", params={"reviewed": "yes"}).text) == [CALL]


def test_a_review_of_an_unknown_item_or_call_is_refused_with_a_message(client):
    sign_in(client, "rita")
    fields = _review_form(client)
    r = client.post("/review", data={**fields, "item_id": "no-such-item", "verdict": "pass"})
    assert r.status_code == 400 and "no scorecard item" in r.text
    r = client.post("/review", data={**fields, "call_id": "no-such-call", "verdict": "pass"})
    assert r.status_code == 404
    r = client.post("/review", data={**fields, "verdict": "excellent"})
    assert r.status_code == 400 and "expected one of pass, fail, na" in r.text


def test_two_reviewers_saving_the_same_item_the_later_wins_visibly(client, db_copy):
    from starlette.testclient import TestClient

    from callwright.web.app import create_app

    sign_in(client, "rita")
    rita_form = _review_form(client)
    with TestClient(create_app(db_copy.path), base_url="https://testserver", follow_redirects=False) as other:
        sign_in(other, "sam")
        sam_form = _review_form(other)
        assert (
            other.post("/review", data={**sam_form, "verdict": "fail", "note": "not said"}).status_code == 303
        )
    r = client.post("/review", data={**rita_form, "verdict": "pass"})
    page = client.get(r.headers["location"]).text
    assert "It replaced <strong>sam</strong>" in page
    from callwright.store import users
    from callwright.store.db import open_db

    db = open_db(db_copy.path)
    assert [e["user_name"] for e in users.audit_entries(db, call_id=CALL)][:2] == ["rita", "sam"]
    db.conn.close()


# -- the recording ----------------------------------------------------------------------------------------


def test_the_recording_is_served_with_range_requests(client, db_copy):
    sign_in(client, "rita")
    r = client.get(f"/recording/{CALL}", headers={"Range": "bytes=0-99"})
    assert r.status_code == 206 and len(r.content) == 100 and r.content[:4] == b"RIFF"
    assert r.headers["content-type"] == "audio/wav" and "no-store" in r.headers["cache-control"]
    full = (db_copy.redacted / f"{CALL}.redacted.wav").read_bytes()
    assert client.get(f"/recording/{CALL}").content == full


# -- hostile text -----------------------------------------------------------------------------------------


def test_hostile_text_is_escaped_everywhere(client):
    sign_in(client, "rita")
    raw = HOSTILE
    pages = [
        client.get("/calls").text,
        client.get("/calls/hostile-call").text,
        client.get("/calls", params={"q": raw, "agent": raw, "team": raw}).text,
    ]
    fields = _review_form(client, "hostile-call", "greeting")
    client.post("/review", data={**fields, "verdict": "fail", "note": raw})
    pages.append(client.get("/calls/hostile-call").text)
    for html in pages:
        assert "<script>alert" not in html and "<img src=x" not in html and "<b>team</b>" not in html
        assert "\u202e" not in html and "\u202c" not in html  # shown as escapes, as `qa show` does
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in pages[1]
    assert pages[3].count("&lt;img src=x onerror=alert(1)&gt;") >= 2  # transcript and the note
    assert "\\u202eenil dedrocer\\u202c" in pages[3]


def test_a_call_id_with_a_bidi_control_is_shown_escaped_and_can_still_be_reviewed(client, db_copy):
    """Shown, every control character is an escape; sent back by a form (hidden fields), the value
    is the call's own: escaped there, it named no call and the review was a 404."""
    import html
    import json

    from callwright.qa.scorecard import load_scorecard
    from callwright.store.qa_batch import score_batch
    from tests.web.conftest import CARDS

    call_id = "bidi\u202ecall"
    body = {**db_copy.calls["inbound-billing-ok"], "call_id": call_id}
    path = db_copy.path.parent / "bidi.json"
    path.write_text(json.dumps(body), encoding="utf-8")
    assert len(score_batch([path], [load_scorecard(p) for p in CARDS], db_copy.path).of("scored")) == 1
    sign_in(client, "rita")
    page = client.get("/calls/bidi%E2%80%AEcall")
    assert page.status_code == 200 and "\u202e" not in page.text.split("<form", 1)[0]
    assert "bidi\\u202ecall" in page.text  # the heading and breadcrumbs
    fields = {k: html.unescape(v) for k, v in _review_form(client, "bidi%E2%80%AEcall", "greeting").items()}
    assert fields["call_id"] == call_id  # what a browser posts back
    r = client.post("/review", data={**fields, "verdict": "fail", "note": "checked"})
    assert r.status_code == 303, r.text[:300]
    assert _count(db_copy.path, "reviews") >= 1


def test_every_page_has_a_strict_content_security_policy(client):
    sign_in(client, "rita")
    csp = client.get("/calls").headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("style-src")[0]


def test_the_call_page_draws_each_speakers_sentiment_over_the_call(client):
    sign_in(client, "rita")
    page = client.get(f"/calls/{CALL}").text
    for who in ("agent", "customer"):
        points = re.search(rf'<polyline class="{who}" points="([^"]+)"', page).group(1).split()
        xs = [float(p.split(",")[0]) for p in points]
        ys = [float(p.split(",")[1]) for p in points]
        assert len(points) > 2 and xs == sorted(xs) and all(0 <= x <= 300 for x in xs)
        assert all(0 <= y <= 48 for y in ys)


def test_an_expired_session_is_no_session(client, db_copy):
    import sqlite3

    sign_in(client, "rita")
    assert client.get("/calls").status_code == 200
    con = sqlite3.connect(db_copy.path)
    with con:
        con.execute("update sessions set expires_at = '2000-01-01T00:00:00Z'")
    con.close()
    assert client.get("/calls").status_code == 303
    assert client.get(f"/recording/{CALL}").status_code == 401


def test_the_app_mounted_under_a_prefix_links_and_signs_in_there(db_copy):
    """How `callwright serve` mounts it: every link, redirect and cookie under the prefix."""
    from starlette.applications import Starlette
    from starlette.routing import Mount
    from starlette.testclient import TestClient

    from callwright.web.app import create_app

    outer = Starlette(
        routes=[
            Mount("/qa", app=create_app(db_copy.path, redacted_audio_dir=db_copy.redacted, root_path="/qa"))
        ]
    )
    with TestClient(outer, base_url="https://testserver", follow_redirects=False) as c:
        r = c.get("/qa/calls")
        assert r.status_code == 303 and r.headers["location"] == "/qa/login?next=%2Fqa%2Fcalls"
        page = c.get("/qa/login")
        assert 'action="/qa/login"' in page.text and 'href="/qa/static/app.css"' in page.text
        assert "Path=/qa" in page.headers["set-cookie"]
        r = c.post("/qa/login", data={"name": "rita", "password": PASSWORD, "csrf": csrf_of(page.text)})
        assert r.status_code == 303 and r.headers["location"] == "/qa/calls"
        calls = c.get("/qa/calls")
        assert calls.status_code == 200 and f'href="/qa/calls/{CALL}"' in calls.text
        assert c.get("/qa/static/app.css").status_code == 200
        assert c.get(f"/qa/recording/{CALL}", headers={"Range": "bytes=0-3"}).status_code == 206


def test_sign_in_is_refused_for_a_while_after_five_wrong_passwords(client, db_copy):
    for _ in range(5):
        assert sign_in(client, "rita", "wrong password").status_code == 401
    r = sign_in(client, "RITA", PASSWORD)  # even the right password, under any case of the name
    assert r.status_code == 429 and "too many failed sign-ins" in r.text
    assert client.get("/calls").status_code == 303
    assert sign_in(client, "sam").status_code == 303  # other names are not affected
    from callwright.store import users
    from callwright.store.db import open_db

    db = open_db(db_copy.path)
    assert "login_throttled" in [e["action"] for e in users.audit_entries(db)]
    db.conn.close()
