"""Vosk (Kaldi) engine: streaming, partial results, grammars, word timestamps.

The model comes from an explicit directory, `VOSK_MODEL_PATH` or models/vosk-*
(see model_paths); we never call `Model(lang=...)`, which downloads or exits
the process. One `Model` per path is shared by the whole process; each stream
gets its own `KaldiRecognizer`, which must only be used by one thread.

Telephone audio arrives at 8 kHz while most Vosk models are trained at 16 kHz;
we resample to the model's rate with soxr (band-limited) before Kaldi sees it
rather than relying on Kaldi's `--allow-upsample`, which not every model sets.

Confidence: the mean of Vosk's per-word MBR confidences (`conf`, 0..1) over
the words kept. Bracketed tokens ([unk], [noise]) are dropped from the text
and words, so an utterance recognised only as [unk] comes back as empty text
with confidence 0, which the IVR treats as a no-match.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from callwright.errors import ModelNotFoundError
from callwright.speech.asr.base import (
    NO_OPTIONS,
    Capabilities,
    Recognition,
    Recognizer,
    RecognizerStream,
    TranscribeOptions,
    Word,
    as_int16,
    check_rate,
    join_words,
    load_once,
    mean,
    require_mono,
)
from callwright.speech.asr.model_paths import PULL_HINT, find_vosk_model
from callwright.speech.audio import Audio, StreamResampler
from callwright.speech.closedset import normalize

log = logging.getLogger(__name__)

_BRACKETED = re.compile(r"^\[.*\]$")
# Chunk size used when transcribing a whole file: Kaldi decodes in 0.2 s steps anyway.
_TRANSCRIBE_CHUNK_S = 0.2


def _load_model(path: Path) -> Any:
    import vosk

    vosk.SetLogLevel(-1)
    log.info("loading Vosk model %s", path)
    try:
        return vosk.Model(str(path))
    except Exception as err:  # vosk raises a bare Exception("Failed to create a model")
        raise ModelNotFoundError(f"{path}: Vosk could not load this model ({err})", hint=PULL_HINT) from err


def model_sample_rate(path: Path) -> int:
    """The rate the model's features were trained at (conf/mfcc.conf), 16 kHz if unstated."""
    conf = path / "conf" / "mfcc.conf"
    if conf.is_file():
        m = re.search(r"--sample-frequency=(\d+)", conf.read_text(encoding="utf-8"))
        if m:
            return int(m.group(1))
    return 16000


def has_dynamic_graph(path: Path) -> bool:
    """Grammars need HCLr.fst + Gr.fst; models with a static HCLG.fst reject them."""
    graph = path / "graph"
    return (graph / "HCLr.fst").is_file() and (graph / "Gr.fst").is_file()


def _words(result: dict[str, Any], key: str) -> list[Word]:
    return [
        Word(str(w["word"]), float(w["start"]), float(w["end"]), float(w.get("conf", 1.0)))
        for w in result.get(key, [])
        if not _BRACKETED.match(str(w["word"]))
    ]


def _recognition(words: list[Word], is_final: bool) -> Recognition:
    return Recognition(
        text=join_words(words),
        confidence=mean([w.confidence for w in words]),
        words=words,
        is_final=is_final,
        start=words[0].start if words else 0.0,
        end=words[-1].end if words else 0.0,
    )


def vosk_languages(path: Path) -> tuple[str, ...]:
    """The language a Vosk model hears: its registry entry's, else what its name or README says;
    () when neither says (not checked then)."""
    from callwright.speech.asr.registry import languages_of, name_of

    name = name_of(path)
    return languages_of(name if name is not None else str(path)) or ()


class VoskRecognizer(Recognizer):
    """A loaded Vosk model; `open()` gives each caller its own Kaldi recogniser."""

    name = "vosk"

    def __init__(self, model_path: str | os.PathLike[str] | None = None) -> None:
        self.model_path = find_vosk_model(model_path)
        self.model_rate = model_sample_rate(self.model_path)
        self._model = load_once("vosk", str(self.model_path.resolve()), self._load)
        self.capabilities = Capabilities(
            streaming=True,
            partials=True,
            word_timestamps=True,
            grammar=has_dynamic_graph(self.model_path),
            sample_rates=(self.model_rate,),
            # A whole file is decoded with the full language model and Vosk's own endpointer:
            # a grammar would forbid every other word (so no priming), regions are not needed
            # (Kaldi skips silence cheaply), and nothing weighs a reading against the audio.
            priming=False,
            speech_regions=False,
            second_listen=False,
            languages=vosk_languages(self.model_path),
        )
        self._has_unk = self._model.vosk_model_find_word("[unk]") >= 0

    def _load(self) -> Any:
        return _load_model(self.model_path)

    def grammar_json(self, phrases: Sequence[str]) -> str | None:
        """Vosk grammar for the phrases: normalised, out-of-vocabulary phrases dropped, + [unk].

        Returns None when no phrase survives (then recognition stays open).
        A phrase with an unknown word cannot be said at all inside a grammar,
        so it is dropped (and logged) rather than silently garbling the list.
        """
        kept: list[str] = []
        for phrase in phrases:
            words = normalize(phrase)
            if not words:
                continue
            missing = [w for w in words if self._model.vosk_model_find_word(w) < 0]
            if missing:
                log.info("grammar: dropping %r, not in the model's vocabulary: %s", phrase, missing)
                continue
            text = " ".join(words)
            if text not in kept:
                kept.append(text)
        if not kept:
            return None
        if self._has_unk:
            kept.append("[unk]")
        return json.dumps(kept, ensure_ascii=False)

    def open(self, sample_rate: int, phrases: Sequence[str] | None = None) -> VoskStream:
        return VoskStream(self, sample_rate, phrases)

    def transcribe(self, audio: Audio, options: TranscribeOptions = NO_OPTIONS) -> list[Recognition]:
        """Segments split where Vosk's own endpointer finds pauses, with word timestamps.

        `options` are not used (see the capabilities): the whole file is decoded open-vocabulary.
        """
        require_mono(audio)
        stream = self.open(audio.rate)
        segments: list[Recognition] = []
        step = max(1, int(audio.rate * _TRANSCRIBE_CHUNK_S))
        for i in range(0, audio.n_samples, step):
            words = stream.decode(audio.samples[i : i + step])
            if words:
                segments.append(_recognition(words, is_final=True))
        last = stream.finish()
        if last.words:
            segments.append(last)
        return segments


class VoskStream(RecognizerStream):
    """One Kaldi recogniser fed at `sample_rate`, resampled to the model's rate."""

    def __init__(self, owner: VoskRecognizer, sample_rate: int, phrases: Sequence[str] | None) -> None:
        import vosk

        self.sample_rate = check_rate(sample_rate)
        self._owner = owner
        self._rec = vosk.KaldiRecognizer(owner._model, owner.model_rate)
        self._rec.SetWords(True)
        self._rec.SetPartialWords(True)
        self._resampler = StreamResampler(sample_rate, owner.model_rate)
        self._done_words: list[Word] = []  # words of segments Vosk already closed this utterance
        self._last_text = ""
        self._fed = False
        self._pending: tuple[bool, Sequence[str] | None] = (False, None)
        if phrases:
            self._apply_phrases(phrases)

    def _apply_phrases(self, phrases: Sequence[str] | None) -> None:
        if phrases and not self._owner.capabilities.grammar:
            log.warning(
                "%s has a static graph: grammars are not supported, recognising open vocabulary",
                self._owner.model_path,
            )
            return
        grammar = self._owner.grammar_json(phrases) if phrases else None
        # "[]" switches back to the model's full language model.
        self._rec.SetGrammar(grammar if grammar is not None else "[]")

    def set_phrases(self, phrases: Sequence[str] | None) -> None:
        """Takes effect now between utterances, else when the current utterance finishes."""
        if self._fed:
            self._pending = (True, phrases)
        else:
            self._apply_phrases(phrases)

    def decode(self, pcm16: bytes | np.ndarray) -> list[Word] | None:
        """Feed audio; returns the words of a segment when Vosk's own endpointer closes one.

        Vosk ends segments at pauses inside what our endpointer still treats
        as one utterance, so accept() keeps them until finish().
        """
        samples = self._resampler.process(as_int16(pcm16))
        if samples.size == 0:
            return None
        self._fed = True
        if self._rec.AcceptWaveform(samples.astype("<i2", copy=False).tobytes()):
            return _words(json.loads(self._rec.Result()), "result")
        return None

    def accept(self, pcm16: bytes | np.ndarray) -> Recognition | None:
        closed = self.decode(pcm16)
        if closed:
            self._done_words += closed
        partial = json.loads(self._rec.PartialResult())
        words = self._done_words + _words(partial, "partial_result")
        rec = _recognition(words, is_final=False)
        if rec.text == self._last_text:
            return None
        self._last_text = rec.text
        return rec

    def finish(self) -> Recognition:
        tail = self._resampler.flush()
        if tail.size:
            self._rec.AcceptWaveform(tail.astype("<i2", copy=False).tobytes())
        words = self._done_words + _words(json.loads(self._rec.FinalResult()), "result")
        # The resampler's stream was closed by flush(); the next utterance gets a fresh one.
        self._resampler = StreamResampler(self.sample_rate, self._owner.model_rate)
        self._done_words, self._last_text, self._fed = [], "", False
        if self._pending[0]:
            self._apply_phrases(self._pending[1])
            self._pending = (False, None)
        return _recognition(words, is_final=True)

    def close(self) -> None:
        self._rec = None  # frees the Kaldi recogniser now
