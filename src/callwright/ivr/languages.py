"""Spoken answers in the call's language: yes/no, digits and numbers (English and Spanish).

English parsing lives in `speech.closedset`; this module adds Spanish and picks by the
call's `language` variable (`es`, `es-MX`... -> Spanish). A Spanish caller is understood
in English too (callers mix: "okay", "yes"), but not the other way round, so an English
call never takes "no sé" for a no. Pure functions over text.
"""

from __future__ import annotations

from callwright.ivr.values.words import ES_HUNDREDS as _ES_HUNDREDS
from callwright.ivr.values.words import ES_TENS as _ES_TENS
from callwright.ivr.values.words import is_spanish
from callwright.speech import closedset

_ES_YES = {
    "sí", "si", "claro", "correcto", "exacto", "vale", "afirmativo", "cierto", "efectivamente",
    "perfecto", "bueno", "okey", "ok", "okay", "seguro",
}  # fmt: skip
_ES_YES_PHRASES = ("de acuerdo", "por supuesto", "así es", "asi es", "eso es", "está bien", "esta bien")
_ES_NO = {"no", "incorrecto", "negativo", "nunca", "falso", "tampoco"}
_ES_NO_PHRASES = ("para nada", "de ninguna manera")
_ES_UNSURE = (
    "no sé",
    "no se",
    "no estoy seguro",
    "no estoy segura",
    "ni idea",
    "quizás",
    "quizas",
    "tal vez",
)

_ES_UNITS = {
    "cero": 0, "uno": 1, "una": 1, "un": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6,
    "siete": 7, "ocho": 8, "nueve": 9, "diez": 10, "once": 11, "doce": 12, "trece": 13, "catorce": 14,
    "quince": 15, "dieciséis": 16, "dieciseis": 16, "diecisiete": 17, "dieciocho": 18,
    "diecinueve": 19, "veinte": 20, "veintiuno": 21, "veintiún": 21, "veintiun": 21, "veintiuna": 21,
    "veintidós": 22, "veintidos": 22, "veintitrés": 23, "veintitres": 23, "veinticuatro": 24,
    "veinticinco": 25, "veintiséis": 26, "veintiseis": 26, "veintisiete": 27, "veintiocho": 28,
    "veintinueve": 29,
}  # fmt: skip
_ES_FILLERS = {"eh", "em", "este", "pues", "es", "el", "mi", "número", "numero", "por", "favor", "y"}


def _joined(text: str) -> str:
    return " " + " ".join(closedset.normalize(text)) + " "


def spanish_yes_no(text: str) -> bool | None:
    """True for sí-like answers, False for no-like ones, None when unclear or both.
    "no" before a yes-word makes it a no ("no es correcto")."""
    joined = _joined(text)
    if any(f" {p} " in joined for p in _ES_UNSURE):
        return None
    tokens = joined.split()
    yes = any(f" {p} " in joined for p in _ES_YES_PHRASES)
    no = any(f" {p} " in joined for p in _ES_NO_PHRASES)
    for i, tok in enumerate(tokens):
        if tok in _ES_NO:
            no = True
        elif tok in _ES_YES:
            if "no" in tokens[max(0, i - 2) : i]:
                no = True
            else:
                yes = True
    if yes == no:
        return None
    return yes


def yes_no(text: str, language: str | None) -> bool | None:
    """A yes/no answer in the call's language (Spanish calls also take English)."""
    if is_spanish(language):
        if any(f" {p} " in _joined(text) for p in _ES_UNSURE):
            return None  # "no sé" is not a no
        answer = spanish_yes_no(text)
        return answer if answer is not None else closedset.parse_yes_no(text)
    return closedset.parse_yes_no(text)


def spanish_digits(text: str) -> str | None:
    """A digit string said in Spanish ("cuatro uno uno uno", "cuatro 1 1 uno"), else None."""
    out = []
    for tok in closedset.normalize(text):
        if tok.isdigit():
            out.append(tok)
        elif tok in _ES_UNITS and _ES_UNITS[tok] < 10:
            out.append(str(_ES_UNITS[tok]))
        elif tok in _ES_UNITS or tok in _ES_TENS:
            return None  # a whole number: not read digit by digit here
        elif tok not in _ES_FILLERS:
            return None
    return "".join(out) or None


def spanish_number(text: str) -> int | None:
    """A whole number said in Spanish ("treinta y dos", "ciento cinco", "dos mil"), else None."""
    tokens = [t for t in closedset.normalize(text) if t not in ("eh", "em", "pues")]
    if not tokens:
        return None
    if len(tokens) == 1 and tokens[0].isdigit():
        return int(tokens[0])
    total = current = 0
    last = ""
    for i, tok in enumerate(tokens):
        if tok == "y":
            if last != "tens" or i + 1 >= len(tokens) or _ES_UNITS.get(tokens[i + 1], 10) >= 10:
                return None
            last = "y"
        elif tok in _ES_HUNDREDS:
            if last not in ("", "mil"):
                return None
            current += _ES_HUNDREDS[tok]
            last = "hundreds"
        elif tok in _ES_TENS:
            if last in ("tens", "unit", "y"):
                return None
            current += _ES_TENS[tok]
            last = "tens"
        elif tok in _ES_UNITS:
            value = _ES_UNITS[tok]
            if last == "unit" or (last == "tens") or (last == "y" and value >= 10):
                return None
            current += value
            last = "unit"
        elif tok == "mil":
            if last == "mil":
                return None
            total += (current or 1) * 1000
            current = 0
            last = "mil"
        else:
            return None
    if last == "y":
        return None
    return total + current


def digits(text: str, language: str | None) -> str | None:
    if is_spanish(language):
        found = spanish_digits(text)
        if found is not None:
            return found
    return closedset.parse_digits(text)


def number(text: str, language: str | None) -> int | None:
    if is_spanish(language):
        found = spanish_number(text)
        if found is not None:
            return found
    return closedset.parse_number(text)
