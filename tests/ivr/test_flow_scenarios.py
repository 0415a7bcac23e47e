"""The sample flows' YAML scenarios, in-process: one named test per scenario, and a snapshot of each.

Why: issue 13 refactors the IVR session (flow states as types, input interpretation as pure
functions) without changing behaviour. Two guards per scenario of flows/tests/*.test.yaml:

- `test_scenario_passes[file:name]` runs the scenario on the real engine with its fake clock
  and fails with the runner's own explanation (the failed expectations and the dialogue), so a
  broken scenario is named by pytest, not lost in one test over all files.
- `test_scenario_event_log[file:name]` compares what the session did (the ordered event log:
  kind, state, fake-clock time and data of each event; the outcome, the states visited and
  the dialogue) with the snapshot committed in tests/ivr/__snapshots__/. A scenario's
  expectations check a few things; the snapshot catches any other drift (an extra prompt, a
  retry more or less, a changed `via`, a value logged unmasked).

Updating the snapshots:

    .venv/bin/python -m pytest tests/ivr/test_flow_scenarios.py --snapshot-update

is legitimate only for a deliberate behaviour change (a prompt reworded, a retry limit changed,
a new event kind logged, a new scenario), and the changed .ambr lines are part of the diff a
reviewer reads. A refactor that claims "no behaviour change" must pass without updating them.
Unused snapshots (a scenario renamed or removed) are reported by syrupy; `--snapshot-update`
deletes them.

Nothing here varies between runs: the clock is fake (each scenario's `time`, or FakeClock's
fixed Monday), events carry fake-clock seconds since the call started, and the random call id
is in no event. The event sequence number is left out (the list order says it, and one
inserted event would otherwise rewrite every later line); data keys are sorted so a
reordered keyword argument is not a behaviour change.

The runner has no public per-scenario API, so this uses its `_load_suite` and `_run_scenario`
(the same loading, checks and fake clock as `callwright flow test`); if the runner moves or
renames them, the one import line below changes, and collection fails loudly until it does.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from syrupy.assertion import SnapshotAssertion

from callwright.errors import DataError
from callwright.ivr import testing as flow_testing  # the flow-test runner
from callwright.ivr.engine import FlowEngine, load_engine

if TYPE_CHECKING:  # names only: a refactor that moves them breaks the type check, not the run
    from callwright.ivr.events import LogEvent
    from callwright.ivr.session import CallSession

ROOT = Path(__file__).resolve().parents[2]
SCENARIO_FILES = sorted((ROOT / "flows" / "tests").glob("*.test.yaml"))


@dataclass(frozen=True)
class _Case:
    """One scenario of a test file, as the runner loads it (or the file's load error)."""

    file: Path
    index: int
    name: str
    load_error: str | None = None

    @property
    def id(self) -> str:
        """`inbound.test.yaml:billing by keys`. One colon, not `::`: pytest and syrupy split node
        ids on `::`, so `file::name` could not be selected on the command line and would garble
        the snapshot's name."""
        return f"{self.file.name}:{self.name.replace('::', ': :')}"


def _collect() -> list[_Case]:
    cases: list[_Case] = []
    for f in SCENARIO_FILES:
        try:
            suite = flow_testing._load_suite(f)
        except DataError as err:  # a broken test file is one failing test that says why
            cases.append(_Case(f, -1, "(load error)", str(err)))
            continue
        cases += [_Case(f, i, sc.name) for i, sc in enumerate(suite.scenarios)]
    return cases


CASES = _collect()


@functools.cache
def _engine(flow_path: Path) -> FlowEngine:
    """One engine per flow, shared by its scenarios, as `callwright flow test` does."""
    return load_engine(flow_path)  # the checker first, as for a real call


def _run(case: _Case) -> tuple[flow_testing.ScenarioResult, CallSession]:
    if case.load_error is not None:
        pytest.fail(case.load_error, pytrace=False)
    suite = flow_testing._load_suite(case.file)
    engine = _engine((case.file.parent / suite.flow).resolve())
    return flow_testing._run_scenario(
        engine, str(case.file.relative_to(ROOT)), suite.scenarios[case.index], suite.defaults
    )


def _event_line(ev: LogEvent) -> str:
    """`t kind [state] {data}`: one line per event, so a snapshot diff shows the event that moved."""
    data = json.dumps(ev.data, sort_keys=True, ensure_ascii=False)
    return f"{ev.t:.3f} {ev.kind} [{ev.state or '-'}] {data}"


def event_log(session: CallSession, result: flow_testing.ScenarioResult) -> dict[str, Any]:
    """What the call did, with nothing that varies between runs."""
    return {
        "outcome": session.outcome,
        "disposition": session.disposition,
        "queue": session.queue,
        "visited": list(session.visited),
        "events": [_event_line(ev) for ev in session.events],
        "dialogue": list(result.dialogue),
    }


def test_scenarios_found() -> None:
    """A moved or emptied flows/tests must not turn both parametrised tests into zero tests."""
    assert SCENARIO_FILES, "no flows/tests/*.test.yaml"
    assert len({c.id for c in CASES}) == len(CASES), "two scenarios share a file:name id"
    assert len(CASES) >= len(SCENARIO_FILES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_scenario_passes(case: _Case) -> None:
    result, _ = _run(case)
    if not result.passed:
        pytest.fail(result.explain(), pytrace=False)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_scenario_event_log(case: _Case, snapshot: SnapshotAssertion) -> None:
    result, session = _run(case)
    assert event_log(session, result) == snapshot
