"""Payment card numbers (PAN), and the CVV and expiry date said near them.

A PAN is 13-19 digits that pass the Luhn check. Inside a run of numbers the run
is split into segments by a small dynamic programme: card numbers, then card
details (CVV, expiry) after a card, stray "oh"/homophones, and junk digits
(allowed only where a pause or punctuation separates them). Requiring Luhn and
this structure keeps order numbers, amounts and dates from being taken for cards.
CVV and expiry are only looked for near a card or after a cue ("security
code", "expires"), because on their own they are ordinary 3-4 digit numbers.
Right after a card cue ("my card number is") a 12-19 digit number is taken for
a card even when it fails Luhn, because the recogniser often mishears a digit.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

from callwright.redaction.numbers import NumberItem, Run
from callwright.redaction.scan import Candidate, Kind, Scan, claim, cue_before, free, phrases

CARD_DIGITS = range(13, 20)
NEAR_TOKENS = 30
"""How far (in tokens) from a card a bare 3-4 digit number is still taken for its CVV/expiry."""
CUE_TOKENS = 12
"""How far after a cue ("security code") the value may start; leaves room for "it's, um,"."""

# Words that announce a card number; after one, a long number that fails Luhn (a digit
# misheard by the recogniser) is still taken for the card.
CARD_CUES = phrases(
    "card number", "card no", "card is", "long number", "number on the front", "credit card",
    "debit card", "visa", "mastercard", "master card", "amex", "american express", "discover",
    "sixteen digits", "sixteen digit", "card details", "pan",
)  # fmt: skip
CUED_CARD_DIGITS = range(12, 20)
CVV_CUES = phrases(
    "cvv", "cvc", "cvv2", "cvc2", "cv2", "csc", "cid", "c v v", "c v c", "c v two",
    "security code", "security number", "security digits", "verification code",
    "verification number", "card verification", "digits on the back", "number on the back",
    "code on the back", "back of the card", "three digit code", "three digits",
)  # fmt: skip
EXPIRY_CUES = phrases(
    "expiry", "expiration", "expires", "expire", "expiring", "expired", "exp date",
    "valid thru", "valid through", "valid until", "valid till", "good thru", "good through",
    "end date",
)  # fmt: skip
MONTHS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4,
    "apr": 4, "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8,
    "september": 9, "sept": 9, "sep": 9, "october": 10, "oct": 10, "november": 11,
    "nov": 11, "december": 12, "dec": 12,
}  # fmt: skip
# "call me back at two thirty" after a card is a time, not a CVV.
TIME_WORDS = {"at", "by", "around", "until", "till", "before", "after", "from", "since"}


def luhn_ok(digits: str) -> bool:
    """The Luhn (mod 10) check every payment card number passes."""
    total = 0
    for k, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if k % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def with_luhn_digit(partial: str) -> str:
    """`partial` with the check digit appended that makes it Luhn-valid (for test cards)."""
    return next(partial + d for d in "0123456789" if luhn_ok(partial + d))


def is_card_number(digits: str) -> bool:
    return len(digits) in CARD_DIGITS and luhn_ok(digits)


def expiry_digits_ok(digits: str) -> bool:
    """MMYY, MMYYYY (20YY) or MYY with a real month."""
    if len(digits) == 3:
        return digits[0] != "0"
    if len(digits) not in (4, 6) or not 1 <= int(digits[:2]) <= 12:
        return False
    return len(digits) == 4 or digits[2:4] == "20"


def detail_kind(digits: str) -> Kind | None:
    """How a bare number said right after a card reads: expiry, CVV or neither."""
    if len(digits) in (4, 6) and expiry_digits_ok(digits):
        return Kind.EXPIRY
    if len(digits) in (3, 4):
        return Kind.CVV
    return None


@dataclass(frozen=True)
class _Segment:
    start: int  # item index, inclusive
    end: int  # item index, exclusive
    kind: Kind | None  # None: left as it is (stray "oh", junk digits)


# Segment costs: the cheapest split of a run wins. Junk costs per digit, so that the split
# leaving the fewest digits unredacted wins, and ties go to fewer stray "oh"s and details.
_DETAIL_COST, _NOISE_COST, _JUNK_COST_PER_DIGIT = 1, 1, 3


def _marked_gaps(items: Sequence[NumberItem]) -> list[bool]:
    """For each item boundary (and both ends), whether a pause word or a mark divides it."""
    inner = [items[k].last + 1 < items[k + 1].first for k in range(len(items) - 1)]
    return [True, *inner, True]


def _split_run(run: Run) -> list[_Segment]:
    """The cheapest split of a run into card/detail/noise/junk segments with at least one card."""
    items = run.items
    n = len(items)
    marked = _marked_gaps(items)
    inf = float("inf")
    # best[k][seen]: cost of items[:k] with/without a card so far, and the back-pointer.
    best: list[list[tuple[float, tuple[int, int, Kind | None] | None]]] = [
        [(inf, None), (inf, None)] for _ in range(n + 1)
    ]
    best[0][0] = (0.0, None)
    # next_marked[m]: the first marked boundary at or after m (the end always is one).
    next_marked = list(range(n + 1))
    before = [0] * (n + 1)  # before[m]: digits in items[:m]
    for m in range(n):
        before[m + 1] = before[m] + len(items[m].digits)
    for m in range(n - 1, -1, -1):
        next_marked[m] = m if marked[m] else next_marked[m + 1]

    def relax(m: int, k: int, seen: int, cost: float, now_seen: int, kind: Kind | None) -> None:
        if cost < best[m][now_seen][0]:
            best[m][now_seen] = (cost, (k, seen, kind))

    for k in range(n):
        for seen in (0, 1):
            cost = best[k][seen][0]
            if cost == inf:
                continue
            digits = ""
            for m in range(k + 1, n + 1):
                digits += items[m - 1].digits
                if len(digits) > max(CARD_DIGITS):
                    # Too long for a card or detail: only junk up to the next mark remains.
                    if marked[k]:
                        m2 = next_marked[m]
                        relax(m2, k, seen, cost + _JUNK_COST_PER_DIGIT * (before[m2] - before[k]), seen, None)
                    break
                options: list[tuple[float, int, Kind | None]] = []
                if is_card_number(digits):
                    options.append((0.0, 1, Kind.CARD))
                if seen and (kind := detail_kind(digits)) is not None:
                    options.append((_DETAIL_COST, 1, kind))
                if m == k + 1 and items[k].needs_neighbor:
                    options.append((_NOISE_COST, seen, None))
                if marked[k] and marked[m]:
                    options.append((_JUNK_COST_PER_DIGIT * len(digits), seen, None))
                for extra, now_seen, kind in options:
                    relax(m, k, seen, cost + extra, now_seen, kind)
    if best[n][1][0] == inf:
        return []
    segments: list[_Segment] = []
    m, seen = n, 1
    while m > 0:
        k, prev_seen, kind = best[m][seen][1]  # type: ignore[misc]
        segments.append(_Segment(k, m, kind))
        m, seen = k, prev_seen
    return segments[::-1]


def find_cards(scan: Scan, claimed: set[int]) -> list[Candidate]:
    """Card numbers, with any CVV/expiry said in the same breath."""
    found: list[Candidate] = []
    for run in scan.wide_runs:
        if not free(claimed, run.first, run.last):
            continue
        for seg in _split_run(run):
            if seg.kind is None:
                continue
            part = run.items[seg.start : seg.end]
            digits = "".join(i.digits for i in part)
            found.append(Candidate(seg.kind, part[0].first, part[-1].last, digits))
    claim(claimed, found)
    return found


def _cued_runs(scan: Scan, claimed: set[int], lengths: range) -> list[Candidate]:
    """Cards in the free digit runs right after a card cue whose digits number `lengths`."""
    cue_ends = scan.phrase_ends(CARD_CUES)
    found: list[Candidate] = []
    for run in scan.wide_runs:
        if not free(claimed, run.first, run.last):
            continue
        if cue_before(cue_ends, run.first, CUE_TOKENS) is None:
            continue
        var = next((v for v in run.variants() if len(v.digits) in lengths), None)
        if var is not None:
            found.append(Candidate(Kind.CARD, var.first, var.last, var.digits))
    claim(claimed, found)
    return found


def find_cued_cards(scan: Scan, claimed: set[int]) -> list[Candidate]:
    """Long numbers right after a card cue that fail Luhn: usually a card with a misheard digit."""
    return _cued_runs(scan, claimed, CUED_CARD_DIGITS)


PARTIAL_CARD_DIGITS = range(6, 12)
"""After a card cue, a number this long is part of a card ("that's 4111 1111, correct?", the agent
reading back the first eight digits). PCI DSS lets the first six be shown, but a read-back rarely
stops there and the remaining digits are what matter, so six is where redaction starts."""


def find_cued_partial_cards(scan: Scan, claimed: set[int]) -> list[Candidate]:
    """Part of a card number (6-11 digits) right after a card cue: a read-back or a reading the
    recogniser cut short. Runs last among the number detectors, so a cued phone number stays a
    phone and "visa expires 09 2027" an expiry date."""
    return _cued_runs(scan, claimed, PARTIAL_CARD_DIGITS)


def unanswered_card_cues(scan: Scan, found: list[Candidate]) -> list[int]:
    """Token index of each card cue that no card number follows (the recogniser may have missed it)."""
    starts = [c.first for c in found if c.kind is Kind.CARD]
    return [e for e in scan.phrase_ends(CARD_CUES) if not any(e < s <= e + CUE_TOKENS for s in starts)]


def _month_before(scan: Scan, first: int) -> int | None:
    """Index of a month name just before a number ("september twenty seven", "may of 27")."""
    k = first - 1
    while k >= 0 and scan.word(k) in {"of", ",", "/"}:
        k -= 1
    return k if scan.word(k) in MONTHS else None


def _detail(scan: Scan, run: Run, cue: Kind | None) -> Candidate | None:
    """Read a run as a CVV or expiry, given the cue before it (None: only near a card)."""
    month = _month_before(scan, run.first)
    for var in run.variants():
        digits = var.digits
        if month is not None and cue in (Kind.EXPIRY, None):
            if len(digits) == 2 or (len(digits) == 4 and digits.startswith("20")):
                return Candidate(Kind.EXPIRY, month, var.last, digits)
        if any(i.cardinal for i in var.items) and cue is None:
            continue
        if cue is Kind.EXPIRY and expiry_digits_ok(digits):
            return Candidate(Kind.EXPIRY, var.first, var.last, digits)
        if cue is Kind.CVV and len(digits) in (3, 4):
            return Candidate(Kind.CVV, var.first, var.last, digits)
        if cue is None and (kind := detail_kind(digits)) is not None:
            if scan.word(var.first - 1) not in TIME_WORDS:
                return Candidate(kind, var.first, var.last, digits)
    return None


def find_card_details(scan: Scan, cards: list[Candidate], claimed: set[int]) -> list[Candidate]:
    """CVVs and expiry dates after their cue words or near a card number."""
    # "social security number" is an SSN cue, not a CVV cue.
    ends = scan.phrase_ends(CVV_CUES)
    cvv_ends = [e for e in ends if "social" not in (scan.word(e - 1), scan.word(e - 2))]
    expiry_ends = scan.phrase_ends(EXPIRY_CUES)
    card_spans = sorted((c.first, c.last) for c in cards if c.kind is Kind.CARD)
    card_firsts = [first for first, _ in card_spans]
    found: list[Candidate] = []
    for run in scan.runs:
        if not free(claimed, run.first, run.last):
            continue
        cvv_at = cue_before(cvv_ends, run.first, CUE_TOKENS)
        exp_at = cue_before(expiry_ends, run.first, CUE_TOKENS)
        cues = [(at, k) for at, k in ((cvv_at, Kind.CVV), (exp_at, Kind.EXPIRY)) if at is not None]
        cue = max(cues)[1] if cues else None  # the nearer cue wins
        # cards that start before the run's end (+NEAR_TOKENS) and end after its start (-NEAR_TOKENS);
        # only the last few by start can (cards do not overlap), so the search is a bisection
        k = bisect.bisect_right(card_firsts, run.last + NEAR_TOKENS)
        near = any(last + NEAR_TOKENS >= run.first for _, last in card_spans[max(0, k - 2) : k])
        cand = _detail(scan, run, cue) if cue is not None else None
        if cand is None and near:
            cand = _detail(scan, run, None)
        if cand is not None:
            found.append(cand)
            claim(claimed, [cand])
    return found


def find_card_repeats(scan: Scan, cards: list[Candidate], claimed: set[int]) -> list[Candidate]:
    """Pieces of a found card said again ("sorry, four one one one ...", "ending in 1111")."""
    # every piece of 4+ digits of every card, so each run is one set look-up however many cards
    pieces = {
        pan[a:b]
        for c in cards
        if c.kind is Kind.CARD
        for pan in (c.digits,)
        for a in range(len(pan))
        for b in range(a + 4, len(pan) + 1)
    }
    found: list[Candidate] = []
    for run in scan.runs:
        if not free(claimed, run.first, run.last):
            continue
        for var in run.variants():
            if len(var.digits) >= 4 and var.digits in pieces:
                found.append(Candidate(Kind.CARD, var.first, var.last, var.digits))
                break
    claim(claimed, found)
    return found
