"""The SIP load generator (bench/sip_load.py) against a real server, five calls at once:
what the product guarantees whatever the machine's load, not timing figures.

Each caller dials the DTMF-only bench flow, presses 9 over the first prompt (RFC 4733) and
is hung up by the IVR: every call is answered, hears its prompts, ends with the IVR's BYE,
loses no RTP packet on loopback, and leaves no call slot behind.
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import threading
from pathlib import Path

from callwright.server.app import ServerApp
from callwright.server.calls import CallServer
from callwright.server.events import EventLog
from callwright.server.routing import build_routes
from callwright.server.sip import SipConfig
from callwright.server.sip.service import SipService
from callwright.speech.tts import PromptAudio
from tests.server.conftest import OpenHoursClock

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
import sip_load  # noqa: E402  (bench/ is not a package)

CALLS = 5


def test_five_sip_calls_at_once_are_answered_heard_and_ended_with_bye(tmp_path, synth, recognizer):
    table = build_routes([sip_load.DTMF_FLOW], [])
    calls = CallServer(
        table,
        db_path=tmp_path / "calls.db",
        recordings=tmp_path / "recordings",
        recognizer=recognizer,
        prompts=lambda name: PromptAudio(synth, 8000, base_dir=Path(table.flows[name].path).parent),
        max_calls=CALLS,
        clock_factory=OpenHoursClock,
        events=EventLog(lambda line: None),
    )
    service = SipService(SipConfig(port=0))
    app = ServerApp(calls, services=[service], grace_s=5.0)
    thread = threading.Thread(target=lambda: asyncio.run(app.run()), daemon=True)
    thread.start()
    assert app.ready.wait(10), "the server did not start"

    async def load() -> list[sip_load.CallStats]:
        async with sip_load.LoadGenerator(service.port) as gen:
            stop = asyncio.Event()
            return await asyncio.gather(
                *(sip_load.dtmf_caller(gen, f"smoke{i}", stop, at_once=True) for i in range(CALLS))
            )

    try:
        results = asyncio.run(asyncio.wait_for(load(), 60))
    finally:
        app.request_stop(grace_s=0.0)
        thread.join(timeout=30)
    assert not thread.is_alive(), "the server did not stop"
    assert [r.answered for r in results] == [True] * CALLS
    assert [r.ended_by for r in results] == ["server BYE"] * CALLS
    assert all(r.keys_sent == 1 for r in results)
    timing = sip_load.timing(results)
    assert timing.lost == 0, "RTP packets lost on loopback"
    assert all(sum(r.rx.voiced) > 10 for r in results), "a caller heard no prompt"
    # no slot leaked, on either side
    assert calls.in_progress == 0 and service.server is not None and service.server.calls == {}
    with sqlite3.connect(tmp_path / "calls.db") as db:
        rows = db.execute("select channel, outcome from calls").fetchall()
    assert sorted(rows) == [("sip", "self_served")] * CALLS
