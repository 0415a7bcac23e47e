"""A prompt's text as the caller hears it: variables filled, typed values read back, SSML.

A prompt template may hold SSML (`<break>`, `<say-as>`, `<prosody>`: see `speech.tts.ssml`).
Its markup is parsed before any variable is filled in, and each filled-in value lands in a
text node that `ssml.to_espeak` escapes: a caller's words can never become markup. The
same prompt is also given as plain text (the text channel, the console, the call log).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from callwright.flows import template
from callwright.ivr import values
from callwright.speech import ssml


@dataclass(frozen=True)
class Spoken:
    """One prompt, filled in: `text` to show and log, `ssml` (or None) for the synthesiser,
    and `template`, the plain text before filling (masked for the log by the session)."""

    text: str
    ssml: str | None
    template: str


def render(text: str, env: Mapping[str, Any], language: str) -> Spoken:
    formatters = values.formats(language)
    if not ssml.is_ssml(text):
        return Spoken(template.render(text, env, formatters), None, text)
    try:
        doc = ssml.parse(text)
    except ssml.SsmlError:  # the checker refuses such a flow; said as plain text if one runs anyway
        return Spoken(template.render(text, env, formatters), None, text)

    def fill(part: str) -> str:
        return template.render(part, env, formatters)

    def expand(kind: ssml.SayAsKind, said: str, fmt: str | None) -> str:
        return say_as(kind, said, fmt, language)

    def as_written(kind: ssml.SayAsKind, said: str, fmt: str | None) -> str:
        return said

    return Spoken(
        ssml.plain_text(doc, fill, expand),
        ssml.to_espeak(doc, fill, expand),
        ssml.plain_text(doc, expand=as_written),
    )


_FIGURES = re.compile(r"[0-9]+")


def say_as(kind: ssml.SayAsKind, text: str, fmt: str | None, language: str) -> str:
    """`<say-as>` in words, in the prompt's language: a date "March 5, 1980" (ISO, or
    figures in the `format` order), an amount "$12.50", a phone number in digit groups."""
    text = text.strip()
    if kind == "date":
        return values.read_back("date", _iso(text, fmt) or text, language)
    if kind == "currency":
        amount = text.replace("$", "").replace("€", "").replace("£", "").replace(",", "").strip()
        return values.read_back("currency", amount, language)
    if kind == "telephone":
        digits = ("+" if text.startswith("+") else "") + "".join(ch for ch in text if ch.isdigit())
        return values.read_back("phone", digits, language) if digits.strip("+") else text
    return ssml.basic_expand(kind, text, fmt)


def _iso(text: str, fmt: str | None) -> str | None:
    """A date written as figures ("03/05/1980" with format mdy) as YYYY-MM-DD, else None."""
    parts = _FIGURES.findall(text)
    if len(parts) != 3:
        return None
    order = fmt or ("ymd" if len(parts[0]) == 4 else "mdy")
    by = dict(zip(order, (int(p) for p in parts), strict=True))
    try:
        return date(by["y"], by["m"], by["d"]).isoformat()
    except ValueError:
        return None
