"""Phone numbers: North American (NANP) and international "+CC" forms.

A bare ten-digit number is a phone when it has NANP shape (area code and
exchange starting 2-9); a "+"/"plus"/"00" prefix marks an international number
of 8-15 digits (E.164). Local numbers (seven digits) and ten or eleven digits
of any other shape (national numbers starting 0, made-up exchanges such as
555-123-4567) are only taken after a phone cue ("call me on"). A number
right after "order", "reference", "account" and the like is left alone unless
a phone cue is nearer ("the phone on the account is ..." names where the phone
belongs: that "account" bars nothing).
"""

from __future__ import annotations

from callwright.redaction.numbers import Run
from callwright.redaction.scan import Candidate, Kind, Scan, claim, cue_before, free, is_aside, phrases

PHONE_CUES = phrases(
    "phone", "telephone", "cell", "mobile", "cellphone", "landline", "call", "reach",
    "text", "fax", "callback", "call back", "contact number", "best number", "home number",
    "work number", "number to reach", "dial", "ring",
)  # fmt: skip
NOT_PHONE_CUES = phrases(
    "order", "reference", "ref", "confirmation", "account", "invoice", "tracking", "case",
    "ticket", "policy", "member", "claim", "booking", "receipt", "transaction", "serial",
    "model", "id", "pin", "routing", "zip", "postcode", "postal", "sku", "part",
)  # fmt: skip
PLUS_WORDS = {"+", "plus"}
CUE_TOKENS = 10
NOT_CUE_TOKENS = 5
E164_DIGITS = range(8, 16)


def nanp_ok(digits: str) -> bool:
    """Ten digits (or eleven starting 1) with a valid area code and exchange."""
    if len(digits) == 11 and digits[0] == "1":
        digits = digits[1:]
    return len(digits) == 10 and digits[0] in "23456789" and digits[3] in "23456789"


def _is_phone(digits: str, *, plus: bool, cued: bool, barred: bool) -> bool:
    if len(set(digits)) == 1:  # "3333333333" is emphasis (or a heart: "<3333"), not a line
        return False
    if plus:
        return len(digits) in E164_DIGITS and digits[0] != "0"
    if digits.startswith("00") and len(digits) - 2 in E164_DIGITS:
        return True
    if cued and len(digits) == 7 and digits[0] in "23456789":
        return True
    if cued and len(digits) in (10, 11):  # "call me on 555 123 4567", "07700 900123"
        return True
    return nanp_ok(digits) and (cued or not barred)


def _with_brackets(scan: Scan, first: int, last: int) -> tuple[int, int]:
    """Widen to "(" and ")" around the number so "(555) 123-4567" leaves no stray bracket."""
    if scan.word(first - 1) == "(":
        first -= 1
    if scan.word(last + 1) == ")":
        last += 1
    return first, last


def _phone_in(scan: Scan, run: Run, cue_ends: list[int], bar_ends: list[int]) -> Candidate | None:
    for var in run.variants():
        plus_at = var.first - 1 if scan.word(var.first - 1) in PLUS_WORDS else None
        cue = cue_before(cue_ends, var.first, CUE_TOKENS)
        bar = cue_before(bar_ends, var.first, NOT_CUE_TOKENS)
        cued = cue is not None and (bar is None or cue > bar)
        if _is_phone(var.digits, plus=plus_at is not None, cued=cued, barred=bar is not None):
            start = plus_at if plus_at is not None else var.first
            first, last = _with_brackets(scan, start, var.last)
            return Candidate(Kind.PHONE, first, last, var.digits)
    return None


def find_phones(scan: Scan, claimed: set[int]) -> list[Candidate]:
    cue_ends = scan.phrase_ends(PHONE_CUES)
    # "the phone number on the account": the account is where the phone belongs, not a bar
    bar_ends = sorted(
        last
        for first, last in scan.phrase_hits(NOT_PHONE_CUES)
        if not (is_aside(scan, first) and scan.word(last + 1) not in ("number", "no", "#"))
    )
    found: list[Candidate] = []
    for run in scan.runs:
        if free(claimed, run.first, run.last):
            cand = _phone_in(scan, run, cue_ends, bar_ends)
            if cand is not None:
                found.append(cand)
    claim(claimed, found)
    return found
