"""Many calls at once: a bounded pool of call threads, each running one call to its end.

A network channel (AudioSocket, SIP, WebRTC) that has a new call builds a `LineDevice`
for it and hands it over with `CallServer.offer(IncomingCall(...))`. The server routes
it to a flow by the number dialled, takes a call slot (or refuses: `None`, and the
channel answers busy), and runs `ivr.runner.run_call` on a thread of its own with a
`LiveChannel` over the device, the real clock and the call log, exactly as
`callwright call` does: same events, same stereo recording (caller left).

Threads: the network side is asyncio; a call's engine work, endpointing and
recognition run on its thread, frames crossing in the channel's thread-safe queue.
Shared by all calls: the recognisers (each model loaded once per process, before the
first call: the default and every model a routed flow names; a stream per call and model;
CTranslate2 and Vosk models serve concurrent streams), the synthesiser (renders are
serialised by its own lock) and each flow's prompt cache. Not shared: a flow's
`FlowEngine` (its `transitions` machine keeps one queue of pending transitions for all
its calls, which threads would mix), so each call thread builds its own per flow, and
the call log's SQLite connection (one per call thread; WAL, busy timeout and retries
let them write together).
"""

from __future__ import annotations

import concurrent.futures
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from callwright.errors import CallwrightError
from callwright.flows.inputs import accept_offered
from callwright.ivr.channels.audio import AudioLine
from callwright.ivr.channels.line import LineDevice
from callwright.ivr.channels.live import LINE_RATES, LiveChannel
from callwright.ivr.channels.message import MESSAGES_DIR
from callwright.ivr.clock import Clock, RealClock
from callwright.ivr.engine import FlowEngine
from callwright.ivr.queues import ConfiguredWaits, QueueWaits
from callwright.ivr.runner import run_call
from callwright.server.events import EventLog, shown_caller
from callwright.server.routing import Routes
from callwright.store.calllog import CallLog

if TYPE_CHECKING:
    from callwright.speech.asr.base import Recognizer, Recognizers
    from callwright.speech.tts import PromptAudio

MAX_CALLS = 20
"""Calls in progress at once by default (`--max-calls`): each holds a thread, an endpointer
and a recogniser stream; speech turns share the recogniser, so more calls mean slower turns."""
MAX_CALLS_LIMIT = 1000
"""`--max-calls` above this is refused (threads are not free)."""
SHUTDOWN_GRACE_S = 30.0
"""On SIGINT/SIGTERM, calls in progress get this long to finish before they are ended."""
END_WAIT_S = 10.0
"""After a call is told to end, how long the server waits for its thread to log the end."""


@dataclass(frozen=True)
class IncomingCall:
    """A new call a network channel hands to the server."""

    channel: str  # "sip" | "audiosocket" | "webrtc": the call log's `calls.channel`
    device: LineDevice  # the call's audio path; the server starts and closes it
    called_number: str = ""  # the number dialled: picks the flow
    caller_id: str = ""  # the caller's number, when the network says it
    remote: str = ""  # the far end's address, for the server log only
    echo: Callable[[str], None] | None = None  # the dialogue line by line (the WebRTC page shows it)
    variables: dict[str, Any] | None = None  # start variables (an outbound call's contact, answered_by)
    offered_variables: dict[str, str] | None = None  # from the caller's network (SIP X-Var- headers):
    # only those the flow declares under `inputs:` are taken (flows.inputs.accept_offered)


@dataclass(frozen=True)
class CallResult:
    """How a call ended (what its thread returns)."""

    call_id: str
    flow: str
    outcome: str | None
    queue: str | None = None
    disposition: str | None = None
    recording: str | None = None
    error: str | None = None  # the fault that ended it, if any
    variables: dict[str, Any] | None = None  # the flow's variables at the end (the dialer reads opt-outs)


class CallHandle:
    """The network side's hold on a call it handed over: its id, its end, a way to stop it."""

    def __init__(self, call_id: str, flow: str) -> None:
        self.call_id = call_id
        self.flow = flow
        self.future: concurrent.futures.Future[CallResult] = concurrent.futures.Future()
        self._lock = threading.Lock()
        self._channel: LiveChannel | None = None
        self._stop: tuple[str, str] | None = None

    @property
    def done(self) -> bool:
        return self.future.done()

    def end(self, reason: str, outcome: str = "error") -> None:
        """End the call (from any thread): the session ends with this outcome and reason.
        A far end that hung up is not this: its device reports `Hangup` instead."""
        with self._lock:
            if self._stop is None:
                self._stop = (reason, outcome)
            channel = self._channel
        if channel is not None:
            channel.end(reason, outcome)

    def _attach(self, channel: LiveChannel) -> None:
        with self._lock:
            self._channel = channel
            stop = self._stop
        if stop is not None:
            channel.end(*stop)


class CallServer:
    """Routes calls to flows and runs each on a bounded pool of threads."""

    def __init__(
        self,
        routes: Routes,
        *,
        db_path: Path,
        recordings: Path,
        recognizer: Recognizer | Recognizers,
        prompts: Callable[[str], PromptAudio],
        max_calls: int = MAX_CALLS,
        clock_factory: Callable[[], Clock] = RealClock,
        events: EventLog | None = None,
        queue_status: QueueWaits | None = None,
    ) -> None:
        if not 1 <= max_calls <= MAX_CALLS_LIMIT:
            raise CallwrightError(f"--max-calls {max_calls}: give 1 to {MAX_CALLS_LIMIT}")
        self.routes = routes
        self.db_path = db_path
        self.recordings = recordings
        from callwright.speech.asr.base import OneRecognizer, Recognizers

        self.recognizer: Recognizers = (
            recognizer if isinstance(recognizer, Recognizers) else OneRecognizer(recognizer)
        )
        for flow in routes.flows.values():  # every model a flow names, loaded before any call
            self.recognizer.preload(FlowEngine(flow).models)
        self._prompts = {name: prompts(name) for name in routes.flows}
        self.max_calls = max_calls
        self.clock_factory = clock_factory
        self.events = events or EventLog()
        self.queue_status: QueueWaits = queue_status or ConfiguredWaits()
        self.started = time.monotonic()
        CallLog.open(db_path).db.conn.close()  # create and migrate once, before any call thread
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=max_calls, thread_name_prefix="call")
        self._local = threading.local()
        self._lock = threading.Lock()
        self._calls: dict[str, CallHandle] = {}
        self._accepting = True
        self._hurry = threading.Event()
        self.calls_total = 0
        self.calls_refused = 0

    # -- the seam: network channels call these ----------------------------------------

    def offer(self, call: IncomingCall) -> CallHandle | None:
        """Take a new call (from any thread; returns at once). None: no free call slot or
        the server is shutting down, and the call was not started (answer busy, hang up)."""
        route = self.routes.route(call.called_number)
        with self._lock:
            busy = len(self._calls) >= self.max_calls
            if not self._accepting or busy:
                self.calls_refused += 1
                reason = "shutting down" if not self._accepting else "all call slots are in use"
                self.events.emit(
                    "call_refused",
                    channel=call.channel,
                    remote=call.remote,
                    reason=reason,
                    slots=self.max_calls,
                )
                return None
            handle = CallHandle(uuid.uuid4().hex[:16], route.flow)
            self._calls[handle.call_id] = handle
            self.calls_total += 1
        self.events.emit(
            "route",
            call_id=handle.call_id,
            called_number=call.called_number or None,
            flow=route.flow,
            matched=route.matched,
        )
        try:
            self._pool.submit(self._run, handle, call)
        except RuntimeError:  # the pool was shut down between the check and now
            self._release(handle, CallResult(handle.call_id, route.flow, None, error="server stopped"))
            return None
        return handle

    @property
    def in_progress(self) -> int:
        with self._lock:
            return len(self._calls)

    @property
    def accepting(self) -> bool:
        return self._accepting

    def health(self) -> dict[str, object]:
        """What `GET /health` answers."""
        with self._lock:
            n = len(self._calls)
        return {
            "status": "ok" if self._accepting else "shutting_down",
            "calls_in_progress": n,
            "slots": self.max_calls,
            "free_slots": self.max_calls - n,
            "calls_total": self.calls_total,
            "calls_refused": self.calls_refused,
            "flows": sorted(self.routes.flows),
            "uptime_s": round(time.monotonic() - self.started, 1),
        }

    # -- shutdown ----------------------------------------------------------------------

    def hurry(self) -> None:
        """Cut the grace period short: calls still in progress are ended now."""
        self._hurry.set()

    def stop_accepting(self) -> None:
        with self._lock:
            self._accepting = False

    def shutdown(self, grace_s: float = SHUTDOWN_GRACE_S) -> int:
        """Stop taking calls; let calls in progress finish for `grace_s`, then end the rest
        (outcome error, reason "the server shut down") and wait for their ends to be logged.
        Returns how many calls had to be ended. Blocking: call it off the event loop."""
        self.stop_accepting()
        with self._lock:
            handles = list(self._calls.values())
        self.events.emit("shutdown", calls_in_progress=len(handles), grace_s=grace_s)
        deadline = time.monotonic() + max(0.0, grace_s)
        pending = [h.future for h in handles]
        while pending and not self._hurry.is_set() and time.monotonic() < deadline:
            concurrent.futures.wait(pending, timeout=min(0.2, max(0.0, deadline - time.monotonic())))
            pending = [f for f in pending if not f.done()]
        ended = [h for h in handles if not h.done]
        for h in ended:
            h.end("the server shut down before the call ended")
        concurrent.futures.wait([h.future for h in ended], timeout=END_WAIT_S)
        self._pool.shutdown(wait=False, cancel_futures=True)
        return len(ended)

    # -- one call, on its own thread ---------------------------------------------------

    def _engine(self, flow: str) -> FlowEngine:
        engines: dict[str, FlowEngine] = self._local.__dict__.setdefault("engines", {})
        if flow not in engines:
            engines[flow] = FlowEngine(self.routes.flows[flow])
        return engines[flow]

    def _calllog(self) -> CallLog:
        log: CallLog | None = getattr(self._local, "calllog", None)
        if log is None:
            log = self._local.calllog = CallLog.open(self.db_path)
        return log

    def _run(self, handle: CallHandle, call: IncomingCall) -> None:
        result = CallResult(handle.call_id, handle.flow, None, error="the call did not start")
        channel: LiveChannel | None = None
        t0 = time.monotonic()
        try:
            if call.device.rate not in LINE_RATES:
                raise CallwrightError(f"the line runs at {call.device.rate} Hz; calls take {LINE_RATES}")
            engine = self._engine(handle.flow)
            line = AudioLine(call.device.rate, self.recognizer, self._prompts[handle.flow])
            line.messages_dir = self.recordings / MESSAGES_DIR
            clock = self.clock_factory()
            channel = LiveChannel(line, call.device, clock, name=call.channel, echo=call.echo)
            handle._attach(channel)
            self.events.emit(
                "call_start",
                call_id=handle.call_id,
                channel=call.channel,
                flow=handle.flow,
                caller=shown_caller(call.caller_id),
                remote=call.remote or None,
            )
            start = dict(call.variables or {})
            if call.offered_variables:
                taken, dropped = accept_offered(engine.flow, call.offered_variables)
                start.update(taken)
                for reason in dropped:
                    self.events.emit("start_variable_dropped", call_id=handle.call_id, reason=reason)
            calllog = self._calllog()
            error = None
            variables: dict[str, Any] | None = None
            try:
                session = run_call(
                    engine,
                    channel,
                    clock,
                    calllog=calllog,
                    call_id=handle.call_id,
                    caller_id=call.caller_id,
                    called_number=call.called_number,
                    queue_status=self.queue_status,
                    variables=start or None,
                )
                outcome, queue, disposition = session.outcome, session.queue, session.disposition
                variables = dict(session.vars)
            except Exception as err:  # the channel failed: run_call logged the call's end
                error = str(err)
                outcome, queue, disposition = "error", None, None
            recording = self._save_recording(handle.call_id, line, channel, calllog)
            result = CallResult(
                handle.call_id, handle.flow, outcome, queue, disposition, recording, error, variables
            )
        except Exception as err:  # noqa: BLE001 - a call's fault must never reach the server
            result = CallResult(handle.call_id, handle.flow, "error", error=str(err))
            self.events.emit("call_error", call_id=handle.call_id, error=str(err))
        finally:
            try:
                call.device.close()
            except Exception as err:  # noqa: BLE001
                self.events.emit("call_error", call_id=handle.call_id, error=f"closing the line: {err}")
            self.events.emit(
                "call_end",
                call_id=handle.call_id,
                channel=call.channel,
                flow=handle.flow,
                outcome=result.outcome,
                queue=result.queue,
                disposition=result.disposition,
                error=result.error,
                duration_s=round(time.monotonic() - t0, 3),
                barge_ins=len(channel.barge_ins) if channel is not None else None,
            )
            self._release(handle, result)

    def _save_recording(
        self, call_id: str, line: AudioLine, channel: LiveChannel, calllog: CallLog
    ) -> str | None:
        """The stereo recording (caller left, IVR right), as `callwright call` writes it."""
        try:
            path = line.save_recording(self.recordings / f"{call_id}.wav", channel._wall_t())
            calllog.set_recording(call_id, str(path))
            return str(path)
        except (OSError, CallwrightError) as err:
            self.events.emit("call_error", call_id=call_id, error=f"recording not saved: {err}")
            return None

    def _release(self, handle: CallHandle, result: CallResult) -> None:
        with self._lock:
            self._calls.pop(handle.call_id, None)
        if not handle.future.done():
            handle.future.set_result(result)
