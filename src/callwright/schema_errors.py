"""JSON Schema errors as located messages a file's author can act on.

jsonschema reports "'promt' was unexpected" against an abstract path; authors of
flows and scorecards need the line, the thing they were editing ("state 'menu'",
"item 'greeting'"), and a "did you mean" for typos. The wording of the place and a
few hints differ per file format, so a format subclasses `SchemaExplainer` and
overrides the hooks; the translation of each validator stays in one place.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from typing import Any

from jsonschema.exceptions import ValidationError, best_match

from callwright.flows.source import PathKey, Problem, Source

_TYPE_NAMES = {"string": "text", "object": "a mapping", "array": "a list", "integer": "a whole number",
               "number": "a number", "boolean": "true or false", "null": "null"}
_BOUNDS = {"minimum": "at least", "exclusiveMinimum": "more than", "maximum": "at most",
           "exclusiveMaximum": "less than"}


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
                return [src.problem(path, "error", f"{self.where(path)}{f' ({kind})' if kind else ''}: "
                                    f"give at least one of {', '.join(dict.fromkeys(keys))}", key=True)]
            return self.explain(src, best_match(err.context), prefix)
        if v == "additionalProperties":
            props = err.schema.get("properties") or {}
            allowed = sorted(k for k in props if k != self.kind_key)
            allowed += [self.kind_key] if self.kind_key in props else []
            out = []
            for key in (k for k in err.instance if k not in props):
                guess = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
                hint = (f"; did you mean '{guess[0]}'?" if guess
                        else f"; expected one of: {', '.join(allowed)}")
                out.append(src.problem(path + (key,), "error",
                                       f"{self.where(path)}: unknown key '{key}'{hint}", key=True))
            return out
        if v == "required":
            missing = re.findall(r"'([^']+)' is a required property", err.message)
            name = missing[0] if missing else err.message
            kind = self.kind_of(path, err.instance)
            what = f" ({kind})" if kind else ""
            return [src.problem(path, "error", f"{self.where(path)}{what}: missing required key '{name}'",
                                key=True)]
        if v == "enum":
            options = [str(o) for o in err.validator_value]
            guess = difflib.get_close_matches(str(err.instance), options, n=1, cutoff=0.5)
            hint = f"; did you mean '{guess[0]}'?" if guess else ""
            return [src.problem(path, "error", f"{self.where(path)}: {err.instance!r} is not one of "
                                               f"{', '.join(options)}{hint}")]
        if v == "type":
            want = err.validator_value if isinstance(err.validator_value, list) else [err.validator_value]
            return [src.problem(path, "error", f"{self.where(path)}: expected "
                                + " or ".join(_TYPE_NAMES.get(w, w) for w in want)
                                + f", got {describe(err.instance)}")]
        if v == "pattern":
            hint = self.pattern_hint(path, err)
            msg = f"{self.where(path)}: {err.instance!r} is not valid" + (f" ({hint})" if hint else "")
            return [src.problem(path, "error", msg)]
        if v in _BOUNDS:
            return [src.problem(path, "error", f"{self.where(path)}: {err.instance!r} must be "
                                               f"{_BOUNDS[v]} {err.validator_value:g}")]
        if v == "propertyNames":
            key = err.instance
            return [src.problem(path + (key,), "error", f"{self.where(path)}: name {key!r} is not valid; "
                                "use letters, digits, '-' and '_', starting with a letter", key=True)]
        return [src.problem(path, "error", f"{self.where(path)}: {_short(err)}")]


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
