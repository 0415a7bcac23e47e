"""Transfer result edges (issue 14): `transferred:` and `failed:` on a transfer state.

Why: a blind transfer can fail (the far end refuses the REFER, the agent is busy); a flow
must be able to say where the caller goes then, and the checker, the diagram, flow tests
and the runtime must agree on those edges. A channel that cannot hand a call on (text,
audio script) takes `transferred`; a transfer state without result edges ends the call as
before.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from callwright.errors import DataError
from callwright.flows.checker import check_file
from callwright.flows.graph import to_dot, to_mermaid
from callwright.flows.loader import load, loads
from callwright.flows.model import Edge, Transfer, edges
from callwright.ivr.clock import FakeClock
from callwright.ivr.engine import FlowEngine
from callwright.ivr.events import EndCall, Speech, TransferOutcome
from callwright.ivr.events import Transfer as TransferAction
from callwright.ivr.session import TRANSFER_RESULT_WAIT_S
from callwright.ivr.testing import run_test_files

FLOW = """\
flow: transfers
start: menu
settings: {on_failure: bye}
states:
  menu:
    type: ask
    collect: menu
    prompt: "Say agent."
    choices:
      - {id: agent, dtmf: "1", speech: [agent], next: agent}
  agent:
    type: transfer
    to: "sip:200@pbx.example"
    prompt: "Transferring you now."
    transferred: noted
    failed: sorry
  noted:
    type: set
    vars: {handed_on: "true"}
    next: done
  done:
    type: hangup
  sorry:
    type: play
    prompt: "Sorry, nobody can take your call."
    next: bye
  bye:
    type: hangup
    prompt: "Goodbye."
    outcome: error
    disposition: transfer_failed
"""


def flow_file(tmp_path: Path, text: str = FLOW) -> Path:
    path = tmp_path / "transfers.yaml"
    path.write_text(text)
    return path


def session_at_transfer(tmp_path: Path):
    result = load(flow_file(tmp_path))
    assert result.flow is not None and not result.errors
    session = FlowEngine(result.flow).start_call(FakeClock())
    session.start()
    actions = session.handle(Speech("agent"))
    return session, actions


# --- the model, the loader and the checker ------------------------------------------------


def test_the_loader_reads_both_edges_and_edges_lists_them(tmp_path):
    flow = load(flow_file(tmp_path)).flow
    assert flow is not None
    st = flow.states["agent"]
    assert isinstance(st, Transfer) and (st.transferred, st.failed) == ("noted", "sorry")
    assert st.waits_for_result
    got = [e for e in edges(flow) if e.source == "agent"]
    assert got == [Edge("agent", "transferred", "noted", "next"), Edge("agent", "failed", "sorry", "failure")]
    assert [p for p in check_file(flow_file(tmp_path)) if p.severity == "error"] == []


def test_a_transfer_without_edges_has_none_and_does_not_wait():
    result = loads("flow: f\nstart: t\nstates:\n  t: {type: transfer, to: '+15550100'}\n")
    assert result.flow is not None and not result.errors
    st = result.flow.states["t"]
    assert isinstance(st, Transfer) and not st.waits_for_result and edges(result.flow) == []


@pytest.mark.parametrize("key", ["transferred", "failed"])
def test_an_unknown_target_is_located_with_a_did_you_mean(tmp_path, key):
    text = FLOW.replace(f"    {key}: {'noted' if key == 'transferred' else 'sorry'}\n", f"    {key}: sory\n")
    assert text != FLOW
    path = flow_file(tmp_path, text)
    errors = [p for p in check_file(path) if p.severity == "error"]
    assert len(errors) == 1, errors
    line = text.splitlines().index(f"    {key}: sory") + 1
    assert errors[0].line == line and errors[0].col == len(f"    {key}: ") + 1
    assert "unknown target state 'sory'; did you mean 'sorry'?" in str(errors[0])
    assert str(errors[0]).startswith(f"{path}:{line}:")


def test_a_target_that_is_not_a_state_name_is_a_schema_error(tmp_path):
    path = flow_file(tmp_path, FLOW.replace("    failed: sorry\n", "    failed: [sorry]\n"))
    errors = [str(p) for p in check_file(path) if p.severity == "error"]
    assert len(errors) == 1 and "failed" in errors[0], errors


def test_a_failed_edge_back_into_a_silent_loop_is_reported_at_the_edge(tmp_path):
    # menu --max_retries--> agent --failed--> menu: a silent caller and a dead line loop forever
    text = FLOW.replace("settings: {on_failure: bye}\n", "").replace(
        '      - {id: agent, dtmf: "1", speech: [agent], next: agent}\n',
        '      - {id: agent, dtmf: "1", speech: [agent], next: agent}\n    on_failure: agent\n',
    )
    text = text.replace("    failed: sorry\n", "    failed: menu\n")
    errors = [p for p in check_file(flow_file(tmp_path, text)) if p.severity == "error"]
    messages = " | ".join(p.message for p in errors)
    assert "after a failed transfer 'agent' goes to 'menu'" in messages, messages
    at = next(p for p in errors if "failed transfer" in p.message)
    assert at.line == text.splitlines().index("    failed: menu") + 1


# --- diagrams -----------------------------------------------------------------------------


def test_the_diagrams_show_both_edges(tmp_path):
    flow = load(flow_file(tmp_path)).flow
    assert flow is not None
    dot = to_dot(flow)
    assert '"agent" -> "noted" [label="transferred"' in dot
    assert '"agent" -> "sorry" [label="failed" style=dashed' in dot
    assert '"menu" -> "bye" [label="max retries"' in dot  # an input state's failure edge keeps its name
    mmd = to_mermaid(flow)
    assert ": transferred" in mmd and ": failed" in mmd


def test_a_transfer_missing_an_edge_still_ends_in_the_mermaid_diagram():
    result = loads(
        "flow: f\nstart: t\nstates:\n  t: {type: transfer, to: x, failed: b}\n  b: {type: hangup}\n"
    )
    assert result.flow is not None
    mmd = to_mermaid(result.flow)
    ids = {line.split(" as ")[1]: line.split('"')[1] for line in mmd.splitlines() if " as " in line}
    ends = {ids[line.split()[0]] for line in mmd.splitlines() if line.endswith("--> [*]")}
    assert ends == {"t", "b"}


# --- the engine ---------------------------------------------------------------------------


def test_the_session_waits_for_the_result_then_follows_failed(tmp_path):
    session, actions = session_at_transfer(tmp_path)
    transfer = next(a for a in actions if isinstance(a, TransferAction))
    assert transfer.destination == "sip:200@pbx.example" and transfer.state == "agent"
    assert not session.ended and session.timer_kind == "transfer"
    assert session.deadline == pytest.approx(session.clock.now() + TRANSFER_RESULT_WAIT_S)
    assert session.handle(Speech("hello?")) == []  # input while the line transfers is ignored
    actions = session.handle(TransferOutcome("failed", "486 Busy Here"))
    assert session.visited[-2:] == ["sorry", "bye"]
    assert session.outcome == "error" and session.disposition == "transfer_failed"
    assert ("agent", "failed") in session.edges_taken
    result = next(e for e in session.events if e.kind == "transfer_result")
    assert result.data == {
        "destination": "sip:200@pbx.example",
        "result": "failed",
        "reason": "486 Busy Here",
        "next": "sorry",
    }
    assert any(isinstance(a, EndCall) for a in actions)


def test_transferred_follows_its_edge_and_the_call_ends_transferred(tmp_path):
    session, _ = session_at_transfer(tmp_path)
    session.handle(TransferOutcome("transferred"))
    assert session.visited[-2:] == ["noted", "done"] and session.vars["handed_on"] is True
    # the hangup state says self_served, but the call was handed on: it ends transferred
    assert session.outcome == "transferred" and session.queue == "sip:200@pbx.example"


def test_no_answer_from_the_line_is_a_failed_transfer(tmp_path):
    session, _ = session_at_transfer(tmp_path)
    session.clock.skip_to(session.deadline)
    session.on_timer()
    result = next(e for e in session.events if e.kind == "transfer_result")
    assert result.data["result"] == "failed" and "no answer from the line" in result.data["reason"]
    assert session.visited[-1] == "bye"


def test_a_failure_without_a_failed_edge_ends_the_call_with_an_error(tmp_path):
    path = flow_file(tmp_path, FLOW.replace("    failed: sorry\n", ""))
    flow = load(path).flow
    assert flow is not None
    session = FlowEngine(flow).start_call(FakeClock())
    session.start()
    session.handle(Speech("agent"))
    session.handle(TransferOutcome("failed"))
    assert session.ended and session.outcome == "error"
    end = session.events[-1]
    assert end.kind == "call_end" and end.data["reason"] == (
        "agent: the transfer failed (the state has no `failed` edge)"
    )


def test_a_transfer_without_edges_ends_at_once_as_before():
    result = loads("flow: f\nstart: t\nstates:\n  t: {type: transfer, to: '+15550100'}\n")
    assert result.flow is not None
    session = FlowEngine(result.flow).start_call(FakeClock())
    actions = session.start()
    assert session.ended and session.outcome == "transferred" and session.queue == "+15550100"
    assert [type(a).__name__ for a in actions] == ["Transfer", "EndCall"]
    assert session.handle(TransferOutcome("failed")) == []  # the line's late answer changes nothing


def test_a_late_or_unasked_result_is_ignored(tmp_path):
    session, _ = session_at_transfer(tmp_path)
    session.handle(TransferOutcome("failed"))  # to sorry -> bye: the call has ended
    n = len(session.events)
    assert session.handle(TransferOutcome("transferred")) == [] and len(session.events) == n


# --- channels that cannot transfer, and flow tests ------------------------------------------


def test_the_text_channel_takes_transferred(tmp_path):
    import io

    from callwright.ivr.channels.text import TextChannel
    from callwright.ivr.engine import load_engine
    from callwright.ivr.runner import run_call

    out = io.StringIO()
    channel = TextChannel(io.StringIO("agent\n"), out)
    session = run_call(load_engine(flow_file(tmp_path)), channel, FakeClock())
    assert "[transfer to sip:200@pbx.example]" in out.getvalue()
    assert session.visited[-2:] == ["noted", "done"] and session.outcome == "transferred"


TESTS = """\
flow: transfers.yaml
tests:
  - name: the agent answers
    steps:
      - say: agent
    expect: {outcome: transferred, visited: [agent, noted, done]}
  - name: the agent is busy
    mocks:
      agent: {transfer: failed}
    steps:
      - say: agent
      - expect: {prompt: "nobody can take your call"}
    expect: {outcome: error, disposition: transfer_failed, visited: [agent, sorry, bye]}
"""


def test_flow_tests_cover_both_edges_with_a_mocked_failure(tmp_path):
    flow_file(tmp_path)
    tests = tmp_path / "t.test.yaml"
    tests.write_text(TESTS)
    report = run_test_files([tests])
    assert [r.passed for r in report.results] == [True, True], [r.explain() for r in report.results]
    (cov,) = report.coverage
    assert {("agent", "transferred"), ("agent", "failed")} <= cov.edges_hit


def test_a_bad_transfer_mock_is_located(tmp_path):
    flow_file(tmp_path)
    tests = tmp_path / "t.test.yaml"
    tests.write_text(TESTS.replace("{transfer: failed}", "{transfer: busy}"))
    with pytest.raises(DataError) as info:
        run_test_files([tests])
    line = TESTS.splitlines().index("      agent: {transfer: failed}") + 1
    assert f"t.test.yaml:{line}:" in str(info.value)
    assert "transfer is transferred or failed, not 'busy'" in str(info.value)


def test_a_data_steps_failure_edges_are_drawn_with_their_own_labels():
    # they were all drawn "max retries", the input states' label, because they share its kind
    result = loads(
        "flow: f\nstart: look\nstates:\n"
        "  look: {type: http, url: 'https://x.example/a', success: ok, failure: bad, on_timeout: slow}\n"
        "  ok: {type: hangup}\n  bad: {type: hangup}\n  slow: {type: hangup}\n"
    )
    assert result.flow is not None and not result.errors
    dot = to_dot(result.flow)
    assert '"look" -> "bad" [label="failure"' in dot and '"look" -> "slow" [label="timeout"' in dot
    assert "max retries" not in dot and ": timeout" in to_mermaid(result.flow)
