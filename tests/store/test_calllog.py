"""Every call lands in SQLite: the call row, its ordered events, and survey answers."""

import io

from tests.conftest import FLOWS

from callwright.flows.loader import load_flow
from callwright.ivr.channels.text import TextChannel
from callwright.ivr.clock import FakeClock
from callwright.ivr.engine import FlowEngine
from callwright.ivr.runner import run_call
from callwright.store.calllog import CallLog
from callwright.store.db import open_db


def run_text(flow, lines, db, **kw):
    channel = TextChannel(io.StringIO("\n".join(lines) + "\n"), io.StringIO())
    return run_call(FlowEngine(flow), channel, FakeClock(), calllog=CallLog(db), **kw)


def test_call_row_and_ordered_events(tmp_path):
    db = open_db(tmp_path / "calls.db")
    assert db.journal_mode == "wal"
    from datetime import datetime

    flow = load_flow(FLOWS / "inbound.yaml")
    channel = TextChannel(io.StringIO("#1\nbilling please\n#4111#\nyes\n"), io.StringIO())
    clock = FakeClock(datetime.fromisoformat("2026-11-23T10:00:00-05:00"))
    session = run_call(FlowEngine(flow), channel, clock, calllog=CallLog(db), caller_id="+15557654321")
    row = db["calls"].get(session.call_id)
    assert row["outcome"] == "transferred" and row["queue"] == "billing"
    assert row["flow"] == "acme-inbound" and len(row["flow_hash"]) == 64
    assert row["caller_id"] == "+15557654321" and row["direction"] == "inbound"
    assert row["started_at"] < row["ended_at"] or row["duration_s"] >= 0
    events = list(
        db.query(
            "select seq, kind, state, text, mode, confidence from call_events where call_id = ? order by seq",
            [session.call_id],
        )
    )
    assert [e["seq"] for e in events] == list(range(len(events)))
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "call_start" and kinds[-1] == "call_end"
    assert ("input", "main-menu", "billing please", "speech") in {
        (e["kind"], e["state"], e["text"], e["mode"]) for e in events
    }
    entered = [e["state"] for e in events if e["kind"] == "state_enter"]
    assert entered == session.visited


def test_retries_are_logged_with_counts(tmp_path):
    db = open_db(tmp_path / "calls.db")
    flow = load_flow(FLOWS / "survey.yaml")
    s = run_text(flow, ["purple", "", "#4", "#1", "#9"], db)
    rows = list(
        db.query(
            "select kind, state, count from call_events where call_id = ? and kind in "
            "('no_match', 'no_input') order by seq",
            [s.call_id],
        )
    )
    assert rows == [
        {"kind": "no_match", "state": "csat", "count": 1},
        {"kind": "no_input", "state": "csat", "count": 1},
    ]


def test_survey_answers_are_stored(tmp_path):
    db = open_db(tmp_path / "calls.db")
    flow = load_flow(FLOWS / "survey.yaml")
    s = run_text(flow, ["#4", "no", "#10"], db)
    answers = {
        r["question"]: r["value"]
        for r in db.query("select question, value from survey_answers where call_id = ?", [s.call_id])
    }
    assert answers == {"csat": 4, "resolved": 0, "nps": 10}
    assert db["calls"].get(s.call_id)["disposition"] == "survey_completed"


def test_abandoned_call_is_logged(tmp_path):
    db = open_db(tmp_path / "calls.db")
    s = run_text(load_flow(FLOWS / "inbound.yaml"), ["/hangup"], db)
    assert db["calls"].get(s.call_id)["outcome"] == "abandoned"


def test_reopening_keeps_data(tmp_path):
    path = tmp_path / "calls.db"
    s = run_text(load_flow(FLOWS / "survey.yaml"), ["#5", "#1", "#9"], open_db(path))
    db2 = open_db(path)
    assert db2["calls"].count == 1 and db2["calls"].get(s.call_id)["outcome"] == "self_served"


def test_post_call_survey_answers_belong_to_the_rated_call(tmp_path):
    """A survey started with rated_call_id stores its answers under that call and stays out
    of the inbound calls."""
    import io
    from datetime import datetime

    from tests.conftest import FLOWS

    from callwright.flows.loader import load_flow
    from callwright.ivr.channels.text import TextChannel
    from callwright.ivr.clock import FakeClock
    from callwright.ivr.engine import FlowEngine
    from callwright.ivr.runner import run_call
    from callwright.store.calllog import POST_CALL, CallLog
    from callwright.store.db import open_db

    db = open_db(tmp_path / "c.db")
    log = CallLog(db)
    when = FakeClock(datetime.fromisoformat("2026-11-23T10:00:00-05:00"))
    inbound = FlowEngine(load_flow(FLOWS / "inbound.yaml"))
    agent_call = run_call(inbound, TextChannel(io.StringIO("#1\n#0\n"), io.StringIO()), when, calllog=log)
    survey = FlowEngine(load_flow(FLOWS / "survey.yaml"))
    s = run_call(
        survey,
        TextChannel(io.StringIO("#5\n#1\n#9\n"), io.StringIO()),
        when,
        calllog=log,
        variables={"rated_call_id": agent_call.call_id},
    )
    answers = {r["question"]: (r["call_id"], r["value"]) for r in db["survey_answers"].rows}
    assert answers == {
        "csat": (agent_call.call_id, 5),
        "resolved": (agent_call.call_id, 1),
        "nps": (agent_call.call_id, 9),
    }
    assert db["calls"].get(s.call_id)["direction"] == POST_CALL
    assert db["calls"].get(agent_call.call_id)["direction"] == "inbound"


def test_an_event_logged_twice_is_stored_and_counted_once(tmp_path):
    """The IVR waterfall counts events as they are inserted; a repeated event must not add."""
    import io
    from datetime import datetime

    from tests.conftest import FLOWS

    from callwright.flows.loader import load_flow
    from callwright.ivr.channels.text import TextChannel
    from callwright.ivr.clock import FakeClock
    from callwright.ivr.engine import FlowEngine
    from callwright.ivr.events import LogEvent
    from callwright.ivr.runner import run_call
    from callwright.store.calllog import CallLog
    from callwright.store.db import open_db

    db = open_db(tmp_path / "c.db")
    log = CallLog(db)
    clock = FakeClock(datetime.fromisoformat("2026-11-23T10:00:00-05:00"))
    s = run_call(
        FlowEngine(load_flow(FLOWS / "inbound.yaml")),
        TextChannel(io.StringIO("#1\n#0\n"), io.StringIO()),
        clock,
        calllog=log,
    )
    entered = db.execute("select sum(entered) from ivr_state_daily").fetchone()[0]
    first = db.execute(
        "select seq, kind, state from call_events where call_id = ? and kind = 'state_enter' "
        "order by seq limit 1",
        [s.call_id],
    ).fetchone()
    log.listener(s.call_id)(LogEvent(first[0], 0.0, first[1], first[2]))
    log.flush(s)
    assert db.execute("select sum(entered) from ivr_state_daily").fetchone()[0] == entered
    assert (
        db.execute(
            "select count(*) from call_events where call_id = ? and seq = ?", [s.call_id, first[0]]
        ).fetchone()[0]
        == 1
    )
