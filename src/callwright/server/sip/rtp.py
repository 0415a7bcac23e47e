"""RTP (RFC 3550) packets, a jitter buffer, and RFC 4733 telephone-event keys.

All three are pure data structures (no sockets, no clock of their own) so they are tested
packet by packet; `call.py` feeds them from the UDP socket.
"""

from __future__ import annotations

import struct
from collections import deque
from dataclasses import dataclass

RTP_VERSION = 2
HEADER = struct.Struct("!BBHII")
MAX_RTP_BYTES = 1_500  # larger datagrams are not G.711 at 20 ms (172 bytes) and are dropped
JITTER_DEPTH = 5  # packets held waiting for a missing one (100 ms at 20 ms packets)
JITTER_MAX_WAIT_S = 0.06  # the longest the oldest held packet waits for a gap to fill
MAX_GAP_FILL = 10  # lost packets filled with silence at most (200 ms); a longer gap is a restart
SEQ_MOD = 1 << 16
DTMF_EVENTS = "0123456789*#ABCD"  # RFC 4733 event codes 0-15


class RtpError(ValueError):
    """A datagram that is not an RTP packet we take."""


@dataclass(frozen=True)
class RtpPacket:
    payload_type: int
    seq: int
    timestamp: int
    ssrc: int
    payload: bytes
    marker: bool = False

    def to_bytes(self) -> bytes:
        return (
            HEADER.pack(
                RTP_VERSION << 6,
                (0x80 if self.marker else 0) | (self.payload_type & 0x7F),
                self.seq % SEQ_MOD,
                self.timestamp % (1 << 32),
                self.ssrc,
            )
            + self.payload
        )


def is_rtcp(data: bytes) -> bool:
    """RTCP multiplexed on the RTP port (RFC 5761: packet types 192-223 land on PT 64-95)."""
    return len(data) >= 2 and 192 <= data[1] <= 223


def parse_rtp(data: bytes) -> RtpPacket:
    if len(data) < HEADER.size or len(data) > MAX_RTP_BYTES:
        raise RtpError(f"datagram of {len(data)} bytes is not an RTP packet")
    b0, b1, seq, ts, ssrc = HEADER.unpack_from(data)
    if b0 >> 6 != RTP_VERSION:
        raise RtpError(f"RTP version {b0 >> 6}, not 2")
    offset = HEADER.size + 4 * (b0 & 0x0F)  # CSRC list
    if b0 & 0x10:  # header extension: 16-bit profile, 16-bit length in words
        if len(data) < offset + 4:
            raise RtpError("truncated RTP header extension")
        (words,) = struct.unpack_from("!H", data, offset + 2)
        offset += 4 + 4 * words
    end = len(data)
    if b0 & 0x20:  # padding: the last byte says how much
        end -= data[-1]
    if offset > end:
        raise RtpError("RTP header longer than the packet")
    return RtpPacket(b1 & 0x7F, seq, ts, ssrc, bytes(data[offset:end]), bool(b1 & 0x80))


def seq_delta(a: int, b: int) -> int:
    """b - a on the 16-bit sequence circle, in -32768..32767."""
    return (b - a + 32768) % SEQ_MOD - 32768


@dataclass
class _Held:
    payload: bytes | None  # None: a sequence number used by a telephone-event (no audio)
    arrived: float


class JitterBuffer:
    """Puts packets back in sequence order; drops late and duplicate ones; bounded depth.

    `push` a packet as it arrives, then `pop` what is ready: the next packet in order at
    once; past a gap, the packets after it once the gap has waited `max_wait_s` or the
    buffer holds `depth` packets (the missing ones count as lost, filled with silence up to
    `MAX_GAP_FILL` packets). A packet older than the one last played is late, one already
    held is a duplicate: both are dropped and counted."""

    def __init__(self, depth: int = JITTER_DEPTH, max_wait_s: float = JITTER_MAX_WAIT_S) -> None:
        self.depth = depth
        self.max_wait_s = max_wait_s
        self.next_seq: int | None = None
        self.held: dict[int, _Held] = {}
        self.late = 0
        self.duplicates = 0
        self.lost = 0

    def push(self, seq: int, payload: bytes | None, now: float) -> None:
        if self.next_seq is None:
            self.next_seq = seq
        d = seq_delta(self.next_seq, seq)
        if d < 0:
            if d < -1000:  # far behind: the sender restarted its sequence; follow it
                self.held.clear()
                self.next_seq = seq
            else:
                self.late += 1
                return
        elif d > 1000:  # far ahead: a restart the other way
            self.held.clear()
            self.next_seq = seq
        if seq in self.held:
            self.duplicates += 1
            return
        self.held[seq] = _Held(payload, now)

    def pop(self, now: float) -> list[bytes | None]:
        """Payloads ready to play, in order: None for a sequence number that carried no audio
        (a telephone-event), b'' for a lost packet (the caller plays silence for it)."""
        out: list[bytes | None] = []
        while self.held and self.next_seq is not None:
            if self.next_seq in self.held:
                out.append(self.held.pop(self.next_seq).payload)
                self.next_seq = (self.next_seq + 1) % SEQ_MOD
                continue
            oldest = min(h.arrived for h in self.held.values())
            if len(self.held) < self.depth and now - oldest < self.max_wait_s:
                break  # give the missing packet a little longer
            first = min(self.held, key=lambda s: seq_delta(self.next_seq or 0, s))
            gap = seq_delta(self.next_seq, first)
            self.lost += gap
            out.extend([b""] * min(gap, MAX_GAP_FILL))
            self.next_seq = first
        return out

    def flush(self) -> list[bytes | None]:
        """Everything still held, in order (the call is ending)."""
        return self.pop(float("inf"))


class TelephoneEvents:
    """RFC 4733 receiver: one key per press, however many packets the press is sent in.

    A press is identified by its RTP timestamp (fixed for the whole event, section 2.5.1);
    the key is reported on the first packet with the end bit, or, if every end packet was
    lost, when the next press starts. The last `REMEMBER` presses are remembered so the three
    retransmitted end packets give one key."""

    REMEMBER = 32

    def __init__(self) -> None:
        self._done: deque[int] = deque(maxlen=self.REMEMBER)
        self._open: tuple[int, str] | None = None  # (timestamp, key) of a press without its end yet

    def receive(self, timestamp: int, payload: bytes) -> list[str]:
        if len(payload) < 4:
            return []
        event, flags = payload[0], payload[1]
        if event >= len(DTMF_EVENTS) or timestamp in self._done:
            return []  # not a key (flash, tones...), or a press already reported
        key = DTMF_EVENTS[event]
        out: list[str] = []
        if self._open is not None and self._open[0] != timestamp:
            out.append(self._open[1])  # the previous press never ended: report it now
            self._done.append(self._open[0])
            self._open = None
        if flags & 0x80:  # end bit
            out.append(key)
            self._done.append(timestamp)
            self._open = None
        else:
            self._open = (timestamp, key)
        return out
