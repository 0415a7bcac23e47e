"""The RTP sender in a process of its own: the 20 ms clock that no call thread can delay.

Why a process: in the server every call's IVR runs on a thread of its own, and all of them
share one interpreter lock with the event loop. At 100 calls the call threads hold that lock
most of the time, and each `sendto` of the loop's media tick gives it up: the tick then waits
behind call threads for milliseconds, and the caller hears it as jitter (bench/sip_load.py:
p99 31-43 ms at 100 calls with everything in one process, docs/benchmarks.md). Here the
sending half of the media path runs in a small child process with one thread and nothing
else to do; the server keeps everything else (SIP, receiving, the jitter buffer, the IVR).

How: the server shares each call's RTP socket with the worker (SCM_RIGHTS: the worker sends
from the same socket, so the caller sees the same source port) and hands it the call's
G.711 prompt audio as `play()` queues it; the worker sends one packet per call every 20 ms
(prompt or silence, RTP timestamps on its own clock) and tells the server when a call's
prompt has been sent in full (`playing` turns false then). Control messages go over one
private socket pair (SOCK_SEQPACKET: message boundaries kept), in order, from the server's
event loop only. The worker ends when the server closes its end (or dies): it ignores
SIGINT and SIGTERM, so a Ctrl-C's graceful shutdown can still play the goodbyes.

`SipConfig.media_process` turns it on (`callwright serve --sip` and `callwright dial` do);
without it the server's own loop sends as before.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import signal
import socket
import struct
import sys
import time
from collections import deque
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the worker imports this file alone: the standard library's light modules only
    import asyncio
    from collections.abc import Callable

log = logging.getLogger(__name__)

TICK_S = 0.02
FRAME = 160  # bytes of G.711 per 20 ms packet
MAX_TICK_LAG = 5  # ticks behind before the schedule is reset instead of sending a burst
MAX_PLAYOUT_BYTES = 600 * 8000  # prompt audio queued per call (10 minutes), as in call.MAX_PLAYOUT_S
CHUNK = 32 * 1024  # prompt audio per control message (a SOCK_SEQPACKET message must fit the buffer)
SOCKET_BUFFER = 4 * 1024 * 1024  # control socket buffers: about 8 minutes of one call's prompts
REPORT_BYTES = 1 << 17  # the largest report the server reads (a stats report of ~5,000 calls)
STATS_EVERY = 50  # ticks between the worker's reports of its clock's lateness (1 s)
RTP_HEADER = struct.Struct("!BBHII")

# server -> worker
OP_OPEN, OP_PLAY, OP_CLEAR, OP_CLOSE = 1, 2, 3, 4
# worker -> server
OP_DRAINED, OP_STATS = 11, 12
_HEAD = struct.Struct("!BI")  # op, call key
_OPEN = struct.Struct("!BBBIHIH")  # payload type, silence byte, can send, ssrc, seq, ts0, port
_GEN = struct.Struct("!I")
_DRAINED = struct.Struct("!II")  # call key, the play() generation sent in full


# --- the worker process ------------------------------------------------------------------


class _Line:
    """One call as the worker sends it."""

    __slots__ = ("sock", "addr", "pt", "silence", "can_send", "ssrc", "seq", "ts0", "tick0", "out",
                 "gen", "sent")  # fmt: skip

    def __init__(self, sock: socket.socket, addr: tuple[str, int], body: bytes) -> None:
        pt, silence, can_send, ssrc, seq, ts0, _port = _OPEN.unpack_from(body)
        self.sock, self.addr = sock, addr
        self.pt, self.silence, self.can_send = pt, bytes([silence]) * FRAME, bool(can_send)
        self.ssrc, self.seq, self.ts0 = ssrc, seq, ts0
        self.tick0: int | None = None
        self.out = bytearray()
        self.gen = 0  # the play() whose audio is the last in `out`
        self.sent = 0

    def send(self, tick: int) -> bool:
        """One packet; True when this packet was the last of the queued prompt audio."""
        if self.out:
            payload = bytes(self.out[:FRAME])
            del self.out[:FRAME]
            drained = not self.out
            if len(payload) < FRAME:
                payload += self.silence[len(payload) :]
        else:
            payload, drained = self.silence, False
        if self.tick0 is None:
            self.tick0 = tick
        header = RTP_HEADER.pack(
            0x80,
            (0x80 if self.sent == 0 else 0) | (self.pt & 0x7F),
            self.seq,
            (self.ts0 + FRAME * (tick - self.tick0)) & 0xFFFFFFFF,  # skipped ticks advance time too
            self.ssrc,
        )
        self.seq = (self.seq + 1) & 0xFFFF
        if self.can_send:
            with contextlib.suppress(OSError):  # a full buffer or an unreachable port: that packet is lost
                self.sock.sendto(header + payload, self.addr)
                self.sent += 1
        return drained


def _apply(lines: dict[int, _Line], data: bytes, fds: list[int]) -> None:
    op, key = _HEAD.unpack_from(data)
    body = data[_HEAD.size :]
    if op == OP_OPEN:
        host = body[_OPEN.size :].decode()
        port = _OPEN.unpack_from(body)[-1]
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM, fileno=fds.pop(0))
        old = lines.pop(key, None)
        if old is not None:
            old.sock.close()
        lines[key] = _Line(sock, (host, port), body)
    elif op == OP_PLAY:
        line = lines.get(key)
        if line is not None:
            (line.gen,) = _GEN.unpack_from(body)
            room = MAX_PLAYOUT_BYTES - len(line.out)
            line.out += body[_GEN.size : _GEN.size + max(room, 0)]
    elif op == OP_CLEAR:
        line = lines.get(key)
        if line is not None:
            line.out.clear()
    elif op == OP_CLOSE:
        line = lines.pop(key, None)
        if line is not None:
            line.sock.close()
    for fd in fds:  # descriptors nobody asked for
        with contextlib.suppress(OSError):
            socket.socket(fileno=fd).close()


def _read(ctrl: socket.socket, lines: dict[int, _Line]) -> bool:
    """Every control message waiting; False once the server has closed its end."""
    while True:
        try:
            data, fds, _flags, _addr = socket.recv_fds(ctrl, _HEAD.size + CHUNK + 64, 4)
        except (BlockingIOError, InterruptedError):
            return True
        except OSError:
            return False
        if not data:
            return False
        _apply(lines, data, list(fds))


def _tell(ctrl: socket.socket, op: int, body: bytes) -> None:
    with contextlib.suppress(BlockingIOError):  # the server is far behind: a report is dropped
        ctrl.send(_HEAD.pack(op, 0) + body)


def run_worker(fd: int) -> None:
    """The worker's loop: control messages between ticks, every call's packet at each tick."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)  # the server ends us by closing the socket
    ctrl = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET, fileno=fd)
    ctrl.setblocking(False)
    lines: dict[int, _Line] = {}
    lateness: list[float] = []
    start = time.monotonic()
    tick = 0
    while True:
        tick += 1
        due = start + tick * TICK_S
        while (wait := due - time.monotonic()) > 0:
            ready, _, _ = select.select([ctrl], [], [], wait)
            if ready and not _read(ctrl, lines):
                for line in lines.values():
                    line.sock.close()
                return
        late = time.monotonic() - due
        if late > MAX_TICK_LAG * TICK_S:  # stalled: skip ahead (RTP time still advances)
            skipped = int(late / TICK_S)
            tick += skipped
            late -= skipped * TICK_S
        lateness.append(max(late, 0.0))
        drained = [(key, line.gen) for key, line in lines.items() if line.send(tick)]
        if drained:
            _tell(ctrl, OP_DRAINED, b"".join(_DRAINED.pack(k, g) for k, g in drained))
        if tick % STATS_EVERY == 0:
            sent = {str(k): line.sent for k, line in lines.items()}
            _tell(ctrl, OP_STATS, json.dumps({"late": lateness, "sent": sent}).encode())
            lateness = []


# --- the server's side ----------------------------------------------------------------------


class MediaWorker:
    """The server's handle on its RTP sender process. Every method runs on the event loop."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        on_drained: Callable[[int, int], None],
        on_stats: Callable[[list[float], dict[int, int]], None],
        on_died: Callable[[], None],
    ) -> None:
        self.loop = loop
        self._on_drained = on_drained
        self._on_stats = on_stats
        self._on_died = on_died
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        for s in (ours, theirs):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SOCKET_BUFFER)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SOCKET_BUFFER)
        import subprocess

        # this file alone, isolated (-I: no PYTHONPATH, no site): the worker needs the standard
        # library only, and starts in tens of milliseconds
        code = "import runpy, sys; runpy.run_path(sys.argv[1], run_name='__main__')"
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-I", "-c", code, __file__, str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                close_fds=True,
                # a session of its own: with the kernel's autogroup scheduling (most desktop and
                # server distributions) it then is not one more thread in the server's group,
                # whose call threads use far more CPU than it, and gets the CPU when its tick is due
                start_new_session=True,
            )
        finally:
            theirs.close()
        ours.setblocking(False)
        self.sock = ours
        self.alive = True
        self._backlog: deque[tuple[bytes, list[int]]] = deque()
        self._writing = False
        loop.add_reader(ours.fileno(), self._readable)

    # messages to the worker, in order; a full socket queues them until it drains
    def _send(self, data: bytes, fds: list[int] | None = None) -> None:
        fds = fds or []
        if self.alive and not self._backlog and self._try(data, fds):
            return
        if not self.alive:
            for fd in fds:
                os.close(fd)
            return
        self._backlog.append((data, fds))
        if not self._writing:
            self._writing = True
            self.loop.add_writer(self.sock.fileno(), self._flush)

    def _try(self, data: bytes, fds: list[int]) -> bool:
        """Sent (and the descriptors closed)? False: the socket is full, or the worker is gone."""
        try:
            if fds:
                socket.send_fds(self.sock, [data], fds)
            else:
                self.sock.send(data)
        except (BlockingIOError, InterruptedError):
            return False
        except OSError as err:
            self._died(f"sending to it: {err}")
            return False
        for fd in fds:
            os.close(fd)
        return True

    def _flush(self) -> None:
        while self._backlog and self.alive:
            data, fds = self._backlog[0]
            if not self._try(data, fds):
                return
            self._backlog.popleft()
        self._writing = False
        with contextlib.suppress(Exception):
            self.loop.remove_writer(self.sock.fileno())

    def open(
        self,
        key: int,
        rtp: socket.socket,
        remote: tuple[str, int],
        *,
        payload_type: int,
        silence: int,
        can_send: bool,
        ssrc: int,
        seq: int,
        ts0: int,
    ) -> None:
        body = _OPEN.pack(payload_type, silence, can_send, ssrc, seq, ts0, remote[1]) + remote[0].encode()
        # a duplicate, closed once sent: the call may close its socket before a backlog drains
        self._send(_HEAD.pack(OP_OPEN, key) + body, [os.dup(rtp.fileno())])

    def play(self, key: int, gen: int, coded: bytes) -> None:
        for i in range(0, len(coded), CHUNK):
            self._send(_HEAD.pack(OP_PLAY, key) + _GEN.pack(gen) + coded[i : i + CHUNK])

    def clear(self, key: int) -> None:
        self._send(_HEAD.pack(OP_CLEAR, key))

    def close_line(self, key: int) -> None:
        self._send(_HEAD.pack(OP_CLOSE, key))

    def _readable(self) -> None:
        while True:
            try:
                data = self.sock.recv(REPORT_BYTES)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as err:
                self._died(str(err))
                return
            if not data:
                self._died("it exited")
                return
            op, _ = _HEAD.unpack_from(data)
            body = data[_HEAD.size :]
            if op == OP_DRAINED:
                for key, gen in _DRAINED.iter_unpack(body[: len(body) // 8 * 8]):
                    self._on_drained(key, gen)
            elif op == OP_STATS:
                try:
                    stats = json.loads(body)
                    sent = {int(k): int(v) for k, v in stats["sent"].items()}
                except (ValueError, KeyError, AttributeError):  # cut short: more calls than it holds
                    continue
                self._on_stats([float(x) for x in stats["late"]], sent)

    def _died(self, why: str) -> None:
        if not self.alive:
            return
        log.error("the RTP sender process stopped (%s): calls send from the server's loop now", why)
        self._detach()
        self._on_died()

    def _detach(self) -> None:
        self.alive = False
        for _data, fds in self._backlog:
            for fd in fds:
                os.close(fd)
        self._backlog.clear()
        for remove in (self.loop.remove_reader, self.loop.remove_writer):
            with contextlib.suppress(Exception):
                remove(self.sock.fileno())

    def close(self, timeout_s: float = 2.0) -> None:
        """Ends the worker (it exits when its socket closes) and waits for it, bounded."""
        import subprocess

        if self.alive:
            self._detach()
        self.sock.close()
        try:
            self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout_s)


if __name__ == "__main__":  # started by MediaWorker: `-c runpy.run_path(this file) FD`
    run_worker(int(sys.argv[-1]))
