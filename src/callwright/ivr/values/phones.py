"""Phone numbers: "five five five, one two three, four five six seven", "plus one eight
hundred...", "double five", Spanish pairs ("cincuenta y cinco"), keys; a length an E.164
number can have; stored as digits ("+15551234567" when the state gives a `country`), read
back digit by digit in groups."""

from __future__ import annotations

from callwright.flows.model import ValueOptions
from callwright.ivr.values import words
from callwright.ivr.values.base import Context, Invalid, Parsed, Result
from callwright.ivr.values.words import Num, Word

E164_MAX_DIGITS = 15
"""ITU-T E.164: a number is at most 15 digits, country code included."""
MIN_DIGITS = 7
"""The fewest digits a phone number is taken to have when the state does not say (`min`)."""
NANP = "1"
_PLUS = {"plus", "mas"}
_FILLERS = frozenset(
    "um uh er its it is my the number phone area code and please es mi el numero de telefono "
    "eh este pues y".split()
)


def parse_speech(text: str, options: ValueOptions, ctx: Context) -> Result:
    toks = words.tokens(text)
    if len(toks) > words.MAX_TOKENS:
        return Invalid("too many words for a phone number")
    plus = bool(toks) and toks[0] in _PLUS
    items = words.without(words.lex(toks[1:] if plus else toks, ctx.language, figures=True), _FILLERS)
    if not items or any(isinstance(x, Word) for x in items):
        return Invalid("not a phone number")
    if any(isinstance(x, Num) and x.kind == "ordinal" for x in items):
        return Invalid("not a phone number")
    return _valid(("+" if plus else "") + (words.digit_string(items) or ""), options)


def parse_keys(keys: str, options: ValueOptions, ctx: Context) -> Result:
    if not keys.isdecimal():
        return Invalid("a phone number is keyed as digits")
    return _valid(keys, options)


def max_keys(options: ValueOptions) -> int:
    return options.max_length or E164_MAX_DIGITS


def _valid(said: str, options: ValueOptions) -> Result:
    plus = said.startswith("+")
    digits = said.lstrip("+")
    cc = options.country
    if cc and not plus:
        if cc == NANP and len(digits) == 11 and digits.startswith("1"):
            digits = digits[1:]  # "one eight hundred..."
        elif cc != NANP and digits.startswith("0"):
            digits = digits[1:]  # the trunk prefix of a national number
        lo = options.min_length or (10 if cc == NANP else MIN_DIGITS - 1)
        hi = options.max_length or (10 if cc == NANP else E164_MAX_DIGITS - len(cc))
        if not lo <= len(digits) <= hi:
            return Invalid(f"{len(digits)} digits; a number here has {lo}-{hi}")
        return Parsed(f"+{cc}{digits}")
    lo = options.min_length or MIN_DIGITS
    hi = min(options.max_length or E164_MAX_DIGITS, E164_MAX_DIGITS)
    if not lo <= len(digits) <= hi:
        return Invalid(f"{len(digits)} digits; a phone number here has {lo}-{hi}")
    return Parsed(("+" if plus else "") + digits)


def _groups(digits: str) -> list[str]:
    if len(digits) == 10:
        return [digits[:3], digits[3:6], digits[6:]]
    out = []
    while len(digits) > 4:
        out.append(digits[:3])
        digits = digits[3:]
    return out + [digits] if digits else out


def read_back(value: str, language: str, country: str | None = None) -> str:
    """ "5 5 5, 1 2 3, 4 5 6 7": one figure at a time, in groups (the national number when
    the state gives the country, else every digit and "plus")."""
    text = str(value)
    if not text.lstrip("+").isdecimal():
        return text
    plus = text.startswith("+")
    digits = text.lstrip("+")
    if plus and not country and len(digits) == 11 and digits.startswith(NANP):
        country = NANP  # +1 and ten digits: a North American number, read as one is said
    if plus and country and digits.startswith(country):
        digits, plus = digits[len(country) :], False
    spoken = ", ".join(" ".join(g) for g in _groups(digits))
    if plus:
        return ("más " if words.is_spanish(language) else "plus ") + spoken
    return spoken
