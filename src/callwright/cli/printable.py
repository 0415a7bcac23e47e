"""Text from the database or from input files, made safe to print on a terminal.

A transcript, a call id, a file name or an error reason can hold anything a
caller, an import or an attacker put there: terminal escape sequences (which
recolour, retitle or rewrite the screen), NUL, carriage returns that overwrite
a line, and Unicode bidi controls that show text in another order than it is
stored. `printable` shows each of them as a visible escape (`\\x1b`, `\\u202e`)
instead, so what is printed is what is stored. (For the QA commands; the lead
means to merge it with `callwright.textsafe.safe_text`.)
"""

from __future__ import annotations

import unicodedata

_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _escape(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _unsafe(ch: str, newlines: bool) -> bool:
    if ch == "\n" and newlines:
        return False
    return ch in _BIDI_CONTROLS or unicodedata.category(ch) in ("Cc", "Zl", "Zp")


def printable(value: object, *, markup: bool = False, newlines: bool = False) -> str:
    """`value` as text with every control character (C0, DEL, C1, line and paragraph separators) and
    bidi control shown as an escape; `newlines` keeps line feeds (for our own multi-line messages).
    With `markup`, Rich markup in it is escaped too, so stored text like "[bold]" is printed as
    written rather than styling the output."""
    text = "" if value is None else str(value)
    if any(_unsafe(ch, newlines) for ch in text):
        text = "".join(_escape(ch) if _unsafe(ch, newlines) else ch for ch in text)
    if markup:
        from rich.markup import escape

        text = escape(text)
    return text
