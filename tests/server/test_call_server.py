"""The call server without a network: many calls at once on one SQLite call log, the slot
count, and faults inside a call that must not leak its slot."""

from __future__ import annotations

import concurrent.futures
import json
import sqlite3
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from callwright.ivr.events import Dtmf
from callwright.server import CallServer, IncomingCall
from callwright.server.events import EventLog
from callwright.server.routing import build_routes
from tests.server.conftest import QUICK, OpenHoursClock


class KeyLine:
    """A `LineDevice` with no audio path: plays instantly, presses `keys` once `gate` opens."""

    rate = 8000

    def __init__(self, keys: str, gate: threading.Event, *, fail_start: bool = False) -> None:
        self.keys, self.gate, self.fail_start = keys, gate, fail_start
        self.closed = 0
        self.played = 0

    def start(self, on_input, on_event) -> None:
        if self.fail_start:
            raise RuntimeError("the line broke as it started")

        def go() -> None:
            if self.gate.wait(30):
                on_input(np.zeros(160, np.int16))
                for k in self.keys:
                    on_event(Dtmf(k))

        threading.Thread(target=go, daemon=True).start()

    def play(self, samples: np.ndarray) -> None:
        self.played += samples.size

    def stop_playback(self) -> None:
        pass

    @property
    def playing(self) -> bool:
        return False

    def close(self) -> None:
        self.closed += 1


@pytest.fixture()
def server(tmp_path, synth, recognizer):
    from callwright.speech.tts import PromptAudio

    routes = build_routes([QUICK], [])
    lines: list[str] = []
    calls = CallServer(
        routes,
        db_path=tmp_path / "calls.db",
        recordings=tmp_path / "rec",
        recognizer=recognizer,
        prompts=lambda name: PromptAudio(synth, 8000, base_dir=Path(routes.flows[name].path).parent),
        max_calls=MANY,
        clock_factory=OpenHoursClock,
        events=EventLog(lines.append),
    )
    calls.lines = lines  # type: ignore[attr-defined]
    yield calls
    assert calls.shutdown(grace_s=5) == 0
    assert calls.in_progress == 0


MANY = 40


def test_many_calls_at_once_share_one_call_log_and_free_every_slot(server, tmp_path):
    gate = threading.Event()
    devices = [KeyLine("1" if i % 2 else "2", gate) for i in range(MANY)]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:  # offered from several threads at once
        handles = list(pool.map(lambda d: server.offer(IncomingCall("test", d, remote="here")), devices))
    assert all(h is not None for h in handles)
    assert server.in_progress == MANY
    assert server.offer(IncomingCall("test", KeyLine("1", gate))) is None  # every slot taken
    assert server.health()["free_slots"] == 0
    gate.set()
    done, pending = concurrent.futures.wait([h.future for h in handles], timeout=120)
    assert not pending
    assert server.in_progress == 0
    results = [f.result() for f in done]
    assert all(r.error is None for r in results), [r.error for r in results if r.error]
    with sqlite3.connect(tmp_path / "calls.db") as db:
        rows = db.execute(
            "select queue, count(*) from calls where outcome = 'transferred' group by queue"
        ).fetchall()
        events = db.execute(
            "select count(distinct call_id) from call_events where kind = 'call_end'"
        ).fetchone()
    assert sorted(rows) == [("sales", MANY // 2), ("support", MANY // 2)]
    assert events == (MANY,)
    assert len(list((tmp_path / "rec").glob("*.wav"))) == MANY
    assert all(d.closed >= 1 and d.played > 0 for d in devices)
    assert server.calls_refused == 1
    # and the server takes calls again
    again = server.offer(IncomingCall("test", KeyLine("1", gate)))
    assert again is not None and again.future.result(timeout=30).outcome == "transferred"


def test_a_fault_inside_a_call_is_logged_and_frees_its_slot(server, tmp_path):
    gate = threading.Event()
    broken = KeyLine("1", gate, fail_start=True)
    handle = server.offer(IncomingCall("test", broken))
    result = handle.future.result(timeout=30)
    assert result.outcome == "error" and "the line broke" in (result.error or "")
    assert server.in_progress == 0 and broken.closed == 1
    assert any('"call_error"' in line and "the line broke" in line for line in server.lines)


def test_a_line_at_an_unsupported_rate_is_refused_cleanly(server):
    odd = KeyLine("1", threading.Event())
    odd.rate = 11025
    result = server.offer(IncomingCall("test", odd)).future.result(timeout=30)
    assert result.outcome == "error" and "11025 Hz" in (result.error or "")
    assert server.in_progress == 0


def test_ending_a_call_from_the_network_side_logs_its_reason(server, tmp_path):
    gate = threading.Event()  # never opened: the caller says nothing
    handle = server.offer(IncomingCall("test", KeyLine("1", gate)))
    time.sleep(0.2)
    handle.end("the peer broke the protocol")
    result = handle.future.result(timeout=30)
    assert result.outcome == "error"
    with sqlite3.connect(tmp_path / "calls.db") as db:
        reason = db.execute("select end_reason from calls where id = ?", (handle.call_id,)).fetchone()[0]
    assert reason == "the peer broke the protocol"


def test_calls_in_progress_finish_within_the_grace_period(server, tmp_path):
    gate = threading.Event()
    handle = server.offer(IncomingCall("test", KeyLine("2", gate), caller_id="5550123"))
    threading.Timer(0.5, gate.set).start()  # the caller answers after the shutdown began
    assert server.shutdown(grace_s=20) == 0  # nobody had to be cut off
    assert handle.future.result(timeout=1).outcome == "transferred"
    assert server.health()["status"] == "shutting_down"
    assert server.offer(IncomingCall("test", KeyLine("1", gate))) is None
    start = next(json.loads(x) for x in server.lines if '"call_start"' in x)
    assert start["caller"] == "[REDACTED]"  # a short number escapes phone redaction: masked whole
    assert "5550123" not in "".join(server.lines)


class TransferLine(KeyLine):
    def __init__(self, keys: str, gate: threading.Event) -> None:
        super().__init__(keys, gate)
        self.transfers: list = []

    def transfer(self, action) -> None:
        self.transfers.append(action)


def test_a_line_that_can_transfer_is_asked_to(server):
    gate = threading.Event()
    gate.set()
    line = TransferLine("2", gate)
    result = server.offer(IncomingCall("test", line)).future.result(timeout=30)
    assert result.outcome == "transferred"
    assert [t.queue for t in line.transfers] == ["support"]
