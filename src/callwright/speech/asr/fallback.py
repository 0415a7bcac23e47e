"""Two engines behind one `Recognizer`: the primary answers, the fallback when the primary cannot.

As LiveKit's FallbackAdapter does for its speech-to-text plugins: a spec such as
`whisper,vosk` (see `factory`) keeps a deployment answering when its preferred
engine is missing or breaks. Two kinds of trouble are handled:

- **A missing engine.** Each engine is given as a recogniser or as a loader
  (a function returning one). A loader that raises `ModelNotFoundError` (the
  model is not installed) or `ImportError` (the engine's library is not)
  leaves that engine out, logged once; with both out, the primary's error is
  raised. Both are loaded up front, so a fallback in the middle of a call
  does not stall on a model load, and so their capabilities are known.
- **A failure at run time.** An exception from the primary's `transcribe`,
  `second_listen`, `open` or a stream's `accept`/`finish` sends that request
  to the fallback; the first failure of an engine is logged as a warning,
  later ones at debug level. The primary is tried first again on the next
  request (a file, a stretch, a new stream): the failures it has are usually
  about one input. A stream that failed over stays on the fallback for the
  rest of its call, with the utterance in progress replayed into it and its
  times shifted to the stream's. The caller's own mistakes (`AudioError` such
  as stereo audio, `ValueError`, `TypeError`) are raised at once: the
  fallback would refuse them too.

Capabilities: what the caller can count on whichever engine answers, and what
is worth passing. The promises about results (`streaming`, `partials`,
`word_timestamps`, `grammar`, `sample_rates`) hold only if both engines keep
them, so they are the engines' intersection. The hints (`priming`,
`speech_regions`, `second_listen`) are the union: an engine ignores options it
cannot use (the `TranscribeOptions` contract) and a second listen that is not
available is None, which the caller already handles, so passing them costs
nothing while the engine that can use them (usually the primary) does better.
With one engine left out at load, the capabilities are the other's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TypeVar

import numpy as np

from callwright.errors import AudioError, ModelNotFoundError
from callwright.speech.asr.base import (
    NO_OPTIONS,
    Capabilities,
    Recognition,
    Recognizer,
    RecognizerStream,
    SecondReading,
    TranscribeOptions,
    Word,
    as_int16,
    check_rate,
)
from callwright.speech.asr.languages import MULTILINGUAL, SpokenLanguage, serves
from callwright.speech.audio import Audio

log = logging.getLogger(__name__)

Loader = Callable[[], Recognizer]
_T = TypeVar("_T")
# Errors of the caller, not of an engine: the other engine would raise them too.
_CALLER_ERRORS = (AudioError, ValueError, TypeError)
# Errors that mean an engine is not installed (its model or its library).
_MISSING = (ModelNotFoundError, ImportError)


def combined(primary: Capabilities, fallback: Capabilities) -> Capabilities:
    """What two engines behind one recogniser offer: promises both keep, hints either uses."""
    return Capabilities(
        streaming=primary.streaming and fallback.streaming,
        partials=primary.partials and fallback.partials,
        word_timestamps=primary.word_timestamps and fallback.word_timestamps,
        grammar=primary.grammar and fallback.grammar,
        sample_rates=tuple(r for r in primary.sample_rates if r in fallback.sample_rates),
        priming=primary.priming or fallback.priming,
        speech_regions=primary.speech_regions or fallback.speech_regions,
        second_listen=primary.second_listen or fallback.second_listen,
        languages=_both_hear(primary.languages, fallback.languages),
        language_detection=primary.language_detection and fallback.language_detection,
    )


def _both_hear(primary: tuple[str, ...], fallback: tuple[str, ...]) -> tuple[str, ...]:
    """The languages both engines hear (a language promise must hold whichever answers); ()
    when either does not declare its own."""
    if not primary or not fallback:
        return ()
    if MULTILINGUAL in primary:
        return fallback
    return tuple(lang for lang in primary if serves(fallback, lang))


class FallbackRecognizer(Recognizer):
    """`primary` unless it is missing or fails, then `fallback` (each a recogniser or a loader)."""

    def __init__(self, primary: Recognizer | Loader, fallback: Recognizer | Loader) -> None:
        errors: list[Exception] = []
        self.engines: list[Recognizer] = []
        for role, given in (("primary", primary), ("fallback", fallback)):
            if isinstance(given, Recognizer):
                self.engines.append(given)
                continue
            try:
                self.engines.append(given())
            except _MISSING as err:
                log.warning("ASR %s engine not available, left out: %s", role, err)
                errors.append(err)
        if not self.engines:
            raise errors[0]
        self.name = ",".join(e.name for e in self.engines)
        caps = [e.capabilities for e in self.engines]
        self.capabilities = combined(caps[0], caps[-1]) if len(caps) == 2 else caps[0]
        self._warned: set[int] = set()

    def failed(self, engine: Recognizer, what: str, err: Exception) -> None:
        """Log an engine's failure: a warning the first time for this engine, then at debug level."""
        first = id(engine) not in self._warned
        self._warned.add(id(engine))
        log.log(
            logging.WARNING if first else logging.DEBUG,
            "ASR engine %s failed in %s (%s: %s); using %s%s",
            engine.name,
            what,
            type(err).__name__,
            err,
            self.engines[-1].name,
            " (logged once; later failures at debug level)" if first else "",
        )

    def _first(self, what: str, engines: Sequence[Recognizer], call: Callable[[Recognizer], _T]) -> _T:
        """`call` on the first engine that does not fail; the last engine's failure is raised."""
        for engine in engines[:-1]:
            try:
                return call(engine)
            except _CALLER_ERRORS:
                raise
            except Exception as err:  # noqa: BLE001 - any engine failure is what we fall back on
                self.failed(engine, what, err)
        return call(engines[-1])

    def open(self, sample_rate: int, phrases: Sequence[str] | None = None) -> RecognizerStream:
        return FallbackStream(self, sample_rate, phrases)

    def transcribe(self, audio: Audio, options: TranscribeOptions = NO_OPTIONS) -> list[Recognition]:
        return self._first("transcribe", self.engines, lambda e: e.transcribe(audio, options))

    def for_language(self, language: str | None) -> Recognizer:
        told = [e.for_language(language) for e in self.engines]
        if all(t is e for t, e in zip(told, self.engines, strict=True)):
            return self
        return FallbackRecognizer(*told) if len(told) == 2 else told[0]

    def detect_language(self, audio: Audio) -> SpokenLanguage | None:
        able = [e for e in self.engines if e.capabilities.language_detection]
        return self._first("detect_language", able, lambda e: e.detect_language(audio)) if able else None

    def second_listen(
        self, audio: Audio, phrases: Sequence[str], offset_s: float = 0.0
    ) -> SecondReading | None:
        able = [e for e in self.engines if e.capabilities.second_listen]
        if not able:
            return None
        return self._first("second_listen", able, lambda e: e.second_listen(audio, phrases, offset_s))


def _shifted(rec: Recognition, offset_s: float) -> Recognition:
    """`rec` with its times moved by `offset_s` (a fallback stream opened mid-call counts from 0)."""
    if not offset_s:
        return rec
    words = [Word(w.word, w.start + offset_s, w.end + offset_s, w.confidence) for w in rec.words]
    start, end = (rec.start + offset_s, rec.end + offset_s) if rec.end else (0.0, 0.0)
    return Recognition(rec.text, rec.confidence, words, rec.is_final, start, end)


class FallbackStream(RecognizerStream):
    """The primary engine's stream until it fails, then the fallback's for the rest of the call.

    The audio of the utterance in progress is kept, so that a failure in the
    middle of one (or in `finish`) replays it into the fallback's stream.
    """

    def __init__(self, owner: FallbackRecognizer, sample_rate: int, phrases: Sequence[str] | None) -> None:
        self.sample_rate = check_rate(sample_rate)
        self._owner = owner
        self._phrases = list(phrases) if phrases else None  # in effect for this utterance
        self._next: tuple[bool, list[str] | None] = (False, None)  # set mid-utterance, for the next
        self._utterance: list[np.ndarray] = []
        self._elapsed = 0  # samples of earlier utterances
        self._offset_s = 0.0  # where the active stream's time 0 is in this stream's time
        self._index, self._stream = self._open_from(0, 0.0)

    def _open_from(self, index: int, offset_s: float) -> tuple[int, RecognizerStream]:
        engines = self._owner.engines
        for i in range(index, len(engines) - 1):
            try:
                self._offset_s = offset_s
                return i, engines[i].open(self.sample_rate, self._phrases)
            except _CALLER_ERRORS:
                raise
            except Exception as err:  # noqa: BLE001 - any engine failure is what we fall back on
                self._owner.failed(engines[i], "open", err)
        self._offset_s = offset_s
        return len(engines) - 1, engines[-1].open(self.sample_rate, self._phrases)

    def _fail_over(self, what: str, err: Exception) -> None:
        """Move to the next engine, replaying the utterance in progress; re-raise on the last."""
        if isinstance(err, _CALLER_ERRORS) or self._index == len(self._owner.engines) - 1:
            raise err
        self._owner.failed(self._owner.engines[self._index], what, err)
        self._index, self._stream = self._open_from(self._index + 1, self._elapsed / self.sample_rate)
        for chunk in self._utterance:
            self._stream.accept(chunk)
        if self._next[0]:
            self._stream.set_phrases(self._next[1])

    def accept(self, pcm16: bytes | np.ndarray) -> Recognition | None:
        samples = np.array(as_int16(pcm16), dtype=np.int16, copy=True)
        self._utterance.append(samples)
        try:
            partial = self._stream.accept(samples)
        except Exception as err:  # noqa: BLE001 - handled by _fail_over
            self._fail_over("accept", err)
            return None
        return None if partial is None else _shifted(partial, self._offset_s)

    def set_phrases(self, phrases: Sequence[str] | None) -> None:
        value = list(phrases) if phrases else None
        if self._utterance:
            self._next = (True, value)
        else:
            self._phrases = value
        self._stream.set_phrases(phrases)

    def finish(self) -> Recognition:
        try:
            result = self._stream.finish()
        except Exception as err:  # noqa: BLE001 - handled by _fail_over
            self._fail_over("finish", err)
            result = self._stream.finish()
        self._end_utterance()
        return _shifted(result, self._offset_s)

    def reset(self) -> None:
        try:
            self._stream.reset()
        except Exception as err:  # noqa: BLE001 - handled by _fail_over
            self._fail_over("reset", err)
            self._stream.reset()
        self._end_utterance()

    def _end_utterance(self) -> None:
        self._elapsed += sum(c.size for c in self._utterance)
        self._utterance = []
        if self._next[0]:
            self._phrases, self._next = self._next[1], (False, None)

    def close(self) -> None:
        self._stream.close()
