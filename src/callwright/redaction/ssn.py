"""US social security numbers.

Nine digits are far too common to redact on sight, so an SSN is taken only
when written in its 3-2-4 shape ("123-45-6789") or said after a cue ("social",
"SSN"), and never when it falls in a range the SSA does not issue (area 000,
666 or 900-999, group 00, serial 0000). "The last four of my social" is
redacted too: it is what agents ask for to verify identity.
"""

from __future__ import annotations

import bisect

from callwright.redaction.numbers import Run
from callwright.redaction.scan import Candidate, Kind, Scan, claim, cue_before, free, phrases

SSN_CUES = phrases(
    "social", "ssn", "s s n", "social security", "social security number", "ss number",
    "social insurance number",
)  # fmt: skip
LAST_FOUR_CUES = phrases("last four", "last 4", "final four")
CUE_TOKENS = 12
LAST_FOUR_TOKENS = 8
"""How close "last four" and "social" must be to mean the last four SSN digits."""


def ssn_ok(digits: str) -> bool:
    """Nine digits in a range the SSA issues."""
    if len(digits) != 9 or not digits.isdigit():
        return False
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def _shaped(scan: Scan, run: Run) -> bool:
    """Written as 3-2-4 numerals separated by dashes or spaces, as forms print SSNs."""
    items = run.items
    if [len(i.digits) for i in items] != [3, 2, 4] or not all(i.literal for i in items):
        return False
    gaps = range(items[0].last + 1, items[-1].first)
    return all(scan.tokens[k].norm == "-" for k in gaps if not items[1].first <= k <= items[1].last)


def find_ssns(scan: Scan, claimed: set[int]) -> list[Candidate]:
    cue_ends = scan.phrase_ends(SSN_CUES)
    four_ends = scan.phrase_ends(LAST_FOUR_CUES)
    # "the last four of your social" / "your social, just the last four": either cue may come last.
    four_set = set(four_ends)

    def near(others: list[int], e: int) -> bool:  # any of the sorted `others` within reach of e
        k = bisect.bisect_left(others, e - LAST_FOUR_TOKENS)
        return k < len(others) and others[k] <= e + LAST_FOUR_TOKENS

    last_four_ends = sorted(
        e for e in four_ends + cue_ends if near(cue_ends if e in four_set else four_ends, e)
    )
    found: list[Candidate] = []
    for run in scan.runs:
        if not free(claimed, run.first, run.last):
            continue
        cued = cue_before(cue_ends, run.first, CUE_TOKENS) is not None
        last_four = cue_before(last_four_ends, run.first, CUE_TOKENS) is not None
        for var in run.variants():
            whole = ssn_ok(var.digits) and (cued or _shaped(scan, var))
            tail = last_four and len(var.digits) == 4 and var.digits != "0000"
            if whole or tail:
                found.append(Candidate(Kind.SSN, var.first, var.last, var.digits))
                break
    claim(claimed, found)
    return found
