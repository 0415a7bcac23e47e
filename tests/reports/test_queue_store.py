"""ACD results stored in queue_calls, linked to the IVR calls that were transferred."""

import io
from datetime import datetime

from tests.conftest import FLOWS

from callwright.flows.loader import load_flow
from callwright.ivr.channels.text import TextChannel
from callwright.ivr.clock import FakeClock
from callwright.ivr.engine import FlowEngine
from callwright.ivr.runner import run_call
from callwright.reports import acd
from callwright.store.calllog import CallLog
from callwright.store.db import open_db
from callwright.store.queue import HandleSplit, save_simulation, transferred_callers


def _ivr_call(db, flow, lines, at):
    channel = TextChannel(io.StringIO("\n".join(lines) + "\n"), io.StringIO())
    clock = FakeClock(datetime.fromisoformat(at))
    return run_call(FlowEngine(flow), channel, clock, calllog=CallLog(db), caller_id="+15550001")


def test_transferred_ivr_calls_become_queue_rows(tmp_path):
    db = open_db(tmp_path / "q.db")
    flow = load_flow(FLOWS / "inbound.yaml")
    a = _ivr_call(db, flow, ["#1", "billing please", "#4111#", "yes"], "2026-11-23T10:00:00-05:00")
    b = _ivr_call(db, flow, ["#1", "billing please", "#4111#", "yes"], "2026-11-23T10:05:00-05:00")
    arrivals = transferred_callers(db)
    assert [c.call_id for c in arrivals.callers] == [a.call_id, b.call_id]
    assert arrivals.callers[0].arrival_s == 0 and arrivals.callers[0].queue == "billing"
    assert 299 < arrivals.callers[1].arrival_s < 301
    model = acd.AcdModel(
        queues=(acd.QueueSpec("billing", acd.Fixed(600.0)),),
        agents=(acd.AgentSpec("ann", frozenset({"billing"})),),
    )
    result = acd.simulate(model, callers=arrivals.callers, seed=1)
    n = save_simulation(
        db, result, arrivals.base, teams={"ann": "north"}, split=HandleSplit(hold_share=0.1, acw_share=0.2)
    )
    assert n == 2
    rows = {r["call_id"]: r for r in db.query("select * from queue_calls")}
    # ann answers a at once and b when a finishes, 600 s after a arrived: b waited 600 - 300 s
    assert rows[a.call_id]["wait_s"] == 0 and rows[b.call_id]["wait_s"] == 300
    assert rows[b.call_id]["handle_s"] == 600
    assert (rows[b.call_id]["talk_s"], rows[b.call_id]["hold_s"], rows[b.call_id]["acw_s"]) == (420, 60, 120)
    assert rows[b.call_id]["agent"] == "ann" and rows[b.call_id]["outcome"] == "completed"
    call = db["calls"].get(b.call_id)
    assert call["agent"] == "ann" and call["team"] == "north" and call["flow"] == "acme-inbound"
    # stored calls are not offered again; storing again replaces the rows
    assert transferred_callers(db).callers == ()
    save_simulation(db, result, arrivals.base)
    assert db["queue_calls"].count == 2 and db["calls"].count == 2


def test_generated_callers_get_call_rows(tmp_path):
    db = open_db(tmp_path / "q.db")
    model = acd.erlang_queue_model(arrival_rate_per_s=0.01, aht_s=100, agents=1, horizon_s=3600)
    result = acd.simulate(model, seed=3)
    base = datetime.fromisoformat("2026-11-02T09:00:00+00:00")
    n = save_simulation(db, result, base)
    assert n == len(result.calls) == db["calls"].count
    first = min(result.calls, key=lambda c: c.arrived_s)
    row = db["calls"].get(first.call_id)
    assert row["direction"] == "inbound" and row["source"] == "acd" and row["flow"] is None
    assert row["started_at"].startswith("2026-11-02T09:")
