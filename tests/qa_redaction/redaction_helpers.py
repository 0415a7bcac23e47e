"""An independent reading of digits in text, to check that no card digits survive redaction.

Deliberately simpler than the redactor's own parser and written separately, so
that a bug in the redactor's number reading cannot hide itself in the check.
"""

from __future__ import annotations

import re

_WORD_DIGITS = {
    "zero": "0", "oh": "0", "o": "0", "nought": "0", "one": "1", "two": "2", "three": "3",
    "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
    "ten": "10", "eleven": "11", "twelve": "12", "thirteen": "13", "fourteen": "14",
    "fifteen": "15", "sixteen": "16", "seventeen": "17", "eighteen": "18", "nineteen": "19",
}  # fmt: skip
_TENS = {
    "twenty": "2", "thirty": "3", "forty": "4", "fifty": "5", "sixty": "6", "seventy": "7",
    "eighty": "8", "ninety": "9",
}  # fmt: skip
_REPEAT = {"double": 2, "triple": 3}


def digit_stream(segment: str) -> str:
    """All digits said or written in a stretch of text, in order, ignoring every other word."""
    tokens = re.findall(r"\d+|[a-z]+", segment.lower())
    out: list[str] = []
    repeat = 1
    for k, tok in enumerate(tokens):
        if tok in _REPEAT:
            repeat = _REPEAT[tok]
            continue
        if tok.isdigit():
            out.append(tok[0] * repeat + tok[1:] if repeat > 1 and len(tok) == 1 else tok)
        elif tok in _WORD_DIGITS:
            out.append(_WORD_DIGITS[tok] * repeat)
        elif tok in _TENS:
            nxt = tokens[k + 1] if k + 1 < len(tokens) else ""
            unit = _WORD_DIGITS.get(nxt, "")
            out.append(_TENS[tok] + ("" if len(unit) == 1 and unit != "0" else "0"))
        repeat = 1
    return "".join(out)


def leaked_runs(redacted: str, secret: str, length: int = 4) -> list[str]:
    """Runs of `length` digits of `secret` still readable between the redaction tokens."""
    grams = {secret[i : i + length] for i in range(len(secret) - length + 1)}
    leaks = []
    for segment in re.split(r"\[[A-Z]+\]", redacted):
        stream = digit_stream(segment)
        leaks += [g for g in grams if g in stream]
    return sorted(set(leaks))
