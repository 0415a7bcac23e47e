"""`WebRtcLine`: one browser call as a line device (the `LineDevice` protocol of the live channel).

The IVR hears a telephone line, whatever the channel. The browser sends 48 kHz Opus (aiortc
decodes it to stereo 16-bit frames); the line mixes it down to mono and resamples it to
**8 kHz** int16 in 20 ms frames, so the recogniser, the endpointer and the key detector see
what they see on a SIP (G.711) or AudioSocket call, and a flow tuned on one channel behaves
the same on the others. (The 8 kHz band limit drops what a browser microphone carries above
4 kHz; nothing else of the telephone channel, such as noise or companding, is imitated.)

Prompts go the other way: 8 kHz int16 samples queued by `play` are cut into 20 ms frames by
`PromptTrack`, an aiortc `MediaStreamTrack` paced on the wall clock (silence when nothing is
queued, as a phone line carries), and aiortc's encoder resamples them to 48 kHz Opus (or sends
them as they are when the browser picked G.711).

Threads: aiortc runs on the server's event loop; the call runs on its own thread. Everything
the call thread calls here (`play`, `stop_playback`, `playing`, `show`, `close`) is
thread-safe and returns at once; the callbacks given to `start` are called on the event loop.
"""

from __future__ import annotations

import asyncio
import fractions
import json
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from callwright.ivr.events import Dtmf, Hangup

if TYPE_CHECKING:
    from aiortc import MediaStreamTrack, RTCDataChannel, RTCPeerConnection

log = logging.getLogger(__name__)

LINE_RATE = 8000
"""The IVR side of every browser call runs at 8 kHz, like a telephone line."""
FRAME_MS = 20
FRAME = LINE_RATE * FRAME_MS // 1000  # 160 samples
MAX_QUEUED_S = 120.0
"""Prompt audio one call may have queued at once; more is a bug in the caller of `play`
(a runaway loop), and is dropped with a warning rather than growing without bound."""
CLOSE_GRACE_S = 0.5
"""After the call ends, the connection stays up this long so the last dialogue message
(the call's end) reaches the page before the peer connection closes."""
MAX_PENDING_MESSAGES = 500
"""Dialogue messages kept while the data channel is not open yet (the oldest are dropped)."""

Role = Literal["ivr", "caller", "info", "end"]


def make_prompt_track() -> MediaStreamTrack:
    """Outbound audio: queued 8 kHz prompt samples in 20 ms frames, silence in between.

    An aiortc `MediaStreamTrack` of kind audio, with `enqueue`, `clear` and `queued`; the
    class is built here so that importing this module does not import aiortc."""
    from aiortc import MediaStreamTrack
    from aiortc.mediastreams import MediaStreamError
    from av import AudioFrame

    class _PromptTrack(MediaStreamTrack):
        kind = "audio"

        def __init__(self) -> None:
            super().__init__()
            self._lock = threading.Lock()
            self._queued = np.zeros(0, np.int16)
            self._start: float | None = None
            self._pts = 0
            self.frames_sent = 0
            self.first_audio_at: float | None = None  # monotonic time the first prompt frame left

        def enqueue(self, samples: np.ndarray) -> None:
            with self._lock:
                if self._queued.size + samples.size > MAX_QUEUED_S * LINE_RATE:
                    log.warning("webrtc: more than %.0f s of prompt audio queued; dropped", MAX_QUEUED_S)
                    return
                self._queued = np.concatenate([self._queued, samples.astype(np.int16, copy=False)])

        def clear(self) -> None:
            with self._lock:
                self._queued = np.zeros(0, np.int16)

        @property
        def queued(self) -> int:
            with self._lock:
                return int(self._queued.size)

        async def recv(self) -> AudioFrame:
            if self.readyState != "live":
                raise MediaStreamError
            # Paced on the wall clock from the first frame, like aiortc's own AudioStreamTrack:
            # a late frame is sent at once and the next ones catch up, so no drift accumulates.
            now = time.monotonic()
            if self._start is None:
                self._start = now
            else:
                self._pts += FRAME
                wait = self._start + self._pts / LINE_RATE - now
                if wait > 0:
                    await asyncio.sleep(wait)
            with self._lock:
                chunk = self._queued[:FRAME]
                self._queued = self._queued[FRAME:]
            if chunk.size and self.first_audio_at is None:
                self.first_audio_at = time.monotonic()
            out = np.zeros(FRAME, np.int16)
            out[: chunk.size] = chunk
            frame = AudioFrame.from_ndarray(out.reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate = LINE_RATE
            frame.pts = self._pts
            frame.time_base = fractions.Fraction(1, LINE_RATE)
            self.frames_sent += 1
            return frame

    return _PromptTrack()


class WebRtcLine:
    """One browser call as a `LineDevice`: caller audio and keys in, prompts out, dialogue shown.

    Made by the signalling endpoint once the browser's offer is accepted; `attach_*` are
    called on the event loop as aiortc reports the remote track and the data channel.
    """

    rate = LINE_RATE

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        pc: RTCPeerConnection,
        track: Any,  # the PromptTrack added to pc (an aiortc MediaStreamTrack)
        *,
        call_ref: str,
        on_closed: Callable[[], None] = lambda: None,
    ) -> None:
        self.loop = loop
        self.pc = pc
        self.out = track
        self.call_ref = call_ref
        self._on_closed = on_closed
        self._on_input: Callable[[np.ndarray], None] | None = None
        self._on_event: Callable[[Dtmf | Hangup], None] | None = None
        self._early_events: list[Dtmf | Hangup] = []
        self._channel: RTCDataChannel | None = None
        self._pending: list[str] = []
        self._closed = False
        self._hung_up = False
        self._lock = threading.Lock()
        self.frames_in = 0
        self.started_at = time.monotonic()

    # -- LineDevice ---------------------------------------------------------------------

    def start(
        self, on_input: Callable[[np.ndarray], None], on_event: Callable[[Dtmf | Hangup], None]
    ) -> None:
        """Begin delivering caller frames (8 kHz int16 mono, 20 ms) and events (keys, hang-up)."""
        with self._lock:  # held while the early ones go, so a new event cannot overtake them
            self._on_input = on_input
            self._on_event = on_event
            for ev in self._early_events:  # a key or hang-up that came before the call was running
                on_event(ev)
            self._early_events = []

    def play(self, samples: np.ndarray) -> None:
        if not self._closed:
            self.out.enqueue(samples)

    def stop_playback(self) -> None:
        self.out.clear()

    @property
    def playing(self) -> bool:
        return bool(self.out.queued) and not self._closed

    @property
    def closed(self) -> bool:
        """The call was hung up (by either end) or is being closed."""
        return self._closed

    def close(self) -> None:
        """Hang up (idempotent, any thread): the page is told, then the connection closes."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self.out.clear()
        try:
            self.loop.call_soon_threadsafe(self._close_soon)
        except RuntimeError:  # the event loop is gone (server shut down): nothing to close
            self._on_closed()

    # -- dialogue -----------------------------------------------------------------------

    def show(self, role: Role, text: str) -> None:
        """Show one line of the dialogue on the page (a prompt's display text, the caller's
        shown input, the call's end). Never pass raw caller data: the session's masked forms."""
        msg = json.dumps({"type": "show", "role": role, "text": text}, ensure_ascii=False)
        try:
            self.loop.call_soon_threadsafe(self._send, msg)
        except RuntimeError:
            pass

    def echo(self, line: str) -> None:
        """A channel's console echo ("IVR: ...", 'caller: "..."', "  [call ended: ...]") as
        dialogue: the same strings a live channel prints, sorted by who said them."""
        s = line.strip()
        if s.startswith("IVR: "):
            self.show("ivr", s[5:])
        elif s.startswith("caller: "):
            self.show("caller", s[8:])
        elif s.startswith("[call ended"):
            self.show("end", s)
        else:
            self.show("info", s)

    # -- event loop side ----------------------------------------------------------------

    def attach_channel(self, channel: RTCDataChannel) -> None:
        self._channel = channel

        @channel.on("open")
        def _open() -> None:
            self._flush()

        if channel.readyState == "open":
            self._flush()

    def _flush(self) -> None:
        ch = self._channel
        if ch is None or ch.readyState != "open":
            return
        pending, self._pending = self._pending, []
        for msg in pending:
            ch.send(msg)

    def _send(self, msg: str) -> None:
        ch = self._channel
        if ch is not None and ch.readyState == "open":
            ch.send(msg)
            return
        self._pending.append(msg)
        del self._pending[:-MAX_PENDING_MESSAGES]

    def deliver(self, event: Dtmf | Hangup) -> None:
        """A key from the keypad, or the far end's hang-up (once)."""
        if isinstance(event, Hangup):
            if self._hung_up:
                return
            self._hung_up = True
        with self._lock:
            if self._on_event is None:
                self._early_events.append(event)
            else:
                self._on_event(event)  # a queue put: never blocks

    def hear(self, samples: np.ndarray) -> None:
        on_input = self._on_input
        if on_input is not None and not self._closed:
            self.frames_in += 1
            on_input(samples)

    def _close_soon(self) -> None:
        self._send(json.dumps({"type": "bye"}))
        self.loop.call_later(CLOSE_GRACE_S, lambda: asyncio.ensure_future(self.shutdown()))

    async def shutdown(self) -> None:
        """Close the peer connection and free the call's slot (event loop; idempotent)."""
        self._closed = True
        self.out.stop()
        try:
            await self.pc.close()
        except Exception as err:  # noqa: BLE001 - closing must not fail the server
            log.warning("webrtc call %s: closing the connection: %s", self.call_ref, err)
        finally:
            self._on_closed()
        self.deliver(Hangup())  # the call (if it still runs) ends as hung up


async def pump_caller_audio(track: MediaStreamTrack, line: WebRtcLine) -> None:
    """Caller audio from the browser's track into the line until the track ends.

    aiortc hands over decoded frames (48 kHz stereo s16 for Opus, 8 kHz for G.711); each is
    mixed down and resampled to 8 kHz mono, then cut into exact 20 ms frames. When the track
    ends (the browser hung up, the connection dropped) the call gets a hang-up."""
    from aiortc.mediastreams import MediaStreamError
    from av import AudioFrame, AudioResampler

    resampler = AudioResampler(format="s16", layout="mono", rate=LINE_RATE)
    rest = np.zeros(0, np.int16)
    try:
        while True:
            frame = await track.recv()
            if not isinstance(frame, AudioFrame):  # an audio track yields audio frames only
                continue
            for out in resampler.resample(frame):
                rest = np.concatenate([rest, out.to_ndarray().reshape(-1).astype(np.int16, copy=False)])
            while rest.size >= FRAME:
                line.hear(rest[:FRAME].copy())
                rest = rest[FRAME:]
    except MediaStreamError:
        pass
    except asyncio.CancelledError:
        raise
    except Exception as err:  # noqa: BLE001 - a bad frame ends this call, never the server
        log.warning("webrtc call %s: caller audio failed: %s", line.call_ref, err)
    line.deliver(Hangup())
