"""`callwright call` under hostile or careless input: a clear message or a finished call, never
a traceback or a call row without an outcome."""

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from tests import cli_inprocess
from tests.conftest import FLOWS, ROOT

TIME = "2026-11-23T10:00-05:00"


def cw(*args, stdin: bytes | str = b"", cwd: Path | None = None):
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    data = stdin.encode() if isinstance(stdin, str) else stdin
    r = subprocess.run(
        [sys.executable, "-m", "callwright", *map(str, args)],
        input=data,
        capture_output=True,
        cwd=cwd or ROOT,
        env=env,
        timeout=120,
    )
    return r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")


def cw_here(*args, stdin: str = "", cwd: Path | None = None):
    """The same in this process (tests/cli_inprocess.py), for the refusals and outcomes that
    do not rest on the process (its bytes on stdin, what reaches the terminal's descriptors)."""
    r = cli_inprocess.run(*args, stdin=stdin, cwd=cwd or ROOT, timeout=120)
    return r.returncode, r.stdout, r.stderr


def calls(db: Path) -> list[tuple]:
    con = sqlite3.connect(db)
    try:
        return con.execute("select outcome, ended_at, end_reason from calls").fetchall()
    finally:
        con.close()


BROKEN = """\
flow: broken
start: welcome
states:
  welcome:
    type: play
    prompt: "Hello."
    next: nowhere
"""


def test_a_broken_flow_is_refused_with_exit_2_and_no_call_row(tmp_path):
    """The issue's acceptance: printf 'english\\n' | callwright call BROKEN.yaml --text."""
    flow = tmp_path / "BROKEN.yaml"
    flow.write_text(BROKEN)
    db = tmp_path / "calls.db"
    code, out, err = cw("call", "BROKEN.yaml", "--text", "--db", db, stdin="english\n", cwd=tmp_path)
    assert code == 2, err
    assert "BROKEN.yaml:7:11: error: unknown target state 'nowhere'" in err.splitlines()
    assert "Traceback" not in err and "IVR:" not in out
    assert not db.exists() or calls(db) == []


def test_caller_input_that_is_not_utf8_does_not_break_the_call(tmp_path):
    db = tmp_path / "calls.db"
    code, out, err = cw(
        "call",
        FLOWS / "inbound.yaml",
        "--text",
        "--time",
        TIME,
        "--db",
        db,
        stdin=b"\xff\xfe\xfa english\n#1\n/hangup\n",
    )
    assert code == 0 and "Traceback" not in err, err
    assert "you> \ufffd\ufffd\ufffd english" in out
    [(outcome, ended_at, _reason)] = calls(db)
    assert outcome == "abandoned" and ended_at


@pytest.mark.parametrize(
    "when", ["0001-01-01T00:00", "0001-01-01T00:00+05:00", "9999-12-31T23:59", "9999-12-31T23:59-05:00"]
)
def test_a_call_time_out_of_range_is_a_clear_error_and_no_row(tmp_path, when):
    db = tmp_path / "calls.db"
    code, out, err = cw_here(
        "call", FLOWS / "inbound.yaml", "--text", "--time", when, "--db", db, stdin="#1\n"
    )
    assert code == 1 and "Traceback" not in err, err
    assert "out of range" in err and "--time" in err
    assert not db.exists() or calls(db) == []


CONTROL = """\
flow: control
start: hello
variables: {note: null}
states:
  hello:
    type: ask
    collect: speech
    into: note
    prompt: "Hi\\e]0;pwned\\a\\e[2J\\0 there \\u202eevil"
    next: bye
  bye: {type: hangup, prompt: "You said {note}."}
"""


def test_terminal_controls_from_the_flow_and_the_caller_are_shown_escaped(tmp_path):
    flow = tmp_path / "control.yaml"
    flow.write_text(CONTROL)
    code, out, err = cw("call", flow, "--text", "--db", tmp_path / "calls.db", stdin="ok\x1b[31mred\x07\n")
    assert code == 0, err
    for raw in ("\x1b", "\x07", "\x00", "\u202e"):
        assert raw not in out and raw not in err
    assert "IVR: Hi\\x1b]0;pwned\\x07\\x1b[2J\\x00 there \\u202eevil" in out
    assert "IVR: You said ok\\x1b[31mred\\x07." in out


NO_FAILURE = """\
flow: strict
start: ask
states:
  ask:
    type: ask
    collect: yesno
    prompt: "Yes or no?"
    retries: {no_input: 0}
    yes: bye
    no: bye
  bye: {type: hangup}
"""


def test_a_call_that_ends_in_error_prints_the_reason(tmp_path):
    flow = tmp_path / "strict.yaml"
    flow.write_text(NO_FAILURE)
    db = tmp_path / "calls.db"
    code, out, err = cw_here("call", flow, "--text", "--db", db, stdin="\n")
    assert code == 0, err
    assert "[call ended: error: ask: no input after the last retry]" in out
    [(outcome, _ended, reason)] = calls(db)
    assert outcome == "error" and reason == "ask: no input after the last retry"


def _mount_tmpfs(path: Path, size: str) -> bool:
    if os.geteuid() != 0 or not shutil.which("mount"):
        return False
    path.mkdir()
    r = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True
    )
    return r.returncode == 0


def test_a_full_disk_is_a_clear_error_not_a_traceback(tmp_path):
    disk = tmp_path / "disk"
    if not _mount_tmpfs(disk, "2m"):
        pytest.skip("needs root to mount a small tmpfs (test_calllog_busy covers SQLite's full error)")
    try:
        # fill the disk once the database exists: the call log's writes then fail
        db = disk / "calls.db"
        code, _out, err = cw(
            "call", FLOWS / "inbound.yaml", "--text", "--time", TIME, "--db", db, stdin="#1\n"
        )
        assert code == 0, err
        filler = disk / "filler"
        with open(filler, "wb", buffering=0) as f:
            try:
                while True:
                    f.write(b"\0" * 4096)
            except OSError:
                pass
        code, _out, err = cw(
            "call",
            FLOWS / "inbound.yaml",
            "--text",
            "--time",
            TIME,
            "--db",
            db,
            stdin="#1\n#1\nbilling\n#4111#\nyes\n" * 3,
        )
        assert code == 1 and "Traceback" not in err, err
        assert err.startswith("error: cannot ") and str(db) in err
    finally:
        subprocess.run(["umount", str(disk)], capture_output=True)


def test_refusal_messages_do_not_send_terminal_controls_from_the_file(tmp_path):
    flow = tmp_path / "evil.yaml"
    flow.write_text(BROKEN.replace("next: nowhere", 'next: "nowhere\\e]0;pwned\\a"'))
    code, _out, err = cw("call", flow, "--text", "--db", tmp_path / "calls.db", stdin="")
    assert code == 2 and "\x1b" not in err and "\x07" not in err, err
    assert "nowhere\\x1b]0;pwned\\x07" in err


def test_a_database_with_an_unrelated_calls_table_is_a_clear_error(tmp_path):
    db = tmp_path / "other.db"
    con = sqlite3.connect(db)
    con.execute("create table calls (x)")
    con.commit()
    con.close()
    code, _out, err = cw_here("call", FLOWS / "inbound.yaml", "--text", "--db", db, stdin="#1\n")
    assert code == 1 and "Traceback" not in err, err
    assert err.startswith(f"error: {db} is not a Callwright database") and "left unchanged" in err
