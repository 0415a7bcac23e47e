"""Which language a transcription is in: language codes, what a model hears, and the checks that
turn a wrong `--language` (or a call's `language` field) into a user error rather than a decode
in the wrong language.

A language is an ISO 639 code, optionally with a region (`es`, `es-MX`, `en-us`); models are
matched by its primary subtag (`en-us` hears `en`). A model declares the languages it hears
(`Capabilities.languages`): one language (Whisper tiny.en, a Vosk model), every language
(`MULTILINGUAL`: Whisper base), or nothing declared (a Wyoming server's model: not checked).
The known codes are Whisper's own list, which covers every model Callwright can load. Pure
functions; no model is loaded here (the flow checker uses them too).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from callwright.errors import CallwrightError

MULTILINGUAL = "multilingual"
"""A model's languages entry for a model that hears any language (Whisper base)."""

KNOWN_LANGUAGES: tuple[str, ...] = tuple(
    "af am ar as az ba be bg bn bo br bs ca cs cy da de el en es et eu fa fi fo fr gl gu ha haw he "
    "hi hr ht hu hy id is it ja jw ka kk km kn ko la lb ln lo lt lv mg mi mk ml mn mr ms mt my ne nl "
    "nn no oc pa pl ps pt ro ru sa sd si sk sl sn so sq sr su sv sw ta te tg th tk tl tr tt uk ur uz "
    "vi yi yo zh yue".split()
)
"""Every language code a transcription may be asked for: Whisper's (faster-whisper's tokenizer
list; a test keeps the two equal)."""

_CODE = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})?$")


@dataclass(frozen=True)
class SpokenLanguage:
    """The language a transcript was decoded in, and how it was chosen: `probability` is the
    model's confidence when it detected the language itself, None when it was told (or the
    model hears one language only)."""

    code: str  # primary subtag, lower case: "es"
    probability: float | None = None

    @property
    def detected(self) -> bool:
        return self.probability is not None


def primary(language: str) -> str:
    """The primary subtag of a language code, lower case (`es-MX` -> `es`, `en_US` -> `en`)."""
    return language.strip().lower().replace("_", "-").split("-")[0]


def known(language: str) -> bool:
    """Whether `language` is a well-formed code of a language a transcription can be asked for."""
    return bool(_CODE.match(language.strip())) and primary(language) in KNOWN_LANGUAGES


def serves(languages: Sequence[str], language: str) -> bool:
    """Whether a model of these languages hears `language` (by primary subtag: `en-us` hears
    `en`, `en` hears `en-GB`; a multilingual model hears every language)."""
    if MULTILINGUAL in languages:
        return True
    want = primary(language)
    return any(primary(lang) == want for lang in languages)


def described(languages: Sequence[str]) -> str:
    """A model's languages as an error message says them ("English only", "every language")."""
    if MULTILINGUAL in languages:
        return "every language"
    if not languages:
        return "languages it does not declare"
    codes = sorted({primary(lang) for lang in languages})
    return f"{', '.join(codes)} only"


def check_language(language: str, languages: Sequence[str], *, field: str, model: str) -> str:
    """`language` (stripped), or a `CallwrightError` naming `field` (`--language`, a file's
    `language` field) when it is no known language code or the model cannot hear it.

    `languages` are the model's (`Capabilities.languages`); () means the model does not declare
    them (a Wyoming server), so only the code is checked. An English-only model asked for German
    would decode German audio as English words: that is refused, never silently done.
    """
    code = language.strip()
    if not known(code):
        raise CallwrightError(
            f"{field}: {code!r} is not a language code",
            hint="give an ISO 639-1 code such as en, es, de or fr (optionally with a region: es-MX)",
        )
    if languages and not serves(languages, code):
        raise CallwrightError(
            f"{field}: model {model} hears {described(languages)}, not {primary(code)!r}",
            hint="choose a model that hears it (base hears every language), or leave the language out",
        )
    return code
