"""How much an `http` data step adds to the remote's own latency (issue 16: at most 5 ms).

A local service on 127.0.0.1 answers after a fixed delay. Measured per request, median
over N runs after a warm-up: the same GET sent directly with a pooled httpx client
(the remote's latency as a client sees it), and a call on a two-state flow
(http -> hangup) run to its end on the real engine (request filled in from variables,
the bounded worker thread, JSON decoding, saving by path, the call log events).

    .venv/bin/python bench/flow_http.py [N]
"""

from __future__ import annotations

import json
import statistics
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from callwright.flows.loader import loads
from callwright.ivr.clock import FakeClock
from callwright.ivr.datasteps import LiveData
from callwright.ivr.engine import FlowEngine

DELAYS_MS = (0, 20)
BODY = json.dumps({"status": "ready", "drug": {"name": "amoxicillin"}, "items": list(range(50))}).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real service would
    wbufsize = 65536  # headers and body in one segment (else Nagle + delayed ACK add 40 ms)

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        delay = int(self.path.rsplit("/", 1)[-1]) / 1000
        if delay:
            time.sleep(delay)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)


FLOW = """
flow: bench
start: look
variables: {api: "", delay: 0}
states:
  look:
    type: http
    url: "{api}/rx/{delay}"
    timeout: 2s
    save: {status: status, drug: drug.name}
    success: done
    failure: done
  done: {type: hangup}
"""


def main(n: int) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    api = f"http://127.0.0.1:{server.server_address[1]}"
    res = loads(FLOW, "bench.yaml")
    assert res.flow is not None and not res.errors
    engine = FlowEngine(res.flow)
    data = LiveData()
    client = httpx.Client(trust_env=False)
    print(f"{'remote delay':>12} {'direct ms':>10} {'http step ms':>13} {'added ms':>9}")
    for delay in DELAYS_MS:
        direct, step = [], []
        for i in range(n + 5):
            t = time.perf_counter()
            client.get(f"{api}/rx/{delay}").json()
            d = time.perf_counter() - t
            t = time.perf_counter()
            session = engine.start_call(FakeClock(), variables={"api": api, "delay": delay}, data=data)
            session.start()
            s = time.perf_counter() - t
            assert session.vars["status"] == "ready", session.events[-3:]
            if i >= 5:
                direct.append(d * 1000)
                step.append(s * 1000)
        md, ms = statistics.median(direct), statistics.median(step)
        print(f"{delay:>12} {md:>10.2f} {ms:>13.2f} {ms - md:>9.2f}")
    server.shutdown()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
