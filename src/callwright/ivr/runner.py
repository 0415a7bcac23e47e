"""Drive one call: engine actions out to a channel, caller events back in."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from callwright.errors import CallwrightError
from callwright.ivr.channels import Channel
from callwright.ivr.clock import Clock
from callwright.ivr.engine import FlowEngine
from callwright.ivr.events import Hangup, LogEvent
from callwright.ivr.session import CallSession

log = logging.getLogger(__name__)


class CallLogSink(Protocol):
    """Where a call's events go: the port the runner writes through.

    The IVR layer does not know how calls are stored (only `callwright.store` writes SQL);
    `callwright.store.calllog.CallLog` satisfies this, and a caller passes it in."""

    def listener(self, call_id: str) -> Callable[[LogEvent], None]:
        """A callback that buffers one session's events."""
        ...

    def call_started(self, session: CallSession) -> None:
        """Record the call's start (its row, before any event)."""
        ...

    def flush(self, session: CallSession) -> None:
        """Write the buffered events (and the call's end, once it has ended); may raise
        CallwrightError, after which the events stay buffered for the next flush."""
        ...


def run_call(
    engine: FlowEngine, channel: Channel, clock: Clock, *, calllog: CallLogSink | None = None, **call: Any
) -> CallSession:
    """Run a call to its end and return the finished session.

    Faults inside the engine are handled by the session (the flow's `on_failure`, or a
    safe goodbye). A fault in the channel (the caller's line) ends the call with outcome
    `error` and its reason, the call log gets that end, and the fault is raised again.
    """
    session = engine.start_call(clock, channel=channel.name, **call)
    if calllog is not None:
        session.listener = calllog.listener(session.call_id)
        calllog.call_started(session)
    actions = session.start()
    while True:
        try:
            for action in actions:
                channel.perform(action)
        except BaseException as err:
            _abort(session, calllog, err)
            raise
        if calllog is not None:
            try:
                calllog.flush(session)
            except CallwrightError as err:
                if session.ended:
                    raise  # the call's end could not be written: say so
                # mid-call the events stay buffered and the next flush writes them
                log.warning("call %s: %s", session.call_id, err)
        if session.ended:
            return session
        try:
            event = channel.receive(session)
        except BaseException as err:
            _abort(session, calllog, err)
            raise
        if event is None and session.deadline is not None:
            clock.skip_to(session.deadline)
            actions = session.on_timer()
        else:
            actions = session.handle(event if event is not None else Hangup())


def _abort(session: CallSession, calllog: CallLogSink | None, err: BaseException) -> None:
    """End the call in the log when the channel failed (or the user interrupted it)."""
    if isinstance(err, KeyboardInterrupt):
        outcome, reason = "abandoned", "interrupted"
    else:
        outcome, reason = "error", f"the {session.channel} channel failed: {err}"
    log.warning("call %s: %s", session.call_id, reason)
    session.abort(reason, outcome)
    if calllog is not None:
        try:
            calllog.flush(session)
        except Exception as again:  # noqa: BLE001 - the original fault is the one to report
            log.warning("call %s: could not log the call's end: %s", session.call_id, again)
