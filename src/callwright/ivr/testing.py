"""Flow tests: scenarios a designer writes in YAML, run on the real engine.

A test file names a flow and lists scenarios. Each scenario sets the context
(clock time, caller id, language, queue waits, variables), plays caller steps
(say, press, silence, record, hangup) with `expect` checks between them, and
ends with expectations on the outcome. Scenarios run on a fake clock, so a
30-second no-input path takes no wall time. Coverage counts the states and the
edges (including no-input, no-match and max-retries paths) the scenarios took.

    flow: ../inbound.yaml
    defaults: {time: "2026-11-23T10:00-05:00", caller_id: "+15550100"}
    tests:
      - name: billing by keys
        steps:
          - expect: {state: choose-language}
          - press: "1"
          - say: billing
          - press: "4111#"
          - say: "yes"
        expect: {outcome: transferred, queue: billing, vars: {account_number: "4111"}}
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from callwright.common.source import PathKey, Source, SourceError
from callwright.common.source import load as load_source
from callwright.errors import DataError
from callwright.flows.loader import parse_duration
from callwright.flows.model import Flow, Subflow, edges
from callwright.ivr.clock import FakeClock
from callwright.ivr.datasteps import DataFailed, DataOk, DataResult, DataTimedOut, HttpRequest, http_result
from callwright.ivr.engine import FlowEngine, load_engine
from callwright.ivr.events import (
    Action,
    CallerEvent,
    Dtmf,
    EndCall,
    Hangup,
    Recorded,
    Say,
    Speech,
    Transfer,
    TransferOutcome,
)
from callwright.ivr.runner import run_call
from callwright.ivr.session import CallSession, QueueStatus

STEP_KINDS = ("say", "press", "silence", "record", "hangup", "expect")
SCENARIO_KEYS = {
    "name",
    "time",
    "caller_id",
    "called_number",
    "language",
    "queue_wait",
    "vars",
    "mocks",
    "steps",
    "expect",
    "description",
}
EXPECT_KEYS = {
    "state",
    "prompt",
    "prompts",
    "no_prompt",
    "vars",
    "outcome",
    "queue",
    "disposition",
    "visited",
    "transfer_skill",
    "ended",
}
CONTEXT_KEYS = {"time", "caller_id", "called_number", "language", "queue_wait", "vars", "mocks"}
MOCK_KEYS = {"status", "json", "body", "result", "raises", "timeout", "error", "transfer"}
"""A data step's canned answer: http `status` + `json` or `body`; function `result` or
`raises`; either `timeout: true` or `error: text` (the request failed). A transfer state's:
`transfer: failed` (or `transferred`, what a transfer without a mock does)."""
TRANSFER_MOCKS = ("transferred", "failed")
MAX_QUEUE_WAIT_S = 86_400.0  # a scenario's expected queue wait: at most a day
MIN_YEAR, MAX_YEAR = 1900, 9000  # a scenario's clock stays where date arithmetic cannot overflow
_KEYS = re.compile(r"[0-9*#]+")
# expectation -> the types its value may have, and how to name them
_EXPECT_TYPES: dict[str, tuple[tuple[type, ...], str]] = {
    "state": ((str,), "a state name"),
    "prompt": ((str,), "text"),
    "no_prompt": ((str,), "text"),
    "prompts": ((list,), "a list of texts"),
    "visited": ((list,), "a list of state names"),
    "vars": ((dict,), "a mapping of variables to values"),
    "ended": ((bool,), "true or false"),
    "outcome": ((str, type(None)), "text or null"),
    "queue": ((str, type(None)), "text or null"),
    "disposition": ((str, type(None)), "text or null"),
    "transfer_skill": ((str, type(None)), "text or null"),
}


@dataclass
class ScenarioResult:
    file: str
    name: str
    line: int
    passed: bool
    failures: list[str]
    dialogue: list[str]
    outcome: str | None
    visited: list[str]

    def explain(self) -> str:
        out = [f"  {self.file}:{self.line}: scenario '{self.name}' failed:"]
        out += [f"    - {f}" for f in self.failures]
        out.append("    dialogue:")
        out += [f"      {d}" for d in self.dialogue]
        return "\n".join(out)

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "name": self.name,
            "passed": self.passed,
            "failures": self.failures,
            "outcome": self.outcome,
            "visited": self.visited,
        }


@dataclass
class Coverage:
    flow: str
    states: set[str]
    edges: set[tuple[str, str]]
    states_hit: set[str] = field(default_factory=set)
    edges_hit: set[tuple[str, str]] = field(default_factory=set)

    @property
    def missing_states(self) -> list[str]:
        return sorted(self.states - self.states_hit)

    @property
    def missing_edges(self) -> list[tuple[str, str]]:
        return sorted(self.edges - self.edges_hit)

    def summary(self) -> str:
        s = (
            f"coverage {self.flow}: states {len(self.states & self.states_hit)}/{len(self.states)}, "
            f"edges {len(self.edges & self.edges_hit)}/{len(self.edges)}"
        )
        if self.missing_states:
            s += "\n  states not covered: " + ", ".join(self.missing_states)
        if self.missing_edges:
            s += "\n  edges not covered: " + ", ".join(f"{a} --{b}-->" for a, b in self.missing_edges)
        return s


@dataclass
class TestReport:
    results: list[ScenarioResult]
    coverage: list[Coverage]


def collect_test_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            files += sorted(p.rglob("*.test.yaml"))
        elif p.is_file():
            files.append(p)
        else:
            raise DataError(f"{p}: no such file or folder")
    if not files:
        raise DataError("no flow test files found (they are named *.test.yaml)")
    return files


def run_test_files(files: list[Path]) -> TestReport:
    results: list[ScenarioResult] = []
    coverage: dict[str, Coverage] = {}
    engines: dict[str, FlowEngine] = {}
    for f in files:
        suite = _load_suite(f)
        try:
            flow_path = str((f.parent / suite.flow).resolve())
        except (OSError, RuntimeError, ValueError):  # a symlink loop, a NUL byte: load_flow says so
            flow_path = str(f.parent / suite.flow)
        if flow_path not in engines:
            # the checker first, as for a real call: a flow with errors is refused, not half-run
            engines[flow_path] = load_engine(f.parent / suite.flow)
            coverage[flow_path] = _coverage_of(engines[flow_path].flow)
        engine = engines[flow_path]
        for sc in suite.scenarios:
            res, session = _run_scenario(engine, str(f), sc, suite.defaults)
            results.append(res)
            cov = coverage[flow_path]
            cov.states_hit |= set(session.visited)
            cov.edges_hit |= _edges_hit(session)
    return TestReport(results, list(coverage.values()))


# --- loading -------------------------------------------------------------------------


@dataclass
class _Scenario:
    name: str
    line: int
    data: dict[str, Any]
    path: PathKey


@dataclass
class _Suite:
    flow: str
    defaults: dict[str, Any]
    scenarios: list[_Scenario]


def _load_suite(path: Path) -> _Suite:
    try:
        src = load_source(path)
    except SourceError as err:
        raise DataError("\n".join(str(p) for p in err.problems)) from None
    d = src.data

    def bad(p: PathKey, msg: str, key: bool = False) -> DataError:
        return DataError(str(src.problem(p, "error", msg, key=key)))

    if not isinstance(d, dict) or not isinstance(d.get("flow"), str):
        raise bad((), "a flow test file needs 'flow: <path to the flow>' and 'tests: [...]'")
    if not isinstance(d.get("tests"), list) or not d["tests"]:
        raise bad(("tests",), "'tests' must be a non-empty list of scenarios")
    defaults = d.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise bad(("defaults",), "'defaults' must be a mapping")
    for key in defaults:
        if key not in CONTEXT_KEYS:
            guess = difflib.get_close_matches(str(key), CONTEXT_KEYS, n=1)
            raise bad(
                ("defaults", key),
                f"unknown default '{key}'"
                + (
                    f"; did you mean '{guess[0]}'?"
                    if guess
                    else f"; defaults may set {', '.join(sorted(CONTEXT_KEYS))}"
                ),
                key=True,
            )
    _check_context(src, ("defaults",), defaults)
    scenarios = []
    for i, sc in enumerate(d["tests"]):
        p: PathKey = ("tests", i)
        if not isinstance(sc, dict) or not isinstance(sc.get("name"), str):
            raise bad(p, "each scenario needs a 'name'")
        for key in sc:
            if key not in SCENARIO_KEYS:
                guess = difflib.get_close_matches(key, SCENARIO_KEYS, n=1)
                raise bad(
                    p + (key,),
                    f"unknown scenario key '{key}'" + (f"; did you mean '{guess[0]}'?" if guess else ""),
                    key=True,
                )
        _check_context(src, p, sc)
        steps = sc.get("steps") or []
        if not isinstance(steps, list):
            raise bad(p + ("steps",), "'steps' must be a list of caller steps")
        for j, step in enumerate(steps):
            _check_step(src, p + ("steps", j), step)
        if "expect" in sc:
            _check_expect(src, p + ("expect",), sc["expect"])
        scenarios.append(_Scenario(sc["name"], src.pos(p).line, sc, p))
    return _Suite(d["flow"], defaults, scenarios)


def _error(src: Source, p: PathKey, message: str, *, key: bool = False) -> DataError:
    return DataError(str(src.problem(p, "error", message, key=key)))


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _check_context(src: Source, p: PathKey, d: dict[str, Any]) -> None:
    """The call context a scenario (or the defaults) sets: each value of the type the engine takes."""
    if "time" in d and d["time"] is not None:
        when = d["time"]
        try:
            moment = datetime.fromisoformat(when) if isinstance(when, str) else None
        except ValueError:
            moment = None
        if moment is None:
            raise _error(
                src,
                p + ("time",),
                f"time {_shown(when)} is not an ISO date-time such as 2026-11-23T10:00:00-05:00",
            )
        if not MIN_YEAR <= moment.year <= MAX_YEAR:
            raise _error(src, p + ("time",), f"time {when}: the year must be from {MIN_YEAR} to {MAX_YEAR}")
    for key in ("caller_id", "called_number"):
        if key in d and (isinstance(d[key], bool) or not isinstance(d[key], (str, int))):
            raise _error(src, p + (key,), f'{key} must be text such as "+15550100", not {_shown(d[key])}')
    if "language" in d and d["language"] is not None and not isinstance(d["language"], str):
        raise _error(
            src,
            p + ("language",),
            f"language must be a language code such as en, not {_shown(d['language'])}",
        )
    waits = d.get("queue_wait")
    if waits is not None:
        if not isinstance(waits, dict):
            raise _error(
                src,
                p + ("queue_wait",),
                "queue_wait must map queue names to expected waits, e.g. {billing: 300}",
            )
        for queue, wait in waits.items():
            try:
                parse_duration(wait, limit=MAX_QUEUE_WAIT_S)
            except ValueError as err:
                raise _error(src, p + ("queue_wait", queue), f"queue_wait {queue}: {err}") from None
    if d.get("mocks") is not None:
        _check_mocks(src, p + ("mocks",), d["mocks"])
    variables = d.get("vars")
    if variables is not None:
        if not isinstance(variables, dict):
            raise _error(src, p + ("vars",), "vars must map variable names to values")
        for name, value in variables.items():
            if isinstance(value, float) and not math.isfinite(value):
                raise _error(src, p + ("vars", name), f"vars {name}: {value} is not a finite number")
            if not isinstance(value, (str, int, float, bool, type(None))):
                raise _error(
                    src,
                    p + ("vars", name),
                    f"vars {name}: expected text, a number, true, false or null, not a list or a mapping",
                )


def _check_mocks(src: Source, p: PathKey, mocks: Any) -> None:
    if not isinstance(mocks, dict):
        raise _error(src, p, "mocks must map data step (http, function) state names to canned answers")
    for state, mock in mocks.items():
        if not isinstance(mock, dict):
            raise _error(
                src,
                p + (state,),
                f"mocks {state}: expected a mapping such as {{status: 200, json: {{...}}}}, "
                "{result: ...}, {raises: ValueError} or {timeout: true}",
            )
        for key in mock:
            if key not in MOCK_KEYS:
                guess = difflib.get_close_matches(str(key), MOCK_KEYS, n=1)
                raise _error(
                    src,
                    p + (state, key),
                    f"unknown mock key '{key}'"
                    + (
                        f"; did you mean '{guess[0]}'?"
                        if guess
                        else f"; known: {', '.join(sorted(MOCK_KEYS))}"
                    ),
                    key=True,
                )
        status = mock.get("status", 200)
        if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
            raise _error(
                src, p + (state, "status"), f"mocks {state}: status must be an HTTP status from 100 to 599"
            )
        if "transfer" in mock and mock["transfer"] not in TRANSFER_MOCKS:
            raise _error(
                src,
                p + (state, "transfer"),
                f"mocks {state}: transfer is transferred or failed, not {_shown(mock['transfer'])}",
            )
        if "body" in mock and not isinstance(mock["body"], str):
            raise _error(src, p + (state, "body"), f"mocks {state}: body is the response text")


def _check_step(src: Source, p: PathKey, step: Any) -> None:
    if isinstance(step, str) and step in ("silence", "hangup"):
        return
    if not isinstance(step, dict) or not any(k in step for k in STEP_KINDS):
        raise _error(src, p, "a step is one of: say, press, silence, record, hangup, expect")
    extra = set(step) - set(STEP_KINDS) - {"confidence"}
    if extra:
        raise _error(src, p, f"unknown step key(s): {', '.join(sorted(map(str, extra)))}")
    kinds = [k for k in STEP_KINDS if k in step]
    if len(kinds) > 1:
        raise _error(
            src, p, f"a step does one thing; this one has {' and '.join(kinds)} (make them separate steps)"
        )
    if "say" in step and not isinstance(step["say"], str):
        raise _error(
            src,
            p + ("say",),
            f"say: expected the caller's words as text, not {_shown(step['say'])} (quote them)",
        )
    if "confidence" in step:
        conf = step["confidence"]
        if "say" not in step:
            raise _error(src, p + ("confidence",), "confidence goes with a say step", key=True)
        if isinstance(conf, bool) or not isinstance(conf, (int, float)) or not 0 <= conf <= 1:
            raise _error(
                src, p + ("confidence",), f"confidence must be a number from 0 to 1, not {_shown(conf)}"
            )
    if "press" in step:
        keys = step["press"]
        if not isinstance(keys, str):
            raise _error(
                src,
                p + ("press",),
                f'press: expected keys as text such as "1" or '
                f'"4111#", not {_shown(keys)} (quote them: a number loses leading zeros)',
            )
        if not _KEYS.fullmatch(keys):
            raise _error(src, p + ("press",), f"press: {_shown(keys)} is not keypad keys (0-9, * and #)")
    if "record" in step and not isinstance(step["record"], str):
        raise _error(
            src, p + ("record",), f"record: expected the message as text, not {_shown(step['record'])}"
        )
    if "expect" in step:
        _check_expect(src, p + ("expect",), step["expect"])


def _check_expect(src: Source, p: PathKey, exp: Any) -> None:
    if not isinstance(exp, dict):
        raise _error(src, p, "'expect' must be a mapping")
    for key in exp:
        if key not in EXPECT_KEYS:
            guess = difflib.get_close_matches(str(key), EXPECT_KEYS, n=1)
            raise _error(
                src,
                p + (key,),
                f"unknown expectation '{key}'" + (f"; did you mean '{guess[0]}'?" if guess else ""),
                key=True,
            )
        types, name = _EXPECT_TYPES[key]
        value = exp[key]
        if (isinstance(value, bool) and bool not in types) or not isinstance(value, types):
            raise _error(src, p + (key,), f"expect {key}: expected {name}, not {_shown(value)}")
        if isinstance(value, list) and not all(isinstance(x, str) for x in value):
            raise _error(src, p + (key,), f"expect {key}: expected {name}")


# --- running --------------------------------------------------------------------------


class MockData:
    """A scenario's data service: each data step gets its canned answer, through the same
    response handling as a real one (status, JSON, the `save` paths); nothing is sent."""

    def __init__(self, mocks: dict[str, Any]) -> None:
        self.mocks = mocks
        self.failures: list[str] = []
        self.used: list[str] = []

    def _mock(self, state: str) -> dict[str, Any] | None:
        mock = self.mocks.get(state)
        if mock is None:
            self.failures.append(
                f"data step '{state}' has no mock in this scenario (add mocks: {{{state}: ...}}); "
                "it took its failure edge"
            )
        else:
            self.used.append(state)
        return mock

    def _common(self, mock: dict[str, Any]) -> DataResult | None:
        if mock.get("timeout"):
            return DataTimedOut("mocked timeout")
        if "error" in mock:
            return DataFailed(f"mocked failure: {mock['error']}")
        return None

    def http(self, state: str, request: HttpRequest) -> DataResult:
        mock = self._mock(state)
        if mock is None:
            return DataFailed("no mock")
        early = self._common(mock)
        if early is not None:
            return early
        if "json" in mock:
            body = json.dumps(mock["json"], default=str).encode()
        else:
            body = str(mock.get("body", "")).encode()
        return http_result(int(mock.get("status", 200)), body)

    def function(self, state: str, name: str, args: dict[str, Any], timeout_s: float) -> DataResult:
        mock = self._mock(state)
        if mock is None:
            return DataFailed("no mock")
        early = self._common(mock)
        if early is not None:
            return early
        if "raises" in mock:
            return DataFailed(f"function '{name}' raised {mock['raises']}")
        return DataOk(mock.get("result"))

    def secret(self, name: str) -> str | None:
        return f"mock-secret-{name}"


class ScriptChannel:
    """A channel that plays a scenario's steps and checks its expectations as it goes."""

    name = "test"

    def __init__(self, steps: list[Any], mocks: dict[str, Any] | None = None) -> None:
        self.steps = deque(enumerate(steps, 1))
        self.mocks = mocks or {}  # a transfer state's mock: {transfer: failed} (else it transfers)
        self.since_input: list[Say] = []
        self.dialogue: list[str] = []
        self.failures: list[str] = []
        self.transfers: list[Transfer] = []
        self.pending: deque[CallerEvent] = deque()
        self.session: CallSession | None = None

    def perform(self, action: Action) -> None:
        if isinstance(action, Say):
            self.since_input.append(action)
            self.dialogue.append(f"IVR ({action.state}): {action.text}")
        elif isinstance(action, Transfer):
            self.transfers.append(action)
            self.dialogue.append(f"[transfer to {action.queue or action.destination}]")
            mocked = self.mocks.get(action.state or "") or {}
            result = mocked.get("transfer", "transferred")  # checked when the file was loaded
            if result == "failed":
                self.dialogue.append("[transfer failed (mocked)]")
            self.pending.appendleft(TransferOutcome(result, "mocked failure" if result == "failed" else None))
        elif isinstance(action, EndCall):
            self.dialogue.append(f"[end: {action.outcome}]")

    def receive(self, session: CallSession) -> CallerEvent | None:
        self.session = session
        while True:
            if self.pending:
                return self.pending.popleft()
            if session.timer_kind == "inter_digit":
                return None
            if not self.steps:
                self.dialogue.append("caller: (hangs up: no more steps)")
                return Hangup()
            n, step = self.steps.popleft()
            if isinstance(step, str):
                step = {step: True}
            if "expect" in step:
                self.check(n, step["expect"], session)
                continue
            self.since_input = []
            if "say" in step:
                conf = float(step.get("confidence", 1.0))
                self.dialogue.append(f"caller: {step['say']}" + (f" [{conf}]" if conf != 1.0 else ""))
                return Speech(str(step["say"]), conf)
            if "press" in step:
                keys = str(step["press"])
                self.dialogue.append(f"caller: presses {keys}")
                self.pending.extend(Dtmf(k) for k in keys)
                continue
            if "record" in step:
                self.dialogue.append(f"caller (message): {step['record']}")
                return Recorded(text=str(step["record"]))
            if "hangup" in step:
                self.dialogue.append("caller: hangs up")
                return Hangup()
            self.dialogue.append("caller: (silence)")
            return None

    def finish(self, session: CallSession) -> None:
        """Steps left after the call ended: only expectations may remain."""
        for n, step in self.steps:
            if isinstance(step, dict) and "expect" in step:
                self.check(n, step["expect"], session)
            else:
                self.failures.append(
                    f"step {n}: the call had already ended ({session.outcome}) before this step"
                )

    def check(self, n: int, exp: dict[str, Any], session: CallSession) -> None:
        self.failures += [f"step {n}: {f}" for f in _compare(exp, session, self.since_input, self.transfers)]


def _compare(exp: dict[str, Any], s: CallSession, prompts: list[Say], transfers: list[Transfer]) -> list[str]:
    fails = []
    texts = [p.text for p in prompts]
    state = s.visited[-1] if s.visited else None
    if "state" in exp and exp["state"] != state:
        fails.append(f"expected state '{exp['state']}', got '{state}'")
    if "prompt" in exp and not any(str(exp["prompt"]).lower() in t.lower() for t in texts):
        fails.append(
            f"expected a prompt containing {exp['prompt']!r}; prompts were: "
            + (" | ".join(texts) or "(none)")
        )
    if "no_prompt" in exp and any(str(exp["no_prompt"]).lower() in t.lower() for t in texts):
        fails.append(f"expected no prompt containing {exp['no_prompt']!r}")
    if "prompts" in exp:
        want = [str(x) for x in exp["prompts"]]
        if not _subsequence(want, texts):
            diff = "\n".join(difflib.unified_diff(want, texts, "expected", "actual", lineterm=""))
            fails.append("prompts differ:\n" + diff)
    for key, want in (exp.get("vars") or {}).items():
        got = s.vars.get(key)
        if str(got) != str(want) if want is not None else got is not None:
            fails.append(f"expected variable {key} = {want!r}, got {got!r}")
    for key in ("outcome", "queue", "disposition"):
        if key in exp and exp[key] != getattr(s, key):
            fails.append(f"expected {key} {exp[key]!r}, got {getattr(s, key)!r}")
    if "ended" in exp and bool(exp["ended"]) != s.ended:
        fails.append(f"expected the call {'to have ended' if exp['ended'] else 'to be in progress'}")
    if "transfer_skill" in exp:
        got = transfers[-1].skill if transfers else None
        if got != exp["transfer_skill"]:
            fails.append(f"expected transfer skill {exp['transfer_skill']!r}, got {got!r}")
    if "visited" in exp:
        want = [str(x) for x in exp["visited"]]
        if not _subsequence(want, s.visited):
            diff = "\n".join(difflib.unified_diff(want, s.visited, "expected", "actual", lineterm=""))
            fails.append("visited states differ:\n" + diff)
    return fails


def _subsequence(want: list[str], got: list[str]) -> bool:
    """Each wanted item appears (as a case-insensitive substring) in order."""
    it = iter(got)
    return all(any(w.lower() in g.lower() for g in it) for w in want)


def _run_scenario(
    engine: FlowEngine, file: str, sc: _Scenario, defaults: dict[str, Any]
) -> tuple[ScenarioResult, CallSession]:
    d = {**defaults, **sc.data}
    when = d.get("time")
    try:
        start = datetime.fromisoformat(str(when)) if when else None
    except ValueError:
        raise DataError(
            f"{file}:{sc.line}: scenario '{sc.name}': time {when!r} is not an ISO date-time"
        ) from None
    clock = FakeClock(start)
    waits = {k: parse_duration(v, limit=MAX_QUEUE_WAIT_S) for k, v in (d.get("queue_wait") or {}).items()}
    mocks = dict(d.get("mocks") or {})
    channel = ScriptChannel(list(sc.data.get("steps") or []), mocks)
    data = MockData(mocks)
    session = run_call(
        engine,
        channel,
        clock,
        caller_id=str(d.get("caller_id", "+15550100")),
        called_number=str(d.get("called_number", "")),
        language=d.get("language"),
        variables=d.get("vars"),
        queue_status=QueueStatus(waits),
        data=data,
    )
    channel.finish(session)
    channel.failures += data.failures
    if "expect" in sc.data:
        channel.failures += _compare(sc.data["expect"], session, [], channel.transfers)
    res = ScenarioResult(
        file,
        sc.name,
        sc.line,
        not channel.failures,
        channel.failures,
        channel.dialogue,
        session.outcome,
        session.visited,
    )
    return res, session


# --- coverage ---------------------------------------------------------------------------


def _coverage_of(flow: Flow, prefix: str = "") -> Coverage:
    states = {prefix + n for n in flow.states}
    es = {(prefix + e.source, e.label) for e in edges(flow)}
    cov = Coverage(flow.name, states, es)
    for name, st in flow.states.items():
        if isinstance(st, Subflow) and st.subflow in flow.subflows:
            sub = _coverage_of(flow.subflows[st.subflow], f"{prefix}{name}.")
            cov.states |= sub.states
            cov.edges |= sub.edges
    return cov


def _edges_hit(s: CallSession) -> set[tuple[str, str]]:
    hit = {(src, label) for src, label in s.edges_taken}
    for src, label in s.edges_taken:
        if label == "call":
            hit.add((src, "next"))  # the model's edge for a subflow call
        if label.startswith("return:"):
            hit.add((label.split(":", 1)[1], "next"))
    for e in s.events:
        if e.kind in ("no_input", "no_match") and e.state:
            hit.add((e.state, e.kind))
        if e.kind == "global_command" and e.data.get("command") == "operator" and e.state:
            hit.add((e.state, "operator"))
    return hit
