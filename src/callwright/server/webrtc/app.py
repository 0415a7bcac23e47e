"""The browser call endpoint: the page, the signalling request, and one peer connection per call.

`WebRtcEndpoint(on_call, numbers).router` is a Starlette `Router` to mount on the server's
HTTP app (at `/` or under a prefix such as `/call`; the page uses relative URLs):

- `GET  /`            the call page (HTML, JS and CSS shipped in this package: no CDN, no build)
- `GET  /numbers`     the numbers a browser may call, as JSON (`[{"number", "label"}]`)
- `POST /offer`       `{"type": "offer", "sdp", "number"}` -> `{"type": "answer", "sdp", "call"}`
                      (non-trickle ICE: the browser sends its offer once gathering is complete)
- `GET  /static/...`  the page's script and style

Once the connection is up, the call is handed to `on_call` (a `CallHandler`, the server's
part) as a `WebRtcCall` holding the `WebRtcLine`; the handler runs the flow (on a thread of its
own) and closes the line when the call ends. Keys and the hang-up button arrive on the
"callwright" data channel the page opens; the dialogue goes back on it.

Every call holds a slot (at most `max_calls` at once, else 503). The slot is freed exactly once
whatever ends the call: the flow, the browser hanging up, the connection failing, a connection
that never comes up within `CONNECT_TIMEOUT_S`, a bad offer, or server shutdown (`close_all`).
Requests that are not calls (no JSON, not an offer, SDP aiortc cannot read, no audio, an
unknown number, a body that is too big) are answered 4xx with a one-line reason and logged.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route, Router
from starlette.staticfiles import StaticFiles

from callwright.errors import CallwrightError
from callwright.ivr.events import Hangup
from callwright.server.webrtc.line import WebRtcLine, make_prompt_track, pump_caller_audio
from callwright.server.webrtc.messages import (
    MAX_OFFER_BYTES,
    BadMessage,
    TooLarge,
    parse_call_message,
    parse_offer,
)
from callwright.server.webrtc.receive import deliver_on_arrival

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
MAX_CALLS = 20
"""Browser calls at once by default: each holds an Opus codec pair, a recogniser stream and a
thread; a 2-core machine runs speech turns for far fewer than the DTMF-only SIP figure."""
CONNECT_TIMEOUT_S = 20.0
"""From the answer to a connected peer connection; after this the call is dropped (and its
slot freed): a browser that never completes ICE/DTLS must not hold a slot for ever."""
MAX_BAD_MESSAGES = 20
"""Data-channel messages that are not keys or hang-up, per call, before the call is ended
(each is logged; past this a peer is only sending garbage)."""
PAGE_HEADERS = {
    # The page's own script and style only: flow text is inserted as text, never as markup.
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class Dialable:
    """A number the page offers, and what it is called there (usually the flow's name).
    The number "" stands for the server's default flow (what an unrouted call reaches)."""

    number: str
    label: str


@dataclass(frozen=True)
class WebRtcCall:
    """A browser call that has connected: run it on `line` (a `LineDevice` at 8 kHz)."""

    line: WebRtcLine
    number: str
    call_ref: str  # this endpoint's id for the call (logs; the answer's "call" field)
    peer: str  # the HTTP client's address, for logs only


class CallHandler(Protocol):
    def __call__(self, call: WebRtcCall) -> None:
        """Start running the call and return at once (on the event loop: do not block).
        Close `call.line` when the call ends; raising refuses the call (it is hung up)."""


class WebRtcEndpoint:
    """The page, the signalling endpoint and the live browser calls of one server."""

    def __init__(
        self,
        on_call: CallHandler,
        numbers: Sequence[Dialable],
        *,
        max_calls: int = MAX_CALLS,
        connect_timeout_s: float = CONNECT_TIMEOUT_S,
        ice_servers: Sequence[str] = (),
        busy: Callable[[], str | None] = lambda: None,
        report: Callable[[str, str, str], None] | None = None,
    ) -> None:
        require_webrtc()
        self.on_call = on_call
        self.busy = busy  # the server's own refusal (all its slots in use...), asked before answering
        self.report = report  # (kind, remote, what happened): the server's structured log, if any
        self.accepting = True
        self.numbers = {d.number: d for d in numbers}
        self.max_calls = max_calls
        self.connect_timeout_s = connect_timeout_s
        self.ice_servers = tuple(ice_servers)  # none by default: host candidates only, no STUN
        self.lines: dict[str, WebRtcLine] = {}  # calls holding a slot, by call_ref
        self.started: set[str] = set()  # those handed to on_call
        self._tasks: set[asyncio.Task[Any]] = set()
        self.router = Router(
            routes=[
                Route("/", self.page, methods=["GET"]),
                Route("/numbers", self.list_numbers, methods=["GET"]),
                Route("/offer", self.offer, methods=["POST"]),
                Mount("/static", app=StaticFiles(directory=STATIC), name="webrtc-static"),
            ]
        )

    # -- page --------------------------------------------------------------------------

    async def page(self, request: Request) -> Response:
        if not request.url.path.endswith("/"):  # relative URLs in the page need the slash
            return RedirectResponse(request.url.replace(path=request.url.path + "/"), status_code=308)
        return FileResponse(STATIC / "index.html", media_type="text/html", headers=PAGE_HEADERS)

    async def list_numbers(self, request: Request) -> Response:
        return JSONResponse([{"number": d.number, "label": d.label} for d in self.numbers.values()])

    # -- signalling ----------------------------------------------------------------------

    async def offer(self, request: Request) -> Response:
        peer = f"{request.client.host}:{request.client.port}" if request.client else "?"
        refused = _cross_site(request)
        if refused is not None:
            return self._refuse(refused[0], f"not a call: {refused[1]}", peer)
        try:
            body = await _read_body(request, MAX_OFFER_BYTES)
            offer = parse_offer(body)
        except BadMessage as err:
            status = 413 if isinstance(err, TooLarge) else 400
            return self._refuse(status, f"not a call: {err}", peer)
        if offer.number not in self.numbers:
            return self._refuse(404, f"no flow answers number {offer.number!r}", peer)
        refusal = (
            "the server is shutting down"
            if not self.accepting
            else f"all {self.max_calls} browser call slots are in use"
            if len(self.lines) >= self.max_calls
            else self.busy()
        )
        if refusal is not None:
            self._warn("call_refused", peer, f"503: {refusal}")
            return JSONResponse(
                {"error": f"busy: {refusal}; try again shortly"},
                status_code=503,
                headers={"Retry-After": "5"},
            )
        return await self._answer(offer.sdp, offer.number, peer)

    async def _answer(self, sdp: str, number: str, peer: str) -> Response:
        from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription

        loop = asyncio.get_running_loop()
        call_ref = uuid.uuid4().hex[:12]
        config = RTCConfiguration(iceServers=[RTCIceServer(urls=u) for u in self.ice_servers])
        pc = RTCPeerConnection(configuration=config)
        line = WebRtcLine(loop, pc, make_prompt_track(), call_ref=call_ref, on_closed=self._freer(call_ref))
        self.lines[call_ref] = line  # the slot is held from here; every path below frees it
        started = False
        bad = 0
        pumping = False

        def too_slow() -> None:
            if not started and not line.closed:
                self._warn(
                    "line_error",
                    peer,
                    f"call {call_ref}: not connected after {self.connect_timeout_s:g} s; dropped",
                )
                self._spawn(line.shutdown())

        loop.call_later(self.connect_timeout_s, too_slow)  # also covers a request cut off below

        def start_call() -> None:
            nonlocal started
            if started or line.closed:
                return
            started = True
            self.started.add(call_ref)
            log.info("webrtc call %s: connected (number %s, from %s)", call_ref, number, peer)
            try:
                self.on_call(WebRtcCall(line, number, call_ref, peer))
            except Exception as err:  # noqa: BLE001 - the server refuses the call; we stay up
                self._warn("call_refused", peer, f"call {call_ref}: the server could not start it: {err}")
                line.show("end", f"[call ended: {err}]")
                line.close()

        @pc.on("datachannel")
        def on_datachannel(channel: Any) -> None:
            line.attach_channel(channel)

            @channel.on("message")
            def on_message(raw: Any) -> None:
                nonlocal bad
                try:
                    line.deliver(parse_call_message(raw))
                except BadMessage as err:
                    bad += 1
                    self._warn("line_error", peer, f"call {call_ref}: ignored a data-channel message: {err}")
                    if bad >= MAX_BAD_MESSAGES:
                        self._warn("line_error", peer, f"call {call_ref}: {bad} bad messages; hanging up")
                        line.deliver(Hangup())
                        self._spawn(line.shutdown())

        @pc.on("track")
        def on_track(track: Any) -> None:
            nonlocal pumping
            if track.kind == "audio" and not pumping:  # one caller: the first audio track
                pumping = True
                self._spawn(pump_caller_audio(track, line))

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            state = pc.connectionState
            if state == "connected":
                start_call()
            elif state in ("failed", "closed"):
                if state == "failed":
                    self._warn("line_error", peer, f"call {call_ref}: the connection failed")
                await line.shutdown()

        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
            audio = [t for t in pc.getTransceivers() if t.kind == "audio"]
            if not audio:
                raise BadMessage("the offer has no audio (the page sends the microphone)")
            for transceiver in audio:  # the caller's voice reaches the endpointer 80 ms sooner
                deliver_on_arrival(transceiver.receiver)
            pc.addTrack(line.out)
            answer = await pc.createAnswer()
            await pc.setLocalDescription(answer)
        except Exception as err:  # noqa: BLE001 - aiortc raises many kinds for bad SDP
            await line.shutdown()
            bad_sdp = f"malformed SDP: {err or type(err).__name__}"
            reason = str(err) if isinstance(err, BadMessage) else bad_sdp
            return self._refuse(400, f"not a call: {reason}", peer)
        return JSONResponse({"type": "answer", "sdp": pc.localDescription.sdp, "call": call_ref})

    # -- bookkeeping ---------------------------------------------------------------------

    def _warn(self, kind: str, peer: str, what: str) -> None:
        """A peer's bad input or a refused or failed call: reported to the server's structured log
        when there is one (and logged at info level), else logged as a warning."""
        log.log(logging.INFO if self.report else logging.WARNING, "webrtc %s from %s: %s", kind, peer, what)
        if self.report is not None:
            try:
                self.report(kind, peer, what)
            except Exception as err:  # noqa: BLE001 - reporting must not break the endpoint
                log.warning("webrtc: could not report %s: %s", kind, err)

    def _refuse(self, status: int, reason: str, peer: str) -> Response:
        self._warn("line_error", peer, f"{status}: {reason}")
        return JSONResponse({"error": reason}, status_code=status)

    def _freer(self, call_ref: str) -> Callable[[], None]:
        def free() -> None:
            self.started.discard(call_ref)
            if self.lines.pop(call_ref, None) is not None:
                log.info("webrtc call %s: closed (%d in progress)", call_ref, len(self.lines))

        return free

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def stop_accepting(self) -> None:
        """Refuse new calls (503) from now on; calls in progress go on (server shutdown)."""
        self.accepting = False

    async def close_unstarted(self) -> None:
        """Drop the offers still connecting (server shutdown: calls in progress go on)."""
        for ref, line in list(self.lines.items()):
            if ref not in self.started:
                await line.shutdown()

    async def close_all(self) -> None:
        """Hang up every browser call (server shutdown); their calls end as hung up."""
        for line in list(self.lines.values()):
            await line.shutdown()
        for task in list(self._tasks):
            task.cancel()


def require_webrtc() -> None:
    """aiortc and PyAV (the `serve` extra) must be installed before the page is offered."""
    missing = [name for name in ("aiortc", "av") if importlib.util.find_spec(name) is None]
    if missing:
        raise CallwrightError(
            f"browser calls need {' and '.join(missing)}, which are not installed",
            hint="pip install -c constraints.txt '.[serve]'",
        )


def _cross_site(request: Request) -> tuple[int, str] | None:
    """Another web site's page must not start calls here (holding slots, using the microphone
    of whoever visits it): the offer must be JSON, which a cross-site form or `text/plain` post
    cannot send without the browser asking first (CORS, which this endpoint never grants), and
    a browser's `Origin`, when it sends one, must be this server."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json":
        return 415, f"the offer must be sent as application/json, not {kind or 'no content type'}"
    origin = request.headers.get("origin")
    if origin is not None and urlsplit(origin).netloc != request.headers.get("host", ""):
        return 403, f"an offer from another site ({origin[:100]}) is not accepted"
    return None


async def _read_body(request: Request, limit: int) -> bytes:
    """The request body, refused past `limit` bytes without reading the rest."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"the request body is {declared} bytes; the limit is {limit}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise TooLarge(f"the request body is over the limit of {limit} bytes")
    return bytes(body)
