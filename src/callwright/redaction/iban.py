"""International bank account numbers (IBAN), written or spelled out.

An IBAN is a country code, two check digits and up to 30 letters and digits,
with the country's fixed length and an ISO 7064 mod-97 check that a random
string passes one time in 97. It reaches a transcript written ("GB82 WEST 1234
5698 7654 32", "DE89370400440532013000") or said letter by letter and digit by
digit ("g b eight two w e s t one two ..."), so tokens are read into one
stream of characters (letters said alone, numerals, number words as numbers.py
reads them) and every place where a country code starts is checked. After an
IBAN cue a stream of 15 or more characters that starts with two letters is
taken even when the check fails (a misheard character).
"""

from __future__ import annotations

from callwright.redaction.numbers import HOMOPHONES, REPEATS, TEENS, TENS, UNITS, ZERO_LETTERS
from callwright.redaction.scan import Candidate, Kind, Scan, claim, cue_before, free, phrases

IBAN_CUES = phrases("iban", "i b a n", "international bank account number")
CUE_TOKENS = 8
CUED_MIN_CHARS = 15
# ISO 13616 lengths by country (the registry's common members).
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BR": 29, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20,
    "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18,
    "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IS": 26, "IT": 27, "JO": 30,
    "KW": 30, "KZ": 20, "LB": 28, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24,
    "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28,
    "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SE": 24, "SI": 19, "SK": 24,
    "SM": 27, "TN": 24, "TR": 26, "UA": 29, "VG": 24, "XK": 20,
}  # fmt: skip
NUMBER_WORDS = {*UNITS, *TEENS, *TENS, *ZERO_LETTERS, *HOMOPHONES, *REPEATS}
STREAM_JOINERS = {"-", ",", "uh", "um", "er", "dash", "space"}
MAX_WRITTEN_LETTERS = 4
"""A written group of capitals standing apart inside an IBAN ("WEST", "NWBK"): bank codes are four
at most. Letters written against digits ("GB82WEST1234") are read whatever their number."""


def iban_ok(text: str) -> bool:
    """The country's length and the mod-97 check (letters count A=10 ... Z=35)."""
    s = text.upper()
    if len(s) < 5 or IBAN_LENGTHS.get(s[:2]) != len(s) or not s[2:4].isdigit() or not s.isalnum():
        return False
    moved = s[4:] + s[:4]
    return int("".join(str(int(ch, 36)) for ch in moved)) % 97 == 1


def _streams(scan: Scan) -> list[list[tuple[str, int]]]:
    """Stretches of tokens read as IBAN characters, each character with its token index."""
    tokens = scan.tokens
    out: list[list[tuple[str, int]]] = []
    cur: list[tuple[str, int]] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        chars: list[tuple[str, int]] | None = None
        if tok.kind == "num":
            chars = [(d, i) for d in tok.norm]
            nxt = i + 1
        elif tok.kind == "word":
            item = scan.number_at(i) if tok.norm in NUMBER_WORDS else None
            glued = (i > 0 and not tok.spaced and tokens[i - 1].kind == "num") or (
                i + 1 < len(tokens) and not tokens[i + 1].spaced and tokens[i + 1].kind == "num"
            )
            if len(tok.norm) == 1 and tok.norm.isascii():
                chars, nxt = [(tok.norm.upper(), i)], i + 1
            elif item is not None and item.digits.isdigit() and not item.cardinal:
                chars = [(d, item.first) for d in item.digits[:-1]] + [(item.digits[-1], item.last)]
                nxt = item.last + 1
            elif (
                tok.norm.isascii()
                and tok.norm.isalpha()
                and (glued or (tok.text.isupper() and len(tok.norm) <= MAX_WRITTEN_LETTERS))
            ):
                chars, nxt = [(ch.upper(), i) for ch in tok.norm], i + 1
        if chars is not None:
            cur += chars
            i = nxt
            continue
        if tok.norm in STREAM_JOINERS and cur:
            i += 1
            continue
        if cur:
            out.append(cur)
            cur = []
        i += 1
    if cur:
        out.append(cur)
    return out


def find_ibans(scan: Scan, claimed: set[int]) -> list[Candidate]:
    cue_ends = scan.phrase_ends(IBAN_CUES)
    found: list[Candidate] = []
    for stream in _streams(scan):
        text = "".join(ch for ch, _ in stream)
        p = 0
        hit = False
        while p + 4 <= len(text):
            n = IBAN_LENGTHS.get(text[p : p + 2])
            if n is not None and p + n <= len(text) and iban_ok(text[p : p + n]):
                first, last = stream[p][1], stream[p + n - 1][1]
                if free(claimed, first, last):
                    found.append(Candidate(Kind.IBAN, first, last, text[p : p + n]))
                    claim(claimed, found[-1:])
                    hit = True
                p += n
                continue
            p += 1
        if hit or cue_before(cue_ends, stream[0][1], CUE_TOKENS) is None:
            continue
        start = next((k for k in range(len(text) - 1) if text[k : k + 2].isalpha()), None)
        if start is not None and len(text) - start >= CUED_MIN_CHARS:
            first, last = stream[start][1], stream[-1][1]
            if free(claimed, first, last):
                found.append(Candidate(Kind.IBAN, first, last, text[start:]))
                claim(claimed, found[-1:])
    return found
