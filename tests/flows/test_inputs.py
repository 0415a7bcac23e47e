"""Start variables (`inputs:` and `callwright call --var`): typed, declared, known to the checker.

Why: a call given a variable the flow does not declare (a typo) must be refused with a clear
message, and a declared one must not be a "not set on any path" false alarm.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from callwright.errors import CallwrightError
from callwright.flows.checker import check_file
from callwright.flows.inputs import parse_vars
from callwright.flows.loader import load_flow

FLOW = """\
flow: t
start: a
inputs: {rated_call_id: text, count: integer, score: number, vip: boolean}
states:
  a: {type: hangup, prompt: "Call {rated_call_id}, {count} {score} {vip}. {other}"}
"""


@pytest.fixture
def flow_path(tmp_path: Path) -> Path:
    path = tmp_path / "f.yaml"
    path.write_text(FLOW)
    return path


def test_the_checker_knows_the_inputs(flow_path: Path) -> None:
    messages = [p.message for p in check_file(flow_path)]
    assert messages == ["template variable 'other' is not set on any path to 'a'"]


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        (["rated_call_id=abc=1"], {"rated_call_id": "abc=1"}),
        (["count=42", "score=4.5", "vip=yes"], {"count": 42, "score": 4.5, "vip": True}),
        (["vip=false", "score=3"], {"vip": False, "score": 3}),
    ],
)
def test_typed_values(flow_path: Path, items: list[str], expected: dict) -> None:
    flow_path.write_text(FLOW.replace(" {other}", ""))
    assert parse_vars(load_flow(flow_path), items) == expected


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("rated_call=1", "takes no start variable 'rated_call'; did you mean 'rated_call_id'?"),
        ("count=4.5", "'count' is an integer such as 42"),
        ("score=nan", "'score' is a finite number"),
        ("vip=maybe", "'vip' is a boolean"),
        ("novalue", "expected NAME=VALUE"),
    ],
)
def test_bad_start_variables_are_clear_errors(flow_path: Path, item: str, message: str) -> None:
    flow_path.write_text(FLOW.replace(" {other}", ""))
    with pytest.raises(CallwrightError, match=message.replace("?", r"\?").replace("(", r"\(")):
        parse_vars(load_flow(flow_path), [item])


def test_a_bad_input_type_is_located(flow_path: Path) -> None:
    flow_path.write_text(FLOW.replace("vip: boolean", "vip: bool"))
    problems = check_file(flow_path)
    assert problems and problems[0].line == 3 and "bool" in problems[0].message
