"""Audio channels: the engine hears and speaks through a phone-like audio line.

`AudioLine` is the IVR side of a line, shared by every audio channel: it renders
prompts to audio, listens to the caller's frames with the endpointer and the DTMF
detector, sends each utterance to the recogniser with the phrases the state
expects, and keeps both directions for the call recording (caller left, IVR right).

`ScriptedAudioChannel` plays a caller script (WAV files, key presses, silence,
synthesised speech, hang-up) into a line on a timeline: in real time, or as fast
as the machine can (`--fast`), when the clock simply jumps.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from callwright.errors import DataError
from callwright.ivr.channels.message import MessageEnd, MessageTaker, beep, finish_message
from callwright.ivr.channels.script import Turn, load_caller_script
from callwright.ivr.clock import FakeClock
from callwright.ivr.events import (
    Action,
    CallerEvent,
    Dtmf,
    EndCall,
    Hangup,
    Listen,
    Recorded,
    Say,
    Speech,
    StartRecording,
    Transfer,
    TransferOutcome,
)
from callwright.speech.asr.base import Heard, OneRecognizer, Recognizer, Recognizers
from callwright.speech.asr.speculative import SPECULATE_AFTER_S, SpeculativeStream, can_speculate
from callwright.speech.audio import Audio, read_audio, resample, write_wav
from callwright.speech.dtmf import DtmfDetector, dtmf_tones
from callwright.speech.tts import PromptAudio, Synthesizer
from callwright.speech.vad import (
    Endpointer,
    EndpointParams,
    SpeechEnded,
    SpeechPaused,
    SpeechResumed,
    SpeechStarted,
)

if TYPE_CHECKING:
    from callwright.ivr.session import CallSession

__all__ = ["AudioLine", "ScriptedAudioChannel", "Turn", "TurnLatency", "load_caller_script"]

log = logging.getLogger(__name__)

FRAME_MS = 20
PRE_ROLL_S = 0.3  # audio kept before the detected start of speech, for the recogniser
DIGIT_WORDS = (
    "zero",
    "oh",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "double",
    "triple",
)
YESNO_WORDS = ("yes", "no", "yeah", "nope", "correct", "that's right", "that's wrong")
NUMBER_WORDS = DIGIT_WORDS + (
    "ten",
    "eleven",
    "twelve",
    "twenty",
    "thirty",
    "forty",
    "fifty",
    "sixty",
    "seventy",
    "eighty",
    "ninety",
    "hundred",
)


def expected_phrases(listen: Listen) -> list[str]:
    """What the recogniser should expect in this state (a grammar for Vosk, a prompt for Whisper)."""
    extra: tuple[str, ...] = ()
    if listen.collect == "digits":
        extra = DIGIT_WORDS
    elif listen.collect == "yesno":
        extra = YESNO_WORDS
    elif listen.collect == "number":
        extra = NUMBER_WORDS
    return list(dict.fromkeys(listen.phrases + extra))


def tentative_endpoint(end_of_speech_s: float) -> float | None:
    """When to decode speculatively in a state with this end-of-speech silence: after
    `SPECULATE_AFTER_S` of silence, if that is clearly before the end (else no gain)."""
    return SPECULATE_AFTER_S if SPECULATE_AFTER_S < end_of_speech_s - 0.1 else None


@dataclass(frozen=True)
class TurnLatency:
    """One caller turn: processing = the endpointer's (or key detector's) decision to the
    first byte of the next prompt; response = the actual end of speech to that byte, so it
    also holds the end-of-speech silence timeout."""

    kind: str  # speech | dtmf
    processing_s: float
    response_s: float
    state: str = ""  # the ask state the caller answered


@dataclass
class _Track:
    """One direction of the call as (start time, samples) pieces."""

    rate: int
    pieces: list[tuple[float, np.ndarray]] = field(default_factory=list)

    def add(self, t: float, samples: np.ndarray) -> None:
        if samples.size:
            self.pieces.append((t, samples.astype(np.int16, copy=False)))

    def render(self, length: int) -> np.ndarray:
        out = np.zeros(length, dtype=np.int32)
        for t, s in self.pieces:
            i = int(round(t * self.rate))
            j = min(length, i + s.size)
            if i < length:
                out[i:j] += s[: j - i]
        return np.clip(out, -32768, 32767).astype(np.int16)


class AudioLine:
    """The IVR's end of an audio line: prompts out; keys and speech in; both recorded.

    Each state is heard by the model its `Listen` names (the state's or the flow's `model:`,
    None for the process's default), asked of the `Recognizers` port: the line keeps one
    stream per model for the call and switches between them from state to state, and says
    which model heard each turn (`Speech.model`, logged with the turn).
    """

    def __init__(
        self,
        rate: int,
        recognizer: Recognizer | Recognizers,
        prompts: PromptAudio,
        *,
        speculate: bool = True,
    ) -> None:
        """`recognizer`: the models to hear with (`speech.asr.factory.ModelRecognizers`), or one
        recogniser for every state. `speculate`: decode at a tentative endpoint when the engine
        gains by it (`speech.asr.speculative`); False decodes only once the endpoint is certain."""
        self.rate = rate
        self.frame = rate * FRAME_MS // 1000
        self.recognizers: Recognizers = (
            recognizer if isinstance(recognizer, Recognizers) else OneRecognizer(recognizer)
        )
        self.prompts = prompts
        self._speculate = speculate
        self._streams: dict[Heard, SpeculativeStream] = {}  # one per model (and language) the call used
        self._use(self.recognizers.get(None))
        self.endpointer = Endpointer(rate, EndpointParams(no_input_timeout_s=None))
        self.dtmf = DtmfDetector(rate)
        self.caller = _Track(rate)
        self.ivr = _Track(rate)
        self.listen: Listen | None = None
        self._history: deque[np.ndarray] = deque(maxlen=max(1, int(PRE_ROLL_S * 1000 / FRAME_MS)))
        self._in_speech = False
        self.turn_timings: list[dict[str, float]] = []
        self.messages_dir: Path | None = None  # where record states keep their messages (None: not kept)

    def render(self, say: Say) -> Audio:
        # A prompt filled from variables may hold what the caller said: never in the disk cache.
        return self.prompts.render(
            say.text,
            file=say.audio,
            voice=say.voice,
            rate_wpm=say.rate,
            language=say.language,
            cache=not say.templated,
            ssml=say.ssml,
        )

    def _use(self, heard: Heard) -> None:
        """Hear with this model from now on (its stream opened on first use, kept for the call)."""
        self.heard = heard
        self.recognizer = heard.recognizer
        stream = self._streams.get(heard)
        if stream is None:
            speculate = self._speculate and can_speculate(heard.recognizer)
            stream = SpeculativeStream(heard.recognizer.open(self.rate), speculate=speculate)
            self._streams[heard] = stream
        self.stream = stream
        self.speculate = stream.speculate

    def configure(self, listen: Listen, t: float) -> None:
        """A new question: fresh endpointing with this state's model, timing and expected phrases."""
        self.listen = listen
        heard = self.recognizers.get(listen.model, listen.language)
        if heard != self.heard:
            if self._in_speech:  # the caller was cut off mid-utterance: forget it
                self.stream.reset()
                self._in_speech = False
            self._use(heard)
        self.endpointer.reset(
            EndpointParams(
                no_input_timeout_s=None,
                end_of_speech_s=listen.end_of_speech_s,
                max_speech_s=listen.max_speech_s,
                tentative_s=tentative_endpoint(listen.end_of_speech_s) if self.speculate else None,
            ),
            t,
        )
        if self._in_speech:  # the caller was cut off mid-utterance: forget it
            self.stream.reset()
        self.stream.set_phrases(expected_phrases(listen) or None)
        self._in_speech = False

    def hear(self, samples: np.ndarray, t: float) -> list[CallerEvent | SpeechStarted]:
        """Process one frame of caller audio that starts at time t."""
        self.caller.add(t, samples)
        out: list[CallerEvent | SpeechStarted] = []
        for key in self.dtmf.feed(samples):
            out.append(Dtmf(key.key))
        if self.listen is None or self.listen.mode == "dtmf":
            return out
        for ev in self.endpointer.feed(samples, t):
            if isinstance(ev, SpeechStarted):
                self._in_speech = True
                for pre in self._history:  # the pre-roll: speech starts before VAD is sure
                    self.stream.accept(pre)
                out.append(ev)
            elif isinstance(ev, SpeechPaused):
                self.stream.pause()  # probably done: start decoding what we have
            elif isinstance(ev, SpeechResumed):
                self.stream.resume()  # not done: the utterance goes on
            elif isinstance(ev, SpeechEnded):
                out.append(self._recognise(ev))
        if self._in_speech:
            # Streamed while the caller speaks (Vosk decodes as it goes; Whisper buffers,
            # and may have started at the tentative endpoint), so that only finish() or
            # the rest of a speculative decode is left once the endpointer decides.
            self.stream.accept(samples)
        else:
            self._history.append(samples)
        return out

    def _recognise(self, ev: SpeechEnded) -> Speech:
        self._in_speech = False
        self._history.clear()
        t0 = time.perf_counter()
        result = self.stream.finish()
        asr_s = time.perf_counter() - t0
        self.turn_timings.append({"speech_end": ev.t_end_of_speech, "decided": ev.t_decided, "asr_s": asr_s})
        return Speech(
            result.text,
            result.confidence,
            speech_start=ev.t_start,
            speech_end=ev.t_end_of_speech,
            model=self.heard.model,
        )

    def message_over(self, audio: Audio, call_id: str, action: StartRecording, ended: MessageEnd) -> Recorded:
        """A record state's message is over: kept in `messages_dir` (and transcribed if the state
        asks, by the state's model in the call's language), the same for every channel."""
        heard = self.recognizers.get(action.model, action.language) if action.transcribe else None
        recorded = finish_message(
            audio,
            call_id=call_id,
            action=action,
            ended=ended,
            folder=self.messages_dir,
            recognizer=heard.recognizer if heard is not None else None,
        )
        return replace(recorded, model=heard.model) if heard is not None and audio.samples.size else recorded

    def save_recording(self, path: Path, duration_s: float, meta: Mapping[str, str] | None = None) -> Path:
        """The call as stereo WAV (caller left, IVR right) and its sidecar `<name>.json` naming the
        channels' roles (see `recording_sidecar`), so `qa score` reads the caller as the customer."""
        ends = [int(round(t * self.rate)) + s.size for t, s in self.caller.pieces + self.ivr.pieces]
        n = max([int(round(duration_s * self.rate)), *ends])
        stereo = np.stack([self.caller.render(n), self.ivr.render(n)], axis=1)
        _private_dir(path.parent)
        write_wav(path, Audio(stereo, self.rate))
        os.chmod(path, RECORDING_MODE)  # the caller's voice: readable by the owner only
        sidecar = path.with_suffix(".json")
        sidecar.write_text(json.dumps(recording_sidecar(path.stem, meta), indent=1), encoding="utf-8")
        os.chmod(sidecar, RECORDING_MODE)
        return path


RECORDING_CHANNELS = ("customer", "agent")
"""The roles of an IVR recording's channels for QA: the caller (left) is the customer, and the IVR
(right) stands where an agent would, so a scorecard's agent items judge what the IVR said."""


def recording_sidecar(call_id: str, meta: Mapping[str, str] | None = None) -> dict[str, object]:
    """The QA sidecar of an IVR recording (docs/qa.md: the same keys a manifest row may set)."""
    return {"call_id": call_id, **(meta or {}), "channels": list(RECORDING_CHANNELS)}


RECORDING_MODE = 0o600
RECORDING_DIR_MODE = 0o700
"""Call recordings hold callers' voices (and what they key and say): files are created
readable by their owner only, and so are the folders created for them."""


def _private_dir(folder: Path) -> None:
    """Create `folder` (and missing parents) readable by the owner only; an existing
    folder keeps its mode (it may be shared on purpose)."""
    missing = []
    p = folder
    while not p.exists():
        missing.append(p)
        if p.parent == p:
            break
        p = p.parent
    for d in reversed(missing):
        d.mkdir(mode=RECORDING_DIR_MODE, exist_ok=True)
        os.chmod(d, RECORDING_DIR_MODE)  # mkdir's mode is masked by the umask


class ScriptedAudioChannel:
    """A scripted caller on an audio line, driven on a timeline the fake clock follows."""

    name = "audio"

    def __init__(
        self,
        turns: list[Turn],
        line: AudioLine,
        clock: FakeClock,
        *,
        synthesizer: Synthesizer | None = None,
        realtime: bool = False,
        echo: Callable[[str], None] | None = None,
    ) -> None:
        self.turns = deque(turns)
        self.line = line
        self.clock = clock
        self.synth = synthesizer
        self.realtime = realtime
        self.echo = echo or (lambda s: None)
        self._pending: np.ndarray = np.zeros(0, np.int16)
        self._hangup = False
        self._reports: deque[TransferOutcome] = deque()  # answers to Transfer actions
        self._listening_started = False
        self._recording: StartRecording | None = None  # the record state under way
        self._wall0 = time.monotonic()
        self.dialogue: list[str] = []
        self.ended_at: float | None = None
        self.turns_measured: list[TurnLatency] = []
        self._turn: tuple[str, float, float, float, str] | None = None

    def _say(self, s: str) -> None:
        self.dialogue.append(s)
        self.echo(s)

    def _advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        if self.realtime:
            lag = self.clock.now() - (time.monotonic() - self._wall0)
            if lag > 0:
                time.sleep(lag)

    # -- actions -------------------------------------------------------------------------

    def perform(self, action: Action) -> None:
        if isinstance(action, Say):
            audio = self.line.render(action)
            if self._turn is not None:  # first prompt audio after a caller turn: measure
                kind, end, decided, wall, state = self._turn
                processing = time.perf_counter() - wall
                self.turns_measured.append(TurnLatency(kind, processing, decided - end + processing, state))
                self._turn = None
            self.line.ivr.add(self.clock.now(), audio.samples)
            self._say(f"IVR: {action.display}")
            self._pending = np.zeros(0, np.int16)  # the caller waits for the prompt
            self._advance(audio.duration_s)
        elif isinstance(action, Listen):
            self.line.configure(action, self.clock.now())
            self._listening_started = False
        elif isinstance(action, StartRecording):
            self.line.listen = None
            self._listening_started = False
            self._recording = action
            if action.beep:
                tone = beep(self.line.rate)
                self.line.ivr.add(self.clock.now(), tone)
                self._say("IVR: (beep)")
                self._advance(tone.size / self.line.rate)
        elif isinstance(action, Transfer):
            self._say(f"  [transfer to {action.queue or action.destination}]")
            self._reports.append(TransferOutcome("transferred"))  # a scripted call cannot be handed on
        elif isinstance(action, EndCall):
            self.ended_at = self.clock.now()
            self._say(f"  {action.display}")

    # -- caller input ----------------------------------------------------------------------

    def _next_turn_audio(self, session: CallSession) -> bool:
        """Queue the next scripted turn's audio; False when the caller hangs up."""
        if not self.turns:
            return False
        turn = self.turns.popleft()
        rate = self.line.rate
        gap = np.zeros(int(turn.delay_s * rate), np.int16)
        if turn.kind == "hangup":
            self._say("caller: (hangs up)")
            return False
        if turn.kind == "silence":
            self._say(f"caller: (silent {turn.value:g} s)")
            audio = np.zeros(int(float(turn.value) * rate), np.int16)
        elif turn.kind == "dtmf":
            keys = str(turn.value)
            self._say(f"caller: presses {session.shown_input(keys)}")
            audio = dtmf_tones(keys, rate)
        elif turn.kind == "wav":
            self._say(f"caller: [{Path(turn.value).name}]")
            audio = resample(read_audio(turn.value).mono(), rate).samples
        else:
            if self.synth is None:
                raise DataError(f"caller script line {turn.line}: 'say' needs a speech synthesizer")
            self._say(f'caller: "{session.shown_input(str(turn.value))}"')
            # What a scripted caller says is caller data (a card number...): kept out of the disk cache.
            say = PromptAudio(self.synth, rate).render(str(turn.value), voice=turn.voice, cache=False)
            audio = say.samples
        self._pending = np.concatenate([gap, audio.astype(np.int16)])
        return True

    def receive(self, session: CallSession) -> CallerEvent | None:
        if self._reports:
            return self._reports.popleft()
        if self._hangup:
            return Hangup()
        if session.timer_kind == "record":
            return self._record(session)
        if not self._listening_started:
            session.listening_started()  # the prompt has played: the no-input clock starts now
            self._listening_started = True
        frame = self.line.frame
        while True:
            deadline = session.deadline
            if self._pending.size == 0 and not self.line._in_speech:
                if not self._next_turn_audio(session):
                    self._hangup = True
                    return Hangup()
            chunk = self._pending[:frame]
            self._pending = self._pending[frame:]
            if chunk.size < frame:
                chunk = np.concatenate([chunk, np.zeros(frame - chunk.size, np.int16)])
            t = self.clock.now()
            if deadline is not None and t >= deadline and not self.line._in_speech:
                self._pending = np.concatenate([chunk, self._pending])
                return None
            events = self.line.hear(chunk, t)
            self._advance(frame / self.line.rate)
            for ev in events:
                if isinstance(ev, SpeechStarted):
                    continue
                if isinstance(ev, Speech):
                    self._say(f'  heard: "{session.shown_input(ev.text)}" ({ev.confidence:.2f})')
                    timing = self.line.turn_timings[-1]
                    # the recogniser ran inside hear(): its wall time counts as processing
                    self._turn = (
                        "speech",
                        timing["speech_end"],
                        timing["decided"],
                        time.perf_counter() - timing["asr_s"],
                        session.state,
                    )
                else:
                    now = self.clock.now()
                    self._turn = ("dtmf", now, now, time.perf_counter(), session.state)
                return ev

    def _record(self, session: CallSession) -> CallerEvent | None:
        """A record state: the next turn is the message, taken frame by frame as on a live line
        (over at the terminator key, `final_silence` of silence, or `max_duration`); a caller
        who hangs up leaves the message said so far."""
        action = self._recording or StartRecording(session.state, 60.0, 3.0)
        rate, frame = self.line.rate, self.line.frame
        if not self._next_turn_audio(session):
            self._hangup = True
            return Hangup()  # gone before saying anything: no message
        audio = self._pending
        self._pending = np.zeros(0, np.int16)
        taker = MessageTaker(rate, self.clock.now(), action.max_s, action.final_silence_s)
        keys = DtmfDetector(rate)
        ended: MessageEnd | None = None
        i = 0
        while ended is None:
            chunk = audio[i : i + frame] if i < audio.size else np.zeros(frame, np.int16)
            if chunk.size < frame:
                chunk = np.concatenate([chunk, np.zeros(frame - chunk.size, np.int16)])
            if any(k.key == action.terminator for k in keys.feed(chunk)):
                ended = "terminator"
                break
            t = self.clock.now()
            self.line.caller.add(t, chunk)
            self._advance(frame / rate)
            ended = taker.feed(chunk, t)
            i += frame
        self._recording = None
        return self.line.message_over(taker.audio(), session.call_id, action, ended)
