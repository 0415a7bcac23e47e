"""An AudioSocket peer for the tests: what Asterisk's AudioSocket() does, written from the
protocol (kind byte, big-endian length, payload), on plain blocking sockets.

Like Asterisk, it sends caller audio continuously, one 320-byte frame every 20 ms (silence
when the caller says nothing), and takes whatever the server sends. A reader thread keeps
the IVR's audio with arrival times, and notices the server's hang-up.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
import uuid
from collections import deque

import numpy as np

RATE = 8000
FRAME = 160  # samples per 20 ms frame
FRAME_S = 0.02


def frame(kind: int, payload: bytes = b"") -> bytes:
    return struct.pack(">BH", kind, len(payload)) + payload


def uuid_for(number: str) -> bytes:
    """The UUID the documented dialplan builds: a unique head, the number in the last 16 hex digits."""
    return uuid.UUID(uuid.uuid4().hex[:16] + number.rjust(16, "f")).bytes


class AudioSocketPeer:
    def __init__(self, port: int, *, timeout_s: float = 60.0) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.sock.settimeout(timeout_s)
        self.local = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self._send_lock = threading.Lock()
        self._pending: deque[np.ndarray] = deque()
        self._pending_lock = threading.Lock()
        self.received: list[tuple[float, np.ndarray]] = []  # (arrival time, samples) of the IVR's audio
        self.kinds: list[int] = []
        self.hung_up = threading.Event()  # the server sent 0x00 or closed
        self.sent_onsets: list[float] = []  # when queued caller audio began to go out
        self._stop = threading.Event()
        self._streaming = False
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._writer: threading.Thread | None = None

    # -- raw protocol ---------------------------------------------------------------------

    def send(self, data: bytes) -> None:
        with self._send_lock:
            try:
                self.sock.sendall(data)
            except OSError:
                self._stop.set()

    def send_uuid(self, number: str = "") -> None:
        self.send(frame(0x01, uuid_for(number) if number else uuid.uuid4().bytes))

    def send_dtmf(self, key: str) -> None:
        self.send(frame(0x03, key.encode("ascii")))

    def hang_up(self) -> None:
        self.send(frame(0x00))

    # -- a caller who streams audio ----------------------------------------------------------

    def start_audio(self) -> None:
        """Stream audio like Asterisk: 20 ms frames in real time, silence unless something is queued."""
        self._streaming = True
        self._writer = threading.Thread(target=self._write, daemon=True)
        self._writer.start()

    def say(self, samples: np.ndarray) -> None:
        """Queue caller audio (int16 at 8 kHz) to go out after what is already queued."""
        with self._pending_lock:
            self._pending.append(samples.astype(np.int16))

    def _write(self) -> None:
        t0 = time.monotonic()
        n = 0
        buf = np.zeros(0, np.int16)
        while not self._stop.is_set() and not self.hung_up.is_set():
            if buf.size == 0:
                with self._pending_lock:
                    if self._pending:
                        buf = self._pending.popleft()
                        self.sent_onsets.append(time.monotonic())
            chunk = np.zeros(FRAME, np.int16)
            take = buf[:FRAME]
            chunk[: take.size] = take
            buf = buf[FRAME:]
            self.send(frame(0x10, chunk.astype("<i2").tobytes()))
            n += 1
            delay = t0 + n * FRAME_S - time.monotonic()
            if delay > 0:
                time.sleep(delay)

    def _read(self) -> None:
        try:
            while True:
                header = self._exact(3)
                if header is None:
                    break
                kind, length = struct.unpack(">BH", header)
                payload = self._exact(length) if length else b""
                if payload is None:
                    break
                self.kinds.append(kind)
                if kind == 0x10:
                    self.received.append((time.monotonic(), np.frombuffer(payload, "<i2").astype(np.int16)))
                elif kind == 0x00:
                    break
        except OSError:
            pass
        self.hung_up.set()

    def _exact(self, n: int) -> bytes | None:
        data = b""
        while len(data) < n:
            try:
                chunk = self.sock.recv(n - len(data))
            except TimeoutError:
                return None
            if not chunk:
                return None
            data += chunk
        return data

    # -- what the caller hears ---------------------------------------------------------------

    def last_audio_at(self) -> float | None:
        return self.received[-1][0] if self.received else None

    def heard_samples(self) -> int:
        return sum(s.size for _, s in self.received)

    def close(self) -> None:
        self._stop.set()
        try:
            self.sock.close()
        except OSError:
            pass
        self._reader.join(timeout=5)
        if self._writer is not None:
            self._writer.join(timeout=5)
