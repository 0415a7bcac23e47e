"""Spoken numbers as items: the words of an utterance with every number in it grouped.

Each typed value (date, time, phone, currency, alphanumeric) reads the same raw material:
how a caller groups the figures they say. "nineteen eighty" is two numbers (19, 80), which a
year joins into 1980; "oh three" is a two-figure 03; "twenty fifth" an ordinal; "double
five" 55. `lex` turns English or Spanish text into `Num` and `Word` items, keeping how
many figures each number was said with (`width`), so a date can tell "oh five" from
"five". Pure functions over text.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from callwright.speech.asr.languages import primary

NumKind = Literal["digit", "pair", "teen", "tens", "compound", "numeral", "ordinal"]

MAX_TOKENS = 60
"""Words read from one utterance: a date or a phone number is far shorter; a longer text is
not one of these values, and a bound keeps every parser linear in a small constant."""


@dataclass(frozen=True)
class Num:
    """A number as said: its value, its kind and how many figures it stands for."""

    value: int
    kind: NumKind
    width: int  # figures: "oh five" 2, "five" 1, "1980" 4, "nineteen" 2

    @property
    def figures(self) -> str:
        """The digits this number contributes to a digit string ("oh five" -> "05")."""
        return str(self.value).zfill(self.width)


@dataclass(frozen=True)
class Word:
    text: str


Item = Num | Word

# --- English ----------------------------------------------------------------------------

EN_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9,
}  # fmt: skip
EN_TEENS = {
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
EN_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
EN_ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13,
    "fourteenth": 14, "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18,
    "nineteenth": 19, "twentieth": 20, "thirtieth": 30,
}  # fmt: skip
EN_ZERO = {"oh", "o", "nought", "naught"}
REPEATS = {"double": 2, "triple": 3, "treble": 3, "doble": 2}

# --- Spanish ------------------------------------------------------------------------------

ES_UNITS = {
    "cero": 0, "uno": 1, "una": 1, "un": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5,
    "seis": 6, "siete": 7, "ocho": 8, "nueve": 9,
}  # fmt: skip
ES_TEENS = {
    "diez": 10, "once": 11, "doce": 12, "trece": 13, "catorce": 14, "quince": 15,
    "dieciseis": 16, "diecisiete": 17, "dieciocho": 18, "diecinueve": 19, "veinte": 20,
    "veintiuno": 21, "veintiun": 21, "veintiuna": 21, "veintidos": 22, "veintitres": 23,
    "veinticuatro": 24, "veinticinco": 25, "veintiseis": 26, "veintisiete": 27,
    "veintiocho": 28, "veintinueve": 29,
}  # fmt: skip
ES_TENS = {
    "treinta": 30, "cuarenta": 40, "cincuenta": 50, "sesenta": 60, "setenta": 70,
    "ochenta": 80, "noventa": 90,
}  # fmt: skip
ES_HUNDREDS = {
    "cien": 100, "ciento": 100, "doscientos": 200, "doscientas": 200, "trescientos": 300,
    "trescientas": 300, "cuatrocientos": 400, "cuatrocientas": 400, "quinientos": 500,
    "quinientas": 500, "seiscientos": 600, "seiscientas": 600, "setecientos": 700,
    "setecientas": 700, "ochocientos": 800, "ochocientas": 800, "novecientos": 900,
    "novecientas": 900,
}  # fmt: skip
ES_ORDINALS = {"primero": 1, "primer": 1, "1o": 1, "1ro": 1}


def fold(text: str) -> str:
    """Lower case without accents ("Sí, dólares" -> "si, dolares"): callers and recognisers
    drop them, so words are compared folded (ñ stays, it is a letter of its own)."""
    out: list[str] = []
    for ch in unicodedata.normalize("NFD", text.lower()):
        if unicodedata.combining(ch) and not (ch == "\u0303" and out and out[-1] == "n"):
            continue
        out.append(ch)
    return unicodedata.normalize("NFC", "".join(out))


_ORDINAL_NUMERAL = re.compile(r"^(\d{1,2})(st|nd|rd|th|o|a|ro|do|to|er)$")


def tokens(text: str) -> list[str]:
    """Folded word tokens: punctuation splits ("3/5/1980" -> 3 5 1980), apostrophes join
    ("o'clock" -> oclock), "a.m." -> am. At most MAX_TOKENS."""
    t = fold(text)
    t = re.sub(r"\b([ap])\.\s?m\b\.?", r"\1m", t)
    t = t.replace("'", "").replace("\u2019", "")
    return re.sub(r"[^\w]+|_", " ", t).split()[: MAX_TOKENS + 1]


def is_spanish(language: str | None) -> bool:
    """`es`, `es-MX`, `es_MX`...: by the primary subtag, as the speech models are matched."""
    return bool(language) and primary(str(language)) == "es"


def lex(words: list[str], language: str | None, *, figures: bool = False) -> list[Item]:
    """Group number words into `Num`s (English always; Spanish too in a Spanish call:
    callers mix), leave the rest as `Word`s. With `figures` (a phone number), "eight
    hundred five" is 800 then 5, not 805."""
    spanish = is_spanish(language)
    out: list[Item] = []
    i = 0
    while i < len(words):
        tok = words[i]
        if tok in REPEATS and i + 1 < len(words):
            nxt = _single_digit(words[i + 1], spanish)
            if nxt is not None:
                out.extend([Num(nxt, "digit", 1)] * REPEATS[tok])
                i += 2
                continue
        if spanish:
            got = _spanish_number(words, i)
            if got is not None:
                num, i = got
                out.append(num)
                continue
        got = _english_number(words, i, figures)
        if got is not None:
            num, i = got
            out.append(num)
            continue
        out.append(Word(tok))
        i += 1
    return _pairs(out)


def _pairs(items: list[Item]) -> list[Item]:
    """ "oh five", "zero three": a zero said before a digit makes a two-figure number."""
    out: list[Item] = []
    i = 0
    while i < len(items):
        a = items[i]
        b = items[i + 1] if i + 1 < len(items) else None
        if (
            isinstance(a, Num)
            and a.kind == "digit"
            and a.value == 0
            and isinstance(b, Num)
            and b.kind == "digit"
        ):
            out.append(Num(b.value, "pair", 2))
            i += 2
            continue
        out.append(a)
        i += 1
    return out


def _single_digit(tok: str, spanish: bool) -> int | None:
    if tok.isdecimal() and len(tok) == 1:
        return int(tok)
    if tok in EN_UNITS:
        return EN_UNITS[tok]
    if tok in EN_ZERO:
        return 0
    if spanish and tok in ES_UNITS:
        return ES_UNITS[tok]
    return None


def _english_small(words: list[str], i: int) -> tuple[Num, int] | None:
    """One to ninety-nine (cardinal or ordinal) starting at words[i]."""
    tok = words[i]
    nxt = words[i + 1] if i + 1 < len(words) else ""
    if tok in EN_TENS:
        if nxt in EN_UNITS and EN_UNITS[nxt] > 0:
            return Num(EN_TENS[tok] + EN_UNITS[nxt], "tens", 2), i + 2
        if nxt in EN_ORDINALS and EN_ORDINALS[nxt] < 10:
            return Num(EN_TENS[tok] + EN_ORDINALS[nxt], "ordinal", 2), i + 2
        return Num(EN_TENS[tok], "tens", 2), i + 1
    if tok in EN_TEENS:
        return Num(EN_TEENS[tok], "teen", 2), i + 1
    if tok in EN_UNITS:
        return Num(EN_UNITS[tok], "digit", 1), i + 1
    if tok in EN_ZERO:
        return Num(0, "digit", 1), i + 1
    if tok in EN_ORDINALS:
        v = EN_ORDINALS[tok]
        return Num(v, "ordinal", len(str(v))), i + 1
    return None


def _english_number(words: list[str], i: int, figures: bool = False) -> tuple[Num, int] | None:
    tok = words[i]
    if tok.isdecimal():
        return Num(int(tok), "numeral", len(tok)), i + 1
    m = _ORDINAL_NUMERAL.match(tok)
    if m:
        return Num(int(m.group(1)), "ordinal", len(m.group(1))), i + 1
    if tok == "a" and i + 1 < len(words) and words[i + 1] in ("hundred", "thousand"):
        small: tuple[Num, int] | None = (Num(1, "digit", 1), i + 1)
    else:
        small = _english_small(words, i)
    if small is None:
        return None
    num, j = small
    value = num.value
    if num.kind == "ordinal" or tok in EN_ZERO:
        return small
    compound = False
    if j < len(words) and words[j] == "hundred" and 0 < value < 100:
        value, j, compound = value * 100, j + 1, True
        if figures:
            return Num(value, "compound", len(str(value))), j
        value, j = _english_rest(words, j, value)
    if j < len(words) and words[j] == "thousand" and 0 < value < 1000 and not figures:
        value, j, compound = value * 1000, j + 1, True
        if j < len(words) and words[j] not in ("and",) and _english_small(words, j) is not None:
            sub = _english_small(words, j)
            assert sub is not None
            if j + 1 < len(words) and words[sub[1] : sub[1] + 1] == ["hundred"] and sub[0].value < 10:
                value, j = value + sub[0].value * 100, sub[1] + 1
            value, j = _english_rest(words, j, value)
        else:
            value, j = _english_rest(words, j, value)
    if compound:
        return Num(value, "compound", len(str(value))), j
    return num, j


def _english_rest(words: list[str], j: int, value: int) -> tuple[int, int]:
    """ "[and] twenty four" after hundred or thousand."""
    k = j + 1 if j < len(words) and words[j] == "and" else j
    if k < len(words):
        sub = _english_small(words, k)
        if sub is not None and sub[0].kind != "ordinal" and words[k] not in EN_ZERO:
            return value + sub[0].value, sub[1]
    return value, j


_ES_NUMBER_WORDS = set(ES_UNITS) | set(ES_TEENS) | set(ES_TENS) | set(ES_HUNDREDS) | {"mil", "y"}


def _spanish_number(words: list[str], i: int) -> tuple[Num, int] | None:
    """A Spanish cardinal ("mil novecientos ochenta", "treinta y uno") or "primero"."""
    tok = words[i]
    if tok in ES_ORDINALS:
        return Num(1, "ordinal", 1), i + 1
    if tok not in _ES_NUMBER_WORDS or tok == "y":
        return None
    if tok in ES_UNITS and (i + 1 >= len(words) or words[i + 1] not in ("mil",)):
        return Num(ES_UNITS[tok], "digit", 1), i + 1
    total = current = 0
    j = i
    last = ""
    while j < len(words):
        w = words[j]
        if w == "mil" and last in ("", "unit", "tens", "teen", "hundreds") and total == 0:
            total, current, last = (current or 1) * 1000, 0, "mil"
        elif w in ES_HUNDREDS and last in ("", "mil"):
            current += ES_HUNDREDS[w]
            last = "hundreds"
        elif w in ES_TENS and last in ("", "mil", "hundreds"):
            current += ES_TENS[w]
            last = "tens"
        elif w == "y" and last == "tens" and j + 1 < len(words) and words[j + 1] in ES_UNITS:
            current += ES_UNITS[words[j + 1]]
            j += 1
            last = "unit"
        elif w in ES_TEENS and last in ("", "mil", "hundreds"):
            current += ES_TEENS[w]
            last = "teen"
        elif w in ES_UNITS and last in ("", "mil", "hundreds"):
            current += ES_UNITS[w]
            last = "unit"
        else:
            break
        j += 1
    if j == i:
        return None
    value = total + current
    kind: NumKind = "compound" if total or value >= 100 else "tens" if value >= 20 else "teen"
    return Num(value, kind, len(str(value))), j


def digit_string(items: list[Item]) -> str | None:
    """The figures of items that are all numbers ("oh three oh five eighty" -> "030580")."""
    if not items or not all(isinstance(x, Num) for x in items):
        return None
    return "".join(x.figures for x in items if isinstance(x, Num))


def without(items: list[Item], fillers: frozenset[str]) -> list[Item]:
    return [x for x in items if not (isinstance(x, Word) and x.text in fillers)]
