"""Whole-file Whisper transcription (a call's track for QA): faster-whisper's own decode, over
the caller's speech regions when given, with loops decoded again.

Silero VAD (shipped with faster-whisper) finds the speech unless the caller
gives its own regions (`TranscribeOptions.speech`): Silero misses whole lines
of band-limited speech, so QA passes the voice activity its metrics use. The
regions are kept with `speech_pad_s` either side and glued with `speech_gap_s`
of silence into Whisper's 30 s windows, and word times are mapped back to the
file. Context phrases go to the decoder as the initial prompt. The language is the caller's
(`language`), else (a multilingual model) Whisper's detection over the first 30 s decoded, and
every segment says which it was and whether it was detected (`Recognition.language`).
Measured settings: docs/benchmarks/qa_transcripts.md.
"""

from __future__ import annotations

import bisect
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from callwright.speech.asr.base import NO_OPTIONS, Recognition, Region, TranscribeOptions, Word, join_words
from callwright.speech.asr.languages import SpokenLanguage
from callwright.speech.asr.whisper_decoder import (
    FULL_WINDOW_S,
    WHISPER_RATE,
    WhisperDecoder,
    loops,
    phrase_sentences,
)
from callwright.speech.asr.whisper_pieces import PieceSettings, transcribe_pieces
from callwright.speech.closedset import canonical_words

log = logging.getLogger(__name__)

SAME_RUN = 3  # identical segments in a row that count as a loop
# a looping stretch decoded again: a full window as the glued decode, and little padding, as its
# span ends where the segments beside it begin
REDECODE = PieceSettings(pad_s=0.1, min_window_s=FULL_WINDOW_S)


def file_prompt(dec: WhisperDecoder, options: TranscribeOptions) -> list[int]:
    """The decoder prompt for a whole file: its context phrases as sentences, if any."""
    return dec.prompt_tokens(phrase_sentences(options.phrases) or None)


def transcribe_file(
    dec: WhisperDecoder,
    samples: np.ndarray,
    options: TranscribeOptions = NO_OPTIONS,
    overrides: Mapping[str, Any] | None = None,
    *,
    language: str | None = "en",
) -> list[Recognition]:
    """Segments with word times of float32 samples at 16 kHz, decoded as `language` (a Whisper
    code; None: detected by a multilingual model, English for an English-only one).

    `overrides` replace faster-whisper `transcribe` arguments (benchmarks compare
    settings with them; nothing in the product passes any).
    """
    kwargs: dict[str, Any] = {
        "language": language,
        "beam_size": 5,
        "vad_filter": True,
        "word_timestamps": True,
        "condition_on_previous_text": False,
        # No temperature fallback: faster-whisper's samples at random, and CTranslate2's
        # generator is per thread, seeded once, so a call's transcript depended on what the
        # worker had decoded before it (the late-disclosure sample's agent side read three
        # ways in one process). A looping segment is decoded again below instead; on the
        # sample calls beam search alone gave the same transcripts (qa_transcripts.md).
        "temperature": 0.0,
    }
    context = phrase_sentences(options.phrases)
    if context:
        kwargs["initial_prompt"] = context  # faster-whisper keeps the prompt's last 223 tokens
    kwargs.update(overrides or {})
    x = samples
    # (start in the decoded audio, start in the file, length) of each kept stretch
    pieces: list[tuple[float, float, float]] = [(0.0, 0.0, len(samples) / WHISPER_RATE)]
    speech = options.speech
    if speech is not None:
        kwargs["vad_filter"] = False
        regions: list[list[int]] = []
        for a, b in sorted(speech):
            i = max(0, int((a - options.speech_pad_s) * WHISPER_RATE))
            j = min(len(samples), int((b + options.speech_pad_s) * WHISPER_RATE))
            if regions and i <= regions[-1][1]:
                regions[-1][1] = max(regions[-1][1], j)
            elif j > i:
                regions.append([i, j])
        if not regions:
            return []
        gap = np.zeros(int(options.speech_gap_s * WHISPER_RATE), dtype=np.float32)
        parts: list[np.ndarray] = []
        pieces, at = [], 0
        for i, j in regions:
            if parts:
                parts.append(gap)
                at += gap.size
            pieces.append((at / WHISPER_RATE, i / WHISPER_RATE, (j - i) / WHISPER_RATE))
            parts.append(samples[i:j])
            at += j - i
        x = np.concatenate(parts)
    starts = [piece[0] for piece in pieces]

    def to_file(t: float) -> float:
        begin, origin, length = pieces[max(0, bisect.bisect_right(starts, t) - 1)]
        return round(origin + min(max(t - begin, 0.0), length), 3)

    out: list[Recognition] = []
    decoded, code, probability = dec.transcribe_segments(x, **kwargs)
    spoken = SpokenLanguage(
        code, None if kwargs.get("language") or not dec.multilingual else round(probability, 4)
    )
    for seg in decoded:
        words = [
            Word(
                w.word.strip(),
                to_file(w.start),
                max(to_file(w.start), to_file(w.end)),
                round(float(w.probability), 4),
            )
            for w in seg.words or []
            if w.word.strip()
        ]
        out.append(
            Recognition(
                text=seg.text.strip() or join_words(words),
                confidence=round(math.exp(float(seg.avg_logprob)), 4),
                words=words,
                is_final=True,
                start=words[0].start if words else to_file(seg.start),
                end=words[-1].end if words else to_file(seg.end),
                language=spoken,
            )
        )
    dec = dec.in_language(code)  # loops are decoded again in the language the file was read in
    redone = unlooped(dec, out, samples, dec.prompt_tokens(kwargs.get("initial_prompt")), speech)
    return [r if r.language else replace(r, language=spoken) for r in redone]


def unlooped(
    dec: WhisperDecoder,
    segments: list[Recognition],
    samples16k: np.ndarray,
    prompt: list[int],
    speech: Sequence[Region] | None,
) -> list[Recognition]:
    """`segments` with what loops decoded again alone in its own window, repeated trigrams
    banned if it still loops (`whisper_pieces`): what faster-whisper's random temperature
    fallback was for. A loop is a segment whose text compresses too well ("4.4.4.4...") or
    `SAME_RUN` identical segments in a row ("Thank you." as segment after segment).
    Only the caller's speech regions within the loop's span are decoded again."""
    out: list[Recognition] = []
    i = 0
    while i < len(segments):
        j = i + 1
        key = canonical_words(segments[i].text)
        while key and j < len(segments) and canonical_words(segments[j].text) == key:
            j += 1
        run = segments[i:j] if j - i >= SAME_RUN else segments[i : i + 1]
        i += len(run)
        if len(run) == 1 and not loops(run[0].text):
            out.append(run[0])
            continue
        a, b = run[0].start, run[-1].end
        log.debug(
            "%d segment(s) at %.1f-%.1f s loop, decoded again alone: %s", len(run), a, b, run[0].text[:60]
        )
        regions = (
            [(a, b)] if speech is None else [(max(x, a), min(y, b)) for x, y in speech if x < b and y > a]
        )
        if b > a and regions:
            out += transcribe_pieces(dec, samples16k, regions, prompt, REDECODE)
    return out
