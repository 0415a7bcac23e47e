"""Typed values a caller gives: dates, times, phone numbers, amounts and codes.

One module per kind, each with pure `parse_speech`, `parse_keys` and `read_back`
functions (English and Spanish); this package picks by the state's `collect`. A parse
returns `Parsed` with the value's stored form (text, so the call log and `flow test`
compare it as written: "1980-03-05", "15:30", "+15551234567", "12.50", "AB12C") or
`Invalid` with the reason the call log shows. `read_back` turns a stored value into what
a prompt says ("March 5, 1980", "3:30 PM", "$12.50"), in the prompt's language.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from callwright.flows.model import ValueOptions
from callwright.ivr.values import codes, dates, money, phones, times, words
from callwright.ivr.values.base import Context, Invalid, Parsed, Result

__all__ = ["Context", "Invalid", "Parsed", "Result", "parse_speech", "parse_keys", "read_back", "KINDS"]

KINDS = ("date", "time", "phone", "currency", "alphanumeric")
_MODULES = {"date": dates, "time": times, "phone": phones, "currency": money, "alphanumeric": codes}
READ_BACK_FORMATS = {
    "date": "date",
    "time": "time",
    "phone": "phone",
    "currency": "currency",
    "characters": "alphanumeric",
}
"""Template formats (`{dob:date}`) and the kind whose read-back each uses."""


def parse_speech(kind: str, text: str, options: ValueOptions, ctx: Context) -> Result:
    return _MODULES[kind].parse_speech(text, options, ctx)


def parse_keys(kind: str, keys: str, options: ValueOptions, ctx: Context) -> Result:
    return _MODULES[kind].parse_keys(keys, options, ctx)


def max_keys(kind: str, options: ValueOptions) -> int:
    """Keys that end an entry without the terminator (a date 8, a time 4)."""
    if kind == "date":
        return 8
    if kind == "time":
        return 4
    if kind == "phone":
        return phones.max_keys(options)
    if kind == "alphanumeric":
        return codes.max_keys(options)
    return money.MAX_KEYS


def read_back(kind: str, value: Any, language: str, options: ValueOptions | None = None) -> str:
    """What a prompt says for a stored value of this kind, in `language`."""
    options = options or ValueOptions()
    if value is None:
        return ""
    text = str(value)
    if kind == "phone":
        return phones.read_back(text, language, options.country)
    if kind == "currency":
        return money.read_back(text, language, options.currency)
    return _MODULES[kind].read_back(text, language)


def formats(language: str) -> dict[str, Callable[[Any], str]]:
    """Template formats that read a value back (`{dob:date}`), for `template.render`."""

    def reader(kind: str) -> Callable[[Any], str]:
        return lambda value: read_back(kind, value, language)

    return {fmt: reader(kind) for fmt, kind in READ_BACK_FORMATS.items()}


_EN_NUMBERS = (
    tuple(words.EN_UNITS)
    + tuple(words.EN_TEENS)
    + tuple(words.EN_TENS)
    + ("oh", "hundred", "thousand", "double")
)
_ES_NUMBERS = (
    tuple(words.ES_UNITS)
    + tuple(words.ES_TEENS)
    + tuple(words.ES_TENS)
    + tuple(words.ES_HUNDREDS)
    + ("mil", "y")
)
_HINTS = {
    ("date", "en"): dates.EN_MONTHS + tuple(words.EN_ORDINALS) + _EN_NUMBERS + ("of", "the"),
    ("date", "es"): dates.ES_MONTHS + ("primero", "de", "del") + _ES_NUMBERS,
    ("time", "en"): _EN_NUMBERS
    + (
        "a.m.",
        "p.m.",
        "half",
        "past",
        "quarter",
        "to",
        "o'clock",
        "noon",
        "midnight",
        "morning",
        "afternoon",
    ),
    ("time", "es"): _ES_NUMBERS
    + ("las", "de la mañana", "de la tarde", "de la noche", "media", "cuarto", "menos", "mediodía"),
    ("phone", "en"): _EN_NUMBERS + ("plus", "triple"),
    ("phone", "es"): _ES_NUMBERS + ("más", "doble"),
    ("currency", "en"): _EN_NUMBERS + ("dollars", "cents", "and", "point", "euros", "pounds"),
    ("currency", "es"): _ES_NUMBERS + ("dólares", "euros", "pesos", "centavos", "con", "punto", "coma"),
    ("alphanumeric", "en"): tuple(codes.NATO)
    + tuple(codes.EN_LETTERS)
    + tuple(words.EN_UNITS)
    + ("as", "in", "for", "double"),
    ("alphanumeric", "es"): tuple(codes.ES_LETTERS) + tuple(words.ES_UNITS) + ("de", "como", "doble"),
}


def hints(kind: str, language: str) -> tuple[str, ...]:
    """The words a recogniser should expect for a typed value (a Whisper prompt; a Vosk
    grammar lets any sequence of them be said, so the list is the whole vocabulary)."""
    lang = "es" if words.is_spanish(language) else "en"
    return tuple(dict.fromkeys(_HINTS.get((kind, lang), ())))
