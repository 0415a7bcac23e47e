"""JSON Schema errors as located messages a file's author can act on.

jsonschema reports "'promt' was unexpected" against an abstract path; authors of
flows and scorecards need the line, the thing they were editing ("state 'menu'",
"item 'greeting'"), and a "did you mean" for typos. The wording of the place and a
few hints differ per file format, so a format subclasses `SchemaExplainer` and
overrides the hooks; the translation of each validator stays in one place.

`strict_validator` validates as JSON Schema means, where Python's defaults differ:
a `pattern`'s `$` is the end of the text (Python's `$` also matches before a final
newline, so the name "s\n" passed and broke the Mermaid diagram), and, unless a
format opts out, a "number" is finite (NaN passes every `minimum`/`maximum`).
"""

from __future__ import annotations

import difflib
import functools
import math
import re
from collections.abc import Iterable, Iterator
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError, best_match

from callwright.common.source import PathKey, Problem, Source

_TYPE_NAMES = {
    "string": "text",
    "object": "a mapping",
    "array": "a list",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}
_BOUNDS = {
    "minimum": "at least",
    "exclusiveMinimum": "more than",
    "maximum": "at most",
    "exclusiveMaximum": "less than",
}


def ecma_pattern(pattern: str) -> str:
    """A JSON Schema (ECMA-262) pattern in Python's syntax: `$` becomes `\\Z`.

    Only an unescaped `$` outside a character class is an anchor; escapes and
    classes are copied as they are.
    """
    out: list[str] = []
    i, in_class = 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
            if pattern[i + 1 : i + 2] == "]":  # "[]...]": a leading ] is a member
                out.append("[]")
                i += 2
                continue
        elif c == "$":
            c = r"\Z"
        out.append(c)
        i += 1
    return "".join(out)


@functools.lru_cache(maxsize=512)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(ecma_pattern(pattern))


def _pattern(
    validator: Any, pattern: str, instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not _compiled(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _is_finite_number(checker: Any, instance: Any) -> bool:
    if isinstance(instance, bool) or not isinstance(instance, (int, float)):
        return False
    return not isinstance(instance, float) or math.isfinite(instance)


_BASE = jsonschema.Draft202012Validator
_ECMA = jsonschema.validators.extend(_BASE, {"pattern": _pattern})
_ECMA_FINITE = jsonschema.validators.extend(
    _BASE, {"pattern": _pattern}, type_checker=_BASE.TYPE_CHECKER.redefine("number", _is_finite_number)
)


def strict_validator(schema: dict[str, Any], *, finite_numbers: bool = True) -> Any:
    """A Draft 2020-12 validator with JSON Schema's `$` and (by default) finite numbers only."""
    cls = _ECMA_FINITE if finite_numbers else _ECMA
    return cls(schema)


class SchemaExplainer:
    """Turns validation errors into `Problem`s at the line of the offending value."""

    #: the key that names a node's kind (a state's `type`, an item's `kind`); listed last in hints
    kind_key = "type"

    def where(self, path: PathKey) -> str:
        """How to name the place of a path for the author ("top level", "settings.timeouts")."""
        return ".".join(str(x) for x in path) or "top level"

    def kind_of(self, path: PathKey, instance: Any) -> str | None:
        """The kind to mention with a missing key, e.g. "(ask)"; None to mention nothing."""
        return None

    def pattern_hint(self, path: PathKey, err: ValidationError) -> str | None:
        """What a value failing a pattern should look like."""
        return err.schema.get("description")

    def pattern_message(self, path: PathKey, err: ValidationError) -> str | None:
        """A whole message for a value failing a pattern (what exactly is wrong); None for the usual."""
        return None

    def problems(self, src: Source, found: Iterable[tuple[PathKey, ValidationError]]) -> list[Problem]:
        """Explain errors (each under a path prefix), in file order, without repeats."""
        out: list[Problem] = []
        seen: set[tuple[int, int, str]] = set()
        for prefix, err in sorted(found, key=lambda pe: list(map(str, pe[0] + tuple(pe[1].path)))):
            for p in self.explain(src, err, prefix):
                k = (p.line, p.col, p.message)
                if k not in seen:
                    seen.add(k)
                    out.append(p)
        return out

    def explain(self, src: Source, err: ValidationError, prefix: PathKey = ()) -> list[Problem]:
        path: PathKey = prefix + tuple(err.absolute_path)
        v = err.validator
        if v in ("oneOf", "anyOf") and err.context:
            if all(e.validator == "required" and not e.path for e in err.context):
                keys = [f"'{k}'" for e in err.context for k in e.validator_value]
                kind = self.kind_of(path, err.instance)
                return [
                    src.problem(
                        path,
                        "error",
                        f"{self.where(path)}{f' ({kind})' if kind else ''}: "
                        f"give at least one of {', '.join(dict.fromkeys(keys))}",
                        key=True,
                    )
                ]
            # Alternatives of another type are not what the author meant ("25:00-29:99" is text,
            # so "expected a list" would mislead): explain the alternative of the value's type.
            wrong_type = [e for e in err.context if e.validator == "type" and not e.relative_path]
            if len(wrong_type) == len(err.context):
                want = [
                    w
                    for e in wrong_type
                    for w in (
                        e.validator_value if isinstance(e.validator_value, list) else [e.validator_value]
                    )
                ]
                names = dict.fromkeys(_TYPE_NAMES.get(w, w) for w in want)
                if isinstance(err.instance, float) and not math.isfinite(err.instance):
                    return [
                        src.problem(
                            path, "error", f"{self.where(path)}: {err.instance} is not a finite number"
                        )
                    ]
                return [
                    src.problem(
                        path,
                        "error",
                        f"{self.where(path)}: expected "
                        + " or ".join(names)
                        + f", got {describe(err.instance)}",
                    )
                ]
            relevant = [e for e in err.context if e not in wrong_type]
            return self.explain(src, best_match(relevant), prefix)
        if v == "additionalProperties":
            props = err.schema.get("properties") or {}
            allowed = sorted(k for k in props if k != self.kind_key)
            allowed += [self.kind_key] if self.kind_key in props else []
            out = []
            for key in (k for k in err.instance if k not in props):
                guess = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
                hint: str | None = (
                    f"; did you mean '{guess[0]}'?" if guess else f"; expected one of: {', '.join(allowed)}"
                )
                out.append(
                    src.problem(
                        path + (key,), "error", f"{self.where(path)}: unknown key '{key}'{hint}", key=True
                    )
                )
            return out
        if v == "required":
            missing = re.findall(r"'([^']+)' is a required property", err.message)
            name = missing[0] if missing else err.message
            kind = self.kind_of(path, err.instance)
            what = f" ({kind})" if kind else ""
            return [
                src.problem(
                    path, "error", f"{self.where(path)}{what}: missing required key '{name}'", key=True
                )
            ]
        if v == "enum":
            options = [str(o) for o in err.validator_value]
            guess = difflib.get_close_matches(str(err.instance), options, n=1, cutoff=0.5)
            hint = f"; did you mean '{guess[0]}'?" if guess else ""
            return [
                src.problem(
                    path,
                    "error",
                    f"{self.where(path)}: {err.instance!r} is not one of {', '.join(options)}{hint}",
                )
            ]
        if v == "type" and isinstance(err.instance, float) and not math.isfinite(err.instance):
            return [src.problem(path, "error", f"{self.where(path)}: {err.instance} is not a finite number")]
        if v == "type":
            want = err.validator_value if isinstance(err.validator_value, list) else [err.validator_value]
            return [
                src.problem(
                    path,
                    "error",
                    f"{self.where(path)}: expected "
                    + " or ".join(_TYPE_NAMES.get(w, w) for w in want)
                    + f", got {describe(err.instance)}",
                )
            ]
        if v == "pattern" and isinstance(_node(src.data, path), dict):
            # a `propertyNames` pattern: the value is a key of the mapping at `path`
            hint = self.pattern_hint(path, err)
            return [
                src.problem(
                    path + (err.instance,),
                    "error",
                    f"{self.where(path)}: name "
                    f"{err.instance!r} is not valid" + (f" ({hint})" if hint else ""),
                    key=True,
                )
            ]
        if v == "pattern" and (custom := self.pattern_message(path, err)):
            return [src.problem(path, "error", f"{self.where(path)}: {custom}")]
        if v == "pattern":
            hint = self.pattern_hint(path, err)
            msg = f"{self.where(path)}: {err.instance!r} is not valid" + (f" ({hint})" if hint else "")
            return [src.problem(path, "error", msg)]
        if v in _BOUNDS:
            return [
                src.problem(
                    path,
                    "error",
                    f"{self.where(path)}: {err.instance!r} must be {_BOUNDS[v]} {err.validator_value:g}",
                )
            ]
        if v == "propertyNames":
            key = err.instance
            return [
                src.problem(
                    path + (key,),
                    "error",
                    f"{self.where(path)}: name {key!r} is not valid; "
                    "use letters, digits, '-' and '_', starting with a letter",
                    key=True,
                )
            ]
        return [src.problem(path, "error", f"{self.where(path)}: {_short(err)}")]


def _node(data: Any, path: PathKey) -> Any:
    for key in path:
        try:
            data = data[key]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _short(err: ValidationError) -> str:
    msg = err.message
    return msg if len(msg) < 160 else msg[:157] + "..."


def describe(value: Any) -> str:
    """A value as an author would name it in a message ("a list", "str 'abc'")."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return "null"
    return f"{type(value).__name__} {value!r}"[:80]
