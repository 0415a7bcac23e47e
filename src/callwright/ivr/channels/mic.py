"""The microphone channel: a live caller on this machine's sound card, with barge-in.

Sound goes through a `SoundDevice`: `PortAudioDevice` (sounddevice, imported only
here and only when a live call starts) in the product, and a fake that replays a
WAV in the tests, since no machine that runs the tests has a sound card. The
PortAudio callback only copies frames into a queue and pulls prompt audio from a
buffer; all the listening happens on the call's thread, in `LiveChannel` (the same
live channel the network lines use), so a sound card is one more `LineDevice`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from callwright.errors import AudioError
from callwright.ivr.channels.audio import AudioLine
from callwright.ivr.channels.live import LiveChannel
from callwright.ivr.clock import Clock
from callwright.ivr.events import Dtmf, Hangup

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


class _SoundCardLine:
    """A `SoundDevice` as a `LineDevice`: a sound card has no out-of-band keys or hang-up."""

    def __init__(self, device: SoundDevice) -> None:
        self.device = device
        self.rate = device.rate

    def start(
        self, on_input: Callable[[np.ndarray], None], on_event: Callable[[Dtmf | Hangup], None]
    ) -> None:
        self.device.start(on_input)

    def play(self, samples: np.ndarray) -> None:
        self.device.play(samples)

    def stop_playback(self) -> None:
        self.device.stop_playback()

    @property
    def playing(self) -> bool:
        return self.device.playing

    def close(self) -> None:
        self.device.close()


class MicChannel(LiveChannel):
    """A live caller at this machine's microphone and speaker (`callwright call --mic`)."""

    def __init__(
        self, line: AudioLine, device: SoundDevice, clock: Clock, *, echo: Callable[[str], None] | None = None
    ) -> None:
        super().__init__(line, _SoundCardLine(device), clock, name="mic", echo=echo)
