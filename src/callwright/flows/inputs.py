"""Start variables: values given to a call from outside the flow (`callwright call --var`).

A flow says which variables may come from outside, with their type, under `inputs:`;
anything else is refused before the call starts, so a typo (`--var rx_numbr=...`) is a
clear error instead of a variable the flow never reads.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable
from typing import Any

from callwright.errors import CallwrightError
from callwright.flows.model import Flow, InputType

MAX_INPUT_CHARS = 10_000
"""A start variable's text: the expression language's own text limit."""
_TRUE = {"true", "yes", "1"}
_FALSE = {"false", "no", "0"}


def coerce(name: str, kind: InputType, raw: str) -> Any:
    """The value of one start variable from its text; ValueError says what was expected."""
    if len(raw) > MAX_INPUT_CHARS:
        raise ValueError(f"is over {MAX_INPUT_CHARS:,} characters")
    if kind == "text":
        return raw
    if kind == "boolean":
        low = raw.strip().lower()
        if low in _TRUE | _FALSE:
            return low in _TRUE
        raise ValueError("is a boolean: true or false")
    if kind == "integer":
        try:
            return int(raw.strip())
        except ValueError:
            raise ValueError("is an integer such as 42") from None
    try:
        value = float(raw.strip())
    except ValueError:
        raise ValueError("is a number such as 4.5") from None
    if not math.isfinite(value):
        raise ValueError("is a finite number")
    return int(value) if value.is_integer() and "." not in raw and "e" not in raw.lower() else value


def parse_vars(flow: Flow, items: Iterable[str], option: str = "--var") -> dict[str, Any]:
    """NAME=VALUE items checked against the flow's `inputs:`; CallwrightError names the item."""
    out: dict[str, Any] = {}
    declared = ", ".join(sorted(flow.inputs)) or "none"
    for item in items:
        name, sep, raw = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise CallwrightError(f"{option} {item!r}: expected NAME=VALUE, e.g. {option} rx_number=1234567")
        kind = flow.inputs.get(name)
        if kind is None:
            guess = difflib.get_close_matches(name, list(flow.inputs), n=1)
            raise CallwrightError(
                f"{option} {name}: the flow '{flow.name}' ({flow.path}) takes no start variable "
                f"'{name}'"
                + (f"; did you mean '{guess[0]}'?" if guess else "")
                + f" (its inputs: {declared})",
                hint=f"declare it in the flow under `inputs:`, e.g. `inputs: {{{name}: text}}`",
            )
        try:
            out[name] = coerce(name, kind, raw)
        except ValueError as err:
            raise CallwrightError(f"{option} {name}: '{name}' {err}") from None
    return out


SIP_VAR_PREFIX = "x-var-"
"""SIP headers that offer a start variable: `X-Var-Rx-Number: 1234567` offers `rx_number`."""
MAX_OFFERED = 50
"""Start variables one call's network may offer (headers beyond are ignored and logged)."""


def header_variables(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The start variables a SIP INVITE offers: `X-Var-NAME` headers, NAME case-folded with `-` read
    as `_` (header names are case-insensitive and most gateways write them Title-Cased). The first
    of a repeated header counts; at most MAX_OFFERED."""
    out: dict[str, str] = {}
    for name, value in headers:
        low = name.lower()
        if not low.startswith(SIP_VAR_PREFIX) or len(low) == len(SIP_VAR_PREFIX):
            continue
        var = low[len(SIP_VAR_PREFIX) :].replace("-", "_")
        if var not in out and len(out) < MAX_OFFERED:
            out[var] = value
    return out


def accept_offered(flow: Flow, offered: dict[str, str]) -> tuple[dict[str, Any], list[str]]:
    """The offered start variables the flow declares under `inputs:`, coerced to their types, and
    why each other one was dropped. A network's header is not the designer's typo: nothing here
    refuses the call (unlike `--var`); the reasons go to the server log."""
    taken: dict[str, Any] = {}
    dropped: list[str] = []
    for name, raw in offered.items():
        kind = flow.inputs.get(name)
        if kind is None:
            declared = ", ".join(sorted(flow.inputs)) or "none"
            dropped.append(f"{name}: not among the flow's inputs ({declared})")
            continue
        try:
            taken[name] = coerce(name, kind, raw)
        except ValueError as err:
            dropped.append(f"{name}: {err}")
    return taken, dropped
