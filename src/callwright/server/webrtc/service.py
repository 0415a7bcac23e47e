"""Browser calls in `callwright serve --http`: the WebRTC endpoint as one of the server's services.

`add_browser_calls(app, routes)` mounts the call page at `/call/` on the server's HTTP app
and registers a `Service` that hands each connected browser call to the `CallServer`
(`calls.offer(IncomingCall(channel="webrtc", ...))`), so it is routed, run, logged and recorded
like a SIP or AudioSocket call. The page lists the routed numbers and the default flow.

Shutdown: the service stops taking offers (503) when the server stops its listeners; calls in
progress get the server's grace period and are then ended by the `CallServer`, which closes
their lines (the page is told, then the connection closes). Offers still connecting are dropped.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from callwright.server.calls import CallServer, IncomingCall
from callwright.server.webrtc.app import Dialable, WebRtcCall, WebRtcEndpoint

if TYPE_CHECKING:
    from callwright.server.app import Address, ServerApp
    from callwright.server.events import EventLog
    from callwright.server.routing import Routes

log = logging.getLogger(__name__)

PAGE_PATH = "/call"
"""Where the call page is mounted on the server's HTTP app (`/health` is beside it)."""


class CallRefused(RuntimeError):
    """The call server did not take the call (no free slot, shutting down)."""


def dialables(routes: Routes) -> list[Dialable]:
    """What the page offers: the default flow (number "") and every routed number."""
    out = [Dialable("", f"{routes.default} (default)")]
    out += [Dialable(number, flow) for number, flow in sorted(routes.numbers.items())]
    return out


class WebRtcService:
    """The browser channel as a `callwright.server.app.Service`."""

    name = "webrtc"

    def __init__(self, routes: Routes, http: Address) -> None:
        self.http = http
        self.calls: CallServer | None = None
        self.events: EventLog | None = None
        self.endpoint = WebRtcEndpoint(self._on_call, dialables(routes), busy=self._busy, report=self._report)

    async def start(self, calls: CallServer, events: EventLog) -> str:
        self.calls = calls
        self.events = events
        return f"http://{self.http}{PAGE_PATH}/"

    async def stop(self) -> None:
        self.endpoint.stop_accepting()
        await self.endpoint.close_unstarted()

    def _report(self, kind: str, remote: str, what: str) -> None:
        if self.events is not None:
            self.events.emit(kind, channel="webrtc", remote=remote, error=what)

    def _busy(self) -> str | None:
        calls = self.calls
        if calls is None:
            return "the server is starting"
        if not calls.accepting:
            return "the server is shutting down"
        if calls.in_progress >= calls.max_calls:
            return f"all {calls.max_calls} call slots are in use"
        return None

    def _on_call(self, call: WebRtcCall) -> None:
        if self.calls is None:
            raise CallRefused("the server is starting")
        handle = self.calls.offer(
            IncomingCall(
                channel="webrtc",
                device=call.line,
                called_number=call.number,
                remote=call.peer,
                echo=call.line.echo,
            )
        )
        if handle is None:
            raise CallRefused("busy: no free call slot")
        log.info("webrtc call %s is call %s", call.call_ref, handle.call_id)


def add_browser_calls(app: ServerApp, routes: Routes) -> WebRtcService:
    """Serve the call page on `app`'s HTTP listener and answer browser calls (needs `--http`)."""
    if app.http_address is None:
        raise ValueError("browser calls need the HTTP listener (--http)")
    service = WebRtcService(routes, app.http_address)
    app.http_app.mount(PAGE_PATH, app=service.endpoint.router)
    app.services.append(service)
    return service
