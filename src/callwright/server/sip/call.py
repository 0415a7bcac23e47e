"""One SIP call: its dialog, its RTP socket, and the line the IVR talks through.

`SipCall` is what the server hands to the IVR: it satisfies the live-channel line protocol
(`rate`, `start`, `play`, `stop_playback`, `playing`, `close`) structurally, plus
`transfer(uri)` for a blind transfer with REFER. The IVR runs on its own thread; the call's
network side runs on the server's event loop. They meet in three places, each under
`_lock` or handed over with `call_soon_threadsafe`: the playout buffer (`play` fills it,
the server's 20 ms media tick drains it), the input callbacks (called from the loop), and
the hang-up.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from callwright.flows.model import TransferResult
from callwright.ivr.events import Dtmf, Hangup, Transfer, TransferOutcome
from callwright.server.sip import g711
from callwright.server.sip.message import SipMessage, user_of
from callwright.server.sip.rtp import (
    HEADER as RTP_HEADER,
)
from callwright.server.sip.rtp import (
    JitterBuffer,
    RtpError,
    TelephoneEvents,
    is_rtcp,
    parse_rtp,
)
from callwright.server.sip.sdp import Negotiated

if TYPE_CHECKING:
    from callwright.server.sip.uas import SipServer

log = logging.getLogger(__name__)

RATE = 8000
FRAME = 160  # samples in 20 ms
MAX_PLAYOUT_S = 600  # prompt audio queued at once (10 minutes); beyond it play() refuses the rest
REFER_TIMEOUT_S = 30.0  # how long a blind transfer waits for the far end to report the result
UNEXPECTED_LOG_EVERY = 500  # RTP from a wrong address: log the first, then every Nth
INPUT_BATCH_TICKS = 2
"""Caller audio reaches the IVR's thread in batches of this many 20 ms packets (40 ms).
Each hand-over wakes the call's thread, which then runs the in-band DTMF detector and the
endpointer over the batch; per packet, 100 calls meant 5,000 wake-ups a second fighting the
event loop for the GIL (bench/sip_load.py: RTP send jitter p99 295 ms at 100 calls). Keys
sent as RFC 4733 events do not wait for a batch; speech onset (barge-in) waits at most
one batch more (20 ms)."""
DRAIN_REPORT_SLACK_S = 5.0
"""With the RTP sender process: a prompt counts as played at most this long after its audio
should have been sent, even if the process never reported it sent (a lost report cannot hold
a call in `playing` for ever; stalls of the sender delay a prompt, never by seconds)."""
_SILENT_PCM = bytes(2 * FRAME)  # a lost packet: 20 ms of zero samples

State = Literal["early", "confirmed", "ended"]


@dataclass(frozen=True)
class Dialog:
    """What RFC 3261 section 12 says a UAS keeps to send requests in its dialog."""

    call_id: str
    local_tag: str
    remote_tag: str | None
    local_uri: str  # the To of the INVITE (us)
    remote_uri: str  # the From of the INVITE (the caller)
    remote_target: str  # the caller's Contact URI: where our BYE and REFER go
    signal_addr: tuple[str, int]  # where the INVITE came from (fallback destination)


class _RtpSocket(asyncio.DatagramProtocol):
    def __init__(self, call: SipCall) -> None:
        self.call = call

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        self.call._on_datagram(data, addr)

    def error_received(self, exc: Exception) -> None:  # ICMP port unreachable and the like
        log.debug("call %s: RTP socket: %s", self.call.call_id, exc)


class SipCall:
    """A call answered by the SIP server: dialog state, RTP in and out, the IVR's line."""

    rate = RATE

    def __init__(self, server: SipServer, dialog: Dialog, media: Negotiated, invite: SipMessage) -> None:
        self.server = server
        self.dialog = dialog
        self.media = media
        self.invite = invite
        self.call_id = dialog.call_id
        self.state: State = "early"
        self.remote_media = (media.remote_host, media.remote_port)
        self.transport: asyncio.DatagramTransport | None = None
        self.local_port = 0
        self.local_cseq = 1
        self.ended = threading.Event()
        self.end_reason = ""
        self.transfer_result: TransferResult | None = None
        # counters a test or the health endpoint may read
        self.packets_in = 0
        self.packets_out = 0
        self.unexpected_source = 0
        self.bad_packets = 0
        self.keys: list[str] = []
        self.last_rtp = time.monotonic()
        self._lock = threading.Lock()
        self._out = bytearray()  # prompt audio to send, already G.711 (encoded by play())
        self._on_input: Callable[[np.ndarray], None] | None = None
        self._on_event: Callable[[Dtmf | Hangup | TransferOutcome], None] | None = None
        self._pending_events: list[Dtmf | Hangup | TransferOutcome] = []
        self._jitter = JitterBuffer()
        self._events = TelephoneEvents()
        self._ssrc = int.from_bytes(os.urandom(4), "big")
        self._seq = int.from_bytes(os.urandom(2), "big")
        self._ts0 = int.from_bytes(os.urandom(4), "big")
        self._tick0: int | None = None
        self._in: list[bytes] = []  # caller audio decoded (int16 LE) but not yet handed to the IVR
        self._silence = bytes([g711.SILENCE[media.codec]]) * FRAME
        self._can_send = self.remote_media[1] != 0 and self.remote_media[0] not in ("0.0.0.0", "::")
        self._refer: asyncio.Future | None = None  # a REFER under way (the BYE waits for it)
        # REFERs asked for by the IVR's thread whose task has not started on the loop yet: a
        # hang-up queued right behind one must still wait for it (see _close_on_loop)
        self._refers_starting = 0
        self.on_transfer: Callable[[str, TransferResult], None] | None = None  # (target, result)
        # with the server's RTP sender process (media.py): the call's key there, once handed
        # over; which play() was queued last, and whether the worker still has audio of it
        self._media_key: int | None = None
        self._play_gen = 0
        self._remote_playing = False
        self._remote_until = 0.0  # monotonic time the process should be done with the audio

    # --- identity ---------------------------------------------------------------------

    @property
    def dialled(self) -> str:
        """The number dialled: the user part of the Request-URI (what routing keys on)."""
        return user_of(self.invite.uri or "")

    @property
    def caller(self) -> str:
        """The caller's URI (From), for the log (not a secret, but not a flow variable either)."""
        return self.dialog.remote_uri

    # --- the line protocol (called from the IVR's thread) --------------------------------

    def start(
        self,
        on_input: Callable[[np.ndarray], None],
        on_event: Callable[[Dtmf | Hangup | TransferOutcome], None],
    ) -> None:
        with self._lock:
            self._on_input = on_input
            self._on_event = on_event
            pending, self._pending_events = self._pending_events, []
        for ev in pending:
            on_event(ev)

    def play(self, samples: np.ndarray) -> None:
        samples = np.asarray(samples, dtype=np.int16).ravel()
        if self.ended.is_set():
            return  # the line is gone: nothing to play, and `playing` stays False
        # encoded here, on the IVR's thread and outside the lock the media tick takes
        coded = g711.encode(samples, self.media.codec)
        with self._lock:
            key = self._media_key
            if key is not None:  # the sender process has the line: it gets the audio
                self._play_gen += 1
                self._remote_playing = True
                self._remote_until = max(time.monotonic(), self._remote_until) + len(coded) / RATE
                gen = self._play_gen
            else:
                room = MAX_PLAYOUT_S * RATE - len(self._out)
                if len(coded) > room:
                    log.warning(
                        "call %s: playout buffer full, %d samples dropped", self.call_id, len(coded) - room
                    )
                    coded = coded[: max(room, 0)]
                self._out += coded
        if key is not None:
            self.server.call_soon(lambda: self.server.media_play(key, gen, coded))

    def stop_playback(self) -> None:
        with self._lock:
            self._out.clear()
            key = self._media_key
            if key is not None:
                self._play_gen += 1  # a "sent in full" report of what was cut off means nothing now
                self._remote_playing = False
                self._remote_until = 0.0
        if key is not None:
            self.server.call_soon(lambda: self.server.media_clear(key))

    @property
    def playing(self) -> bool:
        with self._lock:
            if self._out:
                return True
            # the process says when it has sent the last packet; should that report never
            # come, the audio's own length (and a generous slack) ends the prompt anyway
            return self._remote_playing and time.monotonic() < self._remote_until + DRAIN_REPORT_SLACK_S

    def _media_drained(self, gen: int) -> None:
        """The sender process has sent the last packet of play() number `gen` (on the loop)."""
        with self._lock:
            if gen == self._play_gen:
                self._remote_playing = False

    def close(self) -> None:
        """Hang up (BYE) if the call is still up; idempotent, from any thread. While a blind
        transfer is under way the BYE waits for its result (RFC 5589: the transferee
        usually leaves first), at most REFER_TIMEOUT_S."""
        if self.ended.is_set():
            return
        self.server.call_soon(self._close_on_loop)

    def _close_on_loop(self) -> None:
        with self._lock:
            starting = self._refers_starting
        if starting:  # the IVR asked for a REFER just before hanging up: let its task start first
            asyncio.get_running_loop().call_soon(self._close_on_loop)
            return
        refer = self._refer
        if refer is not None and not refer.done():
            refer.add_done_callback(lambda _f: self._hangup_local())
        else:
            self._hangup_local()

    def refer(self, target: str, timeout_s: float = REFER_TIMEOUT_S) -> TransferResult:
        """Blind transfer with REFER (RFC 3515): `transferred` once the far end's NOTIFY
        reports 200 for the new call, `failed` on any other final answer or no answer in
        `timeout_s`. Blocks the calling (IVR) thread; never call it from the event loop."""
        if self.ended.is_set():
            return "failed"
        fut = self.server.run(self._refer_on_loop(target, timeout_s))
        try:
            result: TransferResult = fut.result(timeout_s + 5)
        except (FutureTimeout, Exception) as err:  # noqa: BLE001 - any failure is a failed transfer
            log.warning("call %s: transfer to %s failed: %s", self.call_id, target, err)
            result = "failed"
        return result

    def transfer(self, action: Transfer) -> None:
        """`line.TransferringLine`: the flow transferred the call. To a SIP URI
        (`type: transfer` with `to: sip:...`): a REFER is sent and this returns at once; the
        result lands in `transfer_result`, the log and the IVR (a `TransferOutcome` event,
        which a transfer state with result edges follows), and a hang-up by the IVR waits
        for it. To a queue: nothing to do on the SIP side (the call log has the queue), so
        `transferred` at once. To anything else (a bare number): `failed`, since a REFER
        needs a SIP URI."""
        target = action.destination or ""
        if action.queue is not None or not target:
            self._emit(TransferOutcome("transferred"))
        elif self.ended.is_set():
            self._emit(TransferOutcome("failed", "the call had already ended"))
        elif not target.lower().startswith(("sip:", "sips:")):
            self._emit(TransferOutcome("failed", "a SIP call is transferred to a sip: or sips: URI only"))
        else:
            with self._lock:
                self._refers_starting += 1
            self.server.run(self._refer_on_loop(target, REFER_TIMEOUT_S, report=True, counted=True))

    async def _refer_on_loop(
        self, target: str, timeout_s: float, *, report: bool = False, counted: bool = False
    ) -> TransferResult:
        task = asyncio.ensure_future(self.server.refer(self, target, timeout_s))
        self._refer = task
        if counted:
            with self._lock:
                self._refers_starting -= 1
        try:
            result: TransferResult = await task
        except Exception as err:  # noqa: BLE001 - any failure is a failed transfer
            log.warning("call %s: transfer to %s failed: %s", self.call_id, target, err)
            result = "failed"
        self.transfer_result = result
        log.info("call %s: blind transfer to %s: %s", self.call_id, target, result)
        if report:
            why = None if result == "transferred" else "the far end refused the REFER or the new call failed"
            self._emit(TransferOutcome(result, why))
        if self.on_transfer is not None:
            try:
                self.on_transfer(target, result)
            except Exception:
                log.exception("call %s: transfer callback failed", self.call_id)
        return result

    # --- the network side (event loop) ------------------------------------------------

    def _emit(self, ev: Dtmf | Hangup | TransferOutcome) -> None:
        with self._lock:
            cb = self._on_event
            if cb is None:
                self._pending_events.append(ev)
                return
        try:
            cb(ev)
        except Exception:  # the IVR's callback must not take the server down
            log.exception("call %s: event callback failed", self.call_id)

    def _on_datagram(self, data: bytes, addr: tuple) -> None:
        if self.state == "ended":
            return
        if (addr[0], addr[1]) != self.remote_media:
            self.unexpected_source += 1
            if self.unexpected_source % UNEXPECTED_LOG_EVERY == 1:
                log.warning(
                    "call %s: RTP from %s:%s ignored (the SDP said %s:%s; %d so far)",
                    self.call_id,
                    addr[0],
                    addr[1],
                    *self.remote_media,
                    self.unexpected_source,
                )
            return
        if is_rtcp(data):
            return
        try:
            pkt = parse_rtp(data)
        except RtpError as err:
            self.bad_packets += 1
            if self.bad_packets % UNEXPECTED_LOG_EVERY == 1:
                log.warning("call %s: %s (dropped)", self.call_id, err)
            return
        now = time.monotonic()
        self.last_rtp = now
        self.packets_in += 1
        if self.media.event_pt is not None and pkt.payload_type == self.media.event_pt:
            self._jitter.push(pkt.seq, None, now)  # keeps the sequence whole
            for key in self._events.receive(pkt.timestamp, pkt.payload):
                self.keys.append(key)
                self._emit(Dtmf(key))
        elif pkt.payload_type == self.media.payload_type:
            self._jitter.push(pkt.seq, pkt.payload, now)
        else:
            self.bad_packets += 1

    def _tick(self, tick: int, now: float) -> None:
        """One 20 ms tick: send this call's packet, then pass on what the jitter buffer has."""
        self._send_tick(tick)
        self._deliver(now)

    def _send_tick(self, tick: int) -> None:
        """Send one packet: the next 20 ms of prompt, or silence. This is the timing-critical
        half of a tick (the server sends every call's packet before delivering any input, so
        no call thread woken by its audio runs between two calls' sends); kept to a slice,
        a table look-up and one struct pack (silence needs no encoding at all)."""
        if self.state == "ended" or self.transport is None:
            return
        with self._lock:
            if self._out:
                payload = bytes(self._out[:FRAME])
                del self._out[:FRAME]
            else:
                payload = self._silence
        if len(payload) < FRAME:
            payload += self._silence[len(payload) :]
        if self._tick0 is None:
            self._tick0 = tick
        marker = self.packets_out == 0
        header = RTP_HEADER.pack(
            0x80,
            (0x80 if marker else 0) | (self.media.payload_type & 0x7F),
            self._seq,
            (self._ts0 + FRAME * (tick - self._tick0)) & 0xFFFFFFFF,  # skipped ticks advance time too
            self._ssrc,
        )
        self._seq = (self._seq + 1) & 0xFFFF
        if self._can_send:
            self.transport.sendto(header + payload, self.remote_media)
            self.packets_out += 1

    def _deliver(self, now: float) -> None:
        """Pass the caller's audio on to the IVR, INPUT_BATCH_TICKS packets at a time (one
        wake-up of the call's thread per batch, not per packet: see INPUT_BATCH_TICKS)."""
        if self.state == "ended":
            return
        for payload in self._jitter.pop(now):
            if payload is None:
                continue
            self._in.append(g711.decode_pcm(payload, self.media.codec) if payload else _SILENT_PCM)
        if len(self._in) >= INPUT_BATCH_TICKS:
            self._flush_input()

    def _flush_input(self) -> None:
        if not self._in:
            return
        samples = np.frombuffer(b"".join(self._in), dtype="<i2").astype(np.int16)
        self._in = []
        cb = self._on_input
        if cb is not None:
            try:
                cb(samples)
            except Exception:
                log.exception("call %s: input callback failed", self.call_id)

    def _hangup_local(self, reason: str = "hung up by the IVR", *, tell_ivr: bool = False) -> None:
        """Our side ends the call: BYE if the dialog is confirmed, then the slot is freed.
        `tell_ivr` also gives the IVR a Hangup (when the server, not the IVR, ends it)."""
        if self.state == "ended":
            return
        if self.state == "confirmed":
            self.server.send_in_dialog(self, "BYE")
        self._finish(reason)
        if tell_ivr:
            self._emit(Hangup())

    def _remote_hangup(self, reason: str) -> None:
        if self.state == "ended":
            return
        self._finish(reason)
        self._emit(Hangup())

    def _finish(self, reason: str) -> None:
        """Ends the call once: flushes input, closes the socket, frees the slot."""
        self.state = "ended"
        self.end_reason = reason
        with self._lock:
            self._out = bytearray()  # a prompt cut off by the hang-up is not "playing"
            self._remote_playing = False
            key, self._media_key = self._media_key, None
        if key is not None:
            self.server.media_close(key)
        self._flush_input()
        cb = self._on_input
        for payload in self._jitter.flush():
            if payload and cb is not None:
                try:
                    cb(g711.decode(payload, self.media.codec))
                except Exception:
                    log.exception("call %s: input callback failed", self.call_id)
        if self.transport is not None:
            self.transport.close()
        self.server.forget(self)
        self.ended.set()
        log.info("call %s ended: %s", self.call_id, reason)
