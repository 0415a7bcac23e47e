"""Placing calls: the SIP user agent client side (RFC 3261 sections 8.1, 13.2, 17.1.1).

`SipUac.dial(number)` sends an INVITE with a G.711 SDP offer (PCMU, PCMA, telephone-event)
to one SIP peer (a PBX, a trunk's gateway, a softphone) through a running `SipServer`'s
socket, and ends in one `Placed` whatever the peer does:

| the peer | `Placed.result` | how it ends |
|---|---|---|
| 200 OK | `answered` | ACK; `Placed.call` is a confirmed `SipCall` (a `LineDevice`) |
| 486 Busy Here, 600 Busy Everywhere, 603 Decline | `busy` | ACK |
| 480 Temporarily Unavailable, 408, 487 | `no_answer` | ACK |
| rings (180/183) past the ring timeout | `no_answer` | CANCEL, then the 487 is ACKed |
| 404 and every other 4xx-6xx (401/407 too: no digest auth) | `failed` | ACK |
| 3xx with a Contact | followed (at most `MAX_REDIRECTS`) | ACK, a new INVITE there |
| no response at all | `failed` ("no response") | given up after the ring timeout (or Timer B) |
| a 200 without usable G.711 SDP | `failed` | ACK, then BYE |
| `cancel()` (Ctrl-C) | `no_answer` with `stopped=True` | CANCEL (or given up before any response) |

Every wait is bounded by a named constant or the caller's ring timeout, so a peer that never
answers, or answers and sends nothing, ends in a result (the second through the server's
media timeout, `SipConfig.media_timeout_s`: the call is hung up and the IVR told).

The INVITE is retransmitted (Timer A: T1 doubling) until the first response; 100/180/183 are
provisional (`rang` from the first 180/183; a 183 with SDP is early media, noted in
`early_media`: its audio is not passed on, the call's audio starts at the answer). A 200 OK
retransmitted after our ACK is ACKed again for 64*T1.

Not done: digest authentication (401/407 end the attempt as `failed`, the status says why),
PRACK/100rel, forking (the first 2xx wins; a later one from another fork is ACKed and sent a
BYE), SRV/DNS (the peer is a host:port).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import re
import secrets
import socket
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from callwright.server.sip.call import Dialog, SipCall
from callwright.server.sip.message import (
    SipMessage,
    SipParseError,
    host_port_of,
    tag_of,
    uri_of,
)
from callwright.server.sip.sdp import Negotiated, SdpError, negotiate, parse_sdp
from callwright.server.sip.uas import _SIP_URI, ALLOW, T1, T2, TIMEOUT_64T1, USER_AGENT, SipServer, _host

log = logging.getLogger(__name__)

RING_TIMEOUT_S = 30.0
"""Default wait for an answer, from the INVITE: past it a ringing call is CANCELled
(`no_answer`) and a silent peer given up (`failed`)."""
MAX_RING_TIMEOUT_S = 300.0
"""The longest ring timeout a caller may ask for."""
CANCEL_WAIT_S = 5.0
"""After our CANCEL, how long we wait for the INVITE's final response (487, or a 200 that
crossed it) before we give the attempt up anyway."""
MAX_REDIRECTS = 3
"""3xx responses followed for one attempt; one more is `failed` ("too many redirects")."""
EVENT_PT = 101
"""The dynamic payload type we offer for RFC 4733 telephone-events."""

Result = Literal["answered", "busy", "no_answer", "failed"]
_DIALABLE = re.compile(r"\+?[0-9*#]{1,32}")
"""What we put in a Request-URI's user part: a phone number (E.164 or a short extension)."""


def classify(status: int) -> Result:
    """The result of an INVITE's final response (a pure function; table-tested)."""
    if 200 <= status < 300:
        return "answered"
    if status in (486, 600, 603):
        return "busy"
    if status in (408, 480, 487):
        return "no_answer"
    return "failed"


@dataclass(frozen=True)
class Placed:
    """How one attempt to place a call ended."""

    result: Result
    reason: str  # for the attempts table and the log: "486 Busy Here", "rang 30 s, cancelled"...
    status: int | None = None  # the final SIP status, when there was one
    call: SipCall | None = None  # the confirmed call, when answered
    rang: bool = False  # a 180/183 came (the phone rang)
    early_media: bool = False  # a 183 with SDP came
    setup_s: float = 0.0  # from the first INVITE to the final response (or giving up)
    stopped: bool = False  # ended by cancel() (Ctrl-C), not by the peer


def offer_sdp(host: str, port: int, session_id: int) -> bytes:
    """Our offer: one audio stream, PCMU then PCMA, and telephone-event for keys."""
    ip = "IP6" if ":" in host else "IP4"
    lines = [
        "v=0",
        f"o=callwright {session_id} {session_id} IN {ip} {host}",
        "s=callwright",
        f"c=IN {ip} {host}",
        "t=0 0",
        f"m=audio {port} RTP/AVP 0 8 {EVENT_PT}",
        "a=rtpmap:0 PCMU/8000",
        "a=rtpmap:8 PCMA/8000",
        f"a=rtpmap:{EVENT_PT} telephone-event/8000",
        f"a=fmtp:{EVENT_PT} 0-15",
        "a=ptime:20",
        "a=sendrecv",
    ]
    return ("\r\n".join(lines) + "\r\n").encode()


class _MediaSocket(asyncio.DatagramProtocol):
    """The RTP socket of an attempt: opened before the offer (its port goes in the SDP);
    datagrams reach the call once there is one (early media before the answer is counted
    and dropped)."""

    def __init__(self) -> None:
        self.call: SipCall | None = None
        self.early_packets = 0

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        if self.call is not None:
            self.call._on_datagram(data, addr)
        else:
            self.early_packets += 1

    def error_received(self, exc: Exception) -> None:
        log.debug("RTP socket: %s", exc)


class Attempt:
    """One call being placed: `future` gets its `Placed`; `cancel()` from any thread."""

    def __init__(self, uac: SipUac, number: str) -> None:
        self.number = number
        self.future: concurrent.futures.Future[Placed] = concurrent.futures.Future()
        self._uac = uac
        self._cancel: asyncio.Event | None = None
        self._cancel_requested = False

    def cancel(self) -> None:
        """Stop ringing: CANCEL if the peer answered provisionally, else give up (no-op once
        the call is answered: hang that up with `Placed.call.close()`)."""
        self._cancel_requested = True
        ev = self._cancel
        if ev is not None:
            self._uac.server.call_soon(ev.set)


@dataclass
class _Tx:
    """The state of one INVITE client transaction."""

    call_id: str
    uri: str
    branch: str
    from_tag: str
    from_uri: str
    to_uri: str
    invite: SipMessage
    data: bytes
    dest: tuple[str, int]
    responses: asyncio.Queue = field(default_factory=asyncio.Queue)
    provisional: bool = False
    rang: bool = False
    early_media: bool = False
    connected: SipCall | None = None


class SipUac:
    """Places calls to one SIP peer through `server`'s socket (the server must be started).

    The server's own INVITE handling still runs (a dialer normally refuses inbound calls with
    its `admit`); answered calls live in `server.calls` like answered inbound ones, so BYE,
    INFO and the 20 ms media clock treat them alike."""

    def __init__(self, server: SipServer, peer: tuple[str, int], *, caller_id: str = "callwright") -> None:
        if not _DIALABLE.fullmatch(caller_id) and not re.fullmatch(r"[A-Za-z0-9._-]{1,32}", caller_id):
            raise ValueError(f"caller id {caller_id!r} is not a number or a plain SIP user name")
        self.server = server
        self.peer = peer
        self.caller_id = caller_id
        self.placed = 0

    # --- from any thread ---------------------------------------------------------------

    def dial(self, number: str, *, ring_timeout_s: float = RING_TIMEOUT_S) -> Attempt:
        """Start placing a call to `number` (returns at once; see `Attempt`)."""
        attempt = Attempt(self, number)
        assert self.server.loop is not None, "the SIP server is not started"

        async def run() -> None:
            attempt._cancel = asyncio.Event()
            if attempt._cancel_requested:
                attempt._cancel.set()
            try:
                placed = await self.place(number, ring_timeout_s=ring_timeout_s, cancel=attempt._cancel)
            except Exception as err:  # noqa: BLE001 - an attempt always ends in a result
                log.exception("placing a call to %s failed", number)
                placed = Placed("failed", f"internal error: {err}")
            attempt.future.set_result(placed)

        asyncio.run_coroutine_threadsafe(run(), self.server.loop)
        return attempt

    # --- on the server's event loop ----------------------------------------------------

    async def place(
        self, number: str, *, ring_timeout_s: float = RING_TIMEOUT_S, cancel: asyncio.Event | None = None
    ) -> Placed:
        """Place one call; every path ends in a `Placed` within the ring timeout plus
        `CANCEL_WAIT_S` (times the redirects followed)."""
        if not _DIALABLE.fullmatch(number):
            return Placed("failed", f"{number[:40]!r} is not a dialable number")
        if not 0 < ring_timeout_s <= MAX_RING_TIMEOUT_S:
            raise ValueError(f"ring timeout {ring_timeout_s} s: give 0 to {MAX_RING_TIMEOUT_S:g} s")
        cancel = cancel or asyncio.Event()
        host, port = self.peer
        uri = f"sip:{number}@{_host(host)}:{port}"
        t0 = time.monotonic()
        self.placed += 1
        for _ in range(MAX_REDIRECTS + 1):
            placed, redirect = await self._invite(number, uri, t0 + ring_timeout_s, cancel)
            if redirect is None:
                return placed
            log.info("call to %s redirected to %s", number, redirect)
            uri = redirect
        return Placed("failed", f"more than {MAX_REDIRECTS} redirects", setup_s=time.monotonic() - t0)

    async def _invite(
        self, number: str, uri: str, deadline: float, cancel: asyncio.Event
    ) -> tuple[Placed, str | None]:
        server = self.server
        assert server.loop is not None
        t0 = time.monotonic()
        try:
            dest = host_port_of(uri)
        except SipParseError:
            return Placed("failed", f"no host:port in {uri[:80]!r}"), None
        local = server.config.host or "0.0.0.0"
        if server.config.advertise:
            addr = server.config.advertise
        elif local in ("0.0.0.0", "::"):
            addr = _route_address(dest[0])  # listening everywhere: the address that reaches the peer
        else:
            addr = local
        media = _MediaSocket()
        try:
            transport, _ = await server.loop.create_datagram_endpoint(lambda: media, local_addr=(local, 0))
        except OSError as err:
            return Placed("failed", f"no RTP port: {err}"), None
        rtp_port = transport.get_extra_info("sockname")[1]
        tx = self._new_tx(uri, number, addr, rtp_port, dest)
        server.response_hooks[tx.call_id] = lambda resp: self._on_response(tx, resp)
        server._send(tx.data, dest)
        retransmit = server.loop.create_task(self._timer_a(tx))
        placed: Placed | None = None
        redirect: str | None = None
        try:
            placed, redirect = await self._await_final(tx, transport, media, deadline, cancel, t0)
        finally:
            retransmit.cancel()
            if tx.connected is None:
                transport.close()
            # keep answering retransmitted 200s with an ACK for a while, then forget the Call-ID
            server.loop.call_later(TIMEOUT_64T1, server.response_hooks.pop, tx.call_id, None)
        return placed, redirect

    def _new_tx(self, uri: str, number: str, addr: str, rtp_port: int, dest: tuple[str, int]) -> _Tx:
        server = self.server
        call_id = f"{secrets.token_hex(10)}@{_host(addr)}"
        branch = "z9hG4bK" + secrets.token_hex(8)
        from_tag = secrets.token_hex(6)
        from_uri = f"sip:{self.caller_id}@{_host(addr)}"
        msg = SipMessage(method="INVITE", uri=uri)
        msg.headers = [
            ("Via", f"SIP/2.0/UDP {_host(addr)}:{server.port};branch={branch};rport"),
            ("Max-Forwards", "70"),
            ("From", f"<{from_uri}>;tag={from_tag}"),
            ("To", f"<{uri}>"),
            ("Call-ID", call_id),
            ("CSeq", "1 INVITE"),
            ("Contact", f"<sip:{self.caller_id}@{_host(addr)}:{server.port}>"),
            ("Allow", ALLOW),
            ("User-Agent", USER_AGENT),
            ("Content-Type", "application/sdp"),
        ]
        msg.body = offer_sdp(addr, rtp_port, secrets.randbelow(1 << 31))
        return _Tx(call_id, uri, branch, from_tag, from_uri, uri, msg, msg.to_bytes(), dest)

    def _on_response(self, tx: _Tx, resp: SipMessage) -> bool:
        try:
            _, method = resp.cseq()
        except SipParseError:
            return True
        if method == "CANCEL":
            return True  # the 200 for our CANCEL: the INVITE's 487 is what counts
        if method != "INVITE":
            return False  # BYE answers go to the server's client futures
        status = resp.status or 0
        if tx.connected is not None:
            if 200 <= status < 300:  # a retransmitted 200 (our ACK was lost), or another fork's
                self._ack_2xx(tx, resp)
                if tag_of(resp.get("To")) != tx.connected.dialog.remote_tag:
                    self._bye_stray(tx, resp)
            return True
        tx.responses.put_nowait(resp)
        return True

    async def _timer_a(self, tx: _Tx) -> None:
        interval = T1
        while not tx.provisional:
            await asyncio.sleep(interval)
            if tx.provisional:
                return
            self.server._send(tx.data, tx.dest)
            interval = min(interval * 2, T2)

    async def _await_final(
        self,
        tx: _Tx,
        transport: asyncio.DatagramTransport,
        media: _MediaSocket,
        deadline: float,
        cancel: asyncio.Event,
        t0: float,
    ) -> tuple[Placed, str | None]:
        while True:
            resp = await _next(tx.responses, cancel, deadline)
            if resp is None:  # ring timeout or cancel()
                return await self._stop_ringing(tx, transport, media, cancel.is_set(), t0), None
            status = resp.status or 0
            if status < 200:
                tx.provisional = True
                if status in (180, 183):
                    tx.rang = True
                if status == 183 and resp.body:
                    tx.early_media = True
                continue
            return self._final(tx, resp, transport, media, t0)

    def _final(
        self,
        tx: _Tx,
        resp: SipMessage,
        transport: asyncio.DatagramTransport,
        media: _MediaSocket,
        t0: float,
    ) -> tuple[Placed, str | None]:
        status = resp.status or 0
        setup = time.monotonic() - t0
        text = f"{status} {resp.reason}".strip()
        common: dict[str, Any] = {
            "status": status,
            "rang": tx.rang,
            "early_media": tx.early_media,
            "setup_s": setup,
        }
        if 200 <= status < 300:
            return self._connect(tx, resp, transport, media, common), None
        self._ack_non_2xx(tx, resp)
        if 300 <= status < 400:
            contact = resp.get("Contact")
            target = uri_of(contact) if contact else ""
            if _SIP_URI.fullmatch(target) and target.lower().startswith("sip:"):
                return Placed("failed", text, **common), target
            return Placed("failed", f"{text} without a SIP Contact to follow", **common), None
        if status in (401, 407):
            text += " (digest authentication is not supported)"
        return Placed(classify(status), text, **common), None

    def _connect(
        self,
        tx: _Tx,
        resp: SipMessage,
        transport: asyncio.DatagramTransport,
        media: _MediaSocket,
        common: dict[str, Any],
    ) -> Placed:
        server = self.server
        contact = resp.get("Contact")
        dialog = Dialog(
            call_id=tx.call_id,
            local_tag=tx.from_tag,
            remote_tag=tag_of(resp.get("To")),
            local_uri=tx.from_uri,
            remote_uri=uri_of(resp.get("To") or tx.to_uri),
            remote_target=uri_of(contact) if contact else tx.uri,
            signal_addr=tx.dest,
        )
        try:
            neg = negotiate(parse_sdp(resp.body)) if resp.body else None
        except SdpError as err:
            neg, why = None, str(err)
        else:
            why = "no SDP in the 200 OK"
        call = SipCall(server, dialog, neg, tx.invite) if neg is not None else None
        if call is None:
            # RFC 3261 13.2.2.4: ACK the 2xx anyway, then end the dialog with a BYE
            stub = SipCall(server, dialog, _NO_MEDIA, tx.invite)
            stub.state = "confirmed"
            tx.connected = stub
            self._ack_2xx(tx, resp)
            server.send_in_dialog(stub, "BYE")
            stub.state = "ended"
            transport.close()
            return Placed("failed", f"answered without usable media: {why}"[:200], **common)
        call.transport = transport
        call.local_port = transport.get_extra_info("sockname")[1]
        call.state = "confirmed"
        call.last_rtp = time.monotonic()  # the media timeout counts from the answer
        media.call = call
        tx.connected = call
        server.calls[call.call_id] = call  # from here the server's media clock and BYE handling
        self._ack_2xx(tx, resp)
        return Placed("answered", f"{common['status']} {resp.reason}".strip(), call=call, **common)

    async def _stop_ringing(
        self,
        tx: _Tx,
        transport: asyncio.DatagramTransport,
        media: _MediaSocket,
        stopped: bool,
        t0: float,
    ) -> Placed:
        waited = time.monotonic() - t0
        common: dict[str, Any] = {"rang": tx.rang, "early_media": tx.early_media, "stopped": stopped}
        if not tx.provisional:  # RFC 3261 9.1: no CANCEL before a provisional response
            why = "stopped before any response" if stopped else f"no response in {waited:.0f} s"
            return Placed("no_answer" if stopped else "failed", why, setup_s=waited, **common)
        cancel = SipMessage(method="CANCEL", uri=tx.uri)
        cancel.headers = [
            (n, v) for n, v in tx.invite.headers if n in ("Via", "From", "To", "Call-ID", "Max-Forwards")
        ]
        cancel.headers.append(("CSeq", "1 CANCEL"))
        cancel.headers.append(("User-Agent", USER_AGENT))
        data = cancel.to_bytes()
        end = time.monotonic() + CANCEL_WAIT_S
        why = "stopped while ringing" if stopped else f"rang {waited:.0f} s, cancelled"
        never = asyncio.Event()
        resend = T1
        self.server._send(data, tx.dest)
        while time.monotonic() < end:
            resp = await _next(tx.responses, never, min(end, time.monotonic() + resend))
            if resp is None:
                self.server._send(data, tx.dest)
                resend = min(resend * 2, T2)
                continue
            status = resp.status or 0
            if status < 200:
                continue
            if 200 <= status < 300:  # the answer crossed our CANCEL: take it and hang up
                placed = self._final(tx, resp, transport, media, t0)[0]
                if placed.call is not None:
                    placed.call._hangup_local(why)
                return Placed("no_answer", why + " (answered as we cancelled)", status=status, **common)
            self._ack_non_2xx(tx, resp)
            return Placed("no_answer", why, status=status, setup_s=time.monotonic() - t0, **common)
        return Placed(
            "no_answer", why + " (no answer to the CANCEL)", setup_s=time.monotonic() - t0, **common
        )

    # --- ACK and stray dialogs -----------------------------------------------------------

    def _ack_non_2xx(self, tx: _Tx, resp: SipMessage) -> None:
        """RFC 3261 17.1.1.3: same branch and Request-URI as the INVITE, the response's To."""
        ack = SipMessage(method="ACK", uri=tx.uri)
        ack.headers = [
            (n, v) for n, v in tx.invite.headers if n in ("Via", "From", "Call-ID", "Max-Forwards")
        ]
        ack.headers += [("To", resp.get("To") or ""), ("CSeq", "1 ACK"), ("User-Agent", USER_AGENT)]
        self.server._send(ack.to_bytes(), tx.dest)

    def _ack_2xx(self, tx: _Tx, resp: SipMessage) -> None:
        """RFC 3261 13.2.2.4: a new transaction to the remote target (the 200's Contact)."""
        contact = resp.get("Contact")
        target = uri_of(contact) if contact else tx.uri
        try:
            dest = host_port_of(target)
        except SipParseError:
            dest = tx.dest
        via = f"SIP/2.0/UDP {(tx.invite.get('Via') or 'SIP/2.0/UDP x').split()[1].split(';')[0]}"
        ack = SipMessage(method="ACK", uri=target)
        ack.headers = [
            ("Via", f"{via};branch=z9hG4bK{secrets.token_hex(8)};rport"),
            ("Max-Forwards", "70"),
            ("From", tx.invite.get("From") or ""),
            ("To", resp.get("To") or ""),
            ("Call-ID", tx.call_id),
            ("CSeq", "1 ACK"),
            ("User-Agent", USER_AGENT),
        ]
        self.server._send(ack.to_bytes(), dest)

    def _bye_stray(self, tx: _Tx, resp: SipMessage) -> None:
        """A 2xx from a second fork: its dialog is not wanted (RFC 3261 13.2.2.4)."""
        assert tx.connected is not None
        contact = resp.get("Contact")
        dialog = Dialog(
            tx.call_id,
            tx.from_tag,
            tag_of(resp.get("To")),
            tx.from_uri,
            uri_of(resp.get("To") or tx.to_uri),
            uri_of(contact) if contact else tx.uri,
            tx.dest,
        )
        stray = SipCall(self.server, dialog, tx.connected.media, tx.invite)
        stray.state = "confirmed"
        self.server.send_in_dialog(stray, "BYE")
        stray.state = "ended"


def _route_address(host: str) -> str:
    """Our address on the route to `host` (a UDP socket "connected" there sends nothing)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as s:
            s.connect((host, 9))
            return str(s.getsockname()[0])
    except OSError:
        return "127.0.0.1" if family == socket.AF_INET else "::1"


async def _next(q: asyncio.Queue, cancel: asyncio.Event, until: float) -> SipMessage | None:
    """The next response, or None at `until` (monotonic) or when `cancel` is set."""
    if cancel.is_set():
        return None
    timeout = until - time.monotonic()
    if timeout <= 0:
        return None
    get = asyncio.ensure_future(q.get())
    stop = asyncio.ensure_future(cancel.wait())
    try:
        done, _ = await asyncio.wait({get, stop}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stop.cancel()
        if not get.done():
            get.cancel()
    if get in done:
        return get.result()
    return None


_NO_MEDIA = Negotiated("0.0.0.0", 0, "PCMU", 0, None, 0, ())
"""The media of a dialog answered without usable SDP (it is only ACKed and hung up)."""
