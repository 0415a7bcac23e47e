"""The command line as a user runs it: exit codes, messages, no tracebacks."""

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from tests import cli_inprocess
from tests.conftest import FLOWS, ROOT


def cw(*args, stdin: str = "", cwd: Path | None = None):
    """`callwright ARGS` through the console entry point in this process (tests/cli_inprocess.py):
    the same parsing and error handling, without a Python start and the CLI's imports each time."""
    return cli_inprocess.run(*args, stdin=stdin, cwd=cwd or ROOT, timeout=120)


def cw_process(*args, stdin: str | None = None, cwd: Path | None = None):
    """The same in a process of its own: one test per command keeps the real entry point."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [sys.executable, "-m", "callwright", *map(str, args)],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        env=env,
        timeout=120,
    )


def test_piped_text_call_reaches_a_queue_and_is_logged(tmp_path):
    """The issue's acceptance: drive the inbound sample from a pipe to a queue transfer."""
    db = tmp_path / "calls.db"
    r = cw_process(
        "call",
        FLOWS / "inbound.yaml",
        "--text",
        "--time",
        "2026-11-23T10:00-05:00",
        "--db",
        db,
        "--json",
        stdin="#1\nI have a question about my bill\n#4111#\nyes\n",
    )
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert summary["outcome"] == "transferred" and summary["queue"] == "billing"
    assert "IVR: Connecting you to billing." in r.stderr
    con = sqlite3.connect(db)
    assert con.execute("select outcome, queue from calls where id = ?", [summary["call_id"]]).fetchone() == (
        "transferred",
        "billing",
    )
    kinds = [
        k
        for (k,) in con.execute(
            "select kind from call_events where call_id = ? order by seq", [summary["call_id"]]
        )
    ]
    assert kinds.count("input") == 8 and kinds[-1] == "call_end" and "transfer" in kinds


def test_flow_check_reports_located_errors_and_exit_code(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("flow: x\nstart: a\nstates:\n  a:\n    type: play\n    promt: hi\n    next: b\n")
    r = cw_process("flow", "check", bad)
    assert r.returncode == 2
    assert f"{bad}:6:5: error: state 'a': unknown key 'promt'; did you mean 'prompt'?" in r.stdout
    assert "Traceback" not in r.stderr
    ok = cw("flow", "check", *sorted(FLOWS.glob("*.yaml")))
    assert ok.returncode == 0 and ok.stdout == ""
    js = cw("flow", "check", bad, "--json")
    found = [json.loads(line) for line in js.stdout.splitlines()]
    assert {(p["line"], p["col"], p["severity"]) for p in found} == {(4, 3, "error"), (6, 5, "error")}


@pytest.mark.parametrize("content", [b"\x00\x01binary", b"flow: [unclosed\n", b"- a list\n"])
def test_hostile_files_give_messages_not_tracebacks(tmp_path, content):
    f = tmp_path / "f.yaml"
    f.write_bytes(content)
    for args in (("flow", "check", f), ("call", f, "--text"), ("flow", "graph", f, "-o", tmp_path / "g.dot")):
        r = cw(*args, stdin="")
        refused = 2 if args[0] == "call" or args[:2] == ("flow", "check") else 1  # errors in a flow: exit 2
        assert r.returncode == refused and "Traceback" not in r.stderr, (args, r.stderr)
        assert "f.yaml" in (r.stdout + r.stderr)


def test_missing_file_and_bad_option_values(tmp_path):
    r = cw("call", tmp_path / "nope.yaml", "--text", stdin="")
    assert r.returncode == 2 and "cannot read file" in r.stderr and "Traceback" not in r.stderr
    r = cw("call", FLOWS / "inbound.yaml", "--text", "--time", "tuesday", stdin="")
    assert r.returncode == 1 and "--time 'tuesday' is not an ISO date-time" in r.stderr
    r = cw("call", FLOWS / "inbound.yaml", "--text", "--queue-wait", "billing", stdin="")
    assert r.returncode == 1 and "QUEUE=SECONDS" in r.stderr


def test_flow_test_passes_samples_with_full_state_coverage():
    r = cw("flow", "test", FLOWS / "tests")
    assert r.returncode == 0, r.stdout
    assert "0 failed" in r.stdout
    for line in r.stdout.splitlines():
        if line.startswith("coverage "):
            states = line.split("states ")[1].split(",")[0]
            edges = line.split("edges ")[1]
            hit, total = states.split("/")
            assert hit == total, line
            hit, total = edges.split("/")
            assert hit == total, line


def test_failing_flow_test_shows_a_diff(tmp_path):
    t = tmp_path / "x.test.yaml"
    t.write_text(
        f"flow: {FLOWS / 'survey.yaml'}\ntests:\n  - name: wrong\n    steps:\n"
        "      - press: '5'\n    expect: {vars: {csat: 4}}\n"
    )
    r = cw("flow", "test", t)
    assert r.returncode == 1
    assert "FAIL" in r.stdout and "expected variable csat = 4, got 5" in r.stdout
    assert "IVR (csat):" in r.stdout  # the dialogue is shown


def test_flow_test_file_errors_are_located(tmp_path):
    t = tmp_path / "x.test.yaml"
    t.write_text(f"flow: {FLOWS / 'survey.yaml'}\ntests:\n  - name: typo\n    stepz: []\n")
    r = cw_process("flow", "test", t)
    assert r.returncode == 1 and ":4:5: error: unknown scenario key 'stepz'" in r.stderr
    assert "did you mean 'steps'" in r.stderr


def test_flow_graph_formats(tmp_path):
    for ext in ("mmd", "dot", "svg"):
        out = tmp_path / f"g.{ext}"
        r = cw("flow", "graph", FLOWS / "outbound-reminder.yaml", "-o", out)
        assert r.returncode == 0, r.stderr
        text = out.read_text()
        assert "reschedule" in text and ("pick-day" in text or "pick&#45;day" in text)
        if ext != "svg":
            assert "max retries" in text and "no-input / no-match" in text
        else:
            assert text.startswith("<?xml") and "<svg" in text
    r = cw_process("flow", "graph", FLOWS / "survey.yaml", "-o", tmp_path / "g.bmp")
    assert r.returncode == 1 and "unknown diagram format" in r.stderr


def test_help_everywhere():
    for args in ((), ("flow",), ("flow", "check"), ("flow", "test"), ("flow", "graph"), ("call",)):
        r = (cw_process if not args else cw)(*args, "--help")
        assert r.returncode == 0 and "Usage" in r.stdout, args
