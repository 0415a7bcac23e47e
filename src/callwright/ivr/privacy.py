"""What of a caller's data may be written down: the call log and the console see this.

The IVR hears card numbers, dates of birth and account numbers. Two rules keep
them out of the call log and off the screen:

- every piece of caller input (words, key strings, a voicemail's text, a value
  built from them) goes through the same redaction QA applies to transcripts
  (`callwright.redaction.redact_text`) before it is logged or printed;
- a flow can mark an input state `sensitive: true` (or list variables under
  `sensitive:`); what the caller gives there, and every variable holding it, is
  replaced by `MASK` wherever it would be logged, whatever it looks like.

The caller still hears their data (a `Say` keeps the real text for the speech
engine); only what is written down is masked. Pure functions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from callwright.flows import template

MASK = "[REDACTED]"
"""Stands for a sensitive value in the call log and on the console."""

DIGIT_MASK = "[DIGIT]"
"""Stands for one data key (in a digits or number state) in an `input` event: a card
number keyed one digit at a time would otherwise be readable across the events."""

MIN_SECRET_CHARS = 3
"""Shorter values of sensitive variables are not searched for inside other text
(masking every "1" in the log would hide the log, not the secret)."""


def redact(value: Any) -> Any:
    """A caller-derived value as it may be logged: card numbers, SSNs, phones and
    e-mails replaced by tokens such as `[CARD]`; other values unchanged."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int) and abs(value) >= 1000:
        text = _redact_text(str(value))
        return value if text == str(value) else text
    if isinstance(value, str) and _may_hold_personal_data(value):
        return _redact_text(value)
    return value


def _may_hold_personal_data(text: str) -> bool:
    """A cheap test before the redactor: everything it finds has a digit (any script),
    an `@`, or is several spoken words ("four one one one", "john at example dot com").
    A menu word or a yes needs no scan; the engine logs many of them."""
    return "@" in text or any(ch.isdigit() for ch in text) or len(text.split()) >= 3


_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def render_shown(
    text: str,
    env: Mapping[str, Any],
    secret_vars: Iterable[str],
    formatters: Mapping[str, Callable[[Any], str]] | None = None,
) -> str:
    """A prompt template rendered for the log and the console: each placeholder is
    rendered as the caller hears it, then masked (a sensitive variable) or redacted.

    Only the filled-in values can hold caller data, so only they are scanned (the
    designer's words around them are the flow's own).
    """
    secret = set(secret_vars)

    def fill(m: re.Match[str]) -> str:
        name = m.group(1).split(":", 1)[0].strip()
        if name in secret and env.get(name) not in (None, ""):
            return MASK
        return str(redact(template.render(m.group(0), env, formatters)))

    return _PLACEHOLDER.sub(fill, text)


def scrub(text: str, secrets: Iterable[Any]) -> str:
    """Text with each sensitive value (as text, also digit by digit) masked, then redacted.

    For free text built by the engine (an error message, a no-match reason) that
    may quote a value without saying which variable it came from.
    """
    for secret in secrets:
        if secret is None or isinstance(secret, bool):
            continue
        s = str(secret).strip()
        if len(s) < MIN_SECRET_CHARS:
            continue
        text = text.replace(s, MASK)
        spaced = " ".join(ch for ch in s if not ch.isspace())
        if spaced != s:
            text = text.replace(spaced, MASK)
    return redact(text) if text else text


def _redact_text(text: str) -> str:
    from callwright.redaction import redact_text  # light: pure Python, no models

    return redact_text(text).text
