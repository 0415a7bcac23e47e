"""`callwright staff` through the console entry point (the first test in a process of its own)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from tests import cli_inprocess


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    """`callwright staff ARGS` in this process (tests/cli_inprocess.py): the same parsing and errors."""
    return cli_inprocess.run("staff", *args, timeout=60)


def _run_process(*args: str) -> subprocess.CompletedProcess[str]:
    """The same in a process of its own: the first test keeps the real entry point."""
    return subprocess.run(
        [sys.executable, "-m", "callwright", "staff", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_json_for_the_call_centre_helper_example() -> None:
    """The issue's command shape on Call Centre Helper's example (100 calls / 30 min,
    AHT 180 s, 80/20, 85 % cap, 30 % shrinkage -> 14 on the phones, 20 scheduled)."""
    done = _run_process(
        "--calls",
        "100",
        "--interval",
        "30m",
        "--aht",
        "180s",
        "--target",
        "80/20",
        "--shrinkage",
        "0.3",
        "--max-occupancy",
        "0.85",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert list(record)[:5] == ["agents", "p_wait", "asa_s", "service_level", "occupancy"]
    assert record["agents"] == 20
    assert record["agents_net"] == 14
    assert round(record["p_wait"], 3) == 0.174
    assert round(record["asa_s"], 2) == 7.84
    assert round(record["service_level"], 3) == 0.888
    assert round(record["occupancy"], 3) == 0.714


def test_human_output_shows_net_and_gross() -> None:
    done = _run(
        "--calls",
        "360",
        "--interval",
        "30m",
        "--aht",
        "4m",
        "--target",
        "80/15",
        "--shrinkage",
        "0.3",
    )
    assert done.returncode == 0, done.stderr
    assert "agents to schedule      79" in done.stdout  # ceil(55 / 0.7) = 79
    assert "agents on the phones    55" in done.stdout
    assert "23.87%" in done.stdout


def test_erlang_a_via_patience() -> None:
    done = _run("--calls", "360", "--aht", "240", "--patience", "1m", "--json")
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["model"] == "erlang_a"
    assert record["service_level"] >= 0.8
    assert 0 < record["p_abandon"] < 0.2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--calls", "abc", "--aht", "4m"], "--calls"),
        (["--aht", "4m"], "--calls and --aht are required"),
        (["--calls", "10", "--aht", "4 minutes"], "--aht"),
        (["--calls", "10", "--aht", "4m", "--interval", "half an hour"], "--interval"),
        (["--calls", "10", "--aht", "4m", "--target", "80"], "--target"),
        (["--calls", "10", "--aht", "4m", "--shrinkage", "30"], "--shrinkage"),
        (["--calls", "-5", "--aht", "4m"], "--calls"),
    ],
)
def test_bad_input_is_a_message_not_a_traceback(args: list[str], message: str) -> None:
    done = _run(*args)
    assert done.returncode != 0
    assert message in done.stderr
    assert "Traceback" not in done.stderr
