"""The report's summaries stay recounts of the raw rows through every write path.

The daily KPI cubes (kpi_*_daily) and calls.next_contact_at are kept by triggers
(store.schema) and read by store.kpis; after IVR calls (CallLog), queue results
(store.queue), scored calls (store.qa), dials (store.dials), replacements,
updates and deletes, each family read from the summaries must equal the same
KPIs computed from the raw rows (the `*_raw` queries, the definition), and the
stored summaries must equal a full rebuild.
"""

import io
import math
from datetime import datetime

import pytest
from tests.conftest import FLOWS

from callwright.flows.loader import load_flow
from callwright.ivr.channels.text import TextChannel
from callwright.ivr.clock import FakeClock
from callwright.ivr.engine import FlowEngine
from callwright.ivr.runner import run_call
from callwright.qa.model import CallMeta, ItemResult, ScoreResult, Transcript, Utterance
from callwright.reports import acd
from callwright.store import cubes, kpis, qa, schema
from callwright.store.calllog import CallLog
from callwright.store.db import open_db
from callwright.store.dials import Dial, save_dials
from callwright.store.queue import save_simulation, transferred_callers

GROUPS = list(kpis.GROUPS)
RANGES = [("2026-11-01", "2026-12-01"), ("2026-11-03", "2026-11-05"), ("2026-11-24", "2026-11-25")]
WINDOWS = (7.0, 0.5, 2.0, 30.0)
# (service-level threshold, short abandon): kept by the cube, then corrected from the nearest kept one
THRESHOLDS = ((20.0, 5.0), (10.0, 0.0), (25.0, 3.0), (17.5, 4.0), (7.0, 12.0), (250.0, 1.5))


def _same(a, b, what):
    assert len(a) == len(b), what
    for x, y in zip(a, b, strict=True):
        assert x.keys() == y.keys(), what
        for k in x:
            u, v = x[k], y[k]
            if isinstance(u, float) and isinstance(v, float):
                assert math.isclose(u, v, rel_tol=1e-12, abs_tol=1e-12), (what, k, x, y)
            else:
                assert u == v, (what, k, x, y)


def _next_contact_recount(db):
    return list(
        db.query("""
        select id, (select min(n.started_at) from calls n
                    where coalesce(n.customer, n.caller_id) = coalesce(c.customer, c.caller_id)
                      and n.direction = 'inbound' and n.started_at > c.started_at) as next_at
        from calls c order by id""")
    )


def _summaries(db):
    return {
        t: sorted(map(repr, db.execute(f"select * from {t}").fetchall()))
        for t in (*cubes.KPI_CUBES, "kpi_bins_daily")
    }


def assert_consistent(db):
    stored = list(db.query("select id, next_contact_at as next_at from calls order by id"))
    assert stored == _next_contact_recount(db)
    for start, end in RANGES:
        _same(kpis.survey(db, GROUPS, start, end), kpis.survey_raw(db, GROUPS, start, end), "survey")
        for w in WINDOWS:
            _same(
                kpis.inbound_calls(db, GROUPS, start, end, w),
                kpis.inbound_calls_raw(db, GROUPS, start, end, w),
                f"inbound {w}",
            )
        for t, s in THRESHOLDS:
            for abandons in (True, False):
                kw = dict(threshold_s=t, short_abandon_s=s, abandons_count=abandons)
                _same(
                    kpis.queue(db, GROUPS, start, end, **kw),
                    kpis.queue_raw(db, GROUPS, start, end, **kw),
                    f"queue {kw}",
                )
        _same(kpis.outbound(db, GROUPS, start, end), kpis.outbound_raw(db, GROUPS, start, end), "outbound")
        fast, raw = kpis.distributions(db, start, end), kpis.distributions_raw(db, start, end)
        assert fast.keys() == raw.keys()
        for k in fast:
            _same(fast[k], raw[k], f"distribution {k}")
    assert db.execute("select count(*) from kpi_dirty").fetchone()[0] == 0
    refreshed = _summaries(db)
    kpis.rebuild(db)
    assert _summaries(db) == refreshed


def _ivr(db, flow, lines, at, caller):
    channel = TextChannel(io.StringIO("\n".join(lines) + "\n"), io.StringIO())
    return run_call(
        FlowEngine(flow),
        channel,
        FakeClock(datetime.fromisoformat(at)),
        calllog=CallLog(db),
        caller_id=caller,
    )


def _scored(call_id, rec, customer, started_at=None, agent="dana", score=80.0):
    t = Transcript(
        call_id,
        60.0,
        [
            Utterance("customer", 0.0, 2.0, "hello", sentiment=-0.2),
            Utterance("customer", 3.0, 5.0, "thanks", sentiment=0.4),
        ],
    )
    r = ScoreResult(
        call_id,
        "inbound-service",
        "v1",
        score,
        False,
        [ItemResult("disclosure", "compliance", "phrase", "pass", 10, 10)],
    )
    meta = CallMeta(
        call_id,
        "inbound",
        agent=agent,
        team="blue",
        queue="billing",
        customer=customer,
        started_at=started_at,
    )
    return qa.ScoredCall(rec, f"/recs/{rec}.wav", meta, 2, 8000, t, None, r)


@pytest.fixture
def db(tmp_path):
    return open_db(tmp_path / "live.db")


def test_summaries_follow_every_write_path(db):
    inbound, survey = load_flow(FLOWS / "inbound.yaml"), load_flow(FLOWS / "survey.yaml")
    billing = ["#1", "billing please", "#4111#", "yes"]
    calls = [
        _ivr(db, inbound, billing, "2026-11-03T09:00:00-05:00", "+1555001"),
        _ivr(db, inbound, billing, "2026-11-03T09:02:00-05:00", "+1555002"),
        _ivr(db, survey, ["#4", "#1", "#9"], "2026-11-04T12:00:00-05:00", "+1555001"),
        _ivr(db, inbound, billing, "2026-11-24T10:00:00-05:00", "+1555002"),
        _ivr(db, survey, ["#2", "#2", "#3"], "2026-11-24T10:30:00-05:00", "+1555003"),
    ]
    assert_consistent(db)
    # a call inserted before existing ones of the same caller (out of order): they point at it
    _ivr(db, inbound, billing, "2026-11-02T08:00:00-05:00", "+1555001")
    assert_consistent(db)
    assert db["calls"].get(calls[0].call_id)["next_contact_at"] == "2026-11-04T12:00:00.000-05:00"

    # the ACD simulation of the transferred calls: queue rows, agents and teams written on calls
    arrivals = transferred_callers(db)
    model = acd.AcdModel(
        queues=(acd.QueueSpec("billing", acd.Fixed(300.0)),),
        agents=(acd.AgentSpec("ann", frozenset({"billing"})),),
    )
    save_simulation(
        db, acd.simulate(model, callers=arrivals.callers, seed=1), arrivals.base, teams={"ann": "north"}
    )
    assert db["queue_calls"].count == 4
    assert_consistent(db)

    # QA: a scored IVR call gets a customer (its next contact changes); a recording with no IVR call
    qa.save_scored_call(db, _scored(calls[1].call_id, "r1", customer="K7"))
    qa.save_scored_call(db, _scored("rec-only", "r2", customer="K7", started_at="2026-11-05T10:00:00-05:00"))
    assert db["calls"].get(calls[1].call_id)["next_contact_at"] == "2026-11-05T10:00:00-05:00"
    assert_consistent(db)

    # dials, one linked to a call; then re-saved with another day (INSERT OR REPLACE)
    save_dials(
        db,
        [
            Dial(
                "d1",
                "renew",
                "2026-11-03T11:00:00-05:00",
                "connected",
                customer="K7",
                agent="ann",
                call_id=calls[2].call_id,
                converted=True,
            ),
            Dial("d2", "renew", "2026-11-03T11:05:00-05:00", "no_answer", agent="ann"),
        ],
    )
    assert_consistent(db)
    save_dials(db, [Dial("d2", "renew", "2026-11-24T11:05:00-05:00", "busy", agent="bob")])
    assert_consistent(db)

    # a call replaced by a row with another start and caller (INSERT OR REPLACE), one updated, one deleted
    db["calls"].insert(
        {
            "id": calls[2].call_id,
            "direction": "inbound",
            "started_at": "2026-11-25T09:00:00-05:00",
            "caller_id": "+1555002",
            "flow": "acme-post-call-survey",
        },
        replace=True,
    )
    assert_consistent(db)
    db.execute(
        "update calls set started_at = '2026-11-30T09:00:00-05:00', customer = 'K7', agent = 'bob' "
        "where id = ?",
        [calls[3].call_id],
    )
    assert_consistent(db)
    db.execute("delete from calls where id = ?", [calls[4].call_id])
    assert_consistent(db)


def test_rebuild_repairs_the_summaries(db):
    inbound = load_flow(FLOWS / "inbound.yaml")
    for day, caller in (("03", "+1"), ("04", "+1"), ("05", "+2")):
        _ivr(db, inbound, ["#1", "billing please", "#4111#", "yes"], f"2026-11-{day}T09:00:00-05:00", caller)
    kpis.refresh(db)
    good = _summaries(db)
    db.execute("delete from kpi_calls_daily")
    db.execute("update kpi_survey_daily set csat_n = 99")
    db.execute("update calls set next_contact_at = null")
    kpis.rebuild(db)
    schema.rebuild_next_contact(db)
    assert _summaries(db) == good
    assert_consistent(db)


def test_an_older_database_gets_its_summaries_on_open(tmp_path):
    from tests.reports.kpi_fixtures import build

    path = tmp_path / "old.db"
    db = build(path)
    for t in schema.BULK_TRIGGERS:
        db.execute(f"drop trigger if exists {t}")
    for t in (*cubes.KPI_CUBES, "kpi_bins_daily", "kpi_dirty"):
        db.execute(f"drop table {t}")
    db.execute("drop index idx_calls_repeat")
    db.execute("alter table calls drop column next_contact_at")
    # a database this old predates the version stamp (schema version 1 has the summaries)
    db.execute("pragma application_id = 0")
    db.execute("pragma user_version = 0")
    db.conn.close()
    assert_consistent(open_db(path))


def test_ranges_that_are_not_whole_days_read_the_raw_rows(db):
    _ivr(db, load_flow(FLOWS / "survey.yaml"), ["#4", "#1", "#9"], "2026-11-04T12:00:00-05:00", "+1")
    # the call started at 12:00 on the 4th: in a range from 11:00, not in one from 12:30
    assert kpis.survey(db, ["all"], "2026-11-04T11:00", "2026-11-05")[0]["csat_n"] == 1
    assert kpis.survey(db, ["all"], "2026-11-04T12:30", "2026-11-05") == []
