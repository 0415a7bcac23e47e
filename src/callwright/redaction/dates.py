"""Dates of birth, written ("03/05/1980", "1975-11-23", "June 6th, 1944") or said
("march fifth nineteen eighty", "the fifth of march", "oh three oh five eighty").

A date is a date of birth when a birth cue comes before it ("date of birth",
"born", "birthday", "dob"); then a day and month alone, a month and year, a
year after "born in", or any 4-8 digits are enough. Without a cue only a
whole date (day, month and four-digit year) whose year could be a customer's
birth year (`BIRTH_YEARS`) is taken: "it posted on march fifth", "03/15/2024"
and "back in nineteen eighty five" stay. Spoken numbers are read with the same
parser as every other number (numbers.py): "nineteen eighty five", "two
thousand and two", "oh five".
"""

from __future__ import annotations

from dataclasses import dataclass

from callwright.redaction.cues import LEAD_IN, Cues, nearest_cue
from callwright.redaction.numbers import TEENS, TENS, UNITS, NumberItem
from callwright.redaction.payment import MONTHS
from callwright.redaction.scan import Candidate, Kind, Scan, claim, free

BIRTH_YEARS = range(1900, 2011)
"""Years a caller may have been born in; an uncued whole date in them is taken for a birth date
(an account-opening date of 1998 is redacted too: over-redaction is the safe side)."""
NOT_BIRTH_BEFORE = {
    "from", "till", "until", "since", "by", "before", "after", "due", "dated", "posted", "released",
    "effective", "update", "updated", "-", ":", "through", "thru",
}  # fmt: skip
"""Words before an uncued whole date that make it some other date ("repost from january 13, 2004",
"won't go back till 1/4/2010"); after a birth cue they change nothing."""
DOB_CUE_TOKENS = 12
DOB_DIGITS = range(4, 9)
"""After a birth cue, a run of this many digits is the date said as numbers ("oh three oh five eighty")."""
DOB_LEAD_IN = LEAD_IN | {"on", "in", "was", "i", "i'm", "im", "me", "were", "is", "it", "confirm"}
ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13,
    "fourteenth": 14, "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18,
    "nineteenth": 19, "twentieth": 20, "thirtieth": 30,
}  # fmt: skip
ORDINAL_SUFFIXES = {"st", "nd", "rd", "th"}
DAY_WORDS = set(ORDINALS) | set(TENS) | set(TEENS) | set(UNITS)
"""Words a day of the month can start with ("fifth", "twenty third", "five")."""
DATE_SEPARATORS = {"/", "-", "."}
SKIP = {",", "of", "the"}


@dataclass(frozen=True)
class _Date:
    first: int
    last: int
    day: bool
    month: bool
    year: int | None
    short_year: bool = False

    @property
    def whole(self) -> bool:
        return self.day and self.month and self.year is not None and not self.short_year


class _Items:
    """Number items by the token they start at, read on demand (`Scan.number_at`)."""

    def __init__(self, scan: Scan) -> None:
        self.scan = scan
        self.cache: dict[int, NumberItem | None] = {}

    def get(self, i: int) -> NumberItem | None:
        if i not in self.cache:
            self.cache[i] = self.scan.number_at(i)
        return self.cache[i]


class _Reader:
    """Token-level parsers for days, months and years, on one scanned text."""

    def __init__(self, scan: Scan) -> None:
        self.scan = scan
        self.items = _Items(scan)

    def w(self, i: int) -> str:
        return self.scan.word(i)

    def skip(self, i: int, words: set[str] = SKIP) -> int:
        while self.w(i) in words:
            i += 1
        return i

    def day(self, i: int) -> int | None:
        """Index after a day of the month at i ("fifth", "twenty-third", "5th", "5", "five")."""
        w, tokens = self.w(i), self.scan.tokens
        if w in ORDINALS and ORDINALS[w] <= 31:
            return i + 1
        if w in TENS and TENS[w] <= 30:
            j = i + 1
            if self.w(j) == "-" and not tokens[j].spaced:
                j += 1
            if self.w(j) in ORDINALS and ORDINALS[self.w(j)] < 10:
                return j + 1
        if 0 <= i < len(tokens) and tokens[i].kind == "num" and len(w) <= 2 and 1 <= int(w) <= 31:
            nxt = i + 1
            if self.w(nxt) in ORDINAL_SUFFIXES and not tokens[nxt].spaced:
                nxt += 1
            return nxt
        it = self.items.get(i)
        if it is not None and not it.literal and not it.cardinal and it.digits.isdigit():
            if 1 <= int(it.digits) <= 31 and len(it.digits) <= 2:
                return it.last + 1
        return None

    def year(self, i: int) -> tuple[int, int, bool] | None:
        """(year, index after, two-digit) for a year at i: "1980", "'80", "nineteen eighty",
        "nineteen oh five", "two thousand and two", "twenty ten", "eighty five"."""
        tokens = self.scan.tokens
        if i >= len(tokens):
            return None
        if self.w(i) in {"'", "\u2019"} and i + 1 < len(tokens) and tokens[i + 1].kind == "num":
            if len(tokens[i + 1].norm) == 2:
                return 1900 + int(tokens[i + 1].norm), i + 2, True
        if tokens[i].kind == "num":
            v = tokens[i].norm
            if len(v) == 4 and 1900 <= int(v) <= 2099:
                return int(v), i + 1, False
            if len(v) == 2:
                return 1900 + int(v), i + 1, True
            return None
        it = self.items.get(i)
        if it is None:
            return None
        if it.cardinal:
            n = int(it.digits)
            return (n, it.last + 1, False) if 1900 <= n <= 2099 else None
        if it.digits in ("19", "20"):
            nxt = self.items.get(it.last + 1)
            if nxt is not None and not nxt.cardinal:
                tail, end = nxt.digits, nxt.last
                if tail == "0":  # "nineteen oh five"
                    after = self.items.get(nxt.last + 1)
                    if after is None or len(after.digits) != 1:
                        return None
                    tail, end = "0" + after.digits, after.last
                if len(tail) == 2:
                    return int(it.digits + tail), end + 1, False
        if len(it.digits) == 2 and not it.needs_neighbor:
            return 1900 + int(it.digits), it.last + 1, True
        return None

    def month_first(self, i: int) -> _Date | None:
        """ "march fifth nineteen eighty", "June 6th, 1944", "march nineteen eighty", "march 3rd"."""
        if self.w(i) not in MONTHS:
            return None
        j = self.skip(i + 1)
        y = self.year(j)
        if y is not None and not y[2]:
            return _Date(i, y[1] - 1, day=False, month=True, year=y[0])
        d = self.day(j)
        if d is None:
            return None
        y = self.year(self.skip(d))
        if y is not None:
            return _Date(i, y[1] - 1, day=True, month=True, year=y[0], short_year=y[2])
        return _Date(i, d - 1, day=True, month=True, year=None)

    def day_first(self, i: int) -> _Date | None:
        """ "the fifth of march nineteen eighty", "9 May 1983", "twelfth of may eighty five"."""
        d = self.day(i)
        if d is None:
            return None
        m = self.skip(d)
        if self.w(m) not in MONTHS:
            return None
        y = self.year(self.skip(m + 1))
        if y is not None:
            return _Date(i, y[1] - 1, day=True, month=True, year=y[0], short_year=y[2])
        return _Date(i, m, day=True, month=True, year=None)

    def numeric(self, i: int) -> _Date | None:
        """ "03/05/1980", "7/4/76", "20.01.1948", "1975-11-23": numerals with / - or . between."""
        tokens = self.scan.tokens
        parts: list[str] = []
        k = i
        while k < len(tokens) and tokens[k].kind == "num" and len(parts) < 3:
            parts.append(tokens[k].norm)
            sep = k + 1
            if len(parts) < 3 and sep < len(tokens) and tokens[sep].norm in DATE_SEPARATORS:
                if tokens[sep].spaced or sep + 1 >= len(tokens) or tokens[sep + 1].spaced:
                    break
                k = sep + 1
            else:
                break
        if len(parts) != 3:
            return None
        a, b, c = parts
        if len(a) == 4:  # ISO: year-month-day
            year, month, day = int(a), int(b), int(c)
            short = False
        else:
            if len(c) not in (2, 4):
                return None
            year, short = (int(c), False) if len(c) == 4 else (1900 + int(c), True)
            first, second = int(a), int(b)
            month, day = (first, second) if first <= 12 else (second, first)
        if not (1 <= month <= 12 and 1 <= day <= 31):
            return None
        return _Date(i, k, day=True, month=True, year=year, short_year=short)


def find_dates_of_birth(scan: Scan, cues: Cues, claimed: set[int]) -> list[Candidate]:
    """Dates of birth: any date after a birth cue, a whole date in `BIRTH_YEARS` without one."""
    reader = _Reader(scan)
    found: list[Candidate] = []
    i = 0
    n = len(scan.tokens)
    while i < n:
        tok = scan.tokens[i]
        if tok.kind == "num":
            date = reader.numeric(i) or reader.day_first(i)
        elif tok.norm in MONTHS:
            date = reader.month_first(i)
        elif tok.norm in DAY_WORDS:
            date = reader.day_first(i)
        else:
            date = None
        if date is None or not free(claimed, date.first, date.last):
            i += 1
            continue
        start = date.first - 1 if scan.word(date.first - 1) == "the" else date.first
        cue = nearest_cue(scan, cues, start, DOB_CUE_TOKENS, lead_in=DOB_LEAD_IN)
        cued = cue is not None and cue.family == "dob"
        whole_birth = date.whole and date.year in BIRTH_YEARS and scan.word(start - 1) not in NOT_BIRTH_BEFORE
        if cued and (date.month or date.year is not None) or whole_birth:
            found.append(Candidate(Kind.DOB, date.first, date.last))
            claim(claimed, found[-1:])
            i = date.last + 1
            continue
        i += 1
    # after a cue: a year alone ("born in 1980") or the date said as digits ("oh four twelve eighty eight")
    for run in scan.runs:
        if not free(claimed, run.first, run.last):
            continue
        cue = nearest_cue(scan, cues, run.first, DOB_CUE_TOKENS, lead_in=DOB_LEAD_IN)
        if cue is None or cue.family != "dob":
            continue
        var = run.variants()[0]
        year = reader.year(var.first)
        is_year = year is not None and not year[2] and year[1] - 1 == var.last
        if is_year or (len(var.digits) in DOB_DIGITS and not any(i.cardinal for i in var.items)):
            found.append(Candidate(Kind.DOB, var.first, var.last, var.digits))
            claim(claimed, found[-1:])
    return sorted(found, key=lambda c: c.first)
