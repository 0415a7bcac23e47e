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
from callwright.speech.audio import Audio


@dataclass(frozen=True)
class Capabilities:
    """What an engine can do, so the IVR can choose how to drive it."""

    streaming: bool  # results can be computed while audio arrives
    partials: bool  # accept() returns interim hypotheses
    word_timestamps: bool
    grammar: bool  # set_phrases restricts the search (not just a hint)
    sample_rates: tuple[int, ...]  # rates open() takes without resampling inside the engine


@dataclass(frozen=True)
class Relistened:
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
    (from the word times or segment times), else both are 0.
    """

    text: str
    confidence: float
    words: list[Word] = field(default_factory=list)
    is_final: bool = True
    start: float = 0.0
    end: float = 0.0


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
    def transcribe(self, audio: Audio) -> list[Recognition]:
        """Whole-file recognition: final segments with word timestamps (mono audio)."""

    def listen_again(self, audio: Audio, phrases: Sequence[str], offset_s: float = 0.0) -> Relistened | None:
        """Decode a stretch again primed with `phrases`, with how well the audio supports that
        reading (QA's second listen). None: this engine cannot weigh a text against audio."""
        return None


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
