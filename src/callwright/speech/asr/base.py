"""The one small interface every speech recogniser implements.

The IVR feeds 16-bit PCM frames into a `RecognizerStream` and asks for the
final result when its endpointer decides the caller has finished; QA calls
`Recognizer.transcribe` on a whole recording channel. Engines differ in what
they can do (Vosk streams partials and takes a grammar; Whisper decodes whole
utterances), so each declares `Capabilities` and callers check them instead
of catching surprises.

Confidence is always 0..1 but means different things per engine; each engine
module documents how it computes it. Word timestamps are seconds from the
start of the stream (or of the transcribed audio), not of the utterance.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np

from callwright.errors import AudioError
from callwright.speech.asr.languages import MULTILINGUAL, SpokenLanguage, serves
from callwright.speech.audio import Audio


@dataclass(frozen=True)
class Capabilities:
    """What an engine can do, so callers choose how to drive it instead of asking its name.

    Who reads what (docs/architecture.md, "Ports"): QA's pipeline passes a
    track's context phrases only to an engine with `priming`, its speech regions
    only to one with `speech_regions`, keeps segments' own word times when
    `word_timestamps` (else spreads the words over the segment), and binds the
    second listen only to an engine with `second_listen`; the Vosk stream reads
    `grammar`. The IVR's audio line decodes speculatively at a tentative endpoint
    (`speculative`) with an engine whose streams `fork` and do their work in
    `finish()` (not `streaming`). `streaming`, `partials` and `sample_rates`
    describe the stream for callers that will drive engines differently.

    `languages` are what the loaded model hears (`languages.MULTILINGUAL`: any; () not declared,
    as a Wyoming server's): `qa score --language`, `asr --language` and a call's `language`
    field are checked against them (`languages.check_language`) before anything is decoded.
    `language_detection`: told no language, `transcribe()` and `detect_language()` find it.
    """

    streaming: bool  # results can be computed while audio arrives
    partials: bool  # accept() returns interim hypotheses
    word_timestamps: bool  # every Recognition's words carry their own times
    grammar: bool  # set_phrases restricts the search (not just a hint)
    sample_rates: tuple[int, ...]  # rates open() takes without resampling inside the engine
    priming: bool = False  # transcribe() uses TranscribeOptions.phrases as context (a hint)
    speech_regions: bool = False  # transcribe() decodes only TranscribeOptions.speech
    second_listen: bool = False  # second_listen() re-decodes a stretch primed with phrases, with support
    fork: bool = False  # streams fork(): the utterance so far, finished apart (speculative decoding)
    languages: tuple[str, ...] = ()  # ISO 639 codes the model hears, (MULTILINGUAL,), or () undeclared
    language_detection: bool = False  # transcribe()/detect_language() find the language when not told

    def hears(self, language: str) -> bool | None:
        """Whether the model hears `language`; None when it does not declare its languages."""
        return serves(self.languages, language) if self.languages else None

    @property
    def multilingual(self) -> bool:
        return MULTILINGUAL in self.languages


Region = tuple[float, float]
"""(start, end) seconds from the start of the audio."""


@dataclass(frozen=True)
class TranscribeOptions:
    """What a whole-file transcription may be told about the audio (all optional hints).

    `phrases` are what the speech is expected to hold (a scorecard's phrasings,
    company and product names): an engine with `Capabilities.priming` takes them
    as context, as the IVR gives a state's phrases. `speech` is where someone
    speaks (QA's own voice activity): an engine with
    `Capabilities.speech_regions` decodes only those stretches, each kept with
    `speech_pad_s` of audio either side and joined with `speech_gap_s` of
    silence between. An engine ignores what its capabilities do not list, so a
    caller that reads them passes only what is used.

    `language` is what the speech is in (`es`, `es-MX`): a multilingual model decodes it; None
    lets the model decide (its one language, or the language it detects). Callers check it
    against `Capabilities.languages` first: an engine does not refuse a language here.
    """

    phrases: tuple[str, ...] = ()
    speech: tuple[Region, ...] | None = None  # None: the engine finds the speech itself
    speech_pad_s: float = 0.2
    speech_gap_s: float = 0.3
    language: str | None = None  # None: the model's own language, or detected (language_detection)

    def __post_init__(self) -> None:
        if self.speech_pad_s < 0 or self.speech_gap_s < 0:
            raise ValueError(
                "speech_pad_s and speech_gap_s must not be negative, "
                f"got {self.speech_pad_s} and {self.speech_gap_s}"
            )
        for a, b in self.speech or ():
            if not (0.0 <= a <= b):
                raise ValueError(f"speech region ({a}, {b}) must have 0 <= start <= end (seconds)")

    @classmethod
    def of(
        cls,
        phrases: Sequence[str] | None = None,
        speech: Sequence[Region] | None = None,
        language: str | None = None,
    ) -> TranscribeOptions:
        """Options from plain sequences (lists from a caller) made immutable."""
        return cls(
            phrases=tuple(phrases or ()),
            speech=None if speech is None else tuple((float(a), float(b)) for a, b in speech),
            language=language or None,
        )


NO_OPTIONS = TranscribeOptions()
"""No hints: the engine finds the speech itself and expects nothing in particular."""


@dataclass(frozen=True)
class SecondReading:
    """A stretch decoded again, primed with the phrases looked for, and how far to trust it."""

    recognition: Recognition  # the primed reading; word times in the call
    plain_text: str  # what the same audio decodes to without a prompt
    support: float  # nats per token: the primed text's log-likelihood minus the plain decode's, unprompted


@dataclass(frozen=True)
class Word:
    """One recognised word; times in seconds from the start of the stream or file."""

    word: str
    start: float
    end: float
    confidence: float


@dataclass(frozen=True)
class Recognition:
    """A hypothesis for one utterance (or one segment of a transcribed file).

    `start`/`end` bound the speech in seconds when the engine knows them
    (from the word times or segment times), else both are 0. `language`: what it was decoded
    as, when the engine says (a whole-file transcription by Whisper does; detected or told).
    """

    text: str
    confidence: float
    words: list[Word] = field(default_factory=list)
    is_final: bool = True
    start: float = 0.0
    end: float = 0.0
    language: SpokenLanguage | None = None


class RecognizerStream(ABC):
    """One caller's audio going into one engine instance; use it from one thread only.

    The stream is long-lived (a whole call): `finish()` closes the current
    utterance and the next `accept()` starts a new one.
    """

    sample_rate: int

    @abstractmethod
    def accept(self, pcm16: bytes | np.ndarray) -> Recognition | None:
        """Feed audio; returns a partial (is_final=False) when the hypothesis changed."""

    @abstractmethod
    def set_phrases(self, phrases: Sequence[str] | None) -> None:
        """Bias (or restrict) recognition to these phrases from the next utterance; None resets."""

    @abstractmethod
    def finish(self) -> Recognition:
        """Final result for the audio accepted since the previous finish()."""

    def reset(self) -> None:
        """Drop the utterance in progress (the caller was cut off, e.g. by a key press).

        The default finishes it and throws the result away; engines that decode
        in finish() override this so that nothing is decoded for nothing.
        """
        self.finish()

    def fork(self) -> RecognizerStream | None:
        """A new stream holding a copy of the utterance so far (same phrases, same times) whose
        `finish()` may run on another thread while this one goes on; None when the engine cannot
        (`Capabilities.fork` says which do)."""
        return None

    def close(self) -> None:  # noqa: B027 - optional hook, most engines free on GC
        """Release engine resources early (optional)."""

    def __enter__(self) -> RecognizerStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Recognizer(ABC):
    """An engine with its model loaded; cheap to share, hands out one stream per caller."""

    name: str
    capabilities: Capabilities

    @abstractmethod
    def open(self, sample_rate: int, phrases: Sequence[str] | None = None) -> RecognizerStream:
        """A new stream for `sample_rate` Hz mono PCM, optionally biased to `phrases`."""

    @abstractmethod
    def transcribe(self, audio: Audio, options: TranscribeOptions = NO_OPTIONS) -> list[Recognition]:
        """Whole-file recognition of mono audio: final segments (with word times when
        `capabilities.word_timestamps`). `options` are hints; see `TranscribeOptions`."""

    def for_language(self, language: str | None) -> Recognizer:
        """This recogniser hearing `language` (a call's language, `es` or `es-MX`): another one on
        the same loaded model when the model hears several languages and must be told which
        (Whisper base), else self (a model of one language: Vosk, tiny.en)."""
        return self

    def detect_language(self, audio: Audio) -> SpokenLanguage | None:
        """The language spoken in `audio` (mono) with the model's probability for it; None from an
        engine without `capabilities.language_detection` (or when there is no speech to judge)."""
        return None

    def second_listen(
        self, audio: Audio, phrases: Sequence[str], offset_s: float = 0.0
    ) -> SecondReading | None:
        """Decode a stretch again primed with `phrases`, with how well the audio supports that
        reading (QA's second listen), word times shifted by `offset_s`. None: nothing to offer
        (no speech, too long), and always None from an engine without `capabilities.second_listen`."""
        return None

    def screen_listen(self, audio: Audio, phrases: Sequence[str]) -> str | None:
        """A quick primed reading of a stretch (text only, never evidence) that tells QA's second
        listen whether a full `second_listen` could hear one of `phrases` there. None: this engine
        offers no screen, so every stretch is listened to in full."""
        return None


@dataclass(frozen=True)
class Heard:
    """A recogniser for one model, and the model's name as the call log records it."""

    recognizer: Recognizer
    model: str  # a registry name, a directory, or what the default engine is (`whisper`, `wyoming://...`)


class Recognizers(ABC):
    """The recognisers a process offers, by speech model: the port the IVR's audio line asks
    per state (a flow's or state's `model:`), so nothing in `ivr/` builds an engine.

    Models are loaded once per process and shared by every call: asking twice for one model
    gives the same recogniser, each call opening its own stream on it.
    """

    @abstractmethod
    def get(self, model: str | None = None, language: str | None = None) -> Heard:
        """The recogniser for `model` (a registry name or a model directory); None: the default
        one (`--engine`/`--model`), hearing `language` when the model must be told (see
        `Recognizer.for_language`). A model that cannot be had raises `ModelNotFoundError`."""

    def preload(self, models: Sequence[str]) -> None:
        """Load these models now (a server before its first call; `call` before the prompt)."""
        for model in models:
            self.get(model)


class OneRecognizer(Recognizers):
    """A single recogniser for every state: what a caller that built one engine passes.

    A flow that names a model other than the default is refused when the line asks for it,
    since this holder has nothing else to offer (callers that run flows pass the factory's
    `ModelRecognizers` instead)."""

    def __init__(self, recognizer: Recognizer, model: str | None = None) -> None:
        self.heard = Heard(recognizer, model or recognizer.name)
        self._by_language: dict[str, Heard] = {}
        self._lock = threading.Lock()

    def get(self, model: str | None = None, language: str | None = None) -> Heard:
        if model is None or model == self.heard.model:
            if not language:
                return self.heard
            with self._lock:  # a multilingual model told the call's language (see for_language)
                found = self._by_language.get(language)
                if found is None:
                    told = self.heard.recognizer.for_language(language)
                    found = self.heard if told is self.heard.recognizer else Heard(told, self.heard.model)
                    self._by_language[language] = found
                return found
        raise AudioError(
            f"this line has one speech recogniser ({self.heard.model}); the flow asks for model {model!r}"
        )


def as_int16(pcm16: bytes | np.ndarray) -> np.ndarray:
    """Samples from either raw little-endian bytes or an int16 array (no copy when possible)."""
    if isinstance(pcm16, (bytes, bytearray, memoryview)):
        if len(pcm16) % 2:
            raise ValueError("16-bit PCM must have an even number of bytes")
        return np.frombuffer(pcm16, dtype="<i2").astype(np.int16, copy=False)
    array = np.asarray(pcm16)
    if array.dtype != np.int16:
        raise TypeError(f"PCM frames must be int16, got {array.dtype}")
    if array.ndim != 1:
        raise ValueError(f"PCM frames must be mono (1-D), got shape {array.shape}")
    return array


def require_mono(audio: Audio) -> Audio:
    """`audio` if it has one channel; a call recording must be split first (QA does per side)."""
    if audio.channels != 1:
        raise AudioError(f"transcribe takes one channel, got {audio.channels}; pass audio.channel(i)")
    return audio


def check_rate(sample_rate: int) -> int:
    """A stream's input rate, which must be positive (engines resample from it)."""
    if sample_rate <= 0:
        raise ValueError(f"sample rate must be positive, got {sample_rate}")
    return sample_rate


def mean(values: Sequence[float], default: float = 0.0) -> float:
    """Arithmetic mean, `default` when there is nothing to average (no words recognised)."""
    return float(sum(values) / len(values)) if values else default


def join_words(words: Sequence[Word]) -> str:
    """The text of a word list, as engines that report words build their text."""
    return " ".join(w.word for w in words)


_T = TypeVar("_T")
_models: dict[tuple[str, str], object] = {}
_models_lock = threading.Lock()


def load_once(kind: str, key: str, loader: Callable[[], _T]) -> _T:
    """Load a model the first time it is asked for and share it for the rest of the process.

    Models take seconds and hundreds of MB to load while recognisers on top of
    them are cheap, so every stream and every Recognizer object for the same
    model path share one instance. The lock makes two threads asking at once
    load it only once.
    """
    with _models_lock:
        cached = _models.get((kind, key))
        if cached is None:
            cached = loader()
            _models[(kind, key)] = cached
        return cached  # type: ignore[return-value]
