"""The microphone channel: a live caller on this machine's sound card, with barge-in.

Sound goes through a `SoundDevice`: `PortAudioDevice` (sounddevice, imported only
here and only when a live call starts) in the product, and a fake that replays a
WAV in the tests, since no machine that runs the tests has a sound card. The
PortAudio callback only copies frames into a queue and pulls prompt audio from a
buffer; all the listening happens on the call's thread.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from callwright.errors import AudioError
from callwright.ivr.channels.audio import AudioLine
from callwright.ivr.clock import Clock
from callwright.ivr.events import (
    Action,
    CallerEvent,
    EndCall,
    Listen,
    Say,
    Speech,
    StartRecording,
    Transfer,
)
from callwright.speech.vad import SpeechStarted

if TYPE_CHECKING:
    from callwright.ivr.session import CallSession

log = logging.getLogger(__name__)


class SoundDevice(Protocol):
    rate: int

    def start(self, on_input: Callable[[np.ndarray], None]) -> None:
        """Begin capture; on_input gets int16 mono frames (from the audio thread)."""

    def play(self, samples: np.ndarray) -> None:
        """Queue int16 mono samples for playback; returns at once."""

    def stop_playback(self) -> None:
        """Drop whatever is still queued (barge-in)."""

    @property
    def playing(self) -> bool: ...

    def close(self) -> None: ...


class PortAudioDevice:
    """Full-duplex sound card through sounddevice (PortAudio)."""

    def __init__(self, rate: int, sd: Any) -> None:  # sd: the sounddevice module (untyped)
        self.rate = rate
        self._sd = sd
        self._out = np.zeros(0, np.int16)
        self._lock = threading.Lock()
        self._stream: Any = None  # a sounddevice.Stream once started

    def start(self, on_input: Callable[[np.ndarray], None]) -> None:
        def callback(indata, outdata, frames, _time, status) -> None:  # PortAudio thread
            on_input(indata[:, 0].copy())
            with self._lock:
                n = min(frames, self._out.size)
                outdata[:n, 0] = self._out[:n]
                outdata[n:, 0] = 0
                self._out = self._out[n:]

        self._stream = self._sd.Stream(
            samplerate=self.rate, channels=1, dtype="int16", blocksize=self.rate // 50, callback=callback
        )
        self._stream.start()

    def play(self, samples: np.ndarray) -> None:
        with self._lock:
            self._out = np.concatenate([self._out, samples.astype(np.int16)])

    def stop_playback(self) -> None:
        with self._lock:
            self._out = np.zeros(0, np.int16)

    @property
    def playing(self) -> bool:
        with self._lock:
            return self._out.size > 0

    def close(self) -> None:
        if self._stream is not None:
            self._stream.stop()
            self._stream.close()


def open_sound_device(rate: int) -> PortAudioDevice:
    """The default input and output device, or a plain message when there is none."""
    hint = "try --audio CALLER.yaml (a scripted caller) or --text (type as the caller)"
    try:
        import sounddevice as sd
    except OSError as err:  # PortAudio itself is missing
        raise AudioError(f"no sound device: {err}", hint=hint) from None
    try:
        devices = sd.query_devices()
        has_in = any(d.get("max_input_channels", 0) > 0 for d in devices)
        has_out = any(d.get("max_output_channels", 0) > 0 for d in devices)
    except Exception as err:  # PortAudioError has no stable import path
        raise AudioError(f"no sound device: {err}", hint=hint) from None
    if not (has_in and has_out):
        raise AudioError(
            "no sound device: this machine has no microphone and speaker that PortAudio can open", hint=hint
        )
    return PortAudioDevice(rate, sd)


class MicChannel:
    """A live caller: prompts play while the line listens, and speech stops a prompt."""

    name = "mic"

    def __init__(
        self, line: AudioLine, device: SoundDevice, clock: Clock, *, echo: Callable[[str], None] | None = None
    ) -> None:
        self.line = line
        self.device = device
        self.clock = clock
        self.echo = echo or (lambda s: None)
        self.frames: queue.Queue[np.ndarray] = queue.Queue()
        self.t0 = clock.now()
        self._samples_in = 0
        self._barge_in = True
        self._prompt_pending = False
        self.barge_ins: list[float] = []  # seconds from speech onset to the prompt stopping
        self.dialogue: list[str] = []
        device.start(self.frames.put)

    def _say(self, s: str) -> None:
        self.dialogue.append(s)
        self.echo(s)

    def perform(self, action: Action) -> None:
        if isinstance(action, Say):
            audio = self.line.render(action)
            self.line.ivr.add(self._line_time(), audio.samples)
            self.device.play(audio.samples)
            self._barge_in = action.barge_in
            self._prompt_pending = True
            self._say(f"IVR: {action.display}")
        elif isinstance(action, Listen):
            self.line.configure(action, self._line_time())
        elif isinstance(action, StartRecording):
            self.line.listen = None
        elif isinstance(action, Transfer):
            self._say(f"  [transfer to {action.queue or action.destination}]")
        elif isinstance(action, EndCall):
            while self.device.playing:
                time.sleep(0.02)
            self._say(f"  {action.display}")
            self.device.close()

    def _line_time(self) -> float:
        return self._samples_in / self.line.rate

    def receive(self, session: CallSession) -> CallerEvent | None:
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
                frame = self.frames.get(timeout=0.05)
            except queue.Empty:
                continue
            t = self._line_time()
            self._samples_in += frame.size
            playing = self.device.playing
            for ev in self.line.hear(frame, t):
                if isinstance(ev, SpeechStarted):
                    if playing and self._barge_in:
                        self.device.stop_playback()
                        self._prompt_pending = False
                        self.barge_ins.append(self._line_time() - ev.t)
                        self._say("  (barge-in: prompt stopped)")
                    continue
                if playing and not self._barge_in:
                    continue  # input during a prompt that may not be interrupted
                if isinstance(ev, Speech):
                    self._say(f'caller: "{session.shown_input(ev.text)}" ({ev.confidence:.2f})')
                return ev
