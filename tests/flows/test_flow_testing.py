"""Flow test files: every value a scenario sets is checked at its line before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import FLOWS

from callwright.errors import DataError
from callwright.ivr.testing import run_test_files

GOOD = """\
flow: FLOW
defaults: {time: "2026-11-23T10:00:00-05:00"}
tests:
  - name: billing
    queue_wait: {billing: 300}
    steps:
      - press: "1"
      - say: billing
        confidence: 0.9
      - press: "4111#"
      - say: "yes"
"""


def write(tmp_path: Path, text: str) -> Path:
    f = tmp_path / "x.test.yaml"
    f.write_text(text.replace("FLOW", str(FLOWS / "inbound.yaml")))
    return f


def error_of(tmp_path: Path, old: str, new: str) -> str:
    text = GOOD.replace(old, new)
    assert text != GOOD
    with pytest.raises(DataError) as info:
        run_test_files([write(tmp_path, text)])
    return str(info.value)


def test_the_good_file_runs(tmp_path):
    report = run_test_files([write(tmp_path, GOOD)])
    assert [r.passed for r in report.results] == [True]


@pytest.mark.parametrize(
    ("old", "new", "where", "message"),
    [
        # the findings: accepted silently, or a traceback
        ("say: billing", "say: 7", "8:14", "say: expected the caller's words as text, not 7 (quote them)"),
        ("confidence: 0.9", "confidence: 7", "9:21", "confidence must be a number from 0 to 1, not 7"),
        ("confidence: 0.9", "confidence: .nan", "9:21", "confidence must be a number from 0 to 1, not nan"),
        (
            "{billing: 300}",
            "{billing: .nan}",
            "5:27",
            "queue_wait billing: duration nan is not a finite number of seconds",
        ),
        ("{billing: 300}", "{billing: 1e308}", "5:27", "queue_wait billing: bad duration '1e308'"),
        (
            "{billing: 300}",
            "{billing: 1.0e+308}",
            "5:27",
            "queue_wait billing: duration 1e+308 is over the limit of 86400 s",
        ),
        # and their neighbours
        ('press: "1"', "press: 1", "7:16", 'press: expected keys as text such as "1" or "4111#", not 1'),
        ('press: "1"', 'press: "1a"', "7:16", "press: '1a' is not keypad keys (0-9, * and #)"),
        (
            'press: "1"',
            'press: "1"\n        say: x',
            "7:9",
            "a step does one thing; this one has say and press",
        ),
        ('say: "yes"', "hangup: true\n        confidence: 0.5", "12:9", "confidence goes with a say step"),
        ("queue_wait: {billing: 300}", "queue_wait: [billing]", "5:17", "queue_wait must map queue names"),
        ("queue_wait: {billing: 300}", "vars: {x: .inf}", "5:15", "vars x: inf is not a finite number"),
        ("queue_wait: {billing: 300}", "vars: {x: [1]}", "5:15", "vars x: expected text, a number"),
        ("queue_wait: {billing: 300}", "caller_id: [1]", "5:16", "caller_id must be text"),
        (
            '"2026-11-23T10:00:00-05:00"',
            '"0001-01-01T00:00:00"',
            "2:18",
            "time 0001-01-01T00:00:00: the year must be from 1900 to 9000",
        ),
        ('"2026-11-23T10:00:00-05:00"', '"tuesday"', "2:18", "time 'tuesday' is not an ISO date-time"),
        ("defaults: {", "defaults: {tmie: 1, ", "2:12", "unknown default 'tmie'; did you mean 'time'?"),
        (
            'say: "yes"',
            'say: "yes"\n    expect: {ended: "yes"}',
            "12:21",
            "expect ended: expected true or false",
        ),
        (
            'say: "yes"',
            'say: "yes"\n    expect: {visited: [1, 2]}',
            "12:23",
            "expect visited: expected a list",
        ),
        (
            "name: billing\n",
            "name: billing\n    steps: 5\n  - name: b\n",
            "5:12",
            "'steps' must be a list of caller steps",
        ),
    ],
)
def test_bad_values_are_located_errors(tmp_path, old, new, where, message):
    err = error_of(tmp_path, old, new)
    assert f"x.test.yaml:{where}: error: {message}" in err, err


def test_flow_test_cli_gives_a_message_not_a_traceback(tmp_path, bounded):
    for wait in (".nan", "1e308", "1.0e+308"):
        f = write(tmp_path, GOOD.replace("{billing: 300}", f"{{billing: {wait}}}"))
        r = bounded(["-m", "callwright", "flow", "test", str(f)])
        assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr[-1500:]
        assert f"{f}:5:" in r.stderr and "queue_wait billing" in r.stderr
