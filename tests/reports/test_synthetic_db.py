"""The generated database: seeded, consistent across tables, and reportable."""

from datetime import date

import pytest

from callwright.reports.kpis import ReportParams, build_report
from callwright.reports.synthetic import SyntheticSpec, generate
from callwright.store.db import open_db

SPEC = SyntheticSpec(calls=3000, start=date(2026, 11, 2), days=7, seed=5)


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    db = open_db(tmp_path_factory.mktemp("syn") / "s.db")
    generate(db, SPEC)
    return db


def test_rows_are_consistent(db):
    assert db["calls"].count == 3000
    # every queue row, survey answer, score and connected dial belongs to a call
    for table in ("queue_calls", "survey_answers", "scores", "call_events"):
        orphans = next(
            db.query(
                f"select count(*) as n from {table} t left join calls c on c.id = t.call_id "
                "where c.id is null"
            )
        )["n"]
        assert orphans == 0, table
    transferred = next(db.query("select count(*) as n from calls where outcome = 'transferred'"))["n"]
    assert transferred == db["queue_calls"].count > 0
    answered_without_agent = next(
        db.query(
            "select count(*) as n from queue_calls q join calls c on c.id = q.call_id "
            "where q.answered_at is not null and (c.agent is null or c.agent != q.agent)"
        )
    )["n"]
    assert answered_without_agent == 0
    # the waterfall summary equals a recount of the events
    n_enter = next(db.query("select count(*) as n from call_events where kind = 'state_enter'"))["n"]
    assert next(db.query("select sum(entered) as n from ivr_state_daily"))["n"] == n_enter


def test_same_seed_same_database(tmp_path):
    small = SyntheticSpec(calls=300, start=date(2026, 11, 2), days=2, seed=9)
    a, b = open_db(tmp_path / "a.db"), open_db(tmp_path / "b.db")
    generate(a, small)
    generate(b, small)
    for table in ("calls", "queue_calls", "survey_answers", "dials"):
        assert list(a.query(f"select * from {table} order by 1, 2")) == list(
            b.query(f"select * from {table} order by 1, 2")
        )


def test_report_numbers_are_plausible(db):
    r = build_report(db, ReportParams(SPEC.start, date(2026, 11, 8), group_by="queue"))
    assert r.inbound_total.ivr_calls + r.outbound_total.connects == 3000
    assert 10 < r.inbound_total.csat < 95 and 50 < r.inbound_total.fcr_repeat <= 100
    assert 0 < r.queue_total.service_level < 100 and 120 < r.queue_total.aht_s < 600
    assert 0 < r.outbound_total.connect_rate < 100
    assert {q.group for q in r.queues} == {"billing", "support", "sales", "general"}
    assert r.qa_total.scored > 0 and r.waterfall and r.agents
