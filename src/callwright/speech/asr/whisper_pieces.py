"""Whole-call Whisper transcription one speech piece at a time, each in a short encoder window.

QA knows where each speaker talks (our own voice activity, which the metrics
use too). Decoding those stretches glued together in Whisper's 30 s windows
lets an error in one line spill into the next, and decoding each stretch alone
in a full 30 s window costs an encoder pass of 30 s per line. Here each piece
(neighbouring regions less than `merge_gap_s` apart, at most `max_piece_s`
long) gets its own encoder window of its own length, but at least
`min_window_s`: tiny.en reads a window much shorter than it was trained on
worse. On the ten sample calls (docs/benchmarks/qa_transcripts.md) this had a
lower WER than the glued decode the QA pipeline uses (0.337 against 0.349) at up
to 1.3x its speed, but heard fewer of the phrases the scorecards look for (59
against 62 of 69 expected entries): a piece loses the context of the line
before it. So it is an option (`WhisperRecognizer.transcribe(..., pieces=...)`),
not what QA uses; whole-file transcription also uses it to decode a looping stretch again
(`whisper_file`).

A decode whose text compresses too well (Whisper's own loop test: gzip ratio
above 2.4) is decoded once more with repeated trigrams banned, instead of
faster-whisper's random temperature fallback, so that the result is
reproducible. A piece Whisper calls silence (no-speech probability above 0.6
with a low average log-probability, its own rule) gives nothing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from callwright.speech.asr.base import Recognition, Region
from callwright.speech.asr.whisper_decoder import FULL_WINDOW_FRAMES, WHISPER_RATE, WhisperDecoder, loops

RATE = WHISPER_RATE


@dataclass(frozen=True)
class PieceSettings:
    """How speech regions become pieces and how each is decoded (measured defaults)."""

    pad_s: float = 0.2  # real audio kept either side of a region
    merge_gap_s: float = 0.6  # regions closer than this are one piece
    max_piece_s: float = 20.0  # a merge never grows a piece past this
    min_window_s: float = 15.0  # encoder window: the piece's length, but at least this
    beam_size: int = 5
    tokens_per_second: float = 6.0  # decode budget per second of audio (plus a fixed 10)


def plan_pieces(
    regions: Sequence[tuple[float, float]], duration_s: float, settings: PieceSettings = PieceSettings()
) -> list[tuple[float, float]]:
    """(start, end) seconds of each piece: padded regions, merged across short gaps, none over 28 s.

    A single region longer than Whisper's window (a long monologue without a
    pause our VAD sees) is cut into equal parts of at most 25 s.
    """
    pieces: list[list[float]] = []
    for a, b in sorted(regions):
        a, b = max(0.0, a - settings.pad_s), min(duration_s, b + settings.pad_s)
        if b <= a:
            continue
        if pieces and a - pieces[-1][1] < settings.merge_gap_s and b - pieces[-1][0] <= settings.max_piece_s:
            pieces[-1][1] = max(pieces[-1][1], b)
        elif pieces and a < pieces[-1][1]:  # overlaps but too long to merge: start where it ends
            if b > pieces[-1][1]:
                pieces.append([pieces[-1][1], b])
        else:
            pieces.append([a, b])
    out: list[tuple[float, float]] = []
    for a, b in pieces:
        parts = max(1, math.ceil((b - a) / 25.0)) if b - a > 28.0 else 1
        step = (b - a) / parts
        out += [(round(a + i * step, 3), round(a + (i + 1) * step, 3)) for i in range(parts)]
    return out


# A decode that loops is decoded once more with these guards (no repeated trigram, repeats
# penalised): (no_repeat_ngram_size, repetition_penalty), the first pair being none.
_GUARDS = ((0, 1.0), (3, 1.2))


def transcribe_pieces(
    dec: WhisperDecoder,
    samples: np.ndarray,
    regions: Sequence[Region],
    prompt: list[int],
    settings: PieceSettings = PieceSettings(),
) -> list[Recognition]:
    """One Recognition per piece of `samples` (float32 at 16 kHz) that holds speech; call times."""
    out: list[Recognition] = []
    for a, b in plan_pieces(regions, samples.size / RATE, settings):
        piece = samples[int(a * RATE) : int(b * RATE)]
        if piece.size < RATE // 10:
            continue
        features = dec.features(piece)
        frames = features.shape[-1]
        window = dec.encode(
            features, min(FULL_WINDOW_FRAMES, max(frames + 100, int(settings.min_window_s * 100)))
        )
        budget = int(10 + settings.tokens_per_second * piece.size / RATE)
        for no_repeat, penalty in _GUARDS:
            decoded = dec.generate(
                window,
                prompt,
                settings.beam_size,
                budget,
                no_repeat_ngram_size=no_repeat,
                repetition_penalty=penalty,
            )
            if not loops(decoded.text):
                break
        if not decoded.tokens or decoded.silent:
            continue
        words = dec.aligned_words(decoded.tokens, window, shift_s=a, floor_s=a)
        if not words:
            continue
        out.append(
            Recognition(
                text=decoded.text,
                confidence=round(decoded.confidence, 4),
                words=words,
                is_final=True,
                start=words[0].start,
                end=words[-1].end,
            )
        )
    return out
