"""The checker and `flow test` on data steps (http, function).

Why: a data step sets variables the designer then reads; the checker must know them (no
"not set on any path" false alarm after the step) and still flag a variable nothing sets;
a scenario must give each data step a canned answer, located when it is wrong.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from callwright.errors import DataError
from callwright.flows.checker import check_file
from callwright.ivr.testing import run_test_files

FLOW = """\
flow: t
start: look
variables: {rx: "123"}
states:
  look:
    type: http
    url: "http://127.0.0.1:9/rx/{rx}"
    save: {status: refill.status}
    success: ok
    failure: ok
  ok: {type: hangup, prompt: "Status {status}. SECOND"}
"""


def _problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "f.yaml"
    path.write_text(text)
    return [f"{p.line}:{p.col}: {p.severity}: {p.message}" for p in check_file(path)]


def test_a_saved_variable_is_known_after_the_step(tmp_path: Path) -> None:
    assert _problems(tmp_path, FLOW.replace(" SECOND", "")) == []


def test_a_variable_nothing_sets_is_still_flagged(tmp_path: Path) -> None:
    problems = _problems(tmp_path, FLOW.replace("SECOND", "{drug}"))
    assert problems == ["11:30: error: template variable 'drug' is not set on any path to 'ok'"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ('url: "http://127.0.0.1:9/rx/{rx}"', 'url: "http://127.0.0.1:9/{nope}"'),
            "7:10: error: template variable 'nope' is not set on any path to 'look'",
        ),
        (("success: ok", "success: okk"), "9:14: error: unknown target state 'okk'; did you mean 'ok'?"),
        (
            ("    save:", "    timeout: 61s\n    save:"),
            "8:14: error: state 'look', timeout: duration '61s' is over the limit of 60 s",
        ),
        (("    save:", "    timeout: 0\n    save:"), "8:14:"),
        (("    save:", '    body: {a: "{x:weird}"}\n    save:'), "8:15: error: unknown format ':weird'"),
        (("    save: {status: refill.status}", "    save: {status: refill..status}"), "8:"),
    ],
)
def test_data_step_mistakes_are_located(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    problems = _problems(tmp_path, FLOW.replace(" SECOND", "").replace(*change))
    assert any(p.startswith(message) or message in p for p in problems), problems


def test_function_arguments_are_checked_like_expressions(tmp_path: Path) -> None:
    text = FLOW.replace(
        '    type: http\n    url: "http://127.0.0.1:9/rx/{rx}"\n',
        '    type: function\n    function: stock\n    args: {n: "rx + missing", m: "("}\n',
    ).replace(" SECOND", "")
    problems = _problems(tmp_path, text)
    assert any("variable 'missing' is not set on any path to 'look'" in p for p in problems), problems
    assert any("expression for argument 'm'" in p for p in problems), problems


def _suite(tmp_path: Path, scenario: str) -> Path:
    (tmp_path / "f.yaml").write_text(FLOW.replace(" SECOND", ""))
    path = tmp_path / "f.test.yaml"
    path.write_text("flow: f.yaml\ntests:\n" + scenario)
    return path


def test_a_scenario_without_a_mock_fails_and_says_which_step(tmp_path: Path) -> None:
    report = run_test_files([_suite(tmp_path, "  - name: no mock\n    expect: {outcome: self_served}\n")])
    [result] = report.results
    assert not result.passed
    assert "data step 'look' has no mock in this scenario" in result.failures[0]


def test_a_mock_feeds_the_saved_variables(tmp_path: Path) -> None:
    scenario = (
        "  - name: mocked\n    mocks: {look: {json: {refill: {status: ready}}}}\n"
        "    expect: {vars: {status: ready}}\n"
    )
    [result] = run_test_files([_suite(tmp_path, scenario)]).results
    assert result.passed, result.failures


def test_a_bad_mock_is_a_located_error(tmp_path: Path) -> None:
    scenario = "  - name: bad\n    mocks: {look: {statuss: 200}}\n"
    with pytest.raises(
        DataError, match=r"f.test.yaml:4:\d+: error: unknown mock key 'statuss'; did you mean 'status'"
    ):
        run_test_files([_suite(tmp_path, scenario)])
