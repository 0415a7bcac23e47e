"""PINs, passcodes and passwords given after their cue.

A PIN is an ordinary 3-8 digit number, so it is only taken right after a PIN
cue ("my pin is", "passcode", "access code"). After "password" or "passcode"
a written word with digits in it ("hunter2") is taken too; a password of plain
words ("bluebird") cannot be told from the rest of the sentence and is left
(docs/redaction.md, known limits).
"""

from __future__ import annotations

from callwright.redaction.cues import LEAD_IN, Cue, Cues, cue_after, nearest_cue
from callwright.redaction.scan import Candidate, Kind, Scan, claim, free

PIN_DIGITS = range(3, 9)
ALNUM_CUE_WORDS = {"password", "passcode", "word", "code", "pin"}
ALNUM_MAX_TOKENS = 6
"""The longest written password taken: a run of tokens with no space between them."""
CUE_TAIL = {"is", "was", "would", "be", ":"}
"""Words a PIN cue phrase may end with ("passcode is"): the secret word is the one before them."""


def _names_a_secret_word(scan: Scan, cue: Cue) -> bool:
    """Whether the cue names a password-like secret: "password", "the passcode is", "pin code".

    The cue phrase may end in "is" ("passcode is" is listed as one), so the words
    before such a tail are looked at too; checking only the last word missed
    "the passcode is hunter2".
    """
    k = cue.end
    while scan.word(k) in CUE_TAIL and k > cue.end - 2:
        k -= 1
    return scan.word(k) in ALNUM_CUE_WORDS


def _glued(scan: Scan, k: int) -> bool:
    """Whether token k runs on into the next with no space ("s" in "s3cret")."""
    return k + 1 < len(scan.tokens) and not scan.tokens[k + 1].spaced


def _alnum_after(scan: Scan, cue: Cue) -> Candidate | None:
    """A written password or passcode with letters and digits ("hunter2", "Tr0ub4dor") after the cue.

    Lead-in words are skipped only when they stand alone: the "s" of "s3cret" is
    the secret's first letter, not a possessive, and leaving it would show part
    of the secret.
    """
    k = cue.end + 1
    while (
        k < len(scan.tokens)
        and scan.word(k) in LEAD_IN
        and scan.tokens[k].kind != "num"
        and not (_glued(scan, k) and scan.tokens[k].kind == "word")
    ):
        k += 1
    if k >= len(scan.tokens):
        return None
    end = k
    while (
        end + 1 < len(scan.tokens)
        and end + 1 - k < ALNUM_MAX_TOKENS
        and not scan.tokens[end + 1].spaced
        and scan.tokens[end + 1].norm not in {".", ",", "?", "!"}
    ):
        end += 1
    kinds = {scan.tokens[i].kind for i in range(k, end + 1)}
    if "num" in kinds and "word" in kinds:
        return Candidate(Kind.PIN, k, end)
    return None


def find_pins(scan: Scan, cues: Cues, claimed: set[int]) -> list[Candidate]:
    """PINs and passcodes after a PIN cue (the nearest cue before them), or just before one said
    after them when none comes before ("it's 4 4 7 1 for the pin")."""
    found: list[Candidate] = []
    for run in scan.runs:
        if not free(claimed, run.first, run.last):
            continue
        cue = nearest_cue(scan, cues, run.first) or cue_after(scan, cues, run.last)
        if cue is None or cue.family != "pin":
            continue
        var = run.variants()[0]
        if any(i.cardinal for i in var.items):
            continue
        if len(var.digits) in PIN_DIGITS:
            found.append(Candidate(Kind.PIN, var.first, var.last, var.digits))
    claim(claimed, found)
    for cue in cues:
        if cue.family == "pin" and _names_a_secret_word(scan, cue):
            cand = _alnum_after(scan, cue)
            if cand is not None and free(claimed, cand.first, cand.last):
                found.append(cand)
                claim(claimed, [cand])
    return found
