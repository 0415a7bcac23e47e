"""Taking a caller's message in a `record` state (voicemail), the same way on every audio channel.

After the prompt a beep says "speak now"; the message then runs until the caller stops
(`final_silence` of silence after speech, or that long with no speech at all), presses the
state's terminator key, hangs up, or reaches `max_duration`, as VoiceXML's `<record>` and
Twilio's `<Record>` do. The message is saved as its own WAV (owner-only, like the call
recording) so a mailbox can list it and play it; the whole call recording holds it too.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from callwright.ivr.events import Recorded, StartRecording
from callwright.speech.audio import Audio, write_wav
from callwright.speech.vad import Endpointer, EndpointParams, NoInput, SpeechEnded

if TYPE_CHECKING:
    from callwright.speech.asr.base import Recognizer

MessageEnd = Literal["silence", "terminator", "max_duration", "hangup"]
BEEP_HZ = 1000.0
BEEP_S = 0.25
BEEP_LEVEL = 0.3  # of full scale: clearly audible, far from clipping after G.711
MESSAGES_DIR = "messages"  # under the recordings folder: one WAV per message
MESSAGE_MODE = 0o600
MESSAGE_DIR_MODE = 0o700


def beep(rate: int) -> np.ndarray:
    """The tone before a message: BEEP_S of BEEP_HZ with 10 ms ramps (no click)."""
    n = int(rate * BEEP_S)
    t = np.arange(n) / rate
    tone = np.sin(2 * np.pi * BEEP_HZ * t)
    ramp = min(n // 2, int(rate * 0.01))
    envelope = np.ones(n)
    envelope[:ramp] = np.linspace(0, 1, ramp)
    envelope[n - ramp :] = np.linspace(1, 0, ramp)
    return (tone * envelope * BEEP_LEVEL * 32767).astype(np.int16)


@dataclass
class MessageTaker:
    """Collects the caller's frames of one message and says when it is over (pure: no I/O)."""

    rate: int
    started_t: float
    max_s: float
    final_silence_s: float
    frames: list[np.ndarray] = field(default_factory=list)
    heard_speech: bool = False
    _samples: int = 0
    _endpointer: Endpointer = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._endpointer = Endpointer(
            self.rate,
            EndpointParams(
                no_input_timeout_s=self.final_silence_s,
                end_of_speech_s=self.final_silence_s,
                max_speech_s=None,
            ),
        )
        self._endpointer.reset(t=self.started_t)

    @property
    def duration_s(self) -> float:
        return self._samples / self.rate

    def feed(self, frame: np.ndarray, t: float) -> MessageEnd | None:
        """Take one frame of caller audio (starting at line time `t`); the reason the message is
        over, or None while it goes on."""
        room = int(round(self.max_s * self.rate)) - self._samples
        kept = frame[: max(room, 0)]
        if kept.size:
            self.frames.append(kept.astype(np.int16, copy=False))
            self._samples += kept.size
        for ev in self._endpointer.feed(np.asarray(frame, dtype=np.int16), t):
            if isinstance(ev, SpeechEnded):
                return "silence"
            if isinstance(ev, NoInput) and not self.heard_speech:
                return "silence"
            self.heard_speech = True
        if self._samples >= int(round(self.max_s * self.rate)):
            return "max_duration"
        return None

    def audio(self) -> Audio:
        samples = np.concatenate(self.frames) if self.frames else np.zeros(0, np.int16)
        return Audio(samples, self.rate)


def message_path(folder: Path, call_id: str, state: str) -> Path:
    """Where a message is kept: one file per call and record state, named so a listing sorts by call."""
    safe_state = "".join(c if c.isalnum() or c in "-_" else "_" for c in state)
    return folder / f"{call_id}-{safe_state}.wav"


def save_message(path: Path, audio: Audio) -> Path:
    """Write the message readable by its owner only (a caller's voice), in a private folder."""
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=MESSAGE_DIR_MODE)
        os.chmod(path.parent, MESSAGE_DIR_MODE)
    write_wav(path, audio)
    os.chmod(path, MESSAGE_MODE)
    return path


def finish_message(
    taken: Audio,
    *,
    call_id: str,
    action: StartRecording,
    ended: MessageEnd,
    folder: Path | None,
    recognizer: Recognizer | None,
) -> Recorded:
    """The `Recorded` event of a finished message: its own file when `folder` is set (the
    channel's messages folder), its words when the state asks for a transcript, and the language
    they were decoded in when the recogniser says (`recognizer` is the state's model told the
    call's language: `Recognizers.get(model, action.language)`)."""
    path = save_message(message_path(folder, call_id, action.state), taken) if folder is not None else None
    text, language = "", None
    if action.transcribe and recognizer is not None and taken.samples.size:
        segments = recognizer.transcribe(taken)
        text = " ".join(r.text.strip() for r in segments).strip()
        language = next((r.language.code for r in segments if r.language is not None), None)
    return Recorded(
        text=text,
        audio_path=str(path) if path is not None else None,
        duration_s=taken.samples.size / taken.rate,
        ended=ended,
        language=language,
    )
