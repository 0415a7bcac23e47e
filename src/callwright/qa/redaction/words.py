"""Redaction of recogniser output that carries word timestamps.

The words are joined into one text and redacted with the same detectors as
plain text, so a card number said across sixteen words ("four one one one
...") is one span. The words a span touches are merged into one redacted word
("[CARD]") that keeps their start and end, and the span's time range is
returned so the same stretch can be silenced in the audio. When the recogniser
hears "my card number is" and then nothing for a while, that pause is returned
too: the number may be in it, unrecognised (a real failure seen in
bench/redaction_audio.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from callwright.qa.redaction.payment import unanswered_card_cues
from callwright.qa.redaction.scan import Kind, Scan
from callwright.qa.redaction.text import ALL, RedactedSpan, apply_spans, detect, parse_kinds, spans_of

UNHEARD_GAP_S = 1.0
"""A pause this long right after "my card number is" may hold digits the recogniser missed."""
LEAD_IN_WORDS = {
    "is", "it's", "its", "it", "uh", "um", "er", "erm", "please", "okay", "ok", "so", "yes",
    "yeah", "sure", "that's", "thats", "right", "then",
}  # fmt: skip
MAX_UNHEARD_S = 20.0
"""The longest such stretch silenced: about the time it takes to read out a card."""


class Timed(Protocol):
    """Anything with a start and end in seconds: a word, a `TimeRange`."""

    @property
    def start(self) -> float: ...
    @property
    def end(self) -> float: ...


class WordLike(Timed, Protocol):
    """Anything with a word and its time in seconds, like the recogniser's `Word`."""

    @property
    def word(self) -> str: ...


@dataclass(frozen=True)
class RedactedWord:
    """A word as it may be stored: unchanged, or several words merged into "[CARD]"."""

    word: str
    start: float
    end: float
    confidence: float | None = None
    kind: Kind | None = None
    """What was redacted in this word, or None when it is the recogniser's word unchanged."""


@dataclass(frozen=True)
class TimeRange:
    """Seconds from the start of the recording that held a redacted value."""

    start: float
    end: float
    kind: Kind
    transcribed: bool = True
    """False for a stretch after a card cue where the recogniser produced no words: it is
    silenced in case it held the card number (there is no text to redact for it)."""


def _confidence(words: Sequence[WordLike]) -> float | None:
    values = [c for w in words if (c := getattr(w, "confidence", None)) is not None]
    return float(min(values)) if values else None


def _unheard_after(
    words: Sequence[WordLike], offsets: list[tuple[int, int]], cue_ends: list[int]
) -> list[TimeRange]:
    """The silent-in-the-transcript stretch after each card cue that no number follows."""
    out = []
    for k, (a, b) in enumerate(offsets):
        if not any(a < end <= b for end in cue_ends):
            continue
        while k + 1 < len(words) and words[k + 1].word.strip(" .,?!…").lower() in LEAD_IN_WORDS:
            k += 1  # "card number | is, um," -- the pause comes after these
        start = float(words[k].end)
        nxt = float(words[k + 1].start) if k + 1 < len(words) else float("inf")
        if nxt - start >= UNHEARD_GAP_S:
            out.append(TimeRange(start, min(nxt, start + MAX_UNHEARD_S), Kind.CARD, transcribed=False))
    return out


def redact_words(
    words: Sequence[WordLike], *, kinds: Iterable[str | Kind] = ALL
) -> tuple[list[RedactedWord], list[TimeRange]]:
    """Redacted words (merged where one value spans several) and the time ranges to silence."""
    offsets: list[tuple[int, int]] = []
    parts: list[str] = []
    pos = 0
    for w in words:
        text = w.word.strip()
        offsets.append((pos, pos + len(text)))
        parts.append(text)
        pos += len(text) + 1
    joined = " ".join(parts)
    wanted = parse_kinds(kinds)
    scan = Scan.of(joined)
    found = detect(scan)
    spans = spans_of(scan, found, wanted)

    def touching(k: int) -> list[RedactedSpan]:
        a, b = offsets[k]
        b = max(b, a + 1)  # an empty word inside a span belongs to it
        return [s for s in spans if a < s.end and s.start < b]

    ranges = []
    for s in spans:
        hit = [w for w, (a, b) in zip(words, offsets, strict=True) if a < s.end and s.start < b]
        start, end = min(w.start for w in hit), max(w.end for w in hit)
        ranges.append(TimeRange(float(start), float(end), s.kind))
    if Kind.CARD in wanted:
        cue_ends = [scan.tokens[e].end for e in unanswered_card_cues(scan, found)]
        ranges += _unheard_after(words, offsets, cue_ends)
        ranges.sort(key=lambda r: r.start)

    out: list[RedactedWord] = []
    k = 0
    while k < len(words):
        hit = touching(k)
        if not hit:
            w = words[k]
            out.append(RedactedWord(parts[k], float(w.start), float(w.end), _confidence([w])))
            k += 1
            continue
        # Extend over every word that shares a span with the group so far.
        end, group = k, set(hit)
        while end + 1 < len(words) and (more := touching(end + 1)) and group & set(more):
            group |= set(more)
            end += 1
        a, b = offsets[k][0], offsets[end][1]
        merged = words[k : end + 1]
        out.append(
            RedactedWord(
                apply_spans(joined[a:b], group, offset=a),
                float(merged[0].start),
                float(max(w.end for w in merged)),
                _confidence(merged),
                min(group, key=lambda s: s.start).kind,
            )
        )
        k = end + 1
    return out, ranges
