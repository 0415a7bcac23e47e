"""Times of day: "three thirty PM", "half past three", "quarter to four", "fifteen hundred",
"las tres y media de la tarde", keys HHMM on a 24-hour clock; stored "15:30", read back
"3:30 PM" / "las 3 y media de la tarde".

An hour said without a.m. or p.m. ("three thirty") takes the reading that falls within the
state's `min`..`max`; when both or neither do, 7 to 11 are morning and 1 to 6 afternoon
(office hours), and a time said with a leading zero or past 12 is a 24-hour time.
"""

from __future__ import annotations

from dataclasses import dataclass

from callwright.flows.model import ValueOptions
from callwright.ivr.values import words
from callwright.ivr.values.base import Context, Invalid, Parsed, Result
from callwright.ivr.values.words import Item, Num, Word

_AM = {"am", "morning", "mañana", "manana", "madrugada"}
_PM = {"pm", "afternoon", "evening", "night", "tonight", "tarde", "noche"}
_NIGHT = {"night", "noche", "tonight"}
_NOON = {"noon", "midday", "mediodia"}
_MIDNIGHT = {"midnight", "medianoche"}
_FILLERS = frozenset(
    "at a an around about its it is the in this um uh er please sharp minutes minute hours "
    "o clock las la el a de del en eh este pues como sobre hacia por".split()
)
_OCLOCK = {"oclock", "punto", "hundred_hours"}
_PAST = {"past", "after"}
_TO = {"to", "till", "til", "until", "before", "of"}
MORNING_FROM = 7
"""An hour from 1 to 12 said without a.m./p.m. (and not settled by the state's limits) is
morning from this hour to 11, afternoon from 12 to MORNING_FROM - 1."""


@dataclass(frozen=True)
class _Said:
    hour: int
    minute: int
    meridiem: str | None  # "am", "pm" or None
    clock24: bool  # said as a 24-hour time ("oh nine hundred", "fifteen thirty", "09:30")
    night: bool = False


def parse_speech(text: str, options: ValueOptions, ctx: Context) -> Result:
    toks = words.tokens(text)
    if len(toks) > words.MAX_TOKENS:
        return Invalid("too many words for a time")
    meridiem = "am" if any(t in _AM for t in toks) else None
    if any(t in _PM for t in toks):
        meridiem = None if meridiem else "pm"
        if meridiem is None:
            return Invalid("both a.m. and p.m.")
    rest = [t for t in toks if t not in _AM | _PM]
    night = any(t in _NIGHT for t in toks)
    core = [t for t in rest if t not in _FILLERS]
    if core and all(t in _NOON for t in core):
        return _check(12, 0, options)
    if core and all(t in _MIDNIGHT for t in core):
        return _check(0, 0, options)
    if any(t in _NOON for t in core):
        meridiem, core = meridiem or "pm", [t for t in core if t not in _NOON]
    items = words.without(words.lex(core, ctx.language), frozenset())
    said = _shape(items, meridiem, night)
    if said is None:
        return Invalid("not a time of day")
    return _resolve(said, options)


def _n(x: Item | None) -> Num | None:
    return x if isinstance(x, Num) and x.kind != "ordinal" else None


def _w(x: Item | None) -> str:
    return x.text if isinstance(x, Word) else ""


def _shape(items: list[Item], meridiem: str | None, night: bool) -> _Said | None:
    """Hour and minute from the shapes callers use."""
    n = len(items)
    get = items.__getitem__

    def said(h: int, m: int, clock24: bool = False) -> _Said:
        return _Said(h, m, meridiem, clock24, night)

    if n == 0:
        return None
    first = _n(get(0))
    # "half past three", "quarter to four", "ten past nine", "twenty five to five"
    if n == 3 and _w(get(1)) in _PAST | _TO and _n(get(2)) is not None:
        hour = _n(get(2))
        assert hour is not None
        minutes = (
            30 if _w(get(0)) == "half" else 15 if _w(get(0)) == "quarter" else first.value if first else None
        )
        if minutes is None or not 0 < minutes < 60 or (_w(get(0)) == "half" and _w(get(1)) in _TO):
            return None
        if _w(get(1)) in _PAST:
            return said(hour.value, minutes)
        return said(hour.value - 1 if hour.value else 23, 60 - minutes)
    if first is None:
        return None
    h = first.value
    zero_led = first.kind == "pair" or (first.kind == "numeral" and first.width == 2 and h < 10)
    if n == 1:
        if first.kind == "numeral" and first.width in (3, 4):  # "1530", "930"
            return said(h // 100, h % 100, clock24=first.width == 4)
        if first.kind == "compound" and h % 100 == 0 and h <= 2400:  # "fifteen hundred"
            return said(h // 100, 0, clock24=True)
        return said(h, 0, clock24=zero_led) if first.width <= 2 else None
    second = get(1)
    if n == 2:
        if _w(second) in _OCLOCK:
            return said(h, 0, clock24=zero_led)
        m = _n(second)
        if m is not None and first.kind == "digit" and h == 0 and m.kind == "compound" and m.value % 100 == 0:
            return said(m.value // 100, 0, clock24=True)  # "oh nine hundred"
        if m is not None and first.width <= 2 and m.width == 2 and m.value < 60:
            return said(h, m.value, clock24=zero_led or h > 12)  # "three thirty", "3:05"
        if _w(second) == "hundred":
            return said(h, 0, clock24=True)
        return None
    if n == 3 and _w(second) in ("y", "menos"):  # "tres y media", "cuatro menos cuarto"
        word = _w(get(2))
        m = _n(get(2))
        minutes = 30 if word == "media" else 15 if word == "cuarto" else m.value if m else None
        if minutes is None or not 0 < minutes < 60:
            return None
        if _w(second) == "y":
            return said(h, minutes)
        return said(h - 1 if h else 23, 60 - minutes)
    if n == 3 and _w(get(2)) in ("hours", "hundred") and _n(second) is not None:
        m = _n(second)
        assert m is not None
        return said(h, m.value, clock24=True)
    return None


def _resolve(said: _Said, options: ValueOptions) -> Result:
    h, m = said.hour, said.minute
    if not (0 <= h <= 24 and 0 <= m < 60) or (h == 24 and m):
        return Invalid(f"{h}:{m:02d} is not a time of day")
    h %= 24
    if said.meridiem is not None:
        if said.clock24 and h > 12 or h > 12 or h == 0:
            return Invalid(f"{h}:{m:02d} with {said.meridiem}")
        if said.meridiem == "am":
            h = 0 if h == 12 else h
        else:
            h = 0 if h == 12 and said.night else h if h == 12 else h + 12
        return _check(h, m, options)
    if said.clock24 or h == 0 or h > 12:
        return _check(h, m, options)
    readings = [h % 12, h % 12 + 12] if h != 12 else [12, 0]
    lo, hi = limits(options)
    inside = [r for r in readings if _within(r * 60 + m, lo, hi)]
    if len(inside) == 1:
        return _check(inside[0], m, options)
    if h == 12:
        return _check(12, m, options)
    return _check(h if h >= MORNING_FROM else h + 12, m, options)


def _within(minutes: int, lo: int | None, hi: int | None) -> bool:
    return (lo is None or minutes >= lo) and (hi is None or minutes <= hi)


def limit(text: str | None) -> int | None:
    """A limit as written, "HH:MM" (24-hour), in minutes; ValueError when it is not one."""
    if text is None:
        return None
    hh, sep, mm = text.strip().partition(":")
    if not sep or not hh.isdecimal() or not mm.isdecimal() or len(mm) != 2:
        raise ValueError(f"{text!r} is not a time HH:MM")
    h, m = int(hh), int(mm)
    if h > 23 or m > 59:
        raise ValueError(f"{text!r} is not a time of day (00:00 to 23:59)")
    return h * 60 + m


def limits(options: ValueOptions) -> tuple[int | None, int | None]:
    try:
        return limit(options.min), limit(options.max)
    except ValueError:  # reported by the checker
        return None, None


def _check(h: int, m: int, options: ValueOptions) -> Result:
    value = f"{h:02d}:{m:02d}"
    lo, hi = limits(options)
    if not _within(h * 60 + m, lo, hi):
        return Invalid(f"{value} is outside {options.min or '00:00'}-{options.max or '23:59'}")
    return Parsed(value)


def parse_keys(keys: str, options: ValueOptions, ctx: Context) -> Result:
    if not keys.isdecimal() or len(keys) not in (3, 4):
        return Invalid(f"{len(keys)} keys; a time is HHMM on a 24-hour clock")
    h, m = int(keys[:-2]), int(keys[-2:])
    if h > 23 or m > 59:
        return Invalid(f"{keys} is not a time of day")
    return _check(h, m, options)


def read_back(value: str, language: str) -> str:
    """ "3:30 PM", "9 AM", "noon" / "las 3 y media de la tarde"; other text stays as it is."""
    try:
        minutes = limit(value)
    except (ValueError, AttributeError):
        return str(value)
    assert minutes is not None
    h, m = divmod(minutes, 60)
    if words.is_spanish(language):
        twelve = h % 12 or 12
        article = "la" if twelve == 1 else "las"
        part = "y media" if m == 30 else "y cuarto" if m == 15 else f"y {m}" if m else ""
        period = (
            "de la noche"
            if h == 0 or h >= 20
            else "del mediodía"
            if h == 12
            else "de la tarde"
            if h > 12
            else "de la mañana"
        )
        return " ".join(x for x in (article, str(twelve), part, period) if x)
    if (h, m) == (12, 0):
        return "noon"
    if (h, m) == (0, 0):
        return "midnight"
    twelve = h % 12 or 12
    clock = f"{twelve}:{m:02d}" if m else str(twelve)
    return f"{clock} {'PM' if h >= 12 else 'AM'}"
