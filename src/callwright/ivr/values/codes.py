"""Codes of letters and figures (a booking reference, a postcode): "A as in apple", "alpha
bravo", "bee", "double five", "a de Antonio", keys for the figures; stored upper case
("AB12C"), read back one character at a time."""

from __future__ import annotations

from callwright.flows.model import ValueOptions
from callwright.ivr.values import words
from callwright.ivr.values.base import Context, Invalid, Parsed, Result

DEFAULT_MAX_LENGTH = 20
NATO = {
    "alpha": "A", "alfa": "A", "bravo": "B", "charlie": "C", "delta": "D", "echo": "E",
    "foxtrot": "F", "golf": "G", "hotel": "H", "india": "I", "juliet": "J", "juliett": "J",
    "kilo": "K", "lima": "L", "mike": "M", "november": "N", "oscar": "O", "papa": "P",
    "quebec": "Q", "romeo": "R", "sierra": "S", "tango": "T", "uniform": "U", "victor": "V",
    "whiskey": "W", "whisky": "W", "xray": "X", "yankee": "Y", "zulu": "Z",
}  # fmt: skip
EN_LETTERS = {
    "ay": "A", "bee": "B", "be": "B", "see": "C", "sea": "C", "cee": "C", "dee": "D", "ee": "E",
    "eff": "F", "ef": "F", "gee": "G", "aitch": "H", "eye": "I", "jay": "J", "kay": "K",
    "el": "L", "ell": "L", "em": "M", "en": "N", "oh": "O", "pee": "P", "pea": "P", "cue": "Q",
    "queue": "Q", "ar": "R", "are": "R", "ess": "S", "tee": "T", "tea": "T", "you": "U",
    "vee": "V", "ex": "X", "why": "Y", "zee": "Z", "zed": "Z",
}  # fmt: skip
ES_LETTERS = {
    "be": "B", "ce": "C", "de": "D", "efe": "F", "ge": "G", "hache": "H", "jota": "J", "ka": "K",
    "ele": "L", "eme": "M", "ene": "N", "eñe": "Ñ", "pe": "P", "cu": "Q", "erre": "R", "ere": "R",
    "ese": "S", "te": "T", "uve": "V", "ve": "V", "equis": "X", "ye": "Y", "zeta": "Z", "zeda": "Z",
}  # fmt: skip
_AS_IN = {"as", "for", "like", "de", "como"}  # "A as in apple", "B for boy", "A de Antonio"
_FILLERS = frozenset(
    "um uh er its it is my the code number reference letter capital please and then es mi "
    "el codigo numero letra eh este pues".split()
)


def parse_speech(text: str, options: ValueOptions, ctx: Context) -> Result:
    toks = words.tokens(text)
    if len(toks) > words.MAX_TOKENS:
        return Invalid("too many words for a code")
    spanish = words.is_spanish(ctx.language)
    out: list[str] = []
    i = 0
    while i < len(toks):
        tok = toks[i]
        nxt = toks[i + 1] if i + 1 < len(toks) else ""
        if (tok, nxt) in (("double", "you"), ("doble", "ve"), ("uve", "doble"), ("x", "ray")):
            out.append("X" if tok == "x" else "W")
            i += 2
            continue
        if tok in ("double", "triple", "doble") and nxt:
            one = _characters(nxt, spanish)
            if one is None or len(one) != 1:
                return Invalid(f"'{tok} {nxt}' is not a repeated letter or figure")
            out.append(one * (2 if tok in ("double", "doble") else 3))
            i += 2
            continue
        if tok in ("i", "y") and nxt == "griega" and spanish:
            out.append("Y")
            i += 2
            continue
        # "A as in apple", "B for boy", "A de Antonio": the word after spells the letter
        if out and tok in _AS_IN and nxt:
            word = toks[i + 2] if nxt == "in" and i + 2 < len(toks) else nxt
            skip = 3 if nxt == "in" else 2
            if word and word[0].upper() == out[-1][-1]:
                i += skip
                continue
        if tok in _FILLERS:
            i += 1
            continue
        chars = _characters(tok, spanish)
        if chars is None:
            return Invalid(f"'{tok}' is not a letter or a figure")
        out.append(chars)
        i += 1
    return _valid("".join(out), options)


def _characters(tok: str, spanish: bool) -> str | None:
    if tok.isalnum() and tok.isascii() and (len(tok) == 1 or any(ch.isdecimal() for ch in tok)):
        return tok.upper()
    if tok in NATO:
        return NATO[tok]
    if spanish and tok in ES_LETTERS:
        return ES_LETTERS[tok]
    if tok in EN_LETTERS:
        return EN_LETTERS[tok]
    if tok in words.EN_UNITS:
        return str(words.EN_UNITS[tok])
    if spanish and tok in words.ES_UNITS:
        return str(words.ES_UNITS[tok])
    if tok == "ñ":
        return "Ñ"
    return None


def parse_keys(keys: str, options: ValueOptions, ctx: Context) -> Result:
    if not keys.isdecimal():
        return Invalid("only figures can be keyed")
    return _valid(keys, options)


def max_keys(options: ValueOptions) -> int:
    return options.max_length or DEFAULT_MAX_LENGTH


def _valid(code: str, options: ValueOptions) -> Result:
    lo = options.min_length or 1
    hi = options.max_length or DEFAULT_MAX_LENGTH
    if not lo <= len(code) <= hi:
        return Invalid(f"{len(code)} characters; expected {lo}-{hi}" if code else "no letters or figures")
    return Parsed(code)


def read_back(value: str, language: str) -> str:
    """ "A, B, 1, 2, C": one character at a time."""
    return ", ".join(str(value))
