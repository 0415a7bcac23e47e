"""Load a scorecard: YAML with positions -> JSON Schema -> checks -> `Scorecard`.

Every mistake is reported at its line (`path:line:col: error: ...`): schema
problems with "did you mean", order steps naming items that do not exist,
conditions that do not parse or read unknown variables, and weights or points
that cannot be meant (a section that can never count, min above max). Schema
problems come with the wording problems of every readable item (placeholders,
cues, `values:`), which need no valid structure; the structural checks run once
the schema is satisfied.
"""

from __future__ import annotations

import collections
import difflib
import functools
import hashlib
import json
import math
import re
from importlib import resources
from pathlib import Path
from typing import Any

from jsonschema.exceptions import ValidationError

from callwright.common import expr
from callwright.common.source import PathKey, Problem, Source, SourceError
from callwright.common.source import load as load_source
from callwright.common.source import parse as parse_source
from callwright.errors import DataError
from callwright.nlp.conduct import CLASSIFIERS
from callwright.qa.scorecard import placeholders
from callwright.qa.scorecard.assignment import ASSIGN_VARIABLES
from callwright.qa.scorecard.conditions import VARIABLES
from callwright.qa.scorecard.matching import (
    MAX_CUE_FORMS,
    cue_form_count,
    cue_forms,
    is_question_cue,
    normalise,
)
from callwright.qa.scorecard.model import (
    DEFAULT_CLASSIFIER_THRESHOLD,
    DEFAULT_SENTIMENT_CHANGE,
    DEFAULT_SENTIMENT_MIN,
    DEFAULT_THRESHOLD,
    MAX_CUE_WORDS,
    Item,
    ManualRule,
    MetricRule,
    OrderRule,
    PhraseRule,
    Rule,
    Scorecard,
    Section,
    SentimentRule,
)
from callwright.qa.scorecard.placeholders import META_PLACEHOLDERS
from callwright.schema_errors import SchemaExplainer, strict_validator

HASH_CHARS = 16
_ANY_VALUE: dict[str, str | None] = collections.defaultdict(lambda: "x")  # a placeholder is one word
_CUE_GROUPS = re.compile(r"\(([^()]*)\)")  # a cue's alternatives, "(a|b)"


@functools.cache
def schema() -> dict[str, Any]:
    """The scorecard JSON Schema shipped with the package (sample scorecards reference it)."""
    text = resources.files("callwright.qa.scorecard").joinpath("scorecard.schema.json").read_text("utf-8")
    return json.loads(text)


@functools.cache
def _validator() -> Any:
    # JSON Schema's `$` (an id "s\n" is refused); numeric ranges are checked by the builder
    return strict_validator(schema(), finite_numbers=False)


class _ScorecardExplainer(SchemaExplainer):
    """Scorecard wording: places are sections and items, named by their ids."""

    kind_key = "kind"

    def __init__(self, data: Any) -> None:
        self.data = data

    def where(self, path: PathKey) -> str:
        if len(path) >= 2 and path[0] == "sections" and isinstance(path[1], int):
            section = self._node(path[:2])
            name = f"section '{_ident(section, path[1])}'"
            if len(path) >= 4 and path[2] == "items" and isinstance(path[3], int):
                name = f"item '{_ident(self._node(path[:4]), path[3])}'"
                rest = path[4:]
            else:
                rest = path[2:]
            tail = ".".join(str(x) for x in rest)
            return name + (f", {tail}" if tail else "")
        return super().where(path)

    def kind_of(self, path: PathKey, instance: Any) -> str | None:
        kind = instance.get("kind") if isinstance(instance, dict) else None
        return kind if isinstance(kind, str) and len(path) == 4 else None

    def _node(self, path: PathKey) -> Any:
        node = self.data
        for key in path:
            try:
                node = node[key]
            except (KeyError, IndexError, TypeError):
                return None
        return node


def _ident(node: Any, index: int) -> str:
    value = node.get("id") if isinstance(node, dict) else None
    # an id that is not one printable line (the schema refuses it) is named by its position
    return value if isinstance(value, str) and value.isprintable() else f"#{index + 1}"


def schema_problems(src: Source) -> list[Problem]:
    found: list[tuple[PathKey, ValidationError]] = [((), e) for e in _validator().iter_errors(src.data)]
    return non_finite_problems(src) + _ScorecardExplainer(src.data).problems(src, found)


def non_finite_problems(src: Source) -> list[Problem]:
    """Every `.nan` or `.inf` in the file, at its line.

    JSON Schema's range checks cannot see NaN (every comparison with it is false), so a NaN
    weight, points, threshold, minimum or duration would pass them and turn scores into NaN,
    which is not even JSON. Walked without recursion, so nesting cannot overflow the stack.
    """
    explain = _ScorecardExplainer(src.data)
    problems = []
    stack: list[tuple[PathKey, Any]] = [((), src.data)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, float) and not math.isfinite(node):
            problems.append(
                src.problem(path, "error", f"{explain.where(path)}: must be a finite number, not {node}")
            )
        elif isinstance(node, dict):
            stack.extend(((*path, k), v) for k, v in reversed(list(node.items())))
        elif isinstance(node, list):
            stack.extend(((*path, i), v) for i, v in reversed(list(enumerate(node))))
    return problems


def content_hash(data: Any) -> str:
    """Hash of the scorecard's content, not its text: comments and layout do not rescore calls."""
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:HASH_CHARS]


def load_scorecard(path: str | Path) -> Scorecard:
    """Load a scorecard for scoring; raise DataError listing every located error."""
    try:
        src = load_source(path)
    except SourceError as err:
        raise _error(str(path), err.problems) from None
    return from_source(src)


def loads_scorecard(text: str, name: str = "<string>") -> Scorecard:
    try:
        src = parse_source(text, name)
    except SourceError as err:
        raise _error(name, err.problems) from None
    return from_source(src)


def from_source(src: Source) -> Scorecard:
    if not isinstance(src.data, dict):
        kind = "empty" if src.data is None else type(src.data).__name__
        raise _error(
            src.path,
            [
                src.problem(
                    (),
                    "error",
                    f"a scorecard must be a mapping with scorecard and sections; this one is {kind}",
                )
            ],
        )
    problems = schema_problems(src)
    if problems:
        raise _error(src.path, _together(problems, _text_problems(src)))
    builder = _Builder(src)
    card = builder.build()
    if builder.problems:
        raise _error(src.path, builder.problems)
    return card


def _text_problems(src: Source) -> list[Problem]:
    """The placeholder, cue and `values:` errors of a file whose schema has errors too, on every
    item that parsed far enough to read: they are found in the wording, not the structure, so a
    bad threshold elsewhere need not hide them (each fix would otherwise reveal the next error)."""
    checks = _TextChecks(src)
    checks.check_values()
    checks.check_placeholders(_readable_items(src.data))
    return checks.problems


def _readable_items(data: dict[str, Any]) -> list[tuple[PathKey, dict[str, Any]]]:
    """(path, item) of each item that is a mapping in a section that is one, whatever else is wrong."""
    sections = data.get("sections")
    out: list[tuple[PathKey, dict[str, Any]]] = []
    for i, s in enumerate(sections if isinstance(sections, list) else []):
        items = s.get("items") if isinstance(s, dict) else None
        for j, it in enumerate(items if isinstance(items, list) else []):
            if isinstance(it, dict):
                out.append((("sections", i, "items", j), it))
    return out


def _together(first: list[Problem], more: list[Problem]) -> list[Problem]:
    """Both lists as one, by line and column (a problem both found, once)."""
    if not more:
        return first
    return sorted(dict.fromkeys([*first, *more]), key=lambda p: (p.line, p.col))


def _error(path: str, problems: list[Problem]) -> DataError:
    lines = "\n".join(str(p) for p in problems)
    return DataError(
        f"{path}: the scorecard has errors:\n{lines}", hint="see docs/scorecards.md for the format"
    )


class _TextChecks:
    """Errors in the wording of phrases, cues and `values:` (placeholders, cue forms), which
    need no valid structure around them: run by `_Builder`, and on their own beside schema errors."""

    def __init__(self, src: Source) -> None:
        self.src = src
        self.problems: list[Problem] = []

    def error(self, path: PathKey, message: str, *, key: bool = False, col_offset: int = 0) -> None:
        p = self.src.problem(path, "error", message, key=key)
        if col_offset:
            p = Problem(p.path, p.line, p.col + col_offset, p.severity, p.message)
        self.problems.append(p)

    def check_values(self) -> None:
        """A `values:` constant may not be named as call metadata (`agent: Bob`): the call's
        metadata fills `{agent}` on every call, so the constant would be silently ignored; and as
        a default it would make every agent without metadata have to say "Bob"."""
        values = self.src.data.get("values")
        for name in values if isinstance(values, dict) else {}:
            if name in META_PLACEHOLDERS:
                self.error(
                    ("values", name),
                    f"values: '{name}' names call metadata: {{{name}}} is filled from each call's own, "
                    "so this constant would never be used; give it in the calls' metadata, or give the "
                    "constant another name",
                    key=True,
                )

    def check_placeholders(self, items: list[tuple[PathKey, dict[str, Any]]]) -> None:
        """Every `{name}` in a phrase must be call metadata or a `values:` constant (at its column),
        and every cue must be one the matcher can listen for."""
        values = self.src.data.get("values")
        known = set(META_PLACEHOLDERS) | set(values if isinstance(values, dict) else {})
        for base, it in items:
            item_id = _ident(it, int(base[-1]))
            lists: list[tuple[tuple[str, ...], Any]] = [((), it)]
            lists += [((step,), it[step]) for step in ("first", "then") if isinstance(it.get(step), dict)]
            for sub, holder in lists:
                for key in ("phrases", "not_phrases", "cues", "not_cues"):
                    for k, text in _texts(holder.get(key)):
                        self._check_phrase(base + sub + (key, k), item_id, text, known)
                for k, text in _texts(holder.get("cues")):
                    self._check_cue(base + sub + ("cues", k), item_id, text)
                for k, text in _texts(holder.get("not_cues")):
                    self._check_cue(base + sub + ("not_cues", k), item_id, text, "not_cue")
                if holder.get("not_cues") and not holder.get("cues"):
                    self.error(
                        base + sub + ("not_cues",),
                        f"item '{item_id}': not_cues say where a cue does not count; the item has no cues",
                    )

    def _check_cue(self, path: PathKey, item_id: str, text: str, what: str = "cue") -> None:
        """A cue counts when its words are said verbatim: it must have words, and few of them,
        in every form its alternatives give ("(other|another) question"); so must a not_cue,
        which has no question form."""
        filled = placeholders.fill(text, _ANY_VALUE) or text
        if what == "not_cue" and is_question_cue(filled):
            self.error(
                path,
                f"item '{item_id}': not_cue '{text}': a final '?' means nothing here (a not_cue vetoes "
                "a cue wherever its words are said over the cue's)",
            )
            return
        bare = _CUE_GROUPS.sub("", filled)
        if any(c in bare for c in "()|"):
            self.error(
                path,
                f"item '{item_id}': {what} '{text}': alternatives are written '(a|b|c)', one level of "
                "brackets, and '|' only inside them",
            )
            return
        count = cue_form_count(filled)
        if count > MAX_CUE_FORMS:
            self.error(
                path,
                f"item '{item_id}': {what} '{text}' stands for {count} wordings; at most {MAX_CUE_FORMS} "
                "(split it into several cues)",
            )
            return
        forms = cue_forms(filled)
        if not any(normalise(f) for f in forms):
            self.error(
                path, f"item '{item_id}': {what} '{text}' has no words (letters or digits) to listen for"
            )
            return
        for form in forms:
            words = normalise(form)
            if len(words) > MAX_CUE_WORDS:
                said = (
                    f"'{text}'" if form == filled.rstrip().rstrip("?").strip() else f"'{text}' (as '{form}')"
                )
                self.error(
                    path,
                    f"item '{item_id}': {what} {said} has {len(words)} words; a {what} is a word or a short "
                    f"phrase of at most {MAX_CUE_WORDS} words (put longer wording under phrases:)",
                )
                return

    def _check_phrase(self, path: PathKey, item_id: str, text: str, known: set[str]) -> None:
        stray = placeholders.stray_brace(text)
        if stray is not None:
            self.error(
                path,
                f"item '{item_id}': unmatched '{text[stray]}' in phrase; write {{{{ or }}}} for a brace",
                col_offset=self._expr_offset(path, stray),
            )
        for name, at in placeholders.names(text):
            if name in known:
                continue
            guess = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
            hint = (
                f"; did you mean '{{{guess[0]}}}'?"
                if guess
                else f"; known: {', '.join('{' + k + '}' for k in sorted(known))}"
            )
            self.error(
                path,
                f"item '{item_id}': unknown placeholder '{{{name}}}'{hint} "
                "(call metadata, or a constant under values:)",
                col_offset=self._expr_offset(path, at),
            )

    def _expr_offset(self, path: PathKey, offset: int) -> int:
        """Columns from the value's position to `offset` in the expression (past an opening quote)."""
        pos = self.src.pos(path)
        lines = self.src.text.splitlines()
        if offset < 0 or not 0 < pos.line <= len(lines):
            return 0
        line = lines[pos.line - 1]
        quoted = line[pos.col - 1 : pos.col] in ("'", '"')
        return offset + int(quoted)


def _texts(value: Any) -> list[tuple[int, str]]:
    """(index, text) of the strings in a list of phrases or cues (anything else in it is the schema's)."""
    return [(k, t) for k, t in enumerate(value) if isinstance(t, str)] if isinstance(value, list) else []


class _Builder(_TextChecks):
    """Typed items from validated data, collecting the errors the schema cannot see."""

    def __init__(self, src: Source) -> None:
        super().__init__(src)
        defaults = src.data.get("defaults") or {}
        self.threshold = float(defaults.get("threshold", DEFAULT_THRESHOLD))
        self.speaker = defaults.get("speaker", "agent")
        self.sentiment_min = float(defaults.get("sentiment_min", DEFAULT_SENTIMENT_MIN))
        self.sentiment_change = float(defaults.get("sentiment_change", DEFAULT_SENTIMENT_CHANGE))

    def build(self) -> Scorecard:
        d = self.src.data
        raw_sections = d["sections"]
        self._check_ids(raw_sections)
        phrase_rules = {
            it["id"]: self._phrase(it) for s in raw_sections for it in s["items"] if it["kind"] == "phrase"
        }
        sections = tuple(self._section(i, s, phrase_rules) for i, s in enumerate(raw_sections))
        self._check_weights(sections)
        self.check_values()
        self.check_placeholders(
            [
                (("sections", i, "items", j), it)
                for i, s in enumerate(raw_sections)
                for j, it in enumerate(s["items"])
            ]
        )
        version = d.get("version")
        attributes = self._attributes(d.get("attributes") or {})
        return Scorecard(
            id=d["scorecard"],
            name=d.get("name") or d["scorecard"],
            path=self.src.path,
            version=content_hash(d),
            revision=None if version is None else str(version),
            applies_to=d.get("applies_to", "any"),
            sections=sections,
            description=d.get("description", ""),
            values=tuple(sorted((str(k), str(v)) for k, v in (d.get("values") or {}).items())),
            assign_if=self._condition(
                ("assign_if",), d.get("assign_if"), {**ASSIGN_VARIABLES, **attributes}, "assign_if"
            ),
            attributes=tuple(sorted(attributes.items())),
        )

    def _check_ids(self, raw_sections: list[dict[str, Any]]) -> None:
        seen_sections: dict[str, int] = {}
        seen_items: dict[str, PathKey] = {}
        for i, s in enumerate(raw_sections):
            if s["id"] in seen_sections:
                self.error(
                    ("sections", i, "id"),
                    f"duplicate section id '{s['id']}' (section #{seen_sections[s['id']] + 1} has it)",
                )
            seen_sections.setdefault(s["id"], i)
            for j, it in enumerate(s["items"]):
                path: PathKey = ("sections", i, "items", j, "id")
                if it["id"] in seen_items:
                    first = self.src.pos(seen_items[it["id"]])
                    self.error(
                        path,
                        f"duplicate item id '{it['id']}' (first used on line {first.line}); "
                        "item ids must be unique across the scorecard",
                    )
                seen_items.setdefault(it["id"], path)

    def _section(self, index: int, raw: dict[str, Any], phrase_rules: dict[str, PhraseRule]) -> Section:
        items = tuple(
            self._item(raw["id"], ("sections", index, "items", j), it, phrase_rules)
            for j, it in enumerate(raw["items"])
        )
        weight = raw.get("weight")
        return Section(
            id=raw["id"],
            name=raw.get("name") or raw["id"],
            weight=None if weight is None else float(weight),
            items=items,
        )

    def _item(
        self, section: str, path: PathKey, raw: dict[str, Any], phrase_rules: dict[str, PhraseRule]
    ) -> Item:
        kind = raw["kind"]
        points = float(raw.get("points", 1))
        auto_fail = bool(raw.get("auto_fail", False))
        if points == 0 and not auto_fail:
            self.error(
                path + ("points",),
                f"item '{raw['id']}': points 0 means the item can never count; "
                "give it points, or make it an auto_fail gate",
            )
        rule: Rule
        if kind in ("phrase", "forbidden"):
            rule = phrase_rules.get(raw["id"]) or self._phrase(raw)
            self._check_window(path, raw)
            if "classifier_threshold" in raw and "classifier" not in raw:
                self.error(
                    path + ("classifier_threshold",),
                    f"item '{raw['id']}': classifier_threshold without a classifier; "
                    f"add classifier: ({', '.join(CLASSIFIERS)}) or drop it",
                    key=True,
                )
        elif kind == "order":
            rule = self._order(path, raw, phrase_rules)
        elif kind == "metric":
            rule = MetricRule(raw["metric"], raw.get("min"), raw.get("max"))
            if rule.min is not None and rule.max is not None and rule.min > rule.max:
                self.error(
                    path + ("min",),
                    f"item '{raw['id']}': min {rule.min} is above max {rule.max}; no value could pass",
                )
        elif kind == "sentiment":
            rule = self._sentiment(path, raw)
        else:
            rule = ManualRule(raw.get("question") or raw.get("name") or raw["id"])
        return Item(
            id=raw["id"],
            section=section,
            kind=kind,
            rule=rule,
            name=raw.get("name", ""),
            points=points,
            auto_fail=auto_fail,
            applies_if=self._condition(path + ("applies_if",), raw.get("applies_if")),
            path=path,
        )

    def _phrase(self, raw: dict[str, Any]) -> PhraseRule:
        return PhraseRule(
            phrases=tuple(raw["phrases"]),
            not_phrases=tuple(raw.get("not_phrases") or ()),
            cues=tuple(raw.get("cues") or ()),
            not_cues=tuple(raw.get("not_cues") or ()),
            speaker=raw.get("speaker", self.speaker),
            threshold=float(raw.get("threshold", self.threshold)),
            within_first_s=raw.get("within_first_s"),
            within_last_s=raw.get("within_last_s"),
            classifier=raw.get("classifier"),
            classifier_threshold=float(raw.get("classifier_threshold", DEFAULT_CLASSIFIER_THRESHOLD)),
        )

    def _check_window(self, path: PathKey, raw: dict[str, Any]) -> None:
        if "within_first_s" in raw and "within_last_s" in raw:
            self.error(
                path + ("within_last_s",),
                f"item '{raw['id']}': give within_first_s or within_last_s, not both (use two items)",
                key=True,
            )

    def _order(self, path: PathKey, raw: dict[str, Any], phrase_rules: dict[str, PhraseRule]) -> OrderRule:
        steps: dict[str, tuple[PhraseRule, str | None]] = {}
        for step in ("first", "then"):
            value = raw[step]
            if isinstance(value, dict):
                steps[step] = (self._phrase(value), None)
                continue
            rule = phrase_rules.get(value)
            if rule is None:
                self._unknown_step(path + (step,), raw["id"], step, value, phrase_rules)
                rule = PhraseRule(("",), "agent", 1.0)
            steps[step] = (rule, value)
        if steps["first"][1] is not None and steps["first"][1] == steps["then"][1]:
            self.error(
                path + ("then",), f"item '{raw['id']}': first and then are the same item '{steps['then'][1]}'"
            )
        return OrderRule(
            first=steps["first"][0],
            then=steps["then"][0],
            first_ref=steps["first"][1],
            then_ref=steps["then"][1],
        )

    def _unknown_step(
        self, path: PathKey, item_id: str, step: str, value: str, phrase_rules: dict[str, PhraseRule]
    ) -> None:
        other_kinds = {it["id"]: it["kind"] for s in self.src.data["sections"] for it in s["items"]}
        if value in other_kinds:
            self.error(
                path,
                f"item '{item_id}': {step} refers to '{value}', a {other_kinds[value]} item; "
                "order steps must be phrase items (or give phrases inline)",
            )
            return
        guess = difflib.get_close_matches(value, list(phrase_rules), n=1, cutoff=0.6)
        hint = (
            f"; did you mean '{guess[0]}'?"
            if guess
            else f"; phrase items: {', '.join(phrase_rules)}"
            if phrase_rules
            else "; there are no phrase items, give phrases inline"
        )
        self.error(path, f"item '{item_id}': {step} refers to unknown item '{value}'{hint}")

    def _sentiment(self, path: PathKey, raw: dict[str, Any]) -> SentimentRule:
        check = raw["check"]
        wrong = ("expect", "min_change") if check == "end" else ("last_n", "min")
        for key in wrong:
            if key in raw:
                self.error(
                    path + (key,), f"item '{raw['id']}': {key} does not apply to check {check}", key=True
                )
        return SentimentRule(
            check=check,
            speaker=raw.get("speaker", "customer"),
            min=float(raw.get("min", self.sentiment_min)),
            last_n=raw.get("last_n"),
            expect=raw.get("expect", "not_worsening"),
            min_change=float(raw.get("min_change", self.sentiment_change)),
        )

    def _attributes(self, declared: dict[str, Any]) -> dict[str, str]:
        """The attributes `assign_if` may read; one named like a known variable would shadow it."""
        out = {}
        for name, what in declared.items():
            if name in ASSIGN_VARIABLES:
                self.error(
                    ("attributes", name),
                    f"attributes: '{name}' is a call field already: read it in assign_if as it is",
                    key=True,
                )
                continue
            out[str(name)] = str(what or "")
        return out

    def _condition(
        self,
        path: PathKey,
        source: str | None,
        variables: dict[str, str] = VARIABLES,
        key: str = "applies_if",
    ) -> expr.Expression | None:
        if source is None:
            return None
        try:
            parsed = expr.parse(source)
        except expr.ExpressionError as err:
            self.error(path, f"{key}: {err}", col_offset=self._expr_offset(path, err.offset))
            return None
        for name in sorted(parsed.names - variables.keys()):
            guess = difflib.get_close_matches(name, list(variables), n=1, cutoff=0.6)
            hint = f"; did you mean '{guess[0]}'?" if guess else f"; known: {', '.join(variables)}"
            if key == "assign_if":  # perhaps a field of the calls' own, not yet declared
                hint += f" (a field of your calls' own? declare it under attributes:, e.g. {name}: what)"
            self.error(
                path,
                f"{key}: unknown variable '{name}'{hint}",
                col_offset=self._expr_offset(path, source.find(name)),
            )
        return parsed

    def _check_weights(self, sections: tuple[Section, ...]) -> None:
        weighted = [s for s in sections if s.weight is not None]
        if weighted and len(weighted) < len(sections):
            for i, s in enumerate(sections):
                if s.weight is None:
                    self.error(
                        ("sections", i, "id"),
                        f"section '{s.id}' has no weight while others have "
                        "one; give every section a weight, or none",
                    )
        for i, s in enumerate(sections):
            if s.weight is not None and not any(it.points > 0 for it in s.items):
                self.error(
                    ("sections", i, "weight"),
                    f"section '{s.id}' has a weight but none of its "
                    "items has points, so the weight can never count",
                )
