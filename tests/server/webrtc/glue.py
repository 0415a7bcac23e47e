"""Test glue: a small server that runs browser calls through the real engine and call log.

`callwright serve` is the product's way to run calls; until it exists on this branch, this
module does the same few things for the tests: a uvicorn server on 127.0.0.1 (a free port, in
a thread) with the WebRTC endpoint mounted, and for each connected call a thread that runs
`ivr.runner.run_call` over a live channel on the call's `WebRtcLine`, logs it in a SQLite call
log and saves its stereo recording (caller left, IVR right).

`LineChannel` is the live channel in miniature (the microphone channel's logic over a
`LineDevice`, whose keys and hang-up come out of band), so the tests do not depend on it.
"""

from __future__ import annotations

import contextlib
import queue
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from callwright.ivr.channels.audio import AudioLine
from callwright.ivr.engine import FlowEngine
from callwright.ivr.events import (
    Action,
    CallerEvent,
    Dtmf,
    EndCall,
    Hangup,
    Listen,
    Say,
    Speech,
    StartRecording,
    Transfer,
)
from callwright.ivr.runner import run_call
from callwright.server.webrtc import Dialable, WebRtcCall, WebRtcEndpoint
from callwright.speech.tts import PromptAudio
from callwright.speech.vad import SpeechStarted
from callwright.store.calllog import CallLog

END_PLAYBACK_WAIT_S = 30.0  # the goodbye prompt plays out before the line closes (bounded)


class OpenHoursClock:
    """Real time for timeouts; the wall clock starts at a fixed business hour (like `--time`),
    so the inbound flow's hours check does not depend on when the test runs."""

    def __init__(self, wall_start: datetime) -> None:
        self._t0 = time.monotonic()
        self._wall0 = wall_start

    def now(self) -> float:
        return time.monotonic()

    def wall(self) -> datetime:
        return self._wall0 + timedelta(seconds=time.monotonic() - self._t0)

    def skip_to(self, t: float) -> None:
        return None


class LineChannel:
    """A live caller on a `LineDevice`: prompts play while the line listens; speech or a key
    stops a prompt that allows barge-in."""

    name = "webrtc"

    def __init__(self, line: AudioLine, device: Any, clock: Any, echo: Callable[[str], None]) -> None:
        self.line, self.device, self.clock, self.echo = line, device, clock, echo
        self.inbox: queue.Queue[np.ndarray | Dtmf | Hangup] = queue.Queue()
        self._samples_in = 0
        self._barge_in = True
        self._prompt_pending = False
        self.barge_ins: list[float] = []  # speech onset -> prompt stopped, in line seconds
        self.prompt_times: list[float] = []  # monotonic time each prompt was queued
        device.start(self.inbox.put, self.inbox.put)

    def _t(self) -> float:
        return self._samples_in / self.line.rate

    def perform(self, action: Action) -> None:
        if isinstance(action, Say):
            audio = self.line.render(action)
            self.line.ivr.add(self._t(), audio.samples)
            self.device.play(audio.samples)
            self.prompt_times.append(time.monotonic())
            self._barge_in = action.barge_in
            self._prompt_pending = True
            self.echo(f"IVR: {action.display}")
        elif isinstance(action, Listen):
            self.line.configure(action, self._t())
        elif isinstance(action, StartRecording):
            self.line.listen = None
        elif isinstance(action, Transfer):
            self.echo(f"  [transfer to {action.queue or action.destination}]")
        elif isinstance(action, EndCall):
            deadline = time.monotonic() + END_PLAYBACK_WAIT_S
            while self.device.playing and time.monotonic() < deadline:
                time.sleep(0.02)
            self.echo(f"  {action.display}")
            self.device.close()

    def receive(self, session: Any) -> CallerEvent | None:
        while True:
            if self._prompt_pending and not self.device.playing:
                self._prompt_pending = False
                session.listening_started()
            if (
                not self._prompt_pending
                and session.deadline is not None
                and self.clock.now() >= session.deadline
                and not self.line._in_speech
            ):
                return None
            try:
                item = self.inbox.get(timeout=0.05)
            except queue.Empty:
                continue
            if isinstance(item, Hangup):
                return item
            playing = self.device.playing
            if isinstance(item, Dtmf):
                if playing and not self._barge_in:
                    continue
                if playing:
                    self.device.stop_playback()  # a key stops the prompt at once
                self._prompt_pending = False
                return item
            t = self._t()
            self._samples_in += item.size
            for ev in self.line.hear(item, t):
                if isinstance(ev, SpeechStarted):
                    if playing and self._barge_in:
                        self.device.stop_playback()
                        self._prompt_pending = False
                        self.barge_ins.append(self._t() - ev.t)
                    continue
                if playing and not self._barge_in:
                    continue
                if isinstance(ev, Speech):
                    self.echo(f'caller: "{session.shown_input(ev.text)}"')
                return ev


@dataclass
class Finished:
    session: Any
    recording: Path
    channel: LineChannel
    error: BaseException | None = None


@dataclass
class CallServer:
    """The endpoint on uvicorn in a thread; `finished` gets each call's result."""

    engine: FlowEngine
    recognizer: Any
    synth: Any
    db_path: Path
    recordings: Path
    wall_start: datetime
    number: str = "100"
    finished: queue.Queue[Finished] = field(default_factory=queue.Queue)
    url: str = ""

    def on_call(self, call: WebRtcCall) -> None:
        threading.Thread(target=self._run, args=(call,), name=f"call-{call.call_ref}", daemon=True).start()

    def _run(self, call: WebRtcCall) -> None:
        clock = OpenHoursClock(self.wall_start)
        line = AudioLine(8000, self.recognizer, PromptAudio(self.synth, 8000))
        channel = LineChannel(line, call.line, clock, call.line.echo)
        calllog = CallLog.open(self.db_path)  # a connection per call thread
        session = None
        try:
            session = run_call(
                self.engine, channel, clock, calllog=calllog, called_number=call.number, caller_id=""
            )
            rec = line.save_recording(self.recordings / f"{session.call_id}.wav", session.elapsed)
            calllog.set_recording(session.call_id, str(rec))
            self.finished.put(Finished(session, rec, channel))
        except BaseException as err:  # noqa: BLE001 - reported to the test
            self.finished.put(Finished(session, Path(), channel, err))
        finally:
            call.line.close()
            calllog.db.close()

    def serve(self) -> Callable[[], None]:
        """Start on a free 127.0.0.1 port; returns the function that stops the server."""

        endpoint = WebRtcEndpoint(self.on_call, [Dialable(self.number, self.engine.flow.name)])
        self.endpoint = endpoint
        self.url, stop = serve_app(endpoint)
        return stop


def serve_app(endpoint: WebRtcEndpoint, prefix: str = "/call") -> tuple[str, Callable[[], None]]:
    """uvicorn on a free 127.0.0.1 port in a thread, the endpoint mounted at `prefix`:
    (the page's URL, the function that hangs up every call and stops the server)."""

    import uvicorn
    from starlette.applications import Starlette
    from starlette.routing import Mount

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await endpoint.close_all()  # calls in progress end as hung up

    app = Starlette(routes=[Mount(prefix, app=endpoint.router)], lifespan=lifespan)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=10)

    return f"http://127.0.0.1:{port}{prefix}/", stop


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
