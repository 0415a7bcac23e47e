"""The call log under another writer and on a full disk: a call's end is never lost silently."""

import io
import sqlite3
import threading
import time
from datetime import datetime

import pytest

from callwright.errors import CallwrightError
from callwright.ivr.channels.text import TextChannel
from callwright.ivr.clock import FakeClock
from callwright.ivr.engine import FlowEngine
from callwright.ivr.events import Dtmf, Hangup
from callwright.ivr.runner import run_call
from callwright.store.calllog import CallLog
from callwright.store.db import open_db

OPEN = datetime.fromisoformat("2026-11-23T10:00:00-05:00")


def _hold_write_lock(path, seconds: float, ready: threading.Event, commits: int = 1) -> None:
    """Another program (a report, a QA batch) writing: it holds the write lock a while,
    then commits, so the call log's snapshot is older than the database."""
    con = sqlite3.connect(path, isolation_level=None, timeout=30)
    try:
        for i in range(commits):
            con.execute("BEGIN IMMEDIATE")
            con.execute(
                "insert or replace into calls (id, flow, started_at) values (?, 'other', ?)",
                [f"other-{i}", "2026-11-23T09:00:00.000-05:00"],
            )
            if i == 0:
                ready.set()
            time.sleep(seconds / commits)
            con.execute("COMMIT")
    finally:
        con.close()


def test_a_calls_end_waits_out_another_writer(tmp_path, inbound_flow):
    db_path = tmp_path / "calls.db"
    log = CallLog(open_db(db_path))
    engine = FlowEngine(inbound_flow)
    session = engine.start_call(FakeClock(OPEN))
    session.listener = log.listener(session.call_id)
    log.call_started(session)
    session.start()
    log.flush(session)
    log.db.execute("select count(*) from call_events").fetchone()  # the log has read the database
    for key in "11":
        session.handle(Dtmf(key))
    session.handle(Hangup())
    ready = threading.Event()
    other = threading.Thread(target=_hold_write_lock, args=(db_path, 1.5, ready, 3))
    other.start()
    assert ready.wait(10)
    try:
        log.flush(session)  # today: "database is locked", the call left without an end
    finally:
        other.join()
    row = log.get_call(session.call_id)
    assert row is not None and row.outcome == "abandoned" and row.ended_at
    assert [e["kind"] for e in log.events(session.call_id)][-1] == "call_end"
    assert len(log.events(session.call_id)) == len(session.events)


def test_events_that_could_not_be_written_stay_buffered_for_the_next_flush(
    tmp_path, inbound_flow, monkeypatch
):
    import callwright.store.calllog as calllog

    monkeypatch.setattr(calllog, "WRITE_ATTEMPTS", 2)
    monkeypatch.setattr(calllog, "RETRY_FIRST_S", 0.01)
    db_path = tmp_path / "calls.db"
    log = CallLog(open_db(db_path))
    log.db.execute("PRAGMA busy_timeout = 50")
    session = FlowEngine(inbound_flow).start_call(FakeClock(OPEN))
    session.listener = log.listener(session.call_id)
    log.call_started(session)
    session.start()
    session.handle(Hangup())
    blocker = sqlite3.connect(db_path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    with pytest.raises(CallwrightError, match="locked"):
        log.flush(session)
    blocker.execute("ROLLBACK")
    blocker.close()
    log.flush(session)  # the same events, now written: nothing was lost
    assert log.get_call(session.call_id).outcome == "abandoned"
    assert len(log.events(session.call_id)) == len(session.events)


def test_a_full_database_is_a_clear_error(tmp_path, inbound_flow):
    db_path = tmp_path / "calls.db"
    log = CallLog(open_db(db_path))
    pages = log.db.execute("PRAGMA page_count").fetchone()[0]
    log.db.execute(f"PRAGMA max_page_count = {pages}")  # SQLite's own "disk is full"
    channel = TextChannel(io.StringIO("#1\n" * 50), io.StringIO())
    with pytest.raises(CallwrightError) as info:
        run_call(FlowEngine(inbound_flow), channel, FakeClock(OPEN), calllog=log)
    assert "cannot write the call log" in str(info.value) and "full" in str(info.value)
