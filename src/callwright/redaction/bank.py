"""Bank account numbers and US routing (ABA) numbers, said or written after their cue.

An account number has no checksum and no fixed length (4-17 digits in the US,
and "the account ending 4412" is what agents verify with), so it is only taken
right after an account cue ("account number is", "acct", "savings account").
A routing number is nine digits whose ABA checksum (3-7-1 weights, mod 10)
holds; after a routing cue nine digits are taken even when the checksum fails
(the recogniser mishears digits). When both cues come before one run of
numbers ("routing and account numbers are 021000021 and 12345678") the
checksum says which part is the routing number.
"""

from __future__ import annotations

from collections.abc import Sequence

from callwright.redaction.cues import Cue, Cues, cue_after, cued_families, nearest_cue
from callwright.redaction.numbers import NumberItem, Run
from callwright.redaction.scan import Candidate, Kind, Scan, claim, free

ACCOUNT_MIN_DIGITS = 4
"""The shortest account number taken after a cue: "the account ending 4412" is what agents
verify a caller with, so it is redacted like the last four of an SSN."""
ROUTING_DIGITS = 9
ROUTING_SLACK = range(8, 11)
"""After a routing cue, 8-10 digits are still a routing number (a digit misheard, dropped or doubled)."""
_ABA_WEIGHTS = (3, 7, 1) * 3
# First two digits of a routing number: Federal Reserve districts, thrifts, electronic, traveller's cheques.
_ABA_PREFIXES = {*range(0, 13), *range(21, 33), *range(61, 73), 80}


def aba_ok(digits: str) -> bool:
    """Nine digits with a valid Federal Reserve prefix and ABA checksum."""
    if len(digits) != ROUTING_DIGITS or not digits.isdigit():
        return False
    if int(digits[:2]) not in _ABA_PREFIXES:
        return False
    return sum(int(d) * w for d, w in zip(digits, _ABA_WEIGHTS, strict=True)) % 10 == 0


def _digits(items: Sequence[NumberItem]) -> str:
    return "".join(i.digits for i in items)


def _said_as_amount(items: Sequence[NumberItem]) -> bool:
    """ "two thousand five hundred": the way amounts and years are said, not identifiers."""
    return any(i.cardinal for i in items)


def _split_bank_run(run: Run, kinds: set[str]) -> list[tuple[Kind, Sequence[NumberItem]]]:
    """A run after both an account and a routing cue, cut into its routing and account numbers."""
    items = run.items
    out: list[tuple[Kind, Sequence[NumberItem]]] = []
    rest: list[NumberItem] = []
    k = 0
    while k < len(items):
        end = next(
            (m for m in range(k + 1, len(items) + 1) if len(_digits(items[k:m])) >= ROUTING_DIGITS), None
        )
        if end is not None and aba_ok(_digits(items[k:end])) and "routing" in kinds:
            if rest:
                out.append((Kind.ACCOUNT, rest))
                rest = []
            out.append((Kind.ROUTING, items[k:end]))
            k = end
            continue
        rest.append(items[k])
        k += 1
    if rest:
        out.append((Kind.ACCOUNT, rest))
    return out


def _read(run: Run, cue: Cue, families: set[str]) -> list[tuple[Kind, Sequence[NumberItem]]]:
    var = run.variants()[0]
    digits = var.digits
    if len(digits) < ACCOUNT_MIN_DIGITS or _said_as_amount(var.items):
        return []
    if "account" in families and "routing" in families:
        parts = _split_bank_run(var, families)
        # a lone nine-digit run after "routing" is the routing number even when its checksum fails
        if cue.family == "routing" and len(parts) == 1 and len(digits) in ROUTING_SLACK:
            return [(Kind.ROUTING, var.items)]
        return [(kind, items) for kind, items in parts if len(_digits(items)) >= ACCOUNT_MIN_DIGITS]
    if cue.family == "routing":
        if len(digits) > max(ROUTING_SLACK) and aba_ok(digits[:ROUTING_DIGITS]):
            return _split_bank_run(var, {"routing", "account"})
        return [(Kind.ROUTING, var.items)]
    return [(Kind.ACCOUNT, var.items)]


def find_bank_numbers(scan: Scan, cues: Cues, claimed: set[int]) -> list[Candidate]:
    """Account and routing numbers after their cues (or before one said just after them: "... that's
    my account number")."""
    found: list[Candidate] = []
    prev_last = -1
    # runs joined across back-channels ("okay", "yes"), as for cards: numbers read out in chunks
    for run in scan.wide_runs:
        since, prev_last = prev_last, run.last
        if not free(claimed, run.first, run.last):
            continue
        cue = nearest_cue(scan, cues, run.first)
        after = cue_after(scan, cues, run.last) if cue is None else None
        cue = cue or after
        if cue is None or cue.family not in ("account", "routing"):
            continue
        families: set[str] = (
            {cue.family}
            if after is not None
            else {f for f in cued_families(scan, cues, run.first, since=since) if f in ("account", "routing")}
        )
        for kind, items in _read(run, cue, families):
            found.append(Candidate(kind, items[0].first, items[-1].last, _digits(items)))
    claim(claimed, found)
    return found


BARE_DIGITS = 9
"""A number this long is never left in clear, cue or not: no amount, count, date or time a caller
says reaches it (those are read apart, numbers.py), while nearly every identifier does (account,
routing, card, SSN, phone). A leak is worse than a wrong label."""
_YEARS = range(1900, 2100)


def _a_list_of_numbers(scan: Scan, run: Run) -> bool:
    """ "2019, 2020 and 2021", "rooms 101 and 102 and 103": numbers listed, not one number read out.

    An "and" between items, or items that are each a year, make a list; a number
    read in chunks has only pauses, marks and fillers between them.
    """
    items = run.items
    gaps = (scan.word(k) for a, b in zip(items, items[1:], strict=False) for k in range(a.last + 1, b.first))
    years = len(items) > 1 and all(len(i.digits) == 4 and int(i.digits) in _YEARS for i in items)
    return years or "and" in gaps


LEFT_AFTER = {"other", "ssn"}
"""Cue families after which a long number is left in clear: "order", "reference", "tracking" name
a number that is not personal data, and after "social" only a number in a range the SSA issues
is taken (ssn.py; 666-, 000- and 9xx- numbers are left by design, docs/redaction.md)."""


def _code_start(scan: Scan, first: int) -> int:
    """The first token of the written code a number is glued into ("1Z999AA10123456784" is one
    tracking number: its cue stands before "1Z", not before the digits at its end)."""
    while first > 0 and not scan.tokens[first].spaced and scan.tokens[first - 1].kind != "sym":
        first -= 1
    return first


def bare_kind(digits: str) -> Kind:
    """The kind a long number with no cue most likely is on a bank call: nine digits that pass the
    ABA checksum a routing number, anything else an account number (which has no form of its own:
    4-17 digits). Card numbers (Luhn), SSNs (3-2-4) and phones (NANP) were taken before this."""
    return Kind.ROUTING if aba_ok(digits) else Kind.ACCOUNT


def find_bare_numbers(scan: Scan, cues: Cues, claimed: set[int]) -> list[Candidate]:
    """Every run of `BARE_DIGITS` or more digits no other detector took, unless an "other" cue
    (order, reference, confirmation ...) names it, or it is said as an amount or a list."""
    found: list[Candidate] = []
    for run in scan.runs:
        if not free(claimed, run.first, run.last):
            continue
        var = run.variants()[0]
        if len(var.digits) < BARE_DIGITS or _said_as_amount(var.items) or _a_list_of_numbers(scan, var):
            continue
        if len(set(var.digits)) == 1:  # "<3333333333" is a heart, "0000000000" a placeholder
            continue
        cue = nearest_cue(scan, cues, _code_start(scan, var.first))
        if cue is not None and cue.family in LEFT_AFTER:
            continue
        found.append(Candidate(bare_kind(var.digits), var.first, var.last, var.digits))
    claim(claimed, found)
    return found
