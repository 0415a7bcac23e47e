"""Static checks on a loaded flow: the mistakes a designer would otherwise find on a live call.

Pure functions over the model: given a `Flow`, return `Problem`s located at the
designer's line. Graph checks use the same edge list as the runtime and the
diagram, so what is checked is what runs.
"""

from __future__ import annotations

import difflib
import re
from collections import defaultdict, deque
from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from callwright.common.source import PathKey, Problem
from callwright.flows import template
from callwright.flows.loader import LoadResult, load, opening_hours_problem, time_of_day_problem
from callwright.flows.model import (
    INPUT_STATES,
    TERMINAL_STATES,
    TYPED_COLLECTS,
    Ask,
    Assignment,
    Branch,
    Edge,
    Flow,
    Function,
    Hours,
    Http,
    ModelRef,
    Play,
    Prompt,
    Queue,
    Record,
    Return,
    SetVars,
    State,
    Subflow,
    Survey,
    Transfer,
    edges,
    hears_speech,
    into_of,
    model_of,
    prompt_of,
    saved_by,
)
from callwright.speech import ssml
from callwright.speech.asr import registry
from callwright.speech.asr.languages import known as known_language
from callwright.speech.asr.model_paths import is_vosk_model

BUILTIN_VARS = frozenset(
    {
        "caller_id",
        "called_number",
        "call_id",
        "language",
        "direction",
        "flow",
        "last_input",
        "last_confidence",
    }
)


def check_file(path: str | Path) -> list[Problem]:
    """Load and check one file; every problem found, errors and warnings (its subflows' speech
    models too, at their own file:line:col: a subflow's `model: bsae` passed the parent's check
    and stopped the call at its start)."""
    result: LoadResult = load(path)
    problems = list(result.problems)
    if result.flow is not None:
        problems += check(result.flow)
        problems += subflow_model_problems(result.flow)
    return sorted(problems, key=lambda p: (p.line, p.col, p.message))


def subflow_model_problems(flow: Flow) -> list[Problem]:
    """`check_models` on every subflow the flow calls, at any depth, each file once. Only the
    models: the other checks read a subflow with its caller's variables and are the subflow
    file's own `flow check`."""
    out: list[Problem] = []
    seen: set[str] = set()
    todo = list(flow.subflows.values())
    while todo:
        sub = todo.pop()
        if sub.source.path in seen:
            continue
        seen.add(sub.source.path)
        c = _Checker(sub)
        c.check_models()
        out += c.problems
        todo += sub.subflows.values()
    return out


def check(flow: Flow) -> list[Problem]:
    c = _Checker(flow)
    c.run()
    return c.problems


class _Checker:
    def __init__(self, flow: Flow) -> None:
        self.flow = flow
        self.src = flow.source
        self.problems: list[Problem] = []
        self.edges = edges(flow)

    def err(self, path: PathKey, msg: str, *, key: bool = False, col: int = 0) -> None:
        self._add(path, "error", msg, key, col)

    def warn(self, path: PathKey, msg: str, *, key: bool = False, col: int = 0) -> None:
        self._add(path, "warning", msg, key, col)

    def _add(self, path: PathKey, sev: str, msg: str, key: bool, col: int) -> None:
        p = self.src.problem(path, sev, msg, key=key)
        if col:
            p = Problem(p.path, p.line, p.col + col, p.severity, p.message)
        self.problems.append(p)

    def run(self) -> None:
        self.check_models()
        valid_targets = self.check_targets()
        if not valid_targets:
            return  # graph checks on dangling edges would only repeat the same errors
        self.check_reachability()
        self.check_way_out()
        self.check_loops()
        for st in self.flow.states.values():
            self.check_state(st)
        self.check_expressions()
        self.check_variables()
        self.check_languages()

    # -- targets and graph ----------------------------------------------------

    def _target_refs(self) -> Iterator[tuple[PathKey, str]]:
        f = self.flow
        yield ("start",), f.start
        if f.settings.on_failure:
            yield ("settings", "on_failure"), f.settings.on_failure
        for g in f.settings.global_commands:
            if g.next:
                yield g.path + ("next",), g.next
        for st in f.states.values():
            yield from _targets_of(st)

    def check_targets(self) -> bool:
        ok = True
        names = list(self.flow.states)
        # an input state's inherited on_failure is settings.on_failure again: one message
        for path, target in dict.fromkeys(self._target_refs()):
            if target not in self.flow.states:
                ok = False
                guess = difflib.get_close_matches(target, names, n=1, cutoff=0.6)
                hint = f"; did you mean '{guess[0]}'?" if guess else ""
                self.err(path, f"unknown target state '{target}'{hint}")
        return ok

    def _graph(self) -> dict[str, list[Edge]]:
        g: dict[str, list[Edge]] = defaultdict(list)
        for e in self.edges:
            g[e.source].append(e)
        return g

    def check_reachability(self) -> None:
        g = self._graph()
        seen = {self.flow.start}
        todo = deque([self.flow.start])
        while todo:
            s = todo.popleft()
            for e in g.get(s, ()):
                if e.target not in seen:
                    seen.add(e.target)
                    todo.append(e.target)
        for name, st in self.flow.states.items():
            if name not in seen:
                self.warn(st.path, f"state '{name}' is unreachable from start '{self.flow.start}'", key=True)

    def check_way_out(self) -> None:
        g = self._graph()
        reverse: dict[str, set[str]] = defaultdict(set)
        for e in self.edges:
            reverse[e.target].add(e.source)
        terminals = [n for n, s in self.flow.states.items() if isinstance(s, TERMINAL_STATES)]
        can_end = set(terminals)
        todo = deque(terminals)
        while todo:
            t = todo.popleft()
            for s in reverse.get(t, ()):
                if s not in can_end:
                    can_end.add(s)
                    todo.append(s)
        for name, st in self.flow.states.items():
            outs = [e for e in g.get(name, ()) if e.kind != "retry"]
            if not isinstance(st, TERMINAL_STATES) and not outs:
                what = "add 'next' or 'on_failure'" if isinstance(st, INPUT_STATES) else "add 'next'"
                self.err(st.path, f"state '{name}' has no way out; {what}", key=True)
            elif name not in can_end:
                self.err(
                    st.path,
                    f"state '{name}' has no way out: no path from it reaches a "
                    "hangup, queue, transfer or return",
                    key=True,
                )

    def check_loops(self) -> None:
        states = self.flow.states
        g = self._graph()
        for comp in _sccs(states, g):
            if len(comp) == 1:
                only = next(iter(comp))
                if not any(e.target == only and e.kind != "retry" for e in g.get(only, ())):
                    continue
            if not any(isinstance(states[n], (Ask, Survey, Branch, Hours, Record)) for n in comp):
                first = min(comp, key=lambda n: self.src.pos(states[n].path).line)
                self.err(
                    states[first].path,
                    "endless loop without caller input: "
                    + " -> ".join(sorted(comp))
                    + " (add an ask state or a branch)",
                    key=True,
                )
                continue
            for e in self.edges:
                if (
                    e.kind == "failure"
                    and e.source in comp
                    and e.target in comp
                    and self._returns_without_input(e.target, e.source, g)
                ):
                    failed = isinstance(states[e.source], Transfer)  # its `failed:` edge
                    after = "a failed transfer" if failed else "its last retry"
                    self.err(
                        states[e.source].path + ("failed" if failed else "on_failure",),
                        f"retry loop without a bound: after {after} '{e.source}' goes to "
                        f"'{e.target}', which comes back to '{e.source}' even if the caller says "
                        "nothing; count attempts in a variable and add a branch, or send "
                        "failures elsewhere",
                    )

    def _returns_without_input(self, start: str, goal: str, g: dict[str, list[Edge]]) -> bool:
        """Can a silent caller get from start back to goal? Branches count as guards."""
        seen, todo = {start}, deque([start])
        while todo:
            s = todo.popleft()
            if s == goal:
                return True
            if isinstance(self.flow.states[s], Branch):
                continue
            for e in g.get(s, ()):
                if e.kind in ("next", "failure", "callback", "call") and e.target not in seen:
                    seen.add(e.target)
                    todo.append(e.target)
        return False

    # -- per state -------------------------------------------------------------

    def check_state(self, st: State) -> None:
        if isinstance(st, INPUT_STATES):
            if not st.on_failure:
                self.warn(
                    st.path,
                    f"state '{st.name}' has no on_failure (nor settings.on_failure): "
                    "after the last retry the call ends with outcome 'error'",
                    key=True,
                )
            if isinstance(st, Ask):
                self._check_ask(st)
        if isinstance(st, Hours):
            try:
                ZoneInfo(st.timezone)
            except (ZoneInfoNotFoundError, ValueError):
                self.err(
                    st.path + ("timezone",),
                    f"unknown time zone '{st.timezone}' (use an IANA name such as Europe/London)",
                )
            for day, ranges in st.open_hours.items():
                for a, b in ranges:
                    problem = opening_hours_problem(f"{a}-{b}")
                    if problem:
                        self.err(st.path + ("open", day), f"bad opening hours {a}-{b} on {day}: {problem}")
            for i, h in enumerate(st.holidays):
                if not _valid_date(h):
                    self.err(st.path + ("holidays", i), f"'{h}' is not a valid date (YYYY-MM-DD)")
        for prompt in self._prompts_of(st):
            if prompt.audio and not (Path(self.flow.path).parent / prompt.audio).is_file():
                self.warn(
                    prompt.path, f"audio file '{prompt.audio}' not found; the text will be spoken instead"
                )
        if isinstance(st, Subflow) and st.subflow in self.flow.subflows:
            sub = self.flow.subflows[st.subflow]
            if not any(isinstance(x, Return) for x in sub.states.values()):
                self.warn(
                    st.path + ("flow",),
                    f"subflow '{st.subflow}' has no return state, so '{st.next}' is never reached from here",
                )

    def _check_ask(self, st: Ask) -> None:
        mode = st.listening.mode
        answer = st.answer
        collect = answer.collect
        if collect == "menu":
            if not answer.choices:
                self.err(st.path, f"menu '{st.name}' has no choices", key=True)
            for c in answer.choices:
                if mode in ("dtmf",) and not c.dtmf:
                    self.err(c.path, f"choice '{c.id}' has no dtmf key but input is dtmf-only")
                if mode == "speech" and not c.speech:
                    self.err(c.path, f"choice '{c.id}' has no speech phrases but input is speech-only")
                if mode == "both" and not c.dtmf and not c.speech:
                    self.err(c.path, f"choice '{c.id}' has neither a dtmf key nor speech phrases")
            self._check_collisions(st)
        else:
            if answer.choices:
                self.warn(
                    st.path + ("choices",),
                    f"choices are only used when collect is menu (this state collects {collect})",
                )
            if collect == "yesno":
                if not st.next and not (st.yes and st.no):
                    self.err(
                        st.path,
                        f"yes/no question '{st.name}' needs both 'yes' and 'no' targets, or 'next'",
                        key=True,
                    )
            elif not st.next:
                self.err(st.path, f"'{st.name}' collects {collect} but has no 'next' state", key=True)
            if (collect in ("digits", "number", "speech") or collect in TYPED_COLLECTS) and not st.into:
                self.warn(
                    st.path,
                    f"'{st.name}' collects {collect} but does not store it; add 'into: <variable>'",
                    key=True,
                )
        self._check_value_options(st)
        if collect == "digits" and answer.digits_min > answer.digits_max:
            self.err(
                st.path + ("digits",), f"digits min {answer.digits_min} is more than max {answer.digits_max}"
            )
        if (
            answer.range_min is not None
            and answer.range_max is not None
            and answer.range_min > answer.range_max
        ):
            self.err(st.path + ("range",), "range min is more than max")

    def _check_value_options(self, st: Ask) -> None:
        """A typed value's options: under the key of its own kind, limits that parse, in order."""
        collect = st.answer.collect
        raw = self.src.data.get("states", {}).get(st.name) if isinstance(self.src.data, dict) else None
        for kind in TYPED_COLLECTS:
            if isinstance(raw, dict) and kind in raw and kind != collect:
                self.warn(
                    st.path + (kind,),
                    f"'{kind}' options are only used when collect is {kind} (this state collects {collect})",
                    key=True,
                )
        if collect not in TYPED_COLLECTS:
            return
        opts = st.answer.value
        where = st.path + (collect,)
        written: dict[str, object]
        if collect in ("phone", "alphanumeric"):
            written = {"min": opts.min_length, "max": opts.max_length}
        else:
            written = {"min": opts.min, "max": opts.max}
        bounds: dict[str, object] = {}
        for key, text in written.items():
            try:
                bounds[key] = _limit(collect, text)
            except ValueError as err:
                self.err(where + (key,), f"{collect} {key}: {err}")
                return
        lo, hi = bounds["min"], bounds["max"]
        if lo is not None and hi is not None and type(lo) is type(hi) and lo > hi:  # type: ignore[operator]
            self.err(where, f"{collect} min {_shown_limit(lo)} is more than max {_shown_limit(hi)}")
        if collect == "currency" and st.answer.terminator == "*":
            self.err(
                st.path + ("digits", "terminator"),
                "in a currency state * is the decimal point; end the amount with # instead",
            )

    def _check_collisions(self, st: Ask) -> None:
        keys: dict[str, str] = {}
        phrases: dict[str, str] = {}
        for g in st.listening.commands:
            if g.dtmf:
                keys[g.dtmf] = f"global command '{g.name}'"
            for p in g.speech:
                phrases[_norm(p)] = f"global command '{g.name}'"
        choices = st.answer.choices
        for c in choices:
            if c.dtmf:
                if c.dtmf in keys:
                    self.err(
                        c.path + ("dtmf",),
                        f"dtmf key '{c.dtmf}' of choice '{c.id}' is also used by {keys[c.dtmf]}",
                    )
                else:
                    for k, owner in keys.items():
                        if k.startswith(c.dtmf) or c.dtmf.startswith(k):
                            self.warn(
                                c.path + ("dtmf",),
                                f"dtmf key '{c.dtmf}' of choice '{c.id}' "
                                f"is a prefix of, or starts with, '{k}' ({owner}): the "
                                "shorter one waits for the inter-digit timeout",
                            )
                    keys[c.dtmf] = f"choice '{c.id}'"
            for i, p in enumerate(c.speech):
                n = _norm(p)
                if n in phrases:
                    self.err(
                        c.path + ("speech", i),
                        f"speech phrase '{p}' of choice '{c.id}' is also used by {phrases[n]}",
                    )
                else:
                    phrases[n] = f"choice '{c.id}'"
        ids = [c.id for c in choices]
        for c in choices:
            if ids.count(c.id) > 1:
                self.err(c.path + ("id",), f"choice id '{c.id}' is used twice in '{st.name}'")

    # -- expressions and variables ----------------------------------------------

    def check_expressions(self) -> None:
        for st in self.flow.states.values():
            for a in self._assignments_of(st):
                if a.error:
                    self.err(a.path, f"expression for '{a.var}' {a.error}")
            for case in st.cases if isinstance(st, Branch) else ():
                if case.error:
                    self.err(case.path, f"condition {case.error}")
            for a in st.args if isinstance(st, Function) else ():
                if a.error:
                    self.err(a.path, f"expression for argument '{a.var}' {a.error}")
            for path, text in _data_templates(st):
                try:
                    template.placeholders(text)
                except template.TemplateError as err:
                    self.err(path, str(err))
            for prompt in self._prompts_of(st):
                for lang, text in prompt.texts.items():
                    where = prompt.path + ((lang,) if len(prompt.texts) > 1 else ())
                    try:
                        template.placeholders(text)
                    except template.TemplateError as err:
                        self.err(where, str(err))
                    self._check_ssml(where, text)

    def _check_ssml(self, path: PathKey, text: str) -> None:
        """A prompt with markup must be in the SSML subset; the error points into the prompt."""
        if not ssml.is_ssml(text):
            return
        try:
            ssml.parse(text)
        except ssml.SsmlError as err:
            line, col = self._inside(path, text, err.offset)
            self.problems.append(Problem(self.src.path, line, col, "error", f"SSML: {err.message}"))

    def _inside(self, path: PathKey, text: str, offset: int) -> tuple[int, int]:
        """Line and column of `text[offset]` in the file: the scalar's own position, then the
        first place after it where the text from the offset is written (quotes, escapes and
        folded lines make the arithmetic unreliable; the words are there as written)."""
        start = self.src.pos(path)
        source = self.src.text
        lines = source.splitlines(keepends=True)
        base = sum(len(x) for x in lines[: start.line - 1]) + start.col - 1
        rest = text[offset:].split("\n", 1)[0]
        at = -1
        for size in (24, 12, 6, 3):  # shorter when quotes or escapes differ from the text
            fragment = rest[:size]
            at = source.find(fragment, base) if fragment else -1
            if 0 <= at - base <= len(text) * 2 + 200:
                break
            at = -1
        if at < 0:
            return start.line, start.col
        line_start = source.rfind("\n", 0, at) + 1
        return source.count("\n", 0, at) + 1, at - line_start + 1

    def _assignments_of(self, st: State) -> Iterable[Assignment]:
        return _assignments_of(st)

    def _prompts_of(self, st: State) -> Iterator[Prompt]:
        """The prompts written in this state (not those it inherits from settings)."""
        p = prompt_of(st)
        if p is not None:
            yield p
        if isinstance(st, INPUT_STATES):
            if st.help is not None:
                yield st.help
            yield from st.prompts
            own = st.path  # retry prompts inherited from settings are not the state's to check
            yield from (x for x in st.listening.no_input_prompts if x.path[: len(own)] == own)
            yield from (x for x in st.listening.no_match_prompts if x.path[: len(own)] == own)
        if isinstance(st, Ask) and st.confirm and st.confirm.prompt:
            yield st.confirm.prompt

    def check_variables(self) -> None:
        """Forward may-analysis: a variable read at a state must be set on some path to it."""
        f = self.flow
        base = set(BUILTIN_VARS) | set(f.variables) | set(f.inputs)
        set_by: dict[str, set[str]] = {}
        for st in f.states.values():
            out = _vars_set_by(st)
            if isinstance(st, Subflow) and st.subflow in f.subflows:
                out |= _vars_set_anywhere(f.subflows[st.subflow])
            set_by[st.name] = out
        reach: dict[str, set[str]] = {n: set() for n in f.states}
        reach[f.start] = set(base)
        g = self._graph()
        todo = deque([f.start])
        while todo:
            s = todo.popleft()
            out_vars = reach[s] | set_by[s]
            for e in g.get(s, ()):
                if e.target in reach and not out_vars <= reach[e.target]:
                    reach[e.target] |= out_vars
                    todo.append(e.target)
        for st in f.states.values():
            if not reach[st.name] and st.name != f.start:
                continue  # unreachable: already reported
            known = reach[st.name]
            confirm_prompt = st.confirm.prompt if isinstance(st, Ask) and st.confirm else None
            for prompt in self._prompts_of(st):
                local = (
                    known
                    | ({st.into} if isinstance(st, Ask) and st.into and prompt is confirm_prompt else set())
                    | {"value"}
                )
                for lang, text in prompt.texts.items():
                    try:
                        phs = template.placeholders(text)
                    except template.TemplateError:
                        continue
                    for ph in phs:
                        if ph.name not in local:
                            self.err(
                                prompt.path + ((lang,) if len(prompt.texts) > 1 else ()),
                                f"template variable '{ph.name}' is not set on any path to '{st.name}'",
                            )
            for path, text in _data_templates(st):
                try:
                    phs = template.placeholders(text)
                except template.TemplateError:
                    continue
                for ph in phs:
                    if ph.name not in known:
                        self.err(path, f"template variable '{ph.name}' is not set on any path to '{st.name}'")
            exprs = [(a.path, a.expression) for a in self._assignments_of(st) if a.expression]
            if isinstance(st, Function):
                exprs += [(a.path, a.expression) for a in st.args if a.expression is not None]
            if isinstance(st, Branch):
                exprs += [(c.path, c.expression) for c in st.cases if c.expression is not None]
            for path, expression in exprs:
                for name in sorted(expression.names - known - set_by[st.name]):
                    self.err(path, f"variable '{name}' is not set on any path to '{st.name}'")

    # -- languages ----------------------------------------------------------------

    def check_languages(self) -> None:
        f = self.flow
        self._check_language_codes()
        if len(f.languages) < 2:
            for st in f.states.values():
                for prompt in self._prompts_of(st):
                    for lang in prompt.texts:
                        if lang not in f.languages:
                            self.warn(
                                prompt.path,
                                f"prompt has text for '{lang}', which is not a "
                                f"declared language ({', '.join(f.languages)})",
                            )
            return
        for st in f.states.values():
            for prompt in self._prompts_of(st):
                missing = [lang for lang in f.languages if lang not in prompt.texts]
                if not missing:
                    continue
                if f.default_language in prompt.texts:
                    self.warn(
                        prompt.path,
                        f"prompt missing for language {', '.join(missing)}; "
                        f"callers will hear the {f.default_language} text",
                    )
                else:
                    self.err(
                        prompt.path,
                        f"prompt missing for language {', '.join(missing)}, "
                        f"including the fallback language {f.default_language}",
                    )

    # -- speech models ------------------------------------------------------------

    def check_models(self) -> None:
        """Every `model:` names a model that exists, is used, and hears its states' language.

        An unknown name or a missing directory is an error: the flow cannot run as written.
        A registry model not installed on this machine is a warning (a flow is checked where
        it is written, and may run elsewhere; the call refuses to start without it). The
        language rule is in docs/speech-models.md: an error when the model hears none of the
        languages the state's prompts are in, a warning when it hears only some.
        """
        f = self.flow
        usable: dict[PathKey, bool] = {}
        if f.model is not None:
            usable[f.model.path] = self._check_model(f.model)
        for st in f.states.values():
            ref = model_of(st)
            if ref is None:
                continue
            own = ref.path[: len(st.path)] == st.path
            if own:
                usable[ref.path] = self._check_model(ref)
                if not hears_speech(st):
                    why = (
                        "takes keys only (input: dtmf)"
                        if isinstance(st, INPUT_STATES)
                        else "does not transcribe its message (transcribe: true would)"
                    )
                    self.warn(ref.path, f"state '{st.name}' {why}: its model '{ref.spec}' is never used")
                    continue
            if usable.get(ref.path) and hears_speech(st):
                self._check_model_language(st, ref)

    def _check_model(self, ref: ModelRef) -> bool:
        """Report a `model:` that names nothing usable; True when its languages can be checked."""
        if not ref.is_path:
            entry = registry.REGISTRY.get(ref.spec)
            if entry is None:
                names = list(registry.REGISTRY)
                guess = difflib.get_close_matches(ref.spec.lower(), names, n=1, cutoff=0.6)
                hint = (
                    f"; did you mean '{guess[0]}'?"
                    if guess
                    else f" (known: {', '.join(names)}; a model directory is written with a '/', "
                    f"such as ./{ref.spec})"
                )
                self.err(ref.path, f"unknown speech model '{ref.spec}'{hint}")
                return False
            missing = registry.why_missing(entry)
            if missing is not None:
                self.warn(ref.path, f"speech model '{ref.spec}' is not installed here: {missing}")
            return True
        path = Path(ref.target)
        try:
            is_dir = path.is_dir()
        except (OSError, ValueError):
            is_dir = False
        if not is_dir:
            try:
                exists = path.exists()
            except (OSError, ValueError):
                exists = False
            what = "is not a directory" if exists else "does not exist"
            self.err(ref.path, f"speech model directory '{ref.spec}' {what} ({ref.target})")
            return False
        if not (path / "model.bin").is_file() and not is_vosk_model(path):
            self.err(
                ref.path,
                f"'{ref.spec}' is not a speech model directory: neither a faster-whisper model "
                "(model.bin) nor a Vosk model (am/final.mdl and conf/)",
            )
            return False
        return True

    def _check_model_language(self, st: State, ref: ModelRef) -> None:
        hears = registry.languages_of(ref.target)
        speaks = self._languages_of(st)
        if hears is None or not speaks:
            return
        served = [lang for lang in speaks if registry.serves(hears, lang)]
        if len(served) == len(speaks):
            return
        heard = ", ".join(hears)
        unserved = ", ".join(lang for lang in speaks if lang not in served)
        if not served:
            self.err(
                ref.path,
                f"speech model '{ref.spec}' hears {heard} only, but state '{st.name}' speaks "
                f"{unserved}: give it a model for {unserved} (base hears every language)",
            )
        else:
            self.warn(
                ref.path,
                f"speech model '{ref.spec}' hears {heard} only, but state '{st.name}' also speaks "
                f"{unserved}: those callers will not be understood",
            )

    def _check_language_codes(self) -> None:
        """A declared language must be one a speech model can be told (`languages.known`): `sp`
        for Spanish would otherwise be sent to the recogniser and decoded as nothing it knows."""
        data = self.src.data if isinstance(self.src.data, dict) else {}
        where: list[tuple[PathKey, object]] = [(("default_language",), data.get("default_language"))]
        raw = data.get("languages")
        if isinstance(raw, list):
            where += [(("languages", i), lang) for i, lang in enumerate(raw)]
        for path, lang in where:
            if isinstance(lang, str) and not known_language(lang):
                self.err(path, f"'{lang}' is not a language code (ISO 639-1, such as en, es, de or es-MX)")

    def _languages_of(self, st: State) -> list[str]:
        """The languages a state's question is written in, when the flow says them: its prompts'
        languages if the flow declares `languages:` (or `default_language:`) or the prompts name
        a language other than the default; else [] (an undeclared flow is not checked)."""
        prompts: list[Prompt] = []
        if isinstance(st, INPUT_STATES):
            prompts = list(st.prompts)
        elif isinstance(st, Record):
            prompts = [st.prompt]
        langs = list(dict.fromkeys(lang for p in prompts for lang in p.texts))
        data = self.src.data if isinstance(self.src.data, dict) else {}
        declared = "languages" in data or "default_language" in data
        return langs if declared or set(langs) - {self.flow.default_language} else []


def _vars_set_anywhere(flow: Flow) -> set[str]:
    """Variables a (sub)flow may set: its declared ones and every assignment or capture."""
    out = set(flow.variables) | set(flow.inputs)
    for st in flow.states.values():
        out |= _vars_set_by(st)
        if isinstance(st, Subflow) and st.subflow in flow.subflows:
            out |= _vars_set_anywhere(flow.subflows[st.subflow])
    return out


def _vars_set_by(st: State) -> set[str]:
    """Variables this state sets: its `into` and its assignments (a choice's too)."""
    var = into_of(st)
    return ({var} if var else set()) | {a.var for a in _assignments_of(st)} | set(saved_by(st))


def _data_templates(st: State) -> Iterator[tuple[PathKey, str]]:
    """The {templates} of an http step: its URL, its plain headers and the texts of its body."""
    if not isinstance(st, Http):
        return
    yield st.path + ("url",), st.url
    for h in st.headers:
        if h.template is not None:
            yield h.path, h.template
    todo: list[tuple[PathKey, object]] = [(st.path + ("body",), st.body)]
    while todo:
        path, value = todo.pop()
        if isinstance(value, str):
            yield path, value
        elif isinstance(value, dict):
            todo += [(path + (k,), v) for k, v in value.items()]
        elif isinstance(value, list):
            todo += [(path + (i,), v) for i, v in enumerate(value)]


def _assignments_of(st: State) -> Iterator[Assignment]:
    if isinstance(st, SetVars):
        yield from st.assignments
    if isinstance(st, INPUT_STATES):
        for c in st.answer.choices:
            yield from c.assignments


def _targets_of(st: State) -> Iterator[tuple[PathKey, str]]:
    """Every state a state names, with where it names it, in the order of the old field list:
    next, on_failure, else, if_open, if_closed, if_holiday, callback, yes, no, choices, cases."""
    p = st.path
    if isinstance(st, (Play, SetVars, Record, Subflow, Ask, Survey)) and st.next:
        yield p + ("next",), st.next
    if isinstance(st, INPUT_STATES) and st.on_failure:
        yield st.on_failure_path, st.on_failure
    if isinstance(st, Branch):
        yield p + ("else",), st.otherwise
    if isinstance(st, Hours):
        for key, target in (
            ("if_open", st.if_open),
            ("if_closed", st.if_closed),
            ("if_holiday", st.if_holiday),
        ):
            if target:
                yield p + (key,), target
    if isinstance(st, Queue) and st.callback is not None:
        yield p + ("callback", "next"), st.callback.next
    if isinstance(st, Ask):
        for key, target in (("yes", st.yes), ("no", st.no)):
            if target:
                yield p + (key,), target
    if isinstance(st, INPUT_STATES):
        for c in st.answer.choices:
            yield c.path + ("next",), c.next
    if isinstance(st, Branch):
        for case in st.cases:
            yield case.path[:-1] + ("next",), case.next
    if isinstance(st, Transfer):
        for key, target in (("transferred", st.transferred), ("failed", st.failed)):
            if target:
                yield p + (key,), target
    if isinstance(st, (Http, Function)):
        yield p + ("success",), st.success
        yield p + ("failure",), st.failure
        if st.on_timeout:
            yield p + ("on_timeout",), st.on_timeout


def _norm(s: str) -> str:
    return " ".join(re.sub(r"[^\w\s']", " ", s.lower()).split())


def _limit(collect: str, text: object) -> object:
    """A typed value's limit as a comparable value (None: none, or `today`); ValueError
    naming what is wrong."""
    if text is None or text == "today":
        return None
    if collect == "date":
        try:
            return date.fromisoformat(str(text))
        except ValueError:
            raise ValueError(f"'{text}' is not a calendar date (YYYY-MM-DD, or today)") from None
    if collect == "time":
        if time_of_day_problem(str(text)) or str(text).startswith("24"):
            raise ValueError(f"'{text}' is not a time of day from 00:00 to 23:59 (HH:MM)")
        return str(text)
    if collect == "currency":
        return float(str(text))
    return text


def _shown_limit(value: object) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


def _valid_date(s: str) -> bool:
    from datetime import date

    try:
        date.fromisoformat(s)
        return True
    except ValueError:
        return False


def _sccs(states: dict[str, State], g: dict[str, list[Edge]]) -> list[set[str]]:
    """Strongly connected components (iterative Tarjan), ignoring retry self-loops."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[set[str]] = []
    counter = 0
    for root in states:
        if root in index:
            continue
        work = [(root, iter([e.target for e in g.get(root, ()) if e.kind != "retry"]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, it = work[-1]
            advanced = False
            for nxt in it:
                if nxt not in states:
                    continue
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter([e.target for e in g.get(nxt, ()) if e.kind != "retry"])))
                    advanced = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = set()
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.add(w)
                    if w == node:
                        break
                out.append(comp)
    return out
