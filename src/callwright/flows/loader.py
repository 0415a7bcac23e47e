"""Load a flow file: YAML with positions -> JSON Schema -> typed `Flow`.

Schema errors are translated into messages a designer can act on (the key, the
state, "did you mean"), each at the line of the offending value.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from jsonschema.exceptions import ValidationError

from callwright.common import expr
from callwright.common.source import PathKey, Problem, Source, SourceError
from callwright.common.source import load as load_source
from callwright.common.source import parse as parse_source
from callwright.errors import FlowError
from callwright.flows.model import (
    SURVEY_RANGES,
    TYPED_COLLECTS,
    Answer,
    Ask,
    Assignment,
    Branch,
    Callback,
    Case,
    Choice,
    Collect,
    Confirm,
    Flow,
    Function,
    GlobalCommand,
    Hangup,
    Header,
    Hours,
    Http,
    Intents,
    Listening,
    ModelRef,
    Play,
    Prompt,
    Queue,
    Record,
    Return,
    Save,
    Settings,
    SetVars,
    State,
    Subflow,
    Survey,
    Transfer,
    ValueOptions,
    is_model_path,
)
from callwright.schema_errors import SchemaExplainer, strict_validator

MAX_SUBFLOW_DEPTH = 8
# States of a flow once every subflow call is folded in (each subflow state gets its own
# copy of the subflow's states, as the engine runs them): bounds what a few small files
# calling each other several times can multiply into.
MAX_EXPANDED_STATES = 10_000


@functools.cache
def schema() -> dict[str, Any]:
    """The flow JSON Schema shipped with the package (also referenced by sample flows)."""
    text = resources.files("callwright.flows").joinpath("flow.schema.json").read_text("utf-8")
    return json.loads(text)


@functools.cache
def _validators() -> tuple[Any, dict[str, Any]]:
    """A validator for the flow minus its states, and one per state type.

    The published schema picks a state's definition with if/then on `type`, which
    is what editors need; validating 1,000 states that way costs seconds, so here
    each state goes straight to its own type's definition (same rules, same messages).
    """
    full = schema()
    top = copy.deepcopy(full)
    type_prop = full["$defs"]["state"]["properties"]["type"]
    top["properties"]["states"]["additionalProperties"] = {
        "type": "object",
        "required": ["type"],
        "properties": {"type": type_prop},
    }
    defs = full["$defs"]
    per_type = {t: strict_validator(_inline(defs[t], defs)) for t in type_prop["enum"]}
    return strict_validator(top), per_type


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
    # "subflow X has errors" problem -> the error deep down that caused it
    causes: dict[Problem, Problem] = field(default_factory=dict)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]


def load_flow(path: str | Path) -> Flow:
    """Load a flow for running; raise FlowError listing every error."""
    result = load(path)
    if result.errors or result.flow is None:
        lines = "\n".join(str(p) for p in result.errors)
        raise FlowError(
            f"{path}: the flow has errors:\n{lines}", hint=f"run `callwright flow check {path}` for details"
        )
    return result.flow


@dataclass
class _Loaded:
    """What one top-level load has already done, shared down its subflows.

    A subflow file is loaded once per nesting depth however its references are
    spelled (`d1.yaml`, `./d1.yaml`, `x/../d1.yaml` resolve to one key), so files that
    call each other several times cost their number, not a power of it.
    """

    results: dict[tuple[str, int], LoadResult] = field(default_factory=dict)
    expanded: dict[int, int] = field(default_factory=dict)  # id(flow) -> states with subflows folded in


def load(path: str | Path, *, _stack: tuple[str, ...] = (), _loaded: _Loaded | None = None) -> LoadResult:
    """Load a flow file and its subflows, collecting problems instead of raising."""
    try:
        src = load_source(path)
    except SourceError as err:
        return LoadResult(None, err.problems)
    return from_source(src, base_dir=Path(path).parent, _stack=_stack + (_key(path),), _loaded=_loaded)


def loads(text: str, name: str = "<string>", base_dir: Path | None = None) -> LoadResult:
    try:
        src = parse_source(text, name)
    except SourceError as err:
        return LoadResult(None, err.problems)
    return from_source(src, base_dir=base_dir or Path("."), _stack=(name,))


def _key(path: str | Path) -> str:
    try:
        return str(Path(path).resolve())
    except (OSError, RuntimeError, ValueError):  # a symlink loop, a NUL byte: reported when read
        return str(path)


def from_source(
    src: Source, base_dir: Path, _stack: tuple[str, ...] = (), _loaded: _Loaded | None = None
) -> LoadResult:
    if not isinstance(src.data, dict):
        kind = "empty" if src.data is None else type(src.data).__name__
        return LoadResult(
            None,
            [
                src.problem(
                    (),
                    "error",
                    f"a flow file must be a mapping with flow, start and states; this one is {kind}",
                )
            ],
        )
    problems = schema_problems(src)
    if problems:
        return LoadResult(None, problems)
    builder = _Builder(src, base_dir)
    flow = builder.build()
    problems = builder.problems
    loaded = _loaded if _loaded is not None else _Loaded()
    causes: dict[Problem, Problem] = {}
    for st in flow.states.values():
        if not isinstance(st, Subflow) or st.subflow in flow.subflows:
            continue
        sub_path = base_dir / st.subflow
        where = st.path + ("flow",)
        key = _key(sub_path)
        if key in _stack:
            problems.append(
                src.problem(
                    where,
                    "error",
                    f"subflow '{st.subflow}' calls itself (directly or through other subflows)",
                )
            )
            continue
        if len(_stack) >= MAX_SUBFLOW_DEPTH:
            problems.append(
                src.problem(
                    where,
                    "error",
                    f"subflow '{st.subflow}' is nested too deep (a "
                    f"flow and its subflows go at most {MAX_SUBFLOW_DEPTH} files deep)",
                )
            )
            continue
        missing = _not_a_file(sub_path)
        if missing:
            problems.append(src.problem(where, "error", f"subflow '{st.subflow}': {missing}"))
            continue
        sub = loaded.results.get((key, len(_stack)))
        if sub is None:
            sub = loaded.results[(key, len(_stack))] = load(sub_path, _stack=_stack, _loaded=loaded)
        if sub.errors or sub.flow is None:
            first = sub.errors[0]
            root = sub.causes.get(first, first)
            problem = src.problem(
                where,
                "error",
                f"subflow '{st.subflow}' has errors; the first: "
                f"{root.path}:{root.line}:{root.col}: {root.message}",
            )
            causes[problem] = root
            problems.append(problem)
            continue
        flow.subflows[st.subflow] = sub.flow
    problems += _expansion_problems(src, flow, loaded)
    if flow.subflows:
        h = hashlib.sha256(flow.content_hash.encode())
        for key in sorted(flow.subflows):
            h.update(flow.subflows[key].content_hash.encode())
        flow.content_hash = h.hexdigest()
    return LoadResult(flow, problems, causes)


def _not_a_file(path: Path) -> str | None:
    """Why a subflow path cannot be loaded, or None when it is a regular file."""
    try:
        path.stat()
    except FileNotFoundError:
        return f"file not found: {path}"
    except (OSError, ValueError) as err:  # a symlink loop, a name too long, a NUL byte
        return f"cannot read {path}: {getattr(err, 'strerror', None) or err}"
    if path.is_dir():
        return f"{path} is a folder, not a flow file"
    if not path.is_file():
        return f"{path} is not a regular file"
    return None


def _expansion_problems(src: Source, flow: Flow, loaded: _Loaded) -> list[Problem]:
    """Refuse a flow whose subflow calls multiply into more than MAX_EXPANDED_STATES states."""
    calls = [
        (st, loaded.expanded.get(id(flow.subflows[st.subflow]), 0))
        for st in flow.states.values()
        if isinstance(st, Subflow) and st.subflow in flow.subflows
    ]
    total = len(flow.states) + sum(n for _, n in calls)
    loaded.expanded[id(flow)] = total
    if total <= MAX_EXPANDED_STATES or not calls:
        return []
    st, n = max(calls, key=lambda c: c[1])
    return [
        src.problem(
            st.path + ("flow",),
            "error",
            f"with its subflows folded in, this flow has {total:,} states (each subflow "
            f"state runs its own copy; '{st.subflow}' brings {n:,}); the limit is "
            f"{MAX_EXPANDED_STATES:,}",
        )
    ]


# --- schema errors -----------------------------------------------------------

_TARGET_KEYS = (
    "next",
    "else",
    "start",
    "if_open",
    "if_closed",
    "if_holiday",
    "on_failure",
    "yes",
    "no",
    "success",
    "failure",
    "on_timeout",
    "transferred",
    "failed",
)


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

    def pattern_message(self, path: PathKey, err: ValidationError) -> str | None:
        opening_hours = len(path) in (4, 5) and path[0] == "states" and path[2] == "open"
        if opening_hours and isinstance(err.instance, str):
            problem = opening_hours_problem(err.instance)
            return f"{err.instance!r} is not valid opening hours: {problem}" if problem else None
        return None

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


_HHMM = re.compile(r"([0-9]{1,2}):([0-9]{2})")


def time_of_day_problem(text: str) -> str | None:
    """What is wrong with an HH:MM time of day ("24:00" ends a day), or None."""
    m = _HHMM.fullmatch(text)
    if not m or len(text) != 5:
        return f"'{text}' is not a time of day; write HH:MM on a 24-hour clock, such as 09:00"
    hours, minutes = int(m.group(1)), int(m.group(2))
    if minutes > 59:
        return f"'{text}' is not a time of day; minutes go from 00 to 59"
    if hours > 24 or (hours == 24 and minutes):
        return f"'{text}' is not a time of day; hours go from 00 to 23, and 24:00 may end a day"
    return None


def opening_hours_problem(spec: str) -> str | None:
    """What is wrong with an opening-hours range such as '09:00-17:30', or None."""
    if spec == "closed":
        return None
    start, sep, end = spec.partition("-")
    if not sep:
        return "expected a range such as '09:00-17:30', a list of ranges, or 'closed'"
    for part in (start, end):
        problem = time_of_day_problem(part)
        if problem:
            return problem
    if end <= start:
        return f"the range ends at {end}, which is not after its start {start}"
    return None


# --- building the model --------------------------------------------------------

_DURATION = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(ms|s|m)?\s*$")


MAX_DATA_TIMEOUT_S = 60.0  # a data step's deadline: a caller should not wait longer in silence
DEFAULT_DATA_TIMEOUT_S = 5.0
MAX_DURATION_S = 86_400.0  # a day: the longest duration `parse_duration` accepts by default
FLOW_MAX_DURATION_S = 3600.0  # a flow's timeouts and limits, as the schema's numeric maximum


def _shown(value: Any) -> str:
    """A value in a message, cut short (a hostile file may hold megabytes in one scalar)."""
    try:
        text = repr(value)
    except ValueError:  # an int too long to print
        return "a very long number"
    return text if len(text) <= 40 else text[:37] + "..."


def parse_duration(value: Any, *, limit: float = MAX_DURATION_S) -> float:
    """Seconds from a number or a text such as '5s', '500ms', '2m'; ValueError when it is
    not a finite number of seconds from 0 to `limit` (NaN would pass every range check)."""
    shown = _shown(value)
    if isinstance(value, bool):
        raise ValueError(f"bad duration {shown}")
    if isinstance(value, (int, float)):
        try:
            seconds = float(value)
        except OverflowError:
            raise ValueError(f"duration {shown} is too large (limit {limit:g} s)") from None
    else:
        m = _DURATION.match(str(value))
        if not m:
            raise ValueError(f"bad duration {shown}")
        n, unit = float(m.group(1)), m.group(2) or "s"
        seconds = n / 1000 if unit == "ms" else n * 60 if unit == "m" else n
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"duration {shown} is not a finite number of seconds")
    if seconds > limit:
        raise ValueError(f"duration {shown} is over the limit of {limit:g} s")
    return seconds


class _Builder:
    def __init__(self, src: Source, base_dir: Path = Path(".")) -> None:
        self.src = src
        self.base_dir = base_dir
        self.problems: list[Problem] = []
        d = src.data
        self.languages = tuple(d.get("languages") or [d.get("default_language") or "en"])
        self.default_language = d.get("default_language") or self.languages[0]

    def build(self) -> Flow:
        d = self.src.data
        settings = self._settings(d.get("settings") or {})
        self.flow_model = self.model(d.get("model"), ("model",))
        states = {name: self._state(name, raw, settings) for name, raw in d["states"].items()}
        text_hash = hashlib.sha256(self.src.text.encode()).hexdigest()
        return Flow(
            name=d["flow"],
            path=self.src.path,
            source=self.src,
            content_hash=text_hash,
            start=d["start"],
            states=states,
            direction=d.get("direction", "inbound"),
            version=None if d.get("version") is None else str(d["version"]),
            description=d.get("description", ""),
            languages=self.languages,
            default_language=self.default_language,
            variables=dict(d.get("variables") or {}),
            inputs=dict(d.get("inputs") or {}),
            settings=settings,
            model=self.flow_model,
            sensitive=frozenset(d.get("sensitive") or ())
            .union(
                st.into
                for st in states.values()
                if isinstance(st, (Ask, Record)) and st.sensitive and st.into
            )
            .union(
                s.var
                for st in states.values()
                if isinstance(st, (Http, Function)) and st.sensitive
                for s in st.save
            ),
        )

    def model(self, raw: Any, path: PathKey) -> ModelRef | None:
        """A `model:` as written, its target resolved: a name stays a name, a directory is
        made absolute against the flow file's folder (the checker says whether either exists)."""
        if raw is None:
            return None
        spec = str(raw)
        if not is_model_path(spec):
            return ModelRef(spec, spec, path)
        try:
            where = Path(spec).expanduser()
            target = str((self.base_dir / where).absolute() if not where.is_absolute() else where)
        except (RuntimeError, ValueError):  # `~nobody/...`: left as written, the checker reports it
            target = spec
        return ModelRef(spec, target, path)

    def own_model(self, d: dict[str, Any], path: PathKey) -> ModelRef | None:
        """The state's `model:`, else the flow's."""
        return self.model(d.get("model"), path + ("model",)) or self.flow_model

    def duration(self, raw: Any, path: PathKey) -> float:
        """A duration from the flow; one the schema could not bound (text) is an error here."""
        try:
            return parse_duration(raw, limit=FLOW_MAX_DURATION_S)
        except ValueError as err:
            self.problems.append(self.src.problem(path, "error", f"{_EXPLAINER.where(path)}: {err}"))
            return 0.0

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
        tp: PathKey = ("settings", "timeouts")
        r = raw.get("retries") or {}
        base = Settings()
        globals_ = []
        for name, g in (raw.get("global_commands") or {}).items():
            speech = g.get("speech") or ()
            by_language = {k: tuple(v) for k, v in speech.items()} if isinstance(speech, dict) else {}
            phrases = tuple(dict.fromkeys(p for v in by_language.values() for p in v)) or tuple(speech)
            globals_.append(
                GlobalCommand(
                    name,
                    g.get("dtmf"),
                    phrases,
                    g.get("next"),
                    ("settings", "global_commands", name),
                    by_language,
                )
            )
        return Settings(
            input=raw.get("input", base.input),
            no_input_s=self.duration(t.get("no_input", base.no_input_s), tp + ("no_input",)),
            inter_digit_s=self.duration(t.get("inter_digit", base.inter_digit_s), tp + ("inter_digit",)),
            end_of_speech_s=self.duration(
                t.get("end_of_speech", base.end_of_speech_s), tp + ("end_of_speech",)
            ),
            max_speech_s=self.duration(t.get("max_speech", base.max_speech_s), tp + ("max_speech",)),
            retries_no_input=int(r.get("no_input", base.retries_no_input)),
            retries_no_match=int(r.get("no_match", base.retries_no_match)),
            barge_in=bool(raw.get("barge_in", base.barge_in)),
            accept_confidence=float(raw.get("accept_confidence", base.accept_confidence)),
            confirm=self.confirm(raw.get("confirm"), base.confirm, ("settings", "confirm")),
            on_failure=raw.get("on_failure"),
            no_input_prompts=self.prompts(raw.get("no_input_prompts"), ("settings", "no_input_prompts")),
            no_match_prompts=self.prompts(raw.get("no_match_prompts"), ("settings", "no_match_prompts")),
            voice=raw.get("voice"),
            rate=raw.get("rate"),
            global_commands=tuple(globals_),
            intents=_intents(raw.get("intents"), base.intents),
        )

    def _state(self, name: str, d: dict[str, Any], s: Settings) -> State:
        """The typed state for one `states:` entry, with the flow's settings filled in."""
        path: PathKey = ("states", name)
        base: dict[str, Any] = {
            "name": name,
            "path": path,
            "description": d.get("description", ""),
            "barge_in": bool(d["barge_in"]) if d.get("barge_in") is not None else s.barge_in,
        }
        kind = d["type"]

        def prompt() -> Prompt | None:
            return self.prompt(d["prompt"], path + ("prompt",)) if "prompt" in d else None

        if kind in ("ask", "survey"):
            return self._input(d, base, s)
        if kind == "play":
            return Play(**base, prompt=self.prompt(d["prompt"], path + ("prompt",)), next=d["next"])
        if kind == "set":
            return SetVars(
                **base, assignments=self.assignments(d.get("vars"), path + ("vars",)), next=d["next"]
            )
        if kind == "branch":
            return Branch(
                **base,
                cases=tuple(self._case(c, path + ("cases", i)) for i, c in enumerate(d["cases"])),
                otherwise=d["else"],
            )
        if kind == "hours":
            open_hours = {}
            for day, spec in d["open"].items():
                ranges = [] if spec == "closed" else [spec] if isinstance(spec, str) else spec
                open_hours[day] = tuple(_hours_range(r) for r in ranges)
            return Hours(
                **base,
                timezone=d.get("timezone", "UTC"),
                open_hours=open_hours,
                holidays=tuple(h if isinstance(h, str) else h["date"] for h in d.get("holidays") or []),
                if_open=d["if_open"],
                if_closed=d["if_closed"],
                if_holiday=d.get("if_holiday"),
            )
        if kind == "queue":
            callback = None
            if "callback" in d:
                over = self.duration(d["callback"]["when_wait_over"], path + ("callback", "when_wait_over"))
                callback = Callback(over, d["callback"]["next"])
            return Queue(
                **base,
                queue=d["queue"],
                priority=int(d.get("priority", 0)),
                skill=d.get("skill"),
                prompt=prompt(),
                callback=callback,
            )
        if kind == "transfer":
            return Transfer(
                **base, to=d["to"], prompt=prompt(), transferred=d.get("transferred"), failed=d.get("failed")
            )
        if kind == "record":
            return Record(
                **base,
                prompt=self.prompt(d["prompt"], path + ("prompt",)),
                max_duration_s=self.duration(d.get("max_duration", 60), path + ("max_duration",)),
                final_silence_s=self.duration(d.get("final_silence", 3), path + ("final_silence",)),
                terminator=d.get("terminator", "#"),
                into=d.get("into"),
                next=d["next"],
                sensitive=bool(d.get("sensitive", False)),
                beep=bool(d.get("beep", True)),
                mailbox=d.get("mailbox"),
                transcribe=bool(d.get("transcribe", False)),
                model=self.own_model(d, path),
            )
        if kind in ("http", "function"):
            return self._data(d, base)
        if kind == "subflow":
            return Subflow(**base, subflow=d["flow"], next=d["next"])
        if kind == "return":
            return Return(**base, prompt=prompt())
        if kind == "hangup":
            return Hangup(
                **base,
                prompt=prompt(),
                outcome=d.get("outcome") or "self_served",
                disposition=d.get("disposition"),
            )
        raise AssertionError(f"state type {kind!r} passed the schema but has no model")  # pragma: no cover

    def _data(self, d: dict[str, Any], base: dict[str, Any]) -> Http | Function:
        """An http or function state: its deadline, what it saves and its three edges."""
        path: PathKey = base["path"]
        timeout = DEFAULT_DATA_TIMEOUT_S
        if "timeout" in d:
            try:
                timeout = parse_duration(d["timeout"], limit=MAX_DATA_TIMEOUT_S)
            except ValueError as err:
                where = path + ("timeout",)
                self.problems.append(self.src.problem(where, "error", f"{_EXPLAINER.where(where)}: {err}"))
            if timeout <= 0:
                where = path + ("timeout",)
                self.problems.append(
                    self.src.problem(where, "error", f"{_EXPLAINER.where(where)}: the timeout must be over 0")
                )
                timeout = DEFAULT_DATA_TIMEOUT_S
        save = tuple(
            Save(
                var,
                src,
                tuple(int(k) if k.isdigit() else k for k in src.split(".") if k),
                path + ("save", var),
            )
            for var, src in (d.get("save") or {}).items()
        )
        common: dict[str, Any] = {
            **base,
            "timeout_s": timeout,
            "save": save,
            "success": d["success"],
            "failure": d["failure"],
            "on_timeout": d.get("on_timeout"),
            "sensitive": bool(d.get("sensitive", False)),
        }
        if d["type"] == "function":
            return Function(
                **common, function=d["function"], args=self.assignments(d.get("args"), path + ("args",))
            )
        headers = tuple(
            Header(
                name,
                value if isinstance(value, str) else None,
                value.get("secret") if isinstance(value, dict) else None,
                value.get("prefix", "") if isinstance(value, dict) else "",
                path + ("headers", name),
            )
            for name, value in (d.get("headers") or {}).items()
        )
        return Http(
            **common,
            method=d.get("method", "GET"),
            url=d["url"],
            headers=headers,
            body=d.get("body"),
            retries=int(d.get("retries", 0)),
        )

    def _case(self, c: dict[str, Any], path: PathKey) -> Case:
        e, error = None, None
        try:
            e = expr.parse(c["if"])
        except expr.ExpressionError as err:
            error = str(err)
        return Case(c["if"], e, error, c["next"], path + ("if",))

    def _input(self, d: dict[str, Any], base: dict[str, Any], s: Settings) -> Ask | Survey:
        path: PathKey = base["path"]
        t = d.get("timeouts") or {}
        tp = path + ("timeouts",)

        def timeout(key: str, default: float) -> float:
            return self.duration(t[key], tp + (key,)) if key in t else default

        r = d.get("retries") or {}
        conf = d.get("accept_confidence")
        listening = Listening(
            mode=d.get("input") or s.input,
            no_input_s=timeout("no_input", s.no_input_s),
            inter_digit_s=timeout("inter_digit", s.inter_digit_s),
            end_of_speech_s=timeout("end_of_speech", s.end_of_speech_s),
            max_speech_s=timeout("max_speech", s.max_speech_s),
            retries_no_input=r["no_input"] if r.get("no_input") is not None else s.retries_no_input,
            retries_no_match=r["no_match"] if r.get("no_match") is not None else s.retries_no_match,
            no_input_prompts=self.prompts(d.get("no_input_prompts"), path + ("no_input_prompts",))
            or s.no_input_prompts,
            no_match_prompts=self.prompts(d.get("no_match_prompts"), path + ("no_match_prompts",))
            or s.no_match_prompts,
            accept_confidence=conf if conf is not None else s.accept_confidence,
            commands=s.global_commands if d.get("global_commands", True) else (),
            intents=_intents(d.get("intents"), s.intents),
            model=self.own_model(d, path),
        )
        own_failure = d.get("on_failure")
        fields: dict[str, Any] = {
            **base,
            "prompts": self.prompts(d.get("prompt"), path + ("prompt",)),
            "help": self.prompt(d["help"], path + ("help",)) if "help" in d else None,
            "listening": listening,
            "on_failure": own_failure or s.on_failure,
            "on_failure_path": path + ("on_failure",) if own_failure else ("settings", "on_failure"),
            "next": d.get("next"),
        }
        if d["type"] == "survey":
            question = d["question"]
            lo, hi = SURVEY_RANGES.get(question, (None, None))
            collect: Collect = "yesno" if question == "resolved" else "number"
            return Survey(
                **fields,
                answer=Answer(collect, range_min=lo, range_max=hi),
                into=d.get("into") or question,
                question=question,
            )
        choices = tuple(
            Choice(
                c["id"],
                c.get("dtmf"),
                tuple(c.get("speech") or ()),
                c["next"],
                self.assignments(c.get("set"), path + ("choices", i, "set")),
                path + ("choices", i),
                tuple(c.get("examples") or ()),
            )
            for i, c in enumerate(d.get("choices") or [])
        )
        dg = d.get("digits") or {}
        digits_min = int(dg.get("min", 1))
        rg = d.get("range") or {}
        answer = Answer(
            d["collect"],
            choices,
            digits_min=digits_min,
            digits_max=int(dg.get("max", max(20, digits_min))),
            terminator=dg.get("terminator", "#"),
            range_min=rg.get("min"),
            range_max=rg.get("max"),
            value=_value_options(d),
        )
        return Ask(
            **fields,
            answer=answer,
            into=d.get("into"),
            confirm=(
                self.confirm(d.get("confirm"), Confirm("never", 0.6, None, 2), path + ("confirm",))
                if "confirm" in d
                else None
            ),
            yes=d.get("yes"),
            no=d.get("no"),
            sensitive=bool(d.get("sensitive", False)),
        )


def _value_options(d: dict[str, Any]) -> ValueOptions:
    """The options of a typed value: the mapping under the key named like its `collect`."""
    raw = d.get(d["collect"]) if d["collect"] in TYPED_COLLECTS else None
    if not isinstance(raw, dict):
        return ValueOptions()
    lengths = d["collect"] in ("phone", "alphanumeric")

    def text(key: str) -> str | None:
        return None if raw.get(key) is None or lengths else str(raw[key])

    return ValueOptions(
        format=raw.get("format"),
        min=text("min"),
        max=text("max"),
        min_length=raw.get("min") if lengths else None,
        max_length=raw.get("max") if lengths else None,
        country=raw.get("country"),
        currency=raw.get("code", "USD"),
    )


def _intents(raw: dict[str, Any] | None, base: Intents) -> Intents:
    if not raw:
        return base
    return Intents(
        threshold=float(raw.get("threshold", base.threshold)), margin=float(raw.get("margin", base.margin))
    )


def _hours_range(spec: str) -> tuple[str, str]:
    start, _, end = spec.partition("-")
    return start, end
