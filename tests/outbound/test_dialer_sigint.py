"""Ctrl-C stops `callwright dial` cleanly (a subprocess, a real SIGINT): calls ringing are
CANCELled, the call in progress is ended through its flow, every attempt is recorded, and the
command exits 130 within a few seconds."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time

from callwright.outbound.contacts import Contact
from callwright.store.db import open_db
from tests.outbound.dialer_support import DATA, campaign_file, save_list
from tests.server.sip.scripted_peer import ScriptedPeer

RINGING = ("+15550001777", "+15550002777")  # the peer rings these forever
ANSWERED = "+15550003123"  # the peer answers (and sends silence)


def test_sigint_cancels_ringing_ends_the_call_and_records_every_attempt(tmp_path):
    db_path = tmp_path / "calls.db"
    db = open_db(db_path)
    save_list(db, [Contact(n, None, "Etc/UTC") for n in (*RINGING, ANSWERED)])
    db.conn.close()
    campaign = campaign_file(tmp_path, flow=DATA / "optout.yaml", lines=3)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    peer = ScriptedPeer()
    asyncio.run_coroutine_threadsafe(peer.start(), loop).result(5)
    proc = subprocess.Popen(
        [sys.executable, "-u", "-m", "callwright", "dial", str(campaign), "--sip", f"udp:127.0.0.1:{peer.port}",
         "--db", str(db_path), "--recordings", str(tmp_path / "rec"), "--ring-timeout", "60"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},  # -u: its lines arrive as printed
    )  # fmt: skip
    try:
        seen: list[str] = []
        deadline = time.monotonic() + 60
        while sum(line.startswith("dialing *") for line in seen) < 3:
            assert time.monotonic() < deadline and proc.poll() is None, seen
            seen.append(proc.stdout.readline())
        time.sleep(1.5)  # ringing, and the answered call's flow is playing its prompt
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        took = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        loop.call_soon_threadsafe(peer.close)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and took < 10
    assert "every attempt so far is recorded" in out
    db = open_db(db_path)
    rows = dict(
        (r[0], r[1:])
        for r in db.execute("select customer, result, call_id, disposition from dials").fetchall()
    )
    assert set(rows) == {*RINGING, ANSWERED}
    assert rows[RINGING[0]][0] == rows[RINGING[1]][0] == "no_answer"
    assert rows[ANSWERED][0] == "connected" and rows[ANSWERED][1] is not None
    outcome = db.execute("select outcome, end_reason from calls where id = ?", [rows[ANSWERED][1]]).fetchone()
    assert outcome[0] == "abandoned" and "stopped" in outcome[1]
    assert len(peer.methods("CANCEL")) >= 2 and len(peer.methods("BYE")) == 1
