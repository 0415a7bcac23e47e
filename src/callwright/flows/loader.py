"""Load a flow file: YAML with positions -> JSON Schema -> typed `Flow`.

Schema errors are translated into messages a designer can act on (the key, the
state, "did you mean"), each at the line of the offending value.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError

from callwright.errors import FlowError
from callwright.flows import expr
from callwright.flows.model import (
    Assignment,
    Choice,
    Confirm,
    Flow,
    GlobalCommand,
    Prompt,
    Settings,
    State,
)
from callwright.flows.source import PathKey, Problem, Source, SourceError
from callwright.flows.source import load as load_source
from callwright.flows.source import parse as parse_source
from callwright.schema_errors import SchemaExplainer

MAX_SUBFLOW_DEPTH = 8


@functools.cache
def schema() -> dict[str, Any]:
    """The flow JSON Schema shipped with the package (also referenced by sample flows)."""
    text = resources.files("callwright.flows").joinpath("flow.schema.json").read_text("utf-8")
    return json.loads(text)


@functools.cache
def _validators() -> tuple[jsonschema.Draft202012Validator, dict[str, jsonschema.Draft202012Validator]]:
    """A validator for the flow minus its states, and one per state type.

    The published schema picks a state's definition with if/then on `type`, which
    is what editors need; validating 1,000 states that way costs seconds, so here
    each state goes straight to its own type's definition (same rules, same messages).
    """
    full = schema()
    top = copy.deepcopy(full)
    type_prop = full["$defs"]["state"]["properties"]["type"]
    top["properties"]["states"]["additionalProperties"] = {
        "type": "object", "required": ["type"], "properties": {"type": type_prop}}
    defs = full["$defs"]
    per_type = {t: jsonschema.Draft202012Validator(_inline(defs[t], defs)) for t in type_prop["enum"]}
    return jsonschema.Draft202012Validator(top), per_type


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    """Replace local $refs by their definitions (the flow schema has no recursion):
    reference lookups were most of the validation time."""
    if isinstance(node, list):
        return [_inline(n, defs) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _inline(v, defs) for k, v in node.items() if k != "$ref"}
    if "$ref" in node:
        target = _inline(defs[node["$ref"].rsplit("/", 1)[-1]], defs)
        return {**out, "allOf": [target]} if out else target
    return out


@dataclass
class LoadResult:
    flow: Flow | None
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]


def load_flow(path: str | Path) -> Flow:
    """Load a flow for running; raise FlowError listing every error."""
    result = load(path)
    if result.errors or result.flow is None:
        lines = "\n".join(str(p) for p in result.errors)
        raise FlowError(f"{path}: the flow has errors:\n{lines}",
                        hint=f"run `callwright flow check {path}` for details")
    return result.flow


def load(path: str | Path, *, _stack: tuple[str, ...] = ()) -> LoadResult:
    """Load a flow file and its subflows, collecting problems instead of raising."""
    try:
        src = load_source(path)
    except SourceError as err:
        return LoadResult(None, err.problems)
    return from_source(src, base_dir=Path(path).parent, _stack=_stack + (_key(path),))


def loads(text: str, name: str = "<string>", base_dir: Path | None = None) -> LoadResult:
    try:
        src = parse_source(text, name)
    except SourceError as err:
        return LoadResult(None, err.problems)
    return from_source(src, base_dir=base_dir or Path("."), _stack=(name,))


def _key(path: str | Path) -> str:
    try:
        return str(Path(path).resolve())
    except OSError:
        return str(path)


def from_source(src: Source, base_dir: Path, _stack: tuple[str, ...] = ()) -> LoadResult:
    if not isinstance(src.data, dict):
        kind = "empty" if src.data is None else type(src.data).__name__
        return LoadResult(None, [src.problem((), "error",
                                             f"a flow file must be a mapping with flow, start "
                                             f"and states; this one is {kind}")])
    problems = schema_problems(src)
    if problems:
        return LoadResult(None, problems)
    builder = _Builder(src)
    flow = builder.build()
    problems = builder.problems
    for st in flow.states.values():
        if st.type != "subflow" or st.subflow is None or st.subflow in flow.subflows:
            continue
        sub_path = (base_dir / st.subflow)
        if len(_stack) >= MAX_SUBFLOW_DEPTH or _key(sub_path) in _stack:
            problems.append(src.problem(st.path + ("flow",), "error",
                                        f"subflow '{st.subflow}' calls itself (directly or "
                                        "through other subflows)"))
            continue
        if not sub_path.is_file():
            problems.append(src.problem(st.path + ("flow",), "error",
                                        f"subflow file not found: {sub_path}"))
            continue
        sub = load(sub_path, _stack=_stack)
        if sub.errors or sub.flow is None:
            problems.append(src.problem(st.path + ("flow",), "error",
                                        f"subflow '{st.subflow}' has errors (check it on its own)"))
            continue
        flow.subflows[st.subflow] = sub.flow
    if flow.subflows:
        h = hashlib.sha256(flow.content_hash.encode())
        for key in sorted(flow.subflows):
            h.update(flow.subflows[key].content_hash.encode())
        flow.content_hash = h.hexdigest()
    return LoadResult(flow, problems)


# --- schema errors -----------------------------------------------------------

_TARGET_KEYS = ("next", "else", "start", "if_open", "if_closed", "if_holiday", "on_failure", "yes", "no")


class _FlowExplainer(SchemaExplainer):
    """Flow wording: places are states, and a bad target names what a target is."""

    def where(self, path: PathKey) -> str:
        if len(path) >= 2 and path[0] == "states":
            rest = ".".join(str(x) for x in path[2:])
            return f"state '{path[1]}'" + (f", {rest}" if rest else "")
        return super().where(path)

    def kind_of(self, path: PathKey, instance: Any) -> str | None:
        kind = instance.get("type") if isinstance(instance, dict) else None
        return kind if kind and path[:1] == ("states",) else None

    def pattern_hint(self, path: PathKey, err: ValidationError) -> str | None:
        desc = err.schema.get("description")
        if path and path[-1] in _TARGET_KEYS or desc:
            return desc or "expected a state name"
        return None


_EXPLAINER = _FlowExplainer()


def schema_problems(src: Source) -> list[Problem]:
    top, per_type = _validators()
    found: list[tuple[PathKey, ValidationError]] = [((), e) for e in top.iter_errors(src.data)]
    states = src.data.get("states")
    if isinstance(states, dict):
        for name, st in states.items():
            if isinstance(st, dict) and st.get("type") in per_type:
                found += [(("states", name), e) for e in per_type[st["type"]].iter_errors(st)]
    return _EXPLAINER.problems(src, found)


# --- building the model --------------------------------------------------------

_DURATION = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(ms|s|m)?\s*$")


def parse_duration(value: Any) -> float:
    if isinstance(value, (int, float)):
        return float(value)
    m = _DURATION.match(str(value))
    if not m:
        raise ValueError(f"bad duration {value!r}")
    n, unit = float(m.group(1)), m.group(2) or "s"
    return n / 1000 if unit == "ms" else n * 60 if unit == "m" else n


class _Builder:
    def __init__(self, src: Source) -> None:
        self.src = src
        self.problems: list[Problem] = []
        d = src.data
        self.languages = tuple(d.get("languages") or [d.get("default_language") or "en"])
        self.default_language = d.get("default_language") or self.languages[0]

    def build(self) -> Flow:
        d = self.src.data
        settings = self._settings(d.get("settings") or {})
        states = {name: self._state(name, raw) for name, raw in d["states"].items()}
        text_hash = hashlib.sha256(self.src.text.encode()).hexdigest()
        return Flow(
            name=d["flow"], path=self.src.path, source=self.src, content_hash=text_hash,
            start=d["start"], states=states, direction=d.get("direction", "inbound"),
            version=None if d.get("version") is None else str(d["version"]),
            description=d.get("description", ""), languages=self.languages,
            default_language=self.default_language, variables=dict(d.get("variables") or {}),
            settings=settings,
            sensitive=frozenset(d.get("sensitive") or ()).union(
                st.into for st in states.values() if st.sensitive and st.into),
        )

    def prompt(self, raw: Any, path: PathKey) -> Prompt:
        audio = None
        if isinstance(raw, dict) and "text" in raw:
            audio = raw.get("audio")
            path, raw = path + ("text",), raw["text"]
        texts = {self.default_language: raw} if isinstance(raw, str) else dict(raw)
        return Prompt(texts=texts, audio=audio, path=path)

    def prompts(self, raw: Any, path: PathKey) -> tuple[Prompt, ...]:
        if raw is None:
            return ()
        if isinstance(raw, list):
            return tuple(self.prompt(p, path + (i,)) for i, p in enumerate(raw))
        return (self.prompt(raw, path),)

    def assignments(self, raw: dict[str, Any] | None, path: PathKey) -> tuple[Assignment, ...]:
        out = []
        for var, value in (raw or {}).items():
            e, error = None, None
            if isinstance(value, str):
                try:
                    e = expr.parse(value)
                except expr.ExpressionError as err:
                    error = str(err)
            out.append(Assignment(var, value, e, error, path + (var,)))
        return tuple(out)

    def confirm(self, raw: dict[str, Any] | None, base: Confirm, path: PathKey) -> Confirm:
        if not raw:
            return base
        return Confirm(
            when=raw.get("when", base.when if base.when != "never" else "always"),
            below=float(raw.get("below", base.below)),
            prompt=self.prompt(raw["prompt"], path + ("prompt",)) if "prompt" in raw else base.prompt,
            attempts=int(raw.get("attempts", base.attempts)),
        )

    def _settings(self, raw: dict[str, Any]) -> Settings:
        t = raw.get("timeouts") or {}
        r = raw.get("retries") or {}
        base = Settings()
        globals_ = []
        for name, g in (raw.get("global_commands") or {}).items():
            globals_.append(GlobalCommand(name, g.get("dtmf"), tuple(g.get("speech") or ()),
                                          g.get("next"), ("settings", "global_commands", name)))
        return Settings(
            input=raw.get("input", base.input),
            no_input_s=parse_duration(t.get("no_input", base.no_input_s)),
            inter_digit_s=parse_duration(t.get("inter_digit", base.inter_digit_s)),
            end_of_speech_s=parse_duration(t.get("end_of_speech", base.end_of_speech_s)),
            max_speech_s=parse_duration(t.get("max_speech", base.max_speech_s)),
            retries_no_input=int(r.get("no_input", base.retries_no_input)),
            retries_no_match=int(r.get("no_match", base.retries_no_match)),
            barge_in=bool(raw.get("barge_in", base.barge_in)),
            accept_confidence=float(raw.get("accept_confidence", base.accept_confidence)),
            confirm=self.confirm(raw.get("confirm"), base.confirm, ("settings", "confirm")),
            on_failure=raw.get("on_failure"),
            no_input_prompts=self.prompts(raw.get("no_input_prompts"), ("settings", "no_input_prompts")),
            no_match_prompts=self.prompts(raw.get("no_match_prompts"), ("settings", "no_match_prompts")),
            voice=raw.get("voice"), rate=raw.get("rate"),
            global_commands=tuple(globals_),
        )

    def _state(self, name: str, d: dict[str, Any]) -> State:
        path: PathKey = ("states", name)
        st = State(name=name, type=d["type"], path=path, description=d.get("description", ""))
        if "prompt" in d and d["type"] not in ("ask", "survey"):
            st.prompt = self.prompt(d["prompt"], path + ("prompt",))
        st.next = d.get("next")
        st.barge_in = d.get("barge_in")
        st.sensitive = bool(d.get("sensitive", False))
        if st.is_input:
            st.prompts = self.prompts(d.get("prompt"), path + ("prompt",))
            st.help = self.prompt(d["help"], path + ("help",)) if "help" in d else None
            st.input = d.get("input")
            t = d.get("timeouts") or {}
            st.no_input_s = parse_duration(t["no_input"]) if "no_input" in t else None
            st.inter_digit_s = parse_duration(t["inter_digit"]) if "inter_digit" in t else None
            st.end_of_speech_s = parse_duration(t["end_of_speech"]) if "end_of_speech" in t else None
            st.max_speech_s = parse_duration(t["max_speech"]) if "max_speech" in t else None
            r = d.get("retries") or {}
            st.retries_no_input = r.get("no_input")
            st.retries_no_match = r.get("no_match")
            st.no_input_prompts = self.prompts(d.get("no_input_prompts"), path + ("no_input_prompts",))
            st.no_match_prompts = self.prompts(d.get("no_match_prompts"), path + ("no_match_prompts",))
            st.on_failure = d.get("on_failure")
            st.global_commands = bool(d.get("global_commands", True))
            st.accept_confidence = d.get("accept_confidence")
            st.into = d.get("into")
            st.collect = d.get("collect")
            st.question = d.get("question")
            if st.type == "survey":
                lo, hi = {"csat": (1, 5), "nps": (0, 10)}.get(st.question or "", (None, None))
                st.range_min, st.range_max = lo, hi
                st.into = st.into or st.question
        if d["type"] == "ask":
            st.choices = tuple(
                Choice(c["id"], c.get("dtmf"), tuple(c.get("speech") or ()), c["next"],
                       self.assignments(c.get("set"), path + ("choices", i, "set")),
                       path + ("choices", i))
                for i, c in enumerate(d.get("choices") or [])
            )
            dg = d.get("digits") or {}
            st.digits_min = int(dg.get("min", 1))
            st.digits_max = int(dg.get("max", max(20, st.digits_min)))
            st.terminator = dg.get("terminator", "#")
            rg = d.get("range") or {}
            st.range_min, st.range_max = rg.get("min"), rg.get("max")
            st.confirm = self.confirm(d.get("confirm"), Confirm("never", 0.6, None, 2),
                                      path + ("confirm",)) if "confirm" in d else None
            st.yes, st.no = d.get("yes"), d.get("no")
        if d["type"] == "set":
            st.assignments = self.assignments(d.get("vars"), path + ("vars",))
        if d["type"] == "branch":
            cases = []
            for i, c in enumerate(d["cases"]):
                e, error = None, None
                try:
                    e = expr.parse(c["if"])
                except expr.ExpressionError as err:
                    error = str(err)
                cases.append((c["if"], e, error, c["next"], path + ("cases", i, "if")))
            st.cases = tuple(cases)
            st.otherwise = d["else"]
        if d["type"] == "hours":
            st.timezone = d.get("timezone", "UTC")
            for day, spec in d["open"].items():
                ranges = [] if spec == "closed" else [spec] if isinstance(spec, str) else spec
                st.open_hours[day] = [tuple(r.split("-", 1)) for r in ranges]  # type: ignore[misc]
            st.holidays = tuple(h if isinstance(h, str) else h["date"] for h in d.get("holidays") or [])
            st.if_open, st.if_closed = d["if_open"], d["if_closed"]
            st.if_holiday = d.get("if_holiday")
        if d["type"] == "queue":
            st.queue, st.priority, st.skill = d["queue"], int(d.get("priority", 0)), d.get("skill")
            if "callback" in d:
                st.callback_over_s = parse_duration(d["callback"]["when_wait_over"])
                st.callback_next = d["callback"]["next"]
        if d["type"] == "transfer":
            st.transfer_to = d["to"]
        if d["type"] == "record":
            st.max_duration_s = parse_duration(d.get("max_duration", 60))
            st.final_silence_s = parse_duration(d.get("final_silence", 3))
            st.terminator = d.get("terminator", "#")
            st.into = d.get("into")
        if d["type"] == "subflow":
            st.subflow = d["flow"]
        if d["type"] == "hangup":
            st.outcome, st.disposition = d.get("outcome"), d.get("disposition")
        return st
