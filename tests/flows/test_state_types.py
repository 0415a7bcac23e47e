"""The typed flow model: one dataclass per state kind, settings filled in once by the loader.

Why: the session, the checker, the diagrams and coverage read a state's settings from one
field (`st.listening.no_input_s`), never `st.x if st.x is not None else settings.x`; these
tests pin that the loader puts the state's own value there when it has one and the flow's
setting otherwise, field by field.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from callwright.flows import model
from callwright.flows.loader import loads, schema
from callwright.flows.model import Answer, Ask, Branch, Edge, Survey, edges

ROOT = Path(__file__).resolve().parents[2]

FLOW = """\
flow: typed
start: plain
settings:
  input: dtmf
  timeouts: {no_input: 7s, inter_digit: 2s, end_of_speech: 900ms, max_speech: 20s}
  retries: {no_input: 1, no_match: 4}
  barge_in: false
  accept_confidence: 0.55
  on_failure: bye
  no_input_prompts: "Settings: are you there?"
  no_match_prompts: ["Settings: once more.", "Settings: last time."]
  global_commands:
    operator: {dtmf: "0", speech: [agent], next: bye}
    help: {speech: [help]}
states:
  plain:
    type: ask
    collect: digits
    prompt: "Your account number?"
    into: account
    next: own
  own:
    type: ask
    collect: number
    prompt: "How many?"
    input: speech
    timeouts: {no_input: 3s, inter_digit: 1s, end_of_speech: 500ms, max_speech: 5s}
    retries: {no_input: 0, no_match: 0}
    barge_in: true
    accept_confidence: 0
    on_failure: bye
    no_input_prompts: "Own: hello?"
    no_match_prompts: "Own: again."
    global_commands: false
    range: {min: 1, max: 9}
    next: rate
  rate:
    type: survey
    question: csat
    prompt: "From 1 to 5?"
    next: fixed
  fixed:
    type: survey
    question: resolved
    prompt: "Was it resolved?"
    into: done
    next: route
  route:
    type: branch
    cases:
      - {if: "account == '1'", next: bye}
      - {if: "done", next: plain}
    else: bye
  bye:
    type: hangup
    prompt: "Bye."
"""

# (field of Listening, the value `plain` inherits from settings, `own`'s value)
LISTENING = [
    ("mode", "dtmf", "speech"),
    ("no_input_s", 7.0, 3.0),
    ("inter_digit_s", 2.0, 1.0),
    ("end_of_speech_s", 0.9, 0.5),
    ("max_speech_s", 20.0, 5.0),
    ("retries_no_input", 1, 0),
    ("retries_no_match", 4, 0),
    ("accept_confidence", 0.55, 0),
]


@pytest.fixture(scope="module")
def flow() -> model.Flow:
    result = loads(FLOW, "typed.yaml")
    assert not result.errors, result.errors
    assert result.flow is not None
    return result.flow


@pytest.mark.parametrize(("field", "inherited", "own"), LISTENING, ids=[r[0] for r in LISTENING])
def test_a_setting_is_the_states_own_else_the_flows(flow, field, inherited, own) -> None:
    plain, mine = flow.states["plain"], flow.states["own"]
    assert isinstance(plain, Ask) and isinstance(mine, Ask)
    assert getattr(plain.listening, field) == inherited
    assert getattr(mine.listening, field) == own


def test_retry_prompts_barge_in_commands_and_on_failure_are_resolved(flow) -> None:
    plain, mine = flow.states["plain"], flow.states["own"]
    assert isinstance(plain, Ask) and isinstance(mine, Ask)
    texts = [
        [p.texts["en"] for p in ps]
        for ps in (plain.listening.no_input_prompts, plain.listening.no_match_prompts)
    ]
    assert texts == [["Settings: are you there?"], ["Settings: once more.", "Settings: last time."]]
    assert [p.texts["en"] for p in mine.listening.no_match_prompts] == ["Own: again."]
    assert (plain.barge_in, mine.barge_in) == (False, True)
    assert [g.name for g in plain.listening.commands] == ["operator", "help"]
    assert mine.listening.commands == ()  # global_commands: false
    assert plain.on_failure == mine.on_failure == "bye"
    assert plain.on_failure_path == ("settings", "on_failure")  # where a wrong target is reported
    assert mine.on_failure_path == ("states", "own", "on_failure")


def test_a_survey_answer_follows_its_question(flow) -> None:
    rate, fixed = flow.states["rate"], flow.states["fixed"]
    assert isinstance(rate, Survey) and isinstance(fixed, Survey)
    assert rate.answer == Answer("number", range_min=1, range_max=5)
    assert fixed.answer == Answer("yesno")
    assert (rate.into, fixed.into) == ("csat", "done")  # into defaults to the question


def test_branch_cases_are_records_and_edges_read_them(flow) -> None:
    route = flow.states["route"]
    assert isinstance(route, Branch)
    assert [(c.source, c.next, c.path) for c in route.cases] == [
        ("account == '1'", "bye", ("states", "route", "cases", 0, "if")),
        ("done", "plain", ("states", "route", "cases", 1, "if")),
    ]
    assert [e for e in edges(flow) if e.source == "route"] == [
        Edge("route", "case:1", "bye", "branch"),
        Edge("route", "case:2", "plain", "branch"),
        Edge("route", "else", "bye", "branch"),
    ]


def test_states_are_frozen(flow) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        flow.states["plain"].name = "other"  # type: ignore[misc]


def test_every_state_type_of_the_schema_has_a_class_and_the_sample_flows_use_it() -> None:
    classes = {cls.type: cls for cls in model.State.__args__}  # type: ignore[attr-defined]
    assert set(classes) == set(schema()["$defs"]["state"]["properties"]["type"]["enum"])
    from callwright.flows.loader import load

    seen = set()
    for path in sorted((ROOT / "flows").rglob("*.yaml")):
        if path.name.endswith(".test.yaml"):
            continue
        result = load(path)
        assert result.flow is not None, result.errors
        raw = result.flow.source.data["states"]
        for name, st in result.flow.states.items():
            assert type(st) is classes[raw[name]["type"]]  # the file's `type:` picks the class
            seen.add(st.type)
    assert {"play", "ask", "survey", "hours", "queue", "hangup"} <= seen
