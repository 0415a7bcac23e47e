"""Dates: "March fifth nineteen eighty", "oh three oh five eighty", "el cinco de marzo de
mil novecientos ochenta", keys 03051980; a real calendar date within the state's limits,
read back "March 5, 1980" / "5 de marzo de 1980"."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from callwright.flows.model import DateFormat, ValueOptions
from callwright.ivr.values import words
from callwright.ivr.values.base import Context, Invalid, Parsed, Result
from callwright.ivr.values.words import Item, Num, Word

EN_MONTHS = (
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december",
)  # fmt: skip
ES_MONTHS = (
    "enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre",
    "octubre", "noviembre", "diciembre",
)  # fmt: skip
_MONTH = {m: i + 1 for i, m in enumerate(EN_MONTHS)} | {m: i + 1 for i, m in enumerate(ES_MONTHS)}
_MONTH |= {m[:3]: i + 1 for i, m in enumerate(EN_MONTHS)} | {"sept": 9, "setiembre": 9}
_MONTH.pop("may", None)
_MONTH["may"] = 5
_FILLERS = frozenset(
    "the of on in it its is was my date birth born birthday i um uh er please and "
    "de del el la mi es fue naci fecha nacimiento eh este pues a los".split()
)
_RELATIVE = {"today": 0, "hoy": 0, "yesterday": -1, "ayer": -1, "tomorrow": 1, "mañana": 1, "manana": 1}
TWO_FIGURE_FUTURE_YEARS = 20
"""A year said with two figures ("eighty") is the latest one not more than this many years
after today's, below the state's `max` (so "oh five" is 2005, "eighty" 1980)."""
EARLIEST_YEAR, LATEST_YEAR = 1000, 9999


@dataclass(frozen=True)
class _Said:
    year: int
    two_figure_year: bool
    month: int
    day: int


def parse_speech(text: str, options: ValueOptions, ctx: Context) -> Result:
    toks = words.tokens(text)
    if len(toks) > words.MAX_TOKENS:
        return Invalid("too many words for a date")
    for tok in toks:
        if tok in _RELATIVE and len([t for t in toks if t not in _FILLERS]) == 1:
            return _valid(ctx.day() + timedelta(days=_RELATIVE[tok]), options, ctx)
    items = words.without(words.lex(toks, ctx.language), _FILLERS)
    said = _with_month_name(items) or _all_figures(items, _order(options, ctx))
    if said is None:
        return Invalid("not a date")
    return _resolve(said, options, ctx)


def parse_keys(keys: str, options: ValueOptions, ctx: Context) -> Result:
    if not keys.isdecimal() or len(keys) != 8:
        return Invalid(f"{len(keys)} keys; a date is 8 ({_order(options, ctx)})")
    fmt = _order(options, ctx)
    parts = {
        fmt[i]: keys[i : i + n] for i, n in ((fmt.index("Y"), 4), (fmt.index("M"), 2), (fmt.index("D"), 2))
    }
    return _resolve(_Said(int(parts["Y"]), False, int(parts["M"]), int(parts["D"])), options, ctx)


def _order(options: ValueOptions, ctx: Context) -> DateFormat:
    if options.format:
        return options.format
    return "DDMMYYYY" if words.is_spanish(ctx.language) else "MMDDYYYY"


def _day(x: Item | None) -> int | None:
    if isinstance(x, Num) and x.kind != "compound" and 1 <= x.value <= 31 and x.width <= 2:
        return x.value
    return None


def _with_month_name(items: list[Item]) -> _Said | None:
    at = next((i for i, x in enumerate(items) if isinstance(x, Word) and x.text in _MONTH), None)
    if at is None:
        return None
    month_word = items[at]
    assert isinstance(month_word, Word)
    month = _MONTH[month_word.text]
    before, after = items[:at], items[at + 1 :]
    if len(before) == 1 and _day(before[0]) is not None:  # "fifth of March 1980"
        day, rest = _day(before[0]), after
    elif not before and after and _day(after[0]) is not None:  # "March fifth 1980"
        day, rest = _day(after[0]), after[1:]
    else:
        return None
    year = _year(rest)
    if day is None or year is None:
        return None
    return _Said(year[0], year[1], month, day)


def _year(items: Sequence[Item]) -> tuple[int, bool] | None:
    """(year, said with two figures) from what follows the day: "nineteen eighty", "1980",
    "two thousand five", "mil novecientos ochenta", "nineteen oh five", "eighty"."""
    if not items or not all(isinstance(x, Num) for x in items):
        return None
    nums = [x for x in items if isinstance(x, Num)]
    if any(n.kind == "ordinal" for n in nums):
        return None
    if len(nums) == 1:
        n = nums[0]
        if n.width == 4 or (n.kind == "compound" and n.value >= 1000):
            return n.value, False
        if n.width == 2:
            return n.value, True
        return None
    if len(nums) == 2 and 10 <= nums[0].value <= 99 and nums[1].width == 2 and nums[0].width == 2:
        return nums[0].value * 100 + nums[1].value, False  # "nineteen eighty", "nineteen oh five"
    if len(nums) == 2 and 10 <= nums[0].value <= 99 and nums[1].kind == "compound" and nums[1].value < 100:
        return None
    return None


def _all_figures(items: list[Item], order: DateFormat) -> _Said | None:
    """A date said as figures: "oh three oh five eighty", "3 5 1980", "1980 03 05"."""
    nums = [x for x in items if isinstance(x, Num)]
    if len(nums) != len(items) or not nums:
        return None
    figures = words.digit_string(items) or ""
    if len(nums) >= 3 and nums[0].width == 4:  # ISO order: 1980 03 05
        if len(nums) == 3 and _day(nums[2]) is not None and 1 <= nums[1].value <= 12:
            return _Said(nums[0].value, False, nums[1].value, nums[2].value)
        return None
    if len(nums) >= 3 and all(n.width <= 2 for n in nums[:2]) and nums[0].kind != "compound":
        first, second = nums[0].value, nums[1].value
        year = _year(nums[2:])
        if year is not None:
            month, day = (first, second) if order.startswith("MM") else (second, first)
            return _Said(year[0], year[1], month, day)
    if len(figures) in (6, 8) and all(n.kind in ("digit", "pair", "teen", "tens", "numeral") for n in nums):
        y = len(figures) - 4
        a, b, yr = int(figures[0:2]), int(figures[2:4]), int(figures[4:])
        if order == "YYYYMMDD":
            yr, a, b = int(figures[:y]), int(figures[y : y + 2]), int(figures[y + 2 :])
            month, day = a, b
        else:
            month, day = (a, b) if order.startswith("MM") else (b, a)
        return _Said(yr, len(figures) == 6, month, day)
    return None


def _resolve(said: _Said, options: ValueOptions, ctx: Context) -> Result:
    lo, hi = limits(options, ctx)
    year = said.year
    if said.two_figure_year:
        ceiling = min(hi.year if hi else 9999, ctx.day().year + TWO_FIGURE_FUTURE_YEARS)
        year = ceiling - (ceiling - said.year) % 100
    if not EARLIEST_YEAR <= year <= LATEST_YEAR:
        return Invalid(f"year {year} is out of range")
    try:
        value = date(year, said.month, said.day)
    except ValueError:
        return Invalid(f"{year:04d}-{said.month:02d}-{said.day:02d} is not a calendar date")
    return _valid(value, options, ctx)


def _valid(value: date, options: ValueOptions, ctx: Context) -> Result:
    lo, hi = limits(options, ctx)
    if lo is not None and value < lo:
        return Invalid(f"{value.isoformat()} is before {lo.isoformat()}")
    if hi is not None and value > hi:
        return Invalid(f"{value.isoformat()} is after {hi.isoformat()}")
    return Parsed(value.isoformat())


def limit(text: str | None, today: date) -> date | None:
    """A limit as written: YYYY-MM-DD or `today`; ValueError when it is neither."""
    if text is None:
        return None
    if text.strip() == "today":
        return today
    return date.fromisoformat(text.strip())


def limits(options: ValueOptions, ctx: Context) -> tuple[date | None, date | None]:
    try:
        return limit(options.min, ctx.day()), limit(options.max, ctx.day())
    except ValueError:  # reported by the checker; a bad limit does not limit
        return None, None


def read_back(value: str, language: str) -> str:
    """ "March 5, 1980" / "5 de marzo de 1980"; a value that is not a date stays as it is."""
    try:
        d = date.fromisoformat(value)
    except (TypeError, ValueError):
        return str(value)
    if words.is_spanish(language):
        return f"{d.day} de {ES_MONTHS[d.month - 1]} de {d.year}"
    return f"{EN_MONTHS[d.month - 1].capitalize()} {d.day}, {d.year}"
