"""`callwright serve`: routes, addresses and the dialplan's UUID encoding; the command's
errors for bad options; and the real command, stopped by SIGTERM with a call in progress."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from callwright.errors import CallwrightError
from callwright.server.app import Address, parse_address
from callwright.server.audiosocket import number_from_uuid, uuid_for_number
from callwright.server.routing import build_routes, normalise_number
from tests import cli_inprocess
from tests.conftest import FLOWS
from tests.server.client import AudioSocketPeer
from tests.server.conftest import INBOUND, QUICK

# -- the dialplan's UUID ---------------------------------------------------------------------


@pytest.mark.parametrize("number", ["5550100", "0", "05550100", "1234567890123456"])
def test_a_number_survives_the_uuid(number):
    u = uuid_for_number(number)
    assert number_from_uuid(u) == number
    assert str(u).endswith(number[-12:])  # readable in the last group, as the docs say


def test_the_dialplan_snippet_uuid_decodes():
    # what the docs' dialplan builds for extension 5550100: SHA1 head, 'f'-padded number
    u = uuid.UUID("3f786850-e387-550f-ffff-fffff5550100")
    assert number_from_uuid(u) == "5550100"


@pytest.mark.parametrize("text", ["3f786850-e387-550f-ffff-ffffffffffff", str(uuid.UUID(int=0x1234ABCD))])
def test_a_uuid_without_a_number_goes_to_the_default_flow(text):
    assert number_from_uuid(uuid.UUID(text)) == ""


def test_uuid_for_number_refuses_what_it_cannot_carry():
    for bad in ("", "12345678901234567", "+1555", "12a"):
        with pytest.raises(ValueError):
            uuid_for_number(bad)


# -- routes ------------------------------------------------------------------------------------


def test_routes_by_number_name_and_file(tmp_path):
    table = tmp_path / "routes.yaml"
    table.write_text(f'default: {QUICK}\nroutes:\n  "+1 (555) 010-0": acme-inbound\n  "5550200": {QUICK}\n')
    routes = build_routes([INBOUND], ["5550300=acme-inbound", "tel:5550400=" + str(QUICK)], table)
    assert sorted(routes.flows) == ["acme-inbound", "quick-menu"]
    assert routes.default == "quick-menu"  # the file's default wins over the first FLOW
    assert routes.route("+15550100").flow == "acme-inbound"
    assert routes.route("sip:5550200@pbx").flow == "quick-menu"
    assert routes.route("555-0300").flow == "acme-inbound"
    assert routes.route("5550400").flow == "quick-menu"
    assert routes.route("999").matched == "default" and routes.route("").flow == "quick-menu"
    assert normalise_number(" tel:+1 555.010-0 ") == "+15550100"


@pytest.mark.parametrize(
    ("routes_yaml", "says"),
    [
        ("routes: [1, 2]\n", "routes.yaml:1:9: error: `routes` maps dialled numbers to flows"),
        ("routs: {}\n", "routes.yaml:1:1: error: unknown key 'routs'"),
        ('routes:\n  "555": nowhere.yaml\n', "routes.yaml:2:3: error: 'nowhere.yaml' is neither"),
        ('routes:\n  "5x5": acme-inbound\n', "routes.yaml:2:3: error: '5x5' is not a dialled number"),
        ('routes:\n  "555": [a]\n', "routes.yaml:2:10: error: a route's flow is a flow file"),
        ("- a\n", "routes.yaml:1:1: error: a routes file is a mapping"),
        ("routes: {a: !!python/object:os.system x}\n", "routes.yaml:1"),
    ],
)
def test_a_bad_routes_file_is_refused_with_its_place(tmp_path, routes_yaml, says):
    table = tmp_path / "routes.yaml"
    table.write_text(routes_yaml)
    with pytest.raises(CallwrightError) as err:
        build_routes([INBOUND], [], table)
    assert says in str(err.value)


@pytest.mark.parametrize(
    ("option", "says"),
    [
        ("5550100", "expected NUMBER=FLOW"),
        ("5550100=", "expected NUMBER=FLOW"),
        ("55x=acme-inbound", "is not a dialled number"),
        (
            "5550100=no-such-flow",
            "'no-such-flow' is neither a served flow's name (acme-inbound) nor a flow file",
        ),
    ],
)
def test_a_bad_route_option_is_refused(option, says):
    with pytest.raises(CallwrightError) as err:
        build_routes([INBOUND], [option])
    assert says in str(err.value)


def test_two_flows_with_one_name_are_refused(tmp_path):
    copy = tmp_path / "copy.yaml"
    copy.write_text(INBOUND.read_text())
    with pytest.raises(CallwrightError, match="already loaded"):
        build_routes([INBOUND, copy], [])


# -- addresses ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("9092", Address("127.0.0.1", 9092)),
        ("127.0.0.1:0", Address("127.0.0.1", 0)),
        ("0.0.0.0:9092", Address("0.0.0.0", 9092)),
        ("[::1]:9092", Address("::1", 9092)),
        ("localhost", Address("localhost", 9092)),
    ],
)
def test_addresses(text, address):
    assert parse_address(text, "--audiosocket", 9092) == address


@pytest.mark.parametrize("text", ["127.0.0.1:99999", "host:port", ":9092", "[::1]9092", "a:b:c"])
def test_bad_addresses_are_refused(text):
    with pytest.raises(CallwrightError, match="expected HOST:PORT"):
        parse_address(text, "--audiosocket", 9092)


# -- the command ------------------------------------------------------------------------------


def cli(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "callwright", *args], capture_output=True, text=True, timeout=120, **kw
    )


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        ([str(INBOUND)], 1, "nothing to listen on"),
        ([str(INBOUND), "--audiosocket", "127.0.0.1:0", "--review-app"], 1, "--review-app needs --http"),
        ([str(INBOUND), "--audiosocket", "1.2.3.4:99999"], 1, "expected HOST:PORT"),
        ([str(INBOUND), "--http", "9", "--route", "12=nope"], 1, "'nope' is neither"),
        ([str(INBOUND), "--http", "9", "--max-calls", "0"], 1, "--max-calls 0: give 1 to"),
        ([str(INBOUND), "--http", "9", "--grace", "-1"], 1, "--grace -1"),
        (["BROKEN", "--http", "9"], 2, "BROKEN.yaml:21:55: error: unknown target state"),
    ],
)
def test_serve_refuses_bad_options_plainly(tmp_path, args, code, says):
    broken = tmp_path / "BROKEN.yaml"
    broken.write_text(QUICK.read_text().replace("next: sales-queue", "next: nowhere"))
    args = [str(broken) if a == "BROKEN" else a for a in args]
    # in this process (tests/cli_inprocess.py); the tests below keep the real process
    result = cli_inprocess.run("serve", *args, "--db", str(tmp_path / "c.db"), timeout=60)
    assert result.returncode == code, result.stderr
    assert says in result.stderr and "Traceback" not in result.stderr


def test_a_port_in_use_is_a_plain_error(tmp_path):
    import socket

    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        result = cli(
            "serve", str(QUICK), "--audiosocket", f"127.0.0.1:{port}", "--db", str(tmp_path / "c.db")
        )
    assert result.returncode == 1
    assert f"--audiosocket: cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_answers_a_call_and_stops_on_sigterm_with_the_call_logged(tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
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
            "--audiosocket",
            "127.0.0.1:0",
            "--http",
            "127.0.0.1:0",
            "--grace",
            "1",
        ],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    lines: list[dict] = []
    try:
        listening = {}
        deadline = time.monotonic() + 90
        while len(listening) < 2:
            assert time.monotonic() < deadline and proc.poll() is None, lines
            line = proc.stderr.readline()
            if line.startswith("{"):
                lines.append(json.loads(line))
                if lines[-1]["event"] == "listening":
                    listening[lines[-1]["service"]] = lines[-1]["address"]
        port = int(listening["audiosocket"].rsplit(":", 1)[1])
        peer = AudioSocketPeer(port)
        peer.send_uuid("5550100")
        peer.start_audio()
        while not peer.heard_samples():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        assert peer.hung_up.wait(30)
        peer.close()
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert proc.returncode == 0, err
    lines += [json.loads(x) for x in err.splitlines() if x.startswith("{")]
    events = [e["event"] for e in lines]
    assert events.index("route") < events.index("call_start") < events.index("shutdown")
    assert events.index("shutdown") < events.index("call_end") < events.index("stopped")
    route = next(e for e in lines if e["event"] == "route")
    assert (route["flow"], route["matched"]) == ("acme-inbound", "number")
    end = next(e for e in lines if e["event"] == "call_end")
    assert end["outcome"] == "error"

    with sqlite3.connect(tmp_path / "calls.db") as db:
        row = db.execute("select flow, outcome, end_reason, channel, recording_path from calls").fetchall()
    assert len(row) == 1
    flow, outcome, reason, channel, rec = row[0]
    assert (flow, outcome, channel) == ("acme-inbound", "error", "audiosocket")
    assert "shut down" in reason and Path(rec).is_file()
