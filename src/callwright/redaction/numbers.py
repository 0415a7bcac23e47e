"""Numbers as people say and write them on calls, found with their token spans.

A card number reaches a transcript as "4111 1111 1111 1111", "4111-1111-...",
"four one one one ...", "double four", "forty one eleven" or any mix, often
broken by pauses ("um", "...", commas). This module turns tokens into
`NumberItem`s (one spoken or written number each, with its digit string) and
groups neighbouring items into `Run`s, the unit every detector looks at.
Amounts, percentages, decimals and times ("$1,234.56", "twenty dollars",
"ten pm") are left out on purpose: they are the commonest false positives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from callwright.redaction.tokens import Token

UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "niner": 9,
}  # fmt: skip
TEENS = {
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50,
    "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
# "oh" means zero only next to other digits ("five oh one"), not in "oh I see".
ZERO_LETTERS = {"oh", "o", "nought", "naught"}
# Recogniser homophones of digits; they count only beside a real number.
HOMOPHONES = {"to": 2, "too": 2, "for": 4, "won": 1, "ate": 8, "so": 0}
REPEATS = {"double": 2, "triple": 3, "treble": 3}

CURRENCY_SYMBOLS = {"$", "£", "€", "¥"}
# A number followed by one of these is a quantity, an amount or a time, never an identifier.
QUANTITY_WORDS = {
    "dollar", "dollars", "buck", "bucks", "cent", "cents", "pound", "pounds", "pence",
    "quid", "euro", "euros", "percent", "per", "am", "pm", "o'clock", "oclock",
    "second", "seconds", "minute", "minutes", "hour", "hours", "day", "days", "week",
    "weeks", "month", "months", "year", "years", "times", "items", "people", "gb", "mb",
    "kg", "miles", "km", "usd", "gbp", "eur",
}  # fmt: skip
# What may stand between the parts of one number said or written in pieces.
# "the last four", "the first six digits": a count of digits, not a digit.
COUNTING_WORDS = {"last", "first", "final"}
JOIN_SYMBOLS = {"-", "–", "—", ".", ",", "/", "(", ")", "…", ";"}
JOIN_WORDS = {
    "uh", "um", "umm", "uhm", "er", "erm", "ah", "hmm", "mm", "and", "dash", "hyphen",
    "slash", "space",
}  # fmt: skip
# Back-channel words a listener drops into a card number read in chunks.
BACKCHANNEL_WORDS = {
    "okay", "ok", "yes", "yeah", "yep", "mhm", "mm-hmm", "uh-huh", "huh", "right",
    "sorry", "then", "next", "got", "it", "go", "on", "ahead", "continue", "the", "is",
}  # fmt: skip


@dataclass(frozen=True)
class NumberItem:
    """One number as said or written, covering tokens first..last (inclusive)."""

    first: int
    last: int
    digits: str
    literal: bool = False
    """Written with numerals ("4111"), not words."""
    needs_neighbor: bool = False
    """"oh" or a homophone ("for"): only a digit when beside another number."""
    weak: bool = False
    """A homophone of a digit ("for", "to"): never the edge of anything but a card."""
    cardinal: bool = False
    """Said with hundred/thousand ("eight hundred"), the way amounts and years are said."""


@dataclass(frozen=True)
class Run:
    """Number items separated only by pauses, fillers and punctuation."""

    items: tuple[NumberItem, ...]

    @property
    def first(self) -> int:
        return self.items[0].first

    @property
    def last(self) -> int:
        return self.items[-1].last

    @property
    def digits(self) -> str:
        return "".join(i.digits for i in self.items)

    def variants(self) -> list[Run]:
        """The run, then the run without "oh"/homophone items at its edges, fewest cut first.

        "oh" and "for" at an edge may be plain words ("oh, four one one ...") or
        digits ("... six oh"), so detectors try each reading; a homophone is never
        kept at an edge.
        """
        items = self.items
        lead = next((k for k, it in enumerate(items) if not it.needs_neighbor), len(items))
        trail = next((k for k, it in enumerate(reversed(items)) if not it.needs_neighbor), 0)
        out: list[tuple[int, Run]] = []
        for a in range(lead + 1):
            for b in range(trail + 1):
                cut = items[a : len(items) - b]
                if cut and not cut[0].weak and not cut[-1].weak:
                    out.append((a + b, Run(cut)))
        return [run for _, run in sorted(out, key=lambda pair: pair[0])]


def _word(tokens: Sequence[Token], i: int) -> str:
    return tokens[i].norm if 0 <= i < len(tokens) and tokens[i].kind == "word" else ""


def _starts_number(tokens: Sequence[Token], i: int) -> bool:
    if i >= len(tokens):
        return False
    w = tokens[i].norm
    return tokens[i].kind == "num" or any(w in t for t in (UNITS, TEENS, TENS, ZERO_LETTERS))


def _below_100(tokens: Sequence[Token], i: int) -> tuple[int, int] | None:
    """(value, next index) for 1..99 said in words: "seven", "twelve", "forty-two"."""
    w = _word(tokens, i)
    if w in TEENS:
        return TEENS[w], i + 1
    if w in UNITS and UNITS[w] > 0:
        return UNITS[w], i + 1
    if w in TENS:
        j = i + 1
        if j < len(tokens) and tokens[j].norm == "-" and not tokens[j].spaced:
            j += 1
        unit = UNITS.get(_word(tokens, j), 0)
        if unit > 0 and (j == i + 1 or not tokens[j].spaced):
            return TENS[w] + unit, j + 1
        return TENS[w], i + 1
    return None


def _scaled(tokens: Sequence[Token], i: int, scale: str, factor: int, below) -> tuple[int, int]:
    """Parse "<n> <scale> [and] [rest]"; returns (value, next) or (-1, i) when absent."""
    head = below(tokens, i)
    if head is None and _word(tokens, i) == "a" and _word(tokens, i + 1) == scale:
        head = (1, i + 1)
    if head is None or _word(tokens, head[1]) != scale:
        return -1, i
    value, j = head[0] * factor, head[1] + 1
    k = j + 1 if _word(tokens, j) == "and" else j
    rest = below(tokens, k)
    # "eight hundred five five five ..." is 800 then digits, not 805 then digits.
    if rest is not None and rest[0] < factor and not _starts_number(tokens, rest[1]):
        return value + rest[0], rest[1]
    return value, j


def _below_1000(tokens: Sequence[Token], i: int) -> tuple[int, int] | None:
    value, j = _scaled(tokens, i, "hundred", 100, _below_100)
    return (value, j) if value >= 0 else _below_100(tokens, i)


def _cardinal(tokens: Sequence[Token], i: int) -> tuple[int, int] | None:
    """A number said with "hundred" or "thousand" ("eight hundred", "two thousand and five")."""
    value, j = _scaled(tokens, i, "thousand", 1000, _below_1000)
    if value < 0:
        value, j = _scaled(tokens, i, "hundred", 100, _below_100)
    return (value, j) if value >= 0 else None


def _single_digit(tok: Token) -> str | None:
    if tok.kind == "num" and len(tok.norm) == 1:
        return tok.norm
    if tok.norm in UNITS:
        return str(UNITS[tok.norm])
    if tok.norm in ZERO_LETTERS:
        return "0"
    return None


CARD_LENGTH_MIN = 13
"""The shortest card number; no amount said on a call is this long."""
GROUPED_DIGIT_STRING = 10
"""A thousands-grouped numeral with this many digits or more ("4,111,111,111,111,111") is a digit
string read aloud as Whisper writes it, not an amount."""


def _grouped_end(tokens: Sequence[Token], i: int) -> int:
    """Last index of a thousands-grouped numeral starting at i ("1,234,567"); i when not grouped."""
    j = i
    while (
        j + 2 < len(tokens)
        and tokens[j + 1].norm == ","
        and tokens[j + 2].kind == "num"
        and len(tokens[j + 2].norm) == 3
        and not tokens[j + 1].spaced
        and not tokens[j + 2].spaced
        and len(tokens[i].norm) <= 3
    ):
        j += 2
    return j


def _grouped_digit_string(tokens: Sequence[Token], i: int) -> int | None:
    """Last index of a long comma-grouped digit string starting at i, else None.

    Its groups are separate number items; without this the tail of
    "4,111,111,111,111,111" ("111,111,111") would be taken for an amount.
    """
    j = _grouped_end(tokens, i)
    digits = sum(len(tokens[k].norm) for k in range(i, j + 1, 2))
    return j if j > i and digits >= GROUPED_DIGIT_STRING else None


def _numeral_chain_end(tokens: Sequence[Token], i: int) -> int | None:
    """Last index of a decimal or thousands-grouped numeral ("3.50", "1,234"), else None."""
    j = _grouped_end(tokens, i)
    grouped = j > i
    if grouped and sum(len(tokens[k].norm) for k in range(i, j + 1, 2)) >= GROUPED_DIGIT_STRING:
        return None
    decimal = (
        j + 2 < len(tokens)
        and tokens[j + 1].norm == "."
        and tokens[j + 2].kind == "num"
        and len(tokens[j + 2].norm) <= 2
        and not tokens[j + 1].spaced
        and not tokens[j + 2].spaced
        and not (j + 4 < len(tokens) and tokens[j + 3].norm == "." and tokens[j + 4].kind == "num")
        and not (i >= 2 and tokens[i - 1].norm == "." and tokens[i - 2].kind == "num")
    )
    if decimal:
        return j + 2
    return j if grouped else None


def _item_at(tokens: Sequence[Token], i: int) -> NumberItem | None:
    tok = tokens[i]
    if tok.kind == "num":
        return NumberItem(i, i, tok.norm, literal=True)
    w = tok.norm
    if w in REPEATS and i + 1 < len(tokens):
        digit = _single_digit(tokens[i + 1])
        if digit is not None:
            return NumberItem(i, i + 1, digit * REPEATS[w], literal=tokens[i + 1].kind == "num")
        return None
    cardinal = _cardinal(tokens, i)
    if cardinal is not None:
        return NumberItem(i, cardinal[1] - 1, str(cardinal[0]), cardinal=True)
    if w in TENS or w in TEENS:
        value, j = _below_100(tokens, i)  # type: ignore[misc]
        return NumberItem(i, j - 1, str(value))
    if w in UNITS:
        return NumberItem(i, i, str(UNITS[w]))
    if w in ZERO_LETTERS:
        return NumberItem(i, i, "0", needs_neighbor=True)
    if w in HOMOPHONES:
        return NumberItem(i, i, str(HOMOPHONES[w]), needs_neighbor=True, weak=True)
    return None


def item_at(tokens: Sequence[Token], i: int) -> NumberItem | None:
    """The number said or written at token i, read as `find_items` reads it but without its
    context rules (a date reader needs "nineteen" in "first nineteen eighty", which `find_items`
    drops as a count after "first")."""
    return _item_at(tokens, i) if 0 <= i < len(tokens) else None


def _is_quantity(tokens: Sequence[Token], item: NumberItem) -> bool:
    before = tokens[item.first - 1].norm if item.first > 0 else ""
    after = tokens[item.last + 1].norm if item.last + 1 < len(tokens) else ""
    if before in COUNTING_WORDS:
        return True
    return before in CURRENCY_SYMBOLS or after in QUANTITY_WORDS or after == "%"


def find_items(tokens: Sequence[Token]) -> list[NumberItem]:
    """Every number in the tokens, except amounts, quantities, decimals and times."""
    items: list[NumberItem] = []
    i = 0
    while i < len(tokens):
        if tokens[i].kind == "num" and (end := _grouped_digit_string(tokens, i)) is not None:
            group = [NumberItem(k, k, tokens[k].norm, literal=True) for k in range(i, end + 1, 2)]
            money = _is_quantity(tokens, group[0]) or _is_quantity(tokens, group[-1])
            if not money or sum(len(g.digits) for g in group) >= CARD_LENGTH_MIN:
                items += group  # "$1,234,567,890" is money; a card-long "$4,111,...,111" is not
            i = end + 1
            continue
        if tokens[i].kind == "num" and (end := _numeral_chain_end(tokens, i)) is not None:
            i = end + 1  # "1,234.56" is an amount, "3.5" a decimal
            continue
        item = _item_at(tokens, i)
        if item is None:
            i += 1
            continue
        if not _is_quantity(tokens, item):
            items.append(item)
        i = item.last + 1
    return items


def _joins(tok: Token, extra_words: frozenset[str] | set[str]) -> bool:
    if tok.kind == "sym":
        return tok.norm in JOIN_SYMBOLS
    return tok.norm in JOIN_WORDS or tok.norm in extra_words


def find_runs(
    tokens: Sequence[Token],
    items: Sequence[NumberItem],
    *,
    extra_joiners: frozenset[str] | set[str] = frozenset(),
) -> list[Run]:
    """Group items whose gaps hold only joiners; runs of only "oh"/homophones are dropped."""
    groups: list[list[NumberItem]] = []
    for item in items:
        if groups and all(
            _joins(tokens[k], extra_joiners) for k in range(groups[-1][-1].last + 1, item.first)
        ):
            groups[-1].append(item)
        else:
            groups.append([item])
    return [Run(tuple(g)) for g in groups if not all(i.needs_neighbor for i in g)]
