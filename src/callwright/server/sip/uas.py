"""The SIP user agent server: one asyncio UDP socket that answers calls.

What it does, by method (RFC 3261 unless said):
- INVITE: 100 Trying, 180 Ringing, 200 OK with the SDP answer, retransmitted (T1 doubling
  to T2) until the ACK, given up after 64*T1 (the call is then ended with a BYE). No free
  slot: 486 Busy Here; shutting down: 503; no usable codec or no SDP: 488 Not Acceptable
  Here with a Warning. A re-INVITE in the dialog gets 200 with the same answer (the media
  does not change).
- ACK: confirms the dialog; the call is handed to `on_call` then.
- INFO with application/dtmf-relay in the dialog: a key (as from RFC 4733).
- An INVITE with a Require header: 420 Bad Extension (we implement no extension).
- BYE: 200 and the call ends (Hangup to the IVR). CANCEL: 200, and 487 for the INVITE if it
  was not answered yet. OPTIONS: 200 with Allow. NOTIFY in a dialog: 200 (a REFER's result).
- Requests for a dialog we do not have: 481. Other methods: 405 with Allow.
- Datagrams that do not parse: dropped and logged (rate-limited), never answered.
- Retransmitted requests get the last response again (kept `RESPONSE_CACHE_S`).
- Our own BYE and REFER are retransmitted (Timer E) until a final response or 64*T1.

One media tick every 20 ms (a monotonic clock, one task for all calls) passes on each call's
received audio and, without the RTP sender process, sends each call's next RTP packet. With
it (`SipConfig.media_process`, the default; media.py) the tick hands each new call's sending
over to that process, whose own 20 ms clock no call thread holding the interpreter lock can
delay. How late the sending clock runs is kept so the send timing jitter can be read
(`send_jitter_ms`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import re
import secrets
import socket
import time
from collections import deque
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import numpy as np

from callwright.errors import CallwrightError
from callwright.ivr.events import Dtmf
from callwright.server.sip import g711
from callwright.server.sip.call import FRAME, RATE, Dialog, SipCall, TransferResult, _RtpSocket
from callwright.server.sip.media import MediaWorker
from callwright.server.sip.message import (
    SipMessage,
    SipParseError,
    header_params,
    host_port_of,
    parse_message,
    response_to,
    tag_of,
    uri_of,
)
from callwright.server.sip.rtp import DTMF_EVENTS
from callwright.server.sip.sdp import SdpError, answer_sdp, negotiate, parse_sdp

log = logging.getLogger(__name__)

T1 = 0.5  # RFC 3261 timer T1 (round-trip estimate), seconds
T2 = 4.0  # the longest retransmission interval
TIMEOUT_64T1 = 64 * T1  # give up on an answer (32 s)
MAX_CALLS = 100  # calls at once (answered or being answered); more get 486 Busy Here
RESPONSE_CACHE_S = 32.0  # how long a response is kept for retransmitted requests
MAX_CACHED_RESPONSES = 4_096
PARSE_LOG_EVERY = 100  # bad datagrams: log the first, then every Nth
TICK_S = FRAME / RATE  # 20 ms
MAX_TICK_LAG = 5  # ticks behind before the schedule is reset instead of sending a burst
JITTER_SAMPLES = 60_000  # tick lateness values kept for send_jitter_ms
ALLOW = "INVITE, ACK, BYE, CANCEL, OPTIONS, NOTIFY, REFER"
USER_AGENT = "callwright"
_SIP_URI = re.compile(r"sips?:[A-Za-z0-9\-_.!~*'()&=+$,;?/%:@\[\]]{1,250}", re.IGNORECASE)
"""A transfer target we put in a Refer-To: a sip: URI of URI characters only (no <, >, quotes,
spaces or control characters that could break out of the header)."""


@dataclass(frozen=True)
class SipConfig:
    host: str = "127.0.0.1"
    port: int = 5062
    advertise: str | None = None  # the address put in Contact and SDP (default: host)
    max_calls: int = MAX_CALLS
    media_timeout_s: float = 60.0  # no RTP at all for this long: the call is hung up (0: never)
    media_process: bool = True  # send RTP from a process of its own (media.py); False: from the loop


SIP_PORT = 5062


def parse_listen(spec: str) -> SipConfig:
    """The --sip option: `udp:HOST:PORT`, `HOST:PORT`, `udp:[IPv6]:PORT` or `PORT` (host
    127.0.0.1) -> SipConfig; a CallwrightError names what is wrong."""
    text = spec.strip()
    scheme, sep, rest = text.partition(":")
    if sep and scheme.lower() in ("tcp", "tls", "ws", "wss", "sips"):
        raise CallwrightError(f"--sip {spec!r}: only UDP is supported (udp:HOST:PORT)")
    if sep and scheme.lower() == "udp":
        text = rest
    host, port = "127.0.0.1", str(SIP_PORT)
    if text.startswith("["):
        inner, _, tail = text[1:].partition("]")
        host, port = inner, tail[1:] if tail.startswith(":") else ("" if tail else port)
    elif text.count(":") == 1:
        host, port = text.split(":")
    elif text.isascii() and text.isdigit():
        port = text
    elif text and ":" not in text:
        host = text
    else:
        host = ""
    if not host or not (port.isascii() and port.isdigit()) or not 0 <= int(port) <= 65535:
        raise CallwrightError(
            f"--sip {spec!r}: expected udp:HOST:PORT with a port from 0 to 65535,"
            f" e.g. udp:127.0.0.1:{SIP_PORT}"
        )
    return SipConfig(host=host, port=int(port))


def bind_udp(config: SipConfig) -> socket.socket:
    """The SIP socket, bound now so a busy port fails before anything else starts."""
    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.bind((config.host, config.port))
    except (OSError, OverflowError) as err:
        sock.close()
        why = getattr(err, "strerror", None) or err
        raise CallwrightError(
            f"--sip udp:{_host(config.host)}:{config.port}: cannot listen: {why}",
            hint="is another SIP server using that port? choose another with udp:HOST:PORT",
        ) from None
    sock.setblocking(False)
    return sock


class _SignalSocket(asyncio.DatagramProtocol):
    def __init__(self, server: SipServer) -> None:
        self.server = server

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        try:
            self.server._datagram(data, addr)
        except Exception:  # one bad message must never stop the server
            log.exception("SIP: datagram from %s:%s not handled", addr[0], addr[1])

    def error_received(self, exc: Exception) -> None:
        log.debug("SIP socket: %s", exc)


@dataclass
class _Pending:
    """An INVITE answered with 200 and waiting for its ACK."""

    call: SipCall
    response: bytes
    addr: tuple[str, int]
    branch: str
    task: asyncio.Task | None = None


class SipServer:
    """Answers SIP calls on one UDP port and hands each confirmed call to `on_call`.

    `on_call(call)` runs on the event loop and must return at once (start a thread or a
    task for the call). `admit(call)`, if given, is asked first, when the INVITE arrives
    (before any answer): it returns None to take the call or a SIP status to refuse it with
    (404 for a number nobody serves, 486 when the IVR has no free slot, 503...). Use the
    server as `async with SipServer(...)`, or `await start()` and `await stop()`."""

    def __init__(
        self,
        config: SipConfig,
        on_call: Callable[[SipCall], None],
        admit: Callable[[SipCall], int | None] | None = None,
    ) -> None:
        self.config = config
        self.on_call = on_call
        self.admit = admit
        self.calls: dict[str, SipCall] = {}  # Call-ID -> call, from INVITE to end: the slots
        self.port = config.port
        self.loop: asyncio.AbstractEventLoop | None = None
        self.transport: asyncio.DatagramTransport | None = None
        self.accepting = True
        self.bad_datagrams = 0
        self.answered = 0
        self.refused: dict[int, int] = {}  # status -> count
        self._pending: dict[str, _Pending] = {}  # Call-ID -> unacknowledged 200
        self._responses: dict[tuple[str, str, str], tuple[float, bytes]] = {}
        self._client: dict[tuple[str, int, str], asyncio.Future] = {}
        self._refers: dict[str, asyncio.Future] = {}  # Call-ID -> NOTIFY result of a REFER
        # Call-ID -> a client INVITE transaction of ours (uac.py): sees the responses of that
        # Call-ID first and returns True for those it consumed (1xx, 2xx, 3xx-6xx to INVITE)
        self.response_hooks: dict[str, Callable[[SipMessage], bool]] = {}
        self._lateness: deque[float] = deque(maxlen=JITTER_SAMPLES)
        self._ticker: asyncio.Task | None = None
        self._tasks: set[asyncio.Task] = set()
        self.media: MediaWorker | None = None  # the RTP sender process, with config.media_process
        self._media_calls: dict[int, SipCall] = {}  # its key -> call
        self._media_keys = itertools.count(1)

    @property
    def address(self) -> str:
        return self.config.advertise or self.config.host

    def address_for(self, call: SipCall) -> str:
        """Our address as this caller reaches us, for Contact, Via and the SDP: the configured
        one, or, when listening on every interface (0.0.0.0, ::), the host the caller dialled
        in the Request-URI (an address in SDP must be one the far end can send to)."""
        if self.config.advertise or self.config.host not in ("0.0.0.0", "::", ""):
            return self.address
        try:
            return host_port_of(call.invite.uri or "")[0].strip("[]")
        except SipParseError:
            return self.address

    # --- life cycle -------------------------------------------------------------------

    async def start(self, sock: socket.socket | None = None) -> None:
        """Listen: on `sock` if given (already bound, see bind_udp), else on config's address."""
        self.loop = asyncio.get_running_loop()
        transport, _ = await self.loop.create_datagram_endpoint(
            lambda: _SignalSocket(self), sock=sock if sock is not None else bind_udp(self.config)
        )
        self.transport = transport
        self.port = transport.get_extra_info("sockname")[1]
        self._ticker = self.loop.create_task(self._media_ticks())
        if self.config.media_process:
            try:
                self.media = MediaWorker(self.loop, self._media_drained, self._media_stats, self._media_died)
            except (OSError, AttributeError) as err:  # AttributeError: no AF_UNIX/send_fds here
                log.warning("SIP: no RTP sender process (%s): the event loop sends RTP itself", err)
        log.info("SIP: listening on udp:%s:%d", self.config.host, self.port)

    def stop_accepting(self) -> None:
        """New INVITEs get 503 from now on; calls in progress go on (and can still send BYE)."""
        self.accepting = False

    async def drain(self, max_s: float) -> None:
        """Wait (at most max_s) until every call has ended and our BYEs have their answers."""
        deadline = time.monotonic() + max_s
        while (self.calls or self._client) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)

    async def stop(self, grace_s: float = 2.0) -> None:
        """Refuse new calls (503), hang up the ones in progress with BYE, close the socket."""
        self.accepting = False
        for call in list(self.calls.values()):
            call._hangup_local("server shutting down", tell_ivr=True)
        deadline = time.monotonic() + grace_s
        while self._client and time.monotonic() < deadline:  # let the BYEs get their 200
            await asyncio.sleep(0.05)
        for t in list(self._tasks):
            t.cancel()
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        if self.transport is not None:
            self.transport.close()
        if self.media is not None:
            self.media.close()
            self.media = None

    async def __aenter__(self) -> SipServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- helpers for SipCall (any thread) -------------------------------------------------

    def call_soon(self, fn: Callable[[], None]) -> None:
        if self.loop is None or self.loop.is_closed():
            return
        if _running_loop() is self.loop:
            fn()
        else:
            self.loop.call_soon_threadsafe(fn)

    def run(self, coro: Coroutine[Any, Any, TransferResult]) -> Future:
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def forget(self, call: SipCall) -> None:
        """Frees the call's slot (the one place a slot is released)."""
        if self.calls.get(call.call_id) is call:
            del self.calls[call.call_id]
        pending = self._pending.pop(call.call_id, None)
        if pending is not None and pending.task is not None:
            pending.task.cancel()
        fut = self._refers.pop(call.call_id, None)
        if fut is not None and not fut.done():
            fut.set_result("failed")

    # --- the RTP sender process (media.py), on the loop -----------------------------------

    def _hand_over(self, call: SipCall, media: MediaWorker) -> None:
        """The call's RTP sending moves to the sender process, with any audio queued so far."""
        assert call.transport is not None
        rtp = call.transport.get_extra_info("socket")
        key = next(self._media_keys)
        with call._lock:
            call._media_key = key
            queued, call._out = bytes(call._out), bytearray()
            if queued:
                call._play_gen += 1
                call._remote_playing = True
                call._remote_until = time.monotonic() + len(queued) / RATE
            gen = call._play_gen
        self._media_calls[key] = call
        media.open(
            key,
            rtp,
            call.remote_media,
            payload_type=call.media.payload_type,
            silence=g711.SILENCE[call.media.codec],
            can_send=call._can_send,
            ssrc=call._ssrc,
            seq=call._seq,
            ts0=call._ts0,
        )
        if queued:
            media.play(key, gen, queued)

    def media_play(self, key: int, gen: int, coded: bytes) -> None:
        if self.media is not None and key in self._media_calls:
            self.media.play(key, gen, coded)

    def media_clear(self, key: int) -> None:
        if self.media is not None and key in self._media_calls:
            self.media.clear(key)

    def media_close(self, key: int) -> None:
        if self._media_calls.pop(key, None) is not None and self.media is not None:
            self.media.close_line(key)

    def _media_drained(self, key: int, gen: int) -> None:
        call = self._media_calls.get(key)
        if call is not None:
            call._media_drained(gen)

    def _media_stats(self, lateness: list[float], sent: dict[int, int]) -> None:
        self._lateness.extend(lateness)
        for key, n in sent.items():
            call = self._media_calls.get(key)
            if call is not None:
                call.packets_out = n

    def _media_died(self) -> None:
        """The sender process is gone: every call sends from the loop again (a prompt the
        process had not sent yet is lost; the IVR sees it as played)."""
        for call in self._media_calls.values():
            with call._lock:
                call._media_key = None
                call._remote_playing = False
        self._media_calls.clear()

    def send_jitter_ms(self) -> dict[str, float]:
        """How late the 20 ms media ticks ran: p50, p99 and max in milliseconds."""
        if not self._lateness:
            return {"p50": 0.0, "p99": 0.0, "max": 0.0, "ticks": 0}
        a = np.array(self._lateness) * 1000
        return {
            "p50": float(np.percentile(a, 50)),
            "p99": float(np.percentile(a, 99)),
            "max": float(a.max()),
            "ticks": len(a),
        }

    # --- receiving ----------------------------------------------------------------------

    def _send(self, data: bytes, addr: tuple[str, int]) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(data, addr)

    def _datagram(self, data: bytes, addr: tuple) -> None:
        if not data.strip(b"\r\n"):
            return  # keep-alive (RFC 5626 CRLF)
        try:
            msg = parse_message(data)
            if msg.is_request:
                for name in ("Via", "From", "To", "Call-ID", "CSeq"):
                    if not msg.get(name):
                        raise SipParseError(f"request without {name}")
                msg.cseq()
        except SipParseError as err:
            self.bad_datagrams += 1
            if self.bad_datagrams % PARSE_LOG_EVERY == 1:
                log.warning(
                    "SIP: datagram from %s:%s dropped: %s (%d so far)",
                    addr[0],
                    addr[1],
                    err,
                    self.bad_datagrams,
                )
            return
        src = (addr[0], addr[1])
        if msg.is_request:
            self._request(msg, src)
        else:
            self._response(msg)

    def _reply(
        self,
        req: SipMessage,
        status: int,
        addr: tuple[str, int],
        *,
        to_tag: str | None = None,
        extra=(),
        body=b"",
        reason="",
    ) -> bytes:
        resp = response_to(req, status, to_tag=to_tag, reason=reason)
        # RFC 3581: say where the request really came from (baresip and NATs rely on it)
        if resp.headers and resp.headers[0][0] == "Via":
            via = resp.headers[0][1]
            if ";rport" in via and ";rport=" not in via:
                via = via.replace(";rport", f";received={addr[0]};rport={addr[1]}", 1)
            resp.headers[0] = ("Via", via)
        resp.headers += [("Server", USER_AGENT), *extra]
        resp.body = body
        data = resp.to_bytes()
        self._send(data, addr)
        if status >= 200:
            self._remember(req, data)
        if status >= 400:
            self.refused[status] = self.refused.get(status, 0) + 1
        return data

    def _key(self, req: SipMessage) -> tuple[str, str, str]:
        branch = header_params(req.get("Via") or "").get("branch", "")
        return (branch, req.get("Call-ID") or "", req.method or "")

    def _remember(self, req: SipMessage, data: bytes) -> None:
        now = time.monotonic()
        if len(self._responses) >= MAX_CACHED_RESPONSES:
            for k, (t, _) in list(self._responses.items()):
                if now - t > RESPONSE_CACHE_S or len(self._responses) >= MAX_CACHED_RESPONSES:
                    del self._responses[k]
        self._responses[self._key(req)] = (now, data)

    def _request(self, req: SipMessage, addr: tuple[str, int]) -> None:
        method = req.method or ""
        cached = self._responses.get(self._key(req))
        if cached is not None and method != "ACK" and time.monotonic() - cached[0] < RESPONSE_CACHE_S:
            self._send(cached[1], addr)  # a retransmission: the same answer again
            return
        call_id = req.get("Call-ID") or ""
        call = self.calls.get(call_id)
        in_dialog = tag_of(req.get("To")) is not None
        if method == "INVITE" and not in_dialog:
            if call is not None:
                pending = self._pending.get(call_id)
                if pending is not None:
                    self._send(pending.response, addr)  # INVITE retransmitted before our 200 was ACKed
                return
            self._invite(req, addr)
        elif method == "ACK":
            self._ack(req, call)
        elif method == "CANCEL":
            self._cancel(req, addr, call)
        elif method == "OPTIONS" and not in_dialog:
            self._reply(
                req,
                200,
                addr,
                to_tag=secrets.token_hex(4),
                extra=[("Allow", ALLOW), ("Accept", "application/sdp")],
            )
        elif method in ("BYE", "INVITE", "NOTIFY", "OPTIONS", "REFER", "INFO", "UPDATE"):
            if call is None or tag_of(req.get("To")) != call.dialog.local_tag:
                self._reply(req, 481, addr)
            elif method == "BYE":
                self._reply(req, 200, addr)
                call._remote_hangup("caller hung up (BYE)")
            elif method == "INVITE":  # re-INVITE: same media, same answer
                self._reply(req, 200, addr, extra=self._contact_headers(call), body=self._answer(call))
            elif method == "NOTIFY":
                self._reply(req, 200, addr)
                self._notify(req, call)
            elif method == "INFO":
                self._reply(req, 200, addr)
                self._info(req, call)
            else:  # UPDATE (nothing to change), OPTIONS in the dialog; REFER from the caller: no
                self._reply(req, 405 if method == "REFER" else 200, addr, extra=[("Allow", ALLOW)])
        else:
            self._reply(req, 405, addr, extra=[("Allow", ALLOW)])

    def _contact_headers(self, call: SipCall) -> list[tuple[str, str]]:
        return [
            ("Contact", f"<sip:{call.dialled or 'ivr'}@{_host(self.address_for(call))}:{self.port}>"),
            ("Allow", ALLOW),
            ("Content-Type", "application/sdp"),
        ]

    def _answer(self, call: SipCall) -> bytes:
        return answer_sdp(call.media, self.address_for(call), call.local_port, session_id=call._ssrc)

    def _invite(self, req: SipMessage, addr: tuple[str, int]) -> None:
        if not self.accepting:
            self._reply(req, 503, addr, extra=[("Retry-After", "30")])
            return
        if len(self.calls) >= self.config.max_calls:
            self._reply(req, 486, addr, to_tag=secrets.token_hex(4), reason="Busy Here (call limit reached)")
            log.warning("SIP: INVITE refused, %d calls is the limit (max_calls)", self.config.max_calls)
            return
        required = [r.strip() for r in (req.get("Require") or "").split(",") if r.strip()]
        if required:  # we support no SIP extension a caller could insist on (RFC 3261 8.2.2.3)
            self._reply(
                req, 420, addr, to_tag=secrets.token_hex(4), extra=[("Unsupported", ", ".join(required))]
            )
            return
        ctype = (req.get("Content-Type") or "").split(";")[0].strip().lower()
        try:
            if not req.body or ctype != "application/sdp":
                raise SdpError("an INVITE without an SDP offer (late offer) is not supported")
            media = negotiate(parse_sdp(req.body))
        except SdpError as err:
            warning = "".join(c if " " <= c <= "~" and c != '"' else "?" for c in str(err))[:200]
            self._reply(
                req,
                488,
                addr,
                to_tag=secrets.token_hex(4),
                extra=[("Warning", f'399 {_host(self.address)} "{warning}"')],
            )
            log.info("SIP: INVITE %s refused with 488: %s", req.get("Call-ID"), err)
            return
        self._reply(req, 100, addr)
        contact = req.get("Contact")
        dialog = Dialog(
            call_id=req.get("Call-ID") or "",
            local_tag=secrets.token_hex(6),
            remote_tag=tag_of(req.get("From")),
            local_uri=uri_of(req.get("To") or ""),
            remote_uri=uri_of(req.get("From") or ""),
            remote_target=uri_of(contact) if contact else "",
            signal_addr=addr,
        )
        call = SipCall(self, dialog, media, req)
        refusal = None
        if self.admit is not None:
            try:
                refusal = self.admit(call)
            except Exception:
                log.exception("SIP: the admission check failed for %s", dialog.call_id)
                refusal = 500
        if refusal is not None:
            self._reply(req, refusal, addr, to_tag=dialog.local_tag)
            log.info("SIP: INVITE %s for %r refused with %d", dialog.call_id, call.dialled, refusal)
            return
        self.calls[dialog.call_id] = call  # the slot is taken from here until call._finish
        self._spawn(self._answer_invite(call, req, addr))

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task:
        assert self.loop is not None
        task = self.loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _answer_invite(self, call: SipCall, req: SipMessage, addr: tuple[str, int]) -> None:
        assert self.loop is not None
        try:
            transport, _ = await self.loop.create_datagram_endpoint(
                lambda: _RtpSocket(call), local_addr=(self.config.host, 0)
            )
        except OSError as err:
            log.error("SIP: no RTP port for call %s: %s", call.call_id, err)
            self._reply(req, 503, addr, to_tag=call.dialog.local_tag)
            call._finish("no RTP port")
            return
        if call.state == "ended":  # cancelled while the socket was opening
            transport.close()
            return
        call.transport = transport
        call.local_port = transport.get_extra_info("sockname")[1]
        self._reply(req, 180, addr, to_tag=call.dialog.local_tag)
        data = self._reply(
            req,
            200,
            addr,
            to_tag=call.dialog.local_tag,
            extra=self._contact_headers(call),
            body=self._answer(call),
        )
        self.answered += 1
        pending = _Pending(call, data, addr, self._key(req)[0])
        self._pending[call.call_id] = pending
        pending.task = self._spawn(self._retransmit_200(pending))

    async def _retransmit_200(self, pending: _Pending) -> None:
        interval, waited = T1, 0.0
        while waited < TIMEOUT_64T1:
            await asyncio.sleep(interval)
            waited += interval
            if self._pending.get(pending.call.call_id) is not pending:
                return
            self._send(pending.response, pending.addr)
            interval = min(interval * 2, T2)
        if self._pending.get(pending.call.call_id) is pending:
            log.warning(
                "call %s: no ACK for the 200 in %.0f s, hanging up", pending.call.call_id, TIMEOUT_64T1
            )
            pending.call.state = "confirmed"  # RFC 3261 13.3.1.4: end it with a BYE
            pending.call._hangup_local("no ACK for the 200 OK", tell_ivr=True)

    def _ack(self, req: SipMessage, call: SipCall | None) -> None:
        if call is None:
            return  # an ACK for a non-2xx (its own transaction) or for a call already over
        pending = self._pending.pop(call.call_id, None)
        if pending is None:
            return  # a retransmitted ACK
        if pending.task is not None:
            pending.task.cancel()
        call.state = "confirmed"
        try:
            self.on_call(call)
        except Exception:
            log.exception("call %s: the server's call handler failed; hanging up", call.call_id)
            call._hangup_local("call handler failed")

    def _cancel(self, req: SipMessage, addr: tuple[str, int], call: SipCall | None) -> None:
        if call is None:
            self._reply(req, 481, addr)
            return
        self._reply(req, 200, addr)
        if call.state == "early" and call.call_id not in self._pending:
            # not answered yet: the INVITE gets 487 (RFC 3261 9.2)
            invite = call.invite
            self._reply(invite, 487, call.dialog.signal_addr, to_tag=call.dialog.local_tag)
            call._finish("cancelled by the caller")
        elif call.call_id in self._pending:
            # our 200 crossed the CANCEL: the call stands; the caller ACKs and sends BYE
            pass

    def _info(self, req: SipMessage, call: SipCall) -> None:
        """Keys sent as SIP INFO (application/dtmf-relay, `Signal=5`): some PBXs and phones
        send these instead of RFC 4733 events."""
        ctype = (req.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != "application/dtmf-relay":
            return
        for line in req.body.decode("utf-8", "replace").splitlines()[:10]:
            name, _, value = line.partition("=")
            key = value.strip().upper()
            if name.strip().lower() == "signal" and len(key) == 1 and key in DTMF_EVENTS:
                call.keys.append(key)
                call._emit(Dtmf(key))

    def _notify(self, req: SipMessage, call: SipCall) -> None:
        event = (req.get("Event") or "").split(";")[0].strip().lower()
        if event != "refer":
            return
        fut = self._refers.get(call.call_id)
        line = req.body.split(b"\n", 1)[0].decode("utf-8", "replace").strip()
        parts = line.split()
        if fut is None or fut.done() or len(parts) < 2 or not parts[1].isascii() or not parts[1].isdigit():
            return
        status = int(parts[1][:3])
        if 200 <= status < 300:
            fut.set_result("transferred")
        elif status >= 300:
            fut.set_result("failed")

    # --- requests we send ---------------------------------------------------------------

    def send_in_dialog(self, call: SipCall, method: str, extra=()) -> asyncio.Future:
        """Send BYE/REFER in the call's dialog; the future gets the final response (or None)."""
        assert self.loop is not None
        d = call.dialog
        call.local_cseq += 1
        target = d.remote_target or f"sip:{d.signal_addr[0]}:{d.signal_addr[1]}"
        try:
            dest = host_port_of(target)
        except SipParseError:
            dest = d.signal_addr
        branch = "z9hG4bK" + secrets.token_hex(8)
        msg = SipMessage(method=method, uri=target)
        msg.headers = [
            ("Via", f"SIP/2.0/UDP {_host(self.address_for(call))}:{self.port};branch={branch};rport"),
            ("Max-Forwards", "70"),
            ("From", f"<{d.local_uri}>;tag={d.local_tag}"),
            ("To", f"<{d.remote_uri}>" + (f";tag={d.remote_tag}" if d.remote_tag else "")),
            ("Call-ID", d.call_id),
            ("CSeq", f"{call.local_cseq} {method}"),
            ("User-Agent", USER_AGENT),
            *extra,
        ]
        data = msg.to_bytes()
        fut: asyncio.Future = self.loop.create_future()
        key = (d.call_id, call.local_cseq, method)
        self._client[key] = fut
        self._send(data, dest)
        self._spawn(self._retransmit_request(key, data, dest))
        return fut

    async def _retransmit_request(
        self, key: tuple[str, int, str], data: bytes, dest: tuple[str, int]
    ) -> None:
        interval, waited = T1, 0.0
        try:
            while waited < TIMEOUT_64T1:
                await asyncio.sleep(interval)
                waited += interval
                fut = self._client.get(key)
                if fut is None or fut.done():
                    return
                self._send(data, dest)
                interval = min(interval * 2, T2)
            fut = self._client.get(key)
            if fut is not None and not fut.done():
                fut.set_result(None)  # Timer F: no answer
        finally:
            self._client.pop(key, None)

    def _response(self, resp: SipMessage) -> None:
        try:
            num, method = resp.cseq()
        except SipParseError:
            return
        hook = self.response_hooks.get(resp.get("Call-ID") or "")
        if hook is not None and hook(resp):
            return
        fut = self._client.get((resp.get("Call-ID") or "", num, method))
        if fut is not None and not fut.done() and (resp.status or 0) >= 200:
            fut.set_result(resp)
            self._client.pop((resp.get("Call-ID") or "", num, method), None)

    async def refer(self, call: SipCall, target: str, timeout_s: float) -> TransferResult:
        """Blind transfer (RFC 3515, RFC 5589 section 6): REFER, then wait for the NOTIFY
        whose sipfrag says how the new call went."""
        assert self.loop is not None
        if call.state != "confirmed":
            return "failed"
        if not _SIP_URI.fullmatch(target):
            log.warning("call %s: transfer target %r is not a SIP URI", call.call_id, target[:80])
            return "failed"
        result: asyncio.Future = self.loop.create_future()
        self._refers[call.call_id] = result
        try:
            resp = await asyncio.wait_for(
                self.send_in_dialog(
                    call,
                    "REFER",
                    extra=[
                        ("Refer-To", f"<{target}>"),
                        ("Referred-By", f"<{call.dialog.local_uri}>"),
                        ("Contact", f"<sip:ivr@{_host(self.address_for(call))}:{self.port}>"),
                    ],
                ),
                timeout_s,
            )
            if resp is None or not 200 <= (resp.status or 0) < 300:
                log.info(
                    "call %s: REFER to %s answered %s",
                    call.call_id,
                    target,
                    resp.status if resp else "nothing",
                )
                return "failed"
            return await asyncio.wait_for(result, timeout_s)
        except TimeoutError:
            return "failed"
        finally:
            self._refers.pop(call.call_id, None)

    # --- media --------------------------------------------------------------------------

    async def _media_ticks(self) -> None:
        """One 20 ms clock for every call's RTP; lateness kept for send_jitter_ms."""
        start = time.monotonic()
        tick = 0
        while True:
            tick += 1
            due = start + tick * TICK_S
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            now = time.monotonic()
            late = now - due
            if late > MAX_TICK_LAG * TICK_S:  # stalled: skip ahead (RTP time still advances)
                skipped = int(late / TICK_S)
                tick += skipped
                late -= skipped * TICK_S
            media = self.media if self.media is not None and self.media.alive else None
            if media is None:  # else the sender process keeps its own clock's lateness
                self._lateness.append(max(late, 0.0))
            timeout = self.config.media_timeout_s
            calls = [c for c in self.calls.values() if c.state != "ended"]
            # every call's packet first, then the input: handing audio to a call's thread
            # wakes it, and a woken thread would hold the GIL between two calls' sends
            for call in calls:
                try:
                    if media is None:
                        call._send_tick(tick)
                    elif call._media_key is None and call.transport is not None:
                        self._hand_over(call, media)
                except Exception:
                    log.exception("call %s: media tick failed", call.call_id)
            for call in calls:
                if call.state == "ended":
                    continue
                try:
                    call._deliver(now)
                except Exception:
                    log.exception("call %s: media tick failed", call.call_id)
                if timeout and call.state == "confirmed" and now - call.last_rtp > timeout:
                    log.warning("call %s: no RTP for %.0f s, hanging up", call.call_id, timeout)
                    call._hangup_local(f"no RTP for {timeout:.0f} s", tell_ivr=True)


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
