"""The runtime: one transitions machine per flow, calls as models, timers on an injected clock."""

import textwrap
from datetime import datetime

import pytest

from callwright.flows.loader import loads
from callwright.ivr.clock import FakeClock
from callwright.ivr.engine import FlowEngine
from callwright.ivr.events import Dtmf, EndCall, Hangup, Listen, Say, Speech, Transfer
from callwright.ivr.session import QueueStatus

OPEN = datetime.fromisoformat("2026-11-23T10:00:00-05:00")


def engine_for(text: str) -> FlowEngine:
    res = loads(textwrap.dedent(text), "t.yaml")
    assert res.flow is not None, res.problems
    return FlowEngine(res.flow)


def says(actions):
    return [a.text for a in actions if isinstance(a, Say)]


def test_one_machine_shared_by_many_calls(inbound_flow):
    engine = FlowEngine(inbound_flow)
    clock = FakeClock(OPEN)
    calls = [engine.start_call(clock) for _ in range(200)]
    for c in calls:
        c.start()
    assert len(engine.machine.models) == 200
    assert {c.state for c in calls} == {"choose-language"}
    for c in calls[:150]:
        c.handle(Hangup())
    assert len(engine.machine.models) == 50 and len(engine.active) == 50
    for c in calls[150:]:
        for key in "11":
            c.handle(Dtmf(key))
        c.handle(Speech("agent"))
    assert engine.machine.models == [] and not engine.active
    assert {c.outcome for c in calls[150:]} == {"transferred"}


def test_no_input_timer_is_a_deadline_on_the_clock(inbound_flow):
    engine = FlowEngine(inbound_flow)
    clock = FakeClock(OPEN)
    call = engine.start_call(clock)
    actions = call.start()
    listen = [a for a in actions if isinstance(a, Listen)][0]
    assert listen.no_input_s == 5.0 and call.deadline == pytest.approx(5.0)
    clock.advance(3)
    call.listening_started()  # prompt finished playing: the timer restarts from now
    assert call.deadline == pytest.approx(8.0)
    clock.skip_to(call.deadline)
    out = call.on_timer()
    assert says(out)[0] == "Sorry, I didn't hear anything."
    assert call.no_input_count == 1 and call.state == "choose-language"


MENU = """\
flow: keys
start: menu
settings: {on_failure: bye, timeouts: {inter_digit: 2s}}
states:
  menu:
    type: ask
    collect: menu
    input: dtmf
    prompt: "Press 1, 12 or 2"
    choices:
      - {id: one, dtmf: "1", next: bye}
      - {id: twelve, dtmf: "12", next: bye}
      - {id: two, dtmf: "2", next: bye}
  bye: {type: hangup}
"""


def test_inter_digit_timeout_resolves_a_prefix_key():
    engine = engine_for(MENU)
    clock = FakeClock()
    call = engine.start_call(clock)
    call.start()
    call.handle(Dtmf("1"))
    assert call.timer_kind == "inter_digit" and call.deadline == pytest.approx(2.0)
    clock.skip_to(call.deadline)
    call.on_timer()
    assert call.ended and call.events[-3].data.get("value") == "one"

    call2 = engine.start_call(clock)
    call2.start()
    call2.handle(Dtmf("1"))
    call2.handle(Dtmf("2"))
    assert call2.ended and any(e.data.get("value") == "twelve" for e in call2.events)


def test_speech_in_a_keypad_only_state_is_a_no_match():
    call = engine_for(MENU).start_call(FakeClock())
    call.start()
    out = call.handle(Speech("one"))
    assert "didn't get that" in says(out)[0] and call.no_match_count == 1


def test_runtime_expression_error_goes_to_on_failure_or_ends_with_error():
    flow = """\
    flow: err
    start: calc
    variables: {n: "abc"}
    settings: {on_failure: sorry}
    states:
      calc:
        type: branch
        cases: [{if: "n > 3", next: done}]
        else: done
      done: {type: hangup}
      sorry: {type: hangup, prompt: "Something went wrong.", outcome: error}
    """
    call = engine_for(flow).start_call(FakeClock())
    out = call.start()
    assert says(out) == ["Something went wrong."] and call.outcome == "error"
    assert any(e.kind == "error" and "cannot evaluate" in e.data["message"] for e in call.events)

    call = engine_for(flow.replace("    settings: {on_failure: sorry}\n", "")).start_call(FakeClock())
    call.start()
    assert call.ended and call.outcome == "error"


def test_callback_offer_depends_on_the_queue_wait(inbound_flow):
    engine = FlowEngine(inbound_flow)
    for wait, expect_state in ((30, "billing-queue"), (300, "offer-callback")):
        call = engine.start_call(FakeClock(OPEN), queue_status=QueueStatus({"billing": wait}))
        call.start()
        for k in "11":
            call.handle(Dtmf(k))
        for k in "4111#":
            call.handle(Dtmf(k))
        call.handle(Dtmf("1"))
        assert call.visited[-1] == expect_state


def test_transfer_and_end_actions_carry_queue_and_skill(inbound_flow):
    call = FlowEngine(inbound_flow).start_call(FakeClock(OPEN))
    call.start()
    call.handle(Speech("español"))
    call.handle(Speech("soporte"))
    for k in "1234#":
        call.handle(Dtmf(k))
    out = call.handle(Dtmf("1"))
    transfer = [a for a in out if isinstance(a, Transfer)][0]
    end = [a for a in out if isinstance(a, EndCall)][0]
    assert (transfer.queue, transfer.skill) == ("support", "es")
    assert (end.outcome, end.queue) == ("transferred", "support")
    assert says(out) == ["Le comunicamos con soporte técnico."]


def test_listen_carries_the_phrases_for_the_recogniser(inbound_flow):
    call = FlowEngine(inbound_flow).start_call(FakeClock(OPEN))
    out = call.start()
    listen = [a for a in out if isinstance(a, Listen)][0]
    assert {"english", "spanish", "agent", "repeat"} <= set(listen.phrases)
    assert listen.mode == "both" and listen.barge_in is True


def test_low_confidence_confirmation():
    flow = """\
    flow: conf
    start: menu
    settings: {on_failure: bye, accept_confidence: 0.3}
    states:
      menu:
        type: ask
        collect: menu
        prompt: "Say sales or support"
        confirm: {when: low_confidence, below: 0.7, prompt: "Did you say {value}?"}
        choices:
          - {id: sales, speech: [sales], next: bye}
          - {id: support, speech: [support], next: bye}
      bye: {type: hangup, prompt: "Bye"}
    """
    engine = engine_for(flow)
    sure = engine.start_call(FakeClock())
    sure.start()
    assert says(sure.handle(Speech("sales", 0.95))) == ["Bye"]
    unsure = engine.start_call(FakeClock())
    unsure.start()
    assert says(unsure.handle(Speech("sales", 0.5))) == ["Did you say sales?"]
    assert says(unsure.handle(Speech("yes"))) == ["Bye"]
