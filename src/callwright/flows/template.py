"""Prompt templates: text with `{variable}` and `{variable:digits}` placeholders.

Kept apart from the expression language on purpose: a prompt only ever reads a
variable, so designers cannot hide logic in what the caller hears.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
FORMATS = ("digits", "upper", "lower", "date", "time", "phone", "currency", "characters")
"""`digits`, `upper`, `lower` are plain text; the others read a typed value back in the
prompt's language ("March 5, 1980"), by the formatters the caller of `render` gives."""


class TemplateError(Exception):
    def __init__(self, message: str, offset: int = 0) -> None:
        super().__init__(message)
        self.offset = offset


@dataclass(frozen=True)
class Placeholder:
    name: str
    fmt: str | None
    offset: int


def placeholders(text: str) -> list[Placeholder]:
    """The placeholders of a template; raise TemplateError on a malformed one."""
    out = []
    for m in _PLACEHOLDER.finditer(text):
        inner = m.group(1).strip()
        name, _, fmt = inner.partition(":")
        name, fmt = name.strip(), fmt.strip() or None
        if not _NAME.fullmatch(name):
            raise TemplateError(
                f"bad placeholder {{{inner}}}: expected {{variable}} or {{variable:digits}}", m.start()
            )
        if fmt is not None and fmt not in FORMATS:
            raise TemplateError(
                f"unknown format ':{fmt}' in {{{inner}}}; known: " + ", ".join(FORMATS), m.start()
            )
        out.append(Placeholder(name, fmt, m.start()))
    return out


def render(
    text: str, env: Mapping[str, Any], formatters: Mapping[str, Callable[[Any], str]] | None = None
) -> str:
    """Fill placeholders from env; unset variables render as an empty string. A format
    without a formatter (`{dob:date}` when none is given) renders the value as it is."""

    def fill(m: re.Match[str]) -> str:
        name, _, fmt = m.group(1).strip().partition(":")
        value = env.get(name.strip())
        s = "" if value is None else str(value)
        fmt = fmt.strip()
        if formatters and fmt in formatters and value is not None:
            return formatters[fmt](value)
        if fmt == "digits":
            return " ".join(ch for ch in s if not ch.isspace())
        if fmt == "upper":
            return s.upper()
        if fmt == "lower":
            return s.lower()
        return s

    return _PLACEHOLDER.sub(fill, text)
