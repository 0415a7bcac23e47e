"""`callwright report` through the console entry point: files written, clear errors."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest
from kpi_fixtures import build
from tests import cli_inprocess


@pytest.fixture(scope="module")
def dbfile(tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "k.db"
    build(path).conn.close()
    return path


def _run(*args: str, cwd=None) -> subprocess.CompletedProcess[str]:
    """`callwright report ARGS` in this process (tests/cli_inprocess.py), for the error cases."""
    return cli_inprocess.run("report", *args, cwd=cwd, timeout=120)


def _run_process(*args: str, cwd=None) -> subprocess.CompletedProcess[str]:
    """The same in a process of its own: the real entry point, for the files it writes."""
    return subprocess.run(
        [sys.executable, "-m", "callwright", "report", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


def test_html_json_and_csv(dbfile, tmp_path):
    out = tmp_path / "r.html"
    done = _run_process("--from", "2026-11-01", "--to", "2026-11-30", "--db", str(dbfile), "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"wrote {out.resolve()}"
    assert out.read_text().startswith("<!doctype html>")
    js = tmp_path / "r.json"
    done = _run_process(
        "--from",
        "2026-11-01",
        "--to",
        "2026-11-30",
        "--db",
        str(dbfile),
        "--group-by",
        "queue",
        "--sl",
        "80/25",
        "--fcr-window",
        "10d",
        "-o",
        str(js),
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(js.read_text())
    # same numbers as the hand-computed tests: 10-day window FCR 50 %, SL at 25 s: 3 of 3 + 1
    assert data["inbound_total"]["fcr_repeat"] == 50.0
    assert data["queue_total"]["service_level"] == 75.0
    assert {r["group"] for r in data["queue"]} == {"billing", "support"}
    cs = tmp_path / "r.txt"
    done = _run_process(
        "--from", "2026-11-01", "--to", "2026-11-30", "--db", str(dbfile), "--format", "csv", "-o", str(cs)
    )
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(cs.open()))
    assert {"section": "inbound_total", "key": "all", "kpi": "csat", "value": "50.0"} in rows


@pytest.mark.parametrize(
    "args, message",
    [
        (["--from", "2026-11-31", "--to", "2026-12-01"], "error: --from: cannot read '2026-11-31' as a date"),
        (
            ["--from", "2026-11-02", "--to", "2026-11-01"],
            "error: --to 2026-11-01 is before --from 2026-11-02",
        ),
        (["--from", "2026-11-01", "--to", "2026-11-30", "--group-by", "month"], "error: --group-by: unknown"),
        (["--from", "2026-11-01", "--to", "2026-11-30", "--sl", "eighty"], "error: --sl: cannot read"),
        (
            ["--from", "2026-11-01", "--to", "2026-11-30", "--format", "pdf"],
            "error: --format: unknown format",
        ),
        (["--to", "2026-11-30"], "error: --from and --to are required"),
    ],
)
def test_bad_options_are_one_line_errors(dbfile, tmp_path, args, message):
    done = _run(*args, "--db", str(dbfile), "-o", str(tmp_path / "r.html"))
    assert done.returncode == 1
    assert done.stderr.startswith(message), done.stderr
    assert "Traceback" not in done.stderr


def test_missing_database(tmp_path):
    done = _run("--from", "2026-11-01", "--to", "2026-11-30", "--db", str(tmp_path / "nope.db"), cwd=tmp_path)
    assert done.returncode == 1 and done.stderr.startswith("error: no database at")
    assert not (tmp_path / "nope.db").exists()
