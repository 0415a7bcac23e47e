"""`score_batch` and `callwright qa score`: idempotent, resumable after kill -9, and a broken file is
recorded with its reason while the batch goes on. Most inputs here are imported transcripts (the
whole pipeline except the ASR), so the batch mechanics are tested in seconds."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from callwright.errors import DataError
from callwright.qa.batch import GROUP_CALLS
from callwright.store.qa_batch import score_batch
from conftest import CARDS, ROOT

TRANSCRIPT = {
    "direction": "inbound",
    "duration_s": 40.0,
    "segments": [
        {
            "speaker": "agent",
            "start": 0.5,
            "end": 6.0,
            "text": "Thank you for calling Acme, my name is Sam. This call may be recorded for quality and "
            "training purposes. How can I help you today?",
        },
        {
            "speaker": "customer",
            "start": 7.0,
            "end": 12.0,
            "text": "I want to pay by card, the number is 4532 0151 1283 0366 and my social is 078-05-1120.",
        },
        {
            "speaker": "agent",
            "start": 13.0,
            "end": 18.0,
            "text": "Thank you. Is there anything else I can help you with?",
        },
        {"speaker": "customer", "start": 19.0, "end": 21.0, "text": "No, thanks."},
        {"speaker": "agent", "start": 22.0, "end": 25.0, "text": "Thank you for calling, have a great day."},
    ],
}


def write_transcripts(folder: Path, n: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        p = folder / f"call-{i:03d}.json"
        p.write_text(json.dumps({**TRANSCRIPT, "call_id": f"call-{i:03d}"}))
        paths.append(p)
    return paths


def write_broken(folder: Path) -> dict[str, Path]:
    """The issue's bad inputs: empty (0 bytes), a WAV with no frames, a truncated WAV, not audio."""
    from callwright.speech.audio import Audio, write_wav

    folder.mkdir(parents=True, exist_ok=True)
    import numpy as np

    good = write_wav(folder / "whole.tmp.wav", Audio(np.zeros((8000, 2), np.int16), 8000))
    data = good.read_bytes()
    good.unlink()
    files = {
        "zero-length": folder / "zero-length.wav",
        "no-frames": folder / "no-frames.wav",
        "truncated": folder / "truncated.wav",
        "not-audio": folder / "not-audio.wav",
    }
    files["zero-length"].write_bytes(b"")
    write_wav(files["no-frames"], Audio(np.zeros((0, 2), np.int16), 8000))
    files["truncated"].write_bytes(data[:30])
    files["not-audio"].write_text("this is a text file, not a recording\n" * 20)
    return files


def card():
    from callwright.qa.scorecard import load_scorecard

    return load_scorecard(CARDS["inbound"])


def test_broken_files_are_recorded_with_a_reason_and_the_batch_goes_on(tmp_path, engines):
    broken = write_broken(tmp_path / "in")
    good = write_transcripts(tmp_path / "in", 1)
    db = tmp_path / "qa.db"
    seen = []
    s = score_batch([tmp_path / "in"], card(), db, progress=seen.append)
    assert [c.path for c in s.of("scored")] == [str(good[0])]
    errors = {Path(c.path).stem: c.reason for c in s.of("error")}
    assert set(errors) == set(broken)
    for name, reason in errors.items():
        assert str(broken[name]) in reason and len(reason) > len(str(broken[name])) + 5, (name, reason)
    con = sqlite3.connect(db)
    stored = dict(con.execute("select path, error from qa_errors").fetchall())
    assert {Path(p).stem for p in stored} == set(broken)
    assert [p.done for p in seen] == list(range(1, 6)) and all(p.total == 5 for p in seen)
    again = score_batch([tmp_path / "in"], card(), db)  # idempotent: the good call is skipped
    assert len(again.of("skipped")) == 1 and len(again.of("error")) == 4 and not again.of("scored")


def test_same_recording_under_two_names_is_scored_once_and_reviews_sit_beside_verdicts(tmp_path, engines):
    from callwright.store import qa as store
    from callwright.store.db import open_db

    (p,) = write_transcripts(tmp_path / "a", 1)
    copy = tmp_path / "b" / "renamed.json"
    copy.parent.mkdir()
    copy.write_bytes(p.read_bytes())
    s = score_batch([p, copy], card(), tmp_path / "qa.db")
    assert len(s.of("scored")) == 1 and len(s.of("skipped")) == 1
    db = open_db(tmp_path / "qa.db")
    store.add_review(db, "call-000", "thanks", "fail", "said too early", "ann")
    view = store.call_view(db, "call-000")
    auto = next(i for i in view["items"] if i["item_id"] == "thanks")
    assert auto["verdict"] == "pass"  # the automatic verdict stays as it was
    assert [(r["item_id"], r["verdict"], r["reviewer"]) for r in view["reviews"]] == [
        ("thanks", "fail", "ann")
    ]
    assert store.calibration(db)[0]["auto_pass_human_fail"] == 1
    texts = " ".join(u["text"] for u in view["utterances"])
    assert "[CARD]" in texts and "[SSN]" in texts and "4532" not in texts and "1120" not in texts


def test_a_missing_path_or_manifest_is_a_user_error(tmp_path):
    with pytest.raises(DataError, match="nope"):
        score_batch([tmp_path / "nope"], card(), tmp_path / "qa.db")
    with pytest.raises(DataError, match="manifest"):
        score_batch([tmp_path], card(), tmp_path / "qa.db", manifest=tmp_path / "m.csv")


def _scores(db: Path) -> list[tuple[str, str]]:
    try:
        con = sqlite3.connect(db, timeout=10)
        rows = con.execute("select recording_id, call_id from scores").fetchall()
        con.close()
        return rows
    except sqlite3.OperationalError:  # not created yet
        return []


def _cli(*args: object) -> list[str]:
    return [sys.executable, "-m", "callwright", "qa", "score", *map(str, args)]


def _kill_after_first_then_rerun(inputs: Path, n: int, db: Path, workers: int, timeout_s: float) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONWARNINGS": "ignore"}
    args = _cli(inputs, "--scorecard", CARDS["inbound"], "--db", db, "--workers", workers, "--json")
    proc = subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    deadline = time.monotonic() + timeout_s
    try:
        while not _scores(db):
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "no call was stored in time"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # kill -9 the batch and its workers
        proc.wait()
    stored = len(_scores(db))
    assert 0 < stored < n, f"the kill must land mid-batch ({stored}/{n} stored)"
    r = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout_s * 4)
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["scored"] == n - stored and summary["skipped"] == stored and summary["errors"] == []
    # the workers were forked from one server that had imported torch, transformers and CTranslate2
    # (each used to import them itself, about 4 CPU seconds a worker)
    assert summary["workers_preloaded"] == len(summary["worker_peak_rss_mb"]) > 0
    rows = _scores(db)
    assert len(rows) == n and len({rid for rid, _ in rows}) == n and len({c for _, c in rows}) == n
    con = sqlite3.connect(db)
    per_call = con.execute("select call_id, count(*) from item_scores group by call_id").fetchall()
    assert len(per_call) == n and len({k for _, k in per_call}) == 1  # every call has all its items once
    assert con.execute("select count(*) from qa_errors").fetchone()[0] == 0


def test_kill_9_mid_batch_then_rerun_scores_every_call_exactly_once(tmp_path):
    # The kill lands a poll (50 ms) after the first call is stored. A worker scores and returns
    # GROUP_CALLS calls at a time, and a call said before costs next to nothing (the matcher's
    # and the sentiment's memories), so the calls differ and there are several groups a worker.
    n = 6 * GROUP_CALLS
    for i, p in enumerate(write_transcripts(tmp_path / "in", n)):
        call = json.loads(p.read_text())
        said = f"I have noted the {_WORDS[i % 8]} {_WORDS[8 + i // 8 % 8]} on your file."
        call["segments"].insert(3, {"speaker": "agent", "start": 18.2, "end": 18.8, "text": said})
        p.write_text(json.dumps(call))
    _kill_after_first_then_rerun(tmp_path / "in", n, tmp_path / "qa.db", workers=2, timeout_s=120)


_WORDS = "late early second new joint old missing blocked payment transfer fee card cheque loan limit address".split()


@pytest.mark.slow
def test_kill_9_mid_batch_of_recordings_then_rerun(tmp_path, render_samples):
    """The same from audio: the inbound sample calls, two workers."""
    import shutil

    paths = render_samples(
        [
            "inbound-billing-ok",
            "inbound-no-disclosure",
            "inbound-late-disclosure",
            "inbound-card-payment",
            "inbound-angry-calms",
        ]
    )
    (tmp_path / "in").mkdir()
    for p in paths.values():
        shutil.copy(p, tmp_path / "in")
        shutil.copy(p.with_suffix(".json"), tmp_path / "in")
    _kill_after_first_then_rerun(tmp_path / "in", len(paths), tmp_path / "qa.db", workers=2, timeout_s=300)


def test_one_batch_scores_inbound_and_outbound_calls_each_with_its_own_scorecard(tmp_path, engines):
    from callwright.qa.scorecard import load_scorecard

    inbound = write_transcripts(tmp_path / "in", 1)[0]
    outbound = tmp_path / "in" / "sales-001.json"
    outbound.write_text(json.dumps({**TRANSCRIPT, "call_id": "sales-001", "direction": "outbound"}))
    unknown = tmp_path / "in" / "who-001.json"
    unknown.write_text(
        json.dumps({k: v for k, v in TRANSCRIPT.items() if k != "direction"} | {"call_id": "who-001"})
    )
    cards = [load_scorecard(CARDS["inbound"]), load_scorecard(CARDS["outbound"])]
    db = tmp_path / "qa.db"
    s = score_batch([tmp_path / "in"], cards, db)
    assert {c.call_id: c.scorecard for c in s.of("scored")} == {
        "call-000": "inbound-service",
        "sales-001": "outbound-sales",
    }
    (error,) = s.of("error")
    assert error.path == str(unknown) and "direction is unknown" in error.reason
    con = sqlite3.connect(db)
    stored = dict(con.execute("select call_id, scorecard from scores").fetchall())
    assert stored == {"call-000": "inbound-service", "sales-001": "outbound-sales"}
    again = score_batch([inbound, outbound], cards, db)  # idempotent per call and its own scorecard
    assert len(again.of("skipped")) == 2 and not again.of("scored")


# -- one call id, one call ------------------------------------------------------------------------------


def test_two_transcripts_with_one_call_id_the_second_is_refused_naming_both(tmp_path, engines):
    """Before: both reported "scored", the second's utterances replaced the first's and the calls row
    mixed their metadata."""
    first, second = tmp_path / "in" / "a" / "first.json", tmp_path / "in" / "b" / "second.json"
    for p, agent, text in ((first, "ann", "first call"), (second, "bob", "second call")):
        p.parent.mkdir(parents=True, exist_ok=True)
        segs = [{**TRANSCRIPT["segments"][0], "text": f"{text}. " + TRANSCRIPT["segments"][0]["text"]}]
        p.write_text(json.dumps({**TRANSCRIPT, "segments": segs, "call_id": "same", "agent": agent}))
    db = tmp_path / "qa.db"
    for _ in range(2):  # and the same on a rerun
        s = score_batch([tmp_path / "in"], card(), db)
        (error,) = s.of("error")
        assert error.path == str(second) and str(first) in error.reason and str(second) in error.reason
        assert "call id 'same'" in error.reason
    con = sqlite3.connect(db)
    assert con.execute("select agent from calls where id = 'same'").fetchall() == [("ann",)]
    texts = [t for (t,) in con.execute("select text from utterances where call_id = 'same'")]
    assert texts and all("second call" not in t for t in texts) and "first call" in texts[0].lower()
    assert con.execute("select count(*) from scores").fetchone()[0] == 1
    assert [p for (p,) in con.execute("select path from qa_errors")] == [str(second)]


def test_two_recordings_named_alike_in_two_folders_are_not_one_call(tmp_path, engines):
    """`x/recording.wav` and `y/recording.wav` both default to call id "recording"."""
    import numpy as np

    from callwright.speech.audio import Audio, write_wav

    a, b = tmp_path / "in" / "x" / "recording.wav", tmp_path / "in" / "y" / "recording.wav"
    write_wav(a, Audio(np.zeros(8000, np.int16), 8000))
    write_wav(b, Audio(np.zeros(12000, np.int16), 8000))
    s = score_batch([tmp_path / "in"], card(), tmp_path / "qa.db", engine="whisper", second_listen=False)
    assert [c.path for c in s.of("scored")] == [str(a)]
    (error,) = s.of("error")
    assert error.path == str(b) and str(a) in error.reason
    con = sqlite3.connect(tmp_path / "qa.db")
    assert con.execute("select recording_path, duration_s from calls").fetchall() == [(str(a), 1.0)]


def test_a_transcript_may_not_replace_an_ivr_call(tmp_path, engines):
    from callwright.store.db import open_db

    db = tmp_path / "qa.db"
    ivr = open_db(db)
    ivr["calls"].insert(
        {
            "id": "ivr-1",
            "flow": "inbound",
            "outcome": "completed",
            "direction": "inbound",
            "started_at": "2026-11-23T10:00:00",
            "duration_s": 61.0,
            "recording_path": str(tmp_path / "ivr-1.wav"),
        }
    )
    ivr.conn.close()
    p = tmp_path / "in" / "t.json"
    p.parent.mkdir()
    p.write_text(json.dumps({**TRANSCRIPT, "call_id": "ivr-1", "agent": "mallory"}))
    s = score_batch([p], card(), db)
    (error,) = s.of("error")
    assert "IVR call" in error.reason and "ivr-1" in error.reason and not s.of("scored")
    con = sqlite3.connect(db)
    assert con.execute("select flow, outcome, agent, duration_s, recording_path from calls").fetchall() == [
        ("inbound", "completed", None, 61.0, str(tmp_path / "ivr-1.wav"))
    ]
    assert con.execute("select count(*) from utterances").fetchone()[0] == 0


# -- the database going away, or filling up -----------------------------------------------------------


def test_deleting_the_database_during_a_batch_stops_it_with_a_clear_error(tmp_path, engines):
    """Before: SQLite wrote on into the deleted file and the batch said every call was scored."""
    from callwright.errors import CallwrightError

    write_transcripts(tmp_path / "in", 4)
    db = tmp_path / "qa.db"
    seen = []

    def delete_after_first(p):
        seen.append(p)
        if len(seen) == 1:
            for f in tmp_path.glob("qa.db*"):
                f.unlink()

    with pytest.raises(CallwrightError, match=r"qa\.db: the database was deleted while the batch ran"):
        score_batch([tmp_path / "in"], card(), db, progress=delete_after_first)
    assert len(seen) == 1


@pytest.mark.slow  # 20-35 s of a batch against a full disk
def test_a_full_disk_is_a_clear_error_not_a_traceback(tmp_path):
    """The files the batch may write are capped (RLIMIT_FSIZE, as a full disk would): the database
    write fails midway, and `qa score` says so and exits 1; the calls stored before are kept."""
    import resource

    write_transcripts(tmp_path / "in", 30)
    db = tmp_path / "qa.db"
    from callwright.store.db import open_db

    open_db(db).conn.close()
    limit = 256 * 1024

    def cap():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONWARNINGS": "ignore", "PYTHONDONTWRITEBYTECODE": "1"}
    r = subprocess.run(
        _cli(tmp_path / "in", "--scorecard", CARDS["inbound"], "--db", db, "--json"),
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        preexec_fn=cap,
    )
    assert r.returncode == 1, (r.returncode, r.stderr[-2000:])
    assert "Traceback" not in r.stderr and "cannot write to the database" in r.stderr, r.stderr[-2000:]
    assert str(db) in r.stderr and "disk full" in r.stderr
    stored = len(_scores(db))
    assert 0 < stored < 30
    r = subprocess.run(
        _cli(tmp_path / "in", "--scorecard", CARDS["inbound"], "--db", db, "--json"),
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert json.loads(r.stdout)["skipped"] == stored and len(_scores(db)) == 30


def test_a_deeply_nested_or_oversized_transcript_is_one_error_and_the_batch_goes_on(tmp_path, engines):
    """Before: a JSON transcript nested 100,000 deep raised RecursionError and aborted the batch."""
    (good,) = write_transcripts(tmp_path / "in", 1)
    (tmp_path / "in" / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    many = [{"speaker": "agent", "start": i, "end": i + 0.5, "text": "hi"} for i in range(100_000)]
    (tmp_path / "in" / "many.json").write_text(json.dumps({"call_id": "many", "segments": many}))
    t = time.perf_counter()
    s = score_batch([tmp_path / "in"], card(), tmp_path / "qa.db")
    assert time.perf_counter() - t < 120
    assert [c.path for c in s.of("scored")] == [str(good)]
    reasons = {Path(c.path).name: c.reason for c in s.of("error")}
    assert "nested too deeply" in reasons["deep.json"]
    assert "100000 segments, over the limit of" in reasons["many.json"]


def test_a_transcript_corrected_in_place_is_scored_into_its_call_again(tmp_path, engines):
    (p,) = write_transcripts(tmp_path / "in", 1)
    db = tmp_path / "qa.db"
    assert len(score_batch([p], card(), db).of("scored")) == 1
    fixed = json.loads(p.read_text())
    fixed["segments"][3]["text"] = "No, that was all, thanks."
    p.write_text(json.dumps(fixed))  # same path, new content: a new recording id
    s = score_batch([p], card(), db)
    assert len(s.of("scored")) == 1 and not s.of("error")
    con = sqlite3.connect(db)
    texts = [t for (t,) in con.execute("select text from utterances where call_id = 'call-000'")]
    assert "No, that was all, thanks." in texts
    # ... while another file with that call id is still refused
    other = tmp_path / "other" / "x.json"
    other.parent.mkdir()
    other.write_text(json.dumps({**fixed, "agent": "eve", "duration_s": 41.0}))
    (error,) = score_batch([other], card(), db).of("error")
    assert str(p) in error.reason and "call id 'call-000'" in error.reason


def test_an_ivr_call_is_scored_from_its_own_recording_only(tmp_path, engines):
    import numpy as np

    from callwright.speech.audio import Audio, write_wav
    from callwright.store.db import open_db

    own = write_wav(tmp_path / "recordings" / "ivr-2.wav", Audio(np.zeros(8000, np.int16), 8000))
    other = write_wav(tmp_path / "elsewhere" / "ivr-2.wav", Audio(np.zeros(9000, np.int16), 8000))
    db = tmp_path / "qa.db"
    ivr = open_db(db)
    ivr["calls"].insert(
        {
            "id": "ivr-2",
            "flow": "inbound",
            "outcome": "completed",
            "recording_path": str(own),
            "started_at": "2026-11-23T10:00:00",
        }
    )
    ivr.conn.close()
    s = score_batch([other], card(), db, engine="whisper", second_listen=False)
    (error,) = s.of("error")
    assert "recorded as" in error.reason and str(own) in error.reason
    s = score_batch([own], card(), db, engine="whisper", second_listen=False)
    assert len(s.of("scored")) == 1
    row = sqlite3.connect(db).execute("select flow, outcome, recording_path from calls").fetchall()
    assert row == [("inbound", "completed", str(own))]


def test_the_customers_name_from_metadata_lands_nowhere_in_the_database(tmp_path):
    """The name is redacted where it is said and pseudonymised in calls.customer (migration 6),
    so two calls of the same customer, their name written two ways, still link."""
    from tests.db_text import text_values

    from callwright.qa.scorecard import load_scorecard
    from callwright.store.db import open_db
    from callwright.store.qa_batch import score_batch

    for i, written in enumerate(["Patricia Brown", "patricia  BROWN"]):
        segs = [
            *TRANSCRIPT["segments"],
            {"speaker": "agent", "start": 19, "end": 21, "text": "Bye Patricia Brown."},
        ]
        body = {**TRANSCRIPT, "segments": segs, "call_id": f"pb{i}", "customer": written}
        (tmp_path / f"pb{i}.json").write_text(json.dumps(body))
    summary = score_batch(
        sorted(tmp_path.glob("pb*.json")), load_scorecard(CARDS["inbound"]), tmp_path / "qa.db"
    )
    assert len(summary.of("scored")) == 2, summary.calls
    values = text_values(tmp_path / "qa.db")
    assert [v for _, _, v in values if "patricia" in v.lower() or "brown" in v.lower()] == []
    db = open_db(tmp_path / "qa.db")
    customers = [r["customer"] for r in db.query("select customer from calls order by id")]
    assert customers[0] == customers[1] and customers[0].startswith("name-")
    # a reviewer's note naming the customer (written another way) is redacted by the pseudonym
    from callwright.store import qa as store

    store.add_review(db, "pb0", "greeting", "pass", "Spoke to PATRICIA  Brown; Patricia was happy", "ann")
    (note,) = [r["note"] for r in db.query("select note from reviews")]
    assert "patricia" not in note.lower() and "brown" not in note.lower() and "[NAME]" in note, note
    store.add_review(db, "pb1", "greeting", "pass", "Patricia Browning called", "ann")  # not her name
    assert "Browning" in [r["note"] for r in db.query("select note from reviews order by id")][1]
    store.add_review(db, "pb1", "greeting", "pass", "Brown, Patricia rang back", "ann")  # surname first
    assert "Brown" not in [r["note"] for r in db.query("select note from reviews order by id")][2]
