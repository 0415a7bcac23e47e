"""Text from the database or from input files, made safe for a Rich console.

The control-character part is `callwright.textsafe.safe_text` (one definition for
every command); this adds what only Rich consoles need: stored text like "[bold]"
must print as written, not style the output.
"""

from __future__ import annotations

from callwright.textsafe import safe_text


def printable(value: object, *, markup: bool = False, newlines: bool = False) -> str:
    """`value` through `safe_text` (None is empty); with `markup`, Rich markup escaped too."""
    text = "" if value is None else safe_text(value, keep_newlines=newlines)
    if markup:
        from rich.markup import escape

        text = escape(text)
    return text
