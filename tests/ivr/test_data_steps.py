"""Data steps (http, function) on the real engine, against a real HTTP service on 127.0.0.1.

Why: a live line looks things up; whatever the remote does (hangs, 500, 50 MB, not JSON) or a
function does (raises, never returns), the call must take the step's failure or timeout edge
within the step's timeout and go on, and the secret header never shows in the log or console.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from callwright.flows.checker import check
from callwright.flows.loader import loads
from callwright.ivr import datasteps
from callwright.ivr.channels.text import TextChannel
from callwright.ivr.clock import FakeClock
from callwright.ivr.engine import FlowEngine, load_engine
from callwright.ivr.runner import run_call

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "tok-5e3fd1c9-never-logged"


class _Pharmacy(BaseHTTPRequestHandler):
    """A small pharmacy service, plus routes that misbehave on purpose."""

    seen: list[dict[str, Any]] = []
    hits: dict[str, int] = {}

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _send(self, status: int, body: bytes, ctype: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _route(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        type(self).seen.append(
            {
                "method": self.command,
                "path": self.path,
                "auth": self.headers.get("Authorization"),
                "body": body,
            }
        )
        type(self).hits[self.path] = type(self).hits.get(self.path, 0) + 1
        if self.path == "/refills/1234567":
            self._send(200, json.dumps({"status": "ready", "drug": {"name": "amoxicillin"}}).encode())
        elif self.path == "/refills/7654321":
            self._send(200, json.dumps({"status": "refillable", "drug": {"name": "lisinopril"}}).encode())
        elif self.path == "/refills/7654321/requests":
            self._send(201, json.dumps({"ready_date": "Thursday"}).encode())
        elif self.path.startswith("/hang"):
            time.sleep(5)
        elif self.path.startswith("/error"):
            self._send(500, b'{"error": "boom"}')
        elif self.path.startswith("/huge"):
            self.send_response(200)
            self.send_header("Content-Length", str(50_000_000))
            self.end_headers()
            chunk = b" " * 65536
            try:
                for _ in range(50_000_000 // 65536):
                    self.wfile.write(chunk)
            except OSError:
                pass  # the client stopped reading: what it should do
        elif self.path.startswith("/trickle"):
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            try:
                for _ in range(100):
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.2)
            except OSError:
                pass
        elif self.path.startswith("/notjson"):
            self._send(200, b"<html>not json</html>", "text/html")
        else:
            self._send(404, b'{"error": "not found"}')

    do_GET = do_POST = _route


@pytest.fixture(scope="module")
def service() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Pharmacy)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _live(**functions: Any) -> datasteps.LiveData:
    return datasteps.LiveData(
        secrets=datasteps.Secrets({"pharmacy_token": TOKEN}),
        functions=datasteps.FunctionRegistry(loaded=dict(functions)),
    )


def _text_call(engine: FlowEngine, typed: str, **call: Any) -> tuple[Any, str]:
    out = io.StringIO()
    channel = TextChannel(io.StringIO(typed), out)
    session = run_call(engine, channel, FakeClock(), **{"caller_id": "+15550100", **call})
    return session, out.getvalue()


def test_refill_sample_runs_against_a_local_service(service: str) -> None:
    engine = load_engine(ROOT / "flows" / "refill.yaml")
    _Pharmacy.seen.clear()
    windows: list[dict[str, Any]] = []

    def pickup_window(**kw: Any) -> dict[str, str]:
        windows.append(kw)
        return {"window": "after 2 pm"}

    session, console = _text_call(
        engine,
        "#7654321#\nyes\n",
        variables={"pharmacy_api": service},
        data=_live(pickup_window=pickup_window),
    )
    assert session.outcome == "self_served"
    assert "Would you like to refill your lisinopril?" in console
    assert "It will be ready on Thursday." in console
    assert "You can pick it up after 2 pm." in console
    assert windows == [{"ready_date": "Thursday", "caller": "+15550100"}]
    requests = [s for s in _Pharmacy.seen if s["path"].startswith("/refills/7654321")]
    assert [r["method"] for r in requests] == ["GET", "POST"]
    assert all(r["auth"] == f"Bearer {TOKEN}" for r in requests)
    assert json.loads(requests[1]["body"]) == {"rx_number": "7654321", "caller": "+15550100"}
    # the secret went to the service only: not to the console, not to any logged event
    logged = json.dumps([e.data for e in session.events])
    assert TOKEN not in console and TOKEN not in logged
    steps = [e.data for e in session.events if e.kind == "data_step"]
    assert [(s["result"], s.get("status")) for s in steps] == [
        ("success", 200),
        ("success", 201),
        ("success", None),
    ]


HOSTILE = """
flow: hostile
start: step
variables: {api: "http://127.0.0.1:9"}
states:
  step:
    type: http
    url: "{api}/PATH"
    timeout: 1s
    retries: RETRIES
    save: {got: error}
    success: ok
    failure: failed
    on_timeout: late
  ok: {type: hangup, disposition: ok}
  failed: {type: hangup, disposition: failed}
  late: {type: hangup, disposition: late}
"""


def _hostile(path: str, retries: int = 0) -> FlowEngine:
    res = loads(HOSTILE.replace("PATH", path).replace("RETRIES", str(retries)), "hostile.yaml")
    assert res.flow is not None and not res.errors, res.problems
    return FlowEngine(res.flow)


@pytest.mark.parametrize(
    ("path", "disposition", "reason"),
    [
        ("hang", "late", "timeout"),
        ("trickle", "late", "timeout"),
        ("error", "failed", "HTTP 500"),
        ("huge", "failed", "1,000,000 bytes"),
        ("notjson", "failed", "not valid JSON"),
        ("missing", "failed", "HTTP 404"),
    ],
)
def test_a_misbehaving_service_takes_its_edge_within_the_timeout(
    service: str, path: str, disposition: str, reason: str
) -> None:
    engine = _hostile(path)
    started = time.monotonic()
    session, _ = _text_call(engine, "", variables={"api": service}, data=_live())
    took = time.monotonic() - started
    assert session.disposition == disposition
    assert took < 1.5, f"{path}: the call waited {took:.2f} s for a 1 s step"
    step = next(e.data for e in session.events if e.kind == "data_step")
    assert reason in step["reason"]
    assert session.vars["got"] is None  # a failed step's saves are null, not stale


def test_retries_happen_within_the_deadline(service: str) -> None:
    _Pharmacy.hits.pop("/error", None)
    session, _ = _text_call(_hostile("error", retries=2), "", variables={"api": service}, data=_live())
    assert session.disposition == "failed"
    assert _Pharmacy.hits["/error"] == 3


def test_nothing_listening_is_a_failure_not_a_crash() -> None:
    session, _ = _text_call(_hostile("x"), "", data=_live())  # port 9 on 127.0.0.1: refused
    assert session.disposition in ("failed", "late")
    assert session.outcome == "self_served"


FUNCTION_FLOW = """
flow: fn
start: step
variables: {rx: "42"}
states:
  step:
    type: function
    function: stock
    args: {rx_number: rx, count: "2 + 1"}
    timeout: 500ms
    save: {in_stock: available, first: shelves.0}
    success: ok
    failure: failed
    on_timeout: late
  ok: {type: hangup, prompt: "In stock {in_stock} on {first}.", disposition: ok}
  failed: {type: hangup, disposition: failed}
  late: {type: hangup, disposition: late}
"""


def _fn_engine() -> FlowEngine:
    res = loads(FUNCTION_FLOW, "fn.yaml")
    assert res.flow is not None and not res.errors and not check(res.flow), res.problems
    return FlowEngine(res.flow)


def test_a_registered_function_is_called_with_its_arguments() -> None:
    calls: list[dict[str, Any]] = []

    def stock(**kw: Any) -> dict[str, Any]:
        calls.append(kw)
        return {"available": True, "shelves": ["A3", "B1"]}

    session, console = _text_call(_fn_engine(), "", data=_live(stock=stock))
    assert calls == [{"rx_number": "42", "count": 3}]
    assert session.disposition == "ok" and "In stock True on A3." in console


def _raises(**kw: Any) -> Any:
    raise RuntimeError("database password is hunter2")


def _sleeps(**kw: Any) -> Any:
    time.sleep(3)
    return {}


def _object(**kw: Any) -> Any:
    return object()


@pytest.mark.parametrize(
    ("fn", "disposition", "reason"),
    [
        (_raises, "failed", "raised RuntimeError"),
        (_sleeps, "late", "timeout"),
        (_object, "failed", "not plain"),
    ],
)
def test_a_bad_function_takes_its_edge_within_the_timeout(fn: Any, disposition: str, reason: str) -> None:
    started = time.monotonic()
    session, _ = _text_call(_fn_engine(), "", data=_live(stock=fn))
    assert time.monotonic() - started < 1.0
    assert session.disposition == disposition
    step = next(e.data for e in session.events if e.kind == "data_step")
    assert reason in step["reason"] and "hunter2" not in json.dumps(step)


def test_an_unregistered_function_fails_with_how_to_register_it() -> None:
    session, _ = _text_call(_fn_engine(), "", data=datasteps.LiveData())
    step = next(e.data for e in session.events if e.kind == "data_step")
    assert session.disposition == "failed"
    assert "no function 'stock' is registered" in step["reason"]


def test_functions_from_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(datasteps.FUNCTIONS_ENV, "dump=json:dumps")
    registry = datasteps.FunctionRegistry.from_config(["up=operator:methodcaller"])
    assert registry.resolve("dump") is json.dumps
    assert registry.resolve("nope") is None
    with pytest.raises(datasteps.CallwrightError, match="NAME=module:callable"):
        datasteps.FunctionRegistry.from_config(["no-module"])


def test_a_missing_secret_fails_the_step_and_names_where_to_set_it(service: str) -> None:
    engine = load_engine(ROOT / "flows" / "refill.yaml")
    data = datasteps.LiveData(secrets=datasteps.Secrets())
    session, _ = _text_call(engine, "#7654321#\n", variables={"pharmacy_api": service}, data=data)
    step = next(e.data for e in session.events if e.kind == "data_step")
    assert step["result"] == "failure"
    assert "CALLWRIGHT_SECRET_PHARMACY_TOKEN" in step["reason"]
    assert session.queue == "pharmacy"


def test_secrets_from_the_environment_and_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLWRIGHT_SECRET_API_KEY", "from-env")
    secrets_file = tmp_path / "secrets.yaml"
    secrets_file.write_text("pharmacy_token: from-file\n")
    s = datasteps.Secrets.from_config(secrets_file)
    assert s.get("pharmacy_token") == "from-file" and s.get("api_key") == "from-env"
    secrets_file.write_text("- not a mapping\n")
    with pytest.raises(datasteps.CallwrightError, match="mapping of names"):
        datasteps.Secrets.from_config(secrets_file)


def test_extract_and_storable() -> None:
    value = {"a": {"b": [{"c": 1}, {"c": 2}]}, "n": 1.5}
    assert datasteps.extract(value, ("a", "b", 1, "c")) == 2
    assert datasteps.extract(value, ("a", "x")) is None
    assert datasteps.extract(value, ("a", "b", 9)) is None
    assert datasteps.storable([1, 2]) == "[1, 2]"
    assert datasteps.storable("x" * 20_000) == "x" * 20_000
    assert datasteps.storable(["x" * 20_000]) is None
    assert isinstance(datasteps.http_result(200, b"NaN"), datasteps.DataFailed)


def _cw(*args: str, stdin: str = "", env: dict[str, str] | None = None) -> tuple[int, str, str]:
    r = subprocess.run(
        [sys.executable, "-m", "callwright", *args],
        input=stdin.encode(),
        capture_output=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONWARNINGS": "ignore", **(env or {})},
        timeout=120,
    )
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def test_callwright_call_with_start_variables_and_a_secrets_file(service: str, tmp_path: Path) -> None:
    """The whole command: --var gives the service's address, --secrets the token, and the
    token shows nowhere: not on the console, not in the call log database."""
    secrets = tmp_path / "secrets.yaml"
    secrets.write_text(f"pharmacy_token: {TOKEN}\n")
    db = tmp_path / "calls.db"
    _Pharmacy.seen.clear()
    code, out, err = _cw(
        "call", "flows/refill.yaml", "--db", str(db), "--var", f"pharmacy_api={service}",
        "--secrets", str(secrets), stdin="#1234567#\n",
    )  # fmt: skip
    assert code == 0, err
    assert "Your amoxicillin is ready for pickup." in out
    assert _Pharmacy.seen[-1]["auth"] == f"Bearer {TOKEN}"
    assert TOKEN not in out + err and TOKEN.encode() not in db.read_bytes()


def test_an_undeclared_start_variable_is_refused_before_the_call(tmp_path: Path) -> None:
    db = tmp_path / "calls.db"
    code, out, err = _cw("call", "flows/refill.yaml", "--db", str(db), "--var", "pharmacy=x")
    assert code == 1 and "Traceback" not in err
    assert "takes no start variable 'pharmacy'; did you mean 'pharmacy_api'?" in err
    assert "IVR:" not in out
