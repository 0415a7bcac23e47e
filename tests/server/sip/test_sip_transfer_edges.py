"""A flow's `failed:` edge taken when the far end refuses the REFER (issue 14, item 2).

The whole server runs (ServerApp, CallServer, the SIP service, a real LiveChannel, espeak-ng
prompts); the caller is the raw SIP client of test_sip_uas on loopback. It answers the IVR's
REFER with 603 Decline, or accepts it and then reports 486 Busy Here for the new call in the
NOTIFY's sipfrag: either way the flow must go to its `failed` state, say so and hang up, and
the call log must show the transfer and its result.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import threading
import time
from pathlib import Path

import pytest

from callwright.server.sip.message import SipMessage, parse_message, response_to
from tests.server.sip.test_sip_inbound_flow import sip_server
from tests.server.sip.test_sip_uas import UA

FLOW = """\
flow: transfer-edges
start: agent
states:
  agent:
    type: transfer
    to: "sip:200@127.0.0.1:5999"
    prompt: "Transferring you."
    failed: sorry
  sorry:
    type: hangup
    prompt: "Sorry, the line is busy."
    outcome: error
    disposition: transfer_failed
"""


async def refused(ua: UA, refer: SipMessage, how: str, server_port: int) -> None:
    """Answer the REFER as `how` says: 603 at once, or 202 then a NOTIFY of 486."""
    if how == "603":
        ua.sip.sendto(response_to(refer, 603).to_bytes(), ua.server)
        return
    ua.sip.sendto(response_to(refer, 202).to_bytes(), ua.server)
    notify = SipMessage(method="NOTIFY", uri=f"sip:ivr@127.0.0.1:{server_port}")
    notify.headers = [
        ("Via", f"SIP/2.0/UDP 127.0.0.1:{ua.port};branch=z9hG4bKn{secrets.token_hex(4)}"),
        ("From", f"<sip:caller@127.0.0.1>;tag={ua.tag}"),
        ("To", refer.get("From") or ""),
        ("Call-ID", ua.call_id),
        ("CSeq", "7 NOTIFY"),
        ("Event", "refer"),
        ("Subscription-State", "terminated;reason=noresource"),
        ("Content-Type", "message/sipfrag;version=2.0"),
    ]
    notify.body = b"SIP/2.0 486 Busy Here\r\n"
    ua.sip.sendto(notify.to_bytes(), ua.server)


@pytest.mark.parametrize("how", ["603", "notify-486"])
def test_a_refused_refer_takes_the_failed_edge(tmp_path: Path, synth, recognizer, how: str) -> None:
    flow = tmp_path / "transfer.yaml"
    flow.write_text(FLOW)
    with sip_server(tmp_path, synth, recognizer, flow) as run:

        async def caller() -> list[str]:
            ua = UA(run.port)
            seen: list[str] = []
            try:
                ok = await ua.call()
                assert ok.status == 200
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    m = await ua.final(timeout=max(deadline - time.monotonic(), 0.1))
                    if not m.is_request:
                        continue
                    seen.append(m.method or "")
                    if m.method == "REFER":
                        assert m.get("Refer-To") == "<sip:200@127.0.0.1:5999>"
                        await refused(ua, m, how, run.port)
                    elif m.method == "BYE":
                        ua.sip.sendto(response_to(m, 200).to_bytes(), ua.server)
                        return seen
                    else:
                        ua.sip.sendto(response_to(m, 200).to_bytes(), ua.server)
                raise AssertionError(f"no BYE after the refused transfer: {seen}")
            finally:
                ua.close()

        seen = asyncio.run(asyncio.wait_for(caller(), 40))
        assert seen.count("REFER") == 1 and seen[-1] == "BYE"
        run.wait_idle()
        (call_id,) = [row[0] for row in run.query("select id from calls")]
        row = run.query("select channel, outcome, disposition from calls where id = ?", (call_id,))
        assert row == [("sip", "error", "transfer_failed")]
        kinds = run.query(
            "select kind, state from call_events where call_id = ? and kind in "
            "('transfer', 'transfer_result', 'state_enter', 'prompt') order by seq",
            (call_id,),
        )
        assert kinds == [
            ("state_enter", "agent"),
            ("prompt", "agent"),
            ("transfer", "agent"),
            ("transfer_result", "agent"),
            ("state_enter", "sorry"),
            ("prompt", "sorry"),
        ]
        (data,) = run.query(
            "select data from call_events where call_id = ? and kind = 'transfer_result'", (call_id,)
        )[0]
        assert '"result": "failed"' in data and '"next": "sorry"' in data
        assert [e["result"] for e in run.events("transfer_result")] == ["failed"]


@pytest.mark.slow
def test_baresip_follows_the_refer_and_a_busy_agent_takes_the_failed_edge(tmp_path: Path, synth, recognizer):
    """baresip (a real SIP client) gets the REFER, calls the transfer target itself, and reports
    that call's 486 Busy Here in its NOTIFY; the IVR takes `failed`. The target is a raw socket
    in the test that answers every INVITE busy."""
    from tests.server.sip.baresip_caller import Baresip, available
    from tests.server.sip.test_sip_inbound_flow import caller_wav

    if not available():
        pytest.skip("baresip-core is not installed (scripts/setup.sh installs it)")
    agent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    agent.bind(("127.0.0.1", 0))
    agent.settimeout(0.2)
    invites: list[str] = []
    stop = threading.Event()

    def busy_agent() -> None:
        while not stop.is_set():
            try:
                data, addr = agent.recvfrom(65535)
            except OSError:
                continue
            m = parse_message(data)
            if m.is_request and m.method == "INVITE":
                invites.append(m.uri or "")
                agent.sendto(response_to(m, 486).to_bytes(), addr)

    threading.Thread(target=busy_agent, daemon=True).start()
    flow = tmp_path / "transfer.yaml"
    flow.write_text(FLOW.replace("sip:200@127.0.0.1:5999", f"sip:200@127.0.0.1:{agent.getsockname()[1]}"))
    try:
        with sip_server(tmp_path, synth, recognizer, flow) as run:
            bs = Baresip(tmp_path / "baresip", caller_wav(tmp_path / "silence.wav", None))
            try:
                bs.dial(f"sip:100@127.0.0.1:{run.port}")
                bs.wait_event("CALL_ESTABLISHED", 10)
                deadline = time.monotonic() + 40
                while run.calls.in_progress or not run.events("call_end"):
                    assert time.monotonic() < deadline, run.events()
                    bs._read(0.1)
            finally:
                bs.close()
            run.wait_idle()
            assert invites and invites[0].startswith("sip:200@127.0.0.1")
            row = run.query("select outcome, disposition from calls")
            assert row == [("error", "transfer_failed")]
            states = [s for (s,) in run.query("select state from call_events where kind = 'state_enter'")]
            assert states == ["agent", "sorry"]
    finally:
        stop.set()
        agent.close()
