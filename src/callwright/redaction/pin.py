"""PINs, passcodes and passwords given after their cue.

A PIN is an ordinary 3-8 digit number, so it is only taken right after a PIN
cue ("my pin is", "passcode", "access code"). After "password" or "passcode"
a written word with digits in it ("hunter2") is taken too; a password of plain
words ("bluebird") cannot be told from the rest of the sentence and is left
(docs/redaction.md, known limits).
"""

from __future__ import annotations

import re

from callwright.redaction.cues import Cue, Cues, cue_after, nearest_cue
from callwright.redaction.scan import Candidate, Kind, Scan, claim, free

PIN_DIGITS = range(3, 9)
ALNUM_CUE_WORDS = {"password", "passcode", "word", "code", "pin", "password's", "passcode's", "pin's"}
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


SECRET_WINDOW = 6
"""How many tokens after a password cue ("changed the password to Tr0ub4dor") or before one
("hunter2 is my password") a written secret may stand."""
_SENTENCE_END = {".", "?", "!", ";"}


def _groups(scan: Scan, lo: int, hi: int) -> list[tuple[int, int]]:
    """The runs of tokens with no space between them ("s", "3", "cret" is one: s3cret) that lie in
    tokens lo..hi, stopping at a sentence's end."""
    out: list[tuple[int, int]] = []
    k = lo
    while k <= hi and k < len(scan.tokens):
        if scan.tokens[k].norm in _SENTENCE_END:
            break
        end = k
        while (
            end + 1 < len(scan.tokens)
            and end + 1 - k < ALNUM_MAX_TOKENS
            and not scan.tokens[end + 1].spaced
            and scan.tokens[end + 1].norm not in {".", ",", "?", "!"}
        ):
            end += 1
        out.append((k, end))
        k = end + 1
    return out


_CLOCK = re.compile(r"\d{1,2}(?::\d\d)?(?:am|pm|a\.m\.|p\.m\.)")


def _mixed(scan: Scan, first: int, last: int) -> bool:
    """Letters and digits in one word, as a written secret has them; a time ("10am") is not one."""
    kinds = {scan.tokens[i].kind for i in range(first, last + 1)}
    word = "".join(scan.tokens[i].norm for i in range(first, last + 1))
    return "num" in kinds and "word" in kinds and not _CLOCK.fullmatch(word)


def _secret_near(scan: Scan, cue: Cue) -> Candidate | None:
    """A written password or passcode with letters and digits ("hunter2", "Tr0ub4dor") near its
    cue: the first such word in the few tokens after it, else the nearest in the few before ("it's
    hunter2 for the password"). A whole glued word is taken: the "s" of "s3cret" is the secret's."""
    after = _groups(scan, cue.end + 1, cue.end + SECRET_WINDOW)
    for first, last in after:
        if _mixed(scan, first, last):
            return Candidate(Kind.PIN, first, last)
    start = cue.first if cue.first >= 0 else cue.end
    before = [g for g in _groups(scan, max(0, start - SECRET_WINDOW), start - 1) if g[1] < start]
    for first, last in reversed(before):
        if any(scan.tokens[i].norm in _SENTENCE_END for i in range(last + 1, start)):
            break
        if _mixed(scan, first, last):
            return Candidate(Kind.PIN, first, last)
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
            cand = _secret_near(scan, cue)
            if cand is not None and free(claimed, cand.first, cand.last):
                found.append(cand)
                claim(claimed, [cand])
    return found
