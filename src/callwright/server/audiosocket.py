"""Asterisk AudioSocket: the TCP protocol of Asterisk's `AudioSocket()` dialplan application.

Every message is a frame: 1 byte kind, 2 bytes payload length (big-endian), the payload.

    0x00  hang-up (no payload; closing the socket means the same)
    0x01  the call's UUID, 16 bytes; the first frame of a connection
    0x03  a DTMF key, 1 ASCII byte (newer Asterisk releases forward keys this way)
    0x10  audio: signed 16-bit little-endian PCM, 8 kHz mono (320 bytes = 20 ms)
    0xff  an error on the Asterisk side (payload: an optional error code)

The server answers with 0x10 frames of 320 bytes, paced at one every 20 ms (Asterisk plays
what it gets as it gets it), and a 0x00 frame when the IVR hangs up.

The number dialled: Asterisk hands over nothing but the UUID the dialplan chose, so the
dialplan writes the extension into it (docs/telephony.md has the snippet). The last 16
hex digits of the UUID are the number, left-padded with `f`: `...-ffff-ffff05550100` is
"05550100"; the first 16 are anything unique (a hash of `${UNIQUEID}`). A UUID without a
number in that form goes to the default flow.

Bad input never stops the server or leaks a call slot: a connection whose first frame is
not a UUID (or that sends none within `UUID_TIMEOUT_S`) is logged and closed before any
call starts; during a call a frame of the wrong size or an unknown kind is dropped and
logged, and past `MAX_BAD_FRAMES` of them the call ends (outcome error, with the reason);
a connection that drops is the caller hanging up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import threading
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from callwright.ivr.events import Dtmf, Hangup
from callwright.server.calls import CallHandle, CallServer, IncomingCall
from callwright.server.events import EventLog

log = logging.getLogger(__name__)

KIND_HANGUP = 0x00
KIND_UUID = 0x01
KIND_DTMF = 0x03
KIND_AUDIO = 0x10
KIND_ERROR = 0xFF
KINDS = {
    KIND_HANGUP: "hangup",
    KIND_UUID: "uuid",
    KIND_DTMF: "dtmf",
    KIND_AUDIO: "audio",
    KIND_ERROR: "error",
}

RATE = 8000
FRAME_BYTES = 320
FRAME_S = 0.02
DTMF_KEYS = "0123456789*#ABCD"

UUID_TIMEOUT_S = 5.0
"""A connection must send its UUID within this, or it is closed (no call slot is taken)."""
MAX_AUDIO_BYTES = 3200
"""An audio frame holds at most this (200 ms); larger, or an odd size, is a malformed frame."""
MAX_BAD_FRAMES = 50
"""Malformed or unknown frames a call tolerates (each dropped and counted); past this it ends."""
MAX_EARLY_FRAMES = 250
"""Frames and events held while the call's thread is starting (5 s of frames); older ones
are dropped, and the audio among them is dropped too when the line starts."""
MAX_SEND_BUFFER_BYTES = 64_000
"""Audio waiting in the socket for a peer that does not read (4 s): past this, frames are
dropped rather than held, so a stuck peer cannot grow the server's memory."""
MAX_AHEAD_S = 2.0
"""Caller audio may run this far ahead of real time (a burst after a network stall); audio
sent faster than that is dropped and counted as malformed (a flood cannot fill memory)."""
CLOSE_TIMEOUT_S = 2.0
"""How long closing a connection may wait for the peer to take the last bytes."""
LAG_RESET_S = 0.1
"""The pacer restarts its schedule when it falls this far behind (a busy loop), instead of bursting."""


@dataclass(frozen=True)
class Frame:
    kind: int
    payload: bytes


class ProtocolError(Exception):
    """A frame that breaks the protocol (what and why, for the log)."""


def encode_frame(kind: int, payload: bytes = b"") -> bytes:
    if not 0 <= kind <= 0xFF or len(payload) > 0xFFFF:
        raise ValueError("kind is one byte and a payload at most 65535 bytes")
    return struct.pack(">BH", kind, len(payload)) + payload


async def read_frame(reader: asyncio.StreamReader) -> Frame:
    """The next frame; `asyncio.IncompleteReadError` when the peer closes (even mid-frame)."""
    header = await reader.readexactly(3)
    kind, length = struct.unpack(">BH", header)
    payload = await reader.readexactly(length) if length else b""
    return Frame(kind, payload)


def uuid_for_number(number: str, unique: bytes | None = None) -> uuid.UUID:
    """The UUID a dialplan builds for `number` (decimal digits, at most 16): see the module doc."""
    if not number.isdigit() or not number.isascii() or len(number) > 16:
        raise ValueError(f"{number!r}: AudioSocket UUIDs carry 1 to 16 decimal digits")
    head = (unique or uuid.uuid4().bytes)[:8].hex()
    return uuid.UUID(head + number.rjust(16, "f"))


def number_from_uuid(u: uuid.UUID) -> str:
    """The dialled number a UUID carries, or "" when it carries none."""
    tail = u.hex[16:].lstrip("f")
    return tail if tail.isdigit() else ""


class AudioSocketDevice:
    """One AudioSocket connection as a `LineDevice` (8 kHz slin).

    Lives on the event loop: `play`, `stop_playback`, `playing` and `close` may be called
    from the call's thread; frames and keys go to the call through `start`'s callbacks.
    """

    rate = RATE

    def __init__(self, loop: asyncio.AbstractEventLoop, writer: asyncio.StreamWriter) -> None:
        self._loop = loop
        self._writer = writer
        self._lock = threading.Lock()
        self._out = bytearray()
        self._on_input: Callable[[np.ndarray], None] | None = None
        self._on_event: Callable[[Dtmf | Hangup], None] | None = None
        self._early: deque[np.ndarray | Dtmf | Hangup] = deque(maxlen=MAX_EARLY_FRAMES)
        self._wake = asyncio.Event()
        self._closed = False
        self._pacer: asyncio.Task[None] | None = None
        self.frames_dropped = 0  # outgoing frames a non-reading peer did not take

    # -- LineDevice (any thread) ---------------------------------------------------------

    def start(
        self, on_input: Callable[[np.ndarray], None], on_event: Callable[[Dtmf | Hangup], None]
    ) -> None:
        with self._lock:
            self._on_input, self._on_event = on_input, on_event
            early, self._early = list(self._early), deque()
        for item in early:
            # Audio from before the call's line existed is dropped (the caller has heard
            # nothing yet, and the line's time starts now); keys and a hang-up are kept.
            if not isinstance(item, np.ndarray):
                on_event(item)

    def play(self, samples: np.ndarray) -> None:
        data = np.asarray(samples, dtype="<i2").tobytes()
        with self._lock:
            if self._closed:
                return
            self._out += data
        self._loop.call_soon_threadsafe(self._wake.set)

    def stop_playback(self) -> None:
        with self._lock:
            self._out.clear()

    @property
    def playing(self) -> bool:
        with self._lock:
            return bool(self._out) and not self._closed

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._out.clear()
        with contextlib.suppress(RuntimeError):  # the loop already stopped
            self._loop.call_soon_threadsafe(self._close_on_loop)

    @property
    def closed(self) -> bool:
        return self._closed

    # -- the event loop's side -----------------------------------------------------------

    def begin_pacing(self) -> None:
        self._pacer = self._loop.create_task(self._pace())

    def caller_audio(self, samples: np.ndarray) -> None:
        self._deliver(samples)

    def caller_event(self, event: Dtmf | Hangup) -> None:
        self._deliver(event)

    def _deliver(self, item: np.ndarray | Dtmf | Hangup) -> None:
        with self._lock:
            on_input, on_event = self._on_input, self._on_event
            if on_input is None:
                self._early.append(item)
                return
        if isinstance(item, np.ndarray):
            on_input(item)
        elif on_event is not None:
            on_event(item)

    async def _pace(self) -> None:
        """Send queued prompt audio as 320-byte frames, one every 20 ms."""
        next_t = self._loop.time()
        while not self._closed:
            with self._lock:
                chunk = bytes(self._out[:FRAME_BYTES])
                del self._out[:FRAME_BYTES]
            if not chunk:
                self._wake.clear()
                await self._wake.wait()
                next_t = self._loop.time()
                continue
            chunk = chunk.ljust(FRAME_BYTES, b"\0")
            if self._writer.transport.get_write_buffer_size() > MAX_SEND_BUFFER_BYTES:
                self.frames_dropped += 1
            elif not self._writer.is_closing():
                self._writer.write(encode_frame(KIND_AUDIO, chunk))
            next_t += FRAME_S
            now = self._loop.time()
            if now - next_t > LAG_RESET_S:
                next_t = now
            await asyncio.sleep(max(0.0, next_t - now))

    def hang_up(self) -> None:
        """Close from the event loop's own thread: a 0x00 frame, then the socket."""
        with self._lock:
            self._closed = True
            self._out.clear()
        self._close_on_loop()

    def _close_on_loop(self) -> None:
        self._closed = True
        self._wake.set()
        if self._pacer is not None:
            self._pacer.cancel()
        if not self._writer.is_closing():
            with contextlib.suppress(OSError, RuntimeError):
                self._writer.write(encode_frame(KIND_HANGUP))
                self._writer.close()


class AudioSocketListener:
    """Accepts AudioSocket connections and hands each call to the `CallServer`."""

    def __init__(self, calls: CallServer, events: EventLog) -> None:
        self.calls = calls
        self.events = events
        self.connections = 0
        self._tasks: set[asyncio.Task[None]] = set()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One connection: UUID first, then the call's frames until either side hangs up."""
        self.connections += 1
        peer = _peer(writer)
        try:
            await self._connection(reader, writer, peer)
        except Exception as err:  # noqa: BLE001 - one connection's fault must not reach the server
            self.events.emit("line_error", channel="audiosocket", remote=peer, error=f"unexpected: {err!r}")
        finally:
            if not writer.is_closing():
                writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), CLOSE_TIMEOUT_S)

    async def _connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: str
    ) -> None:
        try:
            first = await asyncio.wait_for(read_frame(reader), UUID_TIMEOUT_S)
        except TimeoutError:
            self._refuse(writer, peer, f"no UUID frame within {UUID_TIMEOUT_S:g} s")
            return
        except (asyncio.IncompleteReadError, ConnectionError):
            self.events.emit("line_error", channel="audiosocket", remote=peer, error="closed before its UUID")
            return
        if first.kind != KIND_UUID or len(first.payload) != 16:
            what = (
                f"a UUID frame of {len(first.payload)} bytes (expected 16)"
                if first.kind == KIND_UUID
                else f"a frame of kind {_kind_name(first.kind)}"
            )
            self._refuse(writer, peer, f"the first frame must be the call's UUID; got {what}")
            return
        line_id = uuid.UUID(bytes=first.payload)
        number = number_from_uuid(line_id)
        device = AudioSocketDevice(asyncio.get_running_loop(), writer)
        handle = self.calls.offer(IncomingCall("audiosocket", device, called_number=number, remote=peer))
        if handle is None:
            device.hang_up()  # busy or shutting down: hang up at once
            return
        device.begin_pacing()
        done: asyncio.Future[Any] = asyncio.wrap_future(handle.future)
        reading: asyncio.Future[Any] = asyncio.ensure_future(self._read_call(reader, device, handle, peer))
        try:
            await asyncio.wait({done, reading}, return_when=asyncio.FIRST_COMPLETED)
            if not done.done():
                await done  # the far end hung up: the call's thread logs its end
        finally:
            reading.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reading
            device.hang_up()

    async def _read_call(
        self, reader: asyncio.StreamReader, device: AudioSocketDevice, handle: CallHandle, peer: str
    ) -> None:
        bad = 0
        reported: set[str] = set()
        loop = asyncio.get_running_loop()
        began, audio_s = loop.time(), 0.0

        def malformed(what: str) -> bool:
            """Log (once per kind of fault) and count; True when the call must end."""
            nonlocal bad
            bad += 1
            if what not in reported:
                reported.add(what)
                self.events.emit(
                    "line_error", channel="audiosocket", call_id=handle.call_id, remote=peer, error=what
                )
            return bad > MAX_BAD_FRAMES

        while True:
            try:
                frame = await read_frame(reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                device.caller_event(Hangup())  # the socket closed: the caller is gone
                return
            kind, payload = frame.kind, frame.payload
            if kind == KIND_AUDIO:
                if len(payload) % 2 or not payload or len(payload) > MAX_AUDIO_BYTES:
                    stop = malformed(
                        f"audio frame of {len(payload)} bytes dropped "
                        f"(expected an even size up to {MAX_AUDIO_BYTES}, normally {FRAME_BYTES})"
                    )
                elif audio_s - (loop.time() - began) > MAX_AHEAD_S:
                    stop = malformed(f"audio faster than real time (over {MAX_AHEAD_S:g} s ahead) dropped")
                else:
                    audio_s += len(payload) / 2 / RATE
                    device.caller_audio(np.frombuffer(payload, dtype="<i2").astype(np.int16))
                    continue
            elif kind == KIND_DTMF:
                key = payload.decode("ascii", "replace").upper() if len(payload) == 1 else ""
                if key and key in DTMF_KEYS:
                    device.caller_event(Dtmf(key))
                    continue
                stop = malformed(
                    f"DTMF frame of {len(payload)} bytes that is not one key ({DTMF_KEYS}) dropped"
                )
            elif kind == KIND_HANGUP:
                device.caller_event(Hangup())
                return
            elif kind == KIND_ERROR:
                code = payload.hex() or "none"
                self.events.emit(
                    "line_error",
                    channel="audiosocket",
                    call_id=handle.call_id,
                    remote=peer,
                    error=f"Asterisk reported an error (code {code}): treated as a hang-up",
                )
                device.caller_event(Hangup())
                return
            elif kind == KIND_UUID:
                stop = malformed("a second UUID frame dropped")
            else:
                stop = malformed(f"frame of unknown kind 0x{kind:02x} dropped")
            if stop:
                handle.end(f"the AudioSocket peer sent more than {MAX_BAD_FRAMES} malformed frames")
                return

    def _refuse(self, writer: asyncio.StreamWriter, peer: str, reason: str) -> None:
        self.events.emit("line_error", channel="audiosocket", remote=peer, error=reason)
        with contextlib.suppress(OSError, RuntimeError):
            writer.write(encode_frame(KIND_HANGUP))


def _kind_name(kind: int) -> str:
    return f"{KINDS[kind]} (0x{kind:02x})" if kind in KINDS else f"0x{kind:02x} (unknown)"


def _peer(writer: asyncio.StreamWriter) -> str:
    info = writer.get_extra_info("peername")
    if isinstance(info, tuple) and len(info) >= 2:
        return f"{info[0]}:{info[1]}"
    return str(info or "")
