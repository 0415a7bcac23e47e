"""Issue 18's acceptance test: `callwright dial` (the real command, in a subprocess) dials a
campaign on loopback. baresip answers (auto-answer; its microphone presses 9, the opt-out
key, as in-band tones); a small redirect server of our own is the SIP peer the dialer is
given: it answers 486 Busy Here for one number and redirects the others to baresip.

Checked: the contact on the do-not-call list and the one outside calling hours are refused
with their reasons; the busy one is retried after its spacing; the opt-out said during the
call puts the number on the do-not-call list and a later attempt to it in the same run (a
callback due after the call) is refused `dnc`; the dials table, the call log and the
outbound report show each attempt."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from callwright.outbound.contacts import Contact
from callwright.speech.audio import Audio, write_wav
from callwright.speech.dtmf import dtmf_tones
from callwright.store import contacts as cstore
from callwright.store.db import open_db
from tests.outbound.dialer_support import DATA, FAR_ZONE, BaresipCallee, campaign_file, save_list
from tests.server.sip.baresip_caller import available
from tests.server.sip.scripted_peer import ScriptedPeer

pytestmark = pytest.mark.skipif(not available(), reason="baresip is not installed (scripts/setup.sh)")

DNC, FAR, BUSY, OPT_OUT = "+15550000001", "+15550000002", "+15550000486", "+15550000004"
SPACING_S = 2.0


def opt_out_mic(path, seconds: float = 15.0):
    """Silence with the 9 key (in-band DTMF) at 1.5 s, 3 s and 4.5 s: whichever prompt is
    playing, the flow hears it."""
    audio = np.zeros(int(seconds * 8000), np.int16)
    key = dtmf_tones("9", 8000, tone_ms=120, gap_ms=0, level_dbfs=-12).astype(np.int16)
    for at in (1.5, 3.0, 4.5):
        i = int(at * 8000)
        audio[i : i + key.size] = key
    write_wav(path, Audio(audio, 8000))
    return path


class RedirectServer:
    """The scripted peer on its own event loop thread, redirecting to baresip."""

    def __init__(self, baresip_port: int) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.peer = ScriptedPeer(("127.0.0.1", baresip_port), redirect_all=True)
        asyncio.run_coroutine_threadsafe(self.peer.start(), self.loop).result(5)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.peer.close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def test_callwright_dial_campaign_against_baresip(tmp_path):
    db_path = tmp_path / "calls.db"
    db = open_db(db_path)
    save_list(
        db,
        [
            Contact(DNC, "Dee", "Etc/UTC"),
            Contact(FAR, "Far", FAR_ZONE),
            Contact(BUSY, "Busy", "Etc/UTC"),
            Contact(OPT_OUT, "Olive", "Etc/UTC"),
        ],
    )
    cstore.import_dnc(db, [DNC])
    campaign = campaign_file(tmp_path, flow=DATA / "optout.yaml", retry_s=SPACING_S, lines=2, attempts=2)
    due = datetime.now(UTC) + timedelta(seconds=3)
    cstore.record_callback(db, OPT_OUT, due, campaign="test-reminders")  # a later attempt, same run
    db.conn.close()

    bs = BaresipCallee(tmp_path / "baresip", opt_out_mic(tmp_path / "mic.wav"), [OPT_OUT])
    front = RedirectServer(bs.sip_port)
    try:
        t0 = time.monotonic()
        proc = subprocess.run(
            [
                sys.executable, "-m", "callwright", "dial", str(campaign),
                "--sip", f"udp:127.0.0.1:{front.peer.port}", "--db", str(db_path),
                "--recordings", str(tmp_path / "rec"), "--callbacks", "--max-wait", "10",
                "--ring-timeout", "10",
            ],
            capture_output=True, text=True, timeout=90, cwd=tmp_path,
            env={**os.environ, "HF_HUB_OFFLINE": "1"},
        )  # fmt: skip
        took = time.monotonic() - t0
    finally:
        front.close()
        bs.close()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert took < 40, took

    db = open_db(db_path)
    refusals = db.execute(
        "select c.number, r.reason from dial_refusals r join contacts c on c.id = r.contact_id order by r.id"
    ).fetchall()
    assert refusals == [(DNC, "dnc"), (FAR, "outside_hours"), (OPT_OUT, "dnc")]
    rows = db.execute(
        "select customer, result, sip_status, disposition, opted_out, call_id, dialed_at from dials"
        " order by dialed_at"
    ).fetchall()
    assert [r[:5] for r in rows] == [
        (BUSY, "busy", 486, None, 0),
        (OPT_OUT, "connected", 200, "opted_out", 1),
        (BUSY, "busy", 486, None, 0),
    ] or [r[:5] for r in rows] == [
        (OPT_OUT, "connected", 200, "opted_out", 1),
        (BUSY, "busy", 486, None, 0),
        (BUSY, "busy", 486, None, 0),
    ], rows
    busy_times = [datetime.fromisoformat(r[6]) for r in rows if r[0] == BUSY]
    assert busy_times[1] - busy_times[0] >= timedelta(seconds=SPACING_S)
    assert cstore.is_dnc(db, OPT_OUT)
    call_id = next(r[5] for r in rows if r[0] == OPT_OUT)
    call = db.execute(
        "select direction, channel, disposition, caller_id from calls where id = ?", [call_id]
    ).fetchone()
    assert call == ("outbound", "sip", "opted_out", OPT_OUT)
    keys = db.execute(
        "select count(*) from call_events where call_id = ? and kind = 'input'", [call_id]
    ).fetchone()[0]
    assert keys >= 1  # baresip's 9 reached the flow
    assert "refused" in proc.stdout and "3 attempt(s)" in proc.stdout

    from callwright.reports.kpis import ReportParams, build_report

    today = datetime.now(UTC).date()
    report = build_report(db, ReportParams(today, today, group_by="campaign"))
    (row,) = [c for c in report.campaigns if c.campaign == "test-reminders"]
    assert (row.list_name, row.attempts, row.contacts, row.connects, row.opt_outs) == (
        "test-list",
        3,
        2,
        1,
        1,
    )
    refused = {(r.reason, r.refusals) for r in report.refusals if r.campaign == "test-reminders"}
    assert refused == {("dnc", 2), ("outside_hours", 1)}
