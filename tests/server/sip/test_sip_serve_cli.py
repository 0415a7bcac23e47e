"""`callwright serve --sip`: the option's errors, and the real command answering baresip,
routing by the Request-URI's number, and ending the call with a BYE on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time

import pytest

from tests import cli_inprocess
from tests.conftest import FLOWS
from tests.server.conftest import QUICK
from tests.server.sip.baresip_caller import Baresip, available
from tests.server.sip.test_sip_inbound_flow import caller_wav


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "callwright", *args], capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("sip", "says"),
    [
        ("tcp:127.0.0.1:5062", "--sip 'tcp:127.0.0.1:5062': only UDP is supported"),
        ("udp:127.0.0.1:70000", "expected udp:HOST:PORT with a port from 0 to 65535"),
    ],
)
def test_bad_sip_options_are_plain_errors(tmp_path, sip, says):
    # in this process (tests/cli_inprocess.py); the tests below keep the real process
    result = cli_inprocess.run("serve", str(QUICK), "--sip", sip, "--db", str(tmp_path / "c.db"), timeout=60)
    assert result.returncode == 1 and says in result.stderr and "Traceback" not in result.stderr


def test_a_sip_port_in_use_is_a_plain_error(tmp_path):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as busy:
        busy.bind(("127.0.0.1", 0))
        port = busy.getsockname()[1]
        result = cli("serve", str(QUICK), "--sip", f"udp:127.0.0.1:{port}", "--db", str(tmp_path / "c.db"))
    assert result.returncode == 1, result.stderr
    assert f"--sip udp:127.0.0.1:{port}: cannot listen" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.skipif(not available(), reason="baresip-core is not installed (scripts/setup.sh installs it)")
def test_serve_answers_baresip_by_number_and_hangs_up_with_bye_on_sigterm(tmp_path):
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "callwright",
            "serve",
            str(QUICK),
            str(FLOWS / "inbound.yaml"),
            "--route",
            "5550100=acme-inbound",
            "--db",
            str(tmp_path / "calls.db"),
            "--recordings",
            str(tmp_path / "rec"),
            "--sip",
            "udp:127.0.0.1:0",
            "--grace",
            "1",
        ],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        cwd=tmp_path,
    )
    lines: list[dict] = []
    bs = None
    try:
        address = None
        deadline = time.monotonic() + 90
        while address is None:
            assert time.monotonic() < deadline and proc.poll() is None, lines
            line = proc.stderr.readline()
            if line.startswith("{"):
                lines.append(json.loads(line))
                if lines[-1]["event"] == "listening" and lines[-1]["service"] == "sip":
                    address = lines[-1]["address"]
        assert address.startswith("udp:127.0.0.1:")
        bs = Baresip(tmp_path / "baresip", caller_wav(tmp_path / "silence.wav", None))
        bs.dial(f"sip:5550100@{address.removeprefix('udp:')}")
        bs.wait_event("CALL_ESTABLISHED", 15)
        time.sleep(1.0)  # the welcome prompt is playing
        proc.send_signal(signal.SIGTERM)
        bs.wait_event("CALL_CLOSED", 30)  # the server's BYE reached baresip
        out, err = proc.communicate(timeout=60)
    finally:
        if bs is not None:
            bs.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert proc.returncode == 0, err
    lines += [json.loads(x) for x in err.splitlines() if x.startswith("{")]
    events = [e["event"] for e in lines]
    assert (
        events.index("route")
        < events.index("call_start")
        < events.index("shutdown")
        < events.index("stopped")
    )
    route = next(e for e in lines if e["event"] == "route")
    assert (route["flow"], route["matched"], route["called_number"]) == ("acme-inbound", "number", "5550100")
    with sqlite3.connect(tmp_path / "calls.db") as db:
        rows = db.execute("select flow, channel, called_number, outcome, end_reason from calls").fetchall()
    assert len(rows) == 1
    flow, channel, number, outcome, reason = rows[0]
    assert (flow, channel, number, outcome) == ("acme-inbound", "sip", "5550100", "error")
    assert "shut down" in reason
