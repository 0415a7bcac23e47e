"""A scripted SIP peer for the UAC and dialer tests: what it does depends on the number dialled.

Numbers (the user part of the Request-URI), by their last digits or a name:
- `answer...`/any number not below: 100, 180, 200 with an SDP answer; sends RTP (silence or
  a given signal) every 20 ms until BYE, and ACK/BYE are recorded;
- ending in `486`: 100 then 486 Busy Here; `480`: 480; `404`: 404; `401`: 401;
- ending in `183`: 100, 183 with SDP (early media: an announcement), then 480;
- ending in `777` (rings forever): 100, 180, and a 487 when CANCELled;
- ending in `000` (silent): never answers anything;
- ending in `555` (no media): 200 with SDP, never sends RTP;
- ending in `302`: 302 Moved Temporarily to the same number without the suffix at `redirect_to`;
- with `redirect_all`, every other number: 302 to the same number at `redirect_to` (a redirect
  server in front of a real phone: the dialer tests send the answered calls to baresip).

Everything runs on the test's event loop on 127.0.0.1 with a free port; every request the peer
got is kept in `requests` so tests can check ACK, CANCEL and BYE.
"""

from __future__ import annotations

import asyncio
import secrets

from callwright.server.sip.message import SipMessage, parse_message, response_to, user_of
from callwright.server.sip.rtp import RtpPacket
from callwright.server.sip.sdp import negotiate, parse_sdp


def _answer_sdp(port: int) -> bytes:
    return (
        "v=0\r\no=peer 1 1 IN IP4 127.0.0.1\r\ns=peer\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        f"m=audio {port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
    ).encode()


class ScriptedPeer(asyncio.DatagramProtocol):
    def __init__(self, redirect_to: tuple[str, int] | None = None, *, redirect_all: bool = False) -> None:
        self.redirect_all = redirect_all
        self.transport: asyncio.DatagramTransport | None = None
        self.requests: list[SipMessage] = []
        self.redirect_to = redirect_to
        self.rtp_in: dict[str, int] = {}
        self._media: dict[str, asyncio.Task] = {}
        self._pending: dict[str, tuple[SipMessage, tuple, str]] = {}
        self.port = 0

    async def start(self) -> ScriptedPeer:
        loop = asyncio.get_running_loop()
        await loop.create_datagram_endpoint(lambda: self, local_addr=("127.0.0.1", 0))
        assert self.transport is not None
        self.port = self.transport.get_extra_info("sockname")[1]
        return self

    def connection_made(self, transport) -> None:
        self.transport = transport

    def close(self) -> None:
        for t in self._media.values():
            t.cancel()
        if self.transport is not None:
            self.transport.close()

    def methods(self, method: str) -> list[SipMessage]:
        return [r for r in self.requests if r.method == method]

    def _reply(self, req: SipMessage, status: int, addr, tag: str = "", body: bytes = b"", extra=()) -> None:
        resp = response_to(req, status, to_tag=tag or None)
        resp.headers += list(extra)
        if body:
            resp.headers.append(("Content-Type", "application/sdp"))
            resp.headers.append(("Contact", f"<sip:peer@127.0.0.1:{self.port}>"))
        resp.body = body
        assert self.transport is not None
        self.transport.sendto(resp.to_bytes(), addr)

    def datagram_received(self, data: bytes, addr) -> None:
        msg = parse_message(data)
        if not msg.is_request:
            return
        self.requests.append(msg)
        call_id = msg.get("Call-ID") or ""
        number = user_of(msg.uri or "")
        tag = secrets.token_hex(4)
        if msg.method == "INVITE":
            if number.endswith("000"):
                return
            self._reply(msg, 100, addr)
            if number.endswith("183"):
                self._reply(msg, 183, addr, tag, body=_answer_sdp(9))
                self._reply(msg, 480, addr, tag)
            elif number.endswith(("486", "480", "404", "401")):
                self._reply(msg, int(number[-3:]), addr, tag)
            elif number.endswith("302") and self.redirect_to is not None:
                host, port = self.redirect_to
                target = f"sip:{number[:-3] or 'x'}@{host}:{port}"
                self._reply(msg, 302, addr, tag, extra=[("Contact", f"<{target}>")])
            elif self.redirect_all and self.redirect_to is not None and not number.endswith(("777", "555")):
                host, port = self.redirect_to
                self._reply(msg, 302, addr, tag, extra=[("Contact", f"<sip:{number}@{host}:{port}>")])
            elif number.endswith("777"):
                self._reply(msg, 180, addr, tag)
                self._pending[call_id] = (msg, addr, tag)
            else:
                self._reply(msg, 180, addr, tag)
                asyncio.get_running_loop().create_task(self._answer(msg, addr, tag, number))
        elif msg.method == "CANCEL":
            self._reply(msg, 200, addr)
            pending = self._pending.pop(call_id, None)
            if pending is not None:
                self._reply(pending[0], 487, pending[1], pending[2])
        elif msg.method == "REFER":  # blind transfer: accepted, and the new call "succeeds"
            self._reply(msg, 202, addr)
            self._notify_transferred(msg, addr)
        elif msg.method == "BYE":
            self._reply(msg, 200, addr)
            task = self._media.pop(call_id, None)
            if task is not None:
                task.cancel()

    def _notify_transferred(self, refer: SipMessage, addr) -> None:
        contact = refer.get("Contact") or ""
        target = contact.split("<", 1)[-1].split(">", 1)[0] if "<" in contact else f"sip:{addr[0]}:{addr[1]}"
        notify = SipMessage(method="NOTIFY", uri=target)
        notify.headers = [
            ("Via", f"SIP/2.0/UDP 127.0.0.1:{self.port};branch=z9hG4bK{secrets.token_hex(6)}"),
            ("From", refer.get("To") or ""),
            ("To", refer.get("From") or ""),
            ("Call-ID", refer.get("Call-ID") or ""),
            ("CSeq", "1 NOTIFY"),
            ("Event", "refer"),
            ("Subscription-State", "terminated;reason=noresource"),
            ("Content-Type", "message/sipfrag"),
        ]
        notify.body = b"SIP/2.0 200 OK\r\n"
        assert self.transport is not None
        self.transport.sendto(notify.to_bytes(), addr)

    async def _answer(self, invite: SipMessage, addr, tag: str, number: str) -> None:
        loop = asyncio.get_running_loop()
        call_id = invite.get("Call-ID") or ""
        counter = self.rtp_in

        class Rtp(asyncio.DatagramProtocol):
            def datagram_received(self, data, a) -> None:
                counter[call_id] = counter.get(call_id, 0) + 1

        transport, _ = await loop.create_datagram_endpoint(Rtp, local_addr=("127.0.0.1", 0))
        port = transport.get_extra_info("sockname")[1]
        await asyncio.sleep(0.05)
        self._reply(invite, 200, addr, tag, body=_answer_sdp(port))
        if number.endswith("555"):
            return
        neg = negotiate(parse_sdp(invite.body))

        async def media() -> None:
            seq, ts = 1, 0
            try:
                while True:
                    pkt = RtpPacket(0, seq, ts, 1234, b"\xff" * 160)
                    transport.sendto(pkt.to_bytes(), (neg.remote_host, neg.remote_port))
                    seq, ts = seq + 1, ts + 160
                    await asyncio.sleep(0.02)
            finally:
                transport.close()

        self._media[call_id] = loop.create_task(media())
