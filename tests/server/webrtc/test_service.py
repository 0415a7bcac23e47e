"""`callwright serve --http` offers the call page: the real command, its routes on the page,
a bad offer in its structured log, and a clean stop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import httpx

from callwright.server.routing import build_routes
from callwright.server.webrtc.app import Dialable
from callwright.server.webrtc.service import PAGE_PATH, dialables
from tests.server.conftest import INBOUND, QUICK

WAIT_S = 90.0  # the command loads the recogniser before it listens


def test_the_page_offers_the_default_flow_and_every_routed_number():
    routes = build_routes([QUICK, INBOUND], ["5550100=acme-inbound", "+1 555 0200=" + str(QUICK)])
    default = routes.default
    assert dialables(routes) == [
        Dialable("", f"{default} (default)"),
        Dialable("+15550200", default),
        Dialable("5550100", "acme-inbound"),
    ]


def test_serve_http_serves_the_call_page_and_logs_a_bad_offer(tmp_path):
    """...and, with --review-app, the QA review app at /qa/ in the same process (issue 15 item 1)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    args = [
        str(INBOUND),
        "--route",
        "100=acme-inbound",
        "--http",
        "127.0.0.1:0",
        "--db",
        str(tmp_path / "c.db"),
        "--review-app",
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "callwright", "serve", *args, "--grace", "1"],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    lines: list[dict] = []
    try:
        listening: dict[str, str] = {}
        deadline = time.monotonic() + WAIT_S
        while "http" not in listening:
            assert time.monotonic() < deadline and proc.poll() is None, lines
            line = proc.stderr.readline()
            if line.startswith("{"):
                lines.append(json.loads(line))
                if lines[-1]["event"] == "listening":
                    listening[lines[-1]["service"]] = lines[-1]["address"]
        page = listening["webrtc"]
        assert page == listening["http"] + PAGE_PATH + "/" and page.startswith("http://127.0.0.1:")
        assert "<title>Callwright: call a flow</title>" in httpx.get(page, timeout=10).text
        assert httpx.get(page + "numbers", timeout=10).json() == [
            {"number": "", "label": "acme-inbound (default)"},
            {"number": "100", "label": "acme-inbound"},
        ]
        bad = httpx.post(
            page + "offer", content=b"not a call", headers={"content-type": "application/json"}, timeout=10
        )
        assert bad.status_code == 400
        assert httpx.get(listening["http"] + "/health", timeout=10).json()["calls_in_progress"] == 0
        qa = listening["http"] + "/qa"
        assert httpx.get(qa + "/calls", timeout=10).headers["location"] == "/qa/login?next=%2Fqa%2Fcalls"
        login = httpx.get(qa + "/login", timeout=10)
        assert login.status_code == 200 and 'action="/qa/login"' in login.text
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert proc.returncode == 0, err
    lines += [json.loads(x) for x in err.splitlines() if x.startswith("{")]
    refused = [e for e in lines if e["event"] == "line_error" and e.get("channel") == "webrtc"]
    assert (
        len(refused) == 1
        and "not JSON" in refused[0]["error"]
        and refused[0]["remote"].startswith("127.0.0.1:")
    )
    assert lines[-1]["event"] == "stopped"


def test_the_page_answers_busy_when_the_call_server_would_refuse():
    from types import SimpleNamespace

    from callwright.server.app import Address
    from callwright.server.webrtc.service import WebRtcService

    service = WebRtcService(build_routes([INBOUND], []), Address("127.0.0.1", 8080))
    assert service._busy() == "the server is starting"
    service.calls = SimpleNamespace(accepting=True, in_progress=3, max_calls=4)  # type: ignore[assignment]
    assert service._busy() is None
    service.calls.in_progress = 4
    assert service._busy() == "all 4 call slots are in use"
    service.calls.accepting = False
    assert service._busy() == "the server is shutting down"
