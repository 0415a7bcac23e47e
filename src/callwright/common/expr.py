"""The flow expression language: small, safe, and never Python's eval.

Designers write conditions such as ``caller_id.startswith('+44') and hour() < 17``.
We parse them with Python's `ast` module (parsing only, nothing is compiled or
executed) and interpret a whitelisted subset ourselves: literals, variable names,
comparisons, and/or/not, arithmetic, membership, conditional expressions, list
literals, a fixed set of helper functions and a few string methods. Everything
else (attribute access, subscripts, lambdas, comprehensions, `**`, dunder names)
is rejected at parse time, so a hostile flow cannot reach Python objects.
Every operation's cost is bounded before it runs: results are size-limited so
that ``'x' * 10**9`` or ``s.replace('', 'x' * 9999)`` cannot exhaust memory,
``round(5, -10**9)`` cannot spin on a huge power of ten, text formatting with
``%`` is refused, numbers stay finite (no NaN or infinity reaches a comparison),
and helpers are checked for their number of arguments when the flow is loaded.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

MAX_LENGTH = 1000
MAX_DEPTH = 32
MAX_STRING = 10_000
MAX_LIST = 1_000
MAX_NUMBER = 1e300  # operands beyond this are refused (products would overflow)
MAX_ROUND_DIGITS = 100  # round(x, n) with |n| above this is refused (10**n costs time)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ExpressionError(Exception):
    """An expression that does not parse, or fails when evaluated."""

    def __init__(self, message: str, offset: int = 0) -> None:
        super().__init__(message)
        self.offset = offset  # 0-based column inside the expression


_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}
_CMPOPS: dict[type, Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}
# string method -> number of arguments
_STR_METHODS = {
    "startswith": 1,
    "endswith": 1,
    "lower": 0,
    "upper": 0,
    "strip": 0,
    "replace": 2,
    "contains": 1,
    "isdigit": 0,
}


def _clock_now(env: Mapping[str, Any]) -> datetime:
    now = env.get("__now__")
    if not isinstance(now, datetime):
        raise ExpressionError("time helpers need a clock (no current time is set)")
    return now


def _hhmm(env: Mapping[str, Any]) -> str:
    return _clock_now(env).strftime("%H:%M")


def _text(value: Any) -> str:
    """`str(value)` whose size is known to be bounded before it is built.

    Text is returned as it is (its size is the input's); a list is measured first,
    because a list can hold the same long text many times over (``[[s] * 99] * 99``)
    and printing it would build every copy.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)) and _weight(value) > MAX_STRING:
        raise ExpressionError(f"a list this large cannot be turned into text (limit {MAX_STRING} characters)")
    return str(value)


def _weight(value: Any, budget: int = MAX_STRING) -> int:
    """Characters and elements in a value, counting shared parts each time; stops past `budget`."""
    total, stack = 0, [value]
    while stack and total <= budget:
        v = stack.pop()
        if isinstance(v, (list, tuple)):
            total += len(v) + 2
            stack.extend(v)
        elif isinstance(v, str):
            total += len(v)
        else:
            total += 1
    return total


def _time_between(env: Mapping[str, Any], start: Any, end: Any) -> bool:
    now = _hhmm(env)
    start, end = _text(start), _text(end)
    return start <= now < end if start <= end else (now >= start or now < end)


def _to_int(env: Mapping[str, Any], value: Any) -> int:
    try:
        return int(_text(value).strip()) if not isinstance(value, (int, float)) else int(value)
    except (ValueError, OverflowError):
        raise ExpressionError(f"int(): {_shown(value)} is not a number") from None


def _to_num(env: Mapping[str, Any], value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise ExpressionError(f"number(): {_shown(value)} is not a number") from None
    if not math.isfinite(number):
        raise ExpressionError(f"number(): {_shown(value)} is not a finite number")
    return number


def _round(env: Mapping[str, Any], x: Any, n: Any = 0) -> Any:
    if isinstance(n, float) and n.is_integer():
        n = int(n)
    if not isinstance(n, int) or isinstance(n, bool):
        raise ExpressionError(f"round(): the number of digits must be a whole number, not {_shown(n)}")
    if abs(n) > MAX_ROUND_DIGITS:
        raise ExpressionError(f"round(): {n} digits is out of range (at most {MAX_ROUND_DIGITS} either way)")
    if not isinstance(x, (int, float)) or isinstance(x, bool):
        raise ExpressionError(f"round(): {_shown(x)} is not a number")
    return round(x, n)


def _case(env: Mapping[str, Any], value: Any, upper: bool) -> str:
    s = _text(value)
    if len(s) > MAX_STRING:
        raise ExpressionError(f"result is longer than {MAX_STRING} characters")
    return s.upper() if upper else s.lower()


def _shown(value: Any) -> str:
    """A value in a message, cut short (it may be a caller's long input)."""
    text = repr(value) if not isinstance(value, (list, tuple)) else f"a list of {len(value)}"
    return text if len(text) <= 40 else text[:37] + "..."


# Helpers take the environment first so time helpers can read the injected clock.
FUNCTIONS: dict[str, Callable[..., Any]] = {
    "len": lambda env, x: len(x),
    "lower": lambda env, s: _case(env, s, upper=False),
    "upper": lambda env, s: _case(env, s, upper=True),
    "str": lambda env, x: "" if x is None else _text(x),
    "int": _to_int,
    "number": _to_num,
    "abs": lambda env, x: abs(x),
    "round": _round,
    "min": lambda env, *xs: min(xs),
    "max": lambda env, *xs: max(xs),
    "startswith": lambda env, s, p: _text(s).startswith(_text(p)),
    "endswith": lambda env, s, p: _text(s).endswith(_text(p)),
    "contains": lambda env, s, p: _text(p) in _text(s),
    "is_set": lambda env, x: x is not None and x != "",
    "now": lambda env: _clock_now(env).isoformat(timespec="seconds"),
    "today": lambda env: _clock_now(env).date().isoformat(),
    "time": _hhmm,
    "hour": lambda env: _clock_now(env).hour,
    "minute": lambda env: _clock_now(env).minute,
    "weekday": lambda env: WEEKDAYS[_clock_now(env).weekday()],
    "is_weekend": lambda env: _clock_now(env).weekday() >= 5,
    "time_between": _time_between,
}
# helper -> (fewest, most) arguments, checked at parse time so a flow check finds `round()`
ARITY: dict[str, tuple[int, int]] = {
    "len": (1, 1),
    "lower": (1, 1),
    "upper": (1, 1),
    "str": (1, 1),
    "int": (1, 1),
    "number": (1, 1),
    "abs": (1, 1),
    "round": (1, 2),
    "min": (1, MAX_LIST),
    "max": (1, MAX_LIST),
    "startswith": (2, 2),
    "endswith": (2, 2),
    "contains": (2, 2),
    "is_set": (1, 1),
    "now": (0, 0),
    "today": (0, 0),
    "time": (0, 0),
    "hour": (0, 0),
    "minute": (0, 0),
    "weekday": (0, 0),
    "is_weekend": (0, 0),
    "time_between": (2, 2),
}
CONSTANTS = {"true": True, "false": False, "null": None, "True": True, "False": False, "None": None}


@dataclass(frozen=True)
class Expression:
    """A parsed expression: its source, its tree and the variable names it reads."""

    source: str
    tree: ast.expr
    names: frozenset[str]

    def evaluate(self, env: Mapping[str, Any]) -> Any:
        return _Evaluator(env).eval(self.tree)


def parse(source: str) -> Expression:
    """Parse and vet an expression; raise ExpressionError with a column on failure."""
    if not isinstance(source, str):
        raise ExpressionError("an expression must be a string")
    if len(source) > MAX_LENGTH:
        raise ExpressionError(f"expression is longer than {MAX_LENGTH} characters")
    if not source.strip():
        raise ExpressionError("empty expression")
    text = source.strip()
    try:
        tree = ast.parse(text, mode="eval").body
    except SyntaxError as err:
        col = max((err.offset or 1) - 1, 0)
        raise ExpressionError(f"does not parse: {_syntax_hint(text, err.msg)}", col) from None
    except (RecursionError, MemoryError, ValueError):
        raise ExpressionError("expression is too deeply nested") from None
    names: set[str] = set()
    _vet(tree, 0, names)
    return Expression(source, tree, frozenset(names))


def _vet(node: ast.AST, depth: int, names: set[str]) -> None:
    col = getattr(node, "col_offset", 0)
    if depth > MAX_DEPTH:
        raise ExpressionError("expression is too deeply nested", col)
    kids = list(ast.iter_child_nodes(node))
    if isinstance(node, ast.Constant):
        if not isinstance(node.value, (str, int, float, bool, type(None))):
            raise ExpressionError(f"unsupported literal {node.value!r}", col)
        if (
            isinstance(node.value, (int, float))
            and not isinstance(node.value, bool)
            and not abs(node.value) <= MAX_NUMBER
        ):
            raise ExpressionError(f"number is too large (limit {MAX_NUMBER:g})", col)
        if isinstance(node.value, str) and len(node.value) > MAX_STRING:
            raise ExpressionError("string literal is too long", col)
        return
    if isinstance(node, ast.Name):
        if node.id.startswith("_"):
            raise ExpressionError(f"names starting with '_' are not allowed: {node.id}", col)
        if node.id not in CONSTANTS:
            names.add(node.id)
        return
    if isinstance(node, ast.Call):
        func = node.func
        if node.keywords:
            raise ExpressionError("keyword arguments are not supported", col)
        if isinstance(func, ast.Name):
            if func.id not in FUNCTIONS:
                raise ExpressionError(
                    f"unknown function {func.id}(); known: " + ", ".join(sorted(FUNCTIONS)), col
                )
            _check_arity(f"{func.id}()", len(node.args), *ARITY[func.id], col)
        elif isinstance(func, ast.Attribute):
            if func.attr not in _STR_METHODS:
                raise ExpressionError(
                    f"unknown method .{func.attr}(); string methods: " + ", ".join(sorted(_STR_METHODS)), col
                )
            n = _STR_METHODS[func.attr]
            _check_arity(f".{func.attr}()", len(node.args), n, n, col)
            _vet(func.value, depth + 1, names)
        else:
            raise ExpressionError("only named functions can be called", col)
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise ExpressionError("*args are not supported", col)
            _vet(arg, depth + 1, names)
        return
    allowed = (
        ast.BoolOp,
        ast.And,
        ast.Or,
        ast.UnaryOp,
        ast.Not,
        ast.USub,
        ast.UAdd,
        ast.BinOp,
        ast.Compare,
        ast.IfExp,
        ast.List,
        ast.Tuple,
        ast.Load,
    )
    if isinstance(node, ast.BinOp) and type(node.op) not in _BINOPS:
        raise ExpressionError(f"{_OPERATOR_WORDS.get(type(node.op), 'this operator')} is not supported", col)
    if isinstance(node, ast.Compare):
        for op in node.ops:
            if type(op) not in _CMPOPS:
                raise ExpressionError(
                    _COMPARISON_WORDS.get(type(op), "this comparison is not supported"), col
                )
    if isinstance(node, ast.Attribute):
        raise ExpressionError(
            "attribute access is not allowed (only string methods such as x.startswith('+44') can be called)",
            col,
        )
    if not isinstance(node, allowed) and not isinstance(node, (ast.cmpop, ast.operator)):
        raise ExpressionError(
            f"{_NODE_WORDS.get(type(node), 'this construct')} is not allowed in expressions", col
        )
    for kid in kids:
        _vet(kid, depth + 1, names)


# What a flow designer wrote, in their words: Python's names for syntax ("Subscript",
# "Pow", "Is") mean nothing to someone writing a call flow (issue 16 item 8).
_NODE_WORDS: dict[type, str] = {
    ast.Subscript: "indexing or slicing (x[0], x[1:3])",
    ast.Slice: "slicing (x[1:3])",
    ast.Dict: "a dictionary ({...})",
    ast.Set: "a set ({...})",
    ast.ListComp: "a list comprehension ([... for ...])",
    ast.SetComp: "a set comprehension",
    ast.DictComp: "a dictionary comprehension",
    ast.GeneratorExp: "a generator (... for ...)",
    ast.Lambda: "lambda",
    ast.NamedExpr: "assignment with :=",
    ast.JoinedStr: "an f-string (use + and str())",
    ast.FormattedValue: "an f-string (use + and str())",
    ast.Starred: "unpacking with *",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.Invert: "the ~ operator",
}
_OPERATOR_WORDS: dict[type, str] = {
    ast.Pow: "the power operator ** (multiply instead)",
    ast.MatMult: "the @ operator",
    ast.LShift: "the << operator",
    ast.RShift: "the >> operator",
    ast.BitOr: "the | operator (use or)",
    ast.BitAnd: "the & operator (use and)",
    ast.BitXor: "the ^ operator",
}
_COMPARISON_WORDS: dict[type, str] = {
    ast.Is: "'is' is not supported: compare with == (e.g. x == null)",
    ast.IsNot: "'is not' is not supported: compare with != (e.g. x != null)",
}
# Habits from other languages, spotted in the text before Python's message is shown.
_SYNTAX_HINTS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"&&"), "use 'and' instead of &&"),
    (re.compile(r"\|\|"), "use 'or' instead of ||"),
    (re.compile(r"==="), "use == instead of ==="),
    (re.compile(r"!(?!=)"), "use 'not' instead of !"),
    (re.compile(r"(?<![=!<>])=(?!=)"), "use == to compare (a single = assigns)"),
)


def _syntax_hint(text: str, python_message: str) -> str:
    """Python's syntax message, or the designer's likely slip when one is recognisable."""
    outside_quotes = re.sub(r"'[^']*'|\"[^\"]*\"", "''", text)
    for pattern, hint in _SYNTAX_HINTS:
        if pattern.search(outside_quotes):
            return hint
    return python_message.replace(". Perhaps you forgot a comma?", " (a missing comma or operator?)")


def _check_arity(name: str, given: int, least: int, most: int, col: int) -> None:
    if least <= given <= most:
        return
    want = f"{least}" if least == most else f"{least} to {most}" if most < MAX_LIST else f"at least {least}"
    noun = "argument" if want in ("1", "at least 1") else "arguments"
    raise ExpressionError(f"{name} takes {want} {noun}, not {given}", col)


class _Evaluator:
    def __init__(self, env: Mapping[str, Any]) -> None:
        self.env = env

    def eval(self, node: ast.expr) -> Any:
        try:
            return self._eval(node)
        except ExpressionError:
            raise
        except ZeroDivisionError:
            raise ExpressionError("division by zero") from None
        except (TypeError, ValueError, OverflowError, IndexError) as err:
            raise ExpressionError(f"cannot evaluate: {err}") from None
        except (RecursionError, MemoryError):
            raise ExpressionError("expression is too costly to evaluate") from None

    def _eval(self, node: ast.expr) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            if node.id in CONSTANTS:
                return CONSTANTS[node.id]
            if node.id not in self.env:
                raise ExpressionError(f"unknown variable '{node.id}'")
            return self.env[node.id]
        if isinstance(node, ast.BoolOp):
            if isinstance(node.op, ast.And):
                result: Any = True
                for v in node.values:
                    result = self._eval(v)
                    if not result:
                        return result
                return result
            result = False
            for v in node.values:
                result = self._eval(v)
                if result:
                    return result
            return result
        if isinstance(node, ast.UnaryOp):
            value = self._eval(node.operand)
            if isinstance(node.op, ast.Not):
                return not value
            if isinstance(node.op, ast.USub):
                return _limit(-value)
            return _limit(+value)
        if isinstance(node, ast.BinOp):
            left, right = self._eval(node.left), self._eval(node.right)
            _check_size(node.op, left, right)
            return _limit(_BINOPS[type(node.op)](left, right))
        if isinstance(node, ast.Compare):
            left = self._eval(node.left)
            for op, comp in zip(node.ops, node.comparators, strict=True):
                right = self._eval(comp)
                if not _CMPOPS[type(op)](left, right):
                    return False
                left = right
            return True
        if isinstance(node, ast.IfExp):
            return self._eval(node.body) if self._eval(node.test) else self._eval(node.orelse)
        if isinstance(node, (ast.List, ast.Tuple)):
            return [self._eval(e) for e in node.elts]
        if isinstance(node, ast.Call):
            args = [self._eval(a) for a in node.args]
            if isinstance(node.func, ast.Name):
                return _limit(FUNCTIONS[node.func.id](self.env, *args))
            assert isinstance(node.func, ast.Attribute)
            target = self._eval(node.func.value)
            if not isinstance(target, str):
                target = "" if target is None else _text(target)
            return _limit(_string_method(target, node.func.attr, args))
        raise ExpressionError(f"{type(node).__name__} is not allowed")  # pragma: no cover


def _string_method(s: str, name: str, args: list[Any]) -> Any:
    if name == "contains":
        return _text(args[0]) in s
    if name in ("lower", "upper"):
        if len(s) > MAX_STRING:
            raise ExpressionError(f"result is longer than {MAX_STRING} characters")
        return getattr(s, name)()
    if name in ("strip", "isdigit"):
        return getattr(s, name)()
    if name == "replace":
        old, new = _text(args[0]), _text(args[1])
        # the result's length is known before it is built: refuse it if it is too long
        count = s.count(old) if old else len(s) + 1
        if len(s) + count * (len(new) - len(old)) > MAX_STRING:
            raise ExpressionError(f"result would be longer than {MAX_STRING} characters")
        return s.replace(old, new)
    return getattr(s, name)(_text(args[0]))  # startswith / endswith


def _check_size(op: ast.operator, left: Any, right: Any) -> None:
    """Refuse an operation whose result would be too large, before it is computed."""
    if isinstance(op, ast.Mult):
        seq, n = (left, right) if isinstance(left, (str, list)) else (right, left)
        if isinstance(seq, (str, list)) and isinstance(n, int):
            size = len(seq) if isinstance(seq, str) else _weight(seq)
            if size * n > MAX_STRING:
                raise ExpressionError(f"result would be longer than {MAX_STRING} characters")
    if isinstance(op, ast.Mod) and isinstance(left, str):
        raise ExpressionError("% formatting of text is not supported (use + and str())")
    if isinstance(left, (int, float)) and isinstance(right, (int, float)):
        if not max(abs(left), abs(right)) <= MAX_NUMBER:
            raise ExpressionError(f"number is too large (limit {MAX_NUMBER:g})")


def _limit(value: Any) -> Any:
    """Refuse a result that is too long or not a finite number."""
    if isinstance(value, str) and len(value) > MAX_STRING:
        raise ExpressionError(f"result is longer than {MAX_STRING} characters")
    if isinstance(value, list) and _weight(value) > MAX_STRING:
        raise ExpressionError(f"result is longer than {MAX_STRING} characters")
    if isinstance(value, float) and not math.isfinite(value):
        raise ExpressionError("result is not a finite number (too large, or undefined)")
    return value
