"""The matched words of a piece of evidence, as text pieces to mark (the template escapes them).

Evidence may carry `span_chars: [start, end]`, character offsets into its `text` (the words a
phrase matched), and `span_times: [start_s, end_s]`. Anything missing, out of range or not a pair
of integers shows the text plain: a bad span never hides or breaks the evidence.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Piece:
    text: str
    marked: bool


def pieces(evidence: dict[str, Any]) -> list[Piece]:
    """`evidence["text"]` split into plain and marked pieces by its `span_chars`."""
    text = evidence.get("text") or ""
    if not isinstance(text, str) or not text:
        return []
    span = evidence.get("span_chars")
    if (
        not isinstance(span, list | tuple)
        or len(span) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in span)
    ):
        return [Piece(text, False)]
    a, b = span
    if not 0 <= a < b <= len(text):
        return [Piece(text, False)]
    out = [Piece(text[:a], False), Piece(text[a:b], True), Piece(text[b:], False)]
    return [p for p in out if p.text]


def span_start(evidence: dict[str, Any]) -> float | None:
    """Where playing the evidence starts: the matched words when their times are known, else the utterance."""
    times = evidence.get("span_times")
    if isinstance(times, list | tuple) and len(times) == 2 and all(isinstance(v, int | float) for v in times):
        return float(times[0])
    start = evidence.get("start")
    return float(start) if isinstance(start, int | float) else None
