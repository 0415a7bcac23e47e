"""A real server on 127.0.0.1 (free ports) for the tests, with the real engines.

The calls run on real time; only the date is pinned (a Monday at 10:00 in New York), so
the inbound sample's business hours are open whenever the suite runs.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from callwright.server.app import Address, AudioSocketService, ServerApp
from callwright.server.calls import CallServer
from callwright.server.events import EventLog
from callwright.server.routing import build_routes
from tests.conftest import FLOWS

OPEN = datetime.fromisoformat("2026-11-23T10:00:00-05:00")
QUICK = Path(__file__).parent / "flows" / "quick.yaml"
INBOUND = FLOWS / "inbound.yaml"


def quick_with_short_prompts(folder: Path) -> Path:
    """QUICK with one-word prompts, for the tests that only wait out its no-input timers: every
    prompt plays in real time, and the full ones took about 5 s of each such test."""
    text = QUICK.read_text().replace('"Sales, press 1. Support, press 2."', '"Menu."')
    text = text.replace("  barge_in: true\n", '  barge_in: true\n  no_input_prompts: ["Again."]\n')
    assert '"Menu."' in text and "Again." in text, "tests/server/flows/quick.yaml changed"
    path = folder / "quick-short.yaml"
    path.write_text(text)
    return path


class OpenHoursClock:
    """Real time (timeouts run on the wall clock), dated at a time the inbound line is open."""

    def __init__(self) -> None:
        self._t0 = time.monotonic()

    def now(self) -> float:
        return time.monotonic()

    def wall(self) -> datetime:
        return OPEN + timedelta(seconds=time.monotonic() - self._t0)

    def skip_to(self, t: float) -> None:
        return None


@pytest.fixture(scope="session")
def synth():
    from callwright.speech.tts import default_synthesizer

    return default_synthesizer()


@pytest.fixture(scope="session")
def recognizer():
    from callwright.speech.asr import get_recognizer

    return get_recognizer("whisper")


@dataclass
class Running:
    app: ServerApp
    calls: CallServer
    port: int
    db: Path
    recordings: Path
    lines: list[str] = field(default_factory=list)
    thread: threading.Thread | None = None

    def events(self, kind: str | None = None) -> list[dict]:
        out = [json.loads(line) for line in list(self.lines)]
        return [e for e in out if kind is None or e["event"] == kind]

    def call_id_for(self, peer_local: str, timeout_s: float = 10.0) -> str:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for e in self.events("call_start"):
                if e.get("remote") == peer_local:
                    return e["call_id"]
            time.sleep(0.02)
        raise AssertionError(f"no call started for {peer_local}: {self.events()}")

    def query(self, sql: str, args: tuple = ()) -> list[tuple]:
        conn = sqlite3.connect(self.db, timeout=10)
        try:
            return conn.execute(sql, args).fetchall()
        finally:
            conn.close()

    def wait_idle(self, timeout_s: float = 20.0) -> None:
        deadline = time.monotonic() + timeout_s
        while self.calls.in_progress and time.monotonic() < deadline:
            time.sleep(0.05)
        assert self.calls.in_progress == 0, self.events()


@contextmanager
def running_server(
    tmp_path: Path,
    synth,
    recognizer,
    *,
    flows: list[Path] | None = None,
    routes: list[str] | None = None,
    max_calls: int = 4,
    grace_s: float = 5.0,
    http: bool = False,
) -> Iterator[Running]:
    from callwright.speech.tts import PromptAudio

    table = build_routes(flows or [INBOUND], routes or [])
    lines: list[str] = []
    calls = CallServer(
        table,
        db_path=tmp_path / "calls.db",
        recordings=tmp_path / "recordings",
        recognizer=recognizer,
        prompts=lambda name: PromptAudio(synth, 8000, base_dir=Path(table.flows[name].path).parent),
        max_calls=max_calls,
        clock_factory=OpenHoursClock,
        events=EventLog(lines.append),
    )
    service = AudioSocketService(Address("127.0.0.1", 0))
    app = ServerApp(
        calls,
        services=[service],
        http=Address("127.0.0.1", 0) if http else None,
        grace_s=grace_s,
    )
    thread = threading.Thread(target=lambda: asyncio.run(app.run()), daemon=True)
    thread.start()
    assert app.ready.wait(10), "the server did not start"
    run = Running(app, calls, service.sock.getsockname()[1], tmp_path / "calls.db", tmp_path / "recordings")
    run.lines = lines
    run.thread = thread
    try:
        yield run
    finally:
        app.request_stop(grace_s=0.0)
        thread.join(timeout=30)
        assert not thread.is_alive(), "the server did not stop"
        assert calls.in_progress == 0, "a call slot leaked"
