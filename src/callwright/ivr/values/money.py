"""Amounts of money: "twelve dollars and fifty cents", "twelve fifty", "$12.50", "doce
dólares con cincuenta", keys with `*` as the decimal point ("12*50#"); stored "12.50",
read back "$12.50" / "12 dólares con 50 centavos"."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from callwright.flows.model import ValueOptions
from callwright.ivr.values import words
from callwright.ivr.values.base import Context, Invalid, Parsed, Result
from callwright.ivr.values.words import Item, Num, Word

MAX_AMOUNT = Decimal("1000000000")
"""The largest amount taken when the state does not say (`max`)."""
MAX_KEYS = 12
"""Keys in one amount (figures and the `*`), before the `#`."""
CURRENCIES: dict[str, tuple[str, tuple[str, str], tuple[str, str], tuple[str, str], tuple[str, str]]] = {
    # code: symbol, (en unit, en units), (en cent, en cents), (es unit, units), (es cent, cents)
    "USD": ("$", ("dollar", "dollars"), ("cent", "cents"), ("dólar", "dólares"), ("centavo", "centavos")),
    "EUR": ("€", ("euro", "euros"), ("cent", "cents"), ("euro", "euros"), ("céntimo", "céntimos")),
    "GBP": ("£", ("pound", "pounds"), ("penny", "pence"), ("libra", "libras"), ("penique", "peniques")),
    "MXN": ("$", ("peso", "pesos"), ("centavo", "centavos"), ("peso", "pesos"), ("centavo", "centavos")),
}
_UNIT_WORDS = {"dollar", "dollars", "buck", "bucks", "euro", "euros", "pound", "pounds", "quid", "dolar",
               "dolares", "peso", "pesos", "libra", "libras", "usd", "eur", "gbp", "mxn"}  # fmt: skip
_CENT_WORDS = {"cent", "cents", "penny", "pence", "p", "centavo", "centavos", "centimo", "centimos",
               "peniques", "penique"}  # fmt: skip
_POINT = {"point", "dot", "punto", "coma"}
_AND = {"and", "con", "y"}
_FILLERS = frozenset(
    "um uh er its it is about exactly the amount of please a pay eh este pues son es".split()
)
_DECIMAL = re.compile(r"(?<![\d.,])(\d{1,9})[.,](\d{1,2})(?![\d.,])")


_SYMBOL_FIRST = re.compile(r"([$€£])\s*([0-9][0-9.,]*)")
"""A symbol written before its amount ("$12.50") is said after it ("12.50 dollars")."""
_THOUSANDS = re.compile(r"(?<=\d)[.,](?=\d{3}(?!\d))")
"""A comma or dot before exactly three figures groups thousands ("1,234.50", "1.234")."""


def parse_speech(text: str, options: ValueOptions, ctx: Context) -> Result:
    text = _SYMBOL_FIRST.sub(r"\2 \1", _THOUSANDS.sub("", text))
    text = _DECIMAL.sub(lambda m: f" {m.group(1)} point {m.group(2).ljust(2, '0')} ", text)
    toks = words.tokens(text.replace("$", " dollars ").replace("€", " euros ").replace("£", " pounds "))
    if len(toks) > words.MAX_TOKENS:
        return Invalid("too many words for an amount")
    items = words.without(words.lex(toks, ctx.language), _FILLERS)
    amount = _amount(items)
    if amount is None:
        return Invalid("not an amount")
    return _valid(amount, options)


def _num(x: Item | None) -> Num | None:
    return x if isinstance(x, Num) and x.kind != "ordinal" else None


def _amount(items: list[Item]) -> Decimal | None:
    units = [i for i, x in enumerate(items) if isinstance(x, Word) and x.text in _UNIT_WORDS]
    cents_at = [i for i, x in enumerate(items) if isinstance(x, Word) and x.text in _CENT_WORDS]
    point = [i for i, x in enumerate(items) if isinstance(x, Word) and x.text in _POINT]
    if len(units) > 1 or len(cents_at) > 1 or len(point) > 1:
        return None
    rest = [x for i, x in enumerate(items) if i not in units]
    if point:  # "twelve point five oh", "12.50"
        at = rest.index(items[point[0]])
        whole, frac = rest[:at], [x for x in rest[at + 1 :] if not _is(x, _CENT_WORDS)]
        w = _single(whole)
        figures = words.digit_string(frac)
        if w is None or not figures or len(figures) > 2:
            return None
        return Decimal(w) + Decimal(figures.ljust(2, "0")) / 100
    if cents_at:  # "twelve dollars and fifty cents", "fifty cents"
        c_index = rest.index(items[cents_at[0]])
        if c_index != len(rest) - 1:
            return None
        before = rest[:c_index]
        cents_num = _num(before[-1]) if before else None
        if cents_num is None or cents_num.value > 99:
            return None
        head = before[:-1]
        if head and _is(head[-1], _AND):
            head = head[:-1]
        dollars = _single(head) if head else 0
        if dollars is None or (head and not units):
            return None
        return Decimal(dollars) + Decimal(cents_num.value) / 100
    # "twelve dollars", "twelve dollars fifty", "doce con cincuenta", "twelve fifty"
    nums = [x for x in rest if not _is(x, _AND)]
    if not nums or not all(isinstance(x, Num) for x in nums):
        return None
    if units:
        split = sum(1 for x in items[: units[0]] if isinstance(x, Num))
        head, tail = nums[:split], nums[split:]
    elif any(_is(x, _AND) for x in rest):
        at = next(i for i, x in enumerate(rest) if _is(x, _AND))
        head, tail = rest[:at], rest[at + 1 :]
    else:
        second = nums[1] if len(nums) == 2 else None
        pair = isinstance(second, Num) and _cents_like(second)
        head, tail = (nums[:1], nums[1:]) if pair else (nums, [])
    dollars = _single(head)
    if dollars is None:
        return None
    if not tail:
        return Decimal(dollars)
    c = _num(tail[0]) if len(tail) == 1 else None
    if c is None or not _cents_like(c):
        return None
    return Decimal(dollars) + Decimal(c.value) / 100


def _cents_like(n: Num) -> bool:
    return n.width == 2 and n.value < 100 and n.kind != "compound"


def _is(x: Item, vocabulary: set[str]) -> bool:
    return isinstance(x, Word) and x.text in vocabulary


def _single(items: list[Item]) -> int | None:
    """One whole number: "twelve", "one hundred and twenty", "1250"."""
    nums = [x for x in items if isinstance(x, Num)]
    if len(nums) != 1 or len(items) != 1 or nums[0].kind == "ordinal":
        return None
    return nums[0].value


def parse_keys(keys: str, options: ValueOptions, ctx: Context) -> Result:
    whole, star, frac = keys.partition("*")
    if not whole:
        whole = "0"
    if not whole.isdecimal() or (star and not frac.isdecimal()) or len(frac) > 2 or "*" in frac:
        return Invalid("an amount is keyed as figures, * for the decimal point and at most two after it")
    return _valid(Decimal(whole) + (Decimal(frac.ljust(2, "0")) / 100 if frac else Decimal(0)), options)


def limit(text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        value = Decimal(str(text))
    except InvalidOperation:
        raise ValueError(f"{text!r} is not an amount") from None
    if not value.is_finite() or value < 0:
        raise ValueError(f"{text!r} is not an amount")
    return value


def _valid(amount: Decimal, options: ValueOptions) -> Result:
    try:
        lo, hi = limit(options.min), limit(options.max)
    except ValueError:
        lo = hi = None
    hi = MAX_AMOUNT if hi is None else hi
    if lo is not None and amount < lo:
        return Invalid(f"{amount:.2f} is under {lo}")
    if amount > hi:
        return Invalid(f"{amount:.2f} is over {hi}")
    return Parsed(f"{amount:.2f}")


def read_back(value: str, language: str, code: str = "USD") -> str:
    """ "$12.50" / "12 dólares con 50 centavos"; other text stays as it is."""
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    if not amount.is_finite():
        return str(value)
    symbol, _en_unit, _en_cent, es_unit, es_cent = CURRENCIES.get(code, CURRENCIES["USD"])
    whole, cents = divmod(int(amount.quantize(Decimal("0.01")) * 100), 100)
    if words.is_spanish(language):
        text = f"{whole:,}".replace(",", ".") + " " + (es_unit[0] if whole == 1 else es_unit[1])
        if cents:
            text += f" con {cents} " + (es_cent[0] if cents == 1 else es_cent[1])
        return text
    return f"{symbol}{whole:,}" + (f".{cents:02d}" if cents else "")
