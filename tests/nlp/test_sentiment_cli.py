"""`callwright sentiment` as a user runs it: a real process, real model, real files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "callwright", *args],
        input=stdin,
        capture_output=True,
        cwd=ROOT,
        env=env,
        timeout=300,
    )


def test_json_lines_for_args_and_file_with_bad_bytes(tmp_path):
    text_file = tmp_path / "utterances.txt"
    text_file.write_bytes(
        b"I am absolutely delighted with the help I got\n"
        b"\n"
        b"the caf\xe9 order arrived cold and late, this is unacceptable\r\n"
    )
    proc = run_cli("sentiment", "Thanks, that's brilliant!", "--file", str(text_file), "--json")
    assert proc.returncode == 0, proc.stderr.decode()
    lines = proc.stdout.decode("utf-8").splitlines()
    objs = [json.loads(line) for line in lines]
    assert len(objs) == 4
    for o in objs:
        assert set(o) == {"text", "label", "score"}
        assert o["label"] in {"negative", "neutral", "positive"}
        assert -1.0 <= o["score"] <= 1.0
    assert [o["label"] for o in objs] == ["positive", "positive", "neutral", "negative"]
    assert objs[3]["text"].startswith("the caf\ufffd order")
    assert b"not valid UTF-8" in proc.stderr
    assert b"Traceback" not in proc.stderr


def test_stdin_and_readable_table():
    stdin = b"thank you, you have been wonderful\nthis is a disgrace\n"
    proc = run_cli("sentiment", "--file", "-", stdin=stdin)
    assert proc.returncode == 0, proc.stderr.decode()
    rows = [line for line in proc.stdout.decode().splitlines() if "wonderful" in line or "disgrace" in line]
    assert len(rows) == 2
    assert "positive" in rows[0] and "+0." in rows[0]
    assert "negative" in rows[1] and "-0." in rows[1]


def test_user_mistakes_exit_non_zero_without_traceback(tmp_path):
    for args in (
        ("sentiment",),
        ("sentiment", "--file", str(tmp_path / "missing.txt")),
        ("sentiment", "hello", "--model", str(tmp_path / "no-model")),
        ("sentiment-train", "--data", str(tmp_path / "no-data"), "--out", str(tmp_path / "m")),
    ):
        proc = run_cli(*args)
        err = proc.stderr.decode()
        assert proc.returncode != 0, args
        assert "error:" in err, args
        assert "Traceback" not in err, args


def test_eval_trains_the_leave_one_domain_out_heads_with_the_recipe_asked_for(vader_data, tmp_path):
    """`--tuned-layers` is how the docs' 2- and 6-layer rows are reproduced; a wrong value is refused."""
    done = run_cli(
        "sentiment-eval", "--data", str(vader_data), "--limit", "30", "--tuned-layers", "1", "--json"
    )
    assert done.returncode == 0, done.stderr.decode()
    rows = [json.loads(line) for line in done.stdout.decode().splitlines()]
    lodo = {
        r["domain"] for r in rows if r["protocol"] == "leave-one-domain-out" and r["system"] == "callwright"
    }
    assert lodo == {"tweets", "movies", "products"}
    assert all(r["n"] == 30 for r in rows if r["protocol"] == "leave-one-domain-out")
    refused = run_cli("sentiment-eval", "--data", str(vader_data), "--limit", "30", "--tuned-layers", "9")
    assert refused.returncode != 0 and b"Traceback" not in refused.stderr
    assert b"the encoder has 6" in refused.stderr
