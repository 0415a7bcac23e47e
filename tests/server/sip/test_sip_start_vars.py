"""Start variables from the caller's network: `X-Var-NAME` headers on the INVITE become the flow's
start variables when the flow declares them under `inputs:` (issue 16 item 7)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from callwright.flows.inputs import MAX_OFFERED, accept_offered, header_variables
from callwright.flows.loader import load_flow
from callwright.server.sip.message import response_to
from tests.server.sip.test_sip_inbound_flow import sip_server
from tests.server.sip.test_sip_uas import UA

FLOW = """\
flow: start-vars
start: check
inputs: {vip: boolean, account: text, attempt: integer}
variables: {vip: false}
states:
  check:
    type: branch
    cases:
      - if: "vip"
        next: vip
    else: regular
  vip:
    type: hangup
    prompt: "Welcome back."
    disposition: vip
  regular:
    type: hangup
    prompt: "Hello."
    disposition: regular
"""


class HeaderUA(UA):
    """The test's raw SIP client, adding headers to its INVITE as a gateway would."""

    def __init__(self, server_port: int, headers: list[tuple[str, str]]) -> None:
        super().__init__(server_port)
        self.extra = headers

    def request(self, method: str, **kw):
        if method != "INVITE":
            return super().request(method, **kw)
        real, self.sip = self.sip, _Capture()  # build it, add the headers, then send it
        try:
            m = super().request(method, **kw)
        finally:
            self.sip = real
        m.headers[-1:-1] = self.extra
        self.sip.sendto(m.to_bytes(), self.server)
        return m


class _Capture:
    def sendto(self, data: bytes, addr: object) -> None: ...


def test_header_names_are_case_folded_and_dashes_read_as_underscores():
    got = header_variables(
        [("X-Var-Rx-Number", "123"), ("x-var-vip", "yes"), ("X-VAR-RX-NUMBER", "999"), ("X-Other", "1"),
         ("X-Var-", "empty name")]
    )  # fmt: skip
    assert got == {"rx_number": "123", "vip": "yes"}  # the first of a repeated header counts
    many = header_variables([(f"X-Var-v{i}", "1") for i in range(MAX_OFFERED + 10)])
    assert len(many) == MAX_OFFERED


def test_only_declared_and_well_typed_variables_are_taken(tmp_path: Path):
    path = tmp_path / "f.yaml"
    path.write_text(FLOW)
    flow = load_flow(path)
    taken, dropped = accept_offered(flow, {"vip": "true", "attempt": "two", "bogus": "1", "account": "A-7"})
    assert taken == {"vip": True, "account": "A-7"}
    assert sorted(d.split(":")[0] for d in dropped) == ["attempt", "bogus"]
    assert any("integer" in d for d in dropped) and any("not among the flow's inputs" in d for d in dropped)


@pytest.mark.parametrize(
    ("headers", "disposition"),
    [
        ([("X-Var-Vip", "true"), ("X-Var-Bogus", "1")], "vip"),
        pytest.param([("X-Var-Vip", "maybe")], "regular", marks=pytest.mark.slow),  # unit-tested above
        pytest.param([], "regular", marks=pytest.mark.slow),
    ],
    ids=["vip", "mistyped", "none"],
)
def test_a_sip_header_reaches_the_flow(tmp_path: Path, synth, recognizer, headers, disposition) -> None:
    flow = tmp_path / "start-vars.yaml"
    flow.write_text(FLOW)
    with sip_server(tmp_path, synth, recognizer, flow) as run:

        async def caller() -> None:
            ua = HeaderUA(run.port, headers)
            try:
                ok = await ua.call()
                assert ok.status == 200
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline:
                    m = await ua.final(timeout=max(deadline - time.monotonic(), 0.1))
                    if m.is_request:
                        ua.sip.sendto(response_to(m, 200).to_bytes(), ua.server)
                        if m.method == "BYE":
                            return
                raise AssertionError("the IVR did not hang up")
            finally:
                ua.close()

        asyncio.run(asyncio.wait_for(caller(), 30))
        run.wait_idle()
        assert run.query("select disposition from calls") == [(disposition,)]
        dropped = [e["reason"] for e in run.events("start_variable_dropped")]
        expected = {"vip": ["bogus"], "mistyped": ["vip"], "none": []}[
            {"vip": "vip", "regular": "mistyped" if headers else "none"}[disposition]
        ]
        assert [d.split(":")[0] for d in dropped] == expected
