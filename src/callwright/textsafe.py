"""Text from data made safe to print on a terminal.

Flow prompts, variables, caller input and transcripts are data: a prompt holding
`ESC ] 0 ; ... BEL` retitles the terminal, `ESC [ 2 J` clears it, a NUL or a
carriage return hides what came before, and bidirectional controls (U+202E...)
make text read differently from what it is ("Trojan Source"). Commands print data
through `safe_text`, which shows every such character as a visible escape
(`\\x1b`, `\\u202e`) instead of sending it to the terminal. A pure function; used
by `callwright call` and meant for every command that prints stored text.
"""

from __future__ import annotations

import unicodedata

_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
"""Arabic letter mark, LRM/RLM, embeddings/overrides and isolates (Unicode TR9)."""


def _unsafe(ch: str, keep: str) -> bool:
    if ch in keep:
        return False
    if ch in _BIDI_CONTROLS:
        return True
    # Cc: C0 and C1 controls, DEL; Cf would also catch zero-width joiners used in
    # emoji and scripts, so only the line/paragraph separators are added from it.
    return unicodedata.category(ch) == "Cc" or ch in "\u2028\u2029"


def _escape(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe_text(text: object, *, keep_newlines: bool = False) -> str:
    """`text` as printable characters: control, escape and bidi characters become
    visible escapes such as `\\x1b` (tabs are kept; newlines only if asked)."""
    s = text if isinstance(text, str) else str(text)
    keep = "\t\n" if keep_newlines else "\t"
    if s.isprintable():  # the common case (bidi controls are not printable): nothing to do
        return s
    return "".join(_escape(ch) if _unsafe(ch, keep) else ch for ch in s)
