"""Where a queue state's expected wait comes from (issue 16, item 6): a running ACD's current
state when there is one (the ACD's own estimate), else configuration (`--queue-wait`)."""

from __future__ import annotations

import math
from datetime import datetime

import pytest

from callwright.acd.live import QueueBoard, QueueSnapshot, estimated_wait_s
from callwright.errors import CallwrightError, DataError
from callwright.ivr.clock import FakeClock
from callwright.ivr.engine import FlowEngine
from callwright.ivr.events import Dtmf
from callwright.ivr.queues import AcdWaits, ConfiguredWaits
from tests import cli_inprocess
from tests.conftest import FLOWS

OPEN = datetime.fromisoformat("2026-11-23T10:00:00-05:00")


# -- the ACD's estimate and the live board -------------------------------------------------


def test_the_acd_estimate_is_callers_ahead_plus_one_times_aht_over_agents():
    assert estimated_wait_s(QueueSnapshot(waiting=3, agents_on_duty=2, aht_s=60)) == 120.0
    assert estimated_wait_s(QueueSnapshot(waiting=0, agents_on_duty=4, aht_s=200)) == 50.0
    assert estimated_wait_s(QueueSnapshot(waiting=0, agents_on_duty=0, aht_s=60)) == math.inf


@pytest.mark.parametrize(
    ("waiting", "agents", "aht"), [(-1, 1, 60), (0, -2, 60), (0, 1, -5), (0, 1, math.nan)]
)
def test_an_impossible_snapshot_is_refused(waiting, agents, aht):
    with pytest.raises(DataError, match="queue snapshot"):
        QueueSnapshot(waiting, agents, aht)


def test_the_board_reports_what_it_was_last_told():
    board = QueueBoard()
    assert board.snapshot("billing") is None
    board.update("billing", QueueSnapshot(5, 1, 30))
    board.update("billing", QueueSnapshot(1, 1, 30))
    assert board.snapshot("billing") == QueueSnapshot(1, 1, 30)
    board.remove("billing")
    assert board.snapshot("billing") is None


# -- the two sources -----------------------------------------------------------------------


def test_configured_waits_give_the_figure_or_zero():
    waits = ConfiguredWaits({"billing": 180.0})
    assert waits.expected_wait_s("billing") == 180.0
    assert waits.expected_wait_s("sales") == 0.0


def test_acd_waits_follow_the_acd_as_it_changes_and_fall_back_for_other_queues():
    board = QueueBoard()
    waits = AcdWaits(board, ConfiguredWaits({"billing": 999.0, "sales": 45.0}))
    board.update("billing", QueueSnapshot(waiting=2, agents_on_duty=3, aht_s=90))
    assert waits.expected_wait_s("billing") == 90.0  # the ACD wins over the configured 999
    assert waits.source_of("billing") == "acd"
    board.update("billing", QueueSnapshot(waiting=11, agents_on_duty=3, aht_s=90))
    assert waits.expected_wait_s("billing") == 360.0
    assert waits.expected_wait_s("sales") == 45.0  # not served by the ACD: configuration
    assert waits.source_of("sales") == "configured"
    assert AcdWaits(board).expected_wait_s("sales") == 0.0


def test_the_simulation_offers_callbacks_by_the_same_estimate():
    """The simulated ACD and a flow agree on when a wait is too long: one agent, 60 s calls,
    callback over 90 s: the first caller is answered, the second waits (60 s expected:
    no offer), the third would wait 120 s and is offered one."""
    from callwright.acd.records import Caller
    from callwright.reports.acd import AcdModel, AgentSpec, CallbackOffer, Fixed, QueueSpec, simulate

    model = AcdModel(
        queues=(QueueSpec("q", Fixed(60.0), callback=CallbackOffer(threshold_s=90.0)),),
        agents=(AgentSpec("a1", frozenset({"q"})),),
    )
    callers = [Caller(f"c{i}", float(i), "q") for i in range(3)]
    result = simulate(model, callers=callers, seed=1)
    offered = {r.call_id for r in result.calls if r.callback_offered}
    assert offered == {"c2"}
    assert estimated_wait_s(QueueSnapshot(1, 1, 60.0)) > 90.0 >= estimated_wait_s(QueueSnapshot(0, 1, 60.0))


# -- in a flow -----------------------------------------------------------------------------


def _to_billing_queue(engine: FlowEngine, waits) -> list[str]:
    call = engine.start_call(FakeClock(OPEN), queue_status=waits)
    call.start()
    for k in "11" + "4111#" + "1":  # English, billing, account number, confirm
        call.handle(Dtmf(k))
    return call.visited


def test_a_live_acd_wait_over_the_threshold_takes_the_callback_branch(inbound_flow):
    """inbound.yaml's billing queue offers a callback when the wait is over 2 minutes."""
    engine = FlowEngine(inbound_flow)
    board = QueueBoard()
    waits = AcdWaits(board, ConfiguredWaits({"billing": 0.0}))
    board.update("billing", QueueSnapshot(waiting=5, agents_on_duty=2, aht_s=60))  # 180 s
    visited = _to_billing_queue(engine, waits)
    assert visited[-1] == "offer-callback"
    board.update("billing", QueueSnapshot(waiting=1, agents_on_duty=2, aht_s=60))  # 60 s
    visited = _to_billing_queue(engine, waits)
    assert visited[-1] == "billing-queue" and "offer-callback" not in visited


def test_without_an_acd_the_configured_wait_decides(inbound_flow):
    engine = FlowEngine(inbound_flow)
    assert _to_billing_queue(engine, ConfiguredWaits({"billing": 121}))[-1] == "offer-callback"
    assert _to_billing_queue(engine, ConfiguredWaits({"billing": 119}))[-1] == "billing-queue"


# -- configuration on the command line -----------------------------------------------------


def test_queue_wait_options_parse_and_refuse_plainly():
    from callwright.cli.call import parse_queue_waits

    assert parse_queue_waits(["billing=120", "support=2m"]) == {"billing": 120.0, "support": 120.0}
    with pytest.raises(CallwrightError, match="expected QUEUE=SECONDS"):
        parse_queue_waits(["billing"])


def test_serve_refuses_a_malformed_queue_wait(tmp_path):
    # in this process (tests/cli_inprocess.py): `serve` in a process is tests/server/test_serve_cli.py's
    result = cli_inprocess.run(
        "serve", FLOWS / "inbound.yaml", "--http", "127.0.0.1:0", "--queue-wait", "billing=soon",
        "--db", tmp_path / "c.db", timeout=60,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert "--queue-wait 'billing=soon'" in result.stderr and "Traceback" not in result.stderr
