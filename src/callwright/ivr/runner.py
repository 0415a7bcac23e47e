"""Drive one call: engine actions out to a channel, caller events back in."""

from __future__ import annotations

from typing import Any

from callwright.ivr.channels import Channel
from callwright.ivr.clock import Clock
from callwright.ivr.engine import FlowEngine
from callwright.ivr.events import Hangup
from callwright.ivr.session import CallSession
from callwright.store.calllog import CallLog


def run_call(engine: FlowEngine, channel: Channel, clock: Clock, *, calllog: CallLog | None = None,
             **call: Any) -> CallSession:
    """Run a call to its end and return the finished session."""
    listener = None
    session = engine.start_call(clock, channel=channel.name, **call)
    if calllog is not None:
        listener = calllog.listener(session.call_id)
        session.listener = listener
        calllog.call_started(session)
    actions = session.start()
    while True:
        for action in actions:
            channel.perform(action)
        if calllog is not None:
            calllog.flush(session)
        if session.ended:
            return session
        event = channel.receive(session)
        if event is None and session.deadline is not None:
            clock.skip_to(session.deadline)
            actions = session.on_timer()
        else:
            actions = session.handle(event if event is not None else Hangup())
