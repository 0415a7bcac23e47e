"""A live caller over any `LineDevice`: real time, barge-in, in-band and out-of-band keys.

The device (a sound card, an RTP stream, an AudioSocket connection, a WebRTC track)
pushes frames and events from its own thread into one queue, in arrival order; the
call's thread takes them out in `receive`, runs the audio line (endpointing, in-band
keys, recognition, the recording) and watches the session's deadline, so no-input
timers fire even when a far end sends no audio at all.

Barge-in: a prompt that allows it stops when the endpointer hears the caller start
speaking (the VAD needs `min_speech_ms` of voice, 100 ms, plus a 20 ms frame), and at
once when a key arrives (in-band or out-of-band). A prompt that does not allow it
plays out and input during it is dropped, as on every other channel.

The recording is aligned to the wall clock: when the far end stops sending audio
(packet loss, a silent client), the caller's track skips ahead instead of squeezing
the call, and a prompt cut off by barge-in is cut in the recording too.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from callwright.ivr.channels.audio import AudioLine
from callwright.ivr.channels.line import LineDevice
from callwright.ivr.channels.message import MessageEnd, MessageTaker, beep
from callwright.ivr.clock import Clock
from callwright.ivr.events import (
    Action,
    CallerEvent,
    Dtmf,
    EndCall,
    Hangup,
    Listen,
    Say,
    Speech,
    StartRecording,
    Transfer,
    TransferOutcome,
)
from callwright.speech.vad import SpeechStarted

if TYPE_CHECKING:
    from callwright.ivr.session import CallSession

log = logging.getLogger(__name__)

LINE_RATES = (8000, 16000, 32000, 48000)
"""Rates a live line runs at (the endpointer's VAD takes these; the recogniser resamples)."""
POLL_S = 0.02
"""How often `receive` looks at the deadline while no frame arrives."""
MAX_LAG_S = 0.2
"""Caller audio this far behind the wall clock means audio went missing: the line's
time skips ahead (silence in the recording) instead of falling further behind."""
KEY_MATCH_S = 0.6
"""An in-band tone and an out-of-band event of the same key within this are one press
(a gateway may send both)."""
MAX_QUEUED_FRAMES = 1500
"""Caller frames waiting for the call's thread (30 s of 20 ms frames, while a slow
recogniser runs): past this, frames are dropped (a device that sends faster than real
time cannot grow the queue without bound); keys and hang-ups always go through."""
GOODBYE_SLACK_S = 2.0
"""The last prompt may take this long past its own length to play out before the line
is closed anyway (a device that never drains cannot hold the call)."""


@dataclass(frozen=True)
class _Stop:
    """A request from outside the call's thread to end the call (shutdown, a line fault)."""

    reason: str
    outcome: str


_Item = np.ndarray | Dtmf | Hangup | TransferOutcome | _Stop


class _KeyMatcher:
    """Drops the second report of one key press that came both in-band and out-of-band."""

    def __init__(self) -> None:
        self._unmatched: dict[str, deque[tuple[float, str]]] = {"inband": deque(), "event": deque()}

    def accept(self, source: str, key: str, t: float) -> bool:
        other = self._unmatched["event" if source == "inband" else "inband"]
        for q in self._unmatched.values():
            while q and t - q[0][0] > KEY_MATCH_S:
                q.popleft()
        for i, (_, k) in enumerate(other):
            if k == key:
                del other[i]
                return False
        self._unmatched[source].append((t, key))
        return True


class LiveChannel:
    """A live caller on a `LineDevice`: prompts play while the line listens."""

    def __init__(
        self,
        line: AudioLine,
        device: LineDevice,
        clock: Clock,
        *,
        name: str = "live",
        echo: Callable[[str], None] | None = None,
    ) -> None:
        if device.rate != line.rate:
            raise ValueError(f"the device runs at {device.rate} Hz and the audio line at {line.rate} Hz")
        self.name = name
        self.line = line
        self.device = device
        self.clock = clock
        self.echo = echo or (lambda s: None)
        self.items: queue.Queue[_Item] = queue.Queue()
        self.t0 = clock.now()
        self._samples_in = 0
        self._barge_in = True
        self._prompt_pending = False
        self._play_until = 0.0  # line time at which the queued prompt audio ends
        self._hung_up = False
        self._stopping = threading.Event()
        self._keys = _KeyMatcher()
        self.barge_ins: list[float] = []  # seconds from speech onset to the prompt stopping
        self.dialogue: list[str] = []
        self.frames_dropped = 0
        self._recording: StartRecording | None = None  # a record state under way
        self._message: MessageTaker | None = None  # its message, once the prompt and beep are over
        device.start(self._put_frame, self.items.put)

    # -- from any thread ---------------------------------------------------------------

    def _put_frame(self, frame: np.ndarray) -> None:
        if self.items.qsize() >= MAX_QUEUED_FRAMES:
            self.frames_dropped += 1
            if self.frames_dropped == 1:
                log.warning(
                    "%s line: the call is %d frames behind; dropping audio", self.name, MAX_QUEUED_FRAMES
                )
            return
        self.items.put(frame)

    def end(self, reason: str, outcome: str = "error") -> None:
        """End the call from outside (server shutdown, a line fault): the call's thread aborts
        the session with this outcome and reason, so the call log says why."""
        self._stopping.set()
        self.items.put(_Stop(reason, outcome))

    # -- the call's thread -------------------------------------------------------------

    def _say(self, s: str) -> None:
        self.dialogue.append(s)
        self.echo(s)

    def _wall_t(self) -> float:
        return self.clock.now() - self.t0

    def _line_time(self) -> float:
        return max(self._samples_in / self.line.rate, self._wall_t() - MAX_LAG_S)

    def perform(self, action: Action) -> None:
        if isinstance(action, Say):
            audio = self.line.render(action)
            start = max(self._line_time(), self._play_until)
            self.line.ivr.add(start, audio.samples)
            self._play_until = start + audio.samples.size / self.line.rate
            self.device.play(audio.samples)
            self._barge_in = action.barge_in
            self._prompt_pending = True
            self._say(f"IVR: {action.display}")
        elif isinstance(action, Listen):
            self.line.configure(action, self._line_time())
        elif isinstance(action, StartRecording):
            self.line.listen = None
            self._recording = action
            self._message = None  # taken from the first frame after the prompt and the beep
            if action.beep:
                tone = beep(self.line.rate)
                start = max(self._line_time(), self._play_until)
                self.line.ivr.add(start, tone)
                self._play_until = start + tone.size / self.line.rate
                self.device.play(tone)
                self._barge_in = False  # the beep plays out: the message starts after it
                self._say("IVR: (beep)")
        elif isinstance(action, Transfer):
            self._say(f"  [transfer to {action.queue or action.destination}]")
            hand_on = getattr(self.device, "transfer", None)  # line.TransferringLine, optional
            if callable(hand_on):
                self._drain_playback()  # the caller hears "transferring you" before the far end takes over
                hand_on(action)  # it answers through on_event with a TransferOutcome
            else:
                self.items.put(TransferOutcome("transferred"))  # this line cannot hand a call on
        elif isinstance(action, EndCall):
            self._drain_playback()
            self._say(f"  {action.display}")
            self.device.close()

    def _drain_playback(self) -> None:
        """Let the goodbye play out (bounded), unless the caller hung up or the call is being stopped."""
        limit = self.clock.now() + max(0.0, self._play_until - self._line_time()) + GOODBYE_SLACK_S
        while self.device.playing and not self._hung_up and not self._stopping.is_set():
            if self.clock.now() >= limit:
                self.device.stop_playback()
                break
            self._stopping.wait(POLL_S)

    def _stop_prompt(self, t: float) -> None:
        """Barge-in: stop the device at once and cut the prompt in the recording at `t`."""
        self.device.stop_playback()
        self._prompt_pending = False
        _cut_track(self.line.ivr.pieces, t, self.line.rate)
        self._play_until = min(self._play_until, t)

    def receive(self, session: CallSession) -> CallerEvent | None:
        if self._hung_up:
            return Hangup()
        while True:
            if self._prompt_pending and not self.device.playing:
                self._prompt_pending = False
                session.listening_started()  # the no-input clock starts after the prompt
            if (
                not self._prompt_pending
                and session.deadline is not None
                and self.clock.now() >= session.deadline
                and not self.line._in_speech
            ):
                return None
            try:
                item = self.items.get(timeout=POLL_S)
            except queue.Empty:
                continue
            if isinstance(item, _Stop):
                return self._stop(session, item)
            if isinstance(item, Hangup):
                self._hung_up = True
                self._say("caller: (hangs up)")
                if self._message is not None and self._message.duration_s > 0:
                    return self._message_over(session, "hangup")  # the message is kept; Hangup next
                return Hangup()
            if isinstance(item, TransferOutcome):
                why = f" ({item.reason})" if item.reason else ""
                self._say(f"  [transfer result: {item.result}{why}]")
                return item
            if isinstance(item, Dtmf):
                ev = self._key(session, "event", item.key)
                if ev is not None:
                    return ev
                continue
            ev = self._frame(session, item)
            if ev is not None:
                return ev

    def _stop(self, session: CallSession, stop: _Stop) -> CallerEvent:
        self._say(f"  (call stopped: {stop.reason})")
        for action in session.abort(stop.reason, stop.outcome):
            if isinstance(action, EndCall):
                self._say(f"  {action.display}")
        self.device.stop_playback()
        self._hung_up = True
        return Hangup()  # the session has ended: the runner logs its end and returns

    def _key(self, session: CallSession, source: str, key: str) -> CallerEvent | None:
        if not self._keys.accept(source, key, self._wall_t()):
            return None  # the same press, reported the other way too
        if self._recording is not None and key == self._recording.terminator:
            if self._message is None:  # pressed during the prompt or the beep: an empty message
                self._message = MessageTaker(self.line.rate, self._line_time(), 0.0, 0.0)
            self._say(f"caller: presses {key} (end of message)")
            return self._message_over(session, "terminator")
        if self.device.playing:
            if not self._barge_in:
                return None  # input during a prompt that may not be interrupted
            self._stop_prompt(self._line_time())
            self._say("  (barge-in: prompt stopped by a key)")
        self._say(f"caller: presses {session.shown_input(key)}")
        return Dtmf(key)

    def _message_over(self, session: CallSession, ended: MessageEnd) -> CallerEvent:
        """The record state's message is over: save it (and transcribe it if asked)."""
        assert self._recording is not None and self._message is not None
        action, taken = self._recording, self._message
        self._recording = self._message = None
        self._say(f"  (message: {taken.duration_s:.1f} s, ended by {ended})")
        return self.line.message_over(taken.audio(), session.call_id, action, ended)

    def _frame(self, session: CallSession, frame: np.ndarray) -> CallerEvent | None:
        rate = self.line.rate
        frame = np.asarray(frame, dtype=np.int16).reshape(-1)
        if frame.size == 0:
            return None
        dur = frame.size / rate
        if self._wall_t() - (self._samples_in / rate + dur) > MAX_LAG_S:
            self._samples_in = int(round(max(0.0, self._wall_t() - dur) * rate))  # audio went missing
        t = self._samples_in / rate
        self._samples_in += frame.size
        playing = self.device.playing
        if self._recording is not None and not playing:
            if self._message is None:
                rec = self._recording
                self._message = MessageTaker(rate, t, rec.max_s, rec.final_silence_s)
            ended = self._message.feed(frame, t)
            if ended is not None:
                self.line.caller.add(t, frame)
                return self._message_over(session, ended)
        for ev in self.line.hear(frame, t):
            if isinstance(ev, SpeechStarted):
                if playing and self._barge_in:
                    self._stop_prompt(self._line_time())
                    self.barge_ins.append(self._line_time() - ev.t)
                    self._say("  (barge-in: prompt stopped)")
                    playing = False
                continue
            if isinstance(ev, Dtmf):
                key_ev = self._key(session, "inband", ev.key)
                if key_ev is not None:
                    return key_ev
                continue
            if playing and not self._barge_in:
                continue  # input during a prompt that may not be interrupted
            if isinstance(ev, Speech):
                self._say(f'caller: "{session.shown_input(ev.text)}" ({ev.confidence:.2f})')
            return ev
        return None


def _cut_track(pieces: list[tuple[float, np.ndarray]], t: float, rate: int) -> None:
    """Cut a recording track's pieces at time `t`: what was not played is not in the call."""
    kept: list[tuple[float, np.ndarray]] = []
    for start, samples in pieces:
        if start >= t:
            continue
        n = int(round((t - start) * rate))
        kept.append((start, samples[:n] if n < samples.size else samples))
    pieces[:] = kept
