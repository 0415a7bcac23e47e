"""SIP load on loopback: many callers at once against `callwright serve --sip`, measured as
a caller hears it.

The load generator is written here (asyncio, no SIP library) and runs in this process; the
server runs as `callwright serve` in a process of its own. Each simulated caller:

- sends an INVITE with an SDP offer (PCMU, telephone-event 101), ACKs the 200, and answers
  the server's BYE with 200 (or sends its own BYE if the IVR never ends the call);
- sends RTP at real 20 ms pacing (one clock for all callers): silence, its own speech (a
  WAV from espeak-ng) when a script says so, and keys as RFC 4733 telephone-events (a start
  packet, updates every 20 ms for 100 ms, three end packets, one timestamp);
- receives the IVR's RTP with kernel receive timestamps (SO_TIMESTAMPNS: the time the
  packet reached the socket, not the time this process got round to reading it) and keeps
  per packet: arrival time, sequence number, RTP timestamp and whether it carried sound.

Measured per packet received (every packet, silence included):

- timing jitter: |arrival interval - RTP timestamp interval| (20 ms apart on the sender's
  clock should arrive 20 ms apart); p50 / p99 / max over all packets of all callers;
- dropouts: a missing sequence number, a timestamp jump of more than one packet (the
  server skipped ticks), or an arrival gap over DROPOUT_GAP_MS (a phone's jitter buffer of
  40 ms runs dry); any one of them is a moment the caller hears a hole;
- barge-in: caller's onset (the first voiced 20 ms frame of its speech, or the first
  telephone-event packet, when sent) -> the arrival of the last voiced prompt packet before
  the prompt went quiet for QUIET_MS;
- response to speech: the end of the caller's speech (the last voiced frame sent) -> the
  first voiced packet of the next prompt; the state's end-of-speech silence (700 ms in
  bench/flows/speech_load.yaml) is part of it, so processing = response - 700 ms.

And from outside the server: its RSS (/proc/PID/status VmRSS) and CPU (utime + stime).

Modes (each starts its own server, prints a JSON summary per step; `--quick` < 60 s):

    nice -n 5 .venv/bin/python bench/sip_load.py load --steps 10,50,100 --hold 20
    nice -n 5 .venv/bin/python bench/sip_load.py barge --trials 20
    nice -n 5 .venv/bin/python bench/sip_load.py speech --steps 1,2,3 --turns 4
    nice -n 5 .venv/bin/python bench/sip_load.py speech --steps 1,2,3 --turns 4 --speech-servers 1
    .venv/bin/python bench/sip_load.py load --quick
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
src_path = str(ROOT / "src")  # lower case: not an environment variable (tests/test_environment_doc.py)
DTMF_FLOW = ROOT / "bench" / "flows" / "dtmf_load.yaml"
SPEECH_FLOW = ROOT / "bench" / "flows" / "speech_load.yaml"

RATE = 8000
FRAME = 160  # samples per 20 ms
TICK_S = 0.02
PT_PCMU = 0
PT_EVENT = 101
DTMF_CODES = {k: i for i, k in enumerate("0123456789*#ABCD")}
KEY_PACKETS = 5  # telephone-event updates (100 ms of key) before the three end packets
DROPOUT_GAP_MS = 60.0  # an arrival gap this long empties a 40 ms jitter buffer: a hole heard
VOICED = 200  # mean |sample| over a packet above which the packet carries sound, not silence
QUIET_MS = 400  # the prompt has stopped once this long passes with no voiced packet
PAUSE_S = 0.8  # callers answer after this much silence following a prompt
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux
END_SPEECH_S = 0.7  # speech_load.yaml's end_of_speech


# --- G.711 mu-law, written out here (not the server's tables) ----------------------------


def _ulaw_decode_table() -> np.ndarray:
    u = ~np.arange(256, dtype=np.int32) & 0xFF
    t = (((u & 0x0F) << 3) + 0x84) << ((u & 0x70) >> 4)
    return np.where(u & 0x80, 0x84 - t, t - 0x84).astype(np.int16)


ULAW = _ulaw_decode_table()
ULAW_LEVEL = np.abs(ULAW.astype(np.int32))
# |sample| of each mu-law byte as two bytes.translate tables (high and low byte), so that a
# packet's level is summed without numpy: the generator handles 5,000 packets a second at
# 100 calls, on the same 2 cores as the server it measures
_LEVEL_HI = bytes((ULAW_LEVEL >> 8).astype(np.uint8).tolist())
_LEVEL_LO = bytes((ULAW_LEVEL & 0xFF).astype(np.uint8).tolist())


def ulaw_voiced(payload: bytes) -> bool:
    """Mean |sample| over the packet above VOICED (exactly as the numpy mean would say)."""
    total = 256 * sum(payload.translate(_LEVEL_HI)) + sum(payload.translate(_LEVEL_LO))
    return total > VOICED * len(payload)


def ulaw_encode(samples: np.ndarray) -> bytes:
    x = np.clip(samples.astype(np.int32), -32635, 32635)
    sign = np.where(x < 0, 0x80, 0)
    mag = np.abs(x) + 0x84
    exp = np.clip(np.floor(np.log2(np.maximum(mag >> 7, 1))).astype(np.int32), 0, 7)
    mant = (mag >> (exp + 3)) & 0x0F
    return (~(sign | (exp << 4) | mant) & 0xFF).astype(np.uint8).tobytes()


SILENCE = b"\xff" * FRAME


# --- small SIP (just what a UAC needs) ------------------------------------------------------


@dataclass
class Message:
    first: str
    headers: dict[str, str]
    body: str

    @property
    def status(self) -> int:
        return int(self.first.split()[1]) if self.first.startswith("SIP/2.0") else 0

    @property
    def method(self) -> str:
        return "" if self.first.startswith("SIP/2.0") else self.first.split()[0]


def parse(data: bytes) -> Message:
    head, _, body = data.decode("utf-8", "replace").partition("\r\n\r\n")
    lines = head.split("\r\n")
    headers: dict[str, str] = {}
    compact = {"v": "via", "f": "from", "t": "to", "i": "call-id", "m": "contact", "l": "content-length"}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        key = compact.get(name.strip().lower(), name.strip().lower())
        headers.setdefault(key, value.strip())  # first Via is ours
    return Message(lines[0], headers, body)


def sdp_offer(rtp_port: int) -> str:
    return (
        "v=0\r\no=load 1 1 IN IP4 127.0.0.1\r\ns=load\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        f"m=audio {rtp_port} RTP/AVP {PT_PCMU} {PT_EVENT}\r\n"
        f"a=rtpmap:0 PCMU/8000\r\na=rtpmap:{PT_EVENT} telephone-event/8000\r\na=fmtp:{PT_EVENT} 0-16\r\n"
        "a=ptime:20\r\na=sendrecv\r\n"
    )


def sdp_media(body: str) -> tuple[str, int]:
    host = re.search(r"^c=IN IP4 (\S+)", body, re.M)
    port = re.search(r"^m=audio (\d+)", body, re.M)
    if host is None or port is None:
        raise ValueError(f"no audio in the SDP answer: {body!r}")
    return host.group(1), int(port.group(1))


def _rand() -> str:
    return os.urandom(6).hex()


# --- one caller ---------------------------------------------------------------------------


@dataclass
class Received:
    t: list[float] = field(default_factory=list)  # kernel arrival time (CLOCK_REALTIME, s)
    seq: list[int] = field(default_factory=list)
    ts: list[int] = field(default_factory=list)
    voiced: list[bool] = field(default_factory=list)


@dataclass
class CallStats:
    name: str
    answered: bool = False
    status: int = 0
    ended_by: str = ""  # "server BYE", "our BYE", "no answer", "refused", "error: ..."
    keys_sent: int = 0
    rx: Received = field(default_factory=Received)
    barge_in_ms: list[float] = field(default_factory=list)
    responses_ms: list[float] = field(default_factory=list)
    started: float = 0.0


class Caller:
    """One call: SIP through the shared signalling socket, RTP on a socket of its own."""

    def __init__(self, gen: LoadGenerator, name: str, number: str) -> None:
        self.gen = gen
        self.stats = CallStats(name)
        self.number = number
        self.call_id = f"{_rand()}@load"
        self.tag = _rand()
        self.remote_tag = ""
        self.cseq = 1
        self.rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.rtp.bind(("127.0.0.1", 0))
        self.rtp.setblocking(False)
        self.rtp.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.rtp_port = self.rtp.getsockname()[1]
        self.remote_rtp: tuple[str, int] | None = None
        self.remote_contact = ""
        self.responses: asyncio.Queue[Message] = asyncio.Queue()
        self.bye = asyncio.Event()
        self.seq = random.randrange(1 << 16)
        self.ts = random.randrange(1 << 32)
        self.ssrc = random.randrange(1 << 32)
        self.out: list[bytes] = []  # G.711 frames waiting to be sent (speech)
        self.out_voiced: list[bool] = []
        self.key: list[tuple[int, bool, int]] | None = None  # (duration, end, event) packets left
        self.key_ts = 0
        self.onset: float | None = None  # wall time the caller's first voiced frame/key left
        self.key_end: float | None = None  # wall time the key's first end packet left
        self.speech_end: float | None = None  # wall time the last voiced frame left
        self.last_voiced_rx = 0.0  # arrival of the latest voiced packet
        self.first_voiced_after: float | None = None

    # SIP ----------------------------------------------------------------------------------

    def _headers(self, method: str, branch: str, to_tag: bool = True) -> str:
        to = f"<sip:{self.number}@127.0.0.1>" + (
            f";tag={self.remote_tag}" if to_tag and self.remote_tag else ""
        )
        return (
            f"Via: SIP/2.0/UDP 127.0.0.1:{self.gen.sip_port};branch=z9hG4bK{branch};rport\r\n"
            "Max-Forwards: 70\r\n"
            f"From: <sip:{self.stats.name}@127.0.0.1>;tag={self.tag}\r\n"
            f"To: {to}\r\n"
            f"Call-ID: {self.call_id}\r\n"
            f"CSeq: {self.cseq} {method}\r\n"
        )

    def _invite(self) -> bytes:
        body = sdp_offer(self.rtp_port)
        return (
            f"INVITE sip:{self.number}@127.0.0.1:{self.gen.server_port} SIP/2.0\r\n"
            + self._headers("INVITE", _rand(), to_tag=False)
            + f"Contact: <sip:{self.stats.name}@127.0.0.1:{self.gen.sip_port}>\r\n"
            "Content-Type: application/sdp\r\n"
            f"Content-Length: {len(body.encode())}\r\n\r\n{body}"
        ).encode()

    def _ack(self) -> bytes:
        uri = self.remote_contact or f"sip:{self.number}@127.0.0.1:{self.gen.server_port}"
        return (
            f"ACK {uri} SIP/2.0\r\n" + self._headers("ACK", _rand()) + "Content-Length: 0\r\n\r\n"
        ).encode()

    def _bye(self) -> bytes:
        self.cseq += 1
        uri = self.remote_contact or f"sip:{self.number}@127.0.0.1:{self.gen.server_port}"
        return (
            f"BYE {uri} SIP/2.0\r\n" + self._headers("BYE", _rand()) + "Content-Length: 0\r\n\r\n"
        ).encode()

    def on_sip(self, msg: Message, data: bytes) -> None:
        if msg.method == "BYE":
            reply = ["SIP/2.0 200 OK"]
            reply += [f"{h}: {msg.headers[h.lower()]}" for h in ("Via", "From", "To", "Call-ID", "CSeq")]
            self.gen.send_sip(("\r\n".join(reply) + "\r\nContent-Length: 0\r\n\r\n").encode())
            self.bye.set()
        elif msg.method:  # INFO, NOTIFY...: not expected here; 200 anyway
            return
        else:
            if msg.status == 200 and "INVITE" in msg.headers.get("cseq", "") and self.stats.answered:
                self.gen.send_sip(self._ack())  # a resent 200: our ACK was lost
                return
            self.responses.put_nowait(msg)

    # RTP ----------------------------------------------------------------------------------

    def on_rtp_readable(self) -> None:
        rx = self.stats.rx
        while True:
            try:
                data, anc, _flags, _addr = self.rtp.recvmsg(2048, 64)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            t = time.time()
            for level, kind, value in anc:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(value) >= 16:
                    sec, nsec = struct.unpack("qq", value[:16])
                    t = sec + nsec / 1e9
            if len(data) < 12 or data[0] >> 6 != 2:
                continue
            seq, ts = struct.unpack_from("!HI", data, 2)
            voiced = (data[1] & 0x7F) == PT_PCMU and len(data) > 12 and ulaw_voiced(data[12:])
            rx.t.append(t)
            rx.seq.append(seq)
            rx.ts.append(ts)
            rx.voiced.append(voiced)
            if voiced:
                self.last_voiced_rx = t
                if self.speech_end is not None and self.first_voiced_after is None and t > self.speech_end:
                    self.first_voiced_after = t

    def tick(self) -> None:
        """Called every 20 ms by the generator's clock: send one packet."""
        if self.remote_rtp is None:
            return
        now = time.time()
        if self.key:
            duration, end, event = self.key.pop(0)
            payload = struct.pack("!BBH", event, (0x80 if end else 0) | 10, duration)
            marker = duration == FRAME
            pkt = struct.pack(
                "!BBHII", 0x80, (0x80 if marker else 0) | PT_EVENT, self.seq, self.key_ts, self.ssrc
            )
            if marker and self.onset is None:
                self.onset = now
            if end and self.key_end is None:
                self.key_end = now
            data = pkt + payload
        else:
            if self.out:
                frame = self.out.pop(0)
                voiced = self.out_voiced.pop(0)
                if voiced:
                    if self.onset is None:
                        self.onset = now
                    self.speech_end = now
            else:
                frame = SILENCE
            data = struct.pack("!BBHII", 0x80, PT_PCMU, self.seq, self.ts, self.ssrc) + frame
        self.seq = (self.seq + 1) & 0xFFFF
        self.ts = (self.ts + FRAME) & 0xFFFFFFFF
        with contextlib.suppress(OSError):
            self.rtp.sendto(data, self.remote_rtp)

    def press(self, key: str) -> None:
        code = DTMF_CODES[key]
        self.key_ts = self.ts
        packets = [(FRAME * (i + 1), False, code) for i in range(KEY_PACKETS)]
        packets += [(FRAME * KEY_PACKETS, True, code)] * 3
        self.key = packets
        self.stats.keys_sent += 1

    def say(self, samples: np.ndarray) -> None:
        n = len(samples) // FRAME
        frames = samples[: n * FRAME].reshape(n, FRAME)
        level = np.abs(frames.astype(np.int32)).mean(axis=1)
        self.out = [ulaw_encode(f) for f in frames]
        self.out_voiced = [bool(v > VOICED) for v in level]

    # waiting on what is heard --------------------------------------------------------------

    async def heard_prompt(self, timeout_s: float = 30.0) -> None:
        """Until a voiced packet has arrived (a prompt is playing)."""
        start = time.time()
        while self.last_voiced_rx < start - 0.001 and not self.bye.is_set():
            if time.time() - start > timeout_s:
                raise TimeoutError("no prompt heard")
            await asyncio.sleep(0.02)

    async def quiet_for(self, seconds: float, timeout_s: float = 60.0) -> None:
        """Until `seconds` have passed with nothing voiced arriving (the prompt is over)."""
        start = time.time()
        while not self.bye.is_set():
            if time.time() - max(self.last_voiced_rx, start - 1e9) >= seconds and self.last_voiced_rx > 0:
                return
            if time.time() - start > timeout_s:
                raise TimeoutError("the prompt never stopped")
            await asyncio.sleep(0.02)

    def measure_barge(self) -> float | None:
        """Onset -> the last voiced packet before QUIET_MS of quiet (ms)."""
        if self.onset is None:
            return None
        rx = self.stats.rx
        last = None
        for t, v in zip(rx.t, rx.voiced, strict=True):
            if t < self.onset - 1.0 or not v:
                continue
            if last is not None and t - last > QUIET_MS / 1000 and last >= self.onset - 0.04:
                break
            last = t
        if last is None:
            return None
        return (last - self.onset) * 1000

    # a call --------------------------------------------------------------------------------

    async def connect(self, timeout_s: float = 15.0) -> bool:
        self.stats.started = time.time()
        self.gen.callers[self.call_id] = self
        loop = asyncio.get_running_loop()
        loop.add_reader(self.rtp.fileno(), self.on_rtp_readable)
        self.gen.send_sip(self._invite())
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                msg = await asyncio.wait_for(self.responses.get(), max(deadline - time.monotonic(), 0.01))
            except TimeoutError:
                self.stats.ended_by = "no answer"
                return False
            if msg.status < 200:
                continue
            self.stats.status = msg.status
            if msg.status != 200:
                self.stats.ended_by = "refused"
                return False
            m = re.search(r"tag=([^;>\s]+)", msg.headers.get("to", ""))
            self.remote_tag = m.group(1) if m else ""
            c = re.search(r"<([^>]+)>", msg.headers.get("contact", ""))
            self.remote_contact = c.group(1) if c else ""
            self.remote_rtp = sdp_media(msg.body)
            self.stats.answered = True
            self.gen.send_sip(self._ack())
            return True

    async def hang_up(self, timeout_s: float = 10.0) -> None:
        self.gen.send_sip(self._bye())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.responses.get(), timeout_s)
        self.stats.ended_by = self.stats.ended_by or "our BYE"

    async def wait_bye(self, timeout_s: float) -> bool:
        try:
            await asyncio.wait_for(self.bye.wait(), timeout_s)
        except TimeoutError:
            return False
        self.stats.ended_by = "server BYE"
        return True

    def close(self) -> None:
        self.remote_rtp = None
        with contextlib.suppress(Exception):
            asyncio.get_running_loop().remove_reader(self.rtp.fileno())
        self.rtp.close()
        self.gen.callers.pop(self.call_id, None)


class _Signal(asyncio.DatagramProtocol):
    def __init__(self, gen: LoadGenerator) -> None:
        self.gen = gen

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        try:
            msg = parse(data)
        except (ValueError, IndexError):
            return
        caller = self.gen.callers.get(msg.headers.get("call-id", ""))
        if caller is not None:
            caller.on_sip(msg, data)


class LoadGenerator:
    """The shared SIP socket and the one 20 ms clock that sends every caller's RTP."""

    def __init__(self, server_port: int) -> None:
        self.server_port = server_port
        self.sip_port = 0
        self.callers: dict[str, Caller] = {}
        self.transport: asyncio.DatagramTransport | None = None
        self.lateness: list[float] = []  # our own send clock's lateness (s): is the generator keeping up?
        self._ticker: asyncio.Task | None = None

    async def __aenter__(self) -> LoadGenerator:
        loop = asyncio.get_running_loop()
        self.transport, _ = await loop.create_datagram_endpoint(
            lambda: _Signal(self), local_addr=("127.0.0.1", 0)
        )
        self.sip_port = self.transport.get_extra_info("sockname")[1]
        self._ticker = loop.create_task(self._ticks())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        if self.transport is not None:
            self.transport.close()

    def send_sip(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.sendto(data, ("127.0.0.1", self.server_port))

    async def _ticks(self) -> None:
        start = time.monotonic()
        n = 0
        while True:
            n += 1
            due = start + n * TICK_S
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            late = time.monotonic() - due
            if late > 5 * TICK_S:
                n += int(late / TICK_S)
            self.lateness.append(max(late, 0.0))
            for caller in list(self.callers.values()):
                caller.tick()


# --- measures -----------------------------------------------------------------------------


def pct(values: list[float] | np.ndarray, q: float) -> float:
    a = np.asarray(values, dtype=float)
    return float(np.percentile(a, q)) if a.size else float("nan")


@dataclass
class Timing:
    jitter_ms: list[float] = field(default_factory=list)
    packets: int = 0
    lost: int = 0
    skipped: int = 0
    long_gaps: int = 0

    @property
    def dropouts(self) -> int:
        return self.lost + self.skipped + self.long_gaps


def timing(stats: list[CallStats], t0: float = 0.0, t1: float = float("inf")) -> Timing:
    """Jitter and dropouts of the packets that arrived between t0 and t1 (wall seconds)."""
    out = Timing()
    for s in stats:
        t = np.asarray(s.rx.t)
        keep = (t >= t0) & (t <= t1)
        if keep.sum() < 2:
            continue
        t = t[keep]
        seq = np.asarray(s.rx.seq)[keep]
        ts = np.asarray(s.rx.ts, dtype=np.int64)[keep]
        dseq = (np.diff(seq) + 65536) % 65536
        dts = (np.diff(ts) + (1 << 32)) % (1 << 32)
        dt = np.diff(t) * 1000
        expected = dts / 8.0  # ms between the two packets on the sender's clock
        out.jitter_ms.extend(np.abs(dt - expected).tolist())
        out.packets += int(t.size)
        out.lost += int(np.clip(dseq - 1, 0, 1000).sum())
        out.skipped += int((dts > FRAME * np.maximum(dseq, 1)).sum())
        out.long_gaps += int((dt > DROPOUT_GAP_MS).sum())
    return out


class Proc:
    """The server process as /proc shows it."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.hz = os.sysconf("SC_CLK_TCK")

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def cpu_s(self) -> float:
        """The server's CPU, its child processes' included (the RTP sender)."""
        return self._cpu(self.pid) + self.children_cpu_s()

    def _cpu(self, pid: int) -> float:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / self.hz

    def children(self) -> list[int]:
        try:
            return [int(x) for x in Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split()]
        except OSError:
            return []

    def children_cpu_s(self) -> float:
        """CPU of the server's child processes (its RTP sender process, when it has one)."""
        return sum(self._cpu(pid) for pid in self.children())

    def children_rss_mb(self) -> float:
        total = 0.0
        for pid in self.children():
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) / 1024
        return total

    def loop_cpu_s(self) -> float:
        """CPU of the main thread alone (the server's event loop: SIP and the RTP media tick)."""
        try:
            fields = Path(f"/proc/{self.pid}/task/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return float("nan")
        return (int(fields[11]) + int(fields[12])) / self.hz

    def threads(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/task"))


# --- the server ---------------------------------------------------------------------------


@dataclass
class Server:
    proc: subprocess.Popen
    port: int
    events: list[dict]
    db: Path
    audiosocket_port: int = 0

    def count(self, kind: str) -> int:
        return sum(1 for e in list(self.events) if e.get("event") == kind)


@contextlib.contextmanager
def server(
    tmp: Path,
    flow: Path,
    max_calls: int,
    engine: str = "whisper",
    *,
    audiosocket: bool = False,
    src: str = src_path,
) -> Iterator[Server]:
    """`callwright serve` from the tree `src` (the server's PYTHONPATH: --compare runs another)."""
    cmd = [
        sys.executable, "-m", "callwright", "serve", str(flow),
        "--sip", "udp:127.0.0.1:0", "--max-calls", str(max_calls),
        "--db", str(tmp / "calls.db"), "--recordings", str(tmp / "rec"),
        "--engine", engine, "--grace", "5",
    ]  # fmt: skip
    if audiosocket:
        with socket.socket() as free:
            free.bind(("127.0.0.1", 0))
            as_port = free.getsockname()[1]
        cmd += ["--audiosocket", f"127.0.0.1:{as_port}"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": src}
    with serving(cmd, env=env, cwd=tmp, service="sip") as (proc, address, events):
        port = int(address.rsplit(":", 1)[1])
        yield Server(proc, port, events, tmp / "calls.db", as_port if audiosocket else 0)


@contextlib.contextmanager
def serving(
    cmd: list[str], *, env: dict[str, str], cwd: Path, service: str
) -> Iterator[tuple[subprocess.Popen, str, list[dict]]]:
    """Run a `callwright serve` command until it logs `listening` for `service`: yields the
    process, the address it listens on and its JSON events (appended as they come, for
    counting); on exit it is stopped (terminate, then kill). Shared by the SIP, AudioSocket
    and WebRTC benches."""
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=cwd
    )
    events: list[dict] = []
    address: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("{"):
                with contextlib.suppress(ValueError):
                    e = json.loads(line)
                    events.append(e)
                    if e.get("event") == "listening" and e.get("service") == service:
                        address.append(str(e["address"]))
                        ready.set()
        ready.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        if not ready.wait(180) or not address:
            raise RuntimeError(f"the server did not start: {events[-5:]}")
        yield proc, address[0], events
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


# --- scenarios ----------------------------------------------------------------------------


async def dtmf_caller(
    gen: LoadGenerator, name: str, stop: asyncio.Event, *, presses: int | None = None, at_once: bool = False
) -> CallStats:
    """The DTMF-only flow: press 1 (balance, then the menu again) after each prompt while
    `stop` is not set (or `presses` times), then 9 (goodbye) and wait for the IVR's BYE.
    `at_once`: press 9 over the first prompt as soon as it is heard (barge-in)."""
    c = Caller(gen, name, "100")
    try:
        if not await c.connect():
            return c.stats
        if at_once:
            await c.heard_prompt()
            c.press("9")
        done = 0
        while not at_once and not stop.is_set() and (presses is None or done < presses):
            await c.heard_prompt()
            await c.quiet_for(PAUSE_S)
            if stop.is_set() or c.bye.is_set():
                break
            c.press("1")
            done += 1
        if not c.bye.is_set() and not at_once:
            await c.quiet_for(PAUSE_S)
            c.press("9")
        if not await c.wait_bye(30):
            await c.hang_up()
    except Exception as err:  # noqa: BLE001 - a bench caller reports, never crashes the run
        c.stats.ended_by = f"error: {err!r}"
        if c.stats.answered and not c.bye.is_set():
            await c.hang_up()
    finally:
        c.close()
    return c.stats


def _summary(step: int, stats: list[CallStats], tm: Timing, extra: dict) -> dict:
    return {
        "calls": step,
        "answered": sum(s.answered for s in stats),
        "packets": tm.packets,
        "jitter_p50_ms": round(pct(tm.jitter_ms, 50), 2),
        "jitter_p99_ms": round(pct(tm.jitter_ms, 99), 2),
        "jitter_max_ms": round(float(max(tm.jitter_ms, default=float("nan"))), 2),
        "dropouts": tm.dropouts,
        "lost": tm.lost,
        "skipped": tm.skipped,
        "gaps_over_60ms": tm.long_gaps,
        **extra,
    }


async def run_load(
    server_port: int, steps: list[int], hold_s: float, proc: Proc | None = None, *, ramp_s: float = 2.0
) -> dict:
    """Hold `steps[0]` calls, then `steps[1]`..., each for `hold_s` measured seconds; then end all."""
    out: dict = {"steps": []}
    async with LoadGenerator(server_port) as gen:
        # warm-up: one call through every prompt (the TTS cache), so step 0's RSS is the base
        stop = asyncio.Event()
        warm = await dtmf_caller(gen, "warm", stop, presses=1)
        out["warm_up"] = {"answered": warm.answered, "ended_by": warm.ended_by}
        await asyncio.sleep(1.0)
        if proc is not None:
            out["rss_0_mb"] = round(proc.rss_mb() + proc.children_rss_mb(), 1)
            out["threads_0"] = proc.threads()
        tasks: list[asyncio.Task] = []
        stop = asyncio.Event()
        n = 0
        for step in steps:
            new = step - n
            for i in range(new):
                tasks.append(asyncio.create_task(dtmf_caller(gen, f"load{n + i}", stop)))
                await asyncio.sleep(ramp_s / max(new, 1))
            n = step
            await asyncio.sleep(2.0)  # settle: every new call answered and its first prompt going
            t0, cpu0, lag0 = time.time(), proc.cpu_s() if proc else 0.0, len(gen.lateness)
            loop0 = proc.loop_cpu_s() if proc else 0.0
            child0 = proc.children_cpu_s() if proc else 0.0
            gen_cpu0 = time.process_time()
            rss0 = proc.rss_mb() + proc.children_rss_mb() if proc else float("nan")
            load0 = os.getloadavg()[0]
            await asyncio.sleep(hold_s)
            t1 = time.time()
            cpu = (proc.cpu_s() - cpu0) / (t1 - t0) if proc else float("nan")
            live = [c.stats for c in gen.callers.values()]
            tm = timing(live, t0, t1)
            lag = np.asarray(gen.lateness[lag0:]) * 1000
            extra = {
                "calls_up": len(live),
                "server_cpu_pct": round(cpu * 100, 1),
                "server_loop_cpu_pct": round((proc.loop_cpu_s() - loop0) / (t1 - t0) * 100, 1)
                if proc
                else float("nan"),
                "server_sender_process_cpu_pct": round((proc.children_cpu_s() - child0) / (t1 - t0) * 100, 1)
                if proc
                else float("nan"),
                "generator_cpu_pct": round((time.process_time() - gen_cpu0) / (t1 - t0) * 100, 1),
                "generator_lateness_p99_ms": round(pct(lag, 99), 2),
                "load_avg_1m": [round(load0, 2), round(os.getloadavg()[0], 2)],
            }
            if proc is not None:
                extra["rss_mb"] = round(proc.rss_mb() + proc.children_rss_mb(), 1)
                extra["rss_growth_kb_per_call_s"] = round(
                    (extra["rss_mb"] - rss0) * 1024 / step / (t1 - t0), 1
                )
                extra["threads"] = proc.threads()
            summary = _summary(step, live, tm, extra)
            out["steps"].append(summary)
            print(json.dumps(summary), flush=True)
        stop.set()
        results = await asyncio.gather(*tasks)
    out["calls"] = len(results)
    out["answered"] = sum(r.answered for r in results)
    out["ended_by_server_bye"] = sum(r.ended_by == "server BYE" for r in results)
    out["ended_other"] = sorted({r.ended_by for r in results if r.ended_by != "server BYE"})
    whole = timing(results)
    out["whole_run"] = _summary(len(results), results, whole, {})
    if proc is not None and "rss_0_mb" in out:
        xs = [0] + [s["calls"] for s in out["steps"]]
        ys = [out["rss_0_mb"]] + [s["rss_mb"] for s in out["steps"]]
        out["rss_slope_mb_per_call"] = round(float(np.polyfit(xs, ys, 1)[0]), 3)
    return out


async def barge_trial(gen: LoadGenerator, name: str, how: str, speech: np.ndarray | None) -> CallStats:
    """One call: wait for the menu prompt, interrupt it 0.6-1.6 s in (by key 8, which ends the
    call without a prompt, or by speech), measure how long the prompt went on."""
    c = Caller(gen, name, "100")
    try:
        if not await c.connect():
            return c.stats
        await c.heard_prompt()
        await asyncio.sleep(random.uniform(0.6, 1.6))
        # start on a voiced moment of the prompt, so its going quiet is the barge-in, not a pause
        while time.time() - c.last_voiced_rx > 0.03:
            await asyncio.sleep(0.005)
        if how == "key":
            c.press("8")
        else:
            assert speech is not None
            c.say(speech)
        await asyncio.sleep(QUIET_MS / 1000 + 1.5)
        r = c.measure_barge()
        if r is not None:
            c.stats.barge_in_ms.append(r)
            if c.key_end is not None and c.onset is not None:  # also from the key's end packet
                c.stats.responses_ms.append(r - (c.key_end - c.onset) * 1000)
        if not c.bye.is_set():
            c.press("8")
        if not await c.wait_bye(20):
            await c.hang_up()
    except Exception as err:  # noqa: BLE001
        c.stats.ended_by = f"error: {err!r}"
    finally:
        c.close()
    return c.stats


async def speech_caller(gen: LoadGenerator, name: str, turns: int, words: list[np.ndarray]) -> CallStats:
    """Says a menu word after each prompt `turns` times; each response (end of speech ->
    next prompt heard) is kept. Then 9, and the IVR's BYE."""
    c = Caller(gen, name, "100")
    try:
        if not await c.connect():
            return c.stats
        for i in range(turns):
            await c.heard_prompt()
            await c.quiet_for(PAUSE_S)
            c.first_voiced_after = None
            c.speech_end = None
            c.say(words[i % len(words)])
            while c.out:
                await asyncio.sleep(0.02)
            said = c.speech_end
            deadline = time.time() + 20
            while c.first_voiced_after is None and time.time() < deadline and not c.bye.is_set():
                await asyncio.sleep(0.01)
            if c.first_voiced_after is not None and said is not None:
                c.stats.responses_ms.append((c.first_voiced_after - said) * 1000)
        await c.quiet_for(PAUSE_S)
        c.press("9")
        if not await c.wait_bye(30):
            await c.hang_up()
    except Exception as err:  # noqa: BLE001
        c.stats.ended_by = f"error: {err!r}"
    finally:
        c.close()
    return c.stats


def espeak(text: str, voice: str = "en-us") -> np.ndarray:
    """espeak-ng at 8 kHz int16 (resampled from its 22.05 kHz by linear interpolation)."""
    wav = subprocess.run(["espeak-ng", "-v", voice, "--stdout", text], capture_output=True, check=True).stdout
    rate = struct.unpack_from("<I", wav, 24)[0]
    data = np.frombuffer(wav[44:], np.int16).astype(np.float64)
    n = int(len(data) * RATE / rate)
    x = np.interp(np.arange(n) * rate / RATE, np.arange(len(data)), data)
    tail = np.zeros(int(0.1 * RATE))
    return np.concatenate([x, tail]).astype(np.int16)


# --- CLI ----------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["load", "barge", "speech"])
    ap.add_argument("--steps", default="10,50,100", help="calls held at once, step by step")
    ap.add_argument("--hold", type=float, default=20.0, help="seconds measured at each step")
    ap.add_argument("--trials", type=int, default=20, help="barge: trials per kind")
    ap.add_argument("--turns", type=int, default=4, help="speech: turns per caller")
    ap.add_argument("--engine", default="whisper", help="the server's --engine (speech mode)")
    ap.add_argument("--speech-servers", type=int, default=0, help="speech: extra `callwright speech-server`s")
    ap.add_argument("--quick", action="store_true", help="a short run (< 60 s)")
    ap.add_argument(
        "--server-src", default=src_path, help="load: the server's PYTHONPATH (default: this tree's src)"
    )
    ap.add_argument(
        "--compare",
        metavar="SRC",
        help="load: also run the server from SRC (another tree's src, e.g. /work/wt/base/src), "
        "alternating with --server-src run by run, same generator, same steps",
    )
    ap.add_argument(
        "--rounds", type=int, default=2, help="load --compare: alternations (SRC, then this tree)"
    )
    ap.add_argument("--json-out", type=Path)
    args = ap.parse_args()
    steps = [int(x) for x in args.steps.split(",")]
    if args.quick:
        steps, args.hold, args.trials, args.turns = (
            ([10, 20], 5.0, 3, 2) if args.mode != "speech" else ([1], 5, 3, 1)
        )
    result: dict = {"mode": args.mode, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                    "cores": os.cpu_count(), "load_avg_before": [round(x, 2) for x in os.getloadavg()]}  # fmt: skip
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        if args.mode == "load" and args.compare:
            result["runs"] = []
            for r in range(args.rounds):
                for label, src in (("compare", args.compare), ("this", args.server_src)):
                    print(f"# round {r + 1}: server from {src}", flush=True)
                    run = {"server": label, "src": src, "round": r + 1}
                    run.update(load_run(tmp / f"{label}{r}", steps, args.hold, src))
                    result["runs"].append(run)
            print(compare_table(result["runs"]), flush=True)
        elif args.mode == "load":
            result.update(load_run(tmp / "run", steps, args.hold, args.server_src))
        elif args.mode == "barge":
            result.update(run_barge(tmp, args.trials))
        else:
            result.update(run_speech(tmp, steps, args.turns, args.engine, args.speech_servers))
    result["load_avg_after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(result, indent=1))
    if args.json_out:
        args.json_out.write_text(json.dumps(result, indent=1))


def load_run(tmp: Path, steps: list[int], hold_s: float, src: str) -> dict:
    """One server (from the tree `src`), the load steps against it."""
    tmp.mkdir(parents=True, exist_ok=True)
    with server(tmp, DTMF_FLOW, max(steps) + 1, src=src) as srv:
        proc = Proc(srv.proc.pid)
        out = asyncio.run(run_load(srv.port, steps, hold_s, proc))
        out["server_call_end_events"] = srv.count("call_end")
        out["server_refused"] = srv.count("call_refused")
    return out


def compare_table(runs: list[dict]) -> str:
    """The alternated runs as one Markdown table (docs/benchmarks.md takes it as it is)."""
    rows = [
        "| server | round | calls | load average | jitter p50 / p99 / max | late > 60 ms / skipped / lost "
        "| packets | server CPU | generator CPU / lateness p99 | RSS |",
        "|---|---:|---:|---|---|---|---:|---:|---|---:|",
    ]
    for run in runs:
        for st in run.get("steps", []):
            la = st["load_avg_1m"]
            rows.append(
                f"| {run['src']} | {run['round']} | {st['calls']} | {la[0]:.1f}-{la[1]:.1f} "
                f"| {st['jitter_p50_ms']:.1f} / {st['jitter_p99_ms']:.1f} / {st['jitter_max_ms']:.1f} ms "
                f"| {st['gaps_over_60ms']} / {st['skipped']} / {st['lost']} | {st['packets']} "
                f"| {st['server_cpu_pct']:.0f} % | {st['generator_cpu_pct']:.0f} % / "
                f"{st['generator_lateness_p99_ms']:.0f} ms | {st.get('rss_mb', float('nan')):.0f} MB |"
            )
    return "\n".join(rows)


def _stats(values: list[float], trials: int) -> dict:
    return {
        "trials": trials,
        "measured": len(values),
        "p50_ms": round(pct(values, 50), 1),
        "p95_ms": round(pct(values, 95), 1),
        "max_ms": round(max(values, default=float("nan")), 1),
        "values_ms": [round(v) for v in values],
    }


def run_barge(tmp: Path, trials: int) -> dict:
    speech = espeak("I would like to speak to somebody about my bill please")
    out: dict = {}
    with server(tmp, SPEECH_FLOW, 4, audiosocket=True) as srv:

        async def go() -> None:
            async with LoadGenerator(srv.port) as gen:
                for how in ("key", "speech"):
                    values: list[float] = []
                    from_end: list[float] = []
                    for i in range(trials):
                        s = await barge_trial(gen, f"{how}{i}", how, speech if how == "speech" else None)
                        values += s.barge_in_ms
                        from_end += s.responses_ms
                    out[f"sip_{how}"] = _stats(values, trials)
                    if how == "key":
                        out["sip_key_from_end_packet"] = _stats(from_end, trials)
                    print(json.dumps({how: out[f"sip_{how}"]}), flush=True)

        asyncio.run(go())
        if srv.audiosocket_port:
            for how in ("key", "speech"):
                values = [
                    v
                    for i in range(trials)
                    if (v := audiosocket_trial(srv.audiosocket_port, how, speech)) is not None
                ]
                out[f"audiosocket_{how}"] = _stats(values, trials)
                print(json.dumps({f"audiosocket_{how}": out[f"audiosocket_{how}"]}), flush=True)
    return out


def audiosocket_trial(port: int, how: str, speech: np.ndarray) -> float | None:
    """One AudioSocket call (tests/server/client.py's peer, which streams like Asterisk):
    interrupt the first prompt 0.6-1.6 s in by a DTMF frame (key 8) or speech; onset ->
    the last voiced audio frame received before QUIET_MS of quiet (ms)."""
    sys.path.insert(0, str(ROOT))
    from tests.server.client import AudioSocketPeer

    peer = AudioSocketPeer(port)
    try:
        peer.send_uuid("100")
        peer.start_audio()
        deadline = time.monotonic() + 30
        voiced = lambda x: float(np.abs(x.astype(np.int32)).mean()) > VOICED  # noqa: E731
        while not any(voiced(x) for _, x in list(peer.received)):
            if time.monotonic() > deadline:
                return None
            time.sleep(0.01)
        time.sleep(random.uniform(0.6, 1.6))
        while not (peer.received and voiced(peer.received[-1][1])):
            time.sleep(0.005)
        if how == "key":
            onset = time.monotonic()
            peer.send_dtmf("8")
        else:
            frames = speech[: len(speech) // FRAME * FRAME].reshape(-1, FRAME)
            first = int(np.argmax(np.abs(frames.astype(np.int32)).mean(axis=1) > VOICED))
            peer.say(speech)
            while not peer.sent_onsets:
                time.sleep(0.002)
            onset = peer.sent_onsets[0] + first * TICK_S
        time.sleep(QUIET_MS / 1000 + 1.5)
        last = None
        for t, x in list(peer.received):
            if t < onset - 1.0 or not voiced(x):
                continue
            if last is not None and t - last > QUIET_MS / 1000 and last >= onset - 0.04:
                break
            last = t
        return None if last is None else (last - onset) * 1000
    finally:
        peer.hang_up()
        peer.close()


def _cpu(p: subprocess.Popen) -> float:
    try:
        return Proc(p.pid).cpu_s()
    except OSError:
        return 0.0


def run_speech(tmp: Path, steps: list[int], turns: int, engine: str, speech_servers: int) -> dict:
    voices = ["en-us", "en-gb", "en-gb-x-rp"]
    words = [espeak(w, voices[i % 3]) for i, w in enumerate(["billing", "support", "sales", "billing"])]
    out: dict = {"engine": engine, "speech_servers": speech_servers, "steps": []}
    procs: list[subprocess.Popen] = []
    try:
        if speech_servers:
            addrs = []
            for _ in range(speech_servers):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", 0))
                    port = s.getsockname()[1]
                procs.append(
                    subprocess.Popen(
                        [
                            sys.executable,
                            "-m",
                            "callwright",
                            "speech-server",
                            "--engine",
                            "whisper",
                            "--listen",
                            f"127.0.0.1:{port}",
                        ],  # fmt: skip
                        env={**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": src_path},
                        stderr=subprocess.DEVNULL,
                    )
                )
                addrs.append(f"127.0.0.1:{port}")
            for a in addrs:  # wait until each listens
                host, port = a.split(":")
                deadline = time.monotonic() + 120
                while True:
                    with contextlib.suppress(OSError), socket.create_connection((host, int(port)), 1):
                        break
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"speech-server {a} did not start")
                    time.sleep(0.5)
            engine = "wyoming://" + "+".join(addrs) + ",whisper"
            out["engine"] = engine
        with server(tmp, SPEECH_FLOW, max(steps) + 1, engine=engine) as srv:
            proc = Proc(srv.proc.pid)

            async def go() -> None:
                async with LoadGenerator(srv.port) as gen:
                    await speech_caller(gen, "warm", 1, words)  # the recogniser's first decode
                    for step in steps:
                        load0 = os.getloadavg()[0]
                        cpu0, t0 = proc.cpu_s(), time.time()
                        sp0 = sum(_cpu(p) for p in procs)
                        res = await asyncio.gather(
                            *(speech_caller(gen, f"s{step}-{i}", turns, words) for i in range(step))
                        )
                        resp = [r for s in res for r in s.responses_ms]
                        proc_ms = [r - END_SPEECH_S * 1000 for r in resp]
                        summary = {
                            "calls": step,
                            "answered": sum(s.answered for s in res),
                            "turns": len(resp),
                            "processing_p50_ms": round(pct(proc_ms, 50)),
                            "processing_p95_ms": round(pct(proc_ms, 95)),
                            "response_p95_ms": round(pct(resp, 95)),
                            "server_cpu_pct": round((proc.cpu_s() - cpu0) / (time.time() - t0) * 100, 1),
                            "server_cpu_s_per_turn": round((proc.cpu_s() - cpu0) / max(len(resp), 1), 2),
                            "speech_server_cpu_s_per_turn": round(
                                (sum(_cpu(p) for p in procs) - sp0) / max(len(resp), 1), 2
                            ),
                            "load_avg_1m": [round(load0, 2), round(os.getloadavg()[0], 2)],
                        }
                        out["steps"].append(summary)
                        print(json.dumps(summary), flush=True)

            asyncio.run(go())
    finally:
        for p in procs:
            p.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(10)
    return out


if __name__ == "__main__":
    main()
