"""A real scored database for the review app's tests: the sample conversation scripts written as
imported transcripts (each line placed at its speaking time), scored by the real batch
(store.qa_batch.score_batch: redaction, the MiniLM sentiment model and phrase matcher, the
scorecards in scorecards/), one hostile call, a played copy of each call's audio, and accounts."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[2]
CARDS = [ROOT / "scorecards" / "inbound-service.yaml", ROOT / "scorecards" / "outbound-sales.yaml"]
SAMPLES = ("inbound-no-disclosure", "inbound-billing-ok", "inbound-card-payment", "outbound-sales-compliant")
PASSWORD = "correct horse battery"
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)> \u202eenil dedrocer\u202c'
ACCOUNTS = {  # name -> (role, linked agent)
    "rita": ("reviewer", None),
    "sam": ("supervisor", None),
    "maria.lopez": ("agent", "maria.lopez"),
    "other.agent": ("agent", "nobody-here"),
}


@dataclass(frozen=True)
class WebDb:
    path: Path
    redacted: Path
    calls: dict[str, dict]  # call id -> {"agent", "utterances": [(start, end, text)]}


def _transcript(script) -> dict:
    """A script's lines placed one after another at their speaking rate, as an imported transcript."""
    from callwright.qa.samples import Hold, sidecar

    t, segments = 0.5, []
    for step in script.steps:
        if isinstance(step, Hold):
            t += step.seconds
            continue
        words = len(step.text.split())
        rate = script.voices[step.speaker].rate_wpm if step.speaker in script.voices else 160
        length = round(max(1.0, words * 60.0 / rate), 2)
        segments.append(
            {"speaker": step.speaker, "start": round(t, 2), "end": round(t + length, 2), "text": step.text}
        )
        t += length + 0.6
    body = {**sidecar(script), "duration_s": round(t + 1.0, 2), "segments": segments}
    body.pop("channels", None)
    return body


def _tone_wav(path: Path, seconds: float) -> None:
    """A quiet tone as long as the call: what the player plays (the tests check positions, not words)."""
    from callwright.speech.audio import Audio, write_wav

    rate = 8000
    n = int(seconds * rate)
    samples = (800 * np.sin(2 * np.pi * 440 * np.arange(n) / rate)).astype(np.int16)
    write_wav(path, Audio(samples, rate))


@pytest.fixture(scope="session")
def web_db(tmp_path_factory) -> WebDb:
    from callwright.qa.samples import SAMPLES_DIR, load_scripts
    from callwright.qa.scorecard import load_scorecard
    from callwright.store import users
    from callwright.store.db import open_db
    from callwright.store.qa_batch import score_batch
    from callwright.web.auth import hash_password

    folder = tmp_path_factory.mktemp("web")
    inputs, redacted = folder / "transcripts", folder / "redacted"
    inputs.mkdir()
    redacted.mkdir()
    scripts = {s.call_id: s for s in load_scripts(SAMPLES_DIR)}
    calls = {}
    for name in SAMPLES:
        body = _transcript(scripts[name])
        (inputs / f"{name}.json").write_text(json.dumps(body), encoding="utf-8")
        calls[name] = body
    hostile = dict(calls["inbound-billing-ok"])
    hostile.update(
        call_id="hostile-call",
        agent=HOSTILE,
        team="<b>team</b>",
        segments=[{**s, "text": s["text"] + " " + HOSTILE} for s in hostile["segments"]],
    )
    (inputs / "hostile-call.json").write_text(json.dumps(hostile), encoding="utf-8")
    calls["hostile-call"] = hostile
    db_path = folder / "qa.db"
    summary = score_batch([inputs], [load_scorecard(p) for p in CARDS], db_path, workers=1)
    assert len(summary.of("scored")) == len(calls), [(c.path, c.reason) for c in summary.calls]
    for cid, body in calls.items():
        _tone_wav(redacted / f"{cid}.redacted.wav", body["duration_s"])
    db = open_db(db_path)
    for name, (role, agent) in ACCOUNTS.items():
        users.add_user(db, name, users.Role(role), hash_password(PASSWORD), agent)
    db.conn.close()
    return WebDb(db_path, redacted, calls)


@pytest.fixture
def db_copy(web_db, tmp_path) -> WebDb:
    """A copy of the scored database for one test (tests review, so they must not share one)."""
    import sqlite3

    path = tmp_path / "qa.db"
    src, dst = sqlite3.connect(web_db.path), sqlite3.connect(path)
    with dst:
        src.backup(dst)  # the WAL's pages too (a plain file copy could miss them)
    src.close()
    dst.close()
    return WebDb(path, web_db.redacted, web_db.calls)


@pytest.fixture
def client(db_copy):
    """A TestClient over https (the session cookie is Secure), not signed in."""
    from starlette.testclient import TestClient

    from callwright.web.app import create_app

    app = create_app(db_copy.path, redacted_audio_dir=db_copy.redacted)
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as c:
        yield c


def login_form_token(client) -> str:
    import re

    page = client.get("/login")
    assert page.status_code == 200
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


def sign_in(client, name: str, password: str = PASSWORD):
    token = login_form_token(client)
    return client.post("/login", data={"name": name, "password": password, "csrf": token})


def csrf_of(html: str) -> str:
    import re

    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)
