"""A flow that hands an answered outbound call to an agent sends a blind transfer (REFER) on
the dialer's call, and the far end's NOTIFY result is reported with the attempt (slow)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading

import pytest

from callwright.outbound.contacts import Contact
from callwright.store.db import open_db
from tests.outbound.dialer_support import DATA, campaign_file, save_list
from tests.server.sip.scripted_peer import ScriptedPeer

NUMBER = "+15550004321"
pytestmark = pytest.mark.slow  # a subprocess and a call: about 10-15 s


def test_a_transfer_state_sends_refer_on_the_outbound_call(tmp_path):
    db_path = tmp_path / "calls.db"
    db = open_db(db_path)
    save_list(db, [Contact(NUMBER, None, "Etc/UTC")])
    db.conn.close()
    campaign = campaign_file(tmp_path, flow=DATA / "transfer.yaml", lines=1, attempts=1)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    peer = ScriptedPeer()
    asyncio.run_coroutine_threadsafe(peer.start(), loop).result(5)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "callwright", "dial", str(campaign), "--sip", f"udp:127.0.0.1:{peer.port}",
             "--db", str(db_path), "--recordings", str(tmp_path / "rec"), "--max-wait", "5"],
            capture_output=True, text=True, timeout=90, cwd=tmp_path, env={**os.environ, "HF_HUB_OFFLINE": "1"},
        )  # fmt: skip
    finally:
        loop.call_soon_threadsafe(peer.close)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (refer,) = peer.methods("REFER")
    assert refer.get("Refer-To") == "<sip:agent@127.0.0.1:5099>"
    assert "transfer transferred" in proc.stdout
    db = open_db(db_path)
    call_id = db.execute("select call_id from dials where customer = ?", [NUMBER]).fetchone()[0]
    kinds = [r[0] for r in db.execute("select kind from call_events where call_id = ?", [call_id]).fetchall()]
    assert "transfer" in kinds
