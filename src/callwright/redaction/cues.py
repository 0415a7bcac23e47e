"""Which kind of value a number was asked for: the nearest cue before it wins.

A bank call names many numbers in one breath ("the phone number on the
account", "routing and account numbers", "my card number, the account ending
1234"). A number is read as the kind whose cue comes last before it, within
a few tokens, and only when nothing but lead-in words ("is", "uh", "number",
"ending in") stands between that cue and the number, so "account balance is
two thousand" is not an account number.

`Family` names every cue list here, including "other" (order, reference,
confirmation ... numbers) whose only job is to be nearer than a bank cue.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Literal

from callwright.redaction.payment import CARD_CUES, CVV_CUES, EXPIRY_CUES
from callwright.redaction.phone import PHONE_CUES
from callwright.redaction.scan import Scan, is_aside, phrases
from callwright.redaction.ssn import SSN_CUES

Family = Literal[
    "account", "routing", "pin", "dob", "zip", "card", "cvv", "expiry", "ssn", "phone", "other"
]  # fmt: skip

ACCOUNT_CUES = phrases(
    "account", "acct", "a c c t", "account number", "account no", "account num",
    "checking account", "savings account", "bank account", "account ending",
)  # fmt: skip
ROUTING_CUES = phrases(
    "routing", "routing number", "routing no", "aba", "a b a", "aba number", "transit number",
    "routing and transit", "rtn", "sort code",
)  # fmt: skip
PIN_CUES = phrases(
    "pin", "p i n", "pin number", "pin code", "passcode", "pass code", "password", "pass word",
    "access code", "security pin", "passcodes", "pins", "passcode is", "secret code",
    "password's", "passcode's", "pin's",
)  # fmt: skip
DOB_CUES = phrases(
    "date of birth", "birth date", "birthdate", "birthday", "born", "dob", "d o b", "d.o.b",
    "year of birth", "day of birth", "birth",
)  # fmt: skip
ZIP_CUES = phrases(
    "zip", "zip code", "zipcode", "postal code", "postcode", "post code", "zip is",
)  # fmt: skip
OTHER_CUES = phrases(
    "order", "reference", "ref", "confirmation", "invoice", "tracking", "case", "ticket",
    "policy", "claim", "booking", "receipt", "transaction", "serial", "model", "sku", "part",
    "balance", "amount", "flight", "room", "extension", "page", "item",
)  # fmt: skip

_FAMILIES: tuple[tuple[Family, frozenset[tuple[str, ...]]], ...] = (
    ("account", ACCOUNT_CUES),
    ("routing", ROUTING_CUES),
    ("pin", PIN_CUES),
    ("dob", DOB_CUES),
    ("zip", ZIP_CUES),
    ("card", CARD_CUES),
    ("cvv", CVV_CUES),
    ("expiry", EXPIRY_CUES),
    ("ssn", SSN_CUES),
    ("phone", PHONE_CUES),
    ("other", OTHER_CUES),
)

# Words that may stand between a cue and its number: "account number is, uh, ...",
# "the account ending in ...", "pin would be ...".
LEAD_IN = {
    "is", "it's", "its", "it", "number", "numbers", "no", "num", "#", ":", "-", ",", ".", "uh",
    "um", "er", "erm", "ah", "that's", "thats", "was", "would", "be", "will", "should", "are",
    "ending", "ends", "end", "in", "with", "yes", "yeah", "sure", "okay", "ok", "so", "the",
    "last", "four", "digits", "of", "code", "please", "my", "your", "new", "'s", "s", "here",
    "and", "then", "right", "first", "is:", "?", "ahead", "go", "just", "i", "think", "believe",
    "one", "were", "again", "sorry", "i'm", "im", "for", "me", "that", "repeat", "can",
    "you", "said", "did", "say", "on", "file", "record",
}  # fmt: skip
HEDGES = {
    "let", "see", "check", "look", "hmm", "hm", "umm", "uhm", "mm", "well", "hold", "hang", "wait",
    "moment", "sec", "like", "actually", "alright", "now", "got", "have", "ready", "oops",
}  # fmt: skip
"""Fillers and hedges a caller says while finding the number ("routing number um let me see it's
...", "my pin, hold on, let me check, okay it's ..."): they stand between a cue and its value
like the lead-ins above; the cue's reach (`CUE_TOKENS`) still bounds how many there may be."""
LEAD_IN |= HEDGES
CUE_TOKENS = 12
"""How far before a value its cue may end."""
TRAIL_IN = {
    "is", "was", "for", "the", "my", "your", "that's", "thats", "that", "it's", "its", "as", ",",
    "being", "which", "would", "be", "uh", "um", "er", "and", "this", "our",
}  # fmt: skip
"""Words between a value and a cue said after it ("4471 is my pin", "it's 4 4 7 1 for the pin")."""
CUE_AFTER_TOKENS = 4
"""How far after a value a cue said after it may start: only a short tail ("that's my account
number") names what was just said; further on, the cue is about what comes next."""


@dataclass(frozen=True)
class Cue:
    family: Family
    end: int
    """Token index of the cue's last word."""
    first: int = -1
    """Token index of the cue's first word."""


@dataclass(frozen=True)
class Cues:
    """Every cue of a text in order of where it ends, searchable in log time."""

    items: list[Cue]
    ends: list[int] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ends", [c.end for c in self.items])

    def __iter__(self):  # noqa: ANN204 (an iterator of Cue)
        return iter(self.items)

    def before(self, first: int, within: int) -> list[Cue]:
        """The cues ending in the `within` tokens before token `first`, nearest last."""
        return self.items[
            bisect.bisect_left(self.ends, first - within) : bisect.bisect_left(self.ends, first)
        ]


def all_cues(scan: Scan) -> Cues:
    """Every cue in the text, by where it ends (a longer phrase wins over the word it ends with)."""
    by_end: dict[int, Cue] = {}
    for family, cues in _FAMILIES:
        for first, last in scan.phrase_hits(cues):
            # "the phone on the account" names where; "on my account number is" still gives one
            if family == "account" and scan.word(last) == "account" and is_aside(scan, first):
                continue
            # "social security number": an SSN cue, not a CVV cue
            if family == "cvv" and "social" in (scan.word(last - 1), scan.word(last - 2)):
                continue
            by_end.setdefault(last, Cue(family, last, first))
    return Cues(sorted(by_end.values(), key=lambda c: c.end))


def nearest_cue(
    scan: Scan,
    cues: Cues,
    first: int,
    within: int = CUE_TOKENS,
    *,
    lead_in: set[str] | frozenset[str] = frozenset(),
) -> Cue | None:
    """The cue ending nearest before token `first`, when only lead-in words stand between them."""
    near = cues.before(first, within)
    if not near:
        return None
    cue = near[-1]
    allowed = lead_in or LEAD_IN
    if all(scan.word(k) in allowed for k in range(cue.end + 1, first)):
        return cue
    return None


def cued_families(
    scan: Scan, cues: Cues, first: int, within: int = CUE_TOKENS, *, since: int = -1
) -> set[Family]:
    """Every family with a cue in the `within` tokens before `first` (nearest or not), counting only
    cues after token `since` (the end of the number before): in "account 12345678 sort code 20 00
    00" the account cue was the first number's, and the sort code is a routing number alone."""
    return {c.family for c in cues.before(first, within) if c.end > since}


def _answered(scan: Scan, cue: Cue) -> bool:
    """Whether a number follows the cue with only lead-ins between: the cue has a value of its own."""
    k = cue.end + 1
    while scan.word(k) in LEAD_IN and scan.number_at(k) is None:
        k += 1
    return k < len(scan.tokens) and scan.number_at(k) is not None


def cue_after(scan: Scan, cues: Cues, last: int, within: int = CUE_AFTER_TOKENS) -> Cue | None:
    """The cue said just after a value ending at token `last` ("4471 is my pin"), else None.

    Only trail words ("is", "for the", "that's my") may stand between, and a cue
    that is followed by a number of its own ("4471 and my pin is 5566") is that
    number's cue, not this one's.
    """
    reach = last + within + 1
    for cue in cues.before(reach + 8, within + 9):
        if last < cue.first <= reach and all(scan.word(k) in TRAIL_IN for k in range(last + 1, cue.first)):
            return None if _answered(scan, cue) else cue
    return None
