"""`callwright serve --sip udp:HOST:PORT`: the SIP server as one of the IVR server's services.

How a SIP call reaches a flow: the INVITE is first checked against the call server (no free
call slot: 486 Busy Here; shutting down: 503 Service Unavailable), before any answer, so a
refused caller hears busy rather than a call that hangs up. Once the caller ACKs our 200 OK,
the call is handed over with `CallServer.offer(IncomingCall("sip", call, ...))`: the call
server routes it by the number dialled (the user part of the Request-URI) and runs it on a
call thread with a `LiveChannel` over the `SipCall` (its `LineDevice`).

Stopping: the service stops taking INVITEs (503) at once but keeps its socket open, because
the calls still in progress are ended by the call server afterwards and each must still send
its BYE; the socket closes when the last call has ended, or with the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import socket

from callwright.flows.inputs import header_variables
from callwright.server.calls import CallServer, IncomingCall
from callwright.server.events import EventLog
from callwright.server.sip.call import SipCall
from callwright.server.sip.message import user_of
from callwright.server.sip.uas import SipConfig, SipServer, bind_udp

log = logging.getLogger(__name__)

DRAIN_MAX_S = 3600.0
"""The longest the socket stays open after stop() for calls still ending (the call server's
grace period is at most an hour)."""


class SipService:
    """The SIP/RTP listener as a `server.app.Service`."""

    name = "sip"

    def __init__(self, config: SipConfig) -> None:
        self.config = config
        self.sock: socket.socket = bind_udp(config)  # bound now: a busy port fails before anything runs
        self.port: int = self.sock.getsockname()[1]
        self.server: SipServer | None = None
        self._calls: CallServer | None = None
        self._events: EventLog | None = None
        self._closing: asyncio.Task | None = None

    async def start(self, calls: CallServer, events: EventLog) -> str:
        self._calls, self._events = calls, events
        self.server = SipServer(self.config, self._on_call, admit=self._admit)
        await self.server.start(self.sock)
        host = self.config.host
        return f"udp:{'[' + host + ']' if ':' in host else host}:{self.port}"

    async def stop(self) -> None:
        if self.server is None:
            return
        self.server.stop_accepting()
        self._closing = asyncio.get_running_loop().create_task(self._close_when_drained())

    async def _close_when_drained(self) -> None:
        assert self.server is not None
        await self.server.drain(DRAIN_MAX_S)
        await self.server.stop(grace_s=0)

    def _admit(self, call: SipCall) -> int | None:
        calls = self._calls
        assert calls is not None
        if not calls.accepting:
            status, reason = 503, "shutting down"
        elif calls.in_progress >= calls.max_calls:
            status, reason = 486, "all call slots are in use"
        else:
            return None
        if self._events is not None:
            self._events.emit(
                "call_refused", channel="sip", remote=_remote(call), reason=reason, sip_status=status
            )
        return status

    def _on_call(self, call: SipCall) -> None:
        assert self._calls is not None
        handle = self._calls.offer(
            IncomingCall(
                channel="sip",
                device=call,
                called_number=call.dialled,
                caller_id=user_of(call.caller),
                remote=_remote(call),
                offered_variables=header_variables(call.invite.headers) or None,
            )
        )
        if handle is None:  # the slot went between the INVITE and the ACK
            call.close()
            return
        events = self._events
        if events is not None:

            def transferred(target: str, result: str) -> None:
                events.emit(
                    "transfer_result", channel="sip", call_id=handle.call_id, target=target, result=result
                )

            call.on_transfer = transferred


def _remote(call: SipCall) -> str:
    host, port = call.dialog.signal_addr
    return f"{host}:{port}"
